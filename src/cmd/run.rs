//! `ntm run`: train every model of an experiment (in parallel where there are cores),
//! evaluate each on the test lengths, and print a table.

use std::sync::atomic::Ordering;

use anyhow::{Context, Result};
use indicatif::MultiProgress;

use super::{
    check_changes, load_experiment, lock_model_dir, note_changes, plan_model_dir, ready_model_dir, resume_command,
    stop_flag, Interrupted, Start,
};
use crate::cmd::cli::RunArgs;
use ntm::base::pool;
use ntm::measure::eval::evaluate_model;
use ntm::records::report::EvalReport;
use ntm::records::run_dir;
use ntm::train::progress::Progress;
use ntm::train::Trainer;

pub fn run(args: &RunArgs) -> Result<()> {
    let (experiment, out) = load_experiment(&args.experiment)?;
    let names: Vec<String> = experiment.models.keys().cloned().collect();
    // Every check before anything is written. On --resume, a model without a checkpoint (the
    // run was stopped before its first one) starts from scratch.
    super::check_built_in(&experiment, &args.experiment.experiment, &names)?;
    for name in &names {
        ntm::measure::budget::check_training(&experiment, name)?;
    }
    super::check_evaluation(&experiment, &args.experiment.experiment, &names, "ntm run")?;
    ntm::plot::figures::check_run_figures(&experiment).context("the figures could not be drawn once trained")?;
    let mut starts = Vec::new();
    for name in &names {
        let dir = out.join(name);
        let start = plan_model_dir(&dir, &args.experiment)?;
        if start == Start::Resume {
            check_changes(&dir, &experiment, name, args.experiment.allow_changes)?;
        }
        starts.push(start);
    }
    // One writer per model folder, from here to the end of the run.
    let mut locks = Vec::new();
    for (name, &start) in names.iter().zip(&starts) {
        locks.push(lock_model_dir(&out.join(name), start, &args.experiment, "ntm run")?);
    }
    let mut trainers = Vec::new();
    for (name, &start) in names.iter().zip(&starts) {
        let mut trainer = Trainer::new(&experiment, name)?;
        if start == Start::Resume {
            trainer.resume(&out.join(name)).with_context(|| format!("model {name}: cannot resume"))?;
        }
        trainers.push(trainer);
    }
    for (name, &start) in names.iter().zip(&starts) {
        let dir = out.join(name);
        if start == Start::Resume {
            note_changes(&dir, &experiment, name)?;
        }
        ready_model_dir(&dir, start, &args.experiment)?;
    }
    super::note_shadowed(&experiment, &args.experiment.overrides, &names);
    let stop = stop_flag();
    std::fs::create_dir_all(&out).with_context(|| format!("{}: cannot create", out.display()))?;
    run_dir::write_experiment(&out, &experiment)?;

    let multi = MultiProgress::new();
    // Per model (in name order): its report, or None if Ctrl-C stopped it before evaluation.
    let results = pool::run_jobs(trainers, pool::cores(), |mut trainer| -> Result<Option<EvalReport>> {
        let name = trainer.name().to_owned();
        let dir = out.join(&name);
        let progress = Progress::new(&name, &multi);
        // Once stopped, a model not yet started still saves a checkpoint (at 0 sequences), so
        // that the whole run can be resumed.
        let outcome = trainer.fit(&dir, &progress, stop)?;
        super::note(&outcome.describe(&name, &dir));
        if outcome.interrupted || stop.load(Ordering::Relaxed) {
            return Ok(None);
        }
        let report = evaluate_model(&name, trainer.model(), &experiment, &experiment.eval)?;
        run_dir::write_eval(&dir, &report)?;
        Ok(Some(report))
    });
    let mut reports = Vec::new();
    // The errors name the model (or its folder) already.
    for result in results {
        reports.extend(result?);
    }
    if reports.len() < names.len() || stop.load(Ordering::Relaxed) {
        let signal = super::stop_signal().unwrap_or(libc::SIGINT);
        return Err(Interrupted { resume: resume_command("run", &[], &args.experiment, &out), signal }.into());
    }
    super::print(&ntm::measure::eval::table(&reports, experiment.task.build().length_words()))?;
    ntm::plot::figures::run_figures(&out, &experiment)?;
    super::print(&format!("results in {}, figures in {}", out.display(), out.join(run_dir::PLOTS_DIR).display()))
}
