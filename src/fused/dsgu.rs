//! One Deep Simple Gated Unit layer (DSGU, Gao & Glowacka 2016, arXiv:1604.02910; see
//! [`crate::models::dsgu`]) over a whole sequence as a single custom operation with a
//! hand-derived backward pass. Per step, `*` elementwise:
//! ```text
//! x_g   = x W_xh + b_g                     [B, H]     } gx = x [W_xh | W_xz] + [b_g | b_z]
//! a     = x W_xz + b_z + h_{t-1} W_hz      [B, H]     } for all T*B rows: one matmul (autograd)
//! u     = x_g * h_{t-1},   z_g   = tanh(u W_zxh)
//! v     = z_g * h_{t-1},   z_out = sigmoid(v W_go)
//! z     = hard_sigmoid(a) = clamp(0.2 a + 0.5, 0, 1)
//! h_t   = (1 - z) * h_{t-1} + z * z_out
//! ```
//! The DSGU does not fit [`crate::fused::recurrent`]'s `Cell` (one recurrent matmul per step
//! before the cell's arithmetic): it has three per step, two of them on products with
//! `h_{t-1}` that wait for the one before. So the layer is:
//! ```text
//! gx = x [W_xh | W_xz] + [b_g | b_z]        one matmul over all T*B rows     [T, B, 2H]  (autograd)
//! h_1..T = recurrence(gx, W, h0)            one custom op, a loop over t      [T, B, H]
//! ```
//! with `W = [W_zxh; W_go; W_hz]` stacked `[3, H, H]` (through autograd, so each weight gets
//! its own gradient). The tape keeps per row and step h, z, z_out, z_g, u and v
//! ([`SLOTS`] units of H). The backward runs the steps backwards with `dh` the whole gradient
//! of h_t:
//! ```text
//! d a   = dh (z_out - h_{t-1}) 0.2 [0 < z < 1]      d q = dh z z_out (1 - z_out)
//! d v   = d q W_go^T                                d p = d v h_{t-1} (1 - z_g^2)
//! d u   = d p W_zxh^T                               d x_g = d u h_{t-1}
//! dh_{t-1} = dh (1 - z) + d v z_g + d u x_g + d a W_hz^T
//! ```
//! (q = v W_go, p = u W_zxh the pre-activations), three matmuls per step, and forms
//! `dW_zxh = sum_t u^T d p`, `dW_go = sum_t v^T d q`, `dW_hz = sum_t h_{t-1}^T d a` with one
//! matmul each over all T*B rows; `d gx = [d x_g | d a]` goes to autograd, which turns it into
//! the input weights', biases' and x's gradients.

use crate::fused::kernel::{matmul, sigmoid, simd_routine, Real};
use crate::fused::taped::{self, leading_columns, Taped};
use candle_core::{Layout, Result, Shape, Tensor};

/// Saved values per row and time step on the tape, in units of H: h, z, z_out, z_g, u, v.
const SLOTS: usize = 6;
// Where each saved value starts in a row of the tape, in units of H.
const H: usize = 0;
const Z: usize = 1;
const Z_OUT: usize = 2;
const Z_G: usize = 3;
const U: usize = 4;
const V: usize = 5;

/// The hard sigmoid's slope inside (-2.5, 2.5), where it is not clamped.
const HARD_SLOPE: f64 = 0.2;

/// Runs one DSGU layer over a sequence.
///
/// `x`: `[T, B, in]`; `w_xh`, `w_xz`: `[in, H]`; `b_g`, `b_z`: `[H]`; `w_zxh`, `w_go`, `w_hz`:
/// `[H, H]`; `h0`: `[B, H]` or `[H]` (broadcast over the batch) -> every hidden state
/// `[T, B, H]`. Same function as stepping [`crate::models::dsgu::DsguCell`] over `t`; f32 and
/// f64 on the CPU.
pub fn dsgu_layer(x: &Tensor, weights: &DsguWeights, h0: &Tensor) -> Result<Tensor> {
    let (time, batch, inputs) = x.dims3()?;
    let hidden = weights.b_g.dim(0)?;
    let w_in = Tensor::cat(&[&weights.w_xh, &weights.w_xz], 1)?; // [in, 2H]
    let b_in = Tensor::cat(&[&weights.b_g, &weights.b_z], 0)?; // [2H]
    let gx = x.reshape((time * batch, inputs))?.matmul(&w_in)?.broadcast_add(&b_in)?; // [T B, 2H]
    let gx = gx.reshape((time, batch, 2 * hidden))?; // [T, B, 2H]
    let w = Tensor::stack(&[&weights.w_zxh, &weights.w_go, &weights.w_hz], 0)?.contiguous()?; // [3, H, H]
    let h0 = match h0.rank() {
        1 => h0.unsqueeze(0)?.broadcast_as((batch, hidden))?,
        _ => h0.broadcast_as((batch, hidden))?,
    }
    .contiguous()?; // [B, H]
    taped::apply::<DsguRecurrence>(&gx, &w, &h0) // [T, B, H]
}

