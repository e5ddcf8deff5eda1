//! Fetching from and pushing to a project's bare repos, never forcing.
//!
//! A remote is a local path (the server's home on this machine, or a shared file system) or a
//! URL. Local paths are served directly: objects are copied with a pack and the branch is
//! moved with a compare-and-swap, which libgit2's own local push does not guarantee. URLs go
//! through libgit2's smart protocol; `ssh` URLs use the system `ssh` (see `crate::transport`).

use std::io::Write;
use std::path::{Path, PathBuf};

use git2::{Oid, Repository};

use super::refs::{self, Cas};
use crate::layout::BRANCH_REF;
use crate::{Error, Result};

/// The remote-tracking ref grunt keeps for the server's branch (as `git fetch` would).
pub const TRACKING_REF: &str = "refs/remotes/origin/master";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Remote {
    Local(PathBuf),
    Url(String),
}

/// Result of a push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pushed {
    Ok,
    /// The server's branch moved since we fetched: fetch, replay, try again.
    Rejected(String),
}

impl Remote {
    /// Interprets a remote URL as stored in a repo's `origin`.
    pub fn parse(url: &str) -> Remote {
        if let Some(p) = url.strip_prefix("file://") {
            return Remote::Local(PathBuf::from(p));
        }
        if url.starts_with('/') {
            return Remote::Local(PathBuf::from(url));
        }
        Remote::Url(url.to_string())
    }

    /// The `origin` of a repo.
    pub fn origin(repo: &Repository) -> Result<Remote> {
        let r = repo.find_remote("origin").map_err(|e| Error::NotARepo {
            path: repo.path().to_path_buf(),
            why: format!("it has no origin remote ({})", e.message()),
        })?;
        Ok(Remote::parse(r.url().unwrap_or_default()))
    }

    pub fn display(&self) -> String {
        match self {
            Remote::Local(p) => p.display().to_string(),
            Remote::Url(u) => u.clone(),
        }
    }

    /// Brings the server's branch into `repo` as [`TRACKING_REF`] and returns its commit
    /// (`None` if the server has no commit yet).
    pub fn fetch(&self, repo: &Repository) -> Result<Option<Oid>> {
        match self {
            Remote::Local(path) => {
                let remote = open_remote(path)?;
                let Some(head) = super::head(&remote)? else {
                    return Ok(None);
                };
                let mut have = Vec::new();
                for r in [TRACKING_REF, BRANCH_REF] {
                    if let Some(o) = super::ref_target(repo, r)? {
                        have.push(o);
                    }
                }
                copy_objects(&remote, repo, head, &have)?;
                set_ref(repo, TRACKING_REF, head)?;
                Ok(Some(head))
            }
            Remote::Url(url) => {
                grunt_ssh::register().map_err(crate::Error::GitOther)?;
                let mut remote = repo.remote_anonymous(url).map_err(|e| self.error(e))?;
                let spec = format!("+{BRANCH_REF}:{TRACKING_REF}");
                remote
                    .fetch(&[spec.as_str()], None, None)
                    .map_err(|e| self.error(e))?;
                super::ref_target(repo, TRACKING_REF)
            }
        }
    }

    /// Pushes `new` to the server's branch if that is still at `expected`.
    pub fn push(&self, repo: &Repository, new: Oid, expected: Option<Oid>) -> Result<Pushed> {
        self.push_then(repo, new, expected, None).map(|(p, _)| p)
    }

    /// [`Remote::push`]; over ssh, through the server's `grunt receive` when it has one (one
    /// session, see [`crate::protocol::receive`]), which with `wait` also waits there for
    /// grund's answer and returns it. Else with git's smart protocol.
    pub fn push_then(
        &self,
        repo: &Repository,
        new: Oid,
        expected: Option<Oid>,
        wait: Option<&super::receive::Wait>,
    ) -> Result<(Pushed, Option<crate::protocol::answer::Reply>)> {
        if let Remote::Url(url) = self {
            if let Some(done) = super::receive::push(repo, url, new, expected, wait)? {
                return Ok(done);
            }
        }
        self.push_git(repo, new, expected).map(|p| (p, None))
    }

