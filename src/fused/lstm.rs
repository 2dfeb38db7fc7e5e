//! One LSTM layer over a whole sequence as a single custom operation with a hand-derived
//! backward pass (backpropagation through time).
//!
//! The composed cell ([`crate::models::lstm::LstmCell::step`]) adds about a dozen graph nodes per
//! layer and time step, and its backward pass accumulates the weight gradient `[in + H, 4H]`
//! once per step. Here a layer is one operation:
//! ```text
//! gx = x W_x + b                        one matmul over all T*B rows   [T, B, 4H]
//! h_1..T = recurrence(gx, W_h, h0, c0)  a loop over t                  [T, B, H]
//! ```
//! with `W = [W_x; W_h]` the cell's weight `[in + H, 4H]` (rows of `W_x` first) and gate order
//! i, f, g, o as in the cell. The backward runs the per-step loop backwards and forms each
//! weight gradient with one matmul over all time steps: `dW_x = x^T dgates`,
//! `dW_h = h_prev^T dgates`, `dx = dgates W_x^T`, `db` the column sums of `dgates`. The input
//! side (`gx`, `dW_x`, `dx`, `db`) computes exactly what candle's autograd did when it was
//! composed of candle operations around the recurrence (the same matrix products with the
//! same layouts, the bias gradient summed in row order), so results kept their bits.
//!
//! Every matrix product and the per-row cell updates are split over the job's share of the
//! cores ([`crate::fused::split`]), with the same bits on any number of threads.
//!
//! The op returns the hidden states and keeps a tape of its activations (`[T, B, 6H]`: per
//! row h, c and the activated gates i, f, g, o) as the fused NTM keeps its own (see
//! `fused/tape.rs`), so the backward needs no recomputation. `cell_forward` and
//! `cell_backward` are the cell's arithmetic for one row, shared with the fused NTM's
//! controller.

use crate::fused::kernel::{sigmoid, simd_routine, Real};
use crate::fused::split::Threads;
use crate::fused::taped::{self, leading_columns, Taped};
use candle_core::{Layout, Result, Shape, Tensor};

/// Saved values per row and time step on the tape, in units of H: h, c, i, f, g, o.
const SLOTS: usize = 6;

/// Runs one LSTM layer over a sequence.
///
/// `x`: `[T, B, in]`, `weight`: `[in + H, 4H]`, `bias`: `[4H]`, `h0`, `c0`: `[B, H]` or `[H]`
/// (broadcast over the batch) -> every hidden state `[T, B, H]`. Same function as stepping
/// [`crate::models::lstm::LstmCell`] over `t`; f32 and f64 on the CPU.
pub fn lstm_layer(x: &Tensor, weight: &Tensor, bias: &Tensor, h0: &Tensor, c0: &Tensor) -> Result<Tensor> {
    let (_, batch, inputs) = x.dims3()?;
    let (rows, four_h) = weight.dims2()?;
    let hidden = four_h / 4;
    if four_h % 4 != 0 || rows != inputs + hidden || bias.dims() != [four_h] {
        candle_core::bail!(
            "lstm_layer: weight {:?} and bias {:?} do not fit {inputs} inputs (needs [in + H, 4H] and [4H])",
            weight.dims(),
            bias.dims()
        );
    }
    let state = |s: &Tensor| -> Result<Tensor> {
        match s.rank() {
            1 => s.unsqueeze(0)?.broadcast_as((batch, hidden)),
            _ => s.broadcast_as((batch, hidden)),
        }
    };
    // The op takes three inputs: the bias and the initial state [2, B, H] travel together.
    let state0 = Tensor::stack(&[state(h0)?, state(c0)?], 0)?;
    let extras = Tensor::cat(&[bias, &state0.flatten_all()?], 0)?; // [4H + 2BH]
    taped::apply::<LstmLayer>(&x.contiguous()?, &weight.contiguous()?, &extras) // [T, B, H]
}

/// The layer `x, W, [b; h0; c0] -> h [T, B, H]` (see the module docs), its tape `[T, B, 6H]`.
struct LstmLayer;

/// Sizes of one call: time steps, batch rows, inputs, hidden units.
#[derive(Clone, Copy)]
struct Dims {
    time: usize,
    batch: usize,
    inputs: usize,
    hidden: usize,
}

