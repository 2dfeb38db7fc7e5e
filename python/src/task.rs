//! Tasks: `ntm.Task` (a built-in task of the `ntm-tasks` crate) and its `ntm.Batch` as numpy
//! arrays; a task written in Python ([`PyTask`]), any object with the widths, a range of
//! lengths and `sample(rng_seed, batch, length)`, trained through the library's `Task` trait
//! like a built-in one.

use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};

use ntm::base::limits::{check_size, MAX_BATCH, MAX_UNITS};
use ntm_tasks::{LengthWords, TaskSpec, MAX_LENGTH, MAX_REPEATS};
use pyo3::exceptions::PyIndexError;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::convert::{array, floats, py_to_toml, toml_to_py};
use crate::errors::{value_error, OrPy};

/// A built-in task of the toolkit (copy, repeat-copy, associative-recall, dynamic-ngrams,
/// priority-sort, copy-series) with its settings, as an experiment's [task] table gives them:
/// Task("copy", bits=8, max_length=20). Unknown settings and values out of range raise
/// ValueError.
///
/// sample() draws batches as numpy arrays, time-major as the models take them.
#[pyclass(frozen, module = "ntm")]
pub struct Task {
    pub spec: TaskSpec,
    task: Box<dyn ntm_tasks::Task>,
}

impl Task {
    pub fn built_in(spec: TaskSpec) -> Self {
        let task = spec.build();
        Self { spec, task }
    }
}

#[pymethods]
impl Task {
    /// The task of `kind` ("copy", "repeat-copy", "associative-recall", "dynamic-ngrams",
    /// "priority-sort", "copy-series") with `settings` (the fields of its [task] table;
    /// defaults: the paper's, copy series' its own).
    #[new]
    #[pyo3(signature = (kind, **settings))]
    fn new(kind: &str, settings: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
        let mut table = match settings {
            Some(settings) => match py_to_toml(settings.as_any(), "task")? {
                toml::Value::Table(table) => table,
                _ => unreachable!("a dict is a table"),
            },
            None => toml::map::Map::new(),
        };
        table.insert("kind".to_owned(), toml::Value::String(kind.to_owned()));
        // serde's message may add the key on a line of its own: one line, as every error.
        let spec: TaskSpec = toml::Value::Table(table)
            .try_into()
            .map_err(|e| value_error(format!("task: {}", one_line(&e.to_string()))))?;
        spec.validate().map_err(value_error)?;
        Ok(Self::built_in(spec))
    }

