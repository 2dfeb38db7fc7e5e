//! The figures of a run folder, by function: each reads the folder's saved records (or runs
//! its models on an episode), draws one figure with the drawing functions of this layer and
//! returns where it wrote it. The `ntm plot` commands and `ntm run` call these; so may any
//! program.

use std::path::{Path, PathBuf};

use ntm_tasks::MAX_LENGTH;

use crate::error::{io, Error, Result};
use crate::measure::bench::BenchRow;
use crate::measure::budget;
use crate::models::factory::ModelConfig;
use crate::models::resize::check_room;
use crate::plot::episodes::{model_trace_json_bytes, output_sample, trace_episode, write_json};
use crate::plot::{self, RepeatCell, RepeatPanel, TrainingRegion};
use crate::records::report::EvalReport;
use crate::records::run_dir::{
    self, has_memory, load_model_sized, model_dirs, plots_dir, read_config, read_eval, read_metrics,
};
use crate::sweep::summarize::SweepRecord;

/// `Err(Error::Invalid(...))` with a formatted message.
macro_rules! invalid {
    ($($arg:tt)*) => { return Err(Error::Invalid(format!($($arg)*))) };
}

/// The repeat-copy episodes the outputs figure shows by default, (length, repeats): past
/// training in one direction each, as the paper's figures 8 and 9 do (20 vectors x 10
/// repeats, 10 vectors x 20 repeats).
pub const PAPER_CELLS: [(usize, usize); 2] = [(10, 20), (20, 10)];

fn model_title(name: &str, config: &ModelConfig) -> String {
    match name == config.kind() {
        true => name.to_uppercase(),
        false => format!("{name} ({})", config.kind()),
    }
}

/// The models under `path` that `wanted` picks, decided from their configs alone (so models
/// that are not picked need no weights): each model folder with its experiment and name. A
/// single model folder that is not picked is an error saying why (`what_not`: what it lacks,
/// e.g. "memory heads"); none picked in a run folder says there is no `what` here.
fn pick_models(
    path: &Path,
    wanted: fn(&ModelConfig) -> bool,
    (what, what_not): (&str, &str),
) -> Result<Vec<(PathBuf, crate::config::Experiment, String)>> {
    let dirs = model_dirs(path)?;
    let mut picked = Vec::new();
    for dir in &dirs {
        let (experiment, name) = read_config(dir)?;
        let config = experiment.models.get(&name);
        if config.is_some_and(wanted) {
            picked.push((dir.clone(), experiment, name));
        } else if dirs.len() == 1 {
            let reason = match config.map_or("unknown", ModelConfig::kind) {
                "custom" => "kind = \"custom\", a model of your own, which ntm cannot rebuild to plot".to_owned(),
                kind if config.is_some_and(ModelConfig::has_memory) => {
                    format!("a {kind}; this figure is drawn for an {what} only")
                }
                kind => format!("an {kind}, which has no {what_not} to plot"),
            };
            invalid!("{}: model {name} is {reason}", dir.display());
        }
    }
    if picked.is_empty() {
        invalid!("{}: no {what} here (nothing with {what_not} to plot)", path.display());
    }
    Ok(picked)
}

/// One traced episode of model `name` (folder `dir`, `experiment`) at `length` (default: the
/// task's longest training length) and `repeats`, with `slots` memory slots if given: the
/// loaded model, the trace and the episode in words (`length 20`, `6 items`, `length 10 x 3
/// repeats`), after checking the options and the memory the trace needs.
fn trace_model(
    (dir, experiment, name): (&Path, &crate::config::Experiment, &str),
    (length, repeats): (Option<usize>, Option<usize>),
    slots: Option<usize>,
    seed: u64,
) -> Result<(crate::records::run_dir::LoadedModel, crate::pieces::trace::Trace, String)> {
    let task = experiment.task.build();
    let length = length.unwrap_or_else(|| task.length_range().1);
    if let Err(e) = task.check_length(length) {
        invalid!("--length {length}: {e}");
    }
    if let (Some(r), None) = (repeats, task.repeat_range()) {
        invalid!("--repeats {r}: model {name} was trained on the {} task, which has no repeat count", task.name());
    }
    if let Some(slots) = slots {
        check_room(&experiment.task, slots, length).map_err(Error::Invalid)?;
    }
    let loaded = load_model_sized(dir, slots)?;
    let io = (task.input_width(), task.output_width());
    let steps = budget::episode_steps(&loaded.experiment.task, length, repeats);
    budget::check_trace(name, &loaded.built.config, io, steps)?;
    let trace = trace_episode(&loaded, length, repeats, seed)?;
    let episode = match repeats {
        Some(r) => format!("length {length} x {r} repeats"),
        None => task.length_words().episode(length),
    };
    Ok((loaded, trace, episode))
}