simd_routine! {
/// One row of a cell step (gate order i, f, g, o): `gates` `[4H]` holds the pre-activations
/// and becomes the activated gates; with `c_prev` `[H]`, sets `c` and `h` `[H]`:
/// c = f c_prev + i g, h = o tanh(c).
pub(crate) fn cell_forward<T: Real>(gates: &mut [T], c_prev: &[T], c: &mut [T], h: &mut [T]) {
    let n = c.len();
    for j in 0..n {
        let i = sigmoid(gates[j]);
        let f = sigmoid(gates[n + j]);
        let g = gates[2 * n + j].tanh();
        let o = sigmoid(gates[3 * n + j]);
        (gates[j], gates[n + j], gates[2 * n + j], gates[3 * n + j]) = (i, f, g, o);
        c[j] = f * c_prev[j] + i * g;
        h[j] = o * c[j].tanh();
    }
}
}

simd_routine! {
/// The backward of [`cell_forward`] for one row: from the activated `gates`, `c_prev`, `c`,
/// and `dh`, the whole gradient of h, sets `dgates` `[4H]` (of the pre-activations). `dc`
/// holds the gradient reaching c from later steps and becomes that of `c_prev`.
pub(crate) fn cell_backward<T: Real>(
    gates: &[T],
    c_prev: &[T],
    c: &[T],
    dh: &[T],
    dc: &mut [T],
    dgates: &mut [T],
) {
    let n = c.len();
    let one = T::from_f64(1.0);
    for j in 0..n {
        let (i, f, g, o) = (gates[j], gates[n + j], gates[2 * n + j], gates[3 * n + j]);
        let tc = c[j].tanh();
        let dcj = dc[j] + dh[j] * o * (one - tc * tc);
        dgates[j] = dcj * g * i * (one - i);
        dgates[n + j] = dcj * c_prev[j] * f * (one - f);
        dgates[2 * n + j] = dcj * i * (one - g * g);
        dgates[3 * n + j] = dh[j] * tc * o * (one - o);
        dc[j] = dcj * f;
    }
}
}

/// Forward: `x [T, B, in]`, `weight [in + H, 4H]`, `extras [4H + 2BH]` (the bias, then
/// `[h0; c0]`) -> the tape `[T, B, 6H]`.
fn forward<T: Real>(x: &[T], weight: &[T], extras: &[T], d: Dims, threads: Threads) -> Vec<T> {
    let Dims { time, batch, inputs, hidden: h } = d;
    let (bh, g4, row) = (batch * h, 4 * h, SLOTS * h);
    let (w_x, w_h) = weight.split_at(inputs * g4);
    let (bias, state0) = extras.split_at(g4);
    // gx = x W_x + b: [TB, in] x [in, 4H], then the bias added to every row.
    let mut gx = vec![T::from_f64(0.0); time * batch * g4];
    threads.matmul(&mut gx, false, x, (inputs, 1), w_x, (g4, 1), (time * batch, g4, inputs));
    for gates in gx.chunks_exact_mut(g4) {
        for (g, &b) in gates.iter_mut().zip(bias) {
            *g += b;
        }
    }
    let mut saved = vec![T::from_f64(0.0); time * batch * row];
    let mut h_prev = state0[..bh].to_vec(); // [B, H]
    let mut c_prev = state0[bh..2 * bh].to_vec(); // [B, H]
    for t in 0..time {
        // gates_t = gx_t + h_{t-1} W_h: [B, H] x [H, 4H], into the step's own rows of gx.
        let gates = &mut gx[t * batch * g4..(t + 1) * batch * g4];
        threads.matmul(gates, true, &h_prev, (h, 1), w_h, (g4, 1), (batch, g4, h));
        let out = &mut saved[t * batch * row..(t + 1) * batch * row];
        threads.rows(batch, out, gates, |r, out, gates| {
            let (hc, acts) = out.split_at_mut(2 * h);
            let (hv, c) = hc.split_at_mut(h);
            acts.copy_from_slice(gates);
            cell_forward(acts, &c_prev[r * h..(r + 1) * h], c, hv);
        });
        for (r, out) in out.chunks_exact(row).enumerate() {
            h_prev[r * h..(r + 1) * h].copy_from_slice(&out[..h]);
            c_prev[r * h..(r + 1) * h].copy_from_slice(&out[h..2 * h]);
        }
    }
    saved
}

