//! How a fused op keeps its tape: what its forward computed that its backward needs.
//!
//! Both fused ops (the NTM over a sequence, an LSTM layer's recurrence) keep it the same way:
//! the forward puts it in a [`SharedTape`] that the op holds, the backward reads it from
//! there, and the caller may hold a clone to read it too (the NTM's traces).
//!
//! The other way, returning the tape as part of the op's output and narrowing the output to
//! what the caller uses, keeps the op free of state, but candle then backpropagates a
//! gradient the size of the whole tape (zeros outside the narrowed part, allocated, padded and
//! added per call) and the backward copies the tape out of the result. For the NTM the tape is
//! mostly the memories `[T + 1, B, M, N]`, tens of times its output; for an LSTM layer 6
//! times. So the tape stays beside the graph, in the op's float type (the ops are generic
//! over it, so no type is checked at run time).

use std::sync::{Arc, Mutex, MutexGuard};

use candle_core::Result;

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
