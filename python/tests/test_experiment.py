"""Experiments from a file, a string or a dict, with overrides in the --set form."""

import pytest

import ntm
from conftest import REPO


def test_a_file_with_overrides(tiny):
    experiment = ntm.Experiment.load(tiny, overrides=["train.sequences=32", "models.ntm.memory.slots=6"])
    assert (experiment.name, experiment.seed, experiment.models) == ("tiny", 3, ["lstm", "ntm"])
    d = experiment.to_dict()
    assert d["train"]["sequences"] == 32
    assert d["models"]["ntm"]["memory"]["slots"] == 6
    assert experiment.task.name == "copy" and experiment.task.input_width == 5


def test_a_dict_is_the_file_it_would_be(tiny):
    from_file = ntm.Experiment.load(tiny)
    from_dict = ntm.Experiment.from_dict(from_file.to_dict())
    assert from_dict.to_toml() == from_file.to_toml()
    assert ntm.Experiment.from_toml(from_file.to_toml()).to_toml() == from_file.to_toml()
    assert from_dict.with_overrides(["seed=9"]).seed == 9


def test_the_shipped_experiments_load():
    for path in sorted((REPO / "experiments").glob("*.toml")):
        assert ntm.Experiment.load(path).models, path
