//! One LSTM layer over a whole sequence as a single custom operation with a hand-derived
//! backward pass (backpropagation through time).
//!
//! The composed cell ([`crate::lstm::LstmCell::step`]) adds about a dozen graph nodes per
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
//! The custom op returns its saved activations with the hidden states (`[6, T, B, H]`:
//! slots h, c, i, f, g, o), so the backward needs no recomputation and the op holds no
//! hidden state; [`lstm_layer`] hands back slot h only. Gradients reaching slots i, f, g, o
//! are ignored (nothing outside this file sees them).

use candle_core::{
    backend::BackendStorage, CpuStorage, CustomOp3, DType, Layout, Result, Shape, Tensor, WithDType,
};
use gemm::Parallelism;

use crate::fused::kernel::{gradients3, host, slice, Real};

/// Saved slots per time step in the op's output: h, c, i, f, g, o (each `[B, H]`).
const SLOTS: usize = 6;
const SLOT_H: usize = 0;
const SLOT_C: usize = 1;
const SLOT_I: usize = 2;

/// Runs one LSTM layer over a sequence.
///
/// `x`: `[T, B, in]`, `weight`: `[in + H, 4H]`, `bias`: `[4H]`, `h0`, `c0`: `[B, H]` or `[H]`
/// (broadcast over the batch) -> every hidden state `[T, B, H]`. Same function as stepping
/// [`crate::lstm::LstmCell`] over `t`; f32 and f64 on the CPU.
pub fn lstm_layer(
    x: &Tensor,
    weight: &Tensor,
    bias: &Tensor,
    h0: &Tensor,
    c0: &Tensor,
) -> Result<Tensor> {
    let (time, batch, inputs) = x.dims3()?;
    let (rows, four_h) = weight.dims2()?;
    let hidden = four_h / 4;
    if four_h % 4 != 0 || rows != inputs + hidden {
        candle_core::bail!(
            "lstm_layer: weight {:?} does not fit {inputs} inputs (needs [in + H, 4H])",
            weight.dims()
        );
    }
    let w_x = weight.narrow(0, 0, inputs)?; // [in, 4H]
    let w_h = weight.narrow(0, inputs, hidden)?; // [H, 4H]
    let gx = x
        .reshape((time * batch, inputs))?
        .matmul(&w_x)?
        .broadcast_add(bias)?
        .reshape((time, batch, four_h))?; // [T, B, 4H]
    let state = |s: &Tensor| -> Result<Tensor> {
        match s.rank() {
            1 => s.unsqueeze(0)?.broadcast_as((batch, hidden)),
            _ => s.broadcast_as((batch, hidden)),
        }
    };
    let state0 = Tensor::stack(&[state(h0)?, state(c0)?], 0)?; // [2, B, H]
    let saved = gx.apply_op3(&w_h.contiguous()?, &state0, LstmRecurrence)?; // [6, T, B, H]
    saved.get(SLOT_H)
}

/// The recurrence `gx, W_h, [h0; c0] -> [6, T, B, H]` (see the module docs).
struct LstmRecurrence;

fn sigmoid<T: Real>(x: T) -> T {
    let one = T::from_f64(1.0);
    one / (one + (-x).exp())
}

/// `dst = (accumulate ? dst : 0) + lhs rhs` for row-major `lhs [m, k]` (row stride
/// `lhs_rs`, column stride `lhs_cs`), `rhs [k, n]` likewise and `dst [m, n]` contiguous.
#[allow(clippy::too_many_arguments)]
fn matmul<T: Real>(
    dst: &mut [T],
    accumulate: bool,
    lhs: &[T],
    (lhs_rs, lhs_cs): (usize, usize),
    rhs: &[T],
    (rhs_rs, rhs_cs): (usize, usize),
    (m, n, k): (usize, usize, usize),
) {
    assert!(dst.len() >= m * n);
    assert!(m == 0 || k == 0 || lhs.len() > (m - 1) * lhs_rs + (k - 1) * lhs_cs);
    assert!(n == 0 || k == 0 || rhs.len() > (k - 1) * rhs_rs + (n - 1) * rhs_cs);
    // SAFETY: the asserts above keep every index gemm touches inside the three slices.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            lhs.as_ptr(),
            lhs_cs as isize,
            lhs_rs as isize,
            rhs.as_ptr(),
            rhs_cs as isize,
            rhs_rs as isize,
            T::from_f64(1.0),
            T::from_f64(1.0),
            false,
            false,
            false,
            Parallelism::None,
        )
    }
}

