//! `render_episode`: the rows it prints for hand-built and sampled episodes.

use ntm_tasks::{
    render_episode, render_episode_in, CopySpec, CopyTask, DynamicNgrams, DynamicNgramsSpec, Episode, PrioritySort,
    PrioritySortSpec, RepeatCopy, RepeatCopySpec, Task,
};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

#[test]
fn hand_built_copy_episode_exact() {
    // The render module doc's example: L = 2, bits = 2.
    let ep = Episode {
        length: 2,
        inputs: vec![vec![1., 1., 0.], vec![0., 1., 0.], vec![0., 0., 1.], vec![0., 0., 0.], vec![0., 0., 0.]],
        targets: vec![vec![0., 0.], vec![0., 0.], vec![0., 0.], vec![1., 1.], vec![0., 1.]],
        mask: vec![0., 0., 0., 1., 1.],
        reference: None,
        info: None,
    };
    let want = "\
episode: length 2, 5 steps
t     0
in  0 #....
in  1 ##...
in  2 ..#..
out 0 ...#.
out 1 ...##
mask  ...##
";
    assert_eq!(render_episode(&ep), want);
}

#[test]
fn fractional_values_render_as_digits_and_signs() {
    let ep = Episode {
        length: 1,
        inputs: vec![vec![0.25], vec![-2.0], vec![3.0]],
        targets: vec![vec![0.97], vec![0.5], vec![0.0]],
        mask: vec![1., 1., 0.],
        reference: None,
        info: None,
    };
    let text = render_episode(&ep);
    assert!(text.contains("\nin  0 2-+\n"), "{text}");
    assert!(text.contains("\nout 0 95.\n"), "{text}");
}

#[test]
fn sampled_copy_episode_rows() {
    let task = CopyTask::new(CopySpec::default());
    let batch = task.sample(&mut ChaCha8Rng::seed_from_u64(3), 1, Some(12));
    let ep = batch.episode(0);
    let text = render_episode(&ep);
    let lines: Vec<&str> = text.lines().collect();
    // Header, ruler, 9 input rows, 8 target rows, mask.
    assert_eq!(lines.len(), 2 + 9 + 8 + 1, "{text}");
    assert_eq!(lines[0], "episode: length 12, 25 steps");
    assert_eq!(lines[1], "t     0         10        20");
    // The delimiter row: on only at step 12.
    assert_eq!(lines[2 + 8], format!("in  8 {}#{}", ".".repeat(12), ".".repeat(12)));
    assert_eq!(lines[19], format!("mask  {}{}", ".".repeat(13), "#".repeat(12)));
    // Each target row is its input row shifted by L + 1.
    for c in 0..8 {
        let input_row = &lines[2 + c][6..];
        let target_row = &lines[11 + c][6..];
        assert!(lines[11 + c].starts_with(&format!("out {c} ")));
        assert_eq!(&target_row[13..], &input_row[..12], "channel {c}");
    }
}

#[test]
fn wide_episodes_align_two_digit_channels() {
    let task = CopyTask::new(CopySpec { bits: 12, min_length: 2, max_length: 2 });
    let batch = task.sample(&mut ChaCha8Rng::seed_from_u64(0), 1, None);
    let text = render_episode(&batch.episode(0));
    assert!(text.contains("\nin   0 "), "{text}");
    assert!(text.contains("\nin  12 ..#.."), "{text}");
    assert!(text.contains("\nout 11 "), "{text}");
    assert!(text.contains("\nmask   ...##\n"), "{text}");
}

