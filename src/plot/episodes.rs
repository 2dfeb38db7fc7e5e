//! The data behind the figures, taken from trained models: traced episodes and output samples.
//! Drawing is [`crate::plot`]'s job; this module runs models to produce what it draws.

use std::path::Path;

use candle_core::{DType, Device, Tensor};
use candle_nn::ops::sigmoid;
use ntm_tasks::Episode;

use crate::error::{io, tensor, Error, Result};
use crate::measure::eval::eval_rng;
use crate::models::batch::TensorBatch;
use crate::models::MemoryRecord;
use crate::pieces::trace::Trace;
use crate::records::report::OutputSample;
use crate::records::run_dir::LoadedModel;

/// Seed salt of figure episodes, so they differ from training and evaluation data.
const FIGURE_SEED_SALT: u64 = 0xf16;

/// One episode of `length` (and `repeats`, if given: the task must have a repeat count)
/// drawn from `seed`, and the model's outputs on it (after the sigmoid),
/// `[time][output width]`, with what its heads did if it has memory and `traced` (without,
/// the model runs as evaluation does, keeping no tape).
fn run_episode(
    loaded: &LoadedModel,
    (length, repeats): (usize, Option<usize>),
    seed: u64,
    traced: bool,
) -> Result<(Episode, Vec<Vec<f32>>, Option<MemoryRecord>)> {
    let tensor_err = tensor(&loaded.built.name);
    let task = loaded.experiment.task.build();
    if let (Some(r), None) = (repeats, task.repeat_range()) {
        return Err(Error::Invalid(format!(
            "{r} repeats: model {} was trained on the {} task, which has no repeat count",
            loaded.built.name,
            task.name()
        )));
    }
    let mut rng = eval_rng(seed ^ FIGURE_SEED_SALT);
    let batch = task.sample_sized(&mut rng, 1, Some(length), repeats);
    let tensors = TensorBatch::new(&batch, &Device::Cpu).map_err(&tensor_err)?;
    let model = &loaded.built.model;
    let (logits, record) = match traced {
        true => model.forward_traced(&tensors.inputs),
        false => model.forward_eval(&tensors.inputs).map(|logits| (logits, None)),
    }
    .map_err(&tensor_err)?;
    let outputs = (|| -> candle_core::Result<Vec<Vec<f32>>> {
        let probs: Tensor = sigmoid(&logits)?.get_on_dim(1, 0)?; // [T, Y]
        probs.to_dtype(DType::F32)?.to_vec2()
    })()
    .map_err(&tensor_err)?;
    Ok((batch.episode(0), outputs, record))
}

/// Traces one episode of `length` (and `repeats`, if given) drawn from `seed` through a
/// trained NTM.
pub fn trace_episode(loaded: &LoadedModel, length: usize, repeats: Option<usize>, seed: u64) -> Result<Trace> {
    let (episode, outputs, record) = run_episode(loaded, (length, repeats), seed, true)?;
    let record = record.ok_or_else(|| {
        Error::Invalid(format!(
            "model {} ({}) has no memory heads to trace; pick an NTM or a DNC",
            loaded.built.name,
            loaded.built.config.kind()
        ))
    })?;
    Ok(Trace {
        task: loaded.experiment.task.name().to_owned(),
        length,
        repeats,
        trained_sequences: loaded.trained_sequences,
        shifts: record.shifts,
        inputs: episode.inputs,
        targets: episode.targets,
        mask: episode.mask,
        outputs,
        initial_memory: record.initial_memory,
        heads: record.heads,
        dnc: record.dnc,
    })
}

/// The model's answer at `length` (and `repeats`, if given): target and output on the
/// scored time steps.
pub fn output_sample(loaded: &LoadedModel, length: usize, repeats: Option<usize>, seed: u64) -> Result<OutputSample> {
    let (episode, outputs, _) = run_episode(loaded, (length, repeats), seed, false)?;
    let scored: Vec<usize> = (0..episode.mask.len()).filter(|&t| episode.mask[t] > 0.0).collect();
    Ok(OutputSample {
        model: loaded.built.name.clone(),
        length,
        repeats,
        target: scored.iter().map(|&t| episode.targets[t].clone()).collect(),
        output: scored.iter().map(|&t| outputs[t].clone()).collect(),
    })
}

/// Writes `value` as (compact) JSON to `path`.
pub fn write_json<T: serde::Serialize>(path: &Path, value: &T) -> Result<()> {
    let json = serde_json::to_string(value).expect("figure data serialise");
    std::fs::write(path, json).map_err(io(path))
}
