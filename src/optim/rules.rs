//! The update rules: RMSProp with momentum and Adam.
//!
//! RMSProp with momentum is the paper's optimiser (section 4; candle-nn has none), Adam is
//! Collier & Beel's (2018). Both keep their state as two buffers per parameter, in the order of
//! the parameters given, so checkpoints can save and restore it exactly.
//!
//! Each update is one pass over a parameter's CPU buffers (f32 or f64): a plain loop reads the
//! gradient and writes the state and the weights in place, instead of the ~8 candle operations
//! (each a new tensor) that the same formula costs when composed. The arithmetic is the
//! composed formula's, operation for operation in the parameter's float type, so the results
//! are the same bit for bit (`tests/optim.rs` checks this against candle operations).

use std::cell::{OnceCell, RefCell};

use candle_core::backend::BackendStorage;
use candle_core::{bail, CpuStorage, Device, InplaceOp2, Layout, Result, Shape, Tensor, Var, WithDType};
use serde::{Deserialize, Serialize};

use crate::base::cpu::{by_dtype, read, slice, slice_mut, Float};

/// Which update rule to use, with its constants.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OptimizerKind {
    /// v = a v + (1 - a) g^2; u = mu u + g / (sqrt(v) + eps); w -= lr u
    /// (a = 0.95, mu = 0.9, eps = 1e-8 by default: PyTorch's RMSprop as the reference NTM uses
    /// it).
    Rmsprop,
    /// Adam (Kingma & Ba) with b1 = 0.9, b2 = 0.999, eps = 1e-8 by default.
    Adam,
}

const RMSPROP_DECAY: f64 = 0.95;
const ADAM_BETA2: f64 = 0.999;
/// The default momentum of both rules (`train.momentum`): RMSProp's mu (the paper's 0.9) and
/// Adam's b1 (Kingma & Ba's 0.9), each the decay of a running sum of past updates.
pub const DEFAULT_MOMENTUM: f64 = 0.9;
/// The default eps of both rules' denominators (`train.epsilon`).
pub const DEFAULT_EPSILON: f64 = 1e-8;

/// An optimiser over a fixed, ordered list of parameters (f32 or f64, on the CPU).
pub struct Optimizer {
    kind: OptimizerKind,
    vars: Vec<Var>,
    /// Two state buffers per parameter, each shaped like it: RMSProp (mean square, momentum
    /// buffer), Adam (m, v). Private, so the update can write them in place.
    slots: Vec<[CpuStorage; 2]>,
    /// `slots` as tensors, made when `state` asks and dropped by the next update.
    snapshot: OnceCell<Vec<[Tensor; 2]>>,
    lr: f64,
    /// The eps of the update's denominator sqrt(v) + eps.
    epsilon: f64,
    /// RMSProp's mu, or Adam's b1.
    momentum: f64,
    /// Decoupled weight decay: every update first scales the weights by 1 - lr * decay.
    weight_decay: f64,
    /// Updates applied so far (Adam's bias correction needs it).
    steps: u64,
}

impl Optimizer {
    /// A new optimiser with zero state.
    pub fn new(kind: OptimizerKind, vars: Vec<Var>, lr: f64) -> Result<Self> {
        let slots =
            vars.iter().map(|v| Ok([buffer(&v.zeros_like()?)?, buffer(&v.zeros_like()?)?])).collect::<Result<_>>()?;
        let (epsilon, momentum, weight_decay) = (DEFAULT_EPSILON, DEFAULT_MOMENTUM, 0.0);
        Ok(Self { kind, vars, slots, snapshot: OnceCell::new(), lr, epsilon, momentum, weight_decay, steps: 0 })
    }

    /// The same with `epsilon` in the update's denominator sqrt(v) + eps. A larger one bounds
    /// the step g / (sqrt(v) + eps) once the gradients, and so v, have become tiny.
    pub fn with_epsilon(mut self, epsilon: f64) -> Self {
        self.epsilon = epsilon;
        self
    }

    /// The same with `momentum` as RMSProp's mu (u = mu u + g / (sqrt(v) + eps)) or Adam's b1
    /// (m = b1 m + (1 - b1) g): how much of the past updates each update carries on; 0 updates
    /// from this batch's gradient alone.
    pub fn with_momentum(mut self, momentum: f64) -> Self {
        self.momentum = momentum;
        self
    }

