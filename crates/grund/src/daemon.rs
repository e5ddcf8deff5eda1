//! The daemon loop: take the lock, then over and over write the heartbeat, hand the projects
//! that need a pass to the worker [`pool`](crate::pool), and wait for a ref change or the poll
//! timer. Errors by scope: a job's error is written into the job (see [`crate::exec`]); a
//! project's error is logged and retried with backoff while the others go on; only failing to
//! take the lock (or to start at all) is fatal. `--once` exits non-zero when a project failed.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use crate::ledger::Ledger;
use anyhow::{bail, Context, Result};
use grunt_core::layout::{ProjectKey, ServerLayout, BRANCH_REF};
use grunt_core::name;

use crate::exec::Project;
use crate::pool::{Activity, Pool};
use crate::watch::Wake;
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
    /// Worker threads: how many projects are processed at the same time.
    pub workers: usize,
    /// The environment runners and notify commands inherit (before `[runner] clean_env` and
    /// the `GRUNT_*` variables): the `grund` binary passes its own; the library reads no
    /// process-wide state, so tests run grund in-process with a hermetic one.
    pub env: Arc<BTreeMap<String, String>>,
}

impl Options {
    /// The key of this user's project `name` on this server.
    pub fn key(&self, name: &str) -> ProjectKey {
        ProjectKey::new(&self.server, &self.user, name)
    }
}

/// Runs the daemon until killed (or, with `once`, until nothing is pending).
pub fn run(opts: &Options) -> Result<()> {
    run_until(opts, &AtomicBool::new(false))
}

/// [`run`], which also returns (releasing the lock, after the workers' current passes) once
/// `stop` is set: seen at the next wake-up, within one [`Options::poll`].
pub fn run_until(opts: &Options, stop: &AtomicBool) -> Result<()> {
    let lock = lock::acquire(&opts.layout.lock_file())?;
    let user_dir = opts.layout.bare_user_dir(&opts.server, &opts.user);
    log::info!(
        "grund {} (pid {}) serving {} (lock {}, {} workers)",
        env!("CARGO_PKG_VERSION"),
        std::process::id(),
        user_dir.display(),
        lock.path.display(),
        opts.workers.max(1),
    );
    let pool = start_pool(opts);
    let mut beat = Beat::default();
    if opts.once {
        let projects = project_names(&user_dir);
        beat.write(opts, &pool);
        pool.want(&projects, true, true);
        let failed = pool.wait_idle();
        beat.write(opts, &pool);
        if failed > 0 {
            bail!(
                "{failed} of {} project(s) failed; see the errors above",
                projects.len()
            );
        }
        return Ok(());
    }
    let mut watcher = watch::Watcher::new(&user_dir);
    let mut scan = Scan::default();
    let mut last_refresh: Option<Instant> = None;
    let mut wake = Wake::Timeout;
    // At once at the start (people and tests wait for it), then after each wake's work.
    beat.write(opts, &pool);
    // Bounded by the process's life or `stop`: a daemon runs until it is stopped.
    while !stop.load(Ordering::Relaxed) {
        lock.check()?;
        let unknown = match &wake {
            Wake::Changed(names) => names.iter().any(|n| !scan.projects.contains(n)),
            Wake::Timeout => false,
        };
        scan.update(&user_dir, unknown);
        let new = watcher.watch_projects(&scan.projects, &scan.partial);
        let refresh_due = last_refresh.is_none_or(|t| t.elapsed() >= opts.refresh);
        if refresh_due {
            last_refresh = Some(Instant::now());
            pool.want(&scan.projects, true, false);
        }
        match &wake {
            Wake::Changed(names) => {
                let named = names.iter().filter(|n| scan.projects.contains(*n));
                pool.want(named.chain(new.iter()), false, true);
            }
            // A refresh just asked for a pass over every project.
            Wake::Timeout if refresh_due => {}
            Wake::Timeout => {
                // The poll covers every project whose refs moved since its last good pass.
                let at = UserDir::open(&user_dir);
                let moved: Vec<String> = scan
                    .projects
                    .iter()
                    .filter(|n| {
                        let now = at
                            .as_ref()
                            .map_or_else(|| refs_print(opts, n), |d| d.print(n));
                        pool.seen(n) != Some(now)
                    })
                    .cloned()
                    .collect();
                pool.want(moved.iter().chain(new.iter()), false, false);
            }
        }
        let (retry, next_retry) = pool.due_retries();
        pool.want(&retry, false, false);
        // After the work is handed out: its two fsyncs delayed every push's answer.
        beat.write(opts, &pool);
        let until_refresh =
            last_refresh.map_or(Duration::ZERO, |t| opts.refresh.saturating_sub(t.elapsed()));
        let until_retry =
            next_retry.map_or(opts.poll, |t| t.saturating_duration_since(Instant::now()));
        let timeout = opts
            .poll
            .min(until_refresh)
            .min(until_retry)
            .max(Duration::from_millis(100));
        wake = watcher.wait(timeout);
    }
    Ok(())
}

