//! Memory as a resource, not a crash: the largest sizes a model may have (range errors for
//! sizes no machine could hold), what training and evaluation will need (estimated from the
//! sizes alone, before anything is allocated), and what the process may have.
//!
//! A command that would need more than it has refuses before it starts, with one line giving
//! its estimate and what to lower; evaluation instead runs in chunks of fewer sequences (the
//! fused NTM's evaluation keeps no tape, so a chunk needs O(B N M) plus its inputs and
//! outputs), and refuses only if one sequence at a time does not fit.
//!
//! The estimates count 4-byte floats (the models train in f32):
//! ```text
//! training    P (weights, gradient, 2 optimiser moments, clipped gradient, packed copy, the
//!             kernel's gradient)                                                 7 P
//!           + B T per row and step: the tape (fused NTM: memory N M, each head's addressing
//!             SLOTS N and projections, the controller's rows; fused DNC: the link matrix N^2,
//!             memory N W, (9 + 6 R) N of state, write side and read heads, the interface and
//!             the controller's rows) and a quarter more for the backward; inputs, targets,
//!             logits and their gradients                                1.25 tape + 8 (X + Y)
//! evaluation  2 P + B (3 N M + 2 H SLOTS N + ...) + B T (features + X + 6 Y)     (fused NTM)
//!             2 P + B (3 N W + 2 (N^2 + ...)) + B T (features + X + 6 Y)         (fused DNC)
//!             2.5 times the tape of training, without the backward               (others)
//! ```
//! plus [`BASE_BYTES`] for the program itself and [`THREAD_BYTES`] per kernel thread beyond the
//! first (and, with more than one, [`GROUPS_FACTOR`] more of the training tape). The reference engine (composed candle
//! operations, a graph node per operation and step) is counted [`REFERENCE_FACTOR`] times
//! the fused tape. `tests/budget.rs` checks the estimates against measured peaks. A model of
//! your own (`kind = "custom"`) is not estimated: nothing here refuses it.

use ntm_tasks::TaskSpec;

use crate::base::kinds::Engine;
use crate::config::Experiment;
use crate::error::{Error, Result};
use crate::fused::dnc::tape_vectors;
use crate::fused::ntm::ADDRESSING_SLOTS;
use crate::models::factory::ModelConfig;
use crate::models::lstm::LstmBaselineConfig;
use crate::models::rnn::{CellKind, RnnBaselineConfig};

/// Bytes per float.
const FLOAT: f64 = 4.0;
/// The program itself: code, libraries, allocator and thread stacks (the bench's smallest
/// case peaks at 25 MiB).
pub const BASE_BYTES: f64 = 48.0 * MIB;
/// Each kernel thread beyond the first: the pages its allocator heap holds (measured with
/// `ntm bench --models ntm --engines fused --modes train --threads 2` against `--threads 1`:
/// 12 MiB more at batch 4, 32 to 48 at batch 16, 30 at 64).
pub const THREAD_BYTES: f64 = 48.0 * MIB;
/// With more than one kernel thread, the fused NTM's backward also holds its row groups'
/// gradients and rows joined for the whole batch (`src/fused/ntm/groups.rs`): ~720 floats per
/// row and step at the copy NTM's sizes, ~14% of its tape; counted as this share of any tape.
const GROUPS_FACTOR: f64 = 0.15;

/// The kernel threads a job training on batches of `batch` rows may use now: no kernel splits
/// its work into more parts than the batch has rows, and the pool has as many threads as cores.
fn kernel_threads(batch: usize) -> usize {
    use crate::base::pool;
    pool::kernel_threads().min(pool::cores()).min(batch).max(1)
}

