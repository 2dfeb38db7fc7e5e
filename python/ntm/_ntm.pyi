"""Type stubs of the extension module ntm._ntm (Rust, PyO3): what help() shows, typed."""

import os
import types
from pathlib import Path
from typing import Any, Callable, Optional, Protocol, Sequence, Tuple, TypedDict, Union

import numpy as np
import numpy.typing as npt

__version__: str

PathLike = Union[str, os.PathLike[str]]
Floats = npt.NDArray[np.float32]

class DivergedError(RuntimeError):
    """Training diverged: a loss, gradient or parameter that is not finite (the model
    folder's failure.json says where; the last good checkpoint is kept)."""

class MetricsRecord(TypedDict):
    """One line of metrics.jsonl: the means over a report interval."""

    sequences: int
    loss_bits: float
    bit_errors: float
    seconds: float
    skipped: int

class _EvalResultBase(TypedDict):
    length: int
    loss_bits: float
    bit_errors: float
    sequences: int

class EvalResult(_EvalResultBase, total=False):
    """One test cell; repeats with repeat counts, slots with slots=N."""

    repeats: int
    slots: int

class EvalReport(TypedDict):
    """What eval.json holds (and `ntm eval --json` prints)."""

    model: str
    task: str
    results: list[EvalResult]

class FitOutcome(TypedDict):
    """How Trainer.fit ended."""

    sequences: int
    seconds: float
    interrupted: bool
    last: Optional[MetricsRecord]
    folder: Path
    message: str

class TaskLike(Protocol):
    """A task written in Python: trains and evaluates like a built-in one.

    sample(rng_seed, batch, length) returns (inputs [T, batch, input_width], targets
    [T, batch, output_width], mask [T, batch]), numpy arrays of float32 (or float64); length
    is None when training (each element draws its own length from length_range) and a
    whole number when evaluating. An attribute name (a str) names it; else its class does.
    """

    input_width: int
    output_width: int
    length_range: Tuple[int, int]
    def sample(
        self, rng_seed: int, batch: int, length: Optional[int]
    ) -> Tuple[npt.NDArray[Any], npt.NDArray[Any], npt.NDArray[Any]]: ...

class Experiment:
    """An experiment: task, models by name, [train] and [eval], as its TOML file holds them."""

    @staticmethod
    def load(path: PathLike, overrides: Optional[Sequence[str]] = None) -> Experiment:
        """Reads an experiment file; overrides as --set: ["train.sequences=2000"]."""
    @staticmethod
    def from_toml(text: str, overrides: Optional[Sequence[str]] = None, path: PathLike = "<string>") -> Experiment:
        """The experiment written in TOML text; path names it in errors."""
    @staticmethod
    def from_dict(data: dict[str, Any], overrides: Optional[Sequence[str]] = None) -> Experiment:
        """The experiment a dict holds, keyed as the file is; errors name it <dict>."""
    def with_overrides(self, overrides: Sequence[str]) -> Experiment:
        """This experiment with more overrides (--set form) applied."""
    @property
    def name(self) -> str: ...
    @property
    def seed(self) -> int: ...
    @property
    def models(self) -> list[str]: ...
    @property
    def path(self) -> Path: ...
    @property
    def task(self) -> Task: ...
    def to_dict(self) -> dict[str, Any]:
        """The resolved experiment (what experiment.toml holds) as a dict."""
    def to_toml(self) -> str:
        """The resolved experiment as TOML."""

class Task:
    """A built-in task with its settings: Task("copy", bits=8, max_length=20)."""

    def __init__(self, kind: str, **settings: Any) -> None: ...
    @property
    def name(self) -> str: ...
    @property
    def input_width(self) -> int: ...
    @property
    def output_width(self) -> int: ...
    @property
    def length_range(self) -> Tuple[int, int]: ...
    @property
    def repeat_range(self) -> Optional[Tuple[int, int]]: ...
    def to_dict(self) -> dict[str, Any]: ...
    def sample(
        self, batch: int, length: Optional[int] = None, *, repeats: Optional[int] = None, seed: int = 0
    ) -> Batch:
        """A batch drawn from seed: every episode of length if given, else each of a length
        drawn from the training range (as `ntm episode --seed`)."""

