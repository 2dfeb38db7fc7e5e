//! The [`Tape`] the fused NTM's forward keeps of every intermediate, for the backward pass and
//! for traces, and the named views both read it through: a quantity's [`Rows`] and a
//! [`Step`]'s place among them.
//!
//! Every quantity on the tape is one flat buffer `[steps, B, width]`, whose row s B + b holds
//! batch row b of kept step s. [`Keep::All`] keeps every step (step t in place t, so the
//! backward's row of step t and batch row b is t B + b); [`Keep::Last`] only the last two. The
//! inputs `[T, B, X]` and the features `[T, B, C + R M]` hold every step either way.

use std::ops::Range;

use crate::fused::addressing::{SLOTS, SLOT_WEIGHTING};
use crate::fused::kernel::{softmax, Real};
use crate::fused::memory::WriteHead;
use crate::pieces::heads::Parts;

use super::sizes::{NtmSizes, Packing};

/// One quantity on the tape, `[steps, B, width]` flat: one row `[width]` per kept step and
/// batch row.
pub(super) struct Rows<T> {
    values: Vec<T>,
    width: usize,
}

impl<T: Real> Rows<T> {
    /// `rows` rows of zeros.
    fn zeros(rows: usize, width: usize) -> Self {
        Self { values: vec![T::from_f64(0.0); rows * width], width }
    }

    /// Row `i` `[width]`.
    pub(super) fn row(&self, i: usize) -> &[T] {
        &self.values[i * self.width..][..self.width]
    }

    /// Row `i` `[width]`, writable.
    pub(super) fn row_mut(&mut self, i: usize) -> &mut [T] {
        &mut self.values[i * self.width..][..self.width]
    }

    /// Rows `range` `[rows, width]`: a step's batch rows, for a matmul over them.
    pub(super) fn rows(&self, range: Range<usize>) -> &[T] {
        &self.values[range.start * self.width..range.end * self.width]
    }

    /// Rows `range` `[rows, width]`, writable.
    pub(super) fn rows_mut(&mut self, range: Range<usize>) -> &mut [T] {
        &mut self.values[range.start * self.width..range.end * self.width]
    }

    /// Every row `[steps, B, width]`: with [`Keep::All`] all T B of them, for a matmul over
    /// the whole sequence.
    pub(super) fn all(&self) -> &[T] {
        &self.values
    }

    /// The values `[steps, B, width]`, given up.
    pub(super) fn into_values(self) -> Vec<T> {
        self.values
    }

    /// Row `from` to read and row `to` to write, two different rows in either order.
    pub(super) fn read_and_write(&mut self, from: usize, to: usize) -> (&[T], &mut [T]) {
        let w = self.width;
        if from < to {
            let (a, b) = self.values.split_at_mut(to * w);
            (&a[from * w..][..w], &mut b[..w])
        } else {
            let (a, b) = self.values.split_at_mut(from * w);
            (&b[..w], &mut a[to * w..][..w])
        }
    }

