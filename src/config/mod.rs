//! Experiment files: what to train, on which task, how, and how to evaluate it.
//!
//! An experiment is a TOML file (see `experiments/copy.toml`; `docs/experiment-files.md` documents
//! every field, and so do the doc comments below). Unknown keys are rejected. `--set key=value`
//! overrides any field by its dotted path after the file is read; the resolved experiment is
//! written next to the run's outputs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ntm_tasks::TaskSpec;
use serde::{Deserialize, Serialize};

use crate::models::factory::ModelConfig;
use crate::optim::curriculum::Curriculum;
use crate::optim::OptimizerKind;

pub mod diff;
mod overrides;

/// A whole experiment file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Experiment {
    /// Name of the experiment; runs go to `runs/<name>/` by default.
    pub name: String,
    /// Seed of everything random: initial weights, training data, evaluation data.
    #[serde(default)]
    pub seed: u64,
    /// The task (`[task]`, with `kind = "copy"`, `"repeat-copy"`, `"associative-recall"`,
    /// `"dynamic-ngrams"`, `"priority-sort"` or `"copy-series"`).
    #[serde(default)]
    pub task: TaskSpec,
    /// The models to train, by name (`[models.ntm]`, `[models.lstm]`, each with a `kind`).
    pub models: BTreeMap<String, ModelConfig>,
    /// How to train (`[train]`).
    #[serde(default)]
    pub train: TrainConfig,
    /// How to evaluate (`[eval]`).
    #[serde(default)]
    pub eval: EvalConfig,
}

/// The `[train]` table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrainConfig {
    /// Training sequences in total (a batch of B counts B).
    pub sequences: u64,
    /// Sequences per mini-batch.
    pub batch: usize,
    /// Learning rate at the start.
    pub lr: f64,
    /// Learning rate at the end: the rate follows a half cosine from `lr` down to this over
    /// `sequences` (equal to `lr`, or 0, keeps it constant).
    pub lr_final: f64,
    /// Update rule: `adam` or `rmsprop` (with momentum).
    pub optimizer: OptimizerKind,
    /// The update's momentum, in [0, 1): RMSProp's mu in u = mu u + g / (sqrt(v) + eps), or
    /// Adam's b1 (0.9 for both, as the paper and Kingma & Ba).
    pub momentum: f64,
    /// Decoupled weight decay (AdamW's, for either rule): each update first scales every
    /// parameter by 1 - lr * this, the learned initial states and initial-weighting logits
    /// included; 0 disables.
    pub weight_decay: f64,
    /// The eps of the update's denominator g / (sqrt(v) + eps), either rule (1e-8, as PyTorch).
    pub epsilon: f64,
    /// Elementwise gradient clip to +-this (the paper: 10); 0 disables.
    pub clip_value: f64,
    /// Global gradient-norm clip (Collier & Beel: 50); 0 disables.
    pub clip_norm: f64,
    /// A batch whose loss is finite but whose gradient is not (an overflow through the
    /// recurrence) has its update skipped, up to this many batches in a row; each skip is
    /// counted in `metrics.jsonl` (`skipped`). One more ends training as diverged. 0: never skip.
    pub skip_nonfinite: u64,
    /// Sequences between two lines of `metrics.jsonl`.
    pub report_every: u64,
    /// Sequences between two checkpoints (the last one is always written).
    pub checkpoint_every: u64,
    /// Sequences between two snapshots of the weights kept in the model folder's `snapshots/`
    /// (`000500.safetensors`, ...: the frames of `ntm plot evolution`), the untrained weights
    /// and the last ones included; 0 (the default, left out of the written experiment): none.
    #[serde(skip_serializing_if = "is_zero")]
    pub snapshot_every: u64,
    /// A curriculum over lengths, `{ start = 5, sequences = 10000 }`: the longest training
    /// length grows linearly from `start` to the task's maximum over the first `sequences`
    /// training sequences (see [`crate::optim::curriculum`]). `None` (the default, left out of the
    /// written experiment): every batch draws from the whole training range.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub curriculum: Option<Curriculum>,
    /// Settings that differ for one model, by model name (`[train.models.lstm]`): any of
    /// `sequences`, `batch`, `lr`, `lr_final`, `optimizer`, `momentum`, `weight_decay`,
    /// `clip_value`, `clip_norm`, `skip_nonfinite`, `epsilon`, `curriculum`.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub models: BTreeMap<String, TrainOverrides>,
}

