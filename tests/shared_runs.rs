//! Long, shared and scheduled runs, end to end through the `ntm` binary on the tiny copy
//! experiment: SIGTERM and SIGHUP stop training as Ctrl-C does (a checkpoint, one line, 128 +
//! the signal), a run stopped before its first checkpoint resumes from scratch, one writer per
//! folder (a second refused naming the first's process id, a dead one's lock never in the
//! way), a resume with other settings refused unless allowed and then recorded, files that
//! respect the umask, and a sweep written as a SLURM job array whose task, run as SLURM runs
//! it, is requeue-safe. Then what a user sees when output is huge or cannot be written, when
//! an input is no file or an option no number, and on every run: every check before the first
//! step, the final table's loss, a note where the curves would be a point, the episode's
//! legend, an outputs figure without white space.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
mod sandbox;
use sandbox::{bytes, metrics, read_json, snapshot, text, wait_for_exit, Sandbox};

impl Sandbox {
    /// Starts `ntm args...` without waiting; stderr is piped, stdout discarded.
    fn spawn(&self, args: &[&str]) -> Child {
        self.command(args).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().expect("the ntm binary starts")
    }
}

/// Arguments of an LSTM training long enough to stop midway (`sequences`, a report every 40).
fn long_lstm(out: &str, sequences: &'static str) -> Vec<String> {
    ["train", "tiny.toml", "--model", "lstm", "--out", out, "--set", sequences, "--set", "train.report_every=40"]
        .map(str::to_owned)
        .to_vec()
}

fn strs(words: &[String]) -> Vec<&str> {
    words.iter().map(String::as_str).collect()
}

/// Waits until `dir/metrics.jsonl` has a complete line, the child still training.
fn wait_for_metrics(child: &mut Child, dir: &Path) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !std::fs::read_to_string(dir.join("metrics.jsonl")).is_ok_and(|t| t.contains('\n')) {
        assert!(child.try_wait().unwrap().is_none(), "training ended before it could be stopped");
        assert!(Instant::now() < deadline, "no metrics after 60 s");
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Sends `signal` (e.g. `TERM`) to process `pid`.
fn kill(signal: &str, pid: u32) {
    let sent = Command::new("kill").args([&format!("-{signal}"), &pid.to_string()]).status().unwrap();
    assert!(sent.success(), "kill -{signal} {pid} failed");
}

/// The `(sequences, loss, bit errors)` of two model folders' metrics, and their weights, are
/// the same bit for bit.
fn assert_same_training(a: &Path, b: &Path) {
    assert_eq!(metrics(a), metrics(b), "{} and {}: metrics differ", a.display(), b.display());
    let weights = |d: &Path| bytes(&d.join("checkpoint.safetensors"));
    assert!(weights(a) == weights(b), "{} and {}: weights differ", a.display(), b.display());
}

// ---------------------------------------------------------------------------------------
// Signals

#[test]
fn sigterm_and_sighup_save_a_checkpoint_and_exit_as_their_signal() {
    let s = Sandbox::new();
    s.ok(&strs(&long_lstm("whole", "train.sequences=2000")));
    for (signal, code) in [("TERM", 143), ("HUP", 129)] {
        let out = format!("stopped-{signal}");
        let args = long_lstm(&out, "train.sequences=2000");
        let mut child = s.spawn(&strs(&args));
        let dir = s.path(&out).join("lstm");
        wait_for_metrics(&mut child, &dir);
        // A batch scheduler signals every process of a job, and the job's script passes the
        // signal on: a second SIGTERM must not cut the checkpoint short.
        kill(signal, child.id());
        kill(signal, child.id());
        let (status, stderr) = wait_for_exit(child, Duration::from_secs(60), "ntm train");
        assert_eq!(status.code(), Some(code), "SIG{signal}: exit status {status}; stderr:\n{stderr}");
        assert!(!stderr.contains("panicked") && !stderr.contains("error:"), "{stderr}");
        let at = read_json(&dir.join("checkpoint.json"))["sequences"].as_u64().unwrap();
        assert!(at > 0 && at < 2000, "SIG{signal}: checkpoint at {at}");
        assert!(stderr.contains(&format!("SIG{signal}: stopping after this batch to save a checkpoint")), "{stderr}");
        assert!(stderr.contains(&format!("lstm: stopped at {at} sequences")), "{stderr}");
        let last = stderr.lines().last().unwrap();
        let expected =
            format!("stopped by SIG{signal}: checkpoints saved; to continue, run: ntm {} --resume", args.join(" "));
        assert_eq!(last, expected, "{stderr}");
        s.ok(&[&strs(&args)[..], &["--resume"]].concat());
        assert_same_training(&s.path("whole/lstm"), &dir);
    }
}

#[test]
fn a_run_stopped_before_its_first_checkpoint_resumes_from_scratch() {
    let s = Sandbox::new();
    let args = ["train", "tiny.toml", "--model", "ntm", "--out"];
    s.ok(&[&args[..], &["whole"]].concat());
    // Killed before its first checkpoint: config.toml and a line of metrics, no checkpoint.
    s.ok(&[&args[..], &["killed"]].concat());
    for file in ["checkpoint.safetensors", "optimizer.safetensors", "checkpoint.json"] {
        std::fs::remove_file(s.path("killed/ntm").join(file)).unwrap();
    }
    let out = s.ntm(&[&args[..], &["killed", "--resume"]].concat());
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("killed/ntm: no checkpoint yet; training from scratch"),
        "{}",
        text(&out.stderr)
    );
    assert_same_training(&s.path("whole/ntm"), &s.path("killed/ntm"));
    // A first start with --resume (what a requeued batch job runs every time) trains too.
    s.ok(&[&args[..], &["fresh", "--resume"]].concat());
    assert_same_training(&s.path("whole/ntm"), &s.path("fresh/ntm"));
}

