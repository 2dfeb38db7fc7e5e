//! The model pieces, each a small module (addressing, memory, heads, controller, parameters),
//! the two architectures built from them ([`ntm`], [`lstm`]), and the sequence-model interface
//! that the trainer, evaluator and figures use.
//!
//! Any implementation of a model (the composed-op NTM, a fused one, the LSTM baseline) sits
//! behind [`SequenceModel`], so one trainer and one evaluator serve them all;
//! [`crate::factory`] builds the one an experiment names.

pub mod addressing;
pub mod controller;
pub mod heads;
pub mod lstm;
pub mod memory;
pub mod ntm;
pub mod params;
pub mod trace;

use candle_core::{Result, Tensor};

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

    /// The logits of [`forward`](Self::forward), the same bits, for evaluation: no gradient
    /// flows back through them, so a model may compute them without keeping what a backward
    /// pass would need (the fused NTM keeps O(B N M) state instead of every step's memory).
    fn forward_eval(&self, inputs: &Tensor) -> Result<Tensor> {
        self.forward(inputs)
    }

    /// Like [`forward`](Self::forward), also recording what the memory heads did for batch
    /// element 0; `None` for models without memory.
    fn forward_traced(&self, inputs: &Tensor) -> Result<(Tensor, Option<MemoryRecord>)> {
        Ok((self.forward(inputs)?, None))
    }

    /// Number of trainable scalars.
    fn parameter_count(&self) -> usize;
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
