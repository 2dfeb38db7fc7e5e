//! The LSTM: one cell, a stack of cells, and the stacked-LSTM baseline of the paper's
//! comparisons (section 4, "3 x 256" for copy).
//!
//! The cell keeps its four gate projections in one matrix `[in + H, 4H]` so a step is a
//! single matmul on the concatenation `[x, h]` (Hochreiter & Schmidhuber 1997, without
//! peepholes):
//! ```text
//! [i f g o] = [x, h] W + b            i, f, o = sigmoid(.), g = tanh(.)
//! c' = f * c + i * g                  h' = o * tanh(c')
//! ```

use candle_core::{Result, Tensor, D};
use candle_nn::ops::sigmoid;
use serde::{Deserialize, Serialize};

use crate::base::kinds::Engine;
use crate::models::SequenceModel;
use crate::pieces::params::{Dense, Init, ParamBuilder};

/// The forget gate's bias starts here so the cell remembers by default early in training.
const FORGET_BIAS_INIT: f64 = 1.0;

/// Hidden and cell state of one LSTM layer, each `[B, H]`.
#[derive(Debug, Clone)]
pub struct LstmState {
    pub h: Tensor,
    pub c: Tensor,
}

/// One LSTM layer.
#[derive(Debug, Clone)]
pub struct LstmCell {
    weight: Tensor, // [in + H, 4H]
    bias: Tensor,   // [4H]
    hidden: usize,
}

impl LstmCell {
    /// A cell named `name` with `inputs` inputs and `hidden` units.
    pub fn new(params: &ParamBuilder, name: &str, inputs: usize, hidden: usize) -> Result<Self> {
        Self::with_scale(params, name, inputs, hidden, 1.0)
    }

    /// As [`new`](Self::new), the weights uniform in +-`scale`/sqrt(hidden).
    pub fn with_scale(params: &ParamBuilder, name: &str, inputs: usize, hidden: usize, scale: f64) -> Result<Self> {
        let params = params.pp(name);
        let bound = scale / (hidden as f64).sqrt();
        let weight = params.get(&[inputs + hidden, 4 * hidden], "weight", Init::Uniform(bound))?;
        let mut bias = vec![0.0f64; 4 * hidden];
        bias[hidden..2 * hidden].fill(FORGET_BIAS_INIT);
        let bias = params.get(&[4 * hidden], "bias", Init::Values(bias))?;
        Ok(Self { weight, bias, hidden })
    }

    /// Number of units H.
    pub fn hidden(&self) -> usize {
        self.hidden
    }

    /// One step. `x`: `[B, in]` -> the new state.
    pub fn step(&self, x: &Tensor, state: &LstmState) -> Result<LstmState> {
        let xh = Tensor::cat(&[x, &state.h], D::Minus1)?; // [B, in + H]
        let gates = xh.matmul(&self.weight)?.broadcast_add(&self.bias)?; // [B, 4H]
        let h = self.hidden;
        let input = sigmoid(&gates.narrow(1, 0, h)?)?;
        let forget = sigmoid(&gates.narrow(1, h, h)?)?;
        let cell = gates.narrow(1, 2 * h, h)?.tanh()?;
        let output = sigmoid(&gates.narrow(1, 3 * h, h)?)?;
        let c = ((forget * &state.c)? + (input * cell)?)?;
        let h = (output * c.tanh()?)?;
        Ok(LstmState { h, c })
    }

    /// Number of scalars in the weight and bias.
    pub fn parameter_count(&self) -> usize {
        self.weight.elem_count() + self.bias.elem_count()
    }

    /// The whole sequence at once with the fused kernel: `x` `[T, B, in]` from the state
    /// `(h0, c0)` (`[H]` or `[B, H]`) -> every hidden state `[T, B, H]`.
    pub fn forward_fused(&self, x: &Tensor, h0: &Tensor, c0: &Tensor) -> Result<Tensor> {
        crate::fused::lstm::lstm_layer(x, &self.weight, &self.bias, h0, c0)
    }
}

/// The `[models.<name>]` table of a stacked-LSTM baseline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LstmBaselineConfig {
    /// Units per layer (the paper: 256 for copy, 512 for repeat copy).
    pub size: usize,
    /// Number of stacked layers (the paper: 3).
    pub layers: usize,
    /// Implementation: `fused` (default; one custom op per layer and sequence,
    /// [`crate::fused::lstm`]) or `reference` (composed candle ops per step); same
    /// parameters, same function, so checkpoints load in either.
    #[serde(default)]
    pub engine: Engine,
}

impl Default for LstmBaselineConfig {
    fn default() -> Self {
        Self { size: 256, layers: 3, engine: Engine::default() }
    }
}

impl LstmBaselineConfig {
    /// Checks every field; the error names the field, the value and what is allowed.
    pub fn validate(&self) -> std::result::Result<(), String> {
        use crate::base::limits::{check_size, MAX_LAYERS, MAX_UNITS};
        check_size("size", self.size, MAX_UNITS)?;
        check_size("layers", self.layers, MAX_LAYERS)
    }
}

/// A stack of LSTM layers, each feeding the next, with learned initial states.
#[derive(Debug, Clone)]
pub struct LstmStack {
    cells: Vec<LstmCell>,
    initial: Vec<(Tensor, Tensor)>, // per layer: h0, c0, each [H]
}

