//! Times training steps of the copy task's NTM at batch 1 through the library, the Rust side of
//! the Python package's speed check (`python/benchmarks/step_speed.py` times the very same
//! steps through `ntm.Trainer.step`):
//! `cargo run --release --example step_timing -- 2000`.
//!
//! The experiment is `experiments/copy.toml` with `train.batch=1`: the same seed, so the same
//! batches (lengths 1 to 20), the same updates, whatever calls `Trainer::step`. Prints one
//! JSON line, `{"steps": 2000, "seconds": ...}`, the time of the steps alone (the model is
//! built, and one step taken, before the clock starts).

use std::error::Error;
use std::path::Path;
use std::time::Instant;

use ntm::{Experiment, Step, Trainer};

/// The allocator of the `ntm` binary (src/main.rs) and of the Python extension, so that both
/// sides time the same code.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

pub fn main() -> Result<(), Box<dyn Error>> {
    ntm::base::pool::prefer_one_thread();
    let steps: usize = std::env::args().nth(1).map_or(Ok(2000), |s| s.parse())?;
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let overrides = ["train.batch=1".to_owned(), format!("train.sequences={}", steps + 1)];
    let experiment = Experiment::load(&root.join("experiments/copy.toml"), &overrides)?;
    let mut trainer = Trainer::new(&experiment, "ntm")?;
    trainer.step()?; // warm-up, as the Python side takes it
    let clock = Instant::now();
    for _ in 0..steps {
        if let step @ (Step::Fault { .. } | Step::Skipped { .. }) = trainer.step()? {
            return Err(format!("not a finite update: {step:?}").into());
        }
    }
    println!("{{\"steps\": {steps}, \"seconds\": {}}}", clock.elapsed().as_secs_f64());
    Ok(())
}
