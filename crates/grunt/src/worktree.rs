//! Keeping a clone's index and working tree in step with its `master`, for clones that the
//! original Python client made (it checks files out and commits with `git commit -am`).
//!
//! Ours moves `master` with git objects alone. A checked-out clone whose index still holds
//! the old tree would have the original's next `git commit -am` commit that stale index:
//! undoing every job and move ours pushed meanwhile. So after ours moves the ref, the
//! changes between the tree the index holds and `master`'s tree are applied to the index and
//! the files, path by path, as `git merge --ff` would: a file the user changed since (it
//! differs from what the index holds) is kept, with a warning.
//!
//! The index itself is the baseline, not a remembered commit: so a clone left stale by an
//! older grunt, or by one killed before it got here, is repaired too. A clone with an empty
//! index (ours makes its jobs clone without a checkout) is left alone.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use git2::{Delta, Oid, Repository};
use grunt_core::layout::BRANCH_REF;

/// What [`follow`] did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Followed {
    /// Paths written, replaced or removed.
    pub updated: usize,
    /// Paths the user changed in the working tree, left as they are.
    pub kept: Vec<PathBuf>,
}

/// Brings the index and files of `repo` to `master`'s tree, when `repo` is a checked-out
/// clone on `master`; otherwise does nothing.
pub fn follow(repo: &Repository) -> Result<Followed> {
    let Some(workdir) = repo.workdir().map(Path::to_path_buf) else {
        return Ok(Followed::default());
    };
    if !on_master(repo) {
        return Ok(Followed::default());
    }
    let Some(target) = grunt_core::git::head(repo)? else {
        return Ok(Followed::default());
    };
    // Nothing moved since the last look, and nobody touched the index: nothing to read.
    let seen = Seen::now(repo, target);
    if seen.is_some() && seen == Seen::last(repo) {
        return Ok(Followed::default());
    }
    let mut index = repo.index().context("reading the index")?;
    if index.is_empty() {
        return Ok(Followed::default());
    }
    let target_commit = target;
    let target = repo.find_commit(target)?.tree()?;
    if index.has_conflicts() {
        anyhow::bail!("the index has unresolved conflicts; left as it is");
    }
    let base_id = index.write_tree().context("reading the index's tree")?;
    if base_id == target.id() {
        Seen::record(repo, target_commit);
        return Ok(Followed::default());
    }
    // A stale index holds the tree of an older master. Any other tree holds changes nobody
    // committed (staged by hand, or by an original client stopped half-way): not ours to undo.
    if !in_history(repo, target_commit, base_id)? {
        anyhow::bail!(
            "its index holds changes that are in no commit of master; left as it is (`git status` shows them)"
        );
    }
    let base = repo.find_tree(base_id)?;
    let diff = repo.diff_tree_to_tree(Some(&base), Some(&target), None)?;
    let mut done = Followed::default();
    for delta in diff.deltas() {
        let (old, new) = (delta.old_file(), delta.new_file());
        let Some(rel) = new.path().or(old.path()).map(Path::to_path_buf) else {
            continue;
        };
        if !safe_path(&rel) {
            anyhow::bail!(
                "refusing to write {} outside the working tree",
                rel.display()
            );
        }
        let abs = workdir.join(&rel);
        // Submodules and the like: never in a jobs or results repo, and not files to write.
        let plain = |m: git2::FileMode| !matches!(m, git2::FileMode::Commit | git2::FileMode::Tree);
        if !plain(old.mode()) || !plain(new.mode()) {
            continue;
        }
        let had = (delta.status() != Delta::Added).then(|| old.id());
        let wants = (delta.status() != Delta::Deleted).then(|| (new.id(), new.mode()));
        if !untouched(&abs, had, wants.map(|w| w.0)) {
            // The user's change wins, as `git merge` would keep it; the index follows master
            // so that `git status` shows exactly that change.
            done.kept.push(rel.clone());
            match wants {
                Some((id, mode)) => index.add(&entry(&rel, id, mode.into()))?,
                None => index.remove_path(&rel)?,
            }
            continue;
        }
        match wants {
            Some((id, mode)) => {
                write_blob(repo, &abs, id, mode)
                    .with_context(|| format!("writing {}", abs.display()))?;
                index
                    .add_path(&rel)
                    .with_context(|| format!("adding {} to the index", rel.display()))?;
            }
            None => {
                match std::fs::remove_file(&abs) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(e).with_context(|| format!("removing {}", abs.display())),
                }
                remove_empty_parents(&workdir, &abs);
                index.remove_path(&rel)?;
            }
        }
        done.updated += 1;
    }
    index.write().context("writing the index")?;
    Seen::record(repo, target_commit);
    Ok(done)
}

