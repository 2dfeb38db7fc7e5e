//! `ntm.Model`: a trained model, loaded from its folder (`load_model`, `load_run`) or the one a
//! `Trainer` is training; its logits on numpy inputs, a traced episode as numpy arrays, and
//! `evaluate` (what `ntm eval` computes and `eval.json` holds).

use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use ntm::base::kinds::HeadKind;
use ntm::models::factory::ModelConfig;
use ntm::models::resize::check_room;
use ntm::models::{MemoryRecord, SequenceModel};
use ntm::pieces::trace::{DncReadStep, DncStep, DncTrace, HeadStep};
use ntm::records::run_dir::{self, LoadedModel};
use ntm_tasks::{Task, MAX_LENGTH};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::convert::{array, floats, to_py};
use crate::errors::{value_error, OrPy};
use crate::experiment::Experiment;
use crate::task::{catching, Task as PyTaskClass};
use crate::trainer::{with_trainer, Trainer};

/// A trained model: loaded from its folder (ntm.load_model, ntm.load_run) or the one a Trainer
/// trains (Trainer.model, which reads the trainer's current weights). forward() gives its
/// logits on numpy inputs, trace() what its memory and heads do on an episode; ntm.evaluate()
/// tests it.
#[pyclass(frozen, module = "ntm")]
pub struct Model {
    source: Source,
}

enum Source {
    /// From a folder; with `slots`, an NTM run with that many memory slots.
    Loaded { loaded: Box<LoadedModel>, task: Box<dyn Task>, slots: Option<usize> },
    /// The model of a trainer.
    Trainer(Py<Trainer>),
}

/// What the methods read of a model, wherever it comes from.
struct Parts<'a> {
    name: &'a str,
    model: &'a dyn SequenceModel,
    config: &'a ModelConfig,
    parameters: &'a [(String, candle_core::Var)],
    task: &'a dyn Task,
    experiment: &'a ntm::Experiment,
    trained: u64,
    folder: &'a Path,
    slots: Option<usize>,
}

impl Model {
    pub fn of_trainer(trainer: Py<Trainer>) -> Self {
        Self { source: Source::Trainer(trainer) }
    }

    fn loaded(loaded: LoadedModel, slots: Option<usize>) -> Self {
        let task = loaded.experiment.task.build();
        Self { source: Source::Loaded { loaded: Box::new(loaded), task, slots } }
    }

    /// Runs `f` on the model's parts (a trainer's borrowed meanwhile).
    fn with<R>(&self, py: Python<'_>, f: impl FnOnce(Parts<'_>) -> PyResult<R>) -> PyResult<R> {
        match &self.source {
            Source::Loaded { loaded, task, slots } => f(Parts {
                name: &loaded.built.name,
                model: loaded.built.model.as_ref(),
                config: &loaded.built.config,
                parameters: &loaded.built.parameters,
                task: task.as_ref(),
                experiment: &loaded.experiment,
                trained: loaded.trained_sequences,
                folder: &loaded.dir,
                slots: *slots,
            }),
            Source::Trainer(trainer) => with_trainer(py, trainer, |t| {
                let inner = t.trainer();
                let built = inner.built();
                f(Parts {
                    name: &built.name,
                    model: built.model.as_ref(),
                    config: &built.config,
                    parameters: &built.parameters,
                    task: inner.task(),
                    experiment: inner.experiment(),
                    trained: inner.sequences(),
                    folder: t.dir(),
                    slots: None,
                })
            }),
        }
    }
}

#[pymethods]
impl Model {
    /// The model's name in its experiment.
    #[getter]
    fn name(&self, py: Python<'_>) -> PyResult<String> {
        self.with(py, |p| Ok(p.name.to_owned()))
    }

