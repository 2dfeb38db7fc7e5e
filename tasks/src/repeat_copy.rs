//! The repeat copy task (Graves et al. 2014, sec. 4.2): read a sequence of random bit
//! vectors, a delimiter and a repeat count `R`, then write the sequence `R` times followed
//! by an end marker.
//!
//! Channel layout of one episode with `L = 2`, `R = 2`, `bits = 3` (time across, channels
//! down; `#` = 1, `.` = 0, `r` = the normalised repeat count). The episode lasts
//! `L + 2 + L*R + 1` steps; the input has `bits + 2` channels (delimiter flag at `bits`,
//! repeat count at `bits + 1`), the target `bits + 1` (end marker at `bits`):
//!
//! ```text
//!                 | seq  | dl | rp | answer: R copies, end |
//! time step       | 0  1 | 2  | 3  | 4  5  6  7  8         |
//! input   bit 0   | #  . | .  | .  | .  .  .  .  .         |
//!         bit 1   | .  # | .  | .  | .  .  .  .  .         |
//!         bit 2   | #  # | .  | .  | .  .  .  .  .         |
//!         delim   | .  . | #  | .  | .  .  .  .  .         |
//!         repeats | .  . | .  | r  | .  .  .  .  .         |
//! target  bit 0   | .  . | .  | .  | #  .  #  .  .         |
//!         bit 1   | .  . | .  | .  | .  #  .  #  .         |
//!         bit 2   | .  . | .  | .  | #  #  #  #  .         |
//!         end     | .  . | .  | .  | .  .  .  .  #         |
//! mask            | .  . | .  | .  | #  #  #  #  #         |
//! ```
//!
//! `r = (R - mean) / std`, with the mean and standard deviation of the discrete uniform
//! distribution over the *training* repeat range `[a, b]`: `mean = (a + b) / 2`,
//! `var = ((b - a + 1)^2 - 1) / 12` (std 1 if `a == b`). Over training the repeat input so
//! has mean 0 and variance 1 (paper: "normalised to have mean zero and variance one");
//! counts beyond the range give values beyond the trained ones.

use crate::batch::Batch;
use crate::task::{
    at_least_one, at_most, capped_range, channel_span, check_batch, check_range, draw_length, mask_legend, random_bits,
    Task, MAX_BITS, MAX_LENGTH, MAX_REPEATS,
};
use rand::{Rng, RngCore};
use serde::{Deserialize, Serialize};

/// Settings of the repeat copy task (paper sec. 4.2). Defaults are the paper's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RepeatCopySpec {
    /// Bits per vector of the sequence to copy. Default 8.
    pub bits: usize,
    /// Shortest training sequence, in vectors (inclusive, at least 1). Default 1.
    pub min_length: usize,
    /// Longest training sequence, in vectors (inclusive). Default 10.
    pub max_length: usize,
    /// Fewest training repeats (inclusive, at least 1). Default 1.
    pub min_repeats: usize,
    /// Most training repeats (inclusive). Also fixes, with `min_repeats`, the mean and
    /// standard deviation used to normalise the repeat-count input. Default 10.
    pub max_repeats: usize,
}

impl Default for RepeatCopySpec {
    fn default() -> Self {
        RepeatCopySpec { bits: 8, min_length: 1, max_length: 10, min_repeats: 1, max_repeats: 10 }
    }
}

impl RepeatCopySpec {
    /// Checks the ranges; see [`crate::TaskSpec::validate`].
    pub fn validate(&self) -> Result<(), String> {
        at_least_one("bits", self.bits)?;
        at_most("bits", self.bits, MAX_BITS)?;
        check_range("min_length", self.min_length, "max_length", self.max_length)?;
        at_most("max_length", self.max_length, MAX_LENGTH)?;
        check_range("min_repeats", self.min_repeats, "max_repeats", self.max_repeats)?;
        at_most("max_repeats", self.max_repeats, MAX_REPEATS)
    }
}

/// Generator of repeat-copy episodes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepeatCopy {
    spec: RepeatCopySpec,
}

impl RepeatCopy {
    /// A generator for `spec`.
    ///
    /// # Panics
    /// If `spec.validate()` fails.
    pub fn new(spec: RepeatCopySpec) -> Self {
        if let Err(e) = spec.validate() {
            panic!("invalid repeat-copy task: {e}");
        }
        RepeatCopy { spec }
    }

    /// The settings this generator was built from.
    pub fn spec(&self) -> &RepeatCopySpec {
        &self.spec
    }

    /// The value the repeat channel carries for `repeats`: `(R - mean) / std` over the
    /// training repeat range (see the module docs).
    pub fn normalise_repeats(&self, repeats: usize) -> f32 {
        let (a, b) = (self.spec.min_repeats as f64, self.spec.max_repeats as f64);
        let mean = (a + b) / 2.0;
        let n = b - a + 1.0;
        let std = if n > 1.0 { ((n * n - 1.0) / 12.0).sqrt() } else { 1.0 };
        ((repeats as f64 - mean) / std) as f32
    }

    /// Number of steps of an episode: `length + 2` to read, `length * repeats + 1` to answer.
    pub fn episode_time(length: usize, repeats: usize) -> usize {
        length + 2 + length * repeats + 1
    }
}

impl Task for RepeatCopy {
    fn episode_steps(&self, length: usize, repeats: Option<usize>) -> usize {
        Self::episode_time(length, repeats.unwrap_or(self.spec.max_repeats))
    }

