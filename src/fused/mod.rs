//! Fused engines: hand-written kernels (candle custom operations with a hand-derived
//! backward) that compute the same functions as the composed reference modules in fewer,
//! larger operations.
//!
//! The composed modules stay the reference: `tests/fused.rs` checks the fused models against
//! them (outputs, traces and every parameter gradient), `tests/gradients.rs` both against
//! finite differences.

mod addressing;
mod kernel;
pub mod lstm;
mod memory;
pub mod ntm;
mod tape;

use serde::{Deserialize, Serialize};

/// Which implementation of a model's recurrence runs the forward and backward passes.
/// Both engines use the same parameters (names and shapes), so checkpoints load in either.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    /// Composed candle operations, one small graph node per operation and time step.
    Reference,
    /// One custom operation per sequence (the whole NTM, [`ntm`]) or per layer and sequence
    /// (the LSTM baseline, [`lstm`]) with a hand-derived backward pass (the default:
    /// `tests/fused.rs` checks it against the reference).
    #[default]
    Fused,
}

impl Engine {
    /// The engine's name as written in experiment files: `reference` or `fused`.
    pub fn name(self) -> &'static str {
        match self {
            Engine::Reference => "reference",
            Engine::Fused => "fused",
        }
    }
}

impl std::str::FromStr for Engine {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "reference" => Ok(Engine::Reference),
            "fused" => Ok(Engine::Fused),
            _ => Err(format!("unknown engine {s:?}: use reference or fused")),
        }
    }
}
