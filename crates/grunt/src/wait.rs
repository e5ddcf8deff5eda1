//! `--wait[=SECS]`: after pushing a command, pull until grund's answer to that commit is
//! there (grund records in `grund_status.txt` the last client commit it has processed), and
//! fail clearly at the deadline (exit 3), saying whether grund looks alive.
//!
//! Waiting polls with backoff (0.1 s doubling to 2 s), shows a spinner on a terminal, and on
//! Ctrl-C says that the request is already pushed and how to check on it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Once;
use std::time::{Duration, Instant};

use anyhow::Result;
use git2::Oid;
use grunt_core::git::{remote::Remote, tree};
use grunt_core::heartbeat::Health;
use grunt_core::{layout, remote_server};

use crate::context::Ctx;
use crate::error::{CommandError, Kind};

/// Default deadline of `--wait` without a value.
pub const DEFAULT_SECS: u64 = 60;

/// The longest pause between two looks at the server.
const MAX_PAUSE: Duration = Duration::from_secs(2);

#[derive(Debug, Clone, clap::Args)]
pub struct WaitArg {
    /// Wait until grund has answered (and the answer is pulled), at most SECS seconds
    /// (default 60). Write `--wait=SECS`: a bare number after `--wait` is a job.
    #[arg(long, value_name = "SECS", num_args = 0..=1, require_equals = true, default_missing_value = "60")]
    pub wait: Option<u64>,
}

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Ctrl-C while waiting ends the wait, not the process in the middle of a git write.
fn catch_interrupt() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if let Err(e) = ctrlc::set_handler(|| INTERRUPTED.store(true, Ordering::SeqCst)) {
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
    let started = Instant::now();
    let deadline = started + Duration::from_secs(secs);
    let pb = spinner(&format!("waiting for {what} from grund on {}", ctx.server));
    let mut pause = Duration::from_millis(100);
    let result = loop {
        if INTERRUPTED.load(Ordering::SeqCst) {
            break Err(interrupted(ctx, commit));
        }
        if let Err(e) = ctx.pull_jobs() {
            break Err(e);
        }
        match answered(ctx, commit) {
            Ok(true) => break ctx.pull_results(),
            Ok(false) => {}
            Err(e) => break Err(e),
        }
        let now = Instant::now();
        if now >= deadline {
            break Err(CommandError::new(
                Kind::NotAnswered,
                format!(
                    "grund on {} has not answered within {secs} s{}",
                    ctx.server,
                    liveness(ctx)
                ),
            )
            .hint(format!(
                "the request is pushed (commit {commit:.10}) and grund will still answer it; `grunt jobs` shows it then"
            ))
            .into());
        }
        pb.set_message(format!(
            "waiting for {what} from grund on {} ({} s left)",
            ctx.server,
            (deadline - now).as_secs()
        ));
        // Sleep in short steps so that Ctrl-C is answered at once.
        let until = now + pause.min(deadline - now);
        while Instant::now() < until && !INTERRUPTED.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(50).min(until - Instant::now()));
        }
        pause = (pause * 2).min(MAX_PAUSE);
    };
    pb.finish_and_clear();
    result
}

fn interrupted(ctx: &Ctx, commit: Oid) -> anyhow::Error {
    CommandError::new(
        Kind::Interrupted,
        format!(
            "interrupted: the request is already pushed (commit {commit:.10}); grund on {} will answer it",
            ctx.server
        ),
    )
    .hint("check on it with `grunt jobs`, or `grunt wait JOBS` until the jobs end")
    .into()
}

/// Has grund processed `commit` (or a later one)?
fn answered(ctx: &Ctx, commit: Oid) -> Result<bool> {
    let Some(t) = ctx.tip()? else {
        return Ok(false);
    };
    let Some(status) = tree::read_file(&ctx.jobs, &t, layout::STATUS_FILE) else {
        return Ok(false);
    };
    let text = String::from_utf8_lossy(&status);
    let cur = text
        .lines()
        .find_map(|l| l.strip_prefix("commit_cur:"))
        .and_then(|s| Oid::from_str(s.trim()).ok());
    Ok(match cur {
        Some(c) => c == commit || ctx.jobs.graph_descendant_of(c, commit).unwrap_or(false),
        None => false,
    })
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
