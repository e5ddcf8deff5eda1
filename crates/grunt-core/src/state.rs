//! The state of a job, derived from its `job.*` files.
//!
//! The original's rule is kept: `Canceled` if `job.canceled`; `Done` if `job.start`,
//! `job.slurmid` and `job.end`; `Running` if `job.start` and `job.slurmid`; else `Pending`.
//! On top of it, the exit-code marker (`job.exitcode`) and the scheduler's final word in
//! `job.status` give `Failed`, `Timeout`, `OutOfMemory` and `NodeFail`, and a runner that failed
//! before the job started (`job.error`, no `job.start`) makes the job `Failed`.

use std::fmt;

use crate::jobfile::{self, JobFiles};
use crate::time;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Pending,
    Running,
    Done,
    /// Ended badly; the exit code when known.
    Failed(Option<i32>),
    Timeout,
    OutOfMemory,
    Canceled,
    NodeFail,
    Unknown,
}

impl State {
    /// Has the job stopped for good?
    pub fn is_finished(self) -> bool {
        !matches!(self, State::Pending | State::Running | State::Unknown)
    }
}

impl State {
    /// The state's name without its exit code (`Failed`), as `--json` prints it.
    pub fn kind(self) -> &'static str {
        match self {
            State::Pending => "Pending",
            State::Running => "Running",
            State::Done => "Done",
            State::Failed(_) => "Failed",
            State::Timeout => "Timeout",
            State::OutOfMemory => "OutOfMemory",
            State::Canceled => "Canceled",
            State::NodeFail => "NodeFail",
            State::Unknown => "Unknown",
        }
    }

    /// Did the job end well?
    pub fn is_success(self) -> bool {
        self == State::Done
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            State::Failed(Some(c)) => write!(f, "Failed({c})"),
            State::Failed(None) => f.write_str("Failed"),
            State::OutOfMemory => f.write_str("OutOfMemory"),
            State::NodeFail => f.write_str("NodeFail"),
            other => write!(f, "{other:?}"),
        }
    }
}

/// A job's state and, where there is one, a short reason for people.
pub fn derive(files: &JobFiles) -> (State, Option<String>) {
    if cancel_counts(files) {
        return (State::Canceled, None);
    }
    let word = files.line(jobfile::STATUS).to_ascii_uppercase();
    let scheduler = scheduler_state(&word);
    let exit = files.line(jobfile::EXITCODE);
    if !exit.is_empty() {
        return match exit.parse::<i32>() {
            Ok(0) => (State::Done, None),
            // The scheduler knows why a job died better than its exit code: a command killed
            // for time, memory or by scancel may still have written one (e.g. 137 or 143).
            Ok(code) => match scheduler {
                Some(
                    s @ (State::Timeout | State::OutOfMemory | State::NodeFail | State::Canceled),
                ) => (s, None),
                // `Failed(3)` says it all.
                _ => (State::Failed(Some(code)), None),
            },
            Err(_) => (
                State::Unknown,
                Some(format!("unreadable {}: {exit:?}", jobfile::EXITCODE)),
            ),
        };
    }
    if let Some(s) = scheduler.filter(|s| s.is_finished()) {
        let reason = (s != State::Done).then(|| format!("scheduler says {word}"));
        return (s, reason);
    }
    let started = files.has(jobfile::START) && files.has(jobfile::BATCHID);
    if started && files.has(jobfile::END) {
        return (State::Done, None);
    }
    if started {
        return (State::Running, None);
    }
    if files.has(jobfile::ERROR) {
        return (State::Failed(None), Some(files.line(jobfile::ERROR)));
    }
    (State::Pending, None)
}

/// Does `job.canceled` decide the state? Not when it was written after the job had ended
/// (`job.end` is older): a cancel that came too late leaves the record as it was.
pub fn cancel_counts(files: &JobFiles) -> bool {
    if !files.has(jobfile::CANCELED) {
        return false;
    }
    match (
        time::parse(&files.line(jobfile::CANCELED)),
        time::parse(&files.line(jobfile::END)),
    ) {
        (Some(canceled), Some(end)) => canceled <= end,
        _ => true,
    }
}

