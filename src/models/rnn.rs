//! The plain recurrent baselines, stacked like the LSTM baseline ([`crate::models::lstm`]):
//! `kind = "rnn"`, the Elman network, and `kind = "gru"`, the gated recurrent unit of Cho et
//! al. (2014, arXiv:1406.1078):
//! ```text
//! rnn:  h' = tanh([x, h] W + b)                                  W [in + H, H], b [H]
//! gru:  [a_z a_r a_n] = x W_x + b,  [c_z c_r c_n] = h W_h        W = [W_x; W_h] [in + H, 3H]
//!       z = sigmoid(a_z + c_z)   r = sigmoid(a_r + c_r)   n = tanh(a_n + r * c_n)
//!       h' = (1 - z) * n + z * h
//! ```
//! Each layer's cell keeps its weight as one matrix on the concatenation `[x, h]`, rows of
//! the input first, so the fused engine ([`crate::fused::recurrent`]) can split it into the
//! input part (one matmul over the whole sequence) and the recurrent part.

use candle_core::{Result, Tensor, D};
use candle_nn::ops::sigmoid;
use serde::{Deserialize, Serialize};

use crate::base::kinds::Engine;
use crate::models::SequenceModel;
use crate::pieces::params::{Dense, Init, ParamBuilder};

/// A GRU's update gate's bias starts here, so z ~ 0.73 and the cell keeps most of its state
/// early in training, as the LSTM's forget gate bias of 1 does.
const UPDATE_BIAS_INIT: f64 = 1.0;

/// Which recurrent cell a [`RecurrentCell`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CellKind {
    /// The Elman RNN, `h' = tanh([x, h] W + b)`.
    Rnn,
    /// The GRU (Cho et al. 2014), with the reset gate applied *after* the recurrent matrix
    /// product, `n = tanh(a_n + r * (h W_hn))`, not before it as in the paper's
    /// `tanh(a_n + (r * h) W_hn)`. So all three blocks of `h W_h` come from one matrix product
    /// per step that does not wait for r, which is what makes the fused layer one matmul per
    /// step (cuDNN's and PyTorch's GRU make the same choice; Chung et al. 2014 found the two
    /// variants to train alike). z weighs the old state: h' = (1 - z) n + z h.
    Gru,
}

impl CellKind {
    /// The kind's name in experiment files and the prefix of its parameters: `rnn` or `gru`.
    pub fn name(self) -> &'static str {
        match self {
            CellKind::Rnn => "rnn",
            CellKind::Gru => "gru",
        }
    }

    /// Blocks of H columns in the cell's weight.
    pub fn gates(self) -> usize {
        match self {
            CellKind::Rnn => 1,
            CellKind::Gru => 3,
        }
    }

    /// Units of H the fused engine's tape keeps per row and step.
    pub fn tape_slots(self) -> usize {
        match self {
            CellKind::Rnn => 1,
            CellKind::Gru => 5,
        }
    }
}

/// One recurrent layer of kind [`CellKind`].
#[derive(Debug, Clone)]
pub struct RecurrentCell {
    kind: CellKind,
    weight: Tensor, // [in + H, G H]
    bias: Tensor,   // [G H]
    inputs: usize,
    hidden: usize,
}

impl RecurrentCell {
    /// A cell named `name` with `inputs` inputs and `hidden` units, its weights uniform in
    /// +-1/sqrt(hidden) (as the LSTM's) and its bias 0, but a GRU's update gate's at
    /// [`UPDATE_BIAS_INIT`].
    pub fn new(kind: CellKind, params: &ParamBuilder, name: &str, inputs: usize, hidden: usize) -> Result<Self> {
        let params = params.pp(name);
        let width = kind.gates() * hidden;
        let bound = 1.0 / (hidden as f64).sqrt();
        let weight = params.get(&[inputs + hidden, width], "weight", Init::Uniform(bound))?;
        let mut bias = vec![0.0f64; width];
        if kind == CellKind::Gru {
            bias[..hidden].fill(UPDATE_BIAS_INIT);
        }
        let bias = params.get(&[width], "bias", Init::Values(bias))?;
        Ok(Self { kind, weight, bias, inputs, hidden })
    }

    /// Number of units H.
    pub fn hidden(&self) -> usize {
        self.hidden
    }

