//! The forward pass of the fused NTM over a whole sequence, and the [`Tape`] it keeps of every
//! intermediate for the backward pass and for traces.

use crate::fused::addressing::{self as addr, SLOTS};
use crate::fused::kernel::{matmul, softmax, Real};
use crate::fused::lstm::cell_forward;
use crate::fused::memory::{self as mem, WriteHead};

use super::sizes::{NtmSizes, Packing};

/// Everything the forward computed, `[T, B, ·]` per quantity unless noted.
pub(super) struct Tape<T> {
    pub(super) time: usize,
    pub(super) batch: usize,
    /// Per layer: its input rows `[input, h_{t-1}]`.
    pub(super) xh: Vec<Vec<T>>,
    /// Per layer: LSTM activated gates `[4C]` (empty for feed-forward layers).
    pub(super) gates: Vec<Vec<T>>,
    /// Per layer: LSTM cell states `[C]` (empty for feed-forward layers).
    pub(super) cells: Vec<Vec<T>>,
    /// Per layer: outputs h `[C]`.
    pub(super) hidden: Vec<Vec<T>>,
    /// Per head: the projection before clipping and activations `[P]`.
    pub(super) raw: Vec<Vec<T>>,
    /// Per head: the activated parameters `[P]`.
    pub(super) act: Vec<Vec<T>>,
    /// Per head: [`addr::address_forward`]'s saved slots `[SLOTS, N]`.
    pub(super) addressing: Vec<Vec<T>>,
    /// Per head: the initial weighting `[N]` (no batch or time).
    pub(super) initial_weightings: Vec<Vec<T>>,
    /// Memories M_0 .. M_T, stored by columns: `[T + 1, B, M, N]`.
    pub(super) memory: Vec<T>,
    /// The op's output `[T, B, C + R M]`.
    pub(super) features: Vec<T>,
}

impl<T: Real> Tape<T> {
    /// Head k's previous weighting for row b at step t: its weighting at t - 1, or the initial one.
    pub(super) fn previous(&self, k: usize, t: usize, b: usize, n: usize) -> &[T] {
        if t == 0 {
            &self.initial_weightings[k]
        } else {
            &self.addressing[k][((t - 1) * self.batch + b) * SLOTS * n..][..n]
        }
    }

    /// Head k's saved addressing slots for row b at step t.
    pub(super) fn addressed(&self, k: usize, t: usize, b: usize, n: usize) -> &[T] {
        &self.addressing[k][(t * self.batch + b) * SLOTS * n..][..SLOTS * n]
    }
}

/// A head's previous weighting (as [`Tape::previous`]) and its saved slots for row b at step
/// t, to be written, from its `addressing` tape and `initial` weighting.
fn previous_and_now<'a, T: Real>(
    addressing: &'a mut [T],
    initial: &'a [T],
    (t, b, batch): (usize, usize, usize),
    n: usize,
) -> (&'a [T], &'a mut [T]) {
    let row = (t * batch + b) * SLOTS * n;
    let (done, now) = addressing.split_at_mut(row);
    let previous = if t == 0 {
        initial
    } else {
        &done[row - batch * SLOTS * n..][..n]
    };
    (previous, &mut now[..SLOTS * n])
}

