//! The forward pass of the fused NTM over a whole sequence, keeping its [`Tape`].

use crate::fused::addressing as addr;
use crate::fused::kernel::{matmul, Real};
use crate::fused::lstm::cell_forward;
use crate::fused::memory::{self as mem, WriteHead};

use super::sizes::{NtmSizes, Packing};
use super::tape::{previous_and_now, weighting, write_head, Keep, Step, Tape};

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
    let (c, layers, reads, heads) = (sizes.hidden, sizes.layers, sizes.read_heads, sizes.heads());
    let (cols, parts, xw) = (sizes.layer_cols(), sizes.parts(), sizes.inputs);
    let mut tape = Tape::new(sizes, packing, p, (time, batch), keep);
    let mut pre = vec![T::from_f64(0.0); batch * cols];
    for t in 0..time {
        let step = Step::new(t, batch, keep);
        // Controller, layer by layer.
        for (l, layer) in packing.layers.iter().enumerate() {
            let r = sizes.layer_rows(l);
            let inputs = sizes.layer_inputs(l);
            for b in 0..batch {
                let row = tape.xh[l].row_mut(step.row(b));
                if l == 0 {
                    row[..xw].copy_from_slice(&x[step.sequence_row(b) * xw..][..xw]);
                    for i in 0..reads {
                        let read = &mut row[sizes.input_read(i)];
                        if t == 0 {
                            read.copy_from_slice(packing.initial_reads[i].of(p));
                        } else {
                            read.copy_from_slice(
                                &tape.features.row(step.sequence_row(b) - batch)[sizes.features_read(i)],
                            );
                        }
                    }
                } else {
                    row[..c].copy_from_slice(tape.hidden[l - 1].row(step.row(b)));
                }
                if let Some(initial) = layer.initial {
                    let h_prev = match step.previous_row(b) {
                        None => initial.hidden.of(p),
                        Some(before) => tape.hidden[l].row(before),
                    };
                    row[inputs..].copy_from_slice(h_prev);
                }
            }
            for z in pre.chunks_exact_mut(cols) {
                z.copy_from_slice(layer.bias.of(p));
            }
            let xh_t = tape.xh[l].rows(step.rows());
            matmul(&mut pre, true, xh_t, (r, 1), layer.weight.of(p), (cols, 1), (batch, cols, r));
            for (b, z) in pre.chunks_exact(cols).enumerate() {
                let hv = tape.hidden[l].row_mut(step.row(b));
                if let Some(initial) = layer.initial {
                    let gates = tape.gates[l].row_mut(step.row(b));
                    gates.copy_from_slice(z);
                    let (c_prev, c_now) = match step.previous_row(b) {
                        None => (initial.cell.of(p), tape.cells[l].row_mut(step.row(b))),
                        Some(before) => tape.cells[l].read_and_write(before, step.row(b)),
                    };
                    cell_forward(gates, c_prev, c_now, hv);
                } else {
                    for (h, &z) in hv.iter_mut().zip(z) {
                        *h = z.tanh();
                    }
                }
            }
        }
        let top = tape.hidden[layers - 1].rows(step.rows());
        // Head projections and activations.
        for (k, projection) in packing.heads.iter().enumerate() {
            let w = sizes.head_width(k);
            let raw = tape.raw[k].rows_mut(step.rows());
            for raw in raw.chunks_exact_mut(w) {
                raw.copy_from_slice(projection.bias.of(p));
            }
            matmul(raw, true, top, (c, 1), projection.weight.of(p), (w, 1), (batch, w, c));
            for b in 0..batch {
                addr::activate(tape.raw[k].row(step.row(b)), tape.act[k].row_mut(step.row(b)), parts);
            }
        }
        // Addressing, write, read; row by row.
        for b in 0..batch {
            let (before, after) = step.memory_rows(b);
            let (m_prev, m_next) = tape.memory.copy_row(before, after);
            for k in reads..heads {
                let (prev, saved) = previous_and_now(&mut tape.addressing[k], &tape.initial_weightings[k], step, b);
                addr::address_forward(tape.act[k].row(step.row(b)), m_prev, prev, &sizes.shifts, saved);
            }
            let writes: Vec<WriteHead<T>> =
                (reads..heads).map(|k| write_head(&tape.act[k], &tape.addressing[k], parts, step.row(b))).collect();
            mem::write(&writes, m_next);
            let features = tape.features.row_mut(step.sequence_row(b));
            features[..c].copy_from_slice(tape.hidden[layers - 1].row(step.row(b)));
            for k in 0..reads {
                let (prev, saved) = previous_and_now(&mut tape.addressing[k], &tape.initial_weightings[k], step, b);
                addr::address_forward(tape.act[k].row(step.row(b)), m_next, prev, &sizes.shifts, saved);
                mem::read(weighting(saved), m_next, &mut features[sizes.features_read(k)]);
            }
        }
    }
    tape
}
