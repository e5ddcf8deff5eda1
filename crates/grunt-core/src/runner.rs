//! Running the user's runner (`grunter`) for one command in a job directory.
//!
//! The runner is, in order: an executable `grunter` in the job directory, `grunter.py` run with
//! `python3` (the original contract, unchanged), or `[runner] command` from `grunt.toml` run
//! with `sh -c`. It gets grund's environment (as with the original; `[runner] clean_env` clears
//! it) plus the documented `GRUNT_*` variables, its own process group, and a time limit after
//! which the whole group is killed (none for `grunter.py` unless `[runner] timeout` sets one). Its stdout and stderr go to
//! `job.grunter.out` and `job.grunter.err` in the job. "grund's environment" is whatever the
//! caller passes to [`Invocation::new`] (the `grund` binary passes its own, [`process_env`]):
//! nothing here reads the process's environment, so grund runs in-process in tests.
//!
//! grund does not run the runner as its own child: it starts a small supervisor (grund's own
//! binary, see grund's `supervisor` module) that outlives grund and calls [`run`]; the client
//! calls [`run`] directly for a dry run.

use std::collections::BTreeMap;
use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::config::{self, ProjectConfig};
use crate::fsutil;
use crate::jobfile;
use crate::layout::ProjectKey;
use crate::protocol::vars;

/// Variables passed through from grund's environment to a runner whose environment is
/// cleared (`[runner] clean_env`): the basics, and what the batch systems' commands need to
/// find their cluster.
pub const PASSTHROUGH: [&str; 20] = [
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "SHELL",
    "LANG",
    "LC_ALL",
    "TZ",
    "TMPDIR",
    "SLURM_CONF",
    "SGE_ROOT",
    "SGE_CELL",
    "SGE_CLUSTER_NAME",
    "SGE_QMASTER_PORT",
    "SGE_EXECD_PORT",
    "LSF_ENVDIR",
    "LSF_SERVERDIR",
    "LSF_BINDIR",
    "LSF_LIBDIR",
    "CONDOR_CONFIG",
];

/// How long a runner gets after SIGTERM before SIGKILL, when its time is up.
pub const KILL_GRACE: Duration = Duration::from_secs(2);

#[derive(Debug, Error)]
pub enum RunnerError {
    #[error("no runner in {dir}: add an executable `grunter` or a `grunter.py` to the project (see runner-examples/), or set [runner] command in grunt.toml")]
    Missing { dir: PathBuf },
    #[error("{0}")]
    Config(#[from] config::ConfigError),
}

/// Who the runner works for: the job and where it is.
#[derive(Debug, Clone)]
pub struct JobContext {
    pub job_id: String,
    pub key: ProjectKey,
    pub job_dir: PathBuf,
}

/// Everything needed to run a runner once; written to disk for the supervisor.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Invocation {
    pub program: PathBuf,
    pub args: Vec<String>,
    pub dir: PathBuf,
    pub env: BTreeMap<String, String>,
    /// Time limit; `None`: the runner runs as long as it likes.
    pub timeout_secs: Option<u64>,
    pub stdout: PathBuf,
    pub stderr: PathBuf,
}

