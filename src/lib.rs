//! Neural Turing Machines (Graves, Wayne, Danihelka 2014) and an LSTM baseline in candle.
//!
//! ## Layers
//!
//! Each folder of `src/` is one layer; a module uses only modules of its own layer and of the
//! layers above it in this table (the layers it is built on), never one below, and no two
//! modules use each other, even through others. `tests/layers.rs` reads every `use crate::...`
//! and `super::` of the library and fails on an edge that points down this table or on a
//! circle; `docs/architecture.md` shows the same table (checked to be the same).
//!
//! <!-- layers -->
//! | layer | folder | what it holds |
//! | --- | --- | --- |
//! | 1 | `base/` | the leaves: config enums, size limits, CPU buffers, a worker pool |
//! | 2 | `pieces/` | addressing, memory, heads, parameters, traces: the paper's equations, composed |
//! | 3 | `fused/` | hand-written kernels computing the pieces faster, with hand-derived backward passes |
//! | 4 | `models/` | the NTM, its controller, the LSTM baseline, `SequenceModel`, the factory, test-time resizing |
//! | 5 | `optim/` | update rules, gradient clipping, the loss and the paper's measures, the curriculum |
//! | 6 | `config/` | experiment files: types, validation, `--set` overrides |
//! | 7 | `records/`, `error.rs` | the run folder, checkpoints, report formats, failure records; the error type |
//! | 8 | `train/` | the `Trainer`, its loop into a model folder, progress display |
//! | 9 | `measure/` | evaluation, memory estimates, the benchmark |
//! | 10 | `sweep/` | seed sweeps: jobs, reading seed runs, summaries across seeds |
//! | 11 | `plot/` | figures: the data behind them (traced episodes) and their drawing |
//! <!-- /layers -->
//!
//! The command line (`src/main.rs` and `src/cmd/`) is the binary's, not the library's; it
//! sits on top of every layer.

pub mod base;
pub mod config;
pub mod fused;
pub mod measure;
pub mod models;
pub mod optim;
pub mod pieces;
pub mod plot;
pub mod records;
pub mod sweep;
pub mod train;

mod error;

pub use error::{Error, Result};
