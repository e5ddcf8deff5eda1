//! One pass over one project: find the commands pushed since `last_commit_done.sha`, run them
//! in commit order, commit what they changed (results first, then jobs, so a client that sees
//! the answer in jobs finds the results already there), and only then move
//! `last_commit_done.sha`. A crash anywhere replays the same batch, which is harmless (see
//! [`crate::exec`] and `crate::ledger`).

use std::path::Path;

use crate::ledger::Ledger;
use git2::{Oid, Repository, Sort};
use grunt_core::command::CommandPath;
use grunt_core::git::{self, refs, remote, tree};
use grunt_core::jobfile;
use grunt_core::layout::{self, Location};
use grunt_core::protocol::status_file::{self, GrundStatus};
use grunt_core::{jobs, Error, Result, GRUND_COMMIT_PREFIX};

use crate::exec::{Batch, Pending, Project};
use crate::workdir;

/// How many times a commit is rebuilt when clients keep pushing while grund commits.
pub(crate) const COMMIT_TRIES: u32 = 50;

/// What one pass did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Report {
    pub commands: usize,
    pub head: Option<Oid>,
}

/// Processes everything pending in `p`.
pub fn process(p: &Project) -> Result<Report> {
    let bare = p.layout.bare(&p.key);
    let jobs_repo = git::open(&bare.jobs())?;
    let Some(head) = git::head(&jobs_repo)? else {
        return Ok(Report::default());
    };
    let last = match p.ledger.last_done()? {
        Some(l) => Some(l),
        None => recorded_in_status(&jobs_repo, head, &p.key.project),
    };
    if last == Some(head) {
        return Ok(Report {
            commands: 0,
            head: Some(head),
        });
    }
    if let Some(l) = last {
        if jobs_repo.find_commit(l).is_err() {
            log::warn!(
                "{}: last_commit_done.sha names {l}, which the repo does not have; skipping to {head} without running anything in between",
                p.key.project
            );
            p.ledger.set_last_done(head, &[])?;
            return Ok(Report {
                commands: 0,
                head: Some(head),
            });
        }
    }
    let commits = new_commits(&jobs_repo, head, last)?;
    let mut batch = Batch::default();
    let mut keys = Vec::new();
    let mut commands = 0;
    for c in &commits {
        let commit = jobs_repo
            .find_commit(*c)
            .map_err(Error::git("reading commit", jobs_repo.path()))?;
        let tree = commit
            .tree()
            .map_err(Error::git("reading tree", jobs_repo.path()))?;
        let (pending, changed) = commands_of(&jobs_repo, &commit)?;
        sync_client_files(p, &jobs_repo, &changed)?;
        // Several `status` commands: one `batch-status` call answers what it can.
        let (pending, answered) =
            crate::refresh::answer_statuses(p, &jobs_repo, &tree, pending, &mut batch)?;
        (commands, keys) = (commands + answered.commands, [keys, answered.keys].concat());
        // The submits of one sweep: one `submit-batch` call, one scheduler array.
        let (pending, answered) =
            crate::arrays::submit_sweeps(p, &jobs_repo, &tree, pending, &mut batch)?;
        (commands, keys) = (commands + answered.commands, [keys, answered.keys].concat());
        for cmd in pending {
            match p.execute(&jobs_repo, &tree, &cmd, &mut batch) {
                Ok(()) => {}
                // The job's own files are broken: the job hears of it, the others go on.
                Err(e) if p.is_job_error(&cmd.cmd, &e) => p.record_job_error(&cmd, &e),
                // Anything else (the repos, the state, a full disk) is the project's: the batch
                // is retried later from the same commit.
                Err(e) => return Err(e),
            }
            keys.push(cmd.key.clone());
            commands += 1;
        }
    }
    if commands > 0 {
        commit_batch(p, &jobs_repo, &bare.results(), &batch, last, head)?;
        crate::notify::after_commit(p, &batch.touched);
    }
    p.ledger.set_last_done(head, &keys)?;
    // Keep the working copy's idea of the server current, for people who look at it.
    if let Ok(wc) = git::open(&p.work.root) {
        let _ = remote::set_ref(&wc, remote::TRACKING_REF, head);
    }
    Ok(Report {
        commands,
        head: Some(head),
    })
}

