//! The NTM's memory write (eqs. 3-4, [`crate::pieces::memory::write`]) and read (eq. 2,
//! [`crate::pieces::memory::read`]) for one batch row on flat buffers, forward and hand-derived
//! backward. [`crate::fused::ntm`] runs these for every row and time step.
//!
//! The memory is stored by columns, `[M, N]` (element (i, n) of the paper's N x M matrix at
//! `n N + i`), so every inner loop runs over all N slots: long, contiguous and vectorisable.
//!
//! With write heads j = 1..W (weighting w_j `[N]`, erase e_j and add a_j `[M]`), every head
//! erases, then every head adds (section 3.2; the erase products commute):
//! ```text
//! M'_in  = M_in prod_j (1 - w_ji e_jn) + sum_j w_ji a_jn          (i: slot, n: column)
//! dM_in  = G_in prod_j (1 - w_ji e_jn)
//! dw_ji  = <G_i, a_j> - <G_i M_i P_ji, e_j>          P_jin = prod_{k != j} (1 - w_ki e_kn)
//! de_jn  = -sum_i G_in M_in w_ji P_jin              da_jn = sum_i G_in w_ji
//! ```
//! for the gradient G of M'. A read r = w^T M has dw_i = <dr, M_i> and dM_in += w_i dr_n.

use crate::fused::kernel::{dot, simd_routine, Real};

/// One write head's part of a write: weighting `[N]`, erase `[M]`, add `[M]`.
pub(crate) struct WriteHead<'a, T> {
    pub weighting: &'a [T],
    pub erase: &'a [T],
    pub add: &'a [T],
}

/// Gradients of one write head's [`WriteHead`] parts.
pub(crate) struct WriteHeadGrad<'a, T> {
    pub weighting: &'a mut [T],
    pub erase: &'a mut [T],
    pub add: &'a mut [T],
}

simd_routine! {
/// The memory `out` (`[M, N]`, by columns) erased then added to by every head, in place.
pub(crate) fn write<T: Real>(heads: &[WriteHead<T>], out: &mut [T]) {
    let n = heads[0].weighting.len();
    let one = T::from_f64(1.0);
    for h in heads {
        for (column, &e) in out.chunks_exact_mut(n).zip(h.erase) {
            for (v, &w) in column.iter_mut().zip(h.weighting) {
                *v *= one - w * e;
            }
        }
    }
    for h in heads {
        for (column, &a) in out.chunks_exact_mut(n).zip(h.add) {
            for (v, &w) in column.iter_mut().zip(h.weighting) {
                *v += w * a;
            }
        }
    }
}
}

simd_routine! {
/// The backward of [`write`]: from `g`, the gradient of its output, sets `dmem` (the gradient
/// of the memory before the write) and adds to each head's gradients (`grads`, in head
/// order). `scratch`: at least (2 W + 1) N values.
pub(crate) fn write_backward<T: Real>(
    mem: &[T],
    heads: &[WriteHead<T>],
    g: &[T],
    dmem: &mut [T],
    grads: &mut [WriteHeadGrad<T>],
    scratch: &mut [T],
) {
    match (heads, grads) {
        ([head], [grad]) => one_head_backward(mem, head, g, dmem, grad, scratch),
        (heads, grads) => heads_backward(mem, heads, g, dmem, grads, scratch),
    }
}
}

/// [`write_backward`] for any number of write heads.
#[inline(always)]
fn heads_backward<T: Real>(
    mem: &[T],
    heads: &[WriteHead<T>],
    g: &[T],
    dmem: &mut [T],
    grads: &mut [WriteHeadGrad<T>],
    scratch: &mut [T],
) {
    let n = heads[0].weighting.len();
    let one = T::from_f64(1.0);
    // Per column n: each head's erase factors 1 - w_ji e_jn over the slots i, the product of
    // the others' (P_jin), and G_in M_in P_jin.
    let (factors, rest) = scratch.split_at_mut(heads.len() * n);
    let (others, rest) = rest.split_at_mut(heads.len() * n);
    let erased = &mut rest[..n];
    for (c, ((column, gcolumn), dcolumn)) in
        mem.chunks_exact(n).zip(g.chunks_exact(n)).zip(dmem.chunks_exact_mut(n)).enumerate()
    {
        for (h, f) in heads.iter().zip(factors.chunks_exact_mut(n)) {
            let e = h.erase[c];
            for (f, &w) in f.iter_mut().zip(h.weighting) {
                *f = one - w * e;
            }
        }
        others.fill(one);
        for (j, other) in others.chunks_exact_mut(n).enumerate() {
            for (k, f) in factors.chunks_exact(n).enumerate() {
                if k != j {
                    for (o, &f) in other.iter_mut().zip(f) {
                        *o *= f;
                    }
                }
            }
        }
        for ((h, d), other) in heads.iter().zip(grads.iter_mut()).zip(others.chunks_exact(n)) {
            let (e, a) = (h.erase[c], h.add[c]);
            for (((x, dw), (&gi, &mi)), &o) in
                erased.iter_mut().zip(d.weighting.iter_mut()).zip(gcolumn.iter().zip(column)).zip(other)
            {
                *x = gi * mi * o;
                *dw += gi * a - *x * e;
            }
            d.erase[c] -= dot(erased, h.weighting);
            d.add[c] += dot(gcolumn, h.weighting);
        }
        // The product of all factors: the last head's own times the others'.
        let last = (heads.len() - 1) * n;
        for ((d, &gi), (&f, &o)) in dcolumn.iter_mut().zip(gcolumn).zip(factors[last..].iter().zip(&others[last..])) {
            *d = gi * (f * o);
        }
    }
}

