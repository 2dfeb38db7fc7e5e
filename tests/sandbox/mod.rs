//! The temporary working directory that the binary-driving tests (cli.rs, robustness.rs) run
//! the `ntm` binary in, with the tiny experiment written into it. Each test file adds the
//! ways of running and checking that it needs in its own `impl Sandbox`.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output};
use std::time::{Duration, Instant};

use serde_json::Value;
use tempfile::TempDir;

/// The tiny copy experiment (4 bits, lengths 1..3, an 8 x 6 memory NTM with a 16-unit
/// controller, a 16-unit LSTM, 64 sequences in batches of 4; report and checkpoint every 16).
/// `lr_final` is unset (0): a constant learning rate, so that a run to 32 sequences resumed to
/// 64 follows the same schedule as a run to 64 in one go.
pub const TINY: &str = include_str!("../data/tiny.toml");

/// A temporary working directory holding `tiny.toml`; the binary runs inside it.
pub struct Sandbox {
    pub dir: TempDir,
}

impl Sandbox {
    pub fn new() -> Self {
        let sandbox = Sandbox { dir: tempfile::tempdir().expect("a temporary directory") };
        sandbox.write("tiny.toml", TINY);
        sandbox
    }

    pub fn path(&self, relative: &str) -> PathBuf {
        self.dir.path().join(relative)
    }

    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, text).expect("write a file");
        path
    }

    /// `tiny.toml` with the first `from` replaced by `to`, written as `name`.
    pub fn variant(&self, name: &str, from: &str, to: &str) {
        assert!(TINY.contains(from), "{from:?} is not in the tiny experiment");
        self.write(name, &TINY.replacen(from, to, 1));
    }

    /// `ntm args...`, to run in the sandbox, single-threaded.
    pub fn command<S: AsRef<std::ffi::OsStr>>(&self, args: &[S]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_ntm"));
        command.args(args).current_dir(self.dir.path()).env("RAYON_NUM_THREADS", "1");
        command
    }

    /// Runs `ntm args...` in the sandbox and waits for it.
    pub fn ntm<S: AsRef<std::ffi::OsStr>>(&self, args: &[S]) -> Output {
        self.command(args).output().expect("the ntm binary starts")
    }

    /// Runs `ntm args...`, which must succeed; returns its stdout.
    pub fn ok<S: AsRef<std::ffi::OsStr> + std::fmt::Debug>(&self, args: &[S]) -> String {
        let out = self.ntm(args);
        assert!(out.status.success(), "ntm {args:?} failed ({}):\n{}", out.status, text(&out.stderr));
        text(&out.stdout)
    }

    /// Runs `ntm args...`, which must fail with exit status 1 and exactly one line on stderr,
    /// `error: ...`, naming each of `words`. Returns the line.
    pub fn fails(&self, args: &[&str], words: &[&str]) -> String {
        let out = self.ntm(args);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "ntm {args:?}: exit status {}; stderr:\n{stderr}", out.status);
        let lines: Vec<&str> = stderr.lines().collect();
        assert_eq!(lines.len(), 1, "ntm {args:?}: expected one line on stderr, got:\n{stderr}");
        check_error_line(args, lines[0], words);
        lines[0].to_owned()
    }
}

/// Checks that `line`, the error `ntm args...` printed, is one `error: ...` line naming each of
/// `words`, and no panic.
pub fn check_error_line(args: &[&str], line: &str, words: &[&str]) {
    assert!(!line.contains("panicked"), "ntm {args:?} panicked: {line}");
    assert!(line.starts_with("error: "), "ntm {args:?}: {line:?} does not start with `error: `");
    for word in words {
        assert!(line.contains(word), "ntm {args:?}: {line:?} does not mention {word:?}");
    }
}

/// Output bytes of a command as text.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The JSON file at `path`; panics naming the file if it is missing or not JSON.
pub fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: not JSON: {e}\n{text}", path.display()))
}

/// The bytes of the file at `path`; panics naming the file if it cannot be read.
pub fn bytes(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Width and height of the PNG at `path`, after decoding all of it.
pub fn png_size(path: &Path) -> (u32, u32) {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut reader = png::Decoder::new(file).read_info().unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut buffer = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buffer).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    (info.width, info.height)
}

/// Panics unless `path` is a whole PNG of at least one pixel.
pub fn assert_png(path: &Path) {
    let (width, height) = png_size(path);
    assert!(width > 0 && height > 0, "{}: {width} x {height}", path.display());
}

/// Waits at most `limit` for `child` (its stderr piped) to exit; returns its exit status and
/// stderr. Past the limit it kills the child and panics with `what` ("... did not stop").
pub fn wait_for_exit(mut child: Child, limit: Duration, what: &str) -> (ExitStatus, String) {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut stderr = String::new();
            std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut stderr).unwrap();
            return (status, stderr);
        }
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("{what} did not stop within {} s", limit.as_secs());
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The (length, slots) of each result of the report `ntm eval --json --slots ...` printed.
pub fn lengths_and_slots(report: &str) -> Vec<(u64, u64)> {
    let report: Value = serde_json::from_str(report).unwrap_or_else(|e| panic!("{e}: {report}"));
    report["results"]
        .as_array()
        .unwrap_or_else(|| panic!("no results in {report}"))
        .iter()
        .map(|r| (r["length"].as_u64().unwrap(), r["slots"].as_u64().unwrap()))
        .collect()
}

/// One line of metrics.jsonl without its wall-clock `seconds`: (sequences, loss_bits,
/// bit_errors), floats as bits so that equality is exact.
pub type Metric = (u64, u64, u64);

/// Reads `dir/metrics.jsonl`, checking that every line is exactly
/// `{sequences, loss_bits, bit_errors, seconds, skipped}` with finite, non-negative numbers.
pub fn metrics(dir: &Path) -> Vec<Metric> {
    let path = dir.join("metrics.jsonl");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .map(|line| {
            let value: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{line:?}: {e}"));
            let object = value.as_object().unwrap_or_else(|| panic!("{line:?} is not an object"));
            let keys: Vec<&str> = object.keys().map(String::as_str).collect();
            let mut sorted = keys.clone();
            sorted.sort_unstable();
            assert_eq!(sorted, ["bit_errors", "loss_bits", "seconds", "sequences", "skipped"], "{line:?}");
            object["skipped"].as_u64().unwrap_or_else(|| panic!("{line:?}: skipped is not a count"));
            let number = |key: &str| {
                let x = object[key].as_f64().unwrap_or_else(|| panic!("{line:?}: {key} is not a number"));
                assert!(x.is_finite() && x >= 0.0, "{line:?}: {key} = {x}");
                x
            };
            number("seconds");
            let sequences = object["sequences"].as_u64().unwrap_or_else(|| panic!("{line:?}: sequences"));
            (sequences, number("loss_bits").to_bits(), number("bit_errors").to_bits())
        })
        .collect()
}

/// Every file under `dir` with its bytes (folders as empty entries).
pub fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(d) = pending.pop() {
        for entry in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display())) {
            let path = entry.expect("a folder entry").path();
            let relative = path.strip_prefix(dir).unwrap().to_owned();
            if path.is_dir() {
                files.insert(relative, Vec::new());
                pending.push(path);
            } else {
                files.insert(relative, bytes(&path));
            }
        }
    }
    files
}
