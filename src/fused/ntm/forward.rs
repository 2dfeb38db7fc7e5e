//! The forward pass of the fused NTM over a whole sequence, keeping its [`Tape`].
//!
//! Step t (M_{t-1} -> M_t) runs in four parts, each a function below; the backward
//! (`backward.rs`) runs them in reverse, as read_backward and write_backward (each with its
//! heads' addressing and activations) and controller_backward (with the heads' projections):
//! ```text
//! controller_forward  z^l = [input_l, h^l_{t-1}] W_l + b_l, LSTM cell or tanh, layer by layer -> h^l_t     [B, C]
//! heads_forward       raw_t^k = h^L_t W_k + b_k, clipped and activated                        -> act_t^k   [B, P]
//! write_forward       write heads addressed over M_{t-1}; M_t = M_{t-1} erased, then added to -> M_t       [M, N]
//! read_forward        read heads addressed over M_t; r_t^k = (w_t^k)^T M_t                   -> features  [C + R M]
//! ```
//! The controller and the heads take all B batch rows at once (one matmul per layer and per
//! head); the write and the read go row by row.

use crate::fused::addressing as addr;
use crate::fused::kernel::{matmul, Real};
use crate::fused::lstm::cell_forward;
use crate::fused::memory::{self as mem, WriteHead};
use crate::fused::tape::{Keep, Step};

use super::sizes::{NtmSizes, Packing};
use super::tape::{previous_and_now, weighting, write_head, Tape};

/// What every part of the forward reads: the sizes, the packed parameters `p` (placed as
/// `packing` says) and the inputs `x` `[T, B, X]`.
struct Given<'a, T> {
    sizes: &'a NtmSizes,
    packing: &'a Packing,
    p: &'a [T],
    x: &'a [T],
}

impl<T> Given<'_, T> {
    /// Row `i` of the inputs, x_t for one batch row `[X]`.
    fn inputs(&self, i: usize) -> &[T] {
        let width = self.sizes.inputs;
        &self.x[i * width..][..width]
    }
}

/// The forward pass over all steps: `p` packed parameters as `packing` says, `x` `[T, B, X]`.
/// With [`Keep::Last`] the tape keeps only the last two steps (and memories) and serves
/// nothing but its features; every value computed is the same, bit for bit, as with
/// [`Keep::All`] (the same operations in the same order, only stored elsewhere).
pub(super) fn forward<T: Real>(
    sizes: &NtmSizes,
    packing: &Packing,
    p: &[T],
    x: &[T],
    (time, batch): (usize, usize),
    keep: Keep,
) -> Tape<T> {
    let given = Given { sizes, packing, p, x };
    let mut tape = Tape::new(sizes, packing, p, (time, batch), keep);
    // One layer's pre-activations z [B, cols], for every layer and step in turn.
    let mut z = vec![T::from_f64(0.0); batch * sizes.layer_cols()];
    for t in 0..time {
        let step = Step::new(t, batch, keep);
        controller_forward(&given, step, &mut tape, &mut z);
        heads_forward(&given, step, &mut tape);
        for b in 0..batch {
            write_forward(&given, (step, b), &mut tape);
            read_forward(&given, (step, b), &mut tape);
        }
    }
    tape
}

/// The controller at step t, all batch rows, layer by layer from the bottom (section 3,
/// figure 1). Per layer l: its input rows `[input_l, h^l_{t-1}]` `[B, rows]` onto the tape
/// ([`layer_input`]); the pre-activations z = [input_l, h^l_{t-1}] W_l + b_l `[B, cols]`,
/// one matmul for all rows, into `z`; then per row its output h^l_t `[C]`: (LSTM) i, f, g, o
/// = gates(z), c^l_t = f c^l_{t-1} + i g, h^l_t = o tanh(c^l_t), the gates `[4C]` and c^l_t
/// `[C]` onto the tape too; (feed-forward) h^l_t = tanh(z).
fn controller_forward<T: Real>(given: &Given<T>, step: Step, tape: &mut Tape<T>, z: &mut [T]) {
    let (p, batch, cols) = (given.p, tape.batch, given.sizes.layer_cols());
    for (l, layer) in given.packing.layers.iter().enumerate() {
        let rows = given.sizes.layer_rows(l);
        for b in 0..batch {
            layer_input(given, l, (step, b), tape);
        }
        for z in z.chunks_exact_mut(cols) {
            z.copy_from_slice(layer.bias.of(p));
        }
        let input = tape.xh[l].rows(step.rows()); // [B, rows]
        matmul(z, true, input, (rows, 1), layer.weight.of(p), (cols, 1), (batch, cols, rows));
        for (b, z) in z.chunks_exact(cols).enumerate() {
            let row = step.row(b);
            let h = tape.hidden[l].row_mut(row);
            if let Some(initial) = layer.initial {
                let gates = tape.gates[l].row_mut(row);
                gates.copy_from_slice(z);
                let (c_prev, c) = match step.previous_row(b) {
                    None => (initial.cell.of(p), tape.cells[l].row_mut(row)),
                    Some(before) => tape.cells[l].read_and_write(before, row),
                };
                cell_forward(gates, c_prev, c, h);
            } else {
                for (h, &z) in h.iter_mut().zip(z) {
                    *h = z.tanh();
                }
            }
        }
    }
}

