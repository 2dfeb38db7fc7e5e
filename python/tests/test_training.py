"""Training from Python: the same model folders as `ntm train`, resumed across the two bit for
bit, callbacks, KeyboardInterrupt (a checkpoint, then raised again) and divergence."""

import json
import os
import signal
import threading

import numpy as np
import pytest

import ntm
from conftest import assert_same_training, metrics


@pytest.mark.parametrize("model", ["ntm", "lstm"])
def test_fit_writes_what_ntm_train_writes(tiny, tmp_path, cli, model):
    trainer = ntm.Trainer(ntm.Experiment.load(tiny), model, out=tmp_path / "py")
    outcome = trainer.fit()
    assert (outcome["sequences"], outcome["interrupted"]) == (64, False)
    assert outcome["last"]["sequences"] == 64 and trainer.finished
    cli("train", "tiny.toml", "--model", model, "--out", "cli")
    assert_same_training(tmp_path / "py" / model, tmp_path / "cli" / model)
    assert (tmp_path / "py" / model / "config.toml").read_text() == (tmp_path / "cli" / model / "config.toml").read_text()


def test_a_run_started_in_python_resumes_with_the_cli(tiny, tmp_path, cli):
    trainer = ntm.Trainer(ntm.Experiment.load(tiny), "ntm", out=tmp_path / "halves")
    outcome = trainer.fit(32)
    assert (outcome["sequences"], outcome["interrupted"], trainer.sequences) == (32, True, 32)
    cli("train", "tiny.toml", "--model", "ntm", "--out", "halves", "--resume")
    cli("train", "tiny.toml", "--model", "ntm", "--out", "whole")
    assert_same_training(tmp_path / "halves" / "ntm", tmp_path / "whole" / "ntm")


def test_a_run_started_with_the_cli_resumes_in_python(tiny, tmp_path, cli):
    cli("train", "tiny.toml", "--model", "ntm", "--out", "halves", "--set", "train.sequences=32")
    trainer = ntm.Trainer(ntm.Experiment.load(tiny), "ntm", out=tmp_path / "halves", resume=True)
    assert trainer.sequences == 32
    trainer.fit()
    cli("train", "tiny.toml", "--model", "ntm", "--out", "whole")
    assert_same_training(tmp_path / "halves" / "ntm", tmp_path / "whole" / "ntm")


def test_steps_in_memory_then_save_and_resume(tiny, tmp_path, cli):
    experiment = ntm.Experiment.load(tiny)
    trainer = ntm.Trainer(experiment, "ntm", out=tmp_path / "steps")
    steps = [trainer.step() for _ in range(4)]
    assert [s.kind for s in steps] == ["trained"] * 4 and trainer.sequences == 16
    assert all(s.batch == 4 and s.loss_bits > 0 for s in steps)
    trainer.save()
    again = ntm.Trainer(experiment, "ntm", out=tmp_path / "steps", resume=True)
    assert again.sequences == 16
    assert again.step().loss_bits == trainer.step().loss_bits
    # save() made the model folder fit would make: the command resumes it too.
    assert (tmp_path / "steps" / "ntm" / "config.toml").is_file()
    cli("train", "tiny.toml", "--model", "ntm", "--out", "steps", "--resume")
    assert json.loads((tmp_path / "steps" / "ntm" / "checkpoint.json").read_text())["sequences"] == 64


def test_the_callback_sees_each_metrics_line_and_can_stop(tiny, tmp_path, cli):
    seen = []

    def callback(record):
        seen.append(record)
        return record["sequences"] < 32  # False at 32: stop there

    trainer = ntm.Trainer(ntm.Experiment.load(tiny), "ntm", out=tmp_path / "stopped")
    outcome = trainer.fit(callback=callback)
    assert [r["sequences"] for r in seen] == [16, 32]
    assert outcome["interrupted"] and trainer.sequences == 32
    assert [r["loss_bits"] for r in seen] == [m["loss_bits"] for m in metrics(tmp_path / "stopped" / "ntm")]
    cli("train", "tiny.toml", "--model", "ntm", "--out", "stopped", "--resume")
    cli("train", "tiny.toml", "--model", "ntm", "--out", "whole")
    assert_same_training(tmp_path / "stopped" / "ntm", tmp_path / "whole" / "ntm")


