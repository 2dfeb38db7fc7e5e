//! The trainer: one [`Trainer`] per model owns the model, its optimiser and its data stream,
//! and serves every command that trains or times training (`train`, `run`, `bench`, sweeps).
//!
//! [`Trainer::new`] builds a model of the experiment (`[models.<name>]`), [`Trainer::with_task`]
//! the same for a task of your own, [`Trainer::with_model`] takes a model of your own (any
//! [`SequenceModel`] with its parameters in a candle-nn `VarMap`) and trains it the same way
//! (the constructors are in `new.rs`).
//! [`Trainer::step`] trains on one batch in memory; [`Trainer::save`] and [`Trainer::resume`]
//! write and read a checkpoint ([`crate::records::checkpoint`]); [`Trainer::fit`] (in `fit.rs`) is the
//! whole loop into a model folder, with metrics, checkpoints and `failure.json`.
//!
//! Resuming continues exactly: the checkpoint holds the optimiser state, the data generator
//! and the report interval in progress.

mod fit;
mod new;
pub mod progress;

use std::path::Path;
use std::time::Instant;

use candle_core::{Device, Var};
use ntm_tasks::Task;
use rand_chacha::ChaCha8Rng;

use crate::config::{Experiment, TrainConfig};
use crate::error::{tensor, Error, Result};
use crate::models::batch::TensorBatch;
use crate::models::factory::BuiltModel;
use crate::models::SequenceModel;
use crate::optim::loss;
use crate::optim::{clipped_gradients, Optimizer};
use crate::records::checkpoint::{self, CheckpointMeta};
use crate::records::failure::{first_non_finite, Failure, Fault};
use crate::records::report::MetricsRecord;
use crate::records::run_dir;

/// One model of an experiment in training: model, optimiser, data generator and counters.
pub struct Trainer {
    /// The experiment as given (all models).
    experiment: Experiment,
    /// `[train]` with this model's overrides applied.
    settings: TrainConfig,
    task: Box<dyn Task>,
    built: BuiltModel,
    /// The parameters in name order (the optimiser's order).
    vars: Vec<Var>,
    optimizer: Optimizer,
    /// The training data generator.
    rng: ChaCha8Rng,
    /// Sequences trained so far.
    sequences: u64,
    /// Training seconds before this process (from the checkpoint resumed).
    seconds_before: f64,
    /// When training started in this process.
    clock: Instant,
    /// Sums over the report interval in progress.
    interval: Interval,
    /// The learning rate of the last update.
    lr: f64,
    /// Sequences of the checkpoint on disk, if any.
    saved: Option<u64>,
    /// True once [`resume`](Self::resume) has loaded a checkpoint.
    resumed: bool,
    /// Batches skipped in a row up to now (`train.skip_nonfinite`).
    skips_in_a_row: u64,
}

/// What one training step did.
#[derive(Debug, Clone)]
pub enum Step {
    /// The parameters were updated on a batch of `batch` sequences with this mean loss (bits)
    /// and these mean bit errors per sequence.
    Trained { batch: usize, loss_bits: f64, bit_errors: f64 },
    /// The loss or the global gradient norm of a batch of `batch` sequences was not finite;
    /// nothing was updated. `tensor` is the first parameter whose gradient is not finite;
    /// `bit_errors` is known when the loss is finite.
    Fault { batch: usize, loss_bits: f64, bit_errors: Option<f64>, norm: f64, tensor: Option<String> },
    /// As `Fault` with a finite loss, but within `train.skip_nonfinite`: the batch counts as
    /// seen (sequences, loss, bit errors) and its update is dropped.
    Skipped { batch: usize, loss_bits: f64, bit_errors: f64, norm: f64 },
}

/// Sums over one report interval: loss in bits and bit errors, each times the batch size,
/// and the sequences.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Interval {
    pub loss_bits: f64,
    pub bit_errors: f64,
    pub sequences: u64,
    /// Batches whose update was skipped.
    pub skipped: u64,
    /// The optimal predictor's loss in bits times the batch size, summed, for a task whose
    /// batches carry one (dynamic N-grams); `None` otherwise.
    pub optimal_bits: Option<f64>,
}

