//! `batch-status`: one runner call, one scheduler query, for many jobs (the formats are
//! `grunt_core::protocol::batch`).
//!
//! - [`refresh`]: every refresh interval, grund asks about all of a project's active jobs at
//!   once, writes what it learns into the jobs (`job.status`, and `job.exitcode` when the job
//!   ended without writing one), and commits every active job's `job.*` files that changed on
//!   disk, so `grunt jobs` after `grunt pull` is current. A job that ended is asked about
//!   again for a while when its runner records `job.usage` and has not yet.
//! - [`answer_statuses`]: an explicit `grunt status` of several jobs is answered the same way,
//!   in one call, instead of one `status` call per job.
//!
//! A runner without `batch-status` (the original `grunter.py`) fails the call: the refresh then
//! commits the files the jobs themselves wrote (`job.start`, `job.end`, …) all the same, and
//! explicit statuses fall back to one `status` call per job.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

use git2::{Repository, Tree};
use grunt_core::config::ProjectConfig;
use grunt_core::git;
use grunt_core::jobfile::{self, JobFiles};
use grunt_core::jobid::JobId;
use grunt_core::layout::Location;
use grunt_core::protocol::batch::{self, BatchAnswer, BatchJob};
use grunt_core::protocol::{vars, words};
use grunt_core::runner::{self, Invocation, Outcome};
use grunt_core::{fsutil, jobs, state, Error, Result, GRUND_COMMIT_PREFIX};

use crate::exec::{Batch, Pending, Project};
use crate::{cycle, workdir};

/// What a refresh did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Refreshed {
    /// Active, unfinished jobs with a batch id.
    pub jobs: usize,
    /// Whether the runner's `batch-status` answered.
    pub asked: bool,
    /// Whether a commit was made.
    pub committed: bool,
}

/// An active job on disk.
struct Live {
    id: JobId,
    project: String,
    dir: std::path::PathBuf,
    files: JobFiles,
}

/// Refreshes one project.
pub fn refresh(p: &Project) -> Result<Refreshed> {
    let bare = p.layout.bare(&p.key);
    let repo = git::open(&bare.jobs())?;
    let live = live_jobs(p, &repo)?;
    let mut out = Refreshed {
        jobs: live.len(),
        ..Refreshed::default()
    };
    if live.is_empty() {
        return Ok(out);
    }
    out.asked = ask_runner(p, &live)?;
    let sig = git::signature(&repo, &p.key.user)?;
    let keys: Vec<(JobId, String)> = live
        .iter()
        .map(|l| (l.id.clone(), l.project.clone()))
        .collect();
    let message = format!(
        "{GRUND_COMMIT_PREFIX} status refresh of {} job(s)",
        live.len()
    );
    let c = cycle::commit_job_files(p, &repo, &sig, &message, &keys)?;
    out.committed = c.is_some();
    crate::notify::after_commit(p, &keys);
    Ok(out)
}

/// Jobs in `active/` that have a batch id and, as last committed, have not finished (on disk
/// they may have: that is what the refresh is for), with their directory on disk.
fn live_jobs(p: &Project, repo: &git2::Repository) -> Result<Vec<Live>> {
    let Some(head) = git::head(repo)? else {
        return Ok(Vec::new());
    };
    let tree = repo
        .find_commit(head)
        .and_then(|c| c.tree())
        .map_err(Error::git("reading tree", repo.path()))?;
    let mut out = Vec::new();
    for rec in jobs::list(repo, &tree, &p.key.project) {
        // Ended as committed, and neither the scheduler's final word nor the usage to wait for.
        let over = state::derive(&rec.files).0.is_finished() && !awaits_final_word(&rec.files);
        if rec.location != Location::Active
            || rec.files.line(jobfile::BATCHID).is_empty()
            || (over && !may_await_usage(&rec.files))
        {
            continue;
        }
        let Some((_, dir)) = p.work.find(&rec.id, &rec.project) else {
            continue;
        };
        if over && !awaits_usage(&rec.files, &dir) {
            continue;
        }
        // The files grund would commit: the state rule needs no others.
        let mut files = JobFiles::default();
        for (name, data) in workdir::job_files(&dir)? {
            files.insert(name, &data);
        }
        out.push(Live {
            id: rec.id,
            project: rec.project,
            dir,
            files,
        });
    }
    Ok(out)
}

/// How long after its end a failed job is still asked about, for the scheduler's reason.
const FINAL_WORD_WINDOW_SECS: i64 = 3600;

