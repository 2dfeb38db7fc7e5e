//! Evaluation: bits and bit errors per sequence at each test length (the generalisation test
//! of paper section 4.1), and loading trained models back from their folders.

use std::path::{Path, PathBuf};

use candle_core::Device;
use ntm_tasks::Task;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::checkpoint;
use crate::config::Experiment;
use crate::data::TensorBatch;
use crate::loss;
use crate::model::SequenceModel;
use crate::report::{EvalReport, EvalResult};
use crate::train::{BuiltModel, TrainError, CONFIG_FILE};

/// File of the evaluation results in a model's folder.
pub const EVAL_FILE: &str = "eval.json";

/// Sequences evaluated in one forward pass at most.
const EVAL_BATCH: usize = 32;

/// Evaluation data come from the experiment seed mixed with this, so they differ from the
/// training data of the same seed.
const EVAL_SEED_SALT: u64 = 0x5eed_e7a1;

/// The generator of evaluation data for an experiment seed.
pub fn eval_rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed ^ EVAL_SEED_SALT)
}

/// Mean loss in bits and bit errors per sequence of `model` on `sequences` episodes of each
/// length, drawn from `seed`'s evaluation generator (the same episodes for every model).
pub fn evaluate(
    model: &dyn SequenceModel,
    task: &dyn Task,
    lengths: &[usize],
    sequences: usize,
    seed: u64,
) -> candle_core::Result<Vec<EvalResult>> {
    let mut results = Vec::with_capacity(lengths.len());
    for &length in lengths {
        let mut rng = eval_rng(seed.wrapping_add(length as u64));
        let (mut bits, mut errors, mut done) = (0.0, 0.0, 0);
        while done < sequences {
            let n = (sequences - done).min(EVAL_BATCH);
            let batch = TensorBatch::new(&task.sample(&mut rng, n, Some(length)), &Device::Cpu)?;
            let logits = model.forward(&batch.inputs)?;
            let nats = loss::sequence_loss(&logits, &batch.targets, &batch.mask)?.to_scalar::<f32>()?;
            bits += loss::nats_to_bits(nats as f64) * n as f64;
            errors += loss::bit_errors(&logits, &batch.targets, &batch.mask)? * n as f64;
            done += n;
        }
        results.push(EvalResult {
            length,
            loss_bits: bits / sequences as f64,
            bit_errors: errors / sequences as f64,
            sequences,
        });
    }
    Ok(results)
}

/// A trained model read back from its folder: its experiment (this model only), the model
/// with the checkpoint's weights, and how many sequences it was trained on.
pub struct LoadedModel {
    pub experiment: Experiment,
    pub built: BuiltModel,
    pub trained_sequences: u64,
    pub dir: PathBuf,
}

/// Loads the model in folder `dir` (which holds `config.toml` and a checkpoint).
pub fn load_model(dir: &Path) -> Result<LoadedModel, TrainError> {
    load_model_weights(dir, &checkpoint::path(dir, checkpoint::WEIGHTS_FILE))
}

/// Loads the model of folder `dir` (its `config.toml`) with the weights in file `weights`.
pub fn load_model_weights(dir: &Path, weights: &Path) -> Result<LoadedModel, TrainError> {
    let config = dir.join(CONFIG_FILE);
    let experiment = Experiment::load(&config, &[]).map_err(|e| TrainError::Run(e.to_string()))?;
    let name = experiment
        .models
        .keys()
        .next()
        .ok_or_else(|| TrainError::Run(format!("{}: no model in this configuration", config.display())))?
        .clone();
    let built = BuiltModel::new(&experiment, &name)?;
    checkpoint::load_weights(weights, &built.varmap)?;
    let trained_sequences = checkpoint::load_meta(dir).map(|m| m.sequences).unwrap_or(0);
    Ok(LoadedModel { experiment, built, trained_sequences, dir: dir.to_owned() })
}

/// Loads the model(s) that `path` names (see [`model_dirs`]); a checkpoint file is loaded
/// itself, not the folder's usual one.
pub fn load_path(path: &Path) -> Result<Vec<Result<LoadedModel, TrainError>>, TrainError> {
    let dirs = model_dirs(path)?;
    Ok(dirs
        .iter()
        .map(|dir| match path.is_file() {
            true => load_model_weights(dir, path),
            false => load_model(dir),
        })
        .collect())
}

/// The model folders that `path` names: a run folder (every model folder in it, by name), a
/// model folder, or a checkpoint file inside a model folder.
pub fn model_dirs(path: &Path) -> Result<Vec<PathBuf>, TrainError> {
    if path.is_file() {
        let parent = path.parent().unwrap_or(Path::new("."));
        if parent.join(CONFIG_FILE).is_file() {
            return Ok(vec![parent.to_owned()]);
        }
        return Err(TrainError::Run(format!(
            "{}: a checkpoint must sit in a model folder beside its {CONFIG_FILE}",
            path.display()
        )));
    }
    if path.join(CONFIG_FILE).is_file() {
        return Ok(vec![path.to_owned()]);
    }
    let entries = std::fs::read_dir(path)
        .map_err(|cause| TrainError::Io { path: path.to_owned(), cause })?;
    let mut dirs: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join(CONFIG_FILE).is_file())
        .collect();
    dirs.sort();
    if dirs.is_empty() {
        return Err(TrainError::Run(format!(
            "{}: no trained model here (expected a run folder, a model folder with {CONFIG_FILE}, or a checkpoint file)",
            path.display()
        )));
    }
    Ok(dirs)
}

/// Evaluates a loaded model on `lengths` and writes nothing; see [`write_report`].
pub fn evaluate_loaded(
    loaded: &LoadedModel,
    lengths: &[usize],
    sequences: usize,
) -> Result<EvalReport, TrainError> {
    let task = loaded.experiment.task.build();
    let results = evaluate(loaded.built.model.as_ref(), task.as_ref(), lengths, sequences, loaded.experiment.seed)
        .map_err(|cause| TrainError::Tensor { model: loaded.built.name.clone(), cause })?;
    Ok(EvalReport { model: loaded.built.name.clone(), task: task.name().to_owned(), results })
}

/// Writes `report` as `eval.json` into `dir`.
pub fn write_report(dir: &Path, report: &EvalReport) -> Result<(), TrainError> {
    let path = dir.join(EVAL_FILE);
    let json = serde_json::to_string_pretty(report).expect("reports serialise");
    std::fs::write(&path, json + "\n").map_err(|cause| TrainError::Io { path, cause })
}
