//! The trainer: one loop for every [`SequenceModel`], writing metrics and checkpoints.
//!
//! A model's folder holds `config.toml` (the resolved experiment, this model only),
//! `metrics.jsonl` (one [`MetricsRecord`] per report interval), the checkpoint files of
//! [`crate::checkpoint`] and, if training diverged, `failure.json` ([`crate::failure`]).
//!
//! Training stops early, with a checkpoint, when the `stop` flag is raised (Ctrl-C), and with
//! an error, without a checkpoint, when a loss, gradient or parameter is not finite. Resuming
//! continues exactly: the checkpoint holds the optimiser state, the data generator and the
//! report interval in progress, and metrics lines past the checkpoint (written before a crash)
//! are dropped.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use candle_core::{DType, Device, Var};
use candle_nn::VarMap;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::checkpoint::{self, CheckpointMeta};
use crate::config::Experiment;
use crate::data::TensorBatch;
use crate::failure::{self, first_non_finite, show, Failure, Fault, FAILURE_FILE};
use crate::loss;
use crate::model::{ModelConfig, SequenceModel};
use crate::optim::{clipped_gradients, Optimizer};
use crate::progress::Progress;
use crate::report::MetricsRecord;

/// File of the resolved experiment in a model's folder.
pub const CONFIG_FILE: &str = "config.toml";
/// File of the training metrics in a model's folder.
pub const METRICS_FILE: &str = "metrics.jsonl";

/// Anything that can stop training: I/O, tensors, checkpoints, numerical faults.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error("{path}: {cause}")]
    Io { path: PathBuf, cause: std::io::Error },
    #[error(transparent)]
    Checkpoint(#[from] checkpoint::CheckpointError),
    #[error("model {model}: {cause}")]
    Tensor { model: String, cause: candle_core::Error },
    #[error("{0}")]
    Run(String),
    /// A loss, gradient or parameter that is not finite; also written to `failure.json`.
    #[error("{}", .0.message)]
    Diverged(Box<Failure>),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> TrainError + '_ {
    move |cause| TrainError::Io { path: path.to_owned(), cause }
}

/// A model of an experiment, built, with its parameters in name order.
pub struct BuiltModel {
    pub name: String,
    pub config: ModelConfig,
    pub varmap: VarMap,
    pub model: Box<dyn SequenceModel>,
    /// Parameter names and variables, sorted by name (the optimiser's order).
    pub parameters: Vec<(String, Var)>,
}

impl BuiltModel {
    /// Builds model `name` of `experiment` with fresh parameters from the experiment's seed.
    pub fn new(experiment: &Experiment, name: &str) -> Result<Self, TrainError> {
        let config = experiment
            .models
            .get(name)
            .ok_or_else(|| {
                let known: Vec<&String> = experiment.models.keys().collect();
                TrainError::Run(format!("no model named {name:?} in the experiment (it has {known:?})"))
            })?
            .clone();
        let task = experiment.task.build();
        let varmap = VarMap::new();
        let tensor_err = |cause| TrainError::Tensor { model: name.to_owned(), cause };
        let model = config
            .build(&varmap, experiment.seed, task.input_width(), task.output_width(), DType::F32, &Device::Cpu)
            .map_err(tensor_err)?;
        let parameters = crate::model::params::sorted_parameters(&varmap);
        Ok(Self { name: name.to_owned(), config, varmap, model, parameters })
    }
}

/// The experiment restricted to one model: what `config.toml` in that model's folder holds.
pub fn single_model(experiment: &Experiment, name: &str) -> Experiment {
    let mut single = experiment.clone();
    single.models.retain(|n, _| n == name);
    single.train.models.retain(|n, _| n == name);
    single
}

/// How training ended.
#[derive(Debug, Clone)]
pub struct TrainOutcome {
    /// Sequences trained in total.
    pub sequences: u64,
    /// Training wall time in seconds (a resumed run's earlier time included).
    pub seconds: f64,
    /// The last metrics line written.
    pub last: Option<MetricsRecord>,
    /// True if training stopped early because `stop` was raised.
    pub interrupted: bool,
}

