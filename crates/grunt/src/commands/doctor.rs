//! `grunt doctor`: checks everything between this project and its server, one line per
//! check (`ok`, `note`, or `PROBLEM` with what to do): the local clones, ssh (how long a
//! login takes, ControlMaster), git, grunt and grund on both sides, grund's heartbeat and the
//! project's bare repos. A server on this machine (a path remote) gets the same checks
//! without ssh. Fails when any check does.

use std::time::{Duration, Instant};

use crate::remote_server::{Probe, RepoState, ServerRef, Tool};
use anyhow::{bail, Result};
use grunt_core::git::{self, remote::Remote};
use grunt_core::heartbeat::{Health, Heartbeat};
use grunt_ssh::{ControlMaster, Host};

use crate::context::Ctx;
use crate::ui;

#[derive(Debug, Clone, clap::Args)]
#[command(
    after_long_help = "Examples:\n  grunt doctor\n  grunt doctor --json | jq '.checks[] | select(.status == \"problem\")'"
)]
pub struct Args {
    /// Seconds each check over ssh may take before it counts as failed.
    #[arg(long, default_value_t = 30, value_name = "SECS")]
    pub timeout: u64,
    /// Print the checks as JSON (`{"ok", "problems", "checks": [{"status", "check", "detail", "fix"}]}`) at the end, instead of lines as they run.
    #[arg(long)]
    pub json: bool,
}

/// One check's outcome, as `--json` prints it.
#[derive(Debug, serde::Serialize)]
struct Check {
    /// `ok`, `note` or `problem`.
    status: &'static str,
    check: String,
    detail: String,
    /// What to do about a problem.
    fix: Option<String>,
}

/// The checks so far and how many were problems; printed as they come, or kept for `--json`.
#[derive(Debug, Default)]
struct Report {
    problems: usize,
    json: bool,
    checks: Vec<Check>,
}

impl Report {
    fn add(
        &mut self,
        status: &'static str,
        check: &str,
        detail: &str,
        fix: Option<&str>,
    ) -> Result<()> {
        if self.json {
            self.checks.push(Check {
                status,
                check: check.to_string(),
                detail: detail.to_string(),
                fix: fix.map(str::to_string),
            });
            return Ok(());
        }
        let line = match (status, fix) {
            ("problem", Some(fix)) => format!("PROBLEM  {check}: {detail} — {fix}"),
            ("problem", None) => format!("PROBLEM  {check}: {detail}"),
            (s, _) => format!("{s:<8} {check}: {detail}"),
        };
        // On a terminal, long lines wrap under the check, not under the status.
        let line = match crate::table::width() {
            Some(w) => crate::ui::wrap(&line, 9, usize::from(w).max(40))
                .trim_end()
                .to_string(),
            None => line,
        };
        Ok(ui::out(line)?)
    }

    fn ok(&mut self, check: &str, detail: impl AsRef<str>) -> Result<()> {
        self.add("ok", check, detail.as_ref(), None)
    }

    fn note(&mut self, check: &str, detail: impl AsRef<str>) -> Result<()> {
        self.add("note", check, detail.as_ref(), None)
    }

    fn problem(
        &mut self,
        check: &str,
        detail: impl AsRef<str>,
        fix: impl AsRef<str>,
    ) -> Result<()> {
        self.problems += 1;
        self.add("problem", check, detail.as_ref(), Some(fix.as_ref()))
    }
}

pub fn run(a: Args) -> Result<()> {
    let mut r = Report {
        json: a.json,
        ..Report::default()
    };
    let timeout = Duration::from_secs(a.timeout.max(1));
    check(&mut r, timeout)?;
    if r.json {
        ui::json(&serde_json::json!({
            "ok": r.problems == 0,
            "problems": r.problems,
            "checks": r.checks,
        }))?;
    }
    if r.problems > 0 {
        bail!("{} check(s) failed", r.problems);
    }
    Ok(())
}