/// The title of a traced figure of `loaded` on `episode` (with `slots` if given).
fn traced_title(
    loaded: &crate::records::run_dir::LoadedModel,
    trace_task: &str,
    episode: &str,
    slots: Option<usize>,
    trained: u64,
) -> String {
    let memory = slots.map_or(String::new(), |n| format!(" with {n} slots"));
    let model = model_title(&loaded.built.name, &loaded.built.config);
    format!("{trace_task}, {episode}: {model}{memory} after {trained} sequences")
}

/// `--length`, checked before any model is loaded.
pub(super) fn check_length_option(length: Option<usize>) -> Result<()> {
    if length == Some(0) {
        invalid!("--length 0: must be at least 1");
    }
    if let Some(l) = length.filter(|&l| l > MAX_LENGTH) {
        invalid!("--length {l}: must be at most {MAX_LENGTH}, the longest sequence any machine could hold");
    }
    Ok(())
}

/// The largest trace `ntm plot heads` writes beside its figure unless told otherwise
/// (`--trace-limit`): 256 MiB, about length 15,000 for the copy NTM.
pub const TRACE_LIMIT: f64 = 256.0 * 1024.0 * 1024.0;

/// `config` as it runs with `slots` memory slots, if given (an NTM or a DNC; other models
/// unchanged), for the estimates made before a model is loaded.
fn with_slots(config: &ModelConfig, slots: Option<usize>) -> ModelConfig {
    let mut config = config.clone();
    match (&mut config, slots) {
        (ModelConfig::Ntm(c), Some(n)) => c.memory.slots = n,
        (ModelConfig::Dnc(c), Some(n)) => c.memory.slots = n,
        _ => {}
    }
    config
}

/// Heatmaps of every NTM and DNC under `path` on one episode (an NTM: each head's weighting;
/// a DNC: its write weighting, allocation, usage, read weightings and read modes); also writes
/// each trace as JSON beside it, if `trace_limit` is given and the trace's estimated size is
/// within it (else one line refuses before any work, with the estimate: see
/// [`crate::plot::episodes::model_trace_json_bytes`]). `length` (default: the task's longest
/// training length) is the episode's length, `repeats` its repeat count (repeat copy; default:
/// drawn from the training range); `slots` the memory slots to run each model with (default:
/// as trained; see [`crate::models::resize`]).
pub fn heads(
    path: &Path,
    (length, repeats): (Option<usize>, Option<usize>),
    slots: Option<usize>,
    seed: u64,
    (output, trace_limit): (Option<&Path>, Option<f64>),
) -> Result<Vec<PathBuf>> {
    check_length_option(length)?;
    let models = pick_models(path, ModelConfig::has_memory, ("NTM or DNC model", "memory heads"))?;
    let several = models.len() > 1;
    let file_of = |name: &str, length: usize| {
        figure_file(path, output, several, name, || run_dir::heads_figure(name, length, repeats, slots))
    };
    // Every trace checked before the first is traced: the memory to trace it, then its size.
    for (_, experiment, name) in &models {
        let config = with_slots(&experiment.models[name], slots);
        let task = experiment.task.build();
        let length = length.unwrap_or_else(|| task.length_range().1);
        let steps = budget::episode_steps(&experiment.task, length, repeats);
        let io = (task.input_width(), task.output_width());
        budget::check_trace(name, &config, io, steps)?;
        let Some(limit) = trace_limit else { continue };
        let bytes = model_trace_json_bytes(&config, io, steps);
        if bytes > limit {
            invalid!(
                "model {name}: its trace ({}) would take about {}, more than the limit of {}; pass --no-trace to \
                 draw the figure without it, or --trace-limit {} to write it anyway",
                file_of(name, length).with_extension("json").display(),
                size(bytes),
                size(limit),
                size_arg(bytes)
            );
        }
    }
    let mut written = Vec::new();
    for (dir, experiment, name) in &models {
        let (loaded, trace, episode) = trace_model((dir, experiment, name), (length, repeats), slots, seed)?;
        let file = file_of(name, trace.length);
        let title = traced_title(&loaded, &trace.task, &episode, slots, trace.trained_sequences);
        plot::plot_heads(&trace, &title, &file)?;
        if trace_limit.is_some() {
            write_json(&file.with_extension("json"), &trace)?;
        }
        written.push(file);
    }
    Ok(written)
}