/// Without `last_commit_done.sha` (a new project, or a server whose `wc/` was lost), where to
/// start: the last commit a grund (this one or the original) recorded as processed in
/// `grund_status.txt`, so a lost file never replays a project's whole history; from the root
/// only if no grund ever processed it.
fn recorded_in_status(repo: &Repository, head: Oid, project: &str) -> Option<Oid> {
    let tree = repo.find_commit(head).ok()?.tree().ok()?;
    let text = tree::read_file(repo, &tree, status_file::FILE_NAME)?;
    let oid = GrundStatus::from_bytes(&text).commit_cur?;
    repo.find_commit(oid).ok()?;
    log::warn!("{project}: no last_commit_done.sha; resuming after {oid}, the last commit grund_status.txt records as processed");
    Some(oid)
}

/// Client commits after `last` up to `head`, oldest first. grund's own commits are skipped;
/// so are merges, whose changes are in their parents (grunt never makes them).
fn new_commits(repo: &Repository, head: Oid, last: Option<Oid>) -> Result<Vec<Oid>> {
    let err = || Error::git("walking history", repo.path());
    let mut walk = repo.revwalk().map_err(err())?;
    walk.set_sorting(Sort::TOPOLOGICAL | Sort::REVERSE)
        .map_err(err())?;
    walk.push(head).map_err(err())?;
    if let Some(l) = last {
        walk.hide(l).map_err(err())?;
    }
    let mut out = Vec::new();
    for oid in walk {
        let oid = oid.map_err(err())?;
        let c = repo.find_commit(oid).map_err(err())?;
        if c.message().unwrap_or("").starts_with(GRUND_COMMIT_PREFIX) || c.parent_count() > 1 {
            continue;
        }
        out.push(oid);
    }
    Ok(out)
}

/// A file a client commit added or changed.
#[derive(Debug)]
struct Changed {
    path: String,
    blob: Oid,
    /// The git file mode (`0o100755` for an executable).
    mode: i32,
}

/// The commands a commit adds or changes, in path order, and all paths it adds or changes.
fn commands_of(
    repo: &Repository,
    commit: &git2::Commit<'_>,
) -> Result<(Vec<Pending>, Vec<Changed>)> {
    let err = || Error::git("diffing", repo.path());
    let new = commit.tree().map_err(err())?;
    let old = match commit.parent(0) {
        Ok(p) => Some(p.tree().map_err(err())?),
        Err(_) => None,
    };
    let diff = repo
        .diff_tree_to_tree(old.as_ref(), Some(&new), None)
        .map_err(err())?;
    let mut pending = Vec::new();
    let mut changed = Vec::new();
    for d in diff.deltas() {
        if !matches!(
            d.status(),
            git2::Delta::Added | git2::Delta::Modified | git2::Delta::Typechange
        ) {
            continue;
        }
        let f = d.new_file();
        let Some(path) = f.path().and_then(|p| p.to_str()).map(str::to_string) else {
            continue;
        };
        match CommandPath::parse(&path) {
            Ok(Some(cmd)) => pending.push(Pending {
                key: Ledger::key(commit.id(), &path),
                path: path.clone(),
                cmd,
            }),
            Ok(None) => {}
            Err(why) => log::warn!("ignoring command file in {}: {why}", commit.id()),
        }
        changed.push(Changed {
            path,
            blob: f.id(),
            mode: u32::from(f.mode()) as i32,
        });
    }
    pending.sort_by(|a, b| a.path.cmp(&b.path));
    Ok((pending, changed))
}

/// Writes what a client commit changed in jobs that are already on disk (a new message, a
/// refreshed runner, the command files), so runners see what the client sent.
fn sync_client_files(p: &Project, repo: &Repository, changed: &[Changed]) -> Result<()> {
    for Changed { path, blob, mode } in changed {
        let mut parts = path.splitn(4, '/');
        let (Some(loc), Some(id), Some(proj), Some(rel)) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        // A project part such as `..` would lead into another job (ore000002/../ore000001).
        if loc.parse::<Location>().is_err() || grunt_core::name::check("project", proj).is_err() {
            log::warn!("not writing {path:?}: not a path inside a job");
            continue;
        }
        let Ok(id) = id.parse() else { continue };
        if jobfile::is_job_file(rel) && !jobfile::CLIENT_OWNED.contains(&rel) {
            continue;
        }
        let Some((_, dir)) = p.work.find(&id, proj) else {
            continue;
        };
        let blob = repo
            .find_blob(*blob)
            .map_err(Error::git("reading blob", repo.path()))?;
        workdir::write_file(&dir, rel, blob.content(), *mode)?;
    }
    Ok(())
}

