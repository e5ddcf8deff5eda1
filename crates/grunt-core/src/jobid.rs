//! Job ids (`ore000042`: three letters of the user name and a six-digit number) and the ways a
//! person writes them on the command line: whole, as a bare number (`42`), or as an inclusive
//! range (`ore000011..22`, `11..22`, `ore000011..ore000022`; `...` is accepted too).

use std::fmt;
use std::str::FromStr;

use thiserror::Error;

/// Width of the zero-padded number in a job id.
pub const DIGITS: usize = 6;

/// Largest range one argument may expand to: a typo like `1..9999999` should not hang.
pub const MAX_RANGE: u64 = 100_000;

/// A malformed job id or range.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum JobIdError {
    #[error("{0:?} is not a job id: expected 1-3 letters of a user name and a {DIGITS}-digit number, like ore000042")]
    Malformed(String),
    #[error("{0:?} is not a job id, number or range (write ore000042, 42, or 11..22)")]
    BadSpec(String),
    #[error("range {0:?} is empty: its end is before its start")]
    EmptyRange(String),
    #[error("range {0:?} covers more than {MAX_RANGE} jobs; split it")]
    RangeTooLarge(String),
    #[error("user name {0:?} cannot start a job id: it needs a first character that is a letter, digit or '_'")]
    BadUser(String),
}

/// A job id: prefix (first 1-3 characters of the submitting user's name) and number.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct JobId {
    prefix: String,
    number: u64,
}

impl JobId {
    /// A job id for `user`'s job number `number`.
    pub fn new(prefix: &str, number: u64) -> Result<Self, JobIdError> {
        if !valid_prefix(prefix) {
            return Err(JobIdError::BadUser(prefix.to_string()));
        }
        Ok(JobId {
            prefix: prefix.to_string(),
            number,
        })
    }

    /// The prefix of `user`'s job ids: its first three characters, as the original does.
    pub fn prefix_for_user(user: &str) -> Result<String, JobIdError> {
        let prefix: String = user.chars().take(3).collect();
        if valid_prefix(&prefix) {
            Ok(prefix)
        } else {
            Err(JobIdError::BadUser(user.to_string()))
        }
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    pub fn number(&self) -> u64 {
        self.number
    }
}

fn valid_prefix(p: &str) -> bool {
    let n = p.chars().count();
    (1..=3).contains(&n)
        && p.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')
        && p.chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        // A prefix ending in a digit would be ambiguous with the number.
        && !p.chars().all(|c| c.is_ascii_digit())
}

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{:0width$}", self.prefix, self.number, width = DIGITS)
    }
}

impl FromStr for JobId {
    type Err = JobIdError;

    /// The prefix is the longest leading part of up to three characters after which only
    /// digits remain, at least six of them.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || JobIdError::Malformed(s.to_string());
        if !s.is_ascii() {
            return Err(bad());
        }
        for plen in (1..=3).rev() {
            if s.len() < plen + DIGITS {
                continue;
            }
            let (prefix, digits) = s.split_at(plen);
            if valid_prefix(prefix) && digits.bytes().all(|b| b.is_ascii_digit()) {
                let number = digits.parse().map_err(|_| bad())?;
                return Ok(JobId {
                    prefix: prefix.to_string(),
                    number,
                });
            }
        }
        Err(bad())
    }
}

/// One job argument as a person wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobSpec {
    /// A whole id.
    Id(JobId),
    /// A bare number: the job with that number (the user's own prefix wins a tie).
    Number(u64),
    /// An inclusive range of numbers, with the prefix when the start was a whole id.
    Range {
        prefix: Option<String>,
        start: u64,
        end: u64,
    },
}

impl FromStr for JobSpec {
    type Err = JobIdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if let Some((a, b)) = s.split_once("..") {
            let b = b.strip_prefix('.').unwrap_or(b);
            let (prefix, start, start_digits) = match a.parse::<JobId>() {
                Ok(id) => (
                    Some(id.prefix.clone()),
                    id.number,
                    a[id.prefix.len()..].to_string(),
                ),
                Err(_) => (None, parse_number(a, s)?, a.to_string()),
            };
            let end = if let Ok(id) = b.parse::<JobId>() {
                if prefix.as_deref().is_some_and(|p| p != id.prefix) {
                    return Err(JobIdError::BadSpec(s.to_string()));
                }
                id.number
            } else if b.len() < start_digits.len() && b.bytes().all(|c| c.is_ascii_digit()) {
                // `ore000098..102`: the end replaces the tail of the start's digits.
                let head = &start_digits[..start_digits.len() - b.len()];
                parse_number(&format!("{head}{b}"), s)?
            } else {
                parse_number(b, s)?
            };
            if end < start {
                return Err(JobIdError::EmptyRange(s.to_string()));
            }
            if end - start >= MAX_RANGE {
                return Err(JobIdError::RangeTooLarge(s.to_string()));
            }
            return Ok(JobSpec::Range { prefix, start, end });
        }
        if let Ok(id) = s.parse::<JobId>() {
            return Ok(JobSpec::Id(id));
        }
        Ok(JobSpec::Number(parse_number(s, s)?))
    }
}

