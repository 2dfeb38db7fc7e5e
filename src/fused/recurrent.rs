//! A plain tanh RNN layer or a GRU layer over a whole sequence as a single custom operation
//! with a hand-derived backward pass (backpropagation through time), built as the LSTM's
//! ([`crate::fused::lstm`]):
//! ```text
//! gx = x W_x + b                     one matmul over all T*B rows       [T, B, G H]  (autograd)
//! h_1..T = recurrence(gx, W_h, h0)   one custom op, a loop over t        [T, B, H]
//! ```
//! with `W = [W_x; W_h]` the cell's weight `[in + H, G H]` (rows of `W_x` first) and G the
//! cell's gate blocks ([`Cell::GATES`]). Per step the recurrence forms `gh = h_{t-1} W_h`
//! `[B, G H]` with one matmul and then runs the cell's arithmetic row by row; its backward
//! runs the same loop backwards over flat buffers, forms `dW_h` with one matmul over all time
//! steps, and hands `d gx` to autograd, which turns it into `dW_x`, `db` and `dx` with one
//! matmul each per sequence.
//!
//! The tape ([`crate::fused::tape`]) keeps per row and step what the backward needs
//! ([`Cell::SLOTS`] units of H, the hidden state first).

use crate::fused::kernel::{matmul, sigmoid, simd_routine, Real};
use crate::fused::taped::{self, leading_columns, Taped};
use candle_core::{Layout, Result, Shape, Tensor};

/// A recurrent cell whose step is `h = cell(x W_x + b, h_{t-1} W_h, h_{t-1})`: its arithmetic
/// for one row, forward and backward.
pub(crate) trait Cell: Send + Sync + 'static {
    /// The op's name in candle's errors.
    const NAME: &'static str;
    /// Blocks of H columns in the weight (1 for the tanh RNN, 3 for the GRU).
    const GATES: usize;
    /// Units of H kept on the tape per row and step, the new hidden state first.
    const SLOTS: usize;

    /// From `gx`, `gh` `[G H]` and `h_prev` `[H]`, fills `tape` `[SLOTS H]` (h first).
    fn forward<T: Real>(gx: &[T], gh: &[T], h_prev: &[T], tape: &mut [T]);

    /// From the row's `tape`, `h_prev` and `dh` (the whole gradient of h), sets `dgx` and
    /// `dgh` `[G H]` (of `gx` and `gh`) and `dh_prev` `[H]`, the part of h_prev's gradient that
    /// does not pass through `gh`.
    fn backward<T: Real>(tape: &[T], h_prev: &[T], dh: &[T], dgx: &mut [T], dgh: &mut [T], dh_prev: &mut [T]);
}

/// The Elman RNN, `h = tanh(gx + gh)`; the tape keeps h.
pub(crate) struct Tanh;

simd_routine! {
/// One row of the tanh RNN's step: h = tanh(gx + gh).
fn tanh_forward<T: Real>(gx: &[T], gh: &[T], h: &mut [T]) {
    for j in 0..h.len() {
        h[j] = (gx[j] + gh[j]).tanh();
    }
}
}

simd_routine! {
/// The backward of [`tanh_forward`]: d pre = dh (1 - h^2), the gradient of gx and of gh.
fn tanh_backward<T: Real>(h: &[T], dh: &[T], dgx: &mut [T], dgh: &mut [T]) {
    let one = T::from_f64(1.0);
    for j in 0..h.len() {
        let d = dh[j] * (one - h[j] * h[j]);
        dgx[j] = d;
        dgh[j] = d;
    }
}
}

impl Cell for Tanh {
    const NAME: &'static str = "fused-rnn-recurrence";
    const GATES: usize = 1;
    const SLOTS: usize = 1;

    fn forward<T: Real>(gx: &[T], gh: &[T], _h_prev: &[T], tape: &mut [T]) {
        tanh_forward(gx, gh, tape);
    }

    fn backward<T: Real>(tape: &[T], _h_prev: &[T], dh: &[T], dgx: &mut [T], dgh: &mut [T], dh_prev: &mut [T]) {
        tanh_backward(tape, dh, dgx, dgh);
        dh_prev.fill(T::from_f64(0.0));
    }
}

/// The GRU with the reset gate applied after the recurrent product (see
/// [`crate::models::rnn::CellKind::Gru`]), gate blocks z, r, n:
/// ```text
/// z = sigmoid(gx_z + gh_z)    r = sigmoid(gx_r + gh_r)    n = tanh(gx_n + r gh_n)
/// h = (1 - z) n + z h_prev
/// ```
/// The tape keeps h, z, r, n and gh_n.
pub(crate) struct Gru;