/// A `[train.models.<name>]` table: the fields of `[train]` that this model sets otherwise.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrainOverrides {
    /// Training sequences for this model.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sequences: Option<u64>,
    /// Sequences per mini-batch for this model.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub batch: Option<usize>,
    /// Learning rate for this model.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lr: Option<f64>,
    /// Final learning rate for this model.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lr_final: Option<f64>,
    /// Update rule for this model.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub optimizer: Option<OptimizerKind>,
    /// The update's momentum for this model.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub momentum: Option<f64>,
    /// The weight decay for this model.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weight_decay: Option<f64>,
    /// The update's eps for this model.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub epsilon: Option<f64>,
    /// Elementwise gradient clip for this model; 0 disables.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clip_value: Option<f64>,
    /// Global gradient-norm clip for this model; 0 disables.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clip_norm: Option<f64>,
    /// Batches with a non-finite gradient skipped in a row for this model; 0: never skip.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skip_nonfinite: Option<u64>,
    /// The curriculum over lengths for this model, the whole table (`start = <the task's
    /// maximum>` trains as without one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub curriculum: Option<Curriculum>,
}

impl TrainConfig {
    /// The learning rate after `sequences` sequences: a half cosine from `lr` to `lr_final`
    /// (constant `lr` when `lr_final` is 0).
    pub fn lr_at(&self, sequences: u64) -> f64 {
        if self.lr_final <= 0.0 {
            return self.lr;
        }
        let progress = (sequences as f64 / self.sequences as f64).min(1.0);
        let cosine = 0.5 * (1.0 + (std::f64::consts::PI * progress).cos());
        self.lr_final + (self.lr - self.lr_final) * cosine
    }

    /// The settings model `name` trains with: `[train]` with its overrides applied.
    pub fn for_model(&self, name: &str) -> TrainConfig {
        let mut train = self.clone();
        if let Some(o) = self.models.get(name) {
            train.sequences = o.sequences.unwrap_or(train.sequences);
            train.batch = o.batch.unwrap_or(train.batch);
            train.lr = o.lr.unwrap_or(train.lr);
            train.lr_final = o.lr_final.unwrap_or(train.lr_final);
            train.optimizer = o.optimizer.unwrap_or(train.optimizer);
            train.momentum = o.momentum.unwrap_or(train.momentum);
            train.weight_decay = o.weight_decay.unwrap_or(train.weight_decay);
            train.epsilon = o.epsilon.unwrap_or(train.epsilon);
            train.clip_value = o.clip_value.unwrap_or(train.clip_value);
            train.clip_norm = o.clip_norm.unwrap_or(train.clip_norm);
            train.skip_nonfinite = o.skip_nonfinite.unwrap_or(train.skip_nonfinite);
            train.curriculum = o.curriculum.or(train.curriculum);
        }
        train.models.clear();
        train
    }
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            sequences: 50_000,
            batch: 16,
            lr: 1e-3,
            lr_final: 0.0,
            optimizer: OptimizerKind::Adam,
            momentum: crate::optim::DEFAULT_MOMENTUM,
            weight_decay: 0.0,
            epsilon: crate::optim::DEFAULT_EPSILON,
            clip_value: 10.0,
            clip_norm: 50.0,
            skip_nonfinite: 0,
            report_every: 1_000,
            checkpoint_every: 10_000,
            snapshot_every: 0,
            curriculum: None,
            models: BTreeMap::new(),
        }
    }
}

/// The `[eval]` table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EvalConfig {
    /// Test lengths (may exceed the training range: that is the generalisation test).
    pub lengths: Vec<usize>,
    /// Test repeat counts, for a task with one (repeat copy): every length is evaluated at
    /// every count, a grid (paper figures 8 and 9). Empty (the default): repeat counts are
    /// drawn from the training range, one per sequence. Left out of the written experiment
    /// when empty.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub repeats: Vec<usize>,
    /// Test sequences per length (per length and repeat count with `repeats`).
    pub sequences: usize,
}

impl Default for EvalConfig {
    fn default() -> Self {
        Self { lengths: vec![10, 20, 30, 50, 120], repeats: Vec::new(), sequences: 64 }
    }
}

/// An experiment file that cannot be used, with the file, the field and the value.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: cannot read: {cause}")]
    Read { path: PathBuf, cause: std::io::Error },
    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
    #[error("--set {assignment}: {message}")]
    Override { assignment: String, message: String },
}

impl Experiment {
    /// Reads `path`, applies the `key=value` overrides in order and validates the result.
    pub fn load(path: &Path, overrides: &[String]) -> Result<Self, ConfigError> {
        let text = read_text(path).map_err(|cause| ConfigError::Read { path: path.to_owned(), cause })?;
        Self::from_toml(&text, path, overrides)
    }