    /// Row `from` to read and row `to` to write, `to` first set to a copy of `from`: a row
    /// there already, or the next one past the end, which this appends.
    pub(super) fn copy_row(&mut self, from: usize, to: usize) -> (&[T], &mut [T]) {
        let w = self.width;
        if to * w == self.values.len() {
            self.values.extend_from_within(from * w..(from + 1) * w);
        } else {
            let (source, target) = self.read_and_write(from, to);
            target.copy_from_slice(source);
        }
        self.read_and_write(from, to)
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

/// Where step t's rows sit: in the inputs and the features, which hold every step, and on the
/// tape, which holds the steps its [`Keep`] says.
#[derive(Debug, Clone, Copy)]
pub(super) struct Step {
    pub(super) t: usize,
    batch: usize,
    keep: Keep,
}

impl Step {
    pub(super) fn new(t: usize, batch: usize, keep: Keep) -> Self {
        Self { t, batch, keep }
    }

    /// Batch row b's row in the inputs and the features: t B + b.
    pub(super) fn sequence_row(self, b: usize) -> usize {
        self.t * self.batch + b
    }

    /// Batch row b's row of step t - 1 in the features; none at t = 0.
    pub(super) fn previous_sequence_row(self, b: usize) -> Option<usize> {
        (self.t > 0).then(|| (self.t - 1) * self.batch + b)
    }

    /// Batch row b's row on the tape.
    pub(super) fn row(self, b: usize) -> usize {
        self.keep.place(self.t) * self.batch + b
    }

    /// Batch row b's row of step t - 1 on the tape; none at t = 0, where the initial state
    /// stands in for it.
    pub(super) fn previous_row(self, b: usize) -> Option<usize> {
        (self.t > 0).then(|| self.keep.place(self.t - 1) * self.batch + b)
    }

    /// The step's B rows on the tape.
    pub(super) fn rows(self) -> Range<usize> {
        let first = self.row(0);
        first..first + self.batch
    }

    /// Batch row b's rows in the memories of the memory the step starts from, M_{t-1}, which
    /// sits in the step's place, and of the one it writes, M_t, in step t + 1's place.
    pub(super) fn memory_rows(self, b: usize) -> (usize, usize) {
        (self.row(b), self.keep.place(self.t + 1) * self.batch + b)
    }
}

/// Everything the forward computed, `[steps, B, ·]` per quantity unless noted (steps: T, or
/// fewer as [`Keep`] says).
pub(super) struct Tape<T> {
    pub(super) time: usize,
    pub(super) batch: usize,
    /// Per layer: its input rows `[input_l, h^l_{t-1}]`.
    pub(super) xh: Vec<Rows<T>>,
    /// Per layer: LSTM activated gates `[4C]` (no rows for feed-forward layers).
    pub(super) gates: Vec<Rows<T>>,
    /// Per layer: LSTM cell states `[C]` (no rows for feed-forward layers).
    pub(super) cells: Vec<Rows<T>>,
    /// Per layer: outputs h `[C]`.
    pub(super) hidden: Vec<Rows<T>>,
    /// Per head: the projection before clipping and activations `[P]`.
    pub(super) raw: Vec<Rows<T>>,
    /// Per head: the activated parameters `[P]`.
    pub(super) act: Vec<Rows<T>>,
    /// Per head: [`crate::fused::addressing::address_forward`]'s saved slots `[SLOTS, N]`.
    pub(super) addressing: Vec<Rows<T>>,
    /// Per head: the initial weighting w_0 `[N]` (no batch or time).
    pub(super) initial_weightings: Vec<Vec<T>>,
    /// Memories `[M, N]`, stored by columns: M_0 .. M_T `[T + 1, B, M, N]` ([`Keep::All`],
    /// each appended as a copy of the last, then written), or the last two `[2, B, M, N]`.
    pub(super) memory: Rows<T>,
    /// The op's output `[T, B, C + R M]`: every step's, whatever is kept.
    pub(super) features: Rows<T>,
}

impl<T: Real> Tape<T> {
    /// The tape of a forward over `time` steps of `batch` rows, keeping what `keep` says: all
    /// zeros but the initial weightings w_0 = softmax(logits) and memory M_0, from the packed
    /// parameters `p` (placed as `packing` says).
    pub(super) fn new(sizes: &NtmSizes, packing: &Packing, p: &[T], (time, batch): (usize, usize), keep: Keep) -> Self {
        let (c, n) = (sizes.hidden, sizes.slots);
        let (lstm, cols, kept) = (sizes.lstm(), sizes.layer_cols(), keep.steps(time));
        let widths: Vec<usize> = (0..sizes.heads()).map(|k| sizes.head_width(k)).collect();
        let per_step = |width: usize| Rows::zeros(kept * batch, width);
        let lstm_only = |width: usize| Rows::zeros(if lstm { kept * batch } else { 0 }, width);
        Tape {
            time,
            batch,
            xh: (0..sizes.layers).map(|l| per_step(sizes.layer_rows(l))).collect(),
            gates: (0..sizes.layers).map(|_| lstm_only(cols)).collect(),
            cells: (0..sizes.layers).map(|_| lstm_only(c)).collect(),
            hidden: (0..sizes.layers).map(|_| per_step(c)).collect(),
            raw: widths.iter().map(|&w| per_step(w)).collect(),
            act: widths.iter().map(|&w| per_step(w)).collect(),
            addressing: (0..sizes.heads()).map(|_| per_step(SLOTS * n)).collect(),
            initial_weightings: packing
                .initial_logits
                .iter()
                .map(|logits| {
                    let mut w = logits.of(p).to_vec();
                    softmax(&mut w);
                    w
                })
                .collect(),
            memory: Self::memories(sizes, packing.initial_memory.of(p), (time, batch), keep),
            features: Rows::zeros(time * batch, sizes.features()),
        }
    }

    /// The memories of a forward over `time` steps of `batch` rows, M_0 (`initial`, `[N, M]`
    /// by rows) in the first B rows, stored by columns `[M, N]`. [`Keep::All`]: room for
    /// `[T + 1, B, M, N]`, each next memory appended as a copy of the last
    /// ([`Rows::copy_row`]), so never zeroed first; [`Keep::Last`]: the two places `[2, B, M,
    /// N]`, M_{t-1} in place t mod 2 and M_t in the other.
    fn memories(sizes: &NtmSizes, initial: &[T], (time, batch): (usize, usize), keep: Keep) -> Rows<T> {
        let (n, m, nm) = (sizes.slots, sizes.width, sizes.slots * sizes.width);
        let kept = keep.steps(time);
        let mut memory = Rows { values: Vec::with_capacity((kept + 1) * batch * nm), width: nm };
        memory.values.resize(batch * nm, T::from_f64(0.0));
        for b in 0..batch {
            let by_columns = memory.row_mut(b); // [M, N]
            for (i, row) in initial.chunks_exact(m).enumerate() {
                for (column, &v) in row.iter().enumerate() {
                    by_columns[column * n + i] = v;
                }
            }
        }
        if keep == Keep::Last {
            memory.values.resize(2 * batch * nm, T::from_f64(0.0));
        }
        memory
    }

    /// Head k's previous weighting w_{t-1} `[N]` for row b at step t ([`Keep::All`]): its
    /// weighting at t - 1, or w_0.
    pub(super) fn previous(&self, k: usize, t: usize, b: usize) -> &[T] {
        if t == 0 {
            &self.initial_weightings[k]
        } else {
            weighting(self.addressing[k].row((t - 1) * self.batch + b))
        }
    }

    /// Head k's saved addressing slots `[SLOTS, N]` for row b at step t ([`Keep::All`]).
    pub(super) fn addressed(&self, k: usize, t: usize, b: usize) -> &[T] {
        self.addressing[k].row(t * self.batch + b)
    }
}

/// The weighting w `[N]` among a head's saved addressing slots `[SLOTS, N]`.
pub(super) fn weighting<T>(slots: &[T]) -> &[T] {
    let n = slots.len() / SLOTS;
    &slots[SLOT_WEIGHTING * n..][..n]
}

/// A head's previous weighting w_{t-1} `[N]` (w_0 at t = 0), to read, and its addressing slots
/// of step t `[SLOTS, N]`, to write, for batch row b: from its `addressing` rows and its
/// `initial` weighting.
pub(super) fn previous_and_now<'a, T: Real>(
    addressing: &'a mut Rows<T>,
    initial: &'a [T],
    step: Step,
    b: usize,
) -> (&'a [T], &'a mut [T]) {
    match step.previous_row(b) {
        None => (initial, addressing.row_mut(step.row(b))),
        Some(before) => {
            let (previous, now) = addressing.read_and_write(before, step.row(b));
            (weighting(previous), now)
        }
    }
}

/// A write head's weighting, erase and add in tape row `row`, from its activated parameters'
/// rows `act` (laid out as `parts` says) and its `addressing` rows.
pub(super) fn write_head<'a, T: Real>(
    act: &'a Rows<T>,
    addressing: &'a Rows<T>,
    parts: Parts,
    row: usize,
) -> WriteHead<'a, T> {
    let act = act.row(row);
    WriteHead { weighting: weighting(addressing.row(row)), erase: &act[parts.erase()], add: &act[parts.add()] }
}
