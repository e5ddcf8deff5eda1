//! `--wait[=SECS]`: after pushing a command, pull until grund's answer to that commit is
//! there (grund records in `grund_status.txt` the last client commit it has processed), and
//! fail clearly at the deadline, saying whether grund looks alive.

use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use git2::Oid;
use grunt_core::git::{remote::Remote, tree};
use grunt_core::heartbeat::Health;
use grunt_core::{layout, remote_server};

use crate::context::Ctx;

/// Default deadline of `--wait` without a value.
pub const DEFAULT_SECS: u64 = 60;

#[derive(Debug, Clone, clap::Args)]
pub struct WaitArg {
    /// Wait until grund has answered (and the answer is pulled), at most SECS seconds
    /// (default 60).
    #[arg(long, value_name = "SECS", num_args = 0..=1, require_equals = true, default_missing_value = "60")]
    pub wait: Option<u64>,
}

/// Waits for grund's answer to `commit`.
pub fn wait_for(ctx: &Ctx, commit: Oid, secs: u64) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        ctx.pull_jobs()?;
        if answered(ctx, commit)? {
            ctx.pull_results()?;
            return Ok(());
        }
        let now = Instant::now();
        if now >= deadline {
            bail!(
                "grund on {} has not answered within {secs} s{}",
                ctx.server,
                liveness(ctx)
            );
        }
        std::thread::sleep((deadline - now).min(Duration::from_millis(100)));
    }
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
fn liveness(ctx: &Ctx) -> String {
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