/// [`write_backward`] for one write head (the paper's NTMs and the DNC), in three passes over
/// each column where the general loop makes six: the same values in the same order, bit for
/// bit (the erase product of the other heads is 1, so G M P = G M and the factor of dM is
/// 1 - w e). `erased`: N scratch values.
#[inline(always)]
fn one_head_backward<T: Real>(
    mem: &[T],
    head: &WriteHead<T>,
    g: &[T],
    dmem: &mut [T],
    grad: &mut WriteHeadGrad<T>,
    erased: &mut [T],
) {
    let n = head.weighting.len();
    let one = T::from_f64(1.0);
    let (w, dw, erased) = (&head.weighting[..n], &mut grad.weighting[..n], &mut erased[..n]);
    for (c, ((column, gcolumn), dcolumn)) in
        mem.chunks_exact(n).zip(g.chunks_exact(n)).zip(dmem.chunks_exact_mut(n)).enumerate()
    {
        let (e, a) = (head.erase[c], head.add[c]);
        let slots =
            (column.iter().zip(gcolumn).zip(w)).zip(dw.iter_mut().zip(erased.iter_mut()).zip(dcolumn.iter_mut()));
        for (((&mi, &gi), &wi), ((dw, x), d)) in slots {
            *x = gi * mi;
            *dw += gi * a - *x * e;
            *d = gi * (one - wi * e);
        }
        grad.erase[c] -= dot(erased, w);
        grad.add[c] += dot(gcolumn, w);
    }
}

simd_routine! {
/// r = w^T M (`weighting` `[N]`, `mem` `[M, N]` by columns, `r` `[M]`).
pub(crate) fn read<T: Real>(weighting: &[T], mem: &[T], r: &mut [T]) {
    for (r, column) in r.iter_mut().zip(mem.chunks_exact(weighting.len())) {
        *r = dot(weighting, column);
    }
}
}

simd_routine! {
/// The backward of [`read`]: from `dr` `[M]`, adds to `dweighting` `[N]` and `dmem` `[M, N]`.
pub(crate) fn read_backward<T: Real>(
    weighting: &[T],
    mem: &[T],
    dr: &[T],
    dweighting: &mut [T],
    dmem: &mut [T],
) {
    let n = weighting.len();
    for ((column, dcolumn), &d) in mem.chunks_exact(n).zip(dmem.chunks_exact_mut(n)).zip(dr) {
        for ((dw, dm), (&x, &w)) in dweighting.iter_mut().zip(dcolumn.iter_mut()).zip(column.iter().zip(weighting)) {
            *dw += d * x;
            *dm += d * w;
        }
    }
}
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The three-pass backward of one write head gives the general loop's bits, for N with and
    /// without a remainder of 8 (the partial sums' tail).
    #[test]
    fn one_head_backward_gives_the_bits_of_the_general_loop() {
        for (n, m) in [(128, 20), (37, 6), (5, 3), (8, 1)] {
            let values = |count: usize, seed: usize| {
                (0..count)
                    .map(|i| (((i * 7919 + seed * 104_729) % 2001) as f32 - 1000.0) / 1000.0)
                    .collect::<Vec<f32>>()
            };
            let (mem, g) = (values(n * m, 1), values(n * m, 2));
            let weighting: Vec<f32> = values(n, 3).iter().map(|x| x.abs()).collect();
            let (erase, add): (Vec<f32>, Vec<f32>) = (values(m, 4).iter().map(|x| x.abs()).collect(), values(m, 5));
            let head = WriteHead { weighting: &weighting, erase: &erase, add: &add };
            let run = |general: bool| {
                let (mut dw, mut de, mut da) = (values(n, 6), values(m, 7), values(m, 8));
                let mut dmem = vec![0.0f32; n * m];
                let mut grads = [WriteHeadGrad { weighting: &mut dw, erase: &mut de, add: &mut da }];
                if general {
                    heads_backward(&mem, std::slice::from_ref(&head), &g, &mut dmem, &mut grads, &mut vec![0.0; 3 * n]);
                } else {
                    one_head_backward(&mem, &head, &g, &mut dmem, &mut grads[0], &mut vec![0.0; n]);
                }
                [dw, de, da, dmem].map(|v| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>())
            };
            assert_eq!(run(false), run(true), "N = {n}, M = {m}");
        }
    }
}
