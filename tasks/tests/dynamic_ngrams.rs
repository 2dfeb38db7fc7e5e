//! The dynamic N-grams task's batches: shapes, the layout of the module docs' diagram (input
//! the bits, target the next bit, mask every prediction), padding in a batch of mixed lengths,
//! the Beta(1/2, 1/2) tables and the bits drawn from them, the optimal predictor against a plain
//! recomputation, its expected cost against the paper's figure 13, and every invalid setting
//! named in its error.

use ntm_tasks::ngram_table::{beta_half, beta_half_cdf};
use ntm_tasks::{Batch, DynamicNgrams, DynamicNgramsSpec, EpisodeInfo, Task, TaskSpec};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeSet;

fn paper_task() -> DynamicNgrams {
    DynamicNgrams::new(DynamicNgramsSpec::default())
}

fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

/// The table of element `b`, from its info.
fn table(batch: &Batch, b: usize) -> &[f64] {
    match &batch.info[b] {
        Some(EpisodeInfo::DynamicNgrams { table }) => table,
        other => panic!("element {b}: no N-gram table but {other:?}"),
    }
}

/// The bits of element `b`, read back from its inputs.
fn bits(batch: &Batch, b: usize) -> Vec<bool> {
    (0..batch.lengths[b]).map(|t| batch.input(t, b)[0] == 1.0).collect()
}

/// Checks one element against the layout of the module docs, padding included.
fn check_element(batch: &Batch, b: usize) {
    let ep = batch.episode(b);
    let len = ep.length;
    let reference = ep.reference.as_ref().expect("reference predictions");
    for (t, p) in reference.iter().map(|r| r[0]).enumerate().take(batch.time) {
        let (input, target) = (ep.inputs[t][0], ep.targets[t][0]);
        if t < len {
            assert!(input == 0.0 || input == 1.0, "step {t}: input {input}");
        } else {
            assert_eq!(input, 0.0, "padding input at step {t}");
        }
        if t + 1 < len {
            assert_eq!(ep.mask[t], 1.0, "mask at step {t}");
            assert_eq!(target, ep.inputs[t + 1][0], "the target is the next bit, step {t}");
            assert!(p > 0.0 && p < 1.0, "step {t}: reference {p}");
        } else {
            assert_eq!((ep.mask[t], target, p), (0.0, 0.0, 0.0), "no next bit at step {t}");
        }
    }
    assert_eq!(ep.mask.iter().sum::<f32>(), (len - 1) as f32, "element {b}: every prediction scored");
}

#[test]
fn shapes_widths_and_info() {
    let task = paper_task();
    assert_eq!(task.name(), "dynamic-ngrams");
    assert_eq!((task.input_width(), task.output_width()), (1, 1));
    assert_eq!(task.length_range(), (200, 200));
    assert_eq!(task.length_words().episode(200), "length 200");
    let batch = task.sample(&mut rng(1), 8, None);
    assert_eq!((batch.time, batch.batch, batch.lengths.clone()), (200, 8, vec![200; 8]));
    assert_eq!((batch.inputs.len(), batch.targets.len(), batch.mask.len()), (1600, 1600, 1600));
    assert_eq!(batch.reference.as_ref().map(Vec::len), Some(1600));
    assert_eq!(batch.info.len(), 8);
    for b in 0..8 {
        assert_eq!(table(&batch, b).len(), 32);
        check_element(&batch, b);
    }
    assert_ne!(table(&batch, 0), table(&batch, 1), "a new table every episode");
}

#[test]
fn the_docs_diagram_and_other_contexts() {
    // C = 2, L = 8: 4 entries, 8 steps, 7 predictions; C = 1 and C = 16 work as well.
    for (context, entries) in [(2, 4), (1, 2), (16, 65536)] {
        let task = DynamicNgrams::new(DynamicNgramsSpec { context, min_length: 8, max_length: 8 });
        let batch = task.sample(&mut rng(2), 3, None);
        assert_eq!(batch.time, 8);
        for b in 0..3 {
            assert_eq!(table(&batch, b).len(), entries);
            check_element(&batch, b);
        }
    }
}

