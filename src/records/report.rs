//! The records a run writes to disk and the figures are drawn from.
//!
//! Every file format the toolkit writes lives here, so the trainer, the evaluator and the
//! plotting code agree on it and any run can be re-plotted without retraining.

use serde::{Deserialize, Serialize};

/// One line of `metrics.jsonl`: the training statistics over one report interval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricsRecord {
    /// Training sequences seen so far (summed over batches).
    pub sequences: u64,
    /// Mean binary cross-entropy over the interval, in bits per sequence.
    pub loss_bits: f64,
    /// For a task with a known optimal predictor (dynamic N-grams), that predictor's mean
    /// cross-entropy on the same training batches, in bits per sequence (the line a model's
    /// `loss_bits` can at best reach); absent for the other tasks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub optimal_loss_bits: Option<f64>,
    /// Mean number of wrong output bits per sequence after thresholding at 0.5.
    pub bit_errors: f64,
    /// Wall-clock seconds since training started (resumed runs keep counting).
    pub seconds: f64,
    /// Batches of the interval whose update was skipped because their gradient was not
    /// finite (`train.skip_nonfinite`); their loss and bit errors are in the means above.
    #[serde(default)]
    pub skipped: u64,
}

/// One row of `eval.json`: the model's quality on sequences of one length (and, when
/// evaluated on a grid, of one repeat count).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalResult {
    /// Sequence length (the task's length parameter, e.g. the number of vectors to copy).
    pub length: usize,
    /// The repeat count every sequence had (repeat copy evaluated at `eval.repeats` or
    /// `--repeats`); absent when the counts were drawn from the training range.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeats: Option<usize>,
    /// Mean cross-entropy in bits per sequence.
    pub loss_bits: f64,
    /// For a task with a known optimal predictor (dynamic N-grams), that predictor's mean
    /// cross-entropy on the same test sequences, in bits per sequence; absent for the other
    /// tasks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub optimal_loss_bits: Option<f64>,
    /// Mean wrong bits per sequence after thresholding at 0.5.
    pub bit_errors: f64,
    /// How many sequences the means are over.
    pub sequences: usize,
    /// The NTM's memory slots at test time, when not those it was trained with (`ntm eval
    /// --slots`); absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slots: Option<usize>,
}

/// The whole `eval.json` of one model: generalisation to each test length.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalReport {
    /// The model's name in the experiment (`ntm`, `lstm`, ...).
    pub model: String,
    /// The task's name (`copy`, `repeat-copy`, ...).
    pub task: String,
    /// One entry per test length, in increasing length (per length and repeat count, the
    /// counts increasing within each length, with repeats).
    pub results: Vec<EvalResult>,
}

/// One model's answer to one episode, for the "outputs at long lengths" figure.
///
/// Matrices are `[time][channel]`, restricted to the time steps where the target counts
/// (mask = 1), so `target` and `output` have the same shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutputSample {
    /// The model's name in the experiment.
    pub model: String,
    /// The sequence length of the episode.
    pub length: usize,
    /// The episode's repeat count, when it was fixed (repeat copy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeats: Option<usize>,
    /// Target bits, `[time][output width]`.
    pub target: Vec<Vec<f32>>,
    /// Model outputs after the sigmoid, in `[0, 1]`, `[time][output width]`.
    pub output: Vec<Vec<f32>>,
}
