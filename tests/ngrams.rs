//! Dynamic N-grams end to end, on a tiny experiment (2 bits of context, 12-bit sequences, an
//! 8 x 6 memory NTM and an 8-unit LSTM, 48 sequences): the optimal predictor's loss beside every
//! model in `eval.json`, the eval table, `metrics.jsonl` (exactly across a resume) and a sweep's
//! summary; `ntm episode --json`; the curves and contexts figures; one line for bad input.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ntm::measure::eval::cell_rng;
use ntm_tasks::ngram_table::optimal_predictions;
use ntm_tasks::{Episode, EpisodeInfo, TaskSpec};
use serde_json::Value;
mod sandbox;
use sandbox::{assert_png, read_json, text, Sandbox};

/// The tiny N-grams experiment; `lr_final` unset (a constant rate) so that a run resumed halfway
/// follows the same schedule as one in one go.
const TINY_NGRAMS: &str = r#"
name = "tiny-ngrams"
seed = 2

[task]
kind = "dynamic-ngrams"
context = 2
min_length = 12
max_length = 12

[models.ntm]
kind = "ntm"
controller_size = 16
memory = { slots = 8, width = 6 }

[models.lstm]
kind = "lstm"
size = 8
layers = 1

[train]
sequences = 48
batch = 4
lr = 3e-3
optimizer = "adam"
report_every = 16
checkpoint_every = 16

[eval]
lengths = [12, 20]
sequences = 40
"#;

fn sandbox() -> Sandbox {
    let s = Sandbox::new();
    s.write("ngrams.toml", TINY_NGRAMS);
    s
}

/// Every line of `dir/metrics.jsonl` as (sequences, loss_bits, optimal_loss_bits), floats as
/// bits so that equality is exact.
fn metrics(dir: &Path) -> Vec<(u64, u64, u64)> {
    let text = std::fs::read_to_string(dir.join("metrics.jsonl")).unwrap();
    text.lines()
        .map(|line| {
            let v: Value = serde_json::from_str(line).unwrap();
            let number = |key: &str| v[key].as_f64().unwrap_or_else(|| panic!("{line}: no {key}"));
            (v["sequences"].as_u64().unwrap(), number("loss_bits").to_bits(), number("optimal_loss_bits").to_bits())
        })
        .collect()
}

#[test]
fn the_optimum_stands_beside_every_model() {
    let s = sandbox();
    let table = s.ok(&["run", "ngrams.toml", "--out", "run"]);
    // The optimum over the same test episodes, recomputed from the task: every element's
    // reference predictions against its targets.
    let experiment = ntm::Experiment::load(&s.path("ngrams.toml"), &[]).unwrap();
    let task = experiment.task.build();
    let optimum = |length: usize| {
        let batch = task.sample(&mut cell_rng(experiment.seed, length, None), 40, Some(length));
        batch.reference_bits().unwrap()
    };
    for model in ["lstm", "ntm"] {
        let report = read_json(&s.path(&format!("run/{model}/eval.json")));
        for (row, length) in report["results"].as_array().unwrap().iter().zip([12, 20]) {
            let got = row["optimal_loss_bits"].as_f64().unwrap_or_else(|| panic!("{model}: {row}"));
            assert!((got - optimum(length)).abs() < 1e-9, "{model} at {length}: {got} vs {}", optimum(length));
            // No predictor beats the optimum by much on 40 sequences, and an untrained one is far above.
            assert!(row["loss_bits"].as_f64().unwrap() > got - 1.0, "{row}");
        }
    }
    // The table: the bit errors, then the loss of each model and the optimum's row.
    let optimum_line = table.lines().find(|l| l.starts_with("optimum")).unwrap_or_else(|| panic!("{table}"));
    assert!(optimum_line.contains(&format!("{:.3}", optimum(12))), "{table}");
    assert!(table.contains("loss in bits per sequence"), "{table}");
    // Every training interval carries the optimum of its batches: the same for both models,
    // which train on the same stream of episodes.
    let (ntm, lstm) = (metrics(&s.path("run/ntm")), metrics(&s.path("run/lstm")));
    assert_eq!(ntm.len(), 3);
    for (a, b) in ntm.iter().zip(&lstm) {
        assert_eq!((a.0, a.2), (b.0, b.2), "the optimum differs between the models' batches");
        let optimum = f64::from_bits(a.2);
        assert!(optimum > 2.0 && optimum < 11.0, "{optimum} bits over 11 predictions");
    }
    // The figures: the curves against the optimum, and where the NTM's heads go by context.
    for figure in ["curves.png", "contexts-ntm-12.png", "heads-ntm-12.png"] {
        assert_png(&s.path(&format!("run/plots/{figure}")));
    }
    let contexts = read_json(&s.path("run/plots/contexts-ntm-12.json"));
    assert_eq!(contexts["context"], 2);
    assert_eq!(contexts["heads"].as_array().unwrap().len(), 2);

    // A copy run carries no optimum anywhere.
    s.ok(&["run", "tiny.toml", "--out", "copy"]);
    let copy = std::fs::read_to_string(s.path("copy/ntm/eval.json")).unwrap();
    let lines = std::fs::read_to_string(s.path("copy/ntm/metrics.jsonl")).unwrap();
    assert!(!copy.contains("optimal") && !lines.contains("optimal"));
}

