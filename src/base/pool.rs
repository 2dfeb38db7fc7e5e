//! A small worker pool: runs independent jobs (models of a run, seeds x models of a sweep) on
//! a few threads, each job on one thread from start to end.

use std::sync::Mutex;

/// The number of jobs to run at once by default: the cores this process may use.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
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
                let result = work(job);
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
