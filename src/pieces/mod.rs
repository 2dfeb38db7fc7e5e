//! The pieces the models are built from, each a small module with the paper's equations:
//! [`addressing`] (content, interpolation, shift, sharpening), [`memory`] (read, erase and
//! add), [`heads`] (a controller output split into a head's parameters), [`params`] (named,
//! seeded parameters and dense layers), [`dnc`] (the Differentiable Neural Computer's
//! interface, allocation, linkage and read modes) and [`trace`] (what a head did at every
//! step).
//!
//! They are the composed reference that the fused kernels ([`crate::fused`]) are checked
//! against, and the architectures ([`crate::models`]) use them.

pub mod addressing;
pub mod dnc;
pub mod heads;
pub mod memory;
pub mod params;
pub mod trace;
