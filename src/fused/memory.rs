//! The NTM's memory write (eqs. 3-4, [`crate::memory::write`]) and read (eq. 2,
//! [`crate::memory::read`]) for one batch row on flat buffers, forward and hand-derived
//! backward. [`crate::fused::ntm`] runs these for every row and time step.
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

use crate::fused::kernel::{dot, Real};

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

/// `out = mem` erased then added to by every head (`mem`, `out`: `[N, M]`).
pub(crate) fn write<T: Real>(mem: &[T], heads: &[WriteHead<T>], out: &mut [T]) {
    let m = heads[0].erase.len();
    let one = T::from_f64(1.0);
    out.copy_from_slice(mem);
    for h in heads {
        for (row, &w) in out.chunks_exact_mut(m).zip(h.weighting) {
            for (v, &e) in row.iter_mut().zip(h.erase) {
                *v *= one - w * e;
            }
        }
    }
    for h in heads {
        for (row, &w) in out.chunks_exact_mut(m).zip(h.weighting) {
            for (v, &a) in row.iter_mut().zip(h.add) {
                *v += w * a;
            }
        }
    }
}

/// The backward of [`write`]: from `g`, the gradient of its output, sets `dmem` (the gradient
/// of the memory before the write) and each head's gradients (`grads`, in head order;
/// erase and add are added to, the weighting is set). `scratch`: at least (2 W + 1) M values.
pub(crate) fn write_backward<T: Real>(
    mem: &[T],
    heads: &[WriteHead<T>],
    g: &[T],
    dmem: &mut [T],
    grads: &mut [WriteHeadGrad<T>],
    scratch: &mut [T],
) {
    let m = heads[0].erase.len();
    let one = T::from_f64(1.0);
    // Per slot: each head's erase factors 1 - w_ji e_jn, the product of the others' (P_jin),
    // and G_in M_in P_jin.
    let (factors, rest) = scratch.split_at_mut(heads.len() * m);
    let (others, rest) = rest.split_at_mut(heads.len() * m);
    let erased = &mut rest[..m];
    for (i, ((row, grow), drow)) in
        mem.chunks_exact(m).zip(g.chunks_exact(m)).zip(dmem.chunks_exact_mut(m)).enumerate()
    {
        for (h, f) in heads.iter().zip(factors.chunks_exact_mut(m)) {
            let w = h.weighting[i];
            for (f, &e) in f.iter_mut().zip(h.erase) {
                *f = one - w * e;
            }
        }
        others.fill(one);
        for (j, other) in others.chunks_exact_mut(m).enumerate() {
            for (k, f) in factors.chunks_exact(m).enumerate() {
                if k != j {
                    for (o, &f) in other.iter_mut().zip(f) {
                        *o *= f;
                    }
                }
            }
        }
        for ((h, d), other) in heads.iter().zip(grads.iter_mut()).zip(others.chunks_exact(m)) {
            let w = h.weighting[i];
            for (((x, &gn), &mn), &o) in erased.iter_mut().zip(grow).zip(row).zip(other) {
                *x = gn * mn * o;
            }
            d.weighting[i] = dot(grow, h.add) - dot(erased, h.erase);
            for ((de, da), (&x, &gn)) in d.erase.iter_mut().zip(d.add.iter_mut()).zip(erased.iter().zip(grow)) {
                *de -= x * w;
                *da += gn * w;
            }
        }
        // The product of all factors: the last head's own times the others'.
        let (last, other) = (&factors[(heads.len() - 1) * m..], &others[(heads.len() - 1) * m..]);
        for (((d, &gn), &f), &o) in drow.iter_mut().zip(grow).zip(last).zip(other) {
            *d = gn * (f * o);
        }
    }
}

/// r = w^T M (`weighting` `[N]`, `mem` `[N, M]`, `r` `[M]`).
pub(crate) fn read<T: Real>(weighting: &[T], mem: &[T], r: &mut [T]) {
    let m = r.len();
    r.fill(T::from_f64(0.0));
    for (row, &w) in mem.chunks_exact(m).zip(weighting) {
        for (v, &x) in r.iter_mut().zip(row) {
            *v += w * x;
        }
    }
}

/// The backward of [`read`]: from `dr` `[M]`, adds to `dweighting` `[N]` and `dmem` `[N, M]`.
pub(crate) fn read_backward<T: Real>(
    weighting: &[T],
    mem: &[T],
    dr: &[T],
    dweighting: &mut [T],
    dmem: &mut [T],
) {
    let m = dr.len();
    for (((row, drow), &w), dw) in
        mem.chunks_exact(m).zip(dmem.chunks_exact_mut(m)).zip(weighting).zip(dweighting)
    {
        *dw += dot(dr, row);
        for (d, &x) in drow.iter_mut().zip(dr) {
            *d += w * x;
        }
    }
}
