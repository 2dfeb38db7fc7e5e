//! One LSTM layer over a whole sequence as a single custom operation with a hand-derived
//! backward pass (backpropagation through time).
//!
//! The composed cell ([`crate::models::lstm::LstmCell::step`]) adds about a dozen graph nodes per
//! layer and time step, and its backward pass accumulates the weight gradient `[in + H, 4H]`
//! once per step. Here a layer splits into:
//! ```text
//! gx = x W_x + b                     one matmul over all T*B rows       [T, B, 4H]  (autograd)
//! h_1..T = recurrence(gx, W_h, h0, c0)  one custom op, a loop over t    [T, B, H]
//! ```
//! with `W = [W_x; W_h]` the cell's weight `[in + H, 4H]` (rows of `W_x` first) and gate order
//! i, f, g, o as in the cell. The recurrence's backward runs the per-step loop over flat
//! buffers and forms `dW_h` with one matmul over all time steps; `dW_x`, `db` and `dx` come
//! from autograd on the single `gx` matmul, so they too are one matmul each per sequence.
//!
//! The custom op returns the hidden states and keeps a tape of its activations (`[T, B, 6H]`:
//! per row h, c and the activated gates i, f, g, o) as the fused NTM keeps its own (see
//! `fused/tape.rs`), so the backward needs no recomputation. `cell_forward` and
//! `cell_backward` are the cell's arithmetic for one row, shared with the fused NTM's
//! controller.

use crate::base::cpu::{by_dtype, host, slice};
use crate::fused::kernel::{gradients3, matmul, sigmoid, simd_routine, Real};
use crate::fused::tape::SharedTape;
use candle_core::{CpuStorage, CustomOp3, Layout, Result, Shape, Tensor};

/// Saved values per row and time step on the tape, in units of H: h, c, i, f, g, o.
const SLOTS: usize = 6;

/// Runs one LSTM layer over a sequence.
///
/// `x`: `[T, B, in]`, `weight`: `[in + H, 4H]`, `bias`: `[4H]`, `h0`, `c0`: `[B, H]` or `[H]`
/// (broadcast over the batch) -> every hidden state `[T, B, H]`. Same function as stepping
/// [`crate::models::lstm::LstmCell`] over `t`; f32 and f64 on the CPU.
pub fn lstm_layer(x: &Tensor, weight: &Tensor, bias: &Tensor, h0: &Tensor, c0: &Tensor) -> Result<Tensor> {
    let (time, batch, inputs) = x.dims3()?;
    let (rows, four_h) = weight.dims2()?;
    let hidden = four_h / 4;
    if four_h % 4 != 0 || rows != inputs + hidden {
        candle_core::bail!("lstm_layer: weight {:?} does not fit {inputs} inputs (needs [in + H, 4H])", weight.dims());
    }
    let w_x = weight.narrow(0, 0, inputs)?; // [in, 4H]
    let w_h = weight.narrow(0, inputs, hidden)?; // [H, 4H]
    let gx = x.reshape((time * batch, inputs))?.matmul(&w_x)?.broadcast_add(bias)?.reshape((time, batch, four_h))?; // [T, B, 4H]
    let state = |s: &Tensor| -> Result<Tensor> {
        match s.rank() {
            1 => s.unsqueeze(0)?.broadcast_as((batch, hidden)),
            _ => s.broadcast_as((batch, hidden)),
        }
    };
    let state0 = Tensor::stack(&[state(h0)?, state(c0)?], 0)?; // [2, B, H]
    let w_h = w_h.contiguous()?;
    by_dtype!(gx.dtype(), "lstm_layer", T => {
        let op = LstmRecurrence::<T> { tape: SharedTape::default() };
        gx.apply_op3(&w_h, &state0, op) // [T, B, H]
    })
}

/// The recurrence `gx, W_h, [h0; c0] -> h [T, B, H]` (see the module docs), keeping its tape
/// `[T, B, 6H]` in the float type `T`.
struct LstmRecurrence<T> {
    tape: SharedTape<Vec<T>>,
}

