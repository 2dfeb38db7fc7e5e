//! Additive causal self-attention over a sequence (the attention baseline's,
//! [`crate::models::attention`]) as one custom operation with a hand-derived backward pass.
//!
//! Per batch row, from the queries q_t, keys k_s `[A]`, the score vector v `[A]` and the
//! attended states h_s `[H]`, for every step t (0-based here: step 0 has no past):
//! ```text
//! u_{t,s} = tanh(q_t + k_s)                                  [A]   for s < t
//! e_{t,s} = v . u_{t,s}
//! a_{t,s} = softmax_{s<t}(e_{t,.}),    c_t = sum_{s<t} a_{t,s} h_s      (c_0 = 0)
//! ```
//! and its backward, from dc_t `[H]`, the gradient of the contexts:
//! ```text
//! da_{t,s} = dc_t . h_s                       (one matmul per batch row: dC H^T, [T, T])
//! dh_s     = sum_{t>s} a_{t,s} dc_t           (one matmul per batch row: A^T dC, [T, H])
//! de_{t,s} = a_{t,s} (da_{t,s} - sum_{s'<t} a_{t,s'} da_{t,s'})     (through the softmax)
//! dz_{t,s} = de_{t,s} v (1 - u_{t,s}^2)       [A], the gradient of q_t + k_s
//! dq_t = sum_{s<t} dz_{t,s},   dk_s = sum_{t>s} dz_{t,s},   dv = sum_{t,s} de_{t,s} u_{t,s}
//! ```
//! The composed reference builds the features u as a tensor `[B, T, T, A]` and keeps it for
//! its backward; here the forward computes each u_{t,s} in registers, reduces it to its score
//! at once, and keeps only the weights a `[B, T, T]`; the backward computes u again. That is
//! T^2 A / 2 more tanh's (~3.4 million at B = 16, T = 41, A = 256) instead of writing and
//! reading back the 14 MB the features take at those sizes, and training memory no longer
//! grows as T^2 A. Storing them was not timed against this: the whole backward loop, of which
//! the recomputed tanh is a part, was ~7% of a training step at batch 16 (profiled), so
//! storing could save at most that.
//!
//! Shapes: `q`, `k` `[B, T, A]`, `v` `[A]`, `h` `[B, T, H]` -> the contexts `[B, T, H]`. The
//! op's first input is q and k side by side, `[B, T, 2A]`, so that it has three inputs.

use crate::fused::kernel::{dot, matmul, simd_routine, softmax, Real};
use crate::fused::taped::{self, Taped};
use candle_core::{Layout, Result, Shape, Tensor};

/// The op's name in candle's errors.
const NAME: &str = "fused-causal-attention";

/// The contexts c_t of additive causal self-attention (see the module docs): `q`, `k`
/// `[B, T, A]`, `v` `[A]`, `h` `[B, T, H]` -> `[B, T, H]`, row t a mixture of h_0..h_{t-1}
/// (row 0 zero). Same function as the attention baseline's composed reference
/// ([`crate::models::attention::contexts`]); f32 and f64 on the CPU.
pub fn causal_attention(q: &Tensor, k: &Tensor, v: &Tensor, h: &Tensor) -> Result<Tensor> {
    let (batch, time, width) = q.dims3()?;
    let (hb, ht, _) = h.dims3()?;
    if k.dims() != q.dims() || v.dims() != [width] || (hb, ht) != (batch, time) {
        candle_core::bail!(
            "{NAME}: shapes q {:?}, k {:?}, v {:?}, h {:?} do not fit",
            q.dims(),
            k.dims(),
            v.dims(),
            h.dims()
        );
    }
    let qk = Tensor::cat(&[q, k], 2)?; // [B, T, 2A]
    let (v, h) = (v.contiguous()?, h.contiguous()?);
    taped::apply::<CausalAttention>(&qk, &v, &h) // [B, T, H]
}

/// The op `[q, k], v, h -> contexts [B, T, H]`, keeping the weights a `[B, T, T]` (row t zero
/// from s = t on) as its tape for the backward.
struct CausalAttention;

/// Sizes of one call: batch rows, time steps, attention width A, attended width H.
#[derive(Clone, Copy)]
struct Dims {
    batch: usize,
    time: usize,
    width: usize,
    hidden: usize,
}

simd_routine! {
/// The score e = v . tanh(q + k) of one pair of steps (`q`, `k`, `v` `[A]`), with eight
/// independent partial sums (as [`dot`]).
fn score<T: Real>(q: &[T], k: &[T], v: &[T]) -> T {
    let zero = T::from_f64(0.0);
    let mut partial = [zero; 8];
    let (cq, ck, cv) = (q.chunks_exact(8), k.chunks_exact(8), v.chunks_exact(8));
    let tail = cq.remainder().iter().zip(ck.remainder()).zip(cv.remainder());
    let tail = tail.fold(zero, |s, ((&q, &k), &v)| s + v * (q + k).tanh());
    for ((q, k), v) in cq.zip(ck).zip(cv) {
        for l in 0..8 {
            partial[l] += v[l] * (q[l] + k[l]).tanh();
        }
    }
    partial.iter().fold(tail, |s, &p| s + p)
}
}