/// Loads the checkpoint in `dir` into `built` and `optimizer`, checking that every tensor
/// fits; writes nothing. Returns the checkpoint's sidecar.
fn load_checkpoint(
    built: &BuiltModel,
    optimizer: &mut Optimizer,
    dir: &Path,
) -> Result<CheckpointMeta, TrainError> {
    let meta = checkpoint::load_meta(dir)?;
    checkpoint::load_weights(&checkpoint::path(dir, checkpoint::WEIGHTS_FILE), &built.varmap)?;
    let shapes: Vec<(String, Vec<usize>)> =
        built.parameters.iter().map(|(n, v)| (n.clone(), v.dims().to_vec())).collect();
    let state = checkpoint::load_optimizer_state(dir, &meta, &shapes)?;
    optimizer
        .set_state(state, meta.optimizer_steps)
        .map_err(|cause| TrainError::Tensor { model: built.name.clone(), cause })?;
    Ok(meta)
}

/// Checks that model `name` of `experiment` can resume from the checkpoint in `dir` (it is
/// whole and fits the model), reading everything and writing nothing. Returns its sequences.
pub fn check_resume(experiment: &Experiment, name: &str, dir: &Path) -> Result<u64, TrainError> {
    let built = BuiltModel::new(experiment, name)?;
    let train = experiment.train.for_model(name);
    let vars = built.parameters.iter().map(|(_, v)| v.clone()).collect();
    let mut optimizer = Optimizer::new(train.optimizer, vars, train.lr)
        .map_err(|cause| TrainError::Tensor { model: name.to_owned(), cause })?;
    Ok(load_checkpoint(&built, &mut optimizer, dir)?.sequences)
}

