//! One head's step for one batch row on flat buffers: the activations of its projection
//! ([`crate::pieces::heads::Head::params`]) and its addressing pipeline (paper figure 2: content ->
//! interpolate -> shift -> sharpen, eqs. 5-9, [`crate::pieces::addressing::address`]), forward and
//! hand-derived backward. [`crate::fused::ntm`] runs these for every head, row and time step.
//!
//! The forward saves, per row, [`SLOTS`] vectors of length N (the final weighting w, the
//! content weighting w^c, cosine similarities K, memory row norms, the gated weighting w^g,
//! the shifted weighting w~ and ln(w~ + e3)), so the backward recomputes only the key's norm.
//! Loops run over whole vectors (shifts as two contiguous pieces, sums as dot products) so
//! the compiler can vectorise them.
//!
//! Backward (dw: gradient of w):
//! ```text
//! sharpen   l = gamma ln(ws + e3), w = softmax(l):   dl = w (dw - <w, dw>)
//!           dgamma = <dl, ln(ws + e3)>,  dws = dl gamma / (ws + e3)
//! shift     ws(i) = sum_k s_k wg(i - o_k):  ds_k = sum_i dws(i) wg(i - o_k),
//!           dwg(j) = sum_k s_k dws(j + o_k)                      (indices mod N)
//! interp.   wg = prev + g (wc - prev):  dwc = g dwg,  dprev = (1 - g) dwg,  dg = <dwg, wc - prev>
//! content   z = beta K, wc = softmax(z):  dz = wc (dwc - <wc, dwc>),  dbeta = <dz, K>,  dK = beta dz
//! cosine    K_i = dot_i / (rn_i kn + e2):  ddot_i = dK_i / den_i,  dden_i = -dK_i K_i / den_i
//!           dM_i = ddot_i k + dden_i kn M_i / rn_i,  dk = sum_i ddot_i M_i + (sum_i dden_i rn_i) k / kn
//! activ.    key, add = tanh: (1 - y^2);  beta, gamma = softplus (+1): sigmoid(raw);
//!           gate, erase = sigmoid: y (1 - y);  shift = softmax: s (ds - <s, ds>);
//!           the clip to +-PRE_ACTIVATION_CLIP passes the gradient strictly inside, half at the bound
//! ```

use std::ops::Range;

use crate::fused::kernel::{dot, sigmoid, simd_routine, softmax, sum, Real};
use crate::pieces::addressing::{COSINE_EPSILON, NORM_EPSILON, SHARPEN_EPSILON};
use crate::pieces::heads::{Parts, PRE_ACTIVATION_CLIP};

/// Saved vectors of length N per head, row and step, in this order.
pub(crate) const SLOTS: usize = 7;
pub(crate) const SLOT_WEIGHTING: usize = 0;
pub(crate) const SLOT_CONTENT: usize = 1;
const SLOT_COSINE: usize = 2;
const SLOT_ROW_NORM: usize = 3;
const SLOT_GATED: usize = 4;
const SLOT_SHIFTED: usize = 5;
const SLOT_LOG_SHIFTED: usize = 6;

/// ln(1 + e^x) = max(x, 0) + ln(1 + e^-|x|), stable for any x.
#[inline(always)]
pub(crate) fn softplus<T: Real>(x: T) -> T {
    let zero = T::from_f64(0.0);
    let (relu, abs) = if x > zero { (x, x) } else { (zero, -x) };
    relu + (T::from_f64(1.0) + (-abs).exp()).ln()
}

#[inline(always)]
pub(crate) fn clip<T: Real>(x: T) -> T {
    let c = T::from_f64(PRE_ACTIVATION_CLIP);
    if x > c {
        c
    } else if x < -c {
        -c
    } else {
        x
    }
}

