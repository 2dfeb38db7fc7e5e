//! `ntm episode`: one episode of an experiment's task, drawn as text or printed as JSON.

use anyhow::{bail, Result};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::cmd::cli::EpisodeArgs;
use ntm::config::Experiment;

pub fn episode(args: &EpisodeArgs) -> Result<()> {
    let experiment = Experiment::load(&args.experiment, &args.overrides)?;
    let task = experiment.task.build();
    if let Some(Err(e)) = args.length.map(|l| task.check_length(l)) {
        bail!("--length {}: {e}", args.length.unwrap_or(0));
    }
    // One text row per channel and a character per step: past this many steps a drawing is
    // no use to read (and the episode alone can exhaust memory).
    const MOST_STEPS: f64 = 100_000.0;
    let longest = args.length.unwrap_or_else(|| task.length_range().1);
    let steps = ntm::measure::budget::episode_steps(&experiment.task, longest, None);
    if steps > MOST_STEPS {
        bail!("--length {longest}: an episode of {steps} steps; `ntm episode` draws at most {MOST_STEPS} (lower --length or the task's range)");
    }
    let mut rng = ChaCha8Rng::seed_from_u64(args.seed);
    let batch = task.sample(&mut rng, 1, args.length);
    let episode = batch.episode(0);
    if args.json {
        return super::print(&serde_json::to_string(&episode)?);
    }
    let mut text = ntm_tasks::render_episode_in(&episode, task.length_words());
    // The legend: what each row is, then what each cell's character stands for.
    let legend = task.channel_legend();
    let width = legend.iter().map(|(rows, _)| rows.len()).max().unwrap_or(0);
    text += "legend:\n";
    for (rows, meaning) in legend {
        text += &format!("  {rows:<width$}  {meaning}\n");
    }
    text += "  cells: . 0, # 1, 1-9 tenths of a value between 0 and 1, - below 0, + above 1, ? not a number";
    super::print(&text)
}
