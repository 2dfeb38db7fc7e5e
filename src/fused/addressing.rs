//! A head's whole addressing pipeline (paper figure 2: content -> interpolate -> shift ->
//! sharpen, [`crate::addressing::address`]) as one custom operation with a hand-derived
//! backward pass.
//!
//! The composed pipeline with the head's activations is some 50 graph nodes per head and
//! step; this is one op (plus views of its output). It takes the head parameters packed as
//! `[key (M), beta, gate, shift (S), gamma]` per batch row, either activated ([`address`]) or
//! as pre-activations ([`address_raw`], applying the activations of
//! [`crate::heads::Head::params`] itself), the memory `[B, N, M]` and the previous weighting
//! `[B, N]`. Its flat output holds the final weighting w and the content weighting w^c, then
//! what the backward pass needs (cosine similarities, memory row norms, gated and shifted
//! weightings) and the activated parameters, so the backward recomputes nothing and the op
//! holds no state. Gradients reaching the saved intermediates are ignored (nothing outside
//! this file sees them); those reaching w, w^c and the activated parameters are used.
//!
//! Backward, per batch row (dw: incoming gradient of w; dwc: of w^c):
//! ```text
//! sharpen   l = gamma ln(ws + e3), w = softmax(l):   dl = w (dw - <w, dw>)
//!           dgamma = <dl, ln(ws + e3)>,  dws = dl gamma / (ws + e3)
//! shift     ws(i) = sum_k s_k wg(i - o_k):  ds_k = sum_i dws(i) wg(i - o_k),
//!           dwg(j) = sum_k s_k dws(j + o_k)                      (indices mod N)
//! interp.   wg = prev + g (wc - prev):  dwc += g dwg,  dprev = (1 - g) dwg,  dg = <dwg, wc - prev>
//! content   z = beta K, wc = softmax(z):  dz = wc (dwc - <wc, dwc>),  dbeta = <dz, K>,  dK = beta dz
//! cosine    K_i = dot_i / (rn_i kn + e2):  ddot_i = dK_i / den_i,  dden_i = -dK_i K_i / den_i
//!           dM_i = ddot_i k + dden_i kn M_i / rn_i,  dk = sum_i ddot_i M_i + (sum_i dden_i rn_i) k / kn
//! activ.    (address_raw) key = tanh: (1 - key^2);  beta, gamma = softplus (+1): sigmoid(raw);
//!           gate = sigmoid: g (1 - g);  shift = softmax: s (ds - <s, ds>)
//! ```

use candle_core::{
    backend::BackendStorage, CpuStorage, CustomOp3, DType, Layout, Result, Shape, Tensor, WithDType,
};

use crate::addressing::{
    Addressed, AddressingParams, COSINE_EPSILON, NORM_EPSILON, SHARPEN_EPSILON,
};
use crate::fused::kernel::{gradients3, host, slice, Real};

/// The fused equivalent of [`crate::addressing::address`]: same inputs, same outputs.
pub fn address(
    params: &AddressingParams,
    memory: &Tensor,
    previous: &Tensor,
    shifts: &[i64],
) -> Result<Addressed> {
    let p = &params;
    let packed = Tensor::cat(&[&p.key, &p.beta, &p.gate, &p.shift, &p.gamma], 1)?; // [B, M + S + 3]
    Ok(run(&packed, memory, previous, shifts, false)?.1)
}

/// Addressing from the head's pre-activations: `raw` `[B, M + S + 3]` is the (clipped)
/// projection `[key, beta, gate, shift, gamma]` before the activations of
/// [`crate::heads::Head::params`] (tanh, softplus, sigmoid, softmax, 1 + softplus), which the
/// op applies itself. Returns the activated parameters (views of the op's output, for traces)
/// and the weightings.
pub fn address_raw(
    raw: &Tensor,
    memory: &Tensor,
    previous: &Tensor,
    shifts: &[i64],
) -> Result<(AddressingParams, Addressed)> {
    run(raw, memory, previous, shifts, true)
}

