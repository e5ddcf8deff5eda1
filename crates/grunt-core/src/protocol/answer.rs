//! `grunt await`: a client's `--wait` asks the server ONCE. It runs `grunt await` there over
//! the same ssh connection; that process watches the project's bare jobs repo until
//! `grund_status.txt` in its tip answers the client's commit (or the deadline passes), then
//! sends back, on stdout, the new tips of the jobs and results repos with a pack of the
//! objects the client lacks, so the answer arrives without another fetch.
//!
//! The reply ([`Reply`]): a header line [`HEADER`], `answered` or `waiting` (deadline passed),
//! then for each repo `repo <jobs|results> <tip or -> <length>` followed by that many bytes of
//! pack, then `end`. Anything a login script prints before the header is skipped. A server
//! whose `grunt` is missing or too old gives no header: the client then polls as before.

use std::io::Write;
use std::time::{Duration, Instant};

use git2::{Oid, Repository};

use super::status_file::{GrundStatus, FILE_NAME};
use crate::git::{self, tree};
use crate::{Error, Result};
use grunt_ssh::shell_quote;

/// The subcommand of `grunt` that waits on the server.
pub const SUBCOMMAND: &str = "await";

/// The first line of a reply; its number changes with the reply's format.
pub const HEADER: &str = "grunt-await 1";

/// What a client asks `grunt await` for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// `<root>/bb/<server>/<user>/<project>`, relative to the server account's home or
    /// absolute: where the bare `jobs` and `results` repos are.
    pub base: String,
    /// The client's pushed commit.
    pub commit: Oid,
    /// How long to wait at most.
    pub secs: u64,
    /// Commits the client has in its jobs and results clones (the pack leaves out what they
    /// reach).
    pub have_jobs: Vec<Oid>,
    pub have_results: Vec<Oid>,
}

impl Request {
    /// The remote command line, every value quoted for the login shell; `program` is the
    /// server's `grunt`.
    pub fn command_line(&self, program: &str) -> String {
        let mut c = format!(
            "{} {SUBCOMMAND} {} {} --secs {}",
            shell_quote(program),
            shell_quote(&self.base),
            self.commit,
            self.secs
        );
        for h in &self.have_jobs {
            c.push_str(&format!(" --have-jobs {h}"));
        }
        for h in &self.have_results {
            c.push_str(&format!(" --have-results {h}"));
        }
        c
    }
}

/// One repo's new state in a reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoUpdate {
    pub tip: Oid,
    /// A pack of the objects reachable from `tip` and not from the client's haves (empty when
    /// it has them all).
    pub pack: Vec<u8>,
}

/// What `grunt await` sends back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// Whether grund has answered the commit (false: the deadline passed first).
    pub answered: bool,
    pub jobs: Option<RepoUpdate>,
    pub results: Option<RepoUpdate>,
}

/// A reply that cannot be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ReplyError {
    #[error("no `{HEADER}` line in the server's answer (no grunt there, or an older one)")]
    NoHeader,
    #[error("the server's `grunt await` answer is malformed: {0}")]
    Malformed(String),
}

impl Reply {
    /// Writes the reply.
    pub fn write(&self, w: &mut dyn Write) -> std::io::Result<()> {
        writeln!(w, "{HEADER}")?;
        writeln!(w, "{}", if self.answered { "answered" } else { "waiting" })?;
        for (name, u) in [("jobs", &self.jobs), ("results", &self.results)] {
            match u {
                Some(u) => {
                    writeln!(w, "repo {name} {} {}", u.tip, u.pack.len())?;
                    w.write_all(&u.pack)?;
                }
                None => writeln!(w, "repo {name} - 0")?,
            }
        }
        writeln!(w, "end")?;
        w.flush()
    }

    /// Reads a reply from everything the remote command printed.
    pub fn read(data: &[u8]) -> std::result::Result<Reply, ReplyError> {
        let start = find_line(data, HEADER.as_bytes()).ok_or(ReplyError::NoHeader)?;
        let mut r = Cursor {
            data,
            at: start + HEADER.len() + 1,
        };
        let answered = match r.line()? {
            "answered" => true,
            "waiting" => false,
            other => return Err(ReplyError::Malformed(format!("state {other:?}"))),
        };
        let mut repos = [None, None];
        for (i, name) in ["jobs", "results"].iter().enumerate() {
            let line = r.line()?.to_string();
            let f: Vec<&str> = line.split(' ').collect();
            let [_, n, tip, len] = f.as_slice() else {
                return Err(ReplyError::Malformed(format!("repo line {line:?}")));
            };
            if n != name || f[0] != "repo" {
                return Err(ReplyError::Malformed(format!("repo line {line:?}")));
            }
            let len: usize = len
                .parse()
                .map_err(|_| ReplyError::Malformed(format!("length in {line:?}")))?;
            let pack = r.bytes(len)?.to_vec();
            if *tip != "-" {
                let tip = Oid::from_str(tip)
                    .map_err(|_| ReplyError::Malformed(format!("tip in {line:?}")))?;
                repos[i] = Some(RepoUpdate { tip, pack });
            }
        }
        if r.line()? != "end" {
            return Err(ReplyError::Malformed("no end line".into()));
        }
        let [jobs, results] = repos;
        Ok(Reply {
            answered,
            jobs,
            results,
        })
    }
}

