//! Jobs as recorded in a jobs repo tree, read straight from git objects (no working copy):
//! where each job is, its `job.*` files, and the summary people see.

use git2::{ObjectType, Repository, Tree};
use serde::Serialize;

use crate::git::tree;
use crate::jobfile::{self, JobFiles};
use crate::jobid::JobId;
use crate::layout::{self, Location};
use crate::state::{self, State};
use crate::time;

/// One job of a jobs tree.
#[derive(Debug, Clone)]
pub struct JobRecord {
    pub id: JobId,
    pub location: Location,
    /// Name of the project subdirectory (`<loc>/<id>/<project>`).
    pub project: String,
    pub files: JobFiles,
}

impl JobRecord {
    /// `<loc>/<id>/<project>` in the repo.
    pub fn dir(&self) -> String {
        layout::job_dir(self.location, &self.id, &self.project)
    }

    pub fn summary(&self, server: &str) -> JobSummary {
        let (state, reason) = state::derive(&self.files);
        let f = &self.files;
        let end_text = if state == State::Canceled && !f.has(jobfile::END) {
            f.line(jobfile::CANCELED)
        } else {
            f.line(jobfile::END)
        };
        let exit_code = f
            .line(jobfile::EXITCODE)
            .parse::<i32>()
            .ok()
            .or(match state {
                State::Failed(c) => c,
                _ => None,
            });
        // A cancel leaves the scheduler's last word behind (RUNNING); say what became of it.
        let mut scheduler_status = f.line(jobfile::STATUS);
        if state == State::Canceled && !state::is_final_word(&scheduler_status) {
            scheduler_status = "CANCELLED".into();
        }
        let profile = Some(f.line(jobfile::PROFILE)).filter(|p| !p.is_empty());
        let sweep = Some(f.line(jobfile::SWEEP)).filter(|s| !s.is_empty());
        let params = f
            .text(jobfile::PARAMS)
            .map(|t| crate::sweep::parse_params(t).into_iter().collect());
        let usage = f
            .text(jobfile::USAGE)
            .map(jobfile::usage::Usage::parse)
            .filter(|u| !u.is_empty())
            .map(UsageSummary::new);
        let mut sum = JobSummary {
            id: self.id.to_string(),
            server: server.to_string(),
            location: self.location,
            status: state.to_string(),
            state_kind: state.kind(),
            exit_code,
            state,
            reason,
            batch_id: f.line(jobfile::BATCHID),
            scheduler_status,
            submit: f.line(jobfile::SUBMIT),
            start: f.line(jobfile::START),
            end: end_text,
            submit_time: None,
            start_time: None,
            end_time: None,
            elapsed_secs: None,
            args: f.args(),
            message: f.line(jobfile::MESSAGE),
            profile,
            sweep,
            params,
            usage,
        };
        sum.submit_time = time::parse(&sum.submit).map(|t| t.to_rfc3339());
        sum.start_time = time::parse(&sum.start).map(|t| t.to_rfc3339());
        sum.end_time = time::parse(&sum.end).map(|t| t.to_rfc3339());
        sum.elapsed_secs = sum.elapsed(chrono::Utc::now());
        sum
    }
}

/// What `grunt jobs` shows of a job (and `--json` prints: times in RFC 3339, the exit code an
/// integer). The `submit`/`start`/`end` texts are as stored (UTC) and only for tables.
#[derive(Debug, Clone, Serialize)]
pub struct JobSummary {
    pub id: String,
    pub server: String,
    pub location: Location,
    /// `state` as people read it: `Done`, `Failed(3)`, …
    pub status: String,
    /// The state's name: `Pending`, `Running`, `Done`, `Failed`, `Timeout`, …
    #[serde(rename = "state")]
    pub state_kind: &'static str,
    /// The job's exit code, when known.
    pub exit_code: Option<i32>,
    #[serde(skip)]
    pub state: State,
    pub reason: Option<String>,
    pub batch_id: String,
    pub scheduler_status: String,
    #[serde(skip)]
    pub submit: String,
    #[serde(skip)]
    pub start: String,
    #[serde(skip)]
    pub end: String,
    #[serde(rename = "submit")]
    pub submit_time: Option<String>,
    #[serde(rename = "start")]
    pub start_time: Option<String>,
    #[serde(rename = "end")]
    pub end_time: Option<String>,
    /// Seconds from start to end (to now while it runs).
    pub elapsed_secs: Option<i64>,
    pub args: Vec<String>,
    pub message: String,
    pub profile: Option<String>,
    /// The sweep the job belongs to (its first job's id), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sweep: Option<String>,
    /// The job's sweep parameters (`job.params`), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub params: Option<std::collections::BTreeMap<String, String>>,
    /// What the ended job used (`job.usage`) and the efficiency derived from it, if recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<UsageSummary>,
}