    /// The task's name ("copy", ...).
    #[getter]
    fn name(&self) -> &'static str {
        self.task.name()
    }

    /// Channels per input vector.
    #[getter]
    fn input_width(&self) -> usize {
        self.task.input_width()
    }

    /// Channels per target vector (and so per model output).
    #[getter]
    fn output_width(&self) -> usize {
        self.task.output_width()
    }

    /// The training range of its length, (min, max) inclusive (associative recall: items;
    /// copy series: sequences per episode).
    #[getter]
    fn length_range(&self) -> (usize, usize) {
        self.task.length_range()
    }

    /// The training range of its repeat count (repeat copy), or None.
    #[getter]
    fn repeat_range(&self) -> Option<(usize, usize)> {
        self.task.repeat_range()
    }

    /// Its settings as a dict (its [task] table).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let value = toml::Value::try_from(&self.spec).map_err(|e| value_error(e.to_string()))?;
        toml_to_py(py, &value)
    }

    /// A batch of `batch` episodes drawn from `seed` (the same seed, the same batch; as
    /// `ntm episode --seed` draws): every episode of `length` if given, else each of a length
    /// drawn from the training range; `repeats` fixes repeat copy's count likewise.
    #[pyo3(signature = (batch, length = None, *, repeats = None, seed = 0))]
    fn sample(
        &self,
        py: Python<'_>,
        batch: usize,
        length: Option<usize>,
        repeats: Option<usize>,
        seed: u64,
    ) -> PyResult<Batch> {
        let task = self.task.as_ref();
        check_size("batch", batch, MAX_BATCH).map_err(value_error)?;
        if let Some(length) = length {
            if length > MAX_LENGTH {
                return Err(value_error(format!(
                    "length = {length}: more than {MAX_LENGTH}, the longest sequence any machine could hold"
                )));
            }
            task.check_length(length).map_err(|e| value_error(format!("length = {length}: {e}")))?;
        }
        match (repeats, task.repeat_range()) {
            (Some(r), None) => {
                return Err(value_error(format!(
                    "repeats = {r}: the {} task has no repeat count (only repeat-copy has)",
                    task.name()
                )))
            }
            (Some(0), _) => return Err(value_error("repeats = 0: must be at least 1")),
            (Some(r), _) if r > MAX_REPEATS => {
                return Err(value_error(format!(
                    "repeats = {r}: more than {MAX_REPEATS}, the most repeats any machine could hold"
                )))
            }
            _ => {}
        }
        // The batch's arrays, once in the library and once in numpy.
        let steps = task.episode_steps(length.unwrap_or(task.length_range().1), repeats) as f64;
        let floats = steps * batch as f64 * (task.input_width() + task.output_width() + 1) as f64;
        let what = format!("a batch of {batch} episodes of {steps} steps");
        ntm::measure::budget::check_fits(&what, 2.0 * 4.0 * floats).or_py()?;
        let drawn = py.detach(|| task.sample_sized(&mut ChaCha8Rng::seed_from_u64(seed), batch, length, repeats));
        Batch::new(py, drawn, task.length_words())
    }

    fn __repr__(&self) -> String {
        let value = toml::Value::try_from(&self.spec).map(|v| v.to_string()).unwrap_or_default();
        format!("Task({:?}: {})", self.task.name(), value.trim().replace('\n', ", "))
    }
}

/// A batch of episodes as numpy arrays, time-major as the models take them: inputs
/// [T, B, input_width], targets [T, B, output_width], mask [T, B] (1 where the target counts
/// towards the loss; elements shorter than the longest are padded with zeros and mask 0),
/// lengths [B] (each element's length), all float32 but lengths (int64).
#[pyclass(frozen, module = "ntm")]
pub struct Batch {
    /// Inputs [T, B, input_width].
    #[pyo3(get)]
    inputs: Py<PyAny>,
    /// Targets [T, B, output_width], 0 where the mask is 0.
    #[pyo3(get)]
    targets: Py<PyAny>,
    /// Mask [T, B]: 1 where the target counts.
    #[pyo3(get)]
    mask: Py<PyAny>,
    /// Each element's length [B] (the task's length parameter).
    #[pyo3(get)]
    lengths: Py<PyAny>,
    drawn: ntm_tasks::Batch,
    words: LengthWords,
}

impl Batch {
    fn new(py: Python<'_>, drawn: ntm_tasks::Batch, words: LengthWords) -> PyResult<Self> {
        let (t, b) = (drawn.time, drawn.batch);
        let lengths: Vec<i64> = drawn.lengths.iter().map(|&l| l as i64).collect();
        Ok(Self {
            inputs: array(py, drawn.inputs.clone(), &[t, b, drawn.input_width])?.unbind(),
            targets: array(py, drawn.targets.clone(), &[t, b, drawn.output_width])?.unbind(),
            mask: array(py, drawn.mask.clone(), &[t, b])?.unbind(),
            lengths: numpy::PyArray1::from_vec(py, lengths).into_any().unbind(),
            drawn,
            words,
        })
    }
}

#[pymethods]
impl Batch {
    /// Time steps T (the longest element's).
    #[getter]
    fn time(&self) -> usize {
        self.drawn.time
    }

    /// Elements B.
    #[getter]
    fn batch(&self) -> usize {
        self.drawn.batch
    }

