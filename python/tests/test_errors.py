"""Bad input raises the Python exception of the fitting class, with the line the `ntm` command
prints for it."""

import numpy as np
import pytest

import ntm
from conftest import COPY


def cli_line(cli, *args):
    """The one-line error of `ntm args...`, without its `error: `."""
    done = cli(*args, check=False)
    assert done.returncode == 1, done.stderr
    line = done.stderr.strip()
    assert line.startswith("error: ") and "\n" not in line, line
    return line[len("error: "):]


def test_a_missing_experiment_file(tmp_path, cli):
    with pytest.raises(FileNotFoundError) as caught:
        ntm.Experiment.load("missing.toml")
    assert str(caught.value) == cli_line(cli, "episode", "missing.toml")


def test_bad_fields_and_overrides(tiny, tmp_path, cli):
    with pytest.raises(ValueError) as caught:
        ntm.Experiment.load(tiny, overrides=["train.batch=abc"])
    assert str(caught.value) == cli_line(cli, "episode", "tiny.toml", "--set", "train.batch=abc")
    with pytest.raises(ValueError, match="models.ntm.memory.slots = 0: must be at least 1"):
        ntm.Experiment.load(tiny, overrides=["models.ntm.memory.slots=0"])
    d = ntm.Experiment.load(tiny).to_dict()
    d["train"]["batchh"] = 3
    with pytest.raises(ValueError, match="<dict>.*batchh"):
        ntm.Experiment.from_dict(d)
    with pytest.raises(ValueError, match="not a TOML value"):
        ntm.Experiment.from_dict({"name": None})
    with pytest.raises(ValueError, match="unknown field"):
        ntm.Task("copy", bitz=3)
    with pytest.raises(ValueError, match="task.min_length = 5 is greater than task.max_length = 3"):
        ntm.Task("copy", min_length=5, max_length=3)


def test_folders_that_hold_a_run_or_none(tiny, tmp_path, cli):
    experiment = ntm.Experiment.load(tiny)
    cli("train", "tiny.toml", "--model", "ntm", "--out", "out")
    with pytest.raises(FileExistsError) as caught:
        ntm.Trainer(experiment, "ntm", out=tmp_path / "out")
    assert "already holds a run; pass --resume to continue it or --overwrite to replace it" in str(caught.value)
    assert str(caught.value).replace(str(tmp_path) + "/", "") == cli_line(cli, "train", "tiny.toml", "--model", "ntm", "--out", "out")
    # resume=True before any checkpoint trains from scratch, as ntm train --resume does.
    assert ntm.Trainer(experiment, "ntm", out=tmp_path / "empty", resume=True).sequences == 0
    # One writer per folder: while another process trains there, a trainer is refused, naming it.
    busy = tmp_path / "busy" / "ntm"
    busy.mkdir(parents=True)
    (busy / ".lock").write_text("pid 4242: ntm train\n")
    import fcntl
    with open(busy / ".lock") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # as the other process's lock (released when closed)
        with pytest.raises(ValueError, match="in use by ntm train"):
            ntm.Trainer(experiment, "ntm", out=tmp_path / "busy", resume=True)
    ntm.Trainer(experiment, "ntm", out=tmp_path / "busy", resume=True)
    with pytest.raises(ValueError, match="one or the other"):
        ntm.Trainer(experiment, "ntm", out=tmp_path / "out", resume=True, overwrite=True)
    ntm.Trainer(experiment, "ntm", out=tmp_path / "out", overwrite=True)
    assert not list((tmp_path / "out" / "ntm").iterdir())  # emptied, and unlocked once the trainer is gone
    with pytest.raises(ValueError, match='no model named "gru"'):
        ntm.Trainer(experiment, "gru", out=tmp_path / "other")


def test_models_and_evaluation(tmp_path, cli):
    with pytest.raises(FileNotFoundError):
        ntm.load_model(tmp_path / "nothing")
    with pytest.raises(ValueError, match="several models"):
        ntm.load_model(COPY)
    model = ntm.load_model(COPY, "ntm")
    for args, kwargs in [(["--lengths", "0"], {"lengths": [0]}), (["--sequences", "0"], {"sequences": 0})]:
        with pytest.raises(ValueError) as caught:
            ntm.evaluate(model, **kwargs)
        assert str(caught.value) == cli_line(cli, "eval", COPY / "ntm", *args)
    with pytest.raises(ValueError, match="--repeats 5: model ntm was trained on the copy task"):
        ntm.evaluate(model, repeats=[5])
    with pytest.raises(ValueError, match=r"shape \[3, 7\]; model ntm takes \[T, B, 9\]"):
        model.forward(np.zeros((3, 7), np.float32))
    with pytest.raises(ValueError, match="numpy array"):
        model.forward([[0.0] * 9])
    with pytest.raises(ValueError, match="no memory heads to trace"):
        ntm.load_model(COPY, "lstm").trace(3)


def test_a_broken_checkpoint(tmp_path, cli):
    import shutil

    shutil.copytree(COPY / "ntm", tmp_path / "ntm")
    weights = tmp_path / "ntm" / "checkpoint.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])
    with pytest.raises(ValueError) as caught:
        ntm.load_model(tmp_path / "ntm")
    assert str(caught.value) == cli_line(cli, "eval", tmp_path / "ntm")
    weights.unlink()
    with pytest.raises(FileNotFoundError):
        ntm.load_model(tmp_path / "ntm")


def test_fit_beyond_train_sequences(tiny, tmp_path):
    trainer = ntm.Trainer(ntm.Experiment.load(tiny), "ntm", out=tmp_path / "out")
    with pytest.raises(ValueError, match="more than train.sequences = 64"):
        trainer.fit(100)


def test_sizes_no_machine_could_hold_are_one_line_value_errors(monkeypatch):
    with pytest.raises(ValueError) as caught:
        ntm.Task("copyy")
    assert "\n" not in str(caught.value) and "unknown variant `copyy`" in str(caught.value)
    with pytest.raises(ValueError, match="batch = 1000000000000: must be at most 65536"):
        ntm.Task("copy").sample(10**12)
    model = ntm.load_model(COPY / "ntm")
    monkeypatch.setenv("NTM_MEMORY_LIMIT", "64M")
    with pytest.raises(ValueError, match=r"a batch of 65536 episodes of 2001 steps needs about \d+ MiB"):
        ntm.Task("copy", max_length=1000).sample(65536)
    with pytest.raises(ValueError, match=r"model ntm: a forward pass over 64 sequences of 100000 steps needs about"):
        model.forward(np.zeros((100000, 64, 9), np.float32))