impl Interval {
    /// Adds a batch of `n` sequences with these means (`optimal`: the optimal predictor's
    /// mean loss on the batch, if the task has one).
    fn add(&mut self, n: usize, loss_bits: f64, bit_errors: f64, optimal: Option<f64>) {
        self.loss_bits += loss_bits * n as f64;
        self.bit_errors += bit_errors * n as f64;
        self.sequences += n as u64;
        if let Some(bits) = optimal {
            *self.optimal_bits.get_or_insert(0.0) += bits * n as f64;
        }
    }

    /// The interval's metrics line at `sequences`, `seconds`.
    fn record(&self, sequences: u64, seconds: f64) -> MetricsRecord {
        let count = self.sequences as f64;
        MetricsRecord {
            sequences,
            loss_bits: self.loss_bits / count,
            optimal_loss_bits: self.optimal_bits.map(|bits| bits / count),
            bit_errors: self.bit_errors / count,
            seconds,
            skipped: self.skipped,
        }
    }
}

impl Trainer {
    /// Loads the checkpoint in model folder `dir`: weights, optimiser state, data generator and
    /// counters, checking that every tensor fits. Reads everything and writes nothing.
    pub fn resume(&mut self, dir: &Path) -> Result<()> {
        let meta = checkpoint::load_meta(dir)?;
        checkpoint::load_weights(&checkpoint::path(dir, checkpoint::WEIGHTS_FILE), &self.built.varmap)?;
        let shapes: Vec<(String, Vec<usize>)> =
            self.built.parameters.iter().map(|(n, v)| (n.clone(), v.dims().to_vec())).collect();
        let state = checkpoint::load_optimizer_state(dir, &meta, &shapes)?;
        self.optimizer.set_state(state, meta.optimizer_steps).map_err(tensor(&self.built.name))?;
        let (loss_bits, bit_errors, sequences) = meta.interval;
        let (skipped, in_a_row) = meta.skipped;
        self.interval = Interval { loss_bits, bit_errors, sequences, skipped, optimal_bits: meta.optimal_bits };
        self.skips_in_a_row = in_a_row;
        self.rng = meta.rng;
        self.sequences = meta.sequences;
        self.seconds_before = meta.seconds;
        self.lr = self.settings.lr_at(meta.sequences);
        self.saved = Some(meta.sequences);
        self.resumed = true;
        Ok(())
    }

    /// Trains on the next batch of the data stream (at most the sequences left, no longer
    /// than [`max_length`](Self::max_length)) at the scheduled learning rate. A
    /// [`Step::Fault`] changes no parameter and no counter (the batch is drawn, though:
    /// training ends there); a [`Step::Skipped`] (see `train.skip_nonfinite`) changes no
    /// parameter.
    pub fn step(&mut self) -> Result<Step> {
        let size = (self.settings.sequences - self.sequences).min(self.settings.batch as u64) as usize;
        let batch = match self.max_length() {
            Some(cap) => self.task.sample_up_to(&mut self.rng, size, cap),
            // Without a curriculum, the draws of every run before there was one.
            None => self.task.sample(&mut self.rng, size, None),
        };
        let optimal = batch.reference_bits();
        let batch = TensorBatch::new(&batch, &Device::Cpu).map_err(tensor(&self.built.name))?;
        self.lr = self.settings.lr_at(self.sequences);
        let step = match self.step_on(&batch)? {
            // The guard against a gradient that overflows (e.g. through many steps of a flat
            // weighting, where each step of the recurrence multiplies it by gamma (1 - g) > 1):
            // drop that update, up to `skip_nonfinite` batches in a row.
            Step::Fault { batch, loss_bits, bit_errors: Some(bit_errors), norm, .. }
                if self.skips_in_a_row < self.settings.skip_nonfinite =>
            {
                Step::Skipped { batch, loss_bits, bit_errors, norm }
            }
            step => step,
        };
        match step {
            Step::Trained { batch, loss_bits, bit_errors } => {
                self.sequences += batch as u64;
                self.interval.add(batch, loss_bits, bit_errors, optimal);
                self.skips_in_a_row = 0;
            }
            Step::Skipped { batch, loss_bits, bit_errors, .. } => {
                self.sequences += batch as u64;
                self.interval.add(batch, loss_bits, bit_errors, optimal);
                self.interval.skipped += 1;
                self.skips_in_a_row += 1;
            }
            Step::Fault { .. } => {}
        }
        Ok(step)
    }

