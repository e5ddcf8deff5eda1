//! Retries by cause: `[retry]` in grunt.toml says on which end states a job is submitted again
//! (`OutOfMemory`, `Timeout`, `NodeFail`, `Preempted`, `Failed`), how many attempts a job gets
//! in all, and how its resources grow (`mem_factor` on `OutOfMemory`, `time_factor` on
//! `Timeout`). grund makes each attempt a new job that names its parent (`job.parent`,
//! `job.attempt`; the parent gets `job.retried`), so the record shows what happened. The grown
//! resources are written into the new job's own copy of grunt.toml, which is what its runner
//! reads.
//!
//! ```toml
//! [retry]
//! on = ["OutOfMemory", "Timeout"]
//! attempts = 3        # in all, the first one included
//! mem_factor = 2      # memory ×2 after OutOfMemory
//! time_factor = 2     # time ×2 after Timeout
//! ```

use thiserror::Error;

use crate::jobfile::{self, JobFiles};
use crate::state::State;

/// The end states a rule may name.
pub const STATES: [&str; 5] = ["OutOfMemory", "Timeout", "NodeFail", "Preempted", "Failed"];

/// A project's `[retry]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub on: Vec<String>,
    pub attempts: u32,
    pub mem_factor: f64,
    pub time_factor: f64,
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum RetryError {
    #[error("[retry] in grunt.toml: unknown state {0:?} in `on` (states: OutOfMemory, Timeout, NodeFail, Preempted, Failed)")]
    UnknownState(String),
    #[error("[retry] in grunt.toml: {0}")]
    Bad(String),
}

/// `[retry]` of a grunt.toml table, checked; `None` when there is none.
pub fn rule(raw: &toml::Table) -> Result<Option<Rule>, RetryError> {
    let Some(t) = raw.get("retry") else {
        return Ok(None);
    };
    let t = t
        .as_table()
        .ok_or_else(|| RetryError::Bad("must be a table".into()))?;
    let mut on = Vec::new();
    match t.get("on") {
        Some(toml::Value::Array(v)) => {
            for s in v {
                let s = s
                    .as_str()
                    .ok_or_else(|| RetryError::Bad("`on` lists state names".into()))?;
                let known = STATES
                    .iter()
                    .find(|k| k.eq_ignore_ascii_case(s))
                    .ok_or_else(|| RetryError::UnknownState(s.to_string()))?;
                on.push(known.to_string());
            }
        }
        None => {
            return Err(RetryError::Bad(
                "`on` is missing: on = [\"OutOfMemory\"]".into(),
            ))
        }
        Some(_) => return Err(RetryError::Bad("`on` is a list of states".into())),
    }
    let attempts = match t.get("attempts") {
        None => 2,
        Some(v) => v
            .as_integer()
            .and_then(|n| u32::try_from(n).ok())
            .filter(|n| (1..=100).contains(n))
            .ok_or_else(|| RetryError::Bad("`attempts` is a number from 1 to 100".into()))?,
    };
    let factor = |name: &str| -> Result<f64, RetryError> {
        match t.get(name) {
            None => Ok(1.0),
            Some(v) => v
                .as_float()
                .or_else(|| v.as_integer().map(|i| i as f64))
                .filter(|f| (1.0..=100.0).contains(f))
                .ok_or_else(|| RetryError::Bad(format!("`{name}` is a number from 1 to 100"))),
        }
    };
    Ok(Some(Rule {
        on,
        attempts,
        mem_factor: factor("mem_factor")?,
        time_factor: factor("time_factor")?,
    }))
}

impl Rule {
    /// The cause a rule names for a job that ended in `state`, if it asks for a retry.
    pub fn cause(&self, state: State, files: &JobFiles) -> Option<&'static str> {
        let preempted = files
            .line(jobfile::STATUS)
            .to_ascii_uppercase()
            .starts_with("PREEMPTED");
        let cause = match state {
            State::OutOfMemory => "OutOfMemory",
            State::Timeout => "Timeout",
            State::NodeFail => "NodeFail",
            State::Canceled if preempted => "Preempted",
            State::Failed(_) => "Failed",
            _ => return None,
        };
        self.on.iter().any(|o| o == cause).then_some(cause)
    }
}

/// `text` (a job's grunt.toml) with its resources grown for a retry after `cause`: `mem` by
/// `mem_factor` after `OutOfMemory`, `time` by `time_factor` after `Timeout`, where the job's
/// profile sets it, else in `[resources]`. Unchanged when there is nothing to grow.
pub fn grown_toml(text: &str, rule: &Rule, cause: &str, profile: Option<&str>) -> String {
    type Grow = fn(&str, f64) -> Option<String>;
    let (key, factor, grow): (&str, f64, Grow) = match cause {
        "OutOfMemory" => ("mem", rule.mem_factor, grow_mem),
        "Timeout" => ("time", rule.time_factor, grow_time),
        _ => return text.to_string(),
    };
    if factor == 1.0 {
        return text.to_string();
    }
    let Ok(mut raw) = text.parse::<toml::Table>() else {
        return text.to_string();
    };
    let in_profile = profile.is_some_and(|p| {
        raw.get("profile")
            .and_then(|t| t.get(p))
            .and_then(|t| t.get(key))
            .is_some()
    });
    let table = match (in_profile, profile) {
        (true, Some(p)) => raw
            .get_mut("profile")
            .and_then(|t| t.get_mut(p))
            .and_then(|t| t.as_table_mut()),
        _ => raw.get_mut("resources").and_then(|t| t.as_table_mut()),
    };
    let Some(table) = table else {
        return text.to_string();
    };
    let Some(new) = table
        .get(key)
        .and_then(|v| v.as_str())
        .and_then(|v| grow(v, factor))
    else {
        return text.to_string();
    };
    table.insert(key.into(), toml::Value::String(new));
    toml::to_string(&raw).unwrap_or_else(|_| text.to_string())
}