fn check(r: &mut Report, timeout: Duration) -> Result<()> {
    let ctx = match Ctx::open() {
        Ok(c) => c,
        Err(e) => {
            return r.problem(
                "project",
                format!("{e:#}"),
                "run grunt doctor in a project directory that is set up",
            );
        }
    };
    let Some(origin) = local_clones(r, &ctx)? else {
        return Ok(());
    };
    r.ok("grunt here", env!("CARGO_PKG_VERSION"))?;
    let server = match ServerRef::of(&origin) {
        Ok(s) => s,
        Err(e) => {
            return r.problem(
                "server",
                e.to_string(),
                "fix the origin URL of the jobs and results clones",
            )
        }
    };
    match &server {
        ServerRef::Ssh { host, .. } => {
            if !ssh_checks(r, host, timeout)? {
                return Ok(());
            }
        }
        ServerRef::Local { .. } => r.ok("ssh", "not needed: the server is on this machine")?,
    }
    let place = server.place();
    let probe = match server.probe() {
        Ok(p) => p,
        Err(e) => {
            return r.problem(
                &format!("server {place}"),
                e.to_string(),
                "see the message; on the server, `ls gruntsrv` shows what is there",
            )
        }
    };
    server_checks(r, &ctx, &probe, &server)
}

/// Both clones open and share one server; returns the jobs repo's origin.
fn local_clones(r: &mut Report, ctx: &Ctx) -> Result<Option<Remote>> {
    let jobs = Remote::origin(&ctx.jobs);
    let results = git::open(&ctx.dirs.results()).and_then(|repo| Remote::origin(&repo));
    let fix = format!(
        "remove {} and run `grunt newproj {} <server>` again",
        ctx.dirs.base.display(),
        ctx.key.project
    );
    match (jobs, results) {
        (Ok(j), Ok(_)) => {
            r.ok(
                "local clones",
                format!(
                    "{}/{{jobs,results}} (server {}, origin {})",
                    ctx.dirs.base.display(),
                    ctx.key.server,
                    j.display()
                ),
            )?;
            Ok(Some(j))
        }
        (Err(e), _) | (_, Err(e)) => {
            r.problem("local clones", e.to_string(), fix)?;
            Ok(None)
        }
    }
}

/// Reachability (timed) and the ControlMaster; false when ssh does not work, as every other
/// check needs it.
fn ssh_checks(r: &mut Report, host: &Host, timeout: Duration) -> Result<bool> {
    let start = Instant::now();
    match host.run("true", timeout) {
        Ok(out) if out.success() => r.ok(
            "ssh",
            format!("{host} answers in {:.2} s", start.elapsed().as_secs_f64()),
        )?,
        Ok(out) => {
            r.problem(
                "ssh",
                format!("`true` failed on {host}: {}", out.error_text()),
                format!(
                    "check the login scripts there (`ssh {} true`)",
                    host.destination()
                ),
            )?;
            return Ok(false);
        }
        Err(e) => {
            r.problem(
                "ssh",
                e.to_string(),
                "fix ssh first; the other checks need it",
            )?;
            return Ok(false);
        }
    }
    let check = "ssh ControlMaster";
    match host.control_master(timeout) {
        Ok(ControlMaster::Running(s)) => r.ok(check, s)?,
        Ok(ControlMaster::NotConfigured) => r.note(
            check,
            format!(
                "not configured for {host}: every grunt command logs in anew (see docs/ssh.md for the recipe)"
            ),
        )?,
        Ok(ControlMaster::NotRunning(s)) => r.note(
            check,
            format!("configured but not running ({s}); the next ssh opens it"),
        )?,
        Err(e) => r.note(check, e.to_string())?,
    }
    Ok(true)
}