    /// "ntm", "dnc", "lstm", "rnn", "gru", "dsgu", "attention" or "custom".
    #[getter]
    fn kind(&self, py: Python<'_>) -> PyResult<&'static str> {
        self.with(py, |p| Ok(p.config.kind()))
    }

    /// Sequences it was trained on.
    #[getter]
    fn trained_sequences(&self, py: Python<'_>) -> PyResult<u64> {
        self.with(py, |p| Ok(p.trained))
    }

    /// Its model folder.
    #[getter]
    fn folder(&self, py: Python<'_>) -> PyResult<PathBuf> {
        self.with(py, |p| Ok(p.folder.to_owned()))
    }

    /// The memory slots it runs with when loaded with slots=N, else None.
    #[getter]
    fn slots(&self, py: Python<'_>) -> PyResult<Option<usize>> {
        self.with(py, |p| Ok(p.slots))
    }

    /// Its experiment (this model only when loaded from a folder).
    #[getter]
    fn experiment(&self, py: Python<'_>) -> PyResult<Experiment> {
        self.with(py, |p| Ok(Experiment::new(p.experiment.clone(), p.folder.join(run_dir::CONFIG_FILE))))
    }

    /// The task it was trained on: an ntm.Task, or a task written in Python (a trainer's).
    #[getter]
    fn task(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        match &self.source {
            Source::Loaded { loaded, .. } => {
                Ok(Bound::new(py, PyTaskClass::built_in(loaded.experiment.task.clone()))?.into_any().unbind())
            }
            Source::Trainer(trainer) => trainer.bind(py).getattr("task").map(Bound::unbind),
        }
    }

    /// Number of trainable scalars.
    #[getter]
    fn parameter_count(&self, py: Python<'_>) -> PyResult<usize> {
        self.with(py, |p| Ok(p.model.parameter_count()))
    }

    /// Its parameters by name (controller.layer0.weight, heads.read0.bias, ...), as float32
    /// numpy arrays (copies).
    fn parameters<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        self.with(py, |p| {
            let dict = PyDict::new(py);
            for (name, var) in p.parameters {
                let values = var.as_tensor().flatten_all().and_then(|t| t.to_dtype(DType::F32)?.to_vec1()).or_py()?;
                dict.set_item(name, array(py, values, var.dims())?)?;
            }
            Ok(dict)
        })
    }