    /// One step. `x`: `[B, in]`, `h`: `[B, H]` -> the new hidden state `[B, H]`.
    pub fn step(&self, x: &Tensor, h: &Tensor) -> Result<Tensor> {
        match self.kind {
            CellKind::Rnn => {
                let xh = Tensor::cat(&[x, h], D::Minus1)?; // [B, in + H]
                xh.matmul(&self.weight)?.broadcast_add(&self.bias)?.tanh()
            }
            CellKind::Gru => {
                let hid = self.hidden;
                let w_x = self.weight.narrow(0, 0, self.inputs)?; // [in, 3H]
                let w_h = self.weight.narrow(0, self.inputs, hid)?; // [H, 3H]
                let a = x.matmul(&w_x)?.broadcast_add(&self.bias)?; // [B, 3H]
                let c = h.matmul(&w_h)?; // [B, 3H]
                let z = sigmoid(&(a.narrow(1, 0, hid)? + c.narrow(1, 0, hid)?)?)?;
                let r = sigmoid(&(a.narrow(1, hid, hid)? + c.narrow(1, hid, hid)?)?)?;
                let n = (a.narrow(1, 2 * hid, hid)? + (r * c.narrow(1, 2 * hid, hid)?)?)?.tanh()?;
                // (1 - z) n + z h = n + z (h - n)
                &n + (z * (h - &n)?)?
            }
        }
    }

    /// The whole sequence at once with the fused kernel: `x` `[T, B, in]` from `h0` (`[H]` or
    /// `[B, H]`) -> every hidden state `[T, B, H]`.
    pub fn forward_fused(&self, x: &Tensor, h0: &Tensor) -> Result<Tensor> {
        match self.kind {
            CellKind::Rnn => crate::fused::recurrent::rnn_layer(x, &self.weight, &self.bias, h0),
            CellKind::Gru => crate::fused::recurrent::gru_layer(x, &self.weight, &self.bias, h0),
        }
    }

    /// Number of scalars in the weight and bias.
    pub fn parameter_count(&self) -> usize {
        (self.inputs + self.hidden) * self.kind.gates() * self.hidden + self.bias.elem_count()
    }
}

/// The `[models.<name>]` table of a stacked RNN, GRU or DSGU baseline (`kind = "rnn"`, `"gru"`,
/// `"dsgu"`, [`crate::models::dsgu`]): the LSTM baseline's fields and defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RnnBaselineConfig {
    /// Units per layer.
    pub size: usize,
    /// Number of stacked layers.
    pub layers: usize,
    /// Implementation: `fused` (default; one custom op per layer and sequence,
    /// [`crate::fused::recurrent`], [`crate::fused::dsgu`]) or `reference` (composed candle
    /// ops per step); same parameters, same function, so checkpoints load in either.
    #[serde(default)]
    pub engine: Engine,
}

impl Default for RnnBaselineConfig {
    fn default() -> Self {
        Self { size: 256, layers: 3, engine: Engine::default() }
    }
}

impl RnnBaselineConfig {
    /// Checks every field; the error names the field, the value and what is allowed.
    pub fn validate(&self) -> std::result::Result<(), String> {
        use crate::base::limits::{check_size, MAX_LAYERS, MAX_UNITS};
        check_size("size", self.size, MAX_UNITS)?;
        check_size("layers", self.layers, MAX_LAYERS)
    }
}

/// A recurrent layer a stacked baseline ([`CellStack`]) is built of: one step on the
/// reference engine, or the whole sequence on the fused one.
pub trait StackCell: Send + Sync {
    /// Number of units H.
    fn hidden(&self) -> usize;
    /// One step. `x`: `[B, in]`, `h`: `[B, H]` -> the new hidden state `[B, H]`.
    fn step(&self, x: &Tensor, h: &Tensor) -> Result<Tensor>;
    /// The whole sequence at once with the fused kernel: `x` `[T, B, in]` from `h0` (`[H]` or
    /// `[B, H]`) -> every hidden state `[T, B, H]`.
    fn forward_fused(&self, x: &Tensor, h0: &Tensor) -> Result<Tensor>;
    /// Number of scalars in the layer's weights and biases.
    fn parameter_count(&self) -> usize;
}

impl StackCell for RecurrentCell {
    fn hidden(&self) -> usize {
        RecurrentCell::hidden(self)
    }
    fn step(&self, x: &Tensor, h: &Tensor) -> Result<Tensor> {
        RecurrentCell::step(self, x, h)
    }
    fn forward_fused(&self, x: &Tensor, h0: &Tensor) -> Result<Tensor> {
        RecurrentCell::forward_fused(self, x, h0)
    }
    fn parameter_count(&self) -> usize {
        RecurrentCell::parameter_count(self)
    }
}

