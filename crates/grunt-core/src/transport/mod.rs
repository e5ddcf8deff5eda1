//! Transports for remote URLs: `ssh://…` and `[user@]host:path` go through the system `ssh`
//! ([`ssh`]), so whatever works for `ssh myhost` (aliases, ControlMaster, ProxyJump, agent)
//! works for grunt, with no libssh2 or OpenSSL in the build.

pub mod ssh;

/// Registers grunt's transports with libgit2 (idempotent). Call it early in `main`, before any
/// other thread uses git2 (see [`ssh::register`]).
pub fn register() -> crate::Result<()> {
    ssh::register().map_err(crate::Error::GitOther)
}