/// Stopped by Ctrl-C in the middle of a report interval (so that the checkpoint holds the
/// optimum's sum over a part-filled interval), then resumed: the same metrics as in one go.
#[test]
fn a_resumed_run_keeps_the_optimum_of_the_interval_in_progress() {
    let s = sandbox();
    let args = |out: &str| -> Vec<String> {
        let set = ["train.sequences=3000", "train.checkpoint_every=100000"];
        let mut args: Vec<String> = ["train", "ngrams.toml", "--model", "ntm", "--out", out].map(String::from).into();
        args.extend(set.iter().flat_map(|kv| ["--set".to_owned(), kv.to_string()]));
        args
    };
    s.ok(&args("whole"));
    let meta = s.path("halves/ntm/checkpoint.json");
    for attempt in 1..=10 {
        let _ = std::fs::remove_dir_all(s.path("halves"));
        let mut child = s.command(&args("halves")).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        while !s.path("halves/ntm/metrics.jsonl").exists() {
            assert!(Instant::now() < deadline, "training did not start");
            std::thread::sleep(Duration::from_millis(5));
        }
        // A few milliseconds after the first report, varied by attempt: a fast machine trains
        // the 3,000 sequences in ~0.2 s, so a longer wait may find it finished, and one stop in
        // four lands on a report's boundary (4 batches an interval).
        std::thread::sleep(Duration::from_millis(7 * attempt));
        let sent = Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
        assert!(sent.success(), "kill -INT failed");
        child.wait().unwrap();
        let sidecar = read_json(&meta);
        let (in_progress, sequences) = (sidecar["interval"][2].as_u64().unwrap(), sidecar["sequences"].as_u64());
        println!("attempt {attempt}: stopped at {sequences:?} sequences, {in_progress} of them in the interval");
        if in_progress > 0 && sequences < Some(3000) {
            assert!(sidecar["optimal_bits"].as_f64().is_some_and(|bits| bits > 0.0), "{sidecar}");
            break;
        }
        assert!(attempt < 10, "never stopped inside a report interval");
    }
    s.ok(&[&args("halves")[..], &["--resume".to_owned()]].concat());
    assert_eq!(metrics(&s.path("whole/ntm")), metrics(&s.path("halves/ntm")));
}

#[test]
fn episode_json_is_the_episode_with_its_table_and_optimum() {
    let s = sandbox();
    let ngrams = concat!(env!("CARGO_MANIFEST_DIR"), "/experiments/ngrams.toml");
    let json = s.ok(&["episode", ngrams, "--seed", "5", "--json"]);
    let episode: Episode = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}: {json}"));
    assert_eq!((episode.length, episode.time()), (200, 200));
    assert_eq!(episode.mask.iter().sum::<f32>(), 199.0);
    let Some(EpisodeInfo::DynamicNgrams { table }) = &episode.info else { panic!("no table: {json}") };
    assert_eq!(table.len(), 32);
    // The targets are the inputs shifted by one, and the reference is the optimum recomputed
    // from the bits alone.
    let bits: Vec<bool> = episode.inputs.iter().map(|x| x[0] == 1.0).collect();
    for t in 0..199 {
        assert_eq!(episode.targets[t][0], episode.inputs[t + 1][0]);
    }
    let reference = episode.reference.as_ref().expect("the optimal predictions");
    for (t, p) in optimal_predictions(&bits, 5).iter().enumerate() {
        assert_eq!(reference[t][0], *p as f32, "step {t}");
    }
    // The same episode as text: the channels labelled, the table listed.
    let shown = s.ok(&["episode", ngrams, "--seed", "5"]);
    for label in ["in  bit", "out next", "ref next", "mask", "table: P(next bit = 1 | previous 5 bits)"] {
        assert!(shown.contains(label), "{label:?} missing:\n{shown}");
    }
    // Another task prints its episode too, without a reference.
    let copy = s.ok(&["episode", "tiny.toml", "--json", "--length", "2"]);
    let copy: Episode = serde_json::from_str(&copy).unwrap();
    assert!(copy.reference.is_none() && copy.info.is_none());
}

