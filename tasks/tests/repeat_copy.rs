//! The repeat copy task's batches: shapes, repeated targets, delimiter, repeat channel and
//! its normalisation, end marker, mask, padding, drawn ranges and determinism.

use ntm_tasks::{Batch, RepeatCopy, RepeatCopySpec, Task};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeSet;

fn paper_task() -> RepeatCopy {
    RepeatCopy::new(RepeatCopySpec::default())
}

fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

/// The repeat count of element `b`, read back from its mask: sum = L * R + 1.
fn repeats_from_mask(batch: &Batch, b: usize) -> usize {
    let sum: f32 = (0..batch.time).map(|t| batch.mask_at(t, b)).sum();
    (sum as usize - 1) / batch.lengths[b]
}

/// Checks one element against the repeat-copy layout and returns its repeat count.
fn check_element(task: &RepeatCopy, batch: &Batch, b: usize) -> usize {
    let bits = task.spec().bits;
    let ep = batch.episode(b);
    let len = ep.length;
    let reps = repeats_from_mask(batch, b);
    let mask_sum: f32 = ep.mask.iter().sum();
    assert_eq!(mask_sum, (len * reps + 1) as f32, "mask sum of element {b}");

    // The repeat channel carries exactly the normalised count read off the mask.
    assert_eq!(ep.inputs[len + 1][bits + 1], task.normalise_repeats(reps));

    let answer = len + 2;
    let end = answer + len * reps;
    assert!(end < batch.time);
    for t in 0..batch.time {
        let (input, target) = (&ep.inputs[t], &ep.targets[t]);
        if t < len {
            assert!(input[..bits].iter().all(|&v| v == 0.0 || v == 1.0));
            assert_eq!(input[bits..], [0.0, 0.0], "flags on at step {t}");
        } else if t == len {
            assert_eq!(input[bits], 1.0, "delimiter");
            assert!(input.iter().enumerate().all(|(c, &v)| c == bits || v == 0.0));
        } else if t == len + 1 {
            assert!(input[..=bits].iter().all(|&v| v == 0.0));
        } else {
            assert!(input.iter().all(|&v| v == 0.0), "input after reading, step {t}");
        }
        if (answer..end).contains(&t) {
            assert_eq!(ep.mask[t], 1.0);
            assert_eq!(target[..bits], ep.inputs[(t - answer) % len][..bits], "step {t}");
            assert_eq!(target[bits], 0.0, "end marker early at {t}");
        } else if t == end {
            assert_eq!(ep.mask[t], 1.0);
            assert_eq!(target[bits], 1.0, "end marker");
            assert!(target[..bits].iter().all(|&v| v == 0.0));
        } else {
            assert_eq!(ep.mask[t], 0.0, "mask outside the answer, step {t}");
            assert!(target.iter().all(|&v| v == 0.0), "target outside the answer, {t}");
        }
    }
    reps
}

#[test]
fn shapes_and_widths() {
    let task = paper_task();
    assert_eq!(task.name(), "repeat-copy");
    assert_eq!(task.input_width(), 10);
    assert_eq!(task.output_width(), 9);
    assert_eq!(task.length_range(), (1, 10));
    assert_eq!(task.repeat_range(), Some((1, 10)));

    let batch = task.sample(&mut rng(1), 16, None);
    let longest =
        (0..16).map(|b| RepeatCopy::episode_time(batch.lengths[b], repeats_from_mask(&batch, b))).max().unwrap();
    assert_eq!(batch.time, longest);
    assert_eq!((batch.input_width, batch.output_width), (10, 9));
    assert_eq!(batch.inputs.len(), batch.time * 16 * 10);
    assert_eq!(batch.targets.len(), batch.time * 16 * 9);
    assert_eq!(batch.mask.len(), batch.time * 16);
    assert_eq!(batch.lengths.len(), 16);
}

#[test]
fn layout_of_every_element() {
    let task = paper_task();
    for seed in 0..5 {
        let batch = task.sample(&mut rng(seed), 32, None);
        for b in 0..batch.batch {
            let reps = check_element(&task, &batch, b);
            assert!((1..=10).contains(&reps));
        }
    }
}

#[test]
fn hand_checked_small_episode() {
    // L = 2, R = 2, bits = 3: the module doc's diagram, 9 steps.
    let task =
        RepeatCopy::new(RepeatCopySpec { bits: 3, min_length: 2, max_length: 2, min_repeats: 1, max_repeats: 3 });
    let batch = task.sample_sized(&mut rng(9), 1, None, Some(2));
    assert_eq!(batch.time, 9);
    let ep = batch.episode(0);
    // Range 1..=3: mean 2, so R = 2 normalises to 0 (the channel stays 0).
    assert_eq!(ep.inputs[3], vec![0.0; 5]);
    assert_eq!(ep.mask, vec![0., 0., 0., 0., 1., 1., 1., 1., 1.]);
    for t in 0..2 {
        assert_eq!(ep.targets[4 + t][..3], ep.inputs[t][..3]);
        assert_eq!(ep.targets[6 + t][..3], ep.inputs[t][..3]);
    }
    assert_eq!(ep.targets[8], vec![0.0, 0.0, 0.0, 1.0]);
    assert_eq!(ep.inputs[2], vec![0.0, 0.0, 0.0, 1.0, 0.0]);
}

