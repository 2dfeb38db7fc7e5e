//! The forward pass of the fused DNC over a whole sequence, keeping its [`Tape`].
//!
//! Step t (M_{t-1} -> M_t) runs in three parts, each a function below; the backward
//! (`backward.rs`) runs them in reverse (access_backward, then controller_backward with the
//! interface's projection):
//! ```text
//! controller_forward  z^l = [input_l, h^l_{t-1}] W_l + b_l, LSTM cell, layer by layer   -> h^l_t    [B, C]
//!                     (input_0 = [x_t, r^1_{t-1} .. r^R_{t-1}], input_l = h^{l-1}_t)
//! interface_forward   xi_t = h^L_t W + b, clipped and activated                          -> act_t    [B, I]
//! access_forward      retention, usage, allocation; write content on M_{t-1}; write weighting;
//!                     M_t = erase then add; link, precedence; per read head forward, backward
//!                     and content weightings (on M_t), its mode mix and read r^i_t         -> features [C + R W]
//! ```
//! The controller and the interface take all B batch rows at once (one matmul per layer and
//! one for the interface); the memory access goes row by row.

use crate::base::kinds::ReadMode;
use crate::fused::addressing::{content_forward, Content};
use crate::fused::kernel::{matmul, Real};
use crate::fused::lstm::cell_forward;
use crate::fused::memory::{self as mem, WriteHead};
use crate::fused::tape::{Keep, Step};

use super::allocation::{allocation_forward, usage_forward};
use super::interface::activate;
use super::linkage::{link_forward, precedence_forward, LinkInputs};
use super::sizes::{DncSizes, Packing};
use super::tape::{slot, ReadMut, StateMut, Tape, PRECEDENCE, READ_WEIGHTING, USAGE, WRITE_WEIGHTING};

/// What every part of the forward reads: the sizes, the packed parameters `p` (placed as
/// `packing` says) and the inputs `x` `[T, B, X]`.
struct Given<'a, T> {
    sizes: &'a DncSizes,
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

/// Working buffers of [`access_forward`].
struct Scratch<T> {
    /// The read weightings of the step before, `[R, N]`, one row's.
    previous_reads: Vec<T>,
    /// Zeros, `[max(N^2, N)]`: the state before the first step.
    zeros: Vec<T>,
    /// Each read head's forward and backward weightings `[R, 2, N]`, one row's.
    directional: Vec<T>,
}

/// The forward pass over all steps: `p` packed parameters as `packing` says, `x` `[T, B, X]`.
/// With [`Keep::Last`] the tape keeps only the last two steps (and memories) and serves
/// nothing but its features; every value computed is the same, bit for bit, as with
/// [`Keep::All`] (the same operations in the same order, only stored elsewhere).
pub(super) fn forward<T: Real>(
    sizes: &DncSizes,
    packing: &Packing,
    p: &[T],
    x: &[T],
    (time, batch): (usize, usize),
    keep: Keep,
) -> Tape<T> {
    let given = Given { sizes, packing, p, x };
    let mut tape = Tape::new(sizes, (time, batch), keep);
    let n = sizes.slots;
    let zero = T::from_f64(0.0);
    let mut z = vec![zero; batch * sizes.layer_cols()];
    let links = if sizes.uses_links() { n * n } else { n };
    let mut scratch = Scratch {
        previous_reads: vec![zero; sizes.read_heads * n],
        zeros: vec![zero; links.max(n)],
        directional: vec![zero; 2 * sizes.read_heads * n],
    };
    for t in 0..time {
        let step = Step::new(t, batch, keep);
        controller_forward(&given, step, &mut tape, &mut z);
        interface_forward(&given, step, &mut tape);
        for b in 0..batch {
            access_forward(&given, (step, b), &mut tape, &mut scratch);
        }
    }
    tape
}

