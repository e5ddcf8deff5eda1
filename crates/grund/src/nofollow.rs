//! Writing a file below a job directory without ever leaving it: every directory on the way is
//! opened relative to the one before (`openat`), refusing links (`O_NOFOLLOW`) and anything
//! that is not a plain directory, and the file itself is never opened through a link. A runner
//! may leave links in its job directory (`esc -> ../outside`), and a hand-made push may carry
//! any path; neither can make grund write outside the job.

use std::fs::File;
use std::io::Write;
use std::os::fd::OwnedFd;
use std::path::Path;

use rustix::fs::{self as rfs, AtFlags, Mode, OFlags, CWD};
use rustix::io::Errno;

/// What went wrong writing a file into a job.
#[derive(Debug)]
pub enum WriteError {
    /// The path is not one grund writes (a `..`, a link or a file in the way): nothing written.
    Refused(String),
    /// The disk said no.
    Io(std::io::Error),
}

impl From<Errno> for WriteError {
    fn from(e: Errno) -> Self {
        WriteError::Io(e.into())
    }
}

impl From<std::io::Error> for WriteError {
    fn from(e: std::io::Error) -> Self {
        WriteError::Io(e)
    }
}

/// One path component grund may create or enter: not empty, `.`, `..`, nor with a `/` or NUL.
fn plain(part: &str) -> bool {
    !(part.is_empty() || part == "." || part == ".." || part.contains(['/', '\0']))
}

const DIR_FLAGS: OFlags = OFlags::DIRECTORY
    .union(OFlags::NOFOLLOW)
    .union(OFlags::RDONLY)
    .union(OFlags::CLOEXEC);

