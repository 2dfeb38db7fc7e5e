//! [`Trainer::fit`]: the training loop into a model folder, with metrics, checkpoints and the
//! record of a divergence.
//!
//! The folder gets `config.toml` (the resolved experiment, this model only), `metrics.jsonl`
//! (one [`MetricsRecord`](crate::records::report::MetricsRecord) per report interval), the checkpoint
//! files, with `train.snapshot_every` the weights every so many sequences in `snapshots/` and,
//! if training diverged, `failure.json` (see [`crate::records::run_dir`]).
//!
//! Training stops early, with a checkpoint, when the `stop` flag is raised (Ctrl-C), and with
//! an error, without a checkpoint, when a loss, gradient or parameter is not finite. Metrics
//! lines past the checkpoint a run resumes from (written before a crash) are dropped.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use super::{Interval, Step, TrainOutcome, Trainer};
use crate::error::{io, Result};
use crate::records::checkpoint;
use crate::records::failure::{show, Failure, Fault};
use crate::records::run_dir::{self, MetricsLog};
use crate::train::progress::Progress;

impl Trainer {
    /// Trains into model folder `dir` until `train.sequences` or until `stop` is raised (then
    /// it saves a checkpoint and returns with `interrupted`), from where [`new`](Self::new) or
    /// [`resume`](Self::resume) left the trainer. A loss, gradient norm or parameter that is
    /// not finite ends training with [`crate::Error::Diverged`] and `failure.json`, the last
    /// good checkpoint kept.
    pub fn fit(&mut self, dir: &Path, progress: &Progress, stop: &AtomicBool) -> Result<TrainOutcome> {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        if self.resumed {
            checkpoint::recover(dir)?;
        }
        let mut metrics = MetricsLog::open(dir, self.resumed.then_some(self.sequences))?;
        run_dir::clear_failure(dir)?;
        // A resume with other settings (`--allow-changes`) records them in changes.jsonl.
        run_dir::write_config_at(dir, &self.experiment, self.name(), self.resumed.then_some(self.sequences))?;
        // Snapshots past the checkpoint resumed from were taken by a run that trains again now.
        let every = self.settings.snapshot_every;
        match self.resumed {
            true => run_dir::drop_snapshots_after(dir, self.sequences)?,
            false if every > 0 => self.snapshot(dir)?,
            false => {}
        }

        self.clock = Instant::now();
        let started_at = self.sequences;
        let total = self.settings.sequences;
        progress.note(&format!(
            "{}: {} with {} parameters, training {} to {total} sequences",
            progress.label().unwrap_or(self.name()),
            self.built.config.describe(),
            self.built.model.parameter_count(),
            if self.resumed { format!("from {}", self.sequences) } else { "from scratch".to_owned() },
        ));
        if let Some(note) = self.sparse_curve_note() {
            progress.note(&note);
        }
        progress.start(self.sequences, total);
        let mut last = None;
        let mut interrupted = false;
        while self.sequences < total {
            if stop.load(Ordering::Relaxed) {
                interrupted = true;
                break;
            }
            let before = self.sequences;
            if let Step::Fault { batch, loss_bits, norm, tensor, .. } = self.step()? {
                return Err(self.diverged(dir, self.batch_failure(batch, loss_bits, norm, tensor)));
            }
            if crossed(before, self.sequences, self.settings.report_every) || self.sequences == total {
                let record = self.interval.record(self.sequences, self.seconds());
                metrics.append(&record)?;
                progress.report(&record);
                last = Some(record);
                self.interval = Interval::default();
            }
            progress.advance(self.sequences);
            if every > 0 && (crossed(before, self.sequences, every) || self.sequences == total) {
                self.snapshot(dir)?;
            }
            if crossed(before, self.sequences, self.settings.checkpoint_every) && self.sequences < total {
                self.save(dir)?;
            }
        }
        let seconds = self.seconds();
        // A resumed run that trained nothing already has this checkpoint on disk.
        if !(self.resumed && self.sequences == started_at) {
            self.save(dir)?;
        }
        progress.finish(self.sequences);
        Ok(TrainOutcome { sequences: self.sequences, seconds, last, interrupted })
    }

    /// Keeps the current weights as the snapshot of this many sequences in `dir`'s
    /// `snapshots/` (`train.snapshot_every`).
    fn snapshot(&self, dir: &Path) -> Result<()> {
        let folder = dir.join(run_dir::SNAPSHOTS_DIR);
        std::fs::create_dir_all(&folder).map_err(io(&folder))?;
        let file = folder.join(run_dir::snapshot_file(self.sequences));
        Ok(checkpoint::save_weights(&file, &self.built.varmap)?)
    }

    /// A note for a run whose report interval leaves its learning curves a point or two (a
    /// smoke run of `train.sequences = 1000` reporting every 1,000): how many reports it makes
    /// and a `train.report_every` that draws a curve. Metrics are as configured either way.
    fn sparse_curve_note(&self) -> Option<String> {
        let (total, every) = (self.settings.sequences, self.settings.report_every.max(1));
        let reports = total.div_ceil(every);
        if reports >= FEW_REPORTS || total < 2 {
            return None;
        }
        let batch = self.settings.batch as u64;
        let suggested = (total / 20 / batch).max(1) * batch;
        let plural = if reports == 1 { "" } else { "s" };
        Some(format!(
            "note: model {}: train.report_every = {every} makes {reports} report{plural} in {total} sequences, so its \
             learning curves are {}; --set train.report_every={suggested} draws them",
            self.name(),
            if reports == 1 { "a single point" } else { "a few points" }
        ))
    }

    /// The failure record of a batch of `batch` sequences whose loss or gradient norm is not
    /// finite, right after the sequences trained so far.
    fn batch_failure(&self, batch: usize, loss_bits: f64, norm: f64, tensor: Option<String>) -> Failure {
        let name = self.name();
        let (first, end) = (self.sequences + 1, self.sequences + batch as u64);
        let gradient = tensor.as_ref().map_or(String::new(), |t| format!(" (first non-finite gradient: {t})"));
        let skips = match self.skips_in_a_row() {
            0 => String::new(),
            n => {
                format!(" after {n} batches skipped in a row (train.skip_nonfinite = {})", self.settings.skip_nonfinite)
            }
        };
        Failure {
            model: name.to_owned(),
            fault: if loss_bits.is_finite() { Fault::Gradient } else { Fault::Loss },
            sequences: self.sequences,
            loss_bits: Some(loss_bits),
            gradient_norm: Some(norm),
            lr: self.lr,
            message: format!(
                "model {name}: training diverged at sequences {first}-{end}: the loss is {} bits, \
                 the gradient norm {}{gradient}{skips}",
                show(loss_bits),
                show(norm)
            ),
            tensor,
            checkpoint: self.saved,
        }
    }
}

/// Fewer metrics records than this make a learning curve too sparse to read (see
/// `sparse_curve_note`).
const FEW_REPORTS: u64 = 3;

/// True if a multiple of `every` lies in `(before, after]`.
fn crossed(before: u64, after: u64, every: u64) -> bool {
    after / every > before / every
}
