//! The `ntm` binary end to end, on a tiny copy experiment (4 bits, lengths 1..3, an 8 x 6
//! memory NTM and a 16-unit LSTM, 64 training sequences) that trains in a fraction of a second:
//! the files a run writes and their formats, `--set`, `train`, `eval`, refusing to mix runs,
//! determinism, exact resume, the figures, and one clear `error:` line for every bad input.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ntm::config::Experiment;
use serde_json::Value;
mod sandbox;
use sandbox::{assert_png, bytes, metrics, read_json, snapshot, text, Sandbox, TINY};

const BITS: usize = 4;
const SLOTS: usize = 8;
const SEQUENCES: u64 = 64;
const MODELS: [&str; 2] = ["lstm", "ntm"];
/// The files of a trained model's folder (eval.json only after `run`).
const MODEL_FILES: [&str; 5] =
    ["config.toml", "metrics.jsonl", "checkpoint.safetensors", "optimizer.safetensors", "checkpoint.json"];

impl Sandbox {
    /// Starts `ntm args...` in the sandbox without waiting, its output discarded.
    fn spawn<S: AsRef<std::ffi::OsStr>>(&self, args: &[S]) -> Child {
        Command::new(env!("CARGO_BIN_EXE_ntm"))
            .args(args)
            .current_dir(self.dir.path())
            .env("RAYON_NUM_THREADS", "1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the ntm binary starts")
    }

    /// `ntm run tiny.toml --out <out> extra...`, which must succeed; returns its stdout.
    fn run(&self, out: &str, extra: &[&str]) -> String {
        let mut args = vec!["run", "tiny.toml", "--out", out];
        args.extend_from_slice(extra);
        self.ok(&args)
    }
}

/// Checks the shape of one eval report (an `eval.json` object) and returns its model name.
fn check_report(report: &Value, lengths: &[u64], sequences: u64) -> String {
    let model = report["model"].as_str().unwrap_or_else(|| panic!("no model in {report}")).to_owned();
    assert_eq!(report["task"], "copy", "{report}");
    let results = report["results"].as_array().unwrap_or_else(|| panic!("no results in {report}"));
    let got: Vec<u64> = results.iter().map(|r| r["length"].as_u64().expect("length")).collect();
    assert_eq!(got, lengths, "{report}");
    for r in results {
        let length = r["length"].as_u64().unwrap() as f64;
        assert_eq!(r["sequences"].as_u64(), Some(sequences), "{r}");
        let loss = r["loss_bits"].as_f64().unwrap_or_else(|| panic!("loss_bits in {r}"));
        let errors = r["bit_errors"].as_f64().unwrap_or_else(|| panic!("bit_errors in {r}"));
        assert!(loss.is_finite() && loss > 0.0, "{r}");
        assert!((0.0..=length * BITS as f64).contains(&errors), "{r}: more errors than bits");
    }
    model
}

#[test]
fn run_writes_every_file_and_prints_the_table() {
    let s = Sandbox::new();
    let stdout = s.run("out", &[]);
    let out = s.path("out");
    let experiment = Experiment::load(&s.path("tiny.toml"), &[]).unwrap();
    let written = Experiment::load(&out.join("experiment.toml"), &[]).expect("out/experiment.toml");
    assert_eq!(written, experiment, "experiment.toml is the resolved experiment");

    let mut models = std::fs::read_dir(&out).unwrap().map(|e| e.unwrap().file_name()).collect::<Vec<_>>();
    models.sort();
    assert_eq!(models, ["experiment.toml", "lstm", "ntm", "plots"]);
    // The four figures, the heads at the longest training length with their trace.
    for figure in ["heads-ntm-3.png", "curves.png", "generalisation.png", "outputs.png"] {
        assert_png(&out.join("plots").join(figure));
    }
    assert_eq!(read_json(&out.join("plots/heads-ntm-3.json"))["length"], 3);
    let mut table_rows = Vec::new();
    for model in MODELS {
        let dir = out.join(model);
        for file in MODEL_FILES.iter().chain(&["eval.json"]) {
            assert!(dir.join(file).is_file(), "{}/{file} missing", dir.display());
        }
        let config = Experiment::load(&dir.join("config.toml"), &[]).expect("config.toml parses");
        assert_eq!(config.models.keys().collect::<Vec<_>>(), [model], "config.toml holds this model only");
        assert_eq!(config.models[model], experiment.models[model]);
        assert_eq!((config.train, config.task, config.seed), (experiment.train.clone(), experiment.task.clone(), 3));

        let m = metrics(&dir);
        let sequences: Vec<u64> = m.iter().map(|r| r.0).collect();
        assert_eq!(sequences, [16, 32, 48, 64], "{model}: one line per report interval");
        assert_eq!(read_json(&dir.join("checkpoint.json"))["sequences"], SEQUENCES);

        let report = read_json(&dir.join("eval.json"));
        assert_eq!(check_report(&report, &[2, 4], 4), model);
        let errors: Vec<String> = report["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| format!("{:.3}", r["bit_errors"].as_f64().unwrap()))
            .collect();
        table_rows.push((model, errors));
    }

    // bit errors per sequence
    // model         L=2      L=4
    // lstm        3.000    8.500
    // ntm         3.500    7.750
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines.len() >= 4, "stdout:\n{stdout}");
    assert_eq!(lines[0], "bit errors per sequence", "stdout:\n{stdout}");
    assert_eq!(lines[1].split_whitespace().collect::<Vec<_>>(), ["model", "L=2", "L=4"], "stdout:\n{stdout}");
    for (line, (model, errors)) in lines[2..4].iter().zip(&table_rows) {
        let cells: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(cells[0], *model, "stdout:\n{stdout}");
        assert_eq!(cells[1..], errors[..], "{model}: the table shows eval.json's bit errors\n{stdout}");
    }
}

