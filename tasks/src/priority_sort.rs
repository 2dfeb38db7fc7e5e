//! The priority sort task (Graves et al. 2014, sec. 4.5): read random bit vectors, each with a
//! scalar priority, then write the highest-priority ones back, highest first.
//!
//! Channel layout of one episode with `n = 3` inputs, `k = 2` answers, `bits = 3`, the
//! priorities `p = (0.3, -0.8, 0.9)` (time across, channels down; `#` = 1, `.` = 0, `p0`..`p2`
//! the priorities). The episode lasts `n + 1 + k` steps; the input has `bits + 2` channels (the
//! priority at `bits`, the delimiter flag at `bits + 1`), the target `bits`:
//!
//! ```text
//!                  | inputs        | dl | answers |
//! time step        | 0    1    2   | 3  | 4  5    |
//! input   bit 0    | #    .    #   | .  | .  .    |
//!         bit 1    | .    #    #   | .  | .  .    |
//!         bit 2    | #    #    .   | .  | .  .    |
//!         priority | p0   p1   p2  | .  | .  .    |
//!         delim    | .    .    .   | #  | .  .    |
//! target  bit 0    | .    .    .   | .  | #  #    |
//!         bit 1    | .    .    .   | .  | #  .    |
//!         bit 2    | .    .    .   | .  | .  #    |
//! mask             | .    .    .   | .  | #  #    |
//! ```
//!
//! Input 2 has the highest priority (0.9), input 0 the next (0.3): the answers are input 2's
//! bits, then input 0's. Each answer is a whole input vector, moved with its priority (not
//! every channel sorted on its own, as one public reimplementation's `torch.sort(x, 0)` did).
//! Priorities are uniform in `[-1, 1]`; equal ones (f32 draws of 2^23 values: about one
//! episode of 20 inputs in 44,000 has a tie) are ordered by input index, so the order is a
//! stable sort by priority, descending ([`priority_order`]). Each element's priorities and the
//! inputs its answers come from are in its [`info`](crate::Batch::info).
//!
//! The task's length parameter ([`Task::length_range`], `eval.lengths`) is the number of inputs
//! `n`. An episode answers with `k = min(answers, n)` vectors: the top `answers` (the paper's
//! 16) as in training when there are at least that many inputs, so that wrong bits per
//! sequence at 20, 30 or 40 inputs count the same 16 answers, and all `n` inputs, sorted, when
//! there are fewer (10 inputs: 10 answers). A curriculum over `n` thus starts on full sorts of
//! a few vectors.

use crate::batch::Batch;
use crate::info::EpisodeInfo;
use crate::task::{
    at_least_one, at_most, capped_range, channel_span, check_batch, check_no_repeats, check_range, draw_length,
    mask_legend, random_bits, LengthWords, Task, MAX_BITS, MAX_LENGTH,
};
use rand::{Rng, RngCore};
use serde::{Deserialize, Serialize};

/// Settings of the priority sort task (paper sec. 4.5). Defaults are the paper's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PrioritySortSpec {
    /// Bits per vector. Default 8.
    pub bits: usize,
    /// Fewest input vectors in a training episode (inclusive, at least 1). Default 20.
    pub min_inputs: usize,
    /// Most input vectors in a training episode (inclusive). Default 20.
    pub max_inputs: usize,
    /// Vectors to answer with: the `answers` of highest priority (at least 1, at most
    /// `max_inputs`); an episode of fewer inputs answers with all of them. Default 16.
    pub answers: usize,
}

impl Default for PrioritySortSpec {
    fn default() -> Self {
        PrioritySortSpec { bits: 8, min_inputs: 20, max_inputs: 20, answers: 16 }
    }
}

impl PrioritySortSpec {
    /// Checks the sizes; see [`crate::TaskSpec::validate`].
    pub fn validate(&self) -> Result<(), String> {
        at_least_one("bits", self.bits)?;
        at_most("bits", self.bits, MAX_BITS)?;
        check_range("min_inputs", self.min_inputs, "max_inputs", self.max_inputs)?;
        at_most("max_inputs", self.max_inputs, MAX_LENGTH)?;
        at_least_one("answers", self.answers)?;
        if self.answers > self.max_inputs {
            return Err(format!(
                "task.answers = {}: must be at most task.max_inputs = {} (the answers are the highest-priority inputs)",
                self.answers, self.max_inputs
            ));
        }
        Ok(())
    }

    /// The number of answers of an episode of `inputs` inputs: `min(answers, inputs)`.
    pub fn answers_for(&self, inputs: usize) -> usize {
        self.answers.min(inputs)
    }
}

/// The indices of `priorities`, highest priority first, equal priorities by index (a stable
/// sort, descending).
///
/// # Panics
/// If a priority is NaN.
pub fn priority_order(priorities: &[f32]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..priorities.len()).collect();
    order.sort_by(|&a, &b| priorities[b].partial_cmp(&priorities[a]).expect("priorities are numbers, not NaN"));
    order
}

/// Generator of priority sort episodes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrioritySort {
    spec: PrioritySortSpec,
}

