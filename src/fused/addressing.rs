//! One head's step for one batch row on flat buffers: the activations of its projection
//! ([`crate::heads::Head::params`]) and its addressing pipeline (paper figure 2: content ->
//! interpolate -> shift -> sharpen, eqs. 5-9, [`crate::addressing::address`]), forward and
//! hand-derived backward. [`crate::fused::ntm`] runs these for every head, row and time step.
//!
//! The forward saves, per row, [`SLOTS`] vectors of length N (the final weighting w, the
//! content weighting w^c, cosine similarities K, memory row norms, the gated weighting w^g
//! and the shifted weighting w~), so the backward recomputes only the key's norm.
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

use crate::addressing::{COSINE_EPSILON, NORM_EPSILON, SHARPEN_EPSILON};
use crate::fused::kernel::{dot, sigmoid, softmax, Real};
use crate::heads::PRE_ACTIVATION_CLIP;

/// Saved vectors of length N per head, row and step, in this order.
pub(crate) const SLOTS: usize = 6;
pub(crate) const SLOT_WEIGHTING: usize = 0;
pub(crate) const SLOT_CONTENT: usize = 1;
const SLOT_COSINE: usize = 2;
const SLOT_ROW_NORM: usize = 3;
const SLOT_GATED: usize = 4;
const SLOT_SHIFTED: usize = 5;

/// Slot `i - offset` (mod n): where `roll(offset)` takes slot i's value from.
fn source(i: usize, offset: i64, n: usize) -> usize {
    // |offset| < n (validated config), so one wrap suffices: no division.
    let j = i as i64 - offset;
    if j < 0 {
        (j + n as i64) as usize
    } else if j >= n as i64 {
        (j - n as i64) as usize
    } else {
        j as usize
    }
}

/// ln(1 + e^x) = max(x, 0) + ln(1 + e^-|x|), stable for any x.
fn softplus<T: Real>(x: T) -> T {
    let zero = T::from_f64(0.0);
    let (relu, abs) = if x > zero { (x, x) } else { (zero, -x) };
    relu + (T::from_f64(1.0) + (-abs).exp()).ln()
}

fn clip<T: Real>(x: T) -> T {
    let c = T::from_f64(PRE_ACTIVATION_CLIP);
    if x > c {
        c
    } else if x < -c {
        -c
    } else {
        x
    }
}

/// A head's activated parameters from its projection `raw` (one row, `[key (M), beta, gate,
/// shift (S), gamma]`, then `[erase (M), add (M)]` for a write head): clipped to
/// +-[`PRE_ACTIVATION_CLIP`], then tanh, softplus, sigmoid, softmax, 1 + softplus (and
/// sigmoid, tanh), as in [`crate::heads::Head::params`]. `act` has `raw`'s length.
pub(crate) fn activate<T: Real>(raw: &[T], act: &mut [T], m: usize, s: usize) {
    for (a, &r) in act.iter_mut().zip(raw) {
        *a = clip(r);
    }
    for k in &mut act[..m] {
        *k = k.tanh();
    }
    act[m] = softplus(act[m]);
    act[m + 1] = sigmoid(act[m + 1]);
    softmax(&mut act[m + 2..m + 2 + s]);
    act[m + 2 + s] = T::from_f64(1.0) + softplus(act[m + 2 + s]);
    if act.len() > m + s + 3 {
        let (erase, add) = act[m + s + 3..].split_at_mut(m);
        for e in erase {
            *e = sigmoid(*e);
        }
        for a in add {
            *a = a.tanh();
        }
    }
}