/// A DSGU layer's weights, named as in the paper (shapes in [`dsgu_layer`]).
#[derive(Debug, Clone)]
pub struct DsguWeights {
    /// W_xh `[in, H]`: the input's part of x_g.
    pub w_xh: Tensor,
    /// b_g `[H]`: x_g's bias.
    pub b_g: Tensor,
    /// W_zxh `[H, H]`: from u = x_g * h_{t-1} to z_g's pre-activation.
    pub w_zxh: Tensor,
    /// W_go `[H, H]`: from v = z_g * h_{t-1} to z_out's pre-activation.
    pub w_go: Tensor,
    /// W_xz `[in, H]`: the input's part of the gate z.
    pub w_xz: Tensor,
    /// W_hz `[H, H]`: the old state's part of the gate z.
    pub w_hz: Tensor,
    /// b_z `[H]`: the gate's bias.
    pub b_z: Tensor,
}

/// The recurrence `gx, [W_zxh; W_go; W_hz], h0 -> h [T, B, H]` (see the module docs), its tape
/// `[T, B, 6H]`.
struct DsguRecurrence;

/// Sizes of one call: time steps, batch rows, hidden units.
#[derive(Clone, Copy)]
struct Dims {
    time: usize,
    batch: usize,
    hidden: usize,
}

simd_routine! {
/// u = x_g * h_prev for one row, into the tape row's u.
fn products<T: Real>(x_g: &[T], h_prev: &[T], row: &mut [T]) {
    let n = h_prev.len();
    for j in 0..n {
        row[U * n + j] = x_g[j] * h_prev[j];
    }
}
}

simd_routine! {
/// z_g = tanh(p) and v = z_g * h_prev for one row, into the tape row.
fn candidate<T: Real>(p: &[T], h_prev: &[T], row: &mut [T]) {
    let n = h_prev.len();
    for j in 0..n {
        let z_g = p[j].tanh();
        row[Z_G * n + j] = z_g;
        row[V * n + j] = z_g * h_prev[j];
    }
}
}

simd_routine! {
/// z_out = sigmoid(q), z = hard_sigmoid(a), h = h_prev + z (z_out - h_prev) for one row, into
/// the tape row.
fn update<T: Real>(q: &[T], a: &[T], h_prev: &[T], row: &mut [T]) {
    let n = h_prev.len();
    let (zero, one) = (T::from_f64(0.0), T::from_f64(1.0));
    let (slope, half) = (T::from_f64(HARD_SLOPE), T::from_f64(0.5));
    for j in 0..n {
        let z_out = sigmoid(q[j]);
        let s = slope * a[j] + half;
        let z = if s < zero { zero } else if s > one { one } else { s };
        row[Z_OUT * n + j] = z_out;
        row[Z * n + j] = z;
        row[H * n + j] = h_prev[j] + z * (z_out - h_prev[j]);
    }
}
}

simd_routine! {
/// The backward of [`update`] for one row: from `dh`, the whole gradient of h, sets `da`,
/// `dq` and `dh_prev` (its direct part, dh (1 - z)).
fn update_backward<T: Real>(row: &[T], h_prev: &[T], dh: &[T], da: &mut [T], dq: &mut [T], dh_prev: &mut [T]) {
    let n = h_prev.len();
    let (zero, one, slope) = (T::from_f64(0.0), T::from_f64(1.0), T::from_f64(HARD_SLOPE));
    for j in 0..n {
        let (z, z_out) = (row[Z * n + j], row[Z_OUT * n + j]);
        // The clamp passes no gradient where it holds z at 0 or 1.
        let inside = if z > zero && z < one { slope } else { zero };
        da[j] = dh[j] * (z_out - h_prev[j]) * inside;
        dq[j] = dh[j] * z * z_out * (one - z_out);
        dh_prev[j] = dh[j] * (one - z);
    }
}
}

