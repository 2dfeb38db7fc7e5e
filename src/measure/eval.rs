//! Evaluation: bits and bit errors per sequence at each test length (the generalisation test
//! of paper section 4.1), or at each test length and repeat count (repeat copy, section 4.2,
//! figures 8 and 9).

use candle_core::Device;
use ntm_tasks::{Task, MAX_LENGTH, MAX_REPEATS};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::config::{EvalConfig, Experiment};
use crate::error::{tensor, Error, Result};
use crate::measure::budget;
use crate::models::batch::TensorBatch;
use crate::models::SequenceModel;
use crate::optim::loss;
use crate::records::report::{EvalReport, EvalResult};
use crate::records::run_dir::LoadedModel;

/// Sequences evaluated in one forward pass at most (fewer where memory is short, see
/// [`crate::measure::budget::eval_chunk`]).
pub const EVAL_BATCH: usize = 32;

/// Evaluation data come from the experiment seed mixed with this, so they differ from the
/// training data of the same seed.
const EVAL_SEED_SALT: u64 = 0x5eed_e7a1;

/// A repeat count enters the seed of its evaluation cell multiplied by this odd constant
/// (2^64 / golden ratio), so that cells of neighbouring lengths and counts get unrelated seeds.
const REPEAT_SEED_MIX: u64 = 0x9e37_79b9_7f4a_7c15;

/// The generator of evaluation data for an experiment seed.
pub fn eval_rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed ^ EVAL_SEED_SALT)
}

/// The generator of the evaluation cell (`length`, `repeats`) of experiment seed `seed`:
/// `seed + length` without a fixed repeat count (as evaluation always drew), with the count
/// mixed in when it is fixed. The same cell gets the same episodes for every model and run.
pub fn cell_rng(seed: u64, length: usize, repeats: Option<usize>) -> ChaCha8Rng {
    let base = seed.wrapping_add(length as u64);
    match repeats {
        None => eval_rng(base),
        Some(r) => eval_rng(base ^ (r as u64).wrapping_mul(REPEAT_SEED_MIX)),
    }
}

/// The evaluation cells of `plan`: every length, and with repeat counts every (length,
/// count) pair, lengths outer.
fn cells(plan: &EvalConfig) -> Vec<(usize, Option<usize>)> {
    match plan.repeats.as_slice() {
        [] => plan.lengths.iter().map(|&l| (l, None)).collect(),
        repeats => plan.lengths.iter().flat_map(|&l| repeats.iter().map(move |&r| (l, Some(r)))).collect(),
    }
}

/// Mean loss in bits and bit errors per sequence of `model` on `plan.sequences` episodes of
/// each length (and repeat count, if `plan.repeats` has any), drawn from `seed`'s evaluation
/// generators (the same episodes for every model), [`EVAL_BATCH`] sequences per forward pass;
/// for a task with a known optimal predictor (its batches carry [`ntm_tasks::Batch::reference`]),
/// also that predictor's loss on the same episodes.
///
/// # Panics
/// If `plan.repeats` is not empty and `task` has no repeat count (see
/// [`Task::repeat_range`]), or a length fails [`Task::check_length`] ([`evaluate_model`]
/// checks both).
pub fn evaluate(
    model: &dyn SequenceModel,
    task: &dyn Task,
    plan: &EvalConfig,
    seed: u64,
) -> candle_core::Result<Vec<EvalResult>> {
    evaluate_in_chunks(model, task, plan, seed, |_, _| EVAL_BATCH)
}

