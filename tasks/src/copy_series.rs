//! The copy series task (not in the paper; issue 28, "What allocation is for"): several copy
//! episodes in a row, each sequence answered before the next is given. A memory that holds
//! one sequence holds every sequence if it frees what it has answered and reuses it; the
//! series as a whole may be longer than the memory.
//!
//! Channel layout of one episode of `n = 2` sequences of lengths 2 and 1, `bits = 3` (time
//! across, channels down; `#` = 1, `.` = 0). Each sequence is laid out as a copy episode
//! (its vectors, a delimiter step, then as many answer steps with no input), and the next
//! sequence starts on the step after the last answer. The input has `bits + 1` channels (the
//! last is the delimiter flag), the target `bits`; the episode lasts `sum_i (2 L_i + 1)`
//! steps:
//!
//! ```text
//!                 | seq 0 | dl | answer 0 | seq 1 | dl | answer 1 |
//! time step       | 0  1  | 2  | 3  4     | 5     | 6  | 7        |
//! input   bit 0   | #  .  | .  | .  .     | #     | .  | .        |
//!         bit 1   | .  #  | .  | .  .     | #     | .  | .        |
//!         bit 2   | #  #  | .  | .  .     | .     | .  | .        |
//!         delim   | .  .  | #  | .  .     | .     | #  | .        |
//! target  bit 0   | .  .  | .  | #  .     | .     | .  | #        |
//!         bit 1   | .  .  | .  | .  #     | .     | .  | #        |
//!         bit 2   | .  .  | .  | #  #     | .     | .  | .        |
//! mask            | .  .  | .  | #  #     | .     | .  | #        |
//! ```
//!
//! The task's length parameter ([`Task::length_range`], `eval.lengths`, `--length`) is the
//! number of sequences `n` per episode; each sequence's length `L_i` is drawn uniformly from
//! `min_length..=max_length`, in training and in evaluation alike, so a test "length" of 8 is
//! a series of 8 sequences of the trained lengths. Per element the draws are: `n` (unless
//! given), then for each sequence its length and its bits. In a batch the time axis is the
//! longest element's; shorter elements are right-padded with zeros and mask 0.

use crate::batch::Batch;
use crate::info::EpisodeInfo;
use crate::task::{
    at_least_one, at_most, capped_range, channel_span, check_batch, check_no_repeats, check_range, draw_length,
    mask_legend, random_bits, LengthWords, Task, MAX_BITS, MAX_LENGTH,
};
use rand::RngCore;
use serde::{Deserialize, Serialize};

/// Settings of the copy series task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CopySeriesSpec {
    /// Bits per vector of each sequence. Default 8.
    pub bits: usize,
    /// Shortest sequence, in vectors (inclusive, at least 1), in training and evaluation.
    /// Default 1.
    pub min_length: usize,
    /// Longest sequence, in vectors (inclusive), in training and evaluation. Default 8.
    pub max_length: usize,
    /// Fewest sequences in a training episode (inclusive, at least 1). Default 1.
    pub min_sequences: usize,
    /// Most sequences in a training episode (inclusive). Default 4.
    pub max_sequences: usize,
}

impl Default for CopySeriesSpec {
    fn default() -> Self {
        CopySeriesSpec { bits: 8, min_length: 1, max_length: 8, min_sequences: 1, max_sequences: 4 }
    }
}

impl CopySeriesSpec {
    /// Checks the ranges; see [`crate::TaskSpec::validate`].
    pub fn validate(&self) -> Result<(), String> {
        at_least_one("bits", self.bits)?;
        at_most("bits", self.bits, MAX_BITS)?;
        check_range("min_length", self.min_length, "max_length", self.max_length)?;
        at_most("max_length", self.max_length, MAX_LENGTH)?;
        check_range("min_sequences", self.min_sequences, "max_sequences", self.max_sequences)?;
        at_most("max_sequences", self.max_sequences, MAX_LENGTH)?;
        match CopySeries::longest_episode_checked(self.max_sequences, self.max_length) {
            Some(steps) if steps <= MAX_LENGTH => Ok(()),
            _ => Err(format!(
                "task.max_sequences = {} with task.max_length = {}: episodes of more than {MAX_LENGTH} steps (no machine could hold them)",
                self.max_sequences, self.max_length
            )),
        }
    }
}

/// Generator of copy series episodes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopySeries {
    spec: CopySeriesSpec,
}

impl CopySeries {
    /// A generator for `spec`.
    ///
    /// # Panics
    /// If `spec.validate()` fails.
    pub fn new(spec: CopySeriesSpec) -> Self {
        if let Err(e) = spec.validate() {
            panic!("invalid copy-series task: {e}");
        }
        CopySeries { spec }
    }

    /// The settings this generator was built from.
    pub fn spec(&self) -> &CopySeriesSpec {
        &self.spec
    }