/// [`BASE_BYTES`] and [`THREAD_BYTES`] for the kernel threads of a job on batches of `batch`.
fn program_bytes(batch: usize) -> f64 {
    BASE_BYTES + THREAD_BYTES * (kernel_threads(batch) - 1) as f64
}
/// The reference engine's tape against the fused one's: its graph keeps every operation's
/// result, ~200 per NTM step (measured: 4x the fused peak at batch 16, 3x at batch 1, at the
/// paper's sizes; counted generously).
pub const REFERENCE_FACTOR: f64 = 16.0;
/// The training tape with what the backward adds to it: the backward's own buffers are per
/// row (a memory's gradient) or per step but small (the gates' and projections' gradients),
/// so the tape dominates (measured: peak within 1.0-1.15x the tape at 2,048 and 8,192 slots
/// and length 500, batch 1); a quarter more for margin.
const BACKWARD_FACTOR: f64 = 1.25;
/// A model without a tape-free evaluation (the LSTM baseline) against its tape count when it
/// evaluates: its layers' outputs, the op's tape and the graph's copies (measured: 280 MiB per
/// sequence of length 3,000 for the 3 x 256 LSTM, 2x the count; counted 2.5x).
const TAPED_EVAL_FACTOR: f64 = 2.5;
/// Share of the available memory an estimate may use: the estimates are of the large
/// buffers only.
const HEADROOM: f64 = 0.85;
const MIB: f64 = 1024.0 * 1024.0;

/// Time steps of an episode of `length` (and `repeats`; repeat copy's default: its longest
/// training count) of `task` ([`ntm_tasks::Task::episode_steps`]).
pub fn episode_steps(task: &TaskSpec, length: usize, repeats: Option<usize>) -> f64 {
    task.build().episode_steps(length, repeats) as f64
}

/// The sizes of a model that the estimates need, for `inputs` and `outputs` channels.
struct Shape {
    parameters: f64,
    /// Floats per batch row and time step the (fused) training tape keeps.
    tape: f64,
    /// Floats per batch row the tape-free evaluation keeps whatever the length (0: the model
    /// has no tape-free evaluation and keeps its tape).
    state: f64,
    /// Floats per batch row and step of a forward pass's output (NTM: features).
    features: f64,
    reference: bool,
}

