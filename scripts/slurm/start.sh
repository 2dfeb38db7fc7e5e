#!/usr/bin/env bash
# scripts/slurm/start.sh - a throw-away single-node SLURM (munge + slurmctld + slurmd) on this
# machine, without systemd: what scripts/slurm/check.sh runs `ntm sweep --slurm` on. Idempotent:
# if everything already runs with the same slurm.conf it only waits for the node to be idle.
#
# For a container or a machine of your own only: it writes /etc/slurm/slurm.conf (refusing to
# replace one it did not write, unless NTM_SLURM_FORCE=1) and starts the daemons as root.
# Needs root and Debian's packages `slurm-wlm` and `munge`:
#   apt-get update && apt-get install -y --no-install-recommends slurm-wlm munge
# (NTM_SLURM_INSTALL=1 makes this script run that when they are missing.)
#
# Tunables (environment):
#   NTM_SLURM_TIMEOUT      seconds to wait for the node to be idle (default 30)
#   NTM_SLURM_KILLWAIT     KillWait: SIGTERM -> SIGKILL grace in s (default 10)
#   NTM_SLURM_CRED_EXPIRE  AuthInfo cred_expire, also the least delay before a requeued job
#                          may start again (default 5, the least SLURM accepts; its default,
#                          120, delays every requeue by two minutes)
set -euo pipefail

[ "$(id -u)" = 0 ] || { echo "start.sh: must run as root" >&2; exit 1; }
if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
  if [ "${NTM_SLURM_INSTALL:-0}" = 1 ] && command -v apt-get >/dev/null; then
    echo "start.sh: installing slurm-wlm and munge" >&2
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null
  fi
fi
for b in munged slurmctld slurmd sinfo scontrol; do
  command -v "$b" >/dev/null || {
    echo "start.sh: '$b' missing; apt-get install -y --no-install-recommends slurm-wlm munge (or NTM_SLURM_INSTALL=1)" >&2
    exit 1; }
done

TIMEOUT=${NTM_SLURM_TIMEOUT:-30}
KILLWAIT=${NTM_SLURM_KILLWAIT:-10}
GRACETIME=${NTM_SLURM_GRACETIME:-0}
CRED_EXPIRE=${NTM_SLURM_CRED_EXPIRE:-5}
CONF=/etc/slurm/slurm.conf
LOGDIR=/var/log/slurm
HOST=$(hostname -s)

[ "$CRED_EXPIRE" -ge 5 ] 2>/dev/null || { echo "start.sh: NTM_SLURM_CRED_EXPIRE must be >= 5" >&2; exit 1; }
log() { echo "start.sh: $*" >&2; }
die() { echo "start.sh: ERROR: $*" >&2; exit 1; }
alive() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

# --- 1. make the short hostname resolvable.  Slurm itself copes without it
#        (explicit 127.0.0.1 addresses below) but munged warns.  -----------
if ! getent hosts "$HOST" >/dev/null; then
  log "adding '$HOST' to /etc/hosts"
  echo "127.0.0.1 $HOST" >>/etc/hosts
fi

# --- 2. munge ----------------------------------------------------------------
install -d -o munge -g munge -m 0700 /etc/munge /var/lib/munge /var/log/munge
install -d -o munge -g munge -m 0755 /run/munge
if [ ! -s /etc/munge/munge.key ]; then
  log "creating /etc/munge/munge.key"
  mungekey --create --keyfile=/etc/munge/munge.key
fi
chown munge:munge /etc/munge/munge.key
chmod 0400 /etc/munge/munge.key
if ! alive /run/munge/munged.pid; then
  rm -f /run/munge/munged.pid /run/munge/munge.socket.2*
  runuser -u munge -- /usr/sbin/munged --num-threads=2
fi
for _ in $(seq 50); do munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break; sleep 0.1; done
munge -n | unmunge >/dev/null || die "munged does not answer (see /var/log/munge/munged.log)"

ACCT_LINES="AccountingStorageType=accounting_storage/none"