#[test]
fn padding_is_zero_with_mask_zero() {
    let task = paper_task();
    let batch = task.sample(&mut rng(4), 64, None);
    let mut padded_steps = 0;
    for b in 0..batch.batch {
        let own = RepeatCopy::episode_time(batch.lengths[b], repeats_from_mask(&batch, b));
        for t in own..batch.time {
            assert!(batch.input(t, b).iter().all(|&v| v == 0.0));
            assert!(batch.target(t, b).iter().all(|&v| v == 0.0));
            assert_eq!(batch.mask_at(t, b), 0.0);
            padded_steps += 1;
        }
    }
    assert!(padded_steps > 0, "want mixed episode times to exercise padding");
}

#[test]
fn repeat_channel_is_normalised_over_training() {
    let task = paper_task();
    let batch = task.sample(&mut rng(5), 5000, None);
    let values: Vec<f64> = (0..batch.batch).map(|b| batch.input(batch.lengths[b] + 1, b)[9] as f64).collect();
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
    // Std error of the mean is 1/sqrt(5000) ~ 0.014.
    assert!(mean.abs() < 0.05, "mean {mean}");
    assert!((var - 1.0).abs() < 0.05, "variance {var}");
}

#[test]
fn drawn_lengths_and_repeats_cover_their_ranges() {
    let task =
        RepeatCopy::new(RepeatCopySpec { bits: 2, min_length: 2, max_length: 6, min_repeats: 3, max_repeats: 7 });
    let batch = task.sample(&mut rng(6), 1000, None);
    let lengths: BTreeSet<usize> = batch.lengths.iter().copied().collect();
    let repeats: BTreeSet<usize> = (0..batch.batch).map(|b| repeats_from_mask(&batch, b)).collect();
    assert_eq!(lengths, (2..=6).collect::<BTreeSet<_>>());
    assert_eq!(repeats, (3..=7).collect::<BTreeSet<_>>());
}

#[test]
fn fixed_length_and_repeats_beyond_training() {
    let task = paper_task();
    let batch = task.sample_sized(&mut rng(7), 4, Some(12), Some(15));
    assert_eq!(batch.lengths, vec![12; 4]);
    assert_eq!(batch.time, 12 + 2 + 12 * 15 + 1);
    let expected = (15.0 - 5.5) / 8.25f32.sqrt();
    for b in 0..4 {
        assert_eq!(check_element(&task, &batch, b), 15);
        assert!((batch.input(13, b)[9] - expected).abs() < 1e-6);
    }
}

#[test]
fn fixed_repeats_with_drawn_lengths() {
    let task = paper_task();
    let batch = task.sample_sized(&mut rng(11), 64, None, Some(20));
    let lengths: BTreeSet<usize> = batch.lengths.iter().copied().collect();
    assert_eq!(lengths, (1..=10).collect::<BTreeSet<_>>(), "lengths still drawn from training");
    let longest = *lengths.last().unwrap();
    assert_eq!(batch.time, RepeatCopy::episode_time(longest, 20));
    for b in 0..64 {
        assert_eq!(check_element(&task, &batch, b), 20);
    }
}

#[test]
fn sample_is_sample_sized_without_repeats() {
    let task = paper_task();
    for length in [None, Some(4)] {
        let a = task.sample(&mut rng(12), 8, length);
        assert_eq!(a, task.sample_sized(&mut rng(12), 8, length, None));
    }
}

#[test]
fn fixed_length_draws_repeats() {
    let task = paper_task();
    let batch = task.sample(&mut rng(8), 200, Some(3));
    assert_eq!(batch.lengths, vec![3; 200]);
    let repeats: BTreeSet<usize> = (0..200).map(|b| check_element(&task, &batch, b)).collect();
    assert_eq!(repeats, (1..=10).collect::<BTreeSet<_>>());
}

#[test]
fn zero_repeats_is_just_the_end_marker() {
    let task = paper_task();
    let batch = task.sample_sized(&mut rng(10), 2, Some(4), Some(0));
    assert_eq!(batch.time, 4 + 2 + 1);
    for b in 0..2 {
        assert_eq!(batch.target(6, b)[8], 1.0);
        assert_eq!((0..7).map(|t| batch.mask_at(t, b)).sum::<f32>(), 1.0);
    }
}

#[test]
fn same_seed_same_batch_different_seed_differs() {
    let task = paper_task();
    let a = task.sample(&mut rng(42), 8, None);
    assert_eq!(a, task.sample(&mut rng(42), 8, None));
    assert_ne!(a.inputs, task.sample(&mut rng(43), 8, None).inputs);
    let fixed = |seed| task.sample_sized(&mut rng(seed), 4, Some(5), Some(3));
    assert_eq!(fixed(1), fixed(1));
    assert_ne!(fixed(1), fixed(2));
}

#[test]
#[should_panic(expected = "task.min_repeats = 0: must be at least 1")]
fn new_rejects_invalid_spec() {
    RepeatCopy::new(RepeatCopySpec { min_repeats: 0, ..Default::default() });
}
