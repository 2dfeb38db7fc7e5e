"""Shared fixtures: the repository, the `ntm` binary the package is checked against, and a
tiny copy experiment (the Rust tests' own, tests/data/tiny.toml) in a fresh folder."""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TINY = REPO / "tests" / "data" / "tiny.toml"
COPY = REPO / "experiments" / "results" / "copy"


def ntm_binary() -> Path:
    """The release `ntm` binary (NTM_BIN, else target/release/ntm)."""
    path = Path(os.environ.get("NTM_BIN", REPO / "target" / "release" / "ntm"))
    if not path.is_file():
        pytest.fail(f"{path}: no ntm binary to compare with; build it with `cargo build --release` (or set NTM_BIN)")
    return path


@pytest.fixture
def cli(tmp_path):
    """Runs `ntm args...` in tmp_path; returns the completed process (stdout, stderr as text)."""

    def run(*args, check=True):
        env = dict(os.environ, RAYON_NUM_THREADS="1")
        done = subprocess.run(
            [str(ntm_binary()), *map(str, args)], cwd=tmp_path, capture_output=True, text=True, env=env
        )
        if check and done.returncode != 0:
            raise AssertionError(f"ntm {' '.join(map(str, args))} failed ({done.returncode}): {done.stderr}")
        return done

    return run


@pytest.fixture
def tiny(tmp_path) -> Path:
    """tests/data/tiny.toml copied into tmp_path (4-bit copy, lengths 1-3, 64 sequences)."""
    path = tmp_path / "tiny.toml"
    shutil.copy(TINY, path)
    return path


def metrics(folder: Path):
    """metrics.jsonl without the wall-clock seconds."""
    lines = (folder / "metrics.jsonl").read_text().splitlines()
    return [{k: v for k, v in json.loads(line).items() if k != "seconds"} for line in lines if line.strip()]


def assert_same_training(a: Path, b: Path):
    """Model folders a and b hold the same training: weights and optimiser state byte for
    byte, the same counters and the same metrics (their seconds aside), as tests/cli.rs asks."""
    assert metrics(a) == metrics(b), f"{a} and {b}: metrics differ"
    for file in ["checkpoint.safetensors", "optimizer.safetensors"]:
        assert (a / file).read_bytes() == (b / file).read_bytes(), f"{a} and {b}: {file} differs"
    ma, mb = (json.loads((f / "checkpoint.json").read_text()) for f in (a, b))
    for key in ["sequences", "optimizer_steps", "rng", "interval", "parameters"]:
        assert ma[key] == mb[key], f"{a} and {b}: checkpoint.json {key} differs"
