//! Training progress: a bar on a terminal, plain log lines otherwise.

use std::io::IsTerminal;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

use crate::records::report::MetricsRecord;

/// Reports one model's training progress.
pub struct Progress {
    label: String,
    bar: Option<ProgressBar>,
}

impl Progress {
    /// A bar under `multi` when stderr is a terminal, log lines on stderr otherwise.
    pub fn new(label: &str, multi: &MultiProgress) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = multi.add(ProgressBar::new(0));
            bar.set_style(
                ProgressStyle::with_template("{prefix:>6} [{bar:30}] {pos}/{len} seq  {msg}  {per_sec}  eta {eta}")
                    .expect("a valid template")
                    .progress_chars("=> "),
            );
            bar.set_prefix(label.to_owned());
            bar
        });
        Self { label: label.to_owned(), bar }
    }

    /// Reports nothing (tests, library use).
    pub fn silent() -> Self {
        Self { label: String::new(), bar: Some(ProgressBar::hidden()) }
    }

    /// A line of information above the bar (or on stderr without one).
    pub(crate) fn note(&self, text: &str) {
        match &self.bar {
            Some(bar) if !bar.is_hidden() => bar.println(text),
            Some(_) => {}
            None => eprintln!("{text}"),
        }
    }

    pub(crate) fn start(&self, done: u64, total: u64) {
        if let Some(bar) = &self.bar {
            bar.set_length(total);
            bar.set_position(done);
            bar.reset_eta();
        }
    }

    pub(crate) fn advance(&self, done: u64) {
        if let Some(bar) = &self.bar {
            bar.set_position(done);
        }
    }

    pub(crate) fn report(&self, record: &MetricsRecord) {
        let optimum = record.optimal_loss_bits.map_or(String::new(), |bits| format!(" (optimum {bits:.2})"));
        let text = format!("loss {:.2} bits{optimum}  errors {:.3} bits/seq", record.loss_bits, record.bit_errors);
        match &self.bar {
            Some(bar) => bar.set_message(text),
            None => eprintln!("{}: {} sequences  {text}  {:.0} s", self.label, record.sequences, record.seconds),
        }
    }

    pub(crate) fn finish(&self, _done: u64) {
        if let Some(bar) = &self.bar {
            bar.finish();
        }
    }
}
