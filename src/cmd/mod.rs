//! The CLI layer: one file per subcommand; errors become `anyhow` errors with context here
//! and one line on stderr in `main`.

mod bench;
pub mod cli;
mod episode;
mod eval;
mod plot;
mod run;
mod summarize;
mod sweep;
mod train;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

use anyhow::{bail, Context, Result};

use crate::cmd::cli::{Cli, Command, ExperimentArgs};
use ntm::config::diff::Difference;
use ntm::config::Experiment;
use ntm::records::checkpoint::{self, META_FILE};
use ntm::records::lock::{self, FolderLock};
use ntm::records::run_dir;
use ntm::sweep::summarize::{summarize_dir, Selection, SUMMARY_FILE};

/// Runs the parsed command line.
pub fn execute(cli: Cli) -> Result<()> {
    match &cli.command {
        Command::Run(args) => set_threads(args.experiment.threads)?,
        Command::Train(args) => set_threads(args.experiment.threads)?,
        Command::Bench(args) => set_threads(Some(args.threads))?,
        _ => {}
    }
    match cli.command {
        Command::Run(args) => run::run(&args),
        Command::Train(args) => train::train(&args),
        Command::Eval(args) => eval::eval(&args),
        Command::Plot(command) => plot::plot(&command),
        Command::Bench(args) => bench::bench(&args),
        Command::Episode(args) => episode::episode(&args),
        Command::Sweep(args) => sweep::sweep(&args),
        Command::Summarize(args) => summarize::summarize(&args),
    }
}

/// The most threads `--threads` may ask for.
const MAX_THREADS: usize = 256;

/// Applies `--threads` (see [`ntm::base::pool::limit_threads`]); 0 or more than
/// [`MAX_THREADS`] is refused.
fn set_threads(threads: Option<usize>) -> Result<()> {
    match threads {
        None => Ok(()),
        Some(n) if (1..=MAX_THREADS).contains(&n) => {
            ntm::base::pool::limit_threads(n);
            Ok(())
        }
        Some(n) => bail!("--threads {n}: must be 1 to {MAX_THREADS} (threads one model's kernels may use)"),
    }
}

/// Writes `text` and a newline to standard output. A write that fails (a full disk, a file
/// system gone) is an error, which `main` prints as one line with a non-zero exit status,
/// not a panic. (Output into a closed pipe ends the process by SIGPIPE, see `main`.)
fn print(text: &str) -> Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{text}").and_then(|()| out.flush()).context("cannot write to standard output")
}

/// Says which models `--slots {slots}` left out; called once every option has been checked,
/// so a bad option stays one line.
fn note_left_out(slots: &str, names: &[String]) {
    for name in names {
        eprintln!("note: --slots {slots}: model {name} has no memory slots; left out");
    }
}

/// Says which `--set train.<field>=...` of `overrides` do not reach a model of `names` (it
/// sets the field itself); called once every option has been checked.
fn note_shadowed(experiment: &Experiment, overrides: &[String], names: &[String]) {
    for name in names {
        for note in experiment.shadowed_overrides(overrides, name) {
            eprintln!("note: {note}");
        }
    }
}

/// Refuses (before anything is written) models of `names` that the command cannot build: a
/// `kind = "custom"` model of experiment file `file` trains only from a program of its own.
fn check_built_in(experiment: &Experiment, file: &Path, names: &[String]) -> Result<()> {
    for name in names {
        if let Err(e) = experiment.models[name].check_built_in(name) {
            bail!("{}: {e}", file.display());
        }
    }
    Ok(())
}

/// Refuses (before anything is written) an experiment whose models could be trained but not
/// evaluated afterwards, as `ntm run` and `ntm sweep` (`command`) do once each model is
/// trained: no test lengths, lengths the task cannot draw, episodes too long for the memory.
fn check_evaluation(experiment: &Experiment, file: &Path, names: &[String], command: &str) -> Result<()> {
    if experiment.eval.lengths.is_empty() {
        bail!(
            "{}: eval.lengths = []: `{command}` evaluates every model once trained; give one or more test lengths \
             (or train alone with `ntm train`)",
            file.display()
        );
    }
    for name in names {
        ntm::measure::eval::check_plan(name, experiment, &experiment.eval)
            .with_context(|| format!("{}: model {name} could not be evaluated once trained", file.display()))?;
    }
    Ok(())
}

