//! Associative recall through the command line: `ntm episode` prints one episode of the
//! committed experiment, a tiny experiment runs end to end (training, evaluation by number of
//! items, every figure) with no change to the trainer, evaluator or figures beyond the task's
//! registration, and every bad setting gives one `error:` line naming the field and value.

mod sandbox;
use sandbox::{assert_png, lengths_and_slots, read_json, snapshot, Sandbox, TINY};

const EXPERIMENT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/experiments/associative-recall.toml");

/// The tiny experiment on associative recall: 2..3 items of 2 x 3 bits, 16 training
/// sequences, evaluated at 2 and 4 items (two sequences each).
fn tiny_recall() -> String {
    let text = TINY
        .replacen(
            "kind = \"copy\"\nbits = 4\nmin_length = 1\nmax_length = 3",
            "kind = \"associative-recall\"\nbits = 3\nitem_length = 2\nmin_items = 2\nmax_items = 3",
            1,
        )
        .replacen("sequences = 64", "sequences = 16", 1)
        .replacen("lengths = [2, 4]\nsequences = 4", "lengths = [2, 4]\nsequences = 2", 1);
    assert!(text.contains("max_items = 3") && text.contains("sequences = 2"), "{text}");
    text
}

#[test]
fn episode_prints_one_episode_of_the_experiment() {
    let s = Sandbox::new();
    let text = s.ok(&["episode", EXPERIMENT, "--length", "3", "--seed", "7"]);
    // 6 bits + item and query delimiters in, 6 bits out; 3 items of 3 vectors: 3 x 4 + 8 steps.
    assert!(text.starts_with("episode: 3 items, 20 steps"), "{text}");
    assert_eq!(text.lines().filter(|l| l.starts_with("in ")).count(), 8, "{text}");
    assert_eq!(text.lines().filter(|l| l.starts_with("out ")).count(), 6, "{text}");
    let row = |label: &str| text.lines().find(|l| l.starts_with(label)).unwrap().to_owned();
    assert_eq!(row("mask").matches('#').count(), 3, "{text}");
    assert_eq!(row("in  6").matches('#').count(), 3, "three item delimiters\n{text}");
    assert_eq!(row("in  7").matches('#').count(), 2, "two query delimiters\n{text}");
}

#[test]
fn a_tiny_experiment_runs_evaluates_and_draws_by_number_of_items() {
    let s = Sandbox::new();
    s.write("ar.toml", &tiny_recall());
    let table = s.ok(&["run", "ar.toml", "--out", "ar"]);
    assert!(table.contains("2 items") && table.contains("4 items") && !table.contains("L="), "{table}");
    let eval = read_json(&s.path("ar/ntm/eval.json"));
    assert_eq!(eval["task"], "associative-recall");
    let lengths: Vec<u64> = eval["results"].as_array().unwrap().iter().map(|r| r["length"].as_u64().unwrap()).collect();
    assert_eq!(lengths, [2, 4]);
    for figure in ["curves.png", "generalisation.png", "outputs.png", "heads-ntm-3.png"] {
        assert_png(&s.path(&format!("ar/plots/{figure}")));
    }
    // The heads figure's trace: an episode of 3 items, the task's longest.
    let trace = read_json(&s.path("ar/plots/heads-ntm-3.json"));
    assert_eq!(trace["task"], "associative-recall");
    assert_eq!(trace["length"], 3);
    assert_eq!(trace["inputs"].as_array().unwrap().len(), 3 * 3 + 6);

    // A number of items the task cannot draw is one error line, and writes nothing.
    let before = snapshot(s.dir.path());
    s.fails(&["eval", "ar", "--lengths", "1,4"], &["--lengths [1, 4]", "1", "at least 2 items"]);
    s.fails(&["plot", "heads", "ar", "--length", "1"], &["--length 1", "at least 2 items"]);
    s.fails(&["plot", "outputs", "ar", "--lengths", "1"], &["--lengths [1]", "at least 2 items"]);
    s.fails(&["eval", "ar", "--lengths", "65"], &["--lengths [65]", "65", "only 64 distinct values"]);
    assert!(snapshot(s.dir.path()) == before, "a failed command wrote files");
}

#[test]
fn bad_settings_give_one_error_line() {
    let s = Sandbox::new();
    let cases: &[(&[&str], &[&str])] = &[
        (&["--set", "task.min_items=0"], &["task.min_items = 0", "at least 2"]),
        (&["--set", "task.min_items=1"], &["task.min_items = 1", "at least 2"]),
        (&["--set", "task.min_items=7"], &["task.min_items = 7", "task.max_items = 6"]),
        (&["--set", "task.bits=0"], &["task.bits = 0", "at least 1"]),
        (&["--set", "task.item_length=0"], &["task.item_length = 0", "at least 1"]),
        (
            &["--set", "task.bits=1", "--set", "task.item_length=2"],
            &["task.max_items = 6", "cannot be met", "only 4 distinct values"],
        ),
        (&["--set", "eval.lengths=[1, 6]"], &["eval.lengths = [1, 6]", "at least 2 items"]),
        (&["--set", "task.min_length=2"], &["task.min_length"]),
        (
            &["--set", "task.item_length=16777216", "--set", "task.max_items=16777216"],
            &["task.max_items = 16777216", "task.item_length = 16777216", "steps"],
        ),
    ];
    for (set, words) in cases {
        let args = [&["run", EXPERIMENT, "--out", "o"][..], set].concat();
        s.fails(&args, words);
        assert!(!s.path("o").exists(), "ntm {args:?} failed but created its output folder");
    }
    s.fails(&["episode", EXPERIMENT, "--length", "1"], &["--length 1", "at least 2 items"]);
    s.fails(&["episode", EXPERIMENT, "--length", "0"], &["--length 0", "at least 2 items"]);
    s.fails(&["episode", EXPERIMENT, "--length", "100000"], &["--length 100000", "steps", "at most 100000"]);
}

#[test]
fn slots_for_associative_recall_count_the_steps_before_the_answer() {
    let s = Sandbox::new();
    s.write("ar.toml", &tiny_recall());
    s.ok(&["train", "ar.toml", "--model", "ntm", "--out", "ar"]);
    // Items of 2 vectors: n items need n (2 + 1) + 2 + 2 slots, one per step before the answer.
    s.fails(&["eval", "ar/ntm", "--slots", "12", "--lengths", "3"], &["--slots 12", "3 items", "at least 13"]);
    let out = s.ok(&["eval", "ar/ntm", "--slots", "2x", "--lengths", "2,3,2", "--json"]);
    let cells = lengths_and_slots(&out);
    // 2x: twice 10 and 13 slots; a repeated length is evaluated once.
    assert_eq!(cells, [(2, 20), (3, 26)], "{out}");
}