#[test]
fn padding_in_a_batch_of_mixed_lengths() {
    let task = DynamicNgrams::new(DynamicNgramsSpec { context: 5, min_length: 2, max_length: 40 });
    let batch = task.sample(&mut rng(3), 64, None);
    let lengths: BTreeSet<usize> = batch.lengths.iter().copied().collect();
    assert!(lengths.len() > 20, "mixed lengths: {lengths:?}");
    assert_eq!(batch.time, *lengths.last().unwrap());
    (0..64).for_each(|b| check_element(&batch, b));
    // Stacking single episodes gives the same padding (the trait's default sample_up_to).
    let parts: Vec<Batch> = (0..4).map(|b| task.sample(&mut rng(10 + b), 1, Some(5 + 10 * b as usize))).collect();
    let stacked = Batch::stack(&parts);
    (0..4).for_each(|b| check_element(&stacked, b));
    assert_eq!(stacked.episode(0).info, parts[0].episode(0).info);
}

#[test]
fn sample_up_to_caps_the_length_and_keeps_the_draw_order() {
    let task = DynamicNgrams::new(DynamicNgramsSpec { context: 3, min_length: 10, max_length: 100 });
    let mut r = rng(4);
    let lengths: BTreeSet<usize> = (0..40).flat_map(|_| task.sample_up_to(&mut r, 8, 12).lengths).collect();
    assert_eq!(lengths, (10..=12).collect());
    let (mut a, mut b) = (rng(5), rng(5));
    assert_eq!(task.sample_up_to(&mut a, 4, 100), task.sample(&mut b, 4, None));
}

#[test]
fn optimal_predictor_against_a_plain_recomputation() {
    // For bit i: the ones and zeros after every earlier occurrence of the same C bits, by a
    // scan over the whole prefix (no running counts, no context indices).
    for (context, seed) in [(5, 6), (2, 7), (1, 8)] {
        let task = DynamicNgrams::new(DynamicNgramsSpec { context, min_length: 2, max_length: 120 });
        let batch = task.sample(&mut rng(seed), 16, None);
        for b in 0..16 {
            let x = bits(&batch, b);
            for i in 1..x.len() {
                let expected = if i < context {
                    0.5
                } else {
                    let after: Vec<bool> =
                        (context..i).filter(|&j| x[j - context..j] == x[i - context..i]).map(|j| x[j]).collect();
                    let n1 = after.iter().filter(|&&bit| bit).count() as f64;
                    (n1 + 0.5) / (after.len() as f64 + 1.0)
                };
                assert_eq!(
                    batch.reference(i - 1, b).unwrap()[0],
                    expected as f32,
                    "C = {context}, element {b}, bit {i}"
                );
            }
        }
    }
}

/// The Kolmogorov-Smirnov distance of `values` from Beta(1/2, 1/2).
fn ks_distance(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len() as f64;
    values.iter().enumerate().fold(0.0, |d: f64, (i, &x)| {
        let cdf = beta_half_cdf(x);
        d.max((i as f64 + 1.0) / n - cdf).max(cdf - i as f64 / n)
    })
}

/// Critical value of the KS distance at the 0.1% level: 1.95 / sqrt(n).
fn ks_bound(n: usize) -> f64 {
    1.95 / (n as f64).sqrt()
}

