//! `ntm sweep` and `ntm summarize` end to end on the tiny copy experiment (64 sequences per
//! run): the folders and files of a sweep, that each job is exactly its `ntm train` command,
//! `--print-commands` + `summarize` giving the sweep's own summary, `--resume`, a diverging
//! model, Ctrl-C, and one clear error line (and no file changed) for every bad input.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ntm::config::Experiment;
use serde_json::Value;
mod sandbox;
use sandbox::{assert_png, bytes, metrics, read_json, snapshot, text, wait_for_exit, Sandbox};

const MODELS: [&str; 2] = ["lstm", "ntm"];

fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    names
}

#[test]
fn a_sweep_trains_every_seed_evaluates_and_summarises() {
    let s = Sandbox::new();
    let stdout = s.ok(&["sweep", "tiny.toml", "--seeds", "1-2", "--out", "sw", "--jobs", "2"]);
    let out = s.path("sw");
    assert_eq!(names(&out), ["experiment.toml", "plots", "seed-1", "seed-2", "summary.json"]);
    let base = Experiment::load(&out.join("experiment.toml"), &[]).unwrap();
    assert_eq!(base, Experiment::load(&s.path("tiny.toml"), &[]).unwrap());
    for seed in [1u64, 2] {
        let dir = out.join(format!("seed-{seed}"));
        assert_eq!(names(&dir), ["experiment.toml", "lstm", "lstm.log", "ntm", "ntm.log"]);
        let seeded = Experiment::load(&dir.join("experiment.toml"), &[]).unwrap();
        assert_eq!(seeded, Experiment { seed, ..base.clone() });
        for model in MODELS {
            let config = Experiment::load(&dir.join(model).join("config.toml"), &[]).unwrap();
            assert_eq!(config.seed, seed, "{model}");
            assert_eq!(metrics(&dir.join(model)).last().unwrap().0, 64);
            assert!(dir.join(model).join("eval.json").is_file());
        }
    }
    for figure in ["sweep-curves.png", "sweep-generalisation.png", "sweep-convergence.png"] {
        assert_png(&out.join("plots").join(figure));
    }

    // The job is exactly `ntm train ... --set seed=k`.
    s.ok(&["train", "tiny.toml", "--model", "ntm", "--out", "alone", "--set", "seed=2"]);
    assert_eq!(metrics(&s.path("alone/ntm")), metrics(&out.join("seed-2/ntm")));
    assert!(
        bytes(&s.path("alone/ntm/checkpoint.safetensors")) == bytes(&out.join("seed-2/ntm/checkpoint.safetensors"))
    );

    let summary = read_json(&out.join("summary.json"));
    assert_eq!((summary["experiment"].as_str(), summary["task"].as_str()), (Some("tiny"), Some("copy")));
    assert_eq!(summary["threshold"], 0.05);
    for model in MODELS {
        let m = &summary["models"][model];
        assert_eq!(m["counts"]["seeds"], 2, "{m}");
        assert_eq!(m["counts"]["finished"], 2, "{m}");
        assert_eq!(m["counts"]["evaluated"], 2, "{m}");
        let seeds: Vec<&Value> = m["seeds"].as_array().unwrap().iter().collect();
        assert_eq!(seeds.iter().map(|s| s["seed"].as_u64().unwrap()).collect::<Vec<_>>(), [1, 2]);
        for seed in &seeds {
            assert_eq!(seed["status"], "finished");
            assert_eq!(seed["sequences"], 64);
            let dir = out.join(format!("seed-{}/{model}", seed["seed"]));
            let last = metrics(&dir).last().copied().unwrap();
            assert_eq!(seed["final"]["bit_errors"].as_f64().unwrap().to_bits(), last.2);
            let eval = read_json(&dir.join("eval.json"));
            for (point, result) in seed["eval"].as_array().unwrap().iter().zip(eval["results"].as_array().unwrap()) {
                assert_eq!((&point["length"], &point["bit_errors"]), (&result["length"], &result["bit_errors"]));
            }
        }
        let eval = &m["across_seeds"]["eval"];
        assert_eq!(eval.as_array().unwrap().iter().map(|e| e["length"].as_u64().unwrap()).collect::<Vec<_>>(), [2, 4]);
        for key in ["n", "median", "q1", "q3", "min", "max"] {
            assert!(m["across_seeds"]["final_bit_errors"][key].is_number(), "{key}: {m}");
        }
        assert!(stdout.contains(&format!("{model}: {} seeds converged", m["converged"].as_str().unwrap())), "{stdout}");
    }
    assert!(stdout.contains("across seeds") && stdout.contains("eval L=4 bit errors"), "{stdout}");

    // A second sweep into the folder is refused, naming it; nothing changes.
    let before = snapshot(&out);
    let line = s.fails(
        &["sweep", "tiny.toml", "--seeds", "1-2", "--out", "sw"],
        &["sw/seed-1/lstm", "already holds a run", "3 other", "--resume", "--overwrite"],
    );
    assert!(!line.contains("panicked"));
    assert!(snapshot(&out) == before, "a refused sweep changed files");

    // --resume: every job is done, so nothing trains and the summary is the same.
    s.ok(&["sweep", "tiny.toml", "--seeds", "1-2", "--out", "sw", "--resume"]);
    let after = snapshot(&out);
    for (path, content) in &before {
        if !path.starts_with("plots") && !path.ends_with(".log") {
            assert!(after.get(path) == Some(content), "--resume of a finished sweep changed {}", path.display());
        }
    }
    // --resume with one more seed trains that seed only.
    s.ok(&["sweep", "tiny.toml", "--seeds", "1-3", "--out", "sw", "--resume"]);
    assert!(
        bytes(&out.join("seed-1/ntm/checkpoint.safetensors")) == before[Path::new("seed-1/ntm/checkpoint.safetensors")]
    );
    assert_eq!(
        read_json(&out.join("summary.json"))["models"]["ntm"]["converged"].as_str().unwrap().split(" of ").nth(1),
        Some("3")
    );

    // --print-commands writes nothing; running its commands anywhere and `summarize` gives
    // the sweep's own summary.
    let commands = s.ok(&["sweep", "tiny.toml", "--seeds", "1-2", "--out", "elsewhere", "--print-commands"]);
    assert!(!s.path("elsewhere").exists(), "--print-commands wrote files");
    let lines: Vec<&str> = commands.lines().collect();
    assert_eq!(lines.len(), 4, "{commands}");
    assert_eq!(lines[0], "ntm train tiny.toml --model lstm --out elsewhere/seed-1 --set seed=1");
    for line in &lines {
        let words: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(words[0], "ntm");
        s.ok(&words[1..]);
    }
    let table = s.ok(&["summarize", "elsewhere"]);
    assert!(table.contains("across seeds"), "{table}");
    let ours = read_json(&s.path("elsewhere/summary.json"));
    let sweep = read_json(&s.path("sw/summary.json"));
    for model in MODELS {
        let keep = |v: &Value| {
            let mut v = v.clone();
            v["seeds"] = Value::Array(v["seeds"].as_array().unwrap()[..2].to_vec());
            v
        };
        assert_eq!(ours["models"][model]["seeds"], keep(&sweep["models"][model])["seeds"], "{model}");
    }
    s.ok(&["sweep", "tiny.toml", "--seeds", "1-2", "--out", "sw2"]);
    assert!(
        bytes(&s.path("sw2/summary.json")) == bytes(&s.path("elsewhere/summary.json")),
        "summarize differs from the sweep"
    );
    for figure in ["sweep-curves.png", "sweep-generalisation.png", "sweep-convergence.png"] {
        assert_png(&s.path("elsewhere/plots").join(figure));
    }
}

