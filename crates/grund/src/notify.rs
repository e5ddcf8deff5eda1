//! Notifications: when a job grund committed has reached a final state, grund runs the
//! `[notify] command` of the job's `grunt.toml`, else of `~/gruntsrv/grund.toml` (for all
//! projects), through `sh -c` in the job directory, with `GRUNT_JOBID`, `GRUNT_PROJECT`,
//! `GRUNT_STATE`, `GRUNT_MESSAGE`, `GRUNT_ELAPSED` (and `GRUNT_EXIT_CODE`, `GRUNT_SERVER`,
//! `GRUNT_USER`, `GRUNT_JOB_DIR`) in its environment and a time limit (`[notify] timeout`,
//! default 30 s). Each job notifies once per final state: the state is recorded in grund's
//! state directory (`grund-state/notified/<jobid>`, fsynced) *before* the command runs, so a
//! crash or restart never repeats it (at most once); a failed or timed-out command is logged
//! and not retried.
//!
//! A sweep notifies too, once, when the last of its points (the newest job of each
//! `job.params` among the jobs whose `job.sweep` names it, as `grunt sweep` counts them)
//! reaches a final state: the same command, with `GRUNT_SWEEP`, `GRUNT_SWEEP_POINTS` and a
//! count per final state (`GRUNT_SWEEP_DONE`, `GRUNT_SWEEP_FAILED`, ...) instead of the job's
//! `GRUNT_JOBID` and `GRUNT_STATE`; recorded as `notified/sweep-<id>` before it runs.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use grunt_core::config::ProjectConfig;
use grunt_core::jobfile::{self, JobFiles};
use grunt_core::jobid::JobId;
use grunt_core::protocol::vars;
use grunt_core::runner::{self, Invocation, Outcome};
use grunt_core::state::State;
use grunt_core::{fsutil, jobs, state as status, time};

use crate::exec::Project;
use crate::workdir;

/// grund's own configuration file, in `~/gruntsrv`.
pub const GRUND_CONFIG: &str = "grund.toml";
/// The time limit of a notification command unless `[notify] timeout` says otherwise.
pub const DEFAULT_TIMEOUT_SECS: u64 = 30;

/// `[notify]`: what to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifyConfig {
    pub command: String,
    pub timeout_secs: u64,
    /// `[notify] sweeps = false`: no notification when a sweep is complete (default: one).
    pub sweeps: bool,
}

impl NotifyConfig {
    /// The `[notify]` table of a parsed `grunt.toml` or `grund.toml`, if it has a command.
    pub fn from(cfg: &ProjectConfig) -> Option<NotifyConfig> {
        let t = cfg.raw.get("notify")?;
        let command = t.get("command")?.as_str()?.trim().to_string();
        if command.is_empty() {
            return None;
        }
        let timeout_secs = t
            .get("timeout")
            .and_then(|v| v.as_integer())
            .and_then(|v| u64::try_from(v).ok())
            .unwrap_or(DEFAULT_TIMEOUT_SECS)
            .max(1);
        let sweeps = t.get("sweeps").and_then(|v| v.as_bool()).unwrap_or(true);
        Some(NotifyConfig {
            command,
            timeout_secs,
            sweeps,
        })
    }
}

/// The job's `[notify]`, else grund's; a file that does not parse is logged and skipped.
fn config(p: &Project, dir: &Path) -> Option<NotifyConfig> {
    match ProjectConfig::load(dir) {
        Ok(c) => {
            if let Some(n) = NotifyConfig::from(&c) {
                return Some(n);
            }
        }
        Err(e) => log::warn!("{}: notify: {e}", p.key.project),
    }
    match ProjectConfig::load_named(&p.layout.root, GRUND_CONFIG) {
        Ok(c) => NotifyConfig::from(&c),
        Err(e) => {
            log::warn!("notify: {e}");
            None
        }
    }
}

/// The record of what was notified for `name` (a job id, or `sweep-<id>`).
fn marker(p: &Project, name: &str) -> PathBuf {
    p.layout.state_dir(&p.key).join("notified").join(name)
}

/// Notifies for each of `jobs` that has reached a final state not notified yet, then for each
/// of their sweeps that is complete and not notified yet. Never fails: a notification is a
/// courtesy, its errors are logged.
pub fn after_commit<'a>(p: &Project, jobs: impl IntoIterator<Item = &'a (JobId, String)>) {
    let mut sweeps: BTreeMap<(String, String), PathBuf> = BTreeMap::new();
    for (id, project) in jobs {
        match one(p, id, project) {
            Ok(Some((sweep, dir))) => {
                sweeps.entry((sweep, project.clone())).or_insert(dir);
            }
            Ok(None) => {}
            Err(e) => log::warn!("{}: notify {id}: {e}", p.key.project),
        }
    }
    let mut seen = BTreeSet::new();
    for ((sweep, project), dir) in sweeps {
        if seen.insert(sweep.clone()) {
            if let Err(e) = sweep_complete(p, &sweep, &project, &dir) {
                log::warn!("{}: notify sweep {sweep}: {e}", p.key.project);
            }
        }
    }
}