    /// The same with decoupled weight decay (Loshchilov & Hutter's AdamW, as PyTorch's AdamW): each
    /// update first scales every weight by 1 - lr * `weight_decay`, then applies the rule, so
    /// the decay does not pass through RMSProp's or Adam's normalisation. 0 (the default)
    /// leaves the weights to the rule alone.
    pub fn with_weight_decay(mut self, weight_decay: f64) -> Self {
        self.weight_decay = weight_decay;
        self
    }

    /// Sets the learning rate for the next updates.
    pub fn set_lr(&mut self, lr: f64) {
        self.lr = lr;
    }

    /// Updates applied so far.
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// The state tensors, two per parameter in parameter order, and the step count. The tensors
    /// are a copy of the state as it is now (the first call after an update makes it).
    pub fn state(&self) -> (&[[Tensor; 2]], u64) {
        let tensors = self.snapshot.get_or_init(|| {
            self.slots.iter().zip(&self.vars).map(|([a, b], v)| [tensor(a, v.shape()), tensor(b, v.shape())]).collect()
        });
        (tensors, self.steps)
    }

    /// Replaces the state (from a checkpoint); shapes and dtypes must match the parameters.
    pub fn set_state(&mut self, state: Vec<[Tensor; 2]>, steps: u64) -> Result<()> {
        if state.len() != self.vars.len() {
            bail!("optimiser state has {} entries for {} parameters", state.len(), self.vars.len());
        }
        for (s, v) in state.iter().zip(&self.vars) {
            for t in s {
                if t.dims() != v.dims() {
                    bail!("optimiser state of shape {:?} for a parameter of shape {:?}", t.dims(), v.dims());
                }
                if t.dtype() != v.dtype() {
                    bail!("optimiser state of dtype {:?} for a parameter of dtype {:?}", t.dtype(), v.dtype());
                }
            }
        }
        self.slots = state.iter().map(|[a, b]| Ok([buffer(a)?, buffer(b)?])).collect::<Result<_>>()?;
        self.snapshot = OnceCell::new();
        self.steps = steps;
        Ok(())
    }

    /// Applies one update with `grads[i]` the gradient of parameter i (None: no gradient).
    pub fn step(&mut self, grads: &[Option<Tensor>]) -> Result<()> {
        if grads.len() != self.vars.len() {
            bail!("{} gradients for {} parameters", grads.len(), self.vars.len());
        }
        self.snapshot.take();
        self.steps += 1;
        let rule = match self.kind {
            OptimizerKind::Rmsprop => Rule::Rmsprop { lr: self.lr, eps: self.epsilon, mu: self.momentum },
            OptimizerKind::Adam => {
                let (t, b1) = (self.steps as i32, self.momentum);
                // m_hat = m / (1 - b1^t) as a multiplication, the way candle divides by a scalar.
                let m_scale = 1.0 / (1.0 - b1.powi(t));
                let v_scale = 1.0 / (1.0 - ADAM_BETA2.powi(t));
                Rule::Adam { lr: self.lr, eps: self.epsilon, b1, m_scale, v_scale }
            }
        };
        let shrink = 1.0 - self.lr * self.weight_decay;
        for ((var, slots), grad) in self.vars.iter().zip(&mut self.slots).zip(grads) {
            let Some(g) = grad else { continue };
            if g.dims() != var.dims() {
                bail!("a gradient of shape {:?} for a parameter of shape {:?}", g.dims(), var.dims());
            }
            var.inplace_op2(&g.contiguous()?, &Update { rule, shrink, slots: RefCell::new(slots) })?;
        }
        Ok(())
    }
}

/// An update rule with the constants of this step.
#[derive(Debug, Clone, Copy)]
enum Rule {
    /// `mu`: the momentum.
    Rmsprop { lr: f64, eps: f64, mu: f64 },
    /// `b1`: the first moment's decay; `m_scale`, `v_scale`: Adam's bias corrections
    /// 1 / (1 - b^t) for step t.
    Adam { lr: f64, eps: f64, b1: f64, m_scale: f64, v_scale: f64 },
}

