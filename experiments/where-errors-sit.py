"""Where a copy NTM's wrong bits sit in one traced episode: the trace JSON that
`ntm plot heads` writes beside its figure (inputs, targets, outputs, each head's weighting
per step). Prints, for the recall phase: wrong bits, whether the read head is on the slot
the vector was written to, and how much write weight each slot received during the recall
before it was read (the write head's diffuse writes once there is nothing left to store).

    python3 experiments/where-errors-sit.py plots/heads-ntm-500.json
"""
import json
import statistics as st
import sys

t = json.load(open(sys.argv[1]))
L = t["length"]
read = next(h for h in t["heads"] if h["kind"] == "read")["steps"]
write = next(h for h in t["heads"] if h["kind"] == "write")["steps"]
N = len(write[0]["weighting"])
argmax = lambda w: max(range(len(w)), key=w.__getitem__)
written = [argmax(s["weighting"]) for s in write[:L]]  # slot of vector j
wrong, offsets, junk = [], [], []
for j in range(L):
    step = L + 1 + j  # the step that outputs vector j
    out, target = t["outputs"][step], t["targets"][step]
    wrong.append(sum((o > 0.5) != (g > 0.5) for o, g in zip(out, target)))
    offsets.append((argmax(read[step]["weighting"]) - written[j] + N // 2) % N - N // 2)
    junk.append(sum(write[k]["weighting"][written[j]] for k in range(L + 1, step + 1)))
bad = [j for j in range(L) if wrong[j]]
good = [j for j in range(L) if not wrong[j]]
print(f"length {L}, {N} slots: {sum(wrong)} wrong bits in {len(bad)} of {L} vectors"
      + (f", the first at vector {bad[0]}" if bad else ""))
print(f"read head on the written slot: {sum(o == 0 for o in offsets)} of {L} steps"
      f" (off by {sorted(set(offsets))})")
peak = [max(write[L + 1 + j]["weighting"]) for j in range(L)]
print(f"write head during the recall: peak weight median {st.median(peak):.3f} (1/N = {1 / N:.4f})")
print(f"write weight a slot received in the recall before its read: median {st.median(junk):.3f},"
      f" max {max(junk):.3f}" + (f"; at the wrong vectors median {st.median(junk[j] for j in bad):.3f},"
      f" min {min(junk[j] for j in bad):.3f}; at the right ones median {st.median(junk[j] for j in good):.3f}"
      if bad else ""))
# What the wrong outputs are: the vector stored in the slot the read head is on (a shifted
# copy: the head lags), or something else (a blurred read while it drifts).
slot_of = {s: j for j, s in enumerate(written)}
shifted, blurred = 0, 0
for j in bad:
    step = L + 1 + j
    r = argmax(read[step]["weighting"])
    source = slot_of.get(r)
    bits = [o > 0.5 for o in t["outputs"][step]]
    if source is not None and bits == [g > 0.5 for g in t["targets"][L + 1 + source]]:
        shifted += 1
    else:
        blurred += 1
def lag(j):
    source = slot_of.get(argmax(read[L + 1 + j]["weighting"]))
    return None if source is None else j - source
print(f"wrong vectors that are exact copies of the vector in the slot read (a lagging read head): {shifted};"
      f" others (a blurred read while the head drifts): {blurred}")
if bad:
    print(f"read head lag (vectors behind) at the end: {lag(L - 1)}; peak read weight median over the wrong"
          f" vectors {st.median(max(read[L + 1 + j]['weighting']) for j in bad):.3f}, over the right ones"
          f" {st.median(max(read[L + 1 + j]['weighting']) for j in good):.3f}")