/// The NTMs under `path` (a run folder, a model folder or a checkpoint file): each one's
/// folder, experiment and name, decided from the configs alone (so models without memory need
/// no weights here). An error if there is none, or if `path` is one model without memory.
fn ntm_models(path: &Path) -> Result<Vec<(PathBuf, crate::config::Experiment, String)>> {
    pick_models(path, |m| matches!(m, ModelConfig::Ntm(_)), ("NTM model", "memory heads"))
}

/// The contexts figure (dynamic N-grams; the idea of the paper's figure 15) of every NTM under
/// `path` on one episode of `length` bits (default: the longest training length) drawn from
/// `seed`: each head's mean weighting per memory slot, by the context of the last bits (see
/// [`plot::ContextUse`]); also writes that table as JSON beside each figure.
pub fn contexts(path: &Path, length: Option<usize>, seed: u64, output: Option<&Path>) -> Result<Vec<PathBuf>> {
    if length == Some(0) {
        invalid!("--length 0: must be at least 1");
    }
    let ntms = ntm_models(path)?;
    let several = ntms.len() > 1;
    let mut written = Vec::new();
    for (dir, experiment, name) in ntms {
        let ntm_tasks::TaskSpec::DynamicNgrams(spec) = &experiment.task else {
            invalid!(
                "{}: model {name} was trained on the {} task; the contexts figure is for dynamic-ngrams (plot heads draws any task)",
                dir.display(),
                experiment.task.name()
            );
        };
        let context = spec.context;
        let task = experiment.task.build();
        let length = length.unwrap_or_else(|| task.length_range().1);
        if length > MAX_LENGTH {
            invalid!("--length {length}: must be at most {MAX_LENGTH}, the longest sequence any machine could hold");
        }
        let (loaded, trace, _) = trace_model((&dir, &experiment, &name), (Some(length), None), None, seed)?;
        let uses = plot::ContextUse::of(&trace, context);
        let file = figure_file(path, output, several, &name, || run_dir::contexts_figure(&name, length));
        let title = format!(
            "{}, {length} bits: where {} reads and writes, by context, after {} sequences",
            trace.task,
            model_title(&name, &loaded.built.config),
            trace.trained_sequences
        );
        plot::plot_contexts(&uses, &title, &file)?;
        write_json(&file.with_extension("json"), &uses)?;
        written.push(file);
    }
    Ok(written)
}

/// The file a figure of model `name` under `path` goes to: `output` as given (with the model's
/// name added when `several` models are drawn), else the default name in the plots folder.
fn figure_file(
    path: &Path,
    output: Option<&Path>,
    several: bool,
    name: &str,
    default_name: impl FnOnce() -> String,
) -> PathBuf {
    match output {
        Some(f) if several => run_dir::with_model_name(f, name),
        Some(f) => f.to_owned(),
        None => plots_dir(path).join(default_name()),
    }
}

