//! The [`Tape`] the fused DNC's forward keeps of every intermediate, for the backward pass and
//! for traces, as [`Rows`] per quantity (`fused/tape.rs`: row s B + b holds batch row b of
//! kept step s; [`Keep::All`] every step, [`Keep::Last`] the last two).
//!
//! Per step and batch row it keeps the controller's rows, the interface (raw and activated),
//! the memory M_t `[W, N]` by columns (as the NTM's: every inner loop runs over the N slots),
//! the link matrix L_t `[N, N]` by rows (none when no read mode follows links), the state
//! and write side `[STATE_SLOTS, N]`, the free list `[N]` and per read head
//! `[READ_SLOTS, N]`: about N^2 + (W + 8 + 6 R) N values, the link matrix the most of them.

use crate::fused::kernel::Real;
use crate::fused::tape::{Keep, Rows};

use super::sizes::DncSizes;

/// The state and write side's vectors `[N]` per step and row, in this order.
pub(crate) const STATE_SLOTS: usize = 8;
/// Usage u_t.
pub(crate) const USAGE: usize = 0;
/// Retention psi_t.
pub(crate) const RETENTION: usize = 1;
/// Allocation weighting a_t.
pub(crate) const ALLOCATION: usize = 2;
/// Write content weighting c^w_t, then (slots 4 and 5) its cosines and the row norms of
/// M_{t-1}.
pub(crate) const WRITE_CONTENT: usize = 3;
/// Write weighting w^w_t.
pub(crate) const WRITE_WEIGHTING: usize = 6;
/// Precedence p_t.
pub(crate) const PRECEDENCE: usize = 7;

/// A read head's vectors `[N]` per step and row, in this order.
pub(crate) const READ_SLOTS: usize = 6;
/// Read content weighting c^{r,i}_t, then (slots 1 and 2) its cosines and the row norms of
/// M_t.
pub(crate) const READ_CONTENT: usize = 0;
/// Forward and backward weightings f^i_t, b^i_t.
pub(crate) const READ_FORWARD: usize = 3;
pub(crate) const READ_BACKWARD: usize = 4;
/// Read weighting w^{r,i}_t.
pub(crate) const READ_WEIGHTING: usize = 5;

/// Slot `k` `[N]` of a row of `[slots, N]` vectors.
pub(crate) fn slot<T>(row: &[T], k: usize, n: usize) -> &[T] {
    &row[k * n..(k + 1) * n]
}

/// A content weighting's saved vectors `(weighting, cosines, row norms)` in a row of state
/// (`first` = [`WRITE_CONTENT`]) or of a read head (`first` = [`READ_CONTENT`]).
pub(crate) fn content<T>(row: &[T], first: usize, n: usize) -> (&[T], &[T], &[T]) {
    (slot(row, first, n), slot(row, first + 1, n), slot(row, first + 2, n))
}

/// The state and write side's slots of one row, writable, by name.
pub(crate) struct StateMut<'a, T> {
    pub usage: &'a mut [T],
    pub retention: &'a mut [T],
    pub allocation: &'a mut [T],
    pub write_content: &'a mut [T],
    pub write_cosine: &'a mut [T],
    pub write_row_norm: &'a mut [T],
    pub write_weighting: &'a mut [T],
    pub precedence: &'a mut [T],
}

impl<'a, T> StateMut<'a, T> {
    /// The slots of `row` `[STATE_SLOTS, N]`.
    pub(crate) fn new(row: &'a mut [T], n: usize) -> Self {
        let mut parts = row.chunks_exact_mut(n);
        let mut next = || parts.next().expect("a state row holds STATE_SLOTS vectors");
        StateMut {
            usage: next(),
            retention: next(),
            allocation: next(),
            write_content: next(),
            write_cosine: next(),
            write_row_norm: next(),
            write_weighting: next(),
            precedence: next(),
        }
    }
}

/// A read head's slots of one row, writable, by name.
pub(crate) struct ReadMut<'a, T> {
    pub content: &'a mut [T],
    pub cosine: &'a mut [T],
    pub row_norm: &'a mut [T],
    pub forward: &'a mut [T],
    pub backward: &'a mut [T],
    pub weighting: &'a mut [T],
}

