//! The [`Tape`] the fused NTM's forward keeps of every intermediate, for the backward pass and
//! for traces, read through the named views of `fused/tape.rs`: a quantity's [`Rows`] and a
//! [`Step`]'s place among them (the inputs `[T, B, X]` and the features `[T, B, C + R M]`
//! hold every step either way).

use crate::fused::addressing::{SLOTS, SLOT_WEIGHTING};
use crate::fused::kernel::{softmax, Real};
use crate::fused::memory::WriteHead;
use crate::fused::tape::{Keep, Rows, Step};
use crate::pieces::heads::Parts;

use super::sizes::{NtmSizes, Packing};

/// Everything the forward computed, `[steps, B, ·]` per quantity unless noted (steps: T, or
/// fewer as [`Keep`] says).
pub(super) struct Tape<T: Real> {
    pub(super) time: usize,
    pub(super) batch: usize,
    /// What it keeps: only a whole tape's storage is recycled (a [`Keep::Last`] one is small).
    keep: Keep,
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
            keep,
            xh: (0..sizes.layers).map(|l| per_step(sizes.layer_rows(l))).collect(),
            gates: (0..sizes.layers).map(|_| lstm_only(cols)).collect(),
            cells: (0..sizes.layers).map(|_| lstm_only(c)).collect(),
            hidden: (0..sizes.layers).map(|_| per_step(c)).collect(),
            raw: widths.iter().map(|&w| per_step(w)).collect(),
            act: widths.iter().map(|&w| per_step(w)).collect(),
            // Every row of a head's addressing is written before it is read (address_forward
            // writes all its slots), so a dropped tape's storage serves (see Rows::reusing).
            addressing: (0..sizes.heads())
                .map(|_| match keep {
                    Keep::All => Rows::reusing(kept * batch, SLOTS * n, false),
                    Keep::Last => per_step(SLOTS * n),
                })
                .collect(),
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
        let mut memory = match keep {
            // A dropped tape's storage, if one fits (each memory is appended, never read before).
            Keep::All => Rows::reusing((kept + 1) * batch, nm, true),
            Keep::Last => Rows::with_capacity((kept + 1) * batch, nm),
        };
        memory.resize(batch);
        for b in 0..batch {
            let by_columns = memory.row_mut(b); // [M, N]
            for (i, row) in initial.chunks_exact(m).enumerate() {
                for (column, &v) in row.iter().enumerate() {
                    by_columns[column * n + i] = v;
                }
            }
        }
        if keep == Keep::Last {
            memory.resize(2 * batch);
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

impl<T: Real> Drop for Tape<T> {
    /// Gives the memories' and the heads' addressing storage to the next tape (the largest
    /// quantities: a fresh buffer costs the kernel's zeroing of its pages at every step).
    fn drop(&mut self) {
        if self.keep == Keep::Last {
            return;
        }
        self.memory.recycle();
        for addressing in &mut self.addressing {
            addressing.recycle();
        }
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
