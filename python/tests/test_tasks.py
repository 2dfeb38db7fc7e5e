"""Batches of the built-in tasks as numpy arrays, time-major as in Rust."""

import numpy as np
import pytest

import ntm


def test_batches_are_time_major_float32():
    task = ntm.Task("copy", bits=4, max_length=3)
    batch = task.sample(5, seed=1)
    t = batch.time
    assert batch.inputs.shape == (t, 5, 5) and batch.inputs.dtype == np.float32
    assert batch.targets.shape == (t, 5, 4) and batch.mask.shape == (t, 5)
    assert batch.lengths.shape == (5,) and set(batch.lengths) <= {1, 2, 3}
    # The delimiter flag of element b comes right after its vectors.
    for b, length in enumerate(batch.lengths):
        assert batch.inputs[length, b, 4] == 1.0
    # The same seed, the same batch.
    assert np.array_equal(task.sample(5, seed=1).inputs, batch.inputs)
    assert not np.array_equal(task.sample(5, seed=2).inputs, batch.inputs)


@pytest.mark.parametrize(
    "kind", ["copy", "repeat-copy", "associative-recall", "dynamic-ngrams", "priority-sort", "copy-series"]
)
def test_every_built_in_task_draws(kind):
    task = ntm.Task(kind)
    batch = task.sample(2, seed=0)
    assert batch.inputs.shape[1:] == (2, task.input_width)
    assert batch.targets.shape[1:] == (2, task.output_width)
    assert batch.mask.sum() > 0
    assert task.to_dict()["kind"] == kind
    assert ntm.Task(**task.to_dict()).to_dict() == task.to_dict()


def test_an_episode_reads_as_ntm_episode_prints_it(tiny, cli):
    task = ntm.Experiment.load(tiny).task
    shown = cli("episode", "tiny.toml", "--length", "3", "--seed", "2").stdout
    # The command prints the same rows, then a legend of the channels and cells.
    rendered = task.sample(1, 3, seed=2).render()
    assert shown.startswith(rendered) and shown[len(rendered):].startswith("legend:\n")
    repeat = ntm.Task("repeat-copy", bits=3)
    assert repeat.sample(1, 2, repeats=4).time > repeat.sample(1, 2, repeats=1).time
