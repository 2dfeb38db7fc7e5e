"""The copy task from Python: train the paper's NTM, draw where its heads write and read from
the trace's numpy arrays with matplotlib, and test how far it generalises.

    pip install ./python matplotlib          # from the repository's root (docs/python.md)
    python python/examples/copy_task.py           # a minute or two; figures in runs/copy-python/

It writes the run folder `ntm train` writes (runs/copy-python/ntm/), so the command line reads
it too: `ntm plot curves runs/copy-python`, `ntm eval runs/copy-python/ntm --lengths 200`.
"""

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files, no window: works in a terminal and in CI alike
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import ntm  # noqa: E402

REPO = Path(__file__).resolve().parents[2]


def train(out: Path, sequences: int) -> ntm.Trainer:
    """Trains the NTM of experiments/copy.toml (lengths 1-20) for `sequences` sequences (its
    learning-rate schedule spans them: fewer than about 40,000 may end before it learns)."""
    experiment = ntm.Experiment.load(REPO / "experiments" / "copy.toml", overrides=[f"train.sequences={sequences}"])
    trainer = ntm.Trainer(experiment, "ntm", out=out, overwrite=True)

    def progress(record):
        print(f"{record['sequences']:>7} sequences  {record['loss_bits']:8.3f} bits  "
              f"{record['bit_errors']:7.3f} wrong bits per sequence")

    print(trainer.fit(callback=progress)["message"])
    return trainer


def plot_heads(trace: dict, file: Path):
    """The paper's figure 6 from the trace: inputs and outputs over time, the write and read
    weightings over the memory slots they use, and the memory once the input is written."""
    used = np.flatnonzero((trace["write_weightings"].max(axis=(0, 1)) > 0.01)
                          | (trace["read_weightings"].max(axis=(0, 1)) > 0.01))
    slots = slice(used.min(), used.max() + 1)
    length = trace["length"]
    fig, axes = plt.subplots(2, 3, figsize=(14, 7), constrained_layout=True)
    panels = [
        (axes[0, 0], trace["inputs"].T, "inputs", "channel"),
        (axes[0, 1], trace["outputs"].T, "outputs (after the sigmoid)", "channel"),
        (axes[0, 2], trace["memory"][length].T, f"memory after step {length} (the delimiter)", "width"),
        (axes[1, 0], trace["write_weightings"][:, 0, slots].T, "write weighting", "slot"),
        (axes[1, 1], trace["read_weightings"][:, 0, slots].T, "read weighting", "slot"),
    ]
    for ax, image, title, ylabel in panels:
        ax.imshow(image, aspect="auto", interpolation="nearest", cmap="gray_r")
        ax.set_title(title)
        ax.set_ylabel(ylabel)
        ax.set_xlabel("memory slot" if image is panels[2][1] else "time step")
    for ax in axes[1, :2]:
        ax.set_yticks(range(0, slots.stop - slots.start, 4), range(slots.start, slots.stop, 4))
    # The interpolation gates g: 1 addresses by content, 0 keeps the last step's weighting.
    gates = axes[1, 2]
    gates.plot(trace["write_gates"][:, 0], ".-", label="write head")
    gates.plot(trace["read_gates"][:, 0], ".-", label="read head")
    gates.set(title="gate g (1: by content, 0: from before)", xlabel="time step", ylim=(-0.05, 1.05))
    gates.legend()
    fig.suptitle(f"copy, length {length}: NTM after {trace['trained_sequences']} sequences")
    fig.savefig(file)
    plt.close(fig)


def plot_generalisation(report: dict, training: tuple, file: Path):
    """Wrong bits per sequence against the test length, the training range shaded."""
    lengths = [r["length"] for r in report["results"]]
    errors = [r["bit_errors"] for r in report["results"]]
    fig, ax = plt.subplots(figsize=(6, 4), constrained_layout=True)
    ax.axvspan(*training, color="0.9", label="training lengths")
    ax.plot(lengths, errors, "o-", label=report["model"])
    ax.set_xlabel("test sequence length")
    ax.set_ylabel("wrong bits per sequence")
    ax.set_ylim(bottom=0)
    ax.legend()
    fig.savefig(file)
    plt.close(fig)


def main():
    parser = argparse.ArgumentParser(description="Train copy's NTM, plot its heads, test generalisation.")
    parser.add_argument("--sequences", type=int, default=50000, help="training sequences (default 50000, as the experiment)")
    parser.add_argument("--out", type=Path, default=Path("runs") / "copy-python", help="the run folder")
    args = parser.parse_args()

    trainer = train(args.out, args.sequences)
    model = trainer.model
    trace = model.trace(20, seed=0)  # the episode `ntm plot heads --length 20` draws
    plot_heads(trace, args.out / "heads-20.png")
    report = ntm.evaluate(model, lengths=[10, 20, 30, 50, 120], save=True)  # also eval.json
    for r in report["results"]:
        print(f"length {r['length']:>4}: {r['bit_errors']:7.3f} wrong bits per sequence")
    plot_generalisation(report, model.task.length_range, args.out / "generalisation.png")
    curves = ntm.figures.curves(args.out)  # the command line's own figure, by function
    print(f"figures: {args.out / 'heads-20.png'}, {args.out / 'generalisation.png'}, {curves}")


if __name__ == "__main__":
    main()