fn shape(model: &ModelConfig, inputs: usize, outputs: usize) -> Shape {
    let (x, y) = (inputs as f64, outputs as f64);
    match model {
        ModelConfig::Ntm(c) => {
            let sizes = c.sizes(inputs);
            let (n, m, h) = (sizes.slots as f64, sizes.width as f64, sizes.hidden as f64);
            let layers = sizes.layers as f64;
            let cols = sizes.layer_cols() as f64;
            let rows: f64 = (0..sizes.layers).map(|l| sizes.layer_rows(l) as f64).sum();
            let widths: f64 = (0..sizes.heads()).map(|k| sizes.head_width(k) as f64).sum();
            let features = sizes.features() as f64;
            // Per step: memory, addressing, controller rows, gates, cells, outputs, head
            // projections raw and activated, features.
            let tape = n * m
                + sizes.heads() as f64 * ADDRESSING_SLOTS as f64 * n
                + rows
                + layers * (cols + 2.0 * h)
                + 2.0 * widths
                + features;
            Shape {
                parameters: c.parameter_count(inputs, outputs) as f64,
                tape,
                state: 3.0 * n * m + 2.0 * (tape - n * m),
                features,
                reference: c.engine == Engine::Reference,
            }
        }
        ModelConfig::Dnc(c) => {
            let sizes = c.sizes(inputs);
            let (n, w, h) = (sizes.slots as f64, sizes.width as f64, sizes.hidden as f64);
            let rows: f64 = (0..sizes.layers).map(|l| sizes.layer_rows(l) as f64).sum();
            let features = sizes.features() as f64;
            let links = if sizes.uses_links() { n * n } else { 0.0 };
            // Per step: link matrix, memory, state, write side, read heads and free list,
            // controller rows, gates, cells, outputs, the interface raw and activated, features.
            let tape = links
                + n * w
                + tape_vectors(sizes.read_heads) as f64 * n
                + rows
                + sizes.layers as f64 * 6.0 * h
                + 2.0 * sizes.parts().width() as f64
                + features;
            Shape {
                parameters: c.parameter_count(inputs, outputs) as f64,
                tape,
                state: 3.0 * n * w + 2.0 * (tape - n * w),
                features,
                reference: c.engine == Engine::Reference,
            }
        }
        ModelConfig::Lstm(c) => {
            let (h, layers) = (c.size as f64, c.layers as f64);
            let rows = x + h + (layers - 1.0) * 2.0 * h;
            let parameters = rows * 4.0 * h + layers * 6.0 * h + h * y + y;
            // Per layer and step: [input, h], gates, cell, output.
            let tape = rows + layers * 6.0 * h;
            Shape { parameters, tape, state: 0.0, features: h, reference: c.engine == Engine::Reference }
        }
        ModelConfig::Rnn(c) => recurrent_shape(c, CellKind::Rnn, x, y),
        ModelConfig::Gru(c) => recurrent_shape(c, CellKind::Gru, x, y),
        ModelConfig::Dsgu(c) => dsgu_shape(c, x, y),
        ModelConfig::Attention(c) => {
            let lstm = LstmBaselineConfig { size: c.size, layers: c.layers, engine: c.engine };
            let mut s = shape(&ModelConfig::Lstm(lstm), inputs, outputs);
            let (h, a, t) = (c.size as f64, c.attention as f64, ATTENDED_STEPS);
            s.parameters += 2.0 * h * a + a + h * y;
            // Per step: its query and key, its scores against every other step (the widest,
            // [T, A] of tanh features kept for the backward) and its context.
            s.tape += 2.0 * a + t * a + 2.0 * t + 2.0 * h;
            s.reference = true;
            s
        }
        // A model of your own: its sizes are not known here, so nothing is counted for it (the
        // estimates are BASE_BYTES alone) and no check refuses it.
        ModelConfig::Custom(_) => Shape { parameters: 0.0, tape: 0.0, state: 0.0, features: 0.0, reference: false },
    }
}

/// Steps an attention model's step is taken to attend over in the estimates: its scores are
/// `[T, A]` per step, so its tape grows with the square of the length, which the estimates
/// (linear in the length) cannot follow; this is the copy task's longest training episode.
const ATTENDED_STEPS: f64 = 41.0;

/// The shape of a stacked RNN baseline of cell `kind` (see [`crate::models::rnn`]).
fn recurrent_shape(c: &RnnBaselineConfig, kind: CellKind, x: f64, y: f64) -> Shape {
    let (h, layers) = (c.size as f64, c.layers as f64);
    let (gates, slots) = (kind.gates() as f64, kind.tape_slots() as f64);
    let rows = x + h + (layers - 1.0) * 2.0 * h;
    let parameters = rows * gates * h + layers * (gates + 1.0) * h + h * y + y;
    // Per layer and step: [input, h], the input's projection, the tape.
    let tape = rows + layers * (gates + slots) * h;
    Shape { parameters, tape, state: 0.0, features: h, reference: c.engine == Engine::Reference }
}

/// The shape of a stacked DSGU baseline (see [`crate::models::dsgu`]).
fn dsgu_shape(c: &RnnBaselineConfig, x: f64, y: f64) -> Shape {
    let (h, layers) = (c.size as f64, c.layers as f64);
    let inputs = x + (layers - 1.0) * h; // the layers' inputs, summed
    let parameters = 2.0 * inputs * h + layers * (3.0 * h * h + 3.0 * h) + h * y + y;
    // Per layer and step: the input, its projection [x_g, a] and the tape (6 H).
    let tape = inputs + layers * 8.0 * h;
    Shape { parameters, tape, state: 0.0, features: h, reference: c.engine == Engine::Reference }
}

/// Trainable scalars of `model` for `inputs` and `outputs` channels, from its sizes alone (the
/// built model's [`crate::models::SequenceModel::parameter_count`], without building it).
pub fn parameter_count(model: &ModelConfig, inputs: usize, outputs: usize) -> f64 {
    shape(model, inputs, outputs).parameters
}

