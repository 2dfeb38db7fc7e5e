//! Summarising a sweep folder: the seed runs it holds (those of a selection, or all), checked
//! to be runs of one experiment, the finished ones without `eval.json` evaluated, and the
//! summary across seeds written as `summary.json`. `ntm sweep` ends with this, and `ntm
//! summarize DIR` runs it on a folder gathered from anywhere; the figures are
//! [`crate::plot::figures::sweep_figures`]'s.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::base::pool;
use crate::config::Experiment;
use crate::error::{io, Error, Result};
use crate::records::report::{EvalResult, MetricsRecord};
use crate::records::run_dir::{model_folders, CONFIG_FILE, EXPERIMENT_FILE};
use crate::sweep::compare::{difference, restrict, shared};
use crate::sweep::seed_run::{self, read_seed_run, SeedRun};
use crate::sweep::summary::{self, SeedData, Status, Summary};
use crate::sweep::{seed_dirs, SEED_PREFIX};

/// File of the summary in a sweep folder.
pub const SUMMARY_FILE: &str = "summary.json";

/// What summarising a sweep folder found and wrote: the summary, the sweep's experiment, and
/// every seed's metrics per model (for the learning-curve figure).
pub struct SweepRecord {
    pub summary: Summary,
    /// The experiment of the sweep (seed ignored): its `experiment.toml`, or the first run's.
    pub experiment: Experiment,
    /// Per model (by name), every seed's metrics.
    pub curves: Vec<(String, Vec<Vec<MetricsRecord>>)>,
    /// Distinct seeds summarised.
    pub seeds: usize,
}

/// Which runs of a sweep folder to summarise: these seeds and models only.
pub struct Selection<'a> {
    pub seeds: &'a [u64],
    pub models: &'a [String],
}

/// Reads the runs in sweep folder `dir` (those of `selection`, or all), checks that they are
/// runs of one experiment, evaluates finished runs without `eval.json` (at most `jobs` at once,
/// writing each one's `eval.json`), then writes `summary.json`. Every check comes before any
/// file is written.
pub fn summarize_dir(dir: &Path, selection: Option<&Selection>, threshold: f64, jobs: usize) -> Result<SweepRecord> {
    summary::check_threshold(threshold).map_err(Error::Invalid)?;
    let mut runs = read_runs(dir, selection)?;
    let base = base_experiment(dir, &runs)?;

    let missing: Vec<usize> =
        (0..runs.len()).filter(|&i| runs[i].data.status == Status::Finished && runs[i].data.eval.is_none()).collect();
    if !missing.is_empty() {
        eprintln!("evaluating {} finished runs without eval.json", missing.len());
        let evaluated = evaluate_all(&missing.iter().map(|&i| runs[i].dir.clone()).collect::<Vec<_>>(), jobs)?;
        for (i, results) in missing.into_iter().zip(evaluated) {
            runs[i].data.eval = Some(results);
        }
    }

    let mut models: BTreeMap<String, Vec<SeedData>> = BTreeMap::new();
    for run in &runs {
        models.entry(run.model.clone()).or_default().push(run.data.clone());
    }
    let summary = summary::summarize(&base.name, base.task.name(), &models, threshold);
    let path = dir.join(SUMMARY_FILE);
    let json = serde_json::to_string_pretty(&summary).expect("a summary serialises");
    std::fs::write(&path, json + "\n").map_err(io(&path))?;
    let curves =
        models.iter().map(|(name, seeds)| (name.clone(), seeds.iter().map(|s| s.metrics.clone()).collect())).collect();
    let seeds = runs.iter().map(|r| r.data.seed).collect::<std::collections::BTreeSet<_>>().len();
    Ok(SweepRecord { summary, experiment: base, curves, seeds })
}

/// The selected seed runs of sweep folder `dir`, by seed and model.
fn read_runs(dir: &Path, selection: Option<&Selection>) -> Result<Vec<SeedRun>> {
    let seeds =
        seed_dirs(dir).map_err(|e| Error::Invalid(format!("{}: cannot read the sweep folder: {e}", dir.display())))?;
    let mut runs = Vec::new();
    for (seed, seed_dir) in seeds {
        if selection.is_some_and(|s| !s.seeds.contains(&seed)) {
            continue;
        }
        for (model, model_dir) in model_folders(&seed_dir).map_err(io(&seed_dir))? {
            if selection.is_some_and(|s| !s.models.contains(&model)) {
                continue;
            }
            runs.push(read_seed_run(seed, &model_dir)?);
        }
    }
    if runs.is_empty() {
        return Err(Error::Invalid(format!(
            "{}: no seed runs here (expected {SEED_PREFIX}<k>/<model>/ folders with a config.toml, as \
             `ntm sweep` and the commands of its --print-commands write)",
            dir.display()
        )));
    }
    Ok(runs)
}

/// The sweep's experiment: `dir/experiment.toml` if there is one, else the first run's; every
/// run must be a run of it (seed ignored), or the error names the first field that differs.
fn base_experiment(dir: &Path, runs: &[SeedRun]) -> Result<Experiment> {
    let file = dir.join(EXPERIMENT_FILE);
    let recorded = match file.is_file() {
        true => Some(Experiment::load(&file, &[])?),
        false => None,
    };
    let first = &runs[0];
    let relative = |run: &SeedRun| -> PathBuf { run.dir.strip_prefix(dir).unwrap_or(&run.dir).join(CONFIG_FILE) };
    let differs = |this: &SeedRun, reference: String, field: String| -> Error {
        Error::Invalid(format!(
            "{}: runs of different experiments: {} is not a run of the experiment of {reference} ({field}); \
             summarize one experiment's runs at a time",
            dir.display(),
            relative(this).display()
        ))
    };
    // The first run of each model is the reference for that model's other runs.
    let mut firsts: BTreeMap<&str, &SeedRun> = BTreeMap::new();
    for run in runs {
        if let Some(base) = &recorded {
            if base.models.contains_key(&run.model) {
                if let Some(field) = difference(&restrict(base, &run.model), &run.experiment) {
                    return Err(differs(run, EXPERIMENT_FILE.into(), field));
                }
                continue;
            }
            if let Some(field) = difference(&shared(base), &shared(&run.experiment)) {
                return Err(differs(run, EXPERIMENT_FILE.into(), field));
            }
        }
        let reference: &SeedRun = firsts.entry(&run.model).or_insert(run);
        let field = difference(&reference.experiment, &run.experiment)
            .map(|f| (reference, f))
            .or_else(|| difference(&shared(&first.experiment), &shared(&run.experiment)).map(|f| (first, f)));
        if let Some((reference, field)) = field {
            return Err(differs(run, relative(reference).display().to_string(), field));
        }
    }
    Ok(recorded.unwrap_or_else(|| first.experiment.clone()))
}

/// Evaluates the model folders `dirs` (at most `jobs` at once), writing each one's eval.json;
/// returns their results in order.
fn evaluate_all(dirs: &[PathBuf], jobs: usize) -> Result<Vec<Vec<EvalResult>>> {
    pool::run_jobs(dirs.iter().collect(), jobs, |dir| {
        let result = seed_run::evaluate(dir).map(|r| r.results).map_err(Error::from);
        if result.is_ok() {
            eprintln!("evaluated {}", dir.display());
        }
        result
    })
    .into_iter()
    .collect()
}