/// Notifies for job `id` if need be; its sweep and directory when it has finished and
/// belongs to one.
fn one(p: &Project, id: &JobId, project: &str) -> grunt_core::Result<Option<(String, PathBuf)>> {
    let Some((_, dir)) = p.work.find(id, project) else {
        return Ok(None);
    };
    let mut files = JobFiles::default();
    for (name, data) in workdir::job_files(&dir)? {
        files.insert(name, &data);
    }
    let (state, _) = status::derive(&files);
    if !state.is_finished() {
        return Ok(None);
    }
    // `job.sweep` is the client's: not among the files grund commits back.
    let sweep = fsutil::read_regular(&dir.join(jobfile::SWEEP))
        .ok()
        .map(|b| fsutil::first_line(&b).trim().to_string())
        .filter(|s| !s.is_empty())
        .map(|s| (s, dir.clone()));
    if let Some(cfg) = config(p, &dir) {
        notify_job(p, id, &dir, &files, state, &cfg)?;
    }
    Ok(sweep)
}

fn notify_job(
    p: &Project,
    id: &JobId,
    dir: &Path,
    files: &JobFiles,
    state: State,
    cfg: &NotifyConfig,
) -> grunt_core::Result<()> {
    let mark = marker(p, &id.to_string());
    let seen =
        String::from_utf8_lossy(&fsutil::read_regular(&mark).unwrap_or_default()).into_owned();
    if seen.lines().any(|l| l.trim() == state.kind()) {
        return Ok(());
    }
    // Recorded before it runs: once at most, across crashes and restarts.
    if let Some(parent) = mark.parent() {
        std::fs::create_dir_all(parent).map_err(grunt_core::Error::io("creating", parent))?;
    }
    fsutil::atomic_write(&mark, format!("{seen}{}\n", state.kind()).as_bytes())?;
    let message = fsutil::read_regular(&dir.join(jobfile::MESSAGE))
        .map(|b| String::from_utf8_lossy(&b).trim().to_string())
        .unwrap_or_default();
    let elapsed = match (
        time::parse(&files.line(jobfile::START)),
        time::parse(&files.line(jobfile::END)),
    ) {
        (Some(s), Some(e)) => (e - s).num_seconds().max(0).to_string(),
        _ => String::new(),
    };
    let mut env = base_env(p);
    for (k, v) in [
        (vars::JOBID, id.to_string()),
        (vars::PROJECT, p.key.project.clone()),
        (vars::SERVER, p.key.server.clone()),
        (vars::USER, p.key.user.clone()),
        (vars::JOB_DIR, dir.display().to_string()),
        (vars::STATE, state.kind().to_string()),
        (vars::MESSAGE, message),
        (vars::ELAPSED, elapsed),
        (vars::EXIT_CODE, files.line(jobfile::EXITCODE)),
    ] {
        env.insert(k.to_string(), v);
    }
    run_command(p, cfg, dir, &mark, env, &format!("{id} ({})", state.kind()));
    Ok(())
}

