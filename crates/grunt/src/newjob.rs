//! Publishing new jobs: choose the next job ids (above this client's `nextjob.id` and every id
//! on the server), put each job's tree at `active/<jobid>/<project>`, push ONE commit, and when
//! another client took an id meanwhile, renumber and push again. Used by `submit` (one job,
//! or every point of a sweep) and `rerun`.

use std::cell::RefCell;

use anyhow::{bail, Context, Result};
use git2::{FileMode, Oid, Repository, Tree};
use grunt_core::git::{self, sync, tree, tree::Edit};
use grunt_core::jobid::JobId;
use grunt_core::layout::{self, ClientLayout, Location};
use grunt_core::{fsutil, jobfile, jobs};

use crate::context::{Ctx, PUSH_TRIES};

/// Pushes a job whose files are `job_tree`; returns its id and the pushed commit.
pub fn publish(ctx: &Ctx, job_tree: Oid, message: &str) -> Result<(JobId, Oid)> {
    let (ids, commit) = publish_many(ctx, &[job_tree], message, false, &|_, _| Ok(()))?;
    match ids.into_iter().next() {
        Some(id) => Ok((id, commit)),
        None => bail!("internal: no job id was chosen"),
    }
}

/// A check of the tip a push builds on (run again on every replay); an error stops the push
/// and is what the publish returns.
pub type Check<'a> = dyn Fn(&Repository, Option<&Tree<'_>>) -> Result<()> + 'a;

/// Pushes one job per tree in ONE commit, with consecutive ids; with `sweep`, each job gets
/// `job.sweep` naming the first one. `check` sees the tip before the ids are chosen.
pub fn publish_many(
    ctx: &Ctx,
    trees: &[Oid],
    message: &str,
    sweep: bool,
    check: &Check<'_>,
) -> Result<(Vec<JobId>, Oid)> {
    if trees.is_empty() {
        bail!("internal: nothing to publish");
    }
    ctx.refuse_shared()?;
    let (next_file, next) = recorded_next(ctx)?;
    let sig = git::signature(&ctx.jobs, &ctx.key.user)?;
    let chosen: RefCell<Vec<JobId>> = RefCell::new(Vec::new());
    let refused: RefCell<Option<anyhow::Error>> = RefCell::new(None);
    let wait = ctx.push_wait();
    let pushed = sync::push_change_then(
        &ctx.jobs,
        &sig,
        PUSH_TRIES,
        wait.as_ref(),
        |repo, parent| {
            let parent_tree = parent
                .map(|c| c.tree())
                .transpose()
                .map_err(|e| grunt_core::Error::git("reading tree", repo.path())(e))?;
            if let Err(e) = check(repo, parent_tree.as_ref()) {
                *refused.borrow_mut() = Some(e);
                return Err(grunt_core::Error::GitOther(git2::Error::from_str(
                    "refused before pushing",
                )));
            }
            let first = choose(ctx, next, repo, parent)?;
            let mut ids = Vec::with_capacity(trees.len());
            let mut edits = Vec::with_capacity(trees.len());
            let sweep_put = if sweep {
                Some(tree::put_bytes(
                    repo,
                    jobfile::SWEEP,
                    format!("{first}\n").as_bytes(),
                    false,
                )?)
            } else {
                None
            };
            for (i, t) in trees.iter().enumerate() {
                let id = JobId::new(&ctx.prefix, first.number() + i as u64)?;
                let oid = match &sweep_put {
                    Some(put) => tree::apply(repo, Some(*t), std::slice::from_ref(put))?,
                    None => *t,
                };
                edits.push(Edit::Put {
                    path: layout::job_dir(Location::Active, &id, &ctx.key.project),
                    oid,
                    mode: FileMode::Tree,
                });
                ids.push(id);
            }
            let what = match ids.as_slice() {
                [one] => format!("Submit job: {one}"),
                [a, .., b] => format!("Submit jobs: {a}..{b} ({} jobs)", ids.len()),
                [] => String::new(),
            };
            *chosen.borrow_mut() = ids;
            Ok(sync::Change {
                edits,
                message: format!("{what} {message}"),
            })
        },
    );
    let (commit, answer) = match (pushed, refused.into_inner()) {
        (Err(_), Some(why)) => return Err(why),
        (pushed, _) => pushed?,
    };
    ctx.keep_answer(commit, answer);
    let ids = chosen.into_inner();
    let Some(last) = ids.last() else {
        bail!("internal: no job id was chosen");
    };
    // Not synced (an fsync here cost ~2-4 ms of every submit): ids above it are also in the
    // server's history, which `choose` reads, so a value lost in a crash is never reused.
    let tmp = next_file.with_extension(format!("tmp{}", std::process::id()));
    next_file
        .parent()
        .map_or(Ok(()), std::fs::create_dir_all)
        .and_then(|()| std::fs::write(&tmp, format!("{}\n", last.number() + 1)))
        .and_then(|()| std::fs::rename(&tmp, &next_file))
        .with_context(|| format!("writing {}", next_file.display()))?;
    Ok((ids, commit))
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