simd_routine! {
/// The backward of [`score`] for one pair of steps, given `de`, the gradient of its score:
/// with u = tanh(q + k) computed again, adds de u to `dv` and de v (1 - u^2) to `dq` and `dk`
/// (all `[A]`).
fn score_backward<T: Real>(q: &[T], k: &[T], v: &[T], de: T, dv: &mut [T], dq: &mut [T], dk: &mut [T]) {
    let one = T::from_f64(1.0);
    let n = q.len();
    let (k, v, dv, dq, dk) = (&k[..n], &v[..n], &mut dv[..n], &mut dq[..n], &mut dk[..n]);
    for j in 0..n {
        let u = (q[j] + k[j]).tanh();
        dv[j] += de * u;
        let dz = de * v[j] * (one - u * u);
        dq[j] += dz;
        dk[j] += dz;
    }
}
}

/// Forward: `qk [B, T, 2A]`, `v [A]`, `h [B, T, H]` -> `(contexts [B, T, H], weights
/// [B, T, T])`.
fn forward<T: Real>(qk: &[T], v: &[T], h: &[T], d: Dims) -> (Vec<T>, Vec<T>) {
    let Dims { batch, time, width: a, hidden } = d;
    let zero = T::from_f64(0.0);
    let mut weights = vec![zero; batch * time * time]; // [B, T, T]
    let mut contexts = vec![zero; batch * time * hidden]; // [B, T, H]
    for b in 0..batch {
        let qk_b = &qk[b * time * 2 * a..][..time * 2 * a]; // [T, 2A]
        let w_b = &mut weights[b * time * time..][..time * time]; // [T, T]
        for t in 1..time {
            let q = &qk_b[t * 2 * a..][..a];
            let row = &mut w_b[t * time..][..t];
            for (s, e) in row.iter_mut().enumerate() {
                *e = score(q, &qk_b[s * 2 * a + a..][..a], v);
            }
            softmax(row);
        }
        // c = a h: [T, T] x [T, H]
        let (h_b, c_b) =
            (&h[b * time * hidden..][..time * hidden], &mut contexts[b * time * hidden..][..time * hidden]);
        matmul(c_b, false, w_b, (time, 1), h_b, (hidden, 1), (time, hidden, time));
    }
    (contexts, weights)
}

/// Gradients of the op: `(d qk [B, T, 2A], d v [A], d h [B, T, H])` from the kept `weights`
/// `[B, T, T]` and `grad`, the gradient of the contexts `[B, T, H]`.
fn backward<T: Real>(qk: &[T], v: &[T], h: &[T], weights: &[T], grad: &[T], d: Dims) -> (Vec<T>, Vec<T>, Vec<T>) {
    let Dims { batch, time, width: a, hidden } = d;
    let zero = T::from_f64(0.0);
    let mut d_qk = vec![zero; batch * time * 2 * a];
    let mut d_v = vec![zero; a];
    let mut d_h = vec![zero; batch * time * hidden];
    let mut d_w = vec![zero; time * time]; // [T, T], one batch row's
    for b in 0..batch {
        let (w_b, qk_b) = (&weights[b * time * time..][..time * time], &qk[b * time * 2 * a..][..time * 2 * a]);
        let (h_b, dc_b) = (&h[b * time * hidden..][..time * hidden], &grad[b * time * hidden..][..time * hidden]);
        // da = dc h^T: [T, H] x [H, T]; dh = a^T dc: [T, T] x [T, H].
        matmul(&mut d_w, false, dc_b, (hidden, 1), h_b, (1, hidden), (time, time, hidden));
        let dh_b = &mut d_h[b * time * hidden..][..time * hidden];
        matmul(dh_b, false, w_b, (1, time), dc_b, (hidden, 1), (time, hidden, time));
        let dqk_b = &mut d_qk[b * time * 2 * a..][..time * 2 * a];
        for t in 1..time {
            let (w, dw) = (&w_b[t * time..][..t], &d_w[t * time..][..t]);
            let mean = dot(w, dw); // sum_s a_{t,s} da_{t,s}
            let q = &qk_b[t * 2 * a..][..a];
            let (earlier, later) = dqk_b.split_at_mut(t * 2 * a); // dk_s for s < t; dq_t
            let dq = &mut later[..a];
            for s in 0..t {
                let de = w[s] * (dw[s] - mean);
                let (k, dk) = (&qk_b[s * 2 * a + a..][..a], &mut earlier[s * 2 * a + a..][..a]);
                score_backward(q, k, v, de, &mut d_v, dq, dk);
            }
        }
    }
    (d_qk, d_v, d_h)
}

impl Taped for CausalAttention {
    const NAME: &'static str = NAME;
    type Dims = Dims;

    fn dims(qk: &Layout, v: &Layout, h: &Layout) -> Result<Dims> {
        let (batch, time, two_a) = qk.shape().dims3()?;
        let (hb, ht, hidden) = h.shape().dims3()?;
        let width = two_a / 2;
        if two_a % 2 != 0 || v.shape().dims() != [width] || (hb, ht) != (batch, time) {
            candle_core::bail!("{NAME}: shapes qk {:?}, v {:?}, h {:?} do not fit", qk.shape(), v.shape(), h.shape());
        }
        Ok(Dims { batch, time, width, hidden })
    }

    fn output_shape(d: Dims) -> Shape {
        Shape::from((d.batch, d.time, d.hidden))
    }

    fn forward<T: Real>(qk: &[T], v: &[T], h: &[T], d: Dims) -> (Vec<T>, Vec<T>) {
        let (contexts, weights) = forward::<T>(qk, v, h, d);
        (weights, contexts)
    }

    fn backward<T: Real>(weights: &[T], grad: &[T], qk: &[T], v: &[T], h: &[T], d: Dims) -> [Vec<T>; 3] {
        let (d_qk, d_v, d_h) = backward(qk, v, h, weights, grad, d);
        [d_qk, d_v, d_h]
    }
}
