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

use std::ops::Range;

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

/// Where each part of a head's projection sits, by the table above: `[key (M), beta, gate,
/// shift (S), gamma]`, then `[erase (M), add (M)]` for a write head. The one statement of the
/// layout: the composed [`Head::params`] and the fused kernels split by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parts {
    m: usize,
    s: usize,
}

impl Parts {
    /// The parts for memory width `m` and `s` allowed shifts.
    pub fn new(m: usize, s: usize) -> Self {
        Self { m, s }
    }
    pub fn key(self) -> Range<usize> {
        0..self.m
    }
    pub fn beta(self) -> usize {
        self.m
    }
    pub fn gate(self) -> usize {
        self.m + 1
    }
    pub fn shift(self) -> Range<usize> {
        self.m + 2..self.m + 2 + self.s
    }
    pub fn gamma(self) -> usize {
        self.m + 2 + self.s
    }
    /// Width of the addressing parts, all a read head has.
    pub fn addressing(self) -> usize {
        self.m + self.s + 3
    }
    pub fn erase(self) -> Range<usize> {
        self.addressing()..self.addressing() + self.m
    }
    pub fn add(self) -> Range<usize> {
        self.addressing() + self.m..self.addressing() + 2 * self.m
    }
    /// Width of the whole projection of a head of `kind`.
    pub fn width(self, kind: HeadKind) -> usize {
        match kind {
            HeadKind::Read => self.addressing(),
            HeadKind::Write => self.add().end,
        }
    }
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
        Parts::new(width, shifts).width(kind)
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
        let parts = Parts::new(self.width, self.shifts);
        let range = |r: Range<usize>| raw.narrow(1, r.start, r.len());
        let one = |i: usize| raw.narrow(1, i, 1);
        let key = range(parts.key())?.tanh()?;
        let beta = softplus(&one(parts.beta())?)?;
        let gate = sigmoid(&one(parts.gate())?)?;
        let shift = softmax(&range(parts.shift())?)?;
        let gamma = (softplus(&one(parts.gamma())?)? + 1.0)?;
        let (erase, add) = match self.kind {
            HeadKind::Read => (None, None),
            HeadKind::Write => (Some(sigmoid(&range(parts.erase())?)?), Some(range(parts.add())?.tanh()?)),
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
