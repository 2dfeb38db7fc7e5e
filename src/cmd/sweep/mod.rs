//! `ntm sweep`: one run of an experiment per seed, each (seed, model) job an `ntm train` child
//! process of this executable (exactly the command `--print-commands` prints), at most `--jobs`
//! at once, each finished job evaluated in the pool, then the summary of `ntm summarize`.
//!
//! Stop signals: the children run in their own process group, so the terminal's SIGINT reaches
//! only this process, which forwards each Ctrl-C (and each SIGTERM or SIGHUP) to every running
//! child exactly once (the first makes them save a checkpoint and stop, a second Ctrl-C makes
//! them quit at once, as for `ntm train`). On Linux a child also gets SIGINT if this process
//! dies, so no training is left orphaned.

use std::collections::VecDeque;
use std::fs::OpenOptions;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicI32, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

use super::Interrupted;
use crate::cmd::cli::SweepArgs;
use ntm::config::Experiment;
use ntm::records::lock::FolderLock;
use ntm::records::report::{EvalReport, MetricsRecord};
use ntm::records::run_dir::EXPERIMENT_FILE;
use ntm::sweep::seed_run::{self, SeedRunError};
use ntm::sweep::slurm::{self, ArrayScript, ArrayTask};
use ntm::sweep::summarize::Selection;
use ntm::sweep::summary::{cell_label, DEFAULT_THRESHOLD};
use ntm::sweep::{format_seeds, parse_seeds, seed_dir, shell_line, Job, Mode};

mod plan;

use plan::{mode, plan, Action, Plan};

/// How often the scheduler looks at its children and their metrics.
const POLL: Duration = Duration::from_millis(250);

pub fn sweep(args: &SweepArgs) -> Result<()> {
    let plan = plan(args)?;
    super::note_shadowed(&plan.experiment, &args.overrides, &plan.models);
    if args.print_commands {
        let mut lines = String::new();
        for (job, _) in &plan.work {
            lines += &format!("ntm {}\n", shell_line(&job_args(args, &plan.out, job, mode(args))));
        }
        return super::print(lines.trim_end());
    }
    // One writer per sweep folder (each job's `ntm train` locks its model folder).
    let _lock = FolderLock::acquire(&plan.out, "ntm sweep")?;
    if args.slurm {
        write_experiments(&plan)?;
        return write_slurm(args, &plan);
    }
    write_experiments(&plan)?;

    let started = Instant::now();
    let failed = run_jobs(args, &plan)?;
    if presses() > 0 {
        let signal = FIRST.load(Ordering::SeqCst);
        return Err(Interrupted { resume: resume_command(args, &plan.out), signal }.into());
    }
    eprintln!("every job done in {:.0} s", started.elapsed().as_secs_f64());
    let selection = Selection { seeds: &plan.seeds, models: &plan.models };
    super::summarize_and_draw(&plan.out, Some(&selection), args.threshold, plan.jobs)?;
    if !failed.is_empty() {
        let mut failed = failed;
        failed.sort_by(|a, b| (a.seed, &a.model).cmp(&(b.seed, &b.model)));
        let labels: Vec<String> = failed.iter().map(Job::label).collect();
        bail!(
            "{} of {} jobs failed ({}); their logs are {}/seed-<k>/<model>.log; the summary lists them",
            failed.len(),
            plan.work.len(),
            labels.join(", "),
            plan.out.display()
        );
    }
    Ok(())
}

/// Writes the sweep's experiment into its folder and each seed's into the seed's folder.
fn write_experiments(plan: &Plan) -> Result<()> {
    let write = |path: PathBuf, experiment: &Experiment| {
        std::fs::write(&path, experiment.to_toml()).with_context(|| format!("{}: cannot write", path.display()))
    };
    write(plan.out.join(EXPERIMENT_FILE), &plan.experiment)?;
    for &seed in &plan.seeds {
        let dir = seed_dir(&plan.out, seed);
        std::fs::create_dir_all(&dir).with_context(|| format!("{}: cannot create", dir.display()))?;
        write(dir.join(EXPERIMENT_FILE), &Experiment { seed, ..plan.experiment.clone() })?;
    }
    Ok(())
}

