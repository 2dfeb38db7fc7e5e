//! `ntm.Trainer`: the library's `Trainer` on one model of an experiment, writing and resuming
//! the model folder `ntm train` writes (`<out>/<model>/`), with the GIL released while it
//! computes and Ctrl-C (KeyboardInterrupt) stopping `fit` with a checkpoint.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, RecvTimeoutError};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use ntm::measure::budget;
use ntm::records::report::MetricsRecord;
use ntm::records::run_dir;
use ntm::train::progress::{Event, Progress};
use pyo3::exceptions::{PyKeyboardInterrupt, PyRuntimeError};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::convert::to_py;
use crate::errors::{value_error, OrPy};
use crate::experiment::Experiment;
use crate::model::Model;
use crate::task::{catching, task_of, Task};

/// How long `fit` leaves Python alone between two looks at its signals (Ctrl-C).
const SIGNAL_CHECK: Duration = Duration::from_millis(50);

/// One model of an experiment in training: model, optimiser and data stream, all from the
/// experiment's seed, and its model folder <out>/<model>/ (out defaults to runs/<name>/), the
/// folder `ntm train` writes: a run trained here resumes with `ntm train --resume`, bit for bit,
/// and the other way round.
///
/// As the command line does, a folder that already holds a run is refused (FileExistsError)
/// unless resume=True (continue it; from scratch if it holds no checkpoint yet) or
/// overwrite=True (empty it first). It holds the folder's lock while it writes (here, in fit
/// and in save): a folder another process writes into is refused. task: a task of your own
/// instead of the experiment's [task] (an object with input_width, output_width, length_range
/// and sample(rng_seed, batch, length), or an ntm.Task).
#[pyclass(module = "ntm")]
pub struct Trainer {
    /// In a mutex only to be `Sync`, as a Python object must be (the optimiser's state is not):
    /// Python's borrow of the object already keeps its users apart.
    inner: Mutex<ntm::Trainer>,
    dir: PathBuf,
    /// The task written in Python it trains on, if any.
    python_task: Option<Py<PyAny>>,
}

#[pymethods]
impl Trainer {
    #[new]
    #[pyo3(signature = (experiment, model, *, out = None, task = None, resume = false, overwrite = false))]
    fn new(
        py: Python<'_>,
        experiment: &Experiment,
        model: &str,
        out: Option<PathBuf>,
        task: Option<&Bound<'_, PyAny>>,
        resume: bool,
        overwrite: bool,
    ) -> PyResult<Self> {
        if resume && overwrite {
            return Err(value_error(
                "resume=True and overwrite=True: pass one or the other (resume continues the run in the folder, overwrite replaces it)",
            ));
        }
        let exp = &experiment.inner;
        let (mut inner, python_task) = match task {
            None => {
                let trainer = ntm::Trainer::new(exp, model).or_py()?;
                ntm::measure::budget::check_training(exp, model).or_py()?;
                (trainer, None)
            }
            Some(task) => {
                let (task, object) = task_of(task)?;
                check_training_on(exp, model, task.as_ref())?;
                (ntm::Trainer::with_task(exp, model, task).or_py()?, object)
            }
        };
        let dir = out.unwrap_or_else(|| run_dir::default_run_dir(exp)).join(model);
        let _lock = lock_folder(&dir)?;
        if run_dir::prepare_model_dir(&dir, resume, overwrite).or_py()? {
            py.detach(|| catching(|| inner.resume(&dir)))?.or_py()?;
        }
        Ok(Self { inner: Mutex::new(inner), dir, python_task })
    }

    /// Trains on the next batch of the data stream, in memory (the folder is written by fit
    /// and save), and says what happened. A Step of kind "fault" (a loss or gradient that is
    /// not finite) changed nothing.
    fn step(&mut self, py: Python<'_>) -> PyResult<Step> {
        let trainer = self.inner.get_mut().unwrap_or_else(PoisonError::into_inner);
        let step = py.detach(|| catching(|| trainer.step()))?.or_py()?;
        Ok(Step::from(step))
    }