#[test]
fn run_without_an_ntm_draws_the_other_figures() {
    let s = Sandbox::new();
    let lstm_only = TINY.split("[models.ntm]").next().unwrap().to_owned()
        + "[models.lstm]"
        + TINY.split("[models.lstm]").nth(1).unwrap();
    s.write("lstm.toml", &lstm_only);
    s.ok(&["run", "lstm.toml", "--out", "out"]);
    let mut figures: Vec<_> = std::fs::read_dir(s.path("out/plots")).unwrap().map(|e| e.unwrap().file_name()).collect();
    figures.sort();
    assert_eq!(figures, ["curves.png", "generalisation.png", "outputs.png"]);
}

#[test]
fn set_overrides_reach_the_run() {
    let s = Sandbox::new();
    s.run("out", &["--set", "train.sequences=32", "--set", "models.ntm.memory.slots=6"]);
    let ntm = Experiment::load(&s.path("out/ntm/config.toml"), &[]).unwrap();
    assert_eq!(ntm.train.sequences, 32);
    let toml = std::fs::read_to_string(s.path("out/ntm/config.toml")).unwrap();
    assert!(toml.contains("slots = 6"), "out/ntm/config.toml:\n{toml}");
    let experiment = std::fs::read_to_string(s.path("out/experiment.toml")).unwrap();
    assert!(experiment.contains("slots = 6") && experiment.contains("sequences = 32"), "{experiment}");
    for model in MODELS {
        let m = metrics(&s.path(&format!("out/{model}")));
        assert_eq!(m.iter().map(|r| r.0).collect::<Vec<_>>(), [16, 32], "{model}");
    }
    // The checkpoint has the overridden memory size: the heads' trace has 6 slots.
    s.ok(&["plot", "heads", "out", "--length", "2", "-o", "heads.png"]);
    let trace = read_json(&s.path("heads.json"));
    assert_eq!(trace["heads"][0]["steps"][0]["weighting"].as_array().unwrap().len(), 6);
}

#[test]
fn train_writes_only_the_named_model() {
    let s = Sandbox::new();
    s.ok(&["train", "tiny.toml", "--model", "ntm", "--out", "one"]);
    let entries: Vec<_> = std::fs::read_dir(s.path("one")).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(entries, ["ntm"]);
    for file in MODEL_FILES {
        assert!(s.path("one/ntm").join(file).is_file(), "one/ntm/{file} missing");
    }
    assert_eq!(metrics(&s.path("one/ntm")).last().unwrap().0, SEQUENCES);

    // The same model as `run` trains it (in a thread beside the other model).
    s.run("both", &[]);
    assert!(
        bytes(&s.path("one/ntm/checkpoint.safetensors")) == bytes(&s.path("both/ntm/checkpoint.safetensors")),
        "`train --model ntm` and `run` give different NTM weights"
    );

    let line = s.fails(&["train", "tiny.toml", "--model", "nope", "--out", "two"], &["\"nope\"", "lstm", "ntm"]);
    assert!(line.contains("no model named"), "{line}");
    assert!(!s.path("two").exists(), "a failed train created its folder");
}

