//! The sizes of a fused NTM and where each parameter sits in the packed parameter vector
//! ([`Packing`], with a named [`Span`] per parameter).

use std::ops::Range;

use crate::base::kinds::{ControllerKind, HeadKind};
use crate::fused::split::SendPtr;
use crate::pieces::heads::{Head, Parts};

/// The name of the initial memory `[N, M]` among the packed parameters (a model parameter
/// when the memory is learned).
pub const INITIAL_MEMORY: &str = "initial.memory";

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
    pub fn lstm(&self) -> bool {
        self.controller == ControllerKind::Lstm
    }

    /// Inputs of controller layer `l` besides its own recurrent state.
    pub fn layer_inputs(&self, l: usize) -> usize {
        if l == 0 {
            self.inputs + self.read_heads * self.width
        } else {
            self.hidden
        }
    }

    /// Rows of layer `l`'s weight: its inputs, then (LSTM) its previous output.
    pub fn layer_rows(&self, l: usize) -> usize {
        self.layer_inputs(l) + if self.lstm() { self.hidden } else { 0 }
    }

    /// [`NtmSizes::layer_rows`] rounded up to a multiple of 8 (the backward's transposed
    /// weights are padded to it).
    pub(super) fn padded_layer_rows(&self, l: usize) -> usize {
        self.layer_rows(l).div_ceil(8) * 8
    }

    /// Columns of every layer's weight: 4C gates (LSTM) or C units.
    pub fn layer_cols(&self) -> usize {
        if self.lstm() {
            4 * self.hidden
        } else {
            self.hidden
        }
    }

    pub fn heads(&self) -> usize {
        self.read_heads + self.write_heads
    }

    /// Head k's kind: read heads first, then write heads.
    pub fn head_kind(&self, k: usize) -> HeadKind {
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
    pub fn head_width(&self, k: usize) -> usize {
        Head::output_width(self.head_kind(k), self.width, self.shifts.len())
    }

    /// Width of one step's features `[h, r^1 .. r^R]`.
    pub fn features(&self) -> usize {
        self.hidden + self.read_heads * self.width
    }

    /// Where read head k's r^k `[M]` sits in a row of features `[h, r^1 .. r^R]`.
    pub(super) fn features_read(&self, k: usize) -> Range<usize> {
        let start = self.hidden + k * self.width;
        start..start + self.width
    }

    /// Where read head k's r_{t-1}^k `[M]` sits in a row of layer 0's input
    /// `[x_t, r_{t-1}^1 .. r_{t-1}^R, h_{t-1}]`.
    pub(super) fn input_read(&self, k: usize) -> Range<usize> {
        let start = self.inputs + k * self.width;
        start..start + self.width
    }

    /// The shapes of the packed parameters, in order (see `NtmSizes::packing`).
    pub fn parameter_shapes(&self) -> Vec<Vec<usize>> {
        self.packing().shapes
    }

    /// The names of the packed parameters, in order: the model's parameters of these names
    /// (and shapes, [`NtmSizes::parameter_shapes`]) are what the kernel takes. The initial
    /// memory, [`INITIAL_MEMORY`], is a parameter only when it is learned.
    pub fn parameter_names(&self) -> Vec<String> {
        self.packing().names
    }

    /// Trainable scalars of the packed parameters: all of them, less the initial memory's
    /// unless it is learned (a constant or fixed random memory is packed but not trained).
    pub fn trainable(&self, learned_memory: bool) -> usize {
        let packing = self.packing();
        packing.total - if learned_memory { 0 } else { packing.initial_memory.len }
    }

    /// Where each parameter sits in the packed vector, with its name, in this order: per
    /// controller layer its weight `[rows, cols]` and bias `[cols]` (and, LSTM, its initial h
    /// and c `[C]`); per head (read heads first) its projection's weight `[C, P]` and bias
    /// `[P]`; each read head's initial read `[M]`; each read, then write head's initial
    /// weighting logits `[N]`; the initial memory `[N, M]`. The one place that order, and the
    /// parameters' names, are written.
    pub(super) fn packing(&self) -> Packing {
        let (c, n, m) = (self.hidden, self.slots, self.width);
        let mut packer = Packer::default();
        let layers = (0..self.layers)
            .map(|l| {
                let name = |part: &str| format!("controller.layer{l}.{part}");
                ControllerLayer {
                    weight: packer.next(name("weight"), &[self.layer_rows(l), self.layer_cols()]),
                    bias: packer.next(name("bias"), &[self.layer_cols()]),
                    initial: self.lstm().then(|| LstmInitial {
                        hidden: packer.next(name("h0"), &[c]),
                        cell: packer.next(name("c0"), &[c]),
                    }),
                }
            })
            .collect();
        let head_name = |k: usize| match self.head_kind(k) {
            HeadKind::Read => format!("read{k}"),
            HeadKind::Write => format!("write{}", k - self.read_heads),
        };
        let heads = (0..self.heads())
            .map(|k| HeadProjection {
                weight: packer.next(format!("heads.{}.weight", head_name(k)), &[c, self.head_width(k)]),
                bias: packer.next(format!("heads.{}.bias", head_name(k)), &[self.head_width(k)]),
            })
            .collect();
        let initial_reads = (0..self.read_heads).map(|i| packer.next(format!("initial.read{i}"), &[m])).collect();
        let initial_logits =
            (0..self.heads()).map(|k| packer.next(format!("initial.{}_weighting", head_name(k)), &[n])).collect();
        let initial_memory = packer.next(INITIAL_MEMORY.to_owned(), &[n, m]);
        Packing {
            layers,
            heads,
            initial_reads,
            initial_logits,
            initial_memory,
            total: packer.total,
            shapes: packer.shapes,
            names: packer.names,
        }
    }
}