    /// Parses `text` (read from `path`, named in errors), applies overrides, validates.
    pub fn from_toml(text: &str, path: &Path, overrides: &[String]) -> Result<Self, ConfigError> {
        let parse = |message: String| ConfigError::Parse { path: path.to_owned(), message };
        let mut experiment: Experiment = toml::from_str(text).map_err(|e| parse(one_line(&e, text)))?;
        if !overrides.is_empty() {
            experiment = overrides::apply(&experiment, overrides, path)?;
        }
        experiment.validate().map_err(|message| ConfigError::Invalid { path: path.to_owned(), message })?;
        Ok(experiment)
    }

    /// Notes for the `train.<field>=...` assignments of `overrides` that do not reach model
    /// `name` because its own `[train.models.<name>]` sets `<field>` (the model's value wins, as
    /// in the file), each naming the key that would change it.
    pub fn shadowed_overrides(&self, overrides: &[String], name: &str) -> Vec<String> {
        let Some(own) = self.train.models.get(name).and_then(|o| toml::Value::try_from(o).ok()) else {
            return Vec::new();
        };
        overrides
            .iter()
            .filter_map(|assignment| {
                // `train.curriculum.start=...` is shadowed by a model's own `curriculum`.
                let field = assignment.split_once('=')?.0.trim().strip_prefix("train.")?;
                let field = field.split('.').next()?;
                let value = own.get(field)?;
                Some(format!(
                    "--set {assignment} does not reach model {name}, which sets its own \
                     train.models.{name}.{field} = {value} (--set train.models.{name}.{field}=... changes it)"
                ))
            })
            .collect()
    }

    /// Checks every value; the message names the field by its dotted path.
    pub fn validate(&self) -> Result<(), String> {
        if self.name.trim().is_empty() {
            return Err("name = \"\": give the experiment a name".into());
        }
        self.task.validate()?;
        if self.models.is_empty() {
            return Err("models: no model to train; add e.g. [models.ntm] with kind = \"ntm\"".into());
        }
        for (name, model) in &self.models {
            model.validate().map_err(|e| format!("models.{name}.{e}"))?;
        }
        for name in self.train.models.keys() {
            if !self.models.contains_key(name) {
                return Err(format!("train.models.{name}: no model named {name:?} in [models]"));
            }
        }
        let task = self.task.build();
        let lengths = task.length_range();
        let (min_field, max_field) = self.task.length_fields();
        let bounds = format!("task.{min_field} = {} and task.{max_field} = {}", lengths.0, lengths.1);
        validate_train(&self.train, lengths, &bounds).map_err(|(field, message)| format!("train.{field} {message}"))?;
        for name in self.train.models.keys() {
            validate_train(&self.train.for_model(name), lengths, &bounds)
                .map_err(|(field, message)| format!("train.models.{name}.{field} {message}"))?;
        }
        if self.eval.lengths.contains(&0) {
            return Err(format!("eval.lengths = {:?}: lengths must be at least 1", self.eval.lengths));
        }
        if let Some(l) = self.eval.lengths.iter().find(|&&l| l > ntm_tasks::MAX_LENGTH) {
            return Err(format!(
                "eval.lengths contains {l}: lengths must be at most {} (no machine could hold more)",
                ntm_tasks::MAX_LENGTH
            ));
        }
        for &length in &self.eval.lengths {
            if let Err(e) = task.check_length(length) {
                return Err(format!("eval.lengths = {:?}: {length}: {e}", self.eval.lengths));
            }
        }
        if !self.eval.repeats.is_empty() {
            if task.repeat_range().is_none() {
                return Err(format!(
                    "eval.repeats = {:?}: the {} task has no repeat count (only repeat-copy has)",
                    self.eval.repeats,
                    self.task.name()
                ));
            }
            if self.eval.repeats.contains(&0) {
                return Err(format!("eval.repeats = {:?}: repeat counts must be at least 1", self.eval.repeats));
            }
        }
        if self.eval.sequences == 0 {
            return Err("eval.sequences = 0: must be at least 1".into());
        }
        Ok(())
    }

    /// The experiment restricted to model `name` (its `[models]` entry and `[train.models]`
    /// overrides): what `config.toml` in that model's folder holds.
    pub fn single_model(&self, name: &str) -> Experiment {
        let mut single = self.clone();
        single.models.retain(|n, _| n == name);
        single.train.models.retain(|n, _| n == name);
        single
    }

    /// The experiment as TOML, as written next to a run's outputs.
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).expect("an experiment always serialises")
    }
}