simd_routine! {
/// A head's activated parameters from its projection `raw` (one row, `[key (M), beta, gate,
/// shift (S), gamma]`, then `[erase (M), add (M)]` for a write head): clipped to
/// +-[`PRE_ACTIVATION_CLIP`], then tanh, softplus, sigmoid, softmax, 1 + softplus (and
/// sigmoid, tanh), as in [`crate::pieces::heads::Head::params`]. `act` has `raw`'s length.
pub(crate) fn activate<T: Real>(raw: &[T], act: &mut [T], parts: Parts) {
    for (a, &r) in act.iter_mut().zip(raw) {
        *a = clip(r);
    }
    for k in &mut act[parts.key()] {
        *k = k.tanh();
    }
    act[parts.beta()] = softplus(act[parts.beta()]);
    act[parts.gate()] = sigmoid(act[parts.gate()]);
    softmax(&mut act[parts.shift()]);
    act[parts.gamma()] = T::from_f64(1.0) + softplus(act[parts.gamma()]);
    if act.len() > parts.addressing() {
        for e in &mut act[parts.erase()] {
            *e = sigmoid(*e);
        }
        for a in &mut act[parts.add()] {
            *a = a.tanh();
        }
    }
}
}

simd_routine! {
/// The gradient of the projection `raw` (`draw`) from that of the activated parameters
/// `dact` (layouts as in [`activate`]; `act`: its output).
pub(crate) fn activation_backward<T: Real>(
    raw: &[T],
    act: &[T],
    dact: &[T],
    draw: &mut [T],
    parts: Parts,
) {
    let one = T::from_f64(1.0);
    let tanh_grad = |y: T| one - y * y;
    let sigmoid_grad = |y: T| y * (one - y);
    let mut elementwise = |range: Range<usize>, grad: &dyn Fn(T) -> T| {
        for i in range {
            draw[i] = dact[i] * grad(act[i]);
        }
    };
    elementwise(parts.key(), &tanh_grad);
    if act.len() > parts.addressing() {
        elementwise(parts.erase(), &sigmoid_grad);
        elementwise(parts.add(), &tanh_grad);
    }
    let (beta, gate, gamma) = (parts.beta(), parts.gate(), parts.gamma());
    draw[beta] = dact[beta] * sigmoid(clip(raw[beta])); // softplus' = sigmoid
    draw[gate] = dact[gate] * sigmoid_grad(act[gate]);
    draw[gamma] = dact[gamma] * sigmoid(clip(raw[gamma]));
    let (shift, dshift) = (&act[parts.shift()], &dact[parts.shift()]);
    let inner = dot(shift, dshift);
    for (k, i) in parts.shift().enumerate() {
        draw[i] = shift[k] * (dshift[k] - inner);
    }
    // Candle's clamp (max then min) passes the gradient where the value is untouched, half of
    // it where the value equals the bound, and none beyond.
    let c = T::from_f64(PRE_ACTIVATION_CLIP);
    for (d, &r) in draw.iter_mut().zip(raw) {
        if r > c || r < -c {
            *d = T::from_f64(0.0);
        } else if r == c || r == -c {
            *d *= T::from_f64(0.5);
        }
    }
}
}

/// `y += a x` (equal lengths).
#[inline(always)]
pub(crate) fn axpy<T: Real>(y: &mut [T], a: T, x: &[T]) {
    for (y, &x) in y.iter_mut().zip(x) {
        *y += a * x;
    }
}

/// A shift by `offset` (+1 moves attention from slot i to i + 1) as two contiguous pieces:
/// slot i takes slot i - offset (mod n), so with o = offset mod n, slots `o..n` take `0..n - o`
/// and slots `0..o` take `n - o..n`. Returns o.
#[inline(always)]
fn wrap(offset: i64, n: usize) -> usize {
    offset.rem_euclid(n as i64) as usize
}

/// Slots per block in [`squares_and_dots`]: two blocks of sums fit in the vector registers.
const BLOCK: usize = 16;

