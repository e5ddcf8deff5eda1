//! `grunt reproduce JOB [DIR]`: the job's exact files, as the jobs repo holds them, written
//! into DIR; with `--checkout`, a git worktree of the project at the job's `job.commit` with
//! its `job.patch` applied, checked against the job's files.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};
use git2::Repository;
use grunt_core::git::tree;
use grunt_core::jobfile;
use grunt_core::jobs::JobRecord;
use grunt_core::provenance::SourceRecord;

use crate::context::Ctx;
use crate::error;
use crate::ui;

#[derive(Debug, Clone, clap::Args)]
#[command(after_long_help = "Examples:
  grunt reproduce 3                     the job's files in ../<project>-<jobid>
  grunt reproduce 3 /tmp/j3 --force     into a directory that has files already
  grunt reproduce 3 /tmp/w3 --checkout  a git worktree at the job's commit, patch applied")]
pub struct Args {
    /// The job: an id or a number.
    pub job: String,
    /// Where to write it (default: `<project>-<jobid>` next to the project directory).
    pub dir: Option<PathBuf>,
    /// Write into DIR even if it has files (files of the job are overwritten, others kept).
    #[arg(long)]
    pub force: bool,
    /// Make a git worktree of the project at the job's commit (job.commit) with its
    /// uncommitted changes (job.patch) applied, instead of copying the job's files.
    #[arg(long)]
    pub checkout: bool,
}

pub fn run(ctx: &Ctx, a: Args) -> Result<()> {
    ctx.pull_for_reading()?;
    let all = ctx.list()?;
    let found = ctx.resolve(std::slice::from_ref(&a.job), &all)?;
    let [job] = found.as_slice() else {
        return Err(error::usage(format!("reproduce takes one job, not {:?}", a.job)).into());
    };
    let dir = match &a.dir {
        Some(d) => ctx.cwd.join(d),
        None => ctx
            .cwd
            .parent()
            .unwrap_or(&ctx.cwd)
            .join(format!("{}-{}", ctx.key.project, job.id)),
    };
    let has_files = std::fs::read_dir(&dir).is_ok_and(|mut d| d.next().is_some());
    if has_files && (a.checkout || !a.force) {
        let hint = match a.checkout {
            true => "a worktree needs a new or empty directory; name another DIR",
            false => "name another DIR, or add --force to write the job's files over it",
        };
        return Err(error::usage(format!(
            "{} is not empty: nothing was written",
            dir.display()
        ))
        .hint(hint)
        .into());
    }
    let files = job_files(ctx, job)?;
    if a.checkout {
        return checkout(ctx, job, &dir, &files);
    }
    for (rel, (data, mode)) in &files {
        write(&dir.join(rel), data, *mode).with_context(|| format!("writing {rel}"))?;
    }
    ui::out(format!(
        "wrote the {} files of {} into {}",
        files.len(),
        job.id,
        dir.display()
    ))?;
    Ok(())
}

/// Every file of the job as the jobs repo holds it: content and git mode.
fn job_files(ctx: &Ctx, job: &JobRecord) -> Result<BTreeMap<String, (Vec<u8>, i32)>> {
    let root = ctx
        .tip()?
        .ok_or_else(|| error::error("the jobs repo is empty"))?;
    let sub = tree::subtree(&ctx.jobs, &root, &job.dir())
        .ok_or_else(|| error::error(format!("{} has no files in the jobs repo", job.id)))?;
    let mut out = BTreeMap::new();
    for f in tree::walk_files(&ctx.jobs, &sub)? {
        let blob = ctx.jobs.find_blob(f.oid)?;
        out.insert(f.path, (blob.content().to_vec(), f.mode));
    }
    Ok(out)
}

/// Writes one file (or link, for mode 120000), creating its directories.
fn write(path: &Path, data: &[u8], mode: i32) -> Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    if path.symlink_metadata().is_ok() {
        std::fs::remove_file(path)?;
    }
    if mode == 0o120000 {
        use std::os::unix::ffi::OsStrExt;
        std::os::unix::fs::symlink(std::ffi::OsStr::from_bytes(data), path)?;
        return Ok(());
    }
    std::fs::write(path, data)?;
    let perm = if mode == 0o100755 { 0o755 } else { 0o644 };
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(perm))?;
    Ok(())
}

