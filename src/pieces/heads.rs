//! Read and write heads: how a controller's output becomes addressing parameters, erase and
//! add vectors (paper section 3.3.1), and one head's step of addressing.
//!
//! A head is a dense layer from the controller output to this table of widths (M = memory
//! width, S = number of allowed shifts), with these activations:
//!
//! | part  | width | activation      | range       |
//! |-------|-------|-----------------|-------------|
//! | key   | M     | tanh            | (-1, 1)^M   |
//! | beta  | 1     | softplus        | [0, inf)    |
//! | gate  | 1     | sigmoid         | (0, 1)      |
//! | shift | S     | softmax         | simplex     |
//! | gamma | 1     | 1 + softplus    | [1, inf)    |
//! | erase | M     | sigmoid (write) | (0, 1)^M    |
//! | add   | M     | tanh (write)    | (-1, 1)^M   |

use candle_core::{Result, Tensor};
use candle_nn::ops::sigmoid;

use crate::base::kinds::HeadKind;
use crate::pieces::addressing::{address, softmax, Addressed, AddressingParams};
use crate::pieces::params::{Dense, ParamBuilder};

/// Pre-activations are clipped to +-this before the activations (as the reference
/// implementations do), so softplus and exp stay in range and gradients stay bounded.
pub const PRE_ACTIVATION_CLIP: f64 = 20.0;

/// Numerically stable softplus ln(1 + e^x) = max(x, 0) + ln(1 + e^-|x|).
pub fn softplus(x: &Tensor) -> Result<Tensor> {
    x.relu()? + ((x.abs()?.neg()?.exp()? + 1.0)?.log()?)
}

/// A head's parameters for one step, activations applied. Shapes as in [`AddressingParams`];
/// `erase` and `add` are `[B, M]` for write heads.
#[derive(Debug, Clone)]
pub struct HeadParams {
    pub addressing: AddressingParams,
    pub erase: Option<Tensor>,
    pub add: Option<Tensor>,
}

/// A read or write head: the projection from the controller and the split of its output.
#[derive(Debug, Clone)]
pub struct Head {
    kind: HeadKind,
    projection: Dense,
    width: usize,
    shifts: usize,
}

impl Head {
    /// Output width of the projection for a head of `kind` over memory width `width`.
    pub fn output_width(kind: HeadKind, width: usize, shifts: usize) -> usize {
        let addressing = width + 1 + 1 + shifts + 1;
        match kind {
            HeadKind::Read => addressing,
            HeadKind::Write => addressing + 2 * width,
        }
    }

    /// A head named `name` reading the controller's `controller` outputs.
    pub fn new(
        params: &ParamBuilder,
        name: &str,
        kind: HeadKind,
        controller: usize,
        width: usize,
        shifts: usize,
        scale: f64,
    ) -> Result<Self> {
        let out = Self::output_width(kind, width, shifts);
        let projection = Dense::with_scale(params, name, controller, out, scale)?;
        Ok(Self { kind, projection, width, shifts })
    }

    /// Whether this head reads or writes.
    pub fn kind(&self) -> HeadKind {
        self.kind
    }

    /// Splits the projection of `controller_output` (`[B, C]`) by the table in the module doc
    /// and applies the activations.
    pub fn params(&self, controller_output: &Tensor) -> Result<HeadParams> {
        let raw = self.projection.forward(controller_output)?.clamp(-PRE_ACTIVATION_CLIP, PRE_ACTIVATION_CLIP)?; // [B, out]
        let m = self.width;
        let s = self.shifts;
        let mut at = 0;
        let mut take = |len: usize| {
            let part = raw.narrow(1, at, len);
            at += len;
            part
        };
        let key = take(m)?.tanh()?;
        let beta = softplus(&take(1)?)?;
        let gate = sigmoid(&take(1)?)?;
        let shift = softmax(&take(s)?)?;
        let gamma = (softplus(&take(1)?)? + 1.0)?;
        let (erase, add) = match self.kind {
            HeadKind::Read => (None, None),
            HeadKind::Write => (Some(sigmoid(&take(m)?)?), Some(take(m)?.tanh()?)),
        };
        Ok(HeadParams { addressing: AddressingParams { key, beta, gate, shift, gamma }, erase, add })
    }

    /// One addressing step: the head's parameters from `controller_output`, and its weightings
    /// over `memory` (`[B, N, M]`) given its `previous` weighting (`[B, N]`).
    pub fn address(
        &self,
        controller_output: &Tensor,
        memory: &Tensor,
        previous: &Tensor,
        shifts: &[i64],
    ) -> Result<(HeadParams, Addressed)> {
        let params = self.params(controller_output)?;
        let addressed = address(&params.addressing, memory, previous, shifts)?;
        Ok((params, addressed))
    }

    /// The projection's weight `[C, out]` and bias `[out]`.
    pub fn tensors(&self) -> [Tensor; 2] {
        self.projection.tensors()
    }

    /// Number of scalars in the projection.
    pub fn parameter_count(&self) -> usize {
        self.projection.parameter_count()
    }
}
