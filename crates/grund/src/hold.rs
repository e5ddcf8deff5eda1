//! Jobs grund holds back instead of submitting (the formats are `grunt_core::hold`): the cap
//! on jobs in flight (`[queue] max_in_flight`) and dependencies (`job.after`,
//! `job.after_any`).
//!
//! The cap counts the project's jobs in flight (`[queue] max_in_flight`) and, when the job has
//! a profile with its own cap (`[queue.profile.NAME] max_in_flight`), that profile's.
//!
//! - [`gate`]: when a `submit` comes, decides whether the job goes to the runner now, waits
//!   (`Queued`, `Waiting`: written into `job.held`), or is canceled (a dependency failed).
//! - `release`: after every pass, submits the held jobs whose turn has come, oldest first,
//!   and commits what changed. The queue is the `job.held` files, in the repo and on disk, so
//!   a restart of grund keeps it. A release runs its runner call through a ledger slot keyed
//!   by the job (`release-<id>`) and the job's submitted mark, so nothing is submitted twice,
//!   even if grund dies in the middle: `job.held` is removed only after the call ended.
//! - [`cancel_held`]: `grunt cancel` of a held job cancels it without the runner.

use std::fs;
use std::path::{Path, PathBuf};

use git2::{Repository, Tree};
use grunt_core::config::ProjectConfig;
use grunt_core::git::{self, refs, tree};
use grunt_core::hold::{self, Deps, Held, Verdict};
use grunt_core::jobfile::{self, JobFiles};
use grunt_core::jobid::JobId;
use grunt_core::layout::Location;
use grunt_core::state::{self, State};
use grunt_core::{fsutil, jobs, time, Error, Result, GRUND_COMMIT_PREFIX};

use crate::cycle;
use crate::exec::{Batch, Project};
use crate::workdir::{self, SUBMITTED_MARK};

/// The `job.*` files that decide a job's state and hold, the only ones read here (never the
/// output, which can be large).
const STATE_FILES: [&str; 11] = [
    jobfile::PROFILE,
    jobfile::START,
    jobfile::BATCHID,
    jobfile::END,
    jobfile::EXITCODE,
    jobfile::STATUS,
    jobfile::CANCELED,
    jobfile::ERROR,
    jobfile::HELD,
    jobfile::AFTER,
    jobfile::AFTER_ANY,
];

/// Prefix of the ledger key (and submitted mark) of a held job's release.
const RELEASE: &str = "release-";

/// A job of `active/` on disk.
#[derive(Debug)]
pub(crate) struct OnDisk {
    pub id: JobId,
    pub project: String,
    pub dir: PathBuf,
    /// Its state files only (see [`STATE_FILES`]).
    pub files: JobFiles,
}

fn read_state(dir: &Path) -> JobFiles {
    let mut files = JobFiles::default();
    for name in STATE_FILES {
        if let Ok(data) = fsutil::read_regular(&dir.join(name)) {
            files.insert(name, &data);
        }
    }
    files
}

/// Every job directory in `active/` on disk, by id.
pub(crate) fn active_on_disk(p: &Project) -> Result<Vec<OnDisk>> {
    let root = p.work.root.join(Location::Active.dir());
    let entries = match fs::read_dir(&root) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io("listing", &root)(e)),
    };
    let mut out = Vec::new();
    for ent in entries.flatten() {
        let Some(id) = ent
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<JobId>().ok())
        else {
            continue;
        };
        let Ok(subs) = fs::read_dir(ent.path()) else {
            continue;
        };
        for sub in subs.flatten() {
            if !sub.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            let dir = sub.path();
            out.push(OnDisk {
                id: id.clone(),
                project: sub.file_name().to_string_lossy().into_owned(),
                files: read_state(&dir),
                dir,
            });
        }
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(out)
}

/// Jobs submitted to the runner and not ended, as the disk tells: in all and by profile.
#[derive(Debug, Clone, Default)]
pub struct InFlight {
    pub all: usize,
    pub by_profile: std::collections::HashMap<String, usize>,
}

impl InFlight {
    fn add(&mut self, profile: &str) {
        self.all += 1;
        if !profile.is_empty() {
            *self.by_profile.entry(profile.to_string()).or_default() += 1;
        }
    }
}

fn count_in_flight(jobs: &[OnDisk]) -> InFlight {
    let mut n = InFlight::default();
    for j in jobs {
        if j.dir.join(SUBMITTED_MARK).exists() && !state::derive(&j.files).0.is_finished() {
            n.add(&j.files.line(jobfile::PROFILE));
        }
    }
    n
}

