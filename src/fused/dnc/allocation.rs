//! Retention, usage and the allocation weighting for one batch row on flat buffers, forward
//! and hand-derived backward: [`crate::pieces::dnc::allocation`]'s arithmetic.
//!
//! Backward (a bar is a gradient; s_j = u[phi_j] the usages in free-list order, P_j =
//! prod_{k<j} s_k, the order phi held fixed):
//! ```text
//! allocation  a_j = (1 - s_j) P_j:   s̄_m = P_m (B_m - ā_m),  B_m = sum_{j>m} ā_j (1 - s_j) prod_{m<k<j} s_k,
//!             a reverse scan B_{m-1} = ā_m (1 - s_m) + s_m B_m (B_{N-1} = 0): O(N), no division
//! usage       u = q psi, q = u' + w - u' w (u' = u_{t-1}, w = w^w_{t-1}):
//!             ū' = ū psi (1 - w),  w̄ = ū psi (1 - u'),  psī = ū q
//! retention   psi = prod_i d_i, d_i = 1 - f_i w^{r,i}_{t-1}:  with D_i = prod_{k != i} d_k,
//!             f̄_i = -<psī, w^{r,i}_{t-1} D_i>,  w̄^{r,i}_{t-1} = -psī f_i D_i
//! ```

use std::cmp::Ordering;

use crate::fused::kernel::{simd_routine, Real};

simd_routine! {
/// Retention psi `[N]` and usage u_t `[N]` for one row, from the free gates `free` `[R]`, the
/// read weightings of the step before `previous_reads` `[R, N]` and its usage and write
/// weighting `[N]` each.
pub(crate) fn usage_forward<T: Real>(
    free: &[T],
    previous_reads: &[T],
    previous_usage: &[T],
    previous_write: &[T],
    retention: &mut [T],
    usage: &mut [T],
) {
    let n = usage.len();
    let one = T::from_f64(1.0);
    for (i, (&f, w)) in free.iter().zip(previous_reads.chunks_exact(n)).enumerate() {
        for (p, &w) in retention.iter_mut().zip(w) {
            let kept = one - w * f;
            *p = if i == 0 { kept } else { *p * kept };
        }
    }
    for (((u, &before), &written), &psi) in usage.iter_mut().zip(previous_usage).zip(previous_write).zip(retention.iter()) {
        *u = (before + written - before * written) * psi;
    }
}
}

/// The free list `order` `[N]` (slots by ascending `usage`, ties to the lower index) and the
/// allocation weighting `allocation` `[N]`: a[phi_j] = (1 - u[phi_j]) prod_{i<j} u[phi_i].
pub(crate) fn allocation_forward<T: Real>(usage: &[T], order: &mut [u32], allocation: &mut [T]) {
    let one = T::from_f64(1.0);
    for (i, o) in order.iter_mut().enumerate() {
        *o = i as u32;
    }
    // Unstable but total: ties broken by index, so the order is the stable sort's.
    order.sort_unstable_by(|&a, &b| {
        let (ua, ub) = (usage[a as usize], usage[b as usize]);
        ua.partial_cmp(&ub).unwrap_or(Ordering::Equal).then(a.cmp(&b))
    });
    let mut product = one;
    for &slot in order.iter() {
        let s = usage[slot as usize];
        allocation[slot as usize] = (one - s) * product;
        product *= s;
    }
}

/// The backward of [`allocation_forward`]: from `dallocation` `[N]`, adds to `dusage` `[N]`
/// (the order held fixed). `products`: `[N]` scratch.
pub(crate) fn allocation_backward<T: Real>(
    usage: &[T],
    order: &[u32],
    dallocation: &[T],
    dusage: &mut [T],
    products: &mut [T],
) {
    let (zero, one) = (T::from_f64(0.0), T::from_f64(1.0));
    let mut product = one;
    for (p, &slot) in products.iter_mut().zip(order) {
        *p = product;
        product *= usage[slot as usize];
    }
    let mut later = zero; // B_j
    for (&slot, &p) in order.iter().zip(products.iter()).rev() {
        let (s, da) = (usage[slot as usize], dallocation[slot as usize]);
        dusage[slot as usize] += p * (later - da);
        later = da * (one - s) + s * later;
    }
}

/// What [`usage_backward`] reads of the forward, for one row.
pub(crate) struct UsageSaved<'a, T> {
    /// Free gates `[R]`.
    pub free: &'a [T],
    /// The read weightings of the step before `[R, N]`.
    pub previous_reads: &'a [T],
    /// Usage and write weighting of the step before, `[N]` each.
    pub previous_usage: &'a [T],
    pub previous_write: &'a [T],
    /// This step's retention psi `[N]`.
    pub retention: &'a [T],
}

/// The gradients [`usage_backward`] gives, for one row.
pub(crate) struct UsageGrad<'a, T> {
    /// Of the usage of the step before `[N]` (set).
    pub previous_usage: &'a mut [T],
    /// Of the write weighting of the step before `[N]` (added; left alone if `through_write`
    /// is false: the deliberate fault of the tests).
    pub previous_write: &'a mut [T],
    /// Of the activated free gates `[R]` (set).
    pub free: &'a mut [T],
    /// Of the read weightings of the step before `[R, N]` (set).
    pub previous_reads: &'a mut [T],
}

simd_routine! {
/// The backward of [`usage_forward`]: from `dusage` `[N]`, the whole gradient of u_t, into
/// `grad`. `scratch`: `[2N]`.
pub(crate) fn usage_backward<T: Real>(
    dusage: &[T],
    saved: &UsageSaved<T>,
    grad: &mut UsageGrad<T>,
    through_write: bool,
    scratch: &mut [T],
) {
    let n = dusage.len();
    let one = T::from_f64(1.0);
    let (dretention, others) = scratch.split_at_mut(n);
    for j in 0..n {
        let (before, written, psi, du) =
            (saved.previous_usage[j], saved.previous_write[j], saved.retention[j], dusage[j]);
        dretention[j] = du * (before + written - before * written);
        grad.previous_usage[j] = du * psi * (one - written);
        if through_write {
            grad.previous_write[j] += du * psi * (one - before);
        }
    }
    let heads = saved.free.len();
    for i in 0..heads {
        others.fill(one);
        for (k, (&f, w)) in saved.free.iter().zip(saved.previous_reads.chunks_exact(n)).enumerate() {
            if k != i {
                for (o, &w) in others.iter_mut().zip(w) {
                    *o *= one - w * f;
                }
            }
        }
        let (f, w) = (saved.free[i], &saved.previous_reads[i * n..(i + 1) * n]);
        let dw = &mut grad.previous_reads[i * n..(i + 1) * n];
        let mut df = T::from_f64(0.0);
        for (((dw, &w), &o), &dr) in dw.iter_mut().zip(w).zip(others.iter()).zip(dretention.iter()) {
            df -= dr * w * o;
            *dw = -dr * f * o;
        }
        grad.free[i] = df;
    }
}
}
