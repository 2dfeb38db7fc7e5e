//! A curriculum over training lengths (`train.curriculum`): the longest training length
//! starts short and grows to the task's own maximum while training goes on.
//!
//! ```toml
//! [train]
//! curriculum = { start = 5, sequences = 10000 }
//! ```
//!
//! With `start = s`, `sequences = S` and the task's training range `min..=max`
//! ([`Task::length_range`](ntm_tasks::Task::length_range): copy's `task.min_length..=
//! task.max_length`, associative recall's items), the batch drawn after `n` training
//! sequences has lengths uniform over `min..=cap(n)` with
//!
//! ```text
//! cap(n) = s + floor((max - s) * n / S)   for n < S,    cap(n) = max   for n >= S
//! ```
//!
//! linear in the sequences seen, rounded down, so `cap(0) = s` and the top is reached at `S`.
//! `S` may exceed `train.sequences`: training then ends before the cap reaches the top.
//! `start = max` trains on the whole range from the first batch, exactly as without a
//! curriculum. Only the length grows: repeat copy's repeat counts are drawn from their whole
//! range throughout ([`Task::sample_up_to`](ntm_tasks::Task::sample_up_to)).
//!
//! The cap is a function of the sequences trained, which a checkpoint holds (with the data
//! generator), so a resumed run draws the batches of an uninterrupted one.

use serde::{Deserialize, Serialize};

/// The `train.curriculum` table: the longest training length grows linearly from `start` to
/// the task's maximum over the first `sequences` training sequences.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Curriculum {
    /// The longest training length at the start (within the task's training range).
    pub start: usize,
    /// Training sequences over which the longest length grows from `start` to the task's
    /// maximum (at least 1); from then on every length of the range is drawn.
    pub sequences: u64,
}

impl Curriculum {
    /// The longest length the batch drawn after `seen` training sequences may have, for a
    /// task whose longest training length is `max`: `start + floor((max - start) * seen /
    /// sequences)`, and `max` from `seen >= sequences` on (see the module docs).
    pub fn max_length_at(&self, seen: u64, max: usize) -> usize {
        if seen >= self.sequences || self.start >= max {
            return max;
        }
        let grown = (max - self.start) as u128 * seen as u128 / self.sequences as u128;
        self.start + grown as usize // grown < max - start: fits
    }

    /// Checks the curriculum against the task's training range `(min, max)`, described in
    /// `bounds` (e.g. `"task.min_length = 1 and task.max_length = 20"`): Err((field, "= value:
    /// what is allowed")).
    pub fn validate(&self, (min, max): (usize, usize), bounds: &str) -> Result<(), (&'static str, String)> {
        if self.start < min || self.start > max {
            return Err(("curriculum.start", format!("= {}: must be between {bounds}", self.start)));
        }
        if self.sequences == 0 {
            return Err((
                "curriculum.sequences",
                "= 0: must be at least 1 (the training sequences over which the longest length grows to the task's maximum)".into(),
            ));
        }
        Ok(())
    }
}
