//! Optimisers and gradient clipping.
//!
//! RMSProp with momentum is the paper's optimiser (section 4; candle-nn has none), Adam is
//! Collier & Beel's (2018). Both keep their state as one tensor per parameter and slot, in the
//! order of the parameters given, so checkpoints can save and restore it exactly.

use candle_core::backprop::GradStore;
use candle_core::{Result, Tensor, Var};
use serde::{Deserialize, Serialize};

/// Which update rule to use, with its constants.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OptimizerKind {
    /// v = a v + (1 - a) g^2; u = mu u + g / (sqrt(v) + eps); w -= lr u
    /// (a = 0.95, mu = 0.9, eps = 1e-8: PyTorch's RMSprop as the reference NTM uses it).
    Rmsprop,
    /// Adam (Kingma & Ba) with b1 = 0.9, b2 = 0.999, eps = 1e-8.
    Adam,
}

const RMSPROP_DECAY: f64 = 0.95;
const RMSPROP_MOMENTUM: f64 = 0.9;
const ADAM_BETA1: f64 = 0.9;
const ADAM_BETA2: f64 = 0.999;
const EPSILON: f64 = 1e-8;

/// An optimiser over a fixed, ordered list of parameters.
pub struct Optimizer {
    kind: OptimizerKind,
    vars: Vec<Var>,
    /// Two state tensors per parameter: RMSProp (mean square, momentum buffer), Adam (m, v).
    state: Vec<[Tensor; 2]>,
    lr: f64,
    /// Updates applied so far (Adam's bias correction needs it).
    steps: u64,
}

impl Optimizer {
    /// A new optimiser with zero state.
    pub fn new(kind: OptimizerKind, vars: Vec<Var>, lr: f64) -> Result<Self> {
        let state = vars
            .iter()
            .map(|v| Ok([v.zeros_like()?, v.zeros_like()?]))
            .collect::<Result<_>>()?;
        Ok(Self { kind, vars, state, lr, steps: 0 })
    }

    /// Sets the learning rate for the next updates.
    pub fn set_lr(&mut self, lr: f64) {
        self.lr = lr;
    }

    /// Updates applied so far.
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// The state tensors, two per parameter in parameter order, and the step count.
    pub fn state(&self) -> (&[[Tensor; 2]], u64) {
        (&self.state, self.steps)
    }

    /// Replaces the state (from a checkpoint); shapes must match the parameters.
    pub fn set_state(&mut self, state: Vec<[Tensor; 2]>, steps: u64) -> Result<()> {
        if state.len() != self.vars.len() {
            candle_core::bail!("optimiser state has {} entries for {} parameters", state.len(), self.vars.len());
        }
        for (s, v) in state.iter().zip(&self.vars) {
            for t in s {
                if t.dims() != v.dims() {
                    candle_core::bail!("optimiser state of shape {:?} for a parameter of shape {:?}", t.dims(), v.dims());
                }
            }
        }
        self.state = state;
        self.steps = steps;
        Ok(())
    }

    /// Applies one update with `grads[i]` the gradient of parameter i (None: no gradient).
    pub fn step(&mut self, grads: &[Option<Tensor>]) -> Result<()> {
        self.steps += 1;
        let t = self.steps as i32;
        for ((var, state), grad) in self.vars.iter().zip(self.state.iter_mut()).zip(grads) {
            let Some(g) = grad else { continue };
            match self.kind {
                OptimizerKind::Rmsprop => {
                    let [square, momentum] = state;
                    *square = ((&*square * RMSPROP_DECAY)? + (g.sqr()? * (1.0 - RMSPROP_DECAY))?)?;
                    let scaled = (g / (square.sqrt()? + EPSILON)?)?;
                    *momentum = ((&*momentum * RMSPROP_MOMENTUM)? + scaled)?;
                    var.set(&(var.as_tensor() - (&*momentum * self.lr)?)?)?;
                }
                OptimizerKind::Adam => {
                    let [m, v] = state;
                    *m = ((&*m * ADAM_BETA1)? + (g * (1.0 - ADAM_BETA1))?)?;
                    *v = ((&*v * ADAM_BETA2)? + (g.sqr()? * (1.0 - ADAM_BETA2))?)?;
                    let m_hat = (&*m / (1.0 - ADAM_BETA1.powi(t)))?;
                    let v_hat = (&*v / (1.0 - ADAM_BETA2.powi(t)))?;
                    let update = (m_hat / (v_hat.sqrt()? + EPSILON)?)?;
                    var.set(&(var.as_tensor() - (update * self.lr)?)?)?;
                }
            }
        }
        Ok(())
    }
}

/// The gradients of `vars` from `grads`, clipped first elementwise to +-`value_clip` (the
/// paper's (-10, 10)) and then, if their global L2 norm exceeds `norm_clip`, scaled down to it
/// (Collier & Beel's 50). Returns the gradients and their global norm before norm clipping.
pub fn clipped_gradients(
    vars: &[Var],
    grads: &GradStore,
    value_clip: Option<f64>,
    norm_clip: Option<f64>,
) -> Result<(Vec<Option<Tensor>>, f64)> {
    let mut clipped: Vec<Option<Tensor>> = vars
        .iter()
        .map(|v| {
            grads
                .get(v.as_tensor())
                // Gradients carry the forward graph; detach them so optimiser state built from
                // them does not keep every past graph alive.
                .map(|g| match value_clip {
                    Some(c) => g.detach().clamp(-c, c),
                    None => Ok(g.detach()),
                })
                .transpose()
        })
        .collect::<Result<_>>()?;
    let mut square_sum = 0.0f64;
    for g in clipped.iter().flatten() {
        square_sum += g.sqr()?.sum_all()?.to_dtype(candle_core::DType::F64)?.to_scalar::<f64>()?;
    }
    let norm = square_sum.sqrt();
    if let Some(max) = norm_clip {
        if norm > max {
            let scale = max / norm;
            for g in clipped.iter_mut().flatten() {
                *g = (&*g * scale)?;
            }
        }
    }
    Ok((clipped, norm))
}