/// `git worktree add --detach DIR <commit>` in the project's repository, `git apply job.patch`
/// there, then a check that the project's files match the job's.
fn checkout(
    ctx: &Ctx,
    job: &JobRecord,
    dir: &Path,
    files: &BTreeMap<String, (Vec<u8>, i32)>,
) -> Result<()> {
    let Some(src) = job
        .files
        .text(jobfile::COMMIT)
        .and_then(SourceRecord::parse)
    else {
        return Err(error::error(format!(
            "{} has no {}: it was submitted by a grunt that did not record its commit",
            job.id,
            jobfile::COMMIT
        ))
        .hint(format!(
            "`grunt reproduce {}` without --checkout writes its files",
            job.id
        ))
        .into());
    };
    let repo = Repository::discover(&ctx.cwd)
        .with_context(|| format!("{} is not in a git repository", ctx.cwd.display()))?;
    let top = repo
        .workdir()
        .ok_or_else(|| error::error("the project's repository is bare"))?
        .to_path_buf();
    let oid = git2::Oid::from_str(&src.commit)?;
    if repo.find_commit(oid).is_err() {
        let from = src
            .remote
            .as_deref()
            .unwrap_or("the repository it was made in");
        return Err(error::error(format!(
            "commit {} of {} is not in this repository: nothing was written",
            src.commit, job.id
        ))
        .hint(format!(
            "fetch it first (from {from}), e.g. `git fetch --all`"
        ))
        .into());
    }
    git(
        &top,
        &[
            "worktree",
            "add",
            "--detach",
            &dir.to_string_lossy(),
            &src.commit,
        ],
    )?;
    if let Some((patch, _)) = files.get(jobfile::PATCH) {
        let pfile = dir.join(".git-grunt-job.patch");
        std::fs::write(&pfile, patch)?;
        let applied = git(dir, &["apply", "--binary", &pfile.to_string_lossy()]);
        let _ = std::fs::remove_file(&pfile);
        applied.with_context(|| format!("applying {} of {}", jobfile::PATCH, job.id))?;
    }
    let project = dir.join(&src.subdir);
    // The job's project files against the checkout: a file that differs (an untracked runner,
    // say) is named, so the user knows the checkout is not the whole job.
    let mut differ = Vec::new();
    for (rel, (data, mode)) in files {
        let name = rel.rsplit('/').next().unwrap_or(rel);
        if jobfile::is_job_file(name) || name.starts_with(grunt_core::command::PREFIX) {
            continue;
        }
        let p = project.join(rel);
        let on_disk = match *mode {
            0o120000 => std::fs::read_link(&p).ok().map(|t| {
                use std::os::unix::ffi::OsStrExt;
                t.as_os_str().as_bytes().to_vec()
            }),
            _ => std::fs::read(&p).ok(),
        };
        if on_disk.as_deref() != Some(data.as_slice()) {
            differ.push(rel.clone());
        }
    }
    let applied = match src.dirty() {
        true => format!(" with {} applied", jobfile::PATCH),
        false => String::new(),
    };
    ui::out(format!(
        "worktree of {} at {:.12}{applied} in {} (the project is at {})",
        job.id,
        src.commit,
        dir.display(),
        project.display()
    ))?;
    if differ.is_empty() {
        ui::out("the project's files are identical to the job's")?;
    } else {
        ui::warn(format!(
            "{} file(s) of the job differ from the checkout (untracked when submitted?): {}",
            differ.len(),
            differ.join(", ")
        ));
    }
    Ok(())
}

fn git(dir: &Path, args: &[&str]) -> Result<()> {
    let out = Command::new("git")
        .current_dir(dir)
        .args(args)
        .output()
        .context("running git")?;
    if !out.status.success() {
        return Err(error::error(format!(
            "git {} failed: {}",
            args.first().copied().unwrap_or(""),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
        .into());
    }
    Ok(())
}
