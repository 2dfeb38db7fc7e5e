//! Training speed: wall time of full optimiser steps ([`Trainer::step_on`]: forward, loss,
//! backward, clipping, the optimiser's update, exactly as training takes them) on fixed-length
//! copy sequences, per engine, model and batch size.
//!
//! Each case builds its model, runs `warmup` untimed steps, then `reps` repetitions of `steps`
//! steps each; a repetition's time divided by its sequence-steps (`steps * T * B`) gives one
//! sample of ms per step, divided by `steps * B` one sample of ms per sequence. Rows report
//! the median and the min-max spread of the repetitions.
//!
//! Peak memory is the process's VmHWM (`/proc/self/status`), read after the case; `ntm bench`
//! runs each case in a fresh process so that is the case's own peak (the whole process:
//! binary, allocator, model, graph). Within one process, the high-water mark is reset to the
//! current RSS before each case through `/proc/self/clear_refs` where the kernel allows it
//! (`peak_rss_scope = "case"`, which then still counts memory that earlier cases freed but the
//! allocator kept); otherwise it is the peak so far (`"process"`).

use std::time::Instant;

use std::collections::BTreeMap;

use candle_core::Device;
use ntm_tasks::{CopySpec, TaskSpec};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::base::kinds::Engine;
use crate::config::{EvalConfig, Experiment, TrainConfig};
use crate::error::{tensor, Result};
use crate::measure::budget;
use crate::models::attention::AttentionConfig;
use crate::models::batch::TensorBatch;
use crate::models::dnc::DncConfig;
use crate::models::factory::ModelConfig;
use crate::models::lstm::LstmBaselineConfig;
use crate::models::ntm::NtmConfig;
use crate::models::rnn::RnnBaselineConfig;
use crate::optim::loss;
use crate::optim::OptimizerKind;
use crate::train::{Step, Trainer};

/// How long to measure each case.
#[derive(Debug, Clone)]
pub struct BenchSettings {
    /// Copy sequence length L; an episode has 2L + 1 time steps.
    pub length: usize,
    /// Untimed steps before measuring.
    pub warmup: usize,
    /// Timed repetitions (the median and spread are over these).
    pub reps: usize,
    /// Optimiser steps per repetition.
    pub steps: usize,
    /// Seed of the parameters and the sequences.
    pub seed: u64,
    /// How each step trains (optimiser, learning rate, clipping; `sequences` and `batch` are
    /// not used).
    pub train: TrainConfig,
}

impl Default for BenchSettings {
    fn default() -> Self {
        Self {
            length: 20,
            warmup: 2,
            reps: 5,
            steps: 25,
            seed: 0,
            // The paper's recipe for copy: RMSProp at 1e-4, gradients clipped to +-10, and
            // Collier & Beel's global-norm clip of 50.
            train: TrainConfig {
                optimizer: OptimizerKind::Rmsprop,
                lr: 1e-4,
                lr_final: 0.0,
                clip_value: 10.0,
                clip_norm: 50.0,
                ..TrainConfig::default()
            },
        }
    }
}

/// What a case times.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BenchMode {
    /// Whole optimiser steps, as training takes them.
    #[default]
    Train,
    /// The forward pass and loss evaluation runs ([`crate::models::SequenceModel::forward_eval`]: the fused
    /// NTM keeps no tape), on the same batch.
    Eval,
}

impl BenchMode {
    pub fn name(self) -> &'static str {
        match self {
            BenchMode::Train => "train",
            BenchMode::Eval => "eval",
        }
    }
}

impl std::str::FromStr for BenchMode {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "train" => Ok(BenchMode::Train),
            "eval" => Ok(BenchMode::Eval),
            other => Err(format!("unknown mode {other:?}; use train, eval")),
        }
    }
}

/// One model to measure.
#[derive(Debug, Clone)]
pub struct BenchCase {
    /// Label of the model in the table, e.g. `ntm` or `lstm-3x256`.
    pub model: String,
    /// The model (its `engine` field selects the engine).
    pub config: ModelConfig,
    /// Sequences per optimiser step.
    pub batch: usize,
    /// Copy sequence length of the case (None: the settings' length).
    pub length: Option<usize>,
    /// Training steps or evaluation passes.
    pub mode: BenchMode,
}

impl BenchCase {
    /// The engine the case's model runs on (a model of your own, which the bench cannot build,
    /// composes candle operations: the reference engine's way).
    pub fn engine(&self) -> Engine {
        match &self.config {
            ModelConfig::Ntm(c) => c.engine,
            ModelConfig::Dnc(c) => c.engine,
            ModelConfig::Lstm(c) => c.engine,
            ModelConfig::Rnn(c) | ModelConfig::Gru(c) | ModelConfig::Dsgu(c) => c.engine,
            ModelConfig::Attention(c) => c.engine,
            ModelConfig::Custom(_) => Engine::Reference,
        }
    }

