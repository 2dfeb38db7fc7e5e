//! A sweep as a SLURM job array (`ntm sweep ... --slurm`): one array task per (seed, model)
//! job, each running the `ntm train` command a local sweep runs (with `--resume`, so that a
//! task requeued after a preemption continues from its checkpoint, and a first start trains from
//! scratch), then evaluating the model (`ntm eval <model folder> --save`, the sweep's
//! evaluation). `ntm summarize` gathers the results afterwards.
//!
//! The batch script runs `ntm` as a child of its shell (not as a job step), appending to the
//! job's log `seed-<k>/<model>.log` as a local sweep does, and passes SIGTERM, SIGINT and SIGHUP
//! on to it, so `ntm train` saves a checkpoint and exits with 128 + the signal, however SLURM
//! or a user signals the task:
//! - `scontrol requeue`, preemption (`PreemptMode=REQUEUE`), the time limit and `scancel`
//!   signal every process of the task: `ntm train` gets SIGTERM itself and once more from the
//!   script (a repeated SIGTERM changes nothing);
//! - `scancel --signal=TERM --full` (or `--batch`) signals the script, which passes it on;
//! - `scancel --signal=TERM` alone signals only a job's steps: the script starts one step,
//!   a relay that only waits and, on a signal, passes it to the script.
//!
//! The script never requeues itself: whether a stopped task runs again is SLURM's decision
//! (requeue, preemption) or the user's (`scontrol requeue`), so a plain `scancel` stays a
//! cancel.

use std::path::Path;

use super::shell_quote;

/// One array task: a job's `ntm train` arguments (after `ntm`), its model folder and its log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArrayTask {
    /// `seed 3 ntm`, for the script's comments.
    pub label: String,
    /// The arguments of `ntm` that train the job, ending in `--resume`.
    pub train: Vec<String>,
    /// The model folder, to evaluate once trained.
    pub dir: String,
    /// The job's log, appended to.
    pub log: String,
}

/// What a sweep's array script needs besides its tasks.
#[derive(Debug, Clone)]
pub struct ArrayScript<'a> {
    /// The job's name in `squeue`, e.g. `ntm-copy`.
    pub name: &'a str,
    /// The folder the paths are relative to (the sweep's working folder): `--chdir`.
    pub workdir: &'a Path,
    /// The `ntm` executable, run unless `NTM` names another.
    pub ntm: &'a Path,
    /// The sweep folder, for SLURM's own output files (`slurm-<job>_<task>.out`).
    pub out: &'a Path,
    pub tasks: &'a [ArrayTask],
}