/// `4G` × 2 = `8G`; `500M` × 1.5 = `750M`; `4096` (MB, as Slurm reads it) × 2 = `8192`.
pub fn grow_mem(mem: &str, factor: f64) -> Option<String> {
    let mem = mem.trim();
    let split = mem
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(mem.len());
    let (num, unit) = mem.split_at(split);
    let n: f64 = num.parse().ok()?;
    Some(format!("{}{unit}", (n * factor).ceil() as u64))
}

/// Slurm's time forms (`MM`, `MM:SS`, `HH:MM:SS`, `D-HH`, `D-HH:MM`, `D-HH:MM:SS`) × `factor`,
/// written back as `D-HH:MM:SS` (or `HH:MM:SS` under a day).
pub fn grow_time(time: &str, factor: f64) -> Option<String> {
    let secs = parse_time(time.trim())?;
    let s = (secs as f64 * factor).ceil() as u64;
    let (d, h, m, s) = (s / 86400, s / 3600 % 24, s / 60 % 60, s % 60);
    Some(match d {
        0 => format!("{h:02}:{m:02}:{s:02}"),
        d => format!("{d}-{h:02}:{m:02}:{s:02}"),
    })
}

fn parse_time(t: &str) -> Option<u64> {
    let (days, rest) = match t.split_once('-') {
        Some((d, r)) => (d.parse::<u64>().ok()?, Some(r)),
        None => (0, None),
    };
    let nums = |s: &str| -> Option<Vec<u64>> { s.split(':').map(|p| p.parse().ok()).collect() };
    let secs = match rest {
        // D-HH, D-HH:MM, D-HH:MM:SS
        Some(r) => match nums(r)?.as_slice() {
            [h] => h * 3600,
            [h, m] => h * 3600 + m * 60,
            [h, m, s] => h * 3600 + m * 60 + s,
            _ => return None,
        },
        // MM, MM:SS, HH:MM:SS
        None => match nums(t)?.as_slice() {
            [m] => m * 60,
            [m, s] => m * 60 + s,
            [h, m, s] => h * 3600 + m * 60 + s,
            _ => return None,
        },
    };
    Some(days * 86400 + secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(s: &str) -> toml::Table {
        s.parse().unwrap()
    }

    #[test]
    fn rules_are_checked() {
        let r = rule(&raw(
            "[retry]\non = [\"outofmemory\", \"Timeout\"]\nattempts = 3\nmem_factor = 2\n",
        ))
        .unwrap()
        .unwrap();
        assert_eq!(r.on, ["OutOfMemory", "Timeout"]);
        assert_eq!((r.attempts, r.mem_factor, r.time_factor), (3, 2.0, 1.0));
        assert_eq!(
            rule(&raw("[retry]\non = [\"Bogus\"]\n")).unwrap_err(),
            RetryError::UnknownState("Bogus".into())
        );
        assert!(rule(&raw("[retry]\non = [\"Failed\"]\nattempts = 0\n")).is_err());
        assert_eq!(rule(&raw("")).unwrap(), None);
    }

    #[test]
    fn resources_grow() {
        assert_eq!(grow_mem("4G", 2.0).as_deref(), Some("8G"));
        assert_eq!(grow_mem("500M", 1.5).as_deref(), Some("750M"));
        assert_eq!(grow_mem("4096", 2.0).as_deref(), Some("8192"));
        assert_eq!(grow_time("1:00:00", 2.0).as_deref(), Some("02:00:00"));
        assert_eq!(grow_time("30", 2.0).as_deref(), Some("01:00:00"));
        assert_eq!(grow_time("1-12", 2.0).as_deref(), Some("3-00:00:00"));
        assert_eq!(grow_time("x", 2.0), None);
        let r = rule(&raw("[retry]\non = [\"OutOfMemory\"]\nmem_factor = 2\n"))
            .unwrap()
            .unwrap();
        let toml = "[resources]\nmem = \"4G\"\n\n[profile.big]\nmem = \"32G\"\n";
        let grown: toml::Table = grown_toml(toml, &r, "OutOfMemory", None).parse().unwrap();
        assert_eq!(grown["resources"]["mem"].as_str(), Some("8G"));
        let grown: toml::Table = grown_toml(toml, &r, "OutOfMemory", Some("big"))
            .parse()
            .unwrap();
        assert_eq!(grown["profile"]["big"]["mem"].as_str(), Some("64G"));
        assert_eq!(grown["resources"]["mem"].as_str(), Some("4G"));
        assert_eq!(grown_toml(toml, &r, "Timeout", None), toml);
    }
}