    /// The logits (before the sigmoid) on `inputs`, a float32 numpy array [T, B, input_width]
    /// or one episode [T, input_width]: an array [T, B, output_width] (or [T, output_width]),
    /// the bits `ntm eval` computes.
    fn forward<'py>(&self, py: Python<'py>, inputs: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let (values, shape) = floats(inputs, "inputs")?;
        self.with(py, |p| {
            let (tensor, one) = input_tensor(values, &shape, p.task.input_width(), p.name)?;
            let io = (p.task.input_width(), p.task.output_width());
            let (steps, rows) = (shape[0] as f64, if one { 1 } else { shape[1] });
            let what = format!("model {}: a forward pass over {rows} sequences of {steps} steps", p.name);
            ntm::measure::budget::check_fits(&what, ntm::measure::budget::eval_bytes(p.config, io, rows, steps))
                .or_py()?;
            let logits = py.detach(|| p.model.forward_eval(&tensor).and_then(|l| l.flatten_all()?.to_vec1::<f32>()));
            let logits = logits.or_py()?;
            let (t, b, y) = (shape[0], if one { 1 } else { shape[1] }, p.task.output_width());
            match one {
                true => array(py, logits, &[t, y]),
                false => array(py, logits, &[t, b, y]),
            }
        })
    }

    /// What the memory and the heads do on one episode, as a dict of numpy arrays for your own
    /// figures: the episode `ntm plot heads` draws for `length` (default: the longest training
    /// length), `repeats` and `seed` (its inputs, targets, mask), or your own `inputs` [T,
    /// input_width]. Per step t, for the R read and W write heads, N slots of width M and S
    /// shifts: read_weightings [T, R, N], write_weightings [T, W, N], read_content and
    /// write_content (the content weightings, [T, heads, N]), read_keys and write_keys [T,
    /// heads, M], read_strengths and write_strengths (beta, [T, heads]), read_gates and
    /// write_gates [T, heads], read_shifts and write_shifts [T, heads, S] (over shift_offsets),
    /// read_sharpenings and write_sharpenings (gamma, [T, heads]), erase and add [T, W, M],
    /// reads [T, R, M], memory [T, N, M] (after each step's writes: what its reads read),
    /// initial_memory [N, M], logits and outputs (after the sigmoid) [T, output_width].
    #[pyo3(signature = (length = None, *, repeats = None, seed = 0, inputs = None))]
    fn trace<'py>(
        &self,
        py: Python<'py>,
        length: Option<usize>,
        repeats: Option<usize>,
        seed: u64,
        inputs: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let given = inputs.map(|i| floats(i, "inputs")).transpose()?;
        self.with(py, |p| {
            let dict = PyDict::new(py);
            let (tensor, steps) = match given {
                Some(_) if length.is_some() || repeats.is_some() => {
                    return Err(value_error("trace: give inputs, or a length (and repeats), not both"))
                }
                Some((values, shape)) => {
                    if shape.len() != 2 {
                        return Err(value_error(format!(
                            "inputs: shape {shape:?}; expected one episode, [T, {}]",
                            p.task.input_width()
                        )));
                    }
                    (input_tensor(values, &shape, p.task.input_width(), p.name)?.0, shape[0] as f64)
                }
                None => {
                    let length = length.unwrap_or_else(|| p.task.length_range().1);
                    check_episode(p.task, p.name, length, repeats)?;
                    let episode =
                        py.detach(|| catching(|| ntm::plot::episodes::figure_episode(p.task, length, repeats, seed)))?;
                    let (t, x, y) = (episode.time, episode.input_width, episode.output_width);
                    dict.set_item("length", length)?;
                    dict.set_item("repeats", repeats)?;
                    dict.set_item("inputs", array(py, episode.inputs.clone(), &[t, x])?)?;
                    dict.set_item("targets", array(py, episode.targets.clone(), &[t, y])?)?;
                    dict.set_item("mask", array(py, episode.mask.clone(), &[t])?)?;
                    let tensor = Tensor::from_vec(episode.inputs, (t, 1, x), &Device::Cpu).or_py()?;
                    (tensor, t as f64)
                }
            };
            let io = (p.task.input_width(), p.task.output_width());
            ntm::measure::budget::check_trace(p.name, p.config, io, steps).or_py()?;
            let traced = py.detach(|| -> candle_core::Result<_> {
                let (logits, record) = p.model.forward_traced_with_memory(&tensor)?;
                let logits = logits.get_on_dim(1, 0)?; // [T, Y]
                let outputs = candle_nn_sigmoid(&logits)?;
                Ok((logits.flatten_all()?.to_vec1::<f32>()?, outputs.flatten_all()?.to_vec1::<f32>()?, record))
            });
            let (logits, outputs, record) = traced.or_py()?;
            let record = record.ok_or_else(|| {
                value_error(format!(
                    "model {} ({}) has no memory heads to trace; pick an NTM or a DNC",
                    p.name,
                    p.config.kind()
                ))
            })?;
            let time = tensor.dim(0).or_py()?;
            let y = p.task.output_width();
            dict.set_item("task", p.task.name())?;
            dict.set_item("model", p.name)?;
            dict.set_item("trained_sequences", p.trained)?;
            dict.set_item("logits", array(py, logits, &[time, y])?)?;
            dict.set_item("outputs", array(py, outputs, &[time, y])?)?;
            record_arrays(py, &dict, record, time)?;
            Ok(dict)
        })
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        self.with(py, |p| {
            Ok(format!(
                "Model({:?}, {}, trained_sequences={}, folder={:?})",
                p.name,
                p.config.describe(),
                p.trained,
                p.folder.display().to_string()
            ))
        })
    }
}

/// The sigmoid of the figures (`plot::episodes`), so that `outputs` are their bits.
fn candle_nn_sigmoid(logits: &Tensor) -> candle_core::Result<Tensor> {
    candle_nn::ops::sigmoid(logits)?.to_dtype(DType::F32)
}