impl Invocation {
    /// The runner call for command `word` in the job at `ctx.job_dir`; `inherited` is the
    /// environment it inherits (grund's own, see [`process_env`]).
    pub fn new(
        ctx: &JobContext,
        word: &str,
        cfg: &ProjectConfig,
        inherited: &BTreeMap<String, String>,
    ) -> Result<Self, RunnerError> {
        let dir = &ctx.job_dir;
        let exe = dir.join(jobfile::RUNNER_EXE);
        let py = dir.join(jobfile::RUNNER_PY);
        let mut unlimited = false;
        let (program, args) = if exe.is_file() {
            (exe, vec![word.to_string()])
        } else if py.is_file() {
            // The original grund waits for grunter.py however long it takes, and some run the
            // whole job inside `submit`: no time limit unless grunt.toml sets one.
            unlimited = cfg.runner.timeout.is_none();
            (
                PathBuf::from("python3"),
                vec![jobfile::RUNNER_PY.to_string(), word.to_string()],
            )
        } else if let Some(cmd) = cfg
            .runner
            .command
            .as_deref()
            .filter(|c| !c.trim().is_empty())
        {
            (
                PathBuf::from("sh"),
                vec![
                    "-c".into(),
                    format!("{cmd} \"$@\""),
                    "grunter".into(),
                    word.to_string(),
                ],
            )
        } else {
            return Err(RunnerError::Missing { dir: dir.clone() });
        };
        let mut env = BTreeMap::new();
        if cfg.runner.clean_env {
            let passthrough = PASSTHROUGH
                .iter()
                .map(|s| s.to_string())
                .chain(cfg.runner.env.iter().cloned());
            for name in passthrough {
                if let Some(v) = inherited.get(&name) {
                    env.insert(name, v.clone());
                }
            }
        } else {
            // grund's own environment, as the original passes it on (module load, conda,
            // venv…); its GRUNT_* variables are left out so the job's own are the only ones.
            env.extend(
                inherited
                    .iter()
                    .filter(|(k, _)| !k.starts_with(vars::PREFIX))
                    .map(|(k, v)| (k.clone(), v.clone())),
            );
        }
        env.extend(config::flatten_env(&cfg.raw));
        let profile = fsutil::read_regular(&dir.join(jobfile::PROFILE))
            .ok()
            .map(|b| fsutil::first_line(&b).trim().to_string())
            .filter(|p| !p.is_empty());
        env.extend(config::resources(&cfg.raw, profile.as_deref())?);
        if let Some(p) = profile {
            env.insert(vars::PROFILE.into(), p);
        }
        for (k, v) in [
            (vars::JOBID, &ctx.job_id),
            (vars::PROJECT, &ctx.key.project),
            (vars::SERVER, &ctx.key.server),
            (vars::USER, &ctx.key.user),
        ] {
            env.insert(k.to_string(), v.clone());
        }
        env.insert(vars::JOB_DIR.into(), dir.display().to_string());
        Ok(Invocation {
            program,
            args,
            dir: dir.clone(),
            env,
            timeout_secs: (!unlimited).then(|| cfg.runner_timeout()),
            stdout: dir.join(jobfile::RUNNER_OUT),
            stderr: dir.join(jobfile::RUNNER_ERR),
        })
    }
}

/// This process's environment, as a runner inherits it from grund; variables whose name or
/// value is not UTF-8 are left out (the original could not pass them either).
pub fn process_env() -> BTreeMap<String, String> {
    std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .collect()
}

/// How a runner call ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Exited(i32),
    Signaled(i32),
    TimedOut(u64),
    SpawnFailed(String),
    /// grund was interrupted and the record of the ending is gone: the runner may have run.
    Unknown(String),
}

impl Outcome {
    pub fn success(&self) -> bool {
        *self == Outcome::Exited(0)
    }

    /// Text for `job.error`, or `None` on success.
    pub fn error_text(&self, word: &str) -> Option<String> {
        match self {
            Outcome::Exited(0) => None,
            Outcome::Exited(c) => Some(format!("runner `{word}` exited with status {c}; see job.grunter.err")),
            Outcome::Signaled(s) => Some(format!("runner `{word}` was killed by signal {s}")),
            Outcome::TimedOut(t) => Some(format!(
                "runner `{word}` did not finish within {t} s and was killed with its process group; raise [runner] timeout in grunt.toml if it needs longer"
            )),
            Outcome::SpawnFailed(e) => Some(format!("runner `{word}` could not be started: {e}")),
            Outcome::Unknown(why) => Some(format!("runner `{word}`: {why}")),
        }
    }

