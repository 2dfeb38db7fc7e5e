//! The NTM's memory write (eqs. 3-4, [`crate::memory::write`]) and read (eq. 2,
//! [`crate::memory::read`]) for one batch row on flat buffers, forward and hand-derived
//! backward. [`crate::fused::ntm`] runs these for every row and time step.
//!
//! With write heads j = 1..W (weighting w_j `[N]`, erase e_j and add a_j `[M]`), every head
//! erases, then every head adds (section 3.2; the erase products commute):
//! ```text
//! M'_in  = M_in prod_j (1 - w_ji e_jn) + sum_j w_ji a_jn          (i: slot, n: column)
//! dM_in  = G_in prod_j (1 - w_ji e_jn)
//! dw_ji  = sum_n G_in (a_jn - M_in e_jn P_jin)      P_jin = prod_{k != j} (1 - w_ki e_kn)
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
/// erase and add are added to, the weighting is set).
pub(crate) fn write_backward<T: Real>(
    mem: &[T],
    heads: &[WriteHead<T>],
    g: &[T],
    dmem: &mut [T],
    grads: &mut [WriteHeadGrad<T>],
) {
    let m = heads[0].erase.len();
    let one = T::from_f64(1.0);
    for (i, ((row, grow), drow)) in
        mem.chunks_exact(m).zip(g.chunks_exact(m)).zip(dmem.chunks_exact_mut(m)).enumerate()
    {
        for (j, (h, d)) in heads.iter().zip(grads.iter_mut()).enumerate() {
            let w = h.weighting[i];
            let mut dw = T::from_f64(0.0);
            for n in 0..m {
                // P_jin: the other heads' erase factors (1 with one head).
                let others = heads
                    .iter()
                    .enumerate()
                    .filter(|&(k, _)| k != j)
                    .fold(one, |p, (_, o)| p * (one - o.weighting[i] * o.erase[n]));
                let erased = row[n] * others;
                dw += grow[n] * (h.add[n] - erased * h.erase[n]);
                d.erase[n] -= grow[n] * erased * w;
                d.add[n] += grow[n] * w;
            }
            d.weighting[i] = dw;
        }
        for n in 0..m {
            let keep = heads.iter().fold(one, |p, h| p * (one - h.weighting[i] * h.erase[n]));
            drow[n] = grow[n] * keep;
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
