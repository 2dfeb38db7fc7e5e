//! The [`Task`] trait every generator implements, and small sampling helpers they share.

use crate::batch::Batch;
use rand::{Rng, RngCore};

/// A generator of training and evaluation episodes for one algorithmic task.
///
/// Implementations are plain data (their spec), so they are `Send + Sync` and can be shared
/// by data-loading threads; all randomness comes from the `rng` passed to [`Task::sample`].
pub trait Task: Send + Sync {
    /// The task's name as written in experiment files: `"copy"`, `"repeat-copy"`, `"associative-recall"`,
    /// `"dynamic-ngrams"`, `"priority-sort"`, `"copy-series"`.
    fn name(&self) -> &'static str;

    /// Channels per input vector.
    fn input_width(&self) -> usize;

    /// Channels per target vector (and so per model output).
    fn output_width(&self) -> usize;

    /// The training range of the length parameter, `(min, max)` inclusive.
    fn length_range(&self) -> (usize, usize);

    /// `Err` (what is allowed, without the value: callers name where it came from) unless
    /// episodes of this length can be drawn. The default allows every length from 1 on;
    /// associative recall needs at least 2 items.
    fn check_length(&self, length: usize) -> Result<(), String> {
        match length {
            0 => Err("must be at least 1".to_owned()),
            _ => Ok(()),
        }
    }

    /// How figures and tables name the length parameter (default: a sequence length).
    fn length_words(&self) -> LengthWords {
        LengthWords::default()
    }

    /// The training range of the repeat count, `(min, max)` inclusive, for a task that has
    /// one (repeat copy); `None` (the default) for a task without.
    fn repeat_range(&self) -> Option<(usize, usize)> {
        None
    }

    /// What the channels of an episode mean, for the legend under an episode drawn as text
    /// (`ntm episode`): `(rows, meaning)` pairs named as the drawing names its rows, e.g.
    /// `("in 0-7", "the bits of each vector")`. The default says nothing of the inputs and
    /// targets (their rows are numbered) and only what the mask is.
    fn channel_legend(&self) -> Vec<(String, String)> {
        vec![mask_legend()]
    }

    /// Time steps of an episode of `length` (and `repeats`; `None`: the longest training
    /// count, for a task that has one), without drawing it: what the memory estimates of
    /// training and evaluation count before anything is allocated. The default draws one
    /// episode and counts its steps (a task of your own may give the formula instead).
    fn episode_steps(&self, length: usize, repeats: Option<usize>) -> usize {
        let repeats = repeats.or(self.repeat_range().map(|(_, max)| max));
        let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(0);
        self.sample_sized(&mut rng, 1, Some(length), repeats).time
    }

    /// Samples `batch` episodes.
    ///
    /// `length = None`: each element draws its own length uniformly from
    /// [`length_range`](Task::length_range); `Some(L)`: every element has length `L`
    /// (evaluation; `L` may exceed the training range). Elements shorter than the batch's
    /// longest are right-padded with zero inputs, zero targets and mask 0 (models are causal,
    /// so padding at the end changes nothing earlier).
    ///
    /// The same as [`sample_sized`](Task::sample_sized) with `repeats = None`.
    ///
    /// # Panics
    /// If `batch == 0` or `length == Some(0)`.
    fn sample(&self, rng: &mut dyn RngCore, batch: usize, length: Option<usize>) -> Batch {
        self.sample_sized(rng, batch, length, None)
    }

    /// Like [`sample`](Task::sample), and `repeats = Some(R)` gives every element `R` repeats
    /// (evaluation beyond the training range); `None` draws each element's count from
    /// [`repeat_range`](Task::repeat_range), as `sample` does. With `repeats = None` the
    /// random draws are exactly those of `sample`.
    ///
    /// # Panics
    /// If `batch == 0`, `length == Some(0)`, or `repeats` is `Some` for a task without a
    /// repeat count (check [`repeat_range`](Task::repeat_range) first).
    fn sample_sized(&self, rng: &mut dyn RngCore, batch: usize, length: Option<usize>, repeats: Option<usize>)
        -> Batch;

    /// Samples `batch` training episodes no longer than `max_length`: each element draws its
    /// length uniformly from `min..=min(max_length, max)` of
    /// [`length_range`](Task::length_range), everything else (bits, a repeat count, items) as
    /// [`sample`](Task::sample) with `length = None` draws it. Padding as there. This is what
    /// a curriculum over lengths (`train.curriculum`) trains on: only the length is capped, a
    /// task's other ranges (repeat copy's repeat counts) stay whole.
    ///
    /// `max_length >= max` is exactly `sample(rng, batch, None)`, the same random draws, so a
    /// curriculum that has reached the top trains on the data it would have without one.
    ///
    /// The default works for any task: it draws the `batch` lengths first, then one
    /// [`sample`](Task::sample) of one element with `Some(length)` per element, and stacks
    /// them ([`Batch::stack`]). The built-in tasks override it to draw in the order of
    /// `sample` (each element's length, then its contents), the range capped.
    ///
    /// # Panics
    /// If `batch == 0` or `max_length` is below the shortest training length.
    fn sample_up_to(&self, rng: &mut dyn RngCore, batch: usize, max_length: usize) -> Batch {
        let range = capped_range(self.length_range(), max_length);
        if range == self.length_range() {
            return self.sample(rng, batch, None);
        }
        check_batch(batch);
        let lengths: Vec<usize> = (0..batch).map(|_| draw_length(rng, range, None)).collect();
        let elements: Vec<Batch> = lengths.iter().map(|&length| self.sample(rng, 1, Some(length))).collect();
        Batch::stack(&elements)
    }
}

