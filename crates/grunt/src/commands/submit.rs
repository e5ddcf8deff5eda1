//! `grunt submit [args..] -m "why"`: copy the project's git-tracked files into a new job
//! `active/<jobid>/<project>/` with `job.message`, `job.submit`, `job.args` (and `job.profile`)
//! and `grcmd.submit`, built straight into the jobs repo and pushed (see `newjob`).
//! `--dry-run` builds the job in a scratch directory and lets the runner show its submit
//! script instead.

use std::path::Path;

use anyhow::{bail, Context, Result};
use grunt_core::config::{self, ProjectConfig};
use grunt_core::runner::{self, Invocation, JobContext, Outcome};
use grunt_core::{command, jobfile, time};

use crate::context::Ctx;
use crate::wait::{self, WaitArg};
use crate::{files, newjob, table, ui};

#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub wait: WaitArg,
    /// Resources from `[profile.NAME]` of grunt.toml (on top of `[resources]`).
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// Show the job directory and the runner's submit script; submit nothing.
    #[arg(long)]
    pub dry_run: bool,
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

/// `job.args` text: one argument per line.
pub fn args_text(args: &[String]) -> Result<String> {
    let mut text = String::new();
    for arg in args {
        if arg.contains('\n') {
            bail!("job arguments cannot contain newlines (job.args holds one per line): {arg:?}");
        }
        text.push_str(arg);
        text.push('\n');
    }
    Ok(text)
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
    if let Some(p) = &a.profile {
        grunt_core::name::check("profile", p)?;
        config::resources(&cfg.raw, Some(p))?;
    }
    let project_files = files::project_files(&ctx.cwd)?;
    let mut extra = vec![
        (jobfile::MESSAGE, format!("{message}\n")),
        (jobfile::SUBMIT, format!("{}\n", time::now())),
        (jobfile::ARGS, args_text(&args)?),
    ];
    if let Some(p) = &a.profile {
        extra.push((jobfile::PROFILE, format!("{p}\n")));
    }
    if a.dry_run {
        return dry_run(ctx, &cfg, &project_files, &extra);
    }
    let submit_cmd = format!("{}submit", command::PREFIX);
    extra.push((&submit_cmd, command::timestamp_content()));
    let job_tree = files::job_tree(&ctx.jobs, &project_files, &extra)?;
    let (id, commit) = newjob::publish(ctx, job_tree, &message)?;
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

/// Writes the job into a scratch directory and, if the runner supports dry runs (it mentions
/// `GRUNT_DRY_RUN`), runs its `submit` there with `GRUNT_DRY_RUN=1`; shows what resulted.
fn dry_run(
    ctx: &Ctx,
    cfg: &ProjectConfig,
    project_files: &[files::ProjectFile],
    extra: &[(&str, String)],
) -> Result<()> {
    let id = newjob::peek_id(ctx)?;
    let scratch = std::env::temp_dir().join(format!("grunt-dry-run-{}", std::process::id()));
    let dir = scratch.join(id.to_string()).join(&ctx.project);
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&dir)?;
    let result = (|| -> Result<()> {
        for f in project_files {
            let dest = dir.join(&f.rel);
            if let Some(parent) = dest.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::copy(&f.abs, &dest).with_context(|| format!("copying {}", f.rel))?;
        }
        for (name, content) in extra {
            std::fs::write(dir.join(name), content)?;
        }
        let before = listing(&dir)?;
        ui::out(format!(
            "job {id} (not submitted) would hold, in active/{id}/{}/:",
            ctx.project
        ))?;
        let rows: Vec<Vec<String>> = before
            .iter()
            .map(|(n, s)| vec![n.clone(), s.to_string()])
            .collect();
        ui::out(table::render(&["File", "Size"], &rows))?;
        if !supports_dry_run(&dir) {
            ui::out("the runner does not support dry runs (it never mentions GRUNT_DRY_RUN), so it was not run: its submit script is not shown")?;
            return Ok(());
        }
        let jctx = JobContext {
            job_id: id.to_string(),
            project: ctx.project.clone(),
            server: ctx.server.clone(),
            user: ctx.user.clone(),
            job_dir: dir.clone(),
        };
        let mut inv = Invocation::new(&jctx, "submit", cfg)?;
        inv.env.insert("GRUNT_DRY_RUN".into(), "1".into());
        let outcome = runner::run(&inv);
        let out = std::fs::read_to_string(&inv.stdout).unwrap_or_default();
        ui::out(format!(
            "\n$ GRUNT_DRY_RUN=1 grunter submit\n{}",
            out.trim_end()
        ))?;
        if outcome != Outcome::Exited(0) {
            let err = std::fs::read_to_string(&inv.stderr).unwrap_or_default();
            bail!(
                "the runner's dry run failed ({outcome:?}):\n{}",
                err.trim_end()
            );
        }
        for (name, _) in listing(&dir)?
            .into_iter()
            .filter(|(n, _)| !before.iter().any(|(b, _)| b == n))
        {
            if name == jobfile::RUNNER_OUT || name == jobfile::RUNNER_ERR {
                continue;
            }
            let text = std::fs::read(dir.join(&name)).unwrap_or_default();
            ui::out(format!(
                "\n--- {name} (written by the runner)\n{}",
                String::from_utf8_lossy(&text).trim_end()
            ))?;
        }
        Ok(())
    })();
    let _ = std::fs::remove_dir_all(&scratch);
    result
}

fn supports_dry_run(dir: &Path) -> bool {
    [jobfile::RUNNER_EXE, jobfile::RUNNER_PY]
        .iter()
        .filter_map(|r| std::fs::read(dir.join(r)).ok())
        .any(|text| String::from_utf8_lossy(&text).contains("GRUNT_DRY_RUN"))
}

/// Files of a directory tree (relative paths) and their sizes, sorted.
fn listing(dir: &Path) -> Result<Vec<(String, u64)>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d)? {
            let e = e?;
            let p = e.path();
            if e.file_type()?.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir)?.to_string_lossy().into_owned();
                out.push((rel, e.metadata()?.len()));
            }
        }
    }
    out.sort();
    Ok(out)
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
        assert!(args_text(&v(&["a\nb"])).is_err());
    }
}