/// RMSProp with momentum on one parameter, elementwise, as PyTorch's
/// `RMSprop(alpha=0.95, momentum=mu, eps=eps)` computes it:
///   v = a v + (1 - a) g^2;   u = mu u + g / (sqrt(v) + eps);   w = w - lr u
fn rmsprop<T: Float>(lr: f64, eps: f64, mu: f64, w: &mut [T], g: &[T], square: &mut [T], momentum: &mut [T]) {
    let (a, one_minus_a) = (T::from_f64(RMSPROP_DECAY), T::from_f64(1.0 - RMSPROP_DECAY));
    let (mu, eps, lr) = (T::from_f64(mu), T::from_f64(eps), T::from_f64(lr));
    for (((w, &g), v), u) in w.iter_mut().zip(g).zip(square).zip(momentum) {
        *v = *v * a + g * g * one_minus_a;
        *u = *u * mu + g / (v.sqrt() + eps);
        *w -= *u * lr;
    }
}

/// Adam on one parameter, elementwise (Kingma & Ba 2015, algorithm 1):
///   m = b1 m + (1 - b1) g;   v = b2 v + (1 - b2) g^2;
///   w = w - lr m_hat / (sqrt(v_hat) + eps),   m_hat = m m_scale,   v_hat = v v_scale,
/// with `m_scale` = 1 / (1 - b1^t) and `v_scale` = 1 / (1 - b2^t) at step t.
#[allow(clippy::too_many_arguments)]
fn adam<T: Float>(
    (lr, eps, b1): (f64, f64, f64),
    (m_scale, v_scale): (f64, f64),
    w: &mut [T],
    g: &[T],
    m: &mut [T],
    v: &mut [T],
) {
    let (lr, m_scale, v_scale) = (T::from_f64(lr), T::from_f64(m_scale), T::from_f64(v_scale));
    let (b1, one_minus_b1) = (T::from_f64(b1), T::from_f64(1.0 - b1));
    let (b2, one_minus_b2) = (T::from_f64(ADAM_BETA2), T::from_f64(1.0 - ADAM_BETA2));
    let eps = T::from_f64(eps);
    for (((w, &g), m), v) in w.iter_mut().zip(g).zip(m).zip(v) {
        *m = *m * b1 + g * one_minus_b1;
        *v = *v * b2 + g * g * one_minus_b2;
        let (m_hat, v_hat) = (*m * m_scale, *v * v_scale);
        *w -= m_hat / (v_hat.sqrt() + eps) * lr;
    }
}

/// One parameter's update as a candle in-place operation on its weights, reading the gradient
/// and writing the parameter's two state buffers. Candle takes the locks and refuses a
/// gradient that shares the weights' storage.
struct Update<'a> {
    rule: Rule,
    /// The weights are first multiplied by this (1 - lr * weight decay; 1: left alone).
    shrink: f64,
    slots: RefCell<&'a mut [CpuStorage; 2]>,
}

impl Update<'_> {
    fn run<T: Float>(&self, w: &mut CpuStorage, w_l: &Layout, g: &CpuStorage, g_l: &Layout) -> Result<()> {
        let w = slice_mut::<T>(w, w_l)?;
        let g = slice::<T>(g, g_l)?;
        let mut slots = self.slots.borrow_mut();
        let [a, b] = &mut **slots;
        let (a, b) = (T::slice_mut(a)?, T::slice_mut(b)?);
        if [g.len(), a.len(), b.len()] != [w.len(); 3] {
            bail!("optimiser: {} weights, {} gradients, state {} and {}", w.len(), g.len(), a.len(), b.len());
        }
        if self.shrink != 1.0 {
            let shrink = T::from_f64(self.shrink);
            w.iter_mut().for_each(|w| *w *= shrink);
        }
        match self.rule {
            Rule::Rmsprop { lr, eps, mu } => rmsprop(lr, eps, mu, w, g, a, b),
            Rule::Adam { lr, eps, b1, m_scale, v_scale } => adam((lr, eps, b1), (m_scale, v_scale), w, g, a, b),
        }
        Ok(())
    }
}

impl InplaceOp2 for Update<'_> {
    fn name(&self) -> &'static str {
        "optimizer-update"
    }

    fn cpu_fwd(&self, w: &mut CpuStorage, w_l: &Layout, g: &CpuStorage, g_l: &Layout) -> Result<()> {
        by_dtype!(w.dtype(), "optimiser", T => self.run::<T>(w, w_l, g, g_l))
    }
}