/// `values` of `shape` ([T, B, X] or [T, X]) as a tensor [T, B, X], checked against the
/// model's input width; true when it was one episode.
fn input_tensor(values: Vec<f32>, shape: &[usize], width: usize, name: &str) -> PyResult<(Tensor, bool)> {
    let (t, b, one) = match *shape {
        [t, x] if x == width && t >= 1 => (t, 1, true),
        [t, b, x] if x == width && t >= 1 && b >= 1 => (t, b, false),
        _ => {
            return Err(value_error(format!(
                "inputs: shape {shape:?}; model {name} takes [T, B, {width}] or one episode [T, {width}] (T, B >= 1)"
            )))
        }
    };
    Ok((Tensor::from_vec(values, (t, b, width), &Device::Cpu).or_py()?, one))
}

/// Refuses an episode `task` cannot draw, as `ntm plot heads` does.
fn check_episode(task: &dyn Task, name: &str, length: usize, repeats: Option<usize>) -> PyResult<()> {
    if length > MAX_LENGTH {
        return Err(value_error(format!(
            "--length {length}: must be at most {MAX_LENGTH}, the longest sequence any machine could hold"
        )));
    }
    task.check_length(length).map_err(|e| value_error(format!("--length {length}: {e}")))?;
    match (repeats, task.repeat_range()) {
        (Some(r), None) => Err(value_error(format!(
            "--repeats {r}: model {name} was trained on the {} task, which has no repeat count",
            task.name()
        ))),
        (Some(0), _) => Err(value_error("--repeats 0: must be at least 1")),
        _ => Ok(()),
    }
}

/// The trace `record` of `time` steps into `dict`, one array per quantity and kind of head.
fn record_arrays(py: Python<'_>, dict: &Bound<'_, PyDict>, record: MemoryRecord, time: usize) -> PyResult<()> {
    let n = record.initial_memory.len();
    let m = record.initial_memory.first().map_or(0, Vec::len);
    let s = record.shifts.len();
    dict.set_item("initial_memory", array(py, record.initial_memory.concat(), &[n, m])?)?;
    if let Some(memory) = record.memory {
        dict.set_item("memory", array(py, memory, &[time, n, m])?)?;
    }
    dict.set_item("shift_offsets", numpy::PyArray1::from_vec(py, record.shifts.clone()))?;
    if let Some(dnc) = &record.dnc {
        dict.set_item("dnc", dnc_arrays(py, dnc, (n, m))?)?;
    }
    for (kind, prefix) in [(HeadKind::Read, "read"), (HeadKind::Write, "write")] {
        let heads: Vec<_> = record.heads.iter().filter(|h| h.kind == kind).collect();
        let h = heads.len();
        // Per step, per head of this kind: `field` of its step, `width` values each.
        let gather = |field: &dyn Fn(&HeadStep) -> Vec<f32>, width: usize| -> PyResult<Bound<'_, PyAny>> {
            let mut values = Vec::with_capacity(time * h * width);
            for t in 0..time {
                for head in &heads {
                    values.extend(field(&head.steps[t]));
                }
            }
            match width {
                1 => array(py, values, &[time, h]),
                _ => array(py, values, &[time, h, width]),
            }
        };
        dict.set_item(format!("{prefix}_weightings"), gather(&|st| st.weighting.clone(), n)?)?;
        dict.set_item(format!("{prefix}_content"), gather(&|st| st.content_weighting.clone(), n)?)?;
        dict.set_item(format!("{prefix}_keys"), gather(&|st| st.key.clone(), m)?)?;
        dict.set_item(format!("{prefix}_strengths"), gather(&|st| vec![st.beta], 1)?)?;
        dict.set_item(format!("{prefix}_gates"), gather(&|st| vec![st.gate], 1)?)?;
        dict.set_item(format!("{prefix}_shifts"), gather(&|st| st.shift.clone(), s)?)?;
        dict.set_item(format!("{prefix}_sharpenings"), gather(&|st| vec![st.gamma], 1)?)?;
        match kind {
            HeadKind::Read => dict.set_item("reads", gather(&|st| st.read.clone().unwrap_or_default(), m)?)?,
            HeadKind::Write => {
                dict.set_item("erase", gather(&|st| st.erase.clone().unwrap_or_default(), m)?)?;
                dict.set_item("add", gather(&|st| st.add.clone().unwrap_or_default(), m)?)?;
            }
        }
    }
    Ok(())
}

