//! Evaluation: bits and bit errors per sequence at each test length (the generalisation test
//! of paper section 4.1).

use candle_core::Device;
use ntm_tasks::Task;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::config::Experiment;
use crate::data::TensorBatch;
use crate::error::{tensor, Result};
use crate::loss;
use crate::model::SequenceModel;
use crate::report::{EvalReport, EvalResult};
use crate::run_dir::LoadedModel;

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

/// The report of model `name` of `experiment` (its task and seed) on `lengths`; writes
/// nothing (see [`crate::run_dir::write_eval`]).
pub fn evaluate_model(
    name: &str,
    model: &dyn SequenceModel,
    experiment: &Experiment,
    lengths: &[usize],
    sequences: usize,
) -> Result<EvalReport> {
    let task = experiment.task.build();
    let results = evaluate(model, task.as_ref(), lengths, sequences, experiment.seed).map_err(tensor(name))?;
    Ok(EvalReport { model: name.to_owned(), task: task.name().to_owned(), results })
}

/// [`evaluate_model`] of a model loaded from its folder.
pub fn evaluate_loaded(loaded: &LoadedModel, lengths: &[usize], sequences: usize) -> Result<EvalReport> {
    evaluate_model(&loaded.built.name, loaded.built.model.as_ref(), &loaded.experiment, lengths, sequences)
}