#[test]
fn repeat_copy_shows_the_repeat_count_and_end_marker() {
    let task = RepeatCopy::new(RepeatCopySpec::default());
    let batch = task.sample_sized(&mut ChaCha8Rng::seed_from_u64(1), 1, Some(2), Some(10));
    let text = render_episode(&batch.episode(0));
    // (10 - 5.5) / sqrt(8.25) ~ 1.57 > 1: drawn as '+', at step L + 1 = 3.
    assert!(text.contains("\nin  9 ...+"), "{text}");
    // End marker at step L + 2 + L * R = 24, the last of 25 steps.
    assert!(text.contains(&format!("\nout 8 {}#\n", ".".repeat(24))), "{text}");
    assert!(text.contains(&format!("\nmask  ....{}\n", "#".repeat(21))), "{text}");
}

#[test]
fn dynamic_ngrams_names_its_channels_and_lists_the_table() {
    // The render module doc's example: 12 bits, context 1, seed 0.
    let task = DynamicNgrams::new(DynamicNgramsSpec { context: 1, min_length: 12, max_length: 12 });
    let batch = task.sample(&mut ChaCha8Rng::seed_from_u64(0), 1, None);
    let want = "\
episode: length 12, 12 steps
t        0         10
in  bit  ##.#..##.#.#
out next #.#..##.#.#.
ref next 57557535647.
mask     ###########.
table: P(next bit = 1 | previous 1 bit), by context (oldest bit first):
  0 0.831  1 0.512
";
    assert_eq!(render_episode_in(&batch.episode(0), task.length_words()), want);
    // The paper's table: 32 entries, 4 lines of 8 contexts of 5 bits; 2^16 entries are cut.
    let paper = DynamicNgrams::new(DynamicNgramsSpec::default());
    let text = render_episode(&paper.sample(&mut ChaCha8Rng::seed_from_u64(1), 1, None).episode(0));
    let table: Vec<&str> = text.lines().skip_while(|line| !line.starts_with("table: ")).skip(1).collect();
    assert_eq!(table.len(), 4, "{text}");
    assert!(table[0].starts_with("  00000 0.") && table[0].contains("  00111 0."), "{text}");
    assert!(table[3].starts_with("  11000 0.") && table[3].contains("  11111 "), "{text}");
    let wide = DynamicNgrams::new(DynamicNgramsSpec { context: 16, min_length: 4, max_length: 4 });
    let text = render_episode(&wide.sample(&mut ChaCha8Rng::seed_from_u64(1), 1, None).episode(0));
    assert_eq!(text.lines().count(), 6 + 1 + 8 + 1, "{text}");
    assert!(text.ends_with("  ... and 65472 more\n"), "{text}");
}

#[test]
fn priority_sort_names_its_channels_and_lists_priorities_and_answers() {
    // The render module doc's example: 4 inputs of 3 bits, 3 answers, seed 1.
    let task = PrioritySort::new(PrioritySortSpec { bits: 3, min_inputs: 4, max_inputs: 4, answers: 3 });
    let batch = task.sample(&mut ChaCha8Rng::seed_from_u64(1), 1, None);
    let want = "\
episode: 4 inputs, 8 steps
t         0
in  0     ...#....
in  1     ####....
in  2     ........
in  prio  -4--....
in  delim ....#...
out 0     ........
out 1     .....###
out 2     ........
mask      .....###
priorities, in input order:
     0  -0.078 +0.420 -0.695 -0.916
answers, highest priority first, are inputs: 1 0 2
";
    assert_eq!(render_episode_in(&batch.episode(0), task.length_words()), want);
    // Twenty priorities in two rows of ten; two-digit channels stay aligned with the names.
    let task = PrioritySort::new(PrioritySortSpec { bits: 12, ..Default::default() });
    let text = render_episode(&task.sample(&mut ChaCha8Rng::seed_from_u64(1), 1, None).episode(0));
    assert!(text.contains("\nin   0    "), "{text}");
    assert!(text.contains("\nin  11    "), "{text}");
    assert!(text.contains("\nin  prio  "), "{text}");
    assert!(text.contains("\nin  delim "), "{text}");
    assert!(text.contains("\nout 11    "), "{text}");
    assert!(text.contains("\npriorities, in input order:\n     0  ") && text.contains("\n    10  "), "{text}");
}
