//! How a fused op keeps its tape: what its forward computed that its backward needs, and the
//! named views the fused NTM and DNC read theirs through: a quantity's [`Rows`] and a
//! [`Step`]'s place among them.
//!
//! Every quantity on such a tape is one flat buffer `[steps, B, width]`, whose row s B + b holds
//! batch row b of kept step s. [`Keep::All`] keeps every step (step t in place t, so the
//! backward's row of step t and batch row b is t B + b); [`Keep::Last`] only the last two.
//!
//! Every fused op (the NTM and the DNC over a sequence, and the baselines' layers through
//! `taped.rs`) keeps it the same way: the forward puts it in a [`SharedTape`] that the op
//! holds, the backward reads it from there, and the caller may hold a clone to read it too
//! (the NTM's traces).
//!
//! The other way, returning the tape as part of the op's output and narrowing the output to
//! what the caller uses, keeps the op free of state, but candle then backpropagates a
//! gradient the size of the whole tape (zeros outside the narrowed part, allocated, padded and
//! added per call) and the backward copies the tape out of the result. For the NTM the tape is
//! mostly the memories `[T + 1, B, M, N]`, tens of times its output; for an LSTM layer 6
//! times. So the tape stays beside the graph, in the op's float type (the ops are generic
//! over it, so no type is checked at run time).

use std::any::Any;
use std::ops::Range;
use std::sync::{Arc, Mutex, MutexGuard};

use candle_core::Result;

use crate::fused::kernel::Real;

/// A fused op's tape `X`, shared between the op and its caller; empty until the forward runs.
pub(crate) struct SharedTape<X>(Arc<Mutex<Option<X>>>);

impl<X> Default for SharedTape<X> {
    fn default() -> Self {
        Self(Arc::new(Mutex::new(None)))
    }
}

impl<X> Clone for SharedTape<X> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl<X> SharedTape<X> {
    fn lock(&self) -> Result<MutexGuard<'_, Option<X>>> {
        self.0.lock().map_err(|_| candle_core::Error::Msg("fused op: the tape's lock is poisoned".into()))
    }

    /// Keeps `tape` (the forward's), replacing any earlier one.
    pub(crate) fn keep(&self, tape: X) -> Result<()> {
        *self.lock()? = Some(tape);
        Ok(())
    }

    /// `f` of the kept tape; an error if the forward has not run.
    pub(crate) fn read<R>(&self, f: impl FnOnce(&X) -> R) -> Result<R> {
        match self.lock()?.as_ref() {
            Some(tape) => Ok(f(tape)),
            None => candle_core::bail!("fused op: no tape (the forward has not run)"),
        }
    }
}

/// The storage of dropped tapes ([`Rows::recycle`]), at most [`SPARE_BUFFERS`] of them, for
/// the next forward's tapes ([`Rows::reusing`]) on any thread: the NTM's row groups make
/// their tapes on the kernel threads, and the graph drops them on the caller's.
static SPARE: Mutex<Vec<Box<dyn Any + Send>>> = Mutex::new(Vec::new());

/// Buffers [`SPARE`] keeps (the oldest goes first): the largest quantities of a few tapes
/// (the NTM's memories and heads' addressing per row group, the DNC's memories and links).
const SPARE_BUFFERS: usize = 8;

/// The spare buffers, whatever a thread that panicked left them as (a list of buffers is
/// whole at any moment).
fn spare() -> MutexGuard<'static, Vec<Box<dyn Any + Send>>> {
    SPARE.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A spare buffer of `T` with room for `len` values and at most twice that, if there is one
/// (its values are those of the tape it came from).
fn take_spare<T: Real>(len: usize) -> Option<Vec<T>> {
    let mut spare = spare();
    let fits = |b: &Box<dyn Any + Send>| {
        b.downcast_ref::<Vec<T>>().is_some_and(|v| v.capacity() >= len && v.capacity() <= 2 * len.max(1))
    };
    let i = spare.iter().position(fits)?;
    spare.remove(i).downcast::<Vec<T>>().ok().map(|v| *v)
}

