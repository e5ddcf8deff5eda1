//! Where things live: the server root `~/gruntsrv`, the client root `~/gruntdat`, and the paths
//! inside a jobs or results repo (`active/<jobid>/<project>/…`). Compatible with the original
//! (PROTOCOL.md §1); both roots come from `$HOME`, so one machine can be server and client.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use crate::jobid::JobId;

/// Directory of the server root under `$HOME`.
pub const SERVER_ROOT: &str = "gruntsrv";
/// Directory of the client root under `$HOME`.
pub const CLIENT_ROOT: &str = "gruntdat";
/// Highest job number grund has seen, at the top of a jobs repo.
pub const MAXJOB_FILE: &str = "maxjob.id";
/// grund's processing status, at the top of the jobs and results repos.
pub const STATUS_FILE: &str = "grund_status.txt";
/// The last jobs commit whose commands grund has completely processed (untracked, server wc).
pub const LAST_DONE_FILE: &str = "last_commit_done.sha";
/// The file that keeps `active/`, `archive/` and `delete/` in git while they are empty.
pub const PLACEHOLDER: &str = "placeholder";
/// The client's next job number for a project, under `projs/<project>/`.
pub const NEXTJOB_FILE: &str = "nextjob.id";
/// The branch every grunt repo uses.
pub const BRANCH: &str = "master";
/// Full name of [`BRANCH`].
pub const BRANCH_REF: &str = "refs/heads/master";

/// `$HOME`, or an error that says to set it.
pub fn home() -> crate::Result<PathBuf> {
    match std::env::var_os("HOME") {
        Some(h) if !h.is_empty() => Ok(PathBuf::from(h)),
        _ => Err(crate::Error::NoHome),
    }
}

/// The three places a job can be, as directories at the top of both repos.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Location {
    Active,
    Archive,
    Delete,
}

impl Location {
    pub const ALL: [Location; 3] = [Location::Active, Location::Archive, Location::Delete];

    pub fn dir(self) -> &'static str {
        match self {
            Location::Active => "active",
            Location::Archive => "archive",
            Location::Delete => "delete",
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.dir())
    }
}

/// A word that is not a [`Location`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not active, archive or delete")]
pub struct UnknownLocation(pub String);

impl FromStr for Location {
    type Err = UnknownLocation;
    fn from_str(s: &str) -> Result<Self, UnknownLocation> {
        match s {
            "active" => Ok(Location::Active),
            "archive" => Ok(Location::Archive),
            "delete" => Ok(Location::Delete),
            _ => Err(UnknownLocation(s.to_string())),
        }
    }
}

/// `<loc>/<jobid>`: the directory a job owns in both repos.
pub fn job_root(loc: Location, id: &JobId) -> String {
    format!("{}/{}", loc.dir(), id)
}

/// `<loc>/<jobid>/<project>`: where a job's files are (the project subdirectory makes the
/// project's relative paths and build setups work unchanged).
pub fn job_dir(loc: Location, id: &JobId, project: &str) -> String {
    format!("{}/{}/{}", loc.dir(), id, project)
}

/// One project's pair of repos: jobs and results, under `<root>/<bb|wc>/<server>/<user>/<project>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectDirs {
    pub base: PathBuf,
}

impl ProjectDirs {
    pub fn jobs(&self) -> PathBuf {
        self.base.join("jobs")
    }
    pub fn results(&self) -> PathBuf {
        self.base.join("results")
    }
}

/// Which project: the three names all of a project's paths are made of, on the server
/// (`bb/<server>/<user>/<project>`) and on the client (`wc/<server>/<user>/<project>`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProjectKey {
    /// The server's name (`grunt.server`, grund's `--server`).
    pub server: String,
    /// The user name in the paths (the job ids' prefix is derived from it).
    pub user: String,
    pub project: String,
}

impl ProjectKey {
    pub fn new(
        server: impl Into<String>,
        user: impl Into<String>,
        project: impl Into<String>,
    ) -> ProjectKey {
        ProjectKey {
            server: server.into(),
            user: user.into(),
            project: project.into(),
        }
    }
}

