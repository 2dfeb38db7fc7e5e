//! The CLI layer: one file per subcommand; errors become `anyhow` errors with context here
//! and one line on stderr in `main`.

mod eval;
mod plot;
mod run;
mod train;

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};

use crate::checkpoint::META_FILE;
use crate::cli::{Cli, Command, ExperimentArgs};
use crate::config::Experiment;

/// Runs the parsed command line.
pub fn execute(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Run(args) => run::run(&args),
        Command::Train(args) => train::train(&args),
        Command::Eval(args) => eval::eval(&args),
        Command::Plot(command) => plot::plot(&command),
    }
}

/// The experiment with overrides applied, and the run's output folder.
fn load_experiment(args: &ExperimentArgs) -> Result<(Experiment, PathBuf)> {
    let experiment = Experiment::load(&args.experiment, &args.overrides)?;
    let out = args.out.clone().unwrap_or_else(|| Path::new("runs").join(&experiment.name));
    Ok((experiment, out))
}

/// Decides whether model folder `dir` starts fresh or resumes, refusing to mix two runs.
/// Returns true to resume.
fn prepare_model_dir(dir: &Path, args: &ExperimentArgs) -> Result<bool> {
    let has_checkpoint = dir.join(META_FILE).is_file();
    if args.resume {
        if !has_checkpoint {
            bail!("{}: nothing to resume (no {META_FILE}); run without --resume to start it", dir.display());
        }
        return Ok(true);
    }
    if dir.exists() && std::fs::read_dir(dir)?.next().is_some() {
        if !args.overwrite {
            bail!(
                "{}: already holds a run; pass --resume to continue it or --overwrite to replace it",
                dir.display()
            );
        }
        std::fs::remove_dir_all(dir)?;
    }
    Ok(false)
}

/// A stop flag raised by Ctrl-C: training saves a checkpoint and returns.
fn stop_flag() -> &'static std::sync::atomic::AtomicBool {
    static STOP: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    &STOP
}