/// For every slot i, `squares[i] = sum_c M_ci^2` and `dots[i] = sum_c M_ci key_c`, with `mem`
/// `[M, N]` by columns: blocks of [`BLOCK`] slots keep their sums in registers while the
/// loop runs over the width.
#[inline(always)]
fn squares_and_dots<T: Real>(mem: &[T], key: &[T], squares: &mut [T], dots: &mut [T]) {
    let n = squares.len();
    let zero = T::from_f64(0.0);
    let whole = n - n % BLOCK;
    for start in (0..whole).step_by(BLOCK) {
        let (mut sq, mut kd) = ([zero; BLOCK], [zero; BLOCK]);
        for (column, &k) in mem.chunks_exact(n).zip(key) {
            let x = &column[start..start + BLOCK];
            for j in 0..BLOCK {
                sq[j] += x[j] * x[j];
                kd[j] += x[j] * k;
            }
        }
        squares[start..start + BLOCK].copy_from_slice(&sq);
        dots[start..start + BLOCK].copy_from_slice(&kd);
    }
    for i in whole..n {
        let (mut sq, mut kd) = (zero, zero);
        for (column, &k) in mem.chunks_exact(n).zip(key) {
            sq += column[i] * column[i];
            kd += column[i] * k;
        }
        (squares[i], dots[i]) = (sq, kd);
    }
}

simd_routine! {
/// The addressing forward for one row: activated parameters `act` (`[key (M), beta, gate,
/// shift (S), gamma, ...]`), memory `mem` stored by columns, `[M, N]`, and the previous weighting `prev` `[N]` ->
/// `saved` `[SLOTS, N]` (the weighting w in slot [`SLOT_WEIGHTING`]).
pub(crate) fn address_forward<T: Real>(
    act: &[T],
    mem: &[T],
    prev: &[T],
    shifts: &[i64],
    saved: &mut [T],
) {
    let (n, m) = (prev.len(), mem.len() / prev.len());
    let parts = Parts::new(m, shifts.len());
    let (key, beta, gate) = (&act[parts.key()], act[parts.beta()], act[parts.gate()]);
    let (shift, gamma) = (&act[parts.shift()], act[parts.gamma()]);
    let eps = T::from_f64;
    let (weighting, rest) = saved.split_at_mut(n);
    let (content, rest) = rest.split_at_mut(n);
    let (cosine, rest) = rest.split_at_mut(n);
    let (row_norm, rest) = rest.split_at_mut(n);
    let (gated, rest) = rest.split_at_mut(n);
    let (shifted, log_shifted) = rest.split_at_mut(n);
    content_forward(key, beta, mem, Content { weighting: content, cosine, row_norm });
    for ((g, &p), &c) in gated.iter_mut().zip(prev).zip(content.iter()) {
        *g = p + gate * (c - p);
    }
    shifted.fill(eps(0.0));
    for (&offset, &sk) in shifts.iter().zip(shift) {
        let o = wrap(offset, n);
        axpy(&mut shifted[o..], sk, &gated[..n - o]);
        axpy(&mut shifted[..o], sk, &gated[n - o..]);
    }
    for ((l, w), &ws) in log_shifted.iter_mut().zip(weighting.iter_mut()).zip(shifted.iter()) {
        *l = (ws + eps(SHARPEN_EPSILON)).ln();
        *w = gamma * *l;
    }
    softmax(weighting);
}
}

/// Scratch values [`address_backward`] needs for N slots of width M.
pub(crate) fn backward_scratch(n: usize, m: usize) -> usize {
    2 * n + m * BLOCK
}