/// A job whose own exit code says it failed may have been killed by the scheduler (for
/// memory, time, or by scancel); until the scheduler's final word is in, and for a bounded
/// time after the job ended, keep asking, so it shows `OutOfMemory` rather than `Failed(137)`.
fn awaits_final_word(files: &JobFiles) -> bool {
    if !matches!(state::derive(files).0, state::State::Failed(Some(_)))
        || state::is_final_word(&files.line(jobfile::STATUS))
    {
        return false;
    }
    grunt_core::time::parse(&files.line(jobfile::END))
        .is_some_and(|end| (chrono::Utc::now() - end).num_seconds() < FINAL_WORD_WINDOW_SECS)
}

/// How long after its end a job is still asked about for its `job.usage`: accounting (Slurm's
/// sacct) may lag the end by seconds, and the call that sees the end may come before it.
const USAGE_WINDOW_SECS: i64 = 600;
/// How much of a runner is searched for `job.usage`.
const RUNNER_TEXT_MAX: u64 = 1 << 20;

/// Cheap, on the committed files: a job that ran, has no `job.usage` yet, and did not end
/// (by its own `job.end` or `job.canceled`) longer than [`USAGE_WINDOW_SECS`] ago.
fn may_await_usage(files: &JobFiles) -> bool {
    files.has(jobfile::START)
        && !files.has(jobfile::USAGE)
        && ended_at(files).is_none_or(within_usage_window)
}

/// When the job ended by its own files.
fn ended_at(files: &JobFiles) -> Option<chrono::DateTime<chrono::Utc>> {
    [jobfile::END, jobfile::CANCELED]
        .iter()
        .find_map(|n| grunt_core::time::parse(&files.line(n)))
}

fn within_usage_window(t: chrono::DateTime<chrono::Utc>) -> bool {
    (chrono::Utc::now() - t).num_seconds() < USAGE_WINDOW_SECS
}

/// A job (its committed `files`, its directory `dir`) that ran, has no `job.usage` yet,
/// ended less than [`USAGE_WINDOW_SECS`] ago, and whose runner records one (its text mentions
/// `job.usage`, as the shipped runners do): asked about again until its usage is in, so one
/// refresh that came too early loses nothing. Other runners (the original `grunter.py`) are
/// never asked about an ended job.
fn awaits_usage(files: &JobFiles, dir: &Path) -> bool {
    if !may_await_usage(files) {
        return false;
    }
    // Killed by the scheduler, a job writes no end: then when its final word was written.
    let ended = ended_at(files).or_else(|| {
        let m = fs::symlink_metadata(dir.join(jobfile::STATUS)).ok()?;
        Some(chrono::DateTime::<chrono::Utc>::from(m.modified().ok()?))
    });
    ended.is_some_and(within_usage_window) && runner_records_usage(dir)
}

/// Whether the job's runner (`grunter`, else `grunter.py`) mentions `job.usage`.
fn runner_records_usage(dir: &Path) -> bool {
    use std::io::Read;
    for name in [jobfile::RUNNER_EXE, jobfile::RUNNER_PY] {
        let Ok(f) = fsutil::open_regular(&dir.join(name)) else {
            continue;
        };
        let mut text = Vec::new();
        if f.take(RUNNER_TEXT_MAX).read_to_end(&mut text).is_err() {
            return false;
        }
        let needle = jobfile::USAGE.as_bytes();
        return text.windows(needle.len()).any(|w| w == needle);
    }
    false
}

/// One `batch-status` call in the newest job's directory; applies its answer. False when the
/// runner has no such command or failed.
fn ask_runner(p: &Project, live: &[Live]) -> Result<bool> {
    let Some(newest) = live.last() else {
        return Ok(false);
    };
    let state = p.layout.state_dir(&p.key);
    fs::create_dir_all(&state).map_err(Error::io("creating", &state))?;
    let jobs: Vec<BatchJob> = live
        .iter()
        .map(|l| BatchJob {
            id: l.id.clone(),
            batch_id: l.files.line(jobfile::BATCHID),
            dir: l.dir.clone(),
        })
        .collect();
    let Some(mut inv) = request(
        p,
        &jobs,
        &newest.id,
        &newest.dir,
        &state.join("batch-status.in"),
    )?
    else {
        return Ok(false);
    };
    // Its output is grund's, not the job's: it must not land in the newest job's record.
    inv.stdout = state.join("batch-status.out");
    inv.stderr = state.join("batch-status.err");
    let outcome = runner::run(&inv);
    if outcome != Outcome::Exited(0) {
        log::debug!(
            "{}: the runner's batch-status did not answer ({outcome:?}); committing job files only",
            p.key.project
        );
        return Ok(false);
    }
    let with_files: Vec<(BatchJob, JobFiles)> = jobs
        .into_iter()
        .zip(live.iter().map(|l| l.files.clone()))
        .collect();
    apply_answer(p, &inv.stdout, &with_files);
    Ok(true)
}

