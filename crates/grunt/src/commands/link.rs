//! `grunt link` / `grunt unlink`: symbolic links `gresults/<jobid>` in the project directory to
//! the job's directory in the client's results repo.

use anyhow::{Context, Result};
use grunt_core::jobid::JobId;
use grunt_core::jobs::JobRecord;

use crate::context::Ctx;
use crate::ui;

#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Jobs: ids, numbers or ranges.
    pub jobs: Vec<String>,
}

pub fn link(ctx: &Ctx, a: Args) -> Result<()> {
    ctx.require_jobs(&a.jobs, "link")?;
    let all = ctx.list()?;
    for j in ctx.resolve(&a.jobs, &all)? {
        make_link(ctx, &j)?;
    }
    Ok(())
}

pub fn unlink(ctx: &Ctx, a: Args) -> Result<()> {
    ctx.require_jobs(&a.jobs, "unlink")?;
    let all = ctx.list()?;
    for j in ctx.resolve(&a.jobs, &all)? {
        if !remove_link(ctx, &j.id)? {
            ui::note(format!("note: {} was not linked", j.id));
        }
    }
    Ok(())
}

/// Links `gresults/<id>` to the job's results (replacing a link that points elsewhere).
pub fn make_link(ctx: &Ctx, j: &JobRecord) -> Result<()> {
    let dst = ctx.link_path(&j.id);
    let target = ctx.results_dir(j);
    if std::fs::read_link(&dst).is_ok_and(|t| t == target) {
        return Ok(());
    }
    if let Some(dir) = dst.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    remove_link(ctx, &j.id)?;
    std::os::unix::fs::symlink(&target, &dst)
        .with_context(|| format!("linking {}", dst.display()))?;
    ui::out(format!("linked: {} -> {}", dst.display(), target.display()))?;
    Ok(())
}

/// Removes `gresults/<id>` if it is a link; true if there was one.
pub fn remove_link(ctx: &Ctx, id: &JobId) -> Result<bool> {
    let dst = ctx.link_path(id);
    if dst
        .symlink_metadata()
        .is_ok_and(|m| m.file_type().is_symlink())
    {
        std::fs::remove_file(&dst).with_context(|| format!("removing {}", dst.display()))?;
        return Ok(true);
    }
    Ok(false)
}
