//! The priority sort task's batches: shapes, the layout of the module docs' diagram, the
//! answers against a plain reference sort written here (and a column-wise sort, the known bug
//! of a public reimplementation, caught by it), the number of answers at other numbers of
//! inputs, ties, padding, and every invalid setting named in its error.

use ntm_tasks::{Batch, Episode, EpisodeInfo, PrioritySort, PrioritySortSpec, Task, TaskSpec};
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeSet;

fn paper_task() -> PrioritySort {
    PrioritySort::new(PrioritySortSpec::default())
}

fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

/// The answers of an episode by a plain reference: the (priority, vector) pairs read off the
/// inputs, insertion-sorted by priority, highest first (a pair moves only past strictly lower
/// priorities, so equal ones keep their input order), the first `answers` taken.
fn reference_answers(ep: &Episode, bits: usize, answers: usize) -> Vec<Vec<f32>> {
    let mut sorted: Vec<(f32, Vec<f32>)> = Vec::new();
    for t in 0..ep.length {
        let pair = (ep.inputs[t][bits], ep.inputs[t][..bits].to_vec());
        let at = sorted.iter().position(|(p, _)| *p < pair.0).unwrap_or(sorted.len());
        sorted.insert(at, pair);
    }
    sorted.into_iter().take(answers).map(|(_, vector)| vector).collect()
}

/// The buggy answers of a sort of every input column on its own (`torch.sort(x, 0)`,
/// descending): each bit channel's values sorted by themselves, not moved with the priorities.
fn column_sorted_answers(ep: &Episode, bits: usize, answers: usize) -> Vec<Vec<f32>> {
    let columns: Vec<Vec<f32>> = (0..bits)
        .map(|c| {
            let mut column: Vec<f32> = (0..ep.length).map(|t| ep.inputs[t][c]).collect();
            column.sort_by(|a, b| b.total_cmp(a));
            column
        })
        .collect();
    (0..answers).map(|i| columns.iter().map(|column| column[i]).collect()).collect()
}

/// The answer steps of element `b`'s targets, `[k][bits]`.
fn answers_of(ep: &Episode, answers: usize) -> Vec<Vec<f32>> {
    ep.targets[ep.length + 1..ep.length + 1 + answers].to_vec()
}

/// Checks element `b` against the layout of the module docs (padding included) and the
/// reference sort; returns its number of answers.
fn check_element(task: &PrioritySort, batch: &Batch, b: usize) -> usize {
    let ep = batch.episode(b);
    let (n, bits) = (ep.length, task.spec().bits);
    let k = task.spec().answers_for(n);
    for t in 0..batch.time {
        let (input, target) = (&ep.inputs[t], &ep.targets[t]);
        if t < n {
            assert!(input[..bits].iter().all(|&v| v == 0.0 || v == 1.0), "bits at step {t}");
            assert!((-1.0..=1.0).contains(&input[bits]), "priority {} at step {t}", input[bits]);
            assert_eq!(input[bits + 1], 0.0, "delimiter at step {t}");
        } else if t == n {
            assert_eq!(input[bits + 1], 1.0, "delimiter");
            assert!(input[..=bits].iter().all(|&v| v == 0.0), "bits or priority with the delimiter");
        } else {
            assert!(input.iter().all(|&v| v == 0.0), "input after the delimiter, step {t}");
        }
        let answering = t > n && t <= n + k;
        assert_eq!(ep.mask[t], if answering { 1.0 } else { 0.0 }, "mask at step {t}");
        if !answering {
            assert!(target.iter().all(|&v| v == 0.0), "target outside the answers, step {t}");
        }
    }
    assert_eq!(answers_of(&ep, k), reference_answers(&ep, bits, k), "element {b}: answers against the reference");
    let Some(EpisodeInfo::PrioritySort { priorities, order }) = &ep.info else {
        panic!("element {b}: info {:?}", ep.info)
    };
    assert_eq!(priorities, &(0..n).map(|t| ep.inputs[t][bits]).collect::<Vec<f32>>(), "info priorities");
    assert_eq!(order.len(), k);
    for (i, &input) in order.iter().enumerate() {
        assert_eq!(ep.targets[n + 1 + i], ep.inputs[input][..bits], "answer {i} is input {input}");
    }
    k
}