/// The last step of the cosine's backward, blocked like [`squares_and_dots`]: for every slot
/// i and column c, `dmem_ci += ddot_i key_c + scale_i M_ci`, and `dkey_c = sum_i ddot_i M_ci`
/// (`mem`, `dmem` `[M, N]`; `partial`: M [`BLOCK`] scratch values).
#[inline(always)]
fn column_backward<T: Real>(
    mem: &[T],
    key: &[T],
    ddot: &[T],
    scale: &[T],
    dmem: &mut [T],
    dkey: &mut [T],
    partial: &mut [T],
) {
    let (n, m) = (ddot.len(), key.len());
    let whole = n - n % BLOCK;
    let partial = &mut partial[..m * BLOCK];
    partial.fill(T::from_f64(0.0));
    for start in (0..whole).step_by(BLOCK) {
        let (dd, sc) = (&ddot[start..start + BLOCK], &scale[start..start + BLOCK]);
        let columns = mem.chunks_exact(n).zip(dmem.chunks_exact_mut(n));
        for (((column, dcolumn), &k), p) in columns.zip(key).zip(partial.chunks_exact_mut(BLOCK)) {
            let (x, d) = (&column[start..start + BLOCK], &mut dcolumn[start..start + BLOCK]);
            for j in 0..BLOCK {
                d[j] += dd[j] * k + sc[j] * x[j];
                p[j] += dd[j] * x[j];
            }
        }
    }
    let columns = mem.chunks_exact(n).zip(dmem.chunks_exact_mut(n));
    for (((column, dcolumn), (&k, dk)), p) in
        columns.zip(key.iter().zip(dkey.iter_mut())).zip(partial.chunks_exact(BLOCK))
    {
        *dk = sum(p);
        for i in whole..n {
            dcolumn[i] += ddot[i] * k + scale[i] * column[i];
            *dk += ddot[i] * column[i];
        }
    }
}

simd_routine! {
/// The addressing backward for one row, from `dw`, the gradient of the weighting: sets the
/// addressing part of `dact` (`[key, beta, gate, shift, gamma]`) and `dprev` `[N]`, and adds
/// to `dmem` (`[M, N]` like `mem`). Other arguments as given to [`address_forward`];
/// `scratch`: at least [`backward_scratch`] values.
#[allow(clippy::too_many_arguments)]
pub(crate) fn address_backward<T: Real>(
    act: &[T],
    mem: &[T],
    prev: &[T],
    shifts: &[i64],
    saved: &[T],
    dw: &[T],
    dact: &mut [T],
    dmem: &mut [T],
    dprev: &mut [T],
    scratch: &mut [T],
) {
    let (n, m) = (prev.len(), mem.len() / prev.len());
    let one = T::from_f64(1.0);
    debug_assert_eq!(dmem.len(), n * m);
    let parts = Parts::new(m, shifts.len());
    let (key, beta, gate) = (&act[parts.key()], act[parts.beta()], act[parts.gate()]);
    let (shift, gamma) = (&act[parts.shift()], act[parts.gamma()]);
    let slot = |k: usize| &saved[k * n..(k + 1) * n];
    let (weighting, content, cosine) = (slot(SLOT_WEIGHTING), slot(SLOT_CONTENT), slot(SLOT_COSINE));
    let (row_norm, gated, shifted) = (slot(SLOT_ROW_NORM), slot(SLOT_GATED), slot(SLOT_SHIFTED));
    let log_shifted = slot(SLOT_LOG_SHIFTED);
    let (a, rest) = scratch.split_at_mut(n);
    let (b, partial) = rest.split_at_mut(n);

    // sharpen: a = dl, then dws
    let inner = dot(weighting, dw);
    for ((d, &w), &g) in a.iter_mut().zip(weighting).zip(dw) {
        *d = w * (g - inner);
    }
    dact[parts.gamma()] = dot(a, log_shifted);
    for (d, &ws) in a.iter_mut().zip(shifted) {
        *d = *d * gamma / (ws + T::from_f64(SHARPEN_EPSILON));
    }
    // shift: b = dwg
    b.fill(T::from_f64(0.0));
    for ((&offset, &sk), i) in shifts.iter().zip(shift).zip(parts.shift()) {
        let o = wrap(offset, n);
        dact[i] = dot(&a[o..], &gated[..n - o]) + dot(&a[..o], &gated[n - o..]);
        axpy(&mut b[..n - o], sk, &a[o..]);
        axpy(&mut b[n - o..], sk, &a[..o]);
    }
    // interpolate: a = dwc
    dact[parts.gate()] = dot(b, content) - dot(b, prev);
    for ((dc, dp), &g) in a.iter_mut().zip(dprev.iter_mut()).zip(b.iter()) {
        *dc = gate * g;
        *dp = (one - gate) * g;
    }
    // content: from a = dwc
    let (dkey, rest) = dact.split_at_mut(parts.beta());
    rest[0] = content_backward(key, beta, mem, (content, cosine, row_norm), (a, b, partial), dmem, dkey);
}
}