/// `--slurm`: writes the sweep's job array, `slurm.sbatch` in the sweep folder (see
/// [`ntm::sweep::slurm`]), with a task for every job not yet trained and evaluated, and says
/// how to submit it and gather the results.
fn write_slurm(args: &SweepArgs, plan: &Plan) -> Result<()> {
    let tasks: Vec<ArrayTask> = plan
        .work
        .iter()
        .filter(|(_, action)| *action != Action::Skip)
        .map(|(job, _)| ArrayTask {
            label: job.label(),
            train: job_args(args, &plan.out, job, Mode::Resume),
            dir: job.dir(&plan.out).display().to_string(),
            log: job.log(&plan.out).display().to_string(),
        })
        .collect();
    let path = plan.out.join(SLURM_SCRIPT);
    if tasks.is_empty() {
        bail!("{}: every job is trained and evaluated already; nothing to submit", plan.out.display());
    }
    let workdir = std::env::current_dir().context("cannot read the current folder")?;
    let ntm = std::env::current_exe().context("cannot find the ntm executable")?;
    let name = format!("ntm-{}", plan.experiment.name);
    let script =
        slurm::array_script(&ArrayScript { name: &name, workdir: &workdir, ntm: &ntm, out: &plan.out, tasks: &tasks });
    std::fs::write(&path, script).with_context(|| format!("{}: cannot write", path.display()))?;
    let out = shell_line(&[plan.out.display().to_string()]);
    super::print(&format!(
        "wrote {}: a SLURM array of {} task{} (one per seed and model)\nsubmit it with: sbatch {}\nthen, once every \
         task has finished: ntm summarize {out}",
        path.display(),
        tasks.len(),
        if tasks.len() == 1 { "" } else { "s" },
        shell_line(&[path.display().to_string()])
    ))
}

/// The job array script `--slurm` writes into the sweep folder.
const SLURM_SCRIPT: &str = "slurm.sbatch";

/// The arguments of `ntm` that run `job` of the sweep into `out`: its `ntm train` command
/// ([`Job::train_args`]), with `--allow-changes` when the sweep resumes with it.
fn job_args(args: &SweepArgs, out: &Path, job: &Job, mode: Mode) -> Vec<String> {
    let mut words = job.train_args(&args.experiment, out, &args.overrides, mode);
    if args.allow_changes && mode == Mode::Resume {
        words.push("--allow-changes".into());
    }
    words
}

/// The command that continues an interrupted sweep.
fn resume_command(args: &SweepArgs, out: &Path) -> String {
    let mut words: Vec<String> = vec!["ntm".into(), "sweep".into(), args.experiment.display().to_string()];
    words.extend(["--seeds".into(), format_seeds(&parse_seeds(&args.seeds).unwrap_or_default())]);
    if let Some(models) = &args.models {
        words.extend(["--models".into(), models.join(",")]);
    }
    if let Some(jobs) = args.jobs {
        words.extend(["--jobs".into(), jobs.to_string()]);
    }
    words.extend(["--out".into(), out.display().to_string()]);
    for assignment in &args.overrides {
        words.extend(["--set".into(), assignment.clone()]);
    }
    if args.threshold != DEFAULT_THRESHOLD {
        words.extend(["--threshold".into(), args.threshold.to_string()]);
    }
    if args.allow_changes {
        words.push("--allow-changes".into());
    }
    words.push("--resume".into());
    shell_line(&words)
}

// ---------------------------------------------------------------------------------------
// Stop signals

/// Stop signals received so far (SIGINT, SIGTERM, SIGHUP).
static SIGNALS: AtomicUsize = AtomicUsize::new(0);
/// The first stop signal received, 0 before any.
static FIRST: AtomicI32 = AtomicI32::new(0);
/// Process ids of the running children, to forward the signals to.
static CHILDREN: Mutex<Vec<u32>> = Mutex::new(Vec::new());