/// The LSTM controller at step t, all batch rows, layer by layer from the bottom. Per layer
/// l: its input rows `[input_l, h^l_{t-1}]` `[B, rows]` onto the tape ([`layer_input`]); the
/// pre-activations z = [input_l, h^l_{t-1}] W_l + b_l `[B, 4C]`, one matmul for all rows;
/// then per row i, f, g, o = gates(z), c^l_t = f c^l_{t-1} + i g, h^l_t = o tanh(c^l_t), the
/// gates `[4C]`, c^l_t and h^l_t `[C]` onto the tape.
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
            let gates = tape.gates[l].row_mut(row);
            gates.copy_from_slice(z);
            let (c_prev, c) = match step.previous_row(b) {
                None => (layer.c0.of(p), tape.cells[l].row_mut(row)),
                Some(before) => tape.cells[l].read_and_write(before, row),
            };
            cell_forward(gates, c_prev, c, h);
        }
    }
}

/// Layer l's input row at step t for batch row b, onto the tape: input_0 = [x_t, r^1_{t-1} ..
/// r^R_{t-1}] (the reads of step t - 1; zeros at t = 0) or input_l = h^{l-1}_t, then the
/// layer's own h^l_{t-1} (h^l_0 at t = 0).
fn layer_input<T: Real>(given: &Given<T>, l: usize, (step, b): (Step, usize), tape: &mut Tape<T>) {
    let (sizes, p) = (given.sizes, given.p);
    let row = tape.xh[l].row_mut(step.row(b));
    if l == 0 {
        let (x, c) = (sizes.inputs, sizes.hidden);
        row[..x].copy_from_slice(given.inputs(step.sequence_row(b)));
        let reads = &mut row[x..sizes.layer_inputs(0)];
        match step.previous_sequence_row(b) {
            None => reads.fill(T::from_f64(0.0)),
            Some(before) => reads.copy_from_slice(&tape.features.row(before)[c..]),
        }
    } else {
        row[..sizes.hidden].copy_from_slice(tape.hidden[l - 1].row(step.row(b)));
    }
    let h_prev = match step.previous_row(b) {
        None => given.packing.layers[l].h0.of(p),
        Some(before) => tape.hidden[l].row(before),
    };
    row[sizes.layer_inputs(l)..].copy_from_slice(h_prev);
}

/// The interface at step t, all batch rows: xi_t = h^L_t W + b `[B, I]`, one matmul for all
/// rows, then per row its activated parts ([`activate`]), both onto the tape.
fn interface_forward<T: Real>(given: &Given<T>, step: Step, tape: &mut Tape<T>) {
    let (sizes, p, batch) = (given.sizes, given.p, tape.batch);
    let (c, parts) = (sizes.hidden, sizes.parts());
    let (width, projection) = (parts.width(), given.packing.interface);
    let top = tape.hidden[sizes.layers - 1].rows(step.rows()); // [B, C]
    let raw = tape.raw.rows_mut(step.rows()); // [B, I]
    for raw in raw.chunks_exact_mut(width) {
        raw.copy_from_slice(projection.bias.of(p));
    }
    matmul(raw, true, top, (c, 1), projection.weight.of(p), (width, 1), (batch, width, c));
    for b in 0..batch {
        let row = step.row(b);
        activate(tape.raw.row(row), tape.act.row_mut(row), parts);
    }
}