/// The text of the regular file at `path`. Anything else is refused before it is opened: a
/// FIFO would block until a writer came, a device could be endless.
pub fn read_text(path: &Path) -> std::io::Result<String> {
    let kind = std::fs::metadata(path)?.file_type();
    if !kind.is_file() {
        let what = match () {
            _ if kind.is_dir() => "a directory",
            #[cfg(unix)]
            _ if std::os::unix::fs::FileTypeExt::is_fifo(&kind) => "a FIFO (named pipe)",
            _ => "a special file",
        };
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("{what}, not a file")));
    }
    std::fs::read_to_string(path)
}

/// Checks one model's training settings, a curriculum against the task's training range of
/// lengths `(min, max)` (given by `bounds`, in words): Err((field, "= value: what is allowed")).
fn validate_train(t: &TrainConfig, lengths: (usize, usize), bounds: &str) -> Result<(), (&'static str, String)> {
    if t.sequences == 0 {
        return Err(("sequences", "= 0: must be at least 1".into()));
    }
    if t.batch == 0 {
        return Err(("batch", "= 0: must be at least 1".into()));
    }
    if t.batch > crate::base::limits::MAX_BATCH {
        let max = crate::base::limits::MAX_BATCH;
        return Err(("batch", format!("= {}: must be at most {max} (no machine could hold more)", t.batch)));
    }
    if !(t.lr.is_finite() && t.lr > 0.0) {
        return Err(("lr", format!("= {}: must be a finite number greater than 0", t.lr)));
    }
    if !(t.epsilon.is_finite() && t.epsilon > 0.0) {
        return Err(("epsilon", format!("= {}: must be a finite number greater than 0", t.epsilon)));
    }
    if !(t.momentum.is_finite() && (0.0..1.0).contains(&t.momentum)) {
        return Err(("momentum", format!("= {}: must be at least 0 and less than 1", t.momentum)));
    }
    if !(t.weight_decay.is_finite() && t.weight_decay >= 0.0) {
        return Err(("weight_decay", format!("= {}: must be a finite number >= 0 (0 disables)", t.weight_decay)));
    }
    // The schedule runs between lr and lr_final, either of which may be the larger.
    let lr = t.lr.max(t.lr_final);
    if lr * t.weight_decay >= 1.0 {
        let decay = t.weight_decay;
        let why = "each update scales the weights by 1 - lr * weight_decay";
        return Err(("weight_decay", format!("= {decay}: lr * weight_decay = {} must be below 1 ({why})", lr * decay)));
    }
    if !(t.lr_final.is_finite() && t.lr_final >= 0.0) {
        return Err(("lr_final", format!("= {}: must be a finite number >= 0 (0: constant lr)", t.lr_final)));
    }
    for (field, value) in [("clip_value", t.clip_value), ("clip_norm", t.clip_norm)] {
        if !(value.is_finite() && value >= 0.0) {
            return Err((field, format!("= {value}: must be a finite number >= 0 (0 disables)")));
        }
    }
    for (field, value) in [("report_every", t.report_every), ("checkpoint_every", t.checkpoint_every)] {
        if value == 0 {
            return Err((field, "= 0: must be at least 1 (sequences)".into()));
        }
    }
    if t.snapshot_every > 0 && t.sequences / t.snapshot_every > MAX_SNAPSHOTS {
        let (every, kept) = (t.snapshot_every, t.sequences / t.snapshot_every + 1);
        let least = t.sequences.div_ceil(MAX_SNAPSHOTS);
        return Err((
            "snapshot_every",
            format!(
                "= {every}: would keep {kept} snapshots of the weights over {} sequences, more than {MAX_SNAPSHOTS}; \
                 give at least {least} (0: none)",
                t.sequences
            ),
        ));
    }
    if let Some(curriculum) = &t.curriculum {
        curriculum.validate(lengths, bounds)?;
    }
    Ok(())
}

/// The most snapshots a training may keep (`train.snapshot_every`): a film of more frames is
/// no longer watchable, and a slip of the pen (`snapshot_every = 1`) would fill the disk.
pub const MAX_SNAPSHOTS: u64 = 10_000;

/// For `skip_serializing_if`: a field left out of the written experiment while it is 0.
fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// A TOML error on one line (toml's messages span several, with a source excerpt), naming
/// the line of `text` it is on and that line's text.
pub(crate) fn one_line(e: &toml::de::Error, text: &str) -> String {
    let message = e.message().trim().replace('\n', " ");
    match e.span() {
        Some(span) if !text.is_empty() => {
            let start = span.start.min(text.len());
            let line_number = text[..start].matches('\n').count() + 1;
            let line = text.lines().nth(line_number - 1).unwrap_or("").trim();
            format!("line {line_number} (`{line}`): {message}")
        }
        _ => message,
    }
}
