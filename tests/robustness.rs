//! When things go wrong, end to end through the `ntm` binary on a tiny copy experiment (4 bits,
//! lengths 1..3, an 8 x 6 memory NTM with a 16-unit controller, a 16-unit LSTM, 64 sequences in
//! batches of 4):
//! - bad input (experiment files, `--set`, checkpoints, an output folder holding a run) gives
//!   one `error:` line naming the file, the field and the value, exit status 1, no panic, and
//!   changes no file;
//! - a loss, gradient or parameter that is not finite stops training with `failure.json` and
//!   never reaches a checkpoint;
//! - Ctrl-C saves checkpoints, exits with 130 and prints the command that resumes;
//! - `--resume` continues exactly (bit for bit), also after a kill at any moment, a save cut
//!   short, or metrics written past the checkpoint.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use candle_core::{DType, Device};
use serde_json::Value;
mod sandbox;
use sandbox::{bytes, check_error_line, metrics, read_json, snapshot, text, wait_for_exit, Metric, Sandbox};

const MODELS: [&str; 2] = ["lstm", "ntm"];
const CHECKPOINT_FILES: [&str; 3] = ["checkpoint.safetensors", "optimizer.safetensors", "checkpoint.json"];

impl Sandbox {
    /// Runs `ntm args...` (training), which must fail with exit status 1: its progress lines,
    /// then one `error:` line, the last, naming each of `words`. Returns the line.
    fn training_fails(&self, args: &[&str], words: &[&str]) -> String {
        let out = self.ntm(args);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "ntm {args:?}: exit status {}; stderr:\n{stderr}", out.status);
        let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error")).collect();
        assert_eq!(errors.len(), 1, "ntm {args:?}: expected one error line:\n{stderr}");
        assert_eq!(stderr.lines().last(), Some(errors[0]), "ntm {args:?}: the error is not the last line:\n{stderr}");
        check_error_line(args, errors[0], words);
        errors[0].to_owned()
    }

    /// Starts `ntm args...` without waiting; stderr is piped, stdout discarded.
    fn spawn(&self, args: &[&str]) -> Child {
        self.command(args).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().expect("the ntm binary starts")
    }
}

fn assert_unchanged(dir: &Path, before: &BTreeMap<PathBuf, Vec<u8>>, what: &str) {
    let after = snapshot(dir);
    let changed: Vec<&PathBuf> =
        before.keys().chain(after.keys()).filter(|p| before.get(*p) != after.get(*p)).collect();
    assert!(changed.is_empty(), "{what} changed {changed:?} in {}", dir.display());
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_dir(&path, &target);
        } else {
            std::fs::copy(&path, &target).unwrap();
        }
    }
}

fn sequences_of(metrics: &[Metric]) -> Vec<u64> {
    metrics.iter().map(|m| m.0).collect()
}

/// The tensors of a safetensors file: name -> (shape, values as f32 bits).
fn tensors(path: &Path) -> BTreeMap<String, (Vec<usize>, Vec<u32>)> {
    let map = candle_core::safetensors::load(path, &Device::Cpu).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    map.into_iter()
        .map(|(name, t)| {
            let values = t.flatten_all().and_then(|t| t.to_dtype(DType::F32)).and_then(|t| t.to_vec1::<f32>()).unwrap();
            (name, (t.dims().to_vec(), values.iter().map(|x| x.to_bits()).collect()))
        })
        .collect()
}

/// Asserts that every value in the safetensors file at `path` is finite.
fn assert_finite_tensors(path: &Path) {
    for (name, (_, values)) in tensors(path) {
        assert!(values.iter().all(|&b| f32::from_bits(b).is_finite()), "{}: {name} is not finite", path.display());
    }
}

/// Asserts that model folders `a` and `b` hold the same training, exactly: every weight and
/// optimiser tensor bit for bit, the checkpoint counters and generator, and the metrics without
/// their wall-clock seconds.
fn assert_same_training(a: &Path, b: &Path) {
    let what = format!("{} and {}", a.display(), b.display());
    assert_eq!(metrics(a), metrics(b), "{what}: metrics differ");
    for file in ["checkpoint.safetensors", "optimizer.safetensors"] {
        let (ta, tb) = (tensors(&a.join(file)), tensors(&b.join(file)));
        assert_eq!(ta.keys().collect::<Vec<_>>(), tb.keys().collect::<Vec<_>>(), "{what}: {file} tensor names");
        for (name, x) in &ta {
            assert!(x == &tb[name], "{what}: {file} tensor {name} differs");
        }
    }
    let (ma, mb) = (read_json(&a.join("checkpoint.json")), read_json(&b.join("checkpoint.json")));
    for key in ["sequences", "optimizer_steps", "rng", "interval", "parameters"] {
        assert_eq!(ma[key], mb[key], "{what}: checkpoint.json {key} differs");
    }
}

