//! Runs the grunt CLI itself (the binary serving the page) for every read and action, so the
//! page goes through exactly the client's code paths: the same id resolution, the same
//! `grcmd.<word>` pushes (and so the same exactly-once guarantee), the same `--wait` for
//! grund's answer. One command at a time: they share the project's local clones.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokio::sync::Mutex;

/// What one CLI run said.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub ok: bool,
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// The CLI, run in the project directory.
#[derive(Debug)]
pub struct Cli {
    pub program: PathBuf,
    pub project: PathBuf,
    lock: Mutex<()>,
}

/// Longer than any `--wait` the page asks for; a hung command is killed after it.
const LIMIT: Duration = Duration::from_secs(180);

impl Cli {
    pub fn new(program: PathBuf, project: PathBuf) -> Cli {
        Cli {
            program,
            project,
            lock: Mutex::new(()),
        }
    }

    /// `grunt ARGS` in the project, with colours off; waits its turn. The command runs to its
    /// end even if the request that asked for it goes away (a closed tab does not cut a push).
    pub async fn run(self: &Arc<Self>, args: &[String]) -> Outcome {
        let me = Arc::clone(self);
        let owned = args.to_vec();
        match tokio::spawn(async move { me.run_here(&owned).await }).await {
            Ok(out) => out,
            Err(e) => failed(format!("grunt {}: {e}", args.join(" "))),
        }
    }

    async fn run_here(&self, args: &[String]) -> Outcome {
        let _turn = self.lock.lock().await;
        let child = tokio::process::Command::new(&self.program)
            .arg("--color=never")
            .args(args)
            .current_dir(&self.project)
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn();
        let child = match child {
            Ok(c) => c,
            Err(e) => return failed(format!("cannot run {}: {e}", self.program.display())),
        };
        match tokio::time::timeout(LIMIT, child.wait_with_output()).await {
            Ok(Ok(out)) => Outcome {
                ok: out.status.success(),
                code: out.status.code().unwrap_or(-1),
                stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
                stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            },
            Ok(Err(e)) => failed(format!("grunt {}: {e}", args.join(" "))),
            Err(_) => failed(format!(
                "grunt {} took more than {}s and was stopped",
                args.join(" "),
                LIMIT.as_secs()
            )),
        }
    }
}

fn failed(msg: String) -> Outcome {
    Outcome {
        ok: false,
        code: -1,
        stdout: String::new(),
        stderr: msg,
    }
}
