//! Jobs grund holds back instead of submitting at once: the cap on jobs in flight
//! (`[queue] max_in_flight = N` in grunt.toml makes the jobs beyond it `Queued`) and
//! dependencies (`job.after`: `Waiting` until those jobs ended well, `Canceled` when one ended
//! badly; `job.after_any`: until they ended, however). grund writes its decision into
//! `job.held`: the state's word on the first line, the reason on the second. It is an ordinary
//! `job.*` file: an older client ignores it and sees `Pending` by the original rule (and
//! `Canceled` from the `job.canceled` grund writes when a dependency failed).

use crate::config;
use crate::jobfile::{self, JobFiles};
use crate::jobid::JobId;
use crate::state::State;

/// What grund decided about a job it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Held {
    /// Beyond the cap on jobs in flight.
    Queued(String),
    /// Its dependencies have not ended (well) yet.
    Waiting(String),
    /// A dependency ended badly, or the job was canceled while held: it never runs.
    Canceled(String),
}

impl Held {
    const QUEUED: &'static str = "Queued";
    const WAITING: &'static str = "Waiting";
    const CANCELED: &'static str = "Canceled";

    /// `job.held`'s content.
    pub fn render(&self) -> String {
        let (word, why) = match self {
            Held::Queued(w) => (Self::QUEUED, w),
            Held::Waiting(w) => (Self::WAITING, w),
            Held::Canceled(w) => (Self::CANCELED, w),
        };
        format!("{word}\n{}\n", why.replace('\n', " "))
    }

    /// Reads `job.held`; `None` for anything else.
    pub fn parse(text: &str) -> Option<Held> {
        let mut lines = text.lines();
        let word = lines.next()?.trim();
        let why = lines.next().unwrap_or("").trim().to_string();
        Some(match word {
            Self::QUEUED => Held::Queued(why),
            Self::WAITING => Held::Waiting(why),
            Self::CANCELED => Held::Canceled(why),
            _ => return None,
        })
    }

    pub fn of(files: &JobFiles) -> Option<Held> {
        files.text(jobfile::HELD).and_then(Held::parse)
    }

    /// Is the job still held (not yet submitted, not canceled)?
    pub fn is_holding(&self) -> bool {
        !matches!(self, Held::Canceled(_))
    }

    pub fn reason(&self) -> &str {
        match self {
            Held::Queued(w) | Held::Waiting(w) | Held::Canceled(w) => w,
        }
    }
}

/// A job's dependencies, from `job.after` and `job.after_any`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Deps {
    /// Must end well (`Done`).
    pub after: Vec<JobId>,
    /// Must end, however.
    pub after_any: Vec<JobId>,
}

impl Deps {
    pub fn of(files: &JobFiles) -> Deps {
        let ids = |name| {
            files
                .text(name)
                .unwrap_or("")
                .lines()
                .filter_map(|l| l.trim().parse::<JobId>().ok())
                .collect()
        };
        Deps {
            after: ids(jobfile::AFTER),
            after_any: ids(jobfile::AFTER_ANY),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.after.is_empty() && self.after_any.is_empty()
    }

    /// What the dependencies allow, given each one's state (`None`: no such job).
    pub fn verdict(&self, state_of: impl Fn(&JobId) -> Option<State>) -> Verdict {
        let mut waiting = Vec::new();
        for (id, must_succeed) in self
            .after
            .iter()
            .map(|i| (i, true))
            .chain(self.after_any.iter().map(|i| (i, false)))
        {
            match state_of(id) {
                None if must_succeed => {
                    return Verdict::Cancel(format!("after {id}, which does not exist"))
                }
                None => {}
                Some(s) if !s.is_finished() => waiting.push(format!("{id} ({s})")),
                Some(s) if must_succeed && !s.is_success() => {
                    return Verdict::Cancel(format!("{id} ended {s}"))
                }
                Some(_) => {}
            }
        }
        match waiting.is_empty() {
            true => Verdict::Ready,
            false => Verdict::Wait(format!("waits for {}", waiting.join(", "))),
        }
    }
}

/// What a job's dependencies allow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Ready,
    Wait(String),
    Cancel(String),
}

/// `[queue] max_in_flight = N` of a project's grunt.toml: how many of its jobs may be
/// submitted and not yet ended at once (`None`: no cap).
pub fn max_in_flight(cfg: &config::ProjectConfig) -> Option<usize> {
    cap(cfg.raw.get("queue"))
}

/// `[queue.profile.NAME] max_in_flight = N`: the cap on the jobs of one profile, on top of the
/// project's.
pub fn profile_max_in_flight(cfg: &config::ProjectConfig, profile: &str) -> Option<usize> {
    cap(cfg
        .raw
        .get("queue")
        .and_then(|q| q.get("profile"))
        .and_then(|p| p.get(profile)))
}

fn cap(table: Option<&toml::Value>) -> Option<usize> {
    table
        .and_then(|q| q.get("max_in_flight"))
        .and_then(|v| v.as_integer())
        .and_then(|n| usize::try_from(n).ok())
        .filter(|n| *n > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u64) -> JobId {
        JobId::new("ore", n).unwrap()
    }

    #[test]
    fn held_round_trips() {
        for h in [
            Held::Queued("2 in flight".into()),
            Held::Waiting("waits for ore000001 (Running)".into()),
            Held::Canceled("ore000001 ended Failed(3)".into()),
        ] {
            assert_eq!(Held::parse(&h.render()), Some(h));
        }
        assert_eq!(Held::parse("Bogus\n"), None);
    }

    #[test]
    fn verdicts() {
        let d = Deps {
            after: vec![id(1)],
            after_any: vec![id(2)],
        };
        let v = |a: Option<State>, b: Option<State>| d.verdict(|i| if *i == id(1) { a } else { b });
        assert_eq!(
            v(Some(State::Done), Some(State::Failed(Some(1)))),
            Verdict::Ready
        );
        assert!(matches!(
            v(Some(State::Running), Some(State::Done)),
            Verdict::Wait(_)
        ));
        assert!(matches!(
            v(Some(State::Done), Some(State::Pending)),
            Verdict::Wait(_)
        ));
        assert_eq!(
            v(Some(State::Failed(Some(3))), Some(State::Running)),
            Verdict::Cancel("ore000001 ended Failed(3)".into())
        );
        assert!(matches!(v(None, None), Verdict::Cancel(_)));
    }
}