/// A copy of the data of CPU tensor `t` (f32 or f64) as a buffer of its own.
fn buffer(t: &Tensor) -> Result<CpuStorage> {
    by_dtype!(t.dtype(), "optimiser", T => read(t, |d: &[T]| T::to_cpu_storage_owned(d.to_vec())))
}

/// A CPU tensor of `shape` holding a copy of `buffer`, made by `Optimizer::new` or `set_state`
/// from a tensor of that shape and so of the right size.
fn tensor(buffer: &CpuStorage, shape: &Shape) -> Tensor {
    let made = match buffer {
        CpuStorage::F32(d) => Tensor::from_slice(d, shape, &Device::Cpu),
        CpuStorage::F64(d) => Tensor::from_slice(d, shape, &Device::Cpu),
        _ => unreachable!("`buffer` makes f32 and f64 buffers only"),
    };
    made.expect("an optimiser buffer has its parameter's size")
}

#[cfg(test)]
mod tests {
    //! Two steps of each optimiser on a 4-element parameter, in f32 and f64, against numbers
    //! from a plain f64 computation of the formulas (the Python below). Step 1's gradient is
    //! clipped by value (-20 to -10) and then by norm (10.44 to 5), step 2's is not. By hand:
    //! step 1 moves each weight with a nonzero gradient against its sign by lr / sqrt(1 - a)
    //! = 0.0447 (RMSProp: u = g / |g| sqrt(0.05)) or by lr = 0.01 (Adam: m_hat / sqrt(v_hat)
    //! = g / |g|), and leaves the weight whose gradient is 0 where it is.
    //!
    //! ```python
    //! def clip(g, value=10.0, norm_max=5.0):
    //!     g = [min(max(x, -value), value) for x in g]
    //!     norm = sum(x * x for x in g) ** 0.5
    //!     return ([x * norm_max / norm for x in g] if norm > norm_max else g), norm
    //!
    //! def rmsprop(w, grads, lr=0.01, a=0.95, mu=0.9, eps=1e-8):
    //!     v = [0.0] * len(w); u = [0.0] * len(w)
    //!     for g in grads:
    //!         g, _ = clip(g)
    //!         v = [a * vi + (1 - a) * gi * gi for vi, gi in zip(v, g)]
    //!         u = [mu * ui + gi / (vi ** 0.5 + eps) for ui, gi, vi in zip(u, g, v)]
    //!         w = [wi - lr * ui for wi, ui in zip(w, u)]
    //!     return w, v, u
    //!
    //! def adam(w, grads, lr=0.01, b1=0.9, b2=0.999, eps=1e-8):
    //!     m = [0.0] * len(w); v = [0.0] * len(w)
    //!     for t, g in enumerate(grads, 1):
    //!         g, _ = clip(g)
    //!         m = [b1 * mi + (1 - b1) * gi for mi, gi in zip(m, g)]
    //!         v = [b2 * vi + (1 - b2) * gi * gi for vi, gi in zip(v, g)]
    //!         w = [wi - lr * (mi / (1 - b1 ** t)) / ((vi / (1 - b2 ** t)) ** 0.5 + eps)
    //!              for wi, mi, vi in zip(w, m, v)]
    //!     return w, m, v
    //!
    //! W, G = [1.0, -0.5, 2.0, 0.25], [[0.1, -20.0, 0.0, 3.0], [0.3, 0.1, -0.4, -3.0]]
    //! print(rmsprop(W, G), adam(W, G))
    //! ```

    use super::*;
    use crate::optim::clip::clipped_gradients;
    use candle_core::DType;

    const W0: [f64; 4] = [1.0, -0.5, 2.0, 0.25];
    const GRADIENTS: [[f64; 4]; 2] = [[0.1, -20.0, 0.0, 3.0], [0.3, 0.1, -0.4, -3.0]];
    /// The gradient norms after value clipping: sqrt(0.1^2 + 10^2 + 3^2), sqrt(0.3^2 + ...).
    const NORMS: [f64; 2] = [10.440785411069418, 3.0430248109405875];
    const LR: f64 = 0.01;
    const STEP1_RMSPROP: [f64; 4] = [0.9552786822131069, -0.45527864086763564, 2.0, 0.2052786418421089];
    const STEP1_ADAM: [f64; 4] = [0.9900000020881566, -0.49000000002088157, 2.0, 0.24000000006960523];

