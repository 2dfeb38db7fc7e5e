//! The dynamic N-grams task (Graves et al. 2014, sec. 4.4): read a sequence of bits drawn from
//! an N-gram table that is new in every episode, and predict each next bit. The best a model
//! can do is to count, per context, the ones and zeros seen so far in the episode.
//!
//! Each episode draws a table of `2^C` probabilities (`C = context`, `N = C + 1`; the paper's
//! 6-grams: `C = 5`, 32 entries) from Beta(1/2, 1/2), then `L` bits: the first `C` fair coins,
//! every later one 1 with the probability of the `C` bits before it (see
//! [`crate::ngram_table`]). Channel layout of one episode with `L = 8`, `C = 2` (time across,
//! channels down; `#` = 1, `.` = 0, a digit the tenths of a probability). The episode lasts `L`
//! steps; input and target have one channel each, and nothing else is needed (no delimiter:
//! the model predicts at every step, and a new episode starts from the model's initial state):
//!
//! ```text
//!                   | fair | from the table    |
//! time step         | 0  1 | 2  3  4  5  6  7  |
//! input   bit       | #  . | #  #  .  #  #  .  |
//! target  next bit  | .  # | #  .  #  #  .  .  |
//! reference         | 5  5 | 5  5  7  7  2  .  |
//! mask              | #  # | #  #  #  #  #  .  |
//! ```
//!
//! So `input[t] = x_t` and `target[t] = x_{t+1}`: at step `t` the model has read bits `0..=t`
//! and predicts bit `t + 1`. The last step has no next bit (target 0, mask 0). The
//! [`reference`](crate::Batch::reference) row is the Bayes-optimal predictor's probability
//! that the target is 1 ([`ngram_table::optimal_predictions`]): 1/2 until a context has been
//! seen, then `(N1 + 1/2) / (N1 + N0 + 1)` (above: step 4 predicts after the context `1 0`,
//! once followed by a 1 at step 2, so 0.75; step 6 after `1 1`, once followed by a 0, 0.25).
//! Each element's table is in its [`info`](crate::Batch::info).
//!
//! **Which predictions count.** The mask scores every prediction, of bits `1..L`: `L - 1` of
//! them, 199 for the paper's 200 bits. Bit 0 is never predicted (nothing has been read before
//! it). Bits `1..C` (0-based) have no table entry yet: they are fair coins, which every
//! predictor at best predicts at 1/2, so they cost the optimum exactly 1 bit each, `C - 1 = 4`
//! bits per sequence, and the cost counts them. That choice is the one that agrees with the
//! paper: the optimum's expected cost is then 132.25 bits per sequence (Monte Carlo over 2
//! million episodes, standard error 0.03; see [`DynamicNgrams::optimal_cost`]), against ~131-132
//! read off the paper's figure 13, while over the 195 predictions with a full context it is
//! 128.25, 3-4 bits below the figure (and a 200th prediction, of bit 0 before any input, would
//! add 1 bit more, 133.25). To compare on the table's bits alone, subtract `C - 1` bits from
//! the optimum's cost ([`OptimalCost::full_context`]).
//!
//! The task's length parameter ([`Task::length_range`], `eval.lengths`) is the sequence
//! length in bits.

use crate::batch::{cross_entropy_bits, Batch};
use crate::info::EpisodeInfo;
use crate::ngram_table::{self, NgramTable};
use crate::task::{
    at_most, capped_range, check_batch, check_no_repeats, check_range, draw_length, mask_legend, Task, MAX_LENGTH,
};
use rand::RngCore;
use serde::{Deserialize, Serialize};

/// The widest context allowed: 16 bits, a table of 65,536 probabilities per episode (already
/// far more entries than a sequence of a few hundred bits visits).
pub const MAX_CONTEXT: usize = 16;

/// The shortest sequence: 2 bits, the first read and the second predicted.
pub const MIN_BITS: usize = 2;

/// Settings of the dynamic N-grams task (paper sec. 4.4). Defaults are the paper's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DynamicNgramsSpec {
    /// Bits of context each probability depends on, `N - 1` for N-grams (1 to 16); the table
    /// has `2^context` entries. Default 5 (6-grams, 32 entries).
    pub context: usize,
    /// Shortest training sequence, in bits (inclusive, at least 2). Default 200.
    pub min_length: usize,
    /// Longest training sequence, in bits (inclusive). Default 200.
    pub max_length: usize,
}

