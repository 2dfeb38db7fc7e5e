//! Measuring trained and training models: [`eval`] (bits and bit errors per sequence at
//! each test length, the generalisation test), [`budget`] (the memory training and
//! evaluation will need, estimated from the sizes, against what the process may have),
//! [`mod@bench`] (training and evaluation speed and peak memory) and [`gradient_flow`] (how far
//! back the gradient of an answer reaches through a model).

pub mod bench;
pub mod budget;
pub mod eval;
pub mod gradient_flow;
