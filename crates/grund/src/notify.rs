//! Notifications: when a job grund committed has reached a final state, grund runs the
//! `[notify] command` of the job's `grunt.toml`, else of `~/gruntsrv/grund.toml` (for all
//! projects), through `sh -c` in the job directory, with `GRUNT_JOBID`, `GRUNT_PROJECT`,
//! `GRUNT_STATE`, `GRUNT_MESSAGE`, `GRUNT_ELAPSED` (and `GRUNT_EXIT_CODE`, `GRUNT_SERVER`,
//! `GRUNT_USER`, `GRUNT_JOB_DIR`) in its environment and a time limit (`[notify] timeout`,
//! default 30 s). Each job notifies once per final state: the state is recorded in grund's
//! state directory (`grund-state/notified/<jobid>`, fsynced) *before* the command runs, so a
//! crash or restart never repeats it (at most once); a failed or timed-out command is logged
//! and not retried.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use grunt_core::config::ProjectConfig;
use grunt_core::jobfile::{self, JobFiles};
use grunt_core::jobid::JobId;
use grunt_core::protocol::vars;
use grunt_core::runner::{self, Invocation, Outcome};
use grunt_core::{fsutil, state as status, time};

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
        Some(NotifyConfig {
            command,
            timeout_secs,
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

fn marker(p: &Project, id: &JobId) -> PathBuf {
    p.layout
        .state_dir(&p.key)
        .join("notified")
        .join(id.to_string())
}

/// Notifies for each of `jobs` that has reached a final state not notified yet. Never fails:
/// a notification is a courtesy, its errors are logged.
pub fn after_commit<'a>(p: &Project, jobs: impl IntoIterator<Item = &'a (JobId, String)>) {
    for (id, project) in jobs {
        if let Err(e) = one(p, id, project) {
            log::warn!("{}: notify {id}: {e}", p.key.project);
        }
    }
}

fn one(p: &Project, id: &JobId, project: &str) -> grunt_core::Result<()> {
    let Some((_, dir)) = p.work.find(id, project) else {
        return Ok(());
    };
    let mut files = JobFiles::default();
    for (name, data) in workdir::job_files(&dir)? {
        files.insert(name, &data);
    }
    let (state, _) = status::derive(&files);
    if !state.is_finished() {
        return Ok(());
    }
    let Some(cfg) = config(p, &dir) else {
        return Ok(());
    };
    let mark = marker(p, id);
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
    let mut env: BTreeMap<String, String> = p
        .env
        .iter()
        .filter(|(k, _)| !k.starts_with(vars::PREFIX))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
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
    let base = mark.with_extension("");
    let inv = Invocation {
        program: PathBuf::from("sh"),
        args: vec!["-c".into(), cfg.command.clone()],
        dir: dir.clone(),
        env,
        timeout_secs: Some(cfg.timeout_secs),
        stdout: base.with_file_name(format!("{id}.out")),
        stderr: base.with_file_name(format!("{id}.err")),
    };
    p.activity.set(
        &p.key.project,
        format!("notify command for {id} ({})", state.kind()),
    );
    match runner::run(&inv) {
        Outcome::Exited(0) => log::info!("{}: notified {id} {}", p.key.project, state.kind()),
        other => {
            let err = fsutil::read_regular(&inv.stderr).unwrap_or_default();
            log::warn!(
                "{}: the notify command for {id} ({}) failed: {other:?}: {}; not retried",
                p.key.project,
                state.kind(),
                String::from_utf8_lossy(&err).trim()
            );
        }
    }
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
                timeout_secs: 5
            })
        );
        let none = ProjectConfig::parse("[notify]\ncommand = \" \"\n", Path::new("g")).unwrap();
        assert_eq!(NotifyConfig::from(&none), None);
    }
}