/// A DNC's trace as numpy arrays, the fields of `ntm plot heads`' JSON (`dnc`), each stacked
/// over the T steps: the write side `[T, N]`, `[T, W]` or `[T]`, the read heads' `[T, R, ...]`,
/// the kept link matrices `[K, N, N]` with their steps.
fn dnc_arrays<'py>(py: Python<'py>, dnc: &DncTrace, (n, w): (usize, usize)) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    let time = dnc.steps.len();
    let heads = dnc.steps.first().map_or(0, |s| s.reads.len());
    let modes = dnc.read_modes.len();
    let names: Vec<&str> = dnc.read_modes.iter().map(|m| m.name()).collect();
    dict.set_item("read_mode_names", names)?;
    let write = |field: &dyn Fn(&DncStep) -> Vec<f32>, width: usize| -> PyResult<Bound<'py, PyAny>> {
        let values: Vec<f32> = dnc.steps.iter().flat_map(field).collect();
        match width {
            1 => array(py, values, &[time]),
            _ => array(py, values, &[time, width]),
        }
    };
    for (key, field) in [
        ("usage", (|s: &DncStep| s.usage.clone()) as fn(&DncStep) -> Vec<f32>),
        ("retention", |s| s.retention.clone()),
        ("allocation", |s| s.allocation.clone()),
        ("write_content", |s| s.write_content.clone()),
        ("write_weighting", |s| s.write_weighting.clone()),
        ("precedence", |s| s.precedence.clone()),
    ] {
        dict.set_item(key, write(&field, n)?)?;
    }
    for (key, field) in [
        ("write_key", (|s: &DncStep| s.write_key.clone()) as fn(&DncStep) -> Vec<f32>),
        ("erase", |s| s.erase.clone()),
        ("write_vector", |s| s.write_vector.clone()),
    ] {
        dict.set_item(key, write(&field, w)?)?;
    }
    dict.set_item("write_strength", write(&|s| vec![s.write_strength], 1)?)?;
    dict.set_item("allocation_gate", write(&|s| vec![s.allocation_gate], 1)?)?;
    dict.set_item("write_gate", write(&|s| vec![s.write_gate], 1)?)?;
    dict.set_item(
        "free_gates",
        array(py, dnc.steps.iter().flat_map(|s| s.free_gates.clone()).collect(), &[time, heads])?,
    )?;
    let read = |field: &dyn Fn(&DncReadStep) -> Vec<f32>, width: usize| -> PyResult<Bound<'py, PyAny>> {
        let values: Vec<f32> = dnc.steps.iter().flat_map(|s| s.reads.iter().flat_map(field)).collect();
        match width {
            1 => array(py, values, &[time, heads]),
            _ => array(py, values, &[time, heads, width]),
        }
    };
    for (key, field) in [
        ("read_content", (|r: &DncReadStep| r.content.clone()) as fn(&DncReadStep) -> Vec<f32>),
        ("read_forward", |r| r.forward.clone()),
        ("read_backward", |r| r.backward.clone()),
        ("read_weightings", |r| r.weighting.clone()),
    ] {
        dict.set_item(key, read(&field, n)?)?;
    }
    dict.set_item("read_keys", read(&|r| r.key.clone(), w)?)?;
    dict.set_item("reads", read(&|r| r.read.clone(), w)?)?;
    dict.set_item("read_strengths", read(&|r| vec![r.strength], 1)?)?;
    dict.set_item("read_modes", read(&|r| r.modes.clone(), modes)?)?;
    let steps: Vec<usize> = dnc.links.iter().map(|l| l.step).collect();
    let matrices: Vec<f32> = dnc.links.iter().flat_map(|l| l.matrix.concat()).collect();
    dict.set_item("link_steps", steps)?;
    dict.set_item("links", array(py, matrices, &[dnc.links.len(), n, n])?)?;
    Ok(dict)
}

