//! What a run leaves on disk and how it is read back: [`run_dir`] (every file of a run
//! folder by name, and the loaders), [`checkpoint`] (weights, optimiser state and counters
//! saved as one set), [`report`] (the formats of `metrics.jsonl`, `eval.json` and the output
//! samples), [`failure`] (`failure.json`, a numerical fault) and [`lock`] (one writer per
//! folder).
//!
//! The crate's error type ([`crate::Error`], `src/error.rs`) belongs to this layer: it names
//! the experiment and checkpoint errors, and the loaders here return it.

pub mod checkpoint;
pub mod failure;
pub mod lock;
pub mod report;
pub mod run_dir;
