//! Trees built straight from blobs: a list of [`Edit`]s applied to a base tree, touching only
//! the trees along the edited paths, and reads of single files and directories from a tree.

use std::path::Path;

use git2::{build::TreeUpdateBuilder, FileMode, ObjectType, Oid, Repository, Tree};

use crate::{Error, Result};

/// One change to a tree. Paths are `/`-separated and relative to the top of the repo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Edit {
    /// Put a blob or a whole tree at `path`, replacing what was there.
    Put {
        path: String,
        oid: Oid,
        mode: FileMode,
    },
    /// Remove a file or directory; nothing if it is not there.
    Remove { path: String },
    /// Move a file or directory; nothing if `from` is not there (so replaying it is harmless).
    Move { from: String, to: String },
}

/// The edit that puts the blob `oid` at `path`.
fn put(path: &str, oid: Oid, executable: bool) -> Edit {
    let mode = if executable {
        FileMode::BlobExecutable
    } else {
        FileMode::Blob
    };
    Edit::Put {
        path: path.to_string(),
        oid,
        mode,
    }
}

/// Writes a blob and returns the edit that puts it at `path`.
pub fn put_bytes(repo: &Repository, path: &str, data: &[u8], executable: bool) -> Result<Edit> {
    // Not `repo.blob()`: libgit2 streams that into a compressed temp file even when the
    // object exists, which made a 1000-file submit write 1000 temp files; `Odb::write`
    // hashes first and only freshens an object that is there.
    let oid = repo
        .odb()
        .and_then(|odb| odb.write(git2::ObjectType::Blob, data))
        .map_err(Error::git("writing blob", repo.path()))?;
    Ok(put(path, oid, executable))
}

/// Streams the file at `file` into the object database as a blob (never whole in memory: a
/// 200 MB result file must not take 200 MB of grund) and returns the edit that puts it at
/// `path`.
pub fn put_file(
    repo: &Repository,
    path: &str,
    file: &std::path::Path,
    executable: bool,
) -> Result<Edit> {
    // Not blocking on a FIFO nor following a link that replaced the file meanwhile.
    let mut f = crate::fsutil::open_regular(file).map_err(Error::io("reading", file))?;
    let len = f.metadata().map_err(Error::io("reading", file))?.len();
    let odb = repo
        .odb()
        .map_err(Error::git("opening objects", repo.path()))?;
    let mut w = odb
        .writer(len as usize, ObjectType::Blob)
        .map_err(Error::git("writing blob", repo.path()))?;
    let copied = std::io::copy(&mut f, &mut w).map_err(Error::io("streaming into git", file))?;
    if copied != len {
        return Err(Error::io("streaming into git", file)(
            std::io::Error::other(format!(
                "the file changed size while it was read ({len} then {copied} bytes)"
            )),
        ));
    }
    let oid = w
        .finalize()
        .map_err(Error::git("writing blob", repo.path()))?;
    Ok(put(path, oid, executable))
}

/// The empty tree.
pub fn empty(repo: &Repository) -> Result<Oid> {
    repo.treebuilder(None)
        .and_then(|b| b.write())
        .map_err(Error::git("writing empty tree", repo.path()))
}