/// Writes the request file for `jobs` and builds the `batch-status` invocation, run in the
/// directory of the job `newest` with its configuration. `None` (logged) when that job has
/// no runner or an unreadable grunt.toml.
fn request(
    p: &Project,
    jobs: &[BatchJob],
    newest: &JobId,
    dir: &Path,
    input: &Path,
) -> Result<Option<Invocation>> {
    fsutil::atomic_write(input, BatchJob::render_all(jobs).as_bytes())?;
    let cfg = match ProjectConfig::load(dir) {
        Ok(c) => c,
        Err(e) => {
            log::warn!("{}: batch-status: {e}", p.key.project);
            return Ok(None);
        }
    };
    let ctx = runner::JobContext {
        job_id: newest.to_string(),
        key: p.key.clone(),
        job_dir: dir.to_path_buf(),
    };
    let mut inv = match Invocation::new(&ctx, batch::WORD, &cfg, &p.env) {
        Ok(i) => i,
        Err(e) => {
            log::warn!("{}: batch-status: {e}", p.key.project);
            return Ok(None);
        }
    };
    inv.env
        .insert(vars::BATCH_FILE.into(), input.display().to_string());
    Ok(Some(inv))
}

/// Applies the runner's answer (its stdout in `out`) to `jobs` (with their `job.*` files as
/// read before the call): WORD into `job.status` when it changed, the exit code into
/// `job.exitcode` when the job wrote none. Returns the jobs answered for; a job whose files
/// cannot be written is left unanswered (and logged).
fn apply_answer(p: &Project, out: &Path, jobs: &[(BatchJob, JobFiles)]) -> BTreeSet<JobId> {
    let text = fs::read_to_string(out).unwrap_or_default();
    let by_id: BTreeMap<&JobId, &(BatchJob, JobFiles)> =
        jobs.iter().map(|j| (&j.0.id, j)).collect();
    let mut answered = BTreeSet::new();
    for a in BatchAnswer::parse_all(&text) {
        let Some((job, files)) = by_id.get(&a.id) else {
            continue;
        };
        let write = || -> Result<()> {
            if files.line(jobfile::STATUS) != a.word {
                fsutil::write_line(&job.dir.join(jobfile::STATUS), &a.word)?;
            }
            if let Some(code) = a.exit_code.filter(|_| !files.has(jobfile::EXITCODE)) {
                fsutil::write_line(&job.dir.join(jobfile::EXITCODE), &code.to_string())?;
            }
            Ok(())
        };
        match write() {
            Ok(()) => {
                answered.insert(a.id);
            }
            Err(e) => log::warn!("{}: batch-status answer for {}: {e}", p.key.project, a.id),
        }
    }
    answered
}

/// What [`answer_statuses`] did, for the ledger and the count of commands.
#[derive(Debug, Default)]
pub struct Answered {
    /// Commands answered.
    pub commands: usize,
    /// Ledger keys to forget with the batch's: the answered commands' and the call's own.
    pub keys: Vec<String>,
}