/// Loads the trained model at `path`: a model folder, a checkpoint file in one (that file's
/// weights), or a run folder with `model` naming one of its models. With `slots`, an NTM runs
/// with that many memory slots (test-time memory size, docs/test-time-memory.md).
#[pyfunction]
#[pyo3(signature = (path, model = None, *, slots = None))]
pub fn load_model(py: Python<'_>, path: PathBuf, model: Option<&str>, slots: Option<usize>) -> PyResult<Model> {
    let dirs = run_dir::model_dirs(&path).or_py()?;
    let names: Vec<String> = dirs.iter().map(|d| d.file_name().unwrap_or_default().to_string_lossy().into()).collect();
    let index = match (model, dirs.len()) {
        (None, 1) => 0,
        (None, _) => {
            return Err(value_error(format!(
                "{}: a run folder of several models ({}); name one (load_model(path, model=...)) or load them all (load_run)",
                path.display(),
                names.join(", ")
            )))
        }
        (Some(name), _) => names.iter().position(|n| n == name).ok_or_else(|| {
            value_error(format!("{}: no model named {name:?} here (it has {names:?})", path.display()))
        })?,
    };
    let dir = &dirs[index];
    let loaded = py.detach(|| match path.is_file() {
        true => run_dir::load_model_weights(dir, &path, slots),
        false => run_dir::load_model_sized(dir, slots),
    });
    Ok(Model::loaded(loaded.or_py()?, slots))
}

/// Loads every model of the run folder at `path`, by name. With `slots`, the NTMs run with
/// that many memory slots and the models without memory (the LSTM) are left out, with a
/// warning, as `ntm eval --slots` leaves them out.
#[pyfunction]
#[pyo3(signature = (path, *, slots = None))]
pub fn load_run<'py>(py: Python<'py>, path: PathBuf, slots: Option<usize>) -> PyResult<Bound<'py, PyDict>> {
    let models = PyDict::new(py);
    for dir in run_dir::model_dirs(&path).or_py()? {
        if let (Some(n), (false, name)) = (slots, run_dir::has_memory(&dir).or_py()?) {
            let note = format!("slots={n}: model {name} has no memory slots; left out");
            PyErr::warn(py, &py.get_type::<pyo3::exceptions::PyUserWarning>(), &std::ffi::CString::new(note)?, 1)?;
            continue;
        }
        let loaded = py.detach(|| run_dir::load_model_sized(&dir, slots)).or_py()?;
        let name = loaded.built.name.clone();
        models.set_item(name, Model::loaded(loaded, slots))?;
    }
    Ok(models)
}

/// Tests `model` on `sequences` episodes of each of `lengths` (and, for repeat copy, each
/// of `repeats`), the same episodes `ntm eval` draws from the experiment's seed; defaults:
/// the experiment's [eval]. Returns what eval.json holds: {"model", "task", "results":
/// [{"length", "loss_bits", "bit_errors", "sequences", ...}]}, bit for bit `ntm eval --json`'s.
/// save=True also writes it as the model folder's eval.json (as `ntm eval --save`).
#[pyfunction]
#[pyo3(signature = (model, lengths = None, sequences = None, *, repeats = None, save = false))]
pub fn evaluate<'py>(
    py: Python<'py>,
    model: &Model,
    lengths: Option<Vec<usize>>,
    sequences: Option<usize>,
    repeats: Option<Vec<usize>>,
    save: bool,
) -> PyResult<Bound<'py, PyAny>> {
    model.with(py, |p| {
        let asked = (lengths.as_deref(), sequences, repeats.as_deref());
        let plan = ntm::measure::eval::eval_plan(&p.experiment.eval, asked, p.name, p.task).or_py()?;
        if let Some(slots) = p.slots {
            for &length in &plan.lengths {
                check_room(&p.experiment.task, slots, length).map_err(value_error)?;
            }
        }
        let report = py.detach(|| {
            catching(|| ntm::measure::eval::evaluate_model_on(p.name, p.model, p.experiment, p.task, &plan))
        })?;
        let mut report = report.or_py()?;
        for result in &mut report.results {
            result.slots = p.slots;
        }
        if save {
            run_dir::write_eval(p.folder, &report).or_py()?;
        }
        to_py(py, &report)
    })
}