/// A job's state: from its files on disk when it is there (fresher), else from `tree`.
fn state_of(p: &Project, repo: &Repository, tree: &Tree<'_>, id: &JobId) -> Option<State> {
    if let Some((_, dir)) = p.work.find(id, &p.key.project) {
        return Some(state::derive(&read_state(&dir)).0);
    }
    jobs::find(repo, tree, id, &p.key.project).map(|r| state::derive(&r.files).0)
}

/// What to do with a job that is to be submitted.
enum Decision {
    Submit,
    Hold(Held),
}

fn decide(
    p: &Project,
    repo: &Repository,
    tree: &Tree<'_>,
    dir: &Path,
    files: &JobFiles,
    in_flight: &mut dyn FnMut() -> Result<InFlight>,
) -> Result<Decision> {
    let deps = Deps::of(files);
    if !deps.is_empty() {
        match deps.verdict(|id| state_of(p, repo, tree, id)) {
            Verdict::Ready => {}
            Verdict::Wait(why) => return Ok(Decision::Hold(Held::Waiting(why))),
            Verdict::Cancel(why) => return Ok(Decision::Hold(Held::Canceled(why))),
        }
    }
    let Ok(cfg) = ProjectConfig::load(dir) else {
        return Ok(Decision::Submit);
    };
    let profile = files.line(jobfile::PROFILE);
    let project_cap = hold::max_in_flight(&cfg);
    let profile_cap = match profile.as_str() {
        "" => None,
        p => hold::profile_max_in_flight(&cfg, p),
    };
    if project_cap.is_none() && profile_cap.is_none() {
        return Ok(Decision::Submit);
    }
    let n = in_flight()?;
    if let Some(cap) = project_cap.filter(|c| n.all >= *c) {
        return Ok(Decision::Hold(Held::Queued(format!(
            "{} jobs in flight, the cap ([queue] max_in_flight) is {cap}",
            n.all
        ))));
    }
    let mine = n.by_profile.get(&profile).copied().unwrap_or(0);
    if let Some(cap) = profile_cap.filter(|c| mine >= *c) {
        return Ok(Decision::Hold(Held::Queued(format!(
            "{mine} jobs of profile {profile} in flight, its cap ([queue.profile.{profile}] max_in_flight) is {cap}"
        ))));
    }
    Ok(Decision::Submit)
}

/// Writes a hold into the job (and `job.canceled` when it is a cancel).
fn write_held(dir: &Path, held: &Held) -> Result<()> {
    if matches!(held, Held::Canceled(_)) {
        fsutil::atomic_write(
            &dir.join(jobfile::CANCELED),
            format!("{}\n", time::now()).as_bytes(),
        )?;
    }
    fsutil::atomic_write(&dir.join(jobfile::HELD), held.render().as_bytes())?;
    workdir::write_job_list(dir)
}

/// For a `submit` of the job in `dir`: `true` when grund holds it (or released it already),
/// so the runner is not called now.
pub fn gate(
    p: &Project,
    repo: &Repository,
    tree: &Tree<'_>,
    dir: &Path,
    batch: &mut Batch,
) -> Result<bool> {
    let mark = fsutil::read_regular(&dir.join(SUBMITTED_MARK)).ok();
    if let Some(m) = mark {
        // Submitted already; by a release, this old submit has nothing left to do.
        return Ok(fsutil::first_line(&m).starts_with(RELEASE));
    }
    let files = read_state(dir);
    if Held::of(&files).is_some() {
        return Ok(true);
    }
    let mut in_flight = || -> Result<InFlight> {
        if batch.in_flight.is_none() {
            batch.in_flight = Some(count_in_flight(&active_on_disk(p)?));
        }
        Ok(batch.in_flight.clone().unwrap_or_default())
    };
    match decide(p, repo, tree, dir, &files, &mut in_flight)? {
        Decision::Submit => {
            if let Some(n) = &mut batch.in_flight {
                n.add(&files.line(jobfile::PROFILE));
            }
            Ok(false)
        }
        Decision::Hold(h) => {
            log::info!("{}: holding {}: {h:?}", p.key.project, dir.display());
            write_held(dir, &h)?;
            Ok(true)
        }
    }
}

/// Does grund hold the job in `dir` (not submitted to the runner yet)?
pub fn is_held(dir: &Path) -> bool {
    !dir.join(SUBMITTED_MARK).exists() && Held::of(&read_state(dir)).is_some_and(|h| h.is_holding())
}