    /// The one-line record of the ending (grund's supervisor writes it durably).
    pub fn encode(&self) -> String {
        match self {
            Outcome::Exited(c) => format!("exit {c}\n"),
            Outcome::Signaled(s) => format!("signal {s}\n"),
            Outcome::TimedOut(t) => format!("timeout {t}\n"),
            Outcome::SpawnFailed(e) => format!("spawn-error {}\n", e.replace('\n', " ")),
            Outcome::Unknown(e) => format!("unknown {}\n", e.replace('\n', " ")),
        }
    }

    /// Reads back what [`Outcome::encode`] wrote.
    pub fn decode(text: &str) -> Option<Outcome> {
        let (kind, rest) = text.trim().split_once(' ')?;
        Some(match kind {
            "exit" => Outcome::Exited(rest.parse().ok()?),
            "signal" => Outcome::Signaled(rest.parse().ok()?),
            "timeout" => Outcome::TimedOut(rest.parse().ok()?),
            "spawn-error" => Outcome::SpawnFailed(rest.to_string()),
            "unknown" => Outcome::Unknown(rest.to_string()),
            _ => return None,
        })
    }
}

/// Runs an invocation in its own process group and waits, killing the group at the deadline.
pub fn run(inv: &Invocation) -> Outcome {
    let open = |p: &Path| File::create(p).map_err(|e| format!("{}: {e}", p.display()));
    let (out, err) = match (open(&inv.stdout), open(&inv.stderr)) {
        (Ok(o), Ok(e)) => (o, e),
        (Err(e), _) | (_, Err(e)) => return Outcome::SpawnFailed(e),
    };
    let mut child = match spawn(inv, &out, &err) {
        Ok(c) => c,
        Err(e) => return Outcome::SpawnFailed(format!("{}: {e}", inv.program.display())),
    };
    // A child's pid is never 0; if it were, there would be no group to kill.
    let pgid = rustix::process::Pid::from_raw(child.id() as i32);
    let ended = |status: std::process::ExitStatus| {
        use std::os::unix::process::ExitStatusExt;
        match (status.code(), status.signal()) {
            (Some(c), _) => Outcome::Exited(c),
            (None, Some(s)) => Outcome::Signaled(s),
            _ => Outcome::Exited(-1),
        }
    };
    let Some(limit) = inv.timeout_secs else {
        // No time limit: the runner's own life bounds the wait.
        return match child.wait() {
            Ok(status) => ended(status),
            Err(e) => Outcome::Unknown(format!("waiting for it failed: {e}")),
        };
    };
    // Waited for on a thread, so the ending is seen at once (a polling sleep cost ~5 ms of
    // every call); the thread reaps the child in any case, also after a kill below.
    let (tx, rx) = std::sync::mpsc::channel();
    let waiter = std::thread::Builder::new()
        .name("runner-wait".into())
        .spawn(move || {
            let _ = tx.send(child.wait());
        });
    if let Err(e) = waiter {
        return Outcome::Unknown(format!("waiting for it failed: {e}"));
    }
    match rx.recv_timeout(Duration::from_secs(limit)) {
        Ok(Ok(status)) => return ended(status),
        Ok(Err(e)) => return Outcome::Unknown(format!("waiting for it failed: {e}")),
        Err(_) => {}
    }
    // Time is up: TERM the whole group, give it a grace period, then KILL whatever is left
    // (members that ignore TERM outlive the leader).
    let kill = |sig| {
        if let Some(pgid) = pgid {
            let _ = rustix::process::kill_process_group(pgid, sig);
        }
    };
    kill(rustix::process::Signal::TERM);
    let grace_end = Instant::now() + KILL_GRACE;
    // The leader is reaped by the waiter thread as soon as it ends.
    let _ = rx.recv_timeout(KILL_GRACE);
    while Instant::now() < grace_end && group_alive(pgid) {
        std::thread::sleep(Duration::from_millis(10));
    }
    kill(rustix::process::Signal::KILL);
    let _ = rx.recv_timeout(KILL_GRACE);
    Outcome::TimedOut(limit)
}

/// How long a runner whose file is busy (just written, see [`retry_busy`]) is tried again.
pub const BUSY_RETRY: Duration = Duration::from_secs(2);

