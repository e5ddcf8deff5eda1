//! `grunt message <job> "text"`: replace a job's message (job.message).

use anyhow::{bail, Result};
use grunt_core::git::{self, sync, tree};
use grunt_core::jobfile;
use grunt_core::jobs;

use crate::context::{Ctx, PUSH_TRIES};
use crate::ui;

#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    pub job: String,
    pub message: String,
}

pub fn run(ctx: &Ctx, a: Args) -> Result<()> {
    if a.message.trim().is_empty() {
        bail!("the message is empty: say why the job exists");
    }
    ctx.pull_jobs()?;
    let all = ctx.list()?;
    let found = ctx.resolve(std::slice::from_ref(&a.job), &all)?;
    let [job] = found.as_slice() else {
        bail!("message takes exactly one existing job, not {:?}", a.job);
    };
    let sig = git::signature(&ctx.jobs, &ctx.key.user)?;
    sync::push_change_fresh(&ctx.jobs, &sig, PUSH_TRIES, |repo, parent| {
        let tip = parent.map(|p| p.tree()).transpose()?;
        let rec = tip
            .as_ref()
            .and_then(|t| jobs::find(repo, t, &job.id, &ctx.key.project));
        let mut edits = Vec::new();
        if let Some(rec) = rec {
            let path = format!("{}/{}", rec.dir(), jobfile::MESSAGE);
            edits.push(tree::put_bytes(
                repo,
                &path,
                format!("{}\n", a.message).as_bytes(),
                false,
            )?);
        }
        Ok(sync::Change {
            edits,
            message: format!("Update message: {} {}", job.id, a.message),
        })
    })?;
    ui::out(format!("message of {}: {}", job.id, a.message))?;
    Ok(())
}