fn parse_number(digits: &str, whole: &str) -> Result<u64, JobIdError> {
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || digits.len() > 12 {
        return Err(JobIdError::BadSpec(whole.to_string()));
    }
    digits
        .parse()
        .map_err(|_| JobIdError::BadSpec(whole.to_string()))
}

/// The result of matching job arguments against the jobs that exist.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Resolved {
    /// Existing jobs, in argument order, each once.
    pub found: Vec<JobId>,
    /// Arguments (or ids within ranges) that matched no job, to report as a note.
    pub missing: Vec<String>,
}

/// Matches parsed specs against `known` ids. `own_prefix` breaks ties for bare numbers.
pub fn resolve(specs: &[JobSpec], known: &[JobId], own_prefix: &str) -> Resolved {
    let mut out = Resolved::default();
    let push = |out: &mut Resolved, id: &JobId| {
        if !out.found.contains(id) {
            out.found.push(id.clone());
        }
    };
    let by_number = |n: u64, prefix: Option<&str>| -> Option<&JobId> {
        let mut hits = known
            .iter()
            .filter(|k| k.number == n && prefix.is_none_or(|p| k.prefix == p));
        let first = hits.next()?;
        Some(
            std::iter::once(first)
                .chain(hits)
                .find(|k| k.prefix == own_prefix)
                .unwrap_or(first),
        )
    };
    for spec in specs {
        match spec {
            JobSpec::Id(id) => match known.iter().find(|k| *k == id) {
                Some(k) => push(&mut out, k),
                None => out.missing.push(id.to_string()),
            },
            JobSpec::Number(n) => match by_number(*n, None) {
                Some(k) => push(&mut out, k),
                None => out.missing.push(n.to_string()),
            },
            JobSpec::Range { prefix, start, end } => {
                let mut any = false;
                for n in *start..=*end {
                    if let Some(k) = by_number(n, prefix.as_deref()) {
                        push(&mut out, k);
                        any = true;
                    }
                }
                if !any {
                    out.missing.push(format!("{start}..{end}"));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> JobId {
        s.parse().unwrap()
    }

    #[test]
    fn ids_round_trip() {
        let j = JobId::new("ore", 42).unwrap();
        assert_eq!(j.to_string(), "ore000042");
        assert_eq!(id("ore000042"), j);
        assert_eq!(id("ab000007").prefix(), "ab");
        assert_eq!(id("ore1234567").number(), 1_234_567);
    }

    #[test]
    fn malformed_ids() {
        for s in [
            "ore42",
            "ore00004x",
            "",
            "000000042",
            "../000042",
            "o/e000042",
        ] {
            assert!(s.parse::<JobId>().is_err(), "{s}");
        }
    }

    #[test]
    fn user_prefix() {
        assert_eq!(JobId::prefix_for_user("oreilly").unwrap(), "ore");
        assert_eq!(JobId::prefix_for_user("al").unwrap(), "al");
        assert!(JobId::prefix_for_user("").is_err());
        assert!(JobId::prefix_for_user("123abc").is_err());
    }

    #[test]
    fn specs() {
        assert_eq!("42".parse(), Ok(JobSpec::Number(42)));
        assert_eq!("ore000042".parse(), Ok(JobSpec::Id(id("ore000042"))));
        let r = |p: Option<&str>, start, end| JobSpec::Range {
            prefix: p.map(str::to_string),
            start,
            end,
        };
        assert_eq!("ore000011..22".parse(), Ok(r(Some("ore"), 11, 22)));
        assert_eq!("ore000098..102".parse(), Ok(r(Some("ore"), 98, 102)));
        assert_eq!("ore000011...ore000022".parse(), Ok(r(Some("ore"), 11, 22)));
        assert_eq!("11..22".parse(), Ok(r(None, 11, 22)));
        assert!(matches!(
            "22..11".parse::<JobSpec>(),
            Err(JobIdError::EmptyRange(_))
        ));
        assert!(matches!(
            "1..999999".parse::<JobSpec>(),
            Err(JobIdError::RangeTooLarge(_))
        ));
        assert!(matches!(
            "abc".parse::<JobSpec>(),
            Err(JobIdError::BadSpec(_))
        ));
        assert!(matches!(
            "ore000011..abc000022".parse::<JobSpec>(),
            Err(JobIdError::BadSpec(_))
        ));
    }

    #[test]
    fn resolving_skips_unknown_and_prefers_own_prefix() {
        let known = vec![
            id("ore000011"),
            id("ore000012"),
            id("bob000012"),
            id("ore000014"),
        ];
        let specs: Vec<JobSpec> = ["11..14", "12", "bob000012", "99", "ore000012"]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
        let r = resolve(&specs, &known, "ore");
        assert_eq!(
            r.found,
            vec![
                id("ore000011"),
                id("ore000012"),
                id("ore000014"),
                id("bob000012")
            ]
        );
        assert_eq!(r.missing, vec!["99".to_string()]);
        let r = resolve(&["12".parse().unwrap()], &known, "bob");
        assert_eq!(r.found, vec![id("bob000012")]);
    }
}
