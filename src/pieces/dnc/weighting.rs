//! The two weightings that combine the others (Methods, "Write weighting" and "Read
//! weighting"): where the write head writes, and where each read head reads.
//!
//! ```text
//! write  w^w = g^w (g^a a + (1 - g^a) c^w)           a: allocation, c^w: write content
//! read   w^r = sum_k pi_k w_k                        over the read modes, e.g. the paper's
//!                                                    pi_b b + pi_c c^r + pi_f f
//! ```

use candle_core::{Result, Tensor};

/// Write weighting w^w = g^w (g^a a + (1 - g^a) c^w): the allocation gate chooses between a
/// new (free) slot and the slot found by content, the write gate whether to write at all.
///
/// `allocation`, `content`: `[B, N]`, `allocation_gate`, `write_gate`: `[B, 1]` -> `[B, N]`.
pub fn write_weighting(
    allocation: &Tensor,
    content: &Tensor,
    allocation_gate: &Tensor,
    write_gate: &Tensor,
) -> Result<Tensor> {
    // g^a a + (1 - g^a) c = c + g^a (a - c)
    let mixed = (content + (allocation - content)?.broadcast_mul(allocation_gate)?)?;
    mixed.broadcast_mul(write_gate)
}

/// Read weighting w^r = sum_k pi_k w_k: the read modes `modes` (`[B, K]`, a distribution)
/// mixing the weightings `by_mode` (K tensors `[B, N]`, in the order of the modes) -> `[B, N]`.
pub fn read_weighting(modes: &Tensor, by_mode: &[Tensor]) -> Result<Tensor> {
    let mut mixed: Option<Tensor> = None;
    for (k, w) in by_mode.iter().enumerate() {
        let term = w.broadcast_mul(&modes.narrow(1, k, 1)?)?;
        mixed = Some(match mixed {
            None => term,
            Some(m) => (m + term)?,
        });
    }
    match mixed {
        Some(m) => Ok(m),
        None => candle_core::bail!("read_weighting: no read mode"),
    }
}