impl Default for DynamicNgramsSpec {
    fn default() -> Self {
        DynamicNgramsSpec { context: 5, min_length: 200, max_length: 200 }
    }
}

impl DynamicNgramsSpec {
    /// Checks the context and the range; see [`crate::TaskSpec::validate`].
    pub fn validate(&self) -> Result<(), String> {
        if !(1..=MAX_CONTEXT).contains(&self.context) {
            return Err(format!(
                "task.context = {}: must be from 1 to {MAX_CONTEXT} (the bits each probability depends on, N - 1 for \
                 N-grams; the table has 2^context entries)",
                self.context
            ));
        }
        check_bits(self.min_length).map_err(|e| format!("task.min_length = {}: {e}", self.min_length))?;
        check_range("min_length", self.min_length, "max_length", self.max_length)?;
        at_most("max_length", self.max_length, MAX_LENGTH)
    }
}

/// `Err` (what is allowed) unless a sequence of `length` bits has a prediction to score.
fn check_bits(length: usize) -> Result<(), String> {
    if length < MIN_BITS {
        return Err(format!(
            "must be at least {MIN_BITS} (the first bit is only read, never predicted: a sequence needs a second)"
        ));
    }
    Ok(())
}

/// Generator of dynamic N-grams episodes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DynamicNgrams {
    spec: DynamicNgramsSpec,
}

/// A Monte-Carlo estimate of the Bayes-optimal predictor's expected cross-entropy, in bits per
/// sequence ([`DynamicNgrams::optimal_cost`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OptimalCost {
    /// Episodes drawn.
    pub episodes: usize,
    /// Mean over the predictions the task's mask scores: every bit after the first, `L - 1`.
    pub scored: f64,
    /// Mean over the predictions with a full context only, bits `C..L` (0-based), `L - C`:
    /// `scored` less exactly `min(C, L) - 1` bits, the fair coins the optimum predicts at 1/2.
    pub full_context: f64,
    /// The standard error of either mean (they differ by a constant in every episode).
    pub std_error: f64,
}

impl DynamicNgrams {
    /// A generator for `spec`.
    ///
    /// # Panics
    /// If `spec.validate()` fails.
    pub fn new(spec: DynamicNgramsSpec) -> Self {
        if let Err(e) = spec.validate() {
            panic!("invalid dynamic-ngrams task: {e}");
        }
        DynamicNgrams { spec }
    }

    /// The settings this generator was built from.
    pub fn spec(&self) -> &DynamicNgramsSpec {
        &self.spec
    }

    /// Number of steps of an episode of `length` bits: `length` (one bit read per step).
    pub fn episode_time(length: usize) -> usize {
        length
    }

    /// Estimates the optimal predictor's expected cost on sequences of `length` bits from
    /// `episodes` episodes drawn as [`sample`](Task::sample) draws them (a table, then the
    /// bits), in f64 throughout.
    ///
    /// ```
    /// use ntm_tasks::{DynamicNgrams, DynamicNgramsSpec};
    /// use rand::SeedableRng;
    /// let task = DynamicNgrams::new(DynamicNgramsSpec::default());
    /// let cost = task.optimal_cost(&mut rand_chacha::ChaCha8Rng::seed_from_u64(1), 200, 2_000);
    /// // The paper's figure 13 shows the optimum at ~131-132 bits per sequence.
    /// assert!((cost.scored - 132.25).abs() < 4.0 * cost.std_error, "{cost:?}");
    /// assert!((cost.scored - cost.full_context - 4.0).abs() < 1e-9);
    /// ```
    ///
    /// # Panics
    /// If `episodes == 0` or `length < 2`.
    pub fn optimal_cost(&self, rng: &mut dyn RngCore, length: usize, episodes: usize) -> OptimalCost {
        assert!(episodes >= 1, "the optimal cost needs at least 1 episode, got 0");
        if let Err(e) = check_bits(length) {
            panic!("{length} bits: {e}");
        }
        let context = self.spec.context;
        let (mut sum, mut sum_sq, mut sum_full) = (0.0, 0.0, 0.0);
        for _ in 0..episodes {
            let table = NgramTable::draw(rng, context);
            let bits = table.sequence(rng, length);
            let costs = ngram_table::optimal_predictions(&bits, context)
                .iter()
                .zip(&bits[1..])
                .map(|(&p, &bit)| cross_entropy_bits(p, bit as u8 as f64))
                .collect::<Vec<f64>>();
            let scored: f64 = costs.iter().sum();
            sum += scored;
            sum_sq += scored * scored;
            sum_full += costs[context.min(length) - 1..].iter().sum::<f64>();
        }
        let n = episodes as f64;
        let mean = sum / n;
        let variance = if episodes > 1 { (sum_sq - n * mean * mean) / (n - 1.0) } else { 0.0 };
        OptimalCost { episodes, scored: mean, full_context: sum_full / n, std_error: (variance.max(0.0) / n).sqrt() }
    }
}