    /// Element `index` drawn as text, as `ntm episode` prints it: input, target and mask rows
    /// over time.
    #[pyo3(signature = (index = 0))]
    fn render(&self, index: usize) -> PyResult<String> {
        if index >= self.drawn.batch {
            return Err(PyIndexError::new_err(format!("element {index} of a batch of {}", self.drawn.batch)));
        }
        Ok(ntm_tasks::render_episode_in(&self.drawn.episode(index), self.words))
    }

    fn __repr__(&self) -> String {
        let d = &self.drawn;
        format!(
            "Batch(time={}, batch={}, input_width={}, output_width={})",
            d.time, d.batch, d.input_width, d.output_width
        )
    }
}

/// A Python exception raised while a task written in Python drew a batch: carried out of the
/// library's `Task::sample_sized` (which cannot fail) by unwinding, and raised again by
/// [`catching`]. `resume_unwind` skips the panic hook, so nothing is printed on the way.
struct TaskError(PyErr);

/// Runs `f`, turning a [`TaskError`] unwinding out of it into its Python exception; any other
/// panic goes on unwinding.
pub fn catching<R>(f: impl FnOnce() -> R) -> PyResult<R> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|payload| match payload.downcast::<TaskError>() {
        Ok(error) => error.0,
        Err(other) => resume_unwind(other),
    })
}

/// A task written in Python: an object with `input_width`, `output_width`, `length_range`
/// ((min, max)), optionally `name`, and `sample(rng_seed, batch, length)` returning
/// `(inputs, targets, mask)`, numpy arrays [T, batch, input_width], [T, batch, output_width]
/// and [T, batch]. `length` is None when training (each element draws its own length from
/// `length_range`), a whole number when evaluating. `rng_seed` is drawn from the trainer's
/// (or evaluation's) generator, so training stays reproducible from the experiment's seed.
pub struct PyTask {
    object: Py<PyAny>,
    /// Its name, kept for the life of the program (`Task::name` is `&'static str`).
    name: &'static str,
    widths: (usize, usize),
    range: (usize, usize),
}

impl PyTask {
    /// Reads and checks `object`'s widths and range; a ValueError names what does not fit.
    pub fn new(object: &Bound<'_, PyAny>) -> PyResult<Self> {
        let name = match object.getattr("name").ok().and_then(|n| n.extract::<String>().ok()) {
            Some(name) => name,
            None => object.get_type().name()?.to_string(),
        };
        let count = |attribute: &str| -> PyResult<usize> {
            let value = object.getattr(attribute).map_err(|_| {
                value_error(format!(
                    "task {name}: has no {attribute} (a task needs input_width, output_width, length_range and sample)"
                ))
            })?;
            match value.extract::<usize>() {
                Ok(n) if n >= 1 => Ok(n),
                _ => Err(value_error(format!(
                    "task {name}: {attribute} = {value}: must be a whole number of at least 1"
                ))),
            }
        };
        let widths = (count("input_width")?, count("output_width")?);
        for (attribute, width) in [("input_width", widths.0), ("output_width", widths.1)] {
            check_size(&format!("task {name}: {attribute}"), width, MAX_UNITS).map_err(value_error)?;
        }
        let range = object.getattr("length_range").map_err(|_| {
            value_error(format!(
                "task {name}: has no length_range (a task needs input_width, output_width, length_range and sample)"
            ))
        })?;
        let range = match range.extract::<(usize, usize)>() {
            Ok((min, max)) if 1 <= min && min <= max && max <= MAX_LENGTH => (min, max),
            _ => {
                return Err(value_error(format!(
                    "task {name}: length_range = {range}: must be (min, max) with 1 <= min <= max <= {MAX_LENGTH}"
                )))
            }
        };
        if !object.getattr("sample").is_ok_and(|s| s.is_callable()) {
            return Err(value_error(format!("task {name}: has no method sample(rng_seed, batch, length)")));
        }
        let name: &'static str = Box::leak(name.into_boxed_str());
        Ok(Self { object: object.clone().unbind(), name, widths, range })
    }

