//! The daemon loop: take the lock, then over and over process every project of this server
//! and user, write the heartbeat, and wait for a ref change or the poll timer.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use grunt_core::layout::ServerLayout;
use grunt_core::ledger::Ledger;
use grunt_core::name;

use crate::exec::Project;
use crate::workdir::WorkDir;
use crate::{cycle, heartbeat, lock, refresh, watch};

/// How grund runs.
#[derive(Debug, Clone)]
pub struct Options {
    pub layout: ServerLayout,
    pub server: String,
    pub user: String,
    /// Poll interval, also the longest time between heartbeats.
    pub poll: Duration,
    /// Process what is pending and exit.
    pub once: bool,
    /// How often active jobs' states are refreshed (one runner call per project).
    pub refresh: Duration,
    /// Command that starts a runner supervisor: grund's binary and its hidden subcommand.
    pub supervisor: Vec<OsString>,
}

/// Runs the daemon until killed (or, with `once`, until nothing is pending).
pub fn run(opts: &Options) -> Result<()> {
    let lock = lock::acquire(&opts.layout.lock_file())?;
    let user_dir = opts.layout.bare_user_dir(&opts.server, &opts.user);
    log::info!(
        "grund {} (pid {}) serving {} (lock {})",
        env!("CARGO_PKG_VERSION"),
        std::process::id(),
        user_dir.display(),
        lock.path.display()
    );
    let mut watcher = (!opts.once).then(|| watch::Watcher::new(&user_dir));
    let mut last_refresh: Option<std::time::Instant> = None;
    // Bounded by the process's life: a daemon runs until it is stopped.
    loop {
        lock.check()?;
        heartbeat::write(&opts.layout.heartbeat_file()).context("writing heartbeat")?;
        let projects = project_names(&user_dir);
        if let Some(w) = watcher.as_mut() {
            w.watch_projects(&projects);
        }
        tick(opts, &projects);
        if last_refresh.is_none_or(|t| t.elapsed() >= opts.refresh) {
            refresh_all(opts, &projects);
            last_refresh = Some(std::time::Instant::now());
        }
        let Some(w) = watcher.as_ref() else {
            return Ok(());
        };
        let until_refresh =
            last_refresh.map_or(Duration::ZERO, |t| opts.refresh.saturating_sub(t.elapsed()));
        w.wait(opts.poll.min(until_refresh.max(Duration::from_millis(100))));
    }
}

/// One pass over `projects`. A project's error is logged and never stops the others.
pub fn tick(opts: &Options, projects: &[String]) {
    for name in projects {
        match project(opts, name).and_then(|p| Ok(cycle::process(&p)?)) {
            Ok(r) if r.commands > 0 => log::info!(
                "{name}: ran {} command(s), done up to {:?}",
                r.commands,
                r.head
            ),
            Ok(_) => {}
            Err(e) => log::error!("{name}: {e:#}"),
        }
    }
}

/// Refreshes the active jobs of every project; errors are logged.
pub fn refresh_all(opts: &Options, projects: &[String]) {
    for name in projects {
        match project(opts, name).and_then(|p| Ok(refresh::refresh(&p)?)) {
            Ok(r) if r.committed => log::info!("{name}: refreshed {} active job(s)", r.jobs),
            Ok(_) => {}
            Err(e) => log::error!("{name}: refresh: {e:#}"),
        }
    }
}

fn project(opts: &Options, name: &str) -> Result<Project> {
    let work = opts.layout.work(&opts.server, &opts.user, name);
    std::fs::create_dir_all(work.jobs())
        .with_context(|| format!("creating {}", work.jobs().display()))?;
    Ok(Project {
        name: name.to_string(),
        server: opts.server.clone(),
        user: opts.user.clone(),
        layout: opts.layout.clone(),
        work: WorkDir { root: work.jobs() },
        ledger: Ledger::open(
            &opts.layout.state_dir(&opts.server, &opts.user, name),
            &opts.layout.last_done_file(&opts.server, &opts.user, name),
        )?,
        supervisor: opts.supervisor.clone(),
    })
}

/// Projects with both bare repos under `bb/<server>/<user>/`, sorted.
pub fn project_names(user_dir: &std::path::Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(user_dir) else {
        return Vec::new();
    };
    let mut out: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let n = e.file_name().to_string_lossy().into_owned();
            let p: PathBuf = e.path();
            (name::check("project", &n).is_ok()
                && p.join("jobs").is_dir()
                && p.join("results").is_dir())
            .then_some(n)
        })
        .collect();
    out.sort();
    out
}

/// `grund reset`: marks everything pending in every project as done without running it (the
/// original's `restart`/`reset`, for a backlog that should not run).
pub fn reset(opts: &Options) -> Result<()> {
    let _lock = lock::acquire(&opts.layout.lock_file())?;
    let user_dir = opts.layout.bare_user_dir(&opts.server, &opts.user);
    for name in project_names(&user_dir) {
        let p = project(opts, &name)?;
        let repo =
            grunt_core::git::open(&opts.layout.bare(&opts.server, &opts.user, &name).jobs())?;
        if let Some(head) = grunt_core::git::head(&repo)? {
            p.ledger.set_last_done(head, &[])?;
            println!("{name}: last_commit_done.sha reset to {head}");
        }
    }
    Ok(())
}
