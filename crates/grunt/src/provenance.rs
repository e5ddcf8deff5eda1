//! Source provenance at submit: the project repository's `HEAD` (sha, branch, remote) as
//! `job.commit`, and, when tracked files have uncommitted changes (which the job copies, as
//! the original does), their diff against `HEAD` as `job.patch`, so `grunt reproduce
//! --checkout` can rebuild the exact tree.

use std::path::Path;

use anyhow::{Context, Result};
use git2::{DiffFormat, DiffOptions, Repository};
use grunt_core::provenance::SourceRecord;

/// The record of the project at `dir`, and the patch of its uncommitted changes (if any).
/// `None` when the repository has no commit yet.
pub fn capture(dir: &Path) -> Result<Option<(SourceRecord, Option<Vec<u8>>)>> {
    let repo = Repository::discover(dir)
        .with_context(|| format!("{} is not in a git repository", dir.display()))?;
    let Ok(head) = repo.head() else {
        return Ok(None);
    };
    let Ok(commit) = head.peel_to_commit() else {
        return Ok(None);
    };
    let branch = match head.is_branch() {
        true => head.shorthand().ok().map(str::to_string),
        false => None,
    };
    let remote = remote_url(&repo, head.name().ok());
    let subdir = match repo.workdir() {
        Some(top) => {
            let top = top.canonicalize()?;
            let here = dir.canonicalize()?;
            here.strip_prefix(&top)
                .map(|p| p.to_string_lossy().into_owned())
                .unwrap_or_default()
        }
        None => String::new(),
    };
    // Tracked files only: HEAD against the working tree through the index (what `git diff
    // HEAD` shows), binary changes included so `git apply` can redo them.
    let mut opts = DiffOptions::new();
    opts.show_binary(true).include_typechange(true);
    let diff = repo
        .diff_tree_to_workdir_with_index(Some(&commit.tree()?), Some(&mut opts))
        .context("diffing the project against HEAD")?;
    let changed = diff.deltas().len();
    let patch = if changed > 0 {
        let mut buf = Vec::new();
        diff.print(DiffFormat::Patch, |_, _, line| {
            if matches!(line.origin(), '+' | '-' | ' ') {
                buf.push(line.origin() as u8);
            }
            buf.extend_from_slice(line.content());
            true
        })?;
        Some(buf)
    } else {
        None
    };
    Ok(Some((
        SourceRecord {
            commit: commit.id().to_string(),
            branch,
            remote,
            subdir,
            changed_files: changed,
        },
        patch,
    )))
}

/// The URL of the branch's upstream remote, else `origin`'s, else the only remote's.
fn remote_url(repo: &Repository, head: Option<&str>) -> Option<String> {
    let upstream = head
        .and_then(|h| repo.branch_upstream_remote(h).ok())
        .and_then(|b| b.as_str().ok().map(str::to_string));
    let names: Vec<String> = repo
        .remotes()
        .ok()?
        .iter()
        .filter_map(|n| n.ok().flatten().map(str::to_string))
        .collect();
    let name = upstream
        .or_else(|| names.iter().find(|n| *n == "origin").cloned())
        .or_else(|| match names.as_slice() {
            [only] => Some(only.clone()),
            _ => None,
        })?;
    repo.find_remote(&name).ok()?.url().ok().map(str::to_string)
}