    /// `sample(seed, batch, length)` called and its arrays checked.
    fn draw(&self, py: Python<'_>, seed: u64, batch: usize, length: Option<usize>) -> PyResult<ntm_tasks::Batch> {
        let length_text = length.map_or("None".to_owned(), |l| l.to_string());
        let call = format!("task {}: sample({seed}, {batch}, {length_text})", self.name);
        let returned = self.object.bind(py).call_method1("sample", (seed, batch, length))?;
        let parts: Vec<Bound<'_, PyAny>> =
            match returned.extract::<(Bound<'_, PyAny>, Bound<'_, PyAny>, Bound<'_, PyAny>)>() {
                Ok((a, b, c)) => vec![a, b, c],
                Err(_) => {
                    return Err(value_error(format!(
                        "{call} returned a {}; expected a tuple (inputs, targets, mask) of numpy arrays",
                        returned.get_type().name()?
                    )))
                }
            };
        let (x, y) = self.widths;
        let mut arrays = Vec::new();
        for (part, (what, layout)) in parts.iter().zip([
            ("inputs", "[T, batch, input_width]"),
            ("targets", "[T, batch, output_width]"),
            ("mask", "[T, batch]"),
        ]) {
            let (values, shape) = floats(part, &format!("{call}: {what}"))?;
            arrays.push((values, shape, what, layout));
        }
        let time = arrays[0].1.first().copied().unwrap_or(0);
        let expected = [vec![time, batch, x], vec![time, batch, y], vec![time, batch]];
        for ((_, shape, what, layout), expected) in arrays.iter().zip(&expected) {
            if shape != expected || time == 0 {
                return Err(value_error(format!(
                    "{call}: {what} has shape {shape:?}; expected {expected:?}, {layout} with T >= 1"
                )));
            }
        }
        let mut drawn = ntm_tasks::Batch::zeros(time, batch, x, y);
        let mut values = arrays.into_iter().map(|(v, ..)| v);
        drawn.inputs = values.next().unwrap_or_default();
        drawn.targets = values.next().unwrap_or_default();
        drawn.mask = values.next().unwrap_or_default();
        drawn.lengths = vec![length.unwrap_or(0); batch];
        Ok(drawn)
    }
}

impl ntm_tasks::Task for PyTask {
    fn name(&self) -> &'static str {
        self.name
    }

    fn input_width(&self) -> usize {
        self.widths.0
    }

    fn output_width(&self) -> usize {
        self.widths.1
    }

    fn length_range(&self) -> (usize, usize) {
        self.range
    }

    fn sample_sized(
        &self,
        rng: &mut dyn RngCore,
        batch: usize,
        length: Option<usize>,
        repeats: Option<usize>,
    ) -> ntm_tasks::Batch {
        assert!(
            repeats.is_none(),
            "the {} task has no repeat count, but {repeats:?} repeats were asked for",
            self.name
        );
        let seed = rng.next_u64();
        match Python::attach(|py| self.draw(py, seed, batch, length)) {
            Ok(drawn) => drawn,
            Err(error) => resume_unwind(Box::new(TaskError(error))),
        }
    }
}

/// A trainer's task, and the object written in Python it came from (none for a built-in one).
type TrainerTask = (Box<dyn ntm_tasks::Task>, Option<Py<PyAny>>);

/// The task of a trainer: a built-in `Task`, or any other object as a task written in Python.
pub fn task_of(object: &Bound<'_, PyAny>) -> PyResult<TrainerTask> {
    if let Ok(task) = object.cast::<Task>() {
        return Ok((task.get().spec.build(), None));
    }
    let task = PyTask::new(object)?;
    Ok((Box::new(task), Some(object.clone().unbind())))
}

/// `text` on one line: its lines joined by spaces.
fn one_line(text: &str) -> String {
    text.lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join(" ")
}