simd_routine! {
/// The backward of [`candidate`] for one row: from `dv`, sets `dp` and adds dv z_g to
/// `dh_prev`.
fn candidate_backward<T: Real>(row: &[T], h_prev: &[T], dv: &[T], dp: &mut [T], dh_prev: &mut [T]) {
    let n = h_prev.len();
    let one = T::from_f64(1.0);
    for j in 0..n {
        let z_g = row[Z_G * n + j];
        dp[j] = dv[j] * h_prev[j] * (one - z_g * z_g);
        dh_prev[j] += dv[j] * z_g;
    }
}
}

simd_routine! {
/// The backward of [`products`] for one row: from `du`, sets `dx_g` and adds du x_g to
/// `dh_prev`.
fn products_backward<T: Real>(x_g: &[T], h_prev: &[T], du: &[T], dx_g: &mut [T], dh_prev: &mut [T]) {
    for j in 0..h_prev.len() {
        dx_g[j] = du[j] * h_prev[j];
        dh_prev[j] += du[j] * x_g[j];
    }
}
}

/// Forward: `gx [T, B, 2H]`, `w [3, H, H]`, `h0 [B, H]` -> the tape `[T, B, 6H]`.
fn forward<T: Real>(gx: &[T], w: &[T], h0: &[T], d: Dims) -> Vec<T> {
    let Dims { time, batch, hidden: h } = d;
    let (hh, row) = (h * h, SLOTS * h);
    let (w_zxh, w_go, w_hz) = (&w[..hh], &w[hh..2 * hh], &w[2 * hh..]);
    let zero = T::from_f64(0.0);
    let mut saved = vec![zero; time * batch * row];
    let (mut a, mut p, mut q) = (vec![zero; batch * h], vec![zero; batch * h], vec![zero; batch * h]); // [B, H] each
    let mut h_prev = h0.to_vec(); // [B, H]
    for t in 0..time {
        let step = &mut saved[t * batch * row..(t + 1) * batch * row]; // [B, 6H]
        let gx_t = &gx[t * batch * 2 * h..(t + 1) * batch * 2 * h]; // [B, 2H]
        for r in 0..batch {
            a[r * h..(r + 1) * h].copy_from_slice(&gx_t[r * 2 * h + h..(r + 1) * 2 * h]);
            products(&gx_t[r * 2 * h..][..h], &h_prev[r * h..][..h], &mut step[r * row..][..row]);
        }
        // a += h_{t-1} W_hz; p = u W_zxh (u strided on the tape): [B, H] x [H, H]
        matmul(&mut a, true, &h_prev, (h, 1), w_hz, (h, 1), (batch, h, h));
        matmul(&mut p, false, &step[U * h..], (row, 1), w_zxh, (h, 1), (batch, h, h));
        for r in 0..batch {
            candidate(&p[r * h..][..h], &h_prev[r * h..][..h], &mut step[r * row..][..row]);
        }
        matmul(&mut q, false, &step[V * h..], (row, 1), w_go, (h, 1), (batch, h, h));
        for r in 0..batch {
            let out = &mut step[r * row..][..row];
            update(&q[r * h..][..h], &a[r * h..][..h], &h_prev[r * h..][..h], out);
            h_prev[r * h..(r + 1) * h].copy_from_slice(&out[..h]);
        }
    }
    saved
}