fn run(
    packed: &Tensor,
    memory: &Tensor,
    previous: &Tensor,
    shifts: &[i64],
    activate: bool,
) -> Result<(AddressingParams, Addressed)> {
    let (batch, slots, width) = memory.dims3()?;
    let width_p = packed.dim(1)?;
    let op = FusedAddressing { shifts: shifts.to_vec(), activate };
    let out = packed.contiguous()?.apply_op3(&memory.contiguous()?, &previous.contiguous()?, op)?;
    // out: [SLOTS * B * N + B * P], see SLOTS
    let slot = |s: usize| out.narrow(0, s * batch * slots, batch * slots)?.reshape((batch, slots));
    let addressed = Addressed { weighting: slot(SLOT_WEIGHTING)?, content: slot(SLOT_CONTENT)? };
    let params = out.narrow(0, SLOTS * batch * slots, batch * width_p)?.reshape((batch, width_p))?;
    let s = shifts.len();
    let params = AddressingParams {
        key: params.narrow(1, 0, width)?,
        beta: params.narrow(1, width, 1)?,
        gate: params.narrow(1, width + 1, 1)?,
        shift: params.narrow(1, width + 2, s)?,
        gamma: params.narrow(1, width + 2 + s, 1)?,
    };
    Ok((params, addressed))
}

/// The op; `shifts` are the allowed offsets (+1 moves attention from slot i to i + 1);
/// `activate`: the first input holds pre-activations (see [`address_raw`]).
struct FusedAddressing {
    shifts: Vec<i64>,
    activate: bool,
}

/// The op's output is flat: `SLOTS` slots of `[B, N]` (the two results, then the saved
/// intermediates), then the activated parameters `[B, P]`.
const SLOTS: usize = 6;
const SLOT_WEIGHTING: usize = 0;
const SLOT_CONTENT: usize = 1;
const SLOT_COSINE: usize = 2;
const SLOT_ROW_NORM: usize = 3;
const SLOT_GATED: usize = 4;
const SLOT_SHIFTED: usize = 5;

#[derive(Clone, Copy)]
struct Dims {
    batch: usize,
    slots: usize,
    width: usize,
}

/// Everything the forward computes for one batch row.
struct Row<T> {
    key_norm: T,
    row_norm: Vec<T>,
    cosine: Vec<T>,
    content: Vec<T>,
    gated: Vec<T>,
    shifted: Vec<T>,
    weighting: Vec<T>,
}

/// Softmax of `z` in place (maximum subtracted).
fn softmax<T: Real>(z: &mut [T]) {
    let max = z
        .iter()
        .copied()
        .fold(z[0], |m, x| if x > m { x } else { m });
    let mut sum = T::from_f64(0.0);
    for v in z.iter_mut() {
        *v = (*v - max).exp();
        sum += *v;
    }
    for v in z.iter_mut() {
        *v /= sum;
    }
}

