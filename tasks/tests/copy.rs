//! The copy task's batches: shapes, the copy relation, delimiter, mask, padding, lengths,
//! randomness and determinism.

use ntm_tasks::{Batch, CopySpec, CopyTask, Task};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeSet;

fn paper_task() -> CopyTask {
    CopyTask::new(CopySpec::default())
}

fn sample(task: &CopyTask, seed: u64, batch: usize, length: Option<usize>) -> Batch {
    task.sample(&mut ChaCha8Rng::seed_from_u64(seed), batch, length)
}

#[test]
fn shapes_and_widths() {
    let task = paper_task();
    assert_eq!(task.name(), "copy");
    assert_eq!(task.input_width(), 9);
    assert_eq!(task.output_width(), 8);
    assert_eq!(task.length_range(), (1, 20));

    let batch = sample(&task, 1, 16, None);
    let max_len = *batch.lengths.iter().max().unwrap();
    assert_eq!(batch.batch, 16);
    assert_eq!(batch.time, 2 * max_len + 1);
    assert_eq!((batch.input_width, batch.output_width), (9, 8));
    assert_eq!(batch.inputs.len(), batch.time * 16 * 9);
    assert_eq!(batch.targets.len(), batch.time * 16 * 8);
    assert_eq!(batch.mask.len(), batch.time * 16);
    assert_eq!(batch.lengths.len(), 16);
}

#[test]
fn custom_widths() {
    let task = CopyTask::new(CopySpec { bits: 3, min_length: 4, max_length: 4 });
    let batch = sample(&task, 2, 5, None);
    assert_eq!((batch.input_width, batch.output_width), (4, 3));
    assert_eq!(batch.lengths, vec![4; 5]);
    assert_eq!(batch.time, 9);
}

/// Checks one element against the copy layout, step by step.
fn check_element(batch: &Batch, b: usize) {
    let ep = batch.episode(b);
    let len = ep.length;
    let bits = batch.output_width;
    assert!(len >= 1);
    for t in 0..batch.time {
        let input = &ep.inputs[t];
        let target = &ep.targets[t];
        if t < len {
            // Reading: random bits, delimiter off, no target.
            assert!(input[..bits].iter().all(|&v| v == 0.0 || v == 1.0));
            assert_eq!(input[bits], 0.0, "delimiter on at step {t}");
            assert_eq!(ep.mask[t], 0.0);
            assert!(target.iter().all(|&v| v == 0.0));
        } else if t == len {
            // The delimiter step: only the delimiter channel.
            assert_eq!(input[bits], 1.0);
            assert!(input[..bits].iter().all(|&v| v == 0.0));
            assert_eq!(ep.mask[t], 0.0);
        } else if t <= 2 * len {
            // Answering: no input, target = the sequence.
            assert!(input.iter().all(|&v| v == 0.0), "input during answer at {t}");
            assert_eq!(ep.mask[t], 1.0);
            assert_eq!(target[..], ep.inputs[t - len - 1][..bits], "target at step {t}");
        } else {
            // Padding.
            assert!(input.iter().all(|&v| v == 0.0), "padding input at {t}");
            assert!(target.iter().all(|&v| v == 0.0), "padding target at {t}");
            assert_eq!(ep.mask[t], 0.0, "padding mask at {t}");
        }
    }
    assert_eq!(ep.mask.iter().sum::<f32>(), len as f32);
}

#[test]
fn targets_copy_inputs_after_the_delimiter() {
    let task = paper_task();
    for seed in 0..5 {
        let batch = sample(&task, seed, 32, None);
        for b in 0..batch.batch {
            check_element(&batch, b);
        }
    }
}

#[test]
fn target_offset_formula_on_flat_buffers() {
    // The documented relation target[L + 1 + t] == input[t][..bits], via Batch's accessors.
    let batch = sample(&paper_task(), 3, 8, None);
    for b in 0..batch.batch {
        let len = batch.lengths[b];
        for t in 0..len {
            assert_eq!(batch.target(len + 1 + t, b), &batch.input(t, b)[..8]);
        }
    }
}