/// Sizes of one call: time steps, batch rows, hidden units.
#[derive(Clone, Copy)]
struct Dims {
    time: usize,
    batch: usize,
    hidden: usize,
}

/// Forward: `gx [T, B, 4H]`, `w_h [H, 4H]`, `state0 [2, B, H]` -> saved `[6, T, B, H]`.
fn forward<T: Real>(gx: &[T], w_h: &[T], state0: &[T], d: Dims) -> Vec<T> {
    let Dims {
        time,
        batch,
        hidden: h,
    } = d;
    let (bh, g4) = (batch * h, 4 * h);
    let slot = time * bh; // one saved quantity over the whole sequence
    let mut saved = vec![T::from_f64(0.0); SLOTS * slot];
    let mut gates = vec![T::from_f64(0.0); batch * g4]; // [B, 4H]
    let mut h_prev = state0[..bh].to_vec(); // [B, H]
    let mut c_prev = state0[bh..2 * bh].to_vec(); // [B, H]
    for t in 0..time {
        gates.copy_from_slice(&gx[t * batch * g4..(t + 1) * batch * g4]);
        matmul(
            &mut gates,
            true,
            &h_prev,
            (h, 1),
            w_h,
            (g4, 1),
            (batch, g4, h),
        );
        let at = t * bh;
        for r in 0..batch {
            let row = &gates[r * g4..(r + 1) * g4];
            for j in 0..h {
                let k = r * h + j;
                let i = sigmoid(row[j]);
                let f = sigmoid(row[h + j]);
                let g = row[2 * h + j].tanh();
                let o = sigmoid(row[3 * h + j]);
                let c = f * c_prev[k] + i * g;
                let hv = o * c.tanh();
                for (s, v) in [hv, c, i, f, g, o].into_iter().enumerate() {
                    saved[s * slot + at + k] = v;
                }
                h_prev[k] = hv;
                c_prev[k] = c;
            }
        }
    }
    saved
}