/// [`evaluate`] with at most `chunk(length, repeats)` sequences per forward pass
/// ([`evaluate_model`] sizes the chunks to the memory there is).
///
/// # Panics
/// As [`evaluate`].
pub fn evaluate_in_chunks(
    model: &dyn SequenceModel,
    task: &dyn Task,
    plan: &EvalConfig,
    seed: u64,
    chunk: impl Fn(usize, Option<usize>) -> usize,
) -> candle_core::Result<Vec<EvalResult>> {
    let sequences = plan.sequences;
    let mut results = Vec::new();
    for (length, repeats) in cells(plan) {
        let mut rng = cell_rng(seed, length, repeats);
        let (mut bits, mut errors, mut done) = (0.0, 0.0, 0);
        // The optimal predictor's bits on the same episodes, for a task that has one.
        let mut optimal = Some(0.0);
        let chunk = chunk(length, repeats).max(1);
        while done < sequences {
            let n = (sequences - done).min(chunk);
            let batch = task.sample_sized(&mut rng, n, Some(length), repeats);
            optimal = optimal.zip(batch.reference_bits()).map(|(sum, b)| sum + b * n as f64);
            let batch = TensorBatch::new(&batch, &Device::Cpu)?;
            let logits = model.forward_eval(&batch.inputs)?;
            let nats = loss::sequence_loss(&logits, &batch.targets, &batch.mask)?.to_scalar::<f32>()?;
            bits += loss::nats_to_bits(nats as f64) * n as f64;
            errors += loss::bit_errors(&logits, &batch.targets, &batch.mask)? * n as f64;
            done += n;
        }
        results.push(EvalResult {
            length,
            repeats,
            loss_bits: bits / sequences as f64,
            optimal_loss_bits: optimal.map(|sum| sum / sequences as f64),
            bit_errors: errors / sequences as f64,
            sequences,
            slots: None,
        });
    }
    Ok(results)
}

/// The test cells asked for, checked: `base` (an experiment's `[eval]`) with `lengths`,
/// `sequences` and `repeats` in place of its own where given (`ntm eval --lengths --sequences
/// --repeats`, the Python package's `evaluate`), for model `name` trained on `task`. Each
/// refusal is the one line `ntm eval` prints, naming its option.
pub fn eval_plan(
    base: &EvalConfig,
    (lengths, sequences, repeats): (Option<&[usize]>, Option<usize>, Option<&[usize]>),
    name: &str,
    task: &dyn Task,
) -> Result<EvalConfig> {
    let invalid = |message: String| Err(Error::Invalid(message));
    let mut plan = base.clone();
    if let Some(lengths) = lengths {
        plan.lengths = lengths.to_vec();
    }
    if plan.lengths.is_empty() || plan.lengths.contains(&0) {
        return invalid(format!("--lengths {:?}: give one or more lengths of at least 1", plan.lengths));
    }
    if let Some(l) = plan.lengths.iter().find(|&&l| l > MAX_LENGTH) {
        return invalid(format!(
            "--lengths: {l} is more than {MAX_LENGTH}, the longest sequence any machine could hold"
        ));
    }
    for &length in &plan.lengths {
        if let Err(e) = task.check_length(length) {
            return invalid(format!("--lengths {:?}: {length}: {e}", plan.lengths));
        }
    }
    if let Some(sequences) = sequences {
        plan.sequences = sequences;
    }
    if plan.sequences == 0 {
        return invalid("--sequences 0: must be at least 1".to_owned());
    }
    if let Some(repeats) = repeats {
        let join = || repeats.iter().map(usize::to_string).collect::<Vec<_>>().join(",");
        if task.repeat_range().is_none() {
            return invalid(format!(
                "--repeats {}: model {name} was trained on the {} task, which has no repeat count (only repeat-copy has)",
                join(),
                task.name()
            ));
        }
        if repeats.is_empty() || repeats.contains(&0) {
            return invalid(format!("--repeats {}: give one or more counts of at least 1", join()));
        }
        if let Some(r) = repeats.iter().find(|&&r| r > MAX_REPEATS) {
            return invalid(format!(
                "--repeats: {r} is more than {MAX_REPEATS}, the most repeats any machine could hold"
            ));
        }
        plan.repeats = repeats.to_vec();
    }
    Ok(plan)
}