    /// Number of steps of an episode whose sequences have these lengths: `sum (2 L_i + 1)`.
    pub fn episode_time(lengths: &[usize]) -> usize {
        lengths.iter().map(|&l| 2 * l + 1).sum()
    }

    /// The longest episode of `sequences` sequences of at most `max_length` vectors,
    /// `sequences (2 max_length + 1)`, `None` if that overflows `usize`.
    fn longest_episode_checked(sequences: usize, max_length: usize) -> Option<usize> {
        sequences.checked_mul(max_length.checked_mul(2)?.checked_add(1)?)
    }
}

impl Task for CopySeries {
    /// The longest an episode of `sequences` sequences can be: every sequence
    /// `max_length` long (what the memory estimates need, a bound on every draw).
    fn episode_steps(&self, sequences: usize, _repeats: Option<usize>) -> usize {
        Self::longest_episode_checked(sequences, self.spec.max_length).unwrap_or(usize::MAX)
    }

    fn name(&self) -> &'static str {
        "copy-series"
    }

    fn channel_legend(&self) -> Vec<(String, String)> {
        let bits = self.spec.bits;
        vec![
            (format!("in  {}", channel_span(0, bits - 1)), "the bits of each vector of each sequence".into()),
            (format!("in  {bits}"), "the delimiter: this sequence has ended, answer it".into()),
            (format!("out {}", channel_span(0, bits - 1)), "each sequence, written back after its delimiter".into()),
            mask_legend(),
        ]
    }

    /// `bits + 1`: the bits and the delimiter flag (channel `bits`).
    fn input_width(&self) -> usize {
        self.spec.bits + 1
    }

    /// `bits`.
    fn output_width(&self) -> usize {
        self.spec.bits
    }

    /// The training range of the number of sequences per episode.
    fn length_range(&self) -> (usize, usize) {
        (self.spec.min_sequences, self.spec.max_sequences)
    }

    fn length_words(&self) -> LengthWords {
        LengthWords { axis: "sequences per episode", range: "training sequences per episode", unit: Some("sequences") }
    }

    /// # Panics
    /// Also if `repeats` is `Some`: the task has no repeat count.
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

    /// Caps the number of sequences; their lengths keep the whole range.
    fn sample_up_to(&self, rng: &mut dyn RngCore, batch: usize, max_length: usize) -> Batch {
        self.generate(rng, batch, capped_range(self.length_range(), max_length), None)
    }
}

impl CopySeries {
    /// `batch` episodes, each of `sequences` sequences or, if `None`, a number drawn uniformly
    /// from `range` (inclusive); per element that number, then per sequence its length and
    /// its bits.
    fn generate(&self, rng: &mut dyn RngCore, batch: usize, range: (usize, usize), sequences: Option<usize>) -> Batch {
        check_batch(batch);
        let bits = self.spec.bits;
        let lengths = (self.spec.min_length, self.spec.max_length);
        // Draw everything first: the batch's time depends on the longest element.
        let elements: Vec<Vec<Vec<Vec<f32>>>> = (0..batch)
            .map(|_| {
                let n = draw_length(rng, range, sequences);
                (0..n)
                    .map(|_| {
                        let len = draw_length(rng, lengths, None);
                        random_bits(rng, len, bits) // [len][bits]
                    })
                    .collect() // [n][len][bits]
            })
            .collect();
        let own_lengths = |series: &Vec<Vec<Vec<f32>>>| series.iter().map(Vec::len).collect::<Vec<usize>>();
        let time = elements.iter().map(|s| Self::episode_time(&own_lengths(s))).max().unwrap_or(0);

        let mut out = Batch::zeros(time, batch, self.input_width(), self.output_width());
        for (b, series) in elements.iter().enumerate() {
            out.lengths[b] = series.len();
            let mut start = 0; // first step of the current sequence
            for seq in series {
                let len = seq.len();
                for (t, vector) in seq.iter().enumerate() {
                    out.input_mut(start + t, b)[..bits].copy_from_slice(vector);
                    out.target_mut(start + len + 1 + t, b).copy_from_slice(vector);
                    out.set_mask(start + len + 1 + t, b, 1.0);
                }
                out.input_mut(start + len, b)[bits] = 1.0; // delimiter
                start += 2 * len + 1;
            }
            out.info[b] = Some(EpisodeInfo::CopySeries { lengths: own_lengths(series) });
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn episode_time_formula() {
        assert_eq!(CopySeries::episode_time(&[2, 1]), 8); // the module doc's diagram
        assert_eq!(CopySeries::episode_time(&[8, 8, 8, 8]), 68);
        let task = CopySeries::new(CopySeriesSpec::default());
        assert_eq!(task.episode_steps(4, None), 68);
    }
}
