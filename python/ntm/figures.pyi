"""Type stubs of ntm.figures: the figures of the `ntm plot` commands, by function."""

from pathlib import Path
from typing import Optional, Sequence, Tuple

from ._ntm import PathLike

def heads(
    path: PathLike,
    length: Optional[int] = None,
    *,
    repeats: Optional[int] = None,
    slots: Optional[int] = None,
    seed: int = 0,
    output: Optional[PathLike] = None,
) -> list[Path]:
    """`ntm plot heads`: one PNG per NTM (and its trace as JSON beside it)."""

def curves(run: PathLike, output: Optional[PathLike] = None) -> Path:
    """`ntm plot curves`: the learning curves of every model in a run folder."""

def generalisation(run: PathLike, output: Optional[PathLike] = None) -> Path:
    """`ntm plot generalisation`: bit errors and loss against test length, from eval.json."""

def outputs(
    run: PathLike,
    lengths: Optional[Sequence[int]] = None,
    *,
    cells: Optional[Sequence[Tuple[int, int]]] = None,
    slots: Optional[int] = None,
    seed: int = 0,
    output: Optional[PathLike] = None,
) -> Path:
    """`ntm plot outputs`: target above output at each test length (or repeat-copy cell)."""

def bench(files: Sequence[PathLike], output: Optional[PathLike] = None) -> Path:
    """`ntm plot bench`: time and peak memory of `ntm bench --json` rows against memory size."""
