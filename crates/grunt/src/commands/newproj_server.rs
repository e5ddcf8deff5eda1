//! `grunt newproj-server <project>`: ask grund to create another project on the server,
//! through a command in the most recent job (as the original does).

use anyhow::{bail, Result};

use crate::context::Ctx;
use crate::ui;
use crate::wait::{self, WaitArg};

#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// The new project's name.
    pub project: String,
    #[command(flatten)]
    pub wait: WaitArg,
}

pub fn run(ctx: &Ctx, a: Args) -> Result<()> {
    grunt_core::name::check("project", &a.project)?;
    ctx.pull_jobs()?;
    let all = ctx.list()?;
    let Some(job) = all.iter().max_by_key(|j| j.id.number()) else {
        bail!("newproj-server sends its request through an existing job, and {} has none: submit one, or run `grunt newproj {}` on the server", ctx.key.project, a.project);
    };
    let content = format!("{}\n", a.project);
    let commit = ctx.push_command(std::slice::from_ref(&job.id), "newproj-server", &|_| {
        content.clone()
    })?;
    ui::out(format!(
        "asked the server to create project {} (via job {})",
        a.project, job.id
    ))?;
    if let Some(secs) = a.wait.wait {
        wait::wait_for(ctx, commit, secs)?;
    }
    Ok(())
}