/// Waits until `dir/metrics.jsonl` has a complete line, the child still training.
fn wait_for_metrics(child: &mut Child, dir: &Path) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !std::fs::read_to_string(dir.join("metrics.jsonl")).is_ok_and(|t| t.contains('\n')) {
        assert!(child.try_wait().unwrap().is_none(), "training ended before it could be interrupted");
        assert!(Instant::now() < deadline, "no metrics after 60 s");
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Sends SIGINT (Ctrl-C) to `child`.
fn interrupt(child: &Child) {
    let sent = Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(sent.success(), "kill -INT failed");
}

/// The words of the resume command in the `interrupted: ...` line of `stderr`, without `ntm`.
fn resume_command(stderr: &str) -> Vec<String> {
    let line = stderr
        .lines()
        .find(|l| l.starts_with("interrupted: "))
        .unwrap_or_else(|| panic!("no `interrupted:` line in:\n{stderr}"));
    let (_, command) = line.split_once("to continue, run: ").unwrap_or_else(|| panic!("{line:?}: no command"));
    let mut words = command.split_whitespace().map(str::to_owned);
    assert_eq!(words.next().as_deref(), Some("ntm"), "{line:?}");
    words.collect()
}

// ---------------------------------------------------------------------------------------
// Bad input

#[test]
fn bad_experiment_files_give_one_error_line() {
    let s = Sandbox::new();
    std::fs::create_dir(s.path("folder.toml")).unwrap();
    std::fs::write(s.path("binary.toml"), b"name = \"\xff\xfe\"\n").unwrap();
    s.write("syntax.toml", "name = \"x\" [\n");
    // (file, replace, with, words the message must hold)
    let cases: &[(&str, &str, &str, &[&str])] = &[
        ("top-key", "seed = 3", "seed = 3\nsed = 4", &["sed", "unknown field", "expected one of"]),
        ("train-key", "batch = 4", "batch = 4\nbatchsize = 4", &["batchsize", "unknown field", "batch"]),
        ("memory-key", "slots = 8,", "slots = 8, rows = 3,", &["rows", "unknown field", "slots"]),
        ("type", "batch = 4", "batch = \"four\"", &["batch", "invalid type", "\"four\"", "expected usize"]),
        ("type-lr", "lr = 3e-3", "lr = \"fast\"", &["lr", "\"fast\"", "expected f64"]),
        ("variant", "optimizer = \"adam\"", "optimizer = \"sgd\"", &["sgd", "adam", "rmsprop"]),
        ("slots0", "slots = 8", "slots = 0", &["models.ntm.memory.slots = 0", "at least 1"]),
        // A value of a model field that does not fit its type: toml names the model's table.
        ("slots-neg", "slots = 8", "slots = -1", &["[models.ntm]", "-1", "expected usize"]),
        ("width0", "width = 6", "width = 0", &["models.ntm.memory.width = 0", "at least 1"]),
        ("read-heads0", "read_heads = 1", "read_heads = 0", &["models.ntm.read_heads = 0", "at least 1"]),
        ("write-heads0", "write_heads = 1", "write_heads = 0", &["models.ntm.write_heads = 0", "at least 1"]),
        (
            "controller0",
            "controller_size = 16",
            "controller_size = 0",
            &["models.ntm.controller_size = 0", "at least 1"],
        ),
        (
            "controller-layers0",
            "controller_layers = 1",
            "controller_layers = 0",
            &["models.ntm.controller_layers = 0", "at least 1"],
        ),
        ("lstm-size0", "size = 16\nlayers", "size = 0\nlayers", &["models.lstm.size = 0", "at least 1"]),
        ("lstm-layers0", "layers = 1\n\n[train]", "layers = 0\n\n[train]", &["models.lstm.layers = 0", "at least 1"]),
        ("lstm-size-neg", "size = 16\nlayers", "size = -16\nlayers", &["[models.lstm]", "-16", "expected usize"]),
        ("bits0", "bits = 4", "bits = 0", &["task.bits = 0", "at least 1"]),
        ("batch0", "batch = 4", "batch = 0", &["train.batch = 0", "at least 1"]),
        ("batch-neg", "batch = 4", "batch = -4", &["batch = -4", "expected usize"]),
        ("sequences0", "sequences = 64", "sequences = 0", &["train.sequences = 0", "at least 1"]),
        ("sequences-neg", "sequences = 64", "sequences = -64", &["sequences = -64", "expected u64"]),
        ("eval-sequences0", "sequences = 4\n", "sequences = 0\n", &["eval.sequences = 0", "at least 1"]),
        ("eval-lengths0", "lengths = [2, 4]", "lengths = [2, 0]", &["eval.lengths = [2, 0]", "at least 1"]),
        ("lr0", "lr = 3e-3", "lr = 0", &["train.lr = 0", "greater than 0"]),
        ("lr-neg", "lr = 3e-3", "lr = -1e-3", &["train.lr = -0.001", "greater than 0"]),
        ("lr-nan", "lr = 3e-3", "lr = nan", &["train.lr = NaN", "finite"]),
        ("lr-inf", "lr = 3e-3", "lr = inf", &["train.lr = inf", "finite"]),
        ("lr-final-neg", "lr = 3e-3", "lr = 3e-3\nlr_final = -1", &["train.lr_final = -1", ">= 0"]),
        ("clip-neg", "lr = 3e-3", "lr = 3e-3\nclip_norm = -5", &["train.clip_norm = -5", ">= 0"]),
        ("report0", "report_every = 16", "report_every = 0", &["train.report_every = 0", "at least 1"]),
        ("checkpoint0", "checkpoint_every = 16", "checkpoint_every = 0", &["train.checkpoint_every = 0", "at least 1"]),
        ("lengths", "min_length = 1", "min_length = 5", &["task.min_length = 5", "task.max_length = 3"]),
        ("shifts", "shifts = [-1, 0, 1]", "shifts = []", &["models.ntm.shifts = []", "at least one shift"]),
        ("shifts-wide", "shifts = [-1, 0, 1]", "shifts = [-9, 0, 9]", &["models.ntm.shifts", "-9", "+-7"]),
    ];
    let mut runs: Vec<(Vec<String>, Vec<String>)> = vec![
        (vec!["missing.toml".into()], vec!["missing.toml".into(), "cannot read".into(), "No such file".into()]),
        (vec!["folder.toml".into()], vec!["folder.toml".into(), "cannot read".into(), "directory".into()]),
        (vec!["binary.toml".into()], vec!["binary.toml".into(), "cannot read".into(), "UTF-8".into()]),
        (vec!["syntax.toml".into()], vec!["syntax.toml".into(), "line 1".into()]),
    ];
    for (name, from, to, words) in cases {
        let file = format!("{name}.toml");
        s.variant(&file, from, to);
        let mut words: Vec<String> = words.iter().map(|w| w.to_string()).collect();
        words.push(file.clone());
        runs.push((vec![file], words));
    }
    for (file, words) in &runs {
        let words: Vec<&str> = words.iter().map(String::as_str).collect();
        s.fails(&["run", &file[0], "--out", "o"], &words);
        assert!(!s.path("o").exists(), "ntm run {} failed but created its output folder", file[0]);
    }
    // `train` reads and checks the same way.
    s.fails(&["train", "slots0.toml", "--model", "ntm", "--out", "o"], &["slots0.toml", "models.ntm.memory.slots = 0"]);
    s.fails(&["train", "folder.toml", "--model", "ntm", "--out", "o"], &["folder.toml", "cannot read"]);
    assert!(!s.path("o").exists());
}

#[test]
fn bad_overrides_give_one_error_line() {
    let s = Sandbox::new();
    let cases: &[(&str, &[&str])] = &[
        ("train.nope=1", &["--set train.nope=1", "no field train.nope"]),
        ("models.ntm.memory.rows=3", &["no field models.ntm.memory.rows"]),
        ("models.gru.size=3", &["no field models.gru"]),
        ("train.batch=abc", &["--set train.batch=abc", "train.batch", "integer", "\"abc\""]),
        ("train.lr=fast", &["--set train.lr=fast", "train.lr", "float", "\"fast\""]),
        ("train.batch", &["--set train.batch", "key=value"]),
        ("models.ntm.memory.slots=-3", &["models.ntm.memory.slots=-3", "-3", "expected usize"]),
        ("models.ntm.memory.slots=0", &["models.ntm.memory.slots = 0", "at least 1"]),
        ("train.lr=0", &["train.lr = 0", "greater than 0"]),
        ("train.lr=nan", &["train.lr = NaN", "finite"]),
        ("train.batch=0", &["train.batch = 0", "at least 1"]),
        ("task.min_length=9", &["task.min_length = 9", "task.max_length = 3"]),
        ("models.ntm.shifts=[]", &["models.ntm.shifts = []"]),
        ("train.curriculum.start=2", &["--set train.curriculum.start=2", "missing field `sequences`"]),
        ("train.curriculum={start=4,sequences=8}", &["train.curriculum.start = 4", "task.max_length = 3"]),
    ];
    for (assignment, words) in cases {
        s.fails(&["run", "tiny.toml", "--out", "o", "--set", assignment], words);
        s.fails(&["train", "tiny.toml", "--model", "ntm", "--out", "o", "--set", assignment], words);
        assert!(!s.path("o").exists(), "--set {assignment} failed but created the output folder");
    }
}

/// The first tensor (by name) whose shape differs between two safetensors files, with both
/// shapes.
fn first_shape_difference(a: &Path, b: &Path) -> (String, Vec<usize>, Vec<usize>) {
    let (ta, tb) = (tensors(a), tensors(b));
    ta.iter()
        .find(|(name, (shape, _))| tb.get(*name).is_some_and(|(other, _)| other != shape))
        .map(|(name, (shape, _))| (name.clone(), shape.clone(), tb[name].0.clone()))
        .expect("a tensor of another shape")
}

#[test]
fn bad_checkpoints_are_refused_and_left_alone() {
    let s = Sandbox::new();
    s.ok(&["run", "tiny.toml", "--out", "base"]);
    s.ok(&["train", "tiny.toml", "--model", "ntm", "--out", "six", "--set", "models.ntm.memory.slots=6"]);
    let (name, eight, six) =
        first_shape_difference(&s.path("base/ntm/checkpoint.safetensors"), &s.path("six/ntm/checkpoint.safetensors"));
    let shape_words = [name.clone(), format!("{six:?}"), format!("{eight:?}")];
    let (_, _, six_state) =
        first_shape_difference(&s.path("base/ntm/optimizer.safetensors"), &s.path("six/ntm/optimizer.safetensors"));
    let garbage = b"this is not a safetensors file\n".repeat(20);
    let half = |file: &str| {
        let b = bytes(&s.path(&format!("base/ntm/{file}")));
        b[..b.len() / 2].to_vec()
    };

    /// What to do to `<case>/ntm`: write these bytes into a file, or remove it.
    enum Damage {
        Write(&'static str, Vec<u8>),
        Remove(&'static str),
    }
    use Damage::*;
    // (case, damage, words of the message, does `eval` read the damaged file)
    let cases: Vec<(&str, Damage, Vec<String>, bool)> = vec![
        (
            "weights-missing",
            Remove("checkpoint.safetensors"),
            vec!["checkpoint.safetensors".into(), "no such file".into()],
            true,
        ),
        (
            "weights-empty",
            Write("checkpoint.safetensors", Vec::new()),
            vec!["checkpoint.safetensors".into(), "not a valid safetensors".into()],
            true,
        ),
        (
            "weights-truncated",
            Write("checkpoint.safetensors", half("checkpoint.safetensors")),
            vec!["checkpoint.safetensors".into(), "not a valid safetensors".into()],
            true,
        ),
        (
            "weights-garbage",
            Write("checkpoint.safetensors", garbage.clone()),
            vec!["checkpoint.safetensors".into(), "not a valid safetensors".into()],
            true,
        ),
        (
            "weights-other-shape",
            Write("checkpoint.safetensors", bytes(&s.path("six/ntm/checkpoint.safetensors"))),
            [&["checkpoint.safetensors".to_owned(), "has shape".into(), "the model expects".into()][..], &shape_words]
                .concat(),
            true,
        ),
        (
            "weights-of-another-model",
            Write("checkpoint.safetensors", bytes(&s.path("base/lstm/checkpoint.safetensors"))),
            vec!["checkpoint.safetensors".into(), "not a parameter of this model".into()],
            true,
        ),
        (
            "sidecar-garbage",
            Write("checkpoint.json", garbage.clone()),
            vec!["checkpoint.json".into(), "cannot read checkpoint".into()],
            false,
        ),
        (
            "sidecar-missing",
            Remove("checkpoint.json"),
            vec!["nothing to resume".into(), "checkpoint.json".into()],
            false,
        ),
        (
            "optimizer-missing",
            Remove("optimizer.safetensors"),
            vec!["optimizer.safetensors".into(), "no such file".into()],
            false,
        ),
        (
            "optimizer-truncated",
            Write("optimizer.safetensors", half("optimizer.safetensors")),
            vec!["optimizer.safetensors".into(), "not a valid safetensors".into()],
            false,
        ),
        (
            "optimizer-other-shape",
            Write("optimizer.safetensors", bytes(&s.path("six/ntm/optimizer.safetensors"))),
            vec!["optimizer.safetensors".into(), "has shape".into(), format!("{six_state:?}")],
            false,
        ),
    ];
    for (case, damage, words, eval_reads_it) in cases {
        copy_dir(&s.path("base"), &s.path(case));
        let dir = s.path(case).join("ntm");
        match damage {
            Write(file, content) => std::fs::write(dir.join(file), content).unwrap(),
            Remove(file) => std::fs::remove_file(dir.join(file)).unwrap(),
        }
        let words: Vec<&str> = words.iter().map(String::as_str).collect();
        let before = snapshot(&s.path(case));
        let model = format!("{case}/ntm");
        if eval_reads_it {
            s.fails(&["eval", &model], &words);
            s.fails(&["eval", case], &words);
            s.fails(&["plot", "heads", case, "--length", "2"], &words);
        }
        s.fails(&["train", "tiny.toml", "--model", "ntm", "--out", case, "--resume"], &words);
        // `run --resume` checks every model's checkpoint before it writes or trains anything.
        s.fails(&["run", "tiny.toml", "--out", case, "--resume", "--set", "train.sequences=128"], &words);
        assert_unchanged(&s.path(case), &before, case);
    }
}

#[test]
fn a_folder_holding_a_run_is_refused_unless_told() {
    let s = Sandbox::new();
    s.ok(&["run", "tiny.toml", "--out", "out"]);
    let before = snapshot(&s.path("out"));
    for args in [
        &["run", "tiny.toml", "--out", "out"][..],
        &["run", "tiny.toml", "--out", "out", "--set", "train.sequences=16"],
        &["train", "tiny.toml", "--model", "ntm", "--out", "out"],
        &["train", "tiny.toml", "--model", "lstm", "--out", "out", "--set", "seed=9"],
    ] {
        s.fails(args, &["out/", "already holds a run", "--resume", "--overwrite"]);
        assert_unchanged(&s.path("out"), &before, &format!("ntm {args:?}"));
    }
    // --resume of a finished run trains nothing: the checkpoints and metrics stay as they are.
    s.ok(&["run", "tiny.toml", "--out", "out", "--resume"]);
    s.ok(&["train", "tiny.toml", "--model", "ntm", "--out", "out", "--resume"]);
    for model in MODELS {
        for file in CHECKPOINT_FILES.iter().chain(&["metrics.jsonl", "eval.json"]) {
            let path = PathBuf::from(model).join(file);
            assert!(
                bytes(&s.path("out").join(&path)) == before[&path],
                "--resume of a finished run changed {}",
                path.display()
            );
        }
    }
    // --overwrite starts afresh.
    s.ok(&["run", "tiny.toml", "--out", "out", "--overwrite", "--set", "train.sequences=32"]);
    for model in MODELS {
        assert_eq!(sequences_of(&metrics(&s.path("out").join(model))), [16, 32], "{model}");
    }
}

// ---------------------------------------------------------------------------------------
// Numerical faults

/// Checks `dir/failure.json` against the error line and returns it.
fn check_failure(dir: &Path, line: &str, model: &str) -> Value {
    let failure = read_json(&dir.join("failure.json"));
    assert_eq!(failure["model"], model, "{failure}");
    assert_eq!(format!("error: {}", failure["message"].as_str().unwrap()), line, "failure.json message");
    assert!(failure["sequences"].is_u64(), "{failure}");
    for key in ["fault", "loss_bits", "gradient_norm", "lr", "tensor", "checkpoint"] {
        assert!(failure.get(key).is_some(), "failure.json has no {key}: {failure}");
    }
    failure
}

#[test]
fn a_diverging_model_stops_with_failure_json() {
    let s = Sandbox::new();
    let absurd = ["--set", "train.lr=1e30", "--set", "train.clip_value=0", "--set", "train.clip_norm=0"];
    let args = [&["train", "tiny.toml", "--model", "ntm", "--out", "fresh"][..], &absurd].concat();
    let line = s.training_fails(
        &args,
        &["model ntm", "diverged at sequences", "fresh/ntm/failure.json", "train.lr", "--overwrite"],
    );
    let dir = s.path("fresh/ntm");
    let failure = check_failure(&dir, &line, "ntm");
    assert!(["loss", "gradient"].contains(&failure["fault"].as_str().unwrap()), "{failure}");
    assert_eq!(failure["lr"], 1e30);
    let (loss, norm) = (&failure["loss_bits"], &failure["gradient_norm"]);
    let finite = |v: &Value| v.as_f64().is_some_and(f64::is_finite);
    assert!(!finite(loss) || !finite(norm), "failure.json: the loss {loss} and gradient norm {norm} are both finite");
    assert!(failure["tensor"].is_string(), "no parameter gradient named: {failure}");
    assert!(line.contains(failure["tensor"].as_str().unwrap()), "{line}");
    // No checkpoint before the failure: none now.
    assert_eq!(failure["checkpoint"], Value::Null);
    assert!(!dir.join("checkpoint.json").exists() && !dir.join("checkpoint.safetensors").exists());

    // From a good checkpoint at 16 sequences, resumed with the absurd rate and a checkpoint
    // after every batch: what is on disk after the failure holds finite numbers only (weights
    // the absurd rate blew up to ~1e30 are finite, and may be saved before the loss overflows).
    s.ok(&["train", "tiny.toml", "--model", "ntm", "--out", "good", "--set", "train.sequences=16"]);
    copy_dir(&s.path("good"), &s.path("again"));
    let dir = s.path("good/ntm");
    let resume = |out: &'static str, every: &'static str| {
        // Other settings than the run's: --allow-changes (recorded in changes.jsonl).
        let resume =
            ["train", "tiny.toml", "--model", "ntm", "--out", out, "--resume", "--allow-changes", "--set", every];
        [&resume[..], &absurd].concat()
    };
    let line = s.training_fails(
        &resume("good", "train.checkpoint_every=4"),
        &["model ntm", "sequences", "is kept", "--resume"],
    );
    let failure = check_failure(&dir, &line, "ntm");
    let kept = read_json(&dir.join("checkpoint.json"))["sequences"].as_u64().unwrap();
    assert_eq!(failure["checkpoint"].as_u64(), Some(kept), "failure.json names the checkpoint on disk");
    assert!(line.contains(&format!("the checkpoint at {kept} sequences is kept")), "{line}");
    assert!(kept >= 16 && kept <= failure["sequences"].as_u64().unwrap(), "{failure}");
    assert_finite_tensors(&dir.join("checkpoint.safetensors"));
    assert_finite_tensors(&dir.join("optimizer.safetensors"));
    s.ok(&["eval", "good/ntm"]);

    // Without checkpoints in between, the one kept is the good one at 16, unchanged; resumed
    // with a sane rate, it trains on, and failure.json goes.
    let dir = s.path("again/ntm");
    let saved = snapshot(&dir);
    let line =
        s.training_fails(&resume("again", "train.checkpoint_every=1000"), &["the checkpoint at 16 sequences is kept"]);
    assert_eq!(check_failure(&dir, &line, "ntm")["checkpoint"], 16);
    for file in CHECKPOINT_FILES {
        assert!(bytes(&dir.join(file)) == saved[Path::new(file)], "{file} changed");
    }
    // The failed resume recorded its settings (config.toml, changes.jsonl): going back to the
    // experiment's own is a change again.
    s.ok(&["train", "tiny.toml", "--model", "ntm", "--out", "again", "--resume", "--allow-changes"]);
    assert_eq!(read_json(&dir.join("checkpoint.json"))["sequences"], 64);
    assert!(!dir.join("failure.json").exists(), "failure.json left after a good resume");
}

#[test]
fn a_diverging_model_in_a_run_is_named_and_the_others_finish() {
    let s = Sandbox::new();
    s.variant("ntm-diverges.toml", "[eval]", "[train.models.ntm]\nlr = 1e30\nclip_value = 0\nclip_norm = 0\n\n[eval]");
    let line = s.training_fails(
        &["run", "ntm-diverges.toml", "--out", "out"],
        &["model ntm", "diverged", "out/ntm/failure.json"],
    );
    assert_eq!(line.matches("model ntm").count(), 1, "{line}");
    assert!(s.path("out/ntm/failure.json").is_file());
    assert!(s.path("out/lstm/eval.json").is_file(), "the LSTM, which trained well, was not evaluated");
    assert!(!s.path("out/lstm/failure.json").exists());
}

#[test]
fn a_checkpoint_never_holds_a_nan() {
    // One update at lr 1e300 (infinite in f32) makes every parameter infinite or NaN while the
    // loss and gradients that led to it were finite: the save that follows must refuse.
    let s = Sandbox::new();
    s.ok(&["train", "tiny.toml", "--model", "lstm", "--out", "out", "--set", "train.sequences=4"]);
    let dir = s.path("out/lstm");
    let saved = snapshot(&dir);
    let line = s.training_fails(
        &[
            "train",
            "tiny.toml",
            "--model",
            "lstm",
            "--out",
            "out",
            "--resume",
            "--allow-changes",
            "--set",
            "train.sequences=8",
            "--set",
            "train.lr=1e300",
        ],
        &[
            "model lstm",
            "is not finite after 8 sequences",
            "no checkpoint was written",
            "checkpoint at 4 sequences is kept",
        ],
    );
    let failure = check_failure(&dir, &line, "lstm");
    assert_eq!(failure["fault"], "parameters");
    assert_eq!(failure["sequences"], 8);
    assert_eq!(failure["checkpoint"], 4);
    assert!(line.contains(failure["tensor"].as_str().unwrap()), "{line}");
    for file in CHECKPOINT_FILES {
        assert!(bytes(&dir.join(file)) == saved[Path::new(file)], "{file} changed");
    }
    assert_finite_tensors(&dir.join("checkpoint.safetensors"));
}

// ---------------------------------------------------------------------------------------
// Interruption and resume

/// Arguments of an LSTM training long enough to interrupt (4,000 sequences, ~0.6 s): a report
/// every 40, a cosine learning-rate schedule.
fn long_lstm(out: &str) -> Vec<&str> {
    vec![
        "train",
        "tiny.toml",
        "--model",
        "lstm",
        "--out",
        out,
        "--set",
        "train.sequences=4000",
        "--set",
        "train.report_every=40",
        "--set",
        "train.checkpoint_every=1000",
        "--set",
        "train.lr_final=3e-4",
    ]
}

#[test]
fn ctrl_c_saves_a_checkpoint_and_resume_continues_exactly() {
    let s = Sandbox::new();
    s.ok(&long_lstm("whole"));
    let mut child = s.spawn(&long_lstm("out"));
    let dir = s.path("out/lstm");
    wait_for_metrics(&mut child, &dir);
    interrupt(&child);
    let (status, stderr) = wait_for_exit(child, Duration::from_secs(60), "ntm");
    assert_eq!(status.code(), Some(130), "exit status {status} after Ctrl-C; stderr:\n{stderr}");
    assert!(!stderr.contains("panicked") && !stderr.contains("error:"), "{stderr}");
    let at = read_json(&dir.join("checkpoint.json"))["sequences"].as_u64().unwrap();
    assert!(at > 0 && at < 4000, "checkpoint at {at} sequences");
    assert!(stderr.contains(&format!("lstm: stopped at {at} sequences")), "{stderr}");
    let resume = resume_command(&stderr);
    let expected = [&long_lstm("out")[..], &["--resume"]].concat();
    assert_eq!(resume, expected, "the printed resume command");
    assert_eq!(stderr.lines().last().map(|l| l.starts_with("interrupted: ")), Some(true), "{stderr}");

    s.ok(&resume);
    assert_same_training(&s.path("whole/lstm"), &dir);
}

#[test]
fn ctrl_c_stops_every_model_of_a_run() {
    // The NTM trains 400 sequences, the faster LSTM 4,000: Ctrl-C after the NTM's first report
    // finds both training.
    let s = Sandbox::new();
    s.variant("long.toml", "[eval]", "[train.models.lstm]\nsequences = 4000\n\n[eval]");
    let args = ["run", "long.toml", "--out", "out", "--set", "train.sequences=400", "--set", "train.report_every=40"];
    let mut child = s.spawn(&args);
    wait_for_metrics(&mut child, &s.path("out/ntm"));
    interrupt(&child);
    let (status, stderr) = wait_for_exit(child, Duration::from_secs(60), "ntm");
    assert_eq!(status.code(), Some(130), "exit status {status} after Ctrl-C; stderr:\n{stderr}");
    assert_eq!(resume_command(&stderr), [&args[..], &["--resume"]].concat(), "{stderr}");
    for (model, total) in [("lstm", 4000), ("ntm", 400)] {
        let dir = s.path("out").join(model);
        let at = read_json(&dir.join("checkpoint.json"))["sequences"].as_u64().unwrap();
        assert!(at < total, "{model}: checkpoint at {at}");
        assert!(stderr.contains(&format!("{model}: stopped at {at} sequences")), "{stderr}");
        assert!(!dir.join("eval.json").exists(), "{model}: evaluated after Ctrl-C");
    }
    assert!(!s.path("out/plots").exists(), "figures drawn after Ctrl-C");

    s.ok(&[&args[..], &["--resume"]].concat());
    for (model, total) in [("lstm", 4000), ("ntm", 400)] {
        let dir = s.path("out").join(model);
        assert_eq!(read_json(&dir.join("checkpoint.json"))["sequences"], total);
        assert_eq!(metrics(&dir).last().unwrap().0, total);
        assert!(dir.join("eval.json").is_file());
    }
    assert!(s.path("out/plots/curves.png").is_file());
}

#[test]
fn resume_continues_exactly() {
    // lr_final = 0 (constant rate): the run to 32 then 64 has the schedule of the run to 64.
    let s = Sandbox::new();
    s.ok(&["run", "tiny.toml", "--out", "whole"]);
    s.ok(&["run", "tiny.toml", "--out", "halves", "--set", "train.sequences=32"]);
    for model in MODELS {
        assert_eq!(sequences_of(&metrics(&s.path("halves").join(model))), [16, 32]);
    }
    s.ok(&["run", "tiny.toml", "--out", "halves", "--resume"]);
    for model in MODELS {
        assert_same_training(&s.path("whole").join(model), &s.path("halves").join(model));
    }
}

#[test]
fn resume_continues_a_curriculum_exactly() {
    // The longest length grows 1 -> 3 over 48 sequences: 2 at the checkpoint at 32.
    let s = Sandbox::new();
    let args = ["train", "tiny.toml", "--model", "lstm", "--set", "train.curriculum={start=1,sequences=48}", "--out"];
    s.ok(&[&args[..], &["whole"]].concat());
    s.ok(&[&args[..], &["halves", "--set", "train.sequences=32"]].concat());
    s.ok(&[&args[..], &["halves", "--resume"]].concat());
    assert_same_training(&s.path("whole/lstm"), &s.path("halves/lstm"));
    let config = std::fs::read_to_string(s.path("halves/lstm/config.toml")).unwrap();
    assert!(config.contains("[train.curriculum]\nstart = 1\nsequences = 48"), "config.toml records it:\n{config}");
}

#[test]
fn resume_can_raise_the_sequences() {
    let s = Sandbox::new();
    let args = ["train", "tiny.toml", "--model", "ntm", "--out", "out", "--set", "train.lr_final=1e-3"];
    s.ok(&args);
    s.ok(&[&args[..], &["--resume", "--set", "train.sequences=96"]].concat());
    let dir = s.path("out/ntm");
    assert_eq!(sequences_of(&metrics(&dir)), [16, 32, 48, 64, 80, 96]);
    assert_eq!(read_json(&dir.join("checkpoint.json"))["sequences"], 96);
    let config = std::fs::read_to_string(dir.join("config.toml")).unwrap();
    assert!(config.contains("sequences = 96"), "config.toml is the resumed experiment:\n{config}");
}

#[test]
fn resume_drops_metrics_written_past_the_checkpoint() {
    let s = Sandbox::new();
    s.ok(&["train", "tiny.toml", "--model", "lstm", "--out", "whole"]);
    s.ok(&["train", "tiny.toml", "--model", "lstm", "--out", "crashed", "--set", "train.sequences=32"]);
    // As after a crash: lines past the checkpoint at 32, the last one cut short.
    let path = s.path("crashed/lstm/metrics.jsonl");
    let mut text = std::fs::read_to_string(&path).unwrap();
    text += "{\"sequences\":48,\"loss_bits\":1.0,\"bit_errors\":1.0,\"seconds\":1.0}\n{\"sequences\":64,\"loss_bits\":1.0,\"bit_errors\":1.0,\"seconds\":1.0}\n{\"sequ";
    std::fs::write(&path, text).unwrap();
    s.ok(&["train", "tiny.toml", "--model", "lstm", "--out", "crashed", "--resume", "--set", "train.sequences=64"]);
    assert_same_training(&s.path("whole/lstm"), &s.path("crashed/lstm"));
}

#[test]
fn a_save_cut_short_leaves_a_whole_checkpoint() {
    let s = Sandbox::new();
    s.ok(&["train", "tiny.toml", "--model", "lstm", "--out", "whole"]);
    s.ok(&["train", "tiny.toml", "--model", "lstm", "--out", "at48", "--set", "train.sequences=48"]);
    let at48 = s.path("at48/lstm");

    // Cut short before its commit: a part-written checkpoint.tmp/ beside the checkpoint at 32.
    s.ok(&["train", "tiny.toml", "--model", "lstm", "--out", "staged", "--set", "train.sequences=32"]);
    let dir = s.path("staged/lstm");
    std::fs::create_dir(dir.join("checkpoint.tmp")).unwrap();
    std::fs::write(dir.join("checkpoint.tmp/checkpoint.safetensors"), b"half a file").unwrap();
    s.ok(&["eval", "staged/lstm/checkpoint.safetensors"]);
    s.ok(&["train", "tiny.toml", "--model", "lstm", "--out", "staged", "--resume", "--set", "train.sequences=64"]);
    assert!(!dir.join("checkpoint.tmp").exists(), "checkpoint.tmp/ left behind");
    assert_same_training(&s.path("whole/lstm"), &dir);

    // Cut short after its commit, the new weights moved into place but not the optimiser state
    // or the sidecar: the checkpoint is the new one, at 48, whole.
    s.ok(&["train", "tiny.toml", "--model", "lstm", "--out", "split", "--set", "train.sequences=32"]);
    let dir = s.path("split/lstm");
    std::fs::create_dir(dir.join("checkpoint.new")).unwrap();
    std::fs::copy(at48.join("checkpoint.safetensors"), dir.join("checkpoint.safetensors")).unwrap();
    for file in ["optimizer.safetensors", "checkpoint.json"] {
        std::fs::copy(at48.join(file), dir.join("checkpoint.new").join(file)).unwrap();
    }
    std::fs::copy(at48.join("metrics.jsonl"), dir.join("metrics.jsonl")).unwrap();
    let evaluated = |path: &str| s.ok(&["eval", path, "--json", "--lengths", "3", "--sequences", "2"]);
    assert_eq!(evaluated("split/lstm"), evaluated("at48/lstm"), "eval reads the committed checkpoint");
    s.ok(&["train", "tiny.toml", "--model", "lstm", "--out", "split", "--resume", "--set", "train.sequences=64"]);
    assert!(!dir.join("checkpoint.new").exists(), "checkpoint.new/ left behind");
    assert_same_training(&s.path("whole/lstm"), &dir);
}

#[test]
fn kills_during_a_save_leave_a_run_that_resumes_exactly() {
    // A checkpoint after every batch; SIGKILL the moment a save is writing its files
    // (checkpoint.tmp/ exists) or moving them into place (checkpoint.new/ exists), retrying
    // until the kill lands inside (the folder outlives the process).
    let s = Sandbox::new();
    let args = |out: &str| {
        [
            "train",
            "tiny.toml",
            "--model",
            "lstm",
            "--out",
            out,
            "--set",
            "train.sequences=120",
            "--set",
            "train.report_every=8",
            "--set",
            "train.checkpoint_every=4",
        ]
        .map(str::to_owned)
    };
    s.ok(&args("whole"));
    for (case, folder) in [("writing", "checkpoint.tmp"), ("moving", "checkpoint.new")] {
        let dir = s.path(case).join("lstm");
        let mut caught = false;
        for attempt in 1..=30 {
            let _ = std::fs::remove_dir_all(s.path(case));
            let mut child = s.spawn(&args(case).iter().map(String::as_str).collect::<Vec<_>>());
            wait_for_metrics(&mut child, &dir);
            while !dir.join(folder).exists() && child.try_wait().unwrap().is_none() {}
            let _ = child.kill();
            let (status, _) = wait_for_exit(child, Duration::from_secs(60), "ntm");
            caught = dir.join(folder).exists();
            if caught || attempt == 30 {
                println!(
                    "{case}: attempt {attempt}, killed {} a save ({status})",
                    if caught { "inside" } else { "outside" }
                );
                break;
            }
        }
        // The checkpoint on disk is whole: eval reads it, and resume continues exactly.
        let model = format!("{case}/lstm");
        s.ok(&["eval", &model, "--lengths", "2", "--sequences", "2"]);
        s.ok(&[&args(case)[..], &["--resume".to_owned()]].concat());
        assert!(!dir.join(folder).exists(), "{folder} left after resume");
        assert_same_training(&s.path("whole/lstm"), &dir);
        // Ten attempts catch a save nearly always; thirty misses would mean the test no longer
        // reaches the moment it is for.
        assert!(caught, "{case}: no kill landed inside a save in 30 attempts");
    }
}

#[test]
fn run_resume_starts_a_model_that_had_no_checkpoint() {
    // As after a kill before the NTM's first checkpoint: its folder holds only config.toml.
    let s = Sandbox::new();
    s.ok(&["run", "tiny.toml", "--out", "whole"]);
    s.ok(&["run", "tiny.toml", "--out", "killed", "--set", "train.sequences=32"]);
    for file in CHECKPOINT_FILES.iter().chain(&["metrics.jsonl", "eval.json"]) {
        std::fs::remove_file(s.path("killed/ntm").join(file)).unwrap();
    }
    s.ok(&["run", "tiny.toml", "--out", "killed", "--resume"]);
    for model in MODELS {
        assert_same_training(&s.path("whole").join(model), &s.path("killed").join(model));
    }
}

/// Output into a pipe whose reader has gone (`ntm episode ... | head -c 10`): the process ends
/// as Unix tools do, by SIGPIPE, without a panic message (it used to panic "failed printing to
/// stdout: Broken pipe").
#[cfg(unix)]
#[test]
fn a_closed_output_pipe_ends_quietly() {
    use std::io::Read;
    use std::os::unix::process::ExitStatusExt;
    let s = Sandbox::new();
    // About 300 KB of episode: more than a pipe holds, so printing must meet the closed pipe.
    let mut child = s
        .command(&["episode", "tiny.toml", "--length", "20000"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the ntm binary starts");
    let mut first = [0u8; 10];
    child.stdout.take().expect("piped stdout").read_exact(&mut first).expect("the episode's first bytes");
    // The read end is dropped here: the pipe is closed.
    let (status, stderr) = wait_for_exit(child, Duration::from_secs(60), "ntm episode into a closed pipe");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(status.signal(), Some(libc::SIGPIPE), "status {status:?}, stderr {stderr}");
}
