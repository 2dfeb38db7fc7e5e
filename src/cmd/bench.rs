//! `ntm bench`: training speed of each engine, model and batch size.
//!
//! Each case runs in a fresh child process (this binary with the hidden `--case N`), so its
//! peak memory is its own and no case inherits another's allocator state; `--in-process`
//! runs them all here instead.

use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::bench::{self, BenchCase, BenchRow, BenchSettings};
use crate::cli::BenchArgs;
use crate::kinds::Engine;

pub fn bench(args: &BenchArgs) -> Result<()> {
    if let Some(m) = args
        .models
        .iter()
        .find(|m| !matches!(m.as_str(), "ntm" | "lstm"))
    {
        bail!("--models: unknown model {m:?}; use ntm, lstm");
    }
    if args.batches.contains(&0) || args.length == 0 {
        bail!("--batches and --length must be at least 1");
    }
    let engines = args
        .engines
        .iter()
        .map(|e| e.parse::<Engine>())
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| anyhow::anyhow!("--engines: {e}"))?;
    let settings = BenchSettings {
        length: args.length,
        warmup: args.warmup,
        reps: args.reps,
        steps: args.steps,
        ..BenchSettings::default()
    };
    let cases = bench::copy_cases(&args.batches, &engines, &args.models);
    if let Some(index) = args.case {
        let case = cases
            .get(index)
            .with_context(|| format!("--case {index}: no such case"))?;
        let row = bench::run_case(case, &settings).context("bench")?;
        println!("{}", serde_json::to_string(&row)?);
        return Ok(());
    }
    let mut rows = Vec::with_capacity(cases.len());
    for (index, case) in cases.iter().enumerate() {
        let row = if args.in_process {
            bench::run_case(case, &settings).context("bench")?
        } else {
            run_child(index, case)?
        };
        if !args.json {
            eprintln!("measured {} {} batch {}", row.engine, row.model, row.batch);
        }
        rows.push(row);
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else {
        print!("{}", bench::table(&rows));
    }
    Ok(())
}

/// Runs case `index` in a child process with the same arguments and reads its row.
fn run_child(index: usize, case: &BenchCase) -> Result<BenchRow> {
    let exe = std::env::current_exe().context("bench: cannot find the ntm binary")?;
    let mut argv: Vec<String> = std::env::args().skip(1).filter(|a| a != "--json").collect();
    argv.extend(["--json".into(), "--case".into(), index.to_string()]);
    let output = Command::new(exe)
        .args(&argv)
        .output()
        .context("bench: cannot start a case")?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        bail!(
            "bench case {} batch {}: {}",
            case.model,
            case.batch,
            stderr.trim()
        );
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    serde_json::from_str(stdout.trim()).context("bench: unreadable row from a case")
}
