//! `grunt results [jobs]`: ask grund to copy jobs' result files (the runner's `results` list)
//! into the results repo, and link them into `gresults/<jobid>`.

use anyhow::Result;
use grunt_core::command;
use grunt_core::git::tree;
use grunt_core::jobfile;
use grunt_core::jobs::JobRecord;
use grunt_core::layout::Location;
use grunt_core::state::State;
use grunt_core::time;

use crate::context::Ctx;
use crate::wait::WaitArg;

#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Jobs (default: running jobs, and finished ones whose results are older than their end).
    pub jobs: Vec<String>,
    #[command(flatten)]
    pub wait: WaitArg,
}

pub fn run(ctx: &Ctx, a: Args) -> Result<()> {
    ctx.pull_jobs()?;
    let all = ctx.list()?;
    let targets = if a.jobs.is_empty() {
        default_targets(ctx, &all)?
    } else {
        ctx.resolve(&a.jobs, &all)?
    };
    super::grcmd::send(ctx, "results", &targets, a.wait.wait)?;
    for j in &targets {
        super::link::make_link(ctx, j)?;
    }
    Ok(())
}

/// The original's choice: active jobs that run, and finished ones (not canceled) that ended
/// after their last results request.
fn default_targets(ctx: &Ctx, all: &[JobRecord]) -> Result<Vec<JobRecord>> {
    let Some(root) = ctx.tip()? else {
        return Ok(Vec::new());
    };
    Ok(all
        .iter()
        .filter(|j| j.location == Location::Active)
        .filter(|j| match j.summary("").state {
            State::Pending | State::Canceled => false,
            State::Running => true,
            _ => {
                let asked = tree::read_file(
                    &ctx.jobs,
                    &root,
                    &format!("{}/{}results", j.dir(), command::PREFIX),
                )
                // The first line is the time (the original reads only it); a `request:`
                // token follows.
                .and_then(|b| time::parse(&grunt_core::fsutil::first_line(&b)));
                let ended = time::parse(&j.files.line(jobfile::END));
                match (asked, ended) {
                    (None, _) => true,
                    (Some(a), Some(e)) => e > a,
                    (Some(_), None) => false,
                }
            }
        })
        .cloned()
        .collect())
}
