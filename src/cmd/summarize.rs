//! `ntm summarize DIR`: the summary, table and figures of the seed runs in a sweep folder,
//! wherever they were trained ([`ntm::sweep::summarize`]). `ntm sweep` ends with the same.

use anyhow::Result;

use crate::cmd::cli::SummarizeArgs;

pub fn summarize(args: &SummarizeArgs) -> Result<()> {
    let jobs = super::jobs_or_cores(args.jobs)?;
    super::summarize_and_draw(&args.dir, None, args.threshold, jobs)
}