/// Starts the runner in its own process group, trying again for a moment when its file is
/// busy.
fn spawn(inv: &Invocation, out: &File, err: &File) -> std::io::Result<std::process::Child> {
    retry_busy(BUSY_RETRY, || {
        Command::new(&inv.program)
            .args(&inv.args)
            .current_dir(&inv.dir)
            .env_clear()
            .envs(&inv.env)
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(err.try_clone()?)
            .process_group(0)
            .spawn()
    })
}

/// Runs `attempt` again, with a pause growing from 1 to 50 ms, while it fails with ETXTBSY
/// ("text file busy") and `limit` has not passed. Exec refuses a file someone has open for
/// writing: a runner just written into the job directory, while another thread of the same
/// process forks (the child holds the writer's descriptor until it execs).
pub fn retry_busy<T>(
    limit: Duration,
    mut attempt: impl FnMut() -> std::io::Result<T>,
) -> std::io::Result<T> {
    let deadline = Instant::now() + limit;
    let mut pause = Duration::from_millis(1);
    loop {
        match attempt() {
            Err(e) if is_busy(&e) && Instant::now() < deadline => {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(50));
            }
            r => return r,
        }
    }
}

fn is_busy(e: &std::io::Error) -> bool {
    e.raw_os_error() == Some(rustix::io::Errno::TXTBSY.raw_os_error())
}

