//! Job directories on the server's disk, under `wc/<server>/<user>/<project>/jobs`. They are
//! written from git only for the jobs grund runs commands on (never a checkout of all jobs),
//! and the `job.*` files the runner leaves there are what grund commits back.

use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use git2::{Repository, Tree};
use grunt_core::git::tree;
use grunt_core::jobfile;
use grunt_core::jobid::JobId;
use grunt_core::layout::{self, Location};
use grunt_core::{fsutil, joblist, name, time, Error, Result};

/// The directory of one project's jobs on disk.
#[derive(Debug, Clone)]
pub struct WorkDir {
    pub root: PathBuf,
}

/// Marks a job whose runner `submit` grund has started, with the command's key: a job is
/// submitted once, whatever the client pushes.
pub const SUBMITTED_MARK: &str = ".grund-submitted";

impl WorkDir {
    pub fn job_root(&self, loc: Location, id: &JobId) -> PathBuf {
        self.root.join(layout::job_root(loc, id))
    }

    /// Where the job's files are on disk, if they are.
    pub fn find(&self, id: &JobId, project: &str) -> Option<(Location, PathBuf)> {
        Location::ALL.iter().find_map(|l| {
            let d = self.job_root(*l, id).join(project);
            // Not through a link: a job directory is a plain directory or it is not there.
            d.symlink_metadata()
                .is_ok_and(|m| m.is_dir())
                .then_some((*l, d))
        })
    }

    /// Writes the job's files from `job_tree` (its `<project>` subtree) at `loc`, all at once:
    /// into a temporary directory that is renamed into place, so a crash leaves no half job.
    pub fn materialize(
        &self,
        repo: &Repository,
        job_tree: &Tree<'_>,
        loc: Location,
        id: &JobId,
        project: &str,
    ) -> Result<PathBuf> {
        let parent = self.job_root(loc, id);
        let dest = parent.join(project);
        // A runner may have replaced its job directory (or the job's) with a file: the job is
        // written afresh from git rather than left broken for good.
        for p in [&parent, &dest] {
            if p.symlink_metadata().is_ok_and(|m| !m.is_dir()) {
                log::warn!(
                    "{} is not a directory; replacing it with the job from git",
                    p.display()
                );
                fs::remove_file(p).map_err(Error::io("removing", p))?;
            }
        }
        fs::create_dir_all(&parent).map_err(Error::io("creating", &parent))?;
        let tmp = parent.join(format!(".{project}.grund-tmp"));
        if tmp.exists() {
            fs::remove_dir_all(&tmp).map_err(Error::io("removing leftover", &tmp))?;
        }
        fs::create_dir_all(&tmp).map_err(Error::io("creating", &tmp))?;
        for f in tree::walk_files(repo, job_tree)? {
            let content = repo
                .find_blob(f.oid)
                .map_err(Error::git("reading blob", repo.path()))?;
            write_file(&tmp, &f.path, content.content(), f.mode)?;
        }
        fs::rename(&tmp, &dest).map_err(Error::io("moving into place", &dest))?;
        fsutil::sync_dir(&parent)?;
        Ok(dest)
    }

    /// Moves a job (all of `<loc>/<id>`) on disk; nothing if it is not at `from`.
    pub fn move_job(&self, id: &JobId, from: Location, to: Location) -> Result<()> {
        let src = self.job_root(from, id);
        if from == to || !src.exists() {
            return Ok(());
        }
        let dst = self.job_root(to, id);
        if dst.exists() {
            fs::remove_dir_all(&dst).map_err(Error::io("removing", &dst))?;
        }
        let dir = self.root.join(to.dir());
        fs::create_dir_all(&dir).map_err(Error::io("creating", &dir))?;
        fs::rename(&src, &dst).map_err(Error::io("moving job to", &dst))
    }

    /// Removes a job from disk, wherever it is.
    pub fn remove_job(&self, id: &JobId) -> Result<()> {
        for l in Location::ALL {
            let d = self.job_root(l, id);
            if d.exists() {
                fs::remove_dir_all(&d).map_err(Error::io("removing", &d))?;
            }
        }
        Ok(())
    }
}

/// Writes one file of a job from git. Links and submodules are not written (grunt never makes
/// them; a hostile client could aim a link out of the job). Refused paths are skipped.
pub fn write_file(dir: &Path, rel: &str, data: &[u8], mode: i32) -> Result<()> {
    if name::check_relative_path(rel).is_err() || mode == 0o120000 || mode == 0o160000 {
        log::warn!("not writing {rel:?} (mode {mode:o}) into {}", dir.display());
        return Ok(());
    }
    let path = dir.join(rel);
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(Error::io("creating", parent))?;
    }
    // Never write through a link, nor into a FIFO or device (opening one blocks): replace it.
    if path
        .symlink_metadata()
        .is_ok_and(|m| !m.is_file() && !m.is_dir())
    {
        fs::remove_file(&path).map_err(Error::io("removing link", &path))?;
    }
    let mut f = fs::File::create(&path).map_err(Error::io("writing", &path))?;
    f.write_all(data).map_err(Error::io("writing", &path))?;
    let perm = if mode == 0o100755 { 0o755 } else { 0o644 };
    f.set_permissions(fs::Permissions::from_mode(perm))
        .map_err(Error::io("setting mode of", &path))
}

