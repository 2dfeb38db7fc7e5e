//! The NTM addressing mechanism (paper section 3.3, figure 2), one function per step.
//!
//! Content addressing (eq. 5-6) -> interpolation (eq. 7) -> convolutional shift (eq. 8)
//! -> sharpening (eq. 9). Shapes: batch B, memory slots N, slot width M, shifts S.
//! All functions are composed of differentiable candle ops, so autograd gives their gradients.

use candle_core::{Result, Tensor, D};

/// Added under the square root of a vector norm: keeps `|x|` and its gradient finite when a
/// key or a memory row is exactly zero (the derivative of sqrt at 0 is infinite).
pub const NORM_EPSILON: f64 = 1e-8;

/// Added to the product of norms in the cosine denominator, so a zero key or zero memory row
/// gives similarity 0 instead of 0/0.
pub const COSINE_EPSILON: f64 = 1e-6;

/// Added to a weighting before it is raised to gamma through `exp(gamma * ln w)`: a weight
/// that underflowed to exactly 0 would otherwise give `ln 0 = -inf` and a NaN gradient.
pub const SHARPEN_EPSILON: f64 = 1e-12;

/// Cosine similarity K[u, v] = u.v / (|u| |v|) (eq. 6) between each key and every memory row.
///
/// `key`: `[B, M]`, `memory`: `[B, N, M]` -> `[B, N]`.
pub fn cosine_similarity(key: &Tensor, memory: &Tensor) -> Result<Tensor> {
    let key = key.unsqueeze(1)?; // [B, 1, M]
    let dot = memory.broadcast_mul(&key)?.sum(D::Minus1)?; // [B, N]
    let key_norm = (key.sqr()?.sum(D::Minus1)? + NORM_EPSILON)?.sqrt()?; // [B, 1]
    let row_norm = (memory.sqr()?.sum(D::Minus1)? + NORM_EPSILON)?.sqrt()?; // [B, N]
    let denominator = (row_norm.broadcast_mul(&key_norm)? + COSINE_EPSILON)?;
    dot / denominator
}

/// Softmax over the last dimension, composed of differentiable ops (candle-nn's
/// `softmax_last_dim` has no backward pass). Subtracts the row maximum for stability.
pub fn softmax(logits: &Tensor) -> Result<Tensor> {
    let max = logits.max_keepdim(D::Minus1)?.detach();
    let exp = logits.broadcast_sub(&max)?.exp()?;
    let sum = exp.sum_keepdim(D::Minus1)?;
    exp.broadcast_div(&sum)
}

/// Content weighting w^c(i) = softmax_i(beta * K[k, M(i)]) (eq. 5).
///
/// `key`: `[B, M]`, `beta`: `[B, 1]` (>= 0), `memory`: `[B, N, M]` -> `[B, N]`.
pub fn content_weighting(key: &Tensor, beta: &Tensor, memory: &Tensor) -> Result<Tensor> {
    softmax(&cosine_similarity(key, memory)?.broadcast_mul(beta)?)
}

/// Interpolation w^g = g w^c + (1 - g) w_{t-1} (eq. 7).
///
/// `content`, `previous`: `[B, N]`, `gate`: `[B, 1]` in (0, 1) -> `[B, N]`.
pub fn interpolate(content: &Tensor, previous: &Tensor, gate: &Tensor) -> Result<Tensor> {
    // g w^c + (1 - g) w_prev = w_prev + g (w^c - w_prev)
    previous + (content - previous)?.broadcast_mul(gate)?
}

/// Circular convolution w~(i) = sum_j w^g(j) s(i - j mod N) (eq. 8).
///
/// `weighting`: `[B, N]`, `shift`: `[B, S]` a distribution over `shifts` (e.g. `[-1, 0, 1]`,
/// where +1 moves attention from slot i to slot i + 1) -> `[B, N]`.
pub fn shift(weighting: &Tensor, shift: &Tensor, shifts: &[i64]) -> Result<Tensor> {
    let mut out: Option<Tensor> = None;
    for (k, &offset) in shifts.iter().enumerate() {
        // roll(o)[i] = w[i - o]: the weight at slot i - o moves to slot i.
        let rolled = weighting.roll(offset as i32, 1)?; // [B, N]
        let term = rolled.broadcast_mul(&shift.narrow(1, k, 1)?)?;
        out = Some(match out {
            None => term,
            Some(acc) => (acc + term)?,
        });
    }
    match out {
        Some(t) => Ok(t),
        None => candle_core::bail!("shift: the set of allowed shifts is empty"),
    }
}

/// Sharpening w(i) = w~(i)^gamma / sum_j w~(j)^gamma (eq. 9).
///
/// `weighting`: `[B, N]` (non-negative), `gamma`: `[B, 1]` (>= 1) -> `[B, N]`.
/// Computed as `softmax(gamma * ln(w + eps))` with eps = [`SHARPEN_EPSILON`]: the same value,
/// but the softmax subtracts the row maximum, so a flat weighting over many slots with a large
/// gamma does not underflow to 0/0 (N^-gamma is 0 in f32 once gamma log2 N > 149).
pub fn sharpen(weighting: &Tensor, gamma: &Tensor) -> Result<Tensor> {
    softmax(&(weighting + SHARPEN_EPSILON)?.log()?.broadcast_mul(gamma)?)
}

/// The head parameters that drive addressing, all activations applied.
/// Shapes: `key` `[B, M]`; `beta`, `gate`, `gamma` `[B, 1]`; `shift` `[B, S]`.
#[derive(Debug, Clone)]
pub struct AddressingParams {
    pub key: Tensor,
    pub beta: Tensor,
    pub gate: Tensor,
    pub shift: Tensor,
    pub gamma: Tensor,
}

/// The weightings one addressing pass produces, each `[B, N]`.
#[derive(Debug, Clone)]
pub struct Addressed {
    /// Content weighting w^c (eq. 5).
    pub content: Tensor,
    /// Final weighting w (eq. 9).
    pub weighting: Tensor,
}

/// The full pipeline of figure 2: content -> interpolate -> shift -> sharpen.
///
/// `memory`: `[B, N, M]`, `previous`: the head's last weighting `[B, N]`.
pub fn address(params: &AddressingParams, memory: &Tensor, previous: &Tensor, shifts: &[i64]) -> Result<Addressed> {
    let content = content_weighting(&params.key, &params.beta, memory)?;
    let gated = interpolate(&content, previous, &params.gate)?;
    let shifted = shift(&gated, &params.shift, shifts)?;
    let weighting = sharpen(&shifted, &params.gamma)?;
    Ok(Addressed { content, weighting })
}