/// One quantity on the tape, `[steps, B, width]` flat: one row `[width]` per kept step and
/// batch row.
pub(crate) struct Rows<T> {
    values: Vec<T>,
    width: usize,
}

impl<T: Real> Rows<T> {
    /// `rows` rows of zeros.
    pub(crate) fn zeros(rows: usize, width: usize) -> Self {
        Self { values: vec![T::from_f64(0.0); rows * width], width }
    }

    /// No rows yet, room for `rows` of `width` (filled by [`Rows::resize`] and
    /// [`Rows::copy_row`]).
    pub(crate) fn with_capacity(rows: usize, width: usize) -> Self {
        Self { values: Vec::with_capacity(rows * width), width }
    }

    /// `rows` rows of values left from an earlier tape (or zeros), each to be written before
    /// it is read; or, with `empty`, no rows yet and room for `rows` (as
    /// [`Rows::with_capacity`]). The storage of a tape that was [`Rows::recycle`]d when one
    /// fits: at the sizes of the fused DNC's link matrices a fresh buffer of
    /// tens of MB costs the kernel's zeroing of every page at its first write, again at every
    /// training step, and a zeroed one a pass of the C library's memset over it.
    pub(crate) fn reusing(rows: usize, width: usize, empty: bool) -> Self {
        let len = rows * width;
        let mut values = take_spare::<T>(len).unwrap_or_default();
        match empty {
            true => {
                values.clear();
                values.reserve_exact(len);
            }
            false => values.resize(len, T::from_f64(0.0)),
        }
        Self { values, width }
    }

    /// Gives this quantity's storage to the next [`Rows::reusing`] (on any thread), leaving no
    /// rows. [`SPARE`] keeps it (and up to [`SPARE_BUFFERS`] - 1 others) until then.
    pub(crate) fn recycle(&mut self) {
        let values = std::mem::take(&mut self.values);
        if values.capacity() == 0 {
            return;
        }
        let mut spare = spare();
        if spare.len() == SPARE_BUFFERS {
            spare.remove(0);
        }
        spare.push(Box::new(values));
    }

    /// `rows` rows: those there kept, zeros after them.
    pub(crate) fn resize(&mut self, rows: usize) {
        self.values.resize(rows * self.width, T::from_f64(0.0));
    }

    /// Row `i` `[width]`.
    pub(crate) fn row(&self, i: usize) -> &[T] {
        &self.values[i * self.width..][..self.width]
    }

    /// Row `i` `[width]`, writable.
    pub(crate) fn row_mut(&mut self, i: usize) -> &mut [T] {
        &mut self.values[i * self.width..][..self.width]
    }

    /// Rows `range` `[rows, width]`: a step's batch rows, for a matmul over them.
    pub(crate) fn rows(&self, range: Range<usize>) -> &[T] {
        &self.values[range.start * self.width..range.end * self.width]
    }

    /// Rows `range` `[rows, width]`, writable.
    pub(crate) fn rows_mut(&mut self, range: Range<usize>) -> &mut [T] {
        &mut self.values[range.start * self.width..range.end * self.width]
    }

    /// Every row `[steps, B, width]`: with [`Keep::All`] all T B of them, for a matmul over
    /// the whole sequence.
    pub(crate) fn all(&self) -> &[T] {
        &self.values
    }

    /// The values `[steps, B, width]`, taken out, leaving no rows (for a tape that cannot give
    /// up its parts).
    pub(crate) fn take_values(&mut self) -> Vec<T> {
        std::mem::take(&mut self.values)
    }

