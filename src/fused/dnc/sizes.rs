//! The sizes of a fused DNC and where each parameter sits in the packed parameter vector
//! ([`Packing`], a named [`Span`] per parameter).

use crate::base::kinds::ReadMode;
use crate::pieces::dnc::interface::InterfaceParts;

/// The sizes of a DNC, all the kernel needs to know besides the data.
#[derive(Debug, Clone, PartialEq)]
pub struct DncSizes {
    /// External inputs X per step.
    pub inputs: usize,
    /// Units per LSTM controller layer C.
    pub hidden: usize,
    /// Controller layers L.
    pub layers: usize,
    /// Read heads R.
    pub read_heads: usize,
    /// Memory slots N.
    pub slots: usize,
    /// Memory width W.
    pub width: usize,
    /// Each read head's modes, in the order of its mode weights (K of them).
    pub read_modes: Vec<ReadMode>,
}

impl DncSizes {
    /// Inputs of controller layer `l` besides its own recurrent state: layer 0 takes x_t and the
    /// R reads of the step before, each layer above the one below it.
    pub fn layer_inputs(&self, l: usize) -> usize {
        if l == 0 {
            self.inputs + self.read_heads * self.width
        } else {
            self.hidden
        }
    }

    /// Rows of layer `l`'s weight: its inputs, then its previous output.
    pub fn layer_rows(&self, l: usize) -> usize {
        self.layer_inputs(l) + self.hidden
    }

    /// Columns of every layer's weight: the 4C gates i, f, g, o.
    pub fn layer_cols(&self) -> usize {
        4 * self.hidden
    }

    /// Where each part of the interface vector sits.
    pub fn parts(&self) -> InterfaceParts {
        InterfaceParts::new(self.width, self.read_heads, self.read_modes.len())
    }

    /// Width of one step's features `[h, r^1 .. r^R]`.
    pub fn features(&self) -> usize {
        self.hidden + self.read_heads * self.width
    }

    /// Whether some read mode follows the link matrix (backward or forward): without one the
    /// kernel neither keeps nor updates it.
    pub fn uses_links(&self) -> bool {
        self.read_modes.iter().any(|&m| m != ReadMode::Content)
    }

    /// Where mode `mode` sits among a head's K modes, if it is one.
    pub fn mode_index(&self, mode: ReadMode) -> Option<usize> {
        self.read_modes.iter().position(|&m| m == mode)
    }

    /// The shapes of the packed parameters, in order (see [`DncSizes::parameter_names`]).
    pub fn parameter_shapes(&self) -> Vec<Vec<usize>> {
        self.packing().shapes
    }

    /// The names of the packed parameters, in order: per controller layer l,
    /// `controller.layer<l>.weight` `[rows, 4C]`, `.bias` `[4C]`, `.h0` and `.c0` `[C]`; then
    /// `interface.weight` `[C, I]` and `interface.bias` `[I]`. The model's parameters of these
    /// names are what the kernel takes (the output layer is the model's, outside the kernel).
    pub fn parameter_names(&self) -> Vec<String> {
        self.packing().names
    }

    /// Where each parameter sits in the packed vector, with its name (the order of
    /// [`DncSizes::parameter_names`]): the one place it is written.
    pub(super) fn packing(&self) -> Packing {
        let c = self.hidden;
        let mut packer = Packer::default();
        let layers = (0..self.layers)
            .map(|l| {
                let name = |part: &str| format!("controller.layer{l}.{part}");
                ControllerLayer {
                    weight: packer.next(name("weight"), &[self.layer_rows(l), self.layer_cols()]),
                    bias: packer.next(name("bias"), &[self.layer_cols()]),
                    h0: packer.next(name("h0"), &[c]),
                    c0: packer.next(name("c0"), &[c]),
                }
            })
            .collect();
        let width = self.parts().width();
        let interface = Projection {
            weight: packer.next("interface.weight".into(), &[c, width]),
            bias: packer.next("interface.bias".into(), &[width]),
        };
        Packing { layers, interface, total: packer.total, shapes: packer.shapes, names: packer.names }
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

    /// This part of `packed`, writable.
    pub(super) fn of_mut<T>(self, packed: &mut [T]) -> &mut [T] {
        &mut packed[self.start..self.start + self.len]
    }
}

/// LSTM controller layer l's parameters.
#[derive(Debug, Clone, Copy)]
pub(super) struct ControllerLayer {
    /// `[rows, 4C]`: the rows of the layer's input (layer 0: x_t, then r_{t-1}^1 .. R; above:
    /// h^{l-1}_t), then those of its own h^l_{t-1}; columns the gates i, f, g, o.
    pub(super) weight: Span,
    /// `[4C]`.
    pub(super) bias: Span,
    /// The initial state h^l_0 and c^l_0, `[C]` each.
    pub(super) h0: Span,
    pub(super) c0: Span,
}

/// The interface xi_t = h_t W + b.
#[derive(Debug, Clone, Copy)]
pub(super) struct Projection {
    /// `[C, I]`.
    pub(super) weight: Span,
    /// `[I]`.
    pub(super) bias: Span,
}

/// Every parameter's place in the packed vector (built by [`DncSizes::packing`]).
#[derive(Debug, Clone)]
pub(super) struct Packing {
    pub(super) layers: Vec<ControllerLayer>,
    pub(super) interface: Projection,
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
