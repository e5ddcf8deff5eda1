//! grund's durable record of progress, so that each command runs once and only once.
//!
//! The original marks a commit done *before* running its commands, so a crash loses them.
//! Here `last_commit_done.sha` (kept where the original keeps it) only moves once every command
//! up to that commit has finished and its results are committed. After a crash grund replays
//! the whole batch since that commit: core commands are idempotent, so redoing one is
//! harmless, and each runner call has a key (a hash of its command's commit and path) naming a
//! [`Slot`] in the project's `grund-state/` directory, which records whether the call started
//! and how it ended, so a replay returns the recorded ending instead of running it again.

use std::fs;
use std::path::{Path, PathBuf};

use git2::{ObjectType, Oid};

use grunt_core::fsutil;
use grunt_core::{Error, Result};

use crate::supervisor::Slot;

#[derive(Debug, Clone)]
pub struct Ledger {
    dir: PathBuf,
    last_done: PathBuf,
}

impl Ledger {
    /// The ledger of one project: its state directory and its `last_commit_done.sha`.
    pub fn open(state_dir: &Path, last_done_file: &Path) -> Result<Ledger> {
        fs::create_dir_all(state_dir).map_err(Error::io("creating", state_dir))?;
        Ok(Ledger {
            dir: state_dir.to_path_buf(),
            last_done: last_done_file.to_path_buf(),
        })
    }

    /// The key of the command file `path` as added by `commit`.
    pub fn key(commit: Oid, path: &str) -> String {
        let text = format!("{commit}:{path}");
        Oid::hash_object(ObjectType::Blob, text.as_bytes())
            .map(|o| o.to_string())
            .unwrap_or(text.replace(['/', ':'], "_"))
    }

    /// The last commit all of whose commands are done, if recorded.
    pub fn last_done(&self) -> Result<Option<Oid>> {
        let Some(line) = fsutil::read_line(&self.last_done)? else {
            return Ok(None);
        };
        Ok(Oid::from_str(line.trim()).ok())
    }

    /// Records that every command up to `commit` is done, then forgets their keys.
    pub fn set_last_done(&self, commit: Oid, keys: &[String]) -> Result<()> {
        // The original writes the sha without a newline; so do we.
        fsutil::atomic_write(&self.last_done, commit.to_string().as_bytes())?;
        for key in keys {
            for ext in [".inv", ".lock", ".started", ".exit", ".out"] {
                let _ = fs::remove_file(self.dir.join(format!("{key}{ext}")));
            }
        }
        Ok(())
    }

    /// The runner slot of a command.
    pub fn slot(&self, key: &str) -> Slot {
        Slot {
            base: self.dir.join(key),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_last_done() {
        let d = tempfile::tempdir().unwrap();
        let l = Ledger::open(
            &d.path().join("state"),
            &d.path().join("jobs/last_commit_done.sha"),
        )
        .unwrap();
        let c = Oid::from_str("1234567890123456789012345678901234567890").unwrap();
        let k1 = Ledger::key(c, "active/ore000001/sim/grcmd.submit");
        let k2 = Ledger::key(c, "active/ore000002/sim/grcmd.submit");
        assert_ne!(k1, k2);
        assert_eq!(l.last_done().unwrap(), None);
        let exit = l.slot(&k1).exit_file();
        std::fs::write(&exit, "exit 0\n").unwrap();
        l.set_last_done(c, std::slice::from_ref(&k1)).unwrap();
        assert_eq!(l.last_done().unwrap(), Some(c));
        assert!(
            !exit.exists(),
            "slot files of finished commands are cleared"
        );
        assert_eq!(
            std::fs::read_to_string(d.path().join("jobs/last_commit_done.sha")).unwrap(),
            c.to_string()
        );
    }
}
