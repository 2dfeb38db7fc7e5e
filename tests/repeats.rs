//! Repeat copy generalised in length and repeat count (paper figures 8 and 9), end to end on
//! a tiny repeat-copy experiment: eval.json rows with `repeats`, the table, the grid figure,
//! the outputs and heads figures at fixed counts, one `error:` line for every bad option.

use std::path::Path;

use serde_json::Value;
mod sandbox;
use sandbox::{png_size, read_json, snapshot, Sandbox, TINY};

/// The tiny experiment on repeat copy: lengths 1..3, repeats 1..3, 16 training sequences,
/// evaluated on lengths 2, 4 x repeats 1, 4 (two sequences each).
fn tiny_repeat_copy() -> String {
    let text = TINY
        .replacen("kind = \"copy\"", "kind = \"repeat-copy\"\nmin_repeats = 1\nmax_repeats = 3", 1)
        .replacen("sequences = 64", "sequences = 16", 1)
        .replacen("lengths = [2, 4]\nsequences = 4", "lengths = [2, 4]\nrepeats = [1, 4]\nsequences = 2", 1);
    assert!(text.contains("repeats = [1, 4]") && text.contains("max_repeats"), "{text}");
    text
}

/// A sandbox with `rc.toml` (the tiny repeat-copy experiment) run into `rc/`.
fn trained() -> (Sandbox, String) {
    let s = Sandbox::new();
    s.write("rc.toml", &tiny_repeat_copy());
    let stdout = s.ok(&["run", "rc.toml", "--out", "rc"]);
    (s, stdout)
}

/// (length, repeats, bit_errors) of every row of an eval report.
fn rows(report: &Value) -> Vec<(u64, Option<u64>, f64)> {
    let results = report["results"].as_array().unwrap_or_else(|| panic!("no results in {report}"));
    results
        .iter()
        .map(|r| (r["length"].as_u64().unwrap(), r["repeats"].as_u64(), r["bit_errors"].as_f64().unwrap()))
        .collect()
}

#[test]
fn run_evaluates_the_grid_and_draws_it() {
    let (s, stdout) = trained();
    for model in ["lstm", "ntm"] {
        let report = read_json(&s.path(&format!("rc/{model}/eval.json")));
        assert_eq!(report["task"], "repeat-copy");
        let cells: Vec<(u64, Option<u64>)> = rows(&report).iter().map(|r| (r.0, r.1)).collect();
        assert_eq!(cells, [(2, Some(1)), (2, Some(4)), (4, Some(1)), (4, Some(4))], "lengths outer");
        for (length, repeats, errors) in rows(&report) {
            // Bits answered: length * repeats vectors of 4 bits and the end marker per step.
            let bits = (length * repeats.unwrap() + 1) * 5;
            assert!((0.0..=bits as f64).contains(&errors), "{length} x {repeats:?}: {errors}");
        }
    }
    // bit errors per sequence
    // model    repeats      L=2      L=4
    // lstm           1    ...
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines[1].split_whitespace().collect::<Vec<_>>(), ["model", "repeats", "L=2", "L=4"], "{stdout}");
    let labels: Vec<(&str, &str)> =
        lines[2..6].iter().map(|l| l.split_whitespace().collect::<Vec<_>>()).map(|w| (w[0], w[1])).collect();
    assert_eq!(labels, [("lstm", "1"), ("lstm", "4"), ("ntm", "1"), ("ntm", "4")], "{stdout}");

    // The grid: two panels side by side, wider than tall.
    let (width, height) = png_size(&s.path("rc/plots/generalisation.png"));
    assert!(width > height, "{width} x {height}");
    // Outputs at the paper's cells by default; the heads figure at the longest length.
    png_size(&s.path("rc/plots/outputs.png"));
    png_size(&s.path("rc/plots/heads-ntm-3.png"));

    s.ok(&["plot", "generalisation", "rc", "-o", "grid.png"]);
    png_size(&s.path("grid.png"));
    s.ok(&["plot", "outputs", "rc", "--cells", "2x3,3x2", "-o", "cells.png"]);
    png_size(&s.path("cells.png"));
    s.ok(&["plot", "outputs", "rc", "--lengths", "2", "-o", "lengths.png"]);
    png_size(&s.path("lengths.png"));
    let printed = s.ok(&["plot", "heads", "rc", "--length", "2", "--repeats", "5"]);
    assert_eq!(Path::new(printed.trim()), Path::new("rc/plots/heads-ntm-2x5.png"));
    let trace = read_json(&s.path("rc/plots/heads-ntm-2x5.json"));
    assert_eq!((trace["length"].as_u64(), trace["repeats"].as_u64()), (Some(2), Some(5)));
    let steps = trace["inputs"].as_array().unwrap().len();
    assert_eq!(steps, 2 + 2 + 2 * 5 + 1, "read 2, delimiter, count, 2 x 5 answers, end marker");
}

#[test]
fn eval_repeats_gives_rows_with_repeats_per_cell() {
    let (s, _) = trained();
    let grid = s.ok(&["eval", "rc/ntm", "--lengths", "2,4", "--repeats", "3,6", "--json"]);
    let grid: Value = serde_json::from_str(&grid).unwrap();
    let cells: Vec<(u64, Option<u64>)> = rows(&grid).iter().map(|r| (r.0, r.1)).collect();
    assert_eq!(cells, [(2, Some(3)), (2, Some(6)), (4, Some(3)), (4, Some(6))]);
    assert!(grid["results"].as_array().unwrap().iter().all(|r| r["sequences"] == 2));
    // A cell's episodes depend on its seed, length and count only: evaluated alone it gives
    // the same numbers as inside the grid.
    let alone = s.ok(&["eval", "rc/ntm", "--lengths", "4", "--repeats", "6", "--json"]);
    let alone: Value = serde_json::from_str(&alone).unwrap();
    assert_eq!(alone["results"][0], grid["results"][3]);
    // Without repeat counts (a copy run) rows have no `repeats` key, and the written
    // experiment no `repeats` field: copy's files are as they were before repeat counts.
    s.ok(&["run", "tiny.toml", "--out", "copy"]);
    let copy = read_json(&s.path("copy/ntm/eval.json"));
    for row in copy["results"].as_array().unwrap() {
        assert!(row.get("repeats").is_none(), "{row}");
    }
    let text = std::fs::read_to_string(s.path("copy/experiment.toml")).unwrap();
    assert!(!text.contains("repeats"), "{text}");
}

