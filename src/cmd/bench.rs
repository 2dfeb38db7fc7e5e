//! `ntm bench`: training speed of each engine, model and batch size.
//!
//! Each case runs in a fresh child process (this binary with the hidden `--case N`), so its
//! peak memory is its own and no case inherits another's allocator state; `--in-process`
//! runs them all here instead.

use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::cmd::cli::BenchArgs;
use ntm::base::kinds::Engine;
use ntm::measure::bench::{self, BenchCase, BenchMode, BenchRow, BenchSettings, MemorySizes};

pub fn bench(args: &BenchArgs) -> Result<()> {
    if let Some(m) = args
        .models
        .iter()
        .find(|m| !matches!(m.as_str(), "ntm" | "dnc" | "lstm" | "rnn" | "gru" | "dsgu" | "attention"))
    {
        bail!("--models: unknown model {m:?}; use ntm, dnc, lstm, rnn, gru, dsgu, attention");
    }
    let sizes = MemorySizes { width: args.width, read_heads: args.read_heads, controller_size: args.controller_size };
    for (flag, value) in
        [("--width", sizes.width), ("--read-heads", sizes.read_heads), ("--controller-size", sizes.controller_size)]
    {
        if value == Some(0) {
            bail!("{flag} 0: must be at least 1");
        }
    }
    if args.batches.contains(&0) || args.lengths.contains(&0) || args.lengths.is_empty() {
        bail!("--batches and --lengths must be at least 1");
    }
    if let Some(l) = args.lengths.iter().find(|&&l| l > ntm_tasks::MAX_LENGTH) {
        bail!("--lengths: {l} is more than {}, the longest sequence any machine could hold", ntm_tasks::MAX_LENGTH);
    }
    if let Some(b) = args.batches.iter().find(|&&b| b > ntm::base::limits::MAX_BATCH) {
        bail!("--batches: {b} is more than {}", ntm::base::limits::MAX_BATCH);
    }
    if let Some(slots) = &args.slots {
        if slots.is_empty() || slots.contains(&0) || slots.iter().any(|&n| n > ntm::base::limits::MAX_SLOTS) {
            bail!("--slots {slots:?}: give one or more sizes from 1 to {}", ntm::base::limits::MAX_SLOTS);
        }
    }
    let modes: Vec<BenchMode> = parse_each("--modes", &args.modes)?;
    let engines: Vec<Engine> = parse_each("--engines", &args.engines)?;
    let settings = BenchSettings {
        length: args.lengths[0],
        warmup: args.warmup,
        reps: args.reps,
        steps: args.steps,
        ..BenchSettings::default()
    };
    let base = bench::copy_cases(&args.batches, &engines, &args.models, sizes);
    let slots = args.slots.clone().unwrap_or_else(|| vec![ntm::models::ntm::MemoryConfig::default().slots]);
    let cases = bench::grid_cases(&base, &args.lengths, &slots, &modes);
    // Every memory model checked as an experiment would be (a DNC needs 2 slots and fits its
    // link matrix's limit), before anything runs.
    for case in &cases {
        case.config.validate().map_err(|e| anyhow::anyhow!("--models {}: {e}", case.model))?;
    }
    if let Some(index) = args.case {
        let case = cases.get(index).with_context(|| format!("--case {index}: no such case"))?;
        let row = bench::run_case(case, &settings).context("bench")?;
        return super::print(&serde_json::to_string(&row)?);
    }
    // Every case's memory checked before the first runs (here, not in each case's child).
    for case in &cases {
        let length = case.length.unwrap_or(settings.length);
        let what = format!("the {:?} case of {} at batch {} and length {length}", case.mode, case.model, case.batch)
            .to_lowercase();
        ntm::measure::budget::check_fits(&what, bench::estimate_bytes(case, &settings))
            .map_err(|e| anyhow::anyhow!("{e}; lower --lengths, --slots or --batches"))?;
    }
    let mut rows = Vec::with_capacity(cases.len());
    for (index, case) in cases.iter().enumerate() {
        let row =
            if args.in_process { bench::run_case(case, &settings).context("bench")? } else { run_child(index, case)? };
        if !args.json {
            let slots = row.slots.map_or(String::new(), |n| format!(" {n} slots"));
            eprintln!(
                "measured {} {} {} batch {}{slots} length {}",
                row.engine, row.model, row.mode, row.batch, row.length
            );
        }
        rows.push(row);
    }
    match args.json {
        true => super::print(&serde_json::to_string_pretty(&rows)?),
        false => {
            let table = bench::table(&rows);
            super::print(table.strip_suffix('\n').unwrap_or(&table))
        }
    }
}

/// Each of `words` (the values of option `flag`) parsed as a `T`; the first that does not
/// parse is the error, named after the option.
fn parse_each<T: std::str::FromStr>(flag: &str, words: &[String]) -> Result<Vec<T>>
where
    T::Err: std::fmt::Display,
{
    words.iter().map(|w| w.parse::<T>().map_err(|e| anyhow::anyhow!("{flag}: {e}"))).collect()
}

/// Runs case `index` in a child process with the same arguments and reads its row.
fn run_child(index: usize, case: &BenchCase) -> Result<BenchRow> {
    let exe = std::env::current_exe().context("bench: cannot find the ntm binary")?;
    let mut argv: Vec<String> = std::env::args().skip(1).filter(|a| a != "--json").collect();
    argv.extend(["--json".into(), "--case".into(), index.to_string()]);
    let output = Command::new(exe).args(&argv).output().context("bench: cannot start a case")?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        bail!(
            "bench case {} {} batch {} length {}: {}",
            case.model,
            case.mode.name(),
            case.batch,
            case.length.unwrap_or(0),
            stderr.trim()
        );
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    serde_json::from_str(stdout.trim()).context("bench: unreadable row from a case")
}
