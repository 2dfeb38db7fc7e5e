//! The Deep Simple Gated Unit baseline, `kind = "dsgu"` (Gao & Glowacka 2016, "Deep Gate
//! Recurrent Neural Network", arXiv:1604.02910, ACML, PMLR v63), stacked like the other
//! baselines ([`crate::models::rnn`]). Per layer and step, x the layer's input, `*` elementwise:
//! ```text
//! x_g   = x W_xh + b_g                                   W_xh [in, H], b_g [H]
//! z_g   = tanh((x_g * h_{t-1}) W_zxh)                    W_zxh [H, H]
//! z_out = sigmoid((z_g * h_{t-1}) W_go)                  W_go [H, H]
//! z     = hard_sigmoid(x W_xz + h_{t-1} W_hz + b_z)      W_xz [in, H], W_hz [H, H], b_z [H]
//! h_t   = (1 - z) * h_{t-1} + z * z_out
//! ```
//! with `hard_sigmoid(a) = clamp(0.2 a + 0.5, 0, 1)`. The structure (which products, which
//! gate, the interpolation) is the paper's equations; the paper names the nonlinearities only
//! generically, so tanh, the logistic sigmoid and the hard sigmoid follow the public Chainer
//! implementation of SGU/DSGU. Biases only where the paper's equations have them (b_g, b_z).
//! With h_0 = 0 (the learned h0's start) `x_g * h` and `z_g * h` vanish at step 1: that is the
//! equations.
//!
//! The weights are kept one tensor each, under the paper's names, so a checkpoint reads as
//! the equations; the fused engine ([`crate::fused::dsgu`]) packs them.

use candle_core::{Result, Tensor};
use candle_nn::ops::sigmoid;

use crate::fused::dsgu::{dsgu_layer, DsguWeights};
use crate::models::rnn::{CellStack, RnnBaselineConfig, StackCell};
use crate::pieces::params::{Init, ParamBuilder};

/// The hard sigmoid, `clamp(0.2 a + 0.5, 0, 1)` (as Chainer's and Keras'): `a` any shape.
pub fn hard_sigmoid(a: &Tensor) -> Result<Tensor> {
    a.affine(0.2, 0.5)?.clamp(0.0, 1.0)
}

/// One DSGU layer: its weights (shapes in the module docs).
#[derive(Debug, Clone)]
pub struct DsguCell {
    weights: DsguWeights,
    inputs: usize,
    hidden: usize,
}

impl DsguCell {
    /// A cell named `name` with `inputs` inputs and `hidden` units, its weights uniform in
    /// +-1/sqrt(hidden) and its biases 0 (as the RNN's and GRU's). Parameters `<name>.xh_weight`
    /// `[in, H]`, `.g_bias` `[H]`, `.zxh_weight`, `.go_weight` `[H, H]`, `.xz_weight` `[in, H]`,
    /// `.hz_weight` `[H, H]`, `.z_bias` `[H]`: W_xh, b_g, W_zxh, W_go, W_xz, W_hz, b_z.
    pub fn new(params: &ParamBuilder, name: &str, inputs: usize, hidden: usize) -> Result<Self> {
        let params = params.pp(name);
        let uniform = Init::Uniform(1.0 / (hidden as f64).sqrt());
        let weights = DsguWeights {
            w_xh: params.get(&[inputs, hidden], "xh_weight", uniform.clone())?,
            b_g: params.get(&[hidden], "g_bias", Init::Constant(0.0))?,
            w_zxh: params.get(&[hidden, hidden], "zxh_weight", uniform.clone())?,
            w_go: params.get(&[hidden, hidden], "go_weight", uniform.clone())?,
            w_xz: params.get(&[inputs, hidden], "xz_weight", uniform.clone())?,
            w_hz: params.get(&[hidden, hidden], "hz_weight", uniform)?,
            b_z: params.get(&[hidden], "z_bias", Init::Constant(0.0))?,
        };
        Ok(Self { weights, inputs, hidden })
    }

    /// Number of units H.
    pub fn hidden(&self) -> usize {
        self.hidden
    }

    /// One step. `x`: `[B, in]`, `h`: `[B, H]` -> the new hidden state `[B, H]`.
    pub fn step(&self, x: &Tensor, h: &Tensor) -> Result<Tensor> {
        let w = &self.weights;
        let x_g = x.matmul(&w.w_xh)?.broadcast_add(&w.b_g)?; // [B, H]
        let z_g = (x_g * h)?.matmul(&w.w_zxh)?.tanh()?; // [B, H]
        let z_out = sigmoid(&(z_g * h)?.matmul(&w.w_go)?)?; // [B, H]
        let a = (x.matmul(&w.w_xz)? + h.matmul(&w.w_hz)?)?.broadcast_add(&w.b_z)?; // [B, H]
        let z = hard_sigmoid(&a)?;
        // (1 - z) h + z z_out = h + z (z_out - h)
        h + (z * (z_out - h)?)?
    }

    /// The whole sequence at once with the fused kernel: `x` `[T, B, in]` from `h0` (`[H]` or
    /// `[B, H]`) -> every hidden state `[T, B, H]`.
    pub fn forward_fused(&self, x: &Tensor, h0: &Tensor) -> Result<Tensor> {
        dsgu_layer(x, &self.weights, h0)
    }

    /// Number of scalars in the weights and biases: 2 in H + 3 H^2 + 2 H.
    pub fn parameter_count(&self) -> usize {
        let h = self.hidden;
        2 * self.inputs * h + 3 * h * h + 2 * h
    }
}

/// The baseline: stacked DSGU layers, each with a learned initial state `h0` `[H]` (starting
/// at 0), whose top layer feeds a dense output layer; its table is the RNN's and GRU's
/// ([`RnnBaselineConfig`]: `size`, `layers`, `engine`).
///
/// Parameters (`dsgu.layer<i>.*`, `output.weight`, `.bias`), for the copy task's 9 inputs and
/// 8 outputs at the default 3 x 256: layer 0 2 * 9 * 256 + 3 * 256^2 + 2 * 256 = 201,728;
/// layers 1, 2 2 * 256^2 + 3 * 256^2 + 2 * 256 = 328,192 each; h0 3 * 256 = 768; output
/// 256 * 8 + 8 = 2,056; total 860,936.
pub type DsguBaseline = CellStack<DsguCell>;

impl CellStack<DsguCell> {
    /// The baseline for `inputs` input and `outputs` output channels.
    pub fn new(config: &RnnBaselineConfig, params: &ParamBuilder, inputs: usize, outputs: usize) -> Result<Self> {
        Self::build("dsgu", config, params, (inputs, outputs), DsguCell::new)
    }
}

impl StackCell for DsguCell {
    fn hidden(&self) -> usize {
        DsguCell::hidden(self)
    }
    fn step(&self, x: &Tensor, h: &Tensor) -> Result<Tensor> {
        DsguCell::step(self, x, h)
    }
    fn forward_fused(&self, x: &Tensor, h0: &Tensor) -> Result<Tensor> {
        DsguCell::forward_fused(self, x, h0)
    }
    fn parameter_count(&self) -> usize {
        DsguCell::parameter_count(self)
    }
}
