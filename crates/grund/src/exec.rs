//! What each command does. Core commands (results, delete, archive, nuke, newproj-server)
//! change the repos and the disk idempotently, so replaying one after a crash is harmless;
//! every other word is a runner call, which runs at most once per command (see
//! `crate::supervisor::Slot`). A command's failure is written into its job (`job.error`) and
//! never stops grund.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};

use crate::ledger::Ledger;
use git2::{Repository, Tree};
use grunt_core::command::{self, CommandPath, Core};
use grunt_core::config::ProjectConfig;
use grunt_core::git::tree::{self, Edit};
use grunt_core::jobid::JobId;
use grunt_core::layout::{self, Location, ProjectKey, ServerLayout};
use grunt_core::protocol::words;
use grunt_core::runner::{Invocation, JobContext, Outcome};
use grunt_core::{fsutil, jobfile, name, project, Error, Result};

use crate::workdir::{self, WorkDir, SUBMITTED_MARK};

/// One project as grund serves it.
#[derive(Debug)]
pub struct Project {
    pub key: ProjectKey,
    pub layout: ServerLayout,
    pub work: WorkDir,
    pub ledger: Ledger,
    /// How to start a runner supervisor (grund's own binary and its hidden subcommand).
    pub supervisor: Vec<OsString>,
    /// Where this project's worker says what it waits on.
    pub activity: crate::pool::Activity,
}

/// A command found in a client commit.
#[derive(Debug, Clone)]
pub struct Pending {
    pub path: String,
    pub cmd: CommandPath,
    pub key: String,
}

/// What a batch of commands changes in the repos, collected until it is committed.
#[derive(Debug, Default)]
pub struct Batch {
    /// Moves and removals of jobs, in order.
    pub jobs_edits: Vec<Edit>,
    pub results_edits: Vec<Edit>,
    /// Jobs whose `job.*` files on disk are committed back.
    pub touched: BTreeSet<(JobId, String)>,
    /// Jobs in flight, counted once per batch when a cap needs it (see `crate::hold`).
    pub in_flight: Option<crate::hold::InFlight>,
}

impl Project {
    fn ctx(&self, id: &JobId, dir: &Path) -> JobContext {
        JobContext {
            job_id: id.to_string(),
            key: self.key.clone(),
            job_dir: dir.to_path_buf(),
        }
    }

    /// The job's directory on disk, written from `tree` (the command's commit) if need be.
    fn ensure_dir(
        &self,
        repo: &Repository,
        tree: &Tree<'_>,
        c: &CommandPath,
    ) -> Result<Option<PathBuf>> {
        if let Some((_, d)) = self.work.find(&c.job, &c.project) {
            return Ok(Some(d));
        }
        let at = layout::job_dir(c.location, &c.job, &c.project);
        match tree::subtree(repo, tree, &at) {
            Some(t) => Ok(Some(
                self.work
                    .materialize(repo, &t, c.location, &c.job, &c.project)?,
            )),
            None => Ok(None),
        }
    }

    /// The directory a command on a job works in (written from git if need be); the job's
    /// files are committed back with the batch.
    pub(crate) fn job_dir_for(
        &self,
        repo: &Repository,
        tree: &Tree<'_>,
        p: &Pending,
        batch: &mut Batch,
    ) -> Result<Option<PathBuf>> {
        let c = &p.cmd;
        let dir = self.ensure_dir(repo, tree, c)?;
        match &dir {
            Some(_) => {
                batch.touched.insert((c.job.clone(), c.project.clone()));
            }
            None => log::warn!("{}: job not found", p.path),
        }
        Ok(dir)
    }

