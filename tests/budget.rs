//! Memory as a resource (`src/measure/budget.rs`): the estimates' parameter counts against built
//! models, range errors for sizes no machine could hold, a refusal with the estimate instead of an
//! allocation failure, and evaluation that runs in smaller chunks where memory is short.

mod common;
mod sandbox;

use std::process::Command;

use candle_core::{DType, Device};
use candle_nn::VarMap;
use ntm::base::kinds::MemoryInit;
use ntm::config::Experiment;
use ntm::measure::budget::{
    eval_bytes, parameter_count, parse_bytes, training_bytes, training_estimate, LIMIT_VARIABLE,
};
use ntm::models::attention::AttentionConfig;
use ntm::models::factory::ModelConfig;
use ntm::models::lstm::LstmBaselineConfig;
use ntm::models::ntm::{MemoryConfig, NtmConfig};
use ntm::models::rnn::RnnBaselineConfig;
use sandbox::{check_error_line, snapshot, text, Sandbox};

#[test]
fn parameter_counts_from_sizes_match_the_built_models() {
    // The shared NTM cases (both controllers, several heads and layers, wide shifts, every
    // memory initialisation), the default, one with three controller layers, and two LSTMs.
    let mut models: Vec<ModelConfig> = common::ntm_cases().into_iter().map(ModelConfig::Ntm).collect();
    models.extend([
        ModelConfig::Ntm(NtmConfig::default()),
        ModelConfig::Ntm(NtmConfig {
            controller_layers: 3,
            memory: MemoryConfig { slots: 9, width: 4, init: MemoryInit::Random },
            ..NtmConfig::default()
        }),
        ModelConfig::Lstm(LstmBaselineConfig::default()),
        ModelConfig::Lstm(LstmBaselineConfig { size: 7, layers: 1, ..Default::default() }),
        ModelConfig::Rnn(RnnBaselineConfig::default()),
        ModelConfig::Rnn(RnnBaselineConfig { size: 7, layers: 1, ..Default::default() }),
        ModelConfig::Gru(RnnBaselineConfig::default()),
        ModelConfig::Gru(RnnBaselineConfig { size: 7, layers: 2, ..Default::default() }),
        ModelConfig::Dsgu(RnnBaselineConfig::default()),
        ModelConfig::Dsgu(RnnBaselineConfig { size: 7, layers: 2, ..Default::default() }),
        ModelConfig::Attention(AttentionConfig::default()),
        ModelConfig::Attention(AttentionConfig { size: 7, layers: 2, attention: 3, ..Default::default() }),
    ]);
    for (i, config) in models.iter().enumerate() {
        let model = config.build(&VarMap::new(), 1, 9, 8, DType::F32, &Device::Cpu).unwrap();
        assert_eq!(parameter_count(config, 9, 8), model.parameter_count() as f64, "model {i}: {config:?}");
    }
}

#[test]
fn estimates_grow_as_the_sizes_do() {
    let ntm = |slots| {
        ModelConfig::Ntm(NtmConfig {
            memory: MemoryConfig { slots, ..MemoryConfig::default() },
            ..NtmConfig::default()
        })
    };
    // Training: linear in steps x slots (the tape); evaluation: flat in steps but for the
    // outputs, and far below training at length 1,000.
    let train = |n, steps| training_bytes(&ntm(n), (9, 8), 64, steps);
    let eval = |n, steps| eval_bytes(&ntm(n), (9, 8), 64, steps);
    assert!(train(2048, 2001.0) > 10.0 * eval(2048, 2001.0));
    assert!(train(2048, 2001.0) > 1.9 * train(1024, 2001.0) - train(1, 2001.0));
    // The goal: length 1,000 with 2,048 slots and 64 sequences below 300 MB (measured:
    // 107 MiB peak, in chunks of 32).
    assert!(eval(2048, 2001.0) < 300e6, "{}", eval(2048, 2001.0));
    assert_eq!(parse_bytes("300M"), Some(300.0 * 1024.0 * 1024.0));
    assert_eq!(parse_bytes("2g"), Some(2.0 * 1024.0 * 1024.0 * 1024.0));
    assert_eq!(parse_bytes("1234"), Some(1234.0));
    assert_eq!(parse_bytes("lots"), None);
}

