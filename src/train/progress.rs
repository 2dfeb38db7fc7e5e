//! Training progress: a bar on a terminal, plain log lines otherwise.

use std::io::IsTerminal;

use indicatif::{MultiProgress, ProgressBar, ProgressState, ProgressStyle};

use crate::records::report::MetricsRecord;

/// A bar that says only that its model is getting ready (building, loading a checkpoint), until
/// [`Progress::start`] knows the sequences to train: not a full bar reading `0/0 seq`.
fn waiting_bar(label: &str) -> ProgressBar {
    let bar = ProgressBar::new(0);
    bar.set_style(ProgressStyle::with_template("{prefix:>6} {msg}").expect("a valid template"));
    bar.set_prefix(label.to_owned());
    bar.set_message("getting ready");
    bar
}

/// The bar of a model in training: sequences trained of those to train, the last report's
/// loss and bit errors, the rate in whole sequences per second (not indicatif's four decimals)
/// and the time left.
fn training_style() -> ProgressStyle {
    ProgressStyle::with_template("{prefix:>6} [{bar:30}] {pos}/{len} seq  {msg}  {rate}  eta {eta}")
        .expect("a valid template")
        .with_key("rate", |state: &ProgressState, w: &mut dyn std::fmt::Write| {
            let _ = w.write_str(&rate(state.per_sec()));
        })
        .progress_chars("=> ")
}

/// `1235 seq/s`, `3.4 seq/s`, `0.05 seq/s`: a training rate with as many digits as it needs.
fn rate(per_sec: f64) -> String {
    match per_sec {
        r if !r.is_finite() => "- seq/s".to_owned(),
        r if r >= 100.0 => format!("{r:.0} seq/s"),
        r if r >= 1.0 => format!("{r:.1} seq/s"),
        r => format!("{r:.2} seq/s"),
    }
}

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
        let bar = std::io::stderr().is_terminal().then(|| multi.add(waiting_bar(label)));
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

    /// The label the lines and the bar carry (`ntm run` of several experiments:
    /// `<experiment>/<model>`), `None` when silent or observed.
    pub(crate) fn label(&self) -> Option<&str> {
        (!self.label.is_empty()).then_some(self.label.as_str())
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
            bar.set_message("");
            bar.set_style(training_style());
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

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use indicatif::{ProgressDrawTarget, TermLike};

    use super::*;

    /// A terminal that keeps every line drawn on it.
    #[derive(Debug, Clone, Default)]
    struct Screen(Arc<Mutex<Vec<String>>>);

    impl TermLike for Screen {
        fn width(&self) -> u16 {
            120
        }
        fn move_cursor_up(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_down(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_right(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_left(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn write_line(&self, line: &str) -> std::io::Result<()> {
            self.0.lock().unwrap().push(line.to_owned());
            Ok(())
        }
        fn write_str(&self, s: &str) -> std::io::Result<()> {
            self.write_line(s)
        }
        fn clear_line(&self) -> std::io::Result<()> {
            Ok(())
        }
        fn flush(&self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_bar_shows_no_empty_total_and_a_rate_with_few_digits() {
        let screen = Screen::default();
        let bar = waiting_bar("ntm");
        bar.set_draw_target(ProgressDrawTarget::term_like(Box::new(screen.clone())));
        bar.tick();
        let before = screen.0.lock().unwrap().join("\n");
        assert!(before.contains("ntm getting ready"), "{before:?}");
        assert!(!before.contains("0/0") && !before.contains('='), "a full bar before training: {before:?}");
        let progress = Progress { label: "ntm".into(), bar: Some(bar), observer: None };
        progress.start(0, 1000);
        progress.advance(10);
        // Drawn whatever the draw rate limit (abandon draws once more and stops).
        progress.bar.as_ref().unwrap().abandon();
        let lines = screen.0.lock().unwrap().clone();
        let during = lines.iter().find(|l| l.contains("10/1000 seq")).unwrap_or_else(|| panic!("{lines:?}"));
        assert!(during.contains(" seq/s") && !during.contains("getting ready"), "{during:?}");
        assert_eq!(rate(1234.5678), "1235 seq/s");
        assert_eq!(rate(3.456), "3.5 seq/s");
        assert_eq!(rate(0.0456), "0.05 seq/s");
    }
}