#[test]
fn bad_input_gives_one_error_line_and_changes_nothing() {
    let s = Sandbox::new();
    s.ok(&[
        "train",
        "tiny.toml",
        "--model",
        "ntm",
        "--out",
        "mixed/seed-1",
        "--set",
        "seed=1",
        "--set",
        "train.sequences=16",
    ]);
    s.ok(&[
        "train",
        "tiny.toml",
        "--model",
        "ntm",
        "--out",
        "mixed/seed-2",
        "--set",
        "seed=2",
        "--set",
        "train.sequences=16",
        "--set",
        "train.lr=0.01",
    ]);
    std::fs::create_dir(s.path("empty")).unwrap();
    let before = snapshot(s.dir.path());
    let sweep = |extra: &[&'static str]| [&["sweep", "tiny.toml", "--out", "sw"][..], extra].concat();
    let cases: Vec<(Vec<&str>, Vec<&str>)> = vec![
        (sweep(&["--seeds", ""]), vec!["--seeds", "no seeds"]),
        (sweep(&["--seeds", "10-1"]), vec!["--seeds \"10-1\"", "reversed"]),
        (sweep(&["--seeds", "1-x"]), vec!["\"x\" is not a seed"]),
        (sweep(&["--seeds", "1-1001"]), vec!["more than 1000 seeds"]),
        (sweep(&["--seeds", "1-2", "--jobs", "0"]), vec!["--jobs 0"]),
        (sweep(&["--seeds", "1-2", "--models", "ntm,nope"]), vec!["--models", "\"nope\""]),
        (sweep(&["--seeds", "1-2", "--set", "seed=4"]), vec!["--set seed=4", "--seeds"]),
        (sweep(&["--seeds", "1-2", "--set", "train.batch=x"]), vec!["train.batch"]),
        (sweep(&["--seeds", "1-2", "--threshold", "0"]), vec!["--threshold 0"]),
        (vec!["sweep", "missing.toml", "--seeds", "1"], vec!["missing.toml"]),
        (vec!["summarize", "empty"], vec!["empty", "no seed runs"]),
        (vec!["summarize", "nowhere"], vec!["nowhere"]),
        (
            vec!["summarize", "mixed"],
            vec!["different experiments", "seed-2/ntm/config.toml", "train.lr = 0.003 vs 0.01"],
        ),
        (vec!["summarize", "mixed", "--threshold=-1"], vec!["--threshold -1"]),
    ];
    for (args, words) in &cases {
        s.fails(args, words);
        assert!(snapshot(s.dir.path()) == before, "ntm {args:?} changed files");
    }
}

#[test]
fn a_diverging_model_is_reported_and_the_others_go_on() {
    let s = Sandbox::new();
    s.variant("diverges.toml", "[eval]", "[train.models.ntm]\nlr = 1e30\nclip_value = 0\nclip_norm = 0\n\n[eval]");
    let out = s.ntm(&["sweep", "diverges.toml", "--seeds", "1-2", "--out", "sw"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let last = stderr.lines().last().unwrap();
    assert!(last.starts_with("error: 2 of 4 jobs failed (seed 1 ntm, seed 2 ntm)"), "{stderr}");
    assert!(stderr.contains("seed 1 ntm: FAILED: model ntm: training diverged"), "{stderr}");
    let summary = read_json(&s.path("sw/summary.json"));
    let ntm = &summary["models"]["ntm"];
    assert_eq!(ntm["counts"]["diverged"], 2, "{ntm}");
    assert!(ntm["seeds"].as_array().unwrap().iter().all(|s| s["status"] == "diverged" && s["eval"].is_null()));
    assert_eq!(summary["models"]["lstm"]["counts"]["finished"], 2);
    assert_eq!(summary["models"]["lstm"]["counts"]["evaluated"], 2);
    assert_png(&s.path("sw/plots/sweep-convergence.png"));
}

#[test]
fn ctrl_c_stops_every_job_and_resume_finishes_the_sweep() {
    let s = Sandbox::new();
    let args = [
        "sweep",
        "tiny.toml",
        "--seeds",
        "1-3",
        "--models",
        "lstm",
        "--jobs",
        "2",
        "--out",
        "sw",
        "--set",
        "train.sequences=20000",
        "--set",
        "train.report_every=200",
    ];
    let mut child = Command::new(env!("CARGO_BIN_EXE_ntm"))
        .args(args)
        .current_dir(s.dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !(s.path("sw/seed-1/lstm/metrics.jsonl").is_file() && s.path("sw/seed-2/lstm/metrics.jsonl").is_file()) {
        assert!(child.try_wait().unwrap().is_none(), "the sweep ended before it could be interrupted");
        assert!(Instant::now() < deadline, "no progress after 30 s");
        std::thread::sleep(Duration::from_millis(5));
    }
    // Only the sweep gets the signal (as a terminal's Ctrl-C: the jobs have their own group).
    let sent = Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(sent.success());
    let (status, stderr) = wait_for_exit(child, Duration::from_secs(30), "the sweep (after SIGINT)");
    assert_eq!(status.code(), Some(130), "{stderr}");
    let expected = "interrupted: checkpoints saved; to continue, run: ntm sweep tiny.toml --seeds 1-3 --models lstm \
                    --jobs 2 --out sw --set train.sequences=20000 --set train.report_every=200 --resume";
    assert_eq!(stderr.lines().last(), Some(expected), "{stderr}");
    for seed in [1, 2] {
        let meta = read_json(&s.path(&format!("sw/seed-{seed}/lstm/checkpoint.json")));
        let at = meta["sequences"].as_u64().unwrap();
        assert!(at > 0 && at < 20000, "seed {seed}: checkpoint at {at}");
    }
    assert!(!s.path("sw/seed-3/lstm").exists(), "a job started after Ctrl-C");
    assert!(!s.path("sw/summary.json").exists(), "summarised after Ctrl-C");

    let resume: Vec<&str> = expected.split(": ").last().unwrap().split_whitespace().skip(1).collect();
    s.ok(&resume);
    let summary = read_json(&s.path("sw/summary.json"));
    assert_eq!(summary["models"]["lstm"]["counts"]["finished"], 3, "{summary}");
    for seed in [1, 2, 3] {
        assert_eq!(metrics(&s.path(&format!("sw/seed-{seed}/lstm"))).last().unwrap().0, 20000);
    }
}
