//! Retries by cause (the rule and the growth of resources are `grunt_core::retry`). After every
//! pass, for each job of `active/` on disk that ended badly in a way its `[retry]` names, with
//! attempts left and no retry yet:
//!
//! 1. ONE commit reserves the retries: a new job per parent (the parent's code, args, profile,
//!    sweep point and key; `job.parent`, `job.attempt`, a message naming the parent, its
//!    grunt.toml with grown resources) and `job.retried` in the parent. Ids are chosen inside
//!    the compare-and-swap, above every id in use, so a client's concurrent submit is renumbered
//!    (its push is rejected), never ours.
//! 2. Each reserved retry is written to disk and submitted through the runner once (a ledger slot
//!    `retry-<id>` and the job's submitted mark), and its files are committed.
//!
//! A crash between the steps is picked up by the next pass: the parent's `job.retried` (in the
//! repo) names the retry, and a retry without the submitted mark is submitted then.

use std::cell::RefCell;
use std::path::Path;

use git2::FileMode;
use grunt_core::config::{ProjectConfig, PROJECT_CONFIG};
use grunt_core::git::{self, refs, tree};
use grunt_core::jobfile;
use grunt_core::jobid::JobId;
use grunt_core::layout::{self, Location};
use grunt_core::retry::{self, Rule};
use grunt_core::{command, fsutil, jobs, state, time, Error, Result, GRUND_COMMIT_PREFIX};

use crate::cycle;
use crate::exec::Project;
use crate::hold::OnDisk;
use crate::workdir::{self, SUBMITTED_MARK};

/// A job to retry.
struct Candidate<'a> {
    job: &'a OnDisk,
    rule: Rule,
    cause: &'static str,
    attempt: u32,
}

/// Retries what needs it; returns how many retries were submitted.
pub(crate) fn retry(p: &Project, on_disk: &[OnDisk]) -> Result<usize> {
    let bare = p.layout.bare(&p.key);
    let repo = git::open(&bare.jobs())?;
    let mut candidates = Vec::new();
    let mut head_tree = None;
    for j in on_disk {
        let state = state::derive(&j.files).0;
        if !state.is_finished() || state.is_success() || j.dir.join(jobfile::RETRIED).exists() {
            continue;
        }
        let Ok(cfg) = ProjectConfig::load(&j.dir) else {
            continue;
        };
        let rule = match retry::rule(&cfg.raw) {
            Ok(Some(r)) => r,
            Ok(None) => continue,
            Err(e) => {
                log::warn!("{}: {}: {e}", p.key.project, j.id);
                continue;
            }
        };
        let attempt = read_line(&j.dir, jobfile::ATTEMPT).parse().unwrap_or(1);
        let Some(cause) = rule.cause(state, &j.files) else {
            continue;
        };
        if attempt >= rule.attempts {
            continue;
        }
        // The repo is the truth: a retry reserved before a crash is not reserved again.
        if head_tree.is_none() {
            head_tree = Some(head(&repo)?);
        }
        if let Some(Some(t)) = &head_tree {
            if let Some(rec) = jobs::find(&repo, t, &j.id, &j.project) {
                let retried = rec.files.line(jobfile::RETRIED);
                if !retried.is_empty() {
                    fsutil::atomic_write(
                        &j.dir.join(jobfile::RETRIED),
                        format!("{retried}\n").as_bytes(),
                    )?;
                    continue;
                }
            }
        }
        candidates.push(Candidate {
            job: j,
            rule,
            cause,
            attempt,
        });
    }
    if !candidates.is_empty() {
        reserve(p, &repo, &candidates)?;
    }
    submit_reserved(p, &repo, on_disk)
}

fn head(repo: &git2::Repository) -> Result<Option<git2::Tree<'_>>> {
    let Some(h) = git::head(repo)? else {
        return Ok(None);
    };
    Ok(Some(
        repo.find_commit(h)
            .and_then(|c| c.tree())
            .map_err(Error::git("reading tree", repo.path()))?,
    ))
}

fn read_line(dir: &Path, name: &str) -> String {
    fsutil::read_regular(&dir.join(name))
        .map(|b| fsutil::first_line(&b).trim().to_string())
        .unwrap_or_default()
}