#[test]
fn beta_half_has_the_arcsine_moments_and_cdf() {
    let mut r = rng(9);
    let n = 200_000;
    let draws: Vec<f64> = (0..n).map(|_| beta_half(&mut r)).collect();
    assert!(draws.iter().all(|&p| (0.0..=1.0).contains(&p)));
    let mean = draws.iter().sum::<f64>() / n as f64;
    let var = draws.iter().map(|p| (p - mean).powi(2)).sum::<f64>() / n as f64;
    // Standard errors: sqrt(1/8 / n) ~ 0.0008 for the mean; the variance's ~0.0002 (the
    // fourth central moment of Beta(1/2, 1/2) is 3/64).
    assert!((mean - 0.5).abs() < 0.004, "mean {mean}");
    assert!((var - 0.125).abs() < 0.001, "variance {var}");
    let d = ks_distance(draws);
    assert!(d < ks_bound(n), "KS distance {d} against {}", ks_bound(n));
    // The test can tell: uniform draws (Beta(1, 1)) are far outside the bound.
    let uniform: Vec<f64> = (0..n).map(|i| (i as f64 + 0.5) / n as f64).collect();
    assert!(ks_distance(uniform) > 10.0 * ks_bound(n));
}

#[test]
fn tables_are_arcsine_and_bits_follow_them() {
    let batch = paper_task().sample(&mut rng(10), 2000, None);
    let entries: Vec<f64> = (0..2000).flat_map(|b| table(&batch, b).to_vec()).collect();
    let d = ks_distance(entries.clone());
    assert!(d < ks_bound(entries.len()), "KS distance of the tables {d}");
    // Bits 0..5 fair; every later bit 1 with its context's probability: the sum of x - p over
    // them is within 4 standard deviations of 0.
    let (mut fair, mut deviation, mut variance) = (0.0, 0.0, 0.0);
    for b in 0..2000 {
        let (x, p) = (bits(&batch, b), table(&batch, b));
        fair += x[..5].iter().filter(|&&bit| bit).count() as f64;
        for i in 5..200 {
            let c = x[i - 5..i].iter().fold(0, |c, &bit| 2 * c + bit as usize);
            deviation += x[i] as u8 as f64 - p[c];
            variance += p[c] * (1.0 - p[c]);
        }
    }
    let fair_sd = (10_000.0f64 * 0.25).sqrt();
    assert!((fair - 5_000.0).abs() < 4.0 * fair_sd, "{fair} ones in 10,000 fair bits");
    assert!(deviation.abs() < 4.0 * variance.sqrt(), "table bits deviate by {deviation} (sd {})", variance.sqrt());
}

#[test]
fn optimal_cost_per_sequence_against_the_paper() {
    // The Monte-Carlo optimum over 10,000 episodes of 200 bits (`cargo test -p ntm-tasks --test
    // dynamic_ngrams -- --nocapture` prints it). Figure 13 of the paper shows ~131-132.
    let task = paper_task();
    let cost = task.optimal_cost(&mut rng(11), 200, 10_000);
    println!(
        "optimal predictor, bits per sequence over {} episodes: {:.2} +- {:.2} over the 199 scored predictions, \
         {:.2} over the 195 with a full context, {:.2} if bit 0 were predicted too (200)",
        cost.episodes,
        cost.scored,
        cost.std_error,
        cost.full_context,
        cost.scored + 1.0
    );
    assert!((cost.scored - cost.full_context - 4.0).abs() < 1e-9, "{cost:?}");
    // A sequence's cost varies much with its table (sd ~35 bits): the mean is known to ~0.35.
    assert!(cost.std_error > 0.0 && cost.std_error < 0.5, "{cost:?}");
    assert!((131.5..133.5).contains(&cost.scored), "{cost:?}");
    assert!(cost.full_context < 129.5, "{cost:?}");
    // The same optimum on a batch's reference predictions (f32), as a model's loss is counted.
    let batch = task.sample(&mut rng(12), 2_000, None);
    let bits = batch.reference_bits().unwrap();
    assert!((bits - cost.scored).abs() < 4.0 * cost.std_error * (10_000.0f64 / 2_000.0).sqrt(), "batch {bits}");
    assert_eq!(TaskSpec::default().build().sample(&mut rng(12), 2, None).reference_bits(), None);
}