/// The priority sort figure (the paper's figure 17) of every NTM under `path`, trained on
/// priority sort: on one episode of `length` inputs (default: the most trained on) drawn from
/// `seed` (the episode `heads` draws with the same length and seed), the slot each head
/// weights most against the priority of the vector concerned, with a least-squares line per
/// head (see [`plot::plot_priorities`]). Also writes each trace as JSON beside its figure.
pub fn priorities(path: &Path, length: Option<usize>, seed: u64, output: Option<&Path>) -> Result<Vec<PathBuf>> {
    if length == Some(0) {
        invalid!("--length 0: must be at least 1");
    }
    let ntms = ntm_models(path)?;
    let several = ntms.len() > 1;
    let mut written = Vec::new();
    for (dir, experiment, name) in ntms {
        let task = experiment.task.build();
        if task.name() != "priority-sort" {
            invalid!(
                "{}: model {name} was trained on the {} task; this figure is of priority sort",
                dir.display(),
                task.name()
            );
        }
        let length = length.unwrap_or_else(|| task.length_range().1);
        let (loaded, trace, _) = trace_model((&dir, &experiment, &name), (Some(length), None), None, seed)?;
        let (_, heads) = plot::head_priorities(&trace).map_err(Error::Invalid)?;
        let slots = trace.heads.first().and_then(|h| h.steps.first()).map_or(0, |s| s.weighting.len());
        let file = figure_file(path, output, several, &name, || run_dir::priorities_figure(&name, length));
        let title = format!(
            "priority sort, {length} inputs: {} after {} sequences, where each head looks against priority",
            model_title(&loaded.built.name, &loaded.built.config),
            trace.trained_sequences
        );
        plot::plot_priorities(&heads, slots, &title, &file)?;
        write_json(&file.with_extension("json"), &trace)?;
        written.push(file);
    }
    Ok(written)
}

/// The link matrix of every DNC under `path` after one episode (and after its input phase),
/// as [`heads`] traces it.
pub fn links(
    path: &Path,
    (length, repeats): (Option<usize>, Option<usize>),
    slots: Option<usize>,
    seed: u64,
    output: Option<&Path>,
) -> Result<Vec<PathBuf>> {
    check_length_option(length)?;
    let is_dnc = |m: &ModelConfig| matches!(m, ModelConfig::Dnc(_));
    let models = pick_models(path, is_dnc, ("DNC model", "link matrix"))?;
    let several = models.len() > 1;
    let mut written = Vec::new();
    for (dir, experiment, name) in &models {
        let (loaded, trace, episode) = trace_model((dir, experiment, name), (length, repeats), slots, seed)?;
        let file = match output {
            Some(f) if several => run_dir::with_model_name(f, name),
            Some(f) => f.to_owned(),
            None => plots_dir(path).join(run_dir::links_figure(name, trace.length, repeats, slots)),
        };
        let title = traced_title(&loaded, &trace.task, &episode, slots, trace.trained_sequences);
        plot::plot_links(&trace, &title, &file)?;
        written.push(file);
    }
    Ok(written)
}

/// The figures of a finished run in run folder `out` into `out/plots/`, as `ntm run` draws
/// them: the heads of every NTM and DNC at the longest training length (for dynamic N-grams
/// also where an NTM's heads go by context, for priority sort where they go by priority; each
/// DNC's link matrix), the learning curves, the generalisation and the outputs at the
/// experiment's test lengths.
pub fn run_figures(out: &Path, experiment: &crate::config::Experiment) -> Result<()> {
    if experiment.models.values().any(ModelConfig::has_memory) {
        heads(out, (None, None), None, 0, (None, Some(TRACE_LIMIT)))?;
    }
    if experiment.models.values().any(|m| matches!(m, ModelConfig::Ntm(_))) {
        if matches!(experiment.task, ntm_tasks::TaskSpec::DynamicNgrams(_)) {
            contexts(out, None, 0, None)?;
        }
        if experiment.task.name() == "priority-sort" {
            priorities(out, None, 0, None)?;
        }
    }
    if experiment.models.values().any(|m| matches!(m, ModelConfig::Dnc(c) if c.sizes(1).uses_links())) {
        links(out, (None, None), None, 0, None)?;
    }
    curves(out, None)?;
    generalisation(out, None)?;
    outputs(out, (None, None), None, 0, None)?;
    Ok(())
}

/// `1.7 GB`, `256 MiB`: a file size for messages.
fn size(bytes: f64) -> String {
    const GIB: f64 = 1024.0 * 1024.0 * 1024.0;
    match bytes >= GIB {
        true => format!("{:.1} GiB", bytes / GIB),
        false => budget::mib(bytes),
    }
}