/// Largest `job.*` file grund commits: a runaway log would otherwise bloat the jobs repo that
/// every client pulls. Larger files stay on the server, and `job.error` says so.
pub const MAX_JOB_FILE_BYTES: u64 = 100 << 20;

/// The `job.*` files grund commits back from a job directory: regular files, not the ones
/// only the client writes, none over [`MAX_JOB_FILE_BYTES`].
pub fn job_files(dir: &Path) -> Result<Vec<(String, Vec<u8>)>> {
    let mut out = Vec::new();
    let mut too_large = Vec::new();
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        // Gone, or replaced by a file: nothing to commit from it.
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
            ) =>
        {
            return Ok(out)
        }
        Err(e) => return Err(Error::io("listing", dir)(e)),
    };
    for ent in entries {
        let ent = ent.map_err(Error::io("listing", dir))?;
        let name = ent.file_name().to_string_lossy().into_owned();
        if !jobfile::is_job_file(&name) || jobfile::CLIENT_OWNED.contains(&name.as_str()) {
            continue;
        }
        let Ok(meta) = ent.path().symlink_metadata() else {
            continue;
        };
        if !meta.is_file() {
            continue;
        }
        if meta.len() > MAX_JOB_FILE_BYTES {
            too_large.push((name, meta.len()));
            continue;
        }
        // Without blocking: the runner may swap in a FIFO, or remove the file, meanwhile.
        match fsutil::read_regular(&ent.path()) {
            Ok(data) => out.push((name, data)),
            Err(e) => log::warn!("not committing {}: {e}", ent.path().display()),
        }
    }
    if !too_large.is_empty() {
        let error = note_too_large(dir, &too_large)?;
        out.retain(|(n, _)| n != jobfile::ERROR);
        out.push((jobfile::ERROR.to_string(), error));
    }
    out.sort();
    Ok(out)
}

/// Says in `job.error` (once per file, so commits do not churn) which files were too large
/// to commit; returns its content.
fn note_too_large(dir: &Path, files: &[(String, u64)]) -> Result<Vec<u8>> {
    let err = dir.join(jobfile::ERROR);
    let mut text = fsutil::read_regular(&err)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    let before = text.len();
    for (name, len) in files {
        if text.contains(&format!("{name} is ")) {
            continue;
        }
        let line = format!(
            "{name} is {} MiB, over grund's {} MiB limit for job.* files: not committed; it is on the server in {}",
            len >> 20,
            MAX_JOB_FILE_BYTES >> 20,
            dir.display()
        );
        log::warn!("{line}");
        text.push_str(&line);
        text.push('\n');
    }
    if text.len() != before {
        fsutil::atomic_write(&err, text.as_bytes())?;
    }
    Ok(text.into_bytes())
}

/// Rewrites `job.list` for a job directory.
pub fn write_job_list(dir: &Path) -> Result<()> {
    let entries = joblist::scan(dir)?;
    fsutil::atomic_write(
        &dir.join(jobfile::LIST),
        joblist::render(&entries).as_bytes(),
    )
}

/// Records an error for the client in `job.error`.
pub fn write_error(dir: &Path, word: &str, text: &str) -> Result<()> {
    log::warn!("{}: {word}: {text}", dir.display());
    fsutil::atomic_write(
        &dir.join(jobfile::ERROR),
        format!("{word}: {text} ({})\n", time::now()).as_bytes(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oversized_job_files_stay_on_disk_and_are_noted_once() {
        let d = tempfile::tempdir().unwrap();
        fs::write(d.path().join("job.start"), "t\n").unwrap();
        fs::write(d.path().join("job.message"), "client's\n").unwrap();
        let big = fs::File::create(d.path().join("job.out")).unwrap();
        big.set_len(MAX_JOB_FILE_BYTES + 1).unwrap();
        let names = |v: Vec<(String, Vec<u8>)>| v.into_iter().map(|(n, _)| n).collect::<Vec<_>>();
        assert_eq!(
            names(job_files(d.path()).unwrap()),
            ["job.error", "job.start"]
        );
        let err = fs::read_to_string(d.path().join("job.error")).unwrap();
        assert!(
            err.contains("job.out is 100 MiB") && err.contains("not committed"),
            "{err}"
        );
        job_files(d.path()).unwrap();
        assert_eq!(
            fs::read_to_string(d.path().join("job.error")).unwrap(),
            err,
            "noted once"
        );
    }
}
