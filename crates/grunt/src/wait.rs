//! `--wait[=SECS]`: after pushing a command, wait until grund has answered that commit (grund
//! records in `grund_status.txt` the last client commit it has processed) and the answer is
//! pulled; fail clearly at the deadline (exit 3), saying whether grund looks alive.
//!
//! The server is asked ONCE: `grunt await` runs there over the same ssh connection, watches the
//! bare jobs repo until grund has answered, and sends the answer back with its objects (see
//! `grunt_core::protocol::answer`), so no fetch follows. The server's `grunt` is `grunt` on
//! the PATH of its non-interactive ssh sessions, or the program `GRUNT_REMOTE_GRUNT` names.
//! A server without it (or with an older one) is polled instead, with backoff (0.1 s doubling
//! to 2 s). A server on this machine (a path remote) is watched in-process. A spinner shows on a
//! terminal, and Ctrl-C says that the request is already pushed and how to check on it.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Once;
use std::time::{Duration, Instant};

use crate::remote_server;
use anyhow::Result;
use git2::Oid;
use grunt_core::git::remote::{Remote, TRACKING_REF};
use grunt_core::git::{self, sync, tree};
use grunt_core::heartbeat::Health;
use grunt_core::protocol::answer::{self, Reply, Request};
use grunt_core::protocol::status_file::{self, GrundStatus};
use grunt_ssh::Host;

use crate::context::Ctx;
use crate::error::{CommandError, Kind};

/// Default deadline of `--wait` without a value.
pub const DEFAULT_SECS: u64 = 60;

/// The longest pause between two looks at the server.
const MAX_PAUSE: Duration = Duration::from_secs(2);

/// The environment variable naming the server's `grunt` for `grunt await` (default `grunt`).
pub const REMOTE_GRUNT_VAR: &str = grunt_core::protocol::receive::REMOTE_GRUNT_VAR;

/// Time the server's `grunt await` gets beyond the deadline to pack and send the answer.
const SEND_GRACE: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, clap::Args)]
pub struct WaitArg {
    /// Wait until grund has answered (and the answer is pulled), at most SECS seconds
    /// (default 60). Write `--wait=SECS`: a bare number after `--wait` is a job.
    #[arg(long, value_name = "SECS", num_args = 0..=1, require_equals = true, default_missing_value = "60")]
    pub wait: Option<u64>,
}

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Ctrl-C while waiting ends the wait, not the process in the middle of a git write. Also
/// taken before a push that waits on the server (see `Ctx::push_wait`), so that Ctrl-C there
/// ends only ssh, and the push that was done is still recorded and said.
pub fn catch_interrupt() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let handler = || {
            INTERRUPTED.store(true, Ordering::SeqCst);
            // A wait on the server's side ends too (its ssh may not end on Ctrl-C).
            grunt_ssh::stop_waiting();
        };
        if let Err(e) = ctrlc::set_handler(handler) {
            log::debug!("no Ctrl-C handler: {e}");
        }
    });
}

/// A spinner on stderr when it is a terminal.
fn spinner(what: &str) -> indicatif::ProgressBar {
    use std::io::IsTerminal;
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let pb = indicatif::ProgressBar::new_spinner();
    pb.set_message(what.to_string());
    pb.enable_steady_tick(Duration::from_millis(120));
    pb
}

/// Waits for grund's answer to `commit` (what the command pushed), at most `secs` seconds.
/// `what` says what is waited for (`status of ore000003`).
pub fn wait_for(ctx: &Ctx, commit: Oid, secs: u64) -> Result<()> {
    wait_for_what(ctx, commit, secs, "grund's answer")
}

/// [`wait_for`], saying on the spinner what is waited for.
pub fn wait_for_what(ctx: &Ctx, commit: Oid, secs: u64, what: &str) -> Result<()> {
    catch_interrupt();
    let deadline = Instant::now() + Duration::from_secs(secs);
    let pb = spinner(&format!(
        "waiting for {what} from grund on {}",
        ctx.key.server
    ));
    let asked = match came_with_push(ctx, commit) {
        Some(r) => r,
        // Ctrl-C during a push that waited: the push is done, the wait is over.
        None if INTERRUPTED.load(Ordering::SeqCst) => Ok(None),
        None => ask_server(ctx, commit, secs),
    };
    let result = match asked {
        _ if INTERRUPTED.load(Ordering::SeqCst) => Err(interrupted(ctx, commit)),
        Ok(Some(true)) => Ok(()),
        Ok(Some(false)) => Err(not_answered(ctx, commit, secs)),
        Ok(None) => poll(ctx, commit, secs, deadline, what, &pb),
        Err(e) => Err(e),
    };
    pb.finish_and_clear();
    result
}

