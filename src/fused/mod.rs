//! Fused engines: hand-written kernels (candle custom operations with a hand-derived
//! backward) that compute the same functions as the composed reference modules in fewer,
//! larger operations.
//!
//! The composed modules stay the reference: `tests/fused.rs` checks the fused models against
//! them (outputs, traces and every parameter gradient), `tests/gradients.rs` both against
//! finite differences.

mod addressing;
pub mod attention;
pub mod dnc;
pub mod dsgu;
mod kernel;
pub mod lstm;
mod memory;
pub mod ntm;
pub mod recurrent;
mod split;
mod tape;
mod taped;