#[test]
fn shapes_and_widths() {
    let task = paper_task();
    assert_eq!(task.name(), "priority-sort");
    assert_eq!((task.input_width(), task.output_width()), (10, 8));
    assert_eq!(task.length_range(), (20, 20));
    assert_eq!(task.length_words().episode(20), "20 inputs");
    // A training range of one length reads as that length (figure titles: "trained on 20 inputs").
    assert_eq!(task.length_words().span(task.length_range()), "20 inputs");
    assert_eq!(task.length_words().span((10, 20)), "10-20 inputs");
    let batch = task.sample(&mut rng(1), 8, None);
    assert_eq!((batch.time, batch.lengths.clone()), (37, vec![20; 8]));
    assert_eq!((batch.inputs.len(), batch.targets.len(), batch.mask.len()), (37 * 8 * 10, 37 * 8 * 8, 37 * 8));
    assert_eq!(batch.reference, None);
    (0..8).for_each(|b| assert_eq!(check_element(&task, &batch, b), 16));
}

#[test]
fn the_docs_diagram_episode() {
    let task = PrioritySort::new(PrioritySortSpec { bits: 3, min_inputs: 3, max_inputs: 3, answers: 2 });
    let batch = task.sample(&mut rng(2), 1, None);
    assert_eq!(batch.time, 6);
    assert_eq!(check_element(&task, &batch, 0), 2);
}

#[test]
fn answers_match_the_reference_over_many_episodes() {
    // Mixed numbers of inputs, below and above the 16 answers, padded to the longest.
    let task = PrioritySort::new(PrioritySortSpec { min_inputs: 1, max_inputs: 30, ..Default::default() });
    let mut counts = BTreeSet::new();
    for seed in 0..20 {
        let batch = task.sample(&mut rng(100 + seed), 32, None);
        let longest = batch.lengths.iter().map(|&n| PrioritySort::episode_time(n, 16.min(n))).max().unwrap();
        assert_eq!(batch.time, longest);
        for b in 0..32 {
            counts.insert((batch.lengths[b], check_element(&task, &batch, b)));
        }
    }
    let inputs: BTreeSet<usize> = counts.iter().map(|&(n, _)| n).collect();
    assert_eq!(inputs, (1..=30).collect());
    assert!(counts.iter().all(|&(n, k)| k == n.min(16)), "{counts:?}");
}

#[test]
fn a_column_sorted_target_fails_the_reference() {
    let task = paper_task();
    let batch = task.sample(&mut rng(3), 500, None);
    for b in 0..500 {
        let ep = batch.episode(b);
        let buggy = column_sorted_answers(&ep, 8, 16);
        assert_ne!(buggy, reference_answers(&ep, 8, 16), "element {b}: the column sort agrees with the reference");
        assert_ne!(buggy, answers_of(&ep, 16), "element {b}: the column sort agrees with the generator");
        // Each column sorted on its own puts every 1 first: the bug's signature.
        assert!((0..8).all(|c| buggy.windows(2).all(|w| w[0][c] >= w[1][c])));
    }
}

#[test]
fn evaluation_numbers_of_inputs() {
    // 10, 20, 30, 40 inputs (training 20): 10 answers (all), then the top 16.
    let task = paper_task();
    for (n, k) in [(10, 10), (20, 16), (30, 16), (40, 16)] {
        let batch = task.sample(&mut rng(n as u64), 4, Some(n));
        assert_eq!((batch.lengths.clone(), batch.time), (vec![n; 4], n + 1 + k));
        (0..4).for_each(|b| assert_eq!(check_element(&task, &batch, b), k));
    }
    assert_eq!(task.check_length(1), Ok(()));
    assert!(task.check_length(0).is_err());
}