    /// Runs one command of the commit whose tree is `tree`.
    pub fn execute(
        &self,
        repo: &Repository,
        tree: &Tree<'_>,
        p: &Pending,
        batch: &mut Batch,
    ) -> Result<()> {
        let c = &p.cmd;
        log::info!("{}: {} {}", self.key.project, c.word, c.job);
        match Core::from_word(&c.word) {
            Some(Core::Delete) => self.relocate(c, Location::Delete, batch),
            Some(Core::Archive) => self.relocate(c, Location::Archive, batch),
            Some(Core::Undelete) => self.undelete(c, batch),
            Some(Core::Nuke) => self.nuke(c, batch),
            Some(Core::NewprojServer) => self.newproj(repo, tree, p),
            Some(Core::Results) => self.results(repo, tree, p, batch),
            None => self.runner(repo, tree, p, batch),
        }
    }

    /// Whether `e`, met while running `c`, is the job's own: an I/O error on a file of the
    /// job on disk (replaced, unreadable, vanished), not a full disk, which passes.
    pub fn is_job_error(&self, c: &CommandPath, e: &Error) -> bool {
        let Error::Io { path, source, .. } = e else {
            return false;
        };
        !grunt_core::fsutil::is_disk_full(source)
            && Location::ALL
                .iter()
                .any(|l| path.starts_with(self.work.job_root(*l, &c.job)))
    }

    /// Tells the job (in `job.error`, when its directory still takes it) and the log.
    pub fn record_job_error(&self, p: &Pending, e: &Error) {
        log::warn!("{}: {}: {e}", self.key.project, p.path);
        if let Some((_, dir)) = self.work.find(&p.cmd.job, &p.cmd.project) {
            let _ = self.job_error(&dir, &p.cmd.word, &e.to_string());
        }
    }

    /// Moves the job to `to` from wherever it is when the batch is committed, not only from
    /// where the client saw it: `archive 1; delete 1` pushed before grund got to the first
    /// must end in `delete/`, not be dropped because `active/` was emptied by the archive.
    fn relocate(&self, c: &CommandPath, to: Location, batch: &mut Batch) -> Result<()> {
        let dest = layout::job_root(to, &c.job);
        // Where the command file is goes last, so a job there wins over a stray elsewhere.
        let mut sources: Vec<Location> = Location::ALL
            .into_iter()
            .filter(|l| *l != to && *l != c.location)
            .collect();
        if c.location != to {
            sources.push(c.location);
        }
        for from in sources {
            let from = layout::job_root(from, &c.job);
            batch.jobs_edits.push(Edit::Move {
                from: from.clone(),
                to: dest.clone(),
            });
            // Deleted jobs keep their record in jobs, not their results.
            batch.results_edits.push(match to {
                Location::Delete => Edit::Remove { path: from },
                _ => Edit::Move {
                    from,
                    to: dest.clone(),
                },
            });
        }
        if to == Location::Delete {
            batch.results_edits.push(Edit::Remove { path: dest });
        }
        if let Some((from, _)) = self.work.find(&c.job, &c.project) {
            self.work.move_job(&c.job, from, to)?;
        }
        batch.touched.insert((c.job.clone(), c.project.clone()));
        Ok(())
    }

    /// Moves the job back to `active/` and puts back the results it last had (in `active/`
    /// or `archive/`), as the results repo's history holds them: `delete` removed them from
    /// the tip only. Idempotent like the moves: a replay puts the same tree again.
    fn undelete(&self, c: &CommandPath, batch: &mut Batch) -> Result<()> {
        self.relocate(c, Location::Active, batch)?;
        let results = grunt_core::git::open(&self.layout.bare(&self.key).results())?;
        let dest = layout::job_root(Location::Active, &c.job);
        if let Some(oid) = results_in_history(&results, &c.job, &dest)? {
            batch.results_edits.push(Edit::Put {
                path: dest,
                oid,
                mode: git2::FileMode::Tree,
            });
        }
        Ok(())
    }

    fn nuke(&self, c: &CommandPath, batch: &mut Batch) -> Result<()> {
        for l in Location::ALL {
            let path = layout::job_root(l, &c.job);
            batch.jobs_edits.push(Edit::Remove { path: path.clone() });
            batch.results_edits.push(Edit::Remove { path });
        }
        self.work.remove_job(&c.job)
    }