impl Task for DynamicNgrams {
    fn episode_steps(&self, length: usize, _repeats: Option<usize>) -> usize {
        Self::episode_time(length)
    }

    fn name(&self) -> &'static str {
        "dynamic-ngrams"
    }

    fn channel_legend(&self) -> Vec<(String, String)> {
        vec![
            ("in  bit".into(), "the bit sequence drawn from the episode's N-gram table".into()),
            ("out next".into(), "the next bit, to predict".into()),
            ("ref next".into(), "the optimal estimator's probability of a 1 (digits: tenths)".into()),
            mask_legend(),
        ]
    }

    /// 1: the bit read.
    fn input_width(&self) -> usize {
        1
    }

    /// 1: the next bit.
    fn output_width(&self) -> usize {
        1
    }

    /// The training range of the sequence length, in bits.
    fn length_range(&self) -> (usize, usize) {
        (self.spec.min_length, self.spec.max_length)
    }

    /// At least 2 bits.
    fn check_length(&self, length: usize) -> Result<(), String> {
        check_bits(length)
    }

    /// Per element, in this order: its length (unless `length` fixes it), its table, its bits.
    ///
    /// # Panics
    /// Also if `length` fails [`check_length`](Task::check_length), or `repeats` is `Some`.
    fn sample_sized(
        &self,
        rng: &mut dyn RngCore,
        batch: usize,
        length: Option<usize>,
        repeats: Option<usize>,
    ) -> Batch {
        check_no_repeats(self.name(), repeats);
        if let Some(Err(e)) = length.map(check_bits) {
            panic!("{} bits: {e}", length.unwrap_or(0));
        }
        self.generate(rng, batch, self.length_range(), length)
    }

    /// Caps the sequence length.
    fn sample_up_to(&self, rng: &mut dyn RngCore, batch: usize, max_length: usize) -> Batch {
        self.generate(rng, batch, capped_range(self.length_range(), max_length), None)
    }
}

impl DynamicNgrams {
    /// `batch` episodes, each of `length` bits or, if `None`, a number drawn uniformly from
    /// `range` (inclusive); per element its length, its table, its bits.
    fn generate(&self, rng: &mut dyn RngCore, batch: usize, range: (usize, usize), length: Option<usize>) -> Batch {
        check_batch(batch);
        let context = self.spec.context;
        // Draw everything first: the batch's time depends on the longest element.
        let elements: Vec<(NgramTable, Vec<bool>)> = (0..batch)
            .map(|_| {
                let len = draw_length(rng, range, length);
                let table = NgramTable::draw(rng, context);
                let bits = table.sequence(rng, len); // [len]
                (table, bits)
            })
            .collect();
        let time = elements.iter().map(|(_, bits)| Self::episode_time(bits.len())).max().unwrap_or(0);

        let mut out = Batch::zeros(time, batch, 1, 1).with_reference();
        for (b, (table, bits)) in elements.into_iter().enumerate() {
            out.lengths[b] = bits.len();
            let predictions = ngram_table::optimal_predictions(&bits, context); // [len - 1]
            for (t, &bit) in bits.iter().enumerate() {
                out.input_mut(t, b)[0] = bit as u8 as f32;
            }
            for (t, (&next, &p)) in bits[1..].iter().zip(&predictions).enumerate() {
                out.target_mut(t, b)[0] = next as u8 as f32;
                out.reference_mut(t, b)[0] = p as f32;
                out.set_mask(t, b, 1.0);
            }
            out.info[b] = Some(EpisodeInfo::DynamicNgrams { table: table.probabilities().to_vec() });
        }
        out
    }
}