/// A stacked baseline: layers of one cell, each with a learned initial state `h0` `[H]`
/// (starting at 0), whose top layer feeds a dense output layer; the RNN, the GRU
/// ([`RnnBaseline`]) and the DSGU ([`crate::models::dsgu::DsguBaseline`]).
#[derive(Debug, Clone)]
pub struct CellStack<C> {
    cells: Vec<C>,
    initial: Vec<Tensor>, // per layer h0 [H]
    output: Dense,
    engine: Engine,
}

impl<C: StackCell> CellStack<C> {
    /// The stack for `inputs` input and `outputs` output channels, its parameters under
    /// `prefix` (`<prefix>.layer<i>.*`, then `output.*`), each layer made by `cell(params,
    /// layer name, input width, units)`.
    pub fn build(
        prefix: &str,
        config: &RnnBaselineConfig,
        params: &ParamBuilder,
        (inputs, outputs): (usize, usize),
        cell: impl Fn(&ParamBuilder, &str, usize, usize) -> Result<C>,
    ) -> Result<Self> {
        let stack = params.pp(prefix);
        let (mut cells, mut initial) = (Vec::new(), Vec::new());
        for layer in 0..config.layers {
            let name = format!("layer{layer}");
            let width = if layer == 0 { inputs } else { config.size };
            cells.push(cell(&stack, &name, width, config.size)?);
            initial.push(stack.pp(&name).get(&[config.size], "h0", Init::Constant(0.0))?);
        }
        let output = Dense::new(params, "output", config.size, outputs)?;
        Ok(Self { cells, initial, output, engine: config.engine })
    }

    /// Units of the top layer.
    fn hidden(&self) -> usize {
        self.cells.last().map_or(0, C::hidden)
    }
}

/// The RNN or GRU baseline: stacked [`RecurrentCell`]s of one kind.
///
/// Parameters (`rnn.layer<i>.weight`, `.bias`, `.h0`, `output.weight`, `.bias`), for the copy
/// task's 9 inputs and 8 outputs at the default 3 x 256: layer 0 (9 + 256) * 256 + 256 =
/// 68,096; layers 1, 2 (256 + 256) * 256 + 256 = 131,328 each; h0 3 * 256 = 768; output
/// 256 * 8 + 8 = 2,056; total 333,576. A GRU (`gru.layer<i>...`) has three times the weights
/// and biases: 204,288 + 2 x 393,984 + 768 + 2,056 = 995,080.
pub type RnnBaseline = CellStack<RecurrentCell>;

impl CellStack<RecurrentCell> {
    /// The baseline of cell `kind` for `inputs` input and `outputs` output channels.
    pub fn new(
        kind: CellKind,
        config: &RnnBaselineConfig,
        params: &ParamBuilder,
        inputs: usize,
        outputs: usize,
    ) -> Result<Self> {
        Self::build(kind.name(), config, params, (inputs, outputs), |params, name, width, size| {
            RecurrentCell::new(kind, params, name, width, size)
        })
    }
}

impl<C: StackCell> SequenceModel for CellStack<C> {
    fn forward(&self, inputs: &Tensor) -> Result<Tensor> {
        let (time, batch, _) = inputs.dims3()?;
        if self.engine == Engine::Fused {
            let mut h = inputs.clone();
            for (cell, h0) in self.cells.iter().zip(&self.initial) {
                h = cell.forward_fused(&h, h0)?; // [T, B, H]
            }
            let logits = self.output.forward(&h.reshape((time * batch, self.hidden()))?)?;
            return logits.reshape((time, batch, ())); // [T, B, Y]
        }
        let state = self.initial.iter().map(|h0| h0.unsqueeze(0)?.broadcast_as((batch, h0.dim(0)?)));
        let state = state.collect::<Result<Vec<_>>>()?;
        crate::models::unroll(inputs, state, |x, state| {
            let mut next = Vec::with_capacity(state.len());
            let mut input = x.clone();
            for (cell, h) in self.cells.iter().zip(&state) {
                input = cell.step(&input, h)?;
                next.push(input.clone());
            }
            Ok((self.output.forward(&input)?, next))
        })
    }

    fn parameter_count(&self) -> usize {
        let cells: usize = self.cells.iter().map(C::parameter_count).sum();
        let initial: usize = self.initial.iter().map(Tensor::elem_count).sum();
        cells + initial + self.output.parameter_count()
    }
}
