"""Dynamic N-grams from outside the toolkit: what a predictor that counts with a shorter (or
longer) context than the table's would cost, and a check of `ntm episode --json` against an
implementation of the paper's recipe written here from its description.

Each episode draws 32 probabilities from Beta(1/2, 1/2) (a 6-gram table: 5 bits of context),
then 200 bits: 5 fair coins, then each bit 1 with the probability of the 5 bits before it. A
predictor that counts, per context of the last k bits, the ones N1 and zeros N0 that followed
it so far in the episode and predicts (N1 + 1/2) / (N1 + N0 + 1) (1/2 before k bits have been
read) is the Bayes-optimal one for k = 5; its cost at other k is a ladder to read a model's
learning curve against (a model at 166 bits per sequence predicts about as well as counting
with 3 bits of context). Costs are summed over the 199 predictions of bits 1..199, as the
toolkit's mask scores them, in bits per sequence, with their standard errors.

    python3 experiments/ngrams-ladder.py                 # 4,000 episodes drawn here
    python3 experiments/ngrams-ladder.py 20000
    python3 experiments/ngrams-ladder.py 200 --check target/release/ntm

`--check NTM` also draws episodes with `NTM episode experiments/ngrams.toml --seed S --json`
(seeds 1 to the number given) and checks each from outside: 200 bits, the targets the inputs
shifted by one, 199 scored steps, and the reference probabilities equal to the counting
predictor's with k = 5 computed here from the bits alone; then prints the ladder of those
episodes too.
"""
import json
import math
import random
import subprocess
import sys

CONTEXT, LENGTH = 5, 200
KS = range(0, 8)


def draw(rng):
    """One episode of the paper's recipe: the table, then the bits."""
    table = [math.sin(math.pi * rng.random() / 2) ** 2 for _ in range(1 << CONTEXT)]
    bits = [rng.random() < 0.5 for _ in range(CONTEXT)]
    while len(bits) < LENGTH:
        c = 0
        for b in bits[-CONTEXT:]:
            c = 2 * c + b
        bits.append(rng.random() < table[c])
    return bits


def predictions(bits, k):
    """The counting predictor with k bits of context: P(bit t = 1) for t = 1 .. len - 1."""
    counts, out = {}, []
    for t in range(1, len(bits)):
        if t < k:
            out.append(0.5)
            continue
        context = tuple(bits[t - k:t])
        n0, n1 = counts.get(context, (0, 0))
        out.append((n1 + 0.5) / (n0 + n1 + 1))
        counts[context] = (n0 + (not bits[t]), n1 + bits[t])
    return out


def cost(bits, k):
    return -sum(math.log2(p if y else 1 - p) for p, y in zip(predictions(bits, k), bits[1:]))


def ladder(episodes, what):
    print(f"{what}: {len(episodes)} episodes of {LENGTH} bits; bits per sequence, mean +- standard error")
    for k in KS:
        costs = [cost(bits, k) for bits in episodes]
        n = len(costs)
        mean = sum(costs) / n
        se = math.sqrt(sum((c - mean) ** 2 for c in costs) / (n - 1) / n) if n > 1 else float("nan")
        note = "  (the optimum)" if k == CONTEXT else ""
        print(f"  counting with {k} bits of context: {mean:7.2f} +- {se:.2f}{note}")


def check(ntm, seeds):
    episodes = []
    for seed in range(1, seeds + 1):
        command = [ntm, "episode", "experiments/ngrams.toml", "--seed", str(seed), "--json"]
        episode = json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout)
        bits = [x[0] == 1.0 for x in episode["inputs"]]
        assert episode["length"] == LENGTH == len(bits), f"seed {seed}: {episode['length']} bits"
        assert all(x[0] in (0.0, 1.0) for x in episode["inputs"]), f"seed {seed}: inputs not bits"
        assert [y[0] for y in episode["targets"][:-1]] == [float(b) for b in bits[1:]], f"seed {seed}: targets"
        assert episode["mask"] == [1.0] * (LENGTH - 1) + [0.0], f"seed {seed}: mask"
        table = episode["info"]["table"]
        assert episode["info"]["kind"] == "dynamic-ngrams" and len(table) == 1 << CONTEXT, f"seed {seed}: table"
        assert all(0.0 <= p <= 1.0 for p in table), f"seed {seed}: table"
        reference = [r[0] for r in episode["reference"][:-1]]
        ours = predictions(bits, CONTEXT)
        worst = max(abs(a - b) for a, b in zip(reference, ours))
        assert worst < 1e-6, f"seed {seed}: the reference differs from the counting predictor by {worst}"
        episodes.append(bits)
    print(f"{seeds} episodes of `{ntm} episode --json` checked: targets, mask, table, and the reference is the "
          f"counting predictor with {CONTEXT} bits of context")
    ladder(episodes, "episodes of ntm episode --json")


if __name__ == "__main__":
    args = sys.argv[1:]
    ntm = None
    if "--check" in args:
        i = args.index("--check")
        ntm = args[i + 1]
        del args[i:i + 2]
    count = int(args[0]) if args else 4000
    if ntm:
        check(ntm, count)
    else:
        rng = random.Random(1)
        ladder([draw(rng) for _ in range(count)], "episodes drawn here")