/// Commits the batch: results first, then jobs (moves, `job.*` files, status).
fn commit_batch(
    p: &Project,
    jobs_repo: &Repository,
    results: &Path,
    batch: &Batch,
    last: Option<Oid>,
    head: Oid,
) -> Result<()> {
    let message = format!(
        "{GRUND_COMMIT_PREFIX} processed from: {} to: {head}",
        last.map(|l| l.to_string()).unwrap_or_default()
    );
    let status = GrundStatus::now(last, head).render();
    let results_repo = git::open(results)?;
    let rsig = git::signature(&results_repo, &p.key.user)?;
    refs::commit_edits(&results_repo, &rsig, &message, COMMIT_TRIES, |r, _| {
        let mut edits = batch.results_edits.clone();
        edits.push(tree::put_bytes(
            r,
            status_file::FILE_NAME,
            status.as_bytes(),
            false,
        )?);
        Ok(edits)
    })?;
    let sig = git::signature(jobs_repo, &p.key.user)?;
    refs::commit_edits(jobs_repo, &sig, &message, COMMIT_TRIES, |r, parent| {
        let base = parent.map(|c| c.tree_id());
        let moved = tree::apply(r, base, &batch.jobs_edits)?;
        let moved = r
            .find_tree(moved)
            .map_err(Error::git("reading tree", r.path()))?;
        let mut edits = batch.jobs_edits.clone();
        edits.extend(job_file_edits(p, r, &moved, &batch.touched)?);
        // Never lower: a client commit may have removed or lowered maxjob.id.
        let max = jobs::max_number(r, &moved).max(parent.map_or(0, |c| jobs::high_water(r, c)));
        edits.push(tree::put_bytes(
            r,
            layout::MAXJOB_FILE,
            format!("{max}\n").as_bytes(),
            false,
        )?);
        edits.push(tree::put_bytes(
            r,
            status_file::FILE_NAME,
            status.as_bytes(),
            false,
        )?);
        Ok(edits)
    })?;
    Ok(())
}

/// Commits the `job.*` files of `jobs` as they are on disk, on top of the branch (nothing
/// when the branch has no commit yet). The commit, if one was made.
pub fn commit_job_files(
    p: &Project,
    repo: &Repository,
    sig: &git2::Signature<'_>,
    message: &str,
    jobs: &[(grunt_core::jobid::JobId, String)],
) -> Result<Option<Oid>> {
    refs::commit_edits(repo, sig, message, COMMIT_TRIES, |r, parent| {
        let Some(parent) = parent else {
            return Ok(Vec::new());
        };
        let tree = parent
            .tree()
            .map_err(Error::git("reading tree", r.path()))?;
        job_file_edits(p, r, &tree, jobs)
    })
}

/// Edits that bring the `job.*` files of `jobs` in `tree` up to date with the disk. Files go
/// where each job is now; a job that is gone (nuked) or not on disk has none.
pub fn job_file_edits<'a>(
    p: &Project,
    r: &Repository,
    tree: &git2::Tree<'_>,
    jobs: impl IntoIterator<Item = &'a (grunt_core::jobid::JobId, String)>,
) -> Result<Vec<tree::Edit>> {
    let mut edits = Vec::new();
    for (id, project) in jobs {
        let Some(rec) = jobs::find(r, tree, id, project) else {
            continue;
        };
        let Some((_, dir)) = p.work.find(id, &rec.project) else {
            continue;
        };
        for (name, data) in workdir::job_files(&dir)? {
            edits.push(tree::put_bytes(
                r,
                &format!("{}/{name}", rec.dir()),
                &data,
                false,
            )?);
        }
    }
    Ok(edits)
}
