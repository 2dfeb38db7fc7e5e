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
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{bail, Result};

use crate::cmd::cli::{Cli, Command, ExperimentArgs};
use ntm::config::Experiment;
use ntm::records::run_dir;
use ntm::sweep::summarize::{summarize_dir, Selection, SUMMARY_FILE};

/// Runs the parsed command line.
pub fn execute(cli: Cli) -> Result<()> {
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

/// The experiment with overrides applied, and the run's output folder.
fn load_experiment(args: &ExperimentArgs) -> Result<(Experiment, PathBuf)> {
    let experiment = Experiment::load(&args.experiment, &args.overrides)?;
    let out = args.out.clone().unwrap_or_else(|| run_dir::default_run_dir(&experiment));
    Ok((experiment, out))
}

/// Decides whether model folder `dir` starts fresh or resumes, refusing to mix two runs
/// ([`run_dir::prepare_model_dir`]). Returns true to resume.
fn prepare_model_dir(dir: &Path, args: &ExperimentArgs) -> Result<bool> {
    Ok(run_dir::prepare_model_dir(dir, args.resume, args.overwrite)?)
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
    println!("{}", ntm::sweep::summary::table(&record.summary));
    let plots = ntm::plot::figures::sweep_figures(dir, &record, threshold)?;
    println!("summary in {}, figures in {}", dir.join(SUMMARY_FILE).display(), plots.display());
    Ok(())
}

/// Exit code of `run` and `train` stopped by Ctrl-C after saving their checkpoints
/// (128 + SIGINT, as shells report a process ended by Ctrl-C).
pub const INTERRUPTED_EXIT: u8 = 130;

/// Training stopped by Ctrl-C with its checkpoints saved: `main` prints it (a line that says
/// how to continue) and exits with [`INTERRUPTED_EXIT`].
#[derive(Debug)]
pub struct Interrupted {
    /// The command line that continues the run.
    pub resume: String,
}

impl std::fmt::Display for Interrupted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "interrupted: checkpoints saved; to continue, run: {}", self.resume)
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
    words.push("--resume".into());
    ntm::sweep::shell_line(&words)
}

/// The stop flag of training, raised by Ctrl-C (SIGINT): training saves a checkpoint and
/// returns. The first call installs the handler. A second Ctrl-C exits at once with
/// [`INTERRUPTED_EXIT`]; the checkpoint on disk is still whole (saves are atomic).
fn stop_flag() -> &'static AtomicBool {
    static STOP: AtomicBool = AtomicBool::new(false);
    static HANDLER: std::sync::Once = std::sync::Once::new();
    HANDLER.call_once(|| {
        // Should installing fail (a handler is already set), Ctrl-C ends the process as usual.
        let _ = ctrlc::set_handler(|| {
            if STOP.swap(true, Ordering::SeqCst) {
                eprintln!("Ctrl-C again: exiting now; the last checkpoint written is kept");
                std::process::exit(INTERRUPTED_EXIT.into());
            }
            eprintln!("Ctrl-C: stopping after this batch to save a checkpoint (Ctrl-C again quits at once)");
        });
    });
    &STOP
}