#[test]
fn a_sweep_passes_sigterm_to_its_jobs_and_exits_143() {
    let s = Sandbox::new();
    let args = [
        "sweep",
        "tiny.toml",
        "--seeds",
        "1-2",
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
    let mut child = s.spawn(&args);
    let deadline = Instant::now() + Duration::from_secs(60);
    while !(s.path("sw/seed-1/lstm/metrics.jsonl").is_file() && s.path("sw/seed-2/lstm/metrics.jsonl").is_file()) {
        assert!(child.try_wait().unwrap().is_none(), "the sweep ended before it could be stopped");
        assert!(Instant::now() < deadline, "no progress after 60 s");
        std::thread::sleep(Duration::from_millis(5));
    }
    kill("TERM", child.id());
    let (status, stderr) = wait_for_exit(child, Duration::from_secs(60), "the sweep (after SIGTERM)");
    assert_eq!(status.code(), Some(143), "{stderr}");
    assert!(stderr
        .lines()
        .last()
        .unwrap()
        .starts_with("stopped by SIGTERM: checkpoints saved; to continue, run: ntm sweep"));
    for seed in [1, 2] {
        let at = read_json(&s.path(&format!("sw/seed-{seed}/lstm/checkpoint.json")))["sequences"].as_u64().unwrap();
        assert!(at > 0 && at < 20000, "seed {seed}: checkpoint at {at}");
        let log = std::fs::read_to_string(s.path(&format!("sw/seed-{seed}/lstm.log"))).unwrap();
        assert!(log.contains("stopped by SIGTERM"), "seed {seed}'s job did not stop on SIGTERM:\n{log}");
    }
}

// ---------------------------------------------------------------------------------------
// One writer per folder

#[test]
fn a_second_writer_is_refused_and_a_dead_ones_lock_is_not_in_the_way() {
    let s = Sandbox::new();
    let args = long_lstm("out", "train.sequences=4000000");
    let mut child = s.spawn(&strs(&args));
    let dir = s.path("out/lstm");
    wait_for_metrics(&mut child, &dir);
    let holder = format!("(pid {} on ", child.id());
    let before = metrics(&dir).len();
    for second in [
        [&strs(&args)[..], &["--resume"]].concat(),
        [&strs(&args)[..], &["--overwrite"]].concat(),
        vec![
            "run",
            "tiny.toml",
            "--out",
            "out",
            "--resume",
            "--set",
            "train.sequences=4000000",
            "--set",
            "train.report_every=40",
        ],
        vec!["eval", "out/lstm", "--save", "--lengths", "2", "--sequences", "2"],
    ] {
        s.fails(&second, &["out/lstm: in use by ntm", &holder, "wait for it to end", &format!("kill {}", child.id())]);
    }
    assert!(child.try_wait().unwrap().is_none(), "the first writer was disturbed");
    assert!(metrics(&dir).len() >= before, "the first writer's metrics were cut");
    // Killed at once, as a lost node or `kill -9`: its lock goes with it.
    child.kill().unwrap();
    child.wait().unwrap();
    let stopped = [&strs(&args)[..], &["--resume", "--set", "train.sequences=200"]].concat();
    let out = s.ntm(&stopped);
    assert!(out.status.success(), "after the holder died: {}", text(&out.stderr));
    // Rows of metrics.jsonl are each written once.
    let sequences: Vec<u64> = metrics(&dir).iter().map(|m| m.0).collect();
    let mut unique = sequences.clone();
    unique.dedup();
    assert_eq!(sequences, unique, "duplicated metrics rows");
}

#[test]
fn a_sweep_folder_in_use_is_refused_naming_the_holder() {
    let s = Sandbox::new();
    let held = ntm::records::lock::FolderLock::acquire(&s.path("sw"), "a test").unwrap();
    let before = snapshot(&s.path("sw"));
    let holder = format!("in use by a test (pid {} on ", std::process::id());
    s.fails(&["sweep", "tiny.toml", "--seeds", "1", "--out", "sw"], &["sw: ", &holder]);
    s.fails(&["summarize", "sw"], &["sw: ", &holder]);
    assert_eq!(snapshot(&s.path("sw")), before, "a refused sweep changed its folder");
    drop(held);
}

// ---------------------------------------------------------------------------------------
// Changed settings

#[test]
fn a_resume_with_other_settings_is_refused_unless_allowed_and_then_recorded() {
    let s = Sandbox::new();
    let args = ["train", "tiny.toml", "--model", "ntm", "--out", "out"];
    s.ok(&[&args[..], &["--set", "train.sequences=32"]].concat());
    let before = snapshot(&s.path("out"));
    let changed = [&args[..], &["--resume", "--set", "train.lr=1e-2", "--set", "train.batch=8"]].concat();
    s.fails(
        &changed,
        &[
            "out/ntm: --resume with settings that differ",
            "train.batch = 4 -> 8",
            "train.lr = 0.003 -> 0.01",
            "--allow-changes",
        ],
    );
    assert_eq!(snapshot(&s.path("out")), before, "a refused resume changed the folder");
    // Raising train.sequences needs no consent (and is recorded like any change).
    let out = s.ntm(&[&changed[..], &["--allow-changes", "--set", "train.sequences=64"]].concat());
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("note: model ntm: resuming with changed settings: train.batch = 4 -> 8"), "{stderr}");
    let history = std::fs::read_to_string(s.path("out/ntm/changes.jsonl")).unwrap();
    let lines: Vec<Value> = history.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 1, "{history}");
    assert_eq!(lines[0]["sequences"], 32);
    let fields: Vec<(&str, f64, f64)> = lines[0]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["field"].as_str().unwrap(), c["old"].as_f64().unwrap(), c["new"].as_f64().unwrap()))
        .collect();
    assert_eq!(fields, [("train.batch", 4.0, 8.0), ("train.lr", 0.003, 0.01), ("train.sequences", 32.0, 64.0)]);
    // The commands that read the folder say so.
    let eval = s.ntm(&["eval", "out/ntm", "--lengths", "2", "--sequences", "2"]);
    let stderr = text(&eval.stderr);
    assert!(eval.status.success(), "{stderr}");
    assert!(
        stderr.contains("note: model ntm: trained with changed settings: at 32 sequences: train.batch = 4 -> 8"),
        "{stderr}"
    );
    // Resuming again with the settings now recorded changes nothing more.
    s.ok(&[
        &args[..],
        &["--resume", "--set", "train.lr=1e-2", "--set", "train.batch=8", "--set", "train.sequences=64"],
    ]
    .concat());
    assert_eq!(std::fs::read_to_string(s.path("out/ntm/changes.jsonl")).unwrap(), history);
}

