//! Native arrays: the `submit` commands of one sweep that arrive in one client commit go to
//! the runner in ONE `submit-batch` call (the format is `grunt_core::protocol::submit_batch`),
//! which a batch runner submits as one scheduler array.
//!
//! Only jobs the runner may have now go into the batch: a job the cap or a dependency holds
//! (`crate::hold::gate`) waits in `job.held` and is submitted later on its own, as before.
//! Exactly once: before the call each job's submitted mark names its own command key (as a
//! `submit` of its own would), and the call runs through a ledger slot of its own, so a replay
//! after a crash neither calls again nor submits a job twice. After the call, a job without a
//! `job.slurmid` was not submitted (the runner claims that file before it calls the
//! scheduler): it gets its own `submit`, through its own slot, so a runner without
//! `submit-batch` (the original `grunter.py`) gets one `submit` per job, as before.

use std::collections::BTreeMap;
use std::fs;
use std::path::PathBuf;

use git2::{Repository, Tree};
use grunt_core::jobfile;
use grunt_core::layout::Location;
use grunt_core::protocol::submit_batch::{self, SubmitJob};
use grunt_core::protocol::{vars, words};
use grunt_core::runner::Outcome;
use grunt_core::{fsutil, Result};

use crate::exec::{Batch, Pending, Project};
use crate::refresh::Answered;
use crate::workdir;

/// A job of a sweep whose `submit` is in the commit.
struct Member {
    cmd: Pending,
    dir: PathBuf,
}

/// When a commit's commands are all `submit`s (as `grunt submit --sweep` pushes), hands the
/// jobs of each sweep that has two or more of them to the runner's `submit-batch` ONCE.
/// Returns the commands still to run one by one, in order: jobs of no sweep, jobs alone in
/// their sweep, and every job the runner did not submit (all of them for a runner without
/// `submit-batch`).
pub fn submit_sweeps(
    p: &Project,
    repo: &Repository,
    tree: &Tree<'_>,
    pending: Vec<Pending>,
    batch: &mut Batch,
) -> Result<(Vec<Pending>, Answered)> {
    let mut done = Answered::default();
    if pending.len() < 2 || pending.iter().any(|c| c.cmd.word != words::SUBMIT) {
        return Ok((pending, done));
    }
    let mut sweeps: BTreeMap<String, Vec<Member>> = BTreeMap::new();
    let mut rest = Vec::new();
    for c in pending {
        match sweep_of(p, repo, tree, &c, batch) {
            Some((sweep, dir)) => sweeps
                .entry(sweep)
                .or_default()
                .push(Member { cmd: c, dir }),
            None => rest.push(c),
        }
    }
    for (sweep, members) in sweeps {
        if members.len() < 2 {
            rest.extend(members.into_iter().map(|m| m.cmd));
            continue;
        }
        let (left, answered) = submit_one_sweep(p, repo, tree, &sweep, members, batch)?;
        rest.extend(left);
        done.commands += answered.commands;
        done.keys.extend(answered.keys);
    }
    rest.sort_by(|a, b| a.path.cmp(&b.path));
    Ok((rest, done))
}

/// The sweep of the job a `submit` is for, with its directory: `None` for a job of no sweep,
/// not in `active/`, or not readable here (its own `submit` deals with it).
fn sweep_of(
    p: &Project,
    repo: &Repository,
    tree: &Tree<'_>,
    c: &Pending,
    batch: &mut Batch,
) -> Option<(String, PathBuf)> {
    if c.cmd.location != Location::Active {
        return None;
    }
    let dir = p.job_dir_for(repo, tree, c, batch).ok()??;
    let sweep = fsutil::read_regular(&dir.join(jobfile::SWEEP)).ok()?;
    let sweep = fsutil::first_line(&sweep).trim().to_string();
    (!sweep.is_empty()).then_some((sweep, dir))
}