/// The experiment with overrides applied, and the run's output folder.
fn load_experiment(args: &ExperimentArgs) -> Result<(Experiment, PathBuf)> {
    let experiment = Experiment::load(&args.experiment, &args.overrides)?;
    let out = args.out.clone().unwrap_or_else(|| run_dir::default_run_dir(&experiment));
    Ok((experiment, out))
}

/// How training into a model folder starts, decided from what the folder holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Start {
    /// From the checkpoint there (`--resume`).
    Resume,
    /// From scratch; `clear`: after removing what the folder holds (`--overwrite`, or a
    /// `--resume` of a run stopped before its first checkpoint).
    Fresh { clear: bool },
}

/// Decides how model folder `dir` starts, refusing to mix two runs; reads only. `--resume` of
/// a folder without a checkpoint (absent, or a run stopped before its first one) starts from
/// scratch; one with checkpoint files but no `checkpoint.json` is refused as damaged.
fn plan_model_dir(dir: &Path, args: &ExperimentArgs) -> Result<Start> {
    let empty = lock::is_empty(dir).with_context(|| format!("{}: cannot read", dir.display()))?;
    if args.resume {
        if checkpoint::exists(dir) {
            return Ok(Start::Resume);
        }
        if checkpoint::has_files(dir) {
            bail!(
                "{}: nothing to resume: no {META_FILE} beside the other checkpoint files (a damaged checkpoint); \
                 pass --overwrite to start again",
                dir.display()
            );
        }
        return Ok(Start::Fresh { clear: !empty });
    }
    if !empty {
        if !args.overwrite {
            bail!("{}: already holds a run; pass --resume to continue it or --overwrite to replace it", dir.display());
        }
        return Ok(Start::Fresh { clear: true });
    }
    Ok(Start::Fresh { clear: false })
}

/// Refuses (before anything is written) to resume model `name` of `experiment` from folder
/// `dir` with settings other than its `config.toml`'s, unless `--allow-changes`; the number of
/// sequences (`train.sequences`, to train longer) may change without. Returns the changes.
fn check_changes(dir: &Path, experiment: &Experiment, name: &str, allow_changes: bool) -> Result<Vec<Difference>> {
    let changes = run_dir::settings_changes(dir, experiment, name)?;
    let needing: Vec<&Difference> = changes.iter().filter(|c| c.needs_consent()).collect();
    if !needing.is_empty() && !allow_changes {
        bail!(
            "{}: --resume with settings that differ from the run's {}: {}; pass --allow-changes to go on with \
             them (recorded in {}), or resume with the run's settings",
            dir.display(),
            run_dir::CONFIG_FILE,
            differences_line(&needing),
            run_dir::CHANGES_FILE
        );
    }
    Ok(changes)
}

/// Says which settings a resume of model `name` from folder `dir` changes (and where they are
/// recorded), if any; called after every check, before training.
fn note_changes(dir: &Path, experiment: &Experiment, name: &str) -> Result<()> {
    let changes = run_dir::settings_changes(dir, experiment, name)?;
    if !changes.is_empty() {
        note(&format!(
            "note: model {name}: resuming with changed settings: {}; recorded in {}",
            differences_line(&changes.iter().collect::<Vec<_>>()),
            dir.join(run_dir::CHANGES_FILE).display()
        ));
    }
    Ok(())
}

