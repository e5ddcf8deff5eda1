//! `grunt rerun <jobs..>`: a new job with the same code, arguments and profile as each given
//! job, its message naming the original.

use anyhow::Result;
use grunt_core::git::{self, tree};
use grunt_core::{command, jobfile, jobs, time};

use crate::context::Ctx;
use crate::wait::{self, WaitArg};
use crate::{newjob, ui};

#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Jobs to run again: ids, numbers or ranges.
    pub jobs: Vec<String>,
    #[command(flatten)]
    pub wait: WaitArg,
    /// When the new jobs have ended, copy their results and compare each result file's hash
    /// with the original's: says identical, or which files differ (exit 4).
    #[arg(long)]
    pub verify: bool,
    /// With --verify: give up waiting for the new jobs after SECS seconds (exit 3).
    #[arg(long, value_name = "SECS", requires = "verify")]
    pub timeout: Option<u64>,
    /// Print the new jobs as JSON (`{"ids": [...], "server", "project", "reruns": [{"id",
    /// "of", "commit"}]}`) instead of a line each.
    #[arg(long)]
    pub json: bool,
}

/// One new job of `rerun --json`.
#[derive(Debug, serde::Serialize)]
struct Rerun {
    id: String,
    /// The job it runs again.
    of: String,
    commit: String,
}

pub fn run(ctx: &Ctx, a: Args) -> Result<()> {
    ctx.require_jobs(&a.jobs, "rerun")?;
    ctx.pull_jobs()?;
    let all = ctx.list()?;
    let mut reruns = Vec::new();
    for job in ctx.resolve(&a.jobs, &all)? {
        let Some(root) = ctx.tip()? else {
            break;
        };
        // The job as submitted: its `job.*` files then are the client's or project files
        // named so (`job.sh`), which stay; without it (history cut short) the job as it is now,
        // whose `job.*` files may all be the runner's.
        let tip = match git::head(&ctx.jobs)? {
            Some(h) => Some(ctx.jobs.find_commit(h)?),
            None => None,
        };
        let submitted = tip
            .as_ref()
            .and_then(|c| jobs::submitted_tree(&ctx.jobs, c, &job.id, &job.project));
        let as_submitted = submitted.is_some();
        let Some(old) = submitted.or_else(|| tree::subtree(&ctx.jobs, &root, &job.dir())) else {
            ui::note(format!("note: {} has no files; skipped", job.id));
            continue;
        };
        // The code as it was, without the old job's state and requests.
        let mut edits = Vec::new();
        for f in tree::walk_files(&ctx.jobs, &old)? {
            let name = f.path.rsplit('/').next().unwrap_or(&f.path);
            // The code's provenance is the original's: its commit and patch stay.
            let source = [jobfile::COMMIT, jobfile::PATCH].contains(&f.path.as_str());
            let state = match as_submitted {
                true => jobfile::CLIENT_OWNED.contains(&name),
                false => jobfile::is_job_file(name),
            };
            if (state && !source) || name.starts_with(command::PREFIX) {
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
        // The same point of the same sweep, and the same key: a rerun is deliberate.
        for name in [
            jobfile::PROFILE,
            jobfile::PARAMS,
            jobfile::SWEEP,
            jobfile::KEY,
        ] {
            if let Some(text) = job.files.text(name) {
                put(name, text.to_string())?;
            }
        }
        put(
            &format!("{}submit", command::PREFIX),
            command::timestamp_content(),
        )?;
        let new_tree = tree::apply(&ctx.jobs, Some(old.id()), &edits)?;
        let (id, commit) = newjob::publish(ctx, new_tree, &message)?;
        if !a.json {
            ui::out(format!(
                "submitted job {id} to {}: {message}",
                ctx.key.server
            ))?;
        }
        reruns.push(Rerun {
            id: id.to_string(),
            of: job.id.to_string(),
            commit: commit.to_string(),
        });
        if let Some(secs) = a.wait.wait {
            if let Err(e) = wait::wait_for(ctx, commit, secs) {
                // Scripts still learn the ids of what was submitted.
                print_json(ctx, a.json, &reruns)?;
                return Err(e);
            }
        }
    }
    print_json(ctx, a.json, &reruns)?;
    if a.verify {
        super::verify::verify(ctx, &reruns_pairs(&reruns), a.timeout)?;
    }
    Ok(())
}

fn reruns_pairs(reruns: &[Rerun]) -> Vec<(String, String)> {
    reruns
        .iter()
        .map(|r| (r.of.clone(), r.id.clone()))
        .collect()
}

fn print_json(ctx: &Ctx, json: bool, reruns: &[Rerun]) -> Result<()> {
    if !json {
        return Ok(());
    }
    ui::json(&serde_json::json!({
        "ids": reruns.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
        "server": ctx.key.server,
        "project": ctx.key.project,
        "reruns": reruns,
    }))
}
