//! `ntm summarize DIR`: the summary, table and figures of the seed runs in a sweep folder,
//! wherever they were trained ([`ntm::sweep::summarize`]). `ntm sweep` ends with the same.

use anyhow::Result;

use crate::cmd::cli::SummarizeArgs;

pub fn summarize(args: &SummarizeArgs) -> Result<()> {
    let jobs = super::jobs_or_cores(args.jobs)?;
    // One writer per sweep folder: not while `ntm sweep` (or another summary) writes it. (A
    // folder that is not there is refused by the summary, naming it.)
    let lock = || ntm::records::lock::FolderLock::acquire(&args.dir, "ntm summarize");
    let _lock = if args.dir.is_dir() { Some(lock()?) } else { None };
    super::summarize_and_draw(&args.dir, None, args.threshold, jobs)
}