/// Bytes training `model` needs on batches of `batch` episodes of up to `steps` time steps.
pub fn training_bytes(model: &ModelConfig, (inputs, outputs): (usize, usize), batch: usize, steps: f64) -> f64 {
    let s = shape(model, inputs, outputs);
    let tape = if s.reference { REFERENCE_FACTOR } else { 1.0 } * s.tape;
    let groups = if kernel_threads(batch) > 1 { GROUPS_FACTOR } else { 0.0 };
    let per_step = (BACKWARD_FACTOR + groups) * tape + 8.0 * (inputs + outputs) as f64;
    program_bytes(batch) + FLOAT * (7.0 * s.parameters + batch as f64 * steps * per_step)
}

/// Bytes evaluating `model` needs on a chunk of `batch` episodes of `steps` time steps.
pub fn eval_bytes(model: &ModelConfig, (inputs, outputs): (usize, usize), batch: usize, steps: f64) -> f64 {
    let s = shape(model, inputs, outputs);
    let io = (inputs + 6 * outputs) as f64;
    let floats = match (s.reference, s.state > 0.0) {
        (false, true) => s.state + steps * (s.features + io),
        (true, _) => steps * (REFERENCE_FACTOR * s.tape + io),
        (false, false) => steps * (TAPED_EVAL_FACTOR * s.tape + s.features + io),
    };
    program_bytes(batch) + FLOAT * (2.0 * s.parameters + batch as f64 * floats)
}

/// Memory this process may still allocate, and what limits it.
#[derive(Debug, Clone)]
pub struct Available {
    pub bytes: f64,
    /// `address-space limit (ulimit -v)`, `MemAvailable` or `NTM_MEMORY_LIMIT`.
    pub source: &'static str,
}

impl Available {
    /// What an estimate may use of it (the estimates count the large buffers only).
    pub fn usable(&self) -> f64 {
        HEADROOM * self.bytes
    }

    /// For error lines: "the 425 MiB usable (85% of the 500 MiB available, NTM_MEMORY_LIMIT)".
    pub fn describe(&self) -> String {
        format!(
            "the {} usable ({:.0}% of the {} available, {})",
            mib(self.usable()),
            HEADROOM * 100.0,
            mib(self.bytes),
            self.source
        )
    }
}

/// The environment variable that caps the memory the estimates may plan for, in bytes or
/// with a suffix K, M or G (powers of 1024): e.g. `NTM_MEMORY_LIMIT=2G`.
pub const LIMIT_VARIABLE: &str = "NTM_MEMORY_LIMIT";

/// The least of: the address-space limit less what the process has mapped, the system's
/// `MemAvailable`, and [`LIMIT_VARIABLE`]; `None` if none is known.
pub fn available() -> Option<Available> {
    let mut found: Vec<Available> = Vec::new();
    if let Some(limit) = address_space_limit() {
        let mapped = status_kib("VmSize:").unwrap_or(0.0) * 1024.0;
        found.push(Available { bytes: (limit - mapped).max(0.0), source: "address-space limit (ulimit -v)" });
    }
    if let Some(kib) = meminfo_kib("MemAvailable:") {
        found.push(Available { bytes: kib * 1024.0, source: "MemAvailable" });
    }
    if let Some(bytes) = std::env::var(LIMIT_VARIABLE).ok().and_then(|v| parse_bytes(&v)) {
        found.push(Available { bytes, source: LIMIT_VARIABLE });
    }
    found.into_iter().min_by(|a, b| a.bytes.total_cmp(&b.bytes))
}