/// A content weighting's saved vectors for one row, each `[N]`: the weighting w^c itself, the
/// cosines K and the memory's row norms.
pub(crate) struct Content<'a, T> {
    pub weighting: &'a mut [T],
    pub cosine: &'a mut [T],
    pub row_norm: &'a mut [T],
}

/// Content weighting w^c_i = softmax_i(beta K(key, M_i)) (eqs. 5-6) for one row: `key` `[M]`,
/// `beta`, `mem` `[M, N]` by columns -> `out` (with the cosines and row norms the backward
/// needs). Part of [`address_forward`]; the DNC's read and write heads address by it alone.
#[inline(always)]
pub(crate) fn content_forward<T: Real>(key: &[T], beta: T, mem: &[T], out: Content<T>) {
    let eps = T::from_f64;
    let Content { weighting: content, cosine, row_norm } = out;
    let key_norm = (dot(key, key) + eps(NORM_EPSILON)).sqrt();
    squares_and_dots(mem, key, row_norm, cosine);
    for ((norm, cos), c) in row_norm.iter_mut().zip(cosine.iter_mut()).zip(content.iter_mut()) {
        *norm = (*norm + eps(NORM_EPSILON)).sqrt();
        *cos /= *norm * key_norm + eps(COSINE_EPSILON);
        *c = beta * *cos;
    }
    softmax(content);
}

/// The backward of [`content_forward`] for one row: from `a`, the gradient of the content
/// weighting `[N]` (overwritten, as is `b` `[N]`: scratch; `partial`: M [`BLOCK`] values), and
/// the saved `(content, cosine, row_norm)`, adds to `dmem` (`[M, N]` like `mem`), sets `dkey`
/// `[M]` and returns the gradient of beta.
#[inline(always)]
pub(crate) fn content_backward<T: Real>(
    key: &[T],
    beta: T,
    mem: &[T],
    (content, cosine, row_norm): (&[T], &[T], &[T]),
    (a, b, partial): (&mut [T], &mut [T], &mut [T]),
    dmem: &mut [T],
    dkey: &mut [T],
) -> T {
    let key_norm = (dot(key, key) + T::from_f64(NORM_EPSILON)).sqrt();
    // content softmax: a = dz, then ddot
    let inner = dot(content, a);
    for (d, &c) in a.iter_mut().zip(content) {
        *d = c * (*d - inner);
    }
    let dbeta = dot(a, cosine);
    // cosine: b = dden, then the factor of M_i in dM_i
    for (((dd, dn), &k), &rn) in a.iter_mut().zip(b.iter_mut()).zip(cosine).zip(row_norm) {
        let ddot = beta * *dd / (rn * key_norm + T::from_f64(COSINE_EPSILON));
        *dd = ddot;
        *dn = -ddot * k;
    }
    let dkey_norm = dot(b, row_norm);
    // d|M_i| = dden kn, and d|M_i| / dM_i = M_i / |M_i|
    for (dn, &rn) in b.iter_mut().zip(row_norm) {
        *dn = *dn * key_norm / rn;
    }
    column_backward(mem, key, a, b, dmem, dkey, partial);
    axpy(dkey, dkey_norm / key_norm, key);
    dbeta
}
