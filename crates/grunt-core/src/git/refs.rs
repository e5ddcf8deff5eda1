//! Publishing commits in a local repo with a compare-and-swap of the branch ref, retried a
//! bounded number of times when someone else (a client's push, another grunt) moved it first.
//! libgit2 takes git's own `<ref>.lock`, so this is safe against `git-receive-pack` too.

use std::time::Duration;

use git2::{ErrorCode, Oid, Repository, Signature};

use super::tree::{self, Edit};
use crate::layout::BRANCH_REF;
use crate::{Error, Result};

/// Outcome of a compare-and-swap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cas {
    Updated,
    /// The ref was not at the expected commit (or stayed locked by someone else).
    Moved,
}

pub use super::locks::STALE_LOCK_SECS;
use super::locks::{clear_if_older, WriterLock, DEAD_LOCK_SECS};

/// Sets `name` to `new` if it is still at `expected` (`None`: if it does not exist yet).
/// Holds the repo's [`WriterLock`] meanwhile, so that a git lock on the ref that outlives a
/// short wait is known to be a dead process's (see [`super::locks`]).
pub fn cas(
    repo: &Repository,
    name: &str,
    new: Oid,
    expected: Option<Oid>,
    log: &str,
) -> Result<Cas> {
    let guard = WriterLock::take(repo.path())?;
    let stale_after = match guard {
        Some(_) => DEAD_LOCK_SECS,
        None => STALE_LOCK_SECS,
    };
    let lock = repo.path().join(format!("{name}.lock"));
    let mut cleared = false;
    // A ref lock is held for microseconds; wait a little before calling it contention.
    for attempt in 0..300 {
        let r = match expected {
            Some(old) => repo
                .reference_matching(name, new, true, old, log)
                .map(|_| ()),
            None => repo.reference(name, new, false, log).map(|_| ()),
        };
        match r {
            Ok(()) => return Ok(Cas::Updated),
            Err(e) if matches!(e.code(), ErrorCode::Modified | ErrorCode::Exists) => {
                return Ok(Cas::Moved)
            }
            Err(e) if e.code() == ErrorCode::Locked => {
                // Past 0.5 s, look at the lock's age each time (at most one removal).
                if attempt >= 50 && !cleared && clear_if_older(&lock, stale_after)? {
                    cleared = true;
                    continue;
                }
                if attempt >= 50 && stale_after == STALE_LOCK_SECS {
                    return Ok(Cas::Moved);
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(e) => return Err(Error::git("updating ref", repo.path())(e)),
        }
    }
    Ok(Cas::Moved)
}

/// Removes `<ref>.lock` if it is older than [`STALE_LOCK_SECS`] (left by a process killed in
/// the middle of an update, it would block every update forever). True if it did.
pub fn clear_stale_lock(repo: &Repository, name: &str) -> Result<bool> {
    clear_if_older(&repo.path().join(format!("{name}.lock")), STALE_LOCK_SECS)
}

/// Builds a commit on the current tip of the branch (`master`, [`BRANCH_REF`]) from the edits `build` returns for that
/// tip, and publishes it with [`cas`]. Retries from the new tip when the ref moved. Returns
/// `None` when the edits change nothing (no empty commits).
pub fn commit_edits<F>(
    repo: &Repository,
    sig: &Signature<'_>,
    message: &str,
    tries: u32,
    mut build: F,
) -> Result<Option<Oid>>
where
    F: FnMut(&Repository, Option<&git2::Commit<'_>>) -> Result<Vec<Edit>>,
{
    let err = || Error::git("committing", repo.path());
    let refname = BRANCH_REF;
    for _ in 0..tries {
        let tip = super::ref_target(repo, refname)?;
        let parent = tip
            .map(|t| repo.find_commit(t))
            .transpose()
            .map_err(err())?;
        let edits = build(repo, parent.as_ref())?;
        let base = parent.as_ref().map(|p| p.tree_id());
        let new_tree = tree::apply(repo, base, &edits)?;
        if Some(new_tree) == base {
            return Ok(None);
        }
        let commit = make_commit(repo, sig, message, new_tree, parent.as_ref())?;
        if cas(repo, refname, commit, tip, message)? == Cas::Updated {
            return Ok(Some(commit));
        }
    }
    Err(Error::Contention {
        what: format!("{refname} in {}", repo.path().display()),
        tries,
    })
}

/// Writes a commit object (no ref is touched).
pub fn make_commit(
    repo: &Repository,
    sig: &Signature<'_>,
    message: &str,
    tree: Oid,
    parent: Option<&git2::Commit<'_>>,
) -> Result<Oid> {
    let err = || Error::git("committing", repo.path());
    let tree = repo.find_tree(tree).map_err(err())?;
    let parents: Vec<&git2::Commit<'_>> = parent.into_iter().collect();
    repo.commit(None, sig, sig, message, &tree, &parents)
        .map_err(err())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::git::testutil;

    fn t3(repo: &Repository, c: Oid) -> Oid {
        repo.find_commit(c).unwrap().tree_id()
    }

    #[test]
    fn a_stale_ref_lock_is_cleared_and_a_fresh_one_respected() {
        let (_d, repo) = testutil::repo(true);
        let sig = testutil::sig();
        let c1 = commit_edits(&repo, &sig, "one", 3, |r, _| {
            Ok(vec![tree::put_bytes(r, "a", b"1", false)?])
        })
        .unwrap()
        .unwrap();
        let t = repo.find_commit(c1).unwrap().tree_id();
        let c2 = make_commit(&repo, &sig, "two", t, Some(&repo.find_commit(c1).unwrap())).unwrap();
        let lock = repo.path().join("refs/heads/master.lock");
        // A lock its holder releases soon is waited for.
        std::fs::File::create(&lock).unwrap();
        let l2 = lock.clone();
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            std::fs::remove_file(l2).unwrap();
        });
        assert_eq!(
            cas(&repo, BRANCH_REF, c2, Some(c1), "x").unwrap(),
            Cas::Updated,
            "a lock released meanwhile"
        );
        t.join().unwrap();
        // One that outlives the wait with no grunt writer live is a dead process's.
        let f = std::fs::File::create(&lock).unwrap();
        let old = std::time::SystemTime::now() - Duration::from_secs(STALE_LOCK_SECS + 5);
        f.set_modified(old).unwrap();
        let c3 = make_commit(
            &repo,
            &sig,
            "three",
            t3(&repo, c2),
            Some(&repo.find_commit(c2).unwrap()),
        )
        .unwrap();
        assert_eq!(
            cas(&repo, BRANCH_REF, c3, Some(c2), "x").unwrap(),
            Cas::Updated
        );
        assert!(!lock.exists());
        assert_eq!(crate::git::head(&repo).unwrap(), Some(c3));
    }

    #[test]
    fn cas_detects_a_moved_ref_and_commit_edits_replays() {
        let (_d, repo) = testutil::repo(true);
        let sig = testutil::sig();
        let c1 = commit_edits(&repo, &sig, "one", 3, |r, _| {
            Ok(vec![tree::put_bytes(r, "a", b"1", false)?])
        })
        .unwrap()
        .unwrap();
        // Same content again: no commit.
        let none = commit_edits(&repo, &sig, "same", 3, |r, _| {
            Ok(vec![tree::put_bytes(r, "a", b"1", false)?])
        })
        .unwrap();
        assert_eq!(none, None);
        let t = repo.find_commit(c1).unwrap().tree_id();
        let stale = make_commit(&repo, &sig, "stale", t, None).unwrap();
        assert_eq!(
            cas(&repo, BRANCH_REF, stale, None, "x").unwrap(),
            Cas::Moved
        );
        assert_eq!(
            cas(&repo, BRANCH_REF, stale, Some(stale), "x").unwrap(),
            Cas::Moved
        );

        // Someone moves the ref while we build: the edits are replayed on the new tip.
        let mut first = true;
        let c2 = commit_edits(&repo, &sig, "two", 3, |r, parent| {
            if first {
                first = false;
                let p = parent.unwrap();
                let t = tree::apply(
                    r,
                    Some(p.tree_id()),
                    &[tree::put_bytes(r, "other", b"o", false)?],
                )?;
                let c = make_commit(r, &sig, "theirs", t, Some(p))?;
                assert_eq!(cas(r, BRANCH_REF, c, Some(p.id()), "theirs")?, Cas::Updated);
            }
            Ok(vec![tree::put_bytes(r, "b", b"2", false)?])
        })
        .unwrap()
        .unwrap();
        let c2 = repo.find_commit(c2).unwrap();
        assert_eq!(c2.parent(0).unwrap().message().ok(), Some("theirs"));
        let tree = c2.tree().unwrap();
        assert!(
            tree::exists(&tree, "other") && tree::exists(&tree, "b") && tree::exists(&tree, "a")
        );
    }
}
