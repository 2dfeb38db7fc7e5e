"""Trained models from Python against the `ntm` command: the committed copy NTM evaluates to
`ntm eval --json` bit for bit, traces to the JSON of `ntm plot heads` bit for bit, and its
logits from forward() are the traced logits bit for bit."""

import json

import numpy as np
import pytest

import ntm
from conftest import COPY, REPO


@pytest.fixture(scope="module")
def copy_ntm():
    return ntm.load_model(COPY / "ntm")


def test_evaluate_is_ntm_eval_bit_for_bit(copy_ntm, cli):
    ours = ntm.evaluate(copy_ntm)  # the experiment's [eval]: lengths 10 to 120, 64 sequences each
    theirs = json.loads(cli("eval", COPY / "ntm", "--json").stdout)
    assert ours == theirs
    assert [r["length"] for r in ours["results"]] == [10, 20, 30, 50, 120]
    lstm = ntm.load_model(COPY, "lstm")
    ours = ntm.evaluate(lstm, lengths=[5, 25], sequences=8)
    assert ours == json.loads(cli("eval", COPY / "lstm", "--lengths", "5,25", "--sequences", "8", "--json").stdout)


def test_evaluate_with_other_slots_is_ntm_eval_slots(cli):
    model = ntm.load_model(COPY / "ntm", slots=256)
    ours = ntm.evaluate(model, lengths=[200], sequences=4)
    theirs = json.loads(cli("eval", COPY / "ntm", "--slots", "256", "--lengths", "200", "--sequences", "4", "--json").stdout)
    assert ours == theirs and ours["results"][0]["slots"] == 256


def test_a_trace_is_the_json_of_ntm_plot_heads_bit_for_bit(copy_ntm, cli, tmp_path):
    trace = copy_ntm.trace(20, seed=3)
    cli("plot", "heads", COPY / "ntm", "--length", "20", "--seed", "3", "-o", tmp_path / "heads.png")
    theirs = json.loads((tmp_path / "heads.json").read_text())
    f32 = lambda values: np.asarray(values, dtype=np.float32)  # noqa: E731 (JSON holds f32 exactly)
    for key in ["inputs", "targets", "mask", "outputs", "initial_memory"]:
        assert np.array_equal(trace[key], f32(theirs[key])), key
    assert list(trace["shift_offsets"]) == theirs["shifts"]
    for head in theirs["heads"]:
        kind, i = head["kind"], head["index"]
        steps = head["steps"]
        pairs = [("weightings", "weighting"), ("content", "content_weighting"), ("keys", "key"),
                 ("strengths", "beta"), ("gates", "gate"), ("shifts", "shift"), ("sharpenings", "gamma")]
        for ours, field in pairs:
            assert np.array_equal(trace[f"{kind}_{ours}"][:, i], f32([s[field] for s in steps])), (kind, ours)
        own = {"read": [("reads", "read")], "write": [("erase", "erase"), ("add", "add")]}[kind]
        for ours, field in own:
            assert np.array_equal(trace[ours][:, i], f32([s[field] for s in steps])), (kind, ours)


def test_forward_gives_the_traced_logits_bit_for_bit(copy_ntm):
    trace = copy_ntm.trace(20, seed=3)
    logits = copy_ntm.forward(trace["inputs"])
    assert logits.dtype == np.float32 and logits.shape == (41, 8)
    assert np.array_equal(logits, trace["logits"])
    batch = copy_ntm.forward(trace["inputs"][:, None, :])
    assert batch.shape == (41, 1, 8) and np.array_equal(batch[:, 0], logits)
    # It copies: thresholded outputs are the targets where they count.
    answer = trace["mask"] > 0
    assert np.array_equal((logits[answer] > 0).astype(np.float32), trace["targets"][answer])