/// The report of model `name` of `experiment` (its task and seed) on the cells of `plan`;
/// writes nothing (see [`crate::records::run_dir::write_eval`]). Repeat counts for a task without
/// them are an error naming the task, and so is a length the task cannot draw
/// ([`Task::check_length`]).
pub fn evaluate_model(
    name: &str,
    model: &dyn SequenceModel,
    experiment: &Experiment,
    plan: &EvalConfig,
) -> Result<EvalReport> {
    evaluate_model_on(name, model, experiment, experiment.task.build().as_ref(), plan)
}

/// [`evaluate_model`] on `task` instead of the experiment's `[task]`: a task of your own, as a
/// [`Trainer`](crate::Trainer) built [`with_task`](crate::Trainer::with_task) trains on
/// ([`Trainer::task`](crate::Trainer::task)). The experiment gives the model's sizes and the
/// seed of the test episodes.
pub fn evaluate_model_on(
    name: &str,
    model: &dyn SequenceModel,
    experiment: &Experiment,
    task: &dyn Task,
    plan: &EvalConfig,
) -> Result<EvalReport> {
    let chunks = check_plan_on(name, experiment, task, plan)?;
    let chunk =
        |length, repeats| chunks.iter().find(|(cell, _)| *cell == (length, repeats)).map_or(EVAL_BATCH, |(_, c)| *c);
    let results = evaluate_in_chunks(model, task, plan, experiment.seed, chunk).map_err(tensor(name))?;
    Ok(EvalReport { model: name.to_owned(), task: task.name().to_owned(), results })
}

/// A cell of an evaluation, `(length, repeats)`, and the sequences evaluated at once in it.
pub type CellChunk = ((usize, Option<usize>), usize);

/// Checks, before any work, that model `name` of `experiment` can be evaluated on `plan`: at
/// least one length and one sequence, repeat counts only for a task with them, lengths the
/// task can draw, and each cell's episodes within the memory there is, one sequence at a time
/// at least. Returns each cell's chunk: the sequences evaluated at once.
pub fn check_plan(name: &str, experiment: &Experiment, plan: &EvalConfig) -> Result<Vec<CellChunk>> {
    check_plan_on(name, experiment, experiment.task.build().as_ref(), plan)
}

/// [`check_plan`] on `task` instead of the experiment's `[task]`.
fn check_plan_on(name: &str, experiment: &Experiment, task: &dyn Task, plan: &EvalConfig) -> Result<Vec<CellChunk>> {
    if plan.lengths.is_empty() {
        return Err(Error::Invalid("no test lengths (eval.lengths = []): give one or more".into()));
    }
    if plan.sequences == 0 {
        return Err(Error::Invalid("0 test sequences (eval.sequences = 0): give at least 1".into()));
    }
    if !plan.repeats.is_empty() && task.repeat_range().is_none() {
        return Err(Error::Invalid(format!(
            "repeat counts {:?}: the {} task has no repeat count (only repeat-copy has)",
            plan.repeats,
            task.name()
        )));
    }
    for &length in &plan.lengths {
        task.check_length(length)
            .map_err(|e| Error::Invalid(format!("test lengths {:?}: {length}: {e}", plan.lengths)))?;
    }
    // Every cell's chunk is decided before the first is evaluated, so a cell that cannot
    // fit refuses before any work.
    let config = &experiment.models[name];
    let io = (task.input_width(), task.output_width());
    let mut chunks = Vec::new();
    for (length, repeats) in cells(plan) {
        let steps = task.episode_steps(length, repeats) as f64;
        chunks.push(((length, repeats), budget::eval_chunk(name, config, io, steps, EVAL_BATCH)?));
    }
    Ok(chunks)
}

/// [`evaluate_model`] of a model loaded from its folder.
pub fn evaluate_loaded(loaded: &LoadedModel, plan: &EvalConfig) -> Result<EvalReport> {
    evaluate_model(&loaded.built.name, loaded.built.model.as_ref(), &loaded.experiment, plan)
}