    fn newproj(&self, repo: &Repository, tree: &Tree<'_>, p: &Pending) -> Result<()> {
        let content = tree::read_file(repo, tree, &p.path).unwrap_or_default();
        let new = grunt_core::fsutil::first_line(&content);
        if let Err(e) = name::check("project", new.trim()) {
            log::warn!("{}: newproj-server: {e}", p.path);
            return Ok(());
        }
        match project::create_server(
            &self.layout,
            &ProjectKey::new(&self.key.server, &self.key.user, new.trim()),
        ) {
            Ok(_) => log::info!("created project {new}"),
            Err(Error::ProjectExists { .. }) => log::info!("project {new} exists already"),
            Err(e) => log::warn!("newproj-server {new}: {e}"),
        }
        Ok(())
    }

    /// Copies the job's result files into the results repo: those listed in the command file
    /// (`grunt files`), else those the runner's `results` prints.
    fn results(
        &self,
        repo: &Repository,
        tree: &Tree<'_>,
        p: &Pending,
        batch: &mut Batch,
    ) -> Result<()> {
        let c = &p.cmd;
        let Some(dir) = self.job_dir_for(repo, tree, p, batch)? else {
            return Ok(());
        };
        let content = tree::read_file(repo, tree, &p.path).unwrap_or_default();
        let names = match command::listed_files(&String::from_utf8_lossy(&content)) {
            Some(names) => names,
            None => {
                let slot = self.ledger.slot(&p.key);
                let mut inv = match self.invocation(&c.job, &dir, words::RESULTS) {
                    Ok(inv) => inv,
                    Err(e) => return self.job_error(&dir, words::RESULTS, &e.to_string()),
                };
                // The list must survive later runner calls that rewrite job.grunter.out.
                inv.stdout = slot.stdout_file();
                self.note_runner(words::RESULTS, &c.job, &inv);
                let outcome = slot.run_once(&inv, &self.supervisor)?;
                let out = grunt_core::fsutil::read_regular(&inv.stdout).unwrap_or_default();
                let _ = crate::nofollow::write_below(&dir, jobfile::RUNNER_OUT, &out, 0o644);
                if let Some(text) = outcome.error_text(words::RESULTS) {
                    self.job_error(&dir, words::RESULTS, &text)?;
                }
                String::from_utf8_lossy(&out)
                    .lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .map(str::to_string)
                    .collect()
            }
        };
        let loc = self
            .work
            .find(&c.job, &c.project)
            .map(|(l, _)| l)
            .unwrap_or(c.location);
        let base = layout::job_dir(loc, &c.job, &c.project);
        // The blobs belong in the results repo, where they are committed.
        let results = grunt_core::git::open(&self.layout.bare(&self.key).results())?;
        let mut refused = Vec::new();
        for n in names {
            match checked_result(&dir, &n) {
                Ok(file) => {
                    let exec = file
                        .metadata()
                        .map(|m| m.permissions().mode() & 0o111 != 0)
                        .unwrap_or(false);
                    // Streamed, never read whole: result files can be hundreds of MB. Opened
                    // without blocking or following a link: the file may have been swapped for
                    // a FIFO or removed since it was checked; that is this file's refusal.
                    match tree::put_file(&results, &format!("{base}/{n}"), &file, exec) {
                        Ok(edit) => batch.results_edits.push(edit),
                        Err(Error::Io { source, .. }) if !fsutil::is_disk_full(&source) => {
                            refused.push(format!("{n:?}: cannot read it ({source})"))
                        }
                        Err(e) => return Err(e),
                    }
                }
                Err(why) => refused.push(format!("{n:?}: {why}")),
            }
        }
        if !refused.is_empty() {
            self.job_error(
                &dir,
                words::RESULTS,
                &format!("refused result files: {}", refused.join("; ")),
            )?;
        }
        workdir::write_job_list(&dir)
    }

