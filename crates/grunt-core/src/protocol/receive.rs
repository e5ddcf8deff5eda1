//! `grunt receive`: a client's push in ONE ssh session, without `git-receive-pack` (which
//! spawns `index-pack` or `unpack-objects` in turn: ~4× the cost of the session itself).
//!
//! The client runs `grunt receive PATH REF OLD NEW` on the server with a pack on stdin: the
//! objects reachable from NEW and not from OLD (its remote-tracking ref, the server tip it saw
//! last; `-` for none). The server ([`apply`]) indexes the pack into a quarantine directory
//! under the bare repo's `objects/` (libgit2's indexer checks every object's hash and that
//! everything the pack's objects name exists, in the pack or in the repo), checks that NEW is
//! a commit that descends from OLD (no forced push: the bare repos refuse non-fast-forwards),
//! moves the pack into `objects/pack/` (durably, as git does), and only then moves REF from
//! OLD to NEW with a compare-and-swap. So a reader (grund) never sees a ref to objects it
//! cannot read, and a push that raced another is refused with the server's tip: the client
//! fetches and replays as after a rejected `git push`. Only `refs/heads/master` is accepted,
//! and only in a repo without push hooks or `core.sharedRepository` (grunt's repos have neither;
//! such a repo is left to `git-receive-pack`, which honours them).
//!
//! With `--wait SECS` (and `--have-results`), a successful receive goes on as `grunt await`
//! (see [`super::answer`]) in the same session: it waits for grund's answer and sends it.
//!
//! The reply: a header line [`HEADER`], then `ok`, `moved <tip or ->` or `refused <why>`, then
//! with `--wait` and `ok` the reply of `grunt await`. A server without `grunt` (or with one
//! that has no `receive`) prints no header: the client pushes with git instead.

use std::io::Write;
use std::path::{Path, PathBuf};

use git2::{ObjectType, Oid, Repository};

use super::answer::Reply;
use crate::git::refs::{self, Cas};
use crate::layout::BRANCH_REF;
use crate::{Error, Result};
use grunt_ssh::shell_quote;

/// The subcommand of `grunt` that receives a push on the server.
pub const SUBCOMMAND: &str = "receive";

/// The first line of a reply; its number changes with the reply's format.
pub const HEADER: &str = "grunt-receive 1";

/// The environment variable naming the server's `grunt` (default `grunt` on the PATH of its
/// non-interactive ssh sessions).
pub const REMOTE_GRUNT_VAR: &str = "GRUNT_REMOTE_GRUNT";

/// The largest pack a server takes (a project's files are copied into every job; a pack
/// beyond this is someone else's business).
pub const MAX_PACK: u64 = 4 << 30;

/// What the client asks `grunt receive` for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The bare repo's path as in the remote URL (relative to the home, or absolute).
    pub path: String,
    /// The ref to move (only [`BRANCH_REF`] is accepted).
    pub refname: String,
    /// The tip the client built on (`None`: the repo has no commit yet).
    pub old: Option<Oid>,
    pub new: Oid,
    /// Then wait for grund's answer to `new`, at most this many seconds.
    pub wait_secs: Option<u64>,
    /// With `wait_secs`: commits the client's results clone has.
    pub have_results: Vec<Oid>,
}

impl Request {
    /// The remote command line, every value quoted for the login shell; `program` is the
    /// server's `grunt`.
    pub fn command_line(&self, program: &str) -> String {
        let mut c = format!(
            "{} {SUBCOMMAND} {} {} {} {}",
            shell_quote(program),
            shell_quote(&self.path),
            shell_quote(&self.refname),
            self.old.map_or_else(|| "-".to_string(), |o| o.to_string()),
            self.new
        );
        if let Some(s) = self.wait_secs {
            c.push_str(&format!(" --wait {s}"));
            for h in &self.have_results {
                c.push_str(&format!(" --have-results {h}"));
            }
        }
        c
    }
}

/// How a receive ended on the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The ref moved to the new commit.
    Updated,
    /// The ref was not at the expected commit: it is at this one (`None`: no ref).
    Moved(Option<Oid>),
    /// The request or its objects are not acceptable; nothing was written.
    Refused(String),
}

impl Verdict {
    /// The verdict's line of the reply (after the header).
    pub fn write(&self, w: &mut dyn Write) -> std::io::Result<()> {
        writeln!(w, "{HEADER}")?;
        match self {
            Verdict::Updated => writeln!(w, "ok")?,
            Verdict::Moved(t) => writeln!(
                w,
                "moved {}",
                t.map_or_else(|| "-".to_string(), |o| o.to_string())
            )?,
            Verdict::Refused(why) => writeln!(w, "refused {}", why.replace('\n', " "))?,
        }
        w.flush()
    }
}