/// The checks both kinds of servers share: git, grunt and grund there, grund's heartbeat, the
/// project's bare repos.
fn server_checks(r: &mut Report, ctx: &Ctx, p: &Probe, server: &ServerRef) -> Result<()> {
    let place = server.place();
    let target = server.target();
    let over_ssh = matches!(server, ServerRef::Ssh { .. });
    let path_of = if over_ssh {
        "the PATH of ssh sessions"
    } else {
        "the PATH"
    };
    if over_ssh {
        // The ssh transport runs git-upload-pack and git-receive-pack there.
        match &p.git {
            Some(v) => r.ok(&format!("git on {place}"), v)?,
            None => r.problem(
                &format!("git on {place}"),
                format!("not on {path_of}"),
                format!(
                    "install git there, or set PATH in its ~/.bashrc before the `not interactive: return` line (check: {})",
                    server.hint("command -v git")
                ),
            )?,
        }
    }
    let ours = env!("CARGO_PKG_VERSION");
    let describe = |t: &Tool| {
        let also = if t.version.contains(ours) {
            String::new()
        } else {
            format!("; differs from this client's {ours}")
        };
        format!("{} ({}){also}", t.version, t.path)
    };
    match &p.grunt {
        Some(t) => r.ok(&format!("grunt program on {place}"), describe(t))?,
        None => r.note(
            &format!("grunt program on {place}"),
            format!("not on {path_of} (only `grunt newproj` uses it there, and can do without)"),
        )?,
    }
    match &p.grund {
        Some(t) => r.ok(&format!("grund program on {place}"), describe(t))?,
        None => r.note(
            &format!("grund program on {place}"),
            match p
                .heartbeat
                .as_deref()
                .and_then(Heartbeat::parse)
                .and_then(|h| h.version)
            {
                Some(v) => format!("not on {path_of}; its heartbeat says version {v}"),
                None => format!("not on {path_of}"),
            },
        )?,
    }
    daemon(r, p, server)?;
    let base = p.bare_base(target);
    let bad: Vec<String> = [("jobs", p.jobs), ("results", p.results)]
        .iter()
        .filter(|(_, s)| *s != RepoState::Ready)
        .map(|(k, s)| match s {
            RepoState::Missing => format!("{base}/{k} is missing"),
            _ => format!("{base}/{k} has no commit"),
        })
        .collect();
    if bad.is_empty() {
        return r.ok(
            "server repos",
            format!("{base}/{{jobs,results}} on {place}"),
        );
    }
    r.problem(
        "server repos",
        bad.join("; "),
        format!(
            "create the project on the server: {}",
            server.hint(&format!(
                "grunt newproj {} --server {}",
                ctx.key.project, target.server
            ))
        ),
    )
}

/// grund's heartbeat and whether its process runs.
fn daemon(r: &mut Report, p: &Probe, server: &ServerRef) -> Result<()> {
    let health = Health::judge(
        p.heartbeat.as_deref(),
        p.grund_process.as_deref(),
        chrono::Utc::now(),
    );
    let check = format!("grund on {}", server.place());
    if health.is_alive() {
        // What grund's workers wait on (its heartbeat's `busy:` lines), e.g. a long runner.
        let mut what = health.describe();
        for busy in p
            .heartbeat
            .as_deref()
            .unwrap_or("")
            .lines()
            .filter_map(|l| l.strip_prefix("busy: "))
        {
            what.push_str(&format!("; busy with {busy}"));
        }
        return r.ok(&check, what);
    }
    let target = server.target();
    let mut fix = format!(
        "start it: {}",
        server.hint(&format!(
            "nohup grund --server {} >grund.log 2>&1 &",
            target.server
        ))
    );
    if matches!(server, ServerRef::Ssh { .. }) && matches!(health, Health::Stopped { .. }) {
        fix.push_str(
            "; if it runs on another login node, pin that node with HostName in ~/.ssh/config",
        );
    }
    r.problem(
        &check,
        format!(
            "{}; heartbeat file {}/grund.heartbeat",
            health.describe(),
            target.root
        ),
        fix,
    )
}
