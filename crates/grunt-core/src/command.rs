//! `grcmd.*` files: how a client asks grund for work.
//!
//! A command is a file `<loc>/<jobid>/<project>/grcmd.<word>` added or changed by a client
//! commit. Its content is a timestamp, except `grcmd.results` written by `grunt files` (the
//! file names, one a line) and `grcmd.newproj-server` (the new project's name).

use crate::jobid::JobId;
use crate::layout::Location;
use crate::name;
use crate::time;

pub const PREFIX: &str = "grcmd.";

/// Commands grund runs itself; every other word goes to the runner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Core {
    Results,
    Delete,
    Archive,
    /// Back from `delete/` to `active/`, its results taken back from the results history.
    Undelete,
    Nuke,
    NewprojServer,
}

impl Core {
    pub fn from_word(word: &str) -> Option<Core> {
        Some(match word {
            "results" => Core::Results,
            "delete" => Core::Delete,
            "archive" => Core::Archive,
            "undelete" => Core::Undelete,
            "nuke" => Core::Nuke,
            "newproj-server" => Core::NewprojServer,
            _ => return None,
        })
    }
}

/// A path that looks like a command file but is malformed (reported, never run).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {why}")]
pub struct BadCommandPath {
    pub path: String,
    pub why: String,
}

/// A command file's place in the jobs repo.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CommandPath {
    pub location: Location,
    pub job: JobId,
    pub project: String,
    pub word: String,
}

impl CommandPath {
    /// Recognises `<loc>/<jobid>/<project>/grcmd.<word>`. `Ok(None)`: not a command file at
    /// all; `Err`: looks like one but is malformed (reported, never run).
    pub fn parse(path: &str) -> Result<Option<CommandPath>, BadCommandPath> {
        let bad = |why: String| BadCommandPath {
            path: path.to_string(),
            why,
        };
        let Some((dir, file)) = path.rsplit_once('/') else {
            return Ok(None);
        };
        let Some(word) = file.strip_prefix(PREFIX) else {
            return Ok(None);
        };
        let parts: Vec<&str> = dir.split('/').collect();
        let [loc, job, project] = parts.as_slice() else {
            return Err(bad(
                "command files belong in <active|archive|delete>/<jobid>/<project>/".into(),
            ));
        };
        let location = loc.parse::<Location>().map_err(|e| bad(e.to_string()))?;
        let job = job.parse::<JobId>().map_err(|e| bad(e.to_string()))?;
        name::check("project", project).map_err(|e| bad(e.to_string()))?;
        name::check_command(word).map_err(|e| bad(e.to_string()))?;
        Ok(Some(CommandPath {
            location,
            job,
            project: project.to_string(),
            word: word.to_string(),
        }))
    }

    pub fn file_name(&self) -> String {
        format!("{PREFIX}{}", self.word)
    }
}

/// The usual content of a command file: a timestamp (all the original reads) and a token
/// unique to this request, so that repeating a command within the same second still changes
/// the file, and so still reaches grund.
pub fn timestamp_content() -> String {
    format!("{}\nrequest: {}\n", time::now(), unique_token())
}

/// A token no other request has: time in nanoseconds, process id and a counter.
pub fn unique_token() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!(
        "{nanos:x}-{:x}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// The content of `grcmd.results` from `grunt files`: the file names, one a line (all the
/// original reads), then a last line unique to this request made only of spaces and tabs.
/// Repeating `grunt files` with the same names thus still changes the file, so it is still a
/// new commit that reaches grund; the original and [`listed_files`] both skip a line that is
/// blank once stripped, so it is readable by both.
pub fn files_content(names: &[String]) -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write(unique_token().as_bytes());
    let bits = h.finish();
    let token: String = (0..64)
        .map(|i| if bits >> i & 1 == 1 { '\t' } else { ' ' })
        .collect();
    format!("{}\n{token}\n", names.join("\n"))
}

/// For `grcmd.results`: the file names it lists, or `None` when it is a timestamp (ask the
/// runner's `results` instead).
pub fn listed_files(content: &str) -> Option<Vec<String>> {
    if content.trim().is_empty() || time::parse(content.lines().next().unwrap_or("")).is_some() {
        return None;
    }
    Some(
        content
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_command_paths() {
        let c = CommandPath::parse("active/ore000042/sim/grcmd.submit")
            .unwrap()
            .unwrap();
        assert_eq!(c.location, Location::Active);
        assert_eq!(c.job.to_string(), "ore000042");
        assert_eq!(c.word, "submit");
        assert_eq!(CommandPath::parse("active/ore000042/sim/job.out"), Ok(None));
        assert_eq!(CommandPath::parse("grund_status.txt"), Ok(None));
        assert!(CommandPath::parse("active/ore000042/sim/sub/grcmd.x").is_err());
        assert!(CommandPath::parse("elsewhere/ore000042/sim/grcmd.x").is_err());
        assert!(CommandPath::parse("active/../sim/grcmd.x").is_err());
        assert!(CommandPath::parse("active/ore000042/sim/grcmd.rm;ls").is_err());
    }

    #[test]
    fn results_content() {
        assert_eq!(listed_files("2026-11-21 09:30:00 UTC\n"), None);
        assert_eq!(listed_files(&timestamp_content()), None);
        assert_ne!(timestamp_content(), timestamp_content());
        let names = vec!["a.csv".to_string(), "out/b.csv".to_string()];
        let (a, b) = (files_content(&names), files_content(&names));
        assert_ne!(a, b, "each request is a new file content");
        assert!(a.starts_with("a.csv\nout/b.csv\n"), "{a:?}");
        assert_eq!(listed_files(&a), Some(names.clone()));
        assert_eq!(
            listed_files("a.csv\n\nout/b.csv\n"),
            Some(vec!["a.csv".to_string(), "out/b.csv".to_string()])
        );
    }
}