/// What the client reads back: `None` when the output has no header (no `grunt receive`
/// there); else the verdict and, after `ok` with a wait, the answer of `grunt await` (`None`
/// when it is missing or malformed: the client then waits as without it).
pub fn read_reply(data: &[u8]) -> Option<(Verdict, Option<Reply>)> {
    let start = find_line(data, HEADER.as_bytes())?;
    let rest = &data[start + HEADER.len() + 1..];
    let end = rest.iter().position(|b| *b == b'\n')?;
    let line = std::str::from_utf8(&rest[..end]).ok()?;
    let verdict = match line.split_once(' ').unwrap_or((line, "")) {
        ("ok", "") => Verdict::Updated,
        ("moved", "-") => Verdict::Moved(None),
        ("moved", tip) => Verdict::Moved(Some(Oid::from_str(tip).ok()?)),
        ("refused", why) => Verdict::Refused(why.to_string()),
        _ => return None,
    };
    let answer = match verdict {
        Verdict::Updated => Reply::read(&rest[end + 1..]).ok(),
        _ => None,
    };
    Some((verdict, answer))
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

/// The server's side: takes `pack` into `repo` and moves `refname` from `old` to `new`, as
/// described in the module docs. `Err` only for the server's own failures (a full disk);
/// anything wrong with the request is a [`Verdict::Refused`], with nothing written.
pub fn apply(
    repo: &Repository,
    refname: &str,
    old: Option<Oid>,
    new: Oid,
    pack: &[u8],
) -> Result<Verdict> {
    if refname != BRANCH_REF {
        return Ok(Verdict::Refused(format!(
            "only {BRANCH_REF} is received, not {refname:?}"
        )));
    }
    if let Some(hook) = hook(repo) {
        return Ok(Verdict::Refused(format!(
            "the repo has {hook}, which only a git push honours"
        )));
    }
    // Cheap, before anything is written: most races are seen here.
    let tip = crate::git::head(repo)?;
    if tip != old {
        return Ok(Verdict::Moved(tip));
    }
    // The checks look through a handle of their own, which alone sees the quarantine.
    let checker = crate::git::open(repo.path())?;
    let quarantine = if pack.is_empty() {
        None
    } else {
        match Quarantine::index(repo, &checker, pack)? {
            Ok(q) => Some(q),
            Err(why) => return Ok(Verdict::Refused(why)),
        }
    };
    if let Some(why) = refusal(&checker, old, new) {
        return Ok(Verdict::Refused(why));
    }
    if let Some(q) = &quarantine {
        q.publish(repo)?;
    }
    Ok(
        match refs::cas(repo, refname, new, old, "grunt: receive")? {
            Cas::Updated => Verdict::Updated,
            Cas::Moved => Verdict::Moved(crate::git::head(repo)?),
        },
    )
}

/// What a `git push` would honour and `grunt receive` does not, if the repo has it: a push hook,
/// or group sharing (grunt's own repos have neither). Such a repo is left to
/// `git-receive-pack`: the client falls back to it.
fn hook(repo: &Repository) -> Option<String> {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(cfg) = repo.config() {
        if cfg.get_path("core.hooksPath").is_ok() {
            return Some("core.hooksPath".into());
        }
        // A repo shared by a group: git gives new objects the group's permissions.
        let shared = cfg.get_string("core.sharedRepository").ok();
        if shared.is_some_and(|v| !matches!(v.as_str(), "false" | "umask" | "0" | "no" | "off")) {
            return Some("core.sharedRepository".into());
        }
    }
    let dir = repo.path().join("hooks");
    [
        "pre-receive",
        "update",
        "post-receive",
        "post-update",
        "reference-transaction",
        "proc-receive",
        "push-to-checkout",
    ]
    .into_iter()
    .find(|h| {
        std::fs::metadata(dir.join(h))
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    })
    .map(str::to_string)
}

/// Why `new` may not replace `old` (with the quarantined objects visible), if it may not.
fn refusal(repo: &Repository, old: Option<Oid>, new: Oid) -> Option<String> {
    let kind = match repo.find_object(new, None) {
        Ok(o) => o.kind(),
        Err(_) => return Some(format!("{new} is neither in the pack nor in the repo")),
    };
    if kind != Some(ObjectType::Commit) {
        return Some(format!(
            "{new} is a {}, not a commit",
            kind.map_or("?", |k| k.str())
        ));
    }
    match old {
        Some(old) if old == new => Some("nothing to push".into()),
        Some(old) => match repo.graph_descendant_of(new, old) {
            Ok(true) => None,
            _ => Some(format!(
                "{new} does not descend from {old} (no forced push)"
            )),
        },
        None => None,
    }
}

/// A received pack, indexed in a directory of its own under `objects/` until it is accepted
/// (as git's quarantine), and visible meanwhile to the lookups of the handle it was indexed
/// with only.
struct Quarantine {
    dir: PathBuf,
    objects: PathBuf,
    name: String,
    /// The objects in the pack.
    ids: Vec<Oid>,
    /// The quarantine alone.
    odb: git2::Odb<'static>,
}

/// A memory file system where a small pack's quarantine goes when it is there.
const MEMORY_DIR: &str = "/dev/shm";

/// The number of objects a pack's header announces.
fn pack_objects(pack: &[u8]) -> Option<usize> {
    let head = pack.get(..12)?;
    if &head[..4] != b"PACK" {
        return None;
    }
    let n = u32::from_be_bytes([head[8], head[9], head[10], head[11]]);
    usize::try_from(n).ok()
}

/// A new directory `name` in `base` that only this user may enter, if one can be made.
fn private_dir_in(base: &Path, name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::DirBuilderExt;
    let d = base.join(name);
    std::fs::DirBuilder::new().mode(0o700).create(&d).ok()?;
    Some(d)
}

/// Below this many objects, a pack is written as loose objects (git's `receive.unpackLimit`):
/// a pack per push would leave grund reading through hundreds of packs.
const UNPACK_LIMIT: usize = 100;

impl Quarantine {
    /// Indexes `pack` into a new quarantine directory, which `checker` then sees, and checks
    /// that everything its objects name is in it or in `repo`: `Ok(Err(why))` when it is not
    /// a valid, complete pack (it is removed then).
    fn index(
        repo: &Repository,
        checker: &Repository,
        pack: &[u8],
    ) -> Result<std::result::Result<Quarantine, String>> {
        let objects = repo.path().join("objects");
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let name = format!("incoming-{}-{stamp}", std::process::id());
        // A small pack becomes loose objects: its quarantine can be in memory (creating the
        // files and directories on the repo's disk was most of a receive's time); a large
        // one is kept as it is and must be renamed into place, so it stays on the same disk.
        let small = pack_objects(pack).is_some_and(|n| n < UNPACK_LIMIT);
        let in_memory = small
            .then(|| private_dir_in(Path::new(MEMORY_DIR), &name))
            .flatten();
        let dir = match in_memory {
            Some(d) => d,
            None => {
                let d = objects.join(&name);
                std::fs::create_dir(&d).map_err(Error::io("creating", &d))?;
                d
            }
        };
        let pack_dir = dir.join("pack");
        if let Err(e) = std::fs::create_dir(&pack_dir) {
            let _ = std::fs::remove_dir_all(&dir);
            return Err(Error::io("creating", &pack_dir)(e));
        }
        let gerr = |what: &'static str| Error::git(what, repo.path());
        let odb = git2::Odb::new().map_err(gerr("opening objects"))?;
        // From here on, dropping it removes the directory.
        let mut q = Quarantine {
            dir,
            objects,
            name: String::new(),
            ids: Vec::new(),
            odb,
        };
        // No odb for the indexer: a thin pack is refused, and its own connectivity check
        // looks up every name in the repo with a rescan of objects/pack on each miss (16,000
        // system calls for a 1,000-file job); [`Quarantine::complete`] does it by set instead.
        let indexed = (|| -> std::result::Result<String, String> {
            let mut ix = git2::Indexer::new(None, &pack_dir, 0, false)
                .map_err(|e| e.message().to_string())?;
            ix.write_all(pack).map_err(|e| e.to_string())?;
            ix.commit().map_err(|e| e.message().to_string())
        })();
        q.name = match indexed {
            Ok(n) => n,
            Err(why) => return Ok(Err(format!("not a valid pack: {why}"))),
        };
        let dir = q.dir.to_string_lossy().into_owned();
        q.odb
            .add_disk_alternate(&dir)
            .map_err(gerr("reading the received pack"))?;
        let mut ids = Vec::new();
        q.odb
            .foreach(|id| {
                ids.push(*id);
                true
            })
            .map_err(gerr("reading the received pack"))?;
        q.ids = ids;
        checker
            .odb()
            .and_then(|o| o.add_disk_alternate(&dir))
            .map_err(gerr("reading the received pack"))?;
        if let Some(why) = q.complete(repo, checker)? {
            return Ok(Err(why));
        }
        Ok(Ok(q))
    }

    /// Why the pack's objects are not complete (something they name is neither in the pack
    /// nor in `repo`), if they are not.
    fn complete(&self, repo: &Repository, checker: &Repository) -> Result<Option<String>> {
        let ours: std::collections::HashSet<Oid> = self.ids.iter().copied().collect();
        let main = repo
            .odb()
            .map_err(Error::git("opening objects", repo.path()))?;
        let present = |id: Oid| ours.contains(&id) || main.exists(id);
        for id in &self.ids {
            let Ok(obj) = checker.find_object(*id, None) else {
                return Ok(Some(format!("{id} in the pack cannot be read")));
            };
            let named: Vec<Oid> = match obj.kind() {
                Some(ObjectType::Commit) => match obj.as_commit() {
                    Some(c) => std::iter::once(c.tree_id()).chain(c.parent_ids()).collect(),
                    None => continue,
                },
                Some(ObjectType::Tree) => match obj.as_tree() {
                    // A gitlink (submodule) names a commit of another repo.
                    Some(t) => t
                        .iter()
                        .filter(|e| e.kind() != Some(ObjectType::Commit))
                        .map(|e| e.id())
                        .collect(),
                    None => continue,
                },
                Some(ObjectType::Tag) => obj.as_tag().map(|t| t.target_id()).into_iter().collect(),
                _ => continue,
            };
            if let Some(missing) = named.into_iter().find(|n| !present(*n)) {
                return Ok(Some(format!("{id} names {missing}, which is missing")));
            }
        }
        Ok(None)
    }

    /// Moves the objects into the repo: a small pack as loose objects, a large one as it is,
    /// durably (pack first, its index last: readers find packs by their index).
    fn publish(&self, repo: &Repository) -> Result<()> {
        if self.ids.len() < UNPACK_LIMIT {
            let main = repo
                .odb()
                .map_err(Error::git("opening objects", repo.path()))?;
            for id in &self.ids {
                let obj = self
                    .odb
                    .read(*id)
                    .map_err(Error::git("reading the received pack", &self.dir))?;
                main.write(obj.kind(), obj.data())
                    .map_err(Error::git("writing objects", repo.path()))?;
            }
            return Ok(());
        }
        let from = self.dir.join("pack");
        let to = self.objects.join("pack");
        std::fs::create_dir_all(&to).map_err(Error::io("creating", &to))?;
        for ext in ["pack", "rev", "idx"] {
            let file = format!("pack-{}.{ext}", self.name);
            let src = from.join(&file);
            if !src.exists() {
                continue;
            }
            sync_file(&src)?;
            std::fs::rename(&src, to.join(&file)).map_err(Error::io("moving", &src))?;
        }
        crate::fsutil::sync_dir(&to)
    }
}

impl Drop for Quarantine {
    fn drop(&mut self) {
        // Refused or failed: nothing of it stays. (After publish, only what was copied.)
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn sync_file(p: &Path) -> Result<()> {
    std::fs::File::open(p)
        .and_then(|f| f.sync_all())
        .map_err(Error::io("syncing", p))
}

/// The client's side: a pack of what `new` reaches and `old` does not, for the request.
pub fn pack_for(repo: &Repository, new: Oid, old: Option<Oid>) -> Result<Vec<u8>> {
    let err = || Error::git("packing objects", repo.path());
    let mut walk = repo.revwalk().map_err(err())?;
    walk.push(new).map_err(err())?;
    if let Some(o) = old {
        walk.hide(o).map_err(err())?;
    }
    let mut pb = repo.packbuilder().map_err(err())?;
    pb.insert_walk(&mut walk).map_err(err())?;
    let mut buf = git2::Buf::new();
    pb.write_buf(&mut buf).map_err(err())?;
    Ok(buf.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::git::{testutil, tree};

    fn commit(repo: &Repository, parent: Option<Oid>, file: &str) -> Oid {
        let p = parent.map(|p| repo.find_commit(p).unwrap());
        let t = tree::apply(
            repo,
            p.as_ref().map(|p| p.tree_id()),
            &[tree::put_bytes(repo, file, file.as_bytes(), false).unwrap()],
        )
        .unwrap();
        refs::make_commit(repo, &testutil::sig(), file, t, p.as_ref()).unwrap()
    }

    fn packs(repo: &Repository) -> usize {
        std::fs::read_dir(repo.path().join("objects/pack"))
            .map(|d| d.count())
            .unwrap_or(0)
    }

    #[test]
    fn receives_refuses_and_sees_races() {
        let (_s, server) = testutil::repo(true);
        let (_c, client) = testutil::repo(false);
        let a = commit(&client, None, "a");
        let pack = pack_for(&client, a, None).unwrap();
        assert_eq!(
            apply(&server, BRANCH_REF, None, a, &pack).unwrap(),
            Verdict::Updated
        );
        assert_eq!(crate::git::head(&server).unwrap(), Some(a));
        let b = commit(&client, Some(a), "b");
        let pack_b = pack_for(&client, b, Some(a)).unwrap();
        // Stale: the client thinks the repo is empty.
        assert_eq!(
            apply(&server, BRANCH_REF, None, b, &pack_b).unwrap(),
            Verdict::Moved(Some(a))
        );
        let before = packs(&server);
        // Garbage, another ref, a tree instead of a commit, a commit that is not a descendant.
        for (r, new, pack) in [
            (BRANCH_REF, b, b"garbage".to_vec()),
            ("refs/heads/other", b, pack_b.clone()),
            (
                BRANCH_REF,
                client.find_commit(b).unwrap().tree_id(),
                pack_b.clone(),
            ),
        ] {
            let v = apply(&server, r, Some(a), new, &pack).unwrap();
            assert!(matches!(v, Verdict::Refused(_)), "{v:?}");
        }
        // A pack without the tree its commit names.
        let mut pb = client.packbuilder().unwrap();
        pb.insert_object(b, None).unwrap();
        let mut buf = git2::Buf::new();
        pb.write_buf(&mut buf).unwrap();
        let v = apply(&server, BRANCH_REF, Some(a), b, &buf).unwrap();
        assert!(
            matches!(&v, Verdict::Refused(why) if why.contains("missing")),
            "{v:?}"
        );
        // A repo with a hook is left to git.
        let hook = server.path().join("hooks/post-receive");
        std::fs::create_dir_all(hook.parent().unwrap()).unwrap();
        std::fs::write(&hook, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&hook, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        let v = apply(&server, BRANCH_REF, Some(a), b, &pack_b).unwrap();
        assert!(
            matches!(&v, Verdict::Refused(why) if why.contains("post-receive")),
            "{v:?}"
        );
        std::fs::remove_file(&hook).unwrap();
        // So is a repo shared by a group.
        let mut cfg = server.config().unwrap();
        cfg.set_str("core.sharedRepository", "group").unwrap();
        let v = apply(&server, BRANCH_REF, Some(a), b, &pack_b).unwrap();
        assert!(
            matches!(&v, Verdict::Refused(why) if why.contains("sharedRepository")),
            "{v:?}"
        );
        cfg.remove("core.sharedRepository").unwrap();
        let side = commit(&client, None, "side");
        let pack_side = pack_for(&client, side, None).unwrap();
        let v = apply(&server, BRANCH_REF, Some(a), side, &pack_side).unwrap();
        assert!(matches!(v, Verdict::Refused(_)), "{v:?}");
        assert_eq!(packs(&server), before, "nothing written");
        assert!(server.find_commit(b).is_err());
        assert_eq!(
            apply(&server, BRANCH_REF, Some(a), b, &pack_b).unwrap(),
            Verdict::Updated
        );
        let leftovers: Vec<_> = std::fs::read_dir(server.path().join("objects"))
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().starts_with("incoming-"))
            .collect();
        assert!(leftovers.is_empty());
        let ours = format!("incoming-{}-", std::process::id());
        let in_memory = std::fs::read_dir(MEMORY_DIR)
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .filter(|e| e.file_name().to_string_lossy().starts_with(&ours))
                    .count()
            })
            .unwrap_or(0);
        assert_eq!(in_memory, 0, "a quarantine left in {MEMORY_DIR}");
    }

    #[test]
    fn reply_round_trips() {
        let o = Oid::from_str(&"a".repeat(40)).unwrap();
        for v in [
            Verdict::Updated,
            Verdict::Moved(None),
            Verdict::Moved(Some(o)),
            Verdict::Refused("no\nway".into()),
        ] {
            let mut out = b"motd\n".to_vec();
            v.write(&mut out).unwrap();
            let (back, answer) = read_reply(&out).unwrap();
            assert!(answer.is_none());
            match v {
                Verdict::Refused(_) => assert_eq!(back, Verdict::Refused("no way".into())),
                v => assert_eq!(back, v),
            }
        }
        assert!(read_reply(b"sh: grunt: not found\n").is_none());
        assert!(read_reply(b"grunt-receive 1\nwhat\n").is_none());
    }
}