/// The layer's gradients: `(d x [T, B, in], d weight [in + H, 4H], d extras [4H + 2BH])` from
/// the tape `saved`, the inputs and `grad`, the gradient of the hidden states `[T, B, H]`.
fn backward<T: Real>(
    saved: &[T],
    grad: &[T],
    x: &[T],
    weight: &[T],
    extras: &[T],
    d: Dims,
    threads: Threads,
) -> (Vec<T>, Vec<T>, Vec<T>) {
    let Dims { time, batch, inputs, hidden: h } = d;
    let (bh, g4, row) = (batch * h, 4 * h, SLOTS * h);
    let (w_x, w_h) = weight.split_at(inputs * g4);
    let state0 = &extras[g4..];
    let zero = T::from_f64(0.0);
    let mut d_gates = vec![zero; time * batch * g4]; // [T, B, 4H]
    let mut dh_next = vec![zero; bh]; // dL/dh_{t} from step t+1
    let mut dc = vec![zero; bh]; // dL/dc_{t} from step t+1
    for t in (0..time).rev() {
        let dg_t = &mut d_gates[t * batch * g4..(t + 1) * batch * g4];
        // The whole gradient of h_t, the step's own and the one from step t+1, in place.
        for (dh, &g) in dh_next.iter_mut().zip(&grad[t * bh..(t + 1) * bh]) {
            *dh = g + *dh;
        }
        let dh_t = &dh_next;
        threads.rows(batch, dg_t, &mut dc, |r, dg, dc_row| {
            let at = (t * batch + r) * row;
            let c_prev = if t > 0 { &saved[at - batch * row + h..][..h] } else { &state0[bh + r * h..][..h] };
            let (c, gates) = (&saved[at + h..][..h], &saved[at + 2 * h..][..g4]);
            cell_backward(gates, c_prev, c, &dh_t[r * h..(r + 1) * h], dc_row, dg);
        });
        // dh_{t-1} = d gates_t W_h^T: [B, 4H] x [4H, H]
        threads.matmul(&mut dh_next, false, dg_t, (g4, 1), w_h, (1, g4), (batch, h, g4));
    }
    // d W_h = sum_t h_{t-1}^T d gates_t, one matmul over all T*B rows: [H, TB] x [TB, 4H].
    let mut h_prev = Vec::with_capacity(time * bh);
    h_prev.extend_from_slice(&state0[..bh]);
    for r in 0..time.saturating_sub(1) * batch {
        h_prev.extend_from_slice(&saved[r * row..][..h]);
    }
    let mut d_weight = vec![zero; (inputs + h) * g4];
    let (d_wx, d_wh) = d_weight.split_at_mut(inputs * g4);
    threads.matmul(d_wh, false, &h_prev, (1, h), &d_gates, (g4, 1), (h, g4, time * batch));
    // d W_x = x^T d gates: [in, TB] x [TB, 4H]; d x = d gates W_x^T: [TB, 4H] x [4H, in].
    threads.matmul(d_wx, false, x, (1, inputs), &d_gates, (g4, 1), (inputs, g4, time * batch));
    let mut d_x = vec![zero; time * batch * inputs];
    threads.matmul(&mut d_x, false, &d_gates, (g4, 1), w_x, (1, g4), (time * batch, inputs, g4));
    // d b: the column sums of d gates, row after row (as candle's sum over the broadcast rows).
    let mut d_extras = vec![zero; g4];
    for dg in d_gates.chunks_exact(g4) {
        for (db, &g) in d_extras.iter_mut().zip(dg) {
            *db += g;
        }
    }
    d_extras.extend_from_slice(&dh_next);
    d_extras.extend_from_slice(&dc);
    (d_x, d_weight, d_extras)
}

impl Taped for LstmLayer {
    const NAME: &'static str = "fused-lstm-layer";
    type Dims = Dims;

    fn dims(x: &Layout, weight: &Layout, extras: &Layout) -> Result<Dims> {
        let (time, batch, inputs) = x.shape().dims3()?;
        let (rows, four_h) = weight.shape().dims2()?;
        let hidden = four_h / 4;
        if four_h % 4 != 0 || rows != inputs + hidden || extras.shape().dims() != [four_h + 2 * batch * hidden] {
            candle_core::bail!(
                "lstm layer: shapes x {:?}, weight {:?}, extras {:?} do not fit",
                x.shape(),
                weight.shape(),
                extras.shape()
            );
        }
        Ok(Dims { time, batch, inputs, hidden })
    }

    fn output_shape(d: Dims) -> Shape {
        Shape::from((d.time, d.batch, d.hidden))
    }

    fn forward<T: Real>(x: &[T], weight: &[T], extras: &[T], d: Dims) -> (Vec<T>, Vec<T>) {
        let saved = forward(x, weight, extras, d, Threads::now());
        let h = leading_columns(&saved, SLOTS * d.hidden, d.hidden);
        (saved, h)
    }

    fn backward<T: Real>(saved: &[T], grad: &[T], x: &[T], weight: &[T], extras: &[T], d: Dims) -> [Vec<T>; 3] {
        let (d_x, d_weight, d_extras) = backward(saved, grad, x, weight, extras, d, Threads::now());
        [d_x, d_weight, d_extras]
    }
}
