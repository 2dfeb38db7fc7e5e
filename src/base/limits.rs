//! The largest sizes a model or a batch may have: range errors for sizes no machine could
//! hold, checked when an experiment is validated (the memory a size needs is estimated much
//! higher up, by [`crate::measure::budget`]).

/// Most memory slots N: 2^24. One sequence's memory is then N M floats, over a gigabyte at
/// M = 20, and a tape holds one per step.
pub const MAX_SLOTS: usize = 1 << 24;
/// Widest memory slot M, and most units per controller or LSTM layer: 2^16 (a layer of
/// 2^16 LSTM units has 2^37 weights, half a terabyte).
pub const MAX_UNITS: usize = 1 << 16;
/// Most layers, and most read or write heads: 1,024.
pub const MAX_LAYERS: usize = 1 << 10;
/// Most sequences per training batch: 2^16.
pub const MAX_BATCH: usize = 1 << 16;

/// A range error for `field` unless `1 <= value <= max`.
pub fn check_size(field: &str, value: usize, max: usize) -> std::result::Result<(), String> {
    if value == 0 {
        return Err(format!("{field} = 0: must be at least 1"));
    }
    if value > max {
        return Err(format!("{field} = {value}: must be at most {max} (no machine could hold more)"));
    }
    Ok(())
}

/// Most memory slots of a DNC: 2^14. Its link matrix has N^2 entries, a gigabyte at this size,
/// and a training tape holds one per step.
pub const MAX_LINKED_SLOTS: usize = 1 << 14;
