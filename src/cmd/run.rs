//! `ntm run`: train every model of an experiment (in parallel where there are cores),
//! evaluate each on the test lengths, and print a table.

use std::path::Path;
use std::sync::atomic::Ordering;

use anyhow::{Context, Result};
use indicatif::MultiProgress;

use super::{load_experiment, prepare_model_dir, resume_command, stop_flag, Interrupted};
use ntm::records::checkpoint;
use crate::cmd::cli::RunArgs;
use ntm::models::factory::ModelConfig;
use ntm::measure::eval::evaluate_model;
use ntm::base::pool;
use ntm::train::progress::Progress;
use ntm::records::report::EvalReport;
use ntm::records::run_dir;
use ntm::train::{TrainOutcome, Trainer};

pub fn run(args: &RunArgs) -> Result<()> {
    let (experiment, out) = load_experiment(&args.experiment)?;
    let names: Vec<String> = experiment.models.keys().cloned().collect();
    // Every check before anything is written. On --resume, a model with no checkpoint file at
    // all (the run was killed before its first one) starts afresh if another model has one.
    for name in &names {
        ntm::measure::budget::check_training(&experiment, name)?;
    }
    let any_checkpoint = names.iter().any(|name| checkpoint::exists(&out.join(name)));
    let mut resume = Vec::new();
    for name in &names {
        let dir = out.join(name);
        let fresh = args.experiment.resume && any_checkpoint && !checkpoint::has_files(&dir);
        resume.push(!fresh && prepare_model_dir(&dir, &args.experiment)?);
    }
    let mut trainers = Vec::new();
    for (name, resume) in names.iter().zip(resume) {
        let mut trainer = Trainer::new(&experiment, name)?;
        if resume {
            trainer.resume(&out.join(name)).with_context(|| format!("model {name}: cannot resume"))?;
        }
        trainers.push(trainer);
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
        print_outcome(&name, &outcome, &dir);
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
        return Err(Interrupted { resume: resume_command("run", &[], &args.experiment, &out) }.into());
    }
    println!("{}", table(&reports, experiment.task.build().length_words()));
    draw_figures(&out, &experiment)?;
    println!("results in {}, figures in {}", out.display(), out.join(run_dir::PLOTS_DIR).display());
    Ok(())
}

/// The four figures of a finished run, into `out/plots/`.
fn draw_figures(out: &Path, experiment: &ntm::config::Experiment) -> Result<()> {
    use super::plot;
    let has_ntm = experiment.models.values().any(|m| matches!(m, ModelConfig::Ntm(_)));
    if has_ntm {
        plot::heads(out, (None, None), None, 0, None)?;
    }
    plot::curves(out, None)?;
    plot::generalisation(out, None)?;
    plot::outputs(out, (None, None), None, 0, None)?;
    Ok(())
}

/// One line saying where training ended.
pub(crate) fn print_outcome(name: &str, outcome: &TrainOutcome, dir: &Path) {
    let last = outcome.last.as_ref().map_or(String::new(), |r| {
        format!(", last {:.3} bits, {:.3} bit errors per sequence", r.loss_bits, r.bit_errors)
    });
    let how = if outcome.interrupted { "stopped" } else { "trained" };
    eprintln!(
        "{name}: {how} at {} sequences in {:.0} s{last}; saved in {}",
        outcome.sequences,
        outcome.seconds,
        dir.display()
    );
}

/// Model x length table of bit errors per sequence, lengths labelled in the task's `words`;
/// with repeat counts, one row per model and count (a `-` where a report lacks that cell).
pub(crate) fn table(reports: &[EvalReport], words: ntm_tasks::LengthWords) -> String {
    let all = || reports.iter().flat_map(|r| &r.results);
    let mut lengths: Vec<usize> = Vec::new();
    for r in all() {
        if !lengths.contains(&r.length) {
            lengths.push(r.length);
        }
    }
    if lengths.is_empty() {
        return String::new();
    }
    let with_repeats = all().any(|r| r.repeats.is_some());
    let mut s = String::from("bit errors per sequence\nmodel   ");
    if with_repeats {
        s += &format!("{:>8}", "repeats");
    }
    for length in &lengths {
        s += &format!("{:>9}", words.label(*length));
    }
    for report in reports {
        let mut counts: Vec<Option<usize>> = Vec::new();
        for r in &report.results {
            if !counts.contains(&r.repeats) {
                counts.push(r.repeats);
            }
        }
        for count in counts {
            s += &format!("\n{:<8}", report.model);
            if with_repeats {
                s += &format!("{:>8}", count.map_or("-".into(), |c| c.to_string()));
            }
            for &length in &lengths {
                match report.results.iter().find(|r| r.length == length && r.repeats == count) {
                    Some(r) => s += &format!("{:>9.3}", r.bit_errors),
                    None => s += &format!("{:>9}", "-"),
                }
            }
        }
    }
    s
}
