//! Transports for remote URLs. `ssh` URLs (`ssh://…` and `[user@]host:path`) will go through
//! the system `ssh`, so `~/.ssh/config` applies; until that transport is registered here,
//! libgit2 reports such URLs as unsupported.

/// Registers grunt's transports with libgit2 (idempotent).
pub fn register() -> crate::Result<()> {
    Ok(())
}
