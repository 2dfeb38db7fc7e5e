//! `ntm run`: train every model of an experiment (in parallel where there are cores),
//! evaluate each on the test lengths, and print a table.

use std::path::Path;
use std::sync::Mutex;

use anyhow::{Context, Result};
use indicatif::MultiProgress;

use super::{load_experiment, prepare_model_dir, stop_flag};
use crate::cli::RunArgs;
use crate::eval::{evaluate_loaded, load_model, write_report};
use crate::progress::Progress;
use crate::report::EvalReport;
use crate::train::TrainOutcome;

pub fn run(args: &RunArgs) -> Result<()> {
    let (experiment, out) = load_experiment(&args.experiment)?;
    let names: Vec<String> = experiment.models.keys().cloned().collect();
    let mut resume = Vec::new();
    for name in &names {
        resume.push(prepare_model_dir(&out.join(name), &args.experiment)?);
    }
    std::fs::create_dir_all(&out).with_context(|| format!("{}: cannot create", out.display()))?;
    std::fs::write(out.join("experiment.toml"), experiment.to_toml())
        .with_context(|| format!("{}: cannot write experiment.toml", out.display()))?;

    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let queue = Mutex::new(names.iter().zip(resume).rev().collect::<Vec<_>>());
    let results: Mutex<Vec<(String, Result<EvalReport>)>> = Mutex::new(Vec::new());
    let multi = MultiProgress::new();
    std::thread::scope(|scope| {
        for _ in 0..cores.min(names.len()) {
            scope.spawn(|| loop {
                let Some((name, resume)) = queue.lock().expect("queue").pop() else { break };
                let dir = out.join(name);
                let progress = Progress::new(name, &multi);
                let result = (|| {
                    let outcome =
                        crate::train::train(&experiment, name, &dir, resume, &progress, stop_flag())?;
                    print_outcome(name, &outcome, &dir);
                    let loaded = load_model(&dir)?;
                    let report =
                        evaluate_loaded(&loaded, &experiment.eval.lengths, experiment.eval.sequences)?;
                    write_report(&dir, &report)?;
                    Ok(report)
                })();
                results.lock().expect("results").push((name.clone(), result));
            });
        }
    });
    let mut results = results.into_inner().expect("results");
    results.sort_by(|a, b| a.0.cmp(&b.0));
    let mut reports = Vec::new();
    for (name, result) in results {
        reports.push(result.with_context(|| format!("model {name}"))?);
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
        let (_, longest) = experiment.task.build().length_range();
        plot::heads(out, longest, 0, None)?;
    }
    plot::curves(out, None)?;
    plot::generalisation(out, None)?;
    plot::outputs(out, &experiment.eval.lengths, 0, None)?;
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
