//! The project a command works on: the directory it runs in, the project's name, the server,
//! the user and the client's clones of the jobs and results repos, plus the operations most
//! commands share (pull, list jobs, resolve job arguments, push commands).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use git2::{Oid, Repository};
use grunt_core::command;
use grunt_core::config;
use grunt_core::git::{self, sync, tree};
use grunt_core::jobfile;
use grunt_core::jobid::{self, JobId, JobSpec};
use grunt_core::jobs::{self, JobRecord};
use grunt_core::layout::{self, ClientLayout, Location, ProjectDirs, ProjectKey};
use grunt_core::protocol::answer::Reply;

use crate::{error, ui};

/// A commit that changed a job.
#[derive(Debug, Clone)]
pub struct HistoryEntry {
    pub commit: Oid,
    pub time: Option<chrono::DateTime<chrono::Utc>>,
    pub summary: String,
}

/// A file in the jobs clone's git directory whose time is that of the last successful pull.
const PULL_STAMP: &str = "grunt-last-pull";

/// How many times a push is replayed when others keep pushing. Each try waits up to ~0.5 s
/// on a locked ref, so this also outlasts a lock left by a killed process until it is
/// cleared as stale (`grunt_core::git::refs::STALE_LOCK_SECS`).
pub const PUSH_TRIES: u32 = 80;

pub struct Ctx {
    /// The project directory (where grunt runs).
    pub cwd: PathBuf,
    /// The project's server, user and name.
    pub key: ProjectKey,
    /// Prefix of this user's job ids; in a `clone-shared` project, of the jobs' owner (see
    /// [`shared_prefix`]).
    pub prefix: String,
    pub dirs: ProjectDirs,
    pub jobs: Repository,
    /// A `clone-shared` project: a read-only record that no server runs, so nothing is pushed.
    pub shared: bool,
    /// Set by a command that waits after its push: the push asks the server to wait too.
    pub wait_after_push: std::cell::Cell<Option<u64>>,
    /// grund's answer that came back with a push, for the commit pushed.
    pub answer: std::cell::RefCell<Option<(Oid, Reply)>>,
}

impl std::fmt::Debug for Ctx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ctx")
            .field("project", &self.key.project)
            .field("server", &self.key.server)
            .field("jobs", &self.dirs.jobs())
            .finish()
    }
}

/// After every command: clones the original client checked out follow what ours moved, and
/// the original's job lists are rewritten (see `worktree` and `jobs_csv`). Here so that no
/// command, and no way a command ends, can skip it.
impl Drop for Ctx {
    fn drop(&mut self) {
        crate::side_by_side::after_command(self);
    }
}

impl Ctx {
    /// The project of the current directory or the nearest directory above it that is a
    /// project set up on this client (as git finds its repo).
    pub fn open() -> Result<Ctx> {
        let start = std::env::current_dir().context("finding the current directory")?;
        let home = layout::home()?;
        let user = config::user_name()?;
        let cl = ClientLayout::from_home(&home);
        let mut first_err = None;
        for dir in start.ancestors() {
            match Ctx::at(dir, &home, &cl, &user) {
                Ok(Some(ctx)) => return Ok(ctx),
                Ok(None) => {}
                Err(e) => {
                    first_err.get_or_insert(e);
                }
            }
        }
        if let Some(e) = first_err {
            return Err(e);
        }
        let project = config::project_name(&start).unwrap_or_else(|_| "?".into());
        if config::server_name(&start, &home)?.is_none() {
            return Err(anyhow::Error::new(config::ConfigError::NoServer));
        }
        Err(error::error(format!(
            "project {project:?} is not set up on this client (looked in {} and the directories above it)",
            start.display()
        ))
        .hint(format!(
            "set it up: `grunt newproj {project} <user@host>` in the project directory"
        ))
        .hint("or run grunt from the project directory, or with -C DIR")
        .into())
    }

    /// `dir` as a project, if its jobs clone exists on this client.
    fn at(dir: &Path, home: &Path, cl: &ClientLayout, user: &str) -> Result<Option<Ctx>> {
        let Ok(project) = config::project_name(dir) else {
            return Ok(None);
        };
        let server = match config::server_name(dir, home)? {
            Some(s) => s,
            None => match only_server(cl, user, &project) {
                Some(s) => s,
                None => return Ok(None),
            },
        };
        let key = ProjectKey::new(server, user, project);
        let dirs = cl.work(&key);
        if !dirs.jobs().exists() {
            return Ok(None);
        }
        let jobs = git::open(&dirs.jobs())?;
        crate::worktree::refuse_unpushed(&jobs)?;
        if let Ok(results) = git::open(&dirs.results()) {
            crate::worktree::refuse_unpushed(&results)?;
        }
        let shared = crate::commands::share::mirror_dir(cl, &key.server, &key.project)
            .join("jobs")
            .is_dir();
        let prefix = match shared.then(|| shared_prefix(&jobs)).flatten() {
            Some(p) => p,
            None => JobId::prefix_for_user(user)?,
        };
        Ok(Some(Ctx {
            cwd: dir.to_path_buf(),
            key,
            prefix,
            dirs,
            jobs,
            shared,
            wait_after_push: std::cell::Cell::new(None),
            answer: std::cell::RefCell::new(None),
        }))
    }