impl LstmStack {
    /// `layers` cells of `hidden` units named `<name>.layer<i>`; the first takes `inputs`.
    pub fn new(params: &ParamBuilder, inputs: usize, hidden: usize, layers: usize) -> Result<Self> {
        Self::with_scale(params, inputs, hidden, layers, 1.0)
    }

    /// As [`new`](Self::new), the weights uniform in +-`scale`/sqrt(hidden).
    pub fn with_scale(params: &ParamBuilder, inputs: usize, hidden: usize, layers: usize, scale: f64) -> Result<Self> {
        let mut cells = Vec::with_capacity(layers);
        let mut initial = Vec::with_capacity(layers);
        for layer in 0..layers {
            let name = format!("layer{layer}");
            let width = if layer == 0 { inputs } else { hidden };
            cells.push(LstmCell::with_scale(params, &name, width, hidden, scale)?);
            let p = params.pp(&name);
            initial.push((p.get(&[hidden], "h0", Init::Constant(0.0))?, p.get(&[hidden], "c0", Init::Constant(0.0))?));
        }
        Ok(Self { cells, initial })
    }

    /// The learned initial state broadcast to `batch` rows.
    pub fn initial_state(&self, batch: usize) -> Result<Vec<LstmState>> {
        self.initial
            .iter()
            .map(|(h, c)| {
                let hidden = h.dim(0)?;
                Ok(LstmState {
                    h: h.unsqueeze(0)?.broadcast_as((batch, hidden))?,
                    c: c.unsqueeze(0)?.broadcast_as((batch, hidden))?,
                })
            })
            .collect()
    }

    /// One step through every layer. `x`: `[B, in]` -> the top layer's `h` `[B, H]` and the
    /// new states.
    pub fn step(&self, x: &Tensor, state: &[LstmState]) -> Result<(Tensor, Vec<LstmState>)> {
        let mut next = Vec::with_capacity(self.cells.len());
        let mut input = x.clone();
        for (cell, s) in self.cells.iter().zip(state) {
            let new = cell.step(&input, s)?;
            input = new.h.clone();
            next.push(new);
        }
        Ok((input, next))
    }

    /// Every layer over the whole sequence with the fused kernel, from the learned initial
    /// state: `x` `[T, B, in]` -> the top layer's hidden states `[T, B, H]`.
    pub fn forward_fused(&self, x: &Tensor) -> Result<Tensor> {
        let mut input = x.clone();
        for (cell, (h0, c0)) in self.cells.iter().zip(&self.initial) {
            input = cell.forward_fused(&input, h0, c0)?;
        }
        Ok(input)
    }

    /// Per layer: the cell's weight `[in + H, 4H]` and bias `[4H]`, and the initial h and c
    /// `[H]`.
    pub fn tensors(&self) -> Vec<Tensor> {
        let layers = self.cells.iter().zip(&self.initial);
        layers.flat_map(|(cell, (h0, c0))| [cell.weight.clone(), cell.bias.clone(), h0.clone(), c0.clone()]).collect()
    }

    /// Units in the top layer.
    pub fn hidden(&self) -> usize {
        self.cells.last().map_or(0, LstmCell::hidden)
    }

    /// Number of scalars, the learned initial states included.
    pub fn parameter_count(&self) -> usize {
        let cells: usize = self.cells.iter().map(LstmCell::parameter_count).sum();
        let initial: usize = self.initial.iter().map(|(h, c)| h.elem_count() + c.elem_count()).sum();
        cells + initial
    }
}

/// The baseline: a stacked LSTM whose top layer feeds a dense output layer.
///
/// Parameters of the paper's copy baseline (3 x 256, 9 inputs, 8 outputs):
/// layer 0: (9 + 256) * 1024 + 1024 = 272,384; layers 1, 2: (256 + 256) * 1024 + 1024 =
/// 525,312 each; output 256 * 8 + 8 = 2,056; learned h0, c0: 6 * 256 = 1,536; total
/// 1,326,600. The paper reports 1,352,969: it does not give its exact layout (peephole weights
/// and outputs read from every layer would account for a difference of this size).
#[derive(Debug, Clone)]
pub struct LstmBaseline {
    stack: LstmStack,
    output: Dense,
    engine: Engine,
}

impl LstmBaseline {
    /// The baseline for `inputs` input and `outputs` output channels.
    pub fn new(config: &LstmBaselineConfig, params: &ParamBuilder, inputs: usize, outputs: usize) -> Result<Self> {
        let stack = LstmStack::new(&params.pp("lstm"), inputs, config.size, config.layers)?;
        let output = Dense::new(params, "output", config.size, outputs)?;
        Ok(Self { stack, output, engine: config.engine })
    }
}

impl SequenceModel for LstmBaseline {
    fn forward(&self, inputs: &Tensor) -> Result<Tensor> {
        if self.engine == Engine::Fused {
            let (time, batch, _) = inputs.dims3()?;
            let h = self.stack.forward_fused(inputs)?; // [T, B, H]
            let logits = self.output.forward(&h.reshape((time * batch, self.stack.hidden()))?)?;
            return logits.reshape((time, batch, ())); // [T, B, Y]
        }
        let batch = inputs.dim(1)?;
        let state = self.stack.initial_state(batch)?;
        crate::models::unroll(inputs, state, |x, state| {
            let (h, next) = self.stack.step(x, &state)?;
            Ok((self.output.forward(&h)?, next))
        })
    }

    fn parameter_count(&self) -> usize {
        self.stack.parameter_count() + self.output.parameter_count()
    }
}
