//! How far back a model's gradient reaches (the vanishing gradient, measured): on one episode,
//! the norm of the gradient of each answer step's loss with respect to the input at every
//! earlier step.
//!
//! For every answer step t (a step where the mask is above 0), `L_t` is the cross-entropy of
//! that step alone, in nats, summed over its output bits (the term of step t in the training
//! loss); for every input step `s <= t`, `g(t, s) = || dL_t / dx_s ||_2`, the Euclidean norm
//! over the input channels of step s. [`FlowCurve::by_distance`] is, at each distance
//! `d = t - s`, the mean of `g(t, s)` over the answer steps that reach that far back (those
//! with `t >= d`). A step after t cannot change `L_t` (every model is causal), so `s > t` is
//! not computed.
//!
//! The input is a candle [`Var`]; one forward pass, then one backward pass per answer step
//! (candle's autograd), so the cost grows with the square of the episode's length. Models run
//! in f64 (gradients of 1e-12 and below matter on a log axis) on the reference engine: the
//! fused NTM and DNC kernels take their inputs as data and return no gradient for them, and
//! the reference engine computes the same function from the same parameters for every kind.

use std::path::Path;

use candle_core::{DType, Device, Tensor, Var};
use candle_nn::VarMap;
use ntm_tasks::Batch;
use serde::Serialize;

use crate::base::kinds::Engine;
use crate::error::{tensor, Error, Result};
use crate::models::factory::ModelConfig;
use crate::models::SequenceModel;
use crate::optim::loss::bce_with_logits;
use crate::records::checkpoint;
use crate::records::run_dir::read_config;

/// The gradients of one answer step's loss with respect to the inputs before it.
#[derive(Debug, Clone)]
pub struct StepGradients {
    /// The answer step t.
    pub step: usize,
    /// `L_t`: the cross-entropy of step t alone, in nats.
    pub loss: f64,
    /// `dL_t / dx_s` for `s = 0..=t`, `[t + 1][input width]`.
    pub gradients: Vec<Vec<f64>>,
}

impl StepGradients {
    /// `g(t, s) = || dL_t / dx_s ||_2` for `s = 0..=t`.
    pub fn norms(&self) -> Vec<f64> {
        self.gradients.iter().map(|g| g.iter().map(|v| v * v).sum::<f64>().sqrt()).collect()
    }
}

/// The gradient flow of one model on one episode: what the figure draws and its JSON holds.
#[derive(Debug, Clone, Serialize)]
pub struct FlowCurve {
    /// The answer steps t, in order.
    pub answer_steps: Vec<usize>,
    /// `L_t` of each answer step, in nats.
    pub losses: Vec<f64>,
    /// `g(t, s)` of each answer step t (in the order of `answer_steps`) for `s = 0..=t`.
    pub norms: Vec<Vec<f64>>,
    /// At each distance `d = 0, 1, ...` up to the last answer step: the mean of `g(t, t - d)`
    /// over the answer steps with `t >= d`.
    pub by_distance: Vec<f64>,
}

impl FlowCurve {
    /// The curve of the gradients of every answer step.
    pub fn of(steps: &[StepGradients]) -> Self {
        let norms: Vec<Vec<f64>> = steps.iter().map(StepGradients::norms).collect();
        let longest = steps.iter().map(|s| s.step + 1).max().unwrap_or(0);
        let by_distance = (0..longest)
            .map(|d| {
                let reach: Vec<f64> =
                    steps.iter().zip(&norms).filter(|(s, _)| s.step >= d).map(|(s, g)| g[s.step - d]).collect();
                reach.iter().sum::<f64>() / reach.len() as f64
            })
            .collect();
        FlowCurve {
            answer_steps: steps.iter().map(|s| s.step).collect(),
            losses: steps.iter().map(|s| s.loss).collect(),
            norms,
            by_distance,
        }
    }
}

/// The gradient flow of one model, trained and untrained, as the figure's JSON holds it.
#[derive(Debug, Clone, Serialize)]
pub struct ModelFlow {
    /// The model's name in the experiment.
    pub name: String,
    /// Its kind (`ntm`, `lstm`, ...).
    pub kind: String,
    /// Training sequences behind the trained weights.
    pub trained_sequences: u64,
    /// The seed the untrained model was initialised from (the experiment's).
    pub init_seed: u64,
    /// With the trained weights.
    pub trained: FlowCurve,
    /// Freshly initialised from `init_seed`.
    pub untrained: FlowCurve,
}

/// What `ntm plot gradient-flow` writes beside its figure.
#[derive(Debug, Clone, Serialize)]
pub struct GradientFlowRecord {
    /// The task's name.
    pub task: String,
    /// The episode's length (in the task's words: vectors, items, bits, ...).
    pub length: usize,
    /// The seed the episode was drawn from.
    pub seed: u64,
    /// Time steps of the episode.
    pub steps: usize,
    /// What is measured, in words.
    pub definition: String,
    pub models: Vec<ModelFlow>,
}