    fn runner(
        &self,
        repo: &Repository,
        tree: &Tree<'_>,
        p: &Pending,
        batch: &mut Batch,
    ) -> Result<()> {
        let c = &p.cmd;
        let Some(dir) = self.job_dir_for(repo, tree, p, batch)? else {
            return Ok(());
        };
        // Held back (a cap, dependencies), canceled while held, or a status of a job the
        // scheduler has never seen: no runner call now.
        if (c.word == words::SUBMIT && crate::hold::gate(self, repo, tree, &dir, batch)?)
            || (c.word == words::CANCEL && crate::hold::cancel_held(&dir)?)
            || (c.word == words::STATUS && crate::hold::is_held(&dir))
        {
            return workdir::write_job_list(&dir);
        }
        if c.word == words::SUBMIT {
            return self.run_submit(&c.job, &dir, &p.key);
        }
        self.run_word(&c.job, &dir, &c.word, &p.key)
    }

    /// The runner's `submit`, at most once per job (the first key wins).
    pub(crate) fn run_submit(&self, job: &JobId, dir: &Path, key: &str) -> Result<()> {
        if !self.claim_submit(job, dir, key)? {
            return self.job_error(
                dir,
                words::SUBMIT,
                "the job was submitted already; not submitting it again (use a new job)",
            );
        }
        self.run_word(job, dir, words::SUBMIT, key)
    }

    /// Claims the job's one submit for `key` (false: another key has it, or the runner was
    /// given the job already) and records its inputs: what every runner call that submits
    /// the job (`submit`, `submit-batch`) does first.
    pub(crate) fn claim_submit(&self, job: &JobId, dir: &Path, key: &str) -> Result<bool> {
        if !self.may_submit(dir, key)? {
            return Ok(false);
        }
        // The data as it is when the job starts; a failure is the record's, not the job's.
        self.activity
            .set(&self.key.project, format!("hashing the inputs of {job}"));
        if let Err(e) = crate::inputs::record(&self.layout.root, &self.key.project, dir) {
            log::warn!("{}: inputs of {job}: {e}", self.key.project);
        }
        Ok(true)
    }

    /// One runner call, once per `key`.
    fn run_word(&self, job: &JobId, dir: &Path, word: &str, key: &str) -> Result<()> {
        let c = (job, word);
        let inv = match self.invocation(c.0, dir, c.1) {
            Ok(inv) => inv,
            Err(e) => return self.job_error(dir, c.1, &e.to_string()),
        };
        self.note_runner(c.1, c.0, &inv);
        let outcome = self.ledger.slot(key).run_once(&inv, &self.supervisor)?;
        if let Some(text) = outcome.error_text(c.1) {
            self.job_error(dir, c.1, &text)?;
        }
        if !matches!(outcome, Outcome::Exited(_)) {
            log::warn!("{}: {} {}: {outcome:?}", self.key.project, c.1, c.0);
        }
        workdir::write_job_list(dir)
    }

