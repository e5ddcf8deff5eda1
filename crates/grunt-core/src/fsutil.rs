//! Small file operations with the durability the protocol needs: writes that survive a crash
//! (temp file, fsync, rename, fsync of the directory) and the original's one-line files.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::Path;

use crate::{Error, Result};

/// Writes `data` to `path` so that after a crash the file holds either the old or the new
/// content, never a mix.
pub fn atomic_write(path: &Path, data: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(Error::io("creating directory", dir))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp{}", std::process::id()));
    let mut f = File::create(&tmp).map_err(Error::io("creating", &tmp))?;
    f.write_all(data).map_err(Error::io("writing", &tmp))?;
    f.sync_all().map_err(Error::io("syncing", &tmp))?;
    drop(f);
    fs::rename(&tmp, path).map_err(Error::io("renaming into place", path))?;
    sync_dir(dir)
}

/// Makes a directory's entries (new, renamed or removed files) durable.
pub fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(Error::io("syncing directory", dir))
}

/// Creates `path` durably (empty unless `data`), failing if it exists. Returns false if it did.
pub fn create_new_durable(path: &Path, data: &[u8]) -> Result<bool> {
    let mut f = match OpenOptions::new().write(true).create_new(true).open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Ok(false),
        Err(e) => return Err(Error::io("creating", path)(e)),
    };
    f.write_all(data).map_err(Error::io("writing", path))?;
    f.sync_all().map_err(Error::io("syncing", path))?;
    if let Some(dir) = path.parent() {
        sync_dir(dir)?;
    }
    Ok(true)
}

/// The first line of a file without its newline, `None` if the file does not exist.
pub fn read_line(path: &Path) -> Result<Option<String>> {
    match fs::read(path) {
        Ok(bytes) => Ok(Some(first_line(&bytes))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io("reading", path)(e)),
    }
}

/// The first line of some bytes, lossily decoded, without trailing white space.
pub fn first_line(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    text.lines().next().unwrap_or("").trim_end().to_string()
}

/// Writes a one-line file as the original does: the value and a newline.
pub fn write_line(path: &Path, value: &str) -> Result<()> {
    atomic_write(path, format!("{value}\n").as_bytes())
}

/// Opens a file that a runner or a client could have replaced with anything: without
/// blocking (a FIFO or a device never hangs the reader) and without following a final link,
/// and refused unless it is a regular file.
pub fn open_regular(path: &Path) -> std::io::Result<std::fs::File> {
    use rustix::fs::{Mode, OFlags};
    let fd = rustix::fs::open(
        path,
        OFlags::RDONLY | OFlags::NONBLOCK | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    let f = std::fs::File::from(fd);
    if !f.metadata()?.is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a regular file",
        ));
    }
    Ok(f)
}

/// Reads a file opened with [`open_regular`].
pub fn read_regular(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut data = Vec::new();
    open_regular(path)?.read_to_end(&mut data)?;
    Ok(data)
}

/// Whether an I/O error means the disk (or the quota) is full, or the file system cannot be
/// written: a condition of the whole server, which passes, rather than of one file.
pub fn is_disk_full(e: &std::io::Error) -> bool {
    use rustix::io::Errno;
    let full = [Errno::NOSPC, Errno::DQUOT, Errno::ROFS].map(Errno::raw_os_error);
    e.raw_os_error().is_some_and(|c| full.contains(&c))
        || e.kind() == std::io::ErrorKind::StorageFull
}

/// `e`, a failed write under `dir`, or "the disk is full" when the file system of `dir` has no
/// room left: some writers (libgit2's pack writer) lose the system's reason.
pub fn explain_write_error(e: std::io::Error, dir: &Path) -> std::io::Error {
    if is_disk_full(&e) || !no_room_left(dir) {
        return e;
    }
    std::io::Error::new(
        std::io::ErrorKind::StorageFull,
        format!(
            "the disk is full: no space left on the file system of {}",
            dir.display()
        ),
    )
}

fn no_room_left(dir: &Path) -> bool {
    rustix::fs::statvfs(dir).is_ok_and(|st| st.f_bavail == 0)
}

#[cfg(test)]
mod read_tests {
    use super::*;

    #[test]
    fn read_regular_refuses_fifos_and_links_without_blocking() {
        let d = tempfile::tempdir().unwrap();
        let fifo = d.path().join("fifo");
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &fifo,
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o644),
            0,
        )
        .unwrap();
        assert!(read_regular(&fifo).is_err());
        fs::write(d.path().join("f"), "x").unwrap();
        std::os::unix::fs::symlink(d.path().join("f"), d.path().join("l")).unwrap();
        assert!(read_regular(&d.path().join("l")).is_err());
        assert_eq!(read_regular(&d.path().join("f")).unwrap(), b"x");
    }
}
