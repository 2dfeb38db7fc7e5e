"""The figures of the ``ntm plot`` commands, by function.

Each draws one figure from a run folder's records (or by running its models) and returns the
file it wrote, by default under the run folder's ``plots/`` as ``ntm plot`` writes it.
"""

from ._ntm import figures as _figures

heads = _figures.heads
curves = _figures.curves
generalisation = _figures.generalisation
outputs = _figures.outputs
bench = _figures.bench

__all__ = ["heads", "curves", "generalisation", "outputs", "bench"]