/// The workers, each running [`pass`] on the projects it is handed.
fn start_pool(opts: &Options) -> Pool<RefsPrint> {
    let o = Arc::new(opts.clone());
    Pool::new(
        opts.workers,
        Box::new(move |name: &str, refresh: bool, activity: &Activity| {
            pass(&o, name, refresh, activity)
        }),
    )
}

/// One pass over one project: its pending commands, then a status refresh if asked. Returns
/// the fingerprint of its refs as they were when the pass began.
pub fn pass(opts: &Options, name: &str, refresh: bool, activity: &Activity) -> Result<RefsPrint> {
    log::debug!("{name}: pass{}", if refresh { " and refresh" } else { "" });
    let print = refs_print(opts, name);
    let p = project(opts, name, activity)?;
    match cycle::process(&p)? {
        r if r.commands > 0 => log::info!(
            "{name}: ran {} command(s), done up to {:?}",
            r.commands,
            r.head
        ),
        _ => {}
    }
    if refresh {
        activity.set(name, "status refresh (runner batch-status)");
        match refresh::refresh(&p) {
            Ok(r) if r.committed => log::info!("{name}: refreshed {} active job(s)", r.jobs),
            Ok(_) => {}
            Err(e) => log::error!("{name}: refresh: {e:#}"),
        }
    }
    // After the refresh, which may have learnt that jobs ended: held jobs, then retries.
    if let Err(e) = crate::hold::after_pass(&p) {
        log::error!("{name}: held jobs and retries: {e:#}");
    }
    Ok(print)
}

/// What a project's jobs refs look like on disk (device, inode, size, mtime of the branch's
/// ref file, or of `packed-refs` when the ref is packed): a poll passes over a project only
/// when it changed, so an idle poll costs one `stat` per project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefsPrint([Option<FileStamp>; 2]);

/// Device, inode, size, mtime seconds and nanoseconds of one file.
type FileStamp = (u64, u64, u64, i64, i64);

pub fn refs_print(opts: &Options, name: &str) -> RefsPrint {
    let jobs = opts.layout.bare(&opts.key(name)).jobs();
    let stat = |p: PathBuf| {
        p.symlink_metadata()
            .ok()
            .map(|m| (m.dev(), m.ino(), m.size(), m.mtime(), m.mtime_nsec()))
    };
    // A loose ref wins over packed-refs, so while it exists one stat is enough; when it goes
    // (packed), its absence changes the print and packed-refs is looked at.
    match stat(jobs.join(BRANCH_REF)) {
        Some(loose) => RefsPrint([Some(loose), None]),
        None => RefsPrint([None, stat(jobs.join("packed-refs"))]),
    }
}

/// The user's directory, open, to stat each project's refs with a short lookup relative to
/// it: what an idle poll costs at 1,000 projects is mostly these lookups.
struct UserDir(std::os::fd::OwnedFd);