#[test]
fn bad_repeat_options_give_one_error_line() {
    let (s, _) = trained();
    s.ok(&["train", "tiny.toml", "--model", "ntm", "--out", "copy"]);
    s.write("copy-repeats.toml", &TINY.replacen("sequences = 4", "sequences = 4\nrepeats = [2]", 1));
    s.write("zero-repeats.toml", &tiny_repeat_copy().replacen("repeats = [1, 4]", "repeats = [0, 4]", 1));
    let cases: &[(&[&str], &[&str])] = &[
        (&["eval", "rc", "--repeats", "0,-1"], &["--repeats", "0,-1", "at least 1"]),
        (&["eval", "rc", "--repeats", "-1"], &["--repeats", "-1"]),
        (&["eval", "rc", "--repeats", ""], &["--repeats", "one or more"]),
        (&["eval", "rc", "--repeats", "2,,3"], &["--repeats", "2,,3"]),
        (&["eval", "rc", "--repeats", "2.5"], &["--repeats", "2.5"]),
        (&["eval", "copy", "--repeats", "5,10"], &["--repeats 5,10", "copy task", "no repeat count"]),
        (&["plot", "heads", "copy", "--repeats", "3"], &["--repeats 3", "copy task"]),
        (&["plot", "heads", "rc", "--repeats", "0"], &["--repeats", "0"]),
        (&["plot", "outputs", "copy", "--cells", "2x3"], &["--cells 2x3", "copy task", "--lengths"]),
        (&["plot", "outputs", "rc", "--cells", "2"], &["--cells", "LENGTHxREPEATS"]),
        (&["plot", "outputs", "rc", "--cells", "2x0"], &["--cells", "2x0"]),
        (&["plot", "outputs", "rc", "--cells", ""], &["--cells", "one or more"]),
        (&["plot", "outputs", "rc", "--cells", "2x3", "--lengths", "2"], &["--lengths", "--cells"]),
        (&["run", "copy-repeats.toml", "--out", "o"], &["copy-repeats.toml", "eval.repeats = [2]", "copy task"]),
        (&["run", "zero-repeats.toml", "--out", "o"], &["zero-repeats.toml", "eval.repeats = [0, 4]"]),
        (&["run", "tiny.toml", "--out", "o", "--set", "eval.repeats=[2]"], &["eval.repeats = [2]", "copy task"]),
    ];
    let before = snapshot(s.dir.path());
    for (args, words) in cases {
        s.fails(args, words);
    }
    assert!(snapshot(s.dir.path()) == before, "a failed command wrote files");
}

#[test]
fn a_model_without_repeats_or_weights_is_left_out_or_named() {
    let (s, _) = trained();
    // The LSTM's eval.json as written before repeat counts (rows without `repeats`); its
    // weights not kept.
    let mut report = read_json(&s.path("rc/lstm/eval.json"));
    for row in report["results"].as_array_mut().unwrap() {
        row.as_object_mut().unwrap().remove("repeats");
    }
    s.write("rc/lstm/eval.json", &serde_json::to_string_pretty(&report).unwrap());
    std::fs::remove_file(s.path("rc/lstm/checkpoint.safetensors")).unwrap();
    let out = s.ntm(&["plot", "generalisation", "rc", "-o", "g.png"]);
    assert!(out.status.success(), "{}", sandbox::text(&out.stderr));
    assert!(sandbox::text(&out.stderr).contains("model lstm"), "a note names the model left out");
    png_size(&s.path("g.png"));
    // Drawing or evaluating it needs its weights: one error line naming the missing file; its
    // NTM alone draws into the run's plots folder.
    s.fails(&["plot", "outputs", "rc", "-o", "o.png"], &["rc/lstm/checkpoint.safetensors"]);
    s.fails(&["eval", "rc"], &["rc/lstm/checkpoint.safetensors"]);
    let printed = s.ok(&["plot", "outputs", "rc/ntm"]);
    assert_eq!(Path::new(printed.trim()), Path::new("rc/plots/outputs.png"));
}

#[test]
fn a_sweep_names_each_grid_cell_in_its_progress() {
    let s = Sandbox::new();
    s.write("rc.toml", &tiny_repeat_copy());
    let out = s.ntm(&["sweep", "rc.toml", "--seeds", "1", "--models", "ntm", "--out", "sw"]);
    assert!(out.status.success(), "{}", sandbox::text(&out.stderr));
    // The progress (on stderr): "seed 1 ntm: evaluated, bit errors 2x1 0.000, 2x4 ..., 4x1 ..., 4x4 ..."
    let progress = sandbox::text(&out.stderr);
    let line = progress.lines().find(|l| l.contains("evaluated, bit errors")).unwrap_or_else(|| panic!("{progress}"));
    for cell in ["2x1 ", "2x4 ", "4x1 ", "4x4 "] {
        assert!(line.contains(cell), "{cell:?} missing from {line:?}");
    }
    assert!(!line.contains("L="), "{line:?}");
}