/// Trains model `name` of `experiment` into `dir`, from scratch or (`resume`) from the
/// checkpoint there, until `train.sequences` or until `stop` is raised (then it saves a
/// checkpoint and returns with `interrupted`). A loss, gradient norm or parameter that is not
/// finite ends training with [`TrainError::Diverged`] and `failure.json`, the last good
/// checkpoint kept.
pub fn train(
    experiment: &Experiment,
    name: &str,
    dir: &Path,
    resume: bool,
    progress: &Progress,
    stop: &AtomicBool,
) -> Result<TrainOutcome, TrainError> {
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let built = BuiltModel::new(experiment, name)?;
    let tensor_err = |cause| TrainError::Tensor { model: name.to_owned(), cause };
    let train = &experiment.train.for_model(name);
    let task = experiment.task.build();
    let vars: Vec<Var> = built.parameters.iter().map(|(_, v)| v.clone()).collect();
    let names: Vec<String> = built.parameters.iter().map(|(n, _)| n.clone()).collect();
    let mut optimizer = Optimizer::new(train.optimizer, vars.clone(), train.lr).map_err(tensor_err)?;

    let config_path = dir.join(CONFIG_FILE);
    let metrics_path = dir.join(METRICS_FILE);
    let (mut rng, mut sequences, seconds_before, mut interval) = if resume {
        let meta = load_checkpoint(&built, &mut optimizer, dir)?;
        checkpoint::recover(dir)?;
        truncate_metrics(&metrics_path, meta.sequences)?;
        (meta.rng, meta.sequences, meta.seconds, meta.interval)
    } else {
        let _ = std::fs::remove_file(&metrics_path);
        (ChaCha8Rng::seed_from_u64(experiment.seed), 0, 0.0, (0.0, 0.0, 0))
    };
    failure::clear(dir).map_err(io(&dir.join(FAILURE_FILE)))?;
    std::fs::write(&config_path, single_model(experiment, name).to_toml()).map_err(io(&config_path))?;
    let mut metrics = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&metrics_path)
        .map_err(io(&metrics_path))?;

    let started = Instant::now();
    let started_at = sequences;
    // Sequences of the checkpoint on disk.
    let mut saved = resume.then_some(sequences);
    let elapsed = |started: &Instant| seconds_before + started.elapsed().as_secs_f64();
    let value_clip = (train.clip_value > 0.0).then_some(train.clip_value);
    let norm_clip = (train.clip_norm > 0.0).then_some(train.clip_norm);
    let mut last = None;
    // Records a numerical fault in failure.json and makes it the error training stops with.
    let diverged = |mut failure: Failure| {
        let file = dir.join(FAILURE_FILE);
        let kept = match failure.checkpoint {
            Some(n) => format!("the checkpoint at {n} sequences is kept"),
            None => "no checkpoint was written yet".to_owned(),
        };
        let next = match failure.checkpoint {
            Some(_) => "then --resume",
            None => "then start again with --overwrite",
        };
        failure.message = format!(
            "{}; {kept}; details in {}; lower train.lr or clip the gradients \
             (train.clip_value, train.clip_norm), {next}",
            failure.message,
            file.display()
        );
        if let Err(e) = failure.write(dir) {
            failure.message += &format!(" (could not write {}: {e})", file.display());
        }
        TrainError::Diverged(Box::new(failure))
    };
    // Writes a checkpoint, unless a parameter or optimiser state is not finite: a checkpoint
    // never holds a NaN.
    let save = |sequences: u64, optimizer: &Optimizer, rng: &ChaCha8Rng, interval, seconds, saved, lr| {
        let (state, steps) = optimizer.state();
        let parameters = built.parameters.iter().map(|(n, v)| (n.clone(), v.as_tensor()));
        let states = names.iter().zip(state).flat_map(|(n, pair)| {
            pair.iter().enumerate().map(move |(i, t)| (format!("{n} (optimizer state {i})"), t))
        });
        if let Some(tensor) = first_non_finite(parameters.chain(states)).map_err(tensor_err)? {
            return Err(diverged(Failure {
                model: name.to_owned(),
                fault: Fault::Parameters,
                sequences,
                loss_bits: None,
                gradient_norm: None,
                lr,
                message: format!(
                    "model {name}: {tensor} is not finite after {sequences} sequences, so no checkpoint was written"
                ),
                tensor: Some(tensor),
                checkpoint: saved,
            }));
        }
        let meta = CheckpointMeta {
            sequences,
            optimizer_steps: steps,
            seconds,
            rng: rng.clone(),
            interval,
            parameters: names.clone(),
        };
        checkpoint::save(dir, &built.varmap, state, &meta).map_err(TrainError::from)
    };
    progress.note(&format!(
        "{name}: {} with {} parameters, training {} to {} sequences",
        built.config.kind(),
        built.model.parameter_count(),
        if resume { format!("from {sequences}") } else { "from scratch".to_owned() },
        train.sequences
    ));
    progress.start(sequences, train.sequences);
    let mut interrupted = false;
    // The learning rate of the last update.
    let mut lr = train.lr_at(sequences);
    while sequences < train.sequences {
        if stop.load(Ordering::Relaxed) {
            interrupted = true;
            break;
        }
        let batch_size = (train.sequences - sequences).min(train.batch as u64) as usize;
        let batch = task.sample(&mut rng, batch_size, None);
        let batch = TensorBatch::new(&batch, &Device::Cpu).map_err(tensor_err)?;
        lr = train.lr_at(sequences);
        let step = (|| {
            let logits = built.model.forward(&batch.inputs)?;
            let loss = loss::sequence_loss(&logits, &batch.targets, &batch.mask)?;
            let grads = loss.backward()?;
            let (clipped, norm) = clipped_gradients(&vars, &grads, value_clip, norm_clip)?;
            let loss_value = loss.to_scalar::<f32>()? as f64;
            if !(loss_value.is_finite() && norm.is_finite()) {
                let raw = names
                    .iter()
                    .zip(&vars)
                    .filter_map(|(n, v)| grads.get(v.as_tensor()).map(|g| (n.clone(), g)));
                return Ok(Step::Fault { loss: loss_value, norm, tensor: first_non_finite(raw)? });
            }
            optimizer.set_lr(lr);
            optimizer.step(&clipped)?;
            let errors = loss::bit_errors(&logits.detach(), &batch.targets, &batch.mask)?;
            Ok(Step::Done { loss: loss_value, errors })
        })()
        .map_err(tensor_err)?;
        let (loss_nats, errors) = match step {
            Step::Done { loss, errors } => (loss, errors),
            Step::Fault { loss, norm, tensor } => {
                let loss_bits = loss::nats_to_bits(loss);
                let (first, end) = (sequences + 1, sequences + batch_size as u64);
                let gradient =
                    tensor.as_ref().map_or(String::new(), |t| format!(" (first non-finite gradient: {t})"));
                return Err(diverged(Failure {
                    model: name.to_owned(),
                    fault: if loss.is_finite() { Fault::Gradient } else { Fault::Loss },
                    sequences,
                    loss_bits: Some(loss_bits),
                    gradient_norm: Some(norm),
                    lr,
                    message: format!(
                        "model {name}: training diverged at sequences {first}-{end}: the loss is {} bits, \
                         the gradient norm {}{gradient}",
                        show(loss_bits),
                        show(norm)
                    ),
                    tensor,
                    checkpoint: saved,
                }));
            }
        };
        let before = sequences;
        sequences += batch_size as u64;
        let n = batch_size as f64;
        interval.0 += loss::nats_to_bits(loss_nats) * n;
        interval.1 += errors * n;
        interval.2 += batch_size as u64;
        if crossed(before, sequences, train.report_every) || sequences == train.sequences {
            let count = interval.2 as f64;
            let record = MetricsRecord {
                sequences,
                loss_bits: interval.0 / count,
                bit_errors: interval.1 / count,
                seconds: elapsed(&started),
            };
            let line = serde_json::to_string(&record).expect("metrics serialise");
            writeln!(metrics, "{line}").map_err(io(&metrics_path))?;
            progress.report(&record);
            last = Some(record);
            interval = (0.0, 0.0, 0);
        }
        progress.advance(sequences);
        if crossed(before, sequences, train.checkpoint_every) && sequences < train.sequences {
            save(sequences, &optimizer, &rng, interval, elapsed(&started), saved, lr)?;
            saved = Some(sequences);
        }
    }
    let seconds = elapsed(&started);
    // A resumed run that trained nothing already has this checkpoint on disk.
    if !(resume && sequences == started_at) {
        save(sequences, &optimizer, &rng, interval, seconds, saved, lr)?;
    }
    progress.finish(sequences);
    Ok(TrainOutcome { sequences, seconds, last, interrupted })
}

