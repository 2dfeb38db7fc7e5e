//! The sizes of a fused NTM and where each parameter sits in the packed parameter vector.

use crate::fused::addressing::Parts;
use crate::kinds::{ControllerKind, HeadKind};
use crate::model::heads::Head;

/// The sizes of an NTM, all the kernel needs to know besides the data.
#[derive(Debug, Clone, PartialEq)]
pub struct NtmSizes {
    /// External inputs X per step.
    pub inputs: usize,
    /// LSTM or feed-forward controller.
    pub controller: ControllerKind,
    /// Units per controller layer C.
    pub hidden: usize,
    /// Controller layers L.
    pub layers: usize,
    /// Read heads R.
    pub read_heads: usize,
    /// Write heads W.
    pub write_heads: usize,
    /// Memory slots N.
    pub slots: usize,
    /// Memory width M.
    pub width: usize,
    /// Allowed shifts (S of them).
    pub shifts: Vec<i64>,
}

impl NtmSizes {
    pub(super) fn lstm(&self) -> bool {
        self.controller == ControllerKind::Lstm
    }

    /// Inputs of controller layer `l` besides its own recurrent state.
    pub(super) fn layer_inputs(&self, l: usize) -> usize {
        if l == 0 {
            self.inputs + self.read_heads * self.width
        } else {
            self.hidden
        }
    }

    /// Rows of layer `l`'s weight: its inputs, then (LSTM) its previous output.
    pub(super) fn layer_rows(&self, l: usize) -> usize {
        self.layer_inputs(l) + if self.lstm() { self.hidden } else { 0 }
    }

    /// Columns of every layer's weight: 4C gates (LSTM) or C units.
    pub(super) fn layer_cols(&self) -> usize {
        if self.lstm() {
            4 * self.hidden
        } else {
            self.hidden
        }
    }

    pub(super) fn heads(&self) -> usize {
        self.read_heads + self.write_heads
    }

    /// Head k's kind: read heads first, then write heads.
    pub(super) fn head_kind(&self, k: usize) -> HeadKind {
        if k < self.read_heads {
            HeadKind::Read
        } else {
            HeadKind::Write
        }
    }

    /// Where each part of a head's projection sits.
    pub(super) fn parts(&self) -> Parts {
        Parts::new(self.width, self.shifts.len())
    }

    /// Width of head k's projection.
    pub(super) fn head_width(&self, k: usize) -> usize {
        Head::output_width(self.head_kind(k), self.width, self.shifts.len())
    }

    /// Width of one step's features `[h, r^1 .. r^R]`.
    pub fn features(&self) -> usize {
        self.hidden + self.read_heads * self.width
    }

    /// The shapes of the packed parameters, in order: per controller layer its weight
    /// `[rows, cols]` and bias `[cols]` (and, LSTM, its initial h and c `[C]`); per head (read
    /// heads first) its projection's weight `[C, P]` and bias `[P]`; each read head's initial
    /// read `[M]`; each read, then write head's initial weighting logits `[N]`; the initial
    /// memory `[N, M]`.
    pub fn parameter_shapes(&self) -> Vec<Vec<usize>> {
        let (c, n, m) = (self.hidden, self.slots, self.width);
        let mut shapes = Vec::new();
        for l in 0..self.layers {
            shapes.push(vec![self.layer_rows(l), self.layer_cols()]);
            shapes.push(vec![self.layer_cols()]);
            if self.lstm() {
                shapes.extend([vec![c], vec![c]]);
            }
        }
        for k in 0..self.heads() {
            shapes.extend([vec![c, self.head_width(k)], vec![self.head_width(k)]]);
        }
        shapes.extend((0..self.read_heads).map(|_| vec![m]));
        shapes.extend((0..self.heads()).map(|_| vec![n]));
        shapes.push(vec![n, m]);
        shapes
    }
}

/// Where each parameter starts in the packed vector.
pub(super) struct Pack {
    starts: Vec<usize>,
    per_layer: usize,
    heads_at: usize,
    pub(super) total: usize,
}

impl Pack {
    pub(super) fn new(sizes: &NtmSizes) -> Self {
        let mut starts = Vec::new();
        let mut total = 0;
        for shape in sizes.parameter_shapes() {
            starts.push(total);
            total += shape.iter().product::<usize>();
        }
        let per_layer = if sizes.lstm() { 4 } else { 2 };
        Self {
            starts,
            per_layer,
            heads_at: sizes.layers * per_layer,
            total,
        }
    }

    pub(super) fn range(&self, index: usize) -> std::ops::Range<usize> {
        self.starts[index]..self.starts.get(index + 1).copied().unwrap_or(self.total)
    }

    /// Layer l's weight, bias, h0, c0 (`part` 0..4).
    pub(super) fn layer(&self, l: usize, part: usize) -> std::ops::Range<usize> {
        debug_assert!(
            part < self.per_layer,
            "a feed-forward layer has no initial state"
        );
        self.range(l * self.per_layer + part)
    }

    /// Head k's weight (`part` 0) or bias (1).
    pub(super) fn head(&self, k: usize, part: usize) -> std::ops::Range<usize> {
        self.range(self.heads_at + 2 * k + part)
    }

    pub(super) fn initial_read(&self, sizes: &NtmSizes, i: usize) -> std::ops::Range<usize> {
        self.range(self.heads_at + 2 * sizes.heads() + i)
    }

    pub(super) fn initial_logits(&self, sizes: &NtmSizes, k: usize) -> std::ops::Range<usize> {
        self.range(self.heads_at + 2 * sizes.heads() + sizes.read_heads + k)
    }

    pub(super) fn initial_memory(&self, sizes: &NtmSizes) -> std::ops::Range<usize> {
        self.range(self.heads_at + 3 * sizes.heads() + sizes.read_heads)
    }
}
