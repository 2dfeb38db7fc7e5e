"""A task written in Python trains like a built-in one: through the library's Task trait, with
its seed drawn from the trainer's generator, so training is reproducible."""

import numpy as np
import pytest

import ntm

EXPERIMENT = {
    "name": "reverse",
    "seed": 3,
    "models": {"ntm": {"kind": "ntm", "controller_size": 32, "memory": {"slots": 12, "width": 8}}},
    "train": {"sequences": 8000, "batch": 8, "optimizer": "adam", "lr": 1e-2, "report_every": 800},
    "eval": {"lengths": [2, 3], "sequences": 16},
}


class Reverse:
    """Read 1-3 random vectors and a delimiter, then write them back in reverse order (the
    task of examples/custom_task.rs, written in Python)."""

    name = "reverse"

    def __init__(self, bits=4, max_length=3):
        self.bits = bits
        self.input_width = bits + 1
        self.output_width = bits
        self.length_range = (1, max_length)

    def sample(self, rng_seed, batch, length):
        rng = np.random.default_rng(rng_seed)
        lo, hi = self.length_range
        lengths = rng.integers(lo, hi + 1, size=batch) if length is None else np.full(batch, length)
        time = 2 * lengths.max() + 1
        inputs = np.zeros((time, batch, self.input_width), np.float32)
        targets = np.zeros((time, batch, self.output_width), np.float32)
        mask = np.zeros((time, batch), np.float32)
        for b, n in enumerate(lengths):
            vectors = rng.integers(0, 2, size=(n, self.bits)).astype(np.float32)
            inputs[:n, b, : self.bits] = vectors
            inputs[n, b, self.bits] = 1.0  # the delimiter
            targets[n + 1 : 2 * n + 1, b] = vectors[::-1]
            mask[n + 1 : 2 * n + 1, b] = 1.0
        return inputs, targets, mask


def test_a_python_task_trains_a_tiny_ntm_that_visibly_learns(tmp_path):
    experiment = ntm.Experiment.from_dict(EXPERIMENT)
    trainer = ntm.Trainer(experiment, "ntm", out=tmp_path, task=Reverse())
    assert trainer.task.name == "reverse"
    records = []
    trainer.fit(callback=records.append)
    first, last = records[0]["loss_bits"], records[-1]["loss_bits"]
    # About 6.4 bits after the first 800 sequences, under 0.2 after 8,000 (seeds 1 to 4): 1-2 s.
    assert last < 0.1 * first, f"the loss did not fall enough: {first:.2f} -> {last:.2f} bits"
    report = ntm.evaluate(trainer.model)
    assert report["task"] == "reverse" and [r["length"] for r in report["results"]] == [2, 3]
    assert all(r["bit_errors"] < 0.5 for r in report["results"]), report
    trace = trainer.model.trace(inputs=Reverse().sample(0, 1, 3)[0][:, 0])
    assert trace["write_weightings"].shape == (7, 1, 12)


def test_a_python_task_is_reproducible(tmp_path):
    experiment = ntm.Experiment.from_dict(EXPERIMENT)
    a = ntm.Trainer(experiment, "ntm", out=tmp_path / "a", task=Reverse())
    b = ntm.Trainer(experiment, "ntm", out=tmp_path / "b", task=Reverse())
    assert [a.step().loss_bits for _ in range(5)] == [b.step().loss_bits for _ in range(5)]


class Broken(Reverse):
    def __init__(self, returns):
        super().__init__()
        self.returns = returns

    def sample(self, rng_seed, batch, length):
        # Broken in training only: the trainer's memory estimate draws one episode of length 3.
        drawn = super().sample(rng_seed, batch, length)
        return self.returns(drawn) if length is None else drawn


@pytest.mark.parametrize(
    "returns, message",
    [
        (lambda r: r[:2], r"returned a tuple; expected a tuple \(inputs, targets, mask\)"),
        (lambda r: (r[0][:, :, :2], r[1], r[2]), r"inputs has shape \[\d+, 8, 2\]; expected \[\d+, 8, 5\]"),
        (lambda r: (r[0], r[1], r[2][:-1]), r"mask has shape \[\d+, 8\]; expected \[\d+, 8\]"),
        (lambda r: (r[0].astype(np.int64), r[1], r[2]), "inputs: expected a numpy array of float32 .* int64"),
        (lambda r: (r[0].tolist(), r[1], r[2]), "inputs: expected a numpy array of float32 .* got a list"),
    ],
)
def test_a_bad_batch_is_one_value_error(tmp_path, returns, message):
    trainer = ntm.Trainer(ntm.Experiment.from_dict(EXPERIMENT), "ntm", out=tmp_path, task=Broken(returns))
    with pytest.raises(ValueError, match=r"task reverse: sample\(\d+, 8, None\)"):
        trainer.step()
    with pytest.raises(ValueError, match=message):
        trainer.fit()


def test_exceptions_of_the_task_pass_through_and_bad_tasks_are_refused(tmp_path):
    def fails(_):
        raise ZeroDivisionError("inside sample")

    trainer = ntm.Trainer(ntm.Experiment.from_dict(EXPERIMENT), "ntm", out=tmp_path, task=Broken(fails))
    with pytest.raises(ZeroDivisionError, match="inside sample"):
        trainer.step()
    experiment = ntm.Experiment.from_dict(EXPERIMENT)
    task = Reverse()
    task.length_range = (3, 1)
    with pytest.raises(ValueError, match=r"length_range = \(3, 1\): must be \(min, max\)"):
        ntm.Trainer(experiment, "ntm", out=tmp_path / "x", task=task)
    task = Reverse()
    del task.output_width
    with pytest.raises(ValueError, match="has no output_width"):
        ntm.Trainer(experiment, "ntm", out=tmp_path / "x", task=task)
    task = Reverse()
    task.input_width = 10**12
    with pytest.raises(ValueError, match="input_width = 1000000000000: must be at most 65536"):
        ntm.Trainer(experiment, "ntm", out=tmp_path / "x", task=task)


def test_a_python_task_too_big_for_the_memory_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("NTM_MEMORY_LIMIT", "64M")
    with pytest.raises(ValueError, match=r"model ntm: training on the reverse task .* needs about \d+ MiB, more than"):
        ntm.Trainer(ntm.Experiment.from_dict(EXPERIMENT), "ntm", out=tmp_path, task=Reverse(max_length=5000))
