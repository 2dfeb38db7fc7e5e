//! Precedence, the link matrix and the forward and backward weightings for one batch row on
//! flat buffers, forward and hand-derived backward: [`crate::pieces::dnc::linkage`]'s
//! arithmetic. The link matrix is stored by rows, `[N, N]` (L[i,j] at i N + j), so every
//! inner loop runs along a row: contiguous and vectorisable.
//!
//! The link update and every read head's forward and backward weightings take one pass over
//! the rows ([`link_forward`]), and so do their backward passes ([`link_backward`]), which
//! recompute each row of L_t from L_{t-1} (the same arithmetic, so the same values as the
//! forward's) rather than reading it back: at N = 128 a batch of 16 keeps tens of MB of link
//! matrices, more than the caches hold, and each pass over them is a pass over main memory.
//!
//! Backward (w = w^w_t, p = p_{t-1}, L' = L_{t-1}; G = L̄_t with its diagonal set to 0, since
//! L_t[i,i] = 0 whatever the inputs):
//! ```text
//! directional f = L_t v, b = L_t^T v (v = w^{r,i}_{t-1}):
//!             L̄_t += f̄ v^T + v b̄^T,   v̄ += L_t^T f̄ + L_t b̄
//! link        L̄'[i,j] = (1 - w_i - w_j) G[i,j]
//!             w̄_k += (G p)_k - sum_j G[k,j] L'[k,j] - sum_i G[i,k] L'[i,k],   p̄ += G^T w
//! precedence  p_t = (1 - sum w) p + w:   p̄ += (1 - sum w) p̄_t,  w̄_k += p̄_t[k] - <p̄_t, p>
//! ```

use crate::fused::addressing::axpy;
use crate::fused::kernel::{dot, simd_routine, sum, Real};

/// What a step's link update reads, for one batch row.
pub(crate) struct LinkInputs<'a, T> {
    /// L_{t-1} `[N, N]` by rows.
    pub previous: &'a [T],
    /// The write weighting w^w_t `[N]`.
    pub write: &'a [T],
    /// The precedence of the step before, p_{t-1} `[N]`.
    pub precedence: &'a [T],
    /// The read weightings of the step before, w^{r,i}_{t-1} `[R, N]`.
    pub reads: &'a [T],
}

/// Row i of L_t into `row` `[N]`: L_t[i,j] = (1 - w_i - w_j) L_{t-1}[i,j] + w_i p_j,
/// L_t[i,i] = 0.
#[inline(always)]
fn link_row<T: Real>(inputs: &LinkInputs<T>, i: usize, before: &[T], row: &mut [T]) {
    let one = T::from_f64(1.0);
    let wi = inputs.write[i];
    for ((l, &b), (&wj, &pj)) in row.iter_mut().zip(before).zip(inputs.write.iter().zip(inputs.precedence)) {
        *l = (one - (wi + wj)) * b + wi * pj;
    }
    row[i] = T::from_f64(0.0);
}

simd_routine! {
/// The link matrix L_t into `link` `[N, N]` ([`link_row`]) and, in the same pass over its
/// rows, every read head's forward and backward weightings f^i = L_t v^i and b^i = L_t^T v^i
/// (v^i = w^{r,i}_{t-1}) into `directional` `[R, 2, N]` (f^i, then b^i, per head).
pub(crate) fn link_forward<T: Real>(inputs: &LinkInputs<'_, T>, link: &mut [T], directional: &mut [T]) {
    let n = inputs.write.len();
    directional.fill(T::from_f64(0.0));
    for (i, (row, before)) in link.chunks_exact_mut(n).zip(inputs.previous.chunks_exact(n)).enumerate() {
        link_row(inputs, i, before, row);
        for (v, fb) in inputs.reads.chunks_exact(n).zip(directional.chunks_exact_mut(2 * n)) {
            let (forward, backward) = fb.split_at_mut(n);
            forward[i] = dot(row, v);
            axpy(backward, v[i], row);
        }
    }
}
}