/// Step 1: one commit with a new job per candidate and `job.retried` in each parent.
fn reserve(p: &Project, repo: &git2::Repository, candidates: &[Candidate<'_>]) -> Result<()> {
    let sig = git::signature(repo, &p.key.user)?;
    // (candidate, its retry's id), as the last build of the commit chose them.
    let chosen: RefCell<Vec<(usize, JobId)>> = RefCell::new(Vec::new());
    let message = format!("{GRUND_COMMIT_PREFIX} retry of {} job(s)", candidates.len());
    refs::commit_edits(
        repo,
        &sig,
        &message,
        crate::cycle::COMMIT_TRIES,
        |r, parent| {
            let Some(parent) = parent else {
                return Ok(Vec::new());
            };
            let t = parent
                .tree()
                .map_err(Error::git("reading tree", r.path()))?;
            let mut next = jobs::high_water(r, parent) + 1;
            let mut ids = Vec::new();
            let mut edits = Vec::new();
            for (i, c) in candidates.iter().enumerate() {
                let Some(rec) = jobs::find(r, &t, &c.job.id, &c.job.project) else {
                    continue;
                };
                let submitted = jobs::submitted_tree(r, parent, &rec.id, &rec.project);
                let as_submitted = submitted.is_some();
                let Some(old) = submitted.or_else(|| tree::subtree(r, &t, &rec.dir())) else {
                    continue;
                };
                let id = JobId::new(c.job.id.prefix(), next)?;
                next += 1;
                let mut job_edits = Vec::new();
                for f in tree::walk_files(r, &old)? {
                    let name = f.path.rsplit('/').next().unwrap_or(&f.path);
                    // As submitted, its job.* files are the client's (or project files named so);
                    // else every job.* file may be the runner's.
                    let drop = match as_submitted {
                        true => [jobfile::AFTER, jobfile::AFTER_ANY].contains(&name),
                        false => jobfile::is_job_file(name),
                    };
                    if drop || name.starts_with(command::PREFIX) {
                        job_edits.push(tree::Edit::Remove {
                            path: f.path.clone(),
                        });
                    }
                }
                let f = &rec.files;
                let mut put = |name: &str, text: String| -> Result<()> {
                    job_edits.push(tree::put_bytes(r, name, text.as_bytes(), false)?);
                    Ok(())
                };
                put(
                    jobfile::MESSAGE,
                    format!(
                        "retry {} of {} after {}: {}\n",
                        c.attempt + 1,
                        rec.id,
                        c.cause,
                        f.line(jobfile::MESSAGE)
                    ),
                )?;
                put(jobfile::SUBMIT, format!("{}\n", time::now()))?;
                put(jobfile::PARENT, format!("{}\n", rec.id))?;
                put(jobfile::ATTEMPT, format!("{}\n", c.attempt + 1))?;
                for name in [
                    jobfile::ARGS,
                    jobfile::PROFILE,
                    jobfile::PARAMS,
                    jobfile::SWEEP,
                    jobfile::KEY,
                ] {
                    if let Some(text) = f.text(name) {
                        put(name, text.to_string())?;
                    }
                }
                let profile = Some(f.line(jobfile::PROFILE)).filter(|p| !p.is_empty());
                if let Some(toml) = tree::read_file(r, &old, PROJECT_CONFIG) {
                    let toml = String::from_utf8_lossy(&toml);
                    let grown = retry::grown_toml(&toml, &c.rule, c.cause, profile.as_deref());
                    put(PROJECT_CONFIG, grown)?;
                }
                let new_tree = tree::apply(r, Some(old.id()), &job_edits)?;
                edits.push(tree::Edit::Put {
                    path: layout::job_dir(Location::Active, &id, &rec.project),
                    oid: new_tree,
                    mode: FileMode::Tree,
                });
                edits.push(tree::put_bytes(
                    r,
                    &format!("{}/{}", rec.dir(), jobfile::RETRIED),
                    format!("{id}\n").as_bytes(),
                    false,
                )?);
                ids.push((i, id));
            }
            *chosen.borrow_mut() = ids;
            Ok(edits)
        },
    )?;
    for (i, id) in chosen.into_inner() {
        let Some(c) = candidates.get(i) else {
            continue;
        };
        log::info!(
            "{}: {} ended {}: retry as {id}",
            p.key.project,
            c.job.id,
            c.cause
        );
        fsutil::atomic_write(
            &c.job.dir.join(jobfile::RETRIED),
            format!("{id}\n").as_bytes(),
        )?;
    }
    Ok(())
}

/// Step 2: submits every reserved retry not submitted yet, and commits their files.
fn submit_reserved(p: &Project, repo: &git2::Repository, on_disk: &[OnDisk]) -> Result<usize> {
    let mut pending = Vec::new();
    // Parents on disk, including those `reserve` just marked.
    for j in on_disk {
        let child = read_line(&j.dir, jobfile::RETRIED);
        if let Ok(id) = child.parse::<JobId>() {
            pending.push((id, j.project.clone()));
        }
    }
    if pending.is_empty() {
        return Ok(0);
    }
    let Some(t) = head(repo)? else {
        return Ok(0);
    };
    let mut touched = Vec::new();
    let mut submitted = 0;
    for (id, project) in pending {
        let Some(rec) = jobs::find(repo, &t, &id, &project) else {
            continue;
        };
        let f = &rec.files;
        let answered = [
            jobfile::BATCHID,
            jobfile::START,
            jobfile::ERROR,
            jobfile::CANCELED,
        ]
        .iter()
        .any(|n| f.has(n));
        if answered {
            continue;
        }
        let dir = match p.work.find(&id, &rec.project) {
            Some((_, d)) => d,
            None => {
                let Some(sub) = tree::subtree(repo, &t, &rec.dir()) else {
                    continue;
                };
                p.work
                    .materialize(repo, &sub, rec.location, &id, &rec.project)?
            }
        };
        // Again after a crash: the slot runs the runner only if it never started, else
        // hands back how that call ended.
        let again = dir.join(SUBMITTED_MARK).exists();
        p.run_submit(&id, &dir, &format!("retry-{id}"))?;
        if !again {
            submitted += 1;
        }
        workdir::write_job_list(&dir)?;
        touched.push((id, rec.project.clone()));
    }
    if touched.is_empty() {
        return Ok(0);
    }
    let sig = git::signature(repo, &p.key.user)?;
    let message = format!(
        "{GRUND_COMMIT_PREFIX} submitted {} retry job(s)",
        touched.len()
    );
    cycle::commit_job_files(p, repo, &sig, &message, &touched)?;
    Ok(submitted)
}
