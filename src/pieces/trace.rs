//! A recorded episode of a memory model: what every NTM head, or everything a DNC's memory
//! access computed ([`DncTrace`]), at every time step.
//!
//! Recorded for batch element 0 only, as plain `Vec`s so that it serialises to JSON
//! (`trace.json`) and figures can be drawn from it without the model.

use serde::{Deserialize, Serialize};

use crate::base::kinds::{HeadKind, ReadMode};

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
    /// Read heads first, then write heads (an NTM's; empty for a DNC).
    pub heads: Vec<HeadTrace>,
    /// A DNC's memory access at every step (absent for an NTM).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dnc: Option<DncTrace>,
}

/// A DNC's memory access over one episode (Graves et al. 2016, Methods; the equations in
/// [`crate::pieces::dnc`]), batch element 0, every activation applied.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DncTrace {
    /// The order of each read head's modes in [`DncReadStep::modes`].
    pub read_modes: Vec<ReadMode>,
    /// One entry per time step.
    pub steps: Vec<DncStep>,
    /// The link matrix after the steps [`link_steps`] chooses (always the last).
    pub links: Vec<LinkSnapshot>,
}

/// The write side and the shared state of a DNC at one step t.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DncStep {
    /// Usage u_t `[N]`, after this step's retention, before its write.
    pub usage: Vec<f32>,
    /// Retention psi_t `[N]`.
    pub retention: Vec<f32>,
    /// Allocation weighting a_t `[N]`.
    pub allocation: Vec<f32>,
    /// Write content weighting c^w_t `[N]` (on the memory before the write).
    pub write_content: Vec<f32>,
    /// Write weighting w^w_t `[N]`.
    pub write_weighting: Vec<f32>,
    /// Precedence p_t `[N]`, after the write.
    pub precedence: Vec<f32>,
    /// Write key k^w `[W]`.
    pub write_key: Vec<f32>,
    /// Write strength beta^w >= 1.
    pub write_strength: f32,
    /// Erase vector e `[W]`, in (0, 1).
    pub erase: Vec<f32>,
    /// Write vector v `[W]`.
    pub write_vector: Vec<f32>,
    /// Each read head's free gate f^i `[R]`.
    pub free_gates: Vec<f32>,
    /// Allocation gate g^a.
    pub allocation_gate: f32,
    /// Write gate g^w.
    pub write_gate: f32,
    /// Each read head's step.
    pub reads: Vec<DncReadStep>,
}

/// One DNC read head at one step t.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DncReadStep {
    /// Read key k^{r,i} `[W]`.
    pub key: Vec<f32>,
    /// Read strength beta^{r,i} >= 1.
    pub strength: f32,
    /// Read modes pi^i `[K]`, in the order of [`DncTrace::read_modes`].
    pub modes: Vec<f32>,
    /// Content weighting c^{r,i}_t `[N]` (on the memory after the write).
    pub content: Vec<f32>,
    /// Forward weighting f^i_t = L_t w^{r,i}_{t-1} `[N]` (zeros when no mode follows links).
    pub forward: Vec<f32>,
    /// Backward weighting b^i_t = L_t^T w^{r,i}_{t-1} `[N]` (zeros likewise).
    pub backward: Vec<f32>,
    /// Read weighting w^{r,i}_t `[N]`.
    pub weighting: Vec<f32>,
    /// Read vector r^i_t `[W]`.
    pub read: Vec<f32>,
}

/// The link matrix after one step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinkSnapshot {
    /// The step t (0-based) after which it was taken.
    pub step: usize,
    /// L_t `[N][N]`: row i, column j, how much slot i was written right after slot j.
    pub matrix: Vec<Vec<f32>>,
}

/// Values of link matrices a trace keeps at most (4 MiB of f32, some 12 MiB of JSON).
pub const LINK_TRACE_VALUES: usize = 1 << 20;

/// The steps (0-based, ascending) at which a trace of `time` steps over `slots` slots keeps the
/// link matrix: every step if their matrices fit in [`LINK_TRACE_VALUES`], else as many as fit
/// (at least one), evenly spaced and ending at the last step.
pub fn link_steps(time: usize, slots: usize) -> Vec<usize> {
    if time == 0 {
        return Vec::new();
    }
    let kept = (LINK_TRACE_VALUES / (slots * slots).max(1)).clamp(1, time);
    let stride = time.div_ceil(kept);
    let mut steps: Vec<usize> = (0..kept).filter_map(|k| (time - 1).checked_sub(k * stride)).collect();
    steps.reverse();
    steps
}