    /// The NTM's or DNC's memory slots; `None` for a model without memory.
    pub fn slots(&self) -> Option<usize> {
        match &self.config {
            ModelConfig::Ntm(c) => Some(c.memory.slots),
            ModelConfig::Dnc(c) => Some(c.memory.slots),
            ModelConfig::Lstm(_)
            | ModelConfig::Rnn(_)
            | ModelConfig::Gru(_)
            | ModelConfig::Dsgu(_)
            | ModelConfig::Attention(_)
            | ModelConfig::Custom(_) => None,
        }
    }
}

/// The sizes of the memory models a bench measures, where they differ from the defaults (the
/// NTM paper's: memory width 20, one read head, a controller of 100 units; the DNC's defaults
/// are the same).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MemorySizes {
    /// Memory width.
    pub width: Option<usize>,
    /// Read heads.
    pub read_heads: Option<usize>,
    /// Controller units.
    pub controller_size: Option<usize>,
}

impl MemorySizes {
    /// The NTM of the copy task with these sizes, on `engine`.
    pub fn ntm(&self, engine: Engine) -> NtmConfig {
        let mut c = NtmConfig { engine, ..NtmConfig::default() };
        c.memory.width = self.width.unwrap_or(c.memory.width);
        c.read_heads = self.read_heads.unwrap_or(c.read_heads);
        c.controller_size = self.controller_size.unwrap_or(c.controller_size);
        c
    }

    /// The DNC with these sizes, on `engine`.
    pub fn dnc(&self, engine: Engine) -> DncConfig {
        let mut c = DncConfig { engine, ..DncConfig::default() };
        c.memory.width = self.width.unwrap_or(c.memory.width);
        c.read_heads = self.read_heads.unwrap_or(c.read_heads);
        c.controller_size = self.controller_size.unwrap_or(c.controller_size);
        c
    }
}

/// The copy-task cases: the paper's NTM, the DNC of the same sizes, the 3x256 LSTM baseline
/// the 3x256 RNN, GRU and DSGU baselines and the 1x256 attention baseline (those of `models` named), the memory models at `sizes`, each on each of
/// `engines`, at each batch size, smallest first.
pub fn copy_cases(batches: &[usize], engines: &[Engine], models: &[String], sizes: MemorySizes) -> Vec<BenchCase> {
    let mut cases = Vec::new();
    for &batch in batches {
        if models.iter().any(|m| m == "ntm") {
            for &engine in engines {
                let config = ModelConfig::Ntm(sizes.ntm(engine));
                cases.push(BenchCase { model: "ntm".into(), config, batch, length: None, mode: BenchMode::Train });
            }
        }
        if models.iter().any(|m| m == "dnc") {
            for &engine in engines {
                let config = ModelConfig::Dnc(sizes.dnc(engine));
                cases.push(BenchCase { model: "dnc".into(), config, batch, length: None, mode: BenchMode::Train });
            }
        }
        if models.iter().any(|m| m == "lstm") {
            for &engine in engines {
                let lstm = LstmBaselineConfig { engine, ..LstmBaselineConfig::default() };
                let model = format!("lstm-{}x{}", lstm.layers, lstm.size);
                cases.push(BenchCase {
                    model,
                    config: ModelConfig::Lstm(lstm),
                    batch,
                    length: None,
                    mode: BenchMode::Train,
                });
            }
        }
        if models.iter().any(|m| m == "rnn") {
            for &engine in engines {
                let rnn = RnnBaselineConfig { engine, ..RnnBaselineConfig::default() };
                let model = format!("rnn-{}x{}", rnn.layers, rnn.size);
                let config = ModelConfig::Rnn(rnn);
                cases.push(BenchCase { model, config, batch, length: None, mode: BenchMode::Train });
            }
        }
        if models.iter().any(|m| m == "gru") {
            for &engine in engines {
                let gru = RnnBaselineConfig { engine, ..RnnBaselineConfig::default() };
                let model = format!("gru-{}x{}", gru.layers, gru.size);
                let config = ModelConfig::Gru(gru);
                cases.push(BenchCase { model, config, batch, length: None, mode: BenchMode::Train });
            }
        }
        if models.iter().any(|m| m == "dsgu") {
            for &engine in engines {
                let dsgu = RnnBaselineConfig { engine, ..RnnBaselineConfig::default() };
                let model = format!("dsgu-{}x{}", dsgu.layers, dsgu.size);
                let config = ModelConfig::Dsgu(dsgu);
                cases.push(BenchCase { model, config, batch, length: None, mode: BenchMode::Train });
            }
        }
        if models.iter().any(|m| m == "attention") {
            for &engine in engines {
                let attention = AttentionConfig { engine, ..AttentionConfig::default() };
                let model = format!("attention-{}x{}", attention.layers, attention.size);
                let config = ModelConfig::Attention(attention);
                cases.push(BenchCase { model, config, batch, length: None, mode: BenchMode::Train });
            }
        }
    }
    cases
}

