//! Temporal memory linkage (Methods, "Temporal memory linkage"): the order in which slots were
//! written, kept as an N x N link matrix, and the forward and backward weightings a read head
//! follows through it.
//!
//! ```text
//! precedence  p_t = (1 - sum_i w_t[i]) p_{t-1} + w_t                      p_0 = 0
//! link        L_t[i,j] = (1 - w_t[i] - w_t[j]) L_{t-1}[i,j] + w_t[i] p_{t-1}[j]   L_0 = 0
//!             L_t[i,i] = 0
//! forward     f = L_t w^r_{t-1}         backward   b = L_t^T w^r_{t-1}
//! ```
//! with w_t = w^w_t the write weighting. L_t[i,j] is how much slot i was written right after
//! slot j; p_t[j] how much slot j was the last one written. The link update reads the
//! precedence of the step before, so the precedence updates after it.

use candle_core::{Result, Tensor, D};

/// Precedence p_t = (1 - sum_i w[i]) p_{t-1} + w.
///
/// `previous`: p_{t-1} `[B, N]`, `write_weighting`: w^w_t `[B, N]` -> `[B, N]`.
pub fn precedence(previous: &Tensor, write_weighting: &Tensor) -> Result<Tensor> {
    let kept = (1.0 - write_weighting.sum_keepdim(D::Minus1)?)?; // [B, 1]
    previous.broadcast_mul(&kept)? + write_weighting
}

/// Link matrix L_t[i,j] = (1 - w[i] - w[j]) L_{t-1}[i,j] + w[i] p_{t-1}[j], with a zero
/// diagonal.
///
/// `previous`: L_{t-1} `[B, N, N]`, `write_weighting`: w^w_t `[B, N]`,
/// `previous_precedence`: p_{t-1} `[B, N]` -> `[B, N, N]`.
pub fn link(previous: &Tensor, write_weighting: &Tensor, previous_precedence: &Tensor) -> Result<Tensor> {
    let n = write_weighting.dim(1)?;
    let rows = write_weighting.unsqueeze(2)?; // w[i]: [B, N, 1]
    let columns = write_weighting.unsqueeze(1)?; // w[j]: [B, 1, N]
    let kept = (1.0 - rows.broadcast_add(&columns)?)?; // [B, N, N]
    let new = rows.matmul(&previous_precedence.unsqueeze(1)?)?; // w[i] p[j]: [B, N, N]
    let off_diagonal: Vec<f64> = (0..n * n).map(|k| if k / n == k % n { 0.0 } else { 1.0 }).collect();
    let off_diagonal = Tensor::from_vec(off_diagonal, (n, n), previous.device())?.to_dtype(previous.dtype())?;
    ((kept * previous)? + new)?.broadcast_mul(&off_diagonal)
}

/// Forward and backward weightings (f, b) = (L w, L^T w) of a read head whose last weighting
/// was `previous_read_weighting`: where reading on in the order of writing, or back in it,
/// would lead.
///
/// `link`: L_t `[B, N, N]`, `previous_read_weighting`: w^{r,i}_{t-1} `[B, N]` -> two `[B, N]`.
pub fn directional(link: &Tensor, previous_read_weighting: &Tensor) -> Result<(Tensor, Tensor)> {
    let forward = link.matmul(&previous_read_weighting.unsqueeze(2)?)?.squeeze(2)?; // [B, N, 1] -> [B, N]
    let backward = previous_read_weighting.unsqueeze(1)?.matmul(link)?.squeeze(1)?; // [B, 1, N] -> [B, N]
    Ok((forward, backward))
}
