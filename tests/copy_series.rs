//! Copy series end to end, on a tiny experiment (3 bits, 1-3 vectors per sequence, 2-3
//! sequences, a DNC and an NTM of 4 slots, 16 sequences): `ntm episode --json` checked against
//! the layout (each answer its own sequence); a run's eval by number of sequences, its figures
//! (heads, links, outputs, generalisation); `ntm eval --lengths` past training; one line for
//! bad input; the shipped experiment's sizes (each sequence fits its memory, a series does not).

use std::path::Path;

use ntm_tasks::{Episode, EpisodeInfo, TaskSpec};
mod sandbox;
use sandbox::{assert_png, read_json, Sandbox};

const TINY_SERIES: &str = r#"
name = "tiny-series"
seed = 2

[task]
kind = "copy-series"
bits = 3
min_length = 1
max_length = 3
min_sequences = 2
max_sequences = 3

[models.dnc]
kind = "dnc"
controller_size = 8
memory = { slots = 4, width = 5 }

[models.ntm]
kind = "ntm"
controller_size = 8
memory = { slots = 4, width = 5 }

[train]
sequences = 16
batch = 4
lr = 3e-3
optimizer = "adam"
report_every = 8
checkpoint_every = 8

[eval]
lengths = [2, 5]
sequences = 4
"#;

fn sandbox() -> Sandbox {
    let s = Sandbox::new();
    s.write("series.toml", TINY_SERIES);
    s
}

#[test]
fn episode_json_answers_each_sequence_after_its_delimiter() {
    let s = sandbox();
    for seed in ["1", "2", "3"] {
        let json = s.ok(&["episode", "series.toml", "--length", "4", "--seed", seed, "--json"]);
        let episode: Episode = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}: {json}"));
        let Some(EpisodeInfo::CopySeries { lengths }) = &episode.info else { panic!("{json}") };
        assert_eq!((episode.length, lengths.len()), (4, 4));
        let mut start = 0;
        for &len in lengths {
            assert!((1..=3).contains(&len), "{len}");
            assert_eq!(episode.inputs[start + len][3], 1.0, "delimiter after the sequence at {start}");
            for t in 0..len {
                let answer = start + len + 1 + t;
                assert_eq!(episode.targets[answer][..], episode.inputs[start + t][..3], "answer step {answer}");
                assert_eq!(episode.mask[answer], 1.0);
            }
            start += 2 * len + 1;
        }
        assert_eq!(episode.time(), start);
        assert_eq!(episode.mask.iter().sum::<f32>(), lengths.iter().sum::<usize>() as f32);
    }
    let shown = s.ok(&["episode", "series.toml", "--length", "2", "--seed", "1"]);
    for words in ["episode: 2 sequences", "sequence lengths, each read, delimited and answered", "the delimiter"] {
        assert!(shown.contains(words), "{words:?} missing:\n{shown}");
    }
}

#[test]
fn a_run_evaluates_by_number_of_sequences_and_draws_its_figures() {
    let s = sandbox();
    s.ok(&["run", "series.toml", "--out", "run"]);
    for figure in
        ["heads-dnc-3.png", "heads-ntm-3.png", "links-dnc-3.png", "curves.png", "generalisation.png", "outputs.png"]
    {
        assert_png(&s.path(&format!("run/plots/{figure}")));
    }
    for model in ["dnc", "ntm"] {
        let eval = read_json(&s.path(&format!("run/{model}/eval.json")));
        assert_eq!(eval["task"], "copy-series");
        let lengths: Vec<u64> =
            eval["results"].as_array().unwrap().iter().map(|r| r["length"].as_u64().unwrap()).collect();
        assert_eq!(lengths, [2, 5]);
    }
    // The DNC's trace: every step of 3 sequences of at most 3 vectors, usage per slot.
    let trace = read_json(&s.path("run/plots/heads-dnc-3.json"));
    let steps = trace["dnc"]["steps"].as_array().unwrap();
    assert!(steps.len() <= 3 * 7 && steps.len() >= 3 * 3, "{} steps", steps.len());
    assert_eq!(steps[0]["usage"].as_array().map(Vec::len), Some(4));
    // Longer series than trained, named by their number of sequences.
    let table = s.ok(&["eval", "run/dnc", "--lengths", "2,8", "--sequences", "2"]);
    assert!(table.contains("2 sequences") && table.contains("8 sequences"), "{table}");
    let drawn = s.ok(&["plot", "heads", "run/ntm", "--length", "6", "--seed", "4", "-o", "h.png"]);
    assert_eq!(drawn.trim(), "h.png");
    assert_png(&s.path("h.png"));
}

#[test]
fn bad_copy_series_input_gets_one_line() {
    let s = sandbox();
    let episode = ["episode", "series.toml"];
    for (set, words) in [
        ("task.min_sequences=0", &["task.min_sequences = 0", "at least 1"][..]),
        ("task.min_sequences=4", &["task.min_sequences = 4", "greater than task.max_sequences = 3"]),
        ("task.min_length=0", &["task.min_length = 0", "at least 1"]),
        ("task.bits=0", &["task.bits = 0", "at least 1"]),
        ("task.sequences=3", &["task.sequences"]),
    ] {
        s.fails(&[&episode[..], &["--set", set]].concat(), words);
    }
    s.fails(&["episode", "series.toml", "--length", "0"], &["--length 0", "at least 1"]);
}

#[test]
fn the_shipped_experiment_needs_reuse() {
    let file = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/experiments/reuse.toml"));
    let experiment = ntm::Experiment::load(file, &[]).unwrap();
    let TaskSpec::CopySeries(spec) = &experiment.task else { panic!("{:?}", experiment.task) };
    for name in ["dnc", "ntm"] {
        let slots = match &experiment.models[name] {
            ntm::ModelConfig::Dnc(c) => c.memory.slots,
            ntm::ModelConfig::Ntm(c) => c.memory.slots,
            other => panic!("{name}: {other:?}"),
        };
        // Each sequence fits; the average series (its middle count of middle lengths) does not.
        let mean_series = (spec.min_sequences + spec.max_sequences) * (spec.min_length + spec.max_length) / 4;
        assert!(spec.max_length <= slots && mean_series > slots, "{name}: {slots} slots, {spec:?}");
    }
}
