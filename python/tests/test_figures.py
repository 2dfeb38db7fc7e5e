"""The figures by function, from a run folder the CLI wrote and from one written in Python."""

import pytest

import ntm
from conftest import COPY

PNG = b"\x89PNG\r\n\x1a\n"


def is_png(path):
    return path.is_file() and path.read_bytes()[:8] == PNG


def test_the_figures_of_a_run_trained_in_python(tiny, tmp_path):
    experiment = ntm.Experiment.load(tiny)
    for name in experiment.models:
        trainer = ntm.Trainer(experiment, name, out=tmp_path / "run")
        trainer.fit()
        ntm.evaluate(trainer.model, save=True)
    run = tmp_path / "run"
    assert is_png(ntm.figures.curves(run))
    assert is_png(ntm.figures.generalisation(run, output=tmp_path / "g.png"))
    assert is_png(ntm.figures.outputs(run, [2, 4], output=tmp_path / "o.png"))
    [heads] = ntm.figures.heads(run, 3, output=tmp_path / "h.png")
    assert is_png(heads) and heads.with_suffix(".json").is_file()
    with pytest.warns(UserWarning, match="model lstm has no memory slots"):
        ntm.figures.outputs(run, [2], slots=8, output=tmp_path / "o8.png")


def test_the_heads_of_the_committed_copy_ntm(tmp_path):
    [heads] = ntm.figures.heads(COPY / "ntm", 10, output=tmp_path / "heads.png")
    assert is_png(heads)
