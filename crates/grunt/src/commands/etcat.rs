//! `grunt etcat JOBS`: the project's runner, on the client, as `<runner> etcat <jobid>` in the
//! project directory, for each job: the original client runs `python3 grunter.py etcat JOB`
//! this way (its grunter.py concatenates the job's epoch tables in `gresults/<jobid>` and
//! commits them to the results repo). The runner is found as grund finds it: an executable
//! `grunter`, else `grunter.py` with python3, else `[runner] command` of grunt.toml.

use anyhow::Result;
use grunt_core::config::ProjectConfig;
use grunt_core::runner::{Invocation, JobContext};

use crate::context::Ctx;
use crate::error::{CommandError, Kind};
use crate::ui;

#[derive(Debug, Clone, clap::Args)]
#[command(after_long_help = "Example:\n  grunt link 12 && grunt etcat 12")]
pub struct Args {
    /// Jobs: ids (ore000042), numbers (42) or inclusive ranges (11..22).
    pub jobs: Vec<String>,
}

pub fn run(ctx: &Ctx, a: Args) -> Result<()> {
    ctx.require_jobs(&a.jobs, "etcat")?;
    ctx.pull_for_reading()?;
    let all = ctx.list()?;
    let jobs = ctx.resolve(&a.jobs, &all)?;
    let cfg = ProjectConfig::load(&ctx.cwd)?;
    let mut failed = Vec::new();
    for job in &jobs {
        let jc = JobContext {
            job_id: job.id.to_string(),
            key: ctx.key.clone(),
            job_dir: ctx.cwd.clone(),
        };
        let inv = Invocation::new(&jc, "etcat", &cfg, &grunt_core::runner::process_env())?;
        // The user's own environment (it is their machine), plus the runner's variables.
        let status = std::process::Command::new(&inv.program)
            .args(&inv.args)
            .arg(job.id.to_string())
            .current_dir(&ctx.cwd)
            .envs(inv.env.iter().filter(|(k, _)| k.starts_with("GRUNT_")))
            .status();
        match status {
            Ok(s) if s.success() => {}
            Ok(s) => {
                ui::warn(format!("the runner's etcat failed for {} ({s})", job.id));
                failed.push(job.id.to_string());
            }
            Err(e) => {
                ui::warn(format!("cannot run {}: {e}", inv.program.display()));
                failed.push(job.id.to_string());
            }
        }
    }
    if !failed.is_empty() {
        return Err(CommandError::new(
            Kind::Failed,
            format!("etcat failed for {}", failed.join(", ")),
        )
        .into());
    }
    Ok(())
}