/// The forward pass over all steps: `p` packed parameters as `packing` says, `x` `[T, B, X]`.
pub(super) fn forward<T: Real>(
    sizes: &NtmSizes,
    packing: &Packing,
    p: &[T],
    x: &[T],
    time: usize,
    batch: usize,
) -> Tape<T> {
    let (c, n, m) = (sizes.hidden, sizes.slots, sizes.width);
    let (reads, heads, layers) = (sizes.read_heads, sizes.heads(), sizes.layers);
    let (cols, feat, nm) = (sizes.layer_cols(), sizes.features(), n * m);
    let zero = T::from_f64(0.0);
    let rows: Vec<usize> = (0..layers).map(|l| sizes.layer_rows(l)).collect();
    let widths: Vec<usize> = (0..heads).map(|k| sizes.head_width(k)).collect();
    let lstm = sizes.lstm();
    let per_step = |width: usize| vec![zero; time * batch * width];
    let mut tape = Tape {
        time,
        batch,
        xh: rows.iter().map(|&r| per_step(r)).collect(),
        gates: (0..layers)
            .map(|_| if lstm { per_step(cols) } else { Vec::new() })
            .collect(),
        cells: (0..layers)
            .map(|_| if lstm { per_step(c) } else { Vec::new() })
            .collect(),
        hidden: (0..layers).map(|_| per_step(c)).collect(),
        raw: widths.iter().map(|&w| per_step(w)).collect(),
        act: widths.iter().map(|&w| per_step(w)).collect(),
        addressing: (0..heads).map(|_| per_step(SLOTS * n)).collect(),
        initial_weightings: (0..heads)
            .map(|k| {
                let mut w = packing.initial_logits[k].of(p).to_vec();
                softmax(&mut w);
                w
            })
            .collect(),
        // Filled step by step below: each new memory starts as a copy of the last.
        memory: Vec::with_capacity((time + 1) * batch * nm),
        features: per_step(feat),
    };
    let initial = packing.initial_memory.of(p); // [N, M]
    tape.memory.resize(batch * nm, zero);
    for b in 0..batch {
        let by_columns = &mut tape.memory[b * nm..(b + 1) * nm]; // [M, N]
        for (i, row) in initial.chunks_exact(m).enumerate() {
            for (c, &v) in row.iter().enumerate() {
                by_columns[c * n + i] = v;
            }
        }
    }
    let mut pre = vec![zero; batch * cols];
    for t in 0..time {
        let tb = t * batch;
        // Controller, layer by layer.
        for (l, layer) in packing.layers.iter().enumerate() {
            let r = rows[l];
            let inputs = sizes.layer_inputs(l);
            for b in 0..batch {
                let row = &mut tape.xh[l][(tb + b) * r..][..r];
                if l == 0 {
                    row[..sizes.inputs]
                        .copy_from_slice(&x[(tb + b) * sizes.inputs..][..sizes.inputs]);
                    for i in 0..reads {
                        let read = &mut row[sizes.inputs + i * m..][..m];
                        if t == 0 {
                            read.copy_from_slice(packing.initial_reads[i].of(p));
                        } else {
                            read.copy_from_slice(
                                &tape.features[((tb - batch) + b) * feat + c + i * m..][..m],
                            );
                        }
                    }
                } else {
                    row[..c].copy_from_slice(&tape.hidden[l - 1][(tb + b) * c..][..c]);
                }
                if let Some(initial) = layer.initial {
                    let h_prev = if t == 0 {
                        initial.hidden.of(p)
                    } else {
                        &tape.hidden[l][(tb - batch + b) * c..][..c]
                    };
                    row[inputs..].copy_from_slice(h_prev);
                }
            }
            let bias = layer.bias.of(p);
            for b in 0..batch {
                pre[b * cols..(b + 1) * cols].copy_from_slice(bias);
            }
            let xh_t = &tape.xh[l][tb * r..(tb + batch) * r];
            matmul(
                &mut pre,
                true,
                xh_t,
                (r, 1),
                layer.weight.of(p),
                (cols, 1),
                (batch, cols, r),
            );
            for b in 0..batch {
                let hv = &mut tape.hidden[l][(tb + b) * c..][..c];
                if let Some(initial) = layer.initial {
                    let gates = &mut tape.gates[l][(tb + b) * cols..][..cols];
                    gates.copy_from_slice(&pre[b * cols..(b + 1) * cols]);
                    let (done, now) = tape.cells[l].split_at_mut(tb * c);
                    let c_prev = if t == 0 {
                        initial.cell.of(p)
                    } else {
                        &done[(tb - batch + b) * c..][..c]
                    };
                    cell_forward(gates, c_prev, &mut now[b * c..(b + 1) * c], hv);
                } else {
                    for (h, &z) in hv.iter_mut().zip(&pre[b * cols..(b + 1) * cols]) {
                        *h = z.tanh();
                    }
                }
            }
        }
        let top = &tape.hidden[layers - 1][tb * c..(tb + batch) * c];
        // Head projections and activations.
        for (k, projection) in packing.heads.iter().enumerate() {
            let w = widths[k];
            let raw = &mut tape.raw[k][tb * w..(tb + batch) * w];
            for b in 0..batch {
                raw[b * w..(b + 1) * w].copy_from_slice(projection.bias.of(p));
            }
            matmul(
                raw,
                true,
                top,
                (c, 1),
                projection.weight.of(p),
                (w, 1),
                (batch, w, c),
            );
            for b in 0..batch {
                let (raw, act) = (
                    &tape.raw[k][(tb + b) * w..][..w],
                    &mut tape.act[k][(tb + b) * w..][..w],
                );
                addr::activate(raw, act, sizes.parts());
            }
        }
        // Addressing, write, read; row by row.
        for b in 0..batch {
            let at = (tb + b) * nm; // M_{t-1} of row b; M_t goes batch rows further
            tape.memory.extend_from_within(at..at + nm);
            let (past, m_next) = tape.memory.split_at_mut(at + batch * nm);
            let m_prev = &past[at..at + nm];
            for k in reads..heads {
                let (prev, saved) = previous_and_now(
                    &mut tape.addressing[k],
                    &tape.initial_weightings[k],
                    (t, b, batch),
                    n,
                );
                let act = &tape.act[k][(tb + b) * widths[k]..][..widths[k]];
                addr::address_forward(act, m_prev, prev, &sizes.shifts, saved);
            }
            let writes: Vec<WriteHead<T>> = (reads..heads)
                .map(|k| write_head(&tape.act[k], &tape.addressing[k], sizes, tb + b))
                .collect();
            mem::write(&writes, m_next);
            let features = &mut tape.features[(tb + b) * feat..][..feat];
            features[..c].copy_from_slice(&tape.hidden[layers - 1][(tb + b) * c..][..c]);
            for k in 0..reads {
                let (prev, saved) = previous_and_now(
                    &mut tape.addressing[k],
                    &tape.initial_weightings[k],
                    (t, b, batch),
                    n,
                );
                let act = &tape.act[k][(tb + b) * widths[k]..][..widths[k]];
                addr::address_forward(act, m_next, prev, &sizes.shifts, saved);
                mem::read(&saved[..n], m_next, &mut features[c + k * m..][..m]);
            }
        }
    }
    tape
}

/// A write head's weighting, erase and add for tape row `row` (= t B + b), from its
/// activated parameters `act` and `addressing` tapes.
pub(super) fn write_head<'a, T: Real>(
    act: &'a [T],
    addressing: &'a [T],
    sizes: &NtmSizes,
    row: usize,
) -> WriteHead<'a, T> {
    let (n, parts) = (sizes.slots, sizes.parts());
    let width = parts.add().end;
    let act = &act[row * width..][..width];
    WriteHead {
        weighting: &addressing[row * SLOTS * n..][..n],
        erase: &act[parts.erase()],
        add: &act[parts.add()],
    }
}
