#!/usr/bin/env bash
# scripts/slurm/check.sh - `ntm sweep --slurm` end to end on a real single-node SLURM: starts it
# (scripts/slurm/start.sh), writes and submits the job array of a tiny sweep (2 seeds x 1
# model), preempts task 1 midway, checks that it was requeued and resumed from its checkpoint
# (its metrics go on without a duplicated row, its log says where it stopped and where it
# went on), that both tasks completed, and that `ntm summarize` of the array's folder gives,
# byte for byte, the summary.json of the same sweep run here by `ntm sweep`. Stops SLURM at
# the end. Prints how long each phase took.
#
# Needs root and slurm-wlm + munge (see start.sh; NTM_SLURM_INSTALL=1 installs them).
#   NTM=path/to/ntm         the binary to test [default: target/release/ntm, built if absent]
#   PREEMPT=signal          how task 1 is preempted:
#                             signal   scancel --signal=TERM J_1 (reaches the task's relay
#                                      step), then scontrol requeue J_1 once it has stopped
#                             full     scancel --signal=TERM --full J_1, then scontrol requeue
#                             batch    scancel --signal=TERM --batch J_1, then scontrol requeue
#                             requeue  scontrol requeue J_1 (SIGTERM to every process, requeued)
#   NTM_SLURM_KEEP=1        leave SLURM running at the end
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
PREEMPT=${PREEMPT:-signal}
SEQUENCES=${SEQUENCES:-40000}
T0=$(date +%s.%N)
elapsed() { awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN { printf "%6.1fs", b - a }'; }
say() { echo "[$(elapsed)] $*"; }
fail() {
  say "FAIL: $*"
  squeue -r 2>/dev/null || true
  for f in "$W"/array/slurm-*.out "$W"/array/seed-*/lstm.log; do [ -f "$f" ] && { echo "--- $f"; tail -n 20 "$f"; }; done
  exit 1
}
W=$(mktemp -d /tmp/ntm-slurm-check.XXXXXX)
cleanup() { [ "${NTM_SLURM_KEEP:-0}" = 1 ] || scripts/slurm/stop.sh >/dev/null 2>&1 || true; }
trap cleanup EXIT

NTM=${NTM:-$ROOT/target/release/ntm}
if [ ! -x "$NTM" ]; then
  say "building $NTM"
  cargo build --release --quiet
fi
NTM=$(readlink -f "$NTM")
scripts/slurm/start.sh
say "slurm up"

# The tiny copy experiment of the tests, long enough to preempt midway (a few seconds a run).
cp tests/data/tiny.toml "$W/tiny.toml"
SET=(--set "train.sequences=$SEQUENCES" --set train.report_every=200 --set train.checkpoint_every=2000)
cd "$W"
"$NTM" sweep tiny.toml --seeds 1-2 --models lstm --out array "${SET[@]}" --slurm
J=$(sbatch --parsable array/slurm.sbatch)
say "submitted array job $J"

# Task 1 running with a checkpoint of its own, not yet done: preempt it.
meta=array/seed-1/lstm/checkpoint.json
for _ in $(seq 600); do
  [ -s "$meta" ] && [ "$(squeue -h -j "${J}_1" -o %T 2>/dev/null)" = RUNNING ] && break
  sleep 0.1
done
[ -s "$meta" ] || fail "task 1 wrote no checkpoint within 60 s"
say "task 1 running, checkpoint at $(grep -o '"sequences": [0-9]*' "$meta"); preempting it ($PREEMPT)"
stopped() {  # waits for task 1 to end after a signal that does not requeue it
  for _ in $(seq 300); do
    case "$(squeue -h -j "${J}_1" -o %T 2>/dev/null)" in RUNNING|COMPLETING) sleep 0.1 ;; *) return 0 ;; esac
  done
  fail "task 1 still running 30 s after SIGTERM"
}
case $PREEMPT in
  signal) scancel --signal=TERM "${J}_1"; stopped; scontrol requeue "${J}_1" ;;
  full) scancel --signal=TERM --full "${J}_1"; stopped; scontrol requeue "${J}_1" ;;
  batch) scancel --signal=TERM --batch "${J}_1"; stopped; scontrol requeue "${J}_1" ;;
  requeue) scontrol requeue "${J}_1" ;;
  *) fail "PREEMPT=$PREEMPT: use signal, full, batch or requeue" ;;
esac
say "task 1 preempted and requeued"

for _ in $(seq 1800); do [ -z "$(squeue -h -r -j "$J" 2>/dev/null)" ] && break; sleep 0.1; done
[ -z "$(squeue -h -r -j "$J" 2>/dev/null)" ] || fail "the array did not finish within 3 minutes"
say "array finished"

for t in 1 2; do
  state=$(scontrol show job "${J}_$t" | grep -oE '(JobState|Restarts|ExitCode)=[^ ]+' | tr '\n' ' ')
  echo "   task $t: $state"
  grep -q 'JobState=COMPLETED' <<<"$state" || fail "task $t did not complete"
  dir=array/seed-$t/lstm
  [ -s "$dir/eval.json" ] || fail "task $t: no eval.json"
  seqs=$(grep -o '"sequences":[0-9]*' "$dir/metrics.jsonl" | cut -d: -f2)
  [ "$(tail -n1 <<<"$seqs")" = "$SEQUENCES" ] || fail "task $t: metrics end at $(tail -n1 <<<"$seqs")"
  [ "$(sort -n <<<"$seqs")" = "$seqs" ] && [ "$(sort -nu <<<"$seqs" | wc -l)" = "$(wc -l <<<"$seqs")" ] ||
    fail "task $t: metrics rows out of order or duplicated"
done
log=array/seed-1/lstm.log
grep -q 'stopped by SIGTERM: checkpoints saved' "$log" || fail "task 1 did not stop with a checkpoint on SIGTERM"
resumed=$(grep -o 'training from [0-9]* to' "$log" | tail -n1)
[ -n "$resumed" ] && [ "$resumed" != "training from scratch to" ] || fail "task 1 did not resume from its checkpoint"
grep -q 'Restarts=1' <<<"$(scontrol show job "${J}_1")" || fail "task 1 was not requeued once"
say "task 1 stopped with a checkpoint and went on: $resumed $SEQUENCES"

"$NTM" summarize array >/dev/null
say "summarized"
"$NTM" sweep tiny.toml --seeds 1-2 --models lstm --out local "${SET[@]}" >/dev/null 2>&1
say "local sweep done"
cmp array/summary.json local/summary.json || fail "the array's summary.json differs from the local sweep's"
say "PASS: summary.json of the SLURM array equals the local sweep's, byte for byte (work folder $W)"
