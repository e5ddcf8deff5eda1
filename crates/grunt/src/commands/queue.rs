//! `grunt queue`: ask the runner for the scheduler's queue (it writes `job.queue` in the most
//! recent active job) and show it once grund has answered.

use anyhow::{bail, Result};
use grunt_core::git::tree;
use grunt_core::jobfile;
use grunt_core::layout::Location;

use crate::context::Ctx;
use crate::ui;
use crate::wait::{self, WaitArg};

#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub wait: WaitArg,
}

pub fn run(ctx: &Ctx, a: Args) -> Result<()> {
    ctx.pull_jobs()?;
    let all = ctx.list()?;
    let Some(job) = all
        .iter()
        .filter(|j| j.location == Location::Active)
        .max_by_key(|j| j.id.number())
    else {
        bail!("queue needs an active job to run in (the runner's queue command runs in a job); submit one first");
    };
    let secs = a.wait.wait.unwrap_or(wait::DEFAULT_SECS);
    ctx.wait_after_push.set(Some(secs));
    let commit = ctx.push_command(std::slice::from_ref(&job.id), "queue", &|_| {
        grunt_core::command::timestamp_content()
    })?;
    wait::wait_for(ctx, commit, secs)?;
    let Some(root) = ctx.tip()? else {
        return Ok(());
    };
    match tree::read_file(
        &ctx.jobs,
        &root,
        &format!("{}/{}", job.dir(), jobfile::QUEUE),
    ) {
        Some(q) => ui::out(String::from_utf8_lossy(&q).trim_end())?,
        None => ui::out(format!(
            "the runner wrote no {} (see job.grunter.err of {})",
            jobfile::QUEUE,
            job.id
        ))?,
    }
    Ok(())
}