/// Stop signals received so far.
fn presses() -> usize {
    SIGNALS.load(Ordering::SeqCst)
}

/// Sends `signal` to process `pid`.
fn forward(pid: u32, signal: i32) {
    // SAFETY: kill(2) takes any pid and signal number; a pid that has exited gives ESRCH.
    unsafe {
        libc::kill(pid as libc::pid_t, signal);
    }
}

/// Installs the handler of the stop signals: each is forwarded to every running child (which
/// saves a checkpoint and stops, as `ntm train` does); the first stops launching jobs; a second
/// Ctrl-C also ends this process at once (and, forwarded, every job), while a repeated SIGTERM
/// or SIGHUP is only passed on.
fn install_handler() {
    super::on_stop_signals(|signal| {
        let n = SIGNALS.fetch_add(1, Ordering::SeqCst) + 1;
        let _ = FIRST.compare_exchange(0, signal, Ordering::SeqCst, Ordering::SeqCst);
        for &pid in CHILDREN.lock().expect("children").iter() {
            forward(pid, signal);
        }
        match (n, signal) {
            (1, libc::SIGINT) => super::note(
                "Ctrl-C: every running job stops after its batch and saves a checkpoint (Ctrl-C again quits at once)",
            ),
            (1, signal) => super::note(&format!(
                "{}: every running job stops after its batch and saves a checkpoint",
                super::signal_name(signal)
            )),
            (_, libc::SIGINT) => {
                super::note("Ctrl-C again: exiting now; each job keeps the last checkpoint it wrote");
                std::process::exit(super::exit_code(signal).into());
            }
            _ => {}
        }
    });
}

// ---------------------------------------------------------------------------------------
// Running the jobs

/// Progress on a terminal (a bar per running job under a bar of all jobs), plain lines
/// otherwise.
struct Display {
    multi: MultiProgress,
    total: Option<ProgressBar>,
}

impl Display {
    fn new(jobs: usize) -> Self {
        let multi = MultiProgress::new();
        let total = std::io::stderr().is_terminal().then(|| {
            let bar = multi.add(ProgressBar::new(jobs as u64));
            bar.set_style(
                ProgressStyle::with_template("{prefix:>14} [{bar:30}] {pos}/{len} jobs done  {msg}  {elapsed}")
                    .expect("a valid template")
                    .progress_chars("=> "),
            );
            bar.set_prefix("sweep");
            bar
        });
        Self { multi, total }
    }

    fn note(&self, text: &str) {
        match &self.total {
            Some(_) => {
                let _ = self.multi.println(text);
            }
            None => eprintln!("{text}"),
        }
    }

    fn job_bar(&self, job: &Job, done: u64, total: u64) -> Option<ProgressBar> {
        self.total.as_ref()?;
        let bar = self.multi.add(ProgressBar::new(total));
        bar.set_style(
            ProgressStyle::with_template("{prefix:>14} [{bar:30}] {pos}/{len} seq  {msg}  eta {eta}")
                .expect("a valid template")
                .progress_chars("=> "),
        );
        bar.set_prefix(job.label());
        bar.set_position(done);
        bar.reset_eta();
        Some(bar)
    }

    fn status(&self, done: usize, running: usize, evaluating: usize, waiting: usize, failed: usize) {
        if let Some(bar) = &self.total {
            bar.set_position(done as u64);
            let failed = if failed > 0 { format!(", {failed} failed") } else { String::new() };
            bar.set_message(format!("{running} training, {evaluating} evaluating, {waiting} waiting{failed}"));
        }
    }
}

/// A training child process and what is shown of it.
struct Running {
    job: Job,
    child: Child,
    bar: Option<ProgressBar>,
    target: u64,
    /// Tenths of `target` reported so far (plain-line progress).
    tenths: u64,
}