    fn name(&self) -> &'static str {
        "repeat-copy"
    }

    fn channel_legend(&self) -> Vec<(String, String)> {
        let bits = self.spec.bits;
        vec![
            (format!("in  {}", channel_span(0, bits - 1)), "the bits of each vector of the sequence".into()),
            (format!("in  {bits}"), "the delimiter: the sequence has ended".into()),
            (format!("in  {}", bits + 1), "the repeat count, normalised (digits: tenths; - below 0)".into()),
            (format!("out {}", channel_span(0, bits - 1)), "the sequence, written the repeat count of times".into()),
            (format!("out {bits}"), "the end marker, after the last copy".into()),
            mask_legend(),
        ]
    }

    /// `bits + 2`: the bits, the delimiter flag (channel `bits`) and the repeat count
    /// (channel `bits + 1`).
    fn input_width(&self) -> usize {
        self.spec.bits + 2
    }

    /// `bits + 1`: the bits and the end marker (channel `bits`).
    fn output_width(&self) -> usize {
        self.spec.bits + 1
    }

    fn length_range(&self) -> (usize, usize) {
        (self.spec.min_length, self.spec.max_length)
    }

    fn repeat_range(&self) -> Option<(usize, usize)> {
        Some((self.spec.min_repeats, self.spec.max_repeats))
    }

    /// `repeats = Some(R)` gives every element `R` repeats (to evaluate counts beyond
    /// training; `R = 0` is allowed and asks for just the end marker); `None` draws each element's count uniformly from the training repeat range, after its
    /// length and before its bits.
    fn sample_sized(
        &self,
        rng: &mut dyn RngCore,
        batch: usize,
        length: Option<usize>,
        repeats: Option<usize>,
    ) -> Batch {
        self.generate(rng, batch, self.length_range(), length, repeats)
    }

    /// Only the length is capped: repeat counts are still drawn from the whole training
    /// range (`min_repeats..=max_repeats`).
    fn sample_up_to(&self, rng: &mut dyn RngCore, batch: usize, max_length: usize) -> Batch {
        self.generate(rng, batch, capped_range(self.length_range(), max_length), None, None)
    }
}

impl RepeatCopy {
    /// `batch` episodes, each of length `length` or, if `None`, one drawn uniformly from
    /// `range` (inclusive), with `repeats` repeats or a count drawn from the training repeat
    /// range; per element its length, its count, then its bits.
    fn generate(
        &self,
        rng: &mut dyn RngCore,
        batch: usize,
        range: (usize, usize),
        length: Option<usize>,
        repeats: Option<usize>,
    ) -> Batch {
        check_batch(batch);
        let bits = self.spec.bits;
        // Draw everything first: the batch's time depends on the longest element.
        let elements: Vec<(usize, Vec<Vec<f32>>)> = (0..batch)
            .map(|_| {
                let len = draw_length(rng, range, length);
                let (a, b) = (self.spec.min_repeats, self.spec.max_repeats);
                let reps = repeats.unwrap_or_else(|| rng.random_range(a..=b));
                (reps, random_bits(rng, len, bits)) // [len][bits]
            })
            .collect();
        let time = elements.iter().map(|(reps, seq)| Self::episode_time(seq.len(), *reps)).max().unwrap_or(0);

        let mut out = Batch::zeros(time, batch, self.input_width(), self.output_width());
        for (b, (reps, seq)) in elements.iter().enumerate() {
            let len = seq.len();
            out.lengths[b] = len;
            for (t, vector) in seq.iter().enumerate() {
                out.input_mut(t, b)[..bits].copy_from_slice(vector);
            }
            out.input_mut(len, b)[bits] = 1.0; // delimiter
            out.input_mut(len + 1, b)[bits + 1] = self.normalise_repeats(*reps);
            let answer = len + 2; // first answer step
            for (t, vector) in seq.iter().cycle().take(len * reps).enumerate() {
                out.target_mut(answer + t, b)[..bits].copy_from_slice(vector);
                out.set_mask(answer + t, b, 1.0);
            }
            let end = answer + len * reps;
            out.target_mut(end, b)[bits] = 1.0; // end marker
            out.set_mask(end, b, 1.0);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(min_repeats: usize, max_repeats: usize) -> RepeatCopy {
        RepeatCopy::new(RepeatCopySpec { min_repeats, max_repeats, ..Default::default() })
    }

    #[test]
    fn normalisation_matches_discrete_uniform_moments() {
        // Paper range 1..=10: mean 5.5, var (10^2 - 1) / 12 = 8.25.
        let t = task(1, 10);
        let std = 8.25f32.sqrt();
        assert!((t.normalise_repeats(1) - (1.0 - 5.5) / std).abs() < 1e-6);
        assert!((t.normalise_repeats(10) - (10.0 - 5.5) / std).abs() < 1e-6);
        // Exact moments over the range (each count equally likely).
        let values: Vec<f64> = (1..=10).map(|r| t.normalise_repeats(r) as f64).collect();
        let mean = values.iter().sum::<f64>() / 10.0;
        let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / 10.0;
        assert!(mean.abs() < 1e-6, "mean {mean}");
        assert!((var - 1.0).abs() < 1e-6, "variance {var}");
    }

    #[test]
    fn single_count_range_uses_unit_std() {
        let t = task(3, 3);
        assert_eq!(t.normalise_repeats(3), 0.0);
        assert_eq!(t.normalise_repeats(5), 2.0);
    }

    #[test]
    fn episode_time_formula() {
        assert_eq!(RepeatCopy::episode_time(2, 2), 9); // the module doc's diagram
        assert_eq!(RepeatCopy::episode_time(10, 10), 113);
    }
}
