//! The jobs table as of the last pull: `grunt jobs active done archive delete --json`, run in
//! the background every few seconds (and right after an action), kept serialized so that
//! `GET /api/jobs` answers from memory however many jobs there are.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use tokio::sync::{Notify, RwLock};

use crate::exec::Cli;

/// The last table, ready to send.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// `{"as_of": RFC 3339 or null, "error": text or null, "jobs": [...]}`.
    pub body: Bytes,
}

impl Snapshot {
    fn build(as_of: Option<String>, error: Option<String>, jobs: &serde_json::Value) -> Snapshot {
        let v = serde_json::json!({"as_of": as_of, "error": error, "jobs": jobs});
        Snapshot {
            body: Bytes::from(serde_json::to_vec(&v).unwrap_or_default()),
        }
    }
}

/// The shared table and the bell that asks for a refresh now.
#[derive(Debug)]
pub struct Table {
    pub snap: RwLock<Snapshot>,
    pub wake: Notify,
}

impl Table {
    pub fn new() -> Table {
        Table {
            snap: RwLock::new(Snapshot::build(None, None, &serde_json::json!([]))),
            wake: Notify::new(),
        }
    }
}

/// One read of the table: the jobs, and grunt's warning when it could not pull (it then
/// lists the local copy, no fresher than before).
struct Read {
    jobs: serde_json::Value,
    stale: Option<String>,
}

/// Reads the table once: the jobs, or why not.
async fn read(cli: &Arc<Cli>) -> Result<Read, String> {
    let args: Vec<String> = ["jobs", "active", "done", "archive", "delete", "--json"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let out = cli.run(&args).await;
    if !out.ok {
        return Err(out.stderr.trim().to_string());
    }
    let jobs = serde_json::from_str(&out.stdout).map_err(|e| format!("grunt jobs --json: {e}"))?;
    let stale = out
        .stderr
        .lines()
        .find(|l| l.contains("cannot reach the server"))
        .map(|l| l.trim_start_matches("warning:").trim().to_string());
    Ok(Read { jobs, stale })
}

/// Refreshes the table forever: every `every`, or when woken.
pub async fn refresher(cli: Arc<Cli>, table: Arc<Table>, every: Duration) {
    let mut last: serde_json::Value = serde_json::json!([]);
    let mut as_of: Option<String> = None;
    loop {
        let error = match read(&cli).await {
            Ok(r) => {
                last = r.jobs;
                // Not pulled: the local copy is as old as the last pull we know of.
                if r.stale.is_none() {
                    as_of = Some(now_rfc3339());
                }
                r.stale
            }
            // Keep showing what we had, and say why it is old.
            Err(e) => Some(e),
        };
        *table.snap.write().await = Snapshot::build(as_of.clone(), error, &last);
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = table.wake.notified() => {}
        }
    }
}

fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}