/// `1234`, `512K`, `300M`, `4G` (powers of 1024) as bytes.
pub fn parse_bytes(text: &str) -> Option<f64> {
    let text = text.trim();
    let (number, scale) = match text.char_indices().last()? {
        (i, 'k' | 'K') => (&text[..i], 1024.0),
        (i, 'm' | 'M') => (&text[..i], MIB),
        (i, 'g' | 'G') => (&text[..i], 1024.0 * MIB),
        _ => (text, 1.0),
    };
    number.trim().parse::<f64>().ok().filter(|v| v.is_finite() && *v >= 0.0).map(|v| v * scale)
}

#[cfg(unix)]
fn address_space_limit() -> Option<f64> {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit writes into the struct we own.
    let ok = unsafe { libc::getrlimit(libc::RLIMIT_AS, &mut limit) } == 0;
    (ok && limit.rlim_cur != libc::RLIM_INFINITY).then_some(limit.rlim_cur as f64)
}

#[cfg(not(unix))]
fn address_space_limit() -> Option<f64> {
    None
}

/// A `Key: value kB` line of `/proc/self/status`, in KiB.
fn status_kib(key: &str) -> Option<f64> {
    proc_kib("/proc/self/status", key)
}

/// A `Key: value kB` line of `/proc/meminfo`, in KiB.
fn meminfo_kib(key: &str) -> Option<f64> {
    proc_kib("/proc/meminfo", key)
}

fn proc_kib(path: &str, key: &str) -> Option<f64> {
    let text = std::fs::read_to_string(path).ok()?;
    let line = text.lines().find(|l| l.starts_with(key))?;
    line[key.len()..].split_whitespace().next()?.parse().ok()
}

/// `bytes` in MiB, rounded up.
pub fn mib(bytes: f64) -> String {
    format!("{:.0} MiB", (bytes / MIB).ceil())
}

/// `Err` (one line: `what`, the estimate, what is available) if `bytes` do not fit the
/// memory there is, with the same headroom as the training check; `Ok` if nothing is known.
pub fn check_fits(what: &str, bytes: f64) -> Result<()> {
    let Some(available) = available() else { return Ok(()) };
    if bytes <= available.usable() {
        return Ok(());
    }
    Err(Error::Invalid(format!("{what} needs about {}, more than {}", mib(bytes), available.describe())))
}

/// What the estimate of training one model needs, resolved once from the experiment: the
/// model, its batch, its longest episodes' steps and the task's input and output widths.
struct Training<'a> {
    model: &'a ModelConfig,
    batch: usize,
    steps: f64,
    io: (usize, usize),
}

impl<'a> Training<'a> {
    /// Model `name` of `experiment` (`None`: the experiment has no such model).
    fn of(experiment: &'a Experiment, name: &str) -> Option<Self> {
        let model = experiment.models.get(name)?;
        let task = experiment.task.build();
        let steps = episode_steps(&experiment.task, task.length_range().1, None);
        let io = (task.input_width(), task.output_width());
        Some(Self { model, batch: experiment.train.for_model(name).batch, steps, io })
    }

    fn bytes(&self) -> f64 {
        training_bytes(self.model, self.io, self.batch, self.steps)
    }
}

/// Bytes that training model `name` of `experiment` needs at its longest episodes (0 for a
/// name the experiment does not have).
pub fn training_estimate(experiment: &Experiment, name: &str) -> f64 {
    Training::of(experiment, name).map_or(0.0, |t| t.bytes())
}

