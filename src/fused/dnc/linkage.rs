//! Precedence, the link matrix and the forward and backward weightings for one batch row on
//! flat buffers, forward and hand-derived backward: [`crate::pieces::dnc::linkage`]'s
//! arithmetic. The link matrix is stored by rows, `[N, N]` (L[i,j] at i N + j), so every
//! inner loop runs along a row: contiguous and vectorisable.
//!
//! Backward (w = w^w_t, p = p_{t-1}, L' = L_{t-1}; G = L̄_t with its diagonal set to 0, since
//! L_t[i,i] = 0 whatever the inputs):
//! ```text
//! link        L̄'[i,j] = (1 - w_i - w_j) G[i,j]
//!             w̄_k += (G p)_k - sum_j G[k,j] L'[k,j] - sum_i G[i,k] L'[i,k],   p̄ += G^T w
//! precedence  p_t = (1 - sum w) p + w:   p̄ += (1 - sum w) p̄_t,  w̄_k += p̄_t[k] - <p̄_t, p>
//! directional f = L_t v, b = L_t^T v (v = w^{r,i}_{t-1}):
//!             L̄_t += f̄ v^T + v b̄^T,   v̄ += L_t^T f̄ + L_t b̄
//! ```

use crate::fused::addressing::axpy;
use crate::fused::kernel::{dot, simd_routine, sum, Real};

simd_routine! {
/// The link matrix L_t `link` `[N, N]` from L_{t-1} `previous` `[N, N]`, the write weighting
/// `write` `[N]` and the precedence of the step before `precedence` `[N]`:
/// L_t[i,j] = (1 - w_i - w_j) L_{t-1}[i,j] + w_i p_j, L_t[i,i] = 0.
pub(crate) fn link_forward<T: Real>(previous: &[T], write: &[T], precedence: &[T], link: &mut [T]) {
    let n = write.len();
    let one = T::from_f64(1.0);
    for (i, (row, before)) in link.chunks_exact_mut(n).zip(previous.chunks_exact(n)).enumerate() {
        let wi = write[i];
        for ((l, &b), (&wj, &pj)) in row.iter_mut().zip(before).zip(write.iter().zip(precedence)) {
            *l = (one - (wi + wj)) * b + wi * pj;
        }
        row[i] = T::from_f64(0.0);
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

simd_routine! {
/// The forward and backward weightings f = L v and b = L^T v `[N]` each of a read head whose
/// last weighting was `previous` `[N]`, in one pass over `link` `[N, N]`.
pub(crate) fn directional_forward<T: Real>(link: &[T], previous: &[T], forward: &mut [T], backward: &mut [T]) {
    let n = previous.len();
    backward.fill(T::from_f64(0.0));
    for ((row, f), &v) in link.chunks_exact(n).zip(forward.iter_mut()).zip(previous) {
        *f = dot(row, previous);
        axpy(backward, v, row);
    }
}
}

simd_routine! {
/// The backward of [`directional_forward`]: from `dforward`, `dbackward` `[N]`, adds to
/// `dlink` `[N, N]` and to `dprevious` `[N]`.
pub(crate) fn directional_backward<T: Real>(
    link: &[T],
    previous: &[T],
    dforward: &[T],
    dbackward: &[T],
    dlink: &mut [T],
    dprevious: &mut [T],
) {
    let n = previous.len();
    for (i, (row, drow)) in link.chunks_exact(n).zip(dlink.chunks_exact_mut(n)).enumerate() {
        axpy(drow, dforward[i], previous);
        axpy(drow, previous[i], dbackward);
        axpy(dprevious, dforward[i], row);
        dprevious[i] += dot(row, dbackward);
    }
}
}

simd_routine! {
/// The backward of [`link_forward`]: `dlink` `[N, N]` holds the whole gradient of L_t and
/// becomes that of L_{t-1}; adds to `dwrite` `[N]` and `dprecedence` `[N]` (of p_{t-1}).
/// With `column_sums` false the column sums are left out (the deliberate fault of the
/// tests). `columns`: `[N]` scratch.
#[allow(clippy::too_many_arguments)]
pub(crate) fn link_backward<T: Real>(
    previous: &[T],
    write: &[T],
    precedence: &[T],
    dlink: &mut [T],
    dwrite: &mut [T],
    dprecedence: &mut [T],
    column_sums: bool,
    columns: &mut [T],
) {
    let n = write.len();
    let one = T::from_f64(1.0);
    columns.fill(T::from_f64(0.0));
    for (i, (g, before)) in dlink.chunks_exact_mut(n).zip(previous.chunks_exact(n)).enumerate() {
        g[i] = T::from_f64(0.0);
        let wi = write[i];
        dwrite[i] += dot(g, precedence) - dot(g, before);
        for ((c, &gj), &bj) in columns.iter_mut().zip(g.iter()).zip(before) {
            *c += gj * bj;
        }
        axpy(dprecedence, wi, g);
        for (gj, &wj) in g.iter_mut().zip(write) {
            *gj *= one - (wi + wj);
        }
    }
    if column_sums {
        for (d, &c) in dwrite.iter_mut().zip(columns.iter()) {
            *d -= c;
        }
    }
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
