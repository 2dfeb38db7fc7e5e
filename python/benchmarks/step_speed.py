"""A training step called from Python against the same step in Rust, at the copy task's sizes
(NTM: LSTM controller 100, memory 128 x 20), batch 1.

Both sides take the very same steps: experiments/copy.toml with train.batch=1, its seed, so
the same batches (lengths 1 to 20) and updates; the Rust side is examples/step_timing.rs
(Trainer::step in a loop), the Python side ntm.Trainer.step() in a loop. Runs alternate, each
timing STEPS steps after one warm-up step; prints every pair and the median ratio.

    cargo build --release --example step_timing      # the Rust side (target/release/examples/)
    python python/benchmarks/step_speed.py [STEPS] [PAIRS]
"""

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import ntm

REPO = Path(__file__).resolve().parents[2]


def rust(steps: int) -> float:
    binary = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target")) / "release" / "examples" / "step_timing"
    out = subprocess.run([str(binary), str(steps)], check=True, capture_output=True, text=True, cwd=REPO)
    return json.loads(out.stdout)["seconds"]


def python(steps: int) -> float:
    overrides = ["train.batch=1", f"train.sequences={steps + 1}"]
    experiment = ntm.Experiment.load(REPO / "experiments" / "copy.toml", overrides=overrides)
    with tempfile.TemporaryDirectory() as out:
        trainer = ntm.Trainer(experiment, "ntm", out=out)
        trainer.step()  # warm-up, as the Rust side takes it
        step = trainer.step
        start = time.perf_counter()
        for _ in range(steps):
            step()
        return time.perf_counter() - start


def main():
    steps = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    pairs = int(sys.argv[2]) if len(sys.argv) > 2 else 7
    ratios = []
    for i in range(pairs):
        r = rust(steps)
        p = python(steps)
        ratios.append(p / r)
        print(f"pair {i + 1}: Rust {1e3 * r / steps:.4f} ms/step, Python {1e3 * p / steps:.4f} ms/step, ratio {p / r:.4f}")
    print(f"median ratio Python/Rust over {pairs} pairs of {steps} steps: {statistics.median(ratios):.4f}")


if __name__ == "__main__":
    main()
