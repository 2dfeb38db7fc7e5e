//! Human-readable text rendering of an [`Episode`] for logs and debugging.
//!
//! One row per channel, one column per time step; the input block is above the target
//! block, then the reference predictions if the episode has them, and the mask row is last. A
//! ruler row marks every tenth step. For a copy episode with `L = 2`, `bits = 2`:
//!
//! ```text
//! episode: length 2, 5 steps
//! t     0
//! in  0 #....
//! in  1 ##...
//! in  2 ..#..
//! out 0 ...#.
//! out 1 ...##
//! mask  ...##
//! ```
//!
//! Cells: see [`cell_char`]. Channels are numbered, except those an episode's
//! [`EpisodeInfo`] names: dynamic N-grams' `bit` and `next` (and the optimal predictor's row
//! `ref next`, its probabilities in tenths), priority sort's `prio` and `delim`. After the
//! mask, the info in words: the N-gram table, or the priorities and which inputs the answers
//! are. A dynamic N-grams episode of 12 bits with `context = 1`, and a priority sort episode of
//! 4 inputs of 3 bits, 3 answers:
//!
//! ```text
//! episode: length 12, 12 steps
//! t        0         10
//! in  bit  ##.#..##.#.#
//! out next #.#..##.#.#.
//! ref next 57557535647.
//! mask     ###########.
//! table: P(next bit = 1 | previous 1 bit), by context (oldest bit first):
//!   0 0.831  1 0.512
//!
//! episode: 4 inputs, 8 steps
//! t         0
//! in  0     ...#....
//! in  1     ####....
//! in  2     ........
//! in  prio  -4--....
//! in  delim ....#...
//! out 0     ........
//! out 1     .....###
//! out 2     ........
//! mask      .....###
//! priorities, in input order:
//!      0  -0.078 +0.420 -0.695 -0.916
//! answers, highest priority first, are inputs: 1 0 2
//! ```

use crate::batch::Episode;
use crate::info::EpisodeInfo;
use crate::task::LengthWords;
use std::fmt::Write;

/// The most table entries [`render_episode`] lists (32 for the paper's 6-grams; a table of
/// 2^16 would take thousands of lines).
const MOST_TABLE_ENTRIES: usize = 64;

/// The character a value is drawn as: `.` for 0, `#` for 1, a digit `0`..`9` for the tenths
/// of a value strictly between 0 and 1 (so model outputs read as rough probabilities), `-`
/// for negative, `+` for above 1, `?` for NaN.
pub fn cell_char(v: f32) -> char {
    if v.is_nan() {
        '?'
    } else if v == 0.0 {
        '.'
    } else if v == 1.0 {
        '#'
    } else if v < 0.0 {
        '-'
    } else if v > 1.0 {
        '+'
    } else {
        // 0 < v < 1: the tenths digit.
        let tenths = ((v * 10.0) as u32).min(9);
        char::from_digit(tenths, 10).unwrap_or('?')
    }
}

/// Renders `ep` as text: a header line, a ruler row `t`, the input rows `in c`, the target
/// rows `out c`, the reference rows `ref c` (if any) and the `mask` row, each row a label
/// followed by one [`cell_char`] per step; then the episode's info, if any, in words.
pub fn render_episode(ep: &Episode) -> String {
    render_episode_in(ep, LengthWords::default())
}

/// [`render_episode`] with the episode's length in the task's words (`"episode: 3 items, 20
/// steps"` for associative recall; see [`crate::Task::length_words`]).
pub fn render_episode_in(ep: &Episode, words: LengthWords) -> String {
    let time = ep.time();
    let in_width = ep.inputs.first().map_or(0, Vec::len);
    let out_width = ep.targets.first().map_or(0, Vec::len);
    let (in_names, out_names) = channel_names(ep.info.as_ref(), in_width, out_width);
    // Blocks of rows: a label ("in  3", "out 0", "ref next") and the values over time.
    let mut blocks: Vec<(String, Vec<f32>)> = Vec::new();
    for (c, name) in in_names.iter().enumerate() {
        blocks.push((format!("in  {name}"), ep.inputs.iter().map(|v| v[c]).collect()));
    }
    for (c, name) in out_names.iter().enumerate() {
        blocks.push((format!("out {name}"), ep.targets.iter().map(|v| v[c]).collect()));
    }
    if let Some(reference) = &ep.reference {
        for (c, name) in out_names.iter().enumerate() {
            blocks.push((format!("ref {name}"), reference.iter().map(|v| v[c]).collect()));
        }
    }
    blocks.push(("mask".to_owned(), ep.mask.clone()));
    let label_width = blocks.iter().map(|(label, _)| label.len()).max().unwrap_or(0);

    let mut text = String::new();
    let _ = writeln!(text, "episode: {}, {} steps", words.episode(ep.length), time);
    let _ = writeln!(text, "{:<label_width$} {}", "t", ruler(time));
    for (label, values) in blocks {
        let row: String = values.into_iter().map(cell_char).collect();
        let _ = writeln!(text, "{label:<label_width$} {row}");
    }
    if let Some(info) = &ep.info {
        text.push_str(&describe(info));
    }
    text
}

