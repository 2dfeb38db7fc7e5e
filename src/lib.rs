//! Neural Turing Machines (Graves, Wayne, Danihelka 2014) and an LSTM baseline in candle.
//!
//! The crate is in layers, each using only the ones before it (the README's "The pieces"):
//! [`kinds`] (the small config enums); [`model`] (addressing, memory, heads, parameters and
//! the [`model::SequenceModel`] interface); [`fused`] (hand-written kernels running the same
//! functions faster); the architectures [`model::lstm`], [`model::controller`], [`model::ntm`];
//! [`optim`], [`loss`], [`data`], [`curriculum`]; [`factory`] and [`config`] (what an
//! experiment file names and the model it builds); [`run_dir`] (a run folder's files),
//! [`checkpoint`], [`failure`], [`report`], [`error`]; [`train`] (the [`train::Trainer`]);
//! [`eval`], [`figures`], [`plot`], [`mod@bench`]; [`pool`] (jobs over cores); [`cli`] and
//! [`cmd`] (the command line).

pub mod bench;
pub mod budget;
pub mod checkpoint;
pub mod config;
pub mod curriculum;
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
pub mod resize;
pub mod run_dir;
pub mod sweep;
pub mod plot;
pub mod train;

mod cpu;

pub use error::Error;
