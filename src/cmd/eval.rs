//! `ntm eval`: evaluate trained models on test lengths (and, for repeat copy, repeat counts).

use anyhow::{bail, Result};

use crate::cli::EvalArgs;
use crate::config::EvalConfig;
use crate::eval::evaluate_loaded;
use crate::run_dir::{load_path, write_eval, LoadedModel};

pub fn eval(args: &EvalArgs) -> Result<()> {
    // Every model loaded and every option checked before the first evaluation, so a bad
    // option writes nothing.
    let mut jobs = Vec::new();
    for loaded in load_path(&args.path)? {
        let loaded = loaded?;
        let plan = plan(args, &loaded)?;
        jobs.push((loaded, plan));
    }
    let mut reports = Vec::new();
    for (loaded, plan) in &jobs {
        let report = evaluate_loaded(loaded, plan)?;
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
        println!("{json}");
    } else {
        println!("{}", super::run::table(&reports));
    }
    Ok(())
}

/// The experiment's `[eval]` with the command line's options applied, checked.
fn plan(args: &EvalArgs, loaded: &LoadedModel) -> Result<EvalConfig> {
    let mut plan = loaded.experiment.eval.clone();
    if let Some(lengths) = &args.lengths {
        plan.lengths = lengths.clone();
    }
    if plan.lengths.is_empty() || plan.lengths.contains(&0) {
        bail!("--lengths {:?}: give one or more lengths of at least 1", plan.lengths);
    }
    let task = loaded.experiment.task.build();
    for &length in &plan.lengths {
        if let Err(e) = task.check_length(length) {
            bail!("--lengths {:?}: {length}: {e}", plan.lengths);
        }
    }
    if let Some(sequences) = args.sequences {
        plan.sequences = sequences;
    }
    if plan.sequences == 0 {
        bail!("--sequences 0: must be at least 1");
    }
    if let Some(repeats) = &args.repeats {
        let task = &loaded.experiment.task;
        if task.build().repeat_range().is_none() {
            bail!(
                "--repeats {}: model {} was trained on the {} task, which has no repeat count (only repeat-copy has)",
                join(&repeats.0),
                loaded.built.name,
                task.name()
            );
        }
        plan.repeats = repeats.0.clone();
    }
    Ok(plan)
}

/// `5,10,15` from `[5, 10, 15]`.
pub(crate) fn join(values: &[usize]) -> String {
    values.iter().map(usize::to_string).collect::<Vec<_>>().join(",")
}