#[test]
fn sizes_no_machine_could_hold_are_range_errors() {
    let s = Sandbox::new();
    let cases: &[(&str, &[&str])] = &[
        ("task.bits=100000000", &["task.bits = 100000000", "at most"]),
        ("task.max_length=100000000", &["task.max_length = 100000000", "at most"]),
        ("models.ntm.memory.slots=100000000", &["memory.slots = 100000000", "at most"]),
        ("models.ntm.memory.width=10000000", &["memory.width = 10000000", "at most"]),
        ("models.ntm.controller_size=10000000", &["controller_size", "at most"]),
        ("models.lstm.size=10000000", &["size = 10000000", "at most"]),
        ("train.batch=10000000", &["train.batch", "at most"]),
        ("eval.lengths=[100000000]", &["eval.lengths", "at most"]),
    ];
    let before = snapshot(s.dir.path());
    for (set, words) in cases {
        s.fails(&["train", "tiny.toml", "--model", "ntm", "--out", "o", "--set", set], words);
    }
    s.ok(&["train", "tiny.toml", "--model", "ntm", "--out", "t"]);
    let before_eval = snapshot(s.dir.path());
    s.fails(&["eval", "t", "--lengths", "100000000"], &["--lengths", "100000000"]);
    s.fails(&["plot", "heads", "t/ntm", "--length", "100000000"], &["--length 100000000"]);
    s.fails(&["eval", "t", "--slots", "100000000", "--lengths", "3"], &["--slots 100000000", "at most"]);
    assert!(snapshot(s.dir.path()) == before_eval, "a failed command wrote files");
    drop(before);
}

#[test]
fn training_that_does_not_fit_refuses_with_its_estimate() {
    let s = Sandbox::new();
    let args = ["train", "tiny.toml", "--model", "ntm", "--out", "o", "--set", "task.bits=100000"];
    let out = s.command(&args).env(LIMIT_VARIABLE, "100M").output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    check_error_line(&args, stderr.trim(), &["training needs about", "MiB", LIMIT_VARIABLE, "task.bits"]);
    assert!(!s.path("o").exists(), "a refused training created its folder");
}

/// Under a real address-space limit (`ulimit -v`, 4 GB) a model of a million bits, which
/// used to abort with "memory allocation of ... bytes failed", is refused in one line.
#[cfg(target_os = "linux")]
#[test]
fn under_an_address_space_limit_a_huge_model_is_refused_not_aborted() {
    let s = Sandbox::new();
    let script = format!(
        "ulimit -v 4000000 && exec {} train tiny.toml --model ntm --out o --set task.bits=1000000",
        env!("CARGO_BIN_EXE_ntm")
    );
    let out = Command::new("sh").arg("-c").arg(&script).current_dir(s.dir.path()).output().unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    check_error_line(&[&script], stderr.trim(), &["training needs about", "ulimit -v", "task.bits"]);
}

#[test]
fn evaluation_runs_in_smaller_chunks_or_refuses_when_even_one_does_not_fit() {
    let s = Sandbox::new();
    s.ok(&["train", "tiny.toml", "--model", "ntm", "--out", "t"]);
    // One episode of length 20,000 (40,001 steps) is ~6 MiB of features, inputs and outputs:
    // 64 at once do not fit in 150 MiB with the program's own 48, a few do.
    let args = ["eval", "t/ntm", "--lengths", "20000", "--sequences", "8", "--json"];
    let chunked = s.command(&args).env(LIMIT_VARIABLE, "150M").output().unwrap();
    assert!(chunked.status.success(), "{}", text(&chunked.stderr));
    let all = s.ok(&args);
    let errors = |json: &str| {
        serde_json::from_str::<serde_json::Value>(json).unwrap()["results"][0]["bit_errors"].as_f64().unwrap()
    };
    assert_eq!(errors(&text(&chunked.stdout)), errors(&all));
    let refused = s.command(&args).env(LIMIT_VARIABLE, "60M").output().unwrap();
    let stderr = text(&refused.stderr);
    assert_eq!(refused.status.code(), Some(1), "{stderr}");
    check_error_line(&args, stderr.trim(), &["even one sequence at a time", "lower the test lengths"]);
}

