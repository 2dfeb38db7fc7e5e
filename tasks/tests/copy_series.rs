//! The copy series task's batches: shapes, each sequence's delimiter and answer, the mask,
//! padding, the lengths it records, determinism from the seed and its settings' validation.

use ntm_tasks::{Batch, CopySeries, CopySeriesSpec, EpisodeInfo, Task, TaskSpec};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeSet;

fn default_task() -> CopySeries {
    CopySeries::new(CopySeriesSpec::default())
}

fn sample(task: &CopySeries, seed: u64, batch: usize, sequences: Option<usize>) -> Batch {
    task.sample(&mut ChaCha8Rng::seed_from_u64(seed), batch, sequences)
}

/// The lengths of element `b`'s sequences, from its info.
fn lengths_of(batch: &Batch, b: usize) -> Vec<usize> {
    match &batch.info[b] {
        Some(EpisodeInfo::CopySeries { lengths }) => lengths.clone(),
        other => panic!("element {b}: info {other:?}"),
    }
}

#[test]
fn shapes_and_widths() {
    let task = default_task();
    assert_eq!(task.name(), "copy-series");
    assert_eq!((task.input_width(), task.output_width()), (9, 8));
    assert_eq!(task.length_range(), (1, 4));
    assert_eq!(task.length_words().label(3), "3 sequences");

    let batch = sample(&task, 1, 16, None);
    let longest = (0..16).map(|b| CopySeries::episode_time(&lengths_of(&batch, b))).max().unwrap();
    assert_eq!((batch.batch, batch.time), (16, longest));
    assert_eq!((batch.input_width, batch.output_width), (9, 8));
    assert_eq!(batch.inputs.len(), batch.time * 16 * 9);
    assert_eq!(batch.targets.len(), batch.time * 16 * 8);
    assert_eq!(batch.mask.len(), batch.time * 16);
    for b in 0..16 {
        assert_eq!(batch.lengths[b], lengths_of(&batch, b).len(), "the length is the number of sequences");
    }
}

/// Checks element `b` step by step against the layout of the module docs: per sequence its
/// vectors (delimiter off, mask 0), the delimiter step, then its answer (no input, target =
/// the sequence, mask 1); padding after the last answer.
fn check_element(batch: &Batch, b: usize) {
    let ep = batch.episode(b);
    let bits = batch.output_width;
    let lengths = lengths_of(batch, b);
    let zero = |v: &[f32]| v.iter().all(|&x| x == 0.0);
    let mut start = 0;
    for &len in &lengths {
        assert!((1..=8).contains(&len), "sequence of {len}");
        for t in 0..len {
            let (input, target) = (&ep.inputs[start + t], &ep.targets[start + t]);
            assert!(input[..bits].iter().all(|&v| v == 0.0 || v == 1.0));
            assert_eq!(input[bits], 0.0, "delimiter on at step {}", start + t);
            assert_eq!(ep.mask[start + t], 0.0);
            assert!(zero(target));
        }
        let delimiter = start + len;
        assert_eq!(ep.inputs[delimiter][bits], 1.0);
        assert!(zero(&ep.inputs[delimiter][..bits]));
        assert_eq!(ep.mask[delimiter], 0.0);
        for t in 0..len {
            let step = delimiter + 1 + t;
            assert!(zero(&ep.inputs[step]), "input during the answer at {step}");
            assert_eq!(ep.mask[step], 1.0);
            // Each answer is its own sequence, not another's.
            assert_eq!(ep.targets[step][..], ep.inputs[start + t][..bits], "target at step {step}");
        }
        start += 2 * len + 1;
    }
    assert_eq!(start, CopySeries::episode_time(&lengths));
    for t in start..batch.time {
        assert!(zero(&ep.inputs[t]) && zero(&ep.targets[t]), "padding at {t}");
        assert_eq!(ep.mask[t], 0.0, "padding mask at {t}");
    }
    assert_eq!(ep.mask.iter().sum::<f32>(), lengths.iter().sum::<usize>() as f32);
}

#[test]
fn each_answer_is_its_sequence_and_the_mask_covers_the_answers() {
    let task = default_task();
    for seed in 0..5 {
        let batch = sample(&task, seed, 32, None);
        for b in 0..batch.batch {
            check_element(&batch, b);
        }
    }
}

#[test]
fn the_module_docs_example() {
    // Two sequences of lengths 2 and 1, 3 bits: 8 steps, answers at 3-4 and 7.
    let task = CopySeries::new(CopySeriesSpec { bits: 3, min_length: 1, max_length: 2, ..Default::default() });
    let batch = (0..200)
        .map(|seed| sample(&task, seed, 1, Some(2)))
        .find(|batch| lengths_of(batch, 0) == [2, 1])
        .expect("some seed draws lengths 2 and 1");
    assert_eq!(batch.time, 8);
    assert_eq!(batch.mask, [0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0]);
    let delimiters: Vec<f32> = (0..8).map(|t| batch.input(t, 0)[3]).collect();
    assert_eq!(delimiters, [0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0, 0.0]);
    assert_eq!(batch.target(3, 0), &batch.input(0, 0)[..3]);
    assert_eq!(batch.target(4, 0), &batch.input(1, 0)[..3]);
    assert_eq!(batch.target(7, 0), &batch.input(5, 0)[..3]);
    check_element(&batch, 0);
}