#[test]
fn bad_ngrams_input_gets_one_line() {
    let s = sandbox();
    let episode = ["episode", "ngrams.toml"];
    for (set, words) in [
        ("task.context=0", &["task.context = 0", "from 1 to 16"][..]),
        ("task.context=17", &["task.context = 17", "from 1 to 16"]),
        ("task.min_length=1", &["task.min_length = 1", "at least 2"]),
        ("task.bits=4", &["task.bits"]),
    ] {
        s.fails(&[&episode[..], &["--set", set]].concat(), words);
    }
    s.fails(&["episode", "ngrams.toml", "--length", "1"], &["--length 1", "at least 2"]);
    s.ok(&["run", "tiny.toml", "--out", "copy"]);
    s.fails(&["plot", "contexts", "copy"], &["copy task", "dynamic-ngrams"]);
    s.ok(&["train", "ngrams.toml", "--model", "lstm", "--out", "run", "--set", "train.sequences=4"]);
    s.fails(&["plot", "contexts", "run/lstm"], &["lstm", "no memory heads"]);
    s.ok(&["train", "ngrams.toml", "--model", "ntm", "--out", "run", "--set", "train.sequences=4"]);
    s.fails(&["plot", "contexts", "run", "--length", "1"], &["--length 1", "at least 2"]);
    let drawn = s.ok(&["plot", "contexts", "run", "--length", "40", "-o", "c.png"]);
    assert_eq!(drawn.trim(), "c.png");
    assert_png(&s.path("c.png"));
}

#[test]
fn a_sweep_summarises_the_loss_above_the_optimum() {
    let s = sandbox();
    let out = s.ntm(&["sweep", "ngrams.toml", "--seeds", "1-2", "--models", "ntm", "--jobs", "1", "--out", "sweep"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let table = text(&out.stdout);
    assert!(table.contains("eval L=12 above optimum"), "{table}");
    let summary = read_json(&s.path("sweep/summary.json"));
    let cell = &summary["models"]["ntm"]["across_seeds"]["eval"][0];
    let (loss, optimum, above) = (&cell["loss_bits"], &cell["optimal_loss_bits"], &cell["loss_above_optimum"]);
    assert_eq!((loss["n"].as_u64(), optimum["n"].as_u64(), above["n"].as_u64()), (Some(2), Some(2), Some(2)), "{cell}");
    // Each seed's difference, not the difference of the medians: two seeds, so the median is
    // their mean, and the mean of the differences is the difference of the means.
    let median = |s: &Value| s["median"].as_f64().unwrap();
    assert!((median(above) - (median(loss) - median(optimum))).abs() < 1e-9, "{cell}");
    assert_png(&s.path("sweep/plots/sweep-curves.png"));
    // The seeds' evaluations differ, so do their optima.
    let seeds = summary["models"]["ntm"]["seeds"].as_array().unwrap();
    let optima: Vec<f64> = seeds.iter().map(|s| s["eval"][0]["optimal_loss_bits"].as_f64().unwrap()).collect();
    assert!(optima[0] != optima[1], "{optima:?}");
}

#[test]
fn the_shipped_experiment_is_the_papers_task() {
    let ngrams = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/experiments/ngrams.toml"));
    let experiment = ntm::Experiment::load(ngrams, &[]).unwrap();
    let TaskSpec::DynamicNgrams(spec) = &experiment.task else { panic!("{:?}", experiment.task) };
    assert_eq!((spec.context, spec.min_length, spec.max_length), (5, 200, 200));
    assert_eq!(experiment.eval.lengths, [200]);
    assert_eq!(experiment.models.len(), 3);
}