/// grund's answer to `commit` if it came back with the push (see `Ctx::wait_after_push`),
/// taken into the clones: `Some(answered)`.
fn came_with_push(ctx: &Ctx, commit: Oid) -> Option<Result<Option<bool>>> {
    let (pushed, reply) = ctx.answer.borrow_mut().take()?;
    if pushed != commit {
        return None;
    }
    Some((|| {
        let results = git::open(&ctx.dirs.results())?;
        take_in(ctx, &results, &reply)?;
        Ok(Some(reply.answered))
    })())
}

/// Waits on the server's side: `Some(answered)` with the answer taken in, `None` when the
/// server cannot wait for us (no `grunt` there): then the caller polls.
fn ask_server(ctx: &Ctx, commit: Oid, secs: u64) -> Result<Option<bool>> {
    match Remote::origin(&ctx.jobs)? {
        Remote::Local(path) => {
            let bare = git::open(&path)?;
            let deadline = Instant::now() + Duration::from_secs(secs);
            let mut pause = ref_pause(&path);
            let answered = answer::wait_answered(&bare, commit, deadline, &mut |d| {
                pause(d);
                !INTERRUPTED.load(Ordering::SeqCst)
            })?;
            ctx.pull_jobs()?;
            ctx.pull_results()?;
            Ok(Some(answered))
        }
        Remote::Url(url) => {
            let (host, path) = Host::from_url(&url)?;
            let Some(base) = path.strip_suffix("/jobs") else {
                return Ok(None);
            };
            let results = git::open(&ctx.dirs.results())?;
            let have = |r: &git2::Repository| git::ref_target(r, TRACKING_REF).ok().flatten();
            let req = Request {
                base: base.to_string(),
                commit,
                secs,
                have_jobs: [Some(commit), have(&ctx.jobs)]
                    .into_iter()
                    .flatten()
                    .collect(),
                have_results: have(&results).into_iter().collect(),
            };
            let program = std::env::var(REMOTE_GRUNT_VAR).unwrap_or_else(|_| "grunt".to_string());
            let timeout = Duration::from_secs(secs) + SEND_GRACE;
            let (code, out, err) = host.run_bytes(&req.command_line(&program), timeout)?;
            let reply = match Reply::read(&out) {
                Ok(r) => r,
                Err(e) => {
                    log::debug!(
                        "{program} {} on {host} (exit {code:?}): {e}; {}; polling instead",
                        answer::SUBCOMMAND,
                        err.trim()
                    );
                    return Ok(None);
                }
            };
            take_in(ctx, &results, &reply)?;
            Ok(Some(reply.answered))
        }
    }
}

/// Takes the server's answer into the clones; if that fails, pulls instead.
fn take_in(ctx: &Ctx, results: &git2::Repository, reply: &Reply) -> Result<()> {
    let adopted = (|| -> grunt_core::Result<()> {
        if let Some(u) = &reply.jobs {
            sync::adopt(&ctx.jobs, u.tip, &u.pack, false)?;
            ctx.note_pulled();
        }
        if let Some(u) = &reply.results {
            crate::context::move_results(results, |whole| {
                sync::adopt(results, u.tip, &u.pack, whole)
            })?;
        }
        Ok(())
    })();
    if let Err(e) = adopted {
        log::debug!("taking in the server's answer failed ({e}); pulling");
        ctx.pull_jobs()?;
        ctx.pull_results()?;
    }
    Ok(())
}

