//! The runner's `batch-status` call: one call, one scheduler query, for many jobs.
//!
//! Request: the file named by `GRUNT_BATCH_FILE`, one line per job,
//! `<jobid> TAB <batch id> TAB <absolute job directory>` ([`BatchJob`]). Answer: the runner's
//! standard output, one line per job it could resolve, `<jobid> <WORD> [<exit code>]`
//! ([`BatchAnswer`]), WORD in Slurm's vocabulary; other lines are ignored. A runner without
//! `batch-status` (the original `grunter.py`) exits non-zero: then there is no answer.

use std::path::PathBuf;

use crate::jobid::JobId;

/// The runner command word.
pub use super::words::BATCH_STATUS as WORD;

/// One job of a `batch-status` request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchJob {
    pub id: JobId,
    /// The first line of the job's `job.slurmid`.
    pub batch_id: String,
    /// The job's directory on the server.
    pub dir: PathBuf,
}

impl BatchJob {
    /// The request file's text for `jobs`. Tabs and newlines cannot occur in a job id or a
    /// batch id (one line, trimmed); a directory holding one is left out rather than garbled.
    pub fn render_all(jobs: &[BatchJob]) -> String {
        jobs.iter()
            .filter_map(|j| {
                let dir = j.dir.to_str()?;
                if [dir, &j.batch_id]
                    .iter()
                    .any(|s| s.contains(['\t', '\n', '\r']))
                {
                    return None;
                }
                Some(format!("{}\t{}\t{dir}\n", j.id, j.batch_id))
            })
            .collect()
    }

    /// Reads a request file (for runners written in Rust, and for tests); malformed lines are
    /// skipped.
    pub fn parse_all(text: &str) -> Vec<BatchJob> {
        text.lines()
            .filter_map(|l| {
                let mut f = l.splitn(3, '\t');
                let id = f.next()?.parse().ok()?;
                let batch_id = f.next()?.to_string();
                let dir = PathBuf::from(f.next()?);
                Some(BatchJob { id, batch_id, dir })
            })
            .collect()
    }
}

/// One line of a `batch-status` answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchAnswer {
    pub id: JobId,
    /// The scheduler's word, upper case: letters, digits and `_` only.
    pub word: String,
    /// The job's exit status when the scheduler knows it.
    pub exit_code: Option<i32>,
}

impl BatchAnswer {
    /// Lines `<jobid> <WORD> [<exit code>]`; anything else is skipped.
    pub fn parse_all(text: &str) -> Vec<BatchAnswer> {
        text.lines()
            .filter_map(|l| {
                let mut w = l.split_whitespace();
                let id = w.next()?.parse::<JobId>().ok()?;
                let word = w.next()?.to_ascii_uppercase();
                if !word.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                    return None;
                }
                let exit_code = w.next().and_then(|c| c.parse().ok());
                Some(BatchAnswer {
                    id,
                    word,
                    exit_code,
                })
            })
            .collect()
    }

    /// The answer's line, as a runner prints it.
    pub fn render(&self) -> String {
        match self.exit_code {
            Some(c) => format!("{} {} {c}\n", self.id, self.word),
            None => format!("{} {}\n", self.id, self.word),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> JobId {
        s.parse().unwrap()
    }

    #[test]
    fn parses_runner_answers() {
        let a = BatchAnswer::parse_all(
            "ore000001 COMPLETED 0\nore000002 failed 3\ngarbage\nore000003 RUNNING\nore000004 rm;x\n",
        );
        let want = vec![
            BatchAnswer {
                id: id("ore000001"),
                word: "COMPLETED".into(),
                exit_code: Some(0),
            },
            BatchAnswer {
                id: id("ore000002"),
                word: "FAILED".into(),
                exit_code: Some(3),
            },
            BatchAnswer {
                id: id("ore000003"),
                word: "RUNNING".into(),
                exit_code: None,
            },
        ];
        assert_eq!(a, want);
        let text: String = want.iter().map(BatchAnswer::render).collect();
        assert_eq!(BatchAnswer::parse_all(&text), want);
    }

    #[test]
    fn request_round_trips() {
        let jobs = vec![
            BatchJob {
                id: id("ore000001"),
                batch_id: "831".into(),
                dir: "/s/a b/ore000001/sim".into(),
            },
            BatchJob {
                id: id("ore000002"),
                batch_id: "832".into(),
                dir: "/s/x\ty".into(),
            },
        ];
        let text = BatchJob::render_all(&jobs);
        assert_eq!(text, "ore000001\t831\t/s/a b/ore000001/sim\n");
        assert_eq!(BatchJob::parse_all(&text), jobs[..1]);
        assert!(BatchJob::parse_all("x\ty\n\nore000001 831\n").is_empty());
    }
}
