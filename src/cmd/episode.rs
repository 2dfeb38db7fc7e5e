//! `ntm episode`: one episode of an experiment's task, drawn as text.

use anyhow::{bail, Result};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::cli::EpisodeArgs;
use crate::config::Experiment;

pub fn episode(args: &EpisodeArgs) -> Result<()> {
    let experiment = Experiment::load(&args.experiment, &args.overrides)?;
    let task = experiment.task.build();
    if let Some(Err(e)) = args.length.map(|l| task.check_length(l)) {
        bail!("--length {}: {e}", args.length.unwrap_or(0));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(args.seed);
    let batch = task.sample(&mut rng, 1, args.length);
    print!("{}", ntm_tasks::render_episode(&batch.episode(0)));
    Ok(())
}