    /// One update on `batch` at the current learning rate: forward, loss, backward, clipping,
    /// the optimiser's update. Counts nothing (`bench` times this alone).
    pub fn step_on(&mut self, batch: &TensorBatch) -> Result<Step> {
        let size = batch.inputs.dim(1).map_err(tensor(&self.built.name))?;
        let value_clip = (self.settings.clip_value > 0.0).then_some(self.settings.clip_value);
        let norm_clip = (self.settings.clip_norm > 0.0).then_some(self.settings.clip_norm);
        let (built, vars, optimizer, lr) = (&self.built, &self.vars, &mut self.optimizer, self.lr);
        (|| {
            let logits = built.model.forward(&batch.inputs)?;
            let loss = loss::sequence_loss(&logits, &batch.targets, &batch.mask)?;
            let grads = loss.backward()?;
            let (clipped, norm) = clipped_gradients(vars, &grads, value_clip, norm_clip)?;
            let loss_bits = loss::nats_to_bits(loss.to_scalar::<f32>()? as f64);
            if !(loss_bits.is_finite() && norm.is_finite()) {
                let raw = built.parameters.iter().filter_map(|(n, v)| grads.get(v.as_tensor()).map(|g| (n.clone(), g)));
                // The gradients as computed, before clipping: the first that is not finite.
                let tensor = first_non_finite(raw)?;
                let bit_errors = match loss_bits.is_finite() {
                    true => Some(loss::bit_errors(&logits.detach(), &batch.targets, &batch.mask)?),
                    false => None,
                };
                return Ok(Step::Fault { batch: size, loss_bits, bit_errors, norm, tensor });
            }
            optimizer.set_lr(lr);
            optimizer.step(&clipped)?;
            let bit_errors = loss::bit_errors(&logits.detach(), &batch.targets, &batch.mask)?;
            Ok(Step::Trained { batch: size, loss_bits, bit_errors })
        })()
        .map_err(tensor(&self.built.name))
    }

    /// Writes a checkpoint of the current state into model folder `dir`, unless a parameter or
    /// optimiser state is not finite (a checkpoint never holds a NaN): then `failure.json` and
    /// [`Error::Diverged`], the checkpoint on disk kept.
    pub fn save(&mut self, dir: &Path) -> Result<()> {
        let name = &self.built.name;
        let (state, steps) = self.optimizer.state();
        let parameters = self.built.parameters.iter().map(|(n, v)| (n.clone(), v.as_tensor()));
        let states = self.built.parameters.iter().zip(state).flat_map(|((n, _), pair)| {
            pair.iter().enumerate().map(move |(i, t)| (format!("{n} (optimizer state {i})"), t))
        });
        if let Some(tensor) = first_non_finite(parameters.chain(states)).map_err(tensor(name))? {
            let sequences = self.sequences;
            return Err(self.diverged(
                dir,
                Failure {
                    model: name.clone(),
                    fault: Fault::Parameters,
                    sequences,
                    loss_bits: None,
                    gradient_norm: None,
                    lr: self.lr,
                    message: format!(
                        "model {name}: {tensor} is not finite after {sequences} sequences, so no checkpoint was written"
                    ),
                    tensor: Some(tensor),
                    checkpoint: self.saved,
                },
            ));
        }
        let meta = CheckpointMeta {
            sequences: self.sequences,
            optimizer_steps: steps,
            seconds: self.seconds(),
            rng: self.rng.clone(),
            interval: (self.interval.loss_bits, self.interval.bit_errors, self.interval.sequences),
            skipped: (self.interval.skipped, self.skips_in_a_row),
            optimal_bits: self.interval.optimal_bits,
            parameters: self.built.parameters.iter().map(|(n, _)| n.clone()).collect(),
        };
        checkpoint::save(dir, &self.built.varmap, state, &meta)?;
        self.saved = Some(self.sequences);
        Ok(())
    }

