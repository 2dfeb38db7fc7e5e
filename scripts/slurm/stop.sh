#!/usr/bin/env bash
# scripts/slurm/stop.sh - stops what scripts/slurm/start.sh started (slurmd, slurmctld, then
# munged), by their pid files only. Idempotent. --keep-munge leaves munged running.
set -u

stop() {  # stop NAME PIDFILE: SIGTERM, wait up to 10 s, then SIGKILL
  local name=$1 pidfile=$2 pid
  [ -s "$pidfile" ] || return 0
  pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
      echo "stop.sh: $name ($pid) ignored SIGTERM, killing" >&2
      kill -KILL "$pid" 2>/dev/null
    fi
  fi
  rm -f "$pidfile"
}

# slurmd first: on SIGTERM it does not kill running jobs' processes
# (slurmstepd); cancel them while slurmctld still answers.
if [ -s /run/slurmctld.pid ] && kill -0 "$(cat /run/slurmctld.pid)" 2>/dev/null; then
  squeue -h -o %A 2>/dev/null | xargs -r scancel --quiet 2>/dev/null || true
  for _ in $(seq 50); do
    [ -z "$(squeue -h -t running,completing 2>/dev/null)" ] && break; sleep 0.2
  done
fi
stop slurmd /run/slurmd.pid
stop slurmctld /run/slurmctld.pid
[ "${1:-}" = --keep-munge ] || stop munged /run/munge/munged.pid
exit 0