/// A pause that ends early when a bare repo's refs change (inotify; opens and reads are not
/// changes), else a short sleep.
pub fn ref_pause(bare: &Path) -> impl FnMut(Duration) {
    use notify::{RecursiveMode, Watcher as _};
    let (tx, rx) = std::sync::mpsc::channel();
    let watcher = notify::recommended_watcher(move |ev: notify::Result<notify::Event>| {
        // inotify reports every open (IN_OPEN) of a watched file: our own look at the ref
        // would wake us again at once, a busy loop that took the CPU grund needed to answer.
        if ev.is_ok_and(|e| matches!(e.kind, notify::EventKind::Access(_))) {
            return;
        }
        let _ = tx.send(());
    })
    .and_then(|mut w| {
        w.watch(&bare.join("refs/heads"), RecursiveMode::NonRecursive)?;
        w.watch(bare, RecursiveMode::NonRecursive)?;
        Ok(w)
    });
    let watching = match watcher {
        Ok(w) => Some(w),
        Err(e) => {
            log::debug!("not watching {}: {e}; polling", bare.display());
            None
        }
    };
    move |max: Duration| {
        if watching.is_some() {
            let _ = rx.recv_timeout(max);
            while rx.try_recv().is_ok() {}
        } else {
            std::thread::sleep(max.min(Duration::from_millis(50)));
        }
    }
}

/// The fallback: pull until grund's answer is in, with backoff.
fn poll(
    ctx: &Ctx,
    commit: Oid,
    secs: u64,
    deadline: Instant,
    what: &str,
    pb: &indicatif::ProgressBar,
) -> Result<()> {
    let mut pause = Duration::from_millis(100);
    loop {
        if INTERRUPTED.load(Ordering::SeqCst) {
            return Err(interrupted(ctx, commit));
        }
        ctx.pull_jobs()?;
        if answered(ctx, commit)? {
            return ctx.pull_results();
        }
        let now = Instant::now();
        if now >= deadline {
            return Err(not_answered(ctx, commit, secs));
        }
        pb.set_message(format!(
            "waiting for {what} from grund on {} ({} s left)",
            ctx.key.server,
            (deadline - now).as_secs()
        ));
        // Sleep in short steps so that Ctrl-C is answered at once.
        let until = now + pause.min(deadline - now);
        while Instant::now() < until && !INTERRUPTED.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(50).min(until - Instant::now()));
        }
        pause = (pause * 2).min(MAX_PAUSE);
    }
}

fn not_answered(ctx: &Ctx, commit: Oid, secs: u64) -> anyhow::Error {
    CommandError::new(
        Kind::NotAnswered,
        format!(
            "grund on {} has not answered within {secs} s{}",
            ctx.key.server,
            liveness(ctx)
        ),
    )
    .hint(format!(
        "the request is pushed (commit {commit:.10}) and grund will still answer it; `grunt jobs` shows it then"
    ))
    .into()
}

fn interrupted(ctx: &Ctx, commit: Oid) -> anyhow::Error {
    CommandError::new(
        Kind::Interrupted,
        format!(
            "interrupted: the request is already pushed (commit {commit:.10}); grund on {} will answer it",
            ctx.key.server
        ),
    )
    .hint("check on it with `grunt jobs`, or `grunt wait JOBS` until the jobs end")
    .into()
}

/// Has grund processed `commit` (or a later one), as far as the local copy knows?
fn answered(ctx: &Ctx, commit: Oid) -> Result<bool> {
    let Some(t) = ctx.tip()? else {
        return Ok(false);
    };
    Ok(tree::read_file(&ctx.jobs, &t, status_file::FILE_NAME)
        .is_some_and(|s| GrundStatus::from_bytes(&s).answers(&ctx.jobs, commit)))
}

/// What can be said about grund's health from here: its heartbeat on the server (one more
/// ssh round trip for a remote server), and whether its process runs.
pub fn liveness(ctx: &Ctx) -> String {
    let server = match Remote::origin(&ctx.jobs).map(|o| remote_server::ServerRef::of(&o)) {
        Ok(Ok(s)) => s,
        _ => return ": is grund running on the server? (`nohup grund &` there)".into(),
    };
    let probe = match server.probe() {
        Ok(p) => p,
        Err(e) => return format!(": could not look at grund on {} ({e})", server.place()),
    };
    let health = Health::judge(
        probe.heartbeat.as_deref(),
        probe.grund_process.as_deref(),
        chrono::Utc::now(),
    );
    if health.is_alive() {
        format!(
            ": grund on {} is {} but busy or failing; see its log",
            server.place(),
            health.describe()
        )
    } else {
        format!(
            ": grund on {}: {}; start it: {}",
            server.place(),
            health.describe(),
            server.hint(&format!(
                "nohup grund --server {} >grund.log 2>&1 &",
                server.target().server
            ))
        )
    }
}
