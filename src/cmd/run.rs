//! `ntm run`: train every model of one or more experiments (in parallel where there are
//! cores), evaluate each on the test lengths, print a table and draw the figures per
//! experiment.

use std::path::PathBuf;
use std::sync::atomic::Ordering;

use anyhow::{Context, Result};
use indicatif::MultiProgress;

use super::{
    check_changes, load_experiment, lock_model_dir, note_changes, plan_model_dir, ready_model_dir, stop_flag,
    Interrupted, Start,
};
use crate::cmd::cli::{ExperimentArgs, RunArgs};
use ntm::base::pool;
use ntm::config::Experiment;
use ntm::measure::eval::evaluate_model;
use ntm::records::lock::FolderLock;
use ntm::records::report::EvalReport;
use ntm::records::run_dir;
use ntm::train::progress::Progress;
use ntm::train::Trainer;

/// One experiment of the command, checked: where it goes and how each model starts.
struct Planned {
    args: ExperimentArgs,
    experiment: Experiment,
    out: PathBuf,
    names: Vec<String>,
    starts: Vec<Start>,
}

pub fn run(args: &RunArgs) -> Result<()> {
    let several = !args.more.is_empty();
    // Every check of every experiment before anything is written. On --resume, a model without
    // a checkpoint (the run was stopped before its first one) starts from scratch.
    let mut planned = Vec::new();
    for file in std::iter::once(&args.experiment.experiment).chain(&args.more) {
        planned.push(plan(&args.experiment, file, several)?);
    }
    for (i, a) in planned.iter().enumerate() {
        // The same folder, or one inside the other (a name with a `/`).
        if let Some(b) = planned[..i].iter().find(|b| a.out.starts_with(&b.out) || b.out.starts_with(&a.out)) {
            anyhow::bail!(
                "{} and {}: both would write into {} and {}; give each experiment its own name",
                b.args.experiment.display(),
                a.args.experiment.display(),
                b.out.display(),
                a.out.display()
            );
        }
    }
    // One writer per model folder, from here to the end of the run.
    let mut locks: Vec<FolderLock> = Vec::new();
    for p in &planned {
        for (name, &start) in p.names.iter().zip(&p.starts) {
            locks.push(lock_model_dir(&p.out.join(name), start, &p.args, "ntm run")?);
        }
    }
    // The jobs of every experiment in one pool: (experiment's index, its trainer).
    let mut jobs = Vec::new();
    for (index, p) in planned.iter().enumerate() {
        for (name, &start) in p.names.iter().zip(&p.starts) {
            let mut trainer = Trainer::new(&p.experiment, name)?;
            if start == Start::Resume {
                trainer.resume(&p.out.join(name)).with_context(|| format!("model {name}: cannot resume"))?;
            }
            jobs.push((index, trainer));
        }
    }
    for p in &planned {
        for (name, &start) in p.names.iter().zip(&p.starts) {
            let dir = p.out.join(name);
            if start == Start::Resume {
                note_changes(&dir, &p.experiment, name)?;
            }
            ready_model_dir(&dir, start, &p.args)?;
        }
        super::note_shadowed(&p.experiment, &p.args.overrides, &p.names);
    }
    let stop = stop_flag();
    for p in &planned {
        std::fs::create_dir_all(&p.out).with_context(|| format!("{}: cannot create", p.out.display()))?;
        run_dir::write_experiment(&p.out, &p.experiment)?;
    }

    let multi = MultiProgress::new();
    // Per job (experiments in order, models in name order): its report, or None if a signal
    // stopped it before evaluation.
    let results = pool::run_jobs(jobs, pool::cores(), |(index, mut trainer)| -> Result<(usize, Option<EvalReport>)> {
        let p = &planned[index];
        let name = trainer.name().to_owned();
        let dir = p.out.join(&name);
        let label = if several { format!("{}/{name}", p.experiment.name) } else { name.clone() };
        let progress = Progress::new(&label, &multi);
        // Once stopped, a model not yet started still saves a checkpoint (at 0 sequences), so
        // that the whole run can be resumed.
        let outcome = trainer.fit(&dir, &progress, stop)?;
        super::note(&outcome.describe(&label, &dir));
        if outcome.interrupted || stop.load(Ordering::Relaxed) {
            return Ok((index, None));
        }
        let report = evaluate_model(&name, trainer.model(), &p.experiment, &p.experiment.eval)?;
        run_dir::write_eval(&dir, &report)?;
        Ok((index, Some(report)))
    });
    let mut reports: Vec<Vec<EvalReport>> = planned.iter().map(|_| Vec::new()).collect();
    // The first error (they name the model, or its folder, already); the experiments whose
    // models all finished still get their tables and figures.
    let mut error = None;
    for result in results {
        match result {
            Ok((index, report)) => reports[index].extend(report),
            Err(e) => error = error.or(Some(e)),
        }
    }
    let stopped = stop.load(Ordering::Relaxed);
    for (p, reports) in planned.iter().zip(&reports) {
        if reports.len() < p.names.len() || stopped {
            continue;
        }
        if several {
            super::print(&format!("\n{} ({})", p.experiment.name, p.args.experiment.display()))?;
        }
        super::print(&ntm::measure::eval::table(reports, p.experiment.task.build().length_words()))?;
        ntm::plot::figures::run_figures(&p.out, &p.experiment)?;
        super::print(&format!(
            "results in {}, figures in {}",
            p.out.display(),
            p.out.join(run_dir::PLOTS_DIR).display()
        ))?;
    }
    if let Some(e) = error {
        return Err(e);
    }
    if reports.iter().zip(&planned).any(|(r, p)| r.len() < p.names.len()) || stopped {
        let signal = super::stop_signal().unwrap_or(libc::SIGINT);
        return Err(Interrupted { resume: resume_command(args, &planned), signal }.into());
    }
    Ok(())
}