/// Is `word` (a `job.status` line) a scheduler's final word on a job?
pub fn is_final_word(word: &str) -> bool {
    scheduler_state(&word.to_ascii_uppercase()).is_some_and(State::is_finished)
}

/// The state a scheduler's word in `job.status` means (Slurm's words; others map onto them).
fn scheduler_state(word: &str) -> Option<State> {
    let word = word.split_whitespace().next().unwrap_or("");
    Some(match word {
        "PENDING" | "CONFIGURING" | "REQUEUED" | "SUSPENDED" => State::Pending,
        "RUNNING" | "COMPLETING" => State::Running,
        "COMPLETED" => State::Done,
        "FAILED" | "BOOT_FAIL" | "DEADLINE" => State::Failed(None),
        "TIMEOUT" => State::Timeout,
        "OUT_OF_MEMORY" | "OOM" => State::OutOfMemory,
        "CANCELLED" | "CANCELED" | "PREEMPTED" => State::Canceled,
        "NODE_FAIL" => State::NodeFail,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(list: &[(&str, &str)]) -> JobFiles {
        let mut f = JobFiles::default();
        for (n, c) in list {
            f.insert(*n, c.as_bytes());
        }
        f
    }

    #[test]
    fn original_rule() {
        assert_eq!(derive(&files(&[])).0, State::Pending);
        let running = [("job.start", "t"), ("job.slurmid", "12")];
        assert_eq!(derive(&files(&running)).0, State::Running);
        let done = [("job.start", "t"), ("job.slurmid", "12"), ("job.end", "t")];
        assert_eq!(derive(&files(&done)).0, State::Done);
        assert_eq!(
            derive(&files(&[("job.canceled", "t"), done[0]])).0,
            State::Canceled
        );
        // A cancel that came after the end leaves the record alone.
        let late = [
            ("job.start", "2026-11-21 09:00:00 UTC"),
            ("job.slurmid", "12"),
            ("job.end", "2026-11-21 09:30:00 UTC"),
            ("job.exitcode", "0"),
            ("job.canceled", "2026-11-21 10:00:00 UTC"),
        ];
        assert_eq!(derive(&files(&late)).0, State::Done);
        let mut in_time = late;
        in_time[4].1 = "2026-11-21 09:29:59 UTC";
        assert_eq!(derive(&files(&in_time)).0, State::Canceled);
        // job.start without job.slurmid is still pending in the original.
        assert_eq!(derive(&files(&[("job.start", "t")])).0, State::Pending);
    }

    #[test]
    fn exit_codes_and_scheduler_words() {
        let base = [("job.start", "t"), ("job.slurmid", "1"), ("job.end", "t")];
        let with = |extra: &[(&'static str, &'static str)]| {
            let mut v = base.to_vec();
            v.extend_from_slice(extra);
            derive(&files(&v)).0
        };
        assert_eq!(with(&[("job.exitcode", "0\n")]), State::Done);
        assert_eq!(with(&[("job.exitcode", "3\n")]), State::Failed(Some(3)));
        assert_eq!(
            with(&[("job.exitcode", "137"), ("job.status", "OUT_OF_MEMORY")]),
            State::OutOfMemory
        );
        assert_eq!(
            derive(&files(&[("job.status", "TIMEOUT")])).0,
            State::Timeout
        );
        assert_eq!(
            derive(&files(&[("job.status", "CANCELLED by 1000")])).0,
            State::Canceled
        );
        let (s, why) = derive(&files(&[("job.error", "runner exited with 2\nmore")]));
        assert_eq!(s, State::Failed(None));
        assert_eq!(why.as_deref(), Some("runner exited with 2"));
        assert_eq!(State::Failed(Some(3)).to_string(), "Failed(3)");
    }
}