    /// Pulls the jobs repo for a command that only reads: when the server cannot be reached,
    /// warns and goes on with the local copy, saying how old it is.
    pub fn pull_for_reading(&self) -> Result<()> {
        if let Err(e) = self.pull_jobs() {
            let age = match self.last_pull_age() {
                Some(secs) => format!("as of {} ago", crate::table::duration(secs)),
                None => "of unknown age".into(),
            };
            ui::warn(format!(
                "cannot reach the server ({}); showing the local copy {age}",
                error::one_line(&e)
            ));
        }
        Ok(())
    }

    /// Seconds since the jobs repo was last pulled.
    pub fn last_pull_age(&self) -> Option<u64> {
        let m = std::fs::metadata(self.jobs.path().join(PULL_STAMP)).ok()?;
        m.modified().ok()?.elapsed().ok().map(|d| d.as_secs())
    }

    /// Fetches the jobs repo.
    pub fn pull_jobs(&self) -> Result<Option<Oid>> {
        let head = sync::pull(&self.jobs, false)
            .with_context(|| format!("pulling jobs of {}", self.key.project))?;
        self.note_pulled();
        Ok(head)
    }

    /// Records that the jobs repo is as current as the server's, now.
    pub fn note_pulled(&self) {
        // When it was last pulled, for reading offline (a failed write only loses that age).
        let _ = std::fs::write(self.jobs.path().join(PULL_STAMP), b"");
    }

    /// The jobs, for a command that pushes a request about the jobs `args` name: the local
    /// copy when it knows every one of them, saving a fetch before the push (if the server
    /// moved meanwhile, the push is rejected, fetched and replayed on the server's jobs, as
    /// always); a fresh pull when it does not, when no job is named (all of them are meant),
    /// or when a range is (other clients' jobs in it may be new).
    pub fn jobs_for(&self, args: &[String]) -> Result<Vec<JobRecord>> {
        let local_enough = !args.is_empty() && !args.iter().any(|a| a.contains(".."));
        if local_enough && git::ref_target(&self.jobs, sync::TRACKING_REF)?.is_some() {
            let all = self.list()?;
            if self.resolve(args, &all).is_ok() {
                return Ok(all);
            }
        }
        self.pull_jobs()?;
        self.list()
    }

    /// Fetches the results repo and updates its files.
    pub fn pull_results(&self) -> Result<()> {
        let r = git::open(&self.dirs.results())?;
        move_results(&r, |whole| sync::pull(&r, whole).map(drop))
            .with_context(|| format!("pulling results of {}", self.key.project))
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
        Ok(jobs::list(&self.jobs, &tree, &self.key.project))
    }