/// An error unless training model `name` of `experiment` fits in the memory available,
/// naming the estimate and what to lower.
pub fn check_training(experiment: &Experiment, name: &str) -> Result<()> {
    let Some(training) = Training::of(experiment, name) else { return Ok(()) };
    let Some(available) = available() else { return Ok(()) };
    let needed = training.bytes();
    if needed <= available.usable() {
        return Ok(());
    }
    let Training { model, batch, steps, io } = training;
    let parameters = FLOAT * 7.0 * parameter_count(model, io.0, io.1);
    // The task's fields that make episodes long.
    let task_fields = match &experiment.task {
        TaskSpec::Copy(_) => "task.bits, task.max_length",
        TaskSpec::RepeatCopy(_) => "task.bits, task.max_length, task.max_repeats",
        TaskSpec::AssociativeRecall(_) => "task.bits, task.max_items, task.item_length",
        TaskSpec::DynamicNgrams(_) => "task.max_length",
        TaskSpec::PrioritySort(_) => "task.bits, task.max_inputs, task.answers",
        TaskSpec::CopySeries(_) => "task.bits, task.max_length, task.max_sequences",
    };
    let lower = match model {
        ModelConfig::Ntm(_) => format!("{task_fields}, train.batch, memory.slots or controller_size"),
        ModelConfig::Dnc(_) => {
            format!("{task_fields}, train.batch, memory.slots (its link matrix is N x N per step) or controller_size")
        }
        ModelConfig::Lstm(_) => format!("{task_fields}, train.batch or the LSTM's size"),
        ModelConfig::Attention(_) => format!("{task_fields}, train.batch, the model's size or attention"),
        ModelConfig::Rnn(_) | ModelConfig::Gru(_) | ModelConfig::Dsgu(_) | ModelConfig::Custom(_) => {
            format!("{task_fields}, train.batch or the model's size")
        }
    };
    Err(Error::Invalid(format!(
        "model {name}: training needs about {} ({} for the parameters and their optimiser state, the rest for \
         batches of {batch} episodes of up to {steps} steps), more than {}; lower {lower}",
        mib(needed),
        mib(parameters),
        available.describe(),
    )))
}

/// An error unless tracing one episode of `steps` steps through NTM or DNC `name` (`ntm plot
/// heads`: the taped forward, and the trace of every head's weightings, and a DNC's link
/// matrices at the steps it keeps, kept and written as JSON, about 16 bytes a value) fits in
/// the memory available.
pub fn check_trace(name: &str, model: &ModelConfig, io: (usize, usize), steps: f64) -> Result<()> {
    let Some(available) = available() else { return Ok(()) };
    let values = match model {
        ModelConfig::Ntm(c) => steps * (c.read_heads + c.write_heads) as f64 * 2.0 * c.memory.slots as f64,
        ModelConfig::Dnc(c) => {
            let links = (c.memory.slots * c.memory.slots).min(crate::pieces::trace::LINK_TRACE_VALUES);
            steps * (6.0 + 5.0 * c.read_heads as f64) * c.memory.slots as f64 + links as f64
        }
        _ => return Ok(()),
    };
    let trace = values * 16.0;
    let needed = training_bytes(model, io, 1, steps) + trace;
    if needed <= available.usable() {
        return Ok(());
    }
    Err(Error::Invalid(format!(
        "model {name}: tracing an episode of {steps} steps needs about {} (the tape and the trace of every head's weightings), more than {}; lower --length or --slots",
        mib(needed),
        available.describe(),
    )))
}

/// Sequences to evaluate at once, at most `wanted`, so that a chunk of episodes of `steps`
/// steps fits in the memory available; an error if not even one does.
pub fn eval_chunk(name: &str, model: &ModelConfig, io: (usize, usize), steps: f64, wanted: usize) -> Result<usize> {
    let Some(available) = available() else { return Ok(wanted) };
    let budget = available.usable();
    let fits = |b: usize| eval_bytes(model, io, b, steps) <= budget;
    if fits(wanted) {
        return Ok(wanted);
    }
    if !fits(1) {
        return Err(Error::Invalid(format!(
            "model {name}: evaluating episodes of {steps} steps needs about {} even one sequence at a time, \
             more than {}; lower the test lengths or --slots",
            mib(eval_bytes(model, io, 1, steps)),
            available.describe(),
        )));
    }
    // The largest chunk that fits: the estimate grows linearly in the chunk.
    let (mut lo, mut hi) = (1, wanted);
    while hi - lo > 1 {
        let mid = (lo + hi) / 2;
        if fits(mid) {
            lo = mid
        } else {
            hi = mid
        }
    }
    Ok(lo)
}