/// One sweep's jobs: the held ones are done (held), the others go in one `submit-batch`.
fn submit_one_sweep(
    p: &Project,
    repo: &Repository,
    tree: &Tree<'_>,
    sweep: &str,
    members: Vec<Member>,
    batch: &mut Batch,
) -> Result<(Vec<Pending>, Answered)> {
    let mut done = Answered::default();
    let mut rest = Vec::new();
    let mut going: Vec<Member> = Vec::new();
    for m in members {
        let job = SubmitJob {
            id: m.cmd.cmd.job.clone(),
            dir: m.dir.clone(),
        };
        // Held (a cap, a dependency) or released already: as a `submit` of its own would.
        // Another key submitted it already, or a path the request file cannot carry: its own
        // `submit` says so, or submits it. A job whose files fail here is left to its own
        // `submit` too, which records the error in the job.
        let held = crate::hold::gate(p, repo, tree, &m.dir, batch).and_then(|h| {
            if h {
                workdir::write_job_list(&m.dir).map(|()| true)
            } else {
                Ok(false)
            }
        });
        match held {
            Ok(true) => {
                done.keys.push(m.cmd.key);
                done.commands += 1;
            }
            Ok(false)
                if SubmitJob::renderable(&job)
                    && p.claim_submit(&job.id, &m.dir, &m.cmd.key).unwrap_or(false) =>
            {
                going.push(m)
            }
            Ok(false) => rest.push(m.cmd),
            Err(e) if p.is_job_error(&m.cmd.cmd, &e) => rest.push(m.cmd),
            Err(e) => return Err(e),
        }
    }
    if going.len() < 2 {
        rest.extend(going.into_iter().map(|m| m.cmd));
        return Ok((rest, done));
    }
    let first = &going[0];
    // The call's key: the first job's command; the batch is the same on a replay (the
    // submitted marks, written above, name exactly these jobs' keys).
    let key = format!("{}-array", first.cmd.key);
    done.keys.push(key.clone());
    let jobs: Vec<SubmitJob> = going
        .iter()
        .map(|m| SubmitJob {
            id: m.cmd.cmd.job.clone(),
            dir: m.dir.clone(),
        })
        .collect();
    let state = p.layout.state_dir(&p.key);
    fs::create_dir_all(&state).map_err(grunt_core::Error::io("creating", &state))?;
    let input = state.join(format!("{key}.in"));
    fsutil::atomic_write(&input, SubmitJob::render_all(&jobs).as_bytes())?;
    let outcome = match p.invocation(&first.cmd.cmd.job, &first.dir, submit_batch::WORD) {
        Ok(mut inv) => {
            inv.env
                .insert(vars::BATCH_FILE.into(), input.display().to_string());
            log::info!(
                "{}: submit-batch of {} jobs of sweep {sweep}",
                p.key.project,
                jobs.len()
            );
            p.activity.set(
                &p.key.project,
                format!(
                    "runner `submit-batch` of {} jobs of sweep {sweep}",
                    jobs.len()
                ),
            );
            Some(p.ledger.slot(&key).run_once(&inv, &p.supervisor)?)
        }
        // The first job's configuration is unreadable: each job's own submit tells it.
        Err(e) => {
            log::warn!("{}: submit-batch: {e}", p.key.project);
            None
        }
    };
    let _ = fs::remove_file(&input);
    let ok = outcome == Some(Outcome::Exited(0));
    let mut submitted = 0;
    for m in going {
        let has_id = fsutil::read_regular(&m.dir.join(jobfile::BATCHID)).is_ok();
        if !has_id {
            rest.push(m.cmd);
            continue;
        }
        // The runner claimed the job (so it may be queued) but failed: the job hears why;
        // it is not submitted again.
        if let (false, Some(text)) = (
            ok,
            outcome
                .as_ref()
                .and_then(|o| o.error_text(submit_batch::WORD)),
        ) {
            if let Err(e) = workdir::write_error(&m.dir, submit_batch::WORD, &text) {
                log::warn!("{}: {}: {e}", p.key.project, m.cmd.path);
            }
        }
        // Submitted: a job whose files fail now hears of it, and is not submitted again.
        match workdir::write_job_list(&m.dir) {
            Ok(()) => {}
            Err(e) if p.is_job_error(&m.cmd.cmd, &e) => p.record_job_error(&m.cmd, &e),
            Err(e) => return Err(e),
        }
        done.keys.push(m.cmd.key);
        done.commands += 1;
        submitted += 1;
    }
    if !rest.is_empty() {
        log::info!(
            "{}: sweep {sweep}: submit-batch submitted {submitted} job(s) ({}); submitting {} one by one",
            p.key.project,
            outcome.map_or("not called".to_string(), |o| format!("{o:?}")),
            rest.len()
        );
    }
    Ok((rest, done))
}