#[test]
fn padding_is_zero_with_mask_zero() {
    let task = paper_task();
    let batch = sample(&task, 4, 64, None);
    let lengths: BTreeSet<usize> = batch.lengths.iter().copied().collect();
    assert!(lengths.len() > 1, "want mixed lengths to exercise padding");
    for b in 0..batch.batch {
        let end = 2 * batch.lengths[b] + 1;
        for t in end..batch.time {
            assert!(batch.input(t, b).iter().all(|&v| v == 0.0));
            assert!(batch.target(t, b).iter().all(|&v| v == 0.0));
            assert_eq!(batch.mask_at(t, b), 0.0);
        }
    }
}

#[test]
fn fixed_length_may_exceed_training_range() {
    let batch = sample(&paper_task(), 5, 3, Some(50));
    assert_eq!(batch.lengths, vec![50; 3]);
    assert_eq!(batch.time, 101);
    for b in 0..3 {
        check_element(&batch, b);
    }
}

#[test]
fn drawn_lengths_cover_the_range_and_stay_inside() {
    let task = CopyTask::new(CopySpec { bits: 2, min_length: 3, max_length: 12 });
    let batch = sample(&task, 6, 2000, None);
    let seen: BTreeSet<usize> = batch.lengths.iter().copied().collect();
    assert_eq!(seen, (3..=12).collect::<BTreeSet<_>>());
}

#[test]
fn bits_are_fair_coin_flips() {
    let batch = sample(&paper_task(), 7, 64, Some(20));
    let mut ones = 0usize;
    let mut total = 0usize;
    for b in 0..batch.batch {
        for t in 0..20 {
            ones += batch.input(t, b)[..8].iter().filter(|&&v| v == 1.0).count();
            total += 8;
        }
    }
    let p = ones as f64 / total as f64;
    // 10240 flips: std of p is 0.005.
    assert!((p - 0.5).abs() < 0.025, "fraction of ones {p}");
}

#[test]
fn same_seed_same_batch_different_seed_differs() {
    let task = paper_task();
    let a = sample(&task, 42, 8, None);
    let b = sample(&task, 42, 8, None);
    let c = sample(&task, 43, 8, None);
    assert_eq!(a, b);
    assert_ne!(a.inputs, c.inputs);
    // Also with a fixed length, where only the bits can differ.
    assert_ne!(sample(&task, 1, 4, Some(10)), sample(&task, 2, 4, Some(10)));
}

#[test]
fn usable_as_trait_object() {
    let task: Box<dyn Task> = Box::new(paper_task());
    let batch = task.sample(&mut ChaCha8Rng::seed_from_u64(0), 2, Some(1));
    assert_eq!(batch.time, 3);
}

#[test]
#[should_panic(expected = "at least 1")]
fn zero_length_panics() {
    sample(&paper_task(), 0, 1, Some(0));
}

#[test]
#[should_panic(expected = "batch size")]
fn empty_batch_panics() {
    sample(&paper_task(), 0, 0, None);
}

#[test]
#[should_panic(expected = "task.min_length = 5 is greater than task.max_length = 3")]
fn new_rejects_invalid_spec() {
    CopyTask::new(CopySpec { bits: 8, min_length: 5, max_length: 3 });
}

#[test]
fn copy_has_no_repeat_count() {
    let task = paper_task();
    assert_eq!(task.repeat_range(), None);
    let a = sample(&task, 5, 3, Some(4));
    assert_eq!(a, task.sample_sized(&mut ChaCha8Rng::seed_from_u64(5), 3, Some(4), None));
}

#[test]
#[should_panic(expected = "the copy task has no repeat count, but 5 repeats were asked for")]
fn copy_refuses_a_repeat_count() {
    paper_task().sample_sized(&mut ChaCha8Rng::seed_from_u64(0), 1, Some(2), Some(5));
}
