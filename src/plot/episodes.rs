//! The data behind the figures, taken from trained models: traced episodes and output samples.
//! Drawing is [`crate::plot`]'s job; this module runs models to produce what it draws.

use std::path::Path;

use candle_core::{DType, Device, Tensor};
use candle_nn::ops::sigmoid;
use ntm_tasks::{Batch, Episode, Task};

use crate::error::{io, tensor, Error, Result};
use crate::measure::eval::eval_rng;
use crate::models::batch::TensorBatch;
use crate::models::MemoryRecord;
use crate::pieces::trace::Trace;
use crate::records::report::OutputSample;
use crate::records::run_dir::LoadedModel;

/// Seed salt of figure episodes, so they differ from training and evaluation data.
const FIGURE_SEED_SALT: u64 = 0xf16;

/// The episode the figures show at `length` (and `repeats`, if given: the task must have a
/// repeat count) for `seed` (`ntm plot heads --seed`): one element drawn from the figures' own
/// generator, so it differs from the training and evaluation data of the same seed.
pub fn figure_episode(task: &dyn Task, length: usize, repeats: Option<usize>, seed: u64) -> Batch {
    let mut rng = eval_rng(seed ^ FIGURE_SEED_SALT);
    task.sample_sized(&mut rng, 1, Some(length), repeats)
}

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
    let batch = figure_episode(task.as_ref(), length, repeats, seed);
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

/// Bytes a JSON number of a trace takes on average, with its comma: serde_json writes an f32
/// in its shortest exact form, `0.0123457`, `1.2345e-5` (measured on traces of the copy NTM:
/// about 13).
const JSON_BYTES_PER_VALUE: f64 = 13.0;
/// Bytes of the keys and brackets around each head's record of a step.
const JSON_BYTES_PER_HEAD_STEP: f64 = 130.0;

/// About how many bytes the JSON trace of an episode of `steps` steps through NTM `config`
/// (inputs and outputs `io` wide) takes: per step the inputs, targets, mask and outputs, and
/// for each head its weighting and content weighting over the slots, its key, gate, strength,
/// shift and sharpening and its add and erase (write) or read (read) vectors; and the initial
/// memory. Known before tracing, so that `ntm plot heads` can refuse a trace too large to be of
/// use (1.6 GiB estimated for the copy NTM at length 100,000; 1.66 GB written before the check).
pub fn trace_json_bytes(config: &crate::models::ntm::NtmConfig, (inputs, outputs): (usize, usize), steps: f64) -> f64 {
    let (slots, width) = (config.memory.slots as f64, config.memory.width as f64);
    let head = 2.0 * slots + width + 3.0 + config.shifts.len() as f64;
    let per_step = (inputs + 2 * outputs + 1) as f64
        + config.write_heads as f64 * (head + 2.0 * width)
        + config.read_heads as f64 * (head + width);
    let head_steps = steps * (config.read_heads + config.write_heads) as f64;
    (steps * per_step + slots * width) * JSON_BYTES_PER_VALUE + head_steps * JSON_BYTES_PER_HEAD_STEP
}

/// About how many bytes the JSON trace of an episode of `steps` steps through DNC `config`
/// takes, as [`trace_json_bytes`] for an NTM: per step the inputs, targets, mask and outputs,
/// the write side (usage, retention, allocation, write content, write weighting and precedence
/// over the N slots; the write key, erase and write vectors; the gates and strength), each read
/// head's key, strength, modes, four weightings over the slots and read vector; the link
/// matrices [`crate::pieces::trace::link_steps`] keeps; and the initial memory.
pub fn dnc_trace_json_bytes(
    config: &crate::models::dnc::DncConfig,
    (inputs, outputs): (usize, usize),
    steps: f64,
) -> f64 {
    let (slots, width) = (config.memory.slots as f64, config.memory.width as f64);
    let reads = config.read_heads as f64;
    let write_side = 6.0 * slots + 3.0 * width + 3.0 + reads;
    let read_head = 4.0 * slots + 2.0 * width + 1.0 + config.read_modes.len() as f64;
    let per_step = (inputs + 2 * outputs + 1) as f64 + write_side + reads * read_head;
    let time = steps.clamp(0.0, usize::MAX as f64) as usize;
    let uses_links = config.read_modes.iter().any(|&m| m != crate::base::kinds::ReadMode::Content);
    let links = match uses_links {
        true => crate::pieces::trace::link_steps(time, config.memory.slots).len() as f64 * slots * slots,
        false => 0.0,
    };
    (steps * per_step + links + slots * width) * JSON_BYTES_PER_VALUE + steps * (1.0 + reads) * JSON_BYTES_PER_HEAD_STEP
}

/// About how many bytes the JSON trace of `config` takes ([`trace_json_bytes`] for an NTM,
/// [`dnc_trace_json_bytes`] for a DNC; 0 for a model without memory, which has no trace).
pub fn model_trace_json_bytes(config: &crate::models::factory::ModelConfig, io: (usize, usize), steps: f64) -> f64 {
    use crate::models::factory::ModelConfig;
    match config {
        ModelConfig::Ntm(c) => trace_json_bytes(c, io, steps),
        ModelConfig::Dnc(c) => dnc_trace_json_bytes(c, io, steps),
        _ => 0.0,
    }
}

/// Writes `value` as (compact) JSON to `path`.
pub fn write_json<T: serde::Serialize>(path: &Path, value: &T) -> Result<()> {
    let json = serde_json::to_string(value).expect("figure data serialise");
    std::fs::write(path, json).map_err(io(path))
}
