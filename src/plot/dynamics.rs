//! The figures of how a model learns, from its folder, beside those of
//! [`crate::plot::figures`] (whose checks they share): the gradient flow (how far back the
//! gradient of an answer reaches, trained against untrained) and the film of a training (the
//! heads or outputs figure at each snapshot of the weights).

use std::path::{Path, PathBuf};

use super::figures::check_length_option;
use super::gradient_flow::{FlowLine, FlowPanel};
use super::style::format_number;
use crate::config::Experiment;
use crate::error::{tensor, Error, Result};
use crate::measure::budget;
use crate::measure::gradient_flow::{
    episode_gradients, model_for_gradients, FlowCurve, GradientFlowRecord, ModelFlow, DEFINITION,
};
use crate::plot::episodes::{figure_episode, output_sample, trace_episode, write_json};
use crate::records::checkpoint;
use crate::records::run_dir::{self, load_model_weights, model_dirs, plots_dir, read_config};

/// `Err(Error::Invalid(...))` with a formatted message.
macro_rules! invalid {
    ($($arg:tt)*) => { return Err(Error::Invalid(format!($($arg)*))) };
}

/// The models under `path` (a run folder, a model folder or a checkpoint file) that `names`
/// picks (default: every model), each with its folder and experiment; a name that is not
/// there, or a model of your own (which ntm cannot rebuild), is an error.
fn picked_models(path: &Path, names: Option<&[String]>) -> Result<Vec<(PathBuf, Experiment, String)>> {
    let mut found = Vec::new();
    for dir in model_dirs(path)? {
        let (experiment, name) = read_config(&dir)?;
        found.push((dir, experiment, name));
    }
    if let Some(names) = names {
        let have: Vec<&str> = found.iter().map(|(_, _, n)| n.as_str()).collect();
        if let Some(missing) = names.iter().find(|n| !have.contains(&n.as_str())) {
            invalid!(
                "--models {}: no model {missing} under {} (it has {})",
                names.join(","),
                path.display(),
                have.join(", ")
            );
        }
        found.retain(|(_, _, n)| names.contains(n));
    }
    for (dir, experiment, name) in &found {
        experiment.models[name].check_built_in(name).map_err(|e| Error::Invalid(format!("{}: {e}", dir.display())))?;
    }
    Ok(found)
}

/// The gradient-flow figure (see [`crate::measure::gradient_flow`]) of the models under `path`
/// (a run folder, a model folder or a checkpoint file; `names`: only these models) on one
/// episode of `length` (default: the task's longest training length) drawn from `seed` (the
/// episode `plot heads` shows with the same length and seed): each model with its trained
/// weights (right) and freshly initialised from its experiment's seed (left). Also writes the
/// numbers ([`GradientFlowRecord`]) as JSON beside the figure. Returns the figure's file.
pub fn gradient_flow(
    path: &Path,
    names: Option<&[String]>,
    length: Option<usize>,
    seed: u64,
    output: Option<&Path>,
) -> Result<PathBuf> {
    check_length_option(length)?;
    let models = picked_models(path, names)?;
    let first = &models[0].1;
    let task = first.task.build();
    let length = length.unwrap_or_else(|| task.length_range().1);
    // Every model checked before any is run.
    for (_, experiment, name) in &models {
        if experiment.task != first.task {
            invalid!(
                "{}: model {name} was trained on another task than {}; draw them apart",
                path.display(),
                models[0].2
            );
        }
        if let Err(e) = task.check_length(length) {
            invalid!("--length {length}: {e}");
        }
    }
    let episode = figure_episode(task.as_ref(), length, None, seed);
    let mut flows = Vec::new();
    for (dir, experiment, name) in &models {
        let weights = match path.is_file() {
            true => path.to_owned(),
            false => checkpoint::path(dir, checkpoint::WEIGHTS_FILE),
        };
        let curve = |weights: Option<&Path>| -> Result<FlowCurve> {
            let model = model_for_gradients(dir, weights)?;
            let steps = episode_gradients(model.as_ref(), &episode, candle_core::DType::F64).map_err(tensor(name))?;
            Ok(FlowCurve::of(&steps))
        };
        flows.push(ModelFlow {
            name: name.clone(),
            kind: experiment.models[name].kind().to_owned(),
            trained_sequences: checkpoint::load_meta(dir).map(|m| m.sequences).unwrap_or(0),
            init_seed: experiment.seed,
            trained: curve(Some(&weights))?,
            untrained: curve(None)?,
        });
    }
    let file = output.map_or_else(|| plots_dir(path).join(run_dir::gradient_flow_figure(length)), Path::to_owned);
    let line = |flow: &ModelFlow, curve: &FlowCurve, label: String| FlowLine {
        model: flow.name.clone(),
        label,
        by_distance: curve.by_distance.clone(),
    };
    let seeds: Vec<String> = {
        let mut s: Vec<String> = flows.iter().map(|f| f.init_seed.to_string()).collect();
        s.dedup();
        s
    };
    let panels = [
        FlowPanel {
            caption: format!("untrained: initialised from seed {}", seeds.join(", ")),
            lines: flows.iter().map(|f| line(f, &f.untrained, f.name.clone())).collect(),
        },
        FlowPanel {
            caption: "trained: the checkpoint's weights".to_owned(),
            lines: flows
                .iter()
                .map(|f| {
                    line(f, &f.trained, format!("{} ({} sequences)", f.name, format_number(f.trained_sequences as f64)))
                })
                .collect(),
        },
    ];
    let words = task.length_words().episode(length);
    let title =
        format!("{}, {words}: gradient of each answer step's loss L_t against the input d steps earlier", task.name());
    super::plot_gradient_flow(&panels, &title, &file)?;
    let record = GradientFlowRecord {
        task: task.name().to_owned(),
        length,
        seed,
        steps: episode.time,
        definition: DEFINITION.to_owned(),
        models: flows,
    };
    write_json(&file.with_extension("json"), &record)?;
    Ok(file)
}

