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

/// How much of the tape the forward keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Keep {
    /// Every step's intermediates, `[T, B, ·]` (and T + 1 memories): what the backward and
    /// the traces read.
    All,
    /// Only the current and the previous step's, in two places used in turn (step t in place
    /// t mod 2): O(B N M) besides the features, for a forward that has no backward.
    Last,
}

impl Keep {
    /// Steps kept of a sequence of `time` steps.
    fn steps(self, time: usize) -> usize {
        match self {
            Keep::All => time,
            Keep::Last => time.min(2),
        }
    }

    /// Where step t's intermediates sit, in steps.
    fn place(self, t: usize) -> usize {
        match self {
            Keep::All => t,
            Keep::Last => t % 2,
        }
    }
}

/// `buf[from..][..len]` to read and `buf[to..][..len]` to write, two parts that do not
/// overlap, in either order.
fn read_and_write<T>(buf: &mut [T], from: usize, to: usize, len: usize) -> (&[T], &mut [T]) {
    if from < to {
        let (a, b) = buf.split_at_mut(to);
        (&a[from..][..len], &mut b[..len])
    } else {
        let (a, b) = buf.split_at_mut(from);
        (&b[..len], &mut a[to..][..len])
    }
}

/// A head's previous weighting (as [`Tape::previous`]) and its saved slots for row b at step
/// t, to be written, from its `addressing` tape (kept as `keep` says) and `initial` weighting.
fn previous_and_now<'a, T: Real>(
    addressing: &'a mut [T],
    initial: &'a [T],
    keep: Keep,
    (t, b, batch): (usize, usize, usize),
    n: usize,
) -> (&'a [T], &'a mut [T]) {
    let row = (keep.place(t) * batch + b) * SLOTS * n;
    if t == 0 {
        (initial, &mut addressing[row..][..SLOTS * n])
    } else {
        let before = (keep.place(t - 1) * batch + b) * SLOTS * n;
        let (previous, now) = read_and_write(addressing, before, row, SLOTS * n);
        (&previous[..n], now)
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
    let (c, n, m) = (sizes.hidden, sizes.slots, sizes.width);
    let (reads, heads, layers) = (sizes.read_heads, sizes.heads(), sizes.layers);
    let (cols, feat, nm) = (sizes.layer_cols(), sizes.features(), n * m);
    let zero = T::from_f64(0.0);
    let rows: Vec<usize> = (0..layers).map(|l| sizes.layer_rows(l)).collect();
    let widths: Vec<usize> = (0..heads).map(|k| sizes.head_width(k)).collect();
    let lstm = sizes.lstm();
    let kept = keep.steps(time);
    let per_step = |width: usize| vec![zero; kept * batch * width];
    let mut tape = Tape {
        time,
        batch,
        xh: rows.iter().map(|&r| per_step(r)).collect(),
        gates: (0..layers).map(|_| if lstm { per_step(cols) } else { Vec::new() }).collect(),
        cells: (0..layers).map(|_| if lstm { per_step(c) } else { Vec::new() }).collect(),
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
        // Keep::All: filled step by step below, each new memory a copy of the last.
        memory: Vec::with_capacity((kept + 1) * batch * nm),
        // The features are the output: every step's, whatever is kept.
        features: vec![zero; time * batch * feat],
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
    if keep == Keep::Last {
        // M_{t-1} in place t mod 2, M_t in the other: [2, B, M, N].
        tape.memory.resize(2 * batch * nm, zero);
    }
    let mut pre = vec![zero; batch * cols];
    for t in 0..time {
        // tb: step t's rows in the inputs and features; sb: in the rest of the tape, whose
        // previous step's rows start at pb.
        let tb = t * batch;
        let sb = keep.place(t) * batch;
        let pb = if t == 0 { 0 } else { keep.place(t - 1) * batch };
        // Controller, layer by layer.
        for (l, layer) in packing.layers.iter().enumerate() {
            let r = rows[l];
            let inputs = sizes.layer_inputs(l);
            for b in 0..batch {
                let row = &mut tape.xh[l][(sb + b) * r..][..r];
                if l == 0 {
                    row[..sizes.inputs].copy_from_slice(&x[(tb + b) * sizes.inputs..][..sizes.inputs]);
                    for i in 0..reads {
                        let read = &mut row[sizes.inputs + i * m..][..m];
                        if t == 0 {
                            read.copy_from_slice(packing.initial_reads[i].of(p));
                        } else {
                            read.copy_from_slice(&tape.features[((tb - batch) + b) * feat + c + i * m..][..m]);
                        }
                    }
                } else {
                    row[..c].copy_from_slice(&tape.hidden[l - 1][(sb + b) * c..][..c]);
                }
                if let Some(initial) = layer.initial {
                    let h_prev = if t == 0 { initial.hidden.of(p) } else { &tape.hidden[l][(pb + b) * c..][..c] };
                    row[inputs..].copy_from_slice(h_prev);
                }
            }
            let bias = layer.bias.of(p);
            for b in 0..batch {
                pre[b * cols..(b + 1) * cols].copy_from_slice(bias);
            }
            let xh_t = &tape.xh[l][sb * r..(sb + batch) * r];
            matmul(&mut pre, true, xh_t, (r, 1), layer.weight.of(p), (cols, 1), (batch, cols, r));
            for b in 0..batch {
                let hv = &mut tape.hidden[l][(sb + b) * c..][..c];
                if let Some(initial) = layer.initial {
                    let gates = &mut tape.gates[l][(sb + b) * cols..][..cols];
                    gates.copy_from_slice(&pre[b * cols..(b + 1) * cols]);
                    let (c_prev, c_now) = if t == 0 {
                        (initial.cell.of(p), &mut tape.cells[l][(sb + b) * c..][..c])
                    } else {
                        read_and_write(&mut tape.cells[l], (pb + b) * c, (sb + b) * c, c)
                    };
                    cell_forward(gates, c_prev, c_now, hv);
                } else {
                    for (h, &z) in hv.iter_mut().zip(&pre[b * cols..(b + 1) * cols]) {
                        *h = z.tanh();
                    }
                }
            }
        }
        let top = &tape.hidden[layers - 1][sb * c..(sb + batch) * c];
        // Head projections and activations.
        for (k, projection) in packing.heads.iter().enumerate() {
            let w = widths[k];
            let raw = &mut tape.raw[k][sb * w..(sb + batch) * w];
            for b in 0..batch {
                raw[b * w..(b + 1) * w].copy_from_slice(projection.bias.of(p));
            }
            matmul(raw, true, top, (c, 1), projection.weight.of(p), (w, 1), (batch, w, c));
            for b in 0..batch {
                let (raw, act) = (&tape.raw[k][(sb + b) * w..][..w], &mut tape.act[k][(sb + b) * w..][..w]);
                addr::activate(raw, act, sizes.parts());
            }
        }
        // Addressing, write, read; row by row.
        for b in 0..batch {
            // M_{t-1} of row b, and where M_t goes: batch rows further (Keep::All), or in
            // the other place (Keep::Last).
            let (at, next) = match keep {
                Keep::All => {
                    let at = (tb + b) * nm;
                    tape.memory.extend_from_within(at..at + nm);
                    (at, at + batch * nm)
                }
                Keep::Last => {
                    let (at, next) = ((sb + b) * nm, ((1 - keep.place(t)) * batch + b) * nm);
                    let (m_prev, m_next) = read_and_write(&mut tape.memory, at, next, nm);
                    m_next.copy_from_slice(m_prev);
                    (at, next)
                }
            };
            let (m_prev, m_next) = read_and_write(&mut tape.memory, at, next, nm);
            for k in reads..heads {
                let (prev, saved) =
                    previous_and_now(&mut tape.addressing[k], &tape.initial_weightings[k], keep, (t, b, batch), n);
                let w = sizes.head_width(k);
                let act = &tape.act[k][(sb + b) * w..][..w];
                addr::address_forward(act, m_prev, prev, &sizes.shifts, saved);
            }
            let writes: Vec<WriteHead<T>> =
                (reads..heads).map(|k| write_head(&tape.act[k], &tape.addressing[k], sizes, sb + b)).collect();
            mem::write(&writes, m_next);
            let features = &mut tape.features[(tb + b) * feat..][..feat];
            features[..c].copy_from_slice(&tape.hidden[layers - 1][(sb + b) * c..][..c]);
            for k in 0..reads {
                let (prev, saved) =
                    previous_and_now(&mut tape.addressing[k], &tape.initial_weightings[k], keep, (t, b, batch), n);
                let act = &tape.act[k][(sb + b) * widths[k]..][..widths[k]];
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
    WriteHead { weighting: &addressing[row * SLOTS * n..][..n], erase: &act[parts.erase()], add: &act[parts.add()] }
}
