//! Neural Turing Machines (Graves, Wayne, Danihelka 2014) and an LSTM baseline in candle.
//!
//! The model pieces live in [`model`], each a small module: [`model::addressing`] (the paper's
//! eqs. 5-9), [`model::memory`] (read and write, eqs. 2-4), [`model::heads`],
//! [`model::controller`], [`model::ntm`] (the cell), [`model::lstm`] (the cell and the
//! baseline), behind the [`model::SequenceModel`] interface; [`fused`] holds the hand-written
//! kernels that run the same functions faster.

pub mod bench;
pub mod checkpoint;
pub mod config;
pub mod cli;
pub mod cmd;
pub mod data;
pub mod error;
pub mod eval;
pub mod factory;
pub mod failure;
pub mod figures;
pub mod fused;
pub mod kinds;
pub mod loss;
pub mod model;
pub mod optim;
pub mod pool;
pub mod progress;
pub mod report;
pub mod run_dir;
pub mod plot;
pub mod train;

pub use error::Error;
