//! The project's files as a job copies them: what `git ls-files` lists in the project
//! directory, plus the runner (`grunter`, `grunter.py`) and `grunt.toml` even if untracked,
//! read from the working tree (uncommitted edits included, as the original does). A symbolic
//! link is stored as a link (mode 120000, its target as the blob), as git stores it: never the
//! file it points to, which may be outside the project (`plink.txt -> /etc/passwd`). Only the
//! runner files are followed, since the job cannot run without their content.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use git2::{Oid, Repository};
use grunt_core::config::PROJECT_CONFIG;
use grunt_core::git::tree::{self, Edit};
use grunt_core::jobfile;

use crate::ui;

/// A project file: its path relative to the project directory, and where it is on disk.
#[derive(Debug, Clone)]
pub struct ProjectFile {
    pub rel: String,
    pub abs: PathBuf,
    /// For a symbolic link: its target, stored instead of the file it points to.
    pub link: Option<PathBuf>,
}

impl ProjectFile {
    /// What git stores for it: the file's bytes, or a link's target.
    pub fn content(&self) -> std::io::Result<Vec<u8>> {
        use std::os::unix::ffi::OsStrExt;
        match &self.link {
            Some(t) => Ok(t.as_os_str().as_bytes().to_vec()),
            None => std::fs::read(&self.abs),
        }
    }
}

/// Lists the project's files.
pub fn project_files(dir: &Path) -> Result<Vec<ProjectFile>> {
    let repo = Repository::discover(dir).with_context(|| {
        format!("{} is not in a git repository: grunt copies the files git tracks (git init; git add …)", dir.display())
    })?;
    let Some(top) = repo.workdir() else {
        bail!("{} is a bare repository", repo.path().display());
    };
    let top = top.canonicalize()?;
    let here = dir.canonicalize()?;
    let prefix = here
        .strip_prefix(&top)
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default();
    let prefix = if prefix.is_empty() {
        String::new()
    } else {
        format!("{prefix}/")
    };
    let index = repo.index()?;
    let mut out = Vec::new();
    for e in index.iter() {
        let path = String::from_utf8_lossy(&e.path).into_owned();
        let Some(rel) = path.strip_prefix(&prefix) else {
            continue;
        };
        // Submodules and conflicted entries are not files to copy.
        if e.mode == 0o160000 || (e.flags >> 12) & 3 != 0 {
            continue;
        }
        if grunt_core::name::check_relative_path(rel).is_err() {
            ui::note(format!("note: skipping {rel:?}: not a plain relative path"));
            continue;
        }
        let abs = here.join(rel);
        let is_link = abs
            .symlink_metadata()
            .is_ok_and(|m| m.file_type().is_symlink());
        let runner = [jobfile::RUNNER_EXE, jobfile::RUNNER_PY, PROJECT_CONFIG].contains(&rel);
        let link = match is_link && !(runner && abs.is_file()) {
            true => Some(std::fs::read_link(&abs).with_context(|| format!("reading link {rel}"))?),
            false => None,
        };
        if link.is_none() && !abs.is_file() {
            ui::note(format!(
                "note: {rel} is tracked but missing from the working tree; not copied"
            ));
            continue;
        }
        out.push(ProjectFile {
            rel: rel.to_string(),
            abs,
            link,
        });
    }
    for extra in [jobfile::RUNNER_EXE, jobfile::RUNNER_PY, PROJECT_CONFIG] {
        let abs = here.join(extra);
        if abs.is_file() && !out.iter().any(|f| f.rel == extra) {
            out.push(ProjectFile {
                rel: extra.to_string(),
                abs,
                link: None,
            });
        }
    }
    out.sort_by(|a, b| a.rel.cmp(&b.rel));
    Ok(out)
}

/// Writes the files as blobs into `repo` and returns the edits that put them under `base`.
pub fn edits_for(repo: &Repository, files: &[ProjectFile], base: &str) -> Result<Vec<Edit>> {
    let mut edits = Vec::with_capacity(files.len());
    for f in files {
        if let Some(target) = &f.link {
            use std::os::unix::ffi::OsStrExt;
            let oid = repo
                .blob(target.as_os_str().as_bytes())
                .with_context(|| format!("storing link {}", f.rel))?;
            edits.push(Edit::Put {
                path: format!("{base}{}", f.rel),
                oid,
                mode: git2::FileMode::Link,
            });
            continue;
        }
        let data = std::fs::read(&f.abs).with_context(|| format!("reading {}", f.abs.display()))?;
        let exec = f.abs.metadata()?.permissions().mode() & 0o111 != 0;
        edits.push(tree::put_bytes(
            repo,
            &format!("{base}{}", f.rel),
            &data,
            exec,
        )?);
    }
    Ok(edits)
}

/// A tree of the project's files plus `extra` files, built straight into `repo`.
pub fn job_tree(repo: &Repository, files: &[ProjectFile], extra: &[(&str, String)]) -> Result<Oid> {
    let mut edits = edits_for(repo, files, "")?;
    for (name, content) in extra {
        edits.push(tree::put_bytes(repo, name, content.as_bytes(), false)?);
    }
    Ok(tree::apply(repo, None, &edits)?)
}