/// Where the line `line` starts in `data` (at its start or after a newline).
fn find_line(data: &[u8], line: &[u8]) -> Option<usize> {
    let mut at = 0;
    while at + line.len() < data.len() {
        if data[at..].starts_with(line) && data[at + line.len()] == b'\n' {
            return Some(at);
        }
        at += data[at..].iter().position(|b| *b == b'\n')? + 1;
    }
    None
}

struct Cursor<'a> {
    data: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn line(&mut self) -> std::result::Result<&'a str, ReplyError> {
        let rest = self.data.get(self.at..).unwrap_or_default();
        let end = rest
            .iter()
            .position(|b| *b == b'\n')
            .ok_or_else(|| ReplyError::Malformed("truncated".into()))?;
        self.at += end + 1;
        std::str::from_utf8(&rest[..end]).map_err(|_| ReplyError::Malformed("not text".into()))
    }

    fn bytes(&mut self, n: usize) -> std::result::Result<&'a [u8], ReplyError> {
        let b = self
            .data
            .get(self.at..self.at.saturating_add(n))
            .ok_or_else(|| ReplyError::Malformed("truncated pack".into()))?;
        self.at += n;
        Ok(b)
    }
}

/// Whether the tip of the bare jobs repo answers `commit` (see [`GrundStatus::answers`]).
pub fn is_answered(jobs: &Repository, commit: Oid) -> Result<bool> {
    let Some(head) = git::head(jobs)? else {
        return Ok(false);
    };
    let tree = jobs
        .find_commit(head)
        .and_then(|c| c.tree())
        .map_err(Error::git("reading tree", jobs.path()))?;
    Ok(tree::read_file(jobs, &tree, FILE_NAME)
        .is_some_and(|t| GrundStatus::from_bytes(&t).answers(jobs, commit)))
}

/// Waits until the bare jobs repo answers `commit` or `deadline` passes; `pause(max)` blocks
/// until the repo may have changed or `max` has passed (a watcher, or a sleep), and says
/// whether to go on (false: nobody waits for the answer any more). Returns whether it was
/// answered.
pub fn wait_answered(
    jobs: &Repository,
    commit: Oid,
    deadline: Instant,
    pause: &mut dyn FnMut(Duration) -> bool,
) -> Result<bool> {
    loop {
        if is_answered(jobs, commit)? {
            return Ok(true);
        }
        let now = Instant::now();
        if now >= deadline {
            return Ok(false);
        }
        // Bounded even if the watcher says nothing: a look every 250 ms at most.
        if !pause((deadline - now).min(Duration::from_millis(250))) {
            return Ok(false);
        }
    }
}

/// The repo's tip and a pack of what `haves` do not reach (`None`: no commit yet). Haves the
/// repo does not know are ignored.
pub fn update_since(repo: &Repository, haves: &[Oid]) -> Result<Option<RepoUpdate>> {
    let Some(tip) = git::head(repo)? else {
        return Ok(None);
    };
    let err = || Error::git("packing objects", repo.path());
    let odb = repo.odb().map_err(err())?;
    if haves.contains(&tip) {
        return Ok(Some(RepoUpdate {
            tip,
            pack: Vec::new(),
        }));
    }
    let mut walk = repo.revwalk().map_err(err())?;
    walk.push(tip).map_err(err())?;
    for h in haves {
        if odb.exists(*h) {
            walk.hide(*h).map_err(err())?;
        }
    }
    let mut pb = repo.packbuilder().map_err(err())?;
    pb.insert_walk(&mut walk).map_err(err())?;
    let mut buf = git2::Buf::new();
    pb.write_buf(&mut buf).map_err(err())?;
    Ok(Some(RepoUpdate {
        tip,
        pack: buf.to_vec(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn oid(c: char) -> Oid {
        Oid::from_str(&c.to_string().repeat(40)).unwrap()
    }

    #[test]
    fn reply_round_trips_after_noise() {
        let reply = Reply {
            answered: true,
            jobs: Some(RepoUpdate {
                tip: oid('a'),
                pack: b"PACK\n\0binary\nrepo x".to_vec(),
            }),
            results: None,
        };
        let mut out = b"Welcome to the cluster\ngrunt-await 12\n".to_vec();
        reply.write(&mut out).unwrap();
        assert_eq!(Reply::read(&out), Ok(reply.clone()));
        let waiting = Reply {
            answered: false,
            ..reply
        };
        let mut out = Vec::new();
        waiting.write(&mut out).unwrap();
        assert_eq!(Reply::read(&out), Ok(waiting));
        // Truncated or foreign output is an error, never a panic.
        for cut in 0..out.len() {
            let _ = Reply::read(&out[..cut]);
        }
        assert_eq!(
            Reply::read(b"sh: grunt: not found\n"),
            Err(ReplyError::NoHeader)
        );
        assert!(matches!(
            Reply::read(b"grunt-await 1\nanswered\nrepo jobs aaaa 3\n"),
            Err(ReplyError::Malformed(_))
        ));
    }

    #[test]
    fn command_line_quotes() {
        let r = Request {
            base: "gruntsrv/bb/c/o re/sim".into(),
            commit: oid('b'),
            secs: 60,
            have_jobs: vec![oid('c')],
            have_results: vec![],
        };
        assert_eq!(
            r.command_line("grunt"),
            format!(
                "'grunt' await 'gruntsrv/bb/c/o re/sim' {} --secs 60 --have-jobs {}",
                oid('b'),
                oid('c')
            )
        );
    }
}