/// Layer l's input row at step t for batch row b, onto the tape: input_0 = [x_t, r_{t-1}^1 ..
/// r_{t-1}^R] (the reads of step t - 1, r_0 at t = 0) or input_l = h^{l-1}_t, then (LSTM) the
/// layer's own h^l_{t-1} (h^l_0 at t = 0).
fn layer_input<T: Real>(given: &Given<T>, l: usize, (step, b): (Step, usize), tape: &mut Tape<T>) {
    let (sizes, packing, p) = (given.sizes, given.packing, given.p);
    let row = tape.xh[l].row_mut(step.row(b));
    if l == 0 {
        row[..sizes.inputs].copy_from_slice(given.inputs(step.sequence_row(b)));
        for k in 0..sizes.read_heads {
            let read = match step.previous_sequence_row(b) {
                None => packing.initial_reads[k].of(p),
                Some(before) => &tape.features.row(before)[sizes.features_read(k)],
            };
            row[sizes.input_read(k)].copy_from_slice(read);
        }
    } else {
        row[..sizes.hidden].copy_from_slice(tape.hidden[l - 1].row(step.row(b)));
    }
    if let Some(initial) = packing.layers[l].initial {
        let h_prev = match step.previous_row(b) {
            None => initial.hidden.of(p),
            Some(before) => tape.hidden[l].row(before),
        };
        row[sizes.layer_inputs(l)..].copy_from_slice(h_prev);
    }
}

/// The heads' parameters at step t, all batch rows: per head k its projection raw_t^k =
/// h^L_t W_k + b_k `[B, P]`, one matmul for all rows, then per row its activated parameters
/// act_t^k `[P]` (clipped; key and add tanh, beta softplus, gate and erase sigmoid, shift
/// softmax, gamma 1 + softplus: [`addr::activate`]), both onto the tape.
fn heads_forward<T: Real>(given: &Given<T>, step: Step, tape: &mut Tape<T>) {
    let (sizes, p, batch) = (given.sizes, given.p, tape.batch);
    let (c, parts) = (sizes.hidden, sizes.parts());
    let top = tape.hidden[sizes.layers - 1].rows(step.rows()); // [B, C]
    for (k, projection) in given.packing.heads.iter().enumerate() {
        let w = sizes.head_width(k);
        let raw = tape.raw[k].rows_mut(step.rows()); // [B, P]
        for raw in raw.chunks_exact_mut(w) {
            raw.copy_from_slice(projection.bias.of(p));
        }
        matmul(raw, true, top, (c, 1), projection.weight.of(p), (w, 1), (batch, w, c));
        for b in 0..batch {
            let row = step.row(b);
            addr::activate(tape.raw[k].row(row), tape.act[k].row_mut(row), parts);
        }
    }
}

/// The write at step t, batch row b (section 3.2, eqs. 3-4). Each write head j addresses
/// M_{t-1} `[M, N]` from its w_{t-1}^j (eqs. 5-9: its saved slots `[SLOTS, N]` onto the tape,
/// w_t^j `[N]` among them); then M_t, first a copy of M_{t-1}, is erased by every head, then
/// added to by every head: M_t = M_{t-1} prod_j (1 - w_t^j e_t^j) + sum_j w_t^j a_t^j.
fn write_forward<T: Real>(given: &Given<T>, (step, b): (Step, usize), tape: &mut Tape<T>) {
    let sizes = given.sizes;
    let (row, heads) = (step.row(b), sizes.read_heads..sizes.heads());
    let (before, now) = step.memory_rows(b);
    let (m_before, m_now) = tape.memory.copy_row(before, now);
    for k in heads.clone() {
        let (previous, slots) = previous_and_now(&mut tape.addressing[k], &tape.initial_weightings[k], step, b);
        addr::address_forward(tape.act[k].row(row), m_before, previous, &sizes.shifts, slots);
    }
    let writes: Vec<WriteHead<T>> =
        heads.map(|k| write_head(&tape.act[k], &tape.addressing[k], sizes.parts(), row)).collect();
    mem::write(&writes, m_now);
}

/// The reads at step t, batch row b, and its row of features `[h^L_t, r_t^1 .. r_t^R]`. Each
/// read head k addresses M_t `[M, N]` from its w_{t-1}^k (eqs. 5-9: its saved slots
/// `[SLOTS, N]` onto the tape, w_t^k `[N]` among them) and reads r_t^k = (w_t^k)^T M_t `[M]`
/// (eq. 2).
fn read_forward<T: Real>(given: &Given<T>, (step, b): (Step, usize), tape: &mut Tape<T>) {
    let sizes = given.sizes;
    let row = step.row(b);
    let (_, now) = step.memory_rows(b);
    let m_now = tape.memory.row(now);
    let features = tape.features.row_mut(step.sequence_row(b));
    features[..sizes.hidden].copy_from_slice(tape.hidden[sizes.layers - 1].row(row));
    for k in 0..sizes.read_heads {
        let (previous, slots) = previous_and_now(&mut tape.addressing[k], &tape.initial_weightings[k], step, b);
        addr::address_forward(tape.act[k].row(row), m_now, previous, &sizes.shifts, slots);
        mem::read(weighting(slots), m_now, &mut features[sizes.features_read(k)]);
    }
}
