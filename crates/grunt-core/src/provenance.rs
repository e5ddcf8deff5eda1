//! The record of where a job came from, as two job files the original client ignores:
//! `job.commit` (written by `grunt submit`: the project's commit, branch, remote and whether
//! tracked files had uncommitted changes, stored then as `job.patch`) and `job.inputs`
//! (written by grund at submit: the content hashes of the data paths `[inputs] paths` names).
//! Both are `key: value` / one-line-per-entry text, readable by people and by `grunt`.

use serde::Serialize;

/// `job.commit`: the project's source at submit.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SourceRecord {
    /// The project repository's `HEAD` commit (full sha).
    pub commit: String,
    /// The branch checked out, if any (none when `HEAD` is detached).
    pub branch: Option<String>,
    /// The URL of the branch's upstream remote, else of `origin`, if any.
    pub remote: Option<String>,
    /// The project directory inside the repository (`""` at its top).
    pub subdir: String,
    /// How many tracked files had uncommitted changes (their diff is `job.patch`).
    pub changed_files: usize,
}

impl SourceRecord {
    /// Whether the job's files differ from `commit` (then `job.patch` holds the difference).
    pub fn dirty(&self) -> bool {
        self.changed_files > 0
    }

    pub fn render(&self) -> String {
        let mut s = format!("commit: {}\n", self.commit);
        if let Some(b) = &self.branch {
            s.push_str(&format!("branch: {b}\n"));
        }
        if let Some(r) = &self.remote {
            s.push_str(&format!("remote: {r}\n"));
        }
        if !self.subdir.is_empty() {
            s.push_str(&format!("subdir: {}\n", self.subdir));
        }
        if self.dirty() {
            s.push_str(&format!(
                "uncommitted: {} tracked file(s) changed; their diff is job.patch\n",
                self.changed_files
            ));
        } else {
            s.push_str("uncommitted: none\n");
        }
        s
    }

    /// Reads `job.commit`; `None` without a `commit:` line.
    pub fn parse(text: &str) -> Option<SourceRecord> {
        let mut r = SourceRecord::default();
        for line in text.lines() {
            let Some((k, v)) = line.split_once(':') else {
                continue;
            };
            let v = v.trim().to_string();
            match k.trim() {
                "commit" => r.commit = v,
                "branch" => r.branch = Some(v),
                "remote" => r.remote = Some(v),
                "subdir" => r.subdir = v,
                "uncommitted" => {
                    r.changed_files = v
                        .split_whitespace()
                        .next()
                        .and_then(|n| n.parse().ok())
                        .unwrap_or(0)
                }
                _ => {}
            }
        }
        (!r.commit.is_empty()).then_some(r)
    }
}

/// What an input path was when the job was submitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum InputKind {
    File,
    /// A directory, hashed as a tree: the sha256 of its files' `<sha256> <size> <path>` lines.
    Dir,
    Missing,
}

/// One line of `job.inputs`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InputRecord {
    pub path: String,
    pub kind: InputKind,
    /// Bytes (a directory: all its files).
    pub size: u64,
    /// Hex sha256 (empty when missing).
    pub sha256: String,
}

/// The first line of `job.inputs`.
pub const INPUTS_HEADER: &str = "# grunt inputs 1: sha256 size kind path";

/// Renders `job.inputs`: a header, then `<sha256|-> <size> <file|dir|missing> <path>` lines.
pub fn render_inputs(inputs: &[InputRecord]) -> String {
    let mut s = format!("{INPUTS_HEADER}\n");
    for i in inputs {
        let kind = match i.kind {
            InputKind::File => "file",
            InputKind::Dir => "dir",
            InputKind::Missing => "missing",
        };
        let sha = if i.sha256.is_empty() { "-" } else { &i.sha256 };
        s.push_str(&format!("{sha} {} {kind} {}\n", i.size, i.path));
    }
    s
}

/// Reads `job.inputs`; malformed lines are skipped.
pub fn parse_inputs(text: &str) -> Vec<InputRecord> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| {
            let mut p = l.splitn(4, ' ');
            let (sha, size, kind, path) = (p.next()?, p.next()?, p.next()?, p.next()?);
            let kind = match kind {
                "file" => InputKind::File,
                "dir" => InputKind::Dir,
                "missing" => InputKind::Missing,
                _ => return None,
            };
            Some(InputRecord {
                path: path.to_string(),
                kind,
                size: size.parse().ok()?,
                sha256: if sha == "-" {
                    String::new()
                } else {
                    sha.to_string()
                },
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_record_round_trips() {
        let r = SourceRecord {
            commit: "a".repeat(40),
            branch: Some("main".into()),
            remote: Some("git@host:me/sim.git".into()),
            subdir: "models/sim".into(),
            changed_files: 2,
        };
        assert_eq!(SourceRecord::parse(&r.render()), Some(r.clone()));
        let clean = SourceRecord {
            changed_files: 0,
            branch: None,
            remote: None,
            subdir: String::new(),
            ..r
        };
        assert!(!clean.dirty());
        assert_eq!(SourceRecord::parse(&clean.render()), Some(clean));
        assert_eq!(SourceRecord::parse("junk\n"), None);
    }

    #[test]
    fn inputs_round_trip() {
        let v = vec![
            InputRecord {
                path: "/data/set one".into(),
                kind: InputKind::Dir,
                size: 12,
                sha256: "ab".repeat(32),
            },
            InputRecord {
                path: "/data/gone".into(),
                kind: InputKind::Missing,
                size: 0,
                sha256: String::new(),
            },
        ];
        assert_eq!(parse_inputs(&render_inputs(&v)), v);
    }
}