#[test]
fn eval_prints_json_for_runs_models_and_checkpoints() {
    let s = Sandbox::new();
    s.run("out", &[]);
    let args = ["--lengths", "2,5", "--sequences", "3", "--json"];
    let json = |path: &str| -> Value {
        let stdout = s.ok(&[&["eval", path][..], &args].concat());
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("eval {path}: not JSON ({e}):\n{stdout}"))
    };

    let all = json("out");
    let reports = all.as_array().unwrap_or_else(|| panic!("eval of a run folder: not an array: {all}"));
    let names: Vec<String> = reports.iter().map(|r| check_report(r, &[2, 5], 3)).collect();
    assert_eq!(names, MODELS);

    let one = json("out/ntm");
    assert!(one.is_object(), "eval of a model folder: not an object: {one}");
    assert_eq!(check_report(&one, &[2, 5], 3), "ntm");
    assert_eq!(one, reports[1], "the model folder alone gives what the run folder gave for it");

    let from_checkpoint = json("out/ntm/checkpoint.safetensors");
    assert_eq!(from_checkpoint, one, "a checkpoint file evaluates as its model folder");

    // Without flags: the experiment's lengths and sequences, exactly what `run` wrote.
    for model in MODELS {
        let dir = format!("out/{model}");
        let stdout = s.ok(&["eval", &dir, "--json"]);
        let value: Value = serde_json::from_str(&stdout).unwrap();
        assert_eq!(value, read_json(&s.path(&format!("{dir}/eval.json"))), "{model}");
    }

    let table = s.ok(&["eval", "out", "--lengths", "2,5", "--sequences", "3"]);
    assert!(table.starts_with("bit errors per sequence"), "{table}");
    assert!(table.contains("L=5") && table.contains("ntm") && table.contains("lstm"), "{table}");
}

#[test]
fn a_second_run_into_the_same_folder_is_refused() {
    let s = Sandbox::new();
    s.run("out", &[]);
    let before = snapshot(&s.path("out"));
    for args in [
        &["run", "tiny.toml", "--out", "out"][..],
        &["run", "tiny.toml", "--out", "out", "--set", "train.sequences=16"],
        &["train", "tiny.toml", "--model", "ntm", "--out", "out"],
    ] {
        s.fails(args, &["already holds a run", "--resume", "--overwrite"]);
        assert!(snapshot(&s.path("out")) == before, "ntm {args:?} changed files in the run folder");
    }

    s.run("out", &["--overwrite", "--set", "train.sequences=32"]);
    for model in MODELS {
        let m = metrics(&s.path(&format!("out/{model}")));
        assert_eq!(m.iter().map(|r| r.0).collect::<Vec<_>>(), [16, 32], "{model}: --overwrite starts afresh");
    }
    assert_ne!(snapshot(&s.path("out")), before);
}

#[test]
fn the_same_seed_gives_the_same_run() {
    let s = Sandbox::new();
    s.run("a", &[]);
    s.run("b", &[]);
    for model in MODELS {
        let (a, b) = (s.path(&format!("a/{model}")), s.path(&format!("b/{model}")));
        assert_eq!(metrics(&a), metrics(&b), "{model}: metrics differ");
        for file in ["checkpoint.safetensors", "optimizer.safetensors", "eval.json"] {
            assert!(bytes(&a.join(file)) == bytes(&b.join(file)), "{model}/{file} differs between two runs");
        }
    }
    // A different seed gives different weights.
    s.run("c", &["--set", "seed=4"]);
    assert!(bytes(&s.path("a/ntm/checkpoint.safetensors")) != bytes(&s.path("c/ntm/checkpoint.safetensors")));
}

#[test]
fn the_thread_count_changes_no_bit_and_a_bad_one_is_one_error_line() {
    let s = Sandbox::new();
    s.run("one", &["--threads", "1"]);
    s.run("three", &["--threads", "3"]);
    for model in MODELS {
        assert_same_training(&s.path(&format!("one/{model}")), &s.path(&format!("three/{model}")));
    }
    s.ok(&["train", "tiny.toml", "--model", "lstm", "--out", "two", "--threads", "2"]);
    assert_same_training(&s.path("one/lstm"), &s.path("two/lstm"));
    for bad in ["0", "257"] {
        s.fails(&["run", "tiny.toml", "--out", "bad", "--threads", bad], &["--threads", bad, "1 to 256"]);
    }
}

#[test]
fn several_experiments_train_in_one_pool_each_into_its_own_folder() {
    let s = Sandbox::new();
    s.variant("other.toml", "name = \"tiny\"", "name = \"other\"");
    let out = s.ok(&["run", "tiny.toml", "other.toml", "--out", "all"]);
    for (name, file) in [("tiny", "tiny.toml"), ("other", "other.toml")] {
        assert!(out.contains(&format!("{name} ({file})")), "no table headed {name}:\n{out}");
        for model in MODELS {
            let dir = s.path(&format!("all/{name}/{model}"));
            assert!(dir.join("eval.json").is_file(), "{}: no eval.json", dir.display());
        }
        assert_png(&s.path(&format!("all/{name}/plots/curves.png")));
    }
    // The same training as a run of its own.
    s.run("alone", &[]);
    for model in MODELS {
        assert_same_training(&s.path(&format!("alone/{model}")), &s.path(&format!("all/tiny/{model}")));
    }
    // Two experiments of one name would share a folder: refused before anything is written.
    s.fails(&["run", "tiny.toml", "tiny.toml", "--out", "twice"], &["tiny.toml", "twice/tiny", "own name"]);
    assert!(!s.path("twice").exists());
    // Or one inside the other's folder.
    s.variant("inner.toml", "name = \"tiny\"", "name = \"tiny/inner\"");
    s.fails(&["run", "tiny.toml", "inner.toml", "--out", "nested"], &["inner.toml", "nested/tiny/inner", "own name"]);
    assert!(!s.path("nested").exists());
}