// ---------------------------------------------------------------------------------------
// Sharing

/// The modes of every file and folder under `dir`, as `(path, mode)`.
fn modes(dir: &Path) -> Vec<(String, u32)> {
    let mut found = Vec::new();
    for (path, _) in snapshot(dir) {
        let mode = std::fs::metadata(dir.join(&path)).unwrap().permissions().mode() & 0o777;
        found.push((path.display().to_string(), mode));
    }
    found
}

#[test]
fn every_file_respects_the_umask() {
    let s = Sandbox::new();
    for (umask, file, folder) in [("002", 0o664, 0o775), ("077", 0o600, 0o700)] {
        let out = format!("u{umask}");
        let line = format!("umask {umask}; exec \"$0\" run tiny.toml --out {out} --set train.sequences=32");
        let status = Command::new("sh")
            .args(["-c", &line, env!("CARGO_BIN_EXE_ntm")])
            .current_dir(s.dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success());
        let found = modes(&s.path(&out));
        assert!(found.iter().any(|(p, _)| p.ends_with("checkpoint.safetensors")));
        for (path, mode) in found {
            let expected = if s.path(&out).join(&path).is_dir() { folder } else { file };
            assert_eq!(mode, expected, "umask {umask}: {path} has mode {mode:o}, not {expected:o}");
        }
    }
}