def test_trace_shapes_and_memory(copy_ntm):
    trace = copy_ntm.trace(5, seed=1)
    t, n, m = 11, 128, 20
    assert trace["read_weightings"].shape == (t, 1, n) and trace["write_weightings"].shape == (t, 1, n)
    assert trace["memory"].shape == (t, n, m) and trace["initial_memory"].shape == (n, m)
    assert trace["read_keys"].shape == (t, 1, m) and trace["write_shifts"].shape == (t, 1, 3)
    assert trace["read_strengths"].shape == trace["write_gates"].shape == (t, 1)
    assert trace["erase"].shape == trace["add"].shape == trace["reads"].shape == (t, 1, m)
    np.testing.assert_allclose(trace["read_weightings"].sum(axis=2), 1.0, rtol=1e-5)
    # What each step's read head reads is its weighting over that step's memory (eq. 2) ...
    reads = np.einsum("tn,tnm->tm", trace["read_weightings"][:, 0].astype(np.float64), trace["memory"])
    np.testing.assert_allclose(reads, trace["reads"][:, 0], rtol=1e-4, atol=1e-6)
    # ... and that memory is the last one erased and added to by the write head (eqs. 3, 4).
    w, e, a = trace["write_weightings"][:, 0], trace["erase"][:, 0], trace["add"][:, 0]
    previous = np.concatenate([trace["initial_memory"][None], trace["memory"][:-1]])
    rebuilt = previous * (1 - w[:, :, None] * e[:, None, :]) + w[:, :, None] * a[:, None, :]
    np.testing.assert_allclose(rebuilt, trace["memory"], rtol=1e-4, atol=1e-6)


def test_a_run_folder_and_a_trainers_model(tiny, tmp_path):
    models = ntm.load_run(COPY)
    assert sorted(models) == ["lstm", "ntm", "ntm-ff"]
    assert models["ntm"].parameter_count == 62736 and models["ntm"].kind == "ntm"
    params = models["ntm-ff"].parameters()
    assert sum(p.size for p in params.values()) == models["ntm-ff"].parameter_count == 13536
    trainer = ntm.Trainer(ntm.Experiment.load(tiny), "ntm", out=tmp_path / "run")
    model = trainer.model
    before = model.forward(np.zeros((3, 5), np.float32))
    trainer.step()
    assert model.trained_sequences == 4
    assert not np.array_equal(model.forward(np.zeros((3, 5), np.float32)), before)
    report = ntm.evaluate(model, lengths=[2], sequences=4)
    assert report["model"] == "ntm" and report["results"][0]["sequences"] == 4


def test_a_dnc_trace_is_the_json_of_ntm_plot_heads_bit_for_bit(cli, tmp_path):
    (tmp_path / "tiny-dnc.toml").write_text((REPO / "tests" / "data" / "tiny-dnc.toml").read_text())
    cli("train", "tiny-dnc.toml", "--model", "dnc", "--out", "out")
    model = ntm.load_model(tmp_path / "out" / "dnc")
    assert model.kind == "dnc"
    trace = model.trace(5, seed=2)
    cli("plot", "heads", "out/dnc", "--length", "5", "--seed", "2", "-o", "heads.png")
    theirs = json.loads((tmp_path / "heads.json").read_text())["dnc"]
    f32 = lambda values: np.asarray(values, dtype=np.float32)  # noqa: E731 (JSON holds f32 exactly)
    dnc, steps = trace["dnc"], theirs["steps"]
    assert trace["write_weightings"].shape == (11, 0, 6) and "memory" not in trace
    assert dnc["read_mode_names"] == theirs["read_modes"]
    for key in ["usage", "retention", "allocation", "write_content", "write_weighting", "precedence", "write_key",
                "erase", "write_vector", "write_strength", "allocation_gate", "write_gate", "free_gates"]:
        assert np.array_equal(dnc[key], f32([s[key] for s in steps])), key
    pairs = [("read_content", "content"), ("read_forward", "forward"), ("read_backward", "backward"),
             ("read_weightings", "weighting"), ("read_keys", "key"), ("reads", "read"),
             ("read_strengths", "strength"), ("read_modes", "modes")]
    for ours, field in pairs:
        assert np.array_equal(dnc[ours], f32([[r[field] for r in s["reads"]] for s in steps])), ours
    assert list(dnc["link_steps"]) == [link["step"] for link in theirs["links"]]
    assert np.array_equal(dnc["links"], f32([link["matrix"] for link in theirs["links"]]))