    /// Records a numerical fault in `dir`'s `failure.json` (its message says what to do next)
    /// and makes it the error training stops with.
    fn diverged(&self, dir: &Path, mut failure: Failure) -> Error {
        let file = dir.join(run_dir::FAILURE_FILE);
        let kept = match failure.checkpoint {
            Some(n) => format!("the checkpoint at {n} sequences is kept"),
            None => "no checkpoint was written yet".to_owned(),
        };
        let next = match failure.checkpoint {
            Some(_) => "then --resume",
            None => "then start again with --overwrite",
        };
        failure.message = format!(
            "{}; {kept}; details in {}; lower train.lr or clip the gradients \
             (train.clip_value, train.clip_norm), {next}",
            failure.message,
            file.display()
        );
        if let Err(e) = run_dir::write_failure(dir, &failure) {
            failure.message += &format!(" (could not write {}: {e})", file.display());
        }
        Error::Diverged(Box::new(failure))
    }

    /// The task it trains on.
    pub fn task(&self) -> &dyn Task {
        self.task.as_ref()
    }

    /// The model being trained.
    pub fn model(&self) -> &dyn SequenceModel {
        self.built.model.as_ref()
    }

    /// The model with its name, configuration and parameters.
    pub fn built(&self) -> &BuiltModel {
        &self.built
    }

    /// The model's name in the experiment.
    pub fn name(&self) -> &str {
        &self.built.name
    }

    /// The experiment the model belongs to (all its models).
    pub fn experiment(&self) -> &Experiment {
        &self.experiment
    }

    /// The training settings of this model (`[train]` with its overrides).
    pub fn settings(&self) -> &TrainConfig {
        &self.settings
    }

    /// Sequences trained so far.
    pub fn sequences(&self) -> u64 {
        self.sequences
    }

    /// The longest length the next training batch may have under `train.curriculum` (see
    /// [`crate::optim::curriculum`]), from the sequences trained so far; `None` without a curriculum.
    pub fn max_length(&self) -> Option<usize> {
        let max = self.task.length_range().1;
        self.settings.curriculum.map(|c| c.max_length_at(self.sequences, max))
    }

    /// Batches skipped in a row up to now (`train.skip_nonfinite`).
    pub fn skips_in_a_row(&self) -> u64 {
        self.skips_in_a_row
    }

    /// True when the model has trained `train.sequences`.
    pub fn finished(&self) -> bool {
        self.sequences >= self.settings.sequences
    }

    /// Training wall time in seconds, a resumed run's earlier time included.
    pub fn seconds(&self) -> f64 {
        self.seconds_before + self.clock.elapsed().as_secs_f64()
    }
}

/// How training ended.
#[derive(Debug, Clone)]
pub struct TrainOutcome {
    /// Sequences trained in total.
    pub sequences: u64,
    /// Training wall time in seconds (a resumed run's earlier time included).
    pub seconds: f64,
    /// The last metrics line written.
    pub last: Option<MetricsRecord>,
    /// True if training stopped early because the stop flag was raised.
    pub interrupted: bool,
}

impl TrainOutcome {
    /// One line saying where training of model `name` into folder `dir` ended: `ntm: trained
    /// at 50000 sequences in 69 s, last 0.021 bits, 0.000 bit errors per sequence; saved in
    /// runs/copy/ntm`.
    pub fn describe(&self, name: &str, dir: &Path) -> String {
        let last = self.last.as_ref().map_or(String::new(), |r| {
            format!(", last {:.3} bits, {:.3} bit errors per sequence", r.loss_bits, r.bit_errors)
        });
        let how = if self.interrupted { "stopped" } else { "trained" };
        format!(
            "{name}: {how} at {} sequences in {:.0} s{last}; saved in {}",
            self.sequences,
            self.seconds,
            dir.display()
        )
    }
}
