"""Where a repeat-copy NTM stops: for traced episodes (the JSON that `ntm plot heads ... --repeats R`
writes beside its figure), the repeat in which the end-marker output first exceeds 0.5, the
wrong bits of each repeat (the 8 vector channels, the marker left out), the marker's output at
the step the target has it, and the largest total write weight the stored slots receive after
the 11th repeat (whether the write head overwrites the sequence it is copying).

    python3 experiments/repeat-count.py runs/heads/*.json
"""
import json
import sys


def argmax(v):
    return max(range(len(v)), key=v.__getitem__)


for path in sys.argv[1:]:
    t = json.load(open(path))
    L, R = t["length"], t["repeats"]
    out, target = t["outputs"], t["targets"]
    start = L + 2  # the first answer step: L vectors, the delimiter, the repeat count
    repeat_steps = [range(start + k * L, start + (k + 1) * L) for k in range(R)]
    first = next((k + 1 for k, steps in enumerate(repeat_steps) if any(out[s][-1] > 0.5 for s in steps)), None)
    wrong = [sum(sum((o > 0.5) != (g > 0.5) for o, g in zip(out[s][:-1], target[s][:-1])) for s in steps)
             for steps in repeat_steps]
    write = next(h for h in t["heads"] if h["kind"] == "write")["steps"]
    stored = {argmax(write[s]["weighting"]) for s in range(L)}
    late = range(start + 11 * L, start + R * L)
    overwrite = max((sum(write[s]["weighting"][i] for i in stored) for s in late), default=0.0)
    print(f"{path}: L={L} R={R}: marker first > 0.5 in repeat {first}; wrong bits per repeat {wrong}; "
          f"marker at the end step {out[start + R * L][-1]:.2f}; "
          f"most write weight on the stored slots after repeat 11 {overwrite:.2f}")
