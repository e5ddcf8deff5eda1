//! The client's side of the conversation with a server repo: pull (fetch and fast-forward),
//! and commit-and-push that, when the server moved meanwhile, fetches and replays the change
//! on the new tip instead of forcing.

use git2::{Oid, Repository, Signature};

use super::refs::make_commit;
pub use super::remote::TRACKING_REF;
use super::remote::{set_ref, Pushed, Remote};
use super::tree::{self, Edit};
use crate::layout::BRANCH_REF;
use crate::protocol::answer::Reply;
use crate::{Error, Result};

/// Fetches and moves the local branch to the server's. With `checkout`, the working tree
/// follows (the results repo, whose files people open).
pub fn pull(repo: &Repository, checkout: bool) -> Result<Option<Oid>> {
    let _writer = super::locks::guard_clone(repo)?;
    let remote = Remote::origin(repo)?;
    let Some(head) = remote.fetch(repo)? else {
        return Ok(None);
    };
    follow(repo, head, checkout)?;
    Ok(Some(head))
}

/// Takes in what the server sent with its answer (see `crate::protocol::answer`): writes the
/// pack, then moves the remote-tracking ref and the branch to `tip` as [`pull`] does. Fails,
/// moving nothing, when the pack does not bring `tip`.
pub fn adopt(repo: &Repository, tip: Oid, pack: &[u8], checkout: bool) -> Result<()> {
    let err = || Error::git("writing objects", repo.path());
    if !pack.is_empty() {
        let odb = repo.odb().map_err(err())?;
        let mut w = odb.packwriter().map_err(err())?;
        std::io::Write::write_all(&mut w, pack).map_err(|e| {
            Error::io("writing pack into", repo.path())(crate::fsutil::explain_write_error(
                e,
                repo.path(),
            ))
        })?;
        w.commit().map_err(err())?;
    }
    repo.find_commit(tip).map_err(err())?;
    set_ref(repo, TRACKING_REF, tip)?;
    follow(repo, tip, checkout)
}

/// Moves the local branch to `head`; with `checkout`, the working tree follows.
fn follow(repo: &Repository, head: Oid, checkout: bool) -> Result<()> {
    let old = super::head(repo)?;
    set_ref(repo, BRANCH_REF, head)?;
    if checkout && (old != Some(head) || repo.index().map(|i| i.is_empty()).unwrap_or(true)) {
        let mut co = git2::build::CheckoutBuilder::new();
        co.force();
        repo.checkout_head(Some(&mut co))
            .map_err(Error::git("checking out", repo.path()))?;
    }
    Ok(())
}

/// A change to publish: its edits and its commit message.
#[derive(Debug)]
pub struct Change {
    pub edits: Vec<Edit>,
    pub message: String,
}

/// Builds a commit from `build`'s change on the last tip of the server this client saw (its
/// remote-tracking ref; fetched first only when there is none) and pushes it: no fetch before
/// the push, one round trip when nothing moved. When the push is rejected because the server
/// moved, fetches and calls `build` again on the new tip (which may renumber a job, say), up to
/// `tries` times. Returns the pushed commit, or the tip when the change turned out to change
/// nothing.
pub fn push_change<F>(repo: &Repository, sig: &Signature<'_>, tries: u32, build: F) -> Result<Oid>
where
    F: FnMut(&Repository, Option<&git2::Commit<'_>>) -> Result<Change>,
{
    push_change_from(repo, sig, tries, None, build).map(|(c, _)| c)
}

/// [`push_change`], and with `wait`, waits on the server for grund's answer to the pushed
/// commit in the same ssh session when the server's `grunt receive` can (see
/// [`super::receive`]): returns that answer too (`None`: wait for it otherwise).
pub fn push_change_then<F>(
    repo: &Repository,
    sig: &Signature<'_>,
    tries: u32,
    wait: Option<&super::receive::Wait>,
    build: F,
) -> Result<(Oid, Option<Reply>)>
where
    F: FnMut(&Repository, Option<&git2::Commit<'_>>) -> Result<Change>,
{
    push_change_from(repo, sig, tries, wait, build)
}

/// The same as [`push_change`] (whose first try no longer fetches either), kept for callers
/// that say they fetched just now.
pub fn push_change_fresh<F>(
    repo: &Repository,
    sig: &Signature<'_>,
    tries: u32,
    build: F,
) -> Result<Oid>
where
    F: FnMut(&Repository, Option<&git2::Commit<'_>>) -> Result<Change>,
{
    push_change_from(repo, sig, tries, None, build).map(|(c, _)| c)
}

fn push_change_from<F>(
    repo: &Repository,
    sig: &Signature<'_>,
    tries: u32,
    wait: Option<&super::receive::Wait>,
    mut build: F,
) -> Result<(Oid, Option<Reply>)>
where
    F: FnMut(&Repository, Option<&git2::Commit<'_>>) -> Result<Change>,
{
    let _writer = super::locks::guard_clone(repo)?;
    let remote = Remote::origin(repo)?;
    let err = || Error::git("committing", repo.path());
    let mut last_reason = String::new();
    for attempt in 0..tries {
        // The first try builds on what this client saw last; later ones on a fresh fetch.
        let (base, fetched) = match (attempt == 0, super::ref_target(repo, TRACKING_REF)?) {
            (true, Some(known)) => (Some(known), false),
            _ => (remote.fetch(repo)?, true),
        };
        let parent = base
            .map(|b| repo.find_commit(b))
            .transpose()
            .map_err(err())?;
        let change = build(repo, parent.as_ref())?;
        let base_tree = parent.as_ref().map(|p| p.tree_id());
        let new_tree = tree::apply(repo, base_tree, &change.edits)?;
        if Some(new_tree) == base_tree {
            // Nothing to change on a tip seen earlier may be something on the server's.
            if !fetched {
                continue;
            }
            if let Some(b) = base {
                set_ref(repo, BRANCH_REF, b)?;
                return Ok((b, None));
            }
        }
        let commit = make_commit(repo, sig, &change.message, new_tree, parent.as_ref())?;
        match remote.push_then(repo, commit, base, wait)? {
            (Pushed::Ok, answer) => {
                set_ref(repo, TRACKING_REF, commit)?;
                set_ref(repo, BRANCH_REF, commit)?;
                return Ok((commit, answer));
            }
            (Pushed::Rejected(why), _) => {
                log::debug!("push rejected ({why}); fetching and replaying");
                last_reason = why;
            }
        }
    }
    Err(Error::Contention {
        what: format!("the server repo {} ({last_reason})", remote.display()),
        tries,
    })
}
