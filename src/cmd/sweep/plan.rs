//! What `ntm sweep` will do, decided before anything starts: every input checked, each (seed,
//! model) job's action from what its folder holds, and the memory its trainings need; nothing
//! is written here.

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};

use crate::cmd::cli::SweepArgs;
use ntm::config::Experiment;
use ntm::sweep::seed_run::{self, folder_state, FolderState};
use ntm::sweep::{jobs, parse_seeds, Job, Mode};

/// What a job does, decided from its folder before anything starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Action {
    Train(Mode),
    /// Trained to the end, not yet evaluated.
    Evaluate,
    /// Trained and evaluated (`--resume`).
    Skip,
}

/// Everything a sweep does, checked.
pub(super) struct Plan {
    pub(super) experiment: Experiment,
    pub(super) out: PathBuf,
    pub(super) seeds: Vec<u64>,
    pub(super) models: Vec<String>,
    pub(super) jobs: usize,
    pub(super) work: Vec<(Job, Action)>,
}

/// The `train` flag every job gets from `--resume` / `--overwrite`.
pub(super) fn mode(args: &SweepArgs) -> Mode {
    match (args.resume, args.overwrite) {
        (true, _) => Mode::Resume,
        (_, true) => Mode::Overwrite,
        _ => Mode::Fresh,
    }
}

/// Checks every input and (unless only printing commands) every job's folder, writing nothing.
pub(super) fn plan(args: &SweepArgs) -> Result<Plan> {
    if let Some(a) = args.overrides.iter().find(|a| a.split('=').next().is_some_and(|k| k.trim() == "seed")) {
        bail!("--set {a}: a sweep sets each run's seed from --seeds");
    }
    let seeds = parse_seeds(&args.seeds)?;
    let jobs_at_once = super::super::jobs_or_cores(args.jobs)?;
    ntm::sweep::summary::check_threshold(args.threshold).map_err(anyhow::Error::msg)?;
    let experiment = Experiment::load(&args.experiment, &args.overrides)?;
    let models = match &args.models {
        None => experiment.models.keys().cloned().collect(),
        Some(names) => {
            let mut models: Vec<String> = Vec::new();
            for name in names {
                if !experiment.models.contains_key(name) {
                    let known: Vec<&String> = experiment.models.keys().collect();
                    bail!(
                        "--models: {}: no model named {name:?} (the experiment has {known:?})",
                        args.experiment.display()
                    );
                }
                if !models.contains(name) {
                    models.push(name.clone());
                }
            }
            models
        }
    };
    super::super::check_built_in(&experiment, &args.experiment, &models)?;
    let out = args.out.clone().unwrap_or_else(|| Path::new("runs").join(format!("{}-sweep", experiment.name)));
    let all = jobs(&seeds, &models);
    let work = match args.print_commands {
        true => all.into_iter().map(|job| (job, Action::Train(mode(args)))).collect(),
        false => decide(args, &experiment, &out, all)?,
    };
    // Commands printed for other machines are checked there, by each `ntm train`; the tasks of
    // a SLURM array each get a node's share of their own.
    if !args.print_commands {
        let training: Vec<&Job> = work.iter().filter(|(_, a)| matches!(a, Action::Train(_))).map(|(j, _)| j).collect();
        let at_once = if args.slurm { 1 } else { jobs_at_once };
        check_memory(&experiment, &training, (at_once, args.jobs.is_none()))?;
    }
    // Each job is evaluated once trained: checked before the first starts (unless every job is
    // trained and evaluated already).
    if work.iter().any(|(_, action)| *action != Action::Skip) {
        super::super::check_evaluation(&experiment, &args.experiment, &models, "ntm sweep")?;
    }
    Ok(Plan { experiment, out, seeds, models, jobs: jobs_at_once, work })
}

/// Refuses, before anything starts, a sweep whose trainings (`training`: the jobs that will
/// train, not those finished) do not fit in the memory available: each model alone as `ntm
/// train` checks it, then the `jobs_at_once` largest together (`by_default`: --jobs not given).
fn check_memory(experiment: &Experiment, training: &[&Job], (jobs_at_once, by_default): (usize, bool)) -> Result<()> {
    let mut models: Vec<&String> = training.iter().map(|job| &job.model).collect();
    models.sort();
    models.dedup();
    for model in models {
        ntm::measure::budget::check_training(experiment, model)?;
    }
    let mut each: Vec<f64> =
        training.iter().map(|job| ntm::measure::budget::training_estimate(experiment, &job.model)).collect();
    each.sort_by(|a, b| b.total_cmp(a));
    let at_once = jobs_at_once.min(each.len());
    let default = if by_default { " (the default: one per core)" } else { "" };
    let what = format!("--jobs {jobs_at_once}{default}: running {at_once} trainings at once");
    ntm::measure::budget::check_fits(&what, each.iter().take(at_once).sum())
        .map_err(|e| anyhow::anyhow!("{e}; lower --jobs"))
}

/// What each job does given what its folder holds; refuses folders that hold a run unless
/// `--resume` or `--overwrite` says what to do with it, and checkpoints that cannot resume.
fn decide(args: &SweepArgs, experiment: &Experiment, out: &Path, all: Vec<Job>) -> Result<Vec<(Job, Action)>> {
    let mut work = Vec::new();
    let mut holding: Vec<PathBuf> = Vec::new();
    for job in all {
        let dir = job.dir(out);
        let state = folder_state(&dir)?;
        let target = experiment.train.for_model(&job.model).sequences;
        let action = match state {
            FolderState::Empty => Action::Train(Mode::Fresh),
            _ if args.overwrite => Action::Train(Mode::Overwrite),
            _ if !args.resume => {
                holding.push(dir);
                continue;
            }
            // Killed before its first checkpoint: nothing to keep.
            FolderState::NoCheckpoint => Action::Train(Mode::Overwrite),
            FolderState::Checkpoint { sequences, evaluated, failed } if sequences >= target && !failed => {
                if evaluated {
                    Action::Skip
                } else {
                    Action::Evaluate
                }
            }
            FolderState::Checkpoint { .. } => {
                let seeded = Experiment { seed: job.seed, ..experiment.clone() };
                seed_run::check_resume(&seeded, &job.model, &dir)?;
                super::super::check_changes(&dir, &seeded, &job.model, args.allow_changes)?;
                Action::Train(Mode::Resume)
            }
        };
        work.push((job, action));
    }
    if let Some(first) = holding.first() {
        let others = match holding.len() {
            1 => String::new(),
            n => format!(" (and {} other job folder{})", n - 1, if n == 2 { "" } else { "s" }),
        };
        bail!(
            "{}: already holds a run{others}; pass --resume to continue it or --overwrite to replace it",
            first.display()
        );
    }
    Ok(work)
}
