//! `grunt doctor`: checks everything between this project and its server, one line per
//! check (`ok`, `note`, or `PROBLEM` with what to do): the local clones, ssh (how long a
//! login takes, ControlMaster), git, grunt and grund on both sides, grund's heartbeat and the
//! project's bare repos. A server on this machine (a path remote) gets the same checks
//! without ssh. Fails when any check does.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use grunt_core::git::{self, remote::Remote};
use grunt_core::heartbeat::{Heartbeat, STALE_AFTER_SECS};
use grunt_core::remote_server::{self, Probe, RepoState, Target, Tool};
use grunt_core::transport::ssh::{ControlMaster, Host};

use crate::context::Ctx;
use crate::ui;

#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Seconds each check over ssh may take before it counts as failed.
    #[arg(long, default_value_t = 30, value_name = "SECS")]
    pub timeout: u64,
}

/// The lines printed so far and how many were problems.
#[derive(Debug, Default)]
struct Report {
    problems: usize,
}

impl Report {
    fn ok(&mut self, check: &str, detail: impl AsRef<str>) -> Result<()> {
        Ok(ui::out(format!("ok       {check}: {}", detail.as_ref()))?)
    }

    fn note(&mut self, check: &str, detail: impl AsRef<str>) -> Result<()> {
        Ok(ui::out(format!("note     {check}: {}", detail.as_ref()))?)
    }

    fn problem(
        &mut self,
        check: &str,
        detail: impl AsRef<str>,
        fix: impl AsRef<str>,
    ) -> Result<()> {
        self.problems += 1;
        Ok(ui::out(format!(
            "PROBLEM  {check}: {} — {}",
            detail.as_ref(),
            fix.as_ref()
        ))?)
    }
}

pub fn run(a: Args) -> Result<()> {
    let mut r = Report::default();
    let timeout = Duration::from_secs(a.timeout.max(1));
    check(&mut r, timeout)?;
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
    let origin = match local_clones(r, &ctx)? {
        Some(o) => o,
        None => return Ok(()),
    };
    r.ok("grunt here", env!("CARGO_PKG_VERSION"))?;
    match origin {
        Remote::Url(url) => over_ssh(r, &ctx, &url, timeout),
        Remote::Local(path) => on_this_machine(r, &ctx, &path),
    }
}