/// The server's tree, `~/gruntsrv`.
#[derive(Debug, Clone)]
pub struct ServerLayout {
    pub root: PathBuf,
}

impl ServerLayout {
    pub fn from_home(home: &Path) -> Self {
        ServerLayout {
            root: home.join(SERVER_ROOT),
        }
    }

    pub fn new() -> crate::Result<Self> {
        Ok(Self::from_home(&home()?))
    }

    /// `bb/<server>/<user>`: the bare repos of all of a user's projects.
    pub fn bare_user_dir(&self, server: &str, user: &str) -> PathBuf {
        self.root.join("bb").join(server).join(user)
    }

    /// Bare repos, where clients push.
    pub fn bare(&self, key: &ProjectKey) -> ProjectDirs {
        ProjectDirs {
            base: self
                .bare_user_dir(&key.server, &key.user)
                .join(&key.project),
        }
    }

    /// grund's working copies; jobs run in `wc/…/jobs/<loc>/<jobid>/<project>`.
    pub fn work(&self, key: &ProjectKey) -> ProjectDirs {
        ProjectDirs {
            base: self
                .root
                .join("wc")
                .join(&key.server)
                .join(&key.user)
                .join(&key.project),
        }
    }

    /// grund's durable per-command progress for a project (see grund's `ledger` module).
    pub fn state_dir(&self, key: &ProjectKey) -> PathBuf {
        self.work(key).base.join("grund-state")
    }

    /// `last_commit_done.sha`, where the original keeps it: untracked in the jobs working copy.
    pub fn last_done_file(&self, key: &ProjectKey) -> PathBuf {
        self.work(key).jobs().join(LAST_DONE_FILE)
    }

    pub fn lock_file(&self) -> PathBuf {
        self.root.join("grund.lock")
    }

    pub fn heartbeat_file(&self) -> PathBuf {
        self.root.join("grund.heartbeat")
    }
}

/// The client's tree, `~/gruntdat`.
#[derive(Debug, Clone)]
pub struct ClientLayout {
    pub root: PathBuf,
}

impl ClientLayout {
    pub fn from_home(home: &Path) -> Self {
        ClientLayout {
            root: home.join(CLIENT_ROOT),
        }
    }

    pub fn new() -> crate::Result<Self> {
        Ok(Self::from_home(&home()?))
    }

    pub fn wc_root(&self) -> PathBuf {
        self.root.join("wc")
    }

    /// The client's clones of a project's repos.
    pub fn work(&self, key: &ProjectKey) -> ProjectDirs {
        ProjectDirs {
            base: self
                .wc_root()
                .join(&key.server)
                .join(&key.user)
                .join(&key.project),
        }
    }

    /// `projs/<project>/nextjob.id`.
    pub fn nextjob_file(&self, project: &str) -> PathBuf {
        self.root.join("projs").join(project).join(NEXTJOB_FILE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn original_paths() {
        let s = ServerLayout::from_home(Path::new("/home/ore"));
        let key = ProjectKey::new("clust", "ore", "sim");
        assert_eq!(
            s.bare(&key).jobs(),
            Path::new("/home/ore/gruntsrv/bb/clust/ore/sim/jobs")
        );
        assert_eq!(
            s.last_done_file(&key),
            Path::new("/home/ore/gruntsrv/wc/clust/ore/sim/jobs/last_commit_done.sha")
        );
        let c = ClientLayout::from_home(Path::new("/Users/ore"));
        assert_eq!(
            c.work(&key).results(),
            Path::new("/Users/ore/gruntdat/wc/clust/ore/sim/results")
        );
        assert_eq!(
            c.nextjob_file("sim"),
            Path::new("/Users/ore/gruntdat/projs/sim/nextjob.id")
        );
        let id: JobId = "ore000042".parse().unwrap();
        assert_eq!(
            job_dir(Location::Archive, &id, "sim"),
            "archive/ore000042/sim"
        );
    }
}