/// Asserts that model folders `a` and `b` hold the same training: weights and optimiser state
/// byte for byte, the same counters, and the same metrics bit for bit (without their
/// wall-clock seconds).
fn assert_same_training(a: &Path, b: &Path) {
    let (ma, mb) = (metrics(a), metrics(b));
    assert_eq!(ma.len(), mb.len(), "{} and {}: different numbers of metrics lines", a.display(), b.display());
    for (x, y) in ma.iter().zip(&mb) {
        assert!(
            x == y,
            "{} and {}: metrics differ at {} sequences: loss_bits {} vs {}, bit_errors {} vs {}",
            a.display(),
            b.display(),
            x.0,
            f64::from_bits(x.1),
            f64::from_bits(y.1),
            f64::from_bits(x.2),
            f64::from_bits(y.2)
        );
    }
    for file in ["checkpoint.safetensors", "optimizer.safetensors"] {
        assert!(bytes(&a.join(file)) == bytes(&b.join(file)), "{} and {}: {file} differs", a.display(), b.display());
    }
    let (ma, mb) = (read_json(&a.join("checkpoint.json")), read_json(&b.join("checkpoint.json")));
    for key in ["sequences", "optimizer_steps", "rng", "interval", "parameters"] {
        assert_eq!(ma[key], mb[key], "{} and {}: checkpoint.json {key} differs", a.display(), b.display());
    }
}

#[test]
fn resume_continues_exactly() {
    let s = Sandbox::new();
    s.run("whole", &[]);
    s.run("halves", &["--set", "train.sequences=32"]);
    s.run("halves", &["--resume", "--set", "train.sequences=64"]);
    for model in MODELS {
        assert_same_training(&s.path(&format!("whole/{model}")), &s.path(&format!("halves/{model}")));
    }

    // Resuming a finished run trains nothing more and changes neither weights nor metrics.
    let weights = bytes(&s.path("whole/ntm/checkpoint.safetensors"));
    let before = metrics(&s.path("whole/ntm"));
    s.run("whole", &["--resume"]);
    assert!(bytes(&s.path("whole/ntm/checkpoint.safetensors")) == weights);
    assert_eq!(metrics(&s.path("whole/ntm")), before);

    // `train --resume` too.
    s.ok(&["train", "tiny.toml", "--model", "ntm", "--out", "single", "--set", "train.sequences=32"]);
    s.ok(&["train", "tiny.toml", "--model", "ntm", "--out", "single", "--resume"]);
    assert_same_training(&s.path("whole/ntm"), &s.path("single/ntm"));
}

#[test]
fn resume_from_an_older_checkpoint_drops_the_later_metrics() {
    // As after a crash between a metrics line and the next checkpoint: metrics.jsonl runs to
    // 48 sequences, the checkpoint is still the one at 32.
    let s = Sandbox::new();
    s.run("whole", &[]);
    s.run("crashed", &["--set", "train.sequences=32"]);
    let checkpoint_files = ["checkpoint.safetensors", "optimizer.safetensors", "checkpoint.json"];
    let saved: Vec<(PathBuf, Vec<u8>)> = MODELS
        .iter()
        .flat_map(|m| checkpoint_files.iter().map(move |f| format!("crashed/{m}/{f}")))
        .map(|p| (s.path(&p), bytes(&s.path(&p))))
        .collect();
    s.run("crashed", &["--resume", "--set", "train.sequences=48"]);
    assert_eq!(metrics(&s.path("crashed/ntm")).last().unwrap().0, 48);
    for (path, content) in &saved {
        std::fs::write(path, content).unwrap();
    }
    s.run("crashed", &["--resume"]);
    for model in MODELS {
        assert_same_training(&s.path(&format!("whole/{model}")), &s.path(&format!("crashed/{model}")));
    }
}

/// `train` of the LSTM alone on 6,000 sequences with a cosine learning rate, and report
/// intervals (120) that do not divide the checkpoint interval.
fn long_lstm_train(out: &str, checkpoint_every: &str) -> Vec<String> {
    let args = [
        "train",
        "tiny.toml",
        "--model",
        "lstm",
        "--out",
        out,
        "--set",
        "train.sequences=6000",
        "--set",
        "train.report_every=120",
        "--set",
        "train.lr_final=3e-4",
        "--set",
    ];
    let mut args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    args.push(format!("train.checkpoint_every={checkpoint_every}"));
    args
}

/// The `sequences` of the last complete line of `dir/metrics.jsonl`, if any.
fn last_reported(dir: &Path) -> Option<u64> {
    let text = std::fs::read_to_string(dir.join("metrics.jsonl")).ok()?;
    let complete = &text[..text.rfind('\n')?];
    let line = complete.lines().last()?;
    serde_json::from_str::<Value>(line).ok()?["sequences"].as_u64()
}