/// Gradients of the recurrence: returns `(d gx [T, B, 4H], d w_h [H, 4H], d state0 [2, B, H])`
/// from the saved activations and the gradient of the saved h and c slots.
fn backward<T: Real>(
    saved: &[T],
    grad: &[T],
    w_h: &[T],
    state0: &[T],
    d: Dims,
) -> (Vec<T>, Vec<T>, Vec<T>) {
    let Dims {
        time,
        batch,
        hidden: h,
    } = d;
    let (bh, g4) = (batch * h, 4 * h);
    let slot = time * bh;
    let zero = T::from_f64(0.0);
    let one = T::from_f64(1.0);
    let part = |s: usize| &saved[s * slot..(s + 1) * slot];
    let (hs, cs) = (part(SLOT_H), part(SLOT_C));
    let (is, fs, gs, os) = (
        part(SLOT_I),
        part(SLOT_I + 1),
        part(SLOT_I + 2),
        part(SLOT_I + 3),
    );
    let (grad_h, grad_c) = (
        &grad[SLOT_H * slot..][..slot],
        &grad[SLOT_C * slot..][..slot],
    );

    let mut d_gates = vec![zero; time * batch * g4]; // [T, B, 4H]
    let mut dh_next = vec![zero; bh]; // dL/dh_{t} from step t+1
    let mut dc_next = vec![zero; bh]; // dL/dc_{t} from step t+1
    for t in (0..time).rev() {
        let at = t * bh;
        let c_prev = if t > 0 {
            &cs[at - bh..at]
        } else {
            &state0[bh..2 * bh]
        };
        let dg_t = &mut d_gates[t * batch * g4..(t + 1) * batch * g4];
        for r in 0..batch {
            for j in 0..h {
                let k = r * h + j;
                let n = at + k;
                let (i, f, g, o) = (is[n], fs[n], gs[n], os[n]);
                let tc = cs[n].tanh();
                let dh = grad_h[n] + dh_next[k];
                let dc = dc_next[k] + grad_c[n] + dh * o * (one - tc * tc);
                let row = &mut dg_t[r * g4..(r + 1) * g4];
                row[j] = dc * g * i * (one - i);
                row[h + j] = dc * c_prev[k] * f * (one - f);
                row[2 * h + j] = dc * i * (one - g * g);
                row[3 * h + j] = dh * tc * o * (one - o);
                dc_next[k] = dc * f;
            }
        }
        // dh_{t-1} = d gates_t W_h^T: [B, 4H] x [4H, H]
        matmul(
            &mut dh_next,
            false,
            dg_t,
            (g4, 1),
            w_h,
            (1, g4),
            (batch, h, g4),
        );
    }
    // d W_h = sum_t h_{t-1}^T d gates_t, one matmul over all T*B rows: [H, TB] x [TB, 4H].
    let mut h_prev = Vec::with_capacity(slot);
    h_prev.extend_from_slice(&state0[..bh]);
    h_prev.extend_from_slice(&hs[..slot - bh]);
    let mut d_wh = vec![zero; h * g4];
    matmul(
        &mut d_wh,
        false,
        &h_prev,
        (1, h),
        &d_gates,
        (g4, 1),
        (h, g4, time * batch),
    );
    let mut d_state0 = dh_next;
    d_state0.extend_from_slice(&dc_next);
    (d_gates, d_wh, d_state0)
}

impl LstmRecurrence {
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
        Ok(Dims {
            time,
            batch,
            hidden,
        })
    }

    fn bwd_typed<T: Real>(
        gx: &Tensor,
        w_h: &Tensor,
        state0: &Tensor,
        res: &Tensor,
        grad_res: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let d = Self::dims(gx.layout(), w_h.layout(), state0.layout())?;
        let (saved, grad) = (host::<T>(res)?, host::<T>(grad_res)?);
        let (w, s0) = (host::<T>(w_h)?, host::<T>(state0)?);
        let (d_gx, d_wh, d_s0) = backward(&saved, &grad, &w, &s0, d);
        gradients3([d_gx, d_wh, d_s0], [gx, w_h, state0])
    }
}

impl CustomOp3 for LstmRecurrence {
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
        let shape = Shape::from((SLOTS, d.time, d.batch, d.hidden));
        let storage = match s1.dtype() {
            DType::F32 => f32::to_cpu_storage_owned(forward::<f32>(
                slice(s1, l1)?,
                slice(s2, l2)?,
                slice(s3, l3)?,
                d,
            )),
            DType::F64 => f64::to_cpu_storage_owned(forward::<f64>(
                slice(s1, l1)?,
                slice(s2, l2)?,
                slice(s3, l3)?,
                d,
            )),
            dtype => candle_core::bail!("lstm recurrence: unsupported dtype {dtype:?}"),
        };
        Ok((storage, shape))
    }

    fn bwd(
        &self,
        gx: &Tensor,
        w_h: &Tensor,
        state0: &Tensor,
        res: &Tensor,
        grad_res: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        match gx.dtype() {
            DType::F32 => Self::bwd_typed::<f32>(gx, w_h, state0, res, grad_res),
            DType::F64 => Self::bwd_typed::<f64>(gx, w_h, state0, res, grad_res),
            dtype => candle_core::bail!("lstm recurrence: unsupported dtype {dtype:?}"),
        }
    }
}