// ---------------------------------------------------------------------------------------
// A sweep as a SLURM job array

/// Runs task `task` of the array script `script` as SLURM would (outside a SLURM job: no
/// relay step), `ntm` being this build's.
fn run_task(s: &Sandbox, script: &Path, task: usize) -> Child {
    Command::new("bash")
        .arg(script)
        .current_dir(s.dir.path())
        .env("SLURM_ARRAY_TASK_ID", task.to_string())
        .env("NTM", env!("CARGO_BIN_EXE_ntm"))
        .env_remove("SLURM_JOB_ID")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
fn a_sweep_as_a_slurm_array_gives_the_local_sweeps_summary_and_survives_a_preemption() {
    let s = Sandbox::new();
    let set =
        ["--set", "train.sequences=20000", "--set", "train.report_every=200", "--set", "train.checkpoint_every=5000"];
    let sweep = [&["sweep", "tiny.toml", "--seeds", "1-2", "--models", "lstm"][..], &set].concat();
    s.ok(&[&sweep[..], &["--out", "local"]].concat());
    let stdout = s.ok(&[&sweep[..], &["--out", "array", "--slurm"]].concat());
    assert_eq!(
        stdout.lines().collect::<Vec<_>>(),
        [
            "wrote array/slurm.sbatch: a SLURM array of 2 tasks (one per seed and model)",
            "submit it with: sbatch array/slurm.sbatch",
            "then, once every task has finished: ntm summarize array",
        ]
    );
    let script = s.path("array/slurm.sbatch");
    assert!(Command::new("bash").args(["-n"]).arg(&script).status().unwrap().success(), "not a valid bash script");
    let text_of = std::fs::read_to_string(&script).unwrap();
    assert!(text_of.contains("#SBATCH --array=1-2\n") && text_of.contains("#SBATCH --requeue\n"), "{text_of}");

    // Task 1 preempted: SIGTERM reaches the script (`scancel --signal=TERM --batch`), which
    // passes it on; ntm saves a checkpoint and the task ends with 143. Requeued, it resumes.
    let mut first = run_task(&s, &script, 1);
    let dir = s.path("array/seed-1/lstm");
    wait_for_metrics(&mut first, &dir);
    kill("TERM", first.id());
    let status = first.wait().unwrap();
    assert_eq!(status.code(), Some(143), "the task's exit status after SIGTERM");
    let at = read_json(&dir.join("checkpoint.json"))["sequences"].as_u64().unwrap();
    assert!(at < 20000, "checkpoint at {at}");
    assert!(!dir.join("eval.json").exists(), "evaluated after a preemption");
    for task in [1, 2] {
        let out = run_task(&s, &script, task).wait_with_output().unwrap();
        assert!(out.status.success(), "task {task}: {}", text(&out.stderr));
    }
    let log = std::fs::read_to_string(s.path("array/seed-1/lstm.log")).unwrap();
    assert!(log.contains("stopped by SIGTERM") && log.contains(&format!("training from {at} to 20000")), "{log}");
    for seed in [1, 2] {
        let dir = format!("seed-{seed}/lstm");
        assert_same_training(&s.path("local").join(&dir), &s.path("array").join(&dir));
        assert!(s.path("array").join(&dir).join("eval.json").is_file());
    }
    s.ok(&["summarize", "array"]);
    assert!(
        bytes(&s.path("local/summary.json")) == bytes(&s.path("array/summary.json")),
        "the array's summary differs from the local sweep's"
    );
}

// ---------------------------------------------------------------------------------------
// Huge outputs, write errors, bad inputs

#[test]
fn a_huge_trace_is_refused_before_any_work_with_the_way_on() {
    let s = Sandbox::new();
    s.ok(&["train", "tiny.toml", "--model", "ntm", "--out", "out"]);
    let before = snapshot(&s.path("out"));
    let line = s.fails(
        &["plot", "heads", "out/ntm", "--length", "100000"],
        &[
            "model ntm: its trace (out/plots/heads-ntm-100000.json) would take about",
            "MiB",
            "--no-trace",
            "--trace-limit",
        ],
    );
    assert!(line.contains("more than the limit of 256 MiB"), "{line}");
    assert_eq!(snapshot(&s.path("out")), before, "a refused plot wrote something");
    // The figure alone, and the estimate near the size written.
    s.ok(&["plot", "heads", "out/ntm", "--length", "3", "--no-trace", "-o", "alone.png"]);
    assert!(s.path("alone.png").is_file() && !s.path("alone.json").exists());
    s.ok(&["plot", "heads", "out/ntm", "--length", "200", "-o", "traced.png"]);
    let written = std::fs::metadata(s.path("traced.json")).unwrap().len() as f64;
    let experiment = ntm::Experiment::load(&s.path("out/ntm/config.toml"), &[]).unwrap();
    let ntm::ModelConfig::Ntm(config) = &experiment.models["ntm"] else { panic!("an NTM") };
    let estimate = ntm::plot::episodes::trace_json_bytes(config, (5, 4), 401.0);
    assert!((0.6..1.6).contains(&(estimate / written)), "estimated {estimate} bytes, written {written}");
}

#[test]
fn a_failed_write_is_one_line_and_a_non_zero_exit() {
    let s = Sandbox::new();
    s.ok(&["train", "tiny.toml", "--model", "ntm", "--out", "out"]);
    let full = std::fs::OpenOptions::new().write(true).open("/dev/full").unwrap();
    for args in [
        &["eval", "out/ntm", "--json", "--lengths", "2", "--sequences", "2"][..],
        &["episode", "tiny.toml"],
        &["sweep", "tiny.toml", "--seeds", "1-2", "--print-commands"],
    ] {
        let out = s.command(args).stdout(full.try_clone().unwrap()).stderr(Stdio::piped()).output().unwrap();
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "ntm {args:?} into /dev/full: {}; {stderr}", out.status);
        assert_eq!(
            stderr.lines().collect::<Vec<_>>(),
            ["error: cannot write to standard output: No space left on device (os error 28)"]
        );
    }
    s.fails(&["plot", "curves", "out", "-o", "/dev/full"], &["/dev/full"]);
}

