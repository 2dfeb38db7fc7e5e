//! Reading and writing the N x M memory matrix (paper sections 3.1, 3.2), and its initial value.

use candle_core::{DType, Device, Result, Tensor};

/// Read r = sum_i w(i) M(i) (eq. 2).
///
/// `weighting`: `[B, N]`, `memory`: `[B, N, M]` -> `[B, M]`.
pub fn read(weighting: &Tensor, memory: &Tensor) -> Result<Tensor> {
    weighting.unsqueeze(1)?.matmul(memory)?.squeeze(1) // [B, 1, N] x [B, N, M] -> [B, M]
}

/// Write with erase then add: M(i) <- M(i) (1 - w(i) e) + w(i) a (eqs. 3, 4).
///
/// `memory`: `[B, N, M]`, `weighting`: `[B, N]`, `erase`: `[B, M]` in (0, 1), `add`: `[B, M]`
/// -> `[B, N, M]`.
pub fn write(memory: &Tensor, weighting: &Tensor, erase: &Tensor, add: &Tensor) -> Result<Tensor> {
    let w = weighting.unsqueeze(2)?; // [B, N, 1]
    let erase_outer = w.matmul(&erase.unsqueeze(1)?)?; // [B, N, M]
    let add_outer = w.matmul(&add.unsqueeze(1)?)?; // [B, N, M]
    (memory * (1.0 - erase_outer)?)? + add_outer
}

/// The constant every cell starts at under [`crate::base::kinds::MemoryInit::Constant`].
pub const CONSTANT_INIT: f64 = 1e-6;

/// The constant initial memory, `[B, N, M]`.
pub fn constant_memory(batch: usize, slots: usize, width: usize, dtype: DType, device: &Device) -> Result<Tensor> {
    Tensor::full(CONSTANT_INIT, (batch, slots, width), device)?.to_dtype(dtype)
}
