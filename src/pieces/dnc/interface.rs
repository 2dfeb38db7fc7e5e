//! The DNC's interface vector: the controller's output h_t projected to xi_t = h_t W + b and
//! split by this table of widths (W = memory width, R = read heads, K = read modes per head),
//! in the paper's order (Methods, "Interface parameters"), with these activations:
//!
//! | part | width | activation | range |
//! |------|-------|------------|-------|
//! | read keys k^{r,i} | R W | none | R^W each |
//! | read strengths beta^{r,i} | R | oneplus | [1, inf) |
//! | write key k^w | W | none | R^W |
//! | write strength beta^w | 1 | oneplus | [1, inf) |
//! | erase vector e | W | sigmoid | (0, 1)^W |
//! | write vector v | W | none | R^W |
//! | free gates f^i | R | sigmoid | (0, 1) |
//! | allocation gate g^a | 1 | sigmoid | (0, 1) |
//! | write gate g^w | 1 | sigmoid | (0, 1) |
//! | read modes pi^i | K R | softmax over each head's K | simplex |
//!
//! In all R W + 3 W + (2 + K) R + 3 values: with the paper's 3 modes, R W + 3 W + 5 R + 3.
//! oneplus(x) = 1 + ln(1 + e^x). Each head's modes come in the order of the model's
//! `read_modes` (by default the paper's: backward, content, forward). Every value is first
//! clipped to +-[`PRE_ACTIVATION_CLIP`], as the NTM's heads are (deepmind/dnc clips the
//! controller's output to +-20 instead): strengths stay below 21.3, gates inside (2e-9, 1).

use std::ops::Range;

use candle_core::{Result, Tensor};
use candle_nn::ops::sigmoid;

use crate::pieces::addressing::softmax;
use crate::pieces::heads::{softplus, PRE_ACTIVATION_CLIP};

/// Where each part of the interface vector sits, by the table above: the one statement of the
/// layout, which the composed [`split`] and the fused kernels both use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InterfaceParts {
    /// Memory width W.
    width: usize,
    /// Read heads R.
    reads: usize,
    /// Read modes per head K.
    modes: usize,
}

impl InterfaceParts {
    /// The parts for memory width `width`, `reads` read heads of `modes` read modes each.
    pub fn new(width: usize, reads: usize, modes: usize) -> Self {
        Self { width, reads, modes }
    }

    /// Every read key, `[R W]`: head i's at [`read_key`](Self::read_key).
    pub fn read_keys(self) -> Range<usize> {
        0..self.reads * self.width
    }

    /// Read head i's key k^{r,i} `[W]`.
    pub fn read_key(self, i: usize) -> Range<usize> {
        i * self.width..(i + 1) * self.width
    }

    /// Every read strength, `[R]`.
    pub fn read_strengths(self) -> Range<usize> {
        let start = self.reads * self.width;
        start..start + self.reads
    }

    /// Read head i's strength beta^{r,i}.
    pub fn read_strength(self, i: usize) -> usize {
        self.read_strengths().start + i
    }

    /// The write key k^w `[W]`.
    pub fn write_key(self) -> Range<usize> {
        let start = self.read_strengths().end;
        start..start + self.width
    }

    /// The write strength beta^w.
    pub fn write_strength(self) -> usize {
        self.write_key().end
    }

    /// The erase vector e `[W]`.
    pub fn erase(self) -> Range<usize> {
        let start = self.write_strength() + 1;
        start..start + self.width
    }

    /// The write vector v `[W]`.
    pub fn write_vector(self) -> Range<usize> {
        let start = self.erase().end;
        start..start + self.width
    }

    /// Every free gate, `[R]`.
    pub fn free_gates(self) -> Range<usize> {
        let start = self.write_vector().end;
        start..start + self.reads
    }

    /// Read head i's free gate f^i.
    pub fn free_gate(self, i: usize) -> usize {
        self.free_gates().start + i
    }