impl PrioritySort {
    /// A generator for `spec`.
    ///
    /// # Panics
    /// If `spec.validate()` fails.
    pub fn new(spec: PrioritySortSpec) -> Self {
        if let Err(e) = spec.validate() {
            panic!("invalid priority-sort task: {e}");
        }
        PrioritySort { spec }
    }

    /// The settings this generator was built from.
    pub fn spec(&self) -> &PrioritySortSpec {
        &self.spec
    }

    /// Number of steps of an episode of `inputs` inputs and `answers` answers:
    /// `inputs + 1 + answers` (the inputs, the delimiter, the answers).
    pub fn episode_time(inputs: usize, answers: usize) -> usize {
        inputs + 1 + answers
    }
}

impl Task for PrioritySort {
    fn episode_steps(&self, inputs: usize, _repeats: Option<usize>) -> usize {
        Self::episode_time(inputs, self.spec.answers_for(inputs))
    }

    fn name(&self) -> &'static str {
        "priority-sort"
    }

    fn channel_legend(&self) -> Vec<(String, String)> {
        let bits = self.spec.bits;
        vec![
            (format!("in  {}", channel_span(0, bits - 1)), "the bits of each input vector".into()),
            ("in  prio".into(), "its priority (digits: tenths; - below 0)".into()),
            ("in  delim".into(), "the delimiter: the inputs have ended".into()),
            (format!("out {}", channel_span(0, bits - 1)), "the highest-priority inputs, highest first".into()),
            mask_legend(),
        ]
    }

    /// `bits + 2`: the bits, the priority (channel `bits`) and the delimiter flag (channel
    /// `bits + 1`).
    fn input_width(&self) -> usize {
        self.spec.bits + 2
    }

    /// `bits`.
    fn output_width(&self) -> usize {
        self.spec.bits
    }

    /// The training range of the number of inputs.
    fn length_range(&self) -> (usize, usize) {
        (self.spec.min_inputs, self.spec.max_inputs)
    }

    fn length_words(&self) -> LengthWords {
        LengthWords { axis: "number of input vectors", range: "training inputs", unit: Some("inputs") }
    }

    /// Per element, in this order: the number of inputs (unless `length` fixes it), their
    /// bits, their priorities.
    ///
    /// # Panics
    /// Also if `repeats` is `Some`.
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

    /// Caps the number of inputs (and so, below `answers` inputs, the number of answers).
    fn sample_up_to(&self, rng: &mut dyn RngCore, batch: usize, max_length: usize) -> Batch {
        self.generate(rng, batch, capped_range(self.length_range(), max_length), None)
    }
}

impl PrioritySort {
    /// `batch` episodes, each of `length` inputs or, if `None`, a number drawn uniformly from
    /// `range` (inclusive); per element the number of inputs, their bits, their priorities.
    fn generate(&self, rng: &mut dyn RngCore, batch: usize, range: (usize, usize), length: Option<usize>) -> Batch {
        check_batch(batch);
        let bits = self.spec.bits;
        // Draw everything first: the batch's time depends on the longest element.
        let elements: Vec<(Vec<Vec<f32>>, Vec<f32>)> = (0..batch)
            .map(|_| {
                let n = draw_length(rng, range, length);
                let vectors = random_bits(rng, n, bits); // [n][bits]
                let priorities: Vec<f32> = (0..n).map(|_| rng.random_range(-1.0..=1.0)).collect(); // [n]
                (vectors, priorities)
            })
            .collect();
        let time = elements
            .iter()
            .map(|(vectors, _)| Self::episode_time(vectors.len(), self.spec.answers_for(vectors.len())))
            .max()
            .unwrap_or(0);

        let mut out = Batch::zeros(time, batch, self.input_width(), self.output_width());
        for (b, (vectors, priorities)) in elements.into_iter().enumerate() {
            let n = vectors.len();
            out.lengths[b] = n;
            for (t, (vector, &priority)) in vectors.iter().zip(&priorities).enumerate() {
                let input = out.input_mut(t, b);
                input[..bits].copy_from_slice(vector);
                input[bits] = priority;
            }
            out.input_mut(n, b)[bits + 1] = 1.0; // delimiter
            let mut order = priority_order(&priorities);
            order.truncate(self.spec.answers_for(n));
            for (t, &i) in order.iter().enumerate() {
                out.target_mut(n + 1 + t, b).copy_from_slice(&vectors[i]);
                out.set_mask(n + 1 + t, b, 1.0);
            }
            out.info[b] = Some(EpisodeInfo::PrioritySort { priorities, order });
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_is_descending_and_stable() {
        assert_eq!(priority_order(&[0.3, -0.8, 0.9]), [2, 0, 1]); // the module doc's diagram
        assert_eq!(priority_order(&[0.5, 0.7, 0.5, 0.7, -0.0, 0.0]), [1, 3, 0, 2, 4, 5]);
        assert_eq!(priority_order(&[]), Vec::<usize>::new());
    }

    #[test]
    fn answers_and_episode_time() {
        let spec = PrioritySortSpec::default();
        assert_eq!([10, 16, 20, 40].map(|n| spec.answers_for(n)), [10, 16, 16, 16]);
        assert_eq!(PrioritySort::episode_time(3, 2), 6); // the module doc's diagram
        assert_eq!(PrioritySort::episode_time(20, 16), 37);
    }
}
