//! `ntm summarize DIR`: the summary, table and figures of the seed runs in a sweep folder,
//! wherever they were trained. `ntm sweep` ends with the same [`summarize_dir`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::{bail, Context, Result};

use crate::cmd::cli::SummarizeArgs;
use ntm::config::Experiment;
use ntm::plot::{
    plot_repeat_grid, plot_sweep_convergence, LengthRange, plot_sweep_curves, plot_sweep_generalisation, RepeatCell, RepeatPanel,
    TrainingRegion,
};
use ntm::records::report::EvalResult;
use ntm::sweep::compare::{difference, restrict, shared};
use ntm::sweep::seed_run::{self, read_seed_run, SeedRun};
use ntm::sweep::summary::{self, SeedData, Status, Summary};
use ntm::sweep::{seed_dirs, SEED_PREFIX};

/// File of the summary in a sweep folder.
pub const SUMMARY_FILE: &str = "summary.json";
/// File of the resolved experiment in a sweep folder.
pub const EXPERIMENT_FILE: &str = "experiment.toml";

pub fn summarize(args: &SummarizeArgs) -> Result<()> {
    let jobs = super::sweep::jobs_or_cores(args.jobs)?;
    summarize_dir(&args.dir, None, args.threshold, jobs)?;
    Ok(())
}

/// Which runs of a sweep folder to summarise: these seeds and models only.
pub(super) struct Selection<'a> {
    pub seeds: &'a [u64],
    pub models: &'a [String],
}

/// Checks a convergence threshold given on the command line.
pub(super) fn check_threshold(threshold: f64) -> Result<()> {
    if !(threshold.is_finite() && threshold > 0.0) {
        bail!("--threshold {threshold}: must be a number greater than 0 (bit errors per sequence)");
    }
    Ok(())
}

/// Reads the runs in sweep folder `dir` (those of `selection`, or all), checks that they are
/// runs of one experiment, evaluates finished runs without `eval.json` (at most `jobs` at once),
/// then writes `summary.json`, prints the table and draws the figures into `dir/plots/`.
/// Every check comes before any file is written.
pub(super) fn summarize_dir(dir: &Path, selection: Option<Selection>, threshold: f64, jobs: usize) -> Result<Summary> {
    check_threshold(threshold)?;
    let mut runs = read_runs(dir, selection.as_ref())?;
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
    let task = base.task.name().to_owned();
    let summary = summary::summarize(&base.name, &task, &models, threshold);
    let path = dir.join(SUMMARY_FILE);
    let json = serde_json::to_string_pretty(&summary).expect("a summary serialises");
    std::fs::write(&path, json + "\n").with_context(|| format!("{}: cannot write", path.display()))?;
    println!("{}", summary::table(&summary));

    let plots = dir.join("plots");
    let curves: Vec<(String, Vec<Vec<ntm::records::report::MetricsRecord>>)> =
        models.iter().map(|(name, seeds)| (name.clone(), seeds.iter().map(|s| s.metrics.clone()).collect())).collect();
    let task_words = base.task.build().length_words();
    let range = base.task.build().length_range();
    let n = runs.iter().map(|r| r.data.seed).collect::<std::collections::BTreeSet<_>>().len();
    let what = format!("{task}, {n} seed{}", if n == 1 { "" } else { "s" });
    plot_sweep_curves(&curves, threshold, &format!("{what}: learning curves"), &plots.join("sweep-curves.png"))?;
    let repeats = summary.models.values().flat_map(|m| &m.across_seeds.eval).any(|e| e.repeats.is_some());
    let repeat_range = base.task.build().repeat_range();
    if let (true, Some(repeat_range)) = (repeats, repeat_range) {
        // Repeat copy's grid: each cell the median over seeds.
        let panels: Vec<RepeatPanel> = summary
            .models
            .iter()
            .filter(|(_, m)| m.counts.evaluated > 0)
            .map(|(name, m)| RepeatPanel {
                model: format!("{name} (median over seeds)"),
                cells: m
                    .across_seeds
                    .eval
                    .iter()
                    .filter_map(|e| Some(RepeatCell { length: e.length, repeats: e.repeats?, bit_errors: e.bit_errors.median }))
                    .collect(),
            })
            .collect();
        let region = TrainingRegion { lengths: range, repeats: repeat_range };
        let title = format!("{what}: wrong bits per sequence");
        plot_repeat_grid(&panels, region, &title, &plots.join("sweep-generalisation.png"))?;
    } else if summary.models.values().any(|m| m.counts.evaluated > 0) {
        let title = format!("{what}: generalisation (trained on {})", task_words.span(range));
        let training = LengthRange { range, words: task_words };
        plot_sweep_generalisation(&summary, training, &title, &plots.join("sweep-generalisation.png"))?;
    }
    let title = format!("{what}: when training bit errors first fell below {threshold} per sequence");
    plot_sweep_convergence(&summary, &title, &plots.join("sweep-convergence.png"))?;
    println!("summary in {}, figures in {}", path.display(), plots.display());
    Ok(summary)
}

/// The selected seed runs of sweep folder `dir`, by seed and model.
fn read_runs(dir: &Path, selection: Option<&Selection>) -> Result<Vec<SeedRun>> {
    let seeds = seed_dirs(dir).with_context(|| format!("{}: cannot read the sweep folder", dir.display()))?;
    let mut runs = Vec::new();
    for (seed, seed_dir) in seeds {
        if selection.is_some_and(|s| !s.seeds.contains(&seed)) {
            continue;
        }
        for (model, model_dir) in seed_run::model_dirs(&seed_dir)? {
            if selection.is_some_and(|s| !s.models.contains(&model)) {
                continue;
            }
            runs.push(read_seed_run(seed, &model_dir)?);
        }
    }
    if runs.is_empty() {
        bail!(
            "{}: no seed runs here (expected {SEED_PREFIX}<k>/<model>/ folders with a config.toml, as \
             `ntm sweep` and the commands of its --print-commands write)",
            dir.display()
        );
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
    let relative = |run: &SeedRun| -> PathBuf {
        run.dir.strip_prefix(dir).unwrap_or(&run.dir).join(ntm::records::run_dir::CONFIG_FILE)
    };
    let differs = |this: &SeedRun, reference: String, field: String| -> anyhow::Error {
        anyhow::anyhow!(
            "{}: runs of different experiments: {} is not a run of the experiment of {reference} ({field}); \
             summarize one experiment's runs at a time",
            dir.display(),
            relative(this).display()
        )
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
pub(super) fn evaluate_all(dirs: &[PathBuf], jobs: usize) -> Result<Vec<Vec<EvalResult>>> {
    let queue = Mutex::new((0..dirs.len()).rev().collect::<Vec<_>>());
    let results: Mutex<Vec<Option<Result<Vec<EvalResult>>>>> =
        Mutex::new(std::iter::repeat_with(|| None).take(dirs.len()).collect());
    std::thread::scope(|scope| {
        for _ in 0..jobs.min(dirs.len()) {
            scope.spawn(|| loop {
                let Some(i) = queue.lock().expect("queue").pop() else { break };
                let result = seed_run::evaluate(&dirs[i]).map(|r| r.results).map_err(anyhow::Error::from);
                if result.is_ok() {
                    eprintln!("evaluated {}", dirs[i].display());
                }
                results.lock().expect("results")[i] = Some(result);
            });
        }
    });
    results.into_inner().expect("results").into_iter().map(|r| r.expect("every run evaluated")).collect()
}