/// Is any process of the group still there (zombies of our own child count until reaped)?
fn group_alive(pgid: Option<rustix::process::Pid>) -> bool {
    pgid.is_some_and(|p| rustix::process::test_kill_process_group(p).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(dir: &Path) -> JobContext {
        JobContext {
            job_id: "ore000001".into(),
            key: ProjectKey::new("clust", "ore", "sim"),
            job_dir: dir.to_path_buf(),
        }
    }

    #[test]
    fn finds_runner_in_order_and_sets_env() {
        let d = tempfile::tempdir().unwrap();
        let cfg = ProjectConfig::parse(
            "[runner]\ncommand = \"./r.sh\"\n[run]\ncommand = \"x\"",
            Path::new("g"),
        )
        .unwrap();
        let inv = Invocation::new(&ctx(d.path()), "submit", &cfg, &process_env()).unwrap();
        assert_eq!(inv.program, Path::new("sh"));
        assert_eq!(inv.env["GRUNT_RUN_COMMAND"], "x");
        assert_eq!(inv.env["GRUNT_JOBID"], "ore000001");
        std::fs::write(d.path().join("grunter.py"), "").unwrap();
        let inv = Invocation::new(&ctx(d.path()), "submit", &cfg, &process_env()).unwrap();
        assert_eq!(inv.args, ["grunter.py", "submit"]);
        std::fs::write(d.path().join("grunter"), "").unwrap();
        let inv = Invocation::new(&ctx(d.path()), "status", &cfg, &process_env()).unwrap();
        assert_eq!(inv.program, d.path().join("grunter"));
        let none = tempfile::tempdir().unwrap();
        let e = Invocation::new(
            &ctx(none.path()),
            "submit",
            &ProjectConfig::default(),
            &process_env(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("grunter"), "{e}");
    }

    #[test]
    fn grunter_py_has_no_time_limit_unless_set_and_env_is_inherited_unless_clean() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("grunter.py"), "").unwrap();
        let inv = Invocation::new(
            &ctx(d.path()),
            "submit",
            &ProjectConfig::default(),
            &process_env(),
        )
        .unwrap();
        assert_eq!(inv.timeout_secs, None);
        // The test's own environment has PATH; grund's is inherited whole.
        assert!(inv.env.contains_key("PATH"));
        let cfg =
            ProjectConfig::parse("[runner]\ntimeout = 40\nclean_env = true\n", Path::new("g"))
                .unwrap();
        let inv = Invocation::new(&ctx(d.path()), "submit", &cfg, &process_env()).unwrap();
        assert_eq!(inv.timeout_secs, Some(40));
        assert!(inv
            .env
            .keys()
            .all(|k| PASSTHROUGH.contains(&k.as_str()) || k.starts_with("GRUNT_")));
        std::fs::write(d.path().join("grunter"), "").unwrap();
        let inv = Invocation::new(
            &ctx(d.path()),
            "submit",
            &ProjectConfig::default(),
            &process_env(),
        )
        .unwrap();
        assert_eq!(inv.timeout_secs, Some(config::DEFAULT_RUNNER_TIMEOUT_SECS));
    }

    #[test]
    fn run_reports_exit_and_kills_group_at_deadline() {
        let d = tempfile::tempdir().unwrap();
        let mk = |script: &str, timeout_secs| Invocation {
            program: "sh".into(),
            args: vec!["-c".into(), script.into()],
            dir: d.path().to_path_buf(),
            env: BTreeMap::from([("PATH".to_string(), std::env::var("PATH").unwrap())]),
            timeout_secs: Some(timeout_secs),
            stdout: d.path().join("o"),
            stderr: d.path().join("e"),
        };
        assert_eq!(run(&mk("echo hi; exit 3", 10)), Outcome::Exited(3));
        assert_eq!(std::fs::read_to_string(d.path().join("o")).unwrap(), "hi\n");
        let unlimited = Invocation {
            timeout_secs: None,
            ..mk("exit 4", 1)
        };
        assert_eq!(run(&unlimited), Outcome::Exited(4));
        // A child that ignores TERM in the background still dies with the group.
        let pidfile = d.path().join("pid");
        let script = format!(
            "(trap '' TERM; sleep 60) & echo $! > {}; wait",
            pidfile.display()
        );
        assert_eq!(run(&mk(&script, 1)), Outcome::TimedOut(1));
        let pid: i32 = std::fs::read_to_string(&pidfile)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        let pid = rustix::process::Pid::from_raw(pid).expect("a pid");
        let alive = || rustix::process::test_kill_process(pid).is_ok();
        while alive() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(!alive(), "grandchild survived the timeout");
        assert!(matches!(
            run(&Invocation {
                program: "/nonexistent".into(),
                ..mk("", 1)
            }),
            Outcome::SpawnFailed(_)
        ));
    }

    #[test]
    fn a_busy_runner_file_is_tried_again_for_a_while_and_other_errors_are_not() {
        let busy = || std::io::Error::from_raw_os_error(rustix::io::Errno::TXTBSY.raw_os_error());
        let mut tries = 0;
        let r = retry_busy(Duration::from_secs(10), || {
            tries += 1;
            if tries < 4 {
                Err(busy())
            } else {
                Ok(tries)
            }
        });
        assert_eq!(r.unwrap(), 4);
        let mut tries = 0;
        let r: std::io::Result<()> = retry_busy(Duration::from_secs(10), || {
            tries += 1;
            Err(std::io::Error::from(std::io::ErrorKind::NotFound))
        });
        assert!(r.is_err());
        assert_eq!(tries, 1, "only a busy file is tried again");
        let r: std::io::Result<()> = retry_busy(Duration::from_millis(30), || Err(busy()));
        assert!(is_busy(&r.unwrap_err()), "gives up after its limit");

        // What a file open for writing does to exec here is what is tried again.
        let d = tempfile::tempdir().unwrap();
        let script = d.path().join("r");
        let mut w = File::create(&script).unwrap();
        std::io::Write::write_all(&mut w, b"#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        let e = Command::new(&script).spawn().unwrap_err();
        assert!(is_busy(&e), "{e}");
    }

    #[test]
    fn outcome_encoding_round_trips() {
        for o in [
            Outcome::Exited(3),
            Outcome::Signaled(9),
            Outcome::TimedOut(300),
            Outcome::SpawnFailed("no such file".into()),
        ] {
            assert_eq!(Outcome::decode(&o.encode()), Some(o));
        }
    }
}
