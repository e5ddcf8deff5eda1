//! `grunt log JOB`: the job's audit trail, read from git itself: every commit of the jobs repo
//! that touched the job (submitted, commands asked, started, ended, state and error changes,
//! moves between active/archive/delete) and every commit of the results repo that changed its
//! results, oldest first, with times and who committed (a client or grund).

use std::collections::BTreeMap;

use anyhow::Result;
use git2::{Oid, Repository, Tree};
use grunt_core::git::{self, tree};
use grunt_core::jobid::{JobId, JobSpec};
use grunt_core::jobs::JobRecord;
use grunt_core::layout::{self, Location};
use grunt_core::{command, jobfile};
use serde::Serialize;

use crate::context::Ctx;
use crate::{error, ui};

/// How many commits of each repo are looked at, newest first.
const MAX_COMMITS: usize = 20_000;

#[derive(Debug, Clone, clap::Args)]
#[command(after_long_help = "Examples:
  grunt log 3
  grunt log ore000003 --json | jq '.[] | .what'")]
pub struct Args {
    /// The job: an id or a number.
    pub job: String,
    /// Print JSON: one object per commit (time, repo, commit, by, what, summary).
    #[arg(long)]
    pub json: bool,
}

/// One commit that touched the job.
#[derive(Debug, Clone, Serialize)]
pub struct Event {
    /// Commit time, RFC 3339.
    pub time: Option<String>,
    #[serde(skip)]
    pub secs: i64,
    /// `jobs` or `results`.
    pub repo: &'static str,
    pub commit: String,
    /// `grund` or `client`.
    pub by: &'static str,
    /// What changed for the job, in words.
    pub what: Vec<String>,
    /// The commit's summary line.
    pub summary: String,
}

pub fn run(ctx: &Ctx, a: Args) -> Result<()> {
    ctx.pull_for_reading()?;
    if let Err(e) = ctx.pull_results() {
        ui::warn(format!(
            "results not pulled ({}); their history is the local copy's",
            error::one_line(&e)
        ));
    }
    let all = ctx.list()?;
    let found = match ctx.resolve(std::slice::from_ref(&a.job), &all) {
        Ok(found) => found,
        // A nuked job is gone from the tip, not from the history.
        Err(e) => match gone_job(ctx, &a.job) {
            Some(j) => vec![j],
            None => return Err(e),
        },
    };
    let [job] = found.as_slice() else {
        return Err(error::usage(format!("log takes one job, not {:?}", a.job)).into());
    };
    let mut events = history(&ctx.jobs, job, "jobs")?;
    if events.is_empty() {
        return Err(error::error(format!(
            "no job {} in project {}, now or in its history",
            job.id, ctx.key.project
        ))
        .into());
    }
    events.reverse();
    if let Ok(results) = git::open(&ctx.dirs.results()) {
        let mut r = history(&results, job, "results")?;
        r.reverse();
        events = interleave(events, r);
    }
    if a.json {
        return ui::json(&events);
    }
    let mut out = vec![format!(
        "history of {} ({} commits, oldest first):",
        job.id,
        events.len()
    )];
    for e in &events {
        let when = e
            .time
            .as_deref()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .map(|t| grunt_core::time::to_local(&grunt_core::time::format(t.into())))
            .unwrap_or_default();
        out.push(format!(
            "  {when}  {:.10}  {:<7} {:<7} {}",
            e.commit,
            e.repo,
            e.by,
            e.what.join("; ")
        ));
    }
    ui::out(out.join("\n"))?;
    Ok(())
}

/// A job named by a whole id or a number that is no longer in the jobs repo's tip.
fn gone_job(ctx: &Ctx, arg: &str) -> Option<JobRecord> {
    let id = match arg.parse::<JobSpec>().ok()? {
        JobSpec::Id(id) => id,
        JobSpec::Number(n) => JobId::new(&ctx.prefix, n).ok()?,
        _ => return None,
    };
    Some(JobRecord {
        id,
        location: Location::Active,
        project: ctx.key.project.clone(),
        files: Default::default(),
    })
}

/// Both histories in one, oldest first. grund commits a batch's results just before its jobs
/// commit, with the same message: a results commit goes right before its jobs twin; one without
/// a twin goes after the jobs commits of its second or before.
fn interleave(jobs: Vec<Event>, results: Vec<Event>) -> Vec<Event> {
    let mut before: Vec<Vec<Event>> = vec![Vec::new(); jobs.len() + 1];
    for r in results {
        let at = jobs
            .iter()
            .position(|j| j.by == "grund" && j.summary == r.summary)
            .unwrap_or_else(|| jobs.iter().take_while(|j| j.secs <= r.secs).count());
        before[at].push(r);
    }
    let mut out = Vec::new();
    let mut slots = before.into_iter();
    for j in jobs {
        out.extend(slots.next().unwrap_or_default());
        out.push(j);
    }
    out.extend(slots.flatten());
    out
}

/// Where the job is in `t`, and its tree there.
fn place<'r>(repo: &'r Repository, t: &Tree<'_>, job: &JobRecord) -> Option<(Location, Tree<'r>)> {
    Location::ALL.iter().find_map(|loc| {
        let sub = tree::subtree(repo, t, &layout::job_dir(*loc, &job.id, &job.project))?;
        Some((*loc, sub))
    })
}

