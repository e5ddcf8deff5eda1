//! `grunt submit [args..] -m "why"`: copy the project's git-tracked files into a new job
//! `active/<jobid>/<project>/` with `job.message`, `job.submit`, `job.args` and
//! `grcmd.submit`, built straight into the jobs repo and pushed. If another client took the
//! job id meanwhile, the job is renumbered before the push is retried.

use std::cell::RefCell;

use anyhow::{bail, Result};
use git2::FileMode;
use grunt_core::config::ProjectConfig;
use grunt_core::git::{self, sync, tree::Edit};
use grunt_core::jobid::JobId;
use grunt_core::layout::{self, ClientLayout, Location};
use grunt_core::{command, fsutil, jobfile, jobs, time};

use crate::context::{Ctx, PUSH_TRIES};
use crate::wait::{self, WaitArg};
use crate::{files, ui};

#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub wait: WaitArg,
    /// The job's arguments (saved one per line in job.args), then `-m "message"`, which must
    /// come last. grunt's own options go before the job's arguments.
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "ARGS"
    )]
    pub rest: Vec<String>,
}

/// Splits `[args..] -m message`.
pub fn split_message(rest: &[String]) -> Result<(Vec<String>, String)> {
    let n = rest.len();
    if n >= 2 && rest[n - 2] == "-m" {
        let msg = rest[n - 1].clone();
        if msg.trim().is_empty() {
            bail!("the -m message is empty: say why you run this job; it is the job's record");
        }
        return Ok((rest[..n - 2].to_vec(), msg));
    }
    if rest.iter().any(|a| a == "-m") {
        bail!("-m \"message\" must come last: grunt submit [args..] -m \"why\"");
    }
    bail!("missing -m \"message\": every job needs one (grunt submit [args..] -m \"why\")");
}

pub fn run(ctx: &Ctx, a: Args) -> Result<()> {
    let (args, message) = split_message(&a.rest)?;
    let cfg = ProjectConfig::load(&ctx.cwd)?;
    let has_runner = [jobfile::RUNNER_EXE, jobfile::RUNNER_PY]
        .iter()
        .any(|r| ctx.cwd.join(r).is_file())
        || cfg.runner.command.is_some();
    if !has_runner {
        bail!(
            "no runner in {}: add an executable `grunter` or a `grunter.py` (copy one from runner-examples/), or set [runner] command in grunt.toml",
            ctx.cwd.display()
        );
    }
    let project_files = files::project_files(&ctx.cwd)?;
    let now = time::now();
    let mut args_text = String::new();
    for arg in &args {
        if arg.contains('\n') {
            bail!("job arguments cannot contain newlines (job.args holds one per line): {arg:?}");
        }
        args_text.push_str(arg);
        args_text.push('\n');
    }
    let job_tree = files::job_tree(
        &ctx.jobs,
        &project_files,
        &[
            (jobfile::MESSAGE, format!("{message}\n")),
            (jobfile::SUBMIT, format!("{now}\n")),
            (jobfile::ARGS, args_text),
            (
                &format!("{}submit", command::PREFIX),
                command::timestamp_content(),
            ),
        ],
    )?;
    let next_file = ClientLayout::new()?.nextjob_file(&ctx.project);
    let next: u64 = fsutil::read_line(&next_file)?
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(1);
    let sig = git::signature(&ctx.jobs, &ctx.user)?;
    let chosen: RefCell<Option<JobId>> = RefCell::new(None);
    let commit = sync::push_change(&ctx.jobs, &sig, PUSH_TRIES, |repo, parent| {
        let max = match parent {
            Some(p) => jobs::max_number(repo, &p.tree()?),
            None => 0,
        };
        let id = JobId::new(&ctx.prefix, next.max(max + 1))?;
        *chosen.borrow_mut() = Some(id.clone());
        Ok(sync::Change {
            edits: vec![Edit::Put {
                path: layout::job_dir(Location::Active, &id, &ctx.project),
                oid: job_tree,
                mode: FileMode::Tree,
            }],
            message: format!("Submit job: {id} {message}"),
        })
    })?;
    let Some(id) = chosen.into_inner() else {
        bail!("internal: no job id was chosen");
    };
    fsutil::write_line(&next_file, &(id.number() + 1).to_string())?;
    ui::out(format!(
        "submitted job {id} to {} ({} files): {message}",
        ctx.server,
        project_files.len()
    ))?;
    if let Some(secs) = a.wait.wait {
        wait::wait_for(ctx, commit, secs)?;
        let all = ctx.list()?;
        let mine: Vec<_> = all.into_iter().filter(|j| j.id == id).collect();
        super::jobs::print_table(ctx, "submitted", &mine)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn message_must_be_last() {
        let (args, msg) = split_message(&v(&["--lr", "0.1", "-m", "why"])).unwrap();
        assert_eq!(args, v(&["--lr", "0.1"]));
        assert_eq!(msg, "why");
        assert!(split_message(&v(&["--lr", "0.1"]))
            .unwrap_err()
            .to_string()
            .contains("missing -m"));
        assert!(split_message(&v(&["-m", "why", "--lr"]))
            .unwrap_err()
            .to_string()
            .contains("must come last"));
        assert!(split_message(&v(&["-m", " "]))
            .unwrap_err()
            .to_string()
            .contains("empty"));
    }
}
