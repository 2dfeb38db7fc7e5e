//! The leaves: small things every layer above may use, importing nothing of the crate.
//!
//! [`kinds`] (the small enums experiment files and model pieces name), [`limits`] (the largest
//! sizes a model may have), [`cpu`] (CPU tensor data as plain slices, for hand-written loops)
//! [`pool`] (independent jobs over the cores) and [`allocator`] (how the programs' allocator
//! keeps freed memory).

pub mod allocator;
pub mod cpu;
pub mod kinds;
pub mod limits;
pub mod pool;