    /// Trains into the model folder until `sequences` (default and at most: train.sequences)
    /// have been trained, writing config.toml, metrics.jsonl and checkpoints as `ntm train`
    /// does, and saving a checkpoint at the end. `callback(record)` is called with each
    /// metrics line (a dict: sequences, loss_bits, bit_errors, seconds, skipped) as it is
    /// written; returning False stops training there (with a checkpoint). The GIL is released
    /// while it trains. KeyboardInterrupt (Ctrl-C, a notebook's interrupt) stops it after the
    /// current batch with a checkpoint, then is raised again; Trainer(..., resume=True) or
    /// `ntm train --resume` continues exactly. Divergence raises ntm.DivergedError (the
    /// folder's failure.json says more). Returns how training ended (a dict: sequences,
    /// seconds, interrupted, last, folder, message).
    #[pyo3(signature = (sequences = None, callback = None))]
    fn fit<'py>(
        &mut self,
        py: Python<'py>,
        sequences: Option<u64>,
        callback: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let total = self.trainer().settings().sequences;
        let until = sequences.unwrap_or(total);
        if until > total {
            return Err(value_error(format!(
                "sequences = {until}: more than train.sequences = {total}; raise train.sequences (an override) to train longer"
            )));
        }
        let stop = Arc::new(AtomicBool::new(self.trainer().sequences() >= until));
        // Each metrics line goes to this thread, which answers whether to go on.
        let (lines, received) = channel::<MetricsRecord>();
        let (answer, answers) = channel::<bool>();
        let (received, answers) = (Mutex::new(received), Mutex::new(answers));
        let observer_stop = stop.clone();
        let reporting = callback.is_some();
        let lines = Mutex::new(lines);
        let progress = Progress::observed(move |event| match event {
            Event::Advanced(done) if done >= until => observer_stop.store(true, Ordering::SeqCst),
            Event::Reported(record) if reporting => {
                let sent = lines.lock().expect("the metrics channel").send(record.clone()).is_ok();
                let go_on = sent && answers.lock().expect("the answers").recv().unwrap_or(false);
                if !go_on {
                    observer_stop.store(true, Ordering::SeqCst);
                }
            }
            _ => {}
        });
        let dir = &self.dir;
        let _lock = lock_folder(dir)?;
        let trainer = self.inner.get_mut().unwrap_or_else(PoisonError::into_inner);
        let mut failure: Option<PyErr> = None;
        let fitted = std::thread::scope(|scope| {
            let worker = scope.spawn(|| catching(|| trainer.fit(dir, &progress, &stop)));
            loop {
                match py.detach(|| received.lock().expect("the metrics channel").recv_timeout(SIGNAL_CHECK)) {
                    Ok(record) => {
                        // No early return here: the training thread waits for this answer.
                        let go_on = match (&failure, &callback) {
                            (None, Some(callback)) => match to_py(py, &record).and_then(|r| callback.call1((r,))) {
                                Ok(value) => !matches!(value.extract::<bool>(), Ok(false)),
                                Err(error) => {
                                    failure = Some(error);
                                    false
                                }
                            },
                            _ => false,
                        };
                        let _ = answer.send(go_on);
                    }
                    Err(RecvTimeoutError::Timeout) if worker.is_finished() => break,
                    Err(RecvTimeoutError::Timeout) | Err(RecvTimeoutError::Disconnected) => {
                        if failure.is_none() {
                            if let Err(error) = py.check_signals() {
                                stop.store(true, Ordering::SeqCst);
                                failure = Some(error);
                            }
                        }
                    }
                }
            }
            py.detach(|| worker.join()).unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        });
        let outcome = fitted?.or_py()?;
        match failure {
            Some(error) if error.is_instance_of::<PyKeyboardInterrupt>(py) => {
                Err(PyKeyboardInterrupt::new_err(format!(
                    "training stopped: checkpoint saved in {} at {} sequences; Trainer(..., resume=True) or \
                     `ntm train ... --resume` continues it",
                    self.dir.display(),
                    outcome.sequences
                )))
            }
            Some(error) => Err(error),
            None => {
                let result = PyDict::new(py);
                result.set_item("sequences", outcome.sequences)?;
                result.set_item("seconds", outcome.seconds)?;
                result.set_item("interrupted", outcome.interrupted)?;
                let last = outcome.last.as_ref().map(|r| to_py(py, r)).transpose()?;
                result.set_item("last", last)?;
                result.set_item("folder", &self.dir)?;
                result.set_item("message", outcome.describe(self.trainer().name(), &self.dir))?;
                Ok(result.into_any())
            }
        }
    }

    /// Writes a checkpoint of the current state into the model folder, with its config.toml
    /// (made if need be, as fit makes it), so that Trainer(..., resume=True) and `ntm train
    /// --resume` continue from here (DivergedError if a parameter is not finite; the checkpoint
    /// on disk is then kept).
    fn save(&mut self, py: Python<'_>) -> PyResult<()> {
        let dir = &self.dir;
        let _lock = lock_folder(dir)?;
        let trainer = self.inner.get_mut().unwrap_or_else(PoisonError::into_inner);
        py.detach(|| {
            std::fs::create_dir_all(dir).map_err(|cause| ntm::Error::Io { path: dir.clone(), cause })?;
            run_dir::write_config(dir, trainer.experiment(), trainer.name())?;
            trainer.save(dir)
        })
        .or_py()
    }

    /// The model's name in the experiment.
    #[getter]
    fn name(&self) -> String {
        self.trainer().name().to_owned()
    }

    /// Sequences trained so far.
    #[getter]
    fn sequences(&self) -> u64 {
        self.trainer().sequences()
    }

    /// True once train.sequences have been trained.
    #[getter]
    fn finished(&self) -> bool {
        self.trainer().finished()
    }

    /// The longest length the next batch may have under train.curriculum (None without one).
    #[getter]
    fn max_length(&self) -> Option<usize> {
        self.trainer().max_length()
    }

    /// The model folder it trains into: <out>/<model>/.
    #[getter]
    fn folder(&self) -> PathBuf {
        self.dir.clone()
    }

    /// The experiment (all its models).
    #[getter]
    fn experiment(&self) -> Experiment {
        Experiment::new(self.trainer().experiment().clone(), PathBuf::from("<trainer>"))
    }

    /// The training settings of this model: [train] with its own [train.models.<name>].
    #[getter]
    fn settings<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, self.trainer().settings())
    }

    /// The task it trains on: an ntm.Task, or the task written in Python it was given.
    #[getter]
    fn task(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        match &self.python_task {
            Some(object) => Ok(object.clone_ref(py)),
            None => {
                let spec = self.trainer().experiment().task.clone();
                Ok(Bound::new(py, Task::built_in(spec))?.into_any().unbind())
            }
        }
    }

    /// The model being trained, as an ntm.Model (forward, trace, evaluate); it reads the
    /// trainer's current weights whenever used.
    #[getter]
    fn model(slf: &Bound<'_, Self>) -> Model {
        Model::of_trainer(slf.clone().unbind())
    }

    fn __repr__(&self) -> String {
        let trainer = self.trainer();
        format!(
            "Trainer({:?}, sequences={}/{}, folder={:?})",
            trainer.name(),
            trainer.sequences(),
            trainer.settings().sequences,
            self.dir.display().to_string()
        )
    }
}