/// The gradients [`link_backward`] forms, for one batch row.
pub(crate) struct LinkGrads<'a, T> {
    /// Of L_t `[N, N]` from the steps after (not yet from this step's reads); becomes that of
    /// L_{t-1}.
    pub link: &'a mut [T],
    /// Of the read weightings of the step before `[R, N]`: set (through f^i and b^i).
    pub reads: &'a mut [T],
    /// Of w^w_t `[N]`: added to.
    pub write: &'a mut [T],
    /// Of p_{t-1} `[N]`: added to.
    pub precedence: &'a mut [T],
}

simd_routine! {
/// The backward of [`link_forward`], in one pass over the rows: from `directional` `[R, 2,
/// N]`, the gradients of each head's f^i and b^i, and the gradient of L_t in `grads.link`,
/// sets the read weightings' gradients and the gradient of L_{t-1}, and adds to those of w^w_t
/// and p_{t-1}. Each row of L_t is recomputed from L_{t-1} ([`link_row`]). With
/// `column_sums` false the column sums are left out (the deliberate fault of the tests).
/// `scratch`: `[2N]`.
pub(crate) fn link_backward<T: Real>(
    inputs: &LinkInputs<'_, T>,
    directional: &[T],
    grads: LinkGrads<'_, T>,
    column_sums: bool,
    scratch: &mut [T],
) {
    let (write, precedence) = (inputs.write, inputs.precedence);
    let n = write.len();
    let one = T::from_f64(1.0);
    let (columns, row) = scratch.split_at_mut(n);
    columns.fill(T::from_f64(0.0));
    grads.reads.fill(T::from_f64(0.0));
    for (i, (g, before)) in grads.link.chunks_exact_mut(n).zip(inputs.previous.chunks_exact(n)).enumerate() {
        // The reads: L̄_t += f̄ v^T + v b̄^T, v̄ += L_t^T f̄ + L_t b̄.
        link_row(inputs, i, before, row);
        for ((v, dfb), dv) in
            inputs.reads.chunks_exact(n).zip(directional.chunks_exact(2 * n)).zip(grads.reads.chunks_exact_mut(n))
        {
            let (dforward, dbackward) = dfb.split_at(n);
            axpy(g, dforward[i], v);
            axpy(g, v[i], dbackward);
            axpy(dv, dforward[i], row);
            dv[i] += dot(row, dbackward);
        }
        // The link update, L_t[i,i] = 0 whatever its inputs.
        g[i] = T::from_f64(0.0);
        let wi = write[i];
        grads.write[i] += dot(g, precedence) - dot(g, before);
        for ((c, &gj), &bj) in columns.iter_mut().zip(g.iter()).zip(before) {
            *c += gj * bj;
        }
        axpy(grads.precedence, wi, g);
        for (gj, &wj) in g.iter_mut().zip(write) {
            *gj *= one - (wi + wj);
        }
    }
    if column_sums {
        for (d, &c) in grads.write.iter_mut().zip(columns.iter()) {
            *d -= c;
        }
    }
}
}

/// Precedence p_t = (1 - sum_i w_i) p_{t-1} + w into `precedence` `[N]`.
pub(crate) fn precedence_forward<T: Real>(previous: &[T], write: &[T], precedence: &mut [T]) {
    let kept = T::from_f64(1.0) - sum(write);
    for ((p, &before), &w) in precedence.iter_mut().zip(previous).zip(write) {
        *p = before * kept + w;
    }
}

/// The backward of [`precedence_forward`]: from `dnow` (of p_t) `[N]`, adds to `dprevious`
/// (of p_{t-1}) and `dwrite` `[N]`.
pub(crate) fn precedence_backward<T: Real>(
    dnow: &[T],
    previous: &[T],
    write: &[T],
    dprevious: &mut [T],
    dwrite: &mut [T],
) {
    let kept = T::from_f64(1.0) - sum(write);
    let inner = dot(dnow, previous);
    for ((dp, dw), &d) in dprevious.iter_mut().zip(dwrite.iter_mut()).zip(dnow) {
        *dp += kept * d;
        *dw += d - inner;
    }
}