def test_an_exception_in_the_callback_saves_and_is_raised(tiny, tmp_path):
    def callback(record):
        raise ZeroDivisionError("in the callback")

    trainer = ntm.Trainer(ntm.Experiment.load(tiny), "ntm", out=tmp_path / "out")
    with pytest.raises(ZeroDivisionError, match="in the callback"):
        trainer.fit(callback=callback)
    saved = json.loads((tmp_path / "out" / "ntm" / "checkpoint.json").read_text())
    assert saved["sequences"] == trainer.sequences == 16


def test_keyboard_interrupt_saves_a_checkpoint_and_resumes_exactly(tiny, tmp_path):
    """Ctrl-C (SIGINT to the process) while fit runs with the GIL released: the training
    stops after its batch, saves, and KeyboardInterrupt is raised; resuming gives the run
    trained in one go."""
    experiment = ntm.Experiment.load(tiny, overrides=["train.sequences=100000", "train.checkpoint_every=100000"])
    trainer = ntm.Trainer(experiment, "ntm", out=tmp_path / "stopped")
    # Python's own Ctrl-C handler, whatever this process inherited: a process started in the
    # background by a non-interactive shell (`cmd &` in a script) ignores SIGINT, and Python
    # then keeps ignoring it.
    inherited = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        ctrl_c = threading.Timer(0.5, lambda: os.kill(os.getpid(), signal.SIGINT))
        ctrl_c.start()
        with pytest.raises(KeyboardInterrupt, match="checkpoint saved"):
            trainer.fit()
        ctrl_c.join()
    finally:
        signal.signal(signal.SIGINT, inherited)
    stopped_at = trainer.sequences
    assert 0 < stopped_at < 100000, "Ctrl-C came too late to stop training"
    assert json.loads((tmp_path / "stopped" / "ntm" / "checkpoint.json").read_text())["sequences"] == stopped_at
    shorter = experiment.with_overrides([f"train.sequences={stopped_at + 64}"])
    ntm.Trainer(shorter, "ntm", out=tmp_path / "stopped", resume=True).fit()
    ntm.Trainer(shorter, "ntm", out=tmp_path / "whole").fit()
    assert_same_training(tmp_path / "stopped" / "ntm", tmp_path / "whole" / "ntm")


def test_divergence_raises_diverged_error_with_failure_json(tiny, tmp_path):
    absurd = ["train.lr=1e30", "train.clip_value=0", "train.clip_norm=0"]
    trainer = ntm.Trainer(ntm.Experiment.load(tiny, overrides=absurd), "ntm", out=tmp_path / "out")
    with pytest.raises(ntm.DivergedError, match="diverged") as caught:
        trainer.fit()
    assert isinstance(caught.value, RuntimeError)
    failure = json.loads((tmp_path / "out" / "ntm" / "failure.json").read_text())
    assert failure["model"] == "ntm" and failure["lr"] == 1e30


def test_fit_releases_the_gil_and_its_model_is_busy_meanwhile(tiny, tmp_path):
    """Another Python thread runs while fit trains; the trainer's model refuses to be used
    until fit returns, then reads the trained weights."""
    experiment = ntm.Experiment.load(tiny, overrides=["train.sequences=100000"])
    trainer = ntm.Trainer(experiment, "ntm", out=tmp_path / "busy")
    model = trainer.model
    seen = []

    def callback(record):
        seen.append(record["sequences"])
        return len(seen) < 100

    fitting = threading.Thread(target=trainer.fit, kwargs={"callback": callback})
    fitting.start()
    refused = False
    while fitting.is_alive() and not refused:
        try:
            model.forward(np.zeros((3, 5), np.float32))
        except RuntimeError as error:
            assert "the trainer is busy" in str(error)
            refused = True
    fitting.join()
    assert refused and trainer.sequences == 100 * 16
    assert model.trained_sequences == trainer.sequences


def test_set_threads_changes_no_bit_and_refuses_a_bad_count(tiny, tmp_path):
    """A trainer on one thread and on three trains to the same bytes (an LSTM of 256 units,
    whose products are wide enough to be split); 0 and 257 are refused with the range in the
    message."""
    experiment = ntm.Experiment.load(tiny, overrides=["models.lstm.size=256"])
    try:
        for threads in (1, 3):
            ntm.set_threads(threads)
            ntm.Trainer(experiment, "lstm", out=tmp_path / f"t{threads}").fit()
        assert_same_training(tmp_path / "t1" / "lstm", tmp_path / "t3" / "lstm")
        for bad in (0, 257):
            with pytest.raises(ValueError, match="1 to 256"):
                ntm.set_threads(bad)
    finally:
        ntm.set_threads(os.cpu_count() or 1)
