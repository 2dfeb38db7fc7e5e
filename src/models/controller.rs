//! The NTM's controller (paper section 3, figure 1): an LSTM or a feed-forward network that
//! sees the external input and the previous read vectors and drives the heads.

use candle_core::{Result, Tensor};

use crate::base::kinds::ControllerKind;
use crate::models::lstm::{LstmStack, LstmState};
use crate::pieces::params::{Dense, ParamBuilder};

/// The controller's recurrent state: one `LstmState` per layer, or nothing.
#[derive(Debug, Clone)]
pub enum ControllerState {
    Lstm(Vec<LstmState>),
    FeedForward,
}

/// A controller network.
#[derive(Debug, Clone)]
pub enum Controller {
    Lstm(LstmStack),
    FeedForward(Vec<Dense>),
}

impl Controller {
    /// A controller of `layers` layers of `size` units reading `inputs` values per step.
    pub fn new(
        params: &ParamBuilder,
        kind: ControllerKind,
        inputs: usize,
        size: usize,
        layers: usize,
        scale: f64,
    ) -> Result<Self> {
        Ok(match kind {
            ControllerKind::Lstm => Controller::Lstm(LstmStack::with_scale(params, inputs, size, layers, scale)?),
            ControllerKind::FeedForward => Controller::FeedForward(
                (0..layers)
                    .map(|l| {
                        let width = if l == 0 { inputs } else { size };
                        Dense::new(params, &format!("layer{l}"), width, size)
                    })
                    .collect::<Result<_>>()?,
            ),
        })
    }

    /// The state at the start of a sequence for `batch` rows.
    pub fn initial_state(&self, batch: usize) -> Result<ControllerState> {
        Ok(match self {
            Controller::Lstm(stack) => ControllerState::Lstm(stack.initial_state(batch)?),
            Controller::FeedForward(_) => ControllerState::FeedForward,
        })
    }

    /// One step. `x`: `[B, inputs]` -> output `[B, size]` and the next state.
    pub fn step(&self, x: &Tensor, state: &ControllerState) -> Result<(Tensor, ControllerState)> {
        match (self, state) {
            (Controller::Lstm(stack), ControllerState::Lstm(s)) => {
                let (h, next) = stack.step(x, s)?;
                Ok((h, ControllerState::Lstm(next)))
            }
            (Controller::FeedForward(layers), ControllerState::FeedForward) => {
                let mut h = x.clone();
                for layer in layers {
                    h = layer.forward(&h)?.tanh()?;
                }
                Ok((h, ControllerState::FeedForward))
            }
            _ => candle_core::bail!("controller state does not match the controller kind"),
        }
    }

    /// Every parameter, layer by layer: LSTM weight, bias, initial h and c; or dense weight
    /// and bias (the order of [`crate::fused::ntm::NtmSizes::parameter_shapes`]).
    pub fn tensors(&self) -> Vec<Tensor> {
        match self {
            Controller::Lstm(stack) => stack.tensors(),
            Controller::FeedForward(layers) => layers.iter().flat_map(Dense::tensors).collect(),
        }
    }

    /// Number of scalars.
    pub fn parameter_count(&self) -> usize {
        match self {
            Controller::Lstm(stack) => stack.parameter_count(),
            Controller::FeedForward(layers) => layers.iter().map(Dense::parameter_count).sum(),
        }
    }
}
