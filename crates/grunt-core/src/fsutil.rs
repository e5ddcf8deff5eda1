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
