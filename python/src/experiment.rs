//! `ntm.Experiment`: an experiment file (`ntm::Experiment`), from a file, a string or a dict,
//! with overrides in the `--set` form.

use std::path::{Path, PathBuf};

use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::convert::{py_to_toml, toml_to_py};
use crate::errors::{value_error, OrPy};
use crate::task::Task;

/// An experiment: the task, the models by name, how to train and how to test them, exactly as
/// an experiment file holds it (docs/experiment-files.md lists every field). Unknown keys and
/// values out of range raise ValueError naming the file, the field and the value.
///
/// Make one with Experiment.load(path), Experiment.from_dict(dict) or
/// Experiment.from_toml(text); each takes overrides in the form of the command line's --set,
/// e.g. ["train.sequences=2000", "models.ntm.memory.slots=64"].
#[pyclass(frozen, module = "ntm")]
pub struct Experiment {
    pub inner: ntm::Experiment,
    /// Where it came from, named in errors (`<dict>`, `<string>` when not a file).
    pub path: PathBuf,
}

impl Experiment {
    pub fn new(inner: ntm::Experiment, path: PathBuf) -> Self {
        Self { inner, path }
    }
}

#[pymethods]
impl Experiment {
    /// Reads the experiment file at `path` and applies `overrides` ("key=value", as --set).
    #[staticmethod]
    #[pyo3(signature = (path, overrides = None))]
    fn load(path: PathBuf, overrides: Option<Vec<String>>) -> PyResult<Self> {
        let inner = ntm::Experiment::load(&path, &overrides.unwrap_or_default()).or_py()?;
        Ok(Self::new(inner, path))
    }

    /// The experiment written in TOML `text`, with `overrides`; `path` names it in errors.
    #[staticmethod]
    #[pyo3(signature = (text, overrides = None, path = PathBuf::from("<string>")))]
    fn from_toml(text: &str, overrides: Option<Vec<String>>, path: PathBuf) -> PyResult<Self> {
        let inner = ntm::Experiment::from_toml(text, &path, &overrides.unwrap_or_default()).or_py()?;
        Ok(Self::new(inner, path))
    }

    /// The experiment a dict holds, keyed as the file is (`{"name": ..., "task": {"kind":
    /// "copy", ...}, "models": {"ntm": {...}}, "train": {...}, "eval": {...}}`), with
    /// `overrides`; errors name it `<dict>`.
    #[staticmethod]
    #[pyo3(signature = (data, overrides = None))]
    fn from_dict(data: &Bound<'_, PyDict>, overrides: Option<Vec<String>>) -> PyResult<Self> {
        let text = toml_text(data)?;
        Self::from_toml(&text, overrides, PathBuf::from("<dict>"))
    }

    /// This experiment with more `overrides` applied ("key=value", as --set).
    fn with_overrides(&self, overrides: Vec<String>) -> PyResult<Self> {
        let inner = ntm::Experiment::from_toml(&self.inner.to_toml(), &self.path, &overrides).or_py()?;
        Ok(Self::new(inner, self.path.clone()))
    }

    /// The experiment's name (its run folder defaults to runs/<name>/).
    #[getter]
    fn name(&self) -> &str {
        &self.inner.name
    }

    /// The seed of initial weights, training data and evaluation data.
    #[getter]
    fn seed(&self) -> u64 {
        self.inner.seed
    }

    /// The names of its models, sorted.
    #[getter]
    fn models(&self) -> Vec<String> {
        self.inner.models.keys().cloned().collect()
    }

    /// The file it was read from (`<dict>` or `<string>` otherwise).
    #[getter]
    fn path(&self) -> PathBuf {
        self.path.clone()
    }

    /// Its task (the `[task]` table), to draw batches from.
    #[getter]
    fn task(&self) -> Task {
        Task::built_in(self.inner.task.clone())
    }

    /// The resolved experiment as a dict (what experiment.toml holds).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let value: toml::Value = toml::from_str(&self.inner.to_toml()).map_err(|e| value_error(e.to_string()))?;
        toml_to_py(py, &value)
    }

    /// The resolved experiment as TOML (what experiment.toml holds).
    fn to_toml(&self) -> String {
        self.inner.to_toml()
    }

    fn __repr__(&self) -> String {
        format!("Experiment({:?}, models={:?}, path={:?})", self.inner.name, self.models(), path_text(&self.path))
    }
}

/// The TOML text of a dict.
pub fn toml_text(data: &Bound<'_, PyDict>) -> PyResult<String> {
    let value = py_to_toml(data.as_any(), "")?;
    toml::to_string(&value).map_err(|e| value_error(format!("<dict>: {e}")))
}

fn path_text(path: &Path) -> String {
    path.display().to_string()
}