/// `grunt cancel` of a job grund holds: canceled here, the runner never hears of it. `true`
/// when it was held.
pub fn cancel_held(dir: &Path) -> Result<bool> {
    let files = read_state(dir);
    match Held::of(&files) {
        Some(h) if h.is_holding() && !dir.join(SUBMITTED_MARK).exists() => {
            let word = match h {
                Held::Queued(_) => "Queued",
                _ => "Waiting",
            };
            write_held(dir, &Held::Canceled(format!("canceled while {word}")))?;
            Ok(true)
        }
        _ => Ok(false),
    }
}

/// After every pass: releases held jobs, then retries jobs that ended badly (`crate::retry`),
/// from ONE look at the active jobs on disk (the only cost when there is nothing to do).
pub fn after_pass(p: &Project) -> Result<()> {
    let on_disk = active_on_disk(p)?;
    match release(p, &on_disk)? {
        0 => {}
        n => log::info!("{}: submitted {n} held job(s)", p.key.project),
    }
    match crate::retry::retry(p, &on_disk)? {
        0 => {}
        n => log::info!("{}: submitted {n} retry job(s)", p.key.project),
    }
    Ok(())
}

/// Submits the held jobs whose turn has come (oldest first), cancels those whose dependency
/// failed, and commits what changed. Returns how many jobs it submitted.
pub(crate) fn release(p: &Project, on_disk: &[OnDisk]) -> Result<usize> {
    let held: Vec<&OnDisk> = on_disk
        .iter()
        .filter(|j| Held::of(&j.files).is_some_and(|h| h.is_holding()))
        .collect();
    if held.is_empty() {
        return Ok(0);
    }
    let bare = p.layout.bare(&p.key);
    let repo = git::open(&bare.jobs())?;
    let Some(head) = git::head(&repo)? else {
        return Ok(0);
    };
    let tree = repo
        .find_commit(head)
        .and_then(|c| c.tree())
        .map_err(Error::git("reading tree", repo.path()))?;
    let mut flight = count_in_flight(on_disk);
    let mut changed = Vec::new();
    let mut released = Vec::new();
    for j in held {
        // Released before a crash that left `job.held`: finish the release (the slot hands
        // back how the call ended), whatever the cap says now.
        let released_already = fsutil::read_regular(&j.dir.join(SUBMITTED_MARK))
            .is_ok_and(|m| fsutil::first_line(&m).starts_with(RELEASE));
        if released_already {
            submit(p, j)?;
            released.push((j.id.clone(), j.project.clone()));
            changed.push((j.id.clone(), j.project.clone()));
            continue;
        }
        let old = Held::of(&j.files);
        let mut count = || Ok(flight.clone());
        match decide(p, &repo, &tree, &j.dir, &j.files, &mut count)? {
            Decision::Submit => {
                submit(p, j)?;
                flight.add(&j.files.line(jobfile::PROFILE));
                released.push((j.id.clone(), j.project.clone()));
                changed.push((j.id.clone(), j.project.clone()));
            }
            Decision::Hold(h) if Some(&h) != old.as_ref() => {
                write_held(&j.dir, &h)?;
                changed.push((j.id.clone(), j.project.clone()));
            }
            Decision::Hold(_) => {}
        }
    }
    if changed.is_empty() {
        return Ok(0);
    }
    let sig = git::signature(&repo, &p.key.user)?;
    let message = format!(
        "{GRUND_COMMIT_PREFIX} held jobs: {} submitted, {} changed",
        released.len(),
        changed.len()
    );
    refs::commit_edits(
        &repo,
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
            let mut edits = cycle::job_file_edits(p, r, &t, &changed)?;
            for (id, project) in &released {
                if let Some(rec) = jobs::find(r, &t, id, project) {
                    edits.push(tree::Edit::Remove {
                        path: format!("{}/{}", rec.dir(), jobfile::HELD),
                    });
                }
            }
            Ok(edits)
        },
    )?;
    Ok(released.len())
}

/// Runs the runner's `submit` for a held job, once (its own slot and mark), then lifts the hold.
fn submit(p: &Project, j: &OnDisk) -> Result<()> {
    let key = format!("{RELEASE}{}", j.id);
    log::info!("{}: releasing {}", p.key.project, j.id);
    p.run_submit(&j.id, &j.dir, &key)?;
    match fs::remove_file(j.dir.join(jobfile::HELD)) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(Error::io("removing", j.dir.join(jobfile::HELD))(e)),
    }
    workdir::write_job_list(&j.dir)
}