    /// A job's first `submit` command may run; any later one is refused.
    fn may_submit(&self, dir: &Path, key: &str) -> Result<bool> {
        let mark = dir.join(SUBMITTED_MARK);
        // Read without blocking: the runner could have put a FIFO there.
        let seen = match grunt_core::fsutil::read_regular(&mark) {
            Ok(b) => Some(grunt_core::fsutil::first_line(&b)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(Error::io("reading", &mark)(e)),
        };
        match seen {
            Some(k) => Ok(k == key),
            None if dir.join(jobfile::BATCHID).exists() => Ok(false),
            None => {
                grunt_core::fsutil::atomic_write(&mark, key.as_bytes())?;
                Ok(true)
            }
        }
    }

    /// Says, for the heartbeat and the log, which runner call the project now waits on.
    fn note_runner(&self, word: &str, job: &JobId, inv: &Invocation) {
        let limit = inv
            .timeout_secs
            .map_or("no time limit".to_string(), |t| format!("time limit {t} s"));
        if inv.timeout_secs.is_none() {
            log::info!("{}: {word} {job}: the runner has no time limit ({limit}; set [runner] timeout to give one)", self.key.project);
        }
        self.activity.set(
            &self.key.project,
            format!("runner `{word}` of {job} ({limit})"),
        );
    }

    pub(crate) fn invocation(&self, id: &JobId, dir: &Path, word: &str) -> Result<Invocation> {
        let cfg = ProjectConfig::load(dir)?;
        Ok(Invocation::new(&self.ctx(id, dir), word, &cfg)?)
    }

    fn job_error(&self, dir: &Path, word: &str, text: &str) -> Result<()> {
        workdir::write_error(dir, word, text)?;
        workdir::write_job_list(dir)
    }
}

use std::os::unix::fs::PermissionsExt;

/// How far back `undelete` looks for a job's results.
const UNDELETE_LOOKBACK: usize = 100_000;

/// The tree of `job`'s results in the newest commit of `results` that has them in `active/`
/// or `archive/`; `None` when the tip has them at `dest` already (nothing to restore) or no
/// commit had any.
fn results_in_history(results: &Repository, job: &JobId, dest: &str) -> Result<Option<git2::Oid>> {
    let err = || Error::git("reading results history", results.path());
    let Some(head) = grunt_core::git::head(results)? else {
        return Ok(None);
    };
    let tip = results
        .find_commit(head)
        .and_then(|c| c.tree())
        .map_err(err())?;
    if tree::exists(&tip, dest) {
        return Ok(None);
    }
    let mut walk = results.revwalk().map_err(err())?;
    walk.push(head).map_err(err())?;
    walk.set_sorting(git2::Sort::TOPOLOGICAL | git2::Sort::TIME)
        .map_err(err())?;
    for oid in walk.take(UNDELETE_LOOKBACK) {
        let t = results
            .find_commit(oid.map_err(err())?)
            .and_then(|c| c.tree())
            .map_err(err())?;
        for loc in [Location::Active, Location::Archive] {
            if let Some(sub) = tree::subtree(results, &t, &layout::job_root(loc, job)) {
                return Ok(Some(sub.id()));
            }
        }
    }
    Ok(None)
}

/// A result file must be a relative path to a regular file inside the job directory, reached
/// without leaving it through `..` or a link.
fn checked_result(dir: &Path, rel: &str) -> std::result::Result<PathBuf, RefusedResult> {
    name::check_relative_path(rel).map_err(|e| RefusedResult::BadPath(e.why.to_string()))?;
    let path = dir.join(rel);
    let real = path.canonicalize().map_err(RefusedResult::Unopenable)?;
    let base = dir.canonicalize().map_err(RefusedResult::Io)?;
    if !real.starts_with(&base) {
        return Err(RefusedResult::Outside);
    }
    let meta = fs::symlink_metadata(&path).map_err(RefusedResult::Io)?;
    if !meta.is_file() {
        return Err(RefusedResult::NotAFile);
    }
    Ok(path)
}

/// Why a file named by `grunt files` is not taken into the results.
#[derive(Debug, thiserror::Error)]
enum RefusedResult {
    #[error("{0}")]
    BadPath(String),
    #[error("cannot open it ({0})")]
    Unopenable(std::io::Error),
    #[error("{0}")]
    Io(std::io::Error),
    #[error("it leads outside the job directory")]
    Outside,
    #[error("it is not a regular file")]
    NotAFile,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn result_paths_stay_inside() {
        let d = tempfile::tempdir().unwrap();
        let job = d.path().join("job");
        fs::create_dir_all(job.join("out")).unwrap();
        fs::write(job.join("out/a.csv"), "1").unwrap();
        fs::write(d.path().join("secret"), "s").unwrap();
        std::os::unix::fs::symlink(d.path().join("secret"), job.join("link")).unwrap();
        std::os::unix::fs::symlink(job.join("out/a.csv"), job.join("inlink")).unwrap();
        assert!(checked_result(&job, "out/a.csv").is_ok());
        for bad in [
            "../secret",
            "/etc/passwd",
            "link",
            "out",
            "missing",
            "inlink",
        ] {
            assert!(checked_result(&job, bad).is_err(), "{bad}");
        }
    }
}