/// The memory access at step t, batch row b (the equations of [`crate::pieces::dnc`], in
/// their order), and its row of features `[h^L_t, r^1_t .. r^R_t]`.
fn access_forward<T: Real>(given: &Given<T>, (step, b): (Step, usize), tape: &mut Tape<T>, scratch: &mut Scratch<T>) {
    let sizes = given.sizes;
    let (c, n, w, parts) = (sizes.hidden, sizes.slots, sizes.width, sizes.parts());
    let (before, row) = (step.previous_row(b), step.row(b));
    for (reads, previous) in tape.reads.iter().zip(scratch.previous_reads.chunks_exact_mut(n)) {
        match before {
            None => previous.fill(T::from_f64(0.0)),
            Some(r) => previous.copy_from_slice(slot(reads.row(r), READ_WEIGHTING, n)),
        }
    }
    let act = tape.act.row(row);
    let (previous, now) = match before {
        None => (None, tape.state.row_mut(row)),
        Some(r) => {
            let (previous, now) = tape.state.read_and_write(r, row);
            (Some(previous), now)
        }
    };
    let zeros = &scratch.zeros;
    let prev = |k: usize| previous.map_or(&zeros[..n], |p| slot(p, k, n));
    let s = StateMut::new(now, n);

    // Retention, usage, allocation.
    let free = &act[parts.free_gates()];
    usage_forward(free, &scratch.previous_reads, prev(USAGE), prev(WRITE_WEIGHTING), s.retention, s.usage);
    allocation_forward(s.usage, &mut tape.order[row * n..(row + 1) * n], s.allocation);

    // The write: content on M_{t-1}, the write weighting, erase then add.
    let (m_before, m_now) = step.memory_rows(b);
    let (m_before, m_now) = tape.memory.copy_row(m_before, m_now);
    let (key, strength) = (&act[parts.write_key()], act[parts.write_strength()]);
    let content = Content { weighting: s.write_content, cosine: s.write_cosine, row_norm: s.write_row_norm };
    content_forward(key, strength, m_before, content);
    let (ga, gw) = (act[parts.allocation_gate()], act[parts.write_gate()]);
    for ((ww, &a), &cw) in s.write_weighting.iter_mut().zip(s.allocation.iter()).zip(s.write_content.iter()) {
        *ww = (cw + (a - cw) * ga) * gw;
    }
    let head =
        WriteHead { weighting: &*s.write_weighting, erase: &act[parts.erase()], add: &act[parts.write_vector()] };
    mem::write(&[head], m_now);
    let m_now = &*m_now;

    // Link (reads p_{t-1}) with every head's forward and backward weightings, then precedence.
    if sizes.uses_links() {
        let (previous_link, link) = match before {
            None => (&zeros[..n * n], tape.link.row_mut(row)),
            Some(r) => tape.link.read_and_write(r, row),
        };
        let inputs = LinkInputs {
            previous: previous_link,
            write: &*s.write_weighting,
            precedence: prev(PRECEDENCE),
            reads: &scratch.previous_reads,
        };
        link_forward(&inputs, link, &mut scratch.directional);
    }
    precedence_forward(prev(PRECEDENCE), s.write_weighting, s.precedence);

    // The reads, each over M_t.
    let features = tape.features.row_mut(step.sequence_row(b));
    features[..c].copy_from_slice(tape.hidden[sizes.layers - 1].row(row));
    for (i, directional) in scratch.directional.chunks_exact(2 * n).enumerate() {
        let r = ReadMut::new(tape.reads[i].row_mut(row), n);
        if sizes.uses_links() {
            r.forward.copy_from_slice(&directional[..n]);
            r.backward.copy_from_slice(&directional[n..]);
        }
        let (key, strength) = (&act[parts.read_key(i)], act[parts.read_strength(i)]);
        content_forward(key, strength, m_now, Content { weighting: r.content, cosine: r.cosine, row_norm: r.row_norm });
        let modes = &act[parts.read_modes(i)];
        for (k, mode) in sizes.read_modes.iter().enumerate() {
            let by_mode: &[T] = match mode {
                ReadMode::Backward => &*r.backward,
                ReadMode::Content => &*r.content,
                ReadMode::Forward => &*r.forward,
            };
            if k == 0 {
                for (x, &v) in r.weighting.iter_mut().zip(by_mode) {
                    *x = v * modes[0];
                }
            } else {
                for (x, &v) in r.weighting.iter_mut().zip(by_mode) {
                    *x += v * modes[k];
                }
            }
        }
        mem::read(r.weighting, m_now, &mut features[c + i * w..c + (i + 1) * w]);
    }
}