class Batch:
    """Episodes as numpy arrays, time-major: inputs [T, B, X], targets [T, B, Y], mask [T, B]
    (float32), lengths [B] (int64)."""

    @property
    def inputs(self) -> Floats: ...
    @property
    def targets(self) -> Floats: ...
    @property
    def mask(self) -> Floats: ...
    @property
    def lengths(self) -> npt.NDArray[np.int64]: ...
    @property
    def time(self) -> int: ...
    @property
    def batch(self) -> int: ...
    def render(self, index: int = 0) -> str:
        """Element index as text, as `ntm episode` prints it."""

class Step:
    """What one training step did: kind "trained", "skipped" or "fault"."""

    @property
    def kind(self) -> str: ...
    @property
    def batch(self) -> int: ...
    @property
    def loss_bits(self) -> float: ...
    @property
    def bit_errors(self) -> Optional[float]: ...
    @property
    def norm(self) -> Optional[float]: ...
    @property
    def tensor(self) -> Optional[str]: ...

class Trainer:
    """One model of an experiment in training, with its model folder <out>/<model>/ (out
    defaults to runs/<name>/), the folder `ntm train` writes and resumes."""

    def __init__(
        self,
        experiment: Experiment,
        model: str,
        *,
        out: Optional[PathLike] = None,
        task: Union[Task, TaskLike, None] = None,
        resume: bool = False,
        overwrite: bool = False,
    ) -> None: ...
    def step(self) -> Step:
        """Trains on the next batch, in memory (the GIL released)."""
    def fit(
        self,
        sequences: Optional[int] = None,
        callback: Optional[Callable[[MetricsRecord], Optional[bool]]] = None,
    ) -> FitOutcome:
        """Trains into the model folder up to sequences (default: train.sequences), the GIL
        released; callback(record) at each metrics line (False stops); KeyboardInterrupt stops
        with a checkpoint and is raised again."""
    def save(self) -> None:
        """Writes a checkpoint (and config.toml) into the model folder: resumable from here."""
    @property
    def name(self) -> str: ...
    @property
    def sequences(self) -> int: ...
    @property
    def finished(self) -> bool: ...
    @property
    def max_length(self) -> Optional[int]: ...
    @property
    def folder(self) -> Path: ...
    @property
    def experiment(self) -> Experiment: ...
    @property
    def settings(self) -> dict[str, Any]: ...
    @property
    def task(self) -> Union[Task, TaskLike]: ...
    @property
    def model(self) -> Model: ...

class Model:
    """A trained model: from its folder (load_model, load_run) or a trainer's (Trainer.model)."""

    @property
    def name(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def trained_sequences(self) -> int: ...
    @property
    def folder(self) -> Path: ...
    @property
    def slots(self) -> Optional[int]: ...
    @property
    def experiment(self) -> Experiment: ...
    @property
    def task(self) -> Union[Task, TaskLike]: ...
    @property
    def parameter_count(self) -> int: ...
    def parameters(self) -> dict[str, Floats]:
        """The parameters by name, as float32 arrays (copies)."""
    def forward(self, inputs: npt.NDArray[Any]) -> Floats:
        """Logits [T, B, Y] for inputs [T, B, X] (or [T, Y] for one episode [T, X])."""
    def trace(
        self,
        length: Optional[int] = None,
        *,
        repeats: Optional[int] = None,
        seed: int = 0,
        inputs: Optional[npt.NDArray[Any]] = None,
    ) -> dict[str, Any]:
        """What memory and heads do on one episode, as numpy arrays: read_weightings
        [T, R, N], write_weightings [T, W, N], memory [T, N, M], keys, strengths, gates,
        shifts, sharpenings, erase, add, reads, logits, outputs (see help(ntm.Model.trace))."""

def load_model(path: PathLike, model: Optional[str] = None, *, slots: Optional[int] = None) -> Model:
    """A model folder, a checkpoint file in one, or a run folder with model naming one."""

def load_run(path: PathLike, *, slots: Optional[int] = None) -> dict[str, Model]:
    """Every model of a run folder, by name."""

def evaluate(
    model: Model,
    lengths: Optional[Sequence[int]] = None,
    sequences: Optional[int] = None,
    *,
    repeats: Optional[Sequence[int]] = None,
    save: bool = False,
) -> EvalReport:
    """What eval.json holds, bit for bit `ntm eval --json`'s; save=True writes it."""

def set_threads(threads: int) -> None:
    """The threads each training's kernels use from now on (1 to 256; default: every core)."""

figures: types.ModuleType