/// The last complete line of `dir/metrics.jsonl`.
fn last_record(dir: &Path) -> Option<MetricsRecord> {
    let text = std::fs::read_to_string(dir.join(ntm::records::run_dir::METRICS_FILE)).ok()?;
    let complete = &text[..text.rfind('\n')?];
    serde_json::from_str(complete.lines().last()?).ok()
}

/// The last `error: ...` line of a job's log.
fn error_line(log: &Path) -> Option<String> {
    let text = std::fs::read_to_string(log).ok()?;
    text.lines().rev().find(|l| l.starts_with("error: ")).map(|l| l.trim_start_matches("error: ").to_owned())
}

/// Starts the training process of `job` on `threads` threads, its output appended to its log.
fn spawn(args: &SweepArgs, out: &Path, job: &Job, mode: Mode, threads: usize) -> Result<Child> {
    let mut words = job_args(args, out, job, mode);
    words.extend(["--threads".into(), threads.to_string()]);
    let path = job.log(out);
    let mut log = OpenOptions::new()
        .create(true)
        .append(mode == Mode::Resume)
        .write(true)
        .truncate(mode != Mode::Resume)
        .open(&path)
        .with_context(|| format!("{}: cannot write", path.display()))?;
    writeln!(log, "$ ntm {}", shell_line(&words)).with_context(|| format!("{}: cannot write", path.display()))?;
    let exe = std::env::current_exe().context("cannot find the ntm executable to run the jobs")?;
    let mut command = Command::new(exe);
    command
        .args(&words)
        .env("RAYON_NUM_THREADS", "1")
        .stdin(Stdio::null())
        .stdout(log.try_clone().with_context(|| format!("{}", path.display()))?)
        .stderr(log);
    use std::os::unix::process::CommandExt;
    // Its own process group: the terminal's Ctrl-C reaches the sweep only, which forwards it.
    command.process_group(0);
    #[cfg(target_os = "linux")]
    // SAFETY: prctl is async-signal-safe and touches no memory of the parent.
    unsafe {
        command.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGINT);
            Ok(())
        });
    }
    command.spawn().with_context(|| format!("{}: cannot start its training", job.label()))
}

