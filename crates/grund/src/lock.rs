//! One grund per user: an exclusive `flock` on the `~/gruntsrv` directory itself, which the
//! kernel releases the moment the holder dies (no stale lock to clear by hand) and which
//! nobody can delete while grund runs, as they could `grund.lock` (a user cleaning up "stale"
//! files made two daemons run at once). `grund.lock` still holds the pid, for people and for
//! the message a second grund prints, and is locked too for tools that look at it. Where a
//! directory cannot be locked (NFS emulates `flock` with write locks, which need a file open
//! for writing), grund falls back to the file alone and [`Lock::check`] stops it once the
//! locked file is no longer the one on disk.

use std::fs::{File, TryLockError};
use std::io::{Seek, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

/// The held lock; dropping it releases the lock.
#[derive(Debug)]
pub struct Lock {
    /// `None` where the directory could not be locked.
    dir: Option<File>,
    file: File,
    pub path: PathBuf,
}

/// Takes the lock or says who holds it.
pub fn acquire(path: &Path) -> Result<Lock> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let dir_file = match File::open(dir) {
        Ok(d) => match d.try_lock() {
            Ok(()) => Some(d),
            Err(TryLockError::WouldBlock) => {
                try_lock(&d, dir, path)?;
                None
            }
            Err(TryLockError::Error(e)) => {
                log::warn!(
                    "cannot lock {} ({e}); locking {} alone, and stopping if it is removed",
                    dir.display(),
                    path.display()
                );
                None
            }
        },
        Err(e) => return Err(e).with_context(|| format!("opening {} to lock it", dir.display())),
    };
    let mut file = File::options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .with_context(|| format!("opening lock file {}", path.display()))?;
    try_lock(&file, path, path)?;
    file.set_len(0)?;
    file.rewind()?;
    writeln!(file, "{}", std::process::id())?;
    file.sync_all()?;
    Ok(Lock {
        dir: dir_file,
        file,
        path: path.to_path_buf(),
    })
}

impl Lock {
    /// Whether this grund still holds the one lock: always with the directory locked; with
    /// the file alone, only while the file on disk is the one locked (someone deleting it
    /// would let a second grund in).
    pub fn check(&self) -> Result<()> {
        use std::os::unix::fs::MetadataExt;
        if self.dir.is_some() {
            return Ok(());
        }
        let held = self.file.metadata()?;
        match std::fs::metadata(&self.path) {
            Ok(m) if m.dev() == held.dev() && m.ino() == held.ino() => Ok(()),
            _ => bail!(
                "{} was removed or replaced while grund held it: another grund may be running; stopping so that only one does",
                self.path.display()
            ),
        }
    }
}

/// Locks `f` (which is `what`) or says who holds it, from the pid in `pid_file`.
fn try_lock(f: &File, what: &Path, pid_file: &Path) -> Result<()> {
    match f.try_lock() {
        Ok(()) => Ok(()),
        Err(TryLockError::WouldBlock) => {
            let holder = std::fs::read_to_string(pid_file).unwrap_or_default();
            let pid = holder.trim();
            bail!(
                "grund is already running (pid {}; lock {}): stop it first (kill {}) — running two daemons on one account makes them fight over the same jobs",
                if pid.is_empty() { "unknown" } else { pid },
                what.display(),
                if pid.is_empty() { "<pid>" } else { pid },
            );
        }
        Err(TryLockError::Error(e)) => {
            Err(e).with_context(|| format!("locking {}", what.display()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_lock_names_the_holder() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("grund.lock");
        let l = acquire(&p).unwrap();
        let e = acquire(&p).unwrap_err().to_string();
        assert!(e.contains(&std::process::id().to_string()), "{e}");
        // Deleting the lock file does not let a second grund in: the directory is locked.
        std::fs::remove_file(&p).unwrap();
        let e = acquire(&p).unwrap_err().to_string();
        assert!(e.contains("already running"), "{e}");
        l.check().unwrap();
        drop(l);
        acquire(&p).unwrap();
    }

    #[test]
    fn with_the_file_alone_a_removed_lock_file_is_noticed() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("grund.lock");
        let mut l = acquire(&p).unwrap();
        l.dir = None;
        l.check().unwrap();
        std::fs::remove_file(&p).unwrap();
        assert!(l
            .check()
            .unwrap_err()
            .to_string()
            .contains("removed or replaced"));
    }
}