    fn push_git(&self, repo: &Repository, new: Oid, expected: Option<Oid>) -> Result<Pushed> {
        match self {
            Remote::Local(path) => {
                let remote = open_remote(path)?;
                let have: Vec<Oid> = expected.into_iter().collect();
                copy_objects(repo, &remote, new, &have)?;
                match refs::cas(&remote, BRANCH_REF, new, expected, "grunt: push")? {
                    Cas::Updated => Ok(Pushed::Ok),
                    Cas::Moved => Ok(Pushed::Rejected(format!(
                        "{} moved since it was fetched",
                        path.display()
                    ))),
                }
            }
            Remote::Url(url) => {
                grunt_ssh::register().map_err(crate::Error::GitOther)?;
                const OUTGOING: &str = "refs/grunt/outgoing";
                set_ref(repo, OUTGOING, new)?;
                let mut remote = repo.remote_anonymous(url).map_err(|e| self.error(e))?;
                let mut rejected: Option<String> = None;
                let mut cbs = git2::RemoteCallbacks::new();
                cbs.push_update_reference(|_, status| {
                    if let Some(s) = status {
                        rejected = Some(s.to_string());
                    }
                    Ok(())
                });
                let mut opts = git2::PushOptions::new();
                opts.remote_callbacks(cbs);
                let spec = format!("{OUTGOING}:{BRANCH_REF}");
                let r = remote.push(&[spec.as_str()], Some(&mut opts));
                drop(opts);
                if let Ok(mut r) = repo.find_reference(OUTGOING) {
                    let _ = r.delete();
                }
                match r {
                    Ok(()) => match rejected {
                        None => Ok(Pushed::Ok),
                        Some(why) => Ok(Pushed::Rejected(why)),
                    },
                    Err(e) if e.code() == git2::ErrorCode::NotFastForward => {
                        Ok(Pushed::Rejected(e.message().to_string()))
                    }
                    Err(e) => Err(self.error(e)),
                }
            }
        }
    }

    fn error(&self, e: git2::Error) -> Error {
        Error::Remote {
            remote: self.display(),
            message: e.message().to_string(),
        }
    }
}

fn open_remote(path: &Path) -> Result<Repository> {
    super::open(path).map_err(|e| Error::Remote {
        remote: path.display().to_string(),
        message: format!("{e}; create the project on the server first (grunt newproj <project>)"),
    })
}

/// Sets a ref unconditionally (for refs only this process writes).
pub fn set_ref(repo: &Repository, name: &str, target: Oid) -> Result<()> {
    repo.reference(name, target, true, "grunt")
        .map(|_| ())
        .map_err(Error::git("setting ref", repo.path()))
}

/// Copies everything reachable from `tip` but not from `have` from `src` into `dst`, as a pack.
fn copy_objects(src: &Repository, dst: &Repository, tip: Oid, have: &[Oid]) -> Result<()> {
    let dst_odb = dst
        .odb()
        .map_err(Error::git("opening objects", dst.path()))?;
    if dst_odb.exists(tip) {
        return Ok(());
    }
    let err = || Error::git("packing objects", src.path());
    let mut walk = src.revwalk().map_err(err())?;
    walk.push(tip).map_err(err())?;
    let src_odb = src.odb().map_err(err())?;
    for h in have {
        if src_odb.exists(*h) {
            walk.hide(*h).map_err(err())?;
        }
    }
    let mut pb = src.packbuilder().map_err(err())?;
    pb.insert_walk(&mut walk).map_err(err())?;
    let mut buf = git2::Buf::new();
    pb.write_buf(&mut buf).map_err(err())?;
    let werr = || Error::git("writing objects", dst.path());
    let mut w = dst_odb.packwriter().map_err(werr())?;
    w.write_all(&buf).map_err(|e| {
        Error::io("writing pack into", dst.path())(crate::fsutil::explain_write_error(
            e,
            dst.path(),
        ))
    })?;
    w.commit().map_err(werr())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::git::{testutil, tree};

    #[test]
    fn local_fetch_and_push_with_rejection() {
        let (_d, server) = testutil::repo(true);
        let sig = testutil::sig();
        refs::commit_edits(&server, &sig, "init", 1, |r, _| {
            Ok(vec![tree::put_bytes(
                r,
                "active/placeholder",
                b"placeholder",
                false,
            )?])
        })
        .unwrap();
        let remote = Remote::Local(server.path().to_path_buf());
        let (_c, client) = testutil::repo(false);
        let base = remote.fetch(&client).unwrap().unwrap();
        assert_eq!(
            crate::git::ref_target(&client, TRACKING_REF).unwrap(),
            Some(base)
        );

        let mk = |msg: &str, file: &str| {
            let p = client.find_commit(base).unwrap();
            let t = tree::apply(
                &client,
                Some(p.tree_id()),
                &[tree::put_bytes(&client, file, b"x", false).unwrap()],
            )
            .unwrap();
            refs::make_commit(&client, &sig, msg, t, Some(&p)).unwrap()
        };
        let a = mk("a", "a");
        let b = mk("b", "b");
        assert_eq!(remote.push(&client, a, Some(base)).unwrap(), Pushed::Ok);
        assert!(matches!(
            remote.push(&client, b, Some(base)).unwrap(),
            Pushed::Rejected(_)
        ));
        assert_eq!(crate::git::head(&server).unwrap(), Some(a));
        let tip = server.find_commit(a).unwrap().tree().unwrap();
        assert!(tree::exists(&tip, "a"));
    }
}
