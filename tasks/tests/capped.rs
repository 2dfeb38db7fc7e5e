//! `Task::sample_up_to`, the sampling of a curriculum over lengths: every length drawn lies in
//! `min..=cap` and each of them is drawn; a cap at (or above) the top of the training range is
//! `sample(None)` exactly, the same draws; repeat copy keeps its whole range of repeat counts;
//! the trait's default (for a task of one's own) gives episodes of the task at capped lengths.

use std::collections::BTreeSet;

use ntm_tasks::{
    AssociativeRecall, AssociativeRecallSpec, Batch, CopySeries, CopySeriesSpec, CopySpec, CopyTask, DynamicNgrams,
    DynamicNgramsSpec, PrioritySort, PrioritySortSpec, RepeatCopy, RepeatCopySpec, Task,
};
use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The built-in tasks: copy, repeat copy and associative recall with their paper ranges (1-20,
/// 1-10, 2-6 items); dynamic N-grams and priority sort, whose paper ranges are a single length
/// (200 bits, 20 inputs), with ranges of 2-12 bits and 1-20 inputs; copy series with its
/// default 1-4 sequences.
fn built_in() -> Vec<Box<dyn Task>> {
    vec![
        Box::new(CopyTask::new(CopySpec::default())),
        Box::new(RepeatCopy::new(RepeatCopySpec::default())),
        Box::new(AssociativeRecall::new(AssociativeRecallSpec::default())),
        Box::new(DynamicNgrams::new(DynamicNgramsSpec { min_length: 2, max_length: 12, ..Default::default() })),
        Box::new(PrioritySort::new(PrioritySortSpec { min_inputs: 1, ..Default::default() })),
        Box::new(CopySeries::new(CopySeriesSpec::default())),
    ]
}

/// The lengths of 40 batches of 8 drawn with `sample_up_to(cap)`.
fn capped_lengths(task: &dyn Task, seed: u64, cap: usize) -> BTreeSet<usize> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..40).flat_map(|_| task.sample_up_to(&mut rng, 8, cap).lengths).collect()
}

#[test]
fn lengths_stay_within_the_cap_and_reach_it() {
    for task in built_in() {
        let (min, max) = task.length_range();
        for cap in [min, (min + max) / 2, max - 1] {
            let lengths = capped_lengths(task.as_ref(), cap as u64, cap);
            let expected: BTreeSet<usize> = (min..=cap).collect();
            assert_eq!(lengths, expected, "{} capped at {cap}", task.name());
        }
    }
}

#[test]
fn a_cap_at_the_top_draws_exactly_what_sample_draws() {
    for task in built_in() {
        let max = task.length_range().1;
        for cap in [max, max + 7] {
            let (mut a, mut b) = (ChaCha8Rng::seed_from_u64(21), ChaCha8Rng::seed_from_u64(21));
            for _ in 0..3 {
                assert_eq!(
                    task.sample_up_to(&mut a, 5, cap),
                    task.sample(&mut b, 5, None),
                    "{} at cap {cap}",
                    task.name()
                );
            }
            assert_eq!(a.next_u64(), b.next_u64(), "{}: the generators part ways", task.name());
        }
    }
}

#[test]
fn repeat_copy_keeps_every_repeat_count_under_a_cap() {
    let task = RepeatCopy::new(RepeatCopySpec::default());
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    let mut counts = BTreeSet::new();
    for _ in 0..40 {
        let batch = task.sample_up_to(&mut rng, 8, 2);
        for (b, &length) in batch.lengths.iter().enumerate() {
            assert!(length <= 2);
            // The repeat channel (the last input) at the step after the delimiter.
            let value = *batch.input(length + 1, b).last().unwrap();
            counts.insert((1..=10).find(|&r| task.normalise_repeats(r) == value).expect("a training count"));
        }
    }
    assert_eq!(counts, (1..=10).collect(), "repeat counts drawn under a length cap of 2");
}

/// The copy task seen through the trait's default `sample_up_to` (a task of one's own that
/// implements only `sample_sized`).
struct Plain(CopyTask);

impl Task for Plain {
    fn name(&self) -> &'static str {
        "plain"
    }
    fn input_width(&self) -> usize {
        self.0.input_width()
    }
    fn output_width(&self) -> usize {
        self.0.output_width()
    }
    fn length_range(&self) -> (usize, usize) {
        (3, 12)
    }
    fn sample_sized(
        &self,
        rng: &mut dyn RngCore,
        batch: usize,
        length: Option<usize>,
        repeats: Option<usize>,
    ) -> Batch {
        let length = length.unwrap_or_else(|| rng.random_range(3..=12));
        self.0.sample_sized(rng, batch, Some(length), repeats)
    }
}

#[test]
fn the_default_stacks_episodes_of_capped_lengths() {
    let task = Plain(CopyTask::new(CopySpec { bits: 3, ..CopySpec::default() }));
    assert_eq!(capped_lengths(&task, 8, 6), (3..=6).collect());
    let batch = task.sample_up_to(&mut ChaCha8Rng::seed_from_u64(9), 6, 6);
    let longest = batch.lengths.iter().max().copied().unwrap();
    assert_eq!(batch.time, CopyTask::episode_time(longest));
    for b in 0..6 {
        let episode = batch.episode(b);
        let length = episode.length;
        for t in 0..length {
            assert_eq!(episode.targets[length + 1 + t], episode.inputs[t][..3], "element {b}, step {t}");
        }
        assert_eq!(episode.mask.iter().sum::<f32>(), length as f32, "element {b}: mask");
    }
    // At the top of the range the default is `sample`.
    let (mut a, mut b) = (ChaCha8Rng::seed_from_u64(2), ChaCha8Rng::seed_from_u64(2));
    assert_eq!(task.sample_up_to(&mut a, 4, 12), task.sample(&mut b, 4, None));
}

#[test]
#[should_panic(expected = "below the shortest training length")]
fn a_cap_below_the_range_panics() {
    let task = AssociativeRecall::new(AssociativeRecallSpec::default());
    task.sample_up_to(&mut ChaCha8Rng::seed_from_u64(1), 2, 1);
}