    /// The weights after each step, the two state tensors after the last, the gradient norms.
    type TwoSteps = (Vec<Vec<f64>>, [Vec<f64>; 2], Vec<f64>);

    /// The weights after each step of `kind` on W0 in `dtype` (the gradients as GRADIENTS, clipped
    /// at 10 and norm 5), the two state tensors after step 2, and the gradient norms.
    fn two_steps(kind: OptimizerKind, dtype: DType) -> Result<TwoSteps> {
        let values = |t: &Tensor| t.to_dtype(DType::F64)?.to_vec1::<f64>();
        let w = Var::from_tensor(&Tensor::new(&W0, &Device::Cpu)?.to_dtype(dtype)?)?;
        let mut optimizer = Optimizer::new(kind, vec![w.clone()], LR)?;
        let (mut weights, mut norms) = (Vec::new(), Vec::new());
        for g in GRADIENTS {
            // loss = sum(w * g) has the gradient g.
            let g = Tensor::new(&g, &Device::Cpu)?.to_dtype(dtype)?;
            let grads = (w.as_tensor() * g)?.sum_all()?.backward()?;
            let (clipped, norm) = clipped_gradients(std::slice::from_ref(&w), &grads, Some(10.0), Some(5.0))?;
            optimizer.step(&clipped)?;
            weights.push(values(&w)?);
            norms.push(norm);
        }
        let (state, steps) = optimizer.state();
        assert_eq!(steps, 2);
        Ok((weights, [values(&state[0][0])?, values(&state[0][1])?], norms))
    }

    fn assert_close(got: &[f64], want: &[f64], relative: f64, what: &str) {
        for (i, (g, w)) in got.iter().zip(want).enumerate() {
            assert!((g - w).abs() <= relative * w.abs().max(1e-3), "{what}[{i}]: {g} against {w}");
        }
        assert_eq!(got.len(), want.len(), "{what}");
    }

    /// The relative tolerance of each dtype: the update's own rounding, a few ulps.
    const DTYPES: [(DType, f64); 2] = [(DType::F32, 1e-5), (DType::F64, 1e-12)];

    #[test]
    fn rmsprop_matches_the_formula() -> Result<()> {
        for (dtype, tol) in DTYPES {
            let (weights, [square, momentum], norms) = two_steps(OptimizerKind::Rmsprop, dtype)?;
            assert_close(&norms, &NORMS, tol, "norms");
            assert_close(&weights[0], &STEP1_RMSPROP, tol, "step 1");
            let step2 = [0.8708398116917291, -0.4159873100121996, 2.0447213545499965, 0.20555362788369522];
            assert_close(&weights[1], &step2, tol, "step 2");
            let want = [0.004608934960095408, 1.0898496009540417, 0.008000000000000007, 0.5480414640858642];
            assert_close(&square, &want, tol, "mean square");
            let want = [8.443887052137782, -3.929133085543605, -4.472135454999633, -0.027498604158632922];
            assert_close(&momentum, &want, tol, "momentum");
        }
        Ok(())
    }

    #[test]
    fn adam_matches_the_formula() -> Result<()> {
        for (dtype, tol) in DTYPES {
            let (weights, [m, v], norms) = two_steps(OptimizerKind::Adam, dtype)?;
            assert_close(&norms, &NORMS, tol, "norms");
            assert_close(&weights[0], &STEP1_ADAM, tol, "step 1");
            let step2 = [0.9815958499836287, -0.48345631063616545, 2.0074413679726435, 0.2438191663681918];
            assert_close(&weights[1], &step2, tol, "step 2");
            let want = [0.03431002058066345, -0.421002058066346, -0.039999999999999994, -0.17069938258009615];
            assert_close(&m, &want, tol, "m");
            let want = [9.229107421337499e-05, 0.022920742133749217, 0.00016000000000000018, 0.011061966792037439];
            assert_close(&v, &want, tol, "v");
        }
        Ok(())
    }

