//! The project a command works on: the directory it runs in, the project's name, the server,
//! the user and the client's clones of the jobs and results repos, plus the operations most
//! commands share (pull, list jobs, resolve job arguments, push commands).

use std::path::PathBuf;

use anyhow::{anyhow, bail, Context, Result};
use git2::{Oid, Repository};
use grunt_core::command;
use grunt_core::config;
use grunt_core::git::{self, sync, tree};
use grunt_core::jobfile;
use grunt_core::jobid::{self, JobId, JobSpec};
use grunt_core::jobs::{self, JobRecord};
use grunt_core::layout::{self, ClientLayout, ProjectDirs};

use crate::ui;

/// How many times a push is replayed when others keep pushing. Each try waits up to ~0.5 s
/// on a locked ref, so this also outlasts a lock left by a killed process until it is
/// cleared as stale (`grunt_core::git::refs::STALE_LOCK_SECS`).
pub const PUSH_TRIES: u32 = 80;

pub struct Ctx {
    /// The project directory (where grunt runs).
    pub cwd: PathBuf,
    pub user: String,
    /// Prefix of this user's job ids.
    pub prefix: String,
    pub project: String,
    pub server: String,
    pub dirs: ProjectDirs,
    pub jobs: Repository,
}

impl std::fmt::Debug for Ctx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ctx")
            .field("project", &self.project)
            .field("server", &self.server)
            .field("jobs", &self.dirs.jobs())
            .finish()
    }
}

impl Ctx {
    /// The project of the current directory, whose client repos must exist.
    pub fn open() -> Result<Ctx> {
        let cwd = std::env::current_dir().context("finding the current directory")?;
        let home = layout::home()?;
        let user = config::user_name()?;
        let prefix = JobId::prefix_for_user(&user)?;
        let project = config::project_name(&cwd)?;
        let cl = ClientLayout::from_home(&home);
        let server = match config::server_name(&cwd, &home)? {
            Some(s) => s,
            None => only_server(&cl, &user, &project).ok_or(config::ConfigError::NoServer)?,
        };
        let dirs = cl.work(&server, &user, &project);
        if !dirs.jobs().exists() {
            bail!(
                "project {project:?} is not set up on this client for server {server:?} ({} is missing):\n  run `grunt newproj {project} <user@host>` (after `grunt newproj {project}` on the server)",
                dirs.jobs().display()
            );
        }
        let jobs = git::open(&dirs.jobs())?;
        Ok(Ctx {
            cwd,
            user,
            prefix,
            project,
            server,
            dirs,
            jobs,
        })
    }

    /// Fetches the jobs repo.
    pub fn pull_jobs(&self) -> Result<Option<Oid>> {
        sync::pull(&self.jobs, false).with_context(|| format!("pulling jobs of {}", self.project))
    }

    /// Fetches the results repo and updates its files.
    pub fn pull_results(&self) -> Result<()> {
        let r = git::open(&self.dirs.results())?;
        sync::pull(&r, true).with_context(|| format!("pulling results of {}", self.project))?;
        Ok(())
    }

    /// The top tree of the local copy of the jobs repo (`None` before its first commit).
    pub fn tip(&self) -> Result<Option<git2::Tree<'_>>> {
        match git::head(&self.jobs)? {
            Some(head) => Ok(Some(self.jobs.find_commit(head)?.tree()?)),
            None => Ok(None),
        }
    }

    /// All jobs as of the local copy of the jobs repo.
    pub fn list(&self) -> Result<Vec<JobRecord>> {
        let Some(tree) = self.tip()? else {
            return Ok(Vec::new());
        };
        Ok(jobs::list(&self.jobs, &tree, &self.project))
    }

    /// The jobs that `args` name, in order; unknown ones are noted and skipped. Malformed
    /// arguments are an error, before anything is done.
    pub fn resolve(&self, args: &[String], all: &[JobRecord]) -> Result<Vec<JobRecord>> {
        let specs: Vec<JobSpec> = args.iter().map(|a| a.parse()).collect::<Result<_, _>>()?;
        let known: Vec<JobId> = all.iter().map(|j| j.id.clone()).collect();
        let r = jobid::resolve(&specs, &known, &self.prefix);
        for m in &r.missing {
            ui::note(format!(
                "note: no job {m} in project {}; skipped",
                self.project
            ));
        }
        Ok(r.found
            .iter()
            .filter_map(|id| all.iter().find(|j| &j.id == id).cloned())
            .collect())
    }

    /// Writes `grcmd.<word>` into each job (where it is now on the server) and pushes one
    /// commit; also refreshes the runner script from the project directory, as the original
    /// does. Returns the pushed commit.
    pub fn push_command(
        &self,
        ids: &[JobId],
        word: &str,
        content: &dyn Fn(&JobId) -> String,
    ) -> Result<Oid> {
        grunt_core::name::check_command(word)?;
        let sig = git::signature(&self.jobs, &self.user)?;
        let runners = self.runner_files();
        let commit = sync::push_change_fresh(&self.jobs, &sig, PUSH_TRIES, |repo, parent| {
            let tip = parent.map(|p| p.tree()).transpose()?;
            let mut edits = Vec::new();
            for id in ids {
                let rec = tip
                    .as_ref()
                    .and_then(|t| jobs::find(repo, t, id, &self.project));
                let Some(rec) = rec else {
                    ui::note(format!("note: job {id} is gone from the server; skipped"));
                    continue;
                };
                let dir = rec.dir();
                for (name, data, exec) in &runners {
                    edits.push(tree::put_bytes(
                        repo,
                        &format!("{dir}/{name}"),
                        data,
                        *exec,
                    )?);
                }
                edits.push(tree::put_bytes(
                    repo,
                    &format!("{dir}/{}{word}", command::PREFIX),
                    content(id).as_bytes(),
                    false,
                )?);
            }
            Ok(sync::Change {
                edits,
                message: format!("Command: {word}"),
            })
        })?;
        Ok(commit)
    }

    /// The runner scripts of the project directory, to refresh in jobs with each command.
    fn runner_files(&self) -> Vec<(String, Vec<u8>, bool)> {
        use std::os::unix::fs::PermissionsExt;
        [jobfile::RUNNER_EXE, jobfile::RUNNER_PY]
            .iter()
            .filter_map(|n| {
                let p = self.cwd.join(n);
                let data = std::fs::read(&p).ok()?;
                let exec = p.metadata().ok()?.permissions().mode() & 0o111 != 0;
                Some((n.to_string(), data, exec))
            })
            .collect()
    }

    /// `gresults/<jobid>` in the project directory.
    pub fn link_path(&self, id: &JobId) -> PathBuf {
        self.cwd.join("gresults").join(id.to_string())
    }

    /// The job's directory in the client's results repo.
    pub fn results_dir(&self, rec: &JobRecord) -> PathBuf {
        self.dirs.results().join(rec.dir())
    }

    pub fn require_jobs(&self, args: &[String], what: &str) -> Result<()> {
        if args.is_empty() {
            return Err(anyhow!(
                "{what} needs job arguments: ids (ore000042), numbers (42) or ranges (11..22)"
            ));
        }
        Ok(())
    }
}

/// The only server a project is set up for, when no default is configured (the original
/// takes the first it finds; one is unambiguous).
fn only_server(cl: &ClientLayout, user: &str, project: &str) -> Option<String> {
    let mut found = std::fs::read_dir(cl.wc_root())
        .ok()?
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join(user).join(project).join("jobs").is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned());
    let first = found.next()?;
    found.next().is_none().then_some(first)
}