fn sidecar_sequences(dir: &Path) -> u64 {
    read_json(&dir.join("checkpoint.json"))["sequences"].as_u64().expect("sequences in checkpoint.json")
}

fn args_str(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

/// Trains `whole` in one go and `killed` killed (SIGKILL) just after the first metrics line
/// past its checkpoint at 2,000, well before the next one at 4,000, then resumed: metrics.jsonl
/// ran past the checkpoint, and the checkpoint holds a part-filled report interval
/// (2,000 = 16 x 120 + 80). The two end with the same weights and metrics, bit for bit.
#[test]
fn resume_after_a_kill_gives_bit_identical_metrics() {
    let s = Sandbox::new();
    s.ok(&args_str(&long_lstm_train("whole", "2000")));
    let killed = long_lstm_train("killed", "2000");
    let dir = s.path("killed/lstm");
    let mut child = s.spawn(&killed);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if last_reported(&dir).is_some_and(|n| n > 2000) {
            child.kill().unwrap();
            break;
        }
        assert!(child.try_wait().unwrap().is_none(), "training ended before it could be killed");
        assert!(Instant::now() < deadline, "no progress after 60 s");
        std::thread::sleep(Duration::from_micros(200));
    }
    child.wait().unwrap();
    let (at, reported) = (sidecar_sequences(&dir), last_reported(&dir).unwrap());
    println!("killed with the checkpoint at {at} and metrics up to {reported} sequences");
    assert!(at < 6000 && reported > at, "killed too late: checkpoint at {at}, metrics to {reported}");
    s.ok(&[&args_str(&killed)[..], &["--resume"]].concat());
    assert_same_training(&s.path("whole/lstm"), &dir);
}

#[test]
fn a_kill_during_a_checkpoint_save_loses_nothing() {
    use std::os::unix::fs::MetadataExt;
    // Kill the training the moment checkpoint.safetensors is replaced, before checkpoint.json
    // is: whatever a crash leaves, --resume must continue exactly or refuse.
    let s = Sandbox::new();
    s.ok(&args_str(&long_lstm_train("whole", "200")));
    let inode = |path: &Path| std::fs::metadata(path).map(|m| m.ino()).ok();
    let killed = long_lstm_train("killed", "200");
    let dir = s.path("killed/lstm");
    let (weights, sidecar) = (dir.join("checkpoint.safetensors"), dir.join("checkpoint.json"));
    for attempt in 1..=20 {
        let _ = std::fs::remove_dir_all(s.path("killed"));
        let mut child = s.spawn(&killed);
        let deadline = Instant::now() + Duration::from_secs(60);
        while inode(&sidecar).is_none() {
            assert!(child.try_wait().unwrap().is_none(), "training ended before its first checkpoint");
            assert!(Instant::now() < deadline, "no checkpoint after 60 s");
            std::thread::sleep(Duration::from_micros(200));
        }
        let (old_weights, old_sidecar) = (inode(&weights), inode(&sidecar));
        while inode(&weights) == old_weights && child.try_wait().unwrap().is_none() {}
        let _ = child.kill();
        child.wait().unwrap();
        let caught = inode(&sidecar) == old_sidecar && inode(&weights) != old_weights;
        if caught || attempt == 20 {
            let (when, at) = (if caught { "inside" } else { "outside" }, sidecar_sequences(&dir));
            println!("attempt {attempt}: killed {when} a save, checkpoint.json at {at}");
            break;
        }
    }
    let resumed = s.ntm(&[&args_str(&killed)[..], &["--resume"]].concat());
    if resumed.status.success() {
        assert_same_training(&s.path("whole/lstm"), &dir);
    } else {
        let stderr = text(&resumed.stderr);
        assert!(stderr.starts_with("error: ") && stderr.lines().count() == 1, "{stderr}");
    }
}

#[test]
fn ctrl_c_saves_a_checkpoint() {
    let s = Sandbox::new();
    let mut child = s.spawn(&[
        "train",
        "tiny.toml",
        "--model",
        "lstm",
        "--out",
        "out",
        "--set",
        "train.sequences=100000000",
        "--set",
        "train.checkpoint_every=1000000000",
        "--set",
        "train.report_every=1000000000",
    ]);
    let deadline = Instant::now() + Duration::from_secs(30);
    while !s.path("out/lstm/config.toml").exists() {
        assert!(Instant::now() < deadline, "training did not start");
        std::thread::sleep(Duration::from_millis(5));
    }
    std::thread::sleep(Duration::from_millis(300));
    let sent = Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(sent.success(), "kill -INT failed");
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("training did not stop within 30 s of SIGINT");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let meta = s.path("out/lstm/checkpoint.json");
    assert!(status.code().is_some(), "ntm died of the signal ({status}) instead of stopping");
    assert!(meta.is_file(), "no checkpoint after Ctrl-C");
    let at = read_json(&meta)["sequences"].as_u64().unwrap();
    assert!(at > 0 && at < 100_000_000, "checkpoint at {at} sequences");
}