/// One training step's result: its loss (nats) and bit errors, or what was not finite.
enum Step {
    Done { loss: f64, errors: f64 },
    Fault { loss: f64, norm: f64, tensor: Option<String> },
}

/// True if a multiple of `every` lies in `(before, after]`.
fn crossed(before: u64, after: u64, every: u64) -> bool {
    after / every > before / every
}

/// Drops metrics lines past `sequences` (written after the checkpoint a run resumes from).
fn truncate_metrics(path: &Path, sequences: u64) -> Result<(), TrainError> {
    let Ok(text) = std::fs::read_to_string(path) else { return Ok(()) };
    let kept: String = text
        .lines()
        .filter(|line| {
            serde_json::from_str::<MetricsRecord>(line).is_ok_and(|r| r.sequences <= sequences)
        })
        .map(|line| format!("{line}\n"))
        .collect();
    std::fs::write(path, kept).map_err(io(path))
}

/// Reads a model folder's `metrics.jsonl`.
pub fn read_metrics(dir: &Path) -> Result<Vec<MetricsRecord>, TrainError> {
    let path = dir.join(METRICS_FILE);
    let text = std::fs::read_to_string(&path).map_err(io(&path))?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, line)| {
            serde_json::from_str(line).map_err(|e| {
                TrainError::Run(format!("{}: line {}: {e}", path.display(), i + 1))
            })
        })
        .collect()
}