/// The film of model folder `path` (or a run folder of one model) in training: the heads
/// figure (a model without memory: its output against the target) of one episode of `length`
/// (default: the task's longest training length) drawn from `seed`, at each snapshot of its
/// weights (`train.snapshot_every`; with `until`, only those taken at or before that many
/// training sequences), as the frames of an animated GIF, `frame_ms` milliseconds each.
/// Returns the film's file (default: `evolution-<model>-<length>.gif` in the plots folder).
pub fn evolution(
    path: &Path,
    length: Option<usize>,
    seed: u64,
    frame_ms: u32,
    until: Option<u64>,
    output: Option<&Path>,
) -> Result<PathBuf> {
    check_length_option(length)?;
    if !(MIN_FRAME_MS..=MAX_FRAME_MS).contains(&frame_ms) {
        invalid!("--frame-ms {frame_ms}: must be from {MIN_FRAME_MS} to {MAX_FRAME_MS} (a GIF counts in hundredths of a second)");
    }
    let mut models = picked_models(path, None)?;
    if models.len() > 1 {
        let names: Vec<&str> = models.iter().map(|(_, _, n)| n.as_str()).collect();
        invalid!(
            "{}: holds {} models ({}); name one model's folder, e.g. {}",
            path.display(),
            names.len(),
            names.join(", "),
            models[0].0.display()
        );
    }
    let (dir, experiment, name) = models.remove(0);
    let mut snapshots = run_dir::snapshots(&dir)?;
    if let (Some(until), Some(&(first, _))) = (until, snapshots.first()) {
        if first > until {
            invalid!("--until {until}: the first snapshot of model {name} is at {first} sequences");
        }
        snapshots.retain(|(n, _)| *n <= until);
    }
    if snapshots.is_empty() {
        invalid!(
            "{}: no snapshots of model {name} in {}/; train it with --set train.snapshot_every=N to keep them",
            dir.display(),
            run_dir::SNAPSHOTS_DIR
        );
    }
    let task = experiment.task.build();
    let length = length.unwrap_or_else(|| task.length_range().1);
    if let Err(e) = task.check_length(length) {
        invalid!("--length {length}: {e}");
    }
    let config = &experiment.models[&name];
    let io = (task.input_width(), task.output_width());
    budget::check_trace(&name, config, io, budget::episode_steps(&experiment.task, length, None))?;
    let total = experiment.train.for_model(&name).sequences.max(snapshots.last().map_or(0, |s| s.0));
    let file = output.map_or_else(|| plots_dir(&dir).join(run_dir::evolution_film(&name, length)), Path::to_owned);
    let episode_words = task.length_words().episode(length);
    let title =
        |n: u64| format!("{}, {episode_words}: {name} after {} sequences", task.name(), format_number(n as f64));
    if config.has_memory() {
        let mut frames = Vec::new();
        for (n, weights) in &snapshots {
            let mut loaded = load_model_weights(&dir, weights, None)?;
            loaded.trained_sequences = *n;
            frames.push((trace_episode(&loaded, length, None, seed)?, title(*n), *n));
        }
        super::plot_heads_film(&frames, total, frame_ms, &file)?;
    } else {
        let mut frames = Vec::new();
        for (n, weights) in &snapshots {
            let loaded = load_model_weights(&dir, weights, None)?;
            frames.push((output_sample(&loaded, length, None, seed)?, title(*n), *n));
        }
        super::plot_outputs_film(&frames, task.length_words(), total, frame_ms, &file)?;
    }
    Ok(file)
}

/// The shortest frame a GIF shows as asked: browsers show frames of under 20 ms for 100 ms.
pub const MIN_FRAME_MS: u32 = 20;
/// The longest frame: a GIF's delay is 16 bits of hundredths of a second.
pub const MAX_FRAME_MS: u32 = 655_350;