/// What [`GradientFlowRecord::definition`] says.
pub const DEFINITION: &str = "for every answer step t (mask > 0), L_t = the cross-entropy of step t alone in nats, \
     summed over its output bits; norms[i][s] = ||dL_t/dx_s||_2 for t = answer_steps[i] and s = 0..=t; by_distance[d] \
     = the mean of ||dL_t/dx_(t-d)||_2 over the answer steps t >= d; models run in f64 on the reference engine";

/// `dL_t / dx_s` of `model` on one episode, `inputs` `[T, 1, X]` (in the model's float type)
/// with `targets` `[T, 1, Y]`, for every answer step t (`mask[t]` above 0) and every `s <= t`.
/// An error if the model's forward pass gives no gradient for its inputs (a fused NTM or DNC:
/// see the module documentation).
pub fn input_gradients(
    model: &dyn SequenceModel,
    inputs: &Tensor,
    targets: &Tensor,
    mask: &[f32],
) -> candle_core::Result<Vec<StepGradients>> {
    let (time, batch, _) = inputs.dims3()?;
    if batch != 1 || mask.len() != time {
        candle_core::bail!("gradient flow: one episode at a time, inputs [T, 1, X] and a mask of T steps");
    }
    let inputs = Var::from_tensor(inputs)?;
    let logits = model.forward(inputs.as_tensor())?; // [T, 1, Y]
    let per_step = bce_with_logits(&logits, targets)?.sum(2)?.squeeze(1)?; // [T]
    let mut steps = Vec::new();
    for step in (0..time).filter(|&t| mask[t] > 0.0) {
        let loss = per_step.get(step)?;
        let grads = loss.backward()?;
        let Some(gradient) = grads.get(inputs.as_tensor()) else {
            candle_core::bail!("no gradient reaches the inputs of this model (it takes them as data)");
        };
        let gradients = gradient.squeeze(1)?.narrow(0, 0, step + 1)?.to_dtype(DType::F64)?.to_vec2()?; // [t + 1, X]
        steps.push(StepGradients { step, loss: loss.to_dtype(DType::F64)?.to_scalar()?, gradients });
    }
    Ok(steps)
}

/// [`input_gradients`] on the single episode of `batch` (batch size 1), its inputs and targets
/// in `dtype`.
pub fn episode_gradients(
    model: &dyn SequenceModel,
    batch: &Batch,
    dtype: DType,
) -> candle_core::Result<Vec<StepGradients>> {
    if batch.batch != 1 {
        candle_core::bail!("gradient flow: one episode at a time, not a batch of {}", batch.batch);
    }
    let (t, x, y) = (batch.time, batch.input_width, batch.output_width);
    let inputs = Tensor::from_slice(&batch.inputs, (t, 1, x), &Device::Cpu)?.to_dtype(dtype)?;
    let targets = Tensor::from_slice(&batch.targets, (t, 1, y), &Device::Cpu)?.to_dtype(dtype)?;
    input_gradients(model, &inputs, &targets, &batch.mask)
}

/// `config` on the reference engine (the fused NTM and DNC give no input gradient); the same
/// parameters and function.
pub fn on_reference_engine(config: &ModelConfig) -> ModelConfig {
    let mut config = config.clone();
    match &mut config {
        ModelConfig::Ntm(c) => c.engine = Engine::Reference,
        ModelConfig::Dnc(c) => c.engine = Engine::Reference,
        ModelConfig::Lstm(c) => c.engine = Engine::Reference,
        ModelConfig::Rnn(c) | ModelConfig::Gru(c) | ModelConfig::Dsgu(c) => c.engine = Engine::Reference,
        ModelConfig::Attention(c) => c.engine = Engine::Reference,
        ModelConfig::Custom(_) => {}
    }
    config
}

/// The model of folder `dir` rebuilt for measuring its gradient flow: in f64 on the reference
/// engine, with the weights of file `weights` (e.g. the folder's checkpoint), or, with `None`,
/// freshly initialised from the experiment's seed (the model before training).
pub fn model_for_gradients(dir: &Path, weights: Option<&Path>) -> Result<Box<dyn SequenceModel>> {
    let (experiment, name) = read_config(dir)?;
    let config = on_reference_engine(&experiment.models[&name]);
    config.check_built_in(&name).map_err(|e| Error::Invalid(format!("{}: {e}", dir.display())))?;
    let task = experiment.task.build();
    let varmap = VarMap::new();
    let (x, y) = (task.input_width(), task.output_width());
    let model = config.build(&varmap, experiment.seed, x, y, DType::F64, &Device::Cpu).map_err(tensor(&name))?;
    if let Some(weights) = weights {
        checkpoint::load_weights(weights, &varmap)?;
    }
    Ok(model)
}