/// `plot heads` keeps the whole tape and every head's weightings: an episode too long for the
/// memory is refused before anything is drawn.
#[test]
fn a_trace_that_does_not_fit_is_refused() {
    let s = Sandbox::new();
    s.ok(&["train", "tiny.toml", "--model", "ntm", "--out", "t"]);
    let args = ["plot", "heads", "t/ntm", "--length", "20000", "--slots", "40000", "-o", "h.png"];
    let out = s.command(&args).env(LIMIT_VARIABLE, "1G").output().unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    check_error_line(&args, stderr.trim(), &["tracing an episode", "lower --length or --slots"]);
    assert!(!stderr.contains("  "), "a run of spaces in {stderr:?}");
    assert!(!s.path("h.png").exists());
}

#[test]
fn a_bench_case_that_does_not_fit_or_no_machine_could_hold_is_refused_before_any_runs() {
    let s = Sandbox::new();
    let base = ["bench", "--models", "ntm", "--engines", "fused", "--batches", "1", "--in-process"];
    let args = [&base[..], &["--slots", "16777216", "--lengths", "20"]].concat();
    let out = s.command(&args).env(LIMIT_VARIABLE, "100M").output().unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    check_error_line(&args, stderr.trim(), &["needs about", "MiB", LIMIT_VARIABLE, "--slots"]);
    assert!(text(&out.stdout).is_empty(), "a case ran: {}", text(&out.stdout));
    s.fails(&[&base[..], &["--lengths", "100000000"]].concat(), &["--lengths", "100000000", "longest"]);
}

/// `ntm sweep` checks memory before it starts anything: a model that does not fit alone is
/// refused as `ntm train` refuses it, and `--jobs` trainings that do not fit together are
/// refused naming --jobs; `--print-commands` (for other machines) is not checked here.
#[test]
fn a_sweep_that_does_not_fit_is_refused_before_any_job_starts() {
    let s = Sandbox::new();
    let alone = ["sweep", "tiny.toml", "--seeds", "1-2", "--models", "ntm", "--out", "w", "--set", "task.bits=100000"];
    let out = s.command(&alone).env(LIMIT_VARIABLE, "100M").output().unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    check_error_line(&alone, stderr.trim(), &["model ntm", "training needs about", LIMIT_VARIABLE, "task.bits"]);
    assert!(!s.path("w").exists(), "a refused sweep created its folder");

    // A limit of three trainings' estimate: one fits (with the checks' headroom), 8 at once do not.
    let together = [
        "sweep",
        "tiny.toml",
        "--seeds",
        "1-8",
        "--models",
        "ntm",
        "--out",
        "w",
        "--jobs",
        "8",
        "--set",
        "task.bits=3000",
    ];
    let experiment = Experiment::load(&s.path("tiny.toml"), &["task.bits=3000".to_string()]).unwrap();
    let limit = format!("{:.0}", 3.0 * training_estimate(&experiment, "ntm"));
    let one =
        ["train", "tiny.toml", "--model", "ntm", "--out", "o", "--set", "task.bits=3000", "--set", "train.sequences=4"];
    let trained = s.command(&one).env(LIMIT_VARIABLE, &limit).output().unwrap();
    assert!(trained.status.success(), "one training should fit in {limit} bytes: {}", text(&trained.stderr));
    let out = s.command(&together).env(LIMIT_VARIABLE, &limit).output().unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    check_error_line(
        &together,
        stderr.trim(),
        &["--jobs 8", "8 trainings at once", "needs about", LIMIT_VARIABLE, "lower --jobs"],
    );
    assert!(!s.path("w").exists(), "a refused sweep created its folder");
    let printed =
        s.command(&[&together[..], &["--print-commands"]].concat()).env(LIMIT_VARIABLE, &limit).output().unwrap();
    assert!(printed.status.success(), "{}", text(&printed.stderr));

    // Only the jobs that will train count: resuming a finished sweep trains nothing, so even a
    // limit no training fits in lets it through.
    let done = ["sweep", "tiny.toml", "--seeds", "1-2", "--models", "ntm", "--out", "done"];
    s.ok(&done);
    let resumed =
        s.command(&[&done[..], &["--resume", "--jobs", "8"]].concat()).env(LIMIT_VARIABLE, "1K").output().unwrap();
    assert!(resumed.status.success(), "{}", text(&resumed.stderr));
    let fresh = ["sweep", "tiny.toml", "--seeds", "1-2", "--models", "ntm", "--out", "fresh"];
    let out = s.command(&fresh).env(LIMIT_VARIABLE, "1K").output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
}
