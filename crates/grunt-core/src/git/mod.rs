//! Git operations, all through libgit2 (git2 0.21, default features off: no libssh2/OpenSSL).
//!
//! Commits are built from blobs and trees written straight into the object database
//! ([`tree`]) and published with a compare-and-swap of `refs/heads/master` ([`refs`]), so no
//! operation needs a working copy of all jobs (at 10,000 jobs that would be ~200,000 files and
//! ~0.9 s a commit through the index). [`remote`] fetches and pushes, never forcing.

pub mod locks;
pub mod receive;
pub mod refs;
pub mod remote;
pub mod sync;
pub mod tree;

use std::path::Path;

use git2::{Repository, RepositoryInitOptions, Signature};

use crate::layout::BRANCH_REF;
use crate::{Error, Result};

/// Opens the repo at `path` (bare or not), without searching parents.
pub fn open(path: &Path) -> Result<Repository> {
    if !path.exists() {
        return Err(Error::NotARepo {
            path: path.to_path_buf(),
            why: "it does not exist".into(),
        });
    }
    Repository::open_ext(
        path,
        git2::RepositoryOpenFlags::NO_SEARCH,
        std::iter::empty::<&std::ffi::OsStr>(),
    )
    .map_err(|e| Error::NotARepo {
        path: path.to_path_buf(),
        why: e.message().to_string(),
    })
}

/// Creates a repo whose HEAD points at `master`, with the `files` ref format (libgit2 cannot
/// read reftable).
pub fn init(path: &Path, bare: bool) -> Result<Repository> {
    let mut opts = RepositoryInitOptions::new();
    opts.bare(bare)
        .mkpath(true)
        .no_reinit(true)
        .initial_head(crate::layout::BRANCH);
    let repo = Repository::init_opts(path, &opts).map_err(Error::git("creating repo", path))?;
    if bare {
        // Clients push here: keep history even if someone tries to rewrite it.
        let mut cfg = repo.config().map_err(Error::git("opening config", path))?;
        for (k, v) in [
            ("receive.denyNonFastForwards", true),
            ("receive.denyDeletes", true),
        ] {
            cfg.set_bool(k, v)
                .map_err(Error::git("writing config", path))?;
        }
    }
    Ok(repo)
}

/// The commit `refs/heads/master` points at, if any.
pub fn head(repo: &Repository) -> Result<Option<git2::Oid>> {
    ref_target(repo, BRANCH_REF)
}

/// The commit a ref points at, if the ref exists.
pub fn ref_target(repo: &Repository, name: &str) -> Result<Option<git2::Oid>> {
    match repo.find_reference(name) {
        Ok(r) => Ok(r.resolve().ok().and_then(|r| r.target())),
        Err(e) if e.code() == git2::ErrorCode::NotFound => Ok(None),
        Err(e) => Err(Error::git("reading ref", repo.path())(e)),
    }
}

/// The author and committer of grunt's and grund's commits: `user.name`/`user.email` from git
/// config when set, else `<user>` and `<user>@<host>`.
pub fn signature(repo: &Repository, user: &str) -> Result<Signature<'static>> {
    let cfg = repo.config().ok();
    let get = |k: &str| cfg.as_ref().and_then(|c| c.get_string(k).ok());
    let name = get("user.name").unwrap_or_else(|| user.to_string());
    let email = get("user.email").unwrap_or_else(|| format!("{user}@{}", hostname()));
    Signature::now(&name, &email).map_err(Error::git("making signature", repo.path()))
}

/// This machine's host name.
pub fn hostname() -> String {
    let name = rustix::system::uname()
        .nodename()
        .to_string_lossy()
        .into_owned();
    if name.is_empty() {
        return "localhost".into();
    }
    name
}

#[cfg(test)]
pub(crate) mod testutil {
    use super::*;

    /// A scratch repo with a fixed signature.
    pub fn repo(bare: bool) -> (tempfile::TempDir, Repository) {
        let d = tempfile::tempdir().unwrap();
        let r = init(&d.path().join("r"), bare).unwrap();
        (d, r)
    }

    pub fn sig() -> Signature<'static> {
        Signature::new("t", "t@x", &git2::Time::new(1_700_000_000, 0)).unwrap()
    }
}
