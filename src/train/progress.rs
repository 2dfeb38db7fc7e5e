//! Training progress: a bar on a terminal, plain log lines otherwise.

use std::io::IsTerminal;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

use crate::records::report::MetricsRecord;

/// Reports one model's training progress.
pub struct Progress {
    label: String,
    bar: Option<ProgressBar>,
    /// A program's own observer ([`Progress::observed`]), told of everything.
    observer: Option<Observer>,
}

/// A program's observer of training's [`Event`]s.
type Observer = Box<dyn Fn(Event<'_>) + Send + Sync>;

/// What training reports, as an [observer](Progress::observed) sees it.
#[derive(Debug, Clone, Copy)]
pub enum Event<'a> {
    /// A line of information: the model, its size, where training starts.
    Note(&'a str),
    /// The sequences trained so far, after every batch.
    Advanced(u64),
    /// A metrics line, as written to `metrics.jsonl` at the end of each report interval.
    Reported(&'a MetricsRecord),
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
        Self { label: label.to_owned(), bar, observer: None }
    }

    /// Reports nothing (tests, library use).
    pub fn silent() -> Self {
        Self { label: String::new(), bar: Some(ProgressBar::hidden()), observer: None }
    }

    /// Shows nothing and tells `observer` of every [`Event`], on the thread that trains: a
    /// program's own display, or its own reason to raise the stop flag of
    /// [`Trainer::fit`](crate::Trainer::fit) (the Python package's callback, and its stop
    /// after a given number of sequences).
    pub fn observed(observer: impl Fn(Event<'_>) + Send + Sync + 'static) -> Self {
        Self { observer: Some(Box::new(observer)), ..Self::silent() }
    }

    fn tell(&self, event: Event<'_>) {
        if let Some(observer) = &self.observer {
            observer(event);
        }
    }

    /// A line of information above the bar (or on stderr without one).
    pub(crate) fn note(&self, text: &str) {
        self.tell(Event::Note(text));
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
        self.tell(Event::Advanced(done));
        if let Some(bar) = &self.bar {
            bar.set_position(done);
        }
    }

    pub(crate) fn report(&self, record: &MetricsRecord) {
        self.tell(Event::Reported(record));
        let text = format!("loss {:.2} bits  errors {:.3} bits/seq", record.loss_bits, record.bit_errors);
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