impl UserDir {
    fn open(dir: &Path) -> Option<UserDir> {
        use rustix::fs::{Mode, OFlags};
        rustix::fs::open(
            dir,
            OFlags::DIRECTORY | OFlags::PATH | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .ok()
        .map(UserDir)
    }

    /// The same print as [`refs_print`], for project `name`.
    fn print(&self, name: &str) -> RefsPrint {
        let stat = |rel: &str| -> Option<FileStamp> {
            // Does not follow a final link.
            let st = rustix::fs::statat(
                &self.0,
                format!("{name}/{rel}"),
                rustix::fs::AtFlags::SYMLINK_NOFOLLOW,
            )
            .ok()?;
            Some((
                st.st_dev,
                st.st_ino,
                st.st_size as u64,
                st.st_mtime,
                st.st_mtime_nsec as i64,
            ))
        };
        match stat(&format!("jobs/{BRANCH_REF}")) {
            Some(loose) => RefsPrint([Some(loose), None]),
            None => RefsPrint([None, stat("jobs/packed-refs")]),
        }
    }
}

/// The heartbeat, written every loop; a failure (a full disk) is logged once and retried on
/// the next loop, never fatal.
#[derive(Debug, Default)]
struct Beat {
    failing: bool,
}

impl Beat {
    fn write(&mut self, opts: &Options, pool: &Pool<RefsPrint>) {
        let busy = pool.activity().snapshot();
        match heartbeat::write(&opts.layout.heartbeat_file(), &busy) {
            Ok(()) if self.failing => {
                log::info!("heartbeat written again");
                self.failing = false;
            }
            Ok(()) => {}
            Err(e) if !self.failing => {
                log::error!("writing heartbeat: {e} (going on; retried every loop)");
                self.failing = true;
            }
            Err(_) => {}
        }
    }
}

/// The projects under `bb/<server>/<user>/`, rescanned only when the directory changes or an
/// event names a project not known yet; `partial` are directories that are not yet projects
/// (a project being created: its `jobs/` and `results/` come after it).
#[derive(Debug, Default)]
struct Scan {
    mtime: Option<SystemTime>,
    projects: Vec<String>,
    partial: Vec<String>,
}

impl Scan {
    fn update(&mut self, user_dir: &Path, force: bool) {
        let mtime = user_dir.metadata().and_then(|m| m.modified()).ok();
        if force || mtime != self.mtime || self.mtime.is_none() || !self.partial.is_empty() {
            self.mtime = mtime;
            (self.projects, self.partial) = scan_projects(user_dir);
        }
    }
}

/// Projects with both bare repos under `bb/<server>/<user>/`, sorted.
pub fn project_names(user_dir: &Path) -> Vec<String> {
    scan_projects(user_dir).0
}

/// Projects (both bare repos there) and directories with a project's name that lack them.
fn scan_projects(user_dir: &Path) -> (Vec<String>, Vec<String>) {
    let Ok(entries) = std::fs::read_dir(user_dir) else {
        return (Vec::new(), Vec::new());
    };
    let mut projects = Vec::new();
    let mut partial = Vec::new();
    for e in entries.filter_map(|e| e.ok()) {
        let n = e.file_name().to_string_lossy().into_owned();
        let p: PathBuf = e.path();
        if name::check("project", &n).is_err() || !p.is_dir() {
            continue;
        }
        if p.join("jobs").is_dir() && p.join("results").is_dir() {
            projects.push(n);
        } else {
            partial.push(n);
        }
    }
    projects.sort();
    partial.sort();
    (projects, partial)
}

fn project(opts: &Options, name: &str, activity: &Activity) -> Result<Project> {
    let work = opts.layout.work(&opts.key(name));
    std::fs::create_dir_all(work.jobs())
        .with_context(|| format!("creating {}", work.jobs().display()))?;
    Ok(Project {
        key: opts.key(name),
        layout: opts.layout.clone(),
        work: WorkDir { root: work.jobs() },
        ledger: Ledger::open(
            &opts.layout.state_dir(&opts.key(name)),
            &opts.layout.last_done_file(&opts.key(name)),
        )?,
        supervisor: opts.supervisor.clone(),
        activity: activity.clone(),
        env: Arc::clone(&opts.env),
    })
}

/// `grund reset`: marks everything pending in every project as done without running it (the
/// original's `restart`/`reset`, for a backlog that should not run).
pub fn reset(opts: &Options) -> Result<()> {
    let _lock = lock::acquire(&opts.layout.lock_file())?;
    let user_dir = opts.layout.bare_user_dir(&opts.server, &opts.user);
    for name in project_names(&user_dir) {
        let p = project(opts, &name, &Activity::default())?;
        let repo = grunt_core::git::open(&opts.layout.bare(&opts.key(&name)).jobs())?;
        if let Some(head) = grunt_core::git::head(&repo)? {
            p.ledger.set_last_done(head, &[])?;
            println!("{name}: last_commit_done.sha reset to {head}");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_polls_print_is_the_passes_and_moves_with_the_ref() {
        let d = tempfile::tempdir().unwrap();
        let layout = ServerLayout::from_home(d.path());
        let opts = Options {
            layout: layout.clone(),
            server: "clust".into(),
            user: "ore".into(),
            poll: Duration::from_secs(1),
            once: true,
            refresh: Duration::from_secs(60),
            supervisor: Vec::new(),
            workers: 1,
            env: Arc::default(),
        };
        let jobs = layout
            .bare(&grunt_core::layout::ProjectKey::new("clust", "ore", "sim"))
            .jobs();
        let user_dir = layout.bare_user_dir("clust", "ore");
        std::fs::create_dir_all(jobs.join("refs/heads")).unwrap();
        std::fs::write(jobs.join("packed-refs"), "x").unwrap();
        let at = UserDir::open(&user_dir).unwrap();
        let packed = refs_print(&opts, "sim");
        assert_eq!(at.print("sim"), packed);
        std::fs::write(jobs.join(BRANCH_REF), "a").unwrap();
        let loose = refs_print(&opts, "sim");
        assert_ne!(loose, packed);
        assert_eq!(at.print("sim"), loose);
        std::fs::write(jobs.join("new"), "bb").unwrap();
        std::fs::rename(jobs.join("new"), jobs.join(BRANCH_REF)).unwrap();
        assert_ne!(refs_print(&opts, "sim"), loose);
        assert_eq!(at.print("sim"), refs_print(&opts, "sim"));
    }
}