/// The batch script of a sweep's job array (see the module documentation).
pub fn array_script(script: &ArrayScript) -> String {
    let q = |p: &Path| shell_quote(&p.display().to_string());
    let words = |w: &[String]| w.iter().map(|w| shell_quote(w)).collect::<Vec<_>>().join(" ");
    let n = script.tasks.len();
    let mut s = String::new();
    s += "#!/bin/bash\n";
    s += &format!("#SBATCH --job-name={}\n", shell_quote(script.name));
    s += &format!("#SBATCH --array=1-{n}\n");
    s += "#SBATCH --ntasks=1\n#SBATCH --cpus-per-task=1\n";
    s += "#SBATCH --requeue\n#SBATCH --open-mode=append\n";
    s += &format!("#SBATCH --chdir={}\n", q(script.workdir));
    s += &format!("#SBATCH --output={}\n", q(&script.out.join("slurm-%A_%a.out")));
    s += &format!(
        "# Written by `ntm sweep --slurm`: {n} array task{} of one (seed, model) training each, as the local\n",
        if n == 1 { "" } else { "s" }
    );
    s += "# sweep runs it (with --resume: a requeued task continues from its checkpoint), then its\n";
    s += "# evaluation. Submit with `sbatch <this file>`; options given to sbatch override those above\n";
    s += "# (--partition, --time, --mem, --array=1-N%K for at most K tasks at once). When every task\n";
    s += &format!("# has finished: ntm summarize {}\n", q(script.out));
    s += "# Stop a task with a checkpoint: scancel --signal=TERM JOB_TASK (then `scontrol requeue\n";
    s += "# JOB_TASK` to go on); `scontrol requeue JOB_TASK` alone stops it and queues it again.\n";
    s += "set -u\n";
    s += &format!("NTM=${{NTM:-{}}}\n", q(script.ntm));
    s += "export RAYON_NUM_THREADS=1\n";
    s += "case \"${SLURM_ARRAY_TASK_ID:-}\" in\n";
    for (i, task) in script.tasks.iter().enumerate() {
        s += &format!("  {}) # {}\n", i + 1, task.label);
        s += &format!("    train=({})\n", words(&task.train));
        s += &format!("    dir={}\n    log={} ;;\n", shell_quote(&task.dir), shell_quote(&task.log));
    }
    s += "  *) echo \"no task ${SLURM_ARRAY_TASK_ID:-} in this array of 1-";
    s += &format!("{n}\" >&2; exit 2 ;;\nesac\n");
    s += r#"
# `ntm` runs as a child of this shell, which passes each stop signal on to it.
child=
forward() { [ -n "$child" ] && kill -s "$1" "$child" 2>/dev/null; }
trap 'forward TERM' TERM
trap 'forward INT' INT
trap 'forward HUP' HUP

# `scancel --signal=TERM` without --full reaches job steps only: a step that waits and passes
# the first signal it gets on to this script, then ends (so that it never holds the node once
# the task is done: SLURM ends a job's steps with SIGTERM).
relay=
if [ -n "${SLURM_JOB_ID:-}" ] && command -v srun >/dev/null 2>&1; then
  srun --overlap --ntasks=1 --cpus-per-task=1 --mem=0 --quiet --kill-on-bad-exit=0 \
    bash -c 'for s in TERM INT HUP; do trap "kill -s $s '"$$"' 2>/dev/null; kill \$! 2>/dev/null; exit 0" $s; done
             while :; do sleep 3600 & wait $!; done' \
    </dev/null >/dev/null 2>&1 &
  relay=$!
fi

# Runs `ntm` with the given arguments, its output appended to the job's log; its exit status.
run() {
  printf '$ ntm %s\n' "$*" >>"$log"
  "$NTM" "$@" >>"$log" 2>&1 </dev/null &
  child=$!
  # wait returns early when a trapped signal arrives; the child's status is kept for the last.
  while kill -0 "$child" 2>/dev/null; do wait "$child"; done
  wait "$child"
}

echo "task ${SLURM_ARRAY_TASK_ID} (restart ${SLURM_RESTART_COUNT:-0}): ntm ${train[*]}"
run "${train[@]}"
status=$?
if [ "$status" = 0 ]; then
  run eval "$dir" --save
  status=$?
fi
[ -n "$relay" ] && kill "$relay" 2>/dev/null
echo "task ${SLURM_ARRAY_TASK_ID}: exit status $status"
exit "$status"
"#;
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_case_per_task_with_its_command() {
        let tasks = vec![ArrayTask {
            label: "seed 1 ntm".into(),
            train: [
                "train",
                "e.toml",
                "--model",
                "ntm",
                "--out",
                "sw/seed-1",
                "--set",
                "seed=1",
                "--set",
                "name=a b",
                "--resume",
            ]
            .map(String::from)
            .to_vec(),
            dir: "sw/seed-1/ntm".into(),
            log: "sw/seed-1/ntm.log".into(),
        }];
        let script = array_script(&ArrayScript {
            name: "ntm-e",
            workdir: Path::new("/work"),
            ntm: Path::new("/bin/ntm"),
            out: Path::new("sw"),
            tasks: &tasks,
        });
        assert!(script.starts_with("#!/bin/bash\n#SBATCH --job-name=ntm-e\n#SBATCH --array=1-1\n"), "{script}");
        for line in [
            "#SBATCH --requeue",
            "#SBATCH --open-mode=append",
            "#SBATCH --chdir=/work",
            "#SBATCH --output=sw/slurm-%A_%a.out",
            "NTM=${NTM:-/bin/ntm}",
            "    train=(train e.toml --model ntm --out sw/seed-1 --set seed=1 --set 'name=a b' --resume)",
            "    dir=sw/seed-1/ntm",
            "trap 'forward TERM' TERM",
        ] {
            assert!(script.lines().any(|l| l == line), "no line {line:?} in:\n{script}");
        }
        assert!(!script.contains("scontrol requeue $"), "the script must not requeue itself");
    }
}
