//! Publishing a new job: choose the next job id (above this client's `nextjob.id` and every id
//! on the server), put the job's tree at `active/<jobid>/<project>`, push, and when another
//! client took the id meanwhile, renumber and push again. Used by `submit` and `rerun`.

use std::cell::RefCell;

use anyhow::{bail, Result};
use git2::{FileMode, Oid};
use grunt_core::git::{self, sync, tree::Edit};
use grunt_core::jobid::JobId;
use grunt_core::layout::{self, ClientLayout, Location};
use grunt_core::{fsutil, jobs};

use crate::context::{Ctx, PUSH_TRIES};

/// Pushes a job whose files are `job_tree`; returns its id and the pushed commit.
pub fn publish(ctx: &Ctx, job_tree: Oid, message: &str) -> Result<(JobId, Oid)> {
    let (next_file, next) = recorded_next(ctx)?;
    let sig = git::signature(&ctx.jobs, &ctx.key.user)?;
    let chosen: RefCell<Option<JobId>> = RefCell::new(None);
    let commit = sync::push_change(&ctx.jobs, &sig, PUSH_TRIES, |repo, parent| {
        let id = choose(ctx, next, repo, parent)?;
        *chosen.borrow_mut() = Some(id.clone());
        Ok(sync::Change {
            edits: vec![Edit::Put {
                path: layout::job_dir(Location::Active, &id, &ctx.key.project),
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
    Ok((id, commit))
}

/// The id the next job would get, as far as this client knows now (for dry runs).
pub fn peek_id(ctx: &Ctx) -> Result<JobId> {
    let (_, next) = recorded_next(ctx)?;
    let tip = git::head(&ctx.jobs)?
        .map(|h| ctx.jobs.find_commit(h))
        .transpose()?;
    Ok(choose(ctx, next, &ctx.jobs, tip.as_ref())?)
}

/// `projs/<project>/nextjob.id` and the number it holds (1 when there is none).
fn recorded_next(ctx: &Ctx) -> Result<(std::path::PathBuf, u64)> {
    let file = ClientLayout::new()?.nextjob_file(&ctx.key.project);
    let next = fsutil::read_line(&file)?
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(1);
    Ok((file, next))
}

/// The id rule: above this client's `nextjob.id` and above every id `tip`'s history has used
/// (so an id never comes back, even after the top job was nuked and `maxjob.id` removed).
fn choose(
    ctx: &Ctx,
    next: u64,
    repo: &git2::Repository,
    tip: Option<&git2::Commit<'_>>,
) -> grunt_core::Result<JobId> {
    let max = tip.map_or(0, |t| jobs::high_water(repo, t));
    Ok(JobId::new(&ctx.prefix, next.max(max + 1))?)
}
