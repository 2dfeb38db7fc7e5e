//! The copy task (Graves et al. 2014, sec. 4.1): read a sequence of random bit vectors, then
//! a delimiter, then write the sequence back with no input.
//!
//! Channel layout of one episode with `L = 3`, `bits = 4` (time across, channels down;
//! `#` = 1, `.` = 0). The episode lasts `2L + 1` steps; the input has `bits + 1` channels
//! (the last is the delimiter flag), the target `bits`:
//!
//! ```text
//!                 | sequence | delim | answer   |
//! time step       | 0  1  2  |   3   | 4  5  6  |
//! input   bit 0   | #  .  #  |   .   | .  .  .  |
//!         bit 1   | .  .  #  |   .   | .  .  .  |
//!         bit 2   | #  #  .  |   .   | .  .  .  |
//!         bit 3   | .  #  .  |   .   | .  .  .  |
//!         delim   | .  .  .  |   #   | .  .  .  |
//! target  bit 0   | .  .  .  |   .   | #  .  #  |
//!         bit 1   | .  .  .  |   .   | .  .  #  |
//!         bit 2   | .  .  .  |   .   | #  #  .  |
//!         bit 3   | .  .  .  |   .   | .  #  .  |
//! mask            | .  .  .  |   .   | #  #  #  |
//! ```
//!
//! So `target[L + 1 + t] == input[t][..bits]` for `t < L`, and the mask is 1 exactly on
//! the `L` answer steps. In a batch the time axis is `2 * max(L) + 1`; shorter elements are
//! right-padded with zeros and mask 0.

use crate::batch::Batch;
use crate::task::{
    at_least_one, at_most, capped_range, channel_span, check_batch, check_no_repeats, check_range, draw_length,
    mask_legend, random_bits, Task, MAX_BITS, MAX_LENGTH,
};
use rand::RngCore;
use serde::{Deserialize, Serialize};

/// Settings of the copy task (paper sec. 4.1). Defaults are the paper's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CopySpec {
    /// Bits per vector of the sequence to copy. Default 8.
    pub bits: usize,
    /// Shortest training sequence, in vectors (inclusive, at least 1). Default 1.
    pub min_length: usize,
    /// Longest training sequence, in vectors (inclusive). Default 20.
    pub max_length: usize,
}

impl Default for CopySpec {
    fn default() -> Self {
        CopySpec { bits: 8, min_length: 1, max_length: 20 }
    }
}

impl CopySpec {
    /// Checks the ranges; see [`crate::TaskSpec::validate`].
    pub fn validate(&self) -> Result<(), String> {
        at_least_one("bits", self.bits)?;
        at_most("bits", self.bits, MAX_BITS)?;
        check_range("min_length", self.min_length, "max_length", self.max_length)?;
        at_most("max_length", self.max_length, MAX_LENGTH)
    }
}

/// Generator of copy-task episodes. (Not named `Copy`, which would shadow the std trait.)
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyTask {
    spec: CopySpec,
}

impl CopyTask {
    /// A generator for `spec`.
    ///
    /// # Panics
    /// If `spec.validate()` fails.
    pub fn new(spec: CopySpec) -> Self {
        if let Err(e) = spec.validate() {
            panic!("invalid copy task: {e}");
        }
        CopyTask { spec }
    }

    /// The settings this generator was built from.
    pub fn spec(&self) -> &CopySpec {
        &self.spec
    }

    /// Number of steps of an episode of sequence length `length`: `2 * length + 1`.
    pub fn episode_time(length: usize) -> usize {
        2 * length + 1
    }
}

impl Task for CopyTask {
    fn episode_steps(&self, length: usize, _repeats: Option<usize>) -> usize {
        Self::episode_time(length)
    }

    fn channel_legend(&self) -> Vec<(String, String)> {
        let bits = self.spec.bits;
        vec![
            (format!("in  {}", channel_span(0, bits - 1)), "the bits of each vector of the sequence".into()),
            (format!("in  {bits}"), "the delimiter: the sequence has ended".into()),
            (format!("out {}", channel_span(0, bits - 1)), "the sequence, to write back".into()),
            mask_legend(),
        ]
    }

    fn name(&self) -> &'static str {
        "copy"
    }

    /// `bits + 1`: the bits and the delimiter flag (channel `bits`).
    fn input_width(&self) -> usize {
        self.spec.bits + 1
    }

    /// `bits`.
    fn output_width(&self) -> usize {
        self.spec.bits
    }

    fn length_range(&self) -> (usize, usize) {
        (self.spec.min_length, self.spec.max_length)
    }

    /// # Panics
    /// Also if `repeats` is `Some`: the copy task has no repeat count.
    fn sample_sized(
        &self,
        rng: &mut dyn RngCore,
        batch: usize,
        length: Option<usize>,
        repeats: Option<usize>,
    ) -> Batch {
        check_no_repeats(self.name(), repeats);
        self.generate(rng, batch, self.length_range(), length)
    }

    fn sample_up_to(&self, rng: &mut dyn RngCore, batch: usize, max_length: usize) -> Batch {
        self.generate(rng, batch, capped_range(self.length_range(), max_length), None)
    }
}

impl CopyTask {
    /// `batch` episodes, each of length `length` or, if `None`, one drawn uniformly from
    /// `range` (inclusive); per element its length, then its bits.
    fn generate(&self, rng: &mut dyn RngCore, batch: usize, range: (usize, usize), length: Option<usize>) -> Batch {
        check_batch(batch);
        let bits = self.spec.bits;
        // Draw everything first: the batch's time depends on the longest element.
        let sequences: Vec<Vec<Vec<f32>>> = (0..batch)
            .map(|_| {
                let len = draw_length(rng, range, length);
                random_bits(rng, len, bits) // [len][bits]
            })
            .collect();
        let max_len = sequences.iter().map(Vec::len).max().unwrap_or(0);
        let time = Self::episode_time(max_len);

        let mut out = Batch::zeros(time, batch, self.input_width(), self.output_width());
        for (b, seq) in sequences.iter().enumerate() {
            let len = seq.len();
            out.lengths[b] = len;
            for (t, vector) in seq.iter().enumerate() {
                out.input_mut(t, b)[..bits].copy_from_slice(vector);
                out.target_mut(len + 1 + t, b).copy_from_slice(vector);
                out.set_mask(len + 1 + t, b, 1.0);
            }
            out.input_mut(len, b)[bits] = 1.0; // delimiter
        }
        out
    }
}
