//! `ntm eval`: evaluate trained models on test lengths (and, for repeat copy, repeat counts).

use anyhow::Result;

use crate::cmd::cli::{EvalArgs, Slots};
use ntm::config::EvalConfig;
use ntm::measure::eval::{eval_plan, evaluate_loaded};
use ntm::models::resize::{check_room, slots_needed};
use ntm::records::report::{EvalReport, EvalResult};
use ntm::records::run_dir::{load_model_weights, load_path, model_dirs, read_config, write_eval, LoadedModel};

pub fn eval(args: &EvalArgs) -> Result<()> {
    // Every model loaded and every option checked before the first evaluation, so a bad
    // option writes nothing.
    let mut jobs = Vec::new();
    let mut left_out = Vec::new();
    let dirs = model_dirs(&args.path)?;
    // Models are loaded at the first test length's size first (checked), then at each
    // length's size (the models of a run folder share one experiment).
    let first = match (args.slots, dirs.first()) {
        (Some(slots), Some(dir)) => {
            let (experiment, _) = read_config(dir)?;
            let length = args.lengths.as_ref().unwrap_or(&experiment.eval.lengths).first().copied().unwrap_or(1);
            Some(slots.at(slots_needed(&experiment.task, length).0))
        }
        _ => None,
    };
    for (dir, loaded) in dirs.iter().zip(load_path(&args.path, first)?) {
        // --slots on a run folder: its models without memory (the LSTM) are left out.
        if let (Some(_), true) = (args.slots, dirs.len() > 1) {
            if let (false, name) = ntm::records::run_dir::has_memory(dir)? {
                left_out.push(name);
                continue;
            }
        }
        let loaded = loaded?;
        let plan = plan(args, &loaded)?;
        jobs.push((loaded, plan));
    }
    super::note_left_out(&args.slots.map_or(String::new(), |s| s.to_string()), &left_out);
    for (loaded, _) in &jobs {
        super::note_history(&loaded.dir, &loaded.built.name)?;
    }
    // --save writes into the model folders: one writer per folder (not while one trains).
    let mut locks = Vec::new();
    if args.save {
        for (loaded, _) in &jobs {
            locks.push(ntm::records::lock::FolderLock::acquire(&loaded.dir, "ntm eval --save")?);
        }
    }
    let mut reports = Vec::new();
    for (loaded, plan) in &jobs {
        let report = match args.slots {
            None => evaluate_loaded(loaded, plan)?,
            Some(slots) => evaluate_sized(loaded, plan, slots)?,
        };
        if args.save {
            write_eval(&loaded.dir, &report)?;
        }
        reports.push(report);
    }
    if args.json {
        let json = match reports.as_slice() {
            [one] => serde_json::to_string_pretty(one)?,
            many => serde_json::to_string_pretty(many)?,
        };
        super::print(&json)?;
    } else {
        let words = jobs.first().map(|(loaded, _)| loaded.experiment.task.build().length_words()).unwrap_or_default();
        super::print(&ntm::measure::eval::table(&reports, words))?;
    }
    Ok(())
}

/// The experiment's `[eval]` with the command line's options applied, checked.
fn plan(args: &EvalArgs, loaded: &LoadedModel) -> Result<EvalConfig> {
    let asked = (args.lengths.as_deref(), args.sequences, args.repeats.as_ref().map(|r| r.0.as_slice()));
    let task = loaded.experiment.task.build();
    let plan = eval_plan(&loaded.experiment.eval, asked, &loaded.built.name, task.as_ref())?;
    if let Some(slots) = args.slots {
        for &length in &plan.lengths {
            check_room(&loaded.experiment.task, slots.at(slots_needed(&loaded.experiment.task, length).0), length)
                .map_err(anyhow::Error::msg)?;
        }
    }
    Ok(plan)
}

/// The report of `loaded` on `plan` with the memory sizes of `slots`: one model per size, each
/// evaluated on the lengths that have it; every result names its slots.
fn evaluate_sized(loaded: &LoadedModel, plan: &EvalConfig, slots: Slots) -> Result<EvalReport> {
    let mut report =
        EvalReport { model: loaded.built.name.clone(), task: loaded.experiment.task.name().into(), results: vec![] };
    let size = |length| slots.at(slots_needed(&loaded.experiment.task, length).0);
    let mut sizes: Vec<usize> = plan.lengths.iter().map(|&l| size(l)).collect();
    sizes.sort_unstable();
    sizes.dedup();
    for n in sizes {
        let mut lengths: Vec<usize> = plan.lengths.iter().copied().filter(|&l| size(l) == n).collect();
        lengths.dedup();
        let sized = load_model_weights(&loaded.dir, &loaded.weights, Some(n))?;
        let part = evaluate_loaded(&sized, &EvalConfig { lengths, ..plan.clone() })?;
        report.results.extend(part.results.into_iter().map(|r| EvalResult { slots: Some(n), ..r }));
    }
    // Lengths in the order asked, as without --slots.
    let order = |r: &EvalResult| plan.lengths.iter().position(|&l| l == r.length);
    report.results.sort_by_key(order);
    Ok(report)
}