#[test]
fn length_checks() {
    let task = paper_task();
    assert_eq!(task.check_length(2), Ok(()));
    assert_eq!(task.check_length(1000), Ok(()));
    for n in [0, 1] {
        let e = task.check_length(n).unwrap_err();
        assert!(e.starts_with("must be at least 2 (the first bit is only read"), "{e}");
    }
}

#[test]
#[should_panic(expected = "1 bits: must be at least 2")]
fn one_bit_panics() {
    paper_task().sample(&mut rng(1), 1, Some(1));
}

#[test]
#[should_panic(expected = "no repeat count")]
fn repeats_panic() {
    paper_task().sample_sized(&mut rng(1), 1, None, Some(3));
}

#[test]
fn invalid_specs_name_field_and_value() {
    let spec = |context, min_length, max_length| {
        TaskSpec::DynamicNgrams(DynamicNgramsSpec { context, min_length, max_length })
    };
    let cases = [
        (spec(0, 200, 200), "task.context = 0: must be from 1 to 16 (the bits each probability depends on"),
        (spec(17, 200, 200), "task.context = 17: must be from 1 to 16"),
        (spec(5, 0, 200), "task.min_length = 0: must be at least 2"),
        (spec(5, 1, 200), "task.min_length = 1: must be at least 2 (the first bit is only read, never predicted"),
        (spec(5, 300, 200), "task.min_length = 300 is greater than task.max_length = 200"),
        (spec(5, 2, usize::MAX), "task.max_length = 18446744073709551615: must be at most 16777216"),
    ];
    for (spec, want) in cases {
        let e = spec.validate().unwrap_err();
        assert!(e.starts_with(want), "{e:?} should start with {want:?}");
        assert!(!e.contains('\n'));
    }
    assert_eq!(spec(16, 2, 2).validate(), Ok(()));
    assert_eq!(spec(1, 2, 2).validate(), Ok(()));
}

#[test]
fn toml_table() {
    let spec: TaskSpec = toml::from_str("kind = \"dynamic-ngrams\"\ncontext = 3\n").unwrap();
    assert_eq!(spec, TaskSpec::DynamicNgrams(DynamicNgramsSpec { context: 3, ..Default::default() }));
    assert_eq!((spec.name(), spec.length_fields()), ("dynamic-ngrams", ("min_length", "max_length")));
    assert_eq!(spec.build().name(), "dynamic-ngrams");
    // No `bits`: the task reads one bit per step.
    let e = toml::from_str::<TaskSpec>("kind = \"dynamic-ngrams\"\nbits = 8\n").unwrap_err().to_string();
    assert!(e.contains("bits"), "{e}");
    assert!(toml::from_str::<TaskSpec>("kind = \"ngrams\"\n").is_err());
}

#[test]
fn episodes_and_info_serialise() {
    let task = DynamicNgrams::new(DynamicNgramsSpec { context: 1, min_length: 3, max_length: 3 });
    let batch = task.sample(&mut rng(13), 1, None);
    let json = serde_json::to_value(batch.episode(0)).unwrap();
    assert_eq!(json["info"]["kind"], "dynamic-ngrams");
    assert_eq!(json["info"]["table"].as_array().map(Vec::len), Some(2));
    assert_eq!(json["reference"][2], serde_json::json!([0.0]));
    let back: ntm_tasks::Episode = serde_json::from_value(json).unwrap();
    let episode = batch.episode(0);
    assert_eq!((&back.inputs, &back.targets, &back.mask), (&episode.inputs, &episode.targets, &episode.mask));
    assert_eq!(back.reference, episode.reference);
    // The table's f64 values to within serde_json's float parsing (without float_roundtrip).
    match (back.info, episode.info) {
        (Some(EpisodeInfo::DynamicNgrams { table: read }), Some(EpisodeInfo::DynamicNgrams { table })) => {
            assert!(read.iter().zip(&table).all(|(a, b)| (a - b).abs() <= 1e-15), "{read:?} against {table:?}");
        }
        other => panic!("{other:?}"),
    }
}
