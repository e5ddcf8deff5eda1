//! `grunt dir JOBS`: each job's directory in the local jobs clone, opened with the desktop's
//! opener (`xdg-open`, `open`) when there is a display; its path is printed either way.
//!
//! The original keeps a checkout of every job and opens `jobs/<loc>/<id>/<project>` there. A
//! clone the original made is checked out, so that directory is used as it is (brought up to
//! date first). Ours keeps no checkout: the job's files are written out of the tree into the
//! same place, replacing an older copy.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use grunt_core::jobs::JobRecord;
use grunt_core::layout::{self, Location};

use crate::context::Ctx;
use crate::{ui, worktree};

#[derive(Debug, Clone, clap::Args)]
#[command(
    after_long_help = "Examples:\n  grunt dir 12          opens job 12's files (prints their directory without a display)\n  cd \"$(grunt dir 12)\""
)]
pub struct Args {
    /// Jobs: ids (ore000042), numbers (42) or inclusive ranges (11..22).
    pub jobs: Vec<String>,
}

pub fn run(ctx: &Ctx, a: Args) -> Result<()> {
    ctx.require_jobs(&a.jobs, "dir")?;
    ctx.pull_for_reading()?;
    let all = ctx.list()?;
    let jobs = ctx.resolve(&a.jobs, &all)?;
    let checked_out = !ctx.jobs.index().map(|i| i.is_empty()).unwrap_or(true);
    if checked_out {
        worktree::follow_and_warn(&ctx.jobs);
    }
    for job in &jobs {
        let dir = ctx.dirs.jobs().join(job.dir());
        if !checked_out {
            write_job(ctx, job, &dir)?;
        }
        ui::out(dir.display().to_string())?;
        open(&dir);
    }
    Ok(())
}

/// Writes `job`'s files from the tip's tree into `dir`, removing older copies of the job
/// (wherever it was then).
fn write_job(ctx: &Ctx, job: &JobRecord, dir: &Path) -> Result<()> {
    for loc in Location::ALL {
        let old = ctx.dirs.jobs().join(loc.dir()).join(job.id.to_string());
        match std::fs::remove_dir_all(&old) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("removing {}", old.display())),
        }
    }
    let tip = ctx.tip()?.context("the jobs repo has no commits")?;
    let sub = tip
        .get_path(Path::new(&layout::job_dir(
            job.location,
            &job.id,
            &job.project,
        )))?
        .to_object(&ctx.jobs)?
        .peel_to_tree()?;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut failed = None;
    sub.walk(git2::TreeWalkMode::PreOrder, |parent, e| {
        if e.kind() != Some(git2::ObjectType::Blob) {
            return git2::TreeWalkResult::Ok;
        }
        let rel = Path::new(parent).join(e.name().unwrap_or("_"));
        if !worktree::safe_path(&rel) {
            return git2::TreeWalkResult::Skip;
        }
        let path: PathBuf = dir.join(rel);
        if let Err(err) = worktree::write_blob(&ctx.jobs, &path, e.id(), mode(e.filemode())) {
            failed = Some(err.context(format!("writing {}", path.display())));
            return git2::TreeWalkResult::Abort;
        }
        git2::TreeWalkResult::Ok
    })
    .or_else(|e| if failed.is_some() { Ok(()) } else { Err(e) })?;
    match failed {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Opens `dir` with the desktop's opener when there is a display (the original calls
/// `xdg-open`, or `open` on macOS, and waits for it).
fn open(dir: &Path) {
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else {
        let shown = ["DISPLAY", "WAYLAND_DISPLAY"]
            .iter()
            .any(|v| std::env::var_os(v).is_some_and(|s| !s.is_empty()));
        if !shown {
            return;
        }
        "xdg-open"
    };
    match std::process::Command::new(opener)
        .arg(dir)
        .stdout(std::process::Stdio::null())
        .status()
    {
        Ok(s) if s.success() => {}
        Ok(s) => ui::warn(format!("{opener} {} failed ({s})", dir.display())),
        Err(e) => ui::warn(format!("cannot run {opener}: {e}")),
    }
}

/// A tree entry's mode as git2's `FileMode`.
fn mode(m: i32) -> git2::FileMode {
    match m {
        0o100755 => git2::FileMode::BlobExecutable,
        0o120000 => git2::FileMode::Link,
        0o160000 => git2::FileMode::Commit,
        _ => git2::FileMode::Blob,
    }
}