# --- 3. slurm.conf -------------------------------------------------------------
# Real CPU topology and memory, as slurmd itself detects them.
read -r NODELINE < <(slurmd -C | head -n1)      # NodeName=vm CPUs=2 ... RealMemory=N
NODELINE=${NODELINE/NodeName=* CPUs=/CPUs=}       # drop "NodeName=xxx "
install -d -m 0755 /etc/slurm "$LOGDIR" /var/spool/slurmctld /var/spool/slurmd
tmp=$(mktemp)
cat >"$tmp" <<EOF
# Written by ntm scripts/slurm/start.sh - a single-node cluster for tests
ClusterName=lab
SlurmctldHost=${HOST}(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=cred_expire=${CRED_EXPIRE}
MpiDefault=none
MailProg=/bin/true
# no cgroups / systemd in this container: track processes by /proc parentage
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
${ACCT_LINES}
JobCompType=jobcomp/filetxt
JobCompLoc=${LOGDIR}/jobcomp.log
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=2,bf_interval=2
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
# requeue: batch jobs requeueable by default; preemption by partition priority
JobRequeue=1
PreemptType=preempt/partition_prio
PreemptMode=REQUEUE
KillWait=${KILLWAIT}
ReturnToService=2
MinJobAge=600
InactiveLimit=0
SlurmdTimeout=60
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=${LOGDIR}/slurmctld.log
SlurmdLogFile=${LOGDIR}/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
NodeName=${HOST} NodeAddr=127.0.0.1 ${NODELINE} State=UNKNOWN
PartitionName=debug  Nodes=${HOST} Default=YES MaxTime=INFINITE State=UP PriorityTier=1  PreemptMode=REQUEUE GraceTime=${GRACETIME}
PartitionName=urgent Nodes=${HOST} Default=NO  MaxTime=INFINITE State=UP PriorityTier=10 PreemptMode=OFF
EOF
if [ -s "$CONF" ] && ! grep -q '^# Written by ntm scripts/slurm/start.sh' "$CONF" && [ "${NTM_SLURM_FORCE:-0}" != 1 ]; then
  rm -f "$tmp"
  die "$CONF was not written by this script; it is left alone (NTM_SLURM_FORCE=1 replaces it)"
fi
changed=0
if ! cmp -s "$tmp" "$CONF"; then
  changed=1
  install -m 0644 "$tmp" "$CONF"
fi
rm -f "$tmp"

# --- 4. daemons ----------------------------------------------------------------
if [ "$changed" = 1 ] && { alive /run/slurmctld.pid || alive /run/slurmd.pid; }; then
  log "slurm.conf changed: restarting daemons"
  "$(dirname "$0")/stop.sh" --keep-munge
fi
if ! alive /run/slurmctld.pid; then
  if [ "${NTM_SLURM_KEEP_STATE:-0}" = 1 ]; then /usr/sbin/slurmctld
  else /usr/sbin/slurmctld -c; fi                 # -c: forget old jobs
fi
if ! alive /run/slurmd.pid; then
  /usr/sbin/slurmd
fi

# --- 5. wait for the node to be idle -------------------------------------------
state=""
for _ in $(seq $((TIMEOUT * 2))); do
  state=$(sinfo -h -N -n "$HOST" -p debug -o %T 2>/dev/null | head -n1 || true)
  case "$state" in
    idle|mixed|allocated) break ;;
    *drain*|down*)  # e.g. after a config change: ReturnToService=2 may not be enough
      scontrol update NodeName="$HOST" State=RESUME 2>/dev/null || true ;;
  esac
  sleep 0.5
done
case "$state" in
  idle|mixed|allocated) log "node $HOST is $state" ;;
  *)
    echo "start.sh: ERROR: node $HOST not idle after ${TIMEOUT}s (state: '${state:-no answer}')" >&2
    scontrol show node "$HOST" 2>&1 | grep -E 'State|Reason' >&2 || true
    tail -n 15 "$LOGDIR/slurmctld.log" "$LOGDIR/slurmd.log" >&2 || true
    exit 1 ;;
esac
