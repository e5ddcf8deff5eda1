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

/// What grund's heartbeat, and whether its pid still runs, say about grund.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Health {
    /// No heartbeat file: grund never ran with this server root.
    NeverRan,
    /// The file has no readable `time:` line; its text.
    Unreadable(String),
    /// No heartbeat for longer than [`STALE_AFTER_SECS`].
    Dead {
        age: i64,
        pid: Option<u32>,
    },
    /// A recent heartbeat, but its process is gone (from the node that was asked).
    Stopped {
        age: i64,
        pid: Option<u32>,
    },
    /// A recent heartbeat, but its pid now belongs to another program.
    PidReused {
        age: i64,
        pid: Option<u32>,
        program: String,
    },
    Alive {
        age: i64,
        pid: Option<u32>,
    },
}

impl Health {
    /// Judges a heartbeat file's `text` (None: no file) and `process`, the command name of its
    /// pid if that runs (`running` when the name is unknown; None when it does not run).
    pub fn judge(text: Option<&str>, process: Option<&str>, now: DateTime<Utc>) -> Health {
        let Some(text) = text else {
            return Health::NeverRan;
        };
        let Some(hb) = Heartbeat::parse(text) else {
            return Health::Unreadable(text.trim().to_string());
        };
        let (age, pid) = (hb.age_secs(now), hb.pid);
        if hb.is_stale(now) {
            return Health::Dead { age, pid };
        }
        match process {
            None => Health::Stopped { age, pid },
            Some(p) if p != "running" && !p.contains("grund") => Health::PidReused {
                age,
                pid,
                program: p.to_string(),
            },
            Some(_) => Health::Alive { age, pid },
        }
    }

    pub fn is_alive(&self) -> bool {
        matches!(self, Health::Alive { .. })
    }

    /// For people: `alive (pid 42, heartbeat 3 s ago)`, `not running: …`.
    pub fn describe(&self) -> String {
        let pid = |p: &Option<u32>| match p {
            Some(p) => format!("pid {p}"),
            None => "no pid".to_string(),
        };
        match self {
            Health::NeverRan => "has never run there (no heartbeat file)".to_string(),
            Health::Unreadable(t) => format!("unreadable heartbeat: {t:?}"),
            Health::Dead { age, pid: p } => {
                format!("looks dead: its last heartbeat is {age} s old ({})", pid(p))
            }
            Health::Stopped { age, pid: p } => format!(
                "not running: {} of its heartbeat ({age} s old) is gone",
                pid(p)
            ),
            Health::PidReused {
                pid: p, program, ..
            } => format!(
                "not running: {} of its heartbeat is now `{program}`",
                pid(p)
            ),
            Health::Alive { age, pid: p } => {
                format!("alive ({}, heartbeat {age} s ago)", pid(p))
            }
        }
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

    #[test]
    fn judges_health() {
        let now = Utc::now();
        let fresh = Heartbeat::now("1").render();
        let pid = Some(std::process::id());
        let j = |text: Option<&str>, process| Health::judge(text, process, now);
        assert_eq!(j(None, None), Health::NeverRan);
        assert!(matches!(j(Some("junk"), None), Health::Unreadable(_)));
        assert!(matches!(
            j(Some("time: 2020-01-01 00:00:00 UTC\n"), Some("grund")),
            Health::Dead { .. }
        ));
        assert!(matches!(j(Some(&fresh), None), Health::Stopped { pid: p, .. } if p == pid));
        assert!(matches!(
            j(Some(&fresh), Some("bash")),
            Health::PidReused { .. }
        ));
        assert!(j(Some(&fresh), Some("grund")).is_alive());
        assert!(j(Some(&fresh), Some("running")).is_alive());
    }
}