simd_routine! {
/// One row of the GRU's step: from `gx`, `gh` `[3H]` and `h_prev` `[H]`, fills `tape` `[5H]`
/// with h, z, r, n, gh_n.
fn gru_forward<T: Real>(gx: &[T], gh: &[T], h_prev: &[T], tape: &mut [T]) {
    let n = h_prev.len();
    let one = T::from_f64(1.0);
    for j in 0..n {
        let z = sigmoid(gx[j] + gh[j]);
        let r = sigmoid(gx[n + j] + gh[n + j]);
        let c = (gx[2 * n + j] + r * gh[2 * n + j]).tanh();
        tape[j] = (one - z) * c + z * h_prev[j];
        (tape[n + j], tape[2 * n + j], tape[3 * n + j], tape[4 * n + j]) = (z, r, c, gh[2 * n + j]);
    }
}
}

simd_routine! {
/// The backward of [`gru_forward`] for one row: with `dh` the whole gradient of h, sets
/// `dgx`, `dgh` `[3H]` and `dh_prev` `[H]` (the direct part, z dh).
fn gru_backward<T: Real>(tape: &[T], h_prev: &[T], dh: &[T], dgx: &mut [T], dgh: &mut [T], dh_prev: &mut [T]) {
    let n = h_prev.len();
    let one = T::from_f64(1.0);
    for j in 0..n {
        let (z, r, c, gh_n) = (tape[n + j], tape[2 * n + j], tape[3 * n + j], tape[4 * n + j]);
        let d_c = dh[j] * (one - z) * (one - c * c); // of n's pre-activation
        let d_z = dh[j] * (h_prev[j] - c) * z * (one - z);
        let d_r = d_c * gh_n * r * (one - r);
        (dgx[j], dgx[n + j], dgx[2 * n + j]) = (d_z, d_r, d_c);
        (dgh[j], dgh[n + j], dgh[2 * n + j]) = (d_z, d_r, d_c * r);
        dh_prev[j] = dh[j] * z;
    }
}
}

impl Cell for Gru {
    const NAME: &'static str = "fused-gru-recurrence";
    const GATES: usize = 3;
    const SLOTS: usize = 5;

    fn forward<T: Real>(gx: &[T], gh: &[T], h_prev: &[T], tape: &mut [T]) {
        gru_forward(gx, gh, h_prev, tape);
    }

    fn backward<T: Real>(tape: &[T], h_prev: &[T], dh: &[T], dgx: &mut [T], dgh: &mut [T], dh_prev: &mut [T]) {
        gru_backward(tape, h_prev, dh, dgx, dgh, dh_prev);
    }
}

/// Runs one tanh RNN layer over a sequence.
///
/// `x`: `[T, B, in]`, `weight`: `[in + H, H]`, `bias`: `[H]`, `h0`: `[B, H]` or `[H]`
/// (broadcast over the batch) -> every hidden state `[T, B, H]`. Same function as stepping
/// [`crate::models::rnn::RecurrentCell`] of kind `rnn` over `t`; f32 and f64 on the CPU.
pub fn rnn_layer(x: &Tensor, weight: &Tensor, bias: &Tensor, h0: &Tensor) -> Result<Tensor> {
    layer::<Tanh>(x, weight, bias, h0)
}

/// Runs one GRU layer over a sequence: as [`rnn_layer`] with `weight` `[in + H, 3H]` and
/// `bias` `[3H]` (gate blocks z, r, n); the same function as stepping
/// [`crate::models::rnn::RecurrentCell`] of kind `gru`.
pub fn gru_layer(x: &Tensor, weight: &Tensor, bias: &Tensor, h0: &Tensor) -> Result<Tensor> {
    layer::<Gru>(x, weight, bias, h0)
}

/// The layer of cell `C` (see [`rnn_layer`]).
fn layer<C: Cell>(x: &Tensor, weight: &Tensor, bias: &Tensor, h0: &Tensor) -> Result<Tensor> {
    let (time, batch, inputs) = x.dims3()?;
    let (rows, width) = weight.dims2()?;
    let hidden = width / C::GATES;
    if width % C::GATES != 0 || rows != inputs + hidden {
        candle_core::bail!(
            "{}: weight {:?} does not fit {inputs} inputs (needs [in + H, {} H])",
            C::NAME,
            weight.dims(),
            C::GATES
        );
    }
    let w_x = weight.narrow(0, 0, inputs)?; // [in, G H]
    let w_h = weight.narrow(0, inputs, hidden)?.contiguous()?; // [H, G H]
    let gx = x.reshape((time * batch, inputs))?.matmul(&w_x)?.broadcast_add(bias)?.reshape((time, batch, width))?; // [T, B, G H]
    let h0 = match h0.rank() {
        1 => h0.unsqueeze(0)?.broadcast_as((batch, hidden))?,
        _ => h0.broadcast_as((batch, hidden))?,
    }
    .contiguous()?; // [B, H]
    taped::apply::<Recurrence<C>>(&gx, &w_h, &h0) // [T, B, H]
}

/// The recurrence `gx, W_h, h0 -> h [T, B, H]` of cell `C`, its tape `[T, B, SLOTS H]`.
struct Recurrence<C>(std::marker::PhantomData<C>);

/// Sizes of one call: time steps, batch rows, hidden units.
#[derive(Clone, Copy)]
struct Dims {
    time: usize,
    batch: usize,
    hidden: usize,
}