#[test]
fn numbers_of_sequences_cover_the_range_and_may_exceed_it() {
    let task = CopySeries::new(CopySeriesSpec { min_sequences: 2, max_sequences: 5, ..Default::default() });
    let drawn: BTreeSet<usize> = sample(&task, 7, 200, None).lengths.into_iter().collect();
    assert_eq!(drawn, (2..=5).collect());
    // Evaluation asks for longer series; each sequence keeps the training lengths.
    let batch = sample(&task, 8, 4, Some(12));
    assert_eq!(batch.lengths, [12; 4]);
    for b in 0..4 {
        check_element(&batch, b);
    }
    let within = CopySeries::new(CopySeriesSpec::default());
    let lengths: BTreeSet<usize> = (0..50).flat_map(|b| lengths_of(&sample(&within, 9 + b, 1, Some(6)), 0)).collect();
    assert_eq!(lengths, (1..=8).collect(), "sequence lengths uniform over min_length..=max_length");
}

#[test]
fn episode_steps_bound_every_draw() {
    let task = default_task();
    for sequences in [1, 3, 10] {
        let batch = sample(&task, sequences as u64, 64, Some(sequences));
        assert!(batch.time <= task.episode_steps(sequences, None));
    }
    // All sequences as long as allowed: the bound is met.
    let fixed = CopySeries::new(CopySeriesSpec { min_length: 5, max_length: 5, ..Default::default() });
    assert_eq!(sample(&fixed, 1, 2, Some(3)).time, fixed.episode_steps(3, None));
}

#[test]
fn the_same_seed_draws_the_same_batch() {
    let task = default_task();
    assert_eq!(sample(&task, 5, 8, None), sample(&task, 5, 8, None));
    assert_eq!(sample(&task, 5, 8, Some(9)), sample(&task, 5, 8, Some(9)));
    assert_ne!(sample(&task, 5, 8, None).inputs, sample(&task, 6, 8, None).inputs);
}

#[test]
fn bad_settings_are_refused_naming_the_field() {
    let spec = |bits, min_length, max_length, min_sequences, max_sequences| {
        TaskSpec::CopySeries(CopySeriesSpec { bits, min_length, max_length, min_sequences, max_sequences })
    };
    let cases = [
        (spec(0, 1, 8, 1, 4), "task.bits = 0: must be at least 1".to_owned()),
        (spec(8, 0, 8, 1, 4), "task.min_length = 0: must be at least 1".to_owned()),
        (spec(8, 9, 8, 1, 4), "task.min_length = 9 is greater than task.max_length = 8".to_owned()),
        (spec(8, 1, 8, 0, 4), "task.min_sequences = 0: must be at least 1".to_owned()),
        (spec(8, 1, 8, 5, 4), "task.min_sequences = 5 is greater than task.max_sequences = 4".to_owned()),
        (
            spec(8, 1, 1 << 20, 1, 64),
            format!(
                "task.max_sequences = 64 with task.max_length = {}: episodes of more than {} steps (no machine could hold them)",
                1 << 20,
                ntm_tasks::MAX_LENGTH
            ),
        ),
    ];
    for (spec, want) in cases {
        assert_eq!(spec.validate(), Err(want), "{spec:?}");
    }
    assert_eq!(spec(1, 1, 1, 1, 1).validate(), Ok(()));
}

#[test]
fn a_table_reads_as_copy_series() {
    let spec: TaskSpec = toml::from_str(
        "kind = \"copy-series\"\nbits = 4\nmin_length = 2\nmax_length = 3\nmin_sequences = 2\nmax_sequences = 5",
    )
    .unwrap();
    let TaskSpec::CopySeries(series) = &spec else { panic!("{spec:?}") };
    assert_eq!((series.bits, series.min_length, series.max_length), (4, 2, 3));
    assert_eq!((spec.name(), spec.length_fields()), ("copy-series", ("min_sequences", "max_sequences")));
    let e = toml::from_str::<TaskSpec>("kind = \"copy-series\"\nsequences = 3").unwrap_err().to_string();
    assert!(e.contains("unknown field `sequences`"), "{e}");
}

#[test]
#[should_panic(expected = "has no repeat count")]
fn repeats_are_refused() {
    default_task().sample_sized(&mut ChaCha8Rng::seed_from_u64(0), 1, Some(2), Some(3));
}