/// Applies `edits` in order to `base` (the empty tree when `None`) and returns the new tree.
pub fn apply(repo: &Repository, base: Option<Oid>, edits: &[Edit]) -> Result<Oid> {
    let err = || Error::git("building tree", repo.path());
    let mut current = match base {
        Some(b) => b,
        None => empty(repo)?,
    };
    // Consecutive puts go into one builder; removes and moves need the tree as it is by then.
    let mut batch: Vec<(&str, Oid, FileMode)> = Vec::new();
    let flush = |current: &mut Oid, batch: &mut Vec<(&str, Oid, FileMode)>| -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        let tree = repo.find_tree(*current).map_err(err())?;
        let mut b = TreeUpdateBuilder::new();
        // Last put to a path wins, as if applied one by one.
        let mut seen = std::collections::HashSet::new();
        for (path, oid, mode) in batch.iter().rev() {
            if seen.insert(*path) {
                b.upsert(*path, *oid, *mode);
            }
        }
        *current = b.create_updated(repo, &tree).map_err(err())?;
        batch.clear();
        Ok(())
    };
    for edit in edits {
        match edit {
            Edit::Put { path, oid, mode } => {
                if batch.iter().any(|(p, _, _)| nested(p, path) && p != path) {
                    flush(&mut current, &mut batch)?;
                }
                batch.push((path, *oid, *mode));
            }
            Edit::Remove { path } => {
                flush(&mut current, &mut batch)?;
                let tree = repo.find_tree(current).map_err(err())?;
                if tree.get_path(Path::new(path)).is_ok() {
                    let mut b = TreeUpdateBuilder::new();
                    b.remove(path.as_str());
                    current = b.create_updated(repo, &tree).map_err(err())?;
                }
            }
            Edit::Move { from, to } => {
                flush(&mut current, &mut batch)?;
                let tree = repo.find_tree(current).map_err(err())?;
                if let Ok(entry) = tree.get_path(Path::new(from)) {
                    let mode = mode_of(entry.filemode());
                    let mut b = TreeUpdateBuilder::new();
                    if tree.get_path(Path::new(to)).is_ok() {
                        b.remove(to.as_str());
                        current = b.create_updated(repo, &tree).map_err(err())?;
                        b = TreeUpdateBuilder::new();
                    }
                    let tree = repo.find_tree(current).map_err(err())?;
                    b.remove(from.as_str());
                    b.upsert(to.as_str(), entry.id(), mode);
                    current = b.create_updated(repo, &tree).map_err(err())?;
                }
            }
        }
    }
    flush(&mut current, &mut batch)?;
    Ok(current)
}

fn nested(a: &str, b: &str) -> bool {
    let under =
        |x: &str, y: &str| x.len() > y.len() && x.starts_with(y) && x.as_bytes()[y.len()] == b'/';
    a == b || under(a, b) || under(b, a)
}

fn mode_of(raw: i32) -> FileMode {
    match raw {
        0o040000 => FileMode::Tree,
        0o100755 => FileMode::BlobExecutable,
        0o120000 => FileMode::Link,
        0o160000 => FileMode::Commit,
        _ => FileMode::Blob,
    }
}

/// The subtree at `path`, if `path` is a directory in `tree`.
pub fn subtree<'r>(repo: &'r Repository, tree: &Tree<'_>, path: &str) -> Option<Tree<'r>> {
    if path.is_empty() {
        return repo.find_tree(tree.id()).ok();
    }
    let entry = tree.get_path(Path::new(path)).ok()?;
    if entry.kind() != Some(ObjectType::Tree) {
        return None;
    }
    repo.find_tree(entry.id()).ok()
}

/// The content of the file at `path`, if it is a file in `tree`.
pub fn read_file(repo: &Repository, tree: &Tree<'_>, path: &str) -> Option<Vec<u8>> {
    let entry = tree.get_path(Path::new(path)).ok()?;
    if entry.kind() != Some(ObjectType::Blob) {
        return None;
    }
    repo.find_blob(entry.id())
        .ok()
        .map(|b| b.content().to_vec())
}

/// Does `path` exist in `tree`?
pub fn exists(tree: &Tree<'_>, path: &str) -> bool {
    tree.get_path(Path::new(path)).is_ok()
}

/// A file of a tree, as found by [`walk_files`].
#[derive(Debug, Clone)]
pub struct FileEntry {
    pub path: String,
    pub oid: Oid,
    pub mode: i32,
}