/// The commits of `repo` (newest first, at most [`MAX_COMMITS`]) that changed the job.
pub fn history(repo: &Repository, job: &JobRecord, name: &'static str) -> Result<Vec<Event>> {
    let Some(head) = git::head(repo)? else {
        return Ok(Vec::new());
    };
    let mut walk = repo.revwalk()?;
    walk.push(head)?;
    walk.set_sorting(git2::Sort::TOPOLOGICAL | git2::Sort::TIME)?;
    let mut out = Vec::new();
    for oid in walk.take(MAX_COMMITS) {
        let c = repo.find_commit(oid?)?;
        let now = place(repo, &c.tree()?, job);
        let before = match c.parent(0) {
            Ok(p) => place(repo, &p.tree()?, job),
            Err(_) => None,
        };
        let same = match (&now, &before) {
            (Some((a, x)), Some((b, y))) => a == b && x.id() == y.id(),
            (None, None) => true,
            _ => false,
        };
        if same {
            continue;
        }
        let what = match name {
            "results" => describe_results(repo, before.as_ref(), now.as_ref())?,
            _ => describe_jobs(repo, before.as_ref(), now.as_ref())?,
        };
        let summary = String::from_utf8_lossy(c.summary_bytes().unwrap_or(b"")).into_owned();
        let time = chrono::DateTime::from_timestamp(c.time().seconds(), 0);
        out.push(Event {
            time: time.map(|t| t.to_rfc3339()),
            secs: c.time().seconds(),
            repo: name,
            commit: c.id().to_string(),
            by: if summary.starts_with(grunt_core::GRUND_COMMIT_PREFIX) {
                "grund"
            } else {
                "client"
            },
            what,
            summary,
        });
    }
    Ok(out)
}

/// The files of a job tree, by path.
fn files(repo: &Repository, t: Option<&Tree<'_>>) -> Result<BTreeMap<String, Oid>> {
    Ok(match t {
        Some(t) => tree::walk_files(repo, t)?
            .into_iter()
            .map(|f| (f.path, f.oid))
            .collect(),
        None => BTreeMap::new(),
    })
}

fn first_line(repo: &Repository, oid: Oid) -> String {
    repo.find_blob(oid)
        .map(|b| {
            String::from_utf8_lossy(b.content())
                .lines()
                .next()
                .unwrap_or("")
                .trim()
                .to_string()
        })
        .unwrap_or_default()
}

type Place<'r> = (Location, Tree<'r>);

fn describe_jobs(
    repo: &Repository,
    before: Option<&Place<'_>>,
    now: Option<&Place<'_>>,
) -> Result<Vec<String>> {
    let mut what = Vec::new();
    match (before, now) {
        (None, Some((loc, t))) => {
            let msg = tree::read_file(repo, t, jobfile::MESSAGE)
                .map(|m| String::from_utf8_lossy(&m).trim().to_string())
                .unwrap_or_default();
            if tree::exists(t, &format!("{}submit", command::PREFIX)) {
                what.push(format!("submitted: {msg}"));
            } else {
                what.push(format!("appeared in {loc}"));
            }
            return Ok(what);
        }
        (Some(_), None) => {
            what.push("removed from the jobs repo (nuke)".into());
            return Ok(what);
        }
        (Some((a, _)), Some((b, _))) if a != b => what.push(format!("moved {a} -> {b}")),
        _ => {}
    }
    let old = files(repo, before.map(|p| &p.1))?;
    let new = files(repo, now.map(|p| &p.1))?;
    let mut other = 0;
    // In the order things happen to a job, whatever the file names' order.
    let mut found: Vec<(usize, String)> = Vec::new();
    for (path, oid) in &new {
        if old.get(path) == Some(oid) {
            continue;
        }
        let added = !old.contains_key(path);
        let line = || first_line(repo, *oid);
        let mut say = |rank: usize, text: String| found.push((rank, text));
        match path.as_str() {
            p if p.starts_with(command::PREFIX) => {
                say(0, format!("asked: {}", &p[command::PREFIX.len()..]))
            }
            jobfile::MESSAGE => say(1, format!("message: {}", line())),
            jobfile::INPUTS => say(2, "inputs hashed".into()),
            jobfile::BATCHID => say(3, format!("batch id {}", line())),
            jobfile::START if added => say(4, "started".into()),
            jobfile::STATUS => say(5, format!("scheduler: {}", line())),
            jobfile::CANCELED => say(6, "canceled".into()),
            jobfile::EXITCODE => say(7, format!("exit code {}", line())),
            jobfile::END if added => say(8, "ended".into()),
            jobfile::ERROR => say(9, format!("error: {}", line())),
            p if jobfile::is_job_file(p) => {}
            _ => other += 1,
        }
    }
    found.sort_by_key(|(rank, _)| *rank);
    what.extend(found.into_iter().map(|(_, t)| t));
    if other > 0 {
        what.push(format!("{other} file(s) changed"));
    }
    if what.is_empty() {
        what.push("job files updated".into());
    }
    Ok(what)
}

fn describe_results(
    repo: &Repository,
    before: Option<&Place<'_>>,
    now: Option<&Place<'_>>,
) -> Result<Vec<String>> {
    let old = files(repo, before.map(|p| &p.1))?;
    let new = files(repo, now.map(|p| &p.1))?;
    let mut what = Vec::new();
    match (before, now) {
        (Some((a, _)), Some((b, _))) if a != b => what.push(format!("results moved {a} -> {b}")),
        (Some(_), None) => what.push(format!("results removed ({} file(s))", old.len())),
        _ => {}
    }
    let changed: Vec<&str> = new
        .iter()
        .filter(|(p, o)| old.get(*p) != Some(o))
        .map(|(p, _)| p.as_str())
        .collect();
    if !changed.is_empty() {
        let mut names = changed
            .iter()
            .take(5)
            .copied()
            .collect::<Vec<_>>()
            .join(", ");
        if changed.len() > 5 {
            names.push_str(", ...");
        }
        what.push(format!("results: {names}"));
    }
    Ok(what)
}