/// When a commit's commands are two or more `status` commands and nothing else (as `grunt
/// status` of several jobs pushes), asks the runner's `batch-status` ONCE about all of their
/// jobs that have a batch id: one scheduler query instead of one per job. Returns the commands
/// it did not answer, in order, for the caller to run one by one as usual: every one of them
/// for a runner without `batch-status` (the original `grunter.py`), and jobs without a batch
/// id, not on disk, or whose files cannot be read or written. The call goes through a ledger
/// slot, like every runner call, so a replay after a crash does not ask again.
pub fn answer_statuses(
    p: &Project,
    repo: &Repository,
    tree: &Tree<'_>,
    pending: Vec<Pending>,
    batch: &mut Batch,
) -> Result<(Vec<Pending>, Answered)> {
    let mut done = Answered::default();
    if pending.len() < 2 || pending.iter().any(|c| c.cmd.word != words::STATUS) {
        return Ok((pending, done));
    }
    let mut asked: Vec<(BatchJob, JobFiles)> = Vec::new();
    for c in &pending {
        // A job that cannot be read here is left to its own `status` call.
        let Ok(Some(dir)) = p.job_dir_for(repo, tree, c, batch) else {
            continue;
        };
        let Ok(list) = workdir::job_files(&dir) else {
            continue;
        };
        let mut files = JobFiles::default();
        for (name, data) in list {
            files.insert(name, &data);
        }
        let batch_id = files.line(jobfile::BATCHID).trim().to_string();
        if !batch_id.is_empty() {
            let id = c.cmd.job.clone();
            asked.push((BatchJob { id, batch_id, dir }, files));
        }
    }
    let newest = asked.iter().map(|(j, _)| j).max_by(|a, b| a.id.cmp(&b.id));
    let (Some(newest), true) = (newest, asked.len() >= 2) else {
        return Ok((pending, done));
    };
    let key = format!("{}-batch", pending[0].key);
    let slot = p.ledger.slot(&key);
    let state = p.layout.state_dir(&p.key);
    let jobs: Vec<BatchJob> = asked.iter().map(|(j, _)| j.clone()).collect();
    let input = state.join(format!("{key}.in"));
    let inv = request(p, &jobs, &newest.id, &newest.dir, &input)?;
    done.keys.push(key);
    let Some(mut inv) = inv else {
        return Ok((pending, done));
    };
    // Its output is grund's, not any job's.
    inv.stdout = slot.stdout_file();
    inv.stderr = state.join("status-batch.err");
    log::info!("{}: batch-status of {} jobs", p.key.project, jobs.len());
    let outcome = slot.run_once(&inv, &p.supervisor)?;
    let _ = fs::remove_file(&input);
    if outcome != Outcome::Exited(0) {
        log::info!(
            "{}: the runner's batch-status did not answer ({outcome:?}); asking each job",
            p.key.project
        );
        return Ok((pending, done));
    }
    let answered = apply_answer(p, &inv.stdout, &asked);
    let mut rest = Vec::new();
    for c in pending {
        let dir = asked
            .iter()
            .find(|(j, _)| j.id == c.cmd.job && answered.contains(&j.id))
            .map(|(j, _)| &j.dir);
        match dir.map(|d| workdir::write_job_list(d)) {
            Some(Ok(())) => {
                done.keys.push(c.key);
                done.commands += 1;
            }
            _ => rest.push(c),
        }
    }
    Ok((rest, done))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_jobs_wait_for_the_schedulers_word_for_a_while() {
        let files = |end: &str, status: &str| {
            let mut f = JobFiles::default();
            for (n, c) in [
                ("job.start", "t"),
                ("job.slurmid", "5"),
                ("job.exitcode", "137"),
                ("job.end", end),
                ("job.status", status),
            ] {
                if !c.is_empty() {
                    f.insert(n, c.as_bytes());
                }
            }
            f
        };
        let now = grunt_core::time::now();
        assert!(awaits_final_word(&files(&now, "RUNNING")));
        assert!(!awaits_final_word(&files(&now, "OUT_OF_MEMORY")));
        assert!(!awaits_final_word(&files("2020-01-01 00:00:00 UTC", "")));
        let mut ok = files(&now, "");
        ok.insert("job.exitcode", b"0");
        assert!(!awaits_final_word(&ok));
    }

    #[test]
    fn ended_jobs_wait_for_their_usage_only_with_a_runner_that_records_it() {
        let dir = tempfile::tempdir().unwrap();
        let now = grunt_core::time::now();
        let mut f = JobFiles::default();
        for (n, c) in [
            ("job.start", now.as_str()),
            ("job.slurmid", "5"),
            ("job.exitcode", "0"),
            ("job.end", now.as_str()),
        ] {
            f.insert(n, c.as_bytes());
        }
        // No runner, or one that never mentions job.usage (the original grunter.py): no wait.
        assert!(!awaits_usage(&f, dir.path()));
        std::fs::write(dir.path().join("grunter.py"), "print('status')\n").unwrap();
        assert!(!awaits_usage(&f, dir.path()));
        std::fs::write(
            dir.path().join("grunter"),
            "#!/bin/sh\n# writes job.usage\n",
        )
        .unwrap();
        assert!(awaits_usage(&f, dir.path()));
        // Recorded, ended long ago, or never started: no wait.
        let mut with = f.clone();
        with.insert("job.usage", b"elapsed=3\n");
        assert!(!awaits_usage(&with, dir.path()));
        let mut old = f.clone();
        old.insert("job.end", b"2020-01-01 00:00:00 UTC\n");
        assert!(!awaits_usage(&old, dir.path()));
        let mut never = JobFiles::default();
        never.insert("job.canceled", now.as_bytes());
        assert!(!awaits_usage(&never, dir.path()));
        // Killed by the scheduler (no job.end): the scheduler's word on disk says when.
        let mut killed = JobFiles::default();
        killed.insert("job.start", now.as_bytes());
        killed.insert("job.slurmid", b"5");
        assert!(!awaits_usage(&killed, dir.path()), "no end known");
        std::fs::write(dir.path().join("job.status"), "TIMEOUT\n").unwrap();
        assert!(awaits_usage(&killed, dir.path()));
    }
}
