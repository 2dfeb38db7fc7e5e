//! `ntm run`: train every model of an experiment (in parallel where there are cores),
//! evaluate each on the test lengths, and print a table.

use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Mutex;

use anyhow::{Context, Result};
use indicatif::MultiProgress;

use super::{load_experiment, prepare_model_dir, resume_command, stop_flag, Interrupted};
use crate::checkpoint;
use crate::cli::RunArgs;
use crate::eval::{evaluate_loaded, load_model, write_report};
use crate::progress::Progress;
use crate::report::EvalReport;
use crate::train::TrainOutcome;

pub fn run(args: &RunArgs) -> Result<()> {
    let (experiment, out) = load_experiment(&args.experiment)?;
    let names: Vec<String> = experiment.models.keys().cloned().collect();
    // Every check before anything is written. On --resume, a model with no checkpoint file at
    // all (the run was killed before its first one) starts afresh if another model has one.
    let any_checkpoint = names.iter().any(|name| checkpoint::exists(&out.join(name)));
    let mut resume = Vec::new();
    for name in &names {
        let dir = out.join(name);
        let fresh = args.experiment.resume && any_checkpoint && !checkpoint::has_files(&dir);
        resume.push(!fresh && prepare_model_dir(&dir, &args.experiment)?);
    }
    for (name, _) in names.iter().zip(&resume).filter(|(_, resume)| **resume) {
        crate::train::check_resume(&experiment, name, &out.join(name))
            .with_context(|| format!("model {name}: cannot resume"))?;
    }
    let stop = stop_flag();
    std::fs::create_dir_all(&out).with_context(|| format!("{}: cannot create", out.display()))?;
    std::fs::write(out.join("experiment.toml"), experiment.to_toml())
        .with_context(|| format!("{}: cannot write experiment.toml", out.display()))?;

    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let queue = Mutex::new(names.iter().zip(resume).rev().collect::<Vec<_>>());
    // Per model: its report, or None if Ctrl-C stopped it before evaluation.
    let results: Mutex<Vec<(String, Result<Option<EvalReport>>)>> = Mutex::new(Vec::new());
    let multi = MultiProgress::new();
    std::thread::scope(|scope| {
        for _ in 0..cores.min(names.len()) {
            scope.spawn(|| loop {
                let Some((name, resume)) = queue.lock().expect("queue").pop() else { break };
                let dir = out.join(name);
                let progress = Progress::new(name, &multi);
                let result = (|| {
                    // Once stopped, a model not yet started still saves a checkpoint (at 0
                    // sequences), so that the whole run can be resumed.
                    let outcome = crate::train::train(&experiment, name, &dir, resume, &progress, stop)?;
                    print_outcome(name, &outcome, &dir);
                    if outcome.interrupted || stop.load(Ordering::Relaxed) {
                        return Ok(None);
                    }
                    let loaded = load_model(&dir)?;
                    let report =
                        evaluate_loaded(&loaded, &experiment.eval.lengths, experiment.eval.sequences)?;
                    write_report(&dir, &report)?;
                    Ok(Some(report))
                })();
                results.lock().expect("results").push((name.clone(), result));
            });
        }
    });
    let mut results = results.into_inner().expect("results");
    results.sort_by(|a, b| a.0.cmp(&b.0));
    let mut reports = Vec::new();
    // The errors name the model (or its folder) already.
    for (_, result) in results {
        reports.extend(result?);
    }
    if reports.len() < names.len() || stop.load(Ordering::Relaxed) {
        return Err(Interrupted { resume: resume_command("run", &[], &args.experiment, &out) }.into());
    }
    println!("{}", table(&reports));
    draw_figures(&out, &experiment)?;
    println!("results in {}, figures in {}", out.display(), out.join("plots").display());
    Ok(())
}

/// The four figures of a finished run, into `out/plots/`.
fn draw_figures(out: &Path, experiment: &crate::config::Experiment) -> Result<()> {
    use super::plot;
    let has_ntm = experiment.models.values().any(|m| matches!(m, crate::model::ModelConfig::Ntm(_)));
    if has_ntm {
        plot::heads(out, None, 0, None)?;
    }
    plot::curves(out, None)?;
    plot::generalisation(out, None)?;
    plot::outputs(out, None, 0, None)?;
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

/// Model x length table of bit errors per sequence.
pub(crate) fn table(reports: &[EvalReport]) -> String {
    let Some(first) = reports.first() else { return String::new() };
    let mut s = String::from("bit errors per sequence\nmodel   ");
    for r in &first.results {
        s += &format!("{:>9}", format!("L={}", r.length));
    }
    for report in reports {
        s += &format!("\n{:<8}", report.model);
        for r in &report.results {
            s += &format!("{:>9.3}", r.bit_errors);
        }
    }
    s
}