/// Gradients of the recurrence: returns `(d gx [T, B, 2H], d w [3, H, H], d h0 [B, H])` from
/// the tape `saved`, `gx` and `grad`, the gradient of the hidden states `[T, B, H]`.
fn backward<T: Real>(saved: &[T], gx: &[T], grad: &[T], w: &[T], h0: &[T], d: Dims) -> (Vec<T>, Vec<T>, Vec<T>) {
    let Dims { time, batch, hidden: h } = d;
    let (bh, hh, row) = (batch * h, h * h, SLOTS * h);
    let (w_zxh, w_go, w_hz) = (&w[..hh], &w[hh..2 * hh], &w[2 * hh..]);
    let zero = T::from_f64(0.0);
    // Of gx, [T, B, 2H]; of the pre-activations a, p, q of every step (kept for the weights'
    // gradients), [T, B, H] each.
    let mut d_gx = vec![zero; time * batch * 2 * h];
    let (mut d_a, mut d_p, mut d_q) = (vec![zero; time * bh], vec![zero; time * bh], vec![zero; time * bh]);
    let (mut d_v, mut d_u) = (vec![zero; bh], vec![zero; bh]); // [B, H]
    let mut dh_next = vec![zero; bh]; // dL/dh_t from step t + 1
    let mut dh = vec![zero; h];
    // h_{t-1} of every step: h0, then the tape's hidden states but the last, [T, B, H].
    let mut h_prev = Vec::with_capacity(time * bh);
    h_prev.extend_from_slice(h0);
    for r in 0..time.saturating_sub(1) * batch {
        h_prev.extend_from_slice(&saved[r * row..][..h]);
    }
    for t in (0..time).rev() {
        let span = t * bh..(t + 1) * bh;
        for r in 0..batch {
            let at = t * batch + r;
            for j in 0..h {
                dh[j] = grad[at * h + j] + dh_next[r * h + j];
            }
            let (tape, hp) = (&saved[at * row..][..row], &h_prev[at * h..][..h]);
            let (da, dq) = (&mut d_a[at * h..][..h], &mut d_q[at * h..][..h]);
            update_backward(tape, hp, &dh, da, dq, &mut dh_next[r * h..][..h]);
        }
        // d v = d q W_go^T: [B, H] x [H, H]
        matmul(&mut d_v, false, &d_q[span.clone()], (h, 1), w_go, (1, h), (batch, h, h));
        for r in 0..batch {
            let at = t * batch + r;
            let (tape, hp) = (&saved[at * row..][..row], &h_prev[at * h..][..h]);
            candidate_backward(tape, hp, &d_v[r * h..][..h], &mut d_p[at * h..][..h], &mut dh_next[r * h..][..h]);
        }
        // d u = d p W_zxh^T
        matmul(&mut d_u, false, &d_p[span.clone()], (h, 1), w_zxh, (1, h), (batch, h, h));
        for r in 0..batch {
            let at = t * batch + r;
            let (x_g, hp) = (&gx[at * 2 * h..][..h], &h_prev[at * h..][..h]);
            let dx_g = &mut d_gx[at * 2 * h..][..h];
            products_backward(x_g, hp, &d_u[r * h..][..h], dx_g, &mut dh_next[r * h..][..h]);
            d_gx[at * 2 * h + h..(at + 1) * 2 * h].copy_from_slice(&d_a[at * h..][..h]);
        }
        // dh_{t-1} += d a W_hz^T
        matmul(&mut dh_next, true, &d_a[span], (h, 1), w_hz, (1, h), (batch, h, h));
    }
    // d W = sum_t lhs^T d pre, one matmul each over all T*B rows: [H, TB] x [TB, H]; u and v
    // are read strided from the tape.
    let mut d_w = vec![zero; 3 * hh];
    let (dw_zxh, rest) = d_w.split_at_mut(hh);
    let (dw_go, dw_hz) = rest.split_at_mut(hh);
    let tb = time * batch;
    matmul(dw_zxh, false, &saved[U * h..], (1, row), &d_p, (h, 1), (h, h, tb));
    matmul(dw_go, false, &saved[V * h..], (1, row), &d_q, (h, 1), (h, h, tb));
    matmul(dw_hz, false, &h_prev, (1, h), &d_a, (h, 1), (h, h, tb));
    (d_gx, d_w, dh_next)
}

impl Taped for DsguRecurrence {
    const NAME: &'static str = "fused-dsgu-recurrence";
    type Dims = Dims;

    fn dims(gx: &Layout, w: &Layout, h0: &Layout) -> Result<Dims> {
        let (time, batch, width) = gx.shape().dims3()?;
        let hidden = width / 2;
        if width % 2 != 0 || w.shape().dims() != [3, hidden, hidden] || h0.shape().dims() != [batch, hidden] {
            candle_core::bail!(
                "dsgu recurrence: shapes gx {:?}, w {:?}, h0 {:?} do not fit",
                gx.shape(),
                w.shape(),
                h0.shape()
            );
        }
        Ok(Dims { time, batch, hidden })
    }

    fn output_shape(d: Dims) -> Shape {
        Shape::from((d.time, d.batch, d.hidden))
    }

    fn forward<T: Real>(gx: &[T], w: &[T], h0: &[T], d: Dims) -> (Vec<T>, Vec<T>) {
        let saved = forward::<T>(gx, w, h0, d);
        let h = leading_columns(&saved, SLOTS * d.hidden, d.hidden);
        (saved, h)
    }

    fn backward<T: Real>(saved: &[T], grad: &[T], gx: &[T], w: &[T], h0: &[T], d: Dims) -> [Vec<T>; 3] {
        let (d_gx, d_w, d_h0) = backward(saved, gx, grad, w, h0, d);
        [d_gx, d_w, d_h0]
    }
}