impl<'a, T> ReadMut<'a, T> {
    /// The slots of `row` `[READ_SLOTS, N]`.
    pub(crate) fn new(row: &'a mut [T], n: usize) -> Self {
        let mut parts = row.chunks_exact_mut(n);
        let mut next = || parts.next().expect("a read row holds READ_SLOTS vectors");
        ReadMut {
            content: next(),
            cosine: next(),
            row_norm: next(),
            forward: next(),
            backward: next(),
            weighting: next(),
        }
    }
}

/// Everything the forward computed, `[steps, B, ·]` per quantity unless noted (steps: T, or
/// the last two as [`Keep`] says).
pub(crate) struct Tape<T: Real> {
    pub(crate) time: usize,
    pub(crate) batch: usize,
    /// Per controller layer: its input rows `[input_l, h^l_{t-1}]`.
    pub(crate) xh: Vec<Rows<T>>,
    /// Per layer: the activated gates `[4C]`.
    pub(crate) gates: Vec<Rows<T>>,
    /// Per layer: the cell states `[C]`.
    pub(crate) cells: Vec<Rows<T>>,
    /// Per layer: the outputs h `[C]`.
    pub(crate) hidden: Vec<Rows<T>>,
    /// The interface before clipping and activations `[I]`.
    pub(crate) raw: Rows<T>,
    /// The activated interface `[I]`.
    pub(crate) act: Rows<T>,
    /// Memories `[W, N]` by columns: M_0 (zeros) .. M_T ([`Keep::All`], each appended as a
    /// copy of the last, then written), or the last two.
    pub(crate) memory: Rows<T>,
    /// Link matrices L_t `[N, N]` by rows (width 0 without a mode that follows links).
    pub(crate) link: Rows<T>,
    /// The state and write side `[STATE_SLOTS, N]`.
    pub(crate) state: Rows<T>,
    /// The free lists phi_t `[N]`, row r at r N.
    pub(crate) order: Vec<u32>,
    /// Per read head: `[READ_SLOTS, N]`.
    pub(crate) reads: Vec<Rows<T>>,
    /// The op's output `[T, B, C + R W]`: every step's, whatever is kept.
    pub(crate) features: Rows<T>,
}

impl<T: Real> Tape<T> {
    /// The tape of a forward over `time` steps of `batch` rows, keeping what `keep` says: all
    /// zeros, the memory M_0 among them.
    pub(crate) fn new(sizes: &DncSizes, (time, batch): (usize, usize), keep: Keep) -> Self {
        let (c, n, w) = (sizes.hidden, sizes.slots, sizes.width);
        let kept = keep.steps(time);
        let per_step = |width: usize| Rows::zeros(kept * batch, width);
        let links = if sizes.uses_links() { n * n } else { 0 };
        // The two largest quantities: every row written before it is read, so a dropped tape's
        // storage serves (see Rows::reusing).
        let (memory, link) = match keep {
            Keep::All => {
                let mut memory = Rows::reusing((time + 1) * batch, w * n, true);
                memory.resize(batch);
                (memory, Rows::reusing(kept * batch, links, false))
            }
            Keep::Last => (Rows::zeros(2 * batch, w * n), per_step(links)),
        };
        Tape {
            time,
            batch,
            xh: (0..sizes.layers).map(|l| per_step(sizes.layer_rows(l))).collect(),
            gates: (0..sizes.layers).map(|_| per_step(4 * c)).collect(),
            cells: (0..sizes.layers).map(|_| per_step(c)).collect(),
            hidden: (0..sizes.layers).map(|_| per_step(c)).collect(),
            raw: per_step(sizes.parts().width()),
            act: per_step(sizes.parts().width()),
            memory,
            link,
            state: per_step(STATE_SLOTS * n),
            order: vec![0; kept * batch * n],
            reads: (0..sizes.read_heads).map(|_| per_step(READ_SLOTS * n)).collect(),
            features: Rows::zeros(time * batch, sizes.features()),
        }
    }
}

impl<T: Real> Drop for Tape<T> {
    /// Gives the memories' and link matrices' storage to the next tape.
    fn drop(&mut self) {
        self.memory.recycle();
        self.link.recycle();
    }
}