/// A job's `job.usage` with its efficiency, as `jobs --json` and `show --json` print it.
#[derive(Debug, Clone, Serialize)]
pub struct UsageSummary {
    #[serde(flatten)]
    pub usage: jobfile::usage::Usage,
    #[serde(flatten)]
    pub efficiency: jobfile::usage::Efficiency,
}

impl UsageSummary {
    pub fn new(usage: jobfile::usage::Usage) -> UsageSummary {
        let efficiency = usage.efficiency();
        UsageSummary { usage, efficiency }
    }
}

impl JobSummary {
    /// A timestamp field in local time for tables.
    pub fn local(t: &str) -> String {
        if t.is_empty() {
            String::new()
        } else {
            time::to_local(t)
        }
    }

    /// Seconds from start to end, or to `now` while the job runs.
    pub fn elapsed(&self, now: chrono::DateTime<chrono::Utc>) -> Option<i64> {
        let start = time::parse(&self.start)?;
        let end = match time::parse(&self.end) {
            Some(e) => e,
            None if !self.state.is_finished() => now,
            None => return None,
        };
        Some((end - start).num_seconds().max(0))
    }
}

/// Every job in `root` (a jobs repo's top tree), in all locations, sorted by location and id.
/// Only the `job.*` files are read.
pub fn list(repo: &Repository, root: &Tree<'_>, project: &str) -> Vec<JobRecord> {
    let mut out = Vec::new();
    for loc in Location::ALL {
        let Some(dir) = tree::subtree(repo, root, loc.dir()) else {
            continue;
        };
        for entry in dir.iter() {
            let (Some(name), Some(ObjectType::Tree)) = (entry.name().ok(), entry.kind()) else {
                continue;
            };
            let Ok(id) = name.parse::<JobId>() else {
                continue;
            };
            let Ok(job_tree) = repo.find_tree(entry.id()) else {
                continue;
            };
            if let Some(rec) = read_job(repo, &job_tree, id, loc, project) {
                out.push(rec);
            }
        }
    }
    out.sort_by(|a, b| (a.location, &a.id).cmp(&(b.location, &b.id)));
    out
}

/// The job `id` in `root`, wherever it is.
pub fn find(repo: &Repository, root: &Tree<'_>, id: &JobId, project: &str) -> Option<JobRecord> {
    Location::ALL.iter().find_map(|loc| {
        let t = tree::subtree(repo, root, &layout::job_root(*loc, id))?;
        read_job(repo, &t, id.clone(), *loc, project)
    })
}

/// The jobs of sweep `sweep` (their `job.sweep` names it) in `active/` and `archive/` of
/// `root`, in id order; a deleted point is no longer part of its sweep. Only jobs with that
/// `job.sweep` have all their files read.
pub fn sweep_members(
    repo: &Repository,
    root: &Tree<'_>,
    sweep: &JobId,
    project: &str,
) -> Vec<JobRecord> {
    let name = sweep.to_string();
    let mut out = Vec::new();
    for loc in [Location::Active, Location::Archive] {
        let Some(dir) = tree::subtree(repo, root, loc.dir()) else {
            continue;
        };
        for entry in dir.iter() {
            let Some(id) = entry.name().ok().and_then(|n| n.parse::<JobId>().ok()) else {
                continue;
            };
            let Ok(job_tree) = repo.find_tree(entry.id()) else {
                continue;
            };
            let Some(sub) = project_subtree(repo, &job_tree, project) else {
                continue;
            };
            let named = tree::read_file(repo, &sub, jobfile::SWEEP)
                .is_some_and(|b| crate::fsutil::first_line(&b).trim() == name);
            if named {
                out.extend(read_job(repo, &job_tree, id, loc, project));
            }
        }
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    out
}

/// The latest job of each point of a sweep (its `job.params`; a point run again by `rerun`
/// is spoken for by its newest job), `jobs` being in id order.
pub fn latest_per_point(jobs: &[JobRecord]) -> Vec<&JobRecord> {
    let mut latest: std::collections::BTreeMap<&str, &JobRecord> = Default::default();
    for j in jobs {
        latest.insert(j.files.text(jobfile::PARAMS).unwrap_or(""), j);
    }
    latest.into_values().collect()
}

/// The project subdirectory of a job's tree, or its only subdirectory when the project was
/// renamed.
fn project_subtree<'r>(
    repo: &'r Repository,
    job_tree: &Tree<'_>,
    project: &str,
) -> Option<Tree<'r>> {
    repo.find_tree(project_entry(job_tree, project)?.id()).ok()
}