/// The scaling grid: every case of [`copy_cases`] at every copy length of `lengths`, the
/// NTMs and DNCs at every memory size of `slots`, each in every mode of `modes`; smallest
/// first (lengths outer, then slots).
pub fn grid_cases(base: &[BenchCase], lengths: &[usize], slots: &[usize], modes: &[BenchMode]) -> Vec<BenchCase> {
    let mut cases = Vec::new();
    for &length in lengths {
        for case in base {
            let sized: Vec<ModelConfig> = match &case.config {
                ModelConfig::Ntm(c) => slots
                    .iter()
                    .map(|&n| {
                        let mut c = c.clone();
                        c.memory.slots = n;
                        ModelConfig::Ntm(c)
                    })
                    .collect(),
                ModelConfig::Dnc(c) => slots
                    .iter()
                    .map(|&n| {
                        let mut c = c.clone();
                        c.memory.slots = n;
                        ModelConfig::Dnc(c)
                    })
                    .collect(),
                other => vec![other.clone()],
            };
            for config in sized {
                for &mode in modes {
                    cases.push(BenchCase { config: config.clone(), length: Some(length), mode, ..case.clone() });
                }
            }
        }
    }
    cases
}

/// One measured case. Times are in milliseconds; `*_min`, `*_max` span the repetitions.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BenchRow {
    pub engine: String,
    pub model: String,
    pub batch: usize,
    /// Threads the case's fused kernels used (`--threads`; 1 in rows from before it existed).
    #[serde(default = "one_thread")]
    pub threads: usize,
    /// `train` (optimiser steps) or `eval` (evaluation passes).
    #[serde(default = "train_mode")]
    pub mode: String,
    /// The NTM's or DNC's memory slots (null for the LSTM).
    #[serde(default)]
    pub slots: Option<usize>,
    /// Copy sequence length.
    #[serde(default)]
    pub length: usize,
    /// Time steps per sequence.
    pub time_steps: usize,
    /// Median wall time per time step and sequence (a step's time / (T * B)).
    pub ms_per_step: f64,
    pub ms_per_step_min: f64,
    pub ms_per_step_max: f64,
    /// Median wall time per sequence (a step's time / B).
    pub ms_per_sequence: f64,
    pub ms_per_sequence_min: f64,
    pub ms_per_sequence_max: f64,
    /// Peak resident memory in MiB (see `peak_rss_scope`).
    pub peak_rss_mb: f64,
    /// `case`: the peak during this case; `process`: the process's peak so far.
    pub peak_rss_scope: String,
    /// What [`crate::measure::budget`] estimates the case needs, in MiB (its check against the
    /// measured peak).
    #[serde(default)]
    pub estimate_mb: f64,
}

fn train_mode() -> String {
    "train".into()
}

fn one_thread() -> usize {
    1
}

/// What [`crate::measure::budget`] estimates `case` needs, in bytes: batches of the bench's copy
/// task (`CopySpec::default()`) at the case's length.
pub fn estimate_bytes(case: &BenchCase, settings: &BenchSettings) -> f64 {
    let task = TaskSpec::Copy(CopySpec::default());
    let built = task.build();
    let steps = budget::episode_steps(&task, case.length.unwrap_or(settings.length), None);
    let io = (built.input_width(), built.output_width());
    match case.mode {
        BenchMode::Train => budget::training_bytes(&case.config, io, case.batch, steps),
        BenchMode::Eval => budget::eval_bytes(&case.config, io, case.batch, steps),
    }
}