/// A `--trace-limit` that admits `bytes`: `2G`, `700M`.
fn size_arg(bytes: f64) -> String {
    const MIB: f64 = 1024.0 * 1024.0;
    match bytes >= 1024.0 * MIB {
        true => format!("{}G", (bytes / (1024.0 * MIB)).ceil()),
        false => format!("{}M", (bytes / MIB).ceil()),
    }
}

/// Checks, from the experiment alone, that the figures `ntm run` draws once every model is
/// trained ([`run_figures`]) can be drawn: each NTM's and DNC's heads at the longest training length
/// (the memory to trace it, the size of its trace) and the outputs figure's size at the test
/// lengths. `ntm run` calls it before training.
pub fn check_run_figures(experiment: &crate::config::Experiment) -> Result<()> {
    let task = experiment.task.build();
    let io = (task.input_width(), task.output_width());
    let longest = task.length_range().1;
    let steps = budget::episode_steps(&experiment.task, longest, None);
    for (name, model) in &experiment.models {
        if !model.has_memory() {
            continue;
        }
        budget::check_trace(name, model, io, steps)?;
        let bytes = model_trace_json_bytes(model, io, steps);
        if bytes > TRACE_LIMIT {
            invalid!(
                "model {name}: the trace of its heads figure at length {longest} would take about {}, more than the \
                 limit of {}; lower task.max_length, or train with `ntm train` and draw with `ntm plot heads --no-trace`",
                size(bytes),
                size(TRACE_LIMIT)
            );
        }
    }
    let episodes: Vec<(usize, Option<usize>)> = match task.repeat_range() {
        Some(_) => PAPER_CELLS.iter().map(|&(l, r)| (l, Some(r))).collect(),
        None => experiment.eval.lengths.iter().map(|&l| (l, None)).collect(),
    };
    let mut rng = crate::measure::eval::eval_rng(0);
    let answer_steps: Vec<usize> = episodes
        .iter()
        .map(|&(length, repeats)| {
            let batch = task.sample_sized(&mut rng, 1, Some(length), repeats);
            batch.episode(0).mask.iter().filter(|&&m| m > 0.0).count()
        })
        .collect();
    let file = Path::new(run_dir::PLOTS_DIR).join(run_dir::OUTPUTS_FIGURE);
    plot::outputs_layout(&answer_steps, experiment.models.len(), io.1, &file)?;
    Ok(())
}