/// The dot product of `a` and `b` (equal lengths), with eight independent partial sums so
/// the compiler can vectorise it.
fn dot<T: Real>(a: &[T], b: &[T]) -> T {
    let zero = T::from_f64(0.0);
    let mut partial = [zero; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail = ca.remainder().iter().zip(cb.remainder()).fold(zero, |s, (&x, &y)| s + x * y);
    for (x, y) in ca.zip(cb) {
        for k in 0..8 {
            partial[k] += x[k] * y[k];
        }
    }
    partial.iter().fold(tail, |s, &p| s + p)
}

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

impl FusedAddressing {
    fn dims(&self, params: &Layout, memory: &Layout, previous: &Layout) -> Result<Dims> {
        let (batch, slots, width) = memory.shape().dims3()?;
        let fits = params.shape().dims() == [batch, width + self.shifts.len() + 3]
            && previous.shape().dims() == [batch, slots];
        if !fits {
            candle_core::bail!(
                "fused addressing: shapes params {:?}, memory {:?}, previous {:?} do not fit",
                params.shape(),
                memory.shape(),
                previous.shape()
            );
        }
        if let Some(o) = self.shifts.iter().find(|o| o.unsigned_abs() as usize >= slots) {
            candle_core::bail!("fused addressing: shift {o} must be within +-{}", slots - 1);
        }
        Ok(Dims {
            batch,
            slots,
            width,
        })
    }

    /// A batch row's activated parameters `[key, beta, gate, shift, gamma]` from the op's
    /// input `p` (pre-activations if `self.activate`, else already activated). As in
    /// [`crate::heads::Head::params`]: tanh, softplus, sigmoid, softmax, 1 + softplus.
    fn activated<T: Real>(&self, p: &[T], m: usize) -> Vec<T> {
        let mut act = p.to_vec();
        if !self.activate {
            return act;
        }
        let s = self.shifts.len();
        let one = T::from_f64(1.0);
        // ln(1 + e^x) = max(x, 0) + ln(1 + e^-|x|)
        let softplus = |x: T| {
            let relu = if x > T::from_f64(0.0) { x } else { T::from_f64(0.0) };
            let abs = if x < T::from_f64(0.0) { -x } else { x };
            relu + (one + (-abs).exp()).ln()
        };
        for k in act[..m].iter_mut() {
            *k = k.tanh();
        }
        act[m] = softplus(act[m]);
        act[m + 1] = one / (one + (-act[m + 1]).exp());
        softmax(&mut act[m + 2..m + 2 + s]);
        act[m + 2 + s] = one + softplus(act[m + 2 + s]);
        act
    }

    /// Turns `dp`, the gradient of the activated parameters, into that of the
    /// pre-activations `raw`, for every batch row (`act`: the activated values).
    fn activation_backward<T: Real>(&self, raw: &[T], act: &[T], dp: &mut [T], m: usize) {
        let s = self.shifts.len();
        let pw = m + s + 3;
        let one = T::from_f64(1.0);
        let sigmoid = |x: T| one / (one + (-x).exp()); // softplus'
        for ((raw, act), dp) in raw.chunks(pw).zip(act.chunks(pw)).zip(dp.chunks_mut(pw)) {
            for c in 0..m {
                dp[c] *= one - act[c] * act[c];
            }
            dp[m] *= sigmoid(raw[m]);
            dp[m + 1] *= act[m + 1] * (one - act[m + 1]);
            let (shift, dshift) = (&act[m + 2..m + 2 + s], &mut dp[m + 2..m + 2 + s]);
            let inner = shift.iter().zip(dshift.iter()).fold(T::from_f64(0.0), |a, (&w, &g)| a + w * g);
            for (g, &w) in dshift.iter_mut().zip(shift) {
                *g = w * (*g - inner);
            }
            dp[m + 2 + s] *= sigmoid(raw[m + 2 + s]);
        }
    }

    /// The forward pass of batch row `b`.
    fn row<T: Real>(&self, p: &[T], mem: &[T], prev: &[T], d: Dims) -> Row<T> {
        let Dims {
            slots: n, width: m, ..
        } = d;
        let s = self.shifts.len();
        let (key, beta, gate) = (&p[..m], p[m], p[m + 1]);
        let (shift, gamma) = (&p[m + 2..m + 2 + s], p[m + 2 + s]);
        let eps = |e: f64| T::from_f64(e);
        let key_norm = (dot(key, key) + eps(NORM_EPSILON)).sqrt();
        let mut row_norm = Vec::with_capacity(n);
        let mut cosine = Vec::with_capacity(n);
        for i in 0..n {
            let r = &mem[i * m..(i + 1) * m];
            let norm = (dot(r, r) + eps(NORM_EPSILON)).sqrt();
            row_norm.push(norm);
            cosine.push(dot(r, key) / (norm * key_norm + eps(COSINE_EPSILON)));
        }
        let mut content: Vec<T> = cosine.iter().map(|&k| beta * k).collect();
        softmax(&mut content);
        let gated: Vec<T> = (0..n)
            .map(|i| prev[i] + gate * (content[i] - prev[i]))
            .collect();
        let shifted: Vec<T> = (0..n)
            .map(|i| {
                let terms = self.shifts.iter().zip(shift);
                terms.fold(eps(0.0), |a, (&o, &sk)| a + sk * gated[source(i, o, n)])
            })
            .collect();
        let mut weighting: Vec<T> = shifted
            .iter()
            .map(|&w| gamma * (w + eps(SHARPEN_EPSILON)).ln())
            .collect();
        softmax(&mut weighting);
        Row {
            key_norm,
            row_norm,
            cosine,
            content,
            gated,
            shifted,
            weighting,
        }
    }

    fn forward<T: Real>(&self, p: &[T], mem: &[T], prev: &[T], d: Dims) -> Vec<T> {
        let Dims {
            batch,
            slots: n,
            width: m,
        } = d;
        let pw = m + self.shifts.len() + 3;
        let mut out = vec![T::from_f64(0.0); SLOTS * batch * n + batch * pw];
        for b in 0..batch {
            let act = self.activated(&p[b * pw..][..pw], m);
            let row = self.row(&act, &mem[b * n * m..][..n * m], &prev[b * n..][..n], d);
            out[SLOTS * batch * n + b * pw..][..pw].copy_from_slice(&act);
            let slots = [
                (SLOT_WEIGHTING, &row.weighting),
                (SLOT_CONTENT, &row.content),
                (SLOT_COSINE, &row.cosine),
                (SLOT_ROW_NORM, &row.row_norm),
                (SLOT_GATED, &row.gated),
                (SLOT_SHIFTED, &row.shifted),
            ];
            for (slot, values) in slots {
                out[(slot * batch + b) * n..][..n].copy_from_slice(values);
            }
        }
        out
    }

    /// Gradients of params `[B, P]`, memory `[B, N, M]` and previous `[B, N]` from the
    /// forward's output `saved` and its gradient `grad` (both `[SLOTS, B, N]`).
    #[allow(clippy::too_many_arguments)]
    fn backward<T: Real>(
        &self,
        p: &[T],
        mem: &[T],
        prev: &[T],
        saved: &[T],
        grad: &[T],
        d: Dims,
    ) -> [Vec<T>; 3] {
        let Dims {
            batch,
            slots: n,
            width: m,
        } = d;
        let s = self.shifts.len();
        let pw = m + s + 3;
        let zero = T::from_f64(0.0);
        let one = T::from_f64(1.0);
        let (mut dp, mut dmem, mut dprev) = (
            vec![zero; batch * pw],
            vec![zero; batch * n * m],
            vec![zero; batch * n],
        );
        for b in 0..batch {
            let pb = &p[b * pw..][..pw];
            let memb = &mem[b * n * m..][..n * m];
            let prevb = &prev[b * n..][..n];
            let (key, beta, gate) = (&pb[..m], pb[m], pb[m + 1]);
            let slot = |s: usize| saved[(s * batch + b) * n..][..n].to_vec();
            let key_norm = dot(key, key) + T::from_f64(NORM_EPSILON);
            let r = Row {
                key_norm: key_norm.sqrt(),
                row_norm: slot(SLOT_ROW_NORM),
                cosine: slot(SLOT_COSINE),
                content: slot(SLOT_CONTENT),
                gated: slot(SLOT_GATED),
                shifted: slot(SLOT_SHIFTED),
                weighting: slot(SLOT_WEIGHTING),
            };
            let (shift, gamma) = (&pb[m + 2..m + 2 + s], pb[m + 2 + s]);
            let dw = &grad[(SLOT_WEIGHTING * batch + b) * n..][..n];
            let dwc_out = &grad[(SLOT_CONTENT * batch + b) * n..][..n];
            let dpb = &mut dp[b * pw..][..pw];

            // sharpen
            let inner = r
                .weighting
                .iter()
                .zip(dw)
                .fold(zero, |a, (&w, &g)| a + w * g);
            let dl: Vec<T> = (0..n).map(|i| r.weighting[i] * (dw[i] - inner)).collect();
            let mut dgamma = zero;
            let mut dws = vec![zero; n];
            for i in 0..n {
                let ws = r.shifted[i] + T::from_f64(SHARPEN_EPSILON);
                dgamma += dl[i] * ws.ln();
                dws[i] = dl[i] * gamma / ws;
            }
            dpb[m + 2 + s] = dgamma;
            // shift
            let mut dwg = vec![zero; n];
            for (k, &o) in self.shifts.iter().enumerate() {
                let mut dsk = zero;
                for (i, &d) in dws.iter().enumerate() {
                    let j = source(i, o, n);
                    dsk += d * r.gated[j];
                    dwg[j] += shift[k] * d;
                }
                dpb[m + 2 + k] = dsk;
            }
            // interpolate
            let mut dgate = zero;
            let mut dwc = vec![zero; n];
            for i in 0..n {
                dgate += dwg[i] * (r.content[i] - prevb[i]);
                dwc[i] = gate * dwg[i] + dwc_out[i];
                dprev[b * n + i] = (one - gate) * dwg[i];
            }
            dpb[m + 1] = dgate;
            // content softmax
            let inner = r
                .content
                .iter()
                .zip(&dwc)
                .fold(zero, |a, (&w, &g)| a + w * g);
            let mut dbeta = zero;
            let mut dkey_norm = zero;
            let dkey = &mut dpb[..m];
            for i in 0..n {
                let dz = r.content[i] * (dwc[i] - inner);
                dbeta += dz * r.cosine[i];
                let dk = beta * dz;
                // cosine
                let den = r.row_norm[i] * r.key_norm + T::from_f64(COSINE_EPSILON);
                let ddot = dk / den;
                let dden = -dk * r.cosine[i] / den;
                dkey_norm += dden * r.row_norm[i];
                // d|M_i| = dden kn, and d|M_i| / dM_i = M_i / |M_i|
                let row_scale = dden * r.key_norm / r.row_norm[i];
                let row = &memb[i * m..(i + 1) * m];
                let dmem_row = &mut dmem[(b * n + i) * m..][..m];
                for c in 0..m {
                    dmem_row[c] = ddot * key[c] + row_scale * row[c];
                    dkey[c] += ddot * row[c];
                }
            }
            for c in 0..m {
                dkey[c] += dkey_norm * key[c] / r.key_norm;
            }
            dpb[m] = dbeta;
        }
        [dp, dmem, dprev]
    }

    fn bwd_typed<T: Real>(
        &self,
        params: &Tensor,
        memory: &Tensor,
        previous: &Tensor,
        saved: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let d = self.dims(params.layout(), memory.layout(), previous.layout())?;
        let (raw, mem, prev) = (host::<T>(params)?, host::<T>(memory)?, host::<T>(previous)?);
        let (saved, g) = (host::<T>(saved)?, host::<T>(grad)?);
        let tail = SLOTS * d.batch * d.slots;
        let act = &saved[tail..];
        let [mut dp, dmem, dprev] = self.backward(act, &mem, &prev, &saved, &g, d);
        // Gradient reaching the activated-parameter views.
        for (dp, g) in dp.iter_mut().zip(&g[tail..]) {
            *dp += *g;
        }
        if self.activate {
            self.activation_backward(&raw, act, &mut dp, d.width);
        }
        gradients3([dp, dmem, dprev], [params, memory, previous])
    }
}

impl CustomOp3 for FusedAddressing {
    fn name(&self) -> &'static str {
        "fused-addressing"
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
        let d = self.dims(l1, l2, l3)?;
        let width_p = d.width + self.shifts.len() + 3;
        let shape = Shape::from(SLOTS * d.batch * d.slots + d.batch * width_p);
        let storage = match s1.dtype() {
            DType::F32 => f32::to_cpu_storage_owned(self.forward::<f32>(
                slice(s1, l1)?,
                slice(s2, l2)?,
                slice(s3, l3)?,
                d,
            )),
            DType::F64 => f64::to_cpu_storage_owned(self.forward::<f64>(
                slice(s1, l1)?,
                slice(s2, l2)?,
                slice(s3, l3)?,
                d,
            )),
            dtype => candle_core::bail!("fused addressing: unsupported dtype {dtype:?}"),
        };
        Ok((storage, shape))
    }

    fn bwd(
        &self,
        params: &Tensor,
        memory: &Tensor,
        previous: &Tensor,
        saved: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        match params.dtype() {
            DType::F32 => self.bwd_typed::<f32>(params, memory, previous, saved, grad),
            DType::F64 => self.bwd_typed::<f64>(params, memory, previous, saved, grad),
            dtype => candle_core::bail!("fused addressing: unsupported dtype {dtype:?}"),
        }
    }
}
