//! Human-readable text rendering of an [`Episode`] for logs and debugging.
//!
//! One row per channel, one column per time step; the input block is above the target
//! block and the mask row is last. A ruler row marks every tenth step. For a copy episode
//! with `L = 2`, `bits = 2`:
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
//! Cells: see [`cell_char`].

use crate::batch::Episode;
use crate::task::LengthWords;
use std::fmt::Write;

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
/// rows `out c` and the `mask` row, each row a label followed by one [`cell_char`] per step.
pub fn render_episode(ep: &Episode) -> String {
    render_episode_in(ep, LengthWords::default())
}

/// [`render_episode`] with the episode's length in the task's words (`"episode: 3 items, 20
/// steps"` for associative recall; see [`crate::Task::length_words`]).
pub fn render_episode_in(ep: &Episode, words: LengthWords) -> String {
    let time = ep.time();
    let in_width = ep.inputs.first().map_or(0, Vec::len);
    let out_width = ep.targets.first().map_or(0, Vec::len);
    let digits = in_width.max(out_width).saturating_sub(1).to_string().len();
    // "out" plus a space plus the channel number; wider than "mask" and "t".
    let label_width = 4 + digits;

    let mut text = String::new();
    let _ = writeln!(text, "episode: {}, {} steps", words.episode(ep.length), time);
    let _ = writeln!(text, "{:<label_width$} {}", "t", ruler(time));
    for c in 0..in_width {
        let row: String = ep.inputs.iter().map(|v| cell_char(v[c])).collect();
        let _ = writeln!(text, "{:<label_width$} {row}", format!("in  {c:>digits$}"));
    }
    for c in 0..out_width {
        let row: String = ep.targets.iter().map(|v| cell_char(v[c])).collect();
        let _ = writeln!(text, "{:<label_width$} {row}", format!("out {c:>digits$}"));
    }
    let mask: String = ep.mask.iter().map(|&m| cell_char(m)).collect();
    let _ = writeln!(text, "{:<label_width$} {mask}", "mask");
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