/// Forward: `gx [T, B, G H]`, `w_h [H, G H]`, `h0 [B, H]` -> the tape `[T, B, SLOTS H]`.
fn forward<C: Cell, T: Real>(gx: &[T], w_h: &[T], h0: &[T], d: Dims) -> Vec<T> {
    let Dims { time, batch, hidden: h } = d;
    let (gw, row) = (C::GATES * h, C::SLOTS * h);
    let mut saved = vec![T::from_f64(0.0); time * batch * row];
    let mut gh = vec![T::from_f64(0.0); batch * gw]; // [B, G H]
    let mut h_prev = h0.to_vec(); // [B, H]
    for t in 0..time {
        matmul(&mut gh, false, &h_prev, (h, 1), w_h, (gw, 1), (batch, gw, h));
        for r in 0..batch {
            let tape = &mut saved[(t * batch + r) * row..][..row];
            let gx_row = &gx[(t * batch + r) * gw..][..gw];
            C::forward(gx_row, &gh[r * gw..][..gw], &h_prev[r * h..][..h], tape);
            h_prev[r * h..(r + 1) * h].copy_from_slice(&tape[..h]);
        }
    }
    saved
}

/// Gradients of the recurrence: returns `(d gx [T, B, G H], d w_h [H, G H], d h0 [B, H])` from
/// the tape `saved` and `grad`, the gradient of the hidden states `[T, B, H]`.
fn backward<C: Cell, T: Real>(saved: &[T], grad: &[T], w_h: &[T], h0: &[T], d: Dims) -> (Vec<T>, Vec<T>, Vec<T>) {
    let Dims { time, batch, hidden: h } = d;
    let (bh, gw, row) = (batch * h, C::GATES * h, C::SLOTS * h);
    let zero = T::from_f64(0.0);
    let mut d_gx = vec![zero; time * batch * gw]; // [T, B, G H]
    let mut d_gh = vec![zero; time * batch * gw]; // [T, B, G H]
    let mut dh_next = vec![zero; bh]; // dL/dh_t from step t + 1
    let mut dh = vec![zero; h];
    // h_{t-1} of every step: h0, then the tape's hidden states but the last, [T, B, H].
    let mut h_prev = Vec::with_capacity(time * bh);
    h_prev.extend_from_slice(h0);
    for r in 0..time.saturating_sub(1) * batch {
        h_prev.extend_from_slice(&saved[r * row..][..h]);
    }
    for t in (0..time).rev() {
        for r in 0..batch {
            let at = t * batch + r;
            for j in 0..h {
                dh[j] = grad[at * h + j] + dh_next[r * h + j];
            }
            let (dgx, dgh) = (&mut d_gx[at * gw..][..gw], &mut d_gh[at * gw..][..gw]);
            let tape = &saved[at * row..][..row];
            C::backward(tape, &h_prev[at * h..][..h], &dh, dgx, dgh, &mut dh_next[r * h..][..h]);
        }
        // dh_{t-1} += d gh_t W_h^T: [B, G H] x [G H, H]
        let dgh_t = &d_gh[t * batch * gw..(t + 1) * batch * gw];
        matmul(&mut dh_next, true, dgh_t, (gw, 1), w_h, (1, gw), (batch, h, gw));
    }
    // d W_h = sum_t h_{t-1}^T d gh_t, one matmul over all T*B rows: [H, TB] x [TB, G H].
    let mut d_wh = vec![zero; h * gw];
    matmul(&mut d_wh, false, &h_prev, (1, h), &d_gh, (gw, 1), (h, gw, time * batch));
    (d_gx, d_wh, dh_next)
}

impl<C: Cell> Taped for Recurrence<C> {
    const NAME: &'static str = C::NAME;
    type Dims = Dims;

    fn dims(gx: &Layout, w_h: &Layout, h0: &Layout) -> Result<Dims> {
        let (time, batch, width) = gx.shape().dims3()?;
        let hidden = width / C::GATES;
        if w_h.shape().dims() != [hidden, width] || h0.shape().dims() != [batch, hidden] {
            candle_core::bail!(
                "{}: shapes gx {:?}, w_h {:?}, h0 {:?} do not fit",
                C::NAME,
                gx.shape(),
                w_h.shape(),
                h0.shape()
            );
        }
        Ok(Dims { time, batch, hidden })
    }

    fn output_shape(d: Dims) -> Shape {
        Shape::from((d.time, d.batch, d.hidden))
    }

    fn forward<T: Real>(gx: &[T], w_h: &[T], h0: &[T], d: Dims) -> (Vec<T>, Vec<T>) {
        let saved = forward::<C, T>(gx, w_h, h0, d);
        let h = leading_columns(&saved, C::SLOTS * d.hidden, d.hidden);
        (saved, h)
    }

    fn backward<T: Real>(saved: &[T], grad: &[T], _gx: &[T], w_h: &[T], h0: &[T], d: Dims) -> [Vec<T>; 3] {
        let (d_gx, d_wh, d_h0) = backward::<C, T>(saved, grad, w_h, h0, d);
        [d_gx, d_wh, d_h0]
    }
}