/// Runs every job of `plan`, at most `plan.jobs` at once (training processes and evaluations
/// together), until all are done or Ctrl-C. Returns the jobs that failed.
fn run_jobs(args: &SweepArgs, plan: &Plan) -> Result<Vec<Job>> {
    install_handler();
    // The sweep's own evaluations run beside its training processes, one thread each.
    ntm::base::pool::limit_threads(1);
    let out = &plan.out;
    let display = Display::new(plan.work.len());
    let mut pending: VecDeque<(Job, Action)> = plan.work.iter().cloned().collect();
    let mut running: Vec<Running> = Vec::new();
    let mut evaluating: Vec<(Job, JoinHandle<Result<EvalReport, SeedRunError>>)> = Vec::new();
    let mut failed: Vec<Job> = Vec::new();
    let mut done = 0;
    let evaluate = |job: &Job| {
        let dir = job.dir(out);
        std::thread::spawn(move || seed_run::evaluate(&dir))
    };
    loop {
        let stop = presses() > 0;
        while !stop && running.len() + evaluating.len() < plan.jobs {
            let Some((job, action)) = pending.pop_front() else { break };
            match action {
                Action::Skip => {
                    display.note(&format!("{}: trained and evaluated already, skipped", job.label()));
                    done += 1;
                }
                Action::Evaluate => {
                    display.note(&format!("{}: trained already, evaluating", job.label()));
                    evaluating.push((job.clone(), evaluate(&job)));
                }
                Action::Train(mode) => {
                    let target = plan.experiment.train.for_model(&job.model).sequences;
                    // The cores shared among the jobs that run at once from here (no more
                    // than --jobs): the last jobs of a sweep get more threads each.
                    let trainings = pending.iter().filter(|(_, a)| matches!(a, Action::Train(_))).count();
                    let at_once = (running.len() + evaluating.len() + 1 + trainings).min(plan.jobs);
                    let threads = (ntm::base::pool::cores() / at_once.max(1)).max(1);
                    let child = spawn(args, out, &job, mode, threads)?;
                    CHILDREN.lock().expect("children").push(child.id());
                    // A signal between the check above and the registration: forward it now.
                    if presses() > 0 {
                        forward(child.id(), FIRST.load(Ordering::SeqCst));
                    }
                    let at = last_record(&job.dir(out)).map_or(0, |r| r.sequences);
                    display.note(&format!("{}: training (log {})", job.label(), job.log(out).display()));
                    let bar = display.job_bar(&job, at, target);
                    running.push(Running { job, child, bar, target, tenths: at * 10 / target.max(1) });
                }
            }
        }

        let mut i = 0;
        while i < running.len() {
            let r = &mut running[i];
            if let Some(record) = last_record(&r.job.dir(out)) {
                match &r.bar {
                    Some(bar) => {
                        bar.set_position(record.sequences);
                        bar.set_message(format!("errors {:.3} bits/seq", record.bit_errors));
                    }
                    None => {
                        let tenths = record.sequences * 10 / r.target.max(1);
                        if tenths > r.tenths && !stop {
                            r.tenths = tenths;
                            display.note(&format!(
                                "{}: {} sequences  loss {:.2} bits  errors {:.3} bits/seq  {:.0} s",
                                r.job.label(),
                                record.sequences,
                                record.loss_bits,
                                record.bit_errors,
                                record.seconds
                            ));
                        }
                    }
                }
            }
            let Some(status) = r.child.try_wait().with_context(|| r.job.label())? else {
                i += 1;
                continue;
            };
            let r = running.swap_remove(i);
            CHILDREN.lock().expect("children").retain(|&pid| pid != r.child.id());
            if let Some(bar) = &r.bar {
                bar.finish_and_clear();
                display.multi.remove(bar);
            }
            let label = r.job.label();
            match status.code() {
                Some(0) if presses() == 0 => {
                    let last = last_record(&r.job.dir(out));
                    let tail =
                        last.map_or(String::new(), |m| format!(", last {:.3} bit errors per sequence", m.bit_errors));
                    display.note(&format!("{label}: trained{tail}; evaluating"));
                    evaluating.push((r.job.clone(), evaluate(&r.job)));
                }
                Some(0 | 129 | 130 | 143) if presses() > 0 => {
                    display.note(&format!("{label}: stopped, checkpoint saved"));
                }
                code => {
                    let why = error_line(&r.job.log(out))
                        .unwrap_or_else(|| code.map_or("killed by a signal".into(), |c| format!("exit status {c}")));
                    display.note(&format!("{label}: FAILED: {why}"));
                    failed.push(r.job);
                    done += 1;
                }
            }
        }

        let mut i = 0;
        while i < evaluating.len() {
            if !evaluating[i].1.is_finished() {
                i += 1;
                continue;
            }
            let (job, handle) = evaluating.swap_remove(i);
            match handle.join() {
                Ok(Ok(report)) => {
                    let errors: Vec<String> = report
                        .results
                        .iter()
                        .map(|r| format!("{} {:.3}", cell_label((r.length, r.repeats)), r.bit_errors))
                        .collect();
                    display.note(&format!("{}: evaluated, bit errors {}", job.label(), errors.join(", ")));
                }
                Ok(Err(e)) => {
                    display.note(&format!("{}: FAILED to evaluate: {e}", job.label()));
                    failed.push(job);
                }
                Err(_) => {
                    display.note(&format!("{}: FAILED: its evaluation panicked", job.label()));
                    failed.push(job);
                }
            }
            done += 1;
        }

        display.status(done, running.len(), evaluating.len(), pending.len(), failed.len());
        if running.is_empty() && evaluating.is_empty() && (pending.is_empty() || presses() > 0) {
            break;
        }
        std::thread::sleep(POLL);
    }
    if let Some(bar) = &display.total {
        bar.finish_and_clear();
    }
    Ok(failed)
}