    /// The jobs that `args` name (ids, numbers, ranges, comma lists of them), in order. A job
    /// that does not exist is an error, before anything is done; so is a malformed argument.
    /// Within a range, numbers without a job are skipped.
    pub fn resolve(&self, args: &[String], all: &[JobRecord]) -> Result<Vec<JobRecord>> {
        let mut specs: Vec<JobSpec> = Vec::new();
        for a in args
            .iter()
            .flat_map(|a| a.split(','))
            .filter(|a| !a.is_empty())
        {
            specs.push(a.parse().map_err(|e| {
                error::usage(format!("{e}"))
                    .hint("jobs are ids (ore000042), numbers (42), ranges (11..22) or comma lists of them")
            })?);
        }
        let known: Vec<JobId> = all.iter().map(|j| j.id.clone()).collect();
        let r = jobid::resolve(&specs, &known, &self.prefix);
        if !r.missing.is_empty() {
            return Err(error::error(format!(
                "no job {} in project {}",
                r.missing.join(", "),
                self.key.project
            ))
            .hint("`grunt jobs` lists the jobs; nothing was done")
            .into());
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
        self.refuse_shared()?;
        let sig = git::signature(&self.jobs, &self.key.user)?;
        let runners = self.runner_files();
        let wait = self.push_wait();
        let (commit, answer) = sync::push_change_then(
            &self.jobs,
            &sig,
            PUSH_TRIES,
            wait.as_ref(),
            |repo, parent| {
                let tip = parent.map(|p| p.tree()).transpose()?;
                let mut edits = Vec::new();
                for id in ids {
                    let rec = tip
                        .as_ref()
                        .and_then(|t| jobs::find(repo, t, id, &self.key.project));
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
            },
        )?;
        self.keep_answer(commit, answer);
        Ok(commit)
    }

    /// A `clone-shared` project takes no commands: nothing would ever run them.
    pub fn refuse_shared(&self) -> Result<()> {
        if !self.shared {
            return Ok(());
        }
        Err(error::error(format!(
            "{} is a shared record (clone-shared): read-only, no server runs its commands; nothing was pushed",
            self.key.project
        ))
        .hint("browse it with jobs, show, out, diff, log; `grunt clone-shared REMOTE` again updates it")
        .into())
    }

    /// What a push asks the server to wait for (see [`Ctx::wait_after_push`]).
    pub fn push_wait(&self) -> Option<grunt_core::git::receive::Wait> {
        let secs = self.wait_after_push.get()?;
        crate::wait::catch_interrupt();
        let have_results = git::open(&self.dirs.results())
            .ok()
            .and_then(|r| git::ref_target(&r, sync::TRACKING_REF).ok().flatten());
        Some(grunt_core::git::receive::Wait {
            secs,
            have_results: have_results.into_iter().collect(),
        })
    }

    /// Keeps grund's answer that came back with the push of `commit`, for `wait`.
    pub fn keep_answer(&self, commit: Oid, answer: Option<Reply>) {
        *self.answer.borrow_mut() = answer.map(|a| (commit, a));
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

    /// The commits of the jobs repo that changed `job`'s directory (wherever it was then),
    /// newest first: at most `max`, looking back at most 2,000 commits.
    pub fn job_history(&self, job: &JobRecord, max: usize) -> Result<Vec<HistoryEntry>> {
        let Some(head) = git::head(&self.jobs)? else {
            return Ok(Vec::new());
        };
        let mut walk = self.jobs.revwalk()?;
        walk.push(head)?;
        walk.set_sorting(git2::Sort::TOPOLOGICAL | git2::Sort::TIME)?;
        let place = |t: &git2::Tree<'_>| -> Option<(String, Oid)> {
            Location::ALL.iter().find_map(|loc| {
                let p = layout::job_dir(*loc, &job.id, &job.project);
                let e = t.get_path(Path::new(&p)).ok()?;
                Some((p, e.id()))
            })
        };
        let mut out = Vec::new();
        for oid in walk.take(2000) {
            let c = self.jobs.find_commit(oid?)?;
            let now = place(&c.tree()?);
            let before = match c.parent(0) {
                Ok(p) => place(&p.tree()?),
                Err(_) => None,
            };
            if now != before {
                out.push(HistoryEntry {
                    commit: c.id(),
                    time: chrono::DateTime::from_timestamp(c.time().seconds(), 0),
                    summary: String::from_utf8_lossy(c.summary_bytes().unwrap_or(b"")).into_owned(),
                });
                if out.len() >= max {
                    break;
                }
            }
        }
        Ok(out)
    }

    /// When grund last committed `job`'s files (its newest `GRUND:` commit that changed it).
    pub fn last_commit_time(
        &self,
        job: &JobRecord,
    ) -> Result<Option<chrono::DateTime<chrono::Utc>>> {
        Ok(self
            .job_history(job, 50)?
            .into_iter()
            .find(|h| h.summary.starts_with(grunt_core::GRUND_COMMIT_PREFIX))
            .and_then(|h| h.time))
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
            return Err(error::usage(format!(
                "{what} needs job arguments: ids (ore000042), numbers (42) or ranges (11..22)"
            ))
            .into());
        }
        Ok(())
    }
}

/// The job prefix of a `clone-shared` project (its mirror is under `<gruntdat>/shared/`): the
/// jobs there are someone else's, so a number means one of *theirs*, as it does for them (and
/// `log N` of a nuked job, the original's job lists follow). Theirs is the prefix most of the
/// jobs carry. `None` for a shared project without jobs.
fn shared_prefix(jobs: &Repository) -> Option<String> {
    let tip = jobs.find_commit(git::head(jobs).ok()??).ok()?.tree().ok()?;
    let mut count: std::collections::BTreeMap<String, usize> = Default::default();
    for loc in Location::ALL {
        let Some(dir) = tree::subtree(jobs, &tip, loc.dir()) else {
            continue;
        };
        for e in dir.iter() {
            if let Some(id) = e.name().ok().and_then(|n| n.parse::<JobId>().ok()) {
                *count.entry(id.prefix().to_string()).or_default() += 1;
            }
        }
    }
    count
        .into_iter()
        .max_by_key(|(_, n)| *n)
        .map(|(prefix, _)| prefix)
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

/// Moves the results clone's branch with `moved(checkout_whole)`. Only a clone not checked out
/// yet is checked out whole (forced); after that its files follow path by path, keeping what
/// people changed (gresults/ links into it).
pub fn move_results(
    r: &git2::Repository,
    moved: impl FnOnce(bool) -> grunt_core::Result<()>,
) -> grunt_core::Result<()> {
    let first = crate::worktree::never_checked_out(r);
    moved(first)?;
    if !first {
        crate::worktree::follow_and_warn(r);
    }
    Ok(())
}