/// Sizes of one call: time steps, batch rows, hidden units.
#[derive(Clone, Copy)]
struct Dims {
    time: usize,
    batch: usize,
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

/// Forward: `gx [T, B, 4H]`, `w_h [H, 4H]`, `state0 [2, B, H]` -> the tape `[T, B, 6H]`.
fn forward<T: Real>(gx: &[T], w_h: &[T], state0: &[T], d: Dims) -> Vec<T> {
    let Dims { time, batch, hidden: h } = d;
    let (bh, g4, row) = (batch * h, 4 * h, SLOTS * h);
    let mut saved = vec![T::from_f64(0.0); time * batch * row];
    let mut gates = vec![T::from_f64(0.0); batch * g4]; // [B, 4H]
    let mut h_prev = state0[..bh].to_vec(); // [B, H]
    let mut c_prev = state0[bh..2 * bh].to_vec(); // [B, H]
    for t in 0..time {
        gates.copy_from_slice(&gx[t * batch * g4..(t + 1) * batch * g4]);
        matmul(&mut gates, true, &h_prev, (h, 1), w_h, (g4, 1), (batch, g4, h));
        for r in 0..batch {
            let out = &mut saved[(t * batch + r) * row..][..row];
            let (hc, acts) = out.split_at_mut(2 * h);
            let (hv, c) = hc.split_at_mut(h);
            acts.copy_from_slice(&gates[r * g4..(r + 1) * g4]);
            cell_forward(acts, &c_prev[r * h..(r + 1) * h], c, hv);
            h_prev[r * h..(r + 1) * h].copy_from_slice(hv);
            c_prev[r * h..(r + 1) * h].copy_from_slice(c);
        }
    }
    saved
}

/// Gradients of the recurrence: returns `(d gx [T, B, 4H], d w_h [H, 4H], d state0 [2, B, H])`
/// from the tape `saved` and `grad`, the gradient of the hidden states `[T, B, H]`.
fn backward<T: Real>(saved: &[T], grad: &[T], w_h: &[T], state0: &[T], d: Dims) -> (Vec<T>, Vec<T>, Vec<T>) {
    let Dims { time, batch, hidden: h } = d;
    let (bh, g4, row) = (batch * h, 4 * h, SLOTS * h);
    let zero = T::from_f64(0.0);
    let mut d_gates = vec![zero; time * batch * g4]; // [T, B, 4H]
    let mut dh_next = vec![zero; bh]; // dL/dh_{t} from step t+1
    let mut dc = vec![zero; bh]; // dL/dc_{t} from step t+1
    let mut dh = vec![zero; h];
    for t in (0..time).rev() {
        for r in 0..batch {
            let at = (t * batch + r) * row;
            let c_prev = if t > 0 { &saved[at - batch * row + h..][..h] } else { &state0[bh + r * h..][..h] };
            let (c, gates) = (&saved[at + h..][..h], &saved[at + 2 * h..][..g4]);
            let grad_h = &grad[(t * batch + r) * h..][..h];
            for j in 0..h {
                dh[j] = grad_h[j] + dh_next[r * h + j];
            }
            let dc_row = &mut dc[r * h..(r + 1) * h];
            let dg = &mut d_gates[(t * batch + r) * g4..][..g4];
            cell_backward(gates, c_prev, c, &dh, dc_row, dg);
        }
        // dh_{t-1} = d gates_t W_h^T: [B, 4H] x [4H, H]
        let dg_t = &d_gates[t * batch * g4..(t + 1) * batch * g4];
        matmul(&mut dh_next, false, dg_t, (g4, 1), w_h, (1, g4), (batch, h, g4));
    }
    // d W_h = sum_t h_{t-1}^T d gates_t, one matmul over all T*B rows: [H, TB] x [TB, 4H].
    let mut h_prev = Vec::with_capacity(time * bh);
    h_prev.extend_from_slice(&state0[..bh]);
    for r in 0..time.saturating_sub(1) * batch {
        h_prev.extend_from_slice(&saved[r * row..][..h]);
    }
    let mut d_wh = vec![zero; h * g4];
    matmul(&mut d_wh, false, &h_prev, (1, h), &d_gates, (g4, 1), (h, g4, time * batch));
    let mut d_state0 = dh_next;
    d_state0.extend_from_slice(&dc);
    (d_gates, d_wh, d_state0)
}

impl<T: Real> LstmRecurrence<T> {
    fn dims(gx: &Layout, w_h: &Layout, state0: &Layout) -> Result<Dims> {
        let (time, batch, four_h) = gx.shape().dims3()?;
        let hidden = four_h / 4;
        if w_h.shape().dims() != [hidden, four_h] || state0.shape().dims() != [2, batch, hidden] {
            candle_core::bail!(
                "lstm recurrence: shapes gx {:?}, w_h {:?}, state0 {:?} do not fit",
                gx.shape(),
                w_h.shape(),
                state0.shape()
            );
        }
        Ok(Dims { time, batch, hidden })
    }
}

impl<T: Real> CustomOp3 for LstmRecurrence<T> {
    fn name(&self) -> &'static str {
        "fused-lstm-recurrence"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let d = Self::dims(l1, l2, l3)?;
        let saved = forward::<T>(slice(s1, l1)?, slice(s2, l2)?, slice(s3, l3)?, d);
        let h: Vec<T> = saved.chunks_exact(SLOTS * d.hidden).flat_map(|row| &row[..d.hidden]).copied().collect();
        self.tape.keep(saved)?;
        Ok((T::to_cpu_storage_owned(h), Shape::from((d.time, d.batch, d.hidden))))
    }

    fn bwd(
        &self,
        gx: &Tensor,
        w_h: &Tensor,
        state0: &Tensor,
        _res: &Tensor,
        grad_res: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let d = Self::dims(gx.layout(), w_h.layout(), state0.layout())?;
        let grad = host::<T>(grad_res)?;
        let (w, s0) = (host::<T>(w_h)?, host::<T>(state0)?);
        let (d_gx, d_wh, d_s0) = self.tape.read(|saved| backward(saved, &grad, &w, &s0, d))?;
        gradients3([d_gx, d_wh, d_s0], [gx, w_h, state0])
    }
}
