//! `grunt submit [args..] -m "why"`: copy the project's git-tracked files into a new job
//! `active/<jobid>/<project>/` with `job.message`, `job.submit`, `job.args` (and `job.profile`)
//! and `grcmd.submit`, built straight into the jobs repo and pushed (see `newjob`).
//! `--dry-run` builds the job in a scratch directory and lets the runner show its submit
//! script instead.

use std::path::Path;

use anyhow::{bail, Context, Result};
use grunt_core::config::{self, ProjectConfig};
use grunt_core::protocol::{vars, words};
use grunt_core::runner::{self, Invocation, JobContext, Outcome};
use grunt_core::{command, jobfile, time};

use crate::context::Ctx;
use clap::{Args as _, FromArgMatches as _};

use crate::error::{self, CommandError};
use crate::wait;
use crate::{grammar, newjob, project_files, table, ui};

/// grunt's own options of `submit`: accepted before the job's arguments and after `-m MSG`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct Options {
    /// Wait until grund has answered (and the answer is pulled), at most SECS seconds
    /// (default 60); `--wait 30` and `--wait=30` both work here.
    #[arg(long, value_name = "SECS", num_args = 0..=1, default_missing_value = "60")]
    pub wait: Option<u64>,
    /// Resources from `[profile.NAME]` of grunt.toml (on top of `[resources]`).
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// Show the job directory and the runner's submit script; submit nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Print the new job as JSON (`{"ids": [...], "server", "project", "commit", "files",
    /// "message"}`, with `--wait` also `"jobs"` as `grunt jobs --json` shows them).
    #[arg(long)]
    pub json: bool,
}

impl Options {
    /// Options given before the job's arguments and after `-m MSG`, together.
    fn merge(self, later: Options) -> Result<Options, CommandError> {
        fn one<T>(name: &str, a: Option<T>, b: Option<T>) -> Result<Option<T>, CommandError> {
            match (a, b) {
                (Some(_), Some(_)) => Err(error::usage(format!("--{name} is given twice"))),
                (a, b) => Ok(a.or(b)),
            }
        }
        Ok(Options {
            wait: one("wait", self.wait, later.wait)?,
            profile: one("profile", self.profile, later.profile)?,
            dry_run: self.dry_run || later.dry_run,
            json: self.json || later.json,
        })
    }

    /// Parses options written after `-m MSG`.
    fn parse_trailing(tokens: &[String]) -> Result<Options, anyhow::Error> {
        let cmd = Options::augment_args(clap::Command::new("submit").no_binary_name(true));
        let m = cmd.try_get_matches_from(tokens).map_err(|e| {
            error::usage(format!(
                "after -m MSG only grunt's options may follow: {}",
                e.kind()
            ))
            .hint(format!("{}", e.render()).trim_end().to_string())
            .hint("job arguments go before -m: grunt submit [args..] -m \"why\"")
        })?;
        Ok(Options::from_arg_matches(&m)?)
    }
}

#[derive(Debug, Clone, clap::Args)]
#[command(
    override_usage = "grunt submit [OPTIONS] [--] [ARGS]... -m <MSG> [OPTIONS]",
    after_long_help = "grunt's options go before the job's arguments or after -m MSG; nothing \
after -m MSG is a job argument. `--` ends grunt's options: a job argument that spells one of \
grunt's own options (--dry-run, --wait, --profile, ...) is refused unless `--` comes before the \
job's arguments.

Examples:
  grunt submit --lr 0.1 -m \"does a lower rate help?\"
  grunt submit --profile gpu -- --dry-run -m \"the job's own --dry-run\" --wait 120"
)]
pub struct Args {
    #[command(flatten)]
    pub opts: Options,
    /// The job's message, its record: why you run it. After the job's arguments.
    #[arg(short = 'm', long = "message", value_name = "MSG")]
    pub message: Option<String>,
    /// The job's arguments (saved one per line in job.args).
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "ARGS"
    )]
    pub rest: Vec<String>,
}