/// Model x length tables of bit errors per sequence, then of the loss in bits per sequence,
/// lengths labelled in the task's `words`; with repeat counts, one row per model and count (a
/// `-` where a report lacks that cell). For a task with a known optimal predictor, the loss
/// table has the optimum's row last (see [`optimum_table`]).
pub fn table(reports: &[EvalReport], words: ntm_tasks::LengthWords) -> String {
    let errors = table_of(reports, words, "bit errors per sequence", |r| r.bit_errors);
    if errors.is_empty() {
        return errors;
    }
    let optimum = optimum_table(reports, words);
    let loss = match optimum.is_empty() {
        true => table_of(reports, words, "loss in bits per sequence", |r| r.loss_bits),
        false => optimum,
    };
    errors + "\n\n" + &loss
}

/// The label of the optimal predictor's row in [`optimum_table`].
pub const OPTIMUM_ROW: &str = "optimum";

/// Model x length table of the loss in bits per sequence with, last, the optimal predictor's
/// loss on the same episodes (`optimal_loss_bits`: every model of a seed is tested on the
/// same ones, so the first report that has a length's optimum gives it); empty unless some
/// result has an optimum.
pub fn optimum_table(reports: &[EvalReport], words: ntm_tasks::LengthWords) -> String {
    let all = || reports.iter().flat_map(|r| &r.results);
    let mut lengths: Vec<usize> = Vec::new();
    for r in all().filter(|r| r.optimal_loss_bits.is_some()) {
        if !lengths.contains(&r.length) {
            lengths.push(r.length);
        }
    }
    if lengths.is_empty() {
        return String::new();
    }
    let w = column_width(&lengths, words);
    let mut s = String::from(
        "loss in bits per sequence (optimum: the Bayes-optimal predictor on the same sequences)\nmodel   ",
    );
    for length in &lengths {
        s += &format!("{:>w$}", words.label(*length));
    }
    for report in reports {
        s += &format!("\n{:<8}", report.model);
        for &length in &lengths {
            match report.results.iter().find(|r| r.length == length) {
                Some(r) => s += &format!("{:>w$.3}", r.loss_bits),
                None => s += &format!("{:>w$}", "-"),
            }
        }
    }
    s += &format!("\n{OPTIMUM_ROW:<8}");
    for &length in &lengths {
        let optimum = all().filter(|r| r.length == length).find_map(|r| r.optimal_loss_bits);
        s += &optimum.map_or(format!("{:>w$}", "-"), |bits| format!("{bits:>w$.3}"));
    }
    s
}

/// The width of a table's length columns: 9, or one more than the longest label ("20 inputs").
fn column_width(lengths: &[usize], words: ntm_tasks::LengthWords) -> usize {
    lengths.iter().map(|&l| words.label(l).len() + 1).max().unwrap_or(0).max(9)
}

/// One table of `title` with the measure `value` of each result.
fn table_of(
    reports: &[EvalReport],
    words: ntm_tasks::LengthWords,
    title: &str,
    value: impl Fn(&EvalResult) -> f64,
) -> String {
    let all = || reports.iter().flat_map(|r| &r.results);
    let mut lengths: Vec<usize> = Vec::new();
    for r in all() {
        if !lengths.contains(&r.length) {
            lengths.push(r.length);
        }
    }
    if lengths.is_empty() {
        return String::new();
    }
    let with_repeats = all().any(|r| r.repeats.is_some());
    let w = column_width(&lengths, words);
    let mut s = format!("{title}\nmodel   ");
    if with_repeats {
        s += &format!("{:>8}", "repeats");
    }
    for length in &lengths {
        s += &format!("{:>w$}", words.label(*length));
    }
    for report in reports {
        let mut counts: Vec<Option<usize>> = Vec::new();
        for r in &report.results {
            if !counts.contains(&r.repeats) {
                counts.push(r.repeats);
            }
        }
        for count in counts {
            s += &format!("\n{:<8}", report.model);
            if with_repeats {
                s += &format!("{:>8}", count.map_or("-".into(), |c| c.to_string()));
            }
            for &length in &lengths {
                match report.results.iter().find(|r| r.length == length && r.repeats == count) {
                    Some(r) => s += &format!("{:>w$.3}", value(r)),
                    None => s += &format!("{:>w$}", "-"),
                }
            }
        }
    }
    s
}
