//! grund's heartbeat, `~/gruntsrv/grund.heartbeat`: when grund last looked for work, its pid
//! and its version, one `key: value` line each (`time: 2026-11-21 09:30:00 UTC`, `pid: 4242`,
//! `version: 0.1.0`). grund rewrites it at least once per poll interval, so a client or a
//! person can tell a live daemon from a dead one.

use chrono::{DateTime, Utc};

/// Age after which grund counts as dead: several poll intervals without a heartbeat.
pub const STALE_AFTER_SECS: i64 = 60;

/// One heartbeat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heartbeat {
    pub time: DateTime<Utc>,
    pub pid: Option<u32>,
    pub version: Option<String>,
}

impl Heartbeat {
    /// A heartbeat of this process, now.
    pub fn now(version: &str) -> Heartbeat {
        Heartbeat {
            time: Utc::now(),
            pid: Some(std::process::id()),
            version: Some(version.to_string()),
        }
    }

    /// The file's text.
    pub fn render(&self) -> String {
        let mut s = format!("time: {}\n", crate::time::format(self.time));
        if let Some(p) = self.pid {
            s.push_str(&format!("pid: {p}\n"));
        }
        if let Some(v) = &self.version {
            s.push_str(&format!("version: {v}\n"));
        }
        s
    }

    /// Reads a heartbeat file's text; `None` when it has no readable `time:` line.
    pub fn parse(text: &str) -> Option<Heartbeat> {
        let field = |key: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
                .map(str::trim)
        };
        Some(Heartbeat {
            time: crate::time::parse(field("time")?)?,
            pid: field("pid").and_then(|p| p.parse().ok()),
            version: field("version")
                .filter(|v| !v.is_empty())
                .map(str::to_string),
        })
    }

    /// Seconds between the heartbeat and `now` (negative when clocks disagree).
    pub fn age_secs(&self, now: DateTime<Utc>) -> i64 {
        (now - self.time).num_seconds()
    }

    /// Whether grund looks dead as of `now`.
    pub fn is_stale(&self, now: DateTime<Utc>) -> bool {
        self.age_secs(now) > STALE_AFTER_SECS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_age() {
        let hb = Heartbeat::now("9.9.9");
        let back = Heartbeat::parse(&hb.render()).expect("parses");
        assert_eq!(back.pid, Some(std::process::id()));
        assert_eq!(back.version.as_deref(), Some("9.9.9"));
        assert!(!back.is_stale(Utc::now()));
        let old = Heartbeat::parse("time: 2020-01-01 00:00:00 UTC\npid: 7\n").expect("parses");
        assert!(old.is_stale(Utc::now()));
        assert_eq!((old.pid, old.version), (Some(7), None));
        assert!(Heartbeat::parse("pid: 7\n").is_none());
        assert!(Heartbeat::parse("time: yesterday\n").is_none());
    }
}
