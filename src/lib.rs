//! Neural Turing Machines (Graves, Wayne, Danihelka 2014) and an LSTM baseline in candle.
//!
//! The model pieces, each a small module: [`addressing`] (the paper's eqs. 5-9),
//! [`memory`] (read and write, eqs. 2-4), [`heads`], [`controller`], [`ntm`] (the cell),
//! [`lstm`] (the cell and the baseline), behind the [`model::SequenceModel`] interface.

pub mod addressing;
pub mod bench;
pub mod checkpoint;
pub mod config;
pub mod cli;
pub mod cmd;
pub mod controller;
pub mod data;
pub mod eval;
pub mod failure;
pub mod figures;
pub mod fused;
pub mod heads;
pub mod loss;
pub mod lstm;
pub mod memory;
pub mod model;
pub mod ntm;
pub mod optim;
pub mod params;
pub mod progress;
pub mod report;
pub mod sweep;
pub mod trace;
pub mod train;
pub mod plot;
