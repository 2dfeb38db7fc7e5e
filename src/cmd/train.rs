//! `ntm train`: one model of an experiment.

use anyhow::Result;
use indicatif::MultiProgress;

use super::{
    check_changes, load_experiment, lock_model_dir, note_changes, plan_model_dir, ready_model_dir, resume_command,
    stop_flag, Interrupted, Start,
};
use crate::cmd::cli::TrainArgs;
use ntm::train::progress::Progress;
use ntm::train::Trainer;

pub fn train(args: &TrainArgs) -> Result<()> {
    let (experiment, out) = load_experiment(&args.experiment)?;
    if !experiment.models.contains_key(&args.model) {
        let known: Vec<&String> = experiment.models.keys().collect();
        anyhow::bail!(
            "{}: no model named {:?} (the experiment has {known:?})",
            args.experiment.experiment.display(),
            args.model
        );
    }
    super::check_built_in(&experiment, &args.experiment.experiment, std::slice::from_ref(&args.model))?;
    ntm::measure::budget::check_training(&experiment, &args.model)?;
    let dir = out.join(&args.model);
    let start = plan_model_dir(&dir, &args.experiment)?;
    if start == Start::Resume {
        check_changes(&dir, &experiment, &args.model, args.experiment.allow_changes)?;
    }
    let _lock = lock_model_dir(&dir, start, &args.experiment, "ntm train")?;
    let mut trainer = Trainer::new(&experiment, &args.model)?;
    if start == Start::Resume {
        trainer.resume(&dir)?;
        note_changes(&dir, &experiment, &args.model)?;
    }
    ready_model_dir(&dir, start, &args.experiment)?;
    super::note_shadowed(&experiment, &args.experiment.overrides, std::slice::from_ref(&args.model));
    let progress = Progress::new(&args.model, &MultiProgress::new());
    let outcome = trainer.fit(&dir, &progress, stop_flag())?;
    super::note(&outcome.describe(&args.model, &dir));
    if outcome.interrupted {
        let resume = resume_command("train", &["--model", &args.model], &args.experiment, &out);
        return Err(Interrupted { resume, signal: super::stop_signal().unwrap_or(libc::SIGINT) }.into());
    }
    Ok(())
}