/// Grund's environment without its `GRUNT_*` variables, for a notification command.
fn base_env(p: &Project) -> BTreeMap<String, String> {
    p.env
        .iter()
        .filter(|(k, _)| !k.starts_with(vars::PREFIX))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// Runs the command (recorded in `mark` already) with `env`; `what` names it in the log.
/// Its output goes next to `mark`.
fn run_command(
    p: &Project,
    cfg: &NotifyConfig,
    dir: &Path,
    mark: &Path,
    env: BTreeMap<String, String>,
    what: &str,
) {
    let with = |ext: &str| {
        let mut s = mark.as_os_str().to_owned();
        s.push(ext);
        PathBuf::from(s)
    };
    let inv = Invocation {
        program: PathBuf::from("sh"),
        args: vec!["-c".into(), cfg.command.clone()],
        dir: dir.to_path_buf(),
        env,
        timeout_secs: Some(cfg.timeout_secs),
        stdout: with(".out"),
        stderr: with(".err"),
    };
    p.activity
        .set(&p.key.project, format!("notify command for {what}"));
    match runner::run(&inv) {
        Outcome::Exited(0) => log::info!("{}: notified {what}", p.key.project),
        other => {
            let err = fsutil::read_regular(&inv.stderr).unwrap_or_default();
            log::warn!(
                "{}: the notify command for {what} failed: {other:?}: {}; not retried",
                p.key.project,
                String::from_utf8_lossy(&err).trim()
            );
        }
    }
}

/// The final states a sweep's points are counted in, each `GRUNT_SWEEP_<NAME>`.
const FINAL_KINDS: [State; 6] = [
    State::Done,
    State::Failed(None),
    State::Timeout,
    State::OutOfMemory,
    State::Canceled,
    State::NodeFail,
];

/// Notifies once for sweep `sweep` if every point of it has reached a final state in the
/// jobs repo's tip; `dir` is the job directory of one of its jobs (for `[notify]` and as the
/// command's working directory).
fn sweep_complete(p: &Project, sweep: &str, project: &str, dir: &Path) -> grunt_core::Result<()> {
    let Ok(sweep_id) = sweep.parse::<JobId>() else {
        return Ok(());
    };
    let mark = marker(p, &format!("sweep-{sweep_id}"));
    // Cheap before the scan of the repo: most finished points are not the last.
    if mark.exists() {
        return Ok(());
    }
    let Some(cfg) = config(p, dir).filter(|c| c.sweeps) else {
        return Ok(());
    };
    let bare = p.layout.bare(&p.key).jobs();
    let repo = grunt_core::git::open(&bare)?;
    let Some(head) = grunt_core::git::head(&repo)? else {
        return Ok(());
    };
    let tree = repo
        .find_commit(head)
        .and_then(|c| c.tree())
        .map_err(grunt_core::Error::git("reading the tip", &bare))?;
    let members = jobs::sweep_members(&repo, &tree, &sweep_id, project);
    let points = jobs::latest_per_point(&members);
    let states: Vec<State> = points.iter().map(|j| status::derive(&j.files).0).collect();
    let finished = states.iter().filter(|s| s.is_finished()).count();
    log::debug!(
        "{}: sweep {sweep_id}: {finished} of {} point(s) finished",
        p.key.project,
        points.len()
    );
    if points.is_empty() || finished < points.len() {
        return Ok(());
    }
    if let Some(parent) = mark.parent() {
        std::fs::create_dir_all(parent).map_err(grunt_core::Error::io("creating", parent))?;
    }
    fsutil::atomic_write(&mark, b"complete\n")?;
    let mut env = base_env(p);
    for kind in FINAL_KINDS {
        let n = states.iter().filter(|s| s.kind() == kind.kind()).count();
        env.insert(
            format!("{}{}", vars::SWEEP_COUNT_PREFIX, kind.kind().to_uppercase()),
            n.to_string(),
        );
    }
    // From the first start to the last end, when every point has both.
    let times = |name: &str| {
        points
            .iter()
            .map(|j| time::parse(&j.files.line(name)))
            .collect::<Option<Vec<_>>>()
    };
    let elapsed = match (times(jobfile::START), times(jobfile::END)) {
        (Some(s), Some(e)) => match (s.iter().min(), e.iter().max()) {
            (Some(s), Some(e)) => (*e - *s).num_seconds().max(0).to_string(),
            _ => String::new(),
        },
        _ => String::new(),
    };
    let message = members
        .first()
        .map(|j| j.files.line(jobfile::MESSAGE))
        .unwrap_or_default();
    for (k, v) in [
        (vars::SWEEP, sweep_id.to_string()),
        (vars::SWEEP_POINTS, points.len().to_string()),
        (vars::PROJECT, p.key.project.clone()),
        (vars::SERVER, p.key.server.clone()),
        (vars::USER, p.key.user.clone()),
        (vars::JOB_DIR, dir.display().to_string()),
        (vars::MESSAGE, message),
        (vars::ELAPSED, elapsed),
    ] {
        env.insert(k.to_string(), v);
    }
    run_command(p, &cfg, dir, &mark, env, &format!("sweep {sweep_id}"));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_notify_table() {
        let c = ProjectConfig::parse(
            "[notify]\ncommand = \"echo hi\"\ntimeout = 5\n",
            Path::new("g"),
        )
        .unwrap();
        assert_eq!(
            NotifyConfig::from(&c),
            Some(NotifyConfig {
                command: "echo hi".into(),
                timeout_secs: 5,
                sweeps: true,
            })
        );
        let off = ProjectConfig::parse(
            "[notify]\ncommand = \"x\"\nsweeps = false\n",
            Path::new("g"),
        )
        .unwrap();
        assert_eq!(NotifyConfig::from(&off).map(|c| c.sweeps), Some(false));
        let none = ProjectConfig::parse("[notify]\ncommand = \" \"\n", Path::new("g")).unwrap();
        assert_eq!(NotifyConfig::from(&none), None);
    }
}
