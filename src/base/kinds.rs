//! The small enums that experiment files and model pieces name: which controller, which
//! engine, how the memory and the heads' weightings start, which kind of head. They sit at the bottom of the crate and
//! import nothing of it, so the fused kernels, the model pieces and the configurations can all
//! use them without pulling each other in.

use serde::{Deserialize, Serialize};

/// Which controller network an NTM uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum ControllerKind {
    /// Stacked LSTM layers (the paper's NTM-LSTM).
    #[default]
    Lstm,
    /// Dense tanh layers with no recurrent state (the paper's NTM-FF).
    FeedForward,
}

/// Which implementation of a model's recurrence runs the forward and backward passes.
/// Both engines use the same parameters (names and shapes), so checkpoints load in either.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    /// Composed candle operations, one small graph node per operation and time step.
    Reference,
    /// One custom operation per sequence (the whole NTM, [`crate::fused::ntm`]) or per layer
    /// and sequence (the LSTM baseline, [`crate::fused::lstm`]) with a hand-derived backward
    /// pass (the default: `tests/fused.rs` checks it against the reference).
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

/// How the memory is set at the start of every sequence.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum MemoryInit {
    /// Every cell 1e-6 ([`crate::pieces::memory::CONSTANT_INIT`]): Collier & Beel (2018) found
    /// this converges fastest and most reliably.
    #[default]
    Constant,
    /// A learned `[N, M]` parameter, as the paper's "learned bias values".
    Learned,
    /// A fixed random matrix (uniform in +-1/sqrt(N+M)), the same for every model and seed
    /// (drawn from a fixed generator when the model is built; neither trained nor saved).
    Random,
}

/// Whether a head reads or writes memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HeadKind {
    Read,
    Write,
}

/// How every head's weighting starts (an NTM's `initial_weighting`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum InitialWeighting {
    /// Softmax of learned logits that start at 10 on slot 0 and 0 elsewhere.
    #[default]
    Focused,
    /// Softmax of learned logits that start at 0 (a uniform weighting).
    Uniform,
}

/// One of a DNC read head's three ways to address memory (Graves et al. 2016, Methods,
/// "Read weighting"): where its mode weights `pi` send it. Read from its name, an unknown one
/// an error naming the field it is written in (`read_modes`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", try_from = "String")]
pub enum ReadMode {
    /// b = L^T w^r_{t-1}: to the slot written just before the one it read.
    Backward,
    /// c^r: by content, the cosine of its key against every slot.
    Content,
    /// f = L w^r_{t-1}: to the slot written just after the one it read.
    Forward,
}

impl ReadMode {
    /// Every mode in the paper's order of the read modes pi = (backward, content, forward).
    pub const ALL: [ReadMode; 3] = [ReadMode::Backward, ReadMode::Content, ReadMode::Forward];

    /// The mode's name as written in experiment files.
    pub fn name(self) -> &'static str {
        match self {
            ReadMode::Backward => "backward",
            ReadMode::Content => "content",
            ReadMode::Forward => "forward",
        }
    }
}

impl TryFrom<String> for ReadMode {
    type Error = String;
    fn try_from(name: String) -> Result<Self, String> {
        match ReadMode::ALL.into_iter().find(|m| m.name() == name) {
            Some(mode) => Ok(mode),
            None => {
                Err(format!("read_modes: unknown read mode {name:?}; use \"backward\", \"content\" or \"forward\""))
            }
        }
    }
}
