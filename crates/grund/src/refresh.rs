//! Status without asking: every refresh interval, grund asks the runner for the state of all of
//! a project's active jobs in ONE call (`batch-status`, one scheduler query, never one call per
//! job), writes what it learns into the jobs (`job.status`, and `job.exitcode` when the job
//! ended without writing one), and commits every active job's `job.*` files that changed on
//! disk, so `grunt jobs` after `grunt pull` is current.
//!
//! The runner gets `GRUNT_BATCH_FILE`: one line per job, `<jobid>\t<batch id>\t<job dir>`, and
//! prints one line per job it knows: `<jobid> <WORD> [<exit code>]`, WORD in Slurm's vocabulary.
//! A runner without `batch-status` (the original `grunter.py`) fails the call; the files the
//! jobs themselves wrote (`job.start`, `job.end`, …) are committed all the same.

use std::collections::BTreeMap;
use std::fs;

use grunt_core::config::ProjectConfig;
use grunt_core::git::{self, refs};
use grunt_core::jobfile::{self, JobFiles};
use grunt_core::jobid::JobId;
use grunt_core::layout::{Location, BRANCH_REF};
use grunt_core::runner::{self, Invocation, Outcome};
use grunt_core::{fsutil, jobs, status, Error, Result, GRUND_COMMIT_PREFIX};

use crate::exec::Project;
use crate::{cycle, workdir};

/// The runner command that reports on many jobs at once.
pub const BATCH_STATUS: &str = "batch-status";

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
    let bare = p.layout.bare(&p.server, &p.user, &p.name);
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
    let sig = git::signature(&repo, &p.user)?;
    let keys: Vec<(JobId, String)> = live
        .iter()
        .map(|l| (l.id.clone(), l.project.clone()))
        .collect();
    let message = format!(
        "{GRUND_COMMIT_PREFIX} status refresh of {} job(s)",
        live.len()
    );
    let c = refs::commit_edits(&repo, BRANCH_REF, &sig, &message, 50, |r, parent| {
        let Some(parent) = parent else {
            return Ok(Vec::new());
        };
        let tree = parent
            .tree()
            .map_err(Error::git("reading tree", r.path()))?;
        cycle::job_file_edits(p, r, &tree, &keys)
    })?;
    out.committed = c.is_some();
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
    for rec in jobs::list(repo, &tree, &p.name) {
        if rec.location != Location::Active
            || rec.files.line(jobfile::BATCHID).is_empty()
            || (status::derive(&rec.files).0.is_finished() && !awaits_final_word(&rec.files))
        {
            continue;
        }
        let Some((_, dir)) = p.work.find(&rec.id, &rec.project) else {
            continue;
        };
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
    if !matches!(status::derive(files).0, status::State::Failed(Some(_)))
        || status::is_final_word(&files.line(jobfile::STATUS))
    {
        return false;
    }
    grunt_core::time::parse(&files.line(jobfile::END))
        .is_some_and(|end| (chrono::Utc::now() - end).num_seconds() < FINAL_WORD_WINDOW_SECS)
}

/// One `batch-status` call in the newest job's directory; applies its answer. False when the
/// runner has no such command or failed.
fn ask_runner(p: &Project, live: &[Live]) -> Result<bool> {
    let Some(newest) = live.last() else {
        return Ok(false);
    };
    let state = p.layout.state_dir(&p.server, &p.user, &p.name);
    fs::create_dir_all(&state).map_err(Error::io("creating", &state))?;
    let list: String = live
        .iter()
        .map(|l| {
            format!(
                "{}\t{}\t{}\n",
                l.id,
                l.files.line(jobfile::BATCHID),
                l.dir.display()
            )
        })
        .collect();
    let batch_file = state.join("batch-status.in");
    fsutil::atomic_write(&batch_file, list.as_bytes())?;
    let cfg = match ProjectConfig::load(&newest.dir) {
        Ok(c) => c,
        Err(e) => {
            log::warn!("{}: batch-status: {e}", p.name);
            return Ok(false);
        }
    };
    let ctx = runner::JobContext {
        job_id: newest.id.to_string(),
        project: p.name.clone(),
        server: p.server.clone(),
        user: p.user.clone(),
        job_dir: newest.dir.clone(),
    };
    let mut inv = match Invocation::new(&ctx, BATCH_STATUS, &cfg) {
        Ok(i) => i,
        Err(e) => {
            log::warn!("{}: batch-status: {e}", p.name);
            return Ok(false);
        }
    };
    inv.env
        .insert("GRUNT_BATCH_FILE".into(), batch_file.display().to_string());
    // Its output is grund's, not the job's: it must not land in the newest job's record.
    inv.stdout = state.join("batch-status.out");
    inv.stderr = state.join("batch-status.err");
    let outcome = runner::run(&inv);
    if outcome != Outcome::Exited(0) {
        log::debug!(
            "{}: the runner's batch-status did not answer ({outcome:?}); committing job files only",
            p.name
        );
        return Ok(false);
    }
    let text = fs::read_to_string(&inv.stdout).unwrap_or_default();
    let by_id: BTreeMap<String, &Live> = live.iter().map(|l| (l.id.to_string(), l)).collect();
    for (id, word, code) in parse_answer(&text) {
        let Some(l) = by_id.get(&id) else {
            continue;
        };
        if l.files.line(jobfile::STATUS) != word {
            fsutil::write_line(&l.dir.join(jobfile::STATUS), &word)?;
        }
        if let Some(code) = code {
            if !l.files.has(jobfile::EXITCODE) {
                fsutil::write_line(&l.dir.join(jobfile::EXITCODE), &code.to_string())?;
            }
        }
    }
    Ok(true)
}

/// Lines `<jobid> <WORD> [<exit code>]`; anything else is skipped.
pub fn parse_answer(text: &str) -> Vec<(String, String, Option<i32>)> {
    text.lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            let id = w.next()?.parse::<JobId>().ok()?.to_string();
            let word = w.next()?.to_ascii_uppercase();
            if !word.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return None;
            }
            let code = w.next().and_then(|c| c.parse().ok());
            Some((id, word, code))
        })
        .collect()
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
    fn parses_runner_answers() {
        let a = parse_answer("ore000001 COMPLETED 0\nore000002 failed 3\ngarbage\nore000003 RUNNING\nore000004 rm;x\n");
        assert_eq!(
            a,
            vec![
                ("ore000001".to_string(), "COMPLETED".to_string(), Some(0)),
                ("ore000002".to_string(), "FAILED".to_string(), Some(3)),
                ("ore000003".to_string(), "RUNNING".to_string(), None),
            ]
        );
    }
}