/// Both clones open and share one server; returns the jobs repo's origin.
fn local_clones(r: &mut Report, ctx: &Ctx) -> Result<Option<Remote>> {
    let jobs = Remote::origin(&ctx.jobs);
    let results = git::open(&ctx.dirs.results()).and_then(|repo| Remote::origin(&repo));
    let fix = format!(
        "remove {} and run `grunt newproj {} <server>` again",
        ctx.dirs.base.display(),
        ctx.project
    );
    match (jobs, results) {
        (Ok(j), Ok(_)) => {
            r.ok(
                "local clones",
                format!(
                    "{}/{{jobs,results}} (server {}, origin {})",
                    ctx.dirs.base.display(),
                    ctx.server,
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

fn over_ssh(r: &mut Report, ctx: &Ctx, url: &str, timeout: Duration) -> Result<()> {
    let (host, path) = match Host::from_url(url) {
        Ok(x) => x,
        Err(e) => {
            return r.problem(
                "server URL",
                e.to_string(),
                "fix the origin URL of the jobs and results clones",
            )
        }
    };
    let dest = host.destination();
    let start = Instant::now();
    match host.run("true", timeout) {
        Ok(out) if out.success() => r.ok(
            "ssh",
            format!("{host} answers in {:.2} s", start.elapsed().as_secs_f64()),
        )?,
        Ok(out) => {
            return r.problem(
                "ssh",
                format!("`true` failed on {host}: {}", out.error_text()),
                format!("check the login scripts on {host} (`ssh {dest} true`)"),
            )
        }
        Err(e) => {
            return r.problem(
                "ssh",
                e.to_string(),
                "fix ssh first; the other checks need it",
            )
        }
    }
    match host.control_master(timeout) {
        Ok(ControlMaster::Running(s)) => r.ok("ssh ControlMaster", s)?,
        Ok(ControlMaster::NotConfigured) => r.note(
            "ssh ControlMaster",
            format!("not configured for {host}: every grunt command logs in anew (see docs/ssh.md for the recipe)"),
        )?,
        Ok(ControlMaster::NotRunning(s)) => r.note(
            "ssh ControlMaster",
            format!("configured but not running ({s}); the next ssh opens it"),
        )?,
        Err(e) => r.note("ssh ControlMaster", e.to_string())?,
    }
    let Some(target) = Target::from_repo_path(&path) else {
        return r.problem(
            "server repos",
            format!("the origin path {path} is not <root>/bb/<server>/<user>/<project>/jobs"),
            "grunt doctor only knows grunt's own layout",
        );
    };
    match remote_server::probe(&host, &target) {
        Ok(p) => {
            match &p.git {
                Some(v) => r.ok(&format!("git on {host}"), v)?,
                None => r.problem(
                    &format!("git on {host}"),
                    "not on the PATH of non-interactive ssh sessions",
                    format!("install git there, or set PATH in its ~/.bashrc before the `not interactive: return` line (check: ssh {dest} 'command -v git')"),
                )?,
            }
            server_checks(r, ctx, &p, &target, &host.to_string(), &dest)
        }
        Err(e) => r.problem(
            &format!("server {host}"),
            e.to_string(),
            "see the message; `ssh HOST` by hand shows the login",
        ),
    }
}

fn on_this_machine(r: &mut Report, ctx: &Ctx, path: &Path) -> Result<()> {
    let Some(target) = Target::from_repo_path(&path.to_string_lossy()) else {
        return r.problem(
            "server repos",
            format!(
                "the origin {} is not <root>/bb/<server>/<user>/<project>/jobs",
                path.display()
            ),
            "grunt doctor only knows grunt's own layout",
        );
    };
    r.ok("ssh", "not needed: the server is on this machine")?;
    match remote_server::probe_local(&target) {
        Ok(p) => server_checks(r, ctx, &p, &target, "this machine", ""),
        Err(e) => r.problem("server", e.to_string(), "see the message"),
    }
}

/// The checks both kinds of servers share. `dest` is the ssh destination for hints (empty on
/// this machine).
fn server_checks(
    r: &mut Report,
    ctx: &Ctx,
    p: &Probe,
    target: &Target,
    place: &str,
    dest: &str,
) -> Result<()> {
    let on = |cmd: &str| {
        if dest.is_empty() {
            format!("`{cmd}`")
        } else {
            format!("`ssh {dest} '{cmd}'`")
        }
    };
    let ours = env!("CARGO_PKG_VERSION");
    let path_of = if dest.is_empty() {
        "the PATH"
    } else {
        "the PATH of ssh sessions"
    };
    let describe = |t: &Tool| {
        let also = if t.version.contains(ours) {
            String::new()
        } else {
            format!("; differs from this client's {ours}")
        };
        format!("{} ({}){also}", t.version, t.path)
    };
    match &p.grunt {
        Some(t) => r.ok(&format!("grunt on {place}"), describe(t))?,
        None => r.note(
            &format!("grunt on {place}"),
            format!("not on {path_of} (only `grunt newproj` uses it there, and can do without)"),
        )?,
    }
    let hb = p.heartbeat.as_deref().and_then(Heartbeat::parse);
    match &p.grund {
        Some(t) => r.ok(&format!("grund on {place}"), describe(t))?,
        None => r.note(
            &format!("grund on {place}"),
            match hb.as_ref().and_then(|h| h.version.clone()) {
                Some(v) => {
                    format!("not on {path_of}; its heartbeat says version {v}")
                }
                None => format!("not on {path_of}"),
            },
        )?,
    }
    heartbeat(r, p, hb, target, place, !dest.is_empty(), &on)?;
    let base = p.bare_base(target);
    let states = [("jobs", p.jobs), ("results", p.results)];
    let bad: Vec<String> = states
        .iter()
        .filter(|(_, s)| *s != RepoState::Ready)
        .map(|(k, s)| match s {
            RepoState::Missing => format!("{base}/{k} is missing"),
            _ => format!("{base}/{k} has no commit"),
        })
        .collect();
    if bad.is_empty() {
        r.ok(
            "server repos",
            format!("{base}/{{jobs,results}} on {place}"),
        )
    } else {
        r.problem(
            "server repos",
            bad.join("; "),
            format!(
                "create the project on the server: {}",
                on(&format!(
                    "grunt newproj {} --server {}",
                    ctx.project, target.server
                ))
            ),
        )
    }
}

fn heartbeat(
    r: &mut Report,
    p: &Probe,
    hb: Option<Heartbeat>,
    target: &Target,
    place: &str,
    over_ssh: bool,
    on: &dyn Fn(&str) -> String,
) -> Result<()> {
    let file = format!("{}/grund.heartbeat", target.root);
    let start = format!(
        "start it: {}",
        on(&format!(
            "nohup grund --server {} >grund.log 2>&1 &",
            target.server
        ))
    );
    let Some(text) = &p.heartbeat else {
        return r.problem(
            "grund",
            format!("has never run on {place} (no {file})"),
            start,
        );
    };
    let Some(hb) = hb else {
        return r.problem(
            "grund",
            format!("unreadable heartbeat {file}: {:?}", text.trim()),
            start,
        );
    };
    let age = hb.age_secs(chrono::Utc::now());
    let pid = hb
        .pid
        .map(|p| format!("pid {p}"))
        .unwrap_or_else(|| "no pid".into());
    if age > STALE_AFTER_SECS {
        return r.problem(
            "grund",
            format!("looks dead: its last heartbeat is {age} s old ({pid})"),
            start,
        );
    }
    match p.grund_process.as_deref() {
        None if over_ssh => r.problem(
            "grund",
            format!(
                "not running: {pid} of its heartbeat ({age} s old) is gone on {place} (or runs on another login node)"
            ),
            format!("{start}; if it runs on another login node, pin one with HostName in ~/.ssh/config"),
        ),
        None => r.problem(
            "grund",
            format!("not running: {pid} of its heartbeat ({age} s old) is gone"),
            start,
        ),
        Some(c) if c != "running" && !c.contains("grund") => r.problem(
            "grund",
            format!("not running: {pid} of its heartbeat is now `{c}`"),
            start,
        ),
        Some(_) => r.ok(
            "grund",
            format!("alive on {place} ({pid}, heartbeat {age} s ago)"),
        ),
    }
}