/// Loads and checks experiment `file` with the command's options (`several`: one of several
/// experiments, so `--out DIR` means `DIR/<its name>`); reads only.
fn plan(args: &ExperimentArgs, file: &std::path::Path, several: bool) -> Result<Planned> {
    let mut args = args.clone();
    args.experiment = file.to_path_buf();
    let (experiment, mut out) = load_experiment(&args)?;
    if let (true, Some(dir)) = (several, &args.out) {
        // The experiment's folder is its name under --out.
        out = dir.join(&experiment.name);
        args.out = Some(out.clone());
    }
    let names: Vec<String> = experiment.models.keys().cloned().collect();
    super::check_built_in(&experiment, &args.experiment, &names)?;
    for name in &names {
        ntm::measure::budget::check_training(&experiment, name)?;
    }
    super::check_evaluation(&experiment, &args.experiment, &names, "ntm run")?;
    ntm::plot::figures::check_run_figures(&experiment).context("the figures could not be drawn once trained")?;
    let mut starts = Vec::new();
    for name in &names {
        let dir = out.join(name);
        let start = plan_model_dir(&dir, &args)?;
        if start == Start::Resume {
            check_changes(&dir, &experiment, name, args.allow_changes)?;
        }
        starts.push(start);
    }
    Ok(Planned { args, experiment, out, names, starts })
}

/// The command line that continues this run: one experiment as before (`--out` its folder),
/// several with the `--out` given (if any).
fn resume_command(args: &RunArgs, planned: &[Planned]) -> String {
    match planned {
        [one] => super::resume_command("run", &[], &one.args, &one.out),
        _ => {
            let mut words: Vec<String> = vec!["ntm".into(), "run".into()];
            words.extend(planned.iter().map(|p| p.args.experiment.display().to_string()));
            if let Some(out) = &args.experiment.out {
                words.extend(["--out".into(), out.display().to_string()]);
            }
            for assignment in &args.experiment.overrides {
                words.extend(["--set".into(), assignment.clone()]);
            }
            if args.experiment.allow_changes {
                words.push("--allow-changes".into());
            }
            words.push("--resume".into());
            ntm::sweep::shell_line(&words)
        }
    }
}