    /// Row `from` to read and row `to` to write, two different rows in either order.
    pub(crate) fn read_and_write(&mut self, from: usize, to: usize) -> (&[T], &mut [T]) {
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
    pub(crate) fn copy_row(&mut self, from: usize, to: usize) -> (&[T], &mut [T]) {
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
pub(crate) enum Keep {
    /// Every step's intermediates, `[T, B, ·]` (and T + 1 memories): what the backward and
    /// the traces read.
    All,
    /// Only the current and the previous step's, in two places used in turn (step t in place
    /// t mod 2): O(B N M) besides the features, for a forward that has no backward.
    Last,
}

impl Keep {
    /// Steps kept of a sequence of `time` steps.
    pub(crate) fn steps(self, time: usize) -> usize {
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
pub(crate) struct Step {
    pub(crate) t: usize,
    batch: usize,
    keep: Keep,
}

impl Step {
    pub(crate) fn new(t: usize, batch: usize, keep: Keep) -> Self {
        Self { t, batch, keep }
    }

    /// Batch row b's row in the inputs and the features: t B + b.
    pub(crate) fn sequence_row(self, b: usize) -> usize {
        self.t * self.batch + b
    }

    /// Batch row b's row of step t - 1 in the features; none at t = 0.
    pub(crate) fn previous_sequence_row(self, b: usize) -> Option<usize> {
        (self.t > 0).then(|| (self.t - 1) * self.batch + b)
    }

    /// Batch row b's row on the tape.
    pub(crate) fn row(self, b: usize) -> usize {
        self.keep.place(self.t) * self.batch + b
    }

    /// Batch row b's row of step t - 1 on the tape; none at t = 0, where the initial state
    /// stands in for it.
    pub(crate) fn previous_row(self, b: usize) -> Option<usize> {
        (self.t > 0).then(|| self.keep.place(self.t - 1) * self.batch + b)
    }

    /// The step's B rows on the tape.
    pub(crate) fn rows(self) -> Range<usize> {
        let first = self.row(0);
        first..first + self.batch
    }

    /// Batch row b's rows in the memories of the memory the step starts from, M_{t-1}, which
    /// sits in the step's place, and of the one it writes, M_t, in step t + 1's place.
    pub(crate) fn memory_rows(self, b: usize) -> (usize, usize) {
        (self.row(b), self.keep.place(self.t + 1) * self.batch + b)
    }
}

/// The rows `group` of every step of `values` `[T, B, W]` (B = `batch`), as `[T, rows, W]`.
pub(crate) fn group_rows<T: Copy>(values: &[T], (time, batch): (usize, usize), group: &Range<usize>) -> Vec<T> {
    let width = values.len() / (time * batch).max(1);
    let mut out = Vec::with_capacity(time * group.len() * width);
    for t in 0..time {
        out.extend_from_slice(&values[(t * batch + group.start) * width..(t * batch + group.end) * width]);
    }
    out
}

/// A `[T, B, W]` buffer into which groups of its batch rows are written from several threads
/// at once, each group its own rows ([`RowsByGroup::put`]).
pub(crate) struct RowsByGroup<'a, T> {
    values: *mut T,
    len: usize,
    time: usize,
    batch: usize,
    borrowed: std::marker::PhantomData<&'a mut [T]>,
}

// SAFETY: the threads a `RowsByGroup` is shared with write disjoint rows (the contract of
// `put`), and the buffer's borrow outlives it.
unsafe impl<T: Send> Send for RowsByGroup<'_, T> {}
unsafe impl<T: Send> Sync for RowsByGroup<'_, T> {}

impl<'a, T: Copy> RowsByGroup<'a, T> {
    /// `values` `[T, B, W]`, borrowed while groups write into it.
    pub(crate) fn new(values: &'a mut [T], (time, batch): (usize, usize)) -> Self {
        let len = values.len();
        Self { values: values.as_mut_ptr(), len, time, batch, borrowed: std::marker::PhantomData }
    }

    /// Writes the rows `group` of every step from `rows` `[T, group.len(), W]` (the inverse
    /// of [`group_rows`]).
    ///
    /// # Safety
    /// No other thread writes or reads the rows of `group` during the call.
    pub(crate) unsafe fn put(&self, group: &Range<usize>, rows: &[T]) {
        let width = self.len / (self.time * self.batch).max(1);
        assert!(group.end <= self.batch && rows.len() == self.time * group.len() * width);
        let step = group.len() * width;
        for t in 0..self.time {
            let start = (t * self.batch + group.start) * width;
            // SAFETY: start + step <= len (the assert above); the caller vouches that no one
            // else touches these rows.
            unsafe { std::ptr::copy_nonoverlapping(rows[t * step..].as_ptr(), self.values.add(start), step) };
        }
    }
}
