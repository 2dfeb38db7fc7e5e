//! The library's errors as Python exceptions: the class that fits what went wrong, the message
//! the `ntm` command prints for it (its one line, without `error: `).
//!
//! | `ntm::Error` | Python |
//! | --- | --- |
//! | `Io` (and an experiment file that cannot be read) | by the I/O error's kind: `FileNotFoundError`, `FileExistsError`, `PermissionError`, `IsADirectoryError`, `NotADirectoryError`, else `OSError` |
//! | `Config` (an experiment that cannot be used), `Invalid` | `ValueError` |
//! | `Checkpoint` | `FileNotFoundError` (no such file), `OSError` (cannot write), else `ValueError` (of another model's shape, truncated) |
//! | `Tensor`, `Figure` | `RuntimeError` |
//! | `Diverged` | `ntm.DivergedError`, a `RuntimeError` |

use std::io::ErrorKind;

use ntm::config::ConfigError;
use ntm::records::checkpoint::CheckpointError;
use ntm::Error;
use pyo3::exceptions::{
    PyFileExistsError, PyFileNotFoundError, PyIsADirectoryError, PyNotADirectoryError, PyOSError, PyPermissionError,
    PyRuntimeError, PyValueError,
};
use pyo3::prelude::*;

pyo3::create_exception!(
    ntm,
    DivergedError,
    PyRuntimeError,
    "Training diverged: a loss, gradient or parameter that is not finite. The model folder's \
     failure.json says where; the last good checkpoint is kept."
);

/// `error` as the Python exception of the fitting class, with the library's message.
pub fn to_py(error: Error) -> PyErr {
    let message = error.to_string();
    match &error {
        Error::Io { cause, .. } | Error::Config(ConfigError::Read { cause, .. }) => io_error(cause.kind(), message),
        Error::Config(_) | Error::Invalid(_) => PyValueError::new_err(message),
        Error::Checkpoint(CheckpointError::Read { path, .. }) if !path.exists() => {
            PyFileNotFoundError::new_err(message)
        }
        Error::Checkpoint(CheckpointError::Write { .. }) => PyOSError::new_err(message),
        Error::Checkpoint(_) => PyValueError::new_err(message),
        Error::Tensor { .. } | Error::Figure(_) => PyRuntimeError::new_err(message),
        Error::Diverged(_) => DivergedError::new_err(message),
    }
}

/// The `OSError` subclass Python itself raises for an I/O error of `kind`.
fn io_error(kind: ErrorKind, message: String) -> PyErr {
    match kind {
        ErrorKind::NotFound => PyFileNotFoundError::new_err(message),
        ErrorKind::AlreadyExists => PyFileExistsError::new_err(message),
        ErrorKind::PermissionDenied => PyPermissionError::new_err(message),
        ErrorKind::IsADirectory => PyIsADirectoryError::new_err(message),
        ErrorKind::NotADirectory => PyNotADirectoryError::new_err(message),
        _ => PyOSError::new_err(message),
    }
}

/// A `ValueError` with `message`.
pub fn value_error(message: impl Into<String>) -> PyErr {
    PyValueError::new_err(message.into())
}

/// Results of the library as Python results.
pub trait OrPy<T> {
    fn or_py(self) -> PyResult<T>;
}

impl<T> OrPy<T> for ntm::Result<T> {
    fn or_py(self) -> PyResult<T> {
        self.map_err(to_py)
    }
}

impl<T> OrPy<T> for Result<T, ConfigError> {
    fn or_py(self) -> PyResult<T> {
        self.map_err(|e| to_py(e.into()))
    }
}

impl<T> OrPy<T> for candle_core::Result<T> {
    fn or_py(self) -> PyResult<T> {
        self.map_err(|e| PyRuntimeError::new_err(e.to_string()))
    }
}
