//! The sequence-model interface that the trainer, evaluator and figures use, and the model
//! configurations an experiment file names.
//!
//! Any implementation of a model (the composed-op NTM, a fused one, the LSTM baseline) sits
//! behind [`SequenceModel`], so one trainer and one evaluator serve them all.

pub mod addressing;
pub mod controller;
pub mod heads;
pub mod lstm;
pub mod memory;
pub mod ntm;
pub mod params;
pub mod trace;

use candle_core::{DType, Device, Result, Tensor};
use candle_nn::VarMap;
use serde::{Deserialize, Serialize};

use crate::model::lstm::{LstmBaseline, LstmBaselineConfig};
use crate::model::ntm::{Ntm, NtmConfig};
use crate::model::params::ParamBuilder;
use crate::model::trace::HeadTrace;

/// What a traced forward pass records about the memory (batch element 0).
#[derive(Debug, Clone)]
pub struct MemoryRecord {
    /// Memory before the first step, `[N][M]`.
    pub initial_memory: Vec<Vec<f32>>,
    /// Shifts the heads may make.
    pub shifts: Vec<i64>,
    /// Read heads first, then write heads, every step.
    pub heads: Vec<HeadTrace>,
}

/// A model that maps an input sequence to output logits, one time step after another.
pub trait SequenceModel: Send + Sync {
    /// `inputs`: `[T, B, input width]` -> logits `[T, B, output width]` (before the sigmoid).
    fn forward(&self, inputs: &Tensor) -> Result<Tensor>;

    /// Like [`forward`](Self::forward), also recording what the memory heads did for batch
    /// element 0; `None` for models without memory.
    fn forward_traced(&self, inputs: &Tensor) -> Result<(Tensor, Option<MemoryRecord>)> {
        Ok((self.forward(inputs)?, None))
    }

    /// Number of trainable scalars.
    fn parameter_count(&self) -> usize;
}

/// One entry of an experiment's `[models]` table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum ModelConfig {
    /// A Neural Turing Machine (paper section 3).
    Ntm(NtmConfig),
    /// A stacked LSTM with a sigmoid output layer (the paper's baseline).
    Lstm(LstmBaselineConfig),
}

impl ModelConfig {
    /// Checks every field; the error names the field (relative to the model's table), the value
    /// and what is allowed.
    pub fn validate(&self) -> std::result::Result<(), String> {
        match self {
            ModelConfig::Ntm(c) => c.validate(),
            ModelConfig::Lstm(c) => c.validate(),
        }
    }

    /// A short name of the architecture, e.g. `ntm` or `lstm`.
    pub fn kind(&self) -> &'static str {
        match self {
            ModelConfig::Ntm(_) => "ntm",
            ModelConfig::Lstm(_) => "lstm",
        }
    }

    /// Builds the model, creating its parameters in `varmap` (initialised from `seed`) or
    /// reusing the ones already there (loaded from a checkpoint).
    pub fn build(
        &self,
        varmap: &VarMap,
        seed: u64,
        input_width: usize,
        output_width: usize,
        dtype: DType,
        device: &Device,
    ) -> Result<Box<dyn SequenceModel>> {
        let params = ParamBuilder::new(varmap, seed, dtype, device);
        Ok(match self {
            ModelConfig::Ntm(c) => Box::new(Ntm::new(c, &params, input_width, output_width)?),
            ModelConfig::Lstm(c) => {
                Box::new(LstmBaseline::new(c, &params, input_width, output_width)?)
            }
        })
    }
}

/// Runs `step` over the time axis of `inputs` (`[T, B, in]`) and stacks the per-step outputs
/// into `[T, B, out]`.
pub fn unroll<S>(
    inputs: &Tensor,
    mut state: S,
    mut step: impl FnMut(&Tensor, S) -> Result<(Tensor, S)>,
) -> Result<Tensor> {
    let time = inputs.dim(0)?;
    let mut outputs = Vec::with_capacity(time);
    for t in 0..time {
        let (y, next) = step(&inputs.get(t)?, state)?;
        outputs.push(y);
        state = next;
    }
    Tensor::stack(&outputs, 0)
}
