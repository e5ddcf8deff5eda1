//! `grunt submit [args..] -m "why"`: copy the project's git-tracked files into a new job
//! `active/<jobid>/<project>/` with `job.message`, `job.submit`, `job.args` (and `job.profile`)
//! and `grcmd.submit`, built straight into the jobs repo and pushed (see `newjob`).
//! `--dry-run` builds the job in a scratch directory and lets the runner show its submit
//! script instead. `--sweep`/`--sweep-file` make one job per point in one push (points in
//! `grunt_core::sweep`); every job gets a `job.key` and a job whose key exists is refused
//! unless `--force` (`grunt_core::jobkey`); `--after`/`--after-any` write the dependencies
//! grund waits for (`job.after`, `job.after_any`).

use std::path::Path;

use anyhow::{bail, Context, Result};
use grunt_core::config::{self, ProjectConfig};
use grunt_core::git::tree;
use grunt_core::protocol::{vars, words};
use grunt_core::runner::{self, Invocation, JobContext, Outcome};
use grunt_core::{command, jobfile, jobkey, sweep, time};

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
    /// A sweep parameter: NAME=V1,V2,.. or NAME=A..B (integers, inclusive); repeat it for
    /// more. One job per point of the cross product, all in one push; each job's args end
    /// with --NAME=VALUE per parameter.
    #[arg(long, value_name = "NAME=VALUES")]
    pub sweep: Vec<String>,
    /// Sweep points from a TOML file: `[sweep]` axes (NAME = [V1, V2] or "A..B") and/or
    /// `[[point]]` tables, crossed with any --sweep.
    #[arg(long, value_name = "FILE")]
    pub sweep_file: Option<std::path::PathBuf>,
    /// Submit even if a job with the same files, args and profile already exists.
    #[arg(long)]
    pub force: bool,
    /// Hold the job until these jobs have ended well; if one fails or is canceled, the job is
    /// canceled (grund does it, for every runner).
    #[arg(long, value_name = "JOBS", value_delimiter = ',')]
    pub after: Vec<String>,
    /// Hold the job until these jobs have ended, however they ended.
    #[arg(long, value_name = "JOBS", value_delimiter = ',')]
    pub after_any: Vec<String>,
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
            sweep: [self.sweep, later.sweep].concat(),
            sweep_file: one("sweep-file", self.sweep_file, later.sweep_file)?,
            force: self.force || later.force,
            after: [self.after, later.after].concat(),
            after_any: [self.after_any, later.after_any].concat(),
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
  grunt submit --sweep lr=0.1,0.01 --sweep seed=1..5 -m \"rates by seeds\"   (10 jobs)
  grunt submit --after 12,13 -m \"summarise 12 and 13\"
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
    ctx.refuse_shared()?;
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
    args_text(&args)?;
    // grund reads [retry] when a job ends: a bad rule is refused now, before anything is pushed.
    grunt_core::retry::rule(&cfg.raw).map_err(|e| {
        error::usage(e.to_string()).hint("see docs/sweeps.md, \"Retries by cause\"")
    })?;
    let points = sweep_points(ctx, &a)?;
    let is_sweep = points.is_some();
    let points = points.unwrap_or_else(|| vec![Vec::new()]);
    let after = dependencies(ctx, &a.after)?;
    let after_any = dependencies(ctx, &a.after_any)?;
    let project_files = project_files::project_files(&ctx.cwd)?;
    if a.dry_run && is_sweep {
        return list_points(ctx, &args, &points);
    }
    let (source, patch) = source_record(ctx);
    if let Some(s) = &source {
        if s.dirty() && !a.json {
            ui::note(format!(
                "note: {} tracked file(s) have uncommitted changes: the job records them as {} on top of {:.12}",
                s.changed_files,
                jobfile::PATCH,
                s.commit
            ));
        }
    }
    let source_text = source.map(|s| s.render());
    let submit_time = format!("{}\n", time::now());
    let base_extra = |point: &sweep::Point| -> Result<Vec<(&'static str, String)>> {
        let mut extra = vec![
            (jobfile::MESSAGE, format!("{message}\n")),
            (jobfile::SUBMIT, submit_time.clone()),
            (jobfile::ARGS, args_text(&sweep::args_for(&args, point))?),
        ];
        if let Some(p) = &a.profile {
            extra.push((jobfile::PROFILE, format!("{p}\n")));
        }
        if !point.is_empty() {
            extra.push((jobfile::PARAMS, sweep::params_text(point)));
        }
        if !after.is_empty() {
            extra.push((jobfile::AFTER, ids_text(&after)));
        }
        if !after_any.is_empty() {
            extra.push((jobfile::AFTER_ANY, ids_text(&after_any)));
        }
        if let Some(text) = &source_text {
            extra.push((jobfile::COMMIT, text.clone()));
        }
        Ok(extra)
    };
    if a.dry_run {
        return dry_run(ctx, &cfg, &project_files, &base_extra(&Vec::new())?);
    }
    // The project's files once, as a tree; each job adds its own job.* files on top.
    let files_tree = project_files::job_tree(&ctx.jobs, &project_files, &[])?;
    let submit_cmd = format!("{}submit", command::PREFIX);
    let mut trees = Vec::with_capacity(points.len());
    let mut keys = Vec::with_capacity(points.len());
    for point in &points {
        let key = jobkey::compute(
            files_tree,
            &sweep::args_for(&args, point),
            a.profile.as_deref(),
        );
        let mut edits = Vec::new();
        for (name, text) in base_extra(point)? {
            edits.push(tree::put_bytes(&ctx.jobs, name, text.as_bytes(), false)?);
        }
        if let Some(patch) = &patch {
            // Bytes as they are: a patch of a file that is not UTF-8 must still apply.
            edits.push(tree::put_bytes(&ctx.jobs, jobfile::PATCH, patch, false)?);
        }
        edits.push(tree::put_bytes(
            &ctx.jobs,
            jobfile::KEY,
            format!("{key}\n").as_bytes(),
            false,
        )?);
        edits.push(tree::put_bytes(
            &ctx.jobs,
            &submit_cmd,
            command::timestamp_content().as_bytes(),
            false,
        )?);
        trees.push(tree::apply(&ctx.jobs, Some(files_tree), &edits)?);
        keys.push(key);
    }
    let refuse_duplicates = !a.force && !allows_duplicates(&cfg);
    let check = |repo: &git2::Repository, tip: Option<&git2::Tree<'_>>| -> Result<()> {
        match tip {
            Some(tip) if refuse_duplicates => refuse_duplicate(ctx, repo, tip, &keys, &points),
            _ => Ok(()),
        }
    };
    ctx.wait_after_push.set(a.wait);
    let (ids, commit) = newjob::publish_many(ctx, &trees, &message, is_sweep, &check)?;
    let Some(first) = ids.first().cloned() else {
        bail!("internal: no job was submitted");
    };
    if !a.json {
        let what = match ids.as_slice() {
            [one] => format!("job {one}"),
            [_, .., last] => format!("sweep {first}: {} jobs {first}..{last}", ids.len()),
            [] => String::new(),
        };
        ui::out(format!(
            "submitted {what} to {} ({} files): {message}",
            ctx.key.server,
            project_files.len()
        ))?;
        if !after.is_empty() || !after_any.is_empty() {
            ui::out(format!(
                "grund holds it (Waiting) until {} have ended",
                [after.clone(), after_any.clone()].concat().join(", ")
            ))?;
        }
    }
    let waited = a.wait.map(|secs| wait::wait_for(ctx, commit, secs));
    let mine = |ctx: &Ctx| -> Result<Vec<_>> {
        Ok(ctx
            .list()?
            .into_iter()
            .filter(|j| ids.contains(&j.id))
            .collect())
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
            ids: ids.iter().map(|i| i.to_string()).collect(),
            sweep: is_sweep.then(|| first.to_string()),
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

/// The sweep's points, or `None` when no sweep was asked for. Refuses bad input before
/// anything is pushed, and more than [`sweep::ASK_ABOVE`] points unless a person says yes.
fn sweep_points(ctx: &Ctx, a: &Options) -> Result<Option<Vec<sweep::Point>>> {
    if a.sweep.is_empty() && a.sweep_file.is_none() {
        return Ok(None);
    }
    let bad = |e: sweep::SweepError| error::usage(e.to_string());
    let mut axes = Vec::new();
    for spec in &a.sweep {
        axes.push(sweep::parse_axis(spec).map_err(|e| {
            bad(e).hint("grunt submit --sweep lr=0.1,0.01 --sweep seed=1..5 -m \"why\"")
        })?);
    }
    let mut base = Vec::new();
    if let Some(file) = &a.sweep_file {
        let path = ctx.cwd.join(file);
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading the sweep file {}", path.display()))?;
        let (points, file_axes) = sweep::from_toml(&text)
            .map_err(|e| bad(e).hint(format!("in {}; see docs/sweeps.md", path.display())))?;
        base = points;
        axes.splice(0..0, file_axes);
    }
    let n = sweep::count(base.len(), &axes);
    if n > sweep::ASK_ABOVE && n <= sweep::HARD_LIMIT {
        let question = format!("this sweep makes {n} jobs; submit them all? [y/N] ");
        if !ui::interactive() {
            return Err(error::usage(format!(
                "this sweep makes {n} jobs, more than {} (grunt asks first, and there is no terminal to ask on)",
                sweep::ASK_ABOVE
            ))
            .hint("split it into smaller sweeps, or run it from a terminal and answer yes")
            .into());
        }
        if !ui::confirm(&question)? {
            return Err(error::usage("not submitted: you said no").into());
        }
    }
    Ok(Some(sweep::points(base, &axes).map_err(bad)?))
}

/// `--dry-run` of a sweep: the points and each job's arguments; nothing is pushed.
fn list_points(ctx: &Ctx, args: &[String], points: &[sweep::Point]) -> Result<()> {
    let first = newjob::peek_id(ctx)?;
    ui::out(format!(
        "a sweep of {} jobs (not submitted), from {first}:",
        points.len()
    ))?;
    let rows: Vec<Vec<String>> = points
        .iter()
        .enumerate()
        .map(|(i, p)| {
            vec![
                (i + 1).to_string(),
                sweep::describe(p),
                super::jobs::quote_args(&sweep::args_for(args, p)),
            ]
        })
        .collect();
    ui::out(table::render(&["#", "Params", "Args"], &rows))?;
    Ok(())
}

/// The jobs `--after` names, as ids; an unknown one is refused before anything is pushed.
fn dependencies(ctx: &Ctx, specs: &[String]) -> Result<Vec<String>> {
    if specs.is_empty() {
        return Ok(Vec::new());
    }
    let all = ctx.jobs_for(specs)?;
    let found = ctx.resolve(specs, &all)?;
    Ok(found.iter().map(|j| j.id.to_string()).collect())
}

fn ids_text(ids: &[String]) -> String {
    ids.iter().map(|i| format!("{i}\n")).collect()
}

/// The environment variable that, set to `1`, submits duplicates as the original does (for
/// scripts that run the same job again on purpose).
pub const ALLOW_DUPLICATES_ENV: &str = "GRUNT_ALLOW_DUPLICATES";

/// `[submit] allow_duplicates = true` in grunt.toml, or `GRUNT_ALLOW_DUPLICATES=1`: submit as
/// the original does, never refusing a job that already ran.
fn allows_duplicates(cfg: &ProjectConfig) -> bool {
    std::env::var(ALLOW_DUPLICATES_ENV).is_ok_and(|v| v == "1")
        || cfg
            .raw
            .get("submit")
            .and_then(|t| t.get("allow_duplicates"))
            .and_then(|v| v.as_bool())
            .unwrap_or(false)
}

/// Refuses when a job in `tip` already has one of `keys`: "already ran as X (Done, 2 days ago)".
fn refuse_duplicate(
    ctx: &Ctx,
    repo: &git2::Repository,
    tip: &git2::Tree<'_>,
    keys: &[String],
    points: &[sweep::Point],
) -> Result<()> {
    let known = jobkey::keys_in(repo, tip);
    let dups: Vec<(usize, &grunt_core::jobid::JobId)> = keys
        .iter()
        .enumerate()
        .filter_map(|(i, k)| known.get(k).map(|id| (i, id)))
        .collect();
    let Some((i, id)) = dups.first() else {
        return Ok(());
    };
    let how = match grunt_core::jobs::find(repo, tip, id, &ctx.key.project) {
        Some(rec) => {
            let s = rec.summary(&ctx.key.server);
            format!("{}, {}", s.status, ago(&s.submit))
        }
        None => "its record is unreadable".into(),
    };
    let point = match &points[*i] {
        p if p.is_empty() => String::new(),
        p => format!(" (point {})", sweep::describe(p)),
    };
    let more = match dups.len() {
        1 => String::new(),
        n => format!("; {} of the {} jobs already ran", n, keys.len()),
    };
    Err(error::error(format!(
        "this job{point} already ran as {id} ({how}): same files, args and profile{more}"
    ))
    .hint(format!(
        "`grunt rerun {id}` runs it again on purpose; `--force` submits it anyway"
    ))
    .into())
}

/// "2 days ago" from a stored timestamp.
fn ago(t: &str) -> String {
    let Some(then) = time::parse(t) else {
        return "submitted at an unknown time".into();
    };
    let secs = (chrono::Utc::now() - then).num_seconds().max(0);
    let (n, unit) = match secs {
        s if s < 120 => (s, "second"),
        s if s < 7200 => (s / 60, "minute"),
        s if s < 2 * 86400 => (s / 3600, "hour"),
        s => (s / 86400, "day"),
    };
    format!("{n} {unit}{} ago", if n == 1 { "" } else { "s" })
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
    /// A sweep's id (its first job's).
    #[serde(skip_serializing_if = "Option::is_none")]
    sweep: Option<String>,
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
        let mut inv = Invocation::new(&jctx, words::SUBMIT, cfg, &runner::process_env())?;
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