/// A part of the packed parameters (or of their gradient): `len` values from `start`.
#[derive(Debug, Clone, Copy)]
pub(super) struct Span {
    start: usize,
    len: usize,
}

impl Span {
    /// This part of `packed`.
    pub(super) fn of<T>(self, packed: &[T]) -> &[T] {
        &packed[self.start..self.start + self.len]
    }

    /// This part of the packed values at `packed`, writable, for one of several threads that
    /// each write their own parts.
    ///
    /// # Safety
    /// `packed` points to the whole packed vector, and no one else reads or writes this part
    /// while the slice lives.
    pub(super) unsafe fn of_raw<'a, T>(self, packed: SendPtr<T>) -> &'a mut [T] {
        // SAFETY: as the caller vouches.
        unsafe { std::slice::from_raw_parts_mut(packed.0.add(self.start), self.len) }
    }

    /// Where this part starts in the packed values at `packed` (see [`Span::of_raw`]).
    pub(super) fn start_of<T>(self, packed: SendPtr<T>) -> *mut T {
        packed.0.wrapping_add(self.start)
    }
}

/// Controller layer l's parameters.
#[derive(Debug, Clone, Copy)]
pub(super) struct ControllerLayer {
    /// `[rows, cols]`: the rows of the layer's input (layer 0: x_t, then r_{t-1}^1 .. R;
    /// above: h^{l-1}_t), then (LSTM) the rows of its own h^l_{t-1}; cols 4C (gates i, f, g,
    /// o) or C. One matrix, so each step's pre-activations are one matmul.
    pub(super) weight: Span,
    /// `[cols]`.
    pub(super) bias: Span,
    /// An LSTM layer's h_0 and c_0; none for a feed-forward layer.
    pub(super) initial: Option<LstmInitial>,
}

/// An LSTM layer's initial state, each `[C]`.
#[derive(Debug, Clone, Copy)]
pub(super) struct LstmInitial {
    pub(super) hidden: Span,
    pub(super) cell: Span,
}

/// Head k's projection raw_k = h_t W_k + b_k.
#[derive(Debug, Clone, Copy)]
pub(super) struct HeadProjection {
    /// `[C, P]`.
    pub(super) weight: Span,
    /// `[P]`.
    pub(super) bias: Span,
}

/// Every parameter's place in the packed vector (built by [`NtmSizes::packing`]).
#[derive(Debug, Clone)]
pub(super) struct Packing {
    pub(super) layers: Vec<ControllerLayer>,
    /// Read heads, then write heads.
    pub(super) heads: Vec<HeadProjection>,
    /// Per read head: r_0 `[M]`.
    pub(super) initial_reads: Vec<Span>,
    /// Per head (read heads, then write heads): the logits of w_0 `[N]`.
    pub(super) initial_logits: Vec<Span>,
    /// M_0 `[N, M]` (by rows, as the parameter is).
    pub(super) initial_memory: Span,
    /// Values in all.
    pub(super) total: usize,
    shapes: Vec<Vec<usize>>,
    names: Vec<String>,
}

/// Lays parameters out one after the other.
#[derive(Default)]
struct Packer {
    total: usize,
    shapes: Vec<Vec<usize>>,
    names: Vec<String>,
}

impl Packer {
    /// The place of the next parameter, `name` of `shape`.
    fn next(&mut self, name: String, shape: &[usize]) -> Span {
        let span = Span { start: self.total, len: shape.iter().product() };
        self.total += span.len;
        self.shapes.push(shape.to_vec());
        self.names.push(name);
        span
    }
}