#[test]
fn sample_up_to_caps_the_inputs_and_their_answers() {
    let task = PrioritySort::new(PrioritySortSpec { min_inputs: 5, max_inputs: 20, ..Default::default() });
    let mut r = rng(4);
    for _ in 0..10 {
        let batch = task.sample_up_to(&mut r, 8, 8);
        for b in 0..8 {
            assert!((5..=8).contains(&batch.lengths[b]));
            assert_eq!(check_element(&task, &batch, b), batch.lengths[b]);
        }
    }
    let (mut a, mut b) = (rng(5), rng(5));
    assert_eq!(task.sample_up_to(&mut a, 4, 20), task.sample(&mut b, 4, None));
}

/// A generator whose every draw is the same word: every priority equal, every vector equal.
struct Constant;

impl RngCore for Constant {
    fn next_u32(&mut self) -> u32 {
        0x8000_0000
    }
    fn next_u64(&mut self) -> u64 {
        0x8000_0000_8000_0000
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        dest.fill(0x80);
    }
}

#[test]
fn equal_priorities_answer_in_input_order() {
    let batch = paper_task().sample(&mut Constant, 1, Some(20));
    let Some(EpisodeInfo::PrioritySort { priorities, order }) = &batch.info[0] else { panic!("{:?}", batch.info[0]) };
    assert!(priorities.windows(2).all(|w| w[0] == w[1]), "{priorities:?}");
    assert_eq!(order, &(0..16).collect::<Vec<usize>>());
    check_element(&paper_task(), &batch, 0);
}

#[test]
fn invalid_specs_name_field_and_value() {
    let spec = |bits, min_inputs, max_inputs, answers| {
        TaskSpec::PrioritySort(PrioritySortSpec { bits, min_inputs, max_inputs, answers })
    };
    let cases = [
        (spec(0, 20, 20, 16), "task.bits = 0: must be at least 1"),
        (spec(8, 0, 20, 16), "task.min_inputs = 0: must be at least 1"),
        (spec(8, 21, 20, 16), "task.min_inputs = 21 is greater than task.max_inputs = 20"),
        (spec(8, 20, 20, 0), "task.answers = 0: must be at least 1"),
        (
            spec(8, 10, 20, 21),
            "task.answers = 21: must be at most task.max_inputs = 20 (the answers are the highest-priority inputs)",
        ),
        (spec(8, 1, usize::MAX, 16), "task.max_inputs = 18446744073709551615: must be at most 16777216"),
    ];
    for (spec, want) in cases {
        let e = spec.validate().unwrap_err();
        assert!(e.starts_with(want), "{e:?} should start with {want:?}");
        assert!(!e.contains('\n'));
    }
    // More answers than the fewest inputs is allowed: those episodes answer with every input.
    assert_eq!(spec(8, 10, 20, 20).validate(), Ok(()));
    assert_eq!(spec(1, 1, 1, 1).validate(), Ok(()));
}

#[test]
fn toml_table_and_info_as_json() {
    let spec: TaskSpec = toml::from_str("kind = \"priority-sort\"\nmax_inputs = 30\nanswers = 10\n").unwrap();
    let want = PrioritySortSpec { max_inputs: 30, answers: 10, ..Default::default() };
    assert_eq!(spec, TaskSpec::PrioritySort(want));
    assert_eq!((spec.name(), spec.length_fields()), ("priority-sort", ("min_inputs", "max_inputs")));
    assert_eq!(spec.build().length_range(), (20, 30));
    assert!(toml::from_str::<TaskSpec>("kind = \"priority-sort\"\nmax_length = 30\n").is_err());
    let task = PrioritySort::new(PrioritySortSpec { bits: 2, min_inputs: 3, max_inputs: 3, answers: 2 });
    let batch = task.sample(&mut rng(6), 1, None);
    let json = serde_json::to_value(batch.episode(0)).unwrap();
    assert_eq!(json["info"]["kind"], "priority-sort");
    assert_eq!(json["info"]["priorities"].as_array().map(Vec::len), Some(3));
    assert_eq!(json["info"]["order"].as_array().map(Vec::len), Some(2));
    assert_eq!(json["reference"], serde_json::Value::Null);
}
