//! Priority sort end to end, on a tiny experiment (4 bits, 4-6 inputs, 3 answers, an NTM of 2 +
//! 2 heads and 8 x 6 memory, 32 sequences): `ntm episode --json` checked against a plain sort
//! of the whole vectors by priority; the run's figures, the priorities figure (paper fig. 17)
//! and the generalisation over the number of inputs; one line for bad input.

use std::path::Path;

use ntm_tasks::{Episode, EpisodeInfo, TaskSpec};
mod sandbox;
use sandbox::{assert_png, read_json, Sandbox};

const TINY_SORT: &str = r#"
name = "tiny-sort"
seed = 3

[task]
kind = "priority-sort"
bits = 4
min_inputs = 4
max_inputs = 6
answers = 3

[models.ntm]
kind = "ntm"
controller_size = 16
controller_layers = 2
read_heads = 2
write_heads = 2
memory = { slots = 8, width = 6 }

[models.lstm]
kind = "lstm"
size = 8
layers = 1

[train]
sequences = 32
batch = 4
lr = 3e-3
optimizer = "adam"
report_every = 16
checkpoint_every = 16

[eval]
lengths = [2, 6, 9]
sequences = 8
"#;

fn sandbox() -> Sandbox {
    let s = Sandbox::new();
    s.write("sort.toml", TINY_SORT);
    s
}

#[test]
fn episode_json_answers_whole_vectors_by_priority() {
    let s = sandbox();
    let shipped = concat!(env!("CARGO_MANIFEST_DIR"), "/experiments/priority-sort.toml");
    for seed in ["1", "2", "3"] {
        let json = s.ok(&["episode", shipped, "--seed", seed, "--json"]);
        let episode: Episode = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}: {json}"));
        assert_eq!((episode.length, episode.time()), (20, 20 + 1 + 16));
        let Some(EpisodeInfo::PrioritySort { priorities, order }) = &episode.info else { panic!("{json}") };
        assert!(episode.reference.is_none());
        // The priorities are on the input's channel 8, the delimiter on 9.
        for (t, p) in priorities.iter().enumerate() {
            assert_eq!(episode.inputs[t][8], *p);
            assert!((-1.0..=1.0).contains(p), "{p}");
        }
        assert_eq!(episode.inputs[20][9], 1.0);
        // A plain reference: the inputs' indices sorted by priority, highest first.
        let mut by_priority: Vec<usize> = (0..20).collect();
        by_priority.sort_by(|&a, &b| priorities[b].total_cmp(&priorities[a]));
        assert_eq!(order[..], by_priority[..16]);
        for (i, &input) in order.iter().enumerate() {
            assert_eq!(episode.targets[21 + i][..], episode.inputs[input][..8], "answer {i}");
            assert_eq!(episode.mask[21 + i], 1.0);
        }
        assert_eq!(episode.mask.iter().sum::<f32>(), 16.0);
    }
    // The text view labels the channels and lists the priorities.
    let shown = s.ok(&["episode", "sort.toml", "--length", "3", "--seed", "1"]);
    for label in
        ["in  prio", "in  delim", "out 0", "mask", "priorities, in input order", "answers, highest priority first"]
    {
        assert!(shown.contains(label), "{label:?} missing:\n{shown}");
    }
}

#[test]
fn a_run_draws_the_priorities_and_the_generalisation_over_inputs() {
    let s = sandbox();
    s.ok(&["run", "sort.toml", "--out", "run"]);
    for figure in ["heads-ntm-6.png", "priorities-ntm-6.png", "curves.png", "generalisation.png", "outputs.png"] {
        assert_png(&s.path(&format!("run/plots/{figure}")));
    }
    // The figure's trace: one panel per head, read and write.
    let trace = read_json(&s.path("run/plots/priorities-ntm-6.json"));
    assert_eq!(trace["heads"].as_array().map(Vec::len), Some(4));
    // Every test length, within and past training: all inputs sorted at 2, the top 3 at 6 and 9.
    let eval = read_json(&s.path("run/ntm/eval.json"));
    let lengths: Vec<u64> = eval["results"].as_array().unwrap().iter().map(|r| r["length"].as_u64().unwrap()).collect();
    assert_eq!(lengths, [2, 6, 9]);
    // The table's columns stay apart however long their labels ("10 inputs").
    let table = s.ok(&["eval", "run/ntm", "--lengths", "2,10", "--sequences", "2"]);
    assert!(table.contains("  2 inputs 10 inputs"), "{table}");
    let drawn = s.ok(&["plot", "priorities", "run/ntm", "--length", "9", "--seed", "4", "-o", "p.png"]);
    assert_eq!(drawn.trim(), "p.png");
    assert_png(&s.path("p.png"));
}

#[test]
fn bad_priority_sort_input_gets_one_line() {
    let s = sandbox();
    let episode = ["episode", "sort.toml"];
    for (set, words) in [
        ("task.answers=0", &["task.answers = 0", "at least 1"][..]),
        ("task.answers=7", &["task.answers = 7", "at most task.max_inputs = 6"]),
        ("task.bits=0", &["task.bits = 0", "at least 1"]),
        ("task.min_inputs=0", &["task.min_inputs = 0", "at least 1"]),
        ("task.context=5", &["task.context"]),
    ] {
        s.fails(&[&episode[..], &["--set", set]].concat(), words);
    }
    s.fails(&["episode", "sort.toml", "--length", "0"], &["--length 0", "at least 1"]);
    s.ok(&["run", "tiny.toml", "--out", "copy"]);
    s.fails(&["plot", "priorities", "copy"], &["copy task", "priority sort"]);
    s.ok(&["train", "sort.toml", "--model", "lstm", "--out", "run", "--set", "train.sequences=4"]);
    s.fails(&["plot", "priorities", "run/lstm"], &["lstm", "no memory heads"]);
    s.ok(&["train", "sort.toml", "--model", "ntm", "--out", "run", "--set", "train.sequences=4"]);
    s.fails(&["plot", "priorities", "run", "--length", "0"], &["--length 0", "at least 1"]);
}

#[test]
fn the_shipped_experiment_is_the_papers_task_and_sizes() {
    let file = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/experiments/priority-sort.toml"));
    let experiment = ntm::Experiment::load(file, &[]).unwrap();
    let TaskSpec::PrioritySort(spec) = &experiment.task else { panic!("{:?}", experiment.task) };
    assert_eq!((spec.bits, spec.min_inputs, spec.max_inputs, spec.answers), (8, 20, 20, 16));
    let toml = std::fs::read_to_string(file).unwrap();
    for words in [
        "controller_size = 100\ncontroller_layers = 2\nread_heads = 5\nwrite_heads = 5",
        "controller_size = 512\ncontroller_layers = 1\nread_heads = 8\nwrite_heads = 8",
        "size = 128\nlayers = 3",
    ] {
        assert!(toml.contains(words), "{words:?} missing");
    }
    assert_eq!(experiment.models.len(), 3);
}