/// What one training step did. kind: "trained" (the parameters were updated), "skipped" (a
/// gradient that was not finite, within train.skip_nonfinite: counted, not applied) or
/// "fault" (a loss or gradient that was not finite: nothing changed). loss_bits and
/// bit_errors are the batch's means per sequence; norm (the gradient norm) and tensor (the
/// first parameter whose gradient is not finite) are given for faults and skips.
#[pyclass(frozen, module = "ntm")]
pub struct Step {
    #[pyo3(get)]
    kind: &'static str,
    /// Sequences in the batch.
    #[pyo3(get)]
    batch: usize,
    #[pyo3(get)]
    loss_bits: f64,
    #[pyo3(get)]
    bit_errors: Option<f64>,
    #[pyo3(get)]
    norm: Option<f64>,
    #[pyo3(get)]
    tensor: Option<String>,
}

impl From<ntm::Step> for Step {
    fn from(step: ntm::Step) -> Self {
        match step {
            ntm::Step::Trained { batch, loss_bits, bit_errors } => {
                Step { kind: "trained", batch, loss_bits, bit_errors: Some(bit_errors), norm: None, tensor: None }
            }
            ntm::Step::Skipped { batch, loss_bits, bit_errors, norm } => {
                Step { kind: "skipped", batch, loss_bits, bit_errors: Some(bit_errors), norm: Some(norm), tensor: None }
            }
            ntm::Step::Fault { batch, loss_bits, bit_errors, norm, tensor } => {
                Step { kind: "fault", batch, loss_bits, bit_errors, norm: Some(norm), tensor }
            }
        }
    }
}

#[pymethods]
impl Step {
    fn __repr__(&self) -> String {
        let errors = self.bit_errors.map_or("None".to_owned(), |e| format!("{e:.4}"));
        format!("Step({:?}, batch={}, loss_bits={:.4}, bit_errors={errors})", self.kind, self.batch, self.loss_bits)
    }
}

/// An error unless training model `name` of `experiment` on `task` (a task of your own) fits
/// in the memory available, as `ntm::measure::budget::check_training` checks the experiment's
/// own task: one episode of its longest length is drawn to count its steps.
fn check_training_on(experiment: &ntm::Experiment, name: &str, task: &dyn ntm_tasks::Task) -> PyResult<()> {
    let Some(config) = experiment.models.get(name) else { return Ok(()) }; // the trainer names it
    let steps = catching(|| task.episode_steps(task.length_range().1, None))? as f64;
    let io = (task.input_width(), task.output_width());
    let batch = experiment.train.for_model(name).batch;
    let bytes = budget::training_bytes(config, io, batch, steps);
    let what = format!(
        "model {name}: training on the {} task (batches of {batch} episodes of up to {steps} steps)",
        task.name()
    );
    budget::check_fits(&what, bytes).or_py()
}

/// The trainer a `Model` reads, borrowed for as long as `f` runs.
pub fn with_trainer<R>(py: Python<'_>, trainer: &Py<Trainer>, f: impl FnOnce(&Trainer) -> PyResult<R>) -> PyResult<R> {
    let trainer = trainer
        .bind(py)
        .try_borrow()
        .map_err(|_| PyRuntimeError::new_err("the trainer is busy (training): use its model once fit returns"))?;
    f(&trainer)
}

impl Trainer {
    /// The model folder.
    pub fn dir(&self) -> &std::path::Path {
        &self.dir
    }

    /// The library's trainer (never contended: see `inner`).
    pub fn trainer(&self) -> MutexGuard<'_, ntm::Trainer> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The lock of model folder `dir` (made if need be), held while a trainer prepares, fits or
/// saves into it: one writer per folder, as for `ntm train`; a folder another process (or
/// another trainer in a thread) writes into is refused with one line naming the holder.
fn lock_folder(dir: &std::path::Path) -> PyResult<ntm::records::lock::FolderLock> {
    ntm::records::lock::FolderLock::acquire(dir, "python ntm.Trainer").or_py()
}