/// The names of the input and output channels: numbers (right-aligned to the widest), except
/// the channels `info` names.
fn channel_names(info: Option<&EpisodeInfo>, in_width: usize, out_width: usize) -> (Vec<String>, Vec<String>) {
    let (in_named, out_named): (&[&str], &[&str]) = match info {
        Some(EpisodeInfo::DynamicNgrams { .. }) => (&["bit"], &["next"]),
        Some(EpisodeInfo::PrioritySort { .. }) => (&["prio", "delim"], &[]),
        Some(EpisodeInfo::CopySeries { .. }) | None => (&[], &[]),
    };
    // The named channels are the last ones of each side.
    let (in_numbered, out_numbered) =
        (in_width.saturating_sub(in_named.len()), out_width.saturating_sub(out_named.len()));
    let digits = in_numbered.max(out_numbered).saturating_sub(1).to_string().len();
    let names = |numbered: usize, named: &[&str]| -> Vec<String> {
        (0..numbered).map(|c| format!("{c:>digits$}")).chain(named.iter().map(|&n| n.to_owned())).collect()
    };
    (names(in_numbered, in_named), names(out_numbered, out_named))
}

/// `info` in words, a few lines: an N-gram table by context, or priorities and answers.
fn describe(info: &EpisodeInfo) -> String {
    let mut text = String::new();
    match info {
        EpisodeInfo::DynamicNgrams { table } => {
            let context = table.len().trailing_zeros() as usize;
            let plural = if context == 1 { "" } else { "s" };
            let title = format!("table: P(next bit = 1 | previous {context} bit{plural})");
            let _ = writeln!(text, "{title}, by context (oldest bit first):");
            for (row, entries) in table[..table.len().min(MOST_TABLE_ENTRIES)].chunks(8).enumerate() {
                let cells: Vec<String> =
                    entries.iter().enumerate().map(|(i, p)| format!("{:0context$b} {p:.3}", row * 8 + i)).collect();
                let _ = writeln!(text, "  {}", cells.join("  "));
            }
            if table.len() > MOST_TABLE_ENTRIES {
                let _ = writeln!(text, "  ... and {} more", table.len() - MOST_TABLE_ENTRIES);
            }
        }
        EpisodeInfo::PrioritySort { priorities, order } => {
            let _ = writeln!(text, "priorities, in input order:");
            for (row, chunk) in priorities.chunks(10).enumerate() {
                let cells: Vec<String> = chunk.iter().map(|p| format!("{p:+.3}")).collect();
                let _ = writeln!(text, "  {:>4}  {}", row * 10, cells.join(" "));
            }
            let answers: Vec<String> = order.iter().map(usize::to_string).collect();
            let _ = writeln!(text, "answers, highest priority first, are inputs: {}", answers.join(" "));
        }
        EpisodeInfo::CopySeries { lengths } => {
            let mut start = 0;
            let spans: Vec<String> = lengths
                .iter()
                .map(|&l| {
                    let span = format!("{l} (steps {start}-{})", start + 2 * l);
                    start += 2 * l + 1;
                    span
                })
                .collect();
            let _ = writeln!(text, "sequence lengths, each read, delimited and answered: {}", spans.join(", "));
        }
    }
    text
}

/// A row `time` columns wide with each multiple of 10 written at its column, where it fits.
fn ruler(time: usize) -> String {
    let mut row = String::new();
    for t in (0..time).step_by(10) {
        let mark = t.to_string();
        if row.len() <= t && t + mark.len() <= time {
            row.push_str(&" ".repeat(t - row.len()));
            row.push_str(&mark);
        }
    }
    row
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cell_chars() {
        let cases =
            [(0.0, '.'), (1.0, '#'), (0.05, '0'), (0.5, '5'), (0.99, '9'), (-0.3, '-'), (1.5, '+'), (f32::NAN, '?')];
        for (v, want) in cases {
            assert_eq!(cell_char(v), want, "value {v}");
        }
    }

    #[test]
    fn ruler_marks_every_tenth_step() {
        assert_eq!(ruler(5), "0");
        assert_eq!(ruler(25), "0         10        20");
        // "20" would not fit in 21 columns.
        assert_eq!(ruler(21), "0         10");
        assert_eq!(ruler(0), "");
    }
}