/// What [`follow`] last found in step: master's commit and the index file's size and time.
/// Kept in the git directory, so that a command that moved nothing costs no index read.
#[derive(Debug, PartialEq, Eq)]
struct Seen(String);

impl Seen {
    const FILE: &'static str = "grunt-worktree";

    fn now(repo: &Repository, master: Oid) -> Option<Seen> {
        let m = std::fs::metadata(repo.path().join("index")).ok()?;
        let t = m
            .modified()
            .ok()?
            .duration_since(std::time::UNIX_EPOCH)
            .ok()?;
        Some(Seen(format!("{master} {} {}", m.len(), t.as_nanos())))
    }

    fn last(repo: &Repository) -> Option<Seen> {
        std::fs::read_to_string(repo.path().join(Self::FILE))
            .ok()
            .map(Seen)
    }

    /// Only an optimisation: when it cannot be written, the next command looks again.
    fn record(repo: &Repository, master: Oid) {
        if let Some(s) = Seen::now(repo, master) {
            let _ = std::fs::write(repo.path().join(Self::FILE), s.0);
        }
    }
}

/// How far back [`in_history`] looks for the index's tree.
const HISTORY_LOOKBACK: usize = 5000;

/// Is `tree` the tree of `tip` or of one of its recent ancestors?
fn in_history(repo: &Repository, tip: Oid, tree: Oid) -> Result<bool> {
    let mut walk = repo.revwalk()?;
    walk.push(tip)?;
    for oid in walk.take(HISTORY_LOOKBACK) {
        if repo.find_commit(oid?)?.tree_id() == tree {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Refuses to go on with a checked-out clone whose `master` holds commits the server has not
/// got (the original client's push was rejected, and it leaves them for its next `git pull`):
/// ours moves `master` to the server's tip, which would drop them.
pub fn refuse_unpushed(repo: &Repository) -> Result<()> {
    let Some(workdir) = repo.workdir() else {
        return Ok(());
    };
    let tracking = grunt_core::git::ref_target(repo, grunt_core::git::remote::TRACKING_REF)?;
    let (Some(master), Some(tracking)) = (grunt_core::git::head(repo)?, tracking) else {
        return Ok(());
    };
    // Cheap first (two refs); the index only when they differ.
    if master == tracking || !on_master(repo) || repo.index().map(|i| i.is_empty()).unwrap_or(true)
    {
        return Ok(());
    }
    let (ahead, _) = repo.graph_ahead_behind(master, tracking)?;
    if ahead == 0 {
        return Ok(());
    }
    let p = workdir.display();
    Err(crate::error::error(format!(
        "the clone {p} has {ahead} commit(s) the server has not got (made by the original client, whose push failed?); going on would drop them"
    ))
    .hint(format!("publish them first: git -C {p} pull && git -C {p} push"))
    .hint("nothing was done")
    .into())
}

/// Is `rel` a plain relative path inside a working tree (no `..`, no `.git`)? git itself
/// refuses others; a tree from elsewhere is checked all the same.
pub(crate) fn safe_path(rel: &Path) -> bool {
    rel.components()
        .all(|c| matches!(c, std::path::Component::Normal(n) if !n.eq_ignore_ascii_case(".git")))
}

/// Has `repo` no index entries yet (a clone made without a checkout, or not checked out yet)?
/// Only such a clone may be checked out whole, by force: in any other, [`follow`] brings the
/// files in path by path and keeps what people changed. (Whoever moves a results clone's
/// ref, a pull or an adopted answer, checks it out forced only when this holds.)
pub fn never_checked_out(repo: &Repository) -> bool {
    repo.index().map(|i| i.is_empty()).unwrap_or(true)
}

/// [`follow`], saying on stderr what was kept and what failed (the command itself has done
/// its work: this is not its error).
pub fn follow_and_warn(repo: &Repository) {
    let place = repo.workdir().unwrap_or(repo.path()).display();
    match follow(repo) {
        Ok(f) => {
            for p in &f.kept {
                crate::ui::warn(format!(
                    "{place}: kept your change to {}, which differs from the server's",
                    p.display()
                ));
            }
        }
        Err(e) => crate::ui::warn(format!(
            "could not bring the files of {place} up to date: {}",
            crate::error::one_line(&e)
        )),
    }
}

/// Is HEAD the branch ours moves (not detached, not another branch the user checked out)?
fn on_master(repo: &Repository) -> bool {
    repo.find_reference("HEAD")
        .ok()
        .map(|h| h.symbolic_target_bytes() == Some(BRANCH_REF.as_bytes()))
        .unwrap_or(false)
}

/// Does the file at `abs` still hold what the index had (`had`; `None`: nothing), or already
/// what master wants?
fn untouched(abs: &Path, had: Option<Oid>, wants: Option<Oid>) -> bool {
    let now = match std::fs::symlink_metadata(abs) {
        Err(_) => None,
        Ok(m) if m.file_type().is_symlink() => std::fs::read_link(abs).ok().and_then(|t| {
            Oid::hash_object(git2::ObjectType::Blob, t.as_os_str().as_encoded_bytes()).ok()
        }),
        Ok(m) if m.is_file() => Oid::hash_file(git2::ObjectType::Blob, abs).ok(),
        // A directory where a file was: something the user made.
        Ok(_) => return false,
    };
    now == had || now == wants
}

/// Writes blob `id` to `abs` as a file (executable or not) or a symlink, by `mode`.
pub(crate) fn write_blob(
    repo: &Repository,
    abs: &Path,
    id: Oid,
    mode: git2::FileMode,
) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let blob = repo.find_blob(id)?;
    if let Some(parent) = abs.parent() {
        std::fs::create_dir_all(parent)?;
    }
    if std::fs::symlink_metadata(abs).is_ok() {
        std::fs::remove_file(abs)?;
    }
    match mode {
        git2::FileMode::Link => {
            let target = std::str::from_utf8(blob.content()).context("a symlink's target")?;
            std::os::unix::fs::symlink(target, abs)?;
        }
        git2::FileMode::Commit | git2::FileMode::Tree | git2::FileMode::Unreadable => {}
        _ => {
            std::fs::write(abs, blob.content())?;
            let exec = mode == git2::FileMode::BlobExecutable;
            std::fs::set_permissions(
                abs,
                std::fs::Permissions::from_mode(if exec { 0o755 } else { 0o644 }),
            )?;
        }
    }
    Ok(())
}

/// An index entry for `rel` without stat data (git refreshes it on its next look).
fn entry(rel: &Path, id: Oid, mode: u32) -> git2::IndexEntry {
    git2::IndexEntry {
        ctime: git2::IndexTime::new(0, 0),
        mtime: git2::IndexTime::new(0, 0),
        dev: 0,
        ino: 0,
        mode,
        uid: 0,
        gid: 0,
        file_size: 0,
        id,
        flags: 0,
        flags_extended: 0,
        path: rel.as_os_str().as_encoded_bytes().to_vec(),
    }
}

/// Removes the directories above `file` that became empty, up to (not including) `top`.
fn remove_empty_parents(top: &Path, file: &Path) {
    let mut dir = file.parent();
    while let Some(d) = dir {
        if d == top || !d.starts_with(top) || std::fs::remove_dir(d).is_err() {
            break;
        }
        dir = d.parent();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn git(dir: &Path, args: &[&str]) -> String {
        let o = std::process::Command::new("git")
            .args(args)
            .current_dir(dir)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@x")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@x")
            .output()
            .expect("git runs");
        assert!(o.status.success(), "git {args:?}: {o:?}");
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    /// A checked-out repo whose master moved on (by git objects alone) from the index.
    fn moved() -> (tempfile::TempDir, Repository) {
        let d = tempfile::tempdir().expect("tempdir");
        let p = d.path();
        git(p, &["init", "-q", "-b", "master"]);
        std::fs::create_dir_all(p.join("active/a")).expect("mkdir");
        std::fs::write(p.join("active/a/f"), "one\n").expect("write");
        std::fs::write(p.join("keep"), "k\n").expect("write");
        std::fs::write(p.join("mine"), "m\n").expect("write");
        git(p, &["add", "."]);
        git(p, &["commit", "-q", "-m", "first"]);
        // The second commit, made elsewhere: a moves to archive, b is new, mine changes.
        let wt = tempfile::tempdir().expect("tempdir");
        git(wt.path(), &["clone", "-q", p.to_str().expect("utf8"), "c"]);
        let c = wt.path().join("c");
        git(&c, &["mv", "active/a", "archive"]);
        std::fs::create_dir_all(c.join("active/b")).expect("mkdir");
        std::fs::write(c.join("active/b/run"), "#!/bin/sh\n").expect("write");
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(
            c.join("active/b/run"),
            std::fs::Permissions::from_mode(0o755),
        )
        .expect("chmod");
        git(&c, &["add", "active/b/run"]);
        std::fs::write(c.join("mine"), "theirs\n").expect("write");
        git(&c, &["commit", "-qam", "second"]);
        git(&c, &["push", "-q", "origin", "master:refs/heads/next"]);
        let r = Repository::open(p).expect("open");
        let next = r.refname_to_id("refs/heads/next").expect("next");
        r.reference(BRANCH_REF, next, true, "moved")
            .expect("move master");
        (d, r)
    }

    #[test]
    fn follows_master_and_keeps_the_users_changes() {
        let (d, r) = moved();
        let p = d.path();
        std::fs::write(p.join("mine"), "my edit\n").expect("write");
        let f = follow(&r).expect("follow");
        assert_eq!(f.kept, vec![PathBuf::from("mine")]);
        assert_eq!(f.updated, 3);
        assert!(!p.join("active/a").exists());
        assert_eq!(
            std::fs::read_to_string(p.join("archive/f")).expect("moved file"),
            "one\n"
        );
        assert_eq!(
            std::fs::read_to_string(p.join("mine")).expect("mine"),
            "my edit\n"
        );
        // git agrees: only the user's edit differs, and the executable bit came along.
        assert_eq!(git(p, &["status", "--porcelain"]), " M mine\n");
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(p.join("active/b/run"))
            .expect("run")
            .permissions()
            .mode();
        assert_eq!(mode & 0o111, 0o111);
        // A second call has nothing to do.
        assert_eq!(follow(&r).expect("again").updated, 0);
    }

    #[test]
    fn leaves_changes_nobody_committed_alone() {
        let (d, r) = moved();
        let p = d.path();
        std::fs::write(p.join("staged"), "s\n").expect("write");
        git(p, &["add", "staged"]);
        let e = follow(&r).expect_err("refused");
        assert!(e.to_string().contains("in no commit of master"), "{e}");
        assert!(p.join("active/a/f").is_file() && p.join("staged").is_file());
    }

    #[test]
    fn leaves_an_unchecked_out_clone_alone() {
        let d = tempfile::tempdir().expect("tempdir");
        let r = Repository::init(d.path()).expect("init");
        assert_eq!(follow(&r).expect("follow"), Followed::default());
    }
}
