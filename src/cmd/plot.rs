//! `ntm plot`: the figures, from a run folder's saved records or by running its models.

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};

use crate::cli::PlotCommand;
use crate::factory::ModelConfig;
use crate::figures::{output_sample, trace_episode, write_json};
use crate::plot;
use crate::run_dir::{self, load_model, model_dirs, plots_dir, read_config, read_eval, read_metrics};

pub fn plot(command: &PlotCommand) -> Result<()> {
    match command {
        PlotCommand::Heads { path, length, seed, output } => {
            for file in heads(path, *length, *seed, output.as_deref())? {
                println!("{}", file.display());
            }
        }
        PlotCommand::Curves { run, output } => println!("{}", curves(run, output.as_deref())?.display()),
        PlotCommand::Generalisation { run, output } => {
            println!("{}", generalisation(run, output.as_deref())?.display())
        }
        PlotCommand::Outputs { run, lengths, seed, output } => {
            println!("{}", outputs(run, lengths.as_deref(), *seed, output.as_deref())?.display())
        }
    }
    Ok(())
}

fn model_title(name: &str, config: &ModelConfig) -> String {
    match name == config.kind() {
        true => name.to_uppercase(),
        false => format!("{name} ({})", config.kind()),
    }
}

/// Heatmaps of every NTM under `path` on one episode; also writes each trace as JSON beside it.
/// `length` (default: the task's longest training length) is the episode's length.
pub fn heads(path: &Path, length: Option<usize>, seed: u64, output: Option<&Path>) -> Result<Vec<PathBuf>> {
    if length == Some(0) {
        bail!("--length 0: must be at least 1");
    }
    let dirs = model_dirs(path)?;
    let mut written = Vec::new();
    for dir in &dirs {
        // Decided from the config alone, so models without memory need no weights here.
        let (experiment, name) = read_config(dir)?;
        let length = length.unwrap_or_else(|| experiment.task.build().length_range().1);
        let kind = experiment.models.get(&name).map_or("unknown", ModelConfig::kind);
        if kind != "ntm" {
            if dirs.len() == 1 {
                bail!("{}: model {name} is an {kind}, which has no memory heads to plot", dir.display());
            }
            continue;
        }
        let loaded = load_model(dir)?;
        let trace = trace_episode(&loaded, length, seed)?;
        let file = match output {
            Some(f) if dirs.len() == 1 || written.is_empty() => f.to_owned(),
            _ => plots_dir(path).join(run_dir::heads_figure(&loaded.built.name, length)),
        };
        let title = format!(
            "{}, length {length}: {} after {} sequences",
            trace.task,
            model_title(&loaded.built.name, &loaded.built.config),
            trace.trained_sequences
        );
        plot::plot_heads(&trace, &title, &file)?;
        write_json(&file.with_extension("json"), &trace)?;
        written.push(file);
    }
    if written.is_empty() {
        bail!("{}: no NTM model here (nothing with memory heads to plot)", path.display());
    }
    Ok(written)
}

/// Learning curves of every model in run folder `run`.
pub fn curves(run: &Path, output: Option<&Path>) -> Result<PathBuf> {
    let mut runs = Vec::new();
    let mut task = String::new();
    for dir in model_dirs(run)? {
        let (experiment, name) = read_config(&dir)?;
        task = experiment.task.name().to_owned();
        runs.push((name, read_metrics(&dir)?));
    }
    let file = output.map_or_else(|| plots_dir(run).join(run_dir::CURVES_FIGURE), Path::to_owned);
    plot::plot_curves(&runs, &format!("{task}: learning curves"), &file)?;
    Ok(file)
}

/// Generalisation to test lengths of every model in run folder `run`, from their eval.json.
pub fn generalisation(run: &Path, output: Option<&Path>) -> Result<PathBuf> {
    let mut reports = Vec::new();
    let mut range = (0, 0);
    for dir in model_dirs(run)? {
        range = read_config(&dir)?.0.task.build().length_range();
        reports.push(read_eval(&dir)?);
    }
    let task = reports.first().map_or(String::new(), |r| r.task.clone());
    let file = output.map_or_else(|| plots_dir(run).join(run_dir::GENERALISATION_FIGURE), Path::to_owned);
    let title = format!("{task}: generalisation (trained on lengths {}-{})", range.0, range.1);
    plot::plot_generalisation(&reports, range, &title, &file)?;
    Ok(file)
}

/// Target and output of every model in `run` at each of `lengths`.
/// `lengths` default to the experiment's `eval.lengths`.
pub fn outputs(run: &Path, lengths: Option<&[usize]>, seed: u64, output: Option<&Path>) -> Result<PathBuf> {
    if let Some(lengths) = lengths.filter(|l| l.is_empty() || l.contains(&0)) {
        bail!("--lengths {lengths:?}: give one or more lengths of at least 1");
    }
    let mut samples = Vec::new();
    let mut task = String::new();
    for dir in model_dirs(run)? {
        let loaded = load_model(&dir)?;
        task = loaded.experiment.task.name().to_owned();
        let lengths = lengths.unwrap_or(&loaded.experiment.eval.lengths).to_vec();
        for length in lengths {
            samples.push(output_sample(&loaded, length, seed)?);
        }
    }
    let file = output.map_or_else(|| plots_dir(run).join(run_dir::OUTPUTS_FIGURE), Path::to_owned);
    plot::plot_outputs(&samples, &format!("{task}: target and output at each length"), &file)?;
    Ok(file)
}