/// The scaling figure of the bench rows in `files` (each `ntm bench --json` output).
pub fn bench(files: &[PathBuf], output: Option<&Path>) -> Result<PathBuf> {
    let mut rows: Vec<BenchRow> = Vec::new();
    for file in files {
        let text = crate::config::read_text(file).map_err(io(file))?;
        let more: Vec<BenchRow> = serde_json::from_str(&text)
            .map_err(|e| Error::Invalid(format!("{}: not the output of `ntm bench --json`: {e}", file.display())))?;
        rows.extend(more);
    }
    let file = output.map_or_else(|| PathBuf::from("bench-scaling.png"), Path::to_owned);
    let batches: Vec<String> = {
        let mut b: Vec<usize> = rows.iter().map(|r| r.batch).collect();
        b.sort_unstable();
        b.dedup();
        b.iter().map(usize::to_string).collect()
    };
    let models: Vec<String> = {
        let mut m: Vec<String> = rows.iter().filter(|r| r.slots.is_some()).map(|r| r.model.to_uppercase()).collect();
        m.sort();
        m.dedup();
        m
    };
    let title = format!(
        "{}, batch {}: time and peak memory against memory size (solid: training, dashed: evaluation)",
        models.join(" and "),
        batches.join(",")
    );
    plot::plot_scaling(&rows, &title, &file)?;
    Ok(file)
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

/// Generalisation to test lengths of every model in run folder `run`, from their eval.json:
/// the line figure, or, when the reports carry repeat counts (repeat copy evaluated with
/// `--repeats` or `eval.repeats`), one heatmap per model over length x repeats.
pub fn generalisation(run: &Path, output: Option<&Path>) -> Result<PathBuf> {
    let mut reports = Vec::new();
    let mut task = None;
    for dir in model_dirs(run)? {
        let (experiment, name) = read_config(&dir)?;
        let kind = experiment.models.get(&name).map_or("", ModelConfig::kind);
        task = Some(experiment.task.build());
        reports.push((kind == "ntm" || kind == "dnc", read_eval(&dir)?));
    }
    let task = task.expect("model_dirs returns at least one folder");
    let range = task.length_range();
    let file = output.map_or_else(|| plots_dir(run).join(run_dir::GENERALISATION_FIGURE), Path::to_owned);
    let has_repeats = |r: &EvalReport| r.results.iter().any(|x| x.repeats.is_some());
    if let (true, Some(repeats)) = (reports.iter().any(|(_, r)| has_repeats(r)), task.repeat_range()) {
        // Memory models first, as the paper sets its figures 8 and 9 side by side.
        reports.sort_by_key(|(is_ntm, _)| !is_ntm);
        let mut panels = Vec::new();
        for (_, report) in &reports {
            if !has_repeats(report) {
                eprintln!(
                    "note: model {}: its eval.json has no repeat counts, so it is left out of the grid \
                     (write them with `ntm eval <model folder> --repeats ... --save`)",
                    report.model
                );
                continue;
            }
            let cells = report
                .results
                .iter()
                .filter_map(|r| Some(RepeatCell { length: r.length, repeats: r.repeats?, bit_errors: r.bit_errors }))
                .collect();
            panels.push(RepeatPanel { model: report.model.to_uppercase(), cells });
        }
        let region = TrainingRegion { lengths: range, repeats };
        // Short enough for one panel; the outline shows the training ranges.
        let title = format!("{}: wrong bits per sequence (training outlined)", task.name());
        plot::plot_repeat_grid(&panels, region, &title, &file)?;
        return Ok(file);
    }
    let reports: Vec<EvalReport> = reports.into_iter().map(|(_, r)| r).collect();
    let words = task.length_words();
    let title = format!("{}: generalisation (trained on {})", task.name(), words.span(range));
    plot::plot_generalisation(&reports, plot::LengthRange { range, words }, &title, &file)?;
    Ok(file)
}

/// Which episodes the outputs figure shows: test lengths, or (for repeat copy) (length,
/// repeats) cells; `(None, None)` for the defaults.
pub type Episodes<'a> = (Option<&'a [usize]>, Option<&'a [(usize, usize)]>);

/// Target and output of every model in `run` at each of `lengths`, or, for repeat copy, at
/// each (length, repeats) of `cells`. `lengths` default to the experiment's `eval.lengths`;
/// for repeat copy without `lengths`, `cells` default to [`PAPER_CELLS`]. `slots`: the
/// memory slots to run each NTM with (default: as trained; see [`crate::models::resize`]);
/// a run folder's models without memory (the LSTM) are then left out. Returns the figure's
/// file and the names of the models left out.
pub fn outputs(
    run: &Path,
    (lengths, cells): Episodes,
    slots: Option<usize>,
    seed: u64,
    output: Option<&Path>,
) -> Result<(PathBuf, Vec<String>)> {
    if let Some(lengths) = lengths.filter(|l| l.is_empty() || l.contains(&0)) {
        invalid!("--lengths {lengths:?}: give one or more lengths of at least 1");
    }
    if let Some(l) = lengths.unwrap_or(&[]).iter().find(|&&l| l > MAX_LENGTH) {
        invalid!("--lengths: {l} is more than {MAX_LENGTH}, the longest sequence any machine could hold");
    }
    let lengths_fit = |task: &dyn ntm_tasks::Task, lengths: &[usize]| -> Result<()> {
        for &length in lengths {
            if let Err(e) = task.check_length(length) {
                invalid!("--lengths {lengths:?}: {length}: {e}");
            }
        }
        Ok(())
    };
    if lengths.is_some() && cells.is_some() {
        invalid!("--lengths and --cells: give one or the other (--cells 10x20 is length 10 with 20 repeats)");
    }
    let mut dirs = model_dirs(run)?;
    // --slots on a run folder: its models without memory (the LSTM) are left out, as by eval
    // (said once every option has been checked).
    let mut left_out = Vec::new();
    if let (Some(_), true) = (slots, dirs.len() > 1) {
        let mut kept = Vec::new();
        for dir in dirs {
            match has_memory(&dir)? {
                (true, _) => kept.push(dir),
                (false, name) => left_out.push(name),
            }
        }
        dirs = kept;
    }
    // Checked for every model before any is run.
    let mut plans = Vec::new();
    for dir in &dirs {
        let (experiment, name) = read_config(dir)?;
        let task = experiment.task.build();
        if let Some(lengths) = lengths {
            lengths_fit(task.as_ref(), lengths)?;
        }
        let plan: Vec<(usize, Option<usize>)> = match (cells, task.repeat_range()) {
            (Some(cells), None) => {
                let cells: Vec<String> = cells.iter().map(|(l, r)| format!("{l}x{r}")).collect();
                invalid!(
                    "--cells {}: model {name} was trained on the {} task, which has no repeat count; use --lengths",
                    cells.join(","),
                    task.name()
                );
            }
            (Some(cells), Some(_)) => cells.iter().map(|&(l, r)| (l, Some(r))).collect(),
            (None, Some(_)) if lengths.is_none() => PAPER_CELLS.iter().map(|&(l, r)| (l, Some(r))).collect(),
            (None, _) => lengths.unwrap_or(&experiment.eval.lengths).iter().map(|&l| (l, None)).collect(),
        };
        if let (Some(slots), Some(longest)) = (slots, plan.iter().map(|&(l, _)| l).max()) {
            check_room(&experiment.task, slots, longest).map_err(Error::Invalid)?;
        }
        plans.push(plan);
    }
    let mut samples = Vec::new();
    let (mut task, mut words) = (String::new(), ntm_tasks::LengthWords::default());
    for (dir, plan) in dirs.iter().zip(plans) {
        let loaded = load_model_sized(dir, slots)?;
        task = loaded.experiment.task.name().to_owned();
        words = loaded.experiment.task.build().length_words();
        for (length, repeats) in plan {
            samples.push(output_sample(&loaded, length, repeats, seed)?);
        }
    }
    let file = output.map_or_else(|| plots_dir(run).join(run_dir::OUTPUTS_FIGURE), Path::to_owned);
    let what = match samples.iter().any(|s| s.repeats.is_some()) {
        true => "each length and repeat count",
        false => "each length",
    };
    let title = format!("{task}: target and each model's output at {what} (wrong bits outlined, counted on the right)");
    plot::plot_outputs_in(&samples, words, &title, &file)?;
    Ok((file, left_out))
}

/// The three figures of a summarised sweep into `dir/plots/`: its learning curves (median,
/// interquartile band, every seed), its generalisation (repeat copy: the grid of medians) and
/// when each seed converged. Returns the plots folder.
pub fn sweep_figures(dir: &Path, record: &SweepRecord, threshold: f64) -> Result<PathBuf> {
    let (summary, base, curves, n) = (&record.summary, &record.experiment, &record.curves, record.seeds);
    let task = base.task.name();
    let plots = dir.join("plots");
    let task_words = base.task.build().length_words();
    let range = base.task.build().length_range();
    let what = format!("{task}, {n} seed{}", if n == 1 { "" } else { "s" });
    plot::plot_sweep_curves(curves, threshold, &format!("{what}: learning curves"), &plots.join("sweep-curves.png"))?;
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
                    .filter_map(|e| {
                        Some(RepeatCell { length: e.length, repeats: e.repeats?, bit_errors: e.bit_errors.median })
                    })
                    .collect(),
            })
            .collect();
        let region = TrainingRegion { lengths: range, repeats: repeat_range };
        let title = format!("{what}: wrong bits per sequence");
        plot::plot_repeat_grid(&panels, region, &title, &plots.join("sweep-generalisation.png"))?;
    } else if summary.models.values().any(|m| m.counts.evaluated > 0) {
        let title = format!("{what}: generalisation (trained on {})", task_words.span(range));
        let training = plot::LengthRange { range, words: task_words };
        plot::plot_sweep_generalisation(summary, training, &title, &plots.join("sweep-generalisation.png"))?;
    }
    let title = format!("{what}: when training bit errors first fell below {threshold} per sequence");
    plot::plot_sweep_convergence(summary, &title, &plots.join("sweep-convergence.png"))?;
    Ok(plots)
}
