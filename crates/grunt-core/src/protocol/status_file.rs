//! `grund_status.txt` at the top of the jobs and results repos: when grund last answered, the
//! client commit it started after (`commit_done`) and the last client commit it has processed
//! (`commit_cur`). The original grund writes the same three lines; clients read `commit_cur` to
//! know that their request is answered, and a grund without `last_commit_done.sha` resumes
//! after it.

use git2::Oid;

/// The file's name, at the top of both repos.
pub use crate::layout::STATUS_FILE as FILE_NAME;

/// The content of `grund_status.txt`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrundStatus {
    /// When grund wrote it, in the timestamp format (`crate::time`).
    pub time: String,
    /// The commit processing started after (`None`: from the root).
    pub commit_done: Option<Oid>,
    /// The last client commit processed.
    pub commit_cur: Option<Oid>,
}

impl GrundStatus {
    /// A record written now for processing from `done` up to `cur`.
    pub fn now(done: Option<Oid>, cur: Oid) -> GrundStatus {
        GrundStatus {
            time: crate::time::now(),
            commit_done: done,
            commit_cur: Some(cur),
        }
    }

    /// The file's text: `time: …`, `commit_done: <sha or nothing>`, `commit_cur: <sha>`.
    pub fn render(&self) -> String {
        let sha = |o: Option<Oid>| o.map(|o| o.to_string()).unwrap_or_default();
        format!(
            "time: {}\ncommit_done: {}\ncommit_cur: {}\n",
            self.time,
            sha(self.commit_done),
            sha(self.commit_cur)
        )
    }

    /// Reads the file's text leniently: unknown lines are ignored, a missing or malformed
    /// value is `None` (or empty for `time`), so whatever a grund wrote never fails a client.
    pub fn parse(text: &str) -> GrundStatus {
        let value = |key: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(key)?.strip_prefix(':').map(str::trim))
        };
        let oid = |key: &str| {
            value(key)
                .and_then(|s| Oid::from_str(s).ok())
                .filter(|o| !o.is_zero())
        };
        GrundStatus {
            time: value("time").unwrap_or_default().to_string(),
            commit_done: oid("commit_done"),
            commit_cur: oid("commit_cur"),
        }
    }

    /// Parses the file's bytes (see [`GrundStatus::parse`]).
    pub fn from_bytes(data: &[u8]) -> GrundStatus {
        GrundStatus::parse(&String::from_utf8_lossy(data))
    }

    /// Whether this record answers `commit`: grund has processed it or a later commit. `repo`
    /// must hold both commits to tell "later"; if it does not, only equality counts.
    pub fn answers(&self, repo: &git2::Repository, commit: Oid) -> bool {
        match self.commit_cur {
            Some(c) => c == commit || repo.graph_descendant_of(c, commit).unwrap_or(false),
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_reads_leniently() {
        let a = Oid::from_str("1111111111111111111111111111111111111111").unwrap();
        let b = Oid::from_str("2222222222222222222222222222222222222222").unwrap();
        let s = GrundStatus {
            time: "2026-11-21 09:30:00 UTC".into(),
            commit_done: Some(a),
            commit_cur: Some(b),
        };
        let text = s.render();
        assert_eq!(
            text,
            "time: 2026-11-21 09:30:00 UTC\ncommit_done: 1111111111111111111111111111111111111111\ncommit_cur: 2222222222222222222222222222222222222222\n"
        );
        assert_eq!(GrundStatus::parse(&text), s);
        // The first batch of a project: nothing done before.
        let first = GrundStatus::now(None, b);
        assert_eq!(GrundStatus::parse(&first.render()).commit_done, None);
        assert!(first.render().contains("commit_done: \n"));
        // Garbage never fails.
        let g = GrundStatus::parse("hello\ncommit_cur: not-a-sha\n\0\n");
        assert_eq!((g.commit_cur, g.time.as_str()), (None, ""));
        let spaced =
            GrundStatus::parse("commit_cur:   2222222222222222222222222222222222222222  \r\n");
        assert_eq!(spaced.commit_cur, Some(b));
    }
}