#[test]
fn an_input_that_is_no_file_and_a_negative_number_are_one_line() {
    let s = Sandbox::new();
    let fifo = std::ffi::CString::new(s.path("fifo.toml").to_str().unwrap()).unwrap();
    // SAFETY: mkfifo reads the path it is given.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) }, 0);
    let child = s
        .command(&["train", "fifo.toml", "--model", "ntm"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (status, stderr) = wait_for_exit(child, Duration::from_secs(30), "ntm train of a FIFO");
    assert_eq!(
        (status.code(), stderr.trim()),
        (Some(1), "error: fifo.toml: cannot read: a FIFO (named pipe), not a file")
    );
    s.fails(&["run", "."], &["cannot read: a directory, not a file"]);
    s.ok(&["train", "tiny.toml", "--model", "ntm", "--out", "out"]);
    s.fails(&["eval", "out", "--lengths", "-5"], &["'-5'", "--lengths"]);
    s.fails(&["plot", "heads", "out", "--length", "-5"], &["'-5'", "--length"]);
    s.fails(&["sweep", "tiny.toml", "--seeds", "1", "--jobs", "-1"], &["'-1'", "--jobs"]);
    s.fails(&["train", "tiny.toml"], &["--model"]);
}

// ---------------------------------------------------------------------------------------
// Checked before the first step

#[test]
fn run_checks_evaluation_and_figures_before_training() {
    let s = Sandbox::new();
    // An outputs figure of 20,000 steps a row would be wider than any figure may be.
    for (set, words) in [
        ("eval.lengths=[]", &["tiny.toml: eval.lengths = []", "`ntm run` evaluates every model once trained"][..]),
        ("eval.lengths=[20000]", &["the figures could not be drawn once trained", "outputs.png", "pixels"][..]),
    ] {
        s.fails(&["run", "tiny.toml", "--out", "o", "--set", set], words);
        assert!(!s.path("o").exists(), "--set {set}: refused after writing");
    }
    s.fails(
        &["sweep", "tiny.toml", "--seeds", "1", "--out", "sw", "--set", "eval.lengths=[]"],
        &["`ntm sweep` evaluates"],
    );
    assert!(!s.path("sw").exists());
}

// ---------------------------------------------------------------------------------------
// What a researcher sees on every run

#[test]
fn the_final_table_has_the_loss_too_and_a_short_run_is_told_about_its_curves() {
    let s = Sandbox::new();
    let out = s.ntm(&["run", "tiny.toml", "--out", "out", "--set", "train.sequences=16"]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    let loss = lines.iter().position(|l| *l == "loss in bits per sequence").unwrap_or_else(|| panic!("{stdout}"));
    assert_eq!(lines[0], "bit errors per sequence");
    for model in ["lstm", "ntm"] {
        let report = read_json(&s.path(&format!("out/{model}/eval.json")));
        let expected: Vec<String> = report["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| format!("{:.3}", r["loss_bits"].as_f64().unwrap()))
            .collect();
        let row = lines[loss + 2..].iter().find(|l| l.starts_with(model)).unwrap();
        assert_eq!(row.split_whitespace().skip(1).collect::<Vec<_>>(), expected, "{stdout}");
    }
    assert!(
        stderr.contains("note: model ntm: train.report_every = 16 makes 1 report in 16 sequences, so its learning curves are a single point; --set train.report_every=4 draws them"),
        "{stderr}"
    );
}

#[test]
fn an_episode_has_a_legend_of_its_channels_and_cells() {
    let s = Sandbox::new();
    let stdout = s.ok(&["episode", "tiny.toml", "--length", "2"]);
    for line in [
        "legend:",
        "  in  0-3  the bits of each vector of the sequence",
        "  in  4    the delimiter: the sequence has ended",
        "  out 0-3  the sequence, to write back",
        "  mask     1 on the steps whose targets are scored",
    ] {
        assert!(stdout.lines().any(|l| l == line), "no line {line:?} in:\n{stdout}");
    }
    assert!(stdout.lines().last().unwrap().starts_with("  cells: . 0, # 1"), "{stdout}");
}

#[test]
fn the_outputs_figure_is_mostly_ink() {
    use ntm::records::report::OutputSample;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("outputs.png");
    // Copy's test lengths for three models, 8 bits a step, half of them set.
    let answer =
        |length: usize| (0..length).map(|t| (0..8).map(|c| ((t + c) % 2) as f32).collect()).collect::<Vec<Vec<f32>>>();
    let mut samples = Vec::new();
    for model in ["lstm", "ntm", "ntm-ff"] {
        for length in [10, 20, 30, 50, 120] {
            samples.push(OutputSample {
                model: model.into(),
                length,
                repeats: None,
                target: answer(length),
                output: answer(length),
            });
        }
    }
    ntm::plot::plot_outputs(&samples, "copy: target and output", &path).unwrap();
    let file = std::fs::File::open(&path).unwrap();
    let mut reader = png::Decoder::new(file).read_info().unwrap();
    let mut buffer = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buffer).unwrap();
    let channels = info.color_type.samples();
    let pixels = buffer[..info.buffer_size()].chunks(channels);
    let (ink, all) =
        pixels.fold((0usize, 0usize), |(ink, all), p| (ink + usize::from(p[..3] != [255, 255, 255]), all + 1));
    let share = ink as f64 / all as f64;
    assert!(share > 0.3, "{:.0}% of the {} x {} figure is ink", share * 100.0, info.width, info.height);
}
