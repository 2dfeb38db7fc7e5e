//! A recorded episode of an NTM: what every head did at every time step.
//!
//! Recorded for batch element 0 only, as plain `Vec`s so that it serialises to JSON
//! (`trace.json`) and figures can be drawn from it without the model.

use serde::{Deserialize, Serialize};

use crate::base::kinds::HeadKind;

/// One head's state at one time step, all activations applied (paper section 3.3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeadStep {
    /// Final weighting w_t over memory slots, `[N]` (eq. 9).
    pub weighting: Vec<f32>,
    /// Content weighting w^c_t, `[N]` (eq. 5).
    pub content_weighting: Vec<f32>,
    /// Key vector k_t, `[M]`.
    pub key: Vec<f32>,
    /// Key strength beta_t >= 0.
    pub beta: f32,
    /// Interpolation gate g_t in (0, 1).
    pub gate: f32,
    /// Shift distribution s_t over the allowed shifts, `[shifts]`.
    pub shift: Vec<f32>,
    /// Sharpening exponent gamma_t >= 1.
    pub gamma: f32,
    /// Erase vector e_t in (0, 1)^M (write heads only).
    pub erase: Option<Vec<f32>>,
    /// Add vector a_t, `[M]` (write heads only).
    pub add: Option<Vec<f32>>,
    /// Read vector r_t, `[M]` (read heads only).
    pub read: Option<Vec<f32>>,
}

/// Every step of one head.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeadTrace {
    pub kind: HeadKind,
    /// Index among heads of the same kind (read 0, read 1, ..., write 0, ...).
    pub index: usize,
    /// One entry per time step.
    pub steps: Vec<HeadStep>,
}

/// A whole episode: inputs, targets, outputs and every head's behaviour.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trace {
    /// Task name (`copy`, `repeat-copy`, ...).
    pub task: String,
    /// The task's sequence length for this episode.
    pub length: usize,
    /// The episode's repeat count when it was fixed (repeat copy, `--repeats`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeats: Option<usize>,
    /// Training sequences the model had seen when traced.
    pub trained_sequences: u64,
    /// Shifts the heads may make, e.g. `[-1, 0, 1]`.
    pub shifts: Vec<i64>,
    /// Input vectors, `[time][input width]`.
    pub inputs: Vec<Vec<f32>>,
    /// Target vectors, `[time][output width]` (zero where the mask is 0).
    pub targets: Vec<Vec<f32>>,
    /// 1 where the target counts, `[time]`.
    pub mask: Vec<f32>,
    /// Model outputs after the sigmoid, `[time][output width]`.
    pub outputs: Vec<Vec<f32>>,
    /// Memory before the first step, `[N][M]`; with the write heads' weightings, erase and
    /// add vectors it rebuilds the memory at every step (eqs. 3, 4).
    pub initial_memory: Vec<Vec<f32>>,
    /// Read heads first, then write heads.
    pub heads: Vec<HeadTrace>,
}