/// Measures `case`.
pub fn run_case(case: &BenchCase, settings: &BenchSettings) -> Result<BenchRow> {
    let reset = reset_peak_rss();
    let task = TaskSpec::Copy(CopySpec::default());
    let experiment = Experiment {
        name: "bench".into(),
        seed: settings.seed,
        models: BTreeMap::from([(case.model.clone(), case.config.clone())]),
        task: task.clone(),
        train: settings.train.clone(),
        eval: EvalConfig::default(),
    };
    let length = case.length.unwrap_or(settings.length);
    let mut trainer = Trainer::new(&experiment, &case.model)?;
    let mut rng = ChaCha8Rng::seed_from_u64(settings.seed);
    let built = task.build();
    let batch = built.sample(&mut rng, case.batch, Some(length));
    let batch = TensorBatch::new(&batch, &Device::Cpu).map_err(tensor(&case.model))?;
    let time_steps = batch.inputs.dim(0).map_err(tensor(&case.model))?;
    let estimate = estimate_bytes(case, settings);

    // A fault (a loss or gradient that is not finite) would time a step without an update.
    let mut step = || match case.mode {
        BenchMode::Eval => {
            let logits = trainer.model().forward_eval(&batch.inputs).map_err(tensor(&case.model))?;
            loss::sequence_loss(&logits, &batch.targets, &batch.mask).map_err(tensor(&case.model))?;
            Ok(())
        }
        BenchMode::Train => match trainer.step_on(&batch)? {
            Step::Trained { .. } => Ok(()),
            Step::Fault { .. } | Step::Skipped { .. } => {
                Err(crate::Error::Invalid(format!("bench {}: training diverged", case.model)))
            }
        },
    };
    for _ in 0..settings.warmup {
        step()?;
    }
    let mut rep_ms = Vec::with_capacity(settings.reps);
    for _ in 0..settings.reps.max(1) {
        let started = Instant::now();
        for _ in 0..settings.steps.max(1) {
            step()?;
        }
        rep_ms.push(started.elapsed().as_secs_f64() * 1e3);
    }
    let sequences = (settings.steps.max(1) * case.batch) as f64;
    let per_sequence: Vec<f64> = rep_ms.iter().map(|ms| ms / sequences).collect();
    let per_step: Vec<f64> = per_sequence.iter().map(|ms| ms / time_steps as f64).collect();
    let (seq_med, seq_min, seq_max) = summary(&per_sequence);
    let (step_med, step_min, step_max) = summary(&per_step);
    Ok(BenchRow {
        engine: case.engine().name().into(),
        model: case.model.clone(),
        batch: case.batch,
        threads: crate::base::pool::kernel_threads(),
        mode: case.mode.name().into(),
        slots: case.slots(),
        length,
        time_steps,
        ms_per_step: step_med,
        ms_per_step_min: step_min,
        ms_per_step_max: step_max,
        ms_per_sequence: seq_med,
        ms_per_sequence_min: seq_min,
        ms_per_sequence_max: seq_max,
        peak_rss_mb: peak_rss_mb().unwrap_or(f64::NAN),
        peak_rss_scope: if reset { "case" } else { "process" }.into(),
        estimate_mb: estimate / (1024.0 * 1024.0),
    })
}

/// Measures every case in order, calling `on_row` after each.
pub fn run(cases: &[BenchCase], settings: &BenchSettings, mut on_row: impl FnMut(&BenchRow)) -> Result<Vec<BenchRow>> {
    let mut rows = Vec::with_capacity(cases.len());
    for case in cases {
        let row = run_case(case, settings)?;
        on_row(&row);
        rows.push(row);
    }
    Ok(rows)
}

/// Median, minimum and maximum of a non-empty sample.
fn summary(values: &[f64]) -> (f64, f64, f64) {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    let median = if n % 2 == 1 { sorted[n / 2] } else { 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]) };
    (median, sorted[0], sorted[n - 1])
}

/// The process's peak resident set size (VmHWM) in MiB, on Linux.
pub fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// Resets the peak RSS to the current RSS (Linux: `5` into `/proc/self/clear_refs`).
/// Returns false where that is not possible.
fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// The rows as an aligned, human-readable table.
pub fn table(rows: &[BenchRow]) -> String {
    let mut out = format!(
        "{:<10} {:<12} {:<5} {:>5} {:>7} {:>6} {:>6} {:>24} {:>24} {:>10} {:>9}\n",
        "engine",
        "model",
        "mode",
        "batch",
        "threads",
        "slots",
        "length",
        "ms/step (min-max)",
        "ms/sequence (min-max)",
        "peak MiB",
        "estimate"
    );
    for r in rows {
        let step = format!("{:.4} ({:.4}-{:.4})", r.ms_per_step, r.ms_per_step_min, r.ms_per_step_max);
        let seq = format!("{:.2} ({:.2}-{:.2})", r.ms_per_sequence, r.ms_per_sequence_min, r.ms_per_sequence_max);
        let scope = if r.peak_rss_scope == "case" { "" } else { "*" };
        let slots = r.slots.map_or("-".to_string(), |n| n.to_string());
        out += &format!(
            "{:<10} {:<12} {:<5} {:>5} {:>7} {:>6} {:>6} {:>24} {:>24} {:>9.0}{scope} {:>9.0}\n",
            r.engine, r.model, r.mode, r.batch, r.threads, slots, r.length, step, seq, r.peak_rss_mb, r.estimate_mb
        );
    }
    if rows.iter().any(|r| r.peak_rss_scope != "case") {
        out += "* peak of the process so far (the kernel did not allow a reset per case)\n";
    }
    out
}