    /// The allocation gate g^a.
    pub fn allocation_gate(self) -> usize {
        self.free_gates().end
    }

    /// The write gate g^w.
    pub fn write_gate(self) -> usize {
        self.allocation_gate() + 1
    }

    /// Every head's read modes, `[R K]`.
    pub fn all_read_modes(self) -> Range<usize> {
        let start = self.write_gate() + 1;
        start..start + self.reads * self.modes
    }

    /// Read head i's modes pi^i `[K]`.
    pub fn read_modes(self, i: usize) -> Range<usize> {
        let start = self.all_read_modes().start + i * self.modes;
        start..start + self.modes
    }

    /// Width of the whole interface vector: R W + 3 W + (2 + K) R + 3.
    pub fn width(self) -> usize {
        self.all_read_modes().end
    }

    /// Read heads R.
    pub fn reads(self) -> usize {
        self.reads
    }

    /// Read modes per head K.
    pub fn modes(self) -> usize {
        self.modes
    }
}

/// The interface's parts for one step, activations applied; every tensor `[B, ·]`.
#[derive(Debug, Clone)]
pub struct Interface {
    /// Per read head: its key `[B, W]`.
    pub read_keys: Vec<Tensor>,
    /// Per read head: its strength `[B, 1]`, in [1, inf).
    pub read_strengths: Vec<Tensor>,
    /// `[B, W]`.
    pub write_key: Tensor,
    /// `[B, 1]`, in [1, inf).
    pub write_strength: Tensor,
    /// `[B, W]`, in (0, 1).
    pub erase: Tensor,
    /// `[B, W]`.
    pub write_vector: Tensor,
    /// Per read head: its free gate `[B, 1]`, in (0, 1).
    pub free_gates: Vec<Tensor>,
    /// `[B, 1]`, in (0, 1).
    pub allocation_gate: Tensor,
    /// `[B, 1]`, in (0, 1).
    pub write_gate: Tensor,
    /// Per read head: its read modes `[B, K]`, a distribution.
    pub read_modes: Vec<Tensor>,
}

/// oneplus(x) = 1 + ln(1 + e^x) (the paper's activation of the strengths): values in
/// [1, inf), so a content weighting is never flatter than softmax of the cosines.
pub fn oneplus(x: &Tensor) -> Result<Tensor> {
    softplus(x)? + 1.0
}

/// Splits the interface vector `raw` (`[B, I]`, before any activation) by `parts` and applies
/// the activations of the module's table, after clipping to +-[`PRE_ACTIVATION_CLIP`].
pub fn split(raw: &Tensor, parts: InterfaceParts) -> Result<Interface> {
    let raw = raw.clamp(-PRE_ACTIVATION_CLIP, PRE_ACTIVATION_CLIP)?; // [B, I]
    let range = |r: Range<usize>| raw.narrow(1, r.start, r.len());
    let one = |i: usize| raw.narrow(1, i, 1);
    let heads = 0..parts.reads();
    Ok(Interface {
        read_keys: heads.clone().map(|i| range(parts.read_key(i))).collect::<Result<_>>()?,
        read_strengths: heads.clone().map(|i| oneplus(&one(parts.read_strength(i))?)).collect::<Result<_>>()?,
        write_key: range(parts.write_key())?,
        write_strength: oneplus(&one(parts.write_strength())?)?,
        erase: sigmoid(&range(parts.erase())?)?,
        write_vector: range(parts.write_vector())?,
        free_gates: heads.clone().map(|i| sigmoid(&one(parts.free_gate(i))?)).collect::<Result<_>>()?,
        allocation_gate: sigmoid(&one(parts.allocation_gate())?)?,
        write_gate: sigmoid(&one(parts.write_gate())?)?,
        read_modes: heads.map(|i| softmax(&range(parts.read_modes(i))?)).collect::<Result<_>>()?,
    })
}