/// Says, for the commands that read model folder `dir` (of model `name`), at which sequences a
/// resume changed which settings (its `changes.jsonl`), if any did.
fn note_history(dir: &Path, name: &str) -> Result<()> {
    let history = run_dir::read_changes(dir)?;
    if !history.is_empty() {
        let changes: Vec<String> = history.iter().map(|c| c.describe()).collect();
        note(&format!(
            "note: model {name}: trained with changed settings: {} ({})",
            changes.join("; "),
            dir.join(run_dir::CHANGES_FILE).display()
        ));
    }
    Ok(())
}

/// `train.lr = 0.0001 -> 0.01, train.batch = 8 -> 16`.
fn differences_line(changes: &[&Difference]) -> String {
    changes.iter().map(|c| c.to_string()).collect::<Vec<_>>().join(", ")
}

/// Takes the lock of model folder `dir` for `command` and checks that the folder still calls
/// for `start` (another process may have written it since it was read). The lock is held until
/// the returned guard is dropped.
fn lock_model_dir(dir: &Path, start: Start, args: &ExperimentArgs, command: &str) -> Result<FolderLock> {
    let guard = FolderLock::acquire(dir, command)?;
    if plan_model_dir(dir, args)? != start {
        bail!("{}: changed by another process while ntm was reading it; run the command again", dir.display());
    }
    Ok(guard)
}

/// Gets locked model folder `dir` ready for training as `start` says: emptied for a start from
/// scratch over an earlier run (`--overwrite`, or `--resume` before a first checkpoint).
fn ready_model_dir(dir: &Path, start: Start, args: &ExperimentArgs) -> Result<()> {
    if let Start::Fresh { clear: true } = start {
        lock::clear(dir)?;
    }
    if let (true, Start::Fresh { .. }) = (args.resume, start) {
        note(&format!("note: {}: no checkpoint yet; training from scratch", dir.display()));
    }
    Ok(())
}

/// `--jobs`, or the number of cores; 0 is refused.
fn jobs_or_cores(jobs: Option<usize>) -> Result<usize> {
    match jobs {
        Some(0) => bail!("--jobs 0: must be at least 1 (processes at once)"),
        Some(n) => Ok(n),
        None => Ok(ntm::base::pool::cores()),
    }
}

/// Summarises the seed runs in sweep folder `dir` (those of `selection`, or all), prints the
/// table and draws the sweep's figures, as `ntm summarize` and the end of `ntm sweep` do.
fn summarize_and_draw(dir: &Path, selection: Option<&Selection>, threshold: f64, jobs: usize) -> Result<()> {
    let record = summarize_dir(dir, selection, threshold, jobs)?;
    print(&ntm::sweep::summary::table(&record.summary))?;
    let plots = ntm::plot::figures::sweep_figures(dir, &record, threshold)?;
    print(&format!("summary in {}, figures in {}", dir.join(SUMMARY_FILE).display(), plots.display()))
}

/// Stopped by a signal with its checkpoints saved: `main` prints it (a line that says how to
/// continue) and exits with [`Interrupted::exit_code`].
#[derive(Debug)]
pub struct Interrupted {
    /// The command line that continues the run.
    pub resume: String,
    /// The first stop signal received (SIGINT, SIGTERM or SIGHUP).
    pub signal: i32,
}

impl Interrupted {
    /// 128 + the signal's number, as shells report a process the signal ended: 130 for Ctrl-C
    /// (SIGINT), 143 for SIGTERM, 129 for SIGHUP.
    pub fn exit_code(&self) -> u8 {
        exit_code(self.signal)
    }
}

impl std::fmt::Display for Interrupted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let what = match self.signal {
            signal_hook::consts::SIGINT => "interrupted".to_owned(),
            signal => format!("stopped by {}", signal_name(signal)),
        };
        write!(f, "{what}: checkpoints saved; to continue, run: {}", self.resume)
    }
}

impl std::error::Error for Interrupted {}