/// The gradient of the projection `raw` (`draw`) from that of the activated parameters
/// `dact` (layouts as in [`activate`]; `act`: its output).
pub(crate) fn activation_backward<T: Real>(
    raw: &[T],
    act: &[T],
    dact: &[T],
    draw: &mut [T],
    m: usize,
    s: usize,
) {
    let one = T::from_f64(1.0);
    let tanh_grad = |y: T| one - y * y;
    let sigmoid_grad = |y: T| y * (one - y);
    for c in 0..m {
        draw[c] = dact[c] * tanh_grad(act[c]);
    }
    draw[m] = dact[m] * sigmoid(clip(raw[m]));
    draw[m + 1] = dact[m + 1] * sigmoid_grad(act[m + 1]);
    let (shift, dshift) = (&act[m + 2..m + 2 + s], &dact[m + 2..m + 2 + s]);
    let inner = dot(shift, dshift);
    for k in 0..s {
        draw[m + 2 + k] = shift[k] * (dshift[k] - inner);
    }
    draw[m + 2 + s] = dact[m + 2 + s] * sigmoid(clip(raw[m + 2 + s]));
    let p = m + s + 3;
    if act.len() > p {
        for c in 0..m {
            draw[p + c] = dact[p + c] * sigmoid_grad(act[p + c]);
            draw[p + m + c] = dact[p + m + c] * tanh_grad(act[p + m + c]);
        }
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

/// The addressing forward for one row: activated parameters `act` (`[key (M), beta, gate,
/// shift (S), gamma, ...]`), memory `mem` `[N, M]` and the previous weighting `prev` `[N]` ->
/// `saved` `[SLOTS, N]` (the weighting w in slot [`SLOT_WEIGHTING`]).
pub(crate) fn address_forward<T: Real>(
    act: &[T],
    mem: &[T],
    prev: &[T],
    shifts: &[i64],
    saved: &mut [T],
) {
    let (n, m, s) = (prev.len(), mem.len() / prev.len(), shifts.len());
    let (key, beta, gate) = (&act[..m], act[m], act[m + 1]);
    let (shift, gamma) = (&act[m + 2..m + 2 + s], act[m + 2 + s]);
    let eps = T::from_f64;
    let key_norm = (dot(key, key) + eps(NORM_EPSILON)).sqrt();
    let (weighting, rest) = saved.split_at_mut(n);
    let (content, rest) = rest.split_at_mut(n);
    let (cosine, rest) = rest.split_at_mut(n);
    let (row_norm, rest) = rest.split_at_mut(n);
    let (gated, shifted) = rest.split_at_mut(n);
    for i in 0..n {
        let r = &mem[i * m..(i + 1) * m];
        row_norm[i] = (dot(r, r) + eps(NORM_EPSILON)).sqrt();
        cosine[i] = dot(r, key) / (row_norm[i] * key_norm + eps(COSINE_EPSILON));
        content[i] = beta * cosine[i];
    }
    softmax(content);
    for i in 0..n {
        gated[i] = prev[i] + gate * (content[i] - prev[i]);
    }
    for i in 0..n {
        shifted[i] = shifts
            .iter()
            .zip(shift)
            .fold(eps(0.0), |a, (&o, &sk)| a + sk * gated[source(i, o, n)]);
    }
    for i in 0..n {
        weighting[i] = gamma * (shifted[i] + eps(SHARPEN_EPSILON)).ln();
    }
    softmax(weighting);
}

/// The addressing backward for one row, from `dw`, the gradient of the weighting: sets the
/// addressing part of `dact` (`[key, beta, gate, shift, gamma]`) and `dprev` `[N]`, and adds
/// to `dmem` `[N, M]`. Other arguments as given to [`address_forward`]; `scratch`: at least
/// 2N values.
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
    let (n, m, s) = (prev.len(), mem.len() / prev.len(), shifts.len());
    let zero = T::from_f64(0.0);
    let one = T::from_f64(1.0);
    let (key, beta, gate) = (&act[..m], act[m], act[m + 1]);
    let (shift, gamma) = (&act[m + 2..m + 2 + s], act[m + 2 + s]);
    let slot = |k: usize| &saved[k * n..(k + 1) * n];
    let (weighting, content, cosine) = (slot(SLOT_WEIGHTING), slot(SLOT_CONTENT), slot(SLOT_COSINE));
    let (row_norm, gated, shifted) = (slot(SLOT_ROW_NORM), slot(SLOT_GATED), slot(SLOT_SHIFTED));
    let key_norm = (dot(key, key) + T::from_f64(NORM_EPSILON)).sqrt();
    let (dws, rest) = scratch.split_at_mut(n);
    let dwg = &mut rest[..n];

    // sharpen
    let inner = dot(weighting, dw);
    let mut dgamma = zero;
    for i in 0..n {
        let dl = weighting[i] * (dw[i] - inner);
        let ws = shifted[i] + T::from_f64(SHARPEN_EPSILON);
        dgamma += dl * ws.ln();
        dws[i] = dl * gamma / ws;
    }
    dact[m + 2 + s] = dgamma;
    // shift
    dwg.fill(zero);
    for (k, &o) in shifts.iter().enumerate() {
        let mut dsk = zero;
        for (i, &d) in dws.iter().enumerate() {
            let j = source(i, o, n);
            dsk += d * gated[j];
            dwg[j] += shift[k] * d;
        }
        dact[m + 2 + k] = dsk;
    }
    // interpolate; dwc reuses dws
    let mut dgate = zero;
    let dwc = dws;
    for i in 0..n {
        dgate += dwg[i] * (content[i] - prev[i]);
        dwc[i] = gate * dwg[i];
        dprev[i] = (one - gate) * dwg[i];
    }
    dact[m + 1] = dgate;
    // content softmax and cosine
    let inner = dot(content, dwc);
    let mut dbeta = zero;
    let mut dkey_norm = zero;
    let dkey = &mut dact[..m];
    dkey.fill(zero);
    for i in 0..n {
        let dz = content[i] * (dwc[i] - inner);
        dbeta += dz * cosine[i];
        let dk = beta * dz;
        let den = row_norm[i] * key_norm + T::from_f64(COSINE_EPSILON);
        let ddot = dk / den;
        let dden = -dk * cosine[i] / den;
        dkey_norm += dden * row_norm[i];
        // d|M_i| = dden kn, and d|M_i| / dM_i = M_i / |M_i|
        let row_scale = dden * key_norm / row_norm[i];
        let row = &mem[i * m..(i + 1) * m];
        let dmem_row = &mut dmem[i * m..(i + 1) * m];
        for c in 0..m {
            dmem_row[c] += ddot * key[c] + row_scale * row[c];
            dkey[c] += ddot * row[c];
        }
    }
    for c in 0..m {
        dkey[c] += dkey_norm * key[c] / key_norm;
    }
    dact[m] = dbeta;
}