/// Opens the directory `name` in `dir`, creating it if it is missing; refuses a link or a
/// non-directory in its place.
fn enter(dir: &OwnedFd, name: &str) -> Result<OwnedFd, WriteError> {
    for _ in 0..2 {
        match rfs::openat(dir, name, DIR_FLAGS, Mode::empty()) {
            Ok(fd) => return Ok(fd),
            Err(Errno::NOENT) => match rfs::mkdirat(dir, name, Mode::from_raw_mode(0o755)) {
                Ok(()) | Err(Errno::EXIST) => continue,
                Err(e) => return Err(e.into()),
            },
            Err(Errno::LOOP | Errno::NOTDIR) => {
                return Err(WriteError::Refused(format!(
                    "{name:?} is a link or a file, not a directory"
                )))
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(WriteError::Refused(format!("{name:?} keeps changing")))
}

/// `rel` split into its file name and the directories above it, every component plain.
fn split_plain(rel: &str) -> Result<(&str, Vec<&str>), WriteError> {
    let mut parts: Vec<&str> = rel.split('/').collect();
    if let Some(bad) = parts.iter().find(|p| !plain(p)) {
        return Err(WriteError::Refused(format!(
            "component {bad:?} leaves the directory or is empty"
        )));
    }
    let file = parts
        .pop()
        .ok_or_else(|| WriteError::Refused("empty path".into()))?;
    Ok((file, parts))
}

/// Opens `base` (not a link) and then `dirs` below it, one at a time, never following a link.
fn open_below(base: &Path, dirs: &[&str]) -> Result<OwnedFd, WriteError> {
    let mut dir = match rfs::openat(CWD, base, DIR_FLAGS, Mode::empty()) {
        Ok(d) => d,
        Err(Errno::LOOP | Errno::NOTDIR) => {
            return Err(WriteError::Refused(format!(
                "{} is not a plain directory",
                base.display()
            )))
        }
        Err(e) => return Err(e.into()),
    };
    for d in dirs {
        dir = enter(&dir, d)?;
    }
    Ok(dir)
}

/// Writes `data` at `rel` (a `/`-separated path) below the directory `base`, with permissions
/// `perm`. `base` itself must not be a link. A link at `rel` is replaced by the file, never
/// written through.
pub fn write_below(base: &Path, rel: &str, data: &[u8], perm: u32) -> Result<(), WriteError> {
    let (file, dirs) = split_plain(rel)?;
    let dir = open_below(base, &dirs)?;
    // Replace a link rather than follow it, and a FIFO or device rather than block on it;
    // leave a directory in the way alone.
    if let Ok(st) = rfs::statat(&dir, file, AtFlags::SYMLINK_NOFOLLOW) {
        match rfs::FileType::from_raw_mode(st.st_mode) {
            rfs::FileType::RegularFile => {}
            rfs::FileType::Directory => {
                return Err(WriteError::Refused(format!(
                    "{file:?} is there and is a directory"
                )))
            }
            _ => rfs::unlinkat(&dir, file, AtFlags::empty())?,
        }
    }
    let fd = match rfs::openat(
        &dir,
        file,
        OFlags::WRONLY
            | OFlags::CREATE
            | OFlags::TRUNC
            | OFlags::NOFOLLOW
            | OFlags::NONBLOCK
            | OFlags::CLOEXEC,
        Mode::from_raw_mode(perm),
    ) {
        Ok(fd) => fd,
        Err(Errno::LOOP) => {
            return Err(WriteError::Refused(format!(
                "{file:?} became a link while writing"
            )))
        }
        Err(e) => return Err(e.into()),
    };
    rfs::fchmod(&fd, Mode::from_raw_mode(perm))?;
    let mut f = File::from(fd);
    f.write_all(data)?;
    Ok(())
}

/// Makes a symbolic link at `rel` below `base` pointing at `target`, if the target stays
/// inside `base` as written (relative, and its `..` never climbs above `base`): the links a
/// project keeps (`data -> data_v2.csv`) work in the job, and none leads out of it.
pub fn link_below(base: &Path, rel: &str, target: &[u8]) -> Result<(), WriteError> {
    let target = std::str::from_utf8(target)
        .map_err(|_| WriteError::Refused("the link's target is not UTF-8".into()))?;
    let (file, dirs) = split_plain(rel)?;
    if target.is_empty() || target.starts_with('/') || target.contains('\0') {
        return Err(WriteError::Refused(format!(
            "the link points at {target:?}, outside the job"
        )));
    }
    let mut depth = dirs.len() as i64;
    for part in target.split('/') {
        match part {
            "" | "." => {}
            ".." => depth -= 1,
            _ => depth += 1,
        }
        if depth < 0 {
            return Err(WriteError::Refused(format!(
                "the link points at {target:?}, outside the job"
            )));
        }
    }
    let dir = open_below(base, &dirs)?;
    if let Ok(st) = rfs::statat(&dir, file, AtFlags::SYMLINK_NOFOLLOW) {
        match rfs::FileType::from_raw_mode(st.st_mode) {
            rfs::FileType::Symlink | rfs::FileType::RegularFile => {
                rfs::unlinkat(&dir, file, AtFlags::empty())?
            }
            _ => {
                return Err(WriteError::Refused(format!(
                    "{file:?} is there and is not a file or link"
                )))
            }
        }
    }
    rfs::symlinkat(target, &dir, file)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::symlink;

    #[test]
    fn never_leaves_the_directory() {
        let d = tempfile::tempdir().unwrap();
        let job = d.path().join("job");
        let outside = d.path().join("outside");
        fs::create_dir_all(&job).unwrap();
        fs::create_dir_all(&outside).unwrap();
        fs::write(d.path().join("secret"), "s").unwrap();
        symlink("../outside", job.join("esc")).unwrap();
        symlink("../secret", job.join("leak")).unwrap();
        fs::write(job.join("file"), "f").unwrap();
        for bad in [
            "esc/pwned.txt",
            "../outside/x",
            "a/../../x",
            "file/x",
            "",
            "a//b",
        ] {
            assert!(
                matches!(
                    write_below(&job, bad, b"p", 0o644),
                    Err(WriteError::Refused(_))
                ),
                "{bad}"
            );
        }
        assert_eq!(fs::read_dir(&outside).unwrap().count(), 0);
        // A link at the file's own place is replaced, its target untouched.
        write_below(&job, "leak", b"new", 0o644).unwrap();
        assert_eq!(fs::read_to_string(d.path().join("secret")).unwrap(), "s");
        assert_eq!(fs::read_to_string(job.join("leak")).unwrap(), "new");
        write_below(&job, "sub/dir/f.txt", b"ok", 0o755).unwrap();
        assert_eq!(fs::read_to_string(job.join("sub/dir/f.txt")).unwrap(), "ok");
        // Links are made only when they stay inside.
        link_below(&job, "sub/ok", b"dir/f.txt").unwrap();
        assert_eq!(fs::read_to_string(job.join("sub/ok")).unwrap(), "ok");
        link_below(&job, "sub/up", b"../file").unwrap();
        for bad in [&b"/etc/passwd"[..], b"../../x", b"a/../../../x", b""] {
            assert!(
                matches!(
                    link_below(&job, "sub/bad", bad),
                    Err(WriteError::Refused(_))
                ),
                "{bad:?}"
            );
        }
        // The job directory itself reached through a link is refused.
        symlink(&outside, d.path().join("jlink")).unwrap();
        assert!(matches!(
            write_below(&d.path().join("jlink"), "x", b"p", 0o644),
            Err(WriteError::Refused(_))
        ));
    }
}
