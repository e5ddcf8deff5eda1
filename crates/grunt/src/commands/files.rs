//! `grunt files <job> <files..>`: copy the named files of one job into the results repo.

use anyhow::{bail, Result};

use crate::context::Ctx;
use crate::ui;
use crate::wait::{self, WaitArg};

#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// The job.
    pub job: String,
    /// Files, relative to the job's directory.
    #[arg(required = true)]
    pub files: Vec<String>,
    #[command(flatten)]
    pub wait: WaitArg,
}

pub fn run(ctx: &Ctx, a: Args) -> Result<()> {
    for f in &a.files {
        if let Err(e) = grunt_core::name::check_relative_path(f) {
            bail!("{e}: result files are paths inside the job directory");
        }
    }
    ctx.pull_jobs()?;
    let all = ctx.list()?;
    let jobs = ctx.resolve(std::slice::from_ref(&a.job), &all)?;
    let [job] = jobs.as_slice() else {
        bail!("files takes exactly one existing job, not {:?}", a.job);
    };
    // Unique per request (a blank-looking last line), so repeating it is a new commit.
    let list = grunt_core::command::files_content(&a.files);
    ctx.wait_after_push.set(a.wait.wait);
    let commit = ctx.push_command(std::slice::from_ref(&job.id), "results", &|_| list.clone())?;
    ui::out(format!("files: {} {}", job.id, a.files.join(" ")))?;
    super::link::make_link(ctx, job)?;
    if let Some(secs) = a.wait.wait {
        wait::wait_for(ctx, commit, secs)?;
    }
    Ok(())
}
