//! Git's `.lock` files left behind by a killed process, and how grunt tells them from live
//! ones. git holds such a lock for microseconds and records no pid, so on its own a lock can
//! only be called stale by its age ([`STALE_LOCK_SECS`]). Every grunt and grund writer of a
//! repo therefore also holds a [`WriterLock`] (an `flock`, released by the kernel when its
//! holder dies) while it writes: holding it, a git lock left by another grunt is known dead.
//! In a client's own clone only grunt writes, so such a lock is cleared at once; in a bare
//! repo `git-receive-pack` (which takes no flock) may be the holder, so a lock must also be
//! older than [`DEAD_LOCK_SECS`].

use std::fs::{File, TryLockError};
use std::path::Path;
use std::time::{Duration, Instant};

use git2::Repository;

use crate::{Error, Result};

/// Age after which a git lock is taken for a leftover without further proof.
pub const STALE_LOCK_SECS: u64 = 30;

/// Age after which a git lock in a bare repo is a leftover when no grunt writer is live:
/// `git-receive-pack` holds one for milliseconds.
pub const DEAD_LOCK_SECS: u64 = 2;

/// How long to wait for another grunt writer of the same repo.
const WRITER_WAIT: Duration = Duration::from_secs(120);

/// The file in a repo's git directory that grunt writers `flock`.
const WRITER_LOCK_FILE: &str = "grunt-writer.lock";

/// Held while this process writes a repo; dropping it releases it.
#[derive(Debug)]
pub struct WriterLock {
    _file: File,
}

impl WriterLock {
    /// Waits (bounded) until no other grunt writes the repo at `git_dir`. `None` when the lock
    /// file cannot be opened (a read-only repo): then nothing is known about other writers.
    pub fn take(git_dir: &Path) -> Result<Option<WriterLock>> {
        let path = git_dir.join(WRITER_LOCK_FILE);
        let Ok(file) = File::options()
            .create(true)
            .write(true)
            .truncate(false)
            .open(&path)
        else {
            return Ok(None);
        };
        let deadline = Instant::now() + WRITER_WAIT;
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(Some(WriterLock { _file: file })),
                Err(TryLockError::WouldBlock) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err(TryLockError::WouldBlock) => {
                    return Err(Error::io("waiting for another grunt writing", &path)(
                        std::io::Error::other(format!(
                            "still busy after {} s; if no grunt or grund is running, remove {}",
                            WRITER_WAIT.as_secs(),
                            path.display()
                        )),
                    ))
                }
                Err(TryLockError::Error(e)) => return Err(Error::io("locking", &path)(e)),
            }
        }
    }
}

/// The lock files git and libgit2 leave in a clone when killed mid-update: the branch, the
/// remote-tracking ref, `HEAD`, `packed-refs`, the index (the results clone's checkout),
/// the ref a push goes out from, the config.
const CLIENT_LOCKS: &[&str] = &[
    "refs/heads/master.lock",
    "refs/remotes/origin/master.lock",
    "refs/grunt/outgoing.lock",
    "HEAD.lock",
    "packed-refs.lock",
    "index.lock",
    "config.lock",
];

/// Takes the [`WriterLock`] of a client's clone and clears the git locks (`CLIENT_LOCKS`)
/// a killed grunt left there: with the writer lock held, no live grunt holds them, so one
/// kill never blocks the next command. Without a writer lock, only locks older than
/// [`STALE_LOCK_SECS`] go. Hold the returned guard while writing the clone.
pub fn guard_clone(repo: &Repository) -> Result<Option<WriterLock>> {
    let guard = WriterLock::take(repo.path())?;
    let min_age = match guard {
        Some(_) => 0,
        None => STALE_LOCK_SECS,
    };
    for l in CLIENT_LOCKS {
        clear_if_older(&repo.path().join(l), min_age)?;
    }
    Ok(guard)
}

/// Removes `lock` if it is at least `secs` old, with a warning. True if it did.
pub fn clear_if_older(lock: &Path, secs: u64) -> Result<bool> {
    let Ok(meta) = std::fs::metadata(lock) else {
        return Ok(false);
    };
    let age = meta
        .modified()
        .ok()
        .and_then(|m| m.elapsed().ok())
        .unwrap_or_default();
    if age < Duration::from_secs(secs) {
        return Ok(false);
    }
    log::warn!(
        "removing {}, left {} s ago by a process that died while holding it",
        lock.display(),
        age.as_secs()
    );
    match std::fs::remove_file(lock) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(Error::io("removing stale lock", lock)(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::git::testutil;

    #[test]
    fn a_clone_lock_left_by_a_dead_grunt_goes_at_once() {
        let (_d, repo) = testutil::repo(false);
        let lock = repo.path().join("refs/remotes/origin/master.lock");
        std::fs::create_dir_all(lock.parent().unwrap()).unwrap();
        std::fs::File::create(&lock).unwrap();
        let g = guard_clone(&repo).unwrap();
        assert!(g.is_some() && !lock.exists());
        // A second writer waits for the first.
        let path = repo.path().to_path_buf();
        let t = std::thread::spawn(move || {
            let started = Instant::now();
            WriterLock::take(&path).unwrap();
            started.elapsed()
        });
        std::thread::sleep(Duration::from_millis(200));
        drop(g);
        assert!(t.join().unwrap() >= Duration::from_millis(150));
    }
}
