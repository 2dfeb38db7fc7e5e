//! `ntm eval`: evaluate trained models on test lengths.

use anyhow::Result;

use crate::cli::EvalArgs;
use crate::eval::evaluate_loaded;
use crate::run_dir::{load_path, write_eval};

pub fn eval(args: &EvalArgs) -> Result<()> {
    let mut reports = Vec::new();
    for loaded in load_path(&args.path)? {
        let loaded = loaded?;
        let dir = loaded.dir.clone();
        let lengths = args.lengths.clone().unwrap_or_else(|| loaded.experiment.eval.lengths.clone());
        if lengths.is_empty() || lengths.contains(&0) {
            anyhow::bail!("--lengths {lengths:?}: give one or more lengths of at least 1");
        }
        let sequences = args.sequences.unwrap_or(loaded.experiment.eval.sequences);
        if sequences == 0 {
            anyhow::bail!("--sequences 0: must be at least 1");
        }
        let report = evaluate_loaded(&loaded, &lengths, sequences)?;
        if args.save {
            write_eval(&dir, &report)?;
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
