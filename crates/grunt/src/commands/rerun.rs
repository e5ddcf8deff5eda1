//! `grunt rerun <jobs..>`: a new job with the same code, arguments and profile as each given
//! job, its message naming the original.

use anyhow::Result;
use grunt_core::git::tree;
use grunt_core::{command, jobfile, time};

use crate::context::Ctx;
use crate::wait::{self, WaitArg};
use crate::{newjob, ui};

#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Jobs to run again: ids, numbers or ranges.
    pub jobs: Vec<String>,
    #[command(flatten)]
    pub wait: WaitArg,
}

pub fn run(ctx: &Ctx, a: Args) -> Result<()> {
    ctx.require_jobs(&a.jobs, "rerun")?;
    ctx.pull_jobs()?;
    let all = ctx.list()?;
    for job in ctx.resolve(&a.jobs, &all)? {
        let Some(root) = ctx.tip()? else {
            break;
        };
        let Some(old) = tree::subtree(&ctx.jobs, &root, &job.dir()) else {
            ui::note(format!("note: {} has no files; skipped", job.id));
            continue;
        };
        // The code as it was, without the old job's state and requests.
        let mut edits = Vec::new();
        for f in tree::walk_files(&ctx.jobs, &old)? {
            let name = f.path.rsplit('/').next().unwrap_or(&f.path);
            if jobfile::is_job_file(name) || name.starts_with(command::PREFIX) {
                edits.push(tree::Edit::Remove {
                    path: f.path.clone(),
                });
            }
        }
        let message = format!("rerun of {}: {}", job.id, job.files.line(jobfile::MESSAGE));
        let mut put = |name: &str, text: String| -> Result<()> {
            edits.push(tree::put_bytes(&ctx.jobs, name, text.as_bytes(), false)?);
            Ok(())
        };
        put(jobfile::MESSAGE, format!("{message}\n"))?;
        put(jobfile::SUBMIT, format!("{}\n", time::now()))?;
        put(
            jobfile::ARGS,
            job.files.text(jobfile::ARGS).unwrap_or("").to_string(),
        )?;
        if let Some(p) = job.files.text(jobfile::PROFILE) {
            put(jobfile::PROFILE, p.to_string())?;
        }
        put(
            &format!("{}submit", command::PREFIX),
            command::timestamp_content(),
        )?;
        let new_tree = tree::apply(&ctx.jobs, Some(old.id()), &edits)?;
        let (id, commit) = newjob::publish(ctx, new_tree, &message)?;
        ui::out(format!("submitted job {id} to {}: {message}", ctx.server))?;
        if let Some(secs) = a.wait.wait {
            wait::wait_for(ctx, commit, secs)?;
        }
    }
    Ok(())
}