/// Every file (blob or link) below `tree`, with paths relative to it, sorted.
pub fn walk_files(repo: &Repository, tree: &Tree<'_>) -> Result<Vec<FileEntry>> {
    let mut out = Vec::new();
    tree.walk(git2::TreeWalkMode::PreOrder, |dir, entry| {
        if entry.kind() == Some(ObjectType::Blob) {
            if let Ok(name) = entry.name() {
                out.push(FileEntry {
                    path: format!("{dir}{name}"),
                    oid: entry.id(),
                    mode: entry.filemode(),
                });
            }
        }
        git2::TreeWalkResult::Ok
    })
    .map_err(Error::git("walking tree", repo.path()))?;
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::git::testutil;

    #[test]
    fn puts_removes_and_moves() {
        let (_d, repo) = testutil::repo(true);
        let e1 = put_bytes(&repo, "active/ore000001/sim/a.txt", b"a", false).unwrap();
        let e2 = put_bytes(&repo, "active/ore000001/sim/run.sh", b"#!", true).unwrap();
        let e3 = put_bytes(&repo, "active/placeholder", b"placeholder", false).unwrap();
        let t1 = apply(&repo, None, &[e1, e2, e3]).unwrap();
        let tree = repo.find_tree(t1).unwrap();
        assert_eq!(
            read_file(&repo, &tree, "active/ore000001/sim/a.txt").unwrap(),
            b"a"
        );
        let run = tree
            .get_path(Path::new("active/ore000001/sim/run.sh"))
            .unwrap();
        assert_eq!(run.filemode(), 0o100755);

        // A whole tree can be put, moved and removed; moving what is gone is a no-op.
        let job = subtree(&repo, &tree, "active/ore000001").unwrap();
        let mv = Edit::Move {
            from: "active/ore000001".into(),
            to: "delete/ore000001".into(),
        };
        let t2 = apply(
            &repo,
            Some(t1),
            &[
                Edit::Put {
                    path: "archive/copy".into(),
                    oid: job.id(),
                    mode: FileMode::Tree,
                },
                mv.clone(),
                mv,
            ],
        )
        .unwrap();
        let tree2 = repo.find_tree(t2).unwrap();
        assert!(!exists(&tree2, "active/ore000001"));
        assert!(exists(&tree2, "active/placeholder"));
        assert_eq!(
            read_file(&repo, &tree2, "delete/ore000001/sim/a.txt").unwrap(),
            b"a"
        );
        assert_eq!(
            read_file(&repo, &tree2, "archive/copy/sim/a.txt").unwrap(),
            b"a"
        );
        let t3 = apply(
            &repo,
            Some(t2),
            &[
                Edit::Remove {
                    path: "delete/ore000001".into(),
                },
                Edit::Remove {
                    path: "not/there".into(),
                },
            ],
        )
        .unwrap();
        let tree3 = repo.find_tree(t3).unwrap();
        assert!(!exists(&tree3, "delete"), "empty directories disappear");
        let files: Vec<_> = walk_files(&repo, &tree3)
            .unwrap()
            .into_iter()
            .map(|f| f.path)
            .collect();
        assert_eq!(
            files,
            [
                "active/placeholder",
                "archive/copy/sim/a.txt",
                "archive/copy/sim/run.sh"
            ]
        );
    }

    #[test]
    fn later_puts_win_and_nested_puts_apply_in_order() {
        let (_d, repo) = testutil::repo(true);
        let a = put_bytes(&repo, "x/f", b"1", false).unwrap();
        let b = put_bytes(&repo, "x/f", b"2", false).unwrap();
        let sub = apply(&repo, None, &[put_bytes(&repo, "g", b"3", false).unwrap()]).unwrap();
        let c = Edit::Put {
            path: "x".into(),
            oid: sub,
            mode: FileMode::Tree,
        };
        let d = put_bytes(&repo, "x/h", b"4", false).unwrap();
        let t = apply(&repo, None, &[a, b.clone()]).unwrap();
        assert_eq!(
            read_file(&repo, &repo.find_tree(t).unwrap(), "x/f").unwrap(),
            b"2"
        );
        let t = apply(&repo, None, &[b, c, d]).unwrap();
        let t = repo.find_tree(t).unwrap();
        assert!(!exists(&t, "x/f"));
        assert_eq!(read_file(&repo, &t, "x/g").unwrap(), b"3");
        assert_eq!(read_file(&repo, &t, "x/h").unwrap(), b"4");
    }
}
