//! Figures drawn from the records a run writes (`trace.json`, `metrics.jsonl`, `eval.json`,
//! output samples), as PNG files.
//!
//! Every figure is a pure function from data to a file; nothing here needs the model.
//!
//! | function | figure | paper |
//! | --- | --- | --- |
//! | [`plot_heads`] | inputs, targets, outputs and every head's weighting over time (a DNC: its write side, allocation, usage, read weightings and modes) | fig. 6 |
//! | [`plot_links`] | a DNC's link matrix after the input and after the last step | - |
//! | [`plot_contexts`] | dynamic N-grams: each head's mean weighting per memory slot, by context | fig. 15 |
//! | [`plot_curves`] | loss and bit errors against sequences seen, one line per model (with a known optimum: loss and loss above it) | figs. 3, 13 |
//! | [`plot_generalisation`] | bit errors and loss against test length, training range shaded | - |
//! | [`plot_outputs`] | target above output at each test length, one column per model | figs. 4, 5 |
//! | [`plot_gradient_flow`] | the mean norm of the gradient of an answer step's loss against the input d steps earlier, untrained and trained | - |
//! | [`plot_heads_film`], [`plot_outputs_film`] | the heads (or outputs) figure of each snapshot of a model in training, as the frames of an animated GIF | - |
//! | [`plot_priorities`] | priority sort: the slot each head weights against the priority of the vector concerned | fig. 17 |
//! | [`plot_sweep_curves`] | a sweep's learning curves: median, interquartile band, every seed | - |
//! | [`plot_sweep_generalisation`] | a sweep's bit errors and loss against test length, likewise | - |
//! | [`plot_sweep_convergence`] | per seed: sequences to converge, relapses, divergence | - |
//! | [`plot_scaling`] | the bench's time and memory against memory slots, log-log, with slopes | - |
//!
//! Text uses a font compiled into the binary (see `style.rs`), so figures render on machines
//! without system fonts. Bad data (NaN, infinities, ragged matrices) never panics: it is
//! drawn grey, clamped or skipped; data with nothing to draw is a [`PlotError::Empty`].

mod axes;
mod contexts;
mod convergence;
mod curves;
pub mod dynamics;
pub mod episodes;
pub mod figures;
mod film;
mod generalisation;
mod gradient_flow;
mod grid;
mod heads;
mod links;
mod optimum;
mod outputs;
mod priorities;
mod repeat_grid;
mod scaling;
mod smooth;
mod style;
mod sweep;

use std::fmt::Display;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

pub use contexts::{context_bits, plot_contexts, ContextUse, HeadContexts};
pub use convergence::plot_sweep_convergence;
pub use curves::plot_curves;
pub use film::{plot_heads_film, plot_outputs_film};
pub use generalisation::{plot_generalisation, LengthRange};
pub use gradient_flow::{plot_gradient_flow, FlowLine, FlowPanel};
pub use heads::plot_heads;
pub use links::plot_links;
pub use outputs::{outputs_layout, plot_outputs, plot_outputs_in, OutputsLayout};
pub use priorities::{head_priorities, plot_priorities, HeadPoint, HeadPriorities};
pub use repeat_grid::{plot_repeat_grid, RepeatCell, RepeatPanel, TrainingRegion};
pub use scaling::{log_log_slope, plot_scaling};
pub use sweep::{plot_sweep_curves, plot_sweep_generalisation};

/// The longest side a figure may have, in pixels.
pub const MAX_SIDE: u32 = 16_384;

/// Why a figure could not be drawn; every message names the file it was for.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    /// The data has nothing to draw (no runs, no time steps, only NaN, ...).
    #[error("nothing to plot: {what} (figure {})", path.display())]
    Empty { path: PathBuf, what: String },
    /// The folder for the figure could not be created.
    #[error("cannot create the folder for figure {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Plotters failed to draw or to write the PNG.
    #[error("drawing figure {} failed: {message}", path.display())]
    Draw { path: PathBuf, message: String },
    /// The data would make an image too large to be useful (or to fit in memory).
    #[error(
        "figure {} would be {width} x {height} pixels, more than {MAX_SIDE} on a side",
        path.display()
    )]
    TooLarge { path: PathBuf, width: u32, height: u32 },
    /// The embedded font could not be registered.
    #[error("cannot use the embedded font: {0}")]
    Font(String),
}

impl PlotError {
    /// A [`PlotError::Empty`] for `path`.
    pub(crate) fn empty(path: &Path, what: impl Into<String>) -> Self {
        PlotError::Empty { path: path.to_path_buf(), what: what.into() }
    }

    /// A [`PlotError::Draw`] for `path` from any plotters error.
    pub(crate) fn draw(path: &Path, err: impl Display) -> Self {
        PlotError::Draw { path: path.to_path_buf(), message: err.to_string() }
    }
}

impl From<PlotError> for crate::Error {
    fn from(e: PlotError) -> Self {
        crate::Error::Figure(e.to_string())
    }
}

/// A [`PlotError::TooLarge`] if a `width` x `height` image exceeds [`MAX_SIDE`].
pub(crate) fn check_size(path: &Path, width: u32, height: u32) -> Result<(), PlotError> {
    if width > MAX_SIDE || height > MAX_SIDE {
        let path = path.to_path_buf();
        return Err(PlotError::TooLarge { path, width, height });
    }
    Ok(())
}

/// Registers the font, creates the figure's folder, then runs `draw`, turning a panic
/// inside the plotting library into a [`PlotError::Draw`] rather than aborting the caller.
pub(crate) fn render(path: &Path, draw: impl FnOnce() -> Result<(), PlotError>) -> Result<(), PlotError> {
    style::ensure_font()?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|source| PlotError::Io { path: path.to_path_buf(), source })?;
    }
    match catch_unwind(AssertUnwindSafe(draw)) {
        Ok(result) => result,
        Err(panic) => {
            let message = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_string());
            Err(PlotError::draw(path, format!("the plotting library panicked: {message}")))
        }
    }
}