impl Args {
    /// The job's arguments, its message and all of grunt's options, by the grammar.
    pub fn resolve(self) -> Result<(Vec<String>, String, Options)> {
        let own = grammar::own_options(&Args::augment_args(clap::Command::new("submit")));
        let split = grammar::split(&self.rest, self.message.as_deref(), &own)?;
        let later = Options::parse_trailing(&split.trailing)?;
        let opts = self.opts.merge(later)?;
        Ok((split.job_args, split.message, opts))
    }
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
    let (args, message, a) = a.resolve()?;
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
    let project_files = project_files::project_files(&ctx.cwd)?;
    let mut extra = vec![
        (jobfile::MESSAGE, format!("{message}\n")),
        (jobfile::SUBMIT, format!("{}\n", time::now())),
        (jobfile::ARGS, args_text(&args)?),
    ];
    if let Some(p) = &a.profile {
        extra.push((jobfile::PROFILE, format!("{p}\n")));
    }
    let (source, patch) = source_record(ctx);
    if let Some(s) = source {
        if s.dirty() && !a.json {
            ui::note(format!(
                "note: {} tracked file(s) have uncommitted changes: the job records them as {} on top of {:.12}",
                s.changed_files,
                jobfile::PATCH,
                s.commit
            ));
        }
        extra.push((jobfile::COMMIT, s.render()));
    }
    if a.dry_run {
        return dry_run(ctx, &cfg, &project_files, &extra);
    }
    let submit_cmd = format!("{}submit", command::PREFIX);
    extra.push((&submit_cmd, command::timestamp_content()));
    let mut job_tree = project_files::job_tree(&ctx.jobs, &project_files, &extra)?;
    if let Some(patch) = patch {
        // Bytes as they are: a patch of a file that is not UTF-8 must still apply.
        let put = grunt_core::git::tree::put_bytes(&ctx.jobs, jobfile::PATCH, &patch, false)?;
        job_tree = grunt_core::git::tree::apply(&ctx.jobs, Some(job_tree), &[put])?;
    }
    let (id, commit) = newjob::publish(ctx, job_tree, &message)?;
    if !a.json {
        ui::out(format!(
            "submitted job {id} to {} ({} files): {message}",
            ctx.key.server,
            project_files.len()
        ))?;
    }
    let waited = a.wait.map(|secs| wait::wait_for(ctx, commit, secs));
    let mine = |ctx: &Ctx| -> Result<Vec<_>> {
        Ok(ctx.list()?.into_iter().filter(|j| j.id == id).collect())
    };
    if a.json {
        // Printed even when waiting failed: the job was submitted, and scripts need its id.
        let jobs = match &waited {
            Some(_) => Some(
                mine(ctx)?
                    .iter()
                    .map(|j| j.summary(&ctx.key.server))
                    .collect::<Vec<_>>(),
            ),
            None => None,
        };
        ui::json(&SubmitJson {
            ids: vec![id.to_string()],
            server: &ctx.key.server,
            project: &ctx.key.project,
            commit: commit.to_string(),
            files: project_files.len(),
            message: &message,
            jobs,
        })?;
        return waited.unwrap_or(Ok(()));
    }
    if let Some(w) = waited {
        w?;
        super::jobs::print_table(ctx, "submitted", &mine(ctx)?)?;
    }
    Ok(())
}

/// `job.commit` and `job.patch` for a new job (see `provenance`). A project whose source
/// cannot be read this way (no commit yet) is still submitted, with a warning.
fn source_record(
    ctx: &Ctx,
) -> (
    Option<grunt_core::provenance::SourceRecord>,
    Option<Vec<u8>>,
) {
    match crate::provenance::capture(&ctx.cwd) {
        Ok(Some((s, patch))) => (Some(s), patch),
        Ok(None) => {
            ui::warn("the project's repository has no commit yet: job.commit is not recorded");
            (None, None)
        }
        Err(e) => {
            ui::warn(format!(
                "job.commit is not recorded: {}",
                error::one_line(&e)
            ));
            (None, None)
        }
    }
}

/// What `submit --json` prints.
#[derive(Debug, serde::Serialize)]
struct SubmitJson<'a> {
    /// The new job ids.
    ids: Vec<String>,
    server: &'a str,
    project: &'a str,
    /// The commit that submitted them.
    commit: String,
    /// How many project files the job holds.
    files: usize,
    message: &'a str,
    /// With `--wait`: the jobs as `grunt jobs --json` shows them, once answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    jobs: Option<Vec<grunt_core::jobs::JobSummary>>,
}

/// Writes the job into a scratch directory and, if the runner supports dry runs (it mentions
/// `GRUNT_DRY_RUN`), runs its `submit` there with `GRUNT_DRY_RUN=1`; shows what resulted.
fn dry_run(
    ctx: &Ctx,
    cfg: &ProjectConfig,
    project_files: &[project_files::ProjectFile],
    extra: &[(&str, String)],
) -> Result<()> {
    let id = newjob::peek_id(ctx)?;
    // Removed when dropped, however this ends.
    let scratch = tempfile::Builder::new()
        .prefix("grunt-dry-run-")
        .tempdir()
        .context("creating a scratch directory for the dry run")?;
    let dir = scratch.path().join(id.to_string()).join(&ctx.key.project);
    std::fs::create_dir_all(&dir)?;
    let result = (|| -> Result<()> {
        for f in project_files {
            let dest = dir.join(&f.rel);
            if let Some(parent) = dest.parent() {
                std::fs::create_dir_all(parent)?;
            }
            match &f.link {
                Some(target) => std::os::unix::fs::symlink(target, &dest),
                None => std::fs::copy(&f.abs, &dest).map(|_| ()),
            }
            .with_context(|| format!("copying {}", f.rel))?;
        }
        for (name, content) in extra {
            std::fs::write(dir.join(name), content)?;
        }
        let before = listing(&dir)?;
        ui::out(format!(
            "job {id} (not submitted) would hold, in active/{id}/{}/:",
            ctx.key.project
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
            key: ctx.key.clone(),
            job_dir: dir.clone(),
        };
        let mut inv = Invocation::new(&jctx, words::SUBMIT, cfg)?;
        inv.env.insert(vars::DRY_RUN.into(), "1".into());
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
    drop(scratch);
    result
}

fn supports_dry_run(dir: &Path) -> bool {
    [jobfile::RUNNER_EXE, jobfile::RUNNER_PY]
        .iter()
        .filter_map(|r| std::fs::read(dir.join(r)).ok())
        .any(|text| String::from_utf8_lossy(&text).contains(vars::DRY_RUN))
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
    fn args_are_one_per_line() {
        assert_eq!(args_text(&v(&["a b", "c"])).unwrap(), "a b\nc\n");
        assert!(args_text(&v(&["a\nb"])).is_err());
    }
}