/// The entry of [`project_subtree`].
fn project_entry<'t>(job_tree: &'t Tree<'_>, project: &str) -> Option<git2::TreeEntry<'t>> {
    job_tree
        .get_name(project)
        .filter(|e| e.kind() == Some(ObjectType::Tree))
        .or_else(|| {
            let mut dirs = job_tree
                .iter()
                .filter(|e| e.kind() == Some(ObjectType::Tree));
            let first = dirs.next()?;
            dirs.next().is_none().then_some(first)
        })
}

fn read_job(
    repo: &Repository,
    job_tree: &Tree<'_>,
    id: JobId,
    location: Location,
    project: &str,
) -> Option<JobRecord> {
    let sub = project_entry(job_tree, project)?;
    let project = sub.name().ok()?.to_string();
    let t = repo.find_tree(sub.id()).ok()?;
    let mut files = JobFiles::default();
    for e in t.iter() {
        if let (Some(name), Some(ObjectType::Blob)) = (e.name().ok(), e.kind()) {
            if jobfile::is_job_file(name) {
                if let Ok(b) = repo.find_blob(e.id()) {
                    files.insert(name, b.content());
                }
            }
        }
    }
    Some(JobRecord {
        id,
        location,
        project,
        files,
    })
}

/// How far back [`submitted_tree`] looks for the commit that submitted a job.
pub const SUBMIT_WALK: usize = 20_000;

/// Job `id` (project subdirectory `project`) as it was submitted: its tree in `active/` in the
/// oldest commit on `tip`'s first-parent line that has it (a client's submit, or the commit
/// that reserved a retry), before any runner wrote into it; the walk goes through the commits
/// where the job was archived or deleted and stops before the job existed. A project file may
/// be named like a job file (`job.sh`): it must stay in a retry or a rerun, and only this tree
/// tells it from the runner's.
pub fn submitted_tree<'r>(
    r: &'r git2::Repository,
    tip: &git2::Commit<'_>,
    id: &JobId,
    project: &str,
) -> Option<git2::Tree<'r>> {
    let active = layout::job_dir(Location::Active, id, project);
    let mut found = None;
    let mut cur = Some(tip.clone());
    for _ in 0..SUBMIT_WALK {
        let Some(c) = cur else { break };
        let Ok(t) = c.tree() else { break };
        match tree::subtree(r, &t, &active) {
            // The oldest commit with the job made it.
            Some(job) => found = Some(job),
            None if Location::ALL
                .iter()
                .all(|l| !tree::exists(&t, &layout::job_root(*l, id))) =>
            {
                break
            }
            None => {}
        }
        cur = c.parent(0).ok();
    }
    found
}

/// The highest job number in use in `root` (all locations) or recorded in `maxjob.id`.
pub fn max_number(repo: &Repository, root: &Tree<'_>) -> u64 {
    let recorded = tree::read_file(repo, root, layout::MAXJOB_FILE)
        .and_then(|b| crate::fsutil::first_line(&b).trim().parse::<u64>().ok())
        .unwrap_or(0);
    let mut max = recorded;
    for loc in Location::ALL {
        if let Some(dir) = tree::subtree(repo, root, loc.dir()) {
            for e in dir.iter() {
                if let Some(id) = e.name().ok().and_then(|n| n.parse::<JobId>().ok()) {
                    max = max.max(id.number());
                }
            }
        }
    }
    max
}

/// How far back [`high_water`] looks for the last commit grund wrote.
const HIGH_WATER_WALK: usize = 1000;

/// The highest job number ever used as far as `commit`'s history tells: [`max_number`] of
/// every commit on its first-parent line back to (and including) the last one grund made
/// that records `maxjob.id`. A client commit that deletes or lowers `maxjob.id` after the top
/// job was nuked cannot make an id come back: the number grund recorded before it still counts.
pub fn high_water(repo: &Repository, commit: &git2::Commit<'_>) -> u64 {
    let mut max = 0;
    let mut cur = Some(commit.clone());
    for _ in 0..HIGH_WATER_WALK {
        let Some(c) = cur else { break };
        let Ok(tree) = c.tree() else { break };
        max = max.max(max_number(repo, &tree));
        let by_grund = c
            .message_bytes()
            .starts_with(crate::GRUND_COMMIT_PREFIX.as_bytes());
        if by_grund && tree::exists(&tree, layout::MAXJOB_FILE) {
            break;
        }
        cur = c.parent(0).ok();
    }
    max
}
