"""Neural Turing Machines in Rust, from Python.

The toolkit's library (the same code the ``ntm`` command runs) as a thin, typed face:

- :class:`Experiment`: an experiment file, a TOML string or a dict, with ``--set`` overrides;
- :class:`Task` and :class:`Batch`: batches of the built-in tasks as numpy arrays; any object
  with ``input_width``, ``output_width``, ``length_range`` and ``sample(rng_seed, batch,
  length)`` is a task too;
- :class:`Trainer`: ``step()``, ``fit(sequences, callback=...)`` into the model folders the
  ``ntm`` command writes and resumes, ``save()``;
- :class:`Model`, :func:`load_model`, :func:`load_run`: logits, traces as numpy arrays;
- :func:`evaluate`: what ``eval.json`` holds; :mod:`ntm.figures`: the figures;
- :func:`set_threads`: the threads a model's kernels may use (default: every core);
- errors as Python exceptions of the fitting class, :class:`DivergedError` for divergence.

The guide: docs/python.md in the repository.
"""

from ._ntm import (
    Batch,
    DivergedError,
    Experiment,
    Model,
    Step,
    Task,
    Trainer,
    __version__,
    evaluate,
    load_model,
    load_run,
    set_threads,
)
from . import figures

__all__ = [
    "Batch",
    "DivergedError",
    "Experiment",
    "Model",
    "Step",
    "Task",
    "Trainer",
    "__version__",
    "evaluate",
    "figures",
    "load_model",
    "load_run",
    "set_threads",
]