/// The command line that continues a run into `out`: `ntm <command> <experiment> <extra...>
/// --out <out> --set ... --resume`, each word quoted for a POSIX shell where needed.
fn resume_command(command: &str, extra: &[&str], args: &ExperimentArgs, out: &Path) -> String {
    let mut words: Vec<String> = vec!["ntm".into(), command.into(), args.experiment.display().to_string()];
    words.extend(extra.iter().map(|w| w.to_string()));
    words.extend(["--out".into(), out.display().to_string()]);
    for assignment in &args.overrides {
        words.extend(["--set".into(), assignment.clone()]);
    }
    if args.allow_changes {
        words.push("--allow-changes".into());
    }
    words.push("--resume".into());
    ntm::sweep::shell_line(&words)
}

// ---------------------------------------------------------------------------------------
// Stop signals

/// The signals that stop training with a checkpoint: Ctrl-C (SIGINT), SIGTERM (`kill`,
/// systemd, a batch scheduler's preemption or time limit) and SIGHUP (a closed terminal or ssh
/// session).
const STOP_SIGNALS: [i32; 3] = [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM, signal_hook::consts::SIGHUP];

/// 128 + `signal`: the exit status shells report for a process that `signal` ended.
fn exit_code(signal: i32) -> u8 {
    (128 + signal).clamp(0, 255) as u8
}

/// `SIGTERM`, `SIGHUP`, `SIGINT`.
fn signal_name(signal: i32) -> String {
    match signal {
        signal_hook::consts::SIGINT => "SIGINT".into(),
        signal_hook::consts::SIGTERM => "SIGTERM".into(),
        signal_hook::consts::SIGHUP => "SIGHUP".into(),
        n => format!("signal {n}"),
    }
}

/// A line on stderr that may fail silently: after SIGHUP the terminal may be gone, and a
/// failed message must not turn a saved run into a panic.
fn note(text: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{text}");
}

/// Calls `handler` with each stop signal (see [`STOP_SIGNALS`]) this process receives, on a
/// thread of its own (so it may print, lock and exit). Should installing fail, the signals
/// end the process as usual.
fn on_stop_signals(mut handler: impl FnMut(i32) + Send + 'static) {
    let Ok(mut signals) = signal_hook::iterator::Signals::new(STOP_SIGNALS) else { return };
    std::thread::spawn(move || {
        for signal in signals.forever() {
            handler(signal);
        }
    });
}

/// The first stop signal received, 0 before any.
static FIRST_SIGNAL: AtomicI32 = AtomicI32::new(0);

/// The first stop signal this process received (see [`stop_flag`]), if any.
fn stop_signal() -> Option<i32> {
    Some(FIRST_SIGNAL.load(Ordering::SeqCst)).filter(|&s| s != 0)
}

/// The stop flag of training, raised by SIGINT (Ctrl-C), SIGTERM or SIGHUP: training saves a
/// checkpoint and returns, and the command exits with 128 + the signal's number. The first
/// call installs the handler. A second Ctrl-C exits at once with 130 (the checkpoint on disk
/// is still whole: saves are atomic); a second SIGTERM or SIGHUP changes nothing, since batch
/// schedulers send SIGTERM to every process of a job, and a job's script may pass it on too.
fn stop_flag() -> &'static AtomicBool {
    static STOP: AtomicBool = AtomicBool::new(false);
    static HANDLER: std::sync::Once = std::sync::Once::new();
    HANDLER.call_once(|| {
        on_stop_signals(|signal| {
            let first = FIRST_SIGNAL.compare_exchange(0, signal, Ordering::SeqCst, Ordering::SeqCst).is_ok();
            STOP.store(true, Ordering::SeqCst);
            match (first, signal) {
                (true, signal_hook::consts::SIGINT) => {
                    note("Ctrl-C: stopping after this batch to save a checkpoint (Ctrl-C again quits at once)")
                }
                (true, signal) => {
                    note(&format!("{}: stopping after this batch to save a checkpoint", signal_name(signal)))
                }
                (false, signal_hook::consts::SIGINT) => {
                    note("Ctrl-C again: exiting now; the last checkpoint written is kept");
                    std::process::exit(exit_code(signal).into());
                }
                (false, _) => {}
            }
        });
    });
    &STOP
}
