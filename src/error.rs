//! The library's one error type: what training, evaluation, loading a run folder and drawing
//! its figures can fail with. The command line (the binary's `src/cmd/`) adds context with
//! `anyhow` and prints it as one line.

use std::path::{Path, PathBuf};

use crate::config::ConfigError;
use crate::records::checkpoint::CheckpointError;
use crate::records::failure::Failure;

/// Anything that stops a library operation, naming the file, model or field at fault.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading or writing a file or folder.
    #[error("{path}: {cause}")]
    Io { path: PathBuf, cause: std::io::Error },
    /// An experiment file (or a model folder's `config.toml`) that cannot be used.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A checkpoint that cannot be read, written or does not fit the model.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    /// A tensor operation of a model that failed.
    #[error("model {model}: {cause}")]
    Tensor { model: String, cause: candle_core::Error },
    /// A request that cannot be met (no such model, no model in a folder, no heads to trace).
    #[error("{0}")]
    Invalid(String),
    /// A figure that could not be drawn (the message names its file; see
    /// [`crate::plot::PlotError`]).
    #[error("{0}")]
    Figure(String),
    /// A loss, gradient or parameter that is not finite; also written to `failure.json`.
    #[error("{}", .0.message)]
    Diverged(Box<Failure>),
}

/// A result with the library's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Turns an I/O error on `path` into an [`Error::Io`].
pub(crate) fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |cause| Error::Io { path: path.to_owned(), cause }
}

/// Turns a tensor error of model `model` into an [`Error::Tensor`].
pub(crate) fn tensor(model: &str) -> impl Fn(candle_core::Error) -> Error + '_ {
    move |cause| Error::Tensor { model: model.to_owned(), cause }
}
