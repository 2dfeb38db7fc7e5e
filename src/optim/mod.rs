//! Optimisation: the update rules ([`rules`]: RMSProp with momentum, Adam), gradient clipping
//! ([`clip`]), the training objective and the paper's measures ([`loss`]), and the curriculum
//! over training lengths ([`curriculum`]).

pub mod clip;
pub mod curriculum;
pub mod loss;
pub mod rules;

pub use clip::clipped_gradients;
pub use rules::{Optimizer, OptimizerKind, DEFAULT_EPSILON, DEFAULT_MOMENTUM};