/// The words for a task's length parameter, so figures need not know the task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LengthWords {
    /// What the length counts, as an axis title after "test": `"sequence length"`.
    pub axis: &'static str,
    /// The label of the training range: `"training lengths"`.
    pub range: &'static str,
    /// `None`: an episode is "length 20"; `Some("items")`: "6 items".
    pub unit: Option<&'static str>,
}

impl Default for LengthWords {
    /// A sequence length, as for copy and repeat copy.
    fn default() -> Self {
        LengthWords { axis: "sequence length", range: "training lengths", unit: None }
    }
}

impl LengthWords {
    /// One episode's length in words: `"length 20"` or `"6 items"`.
    pub fn episode(&self, length: usize) -> String {
        match self.unit {
            None => format!("length {length}"),
            Some(unit) => format!("{length} {unit}"),
        }
    }

    /// A short column label for one length: `"L=20"` or `"6 items"`.
    pub fn label(&self, length: usize) -> String {
        match self.unit {
            None => format!("L={length}"),
            Some(unit) => format!("{length} {unit}"),
        }
    }

    /// A range of lengths in words: `"lengths 1-20"` or `"2-6 items"`; a range of one length
    /// is that length, `"length 20"` or `"20 inputs"`.
    pub fn span(&self, (lo, hi): (usize, usize)) -> String {
        match (self.unit, lo == hi) {
            (_, true) => self.episode(lo),
            (None, false) => format!("lengths {lo}-{hi}"),
            (Some(unit), false) => format!("{lo}-{hi} {unit}"),
        }
    }
}

/// `0-7` for channels 0 to 7, `0` for channel 0 alone.
pub(crate) fn channel_span(first: usize, last: usize) -> String {
    match last > first {
        true => format!("{first}-{last}"),
        false => first.to_string(),
    }
}

/// The legend's line for the mask, which every built-in task has.
pub(crate) fn mask_legend() -> (String, String) {
    ("mask".into(), "1 on the steps whose targets are scored".into())
}

/// The length of one element: `fixed` if given, else uniform over `range` (inclusive).
pub(crate) fn draw_length(rng: &mut dyn RngCore, range: (usize, usize), fixed: Option<usize>) -> usize {
    match fixed {
        Some(length) => {
            assert!(length >= 1, "sequence length must be at least 1, got 0");
            length
        }
        None => rng.random_range(range.0..=range.1),
    }
}

/// The training range `(min, max)` with `max` lowered to `max_length` (if below it): the
/// range [`Task::sample_up_to`] draws lengths from.
///
/// # Panics
/// If `max_length < min`: no length of the range is allowed.
pub(crate) fn capped_range((min, max): (usize, usize), max_length: usize) -> (usize, usize) {
    assert!(
        max_length >= min,
        "the longest length allowed, {max_length}, is below the shortest training length, {min}"
    );
    (min, max.min(max_length))
}

/// `length` vectors of `bits` random bits, each 0 or 1 with probability 1/2, `[length][bits]`.
pub(crate) fn random_bits(rng: &mut dyn RngCore, length: usize, bits: usize) -> Vec<Vec<f32>> {
    (0..length).map(|_| (0..bits).map(|_| if rng.random::<bool>() { 1.0 } else { 0.0 }).collect()).collect()
}

/// Panics with a clear message if a task without a repeat count is asked for one.
pub(crate) fn check_no_repeats(task: &str, repeats: Option<usize>) {
    if let Some(r) = repeats {
        panic!("the {task} task has no repeat count, but {r} repeats were asked for");
    }
}

/// Panics with a clear message on an empty batch request.
pub(crate) fn check_batch(batch: usize) {
    assert!(batch >= 1, "batch size must be at least 1, got 0");
}

/// Widest random vectors a task accepts (`task.bits`): 2^20. A million channels already
/// makes a model's input and output layers gigabytes; past that, no machine holds the model
/// (and products of sizes come near overflow).
pub const MAX_BITS: usize = 1 << 20;

/// Longest sequence a task accepts (`task.max_length`, and the test lengths): 2^24 vectors.
/// An episode of 2^25 steps of even 1 bit is gigabytes of inputs and targets per sequence.
pub const MAX_LENGTH: usize = 1 << 24;

/// Most repeats repeat copy accepts (`task.max_repeats` and the test counts): 2^16.
pub const MAX_REPEATS: usize = 1 << 16;

/// `Err` unless `value <= max`, naming `task.<field>` and the limit.
pub fn at_most(field: &str, value: usize, max: usize) -> Result<(), String> {
    if value > max {
        return Err(format!("task.{field} = {value}: must be at most {max} (no machine could hold more)"));
    }
    Ok(())
}

/// `Err` unless `value >= 1`.
pub(crate) fn at_least_one(field: &str, value: usize) -> Result<(), String> {
    if value == 0 {
        return Err(format!("task.{field} = 0: must be at least 1"));
    }
    Ok(())
}

/// `Err` unless `1 <= min <= max`.
pub(crate) fn check_range(min_field: &str, min: usize, max_field: &str, max: usize) -> Result<(), String> {
    at_least_one(min_field, min)?;
    if min > max {
        return Err(format!("task.{min_field} = {min} is greater than task.{max_field} = {max}"));
    }
    Ok(())
}