#[test]
fn resume_with_a_different_model_size_is_refused() {
    let s = Sandbox::new();
    s.ok(&["train", "tiny.toml", "--model", "ntm", "--out", "out"]);
    let before = snapshot(&s.path("out"));
    s.fails(
        // Refused even with consent to other settings: the checkpoint has another shape.
        &[
            "train",
            "tiny.toml",
            "--model",
            "ntm",
            "--out",
            "out",
            "--resume",
            "--allow-changes",
            "--set",
            "models.ntm.memory.slots=6",
        ],
        &["checkpoint.safetensors", "shape"],
    );
    assert!(snapshot(&s.path("out")) == before, "a refused resume changed the model folder");
}

#[test]
fn a_failed_resume_leaves_experiment_toml_alone() {
    let s = Sandbox::new();
    s.run("out", &[]);
    let before = bytes(&s.path("out/experiment.toml"));
    let resume =
        ["run", "tiny.toml", "--out", "out", "--resume", "--allow-changes", "--set", "models.ntm.memory.slots=6"];
    let out = s.ntm(&resume);
    assert!(!out.status.success() && text(&out.stderr).contains("shape"), "{}", text(&out.stderr));
    assert!(bytes(&s.path("out/experiment.toml")) == before, "experiment.toml was rewritten");
}

