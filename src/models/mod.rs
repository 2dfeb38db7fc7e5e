//! The architectures and the interface they share: the NTM ([`ntm`], with its [`controller`]),
//! the Differentiable Neural Computer ([`dnc`]) and the LSTM baseline ([`lstm`]) built from
//! [`crate::pieces`] and run on the composed pieces or the fused kernels ([`crate::fused`]);
//! [`factory`] (the `[models.<name>]` table and the one place that knows every
//! architecture); [`batch`] (a task's batch as the tensors a model takes); [`resize`] (a
//! trained NTM or DNC at another memory size).
//!
//! Any model (the NTM or the DNC on either engine, the LSTM baseline, a model of your own) sits behind
//! [`SequenceModel`], so one trainer and one evaluator serve them all.

pub mod attention;
pub mod batch;
pub mod controller;
pub mod dnc;
pub mod dsgu;
pub mod factory;
pub mod lstm;
pub mod ntm;
pub mod resize;
pub mod rnn;

use candle_core::{Result, Tensor};

use crate::pieces::trace::{DncTrace, HeadTrace};

/// What a traced forward pass records about the memory (batch element 0).
#[derive(Debug, Clone)]
pub struct MemoryRecord {
    /// Memory before the first step, `[N][M]`.
    pub initial_memory: Vec<Vec<f32>>,
    /// Shifts the heads may make.
    pub shifts: Vec<i64>,
    /// An NTM's read heads first, then write heads, every step (empty for a DNC).
    pub heads: Vec<HeadTrace>,
    /// A DNC's memory access, every step (`None` for an NTM).
    pub dnc: Option<DncTrace>,
    /// The memory after every step's writes (what that step's read heads read), `[T, N, M]`
    /// flat and row-major; recorded only when asked
    /// ([`SequenceModel::forward_traced_with_memory`]), being N x M floats a step.
    pub memory: Option<Vec<f32>>,
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

    /// Like [`forward_traced`](Self::forward_traced), also recording the memory after every
    /// step ([`MemoryRecord::memory`]); the default records what `forward_traced` does.
    fn forward_traced_with_memory(&self, inputs: &Tensor) -> Result<(Tensor, Option<MemoryRecord>)> {
        self.forward_traced(inputs)
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
