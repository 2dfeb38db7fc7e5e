//! A small worker pool: runs independent jobs (models of a run, seeds x models of a sweep) on
//! a few threads, each job on one thread from start to end; and the share of the cores a job's
//! fused kernels may use while it runs ([`kernel_threads`]).
//!
//! The cores are shared without oversubscribing them: while [`run_jobs`] runs `n` jobs at once
//! in this process, each job's kernels may use `cores / n` threads (at least one), so the last
//! model of `ntm run` takes both cores once the others are done; a process running one job
//! outside [`run_jobs`] (`ntm train`) may use every core. [`limit_threads`] caps it (`--threads`;
//! `ntm sweep` gives each of its training processes its share that way).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

/// The number of jobs to run at once by default: the cores this process may use.
pub fn cores() -> usize {
    static CORES: OnceLock<usize> = OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// Jobs of [`run_jobs`] running in this process now.
static RUNNING: AtomicUsize = AtomicUsize::new(0);

/// The most threads one job's kernels may use ([`limit_threads`]); 0 for no limit.
static THREAD_LIMIT: AtomicUsize = AtomicUsize::new(0);

/// Sets the threads of one job's kernels to `threads` (at least 1; `--threads`): exactly
/// that many while the job runs alone, at most that many beside other jobs.
pub fn limit_threads(threads: usize) {
    THREAD_LIMIT.store(threads.max(1), Ordering::Relaxed);
}

/// The threads a fused kernel called now may use: the cores divided among the jobs running
/// (at least 1), or [`limit_threads`]'s. Results do not depend on it (the kernels that use it
/// are checked bit for bit at 1, 2 and 3 threads, `tests/threads.rs`).
pub fn kernel_threads() -> usize {
    let running = RUNNING.load(Ordering::Relaxed);
    let share = (cores() / running.max(1)).max(1);
    match THREAD_LIMIT.load(Ordering::Relaxed) {
        0 => share,
        limit if running <= 1 => limit,
        limit => share.min(limit),
    }
}

/// The threads the fused kernels run their split work on, apart from candle's: as many as the
/// cores (a split into more parts than that, as the tests make on 2 cores, runs them in turn;
/// each thread's allocator heap holds pages of its own, so more threads would cost memory).
pub fn kernel_pool() -> &'static rayon::ThreadPool {
    static POOL: OnceLock<rayon::ThreadPool> = OnceLock::new();
    POOL.get_or_init(|| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(cores())
            .thread_name(|i| format!("ntm-kernel-{i}"))
            .build()
            .expect("the kernel threads could not be started")
    })
}

/// Counts a job as running while it lives (also when the job panics).
struct Running;

impl Running {
    fn start() -> Self {
        RUNNING.fetch_add(1, Ordering::Relaxed);
        Self
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        RUNNING.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Makes candle compute on one thread unless `RAYON_NUM_THREADS` says otherwise (candle reads
/// it at every matrix product). Measured: the small operations of these models only slow down
/// with a second thread. For a program's start (the `ntm` binary, the Python module), while no
/// other thread reads the environment.
pub fn prefer_one_thread() {
    if std::env::var_os("RAYON_NUM_THREADS").is_none() {
        std::env::set_var("RAYON_NUM_THREADS", "1");
    }
}

/// Runs `work` on every job, at most `workers` at a time (at least one), and returns the
/// results in the order of `jobs`. Jobs start in that order, each when a worker is free.
/// A panic in `work` is raised again here once the other workers have finished.
pub fn run_jobs<J, R, F>(jobs: Vec<J>, workers: usize, work: F) -> Vec<R>
where
    J: Send,
    R: Send,
    F: Fn(J) -> R + Sync,
{
    let count = jobs.len();
    // Popped from the end, so reversed: the first job starts first.
    let queue = Mutex::new(jobs.into_iter().enumerate().rev().collect::<Vec<_>>());
    let results = Mutex::new((0..count).map(|_| None).collect::<Vec<Option<R>>>());
    std::thread::scope(|scope| {
        for _ in 0..workers.clamp(1, count.max(1)) {
            scope.spawn(|| loop {
                let Some((index, job)) = queue.lock().expect("job queue").pop() else { break };
                let running = Running::start();
                let result = work(job);
                drop(running);
                results.lock().expect("job results")[index] = Some(result);
            });
        }
    });
    results.into_inner().expect("job results").into_iter().map(|r| r.expect("every job ran")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_job_runs_once_and_results_keep_the_job_order() {
        for workers in [1, 2, 5, 40] {
            let out = run_jobs((0..17).collect(), workers, |j: u64| j * j);
            assert_eq!(out, (0..17).map(|j| j * j).collect::<Vec<_>>(), "{workers} workers");
        }
        assert!(run_jobs(Vec::<u8>::new(), 3, |j| j).is_empty());
    }

    #[test]
    fn no_more_than_the_workers_run_at_once() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let (running, peak) = (AtomicUsize::new(0), AtomicUsize::new(0));
        run_jobs((0..12).collect(), 3, |_: u32| {
            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
            peak.fetch_max(now, Ordering::SeqCst);
            std::thread::sleep(std::time::Duration::from_millis(5));
            running.fetch_sub(1, Ordering::SeqCst);
        });
        assert!(peak.load(Ordering::SeqCst) <= 3);
    }
}
