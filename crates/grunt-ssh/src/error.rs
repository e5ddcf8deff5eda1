//! [`SshError`]: every way an ssh operation fails, each worded with what to do about it.

use std::io;

use git2::{ErrorClass, ErrorCode};

/// Everything that can go wrong, worded for the person at the keyboard.
#[derive(Debug, thiserror::Error)]
pub enum SshError {
    #[error("invalid ssh URL `{url}`: {reason}")]
    BadUrl { url: String, reason: String },
    #[error("invalid ssh host `{host}`: {reason} — write `[user@]host`, e.g. a Host alias of ~/.ssh/config")]
    BadHost { host: String, reason: String },
    #[error(
        "could not run the ssh command `{program}`: {source} — install openssh-client, \
         or point GIT_SSH_COMMAND / GIT_SSH at your ssh"
    )]
    Spawn { program: String, source: io::Error },
    #[error(
        "ssh to {host} failed: {detail} — check that `ssh {host}` works without a password \
         prompt (ssh-agent, IdentityFile in ~/.ssh/config){hint}"
    )]
    Auth {
        host: String,
        detail: String,
        hint: String,
    },
    #[error(
        "ssh could not resolve hostname {host}: {detail} — is `{host}` a Host alias in \
         ~/.ssh/config or a real hostname?"
    )]
    Resolve { host: String, detail: String },
    #[error(
        "ssh to {host} failed: connection refused — no sshd is listening there (check \
         HostName/Port in ~/.ssh/config and that the server is up)"
    )]
    Refused { host: String },
    #[error(
        "ssh to {host} failed: {detail} — the host is unreachable from here (network, VPN, \
         ProxyJump?)"
    )]
    Unreachable { host: String, detail: String },
    #[error(
        "ssh to {host} failed: host key verification failed — run `ssh {host}` once in a \
         terminal to check and accept its host key (known_hosts)"
    )]
    HostKey { host: String },
    #[error(
        "ssh to {host} failed: {detail} — a terminal prompt was needed but grunt is not \
         running on a terminal; log in once with `ssh {host}` (e.g. to open a ControlMaster \
         connection) and retry"
    )]
    NeedsPrompt { host: String, detail: String },
    #[error(
        "{program}: command not found on {host} — install git on the server (it must be on \
         the PATH of non-interactive ssh sessions)"
    )]
    GitMissing { program: String, host: String },
    #[error(
        "repository not found at {path} on {host}: {detail} — check the path in the remote \
         URL (relative paths start in the remote home directory)"
    )]
    RepoNotFound {
        path: String,
        host: String,
        detail: String,
    },
    #[error(
        "connection to {host} lost: {detail} — the ssh connection or the server went away \
         during the operation; check `ssh {host}` and retry"
    )]
    Lost { host: String, detail: String },
    #[error(
        "`{command}` on {host} did not finish within {secs} s — the server or the connection \
         hangs; check `ssh {host} true`"
    )]
    Timeout {
        host: String,
        command: String,
        secs: u64,
    },
    #[error("ssh to {host} failed ({status}): {detail}")]
    Other {
        host: String,
        status: String,
        detail: String,
    },
}

impl SshError {
    pub(super) fn into_git(self) -> git2::Error {
        git2::Error::new(ErrorCode::GenericError, ErrorClass::Ssh, self.to_string())
    }
}
