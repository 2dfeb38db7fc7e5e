//! Dynamic memory allocation (Methods, "Dynamic memory allocation"): how much each slot is in
//! use, and the allocation weighting that points the write head at the least used ones.
//!
//! ```text
//! retention   psi_t = prod_i (1 - f^i_t w^{r,i}_{t-1})                    1: keep, 0: free
//! usage       u_t = (u_{t-1} + w^w_{t-1} - u_{t-1} w^w_{t-1}) psi_t         in [0, 1]
//! free list   phi_t = the slots sorted by ascending u_t (ties: lower index first)
//! allocation  a_t[phi_j] = (1 - u_t[phi_j]) prod_{i<j} u_t[phi_i]
//! ```
//! The allocation sums to 1 - prod_n u_t[n] <= 1: a whole weight on the least used slot when
//! it is free, spread towards the next ones as it fills. The order phi is computed from the
//! values (detached) and treated as constant by the gradient, which flows through the sorted
//! usages only ([`crate::pieces::dnc`] says why).

use candle_core::{DType, Result, Tensor};

/// Retention psi_t = prod_i (1 - f^i w^{r,i}_{t-1}): how much of each slot no read head frees.
///
/// `free_gates`: R tensors `[B, 1]` in (0, 1); `previous_read_weightings`: R tensors `[B, N]`
/// (of step t - 1) -> `[B, N]`.
pub fn retention(free_gates: &[Tensor], previous_read_weightings: &[Tensor]) -> Result<Tensor> {
    let mut psi: Option<Tensor> = None;
    for (f, w) in free_gates.iter().zip(previous_read_weightings) {
        let kept = (1.0 - w.broadcast_mul(f)?)?; // [B, N]
        psi = Some(match psi {
            None => kept,
            Some(p) => (p * kept)?,
        });
    }
    match psi {
        Some(p) => Ok(p),
        None => candle_core::bail!("retention: a DNC needs at least one read head"),
    }
}

/// Usage u_t = (u_{t-1} + w - u_{t-1} w) psi with w = w^w_{t-1}, the last step's write
/// weighting: a slot written becomes used, a slot freed by every read head it was read by
/// becomes free. Differentiable in all three (see the module docs).
///
/// `previous_usage`, `previous_write_weighting`, `retention`: `[B, N]` -> `[B, N]`.
pub fn usage(previous_usage: &Tensor, previous_write_weighting: &Tensor, retention: &Tensor) -> Result<Tensor> {
    let written = ((previous_usage + previous_write_weighting)? - (previous_usage * previous_write_weighting)?)?;
    written * retention
}

/// The free list phi for each batch row: slot indices by ascending usage, ties to the lower
/// index (a stable sort). `usage`: `[B, N]` -> `[B][N]`. Only the values are read: the order is
/// a constant of the graph.
pub fn free_list(usage: &Tensor) -> Result<Vec<Vec<u32>>> {
    let rows: Vec<Vec<f64>> = usage.to_dtype(DType::F64)?.to_vec2()?;
    Ok(rows.iter().map(|u| sorted_order(u)).collect())
}

/// Indices of `values` by ascending value, ties (and -0 against +0) in index order.
pub fn sorted_order(values: &[f64]) -> Vec<u32> {
    let mut order: Vec<u32> = (0..values.len() as u32).collect();
    order.sort_by(|&a, &b| values[a as usize].partial_cmp(&values[b as usize]).unwrap_or(std::cmp::Ordering::Equal));
    order
}

/// The exclusive cumulative product along the last axis, P_j = prod_{i<j} x_i (P_0 = 1), in
/// ceil(log2 N) rounds of products of shifted copies (a Hillis-Steele scan), no division.
///
/// `x`: `[B, N]` -> `[B, N]`.
pub fn exclusive_cumprod(x: &Tensor) -> Result<Tensor> {
    let (batch, n) = x.dims2()?;
    let ones = |k: usize| Tensor::ones((batch, k), x.dtype(), x.device());
    let mut inclusive = x.clone();
    let mut d = 1;
    while d < n {
        let shifted = Tensor::cat(&[&ones(d)?, &inclusive.narrow(1, 0, n - d)?], 1)?; // [B, N]
        inclusive = (inclusive * shifted)?;
        d *= 2;
    }
    Tensor::cat(&[&ones(1)?, &inclusive.narrow(1, 0, n - 1)?], 1)
}

/// Allocation weighting a_t[phi_j] = (1 - u[phi_j]) prod_{i<j} u[phi_i] over the free list
/// phi of [`free_list`].
///
/// `usage`: `[B, N]` in [0, 1] -> `[B, N]`, summing to 1 - prod_n u[n].
pub fn allocation(usage: &Tensor) -> Result<Tensor> {
    let (batch, n) = usage.dims2()?;
    let order = free_list(usage)?;
    let mut inverse = vec![0u32; batch * n];
    for (b, phi) in order.iter().enumerate() {
        for (j, &slot) in phi.iter().enumerate() {
            inverse[b * n + slot as usize] = j as u32;
        }
    }
    let order = Tensor::from_vec(order.concat(), (batch, n), usage.device())?; // [B, N] u32
    let inverse = Tensor::from_vec(inverse, (batch, n), usage.device())?; // [B, N] u32
    let sorted = usage.gather(&order, 1)?; // s_j = u[phi_j]
    let allocated = (1.0 - &sorted)?.mul(&exclusive_cumprod(&sorted)?)?; // (1 - s_j) prod_{i<j} s_i
    allocated.gather(&inverse, 1) // back to slot order
}