#[test]
fn plots_are_pngs() {
    let s = Sandbox::new();
    s.run("out", &[]);
    let printed = s.ok(&["plot", "heads", "out", "--length", "3", "-o", "heads.png"]);
    assert_eq!(printed.trim(), "heads.png", "plot prints the file it wrote");
    assert_png(&s.path("heads.png"));
    let trace = read_json(&s.path("heads.json"));
    assert_eq!(trace["length"], 3);
    assert_eq!(trace["trained_sequences"], SEQUENCES);
    let heads = trace["heads"].as_array().unwrap_or_else(|| panic!("no heads in the trace: {trace}"));
    let kinds: Vec<&str> = heads.iter().map(|h| h["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["read", "write"]);
    let time_steps = trace["inputs"].as_array().unwrap().len();
    assert_eq!(time_steps, 2 * 3 + 1, "a copy episode of length 3: 3 inputs, a delimiter, 3 outputs");
    for head in heads {
        let steps = head["steps"].as_array().unwrap();
        assert_eq!(steps.len(), time_steps, "{}: one entry per time step", head["kind"]);
        for step in steps {
            let w: Vec<f64> = step["weighting"].as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect();
            assert_eq!(w.len(), SLOTS, "a weighting per memory slot");
            let sum: f64 = w.iter().sum();
            assert!((sum - 1.0).abs() < 1e-3 && w.iter().all(|&x| x >= 0.0), "weighting {w:?} is not a distribution");
        }
    }

    s.ok(&["plot", "curves", "out", "-o", "curves.png"]);
    s.ok(&["plot", "generalisation", "out", "-o", "generalisation.png"]);
    s.ok(&["plot", "outputs", "out", "--lengths", "2,4", "-o", "outputs.png"]);
    for file in ["curves.png", "generalisation.png", "outputs.png"] {
        assert_png(&s.path(file));
    }

    // Without -o: into the run folder's plots/.
    let printed = s.ok(&["plot", "curves", "out"]);
    assert_eq!(Path::new(printed.trim()), Path::new("out/plots/curves.png"));
    assert_png(&s.path("out/plots/curves.png"));
    s.ok(&["plot", "heads", "out/ntm/checkpoint.safetensors", "--length", "2"]);
    assert_png(&s.path("out/plots/heads-ntm-2.png"));
    assert!(s.path("out/plots/heads-ntm-2.json").is_file());
}

#[test]
fn plot_heads_of_an_lstm_says_it_has_no_heads() {
    let s = Sandbox::new();
    s.ok(&["train", "tiny.toml", "--model", "lstm", "--out", "out"]);
    s.fails(&["plot", "heads", "out/lstm", "-o", "h.png"], &["lstm", "no memory heads"]);
    s.fails(&["plot", "heads", "out", "-o", "h.png"], &["no memory heads"]);
    assert!(!s.path("h.png").exists());
}

#[test]
fn bad_experiments_give_one_error_line() {
    let s = Sandbox::new();
    s.write("bad.toml", "name = \"x\" [\n");
    s.variant("unknown.toml", "sequences = 64", "sequencez = 3");
    s.variant("type.toml", "batch = 4", "batch = \"x\"");
    s.variant("slots.toml", "slots = 8", "slots = 0");
    s.variant("lr0.toml", "lr = 3e-3", "lr = 0");
    s.variant("lrneg.toml", "lr = 3e-3", "lr = -1");
    s.variant("lengths.toml", "min_length = 1", "min_length = 5");
    s.variant("shifts.toml", "shifts = [-1, 0, 1]", "shifts = []");
    let cases: &[(&[&str], &[&str])] = &[
        (&["run", "missing.toml"], &["missing.toml", "cannot read"]),
        (&["run", "bad.toml"], &["bad.toml"]),
        (&["run", "unknown.toml"], &["unknown.toml", "unknown field", "sequencez"]),
        (&["run", "type.toml"], &["type.toml", "invalid type", "\"x\""]),
        (&["run", "slots.toml"], &["slots.toml", "models.ntm.memory.slots = 0"]),
        (&["run", "lr0.toml"], &["train.lr = 0"]),
        (&["run", "lrneg.toml"], &["train.lr = -1"]),
        (&["run", "lengths.toml"], &["task.min_length = 5", "task.max_length = 3"]),
        (&["run", "shifts.toml"], &["models.ntm.shifts = []"]),
        (&["train", "slots.toml", "--model", "ntm"], &["models.ntm.memory.slots = 0"]),
        (&["run", "tiny.toml", "--set", "train.nope=1"], &["--set train.nope=1", "no field train.nope"]),
        (&["run", "tiny.toml", "--set", "train.batch=abc"], &["--set train.batch=abc", "train.batch", "abc"]),
        (&["run", "tiny.toml", "--set", "train.lr=0"], &["train.lr = 0"]),
        (&["run", "tiny.toml", "--set", "train.batch"], &["--set train.batch", "key=value"]),
        // Evaluated once trained, so checked before training.
        (&["run", "tiny.toml", "--set", "eval.lengths=[]"], &["tiny.toml: eval.lengths = []", "ntm run"]),
    ];
    for (args, words) in cases {
        let args = [args, &["--out", "o"][..]].concat();
        s.fails(&args, words);
        assert!(!s.path("o").exists(), "ntm {args:?} failed but created its output folder");
    }
}

#[test]
fn bad_eval_and_plot_inputs_give_one_error_line() {
    let s = Sandbox::new();
    std::fs::create_dir(s.path("empty")).unwrap();
    s.run("out", &[]);
    let cases: &[(&[&str], &[&str])] = &[
        (&["eval", "empty"], &["empty", "no trained model"]),
        (&["eval", "nowhere"], &["nowhere"]),
        (&["eval", "tiny.toml"], &["tiny.toml", "model folder"]),
        (&["eval", "out", "--lengths", "0"], &["--lengths"]),
        (&["eval", "out", "--sequences", "0"], &["--sequences"]),
        (&["plot", "heads", "out", "--length", "0"], &["--length"]),
        (&["plot", "outputs", "out", "--lengths", "2,0"], &["--lengths"]),
        (&["plot", "curves", "empty"], &["no trained model"]),
    ];
    let before = snapshot(s.dir.path());
    for (args, words) in cases {
        s.fails(args, words);
    }
    assert!(snapshot(s.dir.path()) == before, "a failed command wrote files");

    // A model trained by `train` has no eval.json yet.
    s.ok(&["train", "tiny.toml", "--model", "ntm", "--out", "trained"]);
    s.fails(&["plot", "generalisation", "trained"], &["eval.json"]);
}

#[test]
fn eval_then_plot_generalisation_works_as_the_hint_says() {
    let s = Sandbox::new();
    s.ok(&["train", "tiny.toml", "--model", "ntm", "--out", "trained"]);
    let hint = s.fails(&["plot", "generalisation", "trained", "-o", "g.png"], &["eval.json"]);
    assert!(hint.contains("ntm eval --save"), "{hint}");
    s.ok(&["eval", "trained", "--save"]);
    s.ok(&["plot", "generalisation", "trained", "-o", "g.png"]);
    assert_png(&s.path("g.png"));
}

#[test]
fn a_checkpoint_that_does_not_fit_its_config_is_an_error() {
    let s = Sandbox::new();
    s.run("out", &[]);
    // The configuration now asks for 6 memory slots; the checkpoint has 8.
    let config = std::fs::read_to_string(s.path("out/ntm/config.toml")).unwrap();
    assert!(config.contains("slots = 8"), "{config}");
    std::fs::write(s.path("out/ntm/config.toml"), config.replace("slots = 8", "slots = 6")).unwrap();
    s.fails(&["eval", "out/ntm"], &["checkpoint.safetensors", "shape"]);
    // A truncated weights file.
    let weights = bytes(&s.path("out/lstm/checkpoint.safetensors"));
    std::fs::write(s.path("out/lstm/checkpoint.safetensors"), &weights[..weights.len() / 2]).unwrap();
    s.fails(&["eval", "out/lstm"], &["checkpoint.safetensors"]);
}

#[test]
fn io_errors_say_their_cause_once() {
    let s = Sandbox::new();
    for args in [&["run", "missing.toml"][..], &["eval", "nowhere"]] {
        let line = s.fails(args, &[]);
        assert_eq!(line.matches("os error 2").count(), 1, "{line}");
    }
}

#[test]
fn toml_errors_name_the_line_or_key() {
    let s = Sandbox::new();
    s.variant("type.toml", "batch = 4", "batch = \"x\"");
    let line = s.fails(&["run", "type.toml", "--out", "o"], &[]);
    assert!(line.contains("batch") || line.contains("line 35"), "{line}");
    s.write("bad.toml", "name = \"x\" [\n");
    let line = s.fails(&["run", "bad.toml", "--out", "o"], &[]);
    assert!(line.contains("line 1"), "{line}");
}

#[test]
fn episode_prints_one_episode_of_the_task() {
    let copy = concat!(env!("CARGO_MANIFEST_DIR"), "/experiments/copy.toml");
    let out = Command::new(env!("CARGO_BIN_EXE_ntm"))
        .args(["episode", copy, "--length", "3", "--seed", "7"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    // 8 input bits + delimiter, 8 target rows, a mask with the 3 answer steps marked.
    assert_eq!(text.lines().filter(|l| l.starts_with("in ")).count(), 9, "{text}");
    assert_eq!(text.lines().filter(|l| l.starts_with("out ")).count(), 8, "{text}");
    let mask = text.lines().find(|l| l.starts_with("mask")).unwrap();
    assert_eq!(mask.matches('#').count(), 3, "{text}");

    // The same episode as JSON: [time][channel], the mask per step, the target the inputs.
    let out = Command::new(env!("CARGO_BIN_EXE_ntm"))
        .args(["episode", copy, "--length", "3", "--seed", "7", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let episode: ntm_tasks::Episode = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((episode.length, episode.time(), episode.inputs[0].len(), episode.targets[0].len()), (3, 7, 9, 8));
    assert_eq!(episode.mask, [0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0]);
    for t in 0..3 {
        assert_eq!(episode.targets[4 + t][..], episode.inputs[t][..8]);
    }
    assert!(episode.reference.is_none() && episode.info.is_none());
}

#[test]
fn training_prints_the_parameter_count_of_the_paper_sized_models() {
    // Hand counts in tests/params.rs: NTM-LSTM 62,736; NTM-FF 13,536; LSTM 3 x 256 1,326,600.
    let s = Sandbox::new();
    let copy = concat!(env!("CARGO_MANIFEST_DIR"), "/experiments/copy.toml");
    for (model, count) in [("ntm", "62736"), ("ntm-ff", "13536"), ("lstm", "1326600")] {
        let out = s.ntm(&["train", copy, "--model", model, "--out", "paper", "--set", "train.sequences=2"]);
        let stderr = text(&out.stderr);
        assert!(out.status.success(), "{stderr}");
        let kind = model.trim_end_matches("-ff");
        assert!(stderr.contains(&format!("{model}: {kind} with {count} parameters")), "{stderr}");
    }
}

#[test]
fn eval_of_a_checkpoint_file_loads_that_file() {
    let s = Sandbox::new();
    s.ok(&["train", "tiny.toml", "--model", "ntm", "--out", "a"]);
    s.ok(&["train", "tiny.toml", "--model", "ntm", "--out", "b", "--set", "seed=4"]);
    let args = ["--lengths", "2,4", "--sequences", "8", "--json"];
    let original = s.ok(&[&["eval", "a/ntm"][..], &args].concat());
    // Keep a's weights under another name, put b's in the folder's usual place.
    std::fs::copy(s.path("a/ntm/checkpoint.safetensors"), s.path("a/ntm/kept.safetensors")).unwrap();
    std::fs::copy(s.path("b/ntm/checkpoint.safetensors"), s.path("a/ntm/checkpoint.safetensors")).unwrap();
    let swapped = s.ok(&[&["eval", "a/ntm"][..], &args].concat());
    assert_ne!(original, swapped, "other weights should evaluate differently");
    let named = s.ok(&[&["eval", "a/ntm/kept.safetensors"][..], &args].concat());
    assert_eq!(named, original);
}

/// A `--set train.<field>` that a model's own `[train.models.<name>]` hides is said in a note
/// (training goes on with the model's value); models it reaches get no note.
#[test]
fn an_override_a_model_hides_gets_a_note() {
    let s = Sandbox::new();
    s.write("own.toml", &format!("{TINY}\n[train.models.ntm]\nclip_norm = 5.0\n"));
    let out = s.ntm(&["train", "own.toml", "--model", "ntm", "--out", "o", "--set", "train.clip_norm=3"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(
            "note: --set train.clip_norm=3 does not reach model ntm, which sets its own train.models.ntm.clip_norm = 5"
        ),
        "{stderr}"
    );
    let out = s.ntm(&["train", "own.toml", "--model", "lstm", "--out", "o", "--set", "train.clip_norm=3"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(!text(&out.stderr).contains("note:"), "{}", text(&out.stderr));
}
