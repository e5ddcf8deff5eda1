//! Job directories on the server's disk, under `wc/<server>/<user>/<project>/jobs`. They are
//! written from git only for the jobs grund runs commands on (never a checkout of all jobs),
//! and the `job.*` files the runner leaves there are what grund commits back.

use std::fs;
use std::path::{Path, PathBuf};

use git2::{Repository, Tree};
use grunt_core::config::{ProjectConfig, DEFAULT_MAX_JOB_FILE_MIB};
use grunt_core::git::tree;
use grunt_core::jobfile;
use grunt_core::jobfile::list as joblist;
use grunt_core::jobid::JobId;
use grunt_core::layout::{self, Location};
use grunt_core::{fsutil, name, time, Error, Result};

use crate::nofollow;

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

/// Writes one file of a job from git. A link is made only if it points inside the job;
/// submodules are not written. Refused paths (a `..`, or a link or a file on the way, which a
/// runner may have left) are skipped with a warning: nothing is ever written outside `dir`
/// (see [`crate::nofollow`]).
pub fn write_file(dir: &Path, rel: &str, data: &[u8], mode: i32) -> Result<()> {
    if name::check_relative_path(rel).is_err() || mode == 0o160000 {
        log::warn!("not writing {rel:?} (mode {mode:o}) into {}", dir.display());
        return Ok(());
    }
    let perm = if mode == 0o100755 { 0o755 } else { 0o644 };
    let written = match mode {
        0o120000 => nofollow::link_below(dir, rel, data),
        _ => nofollow::write_below(dir, rel, data, perm),
    };
    match written {
        Ok(()) => Ok(()),
        Err(nofollow::WriteError::Refused(why)) => {
            log::warn!("not writing {rel:?} into {}: {why}", dir.display());
            Ok(())
        }
        Err(nofollow::WriteError::Io(e)) => Err(Error::io("writing", dir.join(rel))(e)),
    }
}

/// How much of the runner's own output (`job.grunter.out`, `job.grunter.err`) grund commits:
/// its last 64 KiB, after a line saying where the whole file is. A runner printing 50 MB
/// must not grow the jobs repo every client pulls.
pub const RUNNER_OUTPUT_TAIL: u64 = 64 << 10;

/// The `job.*` files grund commits back from a job directory: regular files, not the ones
/// only the client writes, the runner's output cut to its tail ([`RUNNER_OUTPUT_TAIL`]), none
/// over `[runner] max_job_file_mib` of the job's `grunt.toml`.
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
    let limit = ProjectConfig::load(dir)
        .map(|c| c.max_job_file_bytes())
        .unwrap_or(DEFAULT_MAX_JOB_FILE_MIB << 20);
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
        if (name == jobfile::RUNNER_OUT || name == jobfile::RUNNER_ERR)
            && meta.len() > RUNNER_OUTPUT_TAIL
        {
            out.push((name, tail(&ent.path(), meta.len())?));
            continue;
        }
        if meta.len() > limit {
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
        let error = note_too_large(dir, &too_large, limit)?;
        out.retain(|(n, _)| n != jobfile::ERROR);
        out.push((jobfile::ERROR.to_string(), error));
    }
    out.sort();
    Ok(out)
}

/// The last [`RUNNER_OUTPUT_TAIL`] bytes of a file of `len` bytes, after a line that says
/// what was left out and where the whole file is.
fn tail(path: &Path, len: u64) -> Result<Vec<u8>> {
    use std::io::{Read, Seek, SeekFrom};
    let skipped = len - RUNNER_OUTPUT_TAIL;
    let mut data = format!(
        "[grund: the first {skipped} of {len} bytes are not committed; the whole output is on the server in {}]\n",
        path.display()
    )
    .into_bytes();
    let mut f = fs::File::open(path).map_err(Error::io("reading", path))?;
    f.seek(SeekFrom::Start(skipped))
        .map_err(Error::io("reading", path))?;
    f.take(RUNNER_OUTPUT_TAIL)
        .read_to_end(&mut data)
        .map_err(Error::io("reading", path))?;
    Ok(data)
}

/// Says in `job.error` (once per file, so commits do not churn) which files were too large
/// to commit; returns its content.
fn note_too_large(dir: &Path, files: &[(String, u64)], limit: u64) -> Result<Vec<u8>> {
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
            "{name} is {} MiB, over grund's {} MiB limit for job.* files ([runner] max_job_file_mib in grunt.toml): not committed; it is on the server in {}",
            len >> 20,
            limit >> 20,
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

/// Rewrites `job.list` for a job directory (unless it is current). Not synced: it is derived
/// from the directory, and every command that commits it writes it again first, also when it
/// is replayed after a crash; its two fsyncs were a good part of grund's answer to a `status`.
pub fn write_job_list(dir: &Path) -> Result<()> {
    let entries = joblist::scan(dir)?;
    let text = joblist::render(&entries);
    let path = dir.join(jobfile::LIST);
    if fsutil::read_regular(&path).is_ok_and(|old| old == text.as_bytes()) {
        return Ok(());
    }
    let tmp = dir.join(format!(".{}.tmp{}", jobfile::LIST, std::process::id()));
    fs::write(&tmp, text.as_bytes())
        .and_then(|()| fs::rename(&tmp, &path))
        .map_err(|e| {
            let _ = fs::remove_file(&tmp);
            Error::io("writing", &path)(e)
        })
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
        big.set_len((DEFAULT_MAX_JOB_FILE_MIB << 20) + 1).unwrap();
        let names = |v: Vec<(String, Vec<u8>)>| v.into_iter().map(|(n, _)| n).collect::<Vec<_>>();
        assert_eq!(
            names(job_files(d.path()).unwrap()),
            ["job.error", "job.start"]
        );
        let err = fs::read_to_string(d.path().join("job.error")).unwrap();
        assert!(
            err.contains(&format!("job.out is {DEFAULT_MAX_JOB_FILE_MIB} MiB"))
                && err.contains("not committed"),
            "{err}"
        );
        job_files(d.path()).unwrap();
        assert_eq!(
            fs::read_to_string(d.path().join("job.error")).unwrap(),
            err,
            "noted once"
        );
        // A project may raise the limit.
        fs::write(
            d.path().join("grunt.toml"),
            "[runner]\nmax_job_file_mib = 20\n",
        )
        .unwrap();
        assert!(names(job_files(d.path()).unwrap()).contains(&"job.out".to_string()));
    }

    #[test]
    fn runner_output_is_cut_to_its_tail() {
        let d = tempfile::tempdir().unwrap();
        let mut text = "early line\n".repeat(20_000);
        text.push_str("the last line\n");
        fs::write(d.path().join(jobfile::RUNNER_OUT), &text).unwrap();
        let files = job_files(d.path()).unwrap();
        let (_, data) = &files[0];
        let data = String::from_utf8_lossy(data);
        assert!(
            data.len() < RUNNER_OUTPUT_TAIL as usize + 300,
            "{}",
            data.len()
        );
        assert!(data.starts_with("[grund: the first") && data.ends_with("the last line\n"));
        assert_eq!(
            fs::read_to_string(d.path().join(jobfile::RUNNER_OUT)).unwrap(),
            text
        );
    }
}