    #[test]
    fn step_one_moves_by_the_learning_rate_scale() {
        // The hand computation of the module doc, for the Python's step 1.
        let sign = [-1.0, 1.0, 0.0, -1.0];
        for (want, size) in [(STEP1_RMSPROP, LR / (1.0 - RMSPROP_DECAY).sqrt()), (STEP1_ADAM, LR)] {
            let by_hand: Vec<f64> = W0.iter().zip(sign).map(|(w, s)| w + s * size).collect();
            assert_close(&by_hand, &want, 1e-6, "step 1 by hand");
        }
    }

    #[test]
    fn clipping_keeps_nan_and_skips_parameters_without_gradient() -> Result<()> {
        let (a, unused) = (Var::new(&[1f32, 2.0, 3.0], &Device::Cpu)?, Var::new(&[4f32], &Device::Cpu)?);
        let g = Tensor::new(&[f32::NAN, 100.0, -0.5], &Device::Cpu)?;
        let grads = (a.as_tensor() * g)?.sum_all()?.backward()?;
        let (clipped, norm) = clipped_gradients(&[a, unused], &grads, Some(10.0), Some(5.0))?;
        assert!(norm.is_nan(), "a NaN gradient gives a NaN norm, which the trainer reports");
        assert!(clipped[1].is_none());
        // Clipped by value; not scaled, since NaN > 5 is false.
        let g = clipped[0].as_ref().unwrap().to_vec1::<f32>()?;
        assert!(g[0].is_nan());
        assert_eq!(&g[1..], &[10.0, -0.5]);
        Ok(())
    }

    #[test]
    fn state_restores_exactly() -> Result<()> {
        for kind in [OptimizerKind::Rmsprop, OptimizerKind::Adam] {
            let (a, b) = (Var::new(&W0, &Device::Cpu)?, Var::new(&W0, &Device::Cpu)?);
            let mut first = Optimizer::new(kind, vec![a.clone()], LR)?;
            let g = |i: usize| Tensor::new(&GRADIENTS[i], &Device::Cpu).map(Some);
            first.step(&[g(0)?])?;
            b.set(a.as_tensor())?;
            let mut second = Optimizer::new(kind, vec![b.clone()], LR)?;
            let (state, steps) = first.state();
            second.set_state(state.to_vec(), steps)?;
            first.step(&[g(1)?])?;
            second.step(&[g(1)?])?;
            assert_eq!(a.to_vec1::<f64>()?, b.to_vec1::<f64>()?);
            let zeros = |dtype| Tensor::zeros(4, dtype, &Device::Cpu);
            let wrong = vec![[zeros(DType::F32)?, zeros(DType::F64)?]];
            assert!(second.set_state(wrong, 1).is_err(), "an f32 state for an f64 parameter");
        }
        Ok(())
    }

    /// One RMSProp step on w = 1 with gradient 2 (lr 0.01): v = 0.05 * 4 = 0.2, and
    /// u = 2 / (sqrt(0.2) + eps), so w = 1 - 0.01 u: 0.9552786... at eps = 1e-8 and
    /// 0.9861803... at eps = 1 (the step bounded by the larger eps).
    #[test]
    fn epsilon_enters_the_denominator() -> Result<()> {
        let one_step = |eps: Option<f64>| -> Result<f64> {
            let w = Var::from_tensor(&Tensor::new(&[1.0f64], &Device::Cpu)?)?;
            let mut optimizer = Optimizer::new(OptimizerKind::Rmsprop, vec![w.clone()], LR)?;
            if let Some(eps) = eps {
                optimizer = optimizer.with_epsilon(eps);
            }
            optimizer.step(&[Some(Tensor::new(&[2.0f64], &Device::Cpu)?)])?;
            Ok(w.to_vec1::<f64>()?[0])
        };
        let sqrt_v = 0.2f64.sqrt();
        assert!((one_step(None)? - (1.0 - LR * 2.0 / (sqrt_v + 1e-8))).abs() < 1e-15);
        assert!((one_step(Some(1e-8))? - one_step(None)?).abs() == 0.0);
        assert!((one_step(Some(1.0))? - (1.0 - LR * 2.0 / (sqrt_v + 1.0))).abs() < 1e-15);
        Ok(())
    }
}
