//! grunt's ssh transport: remote git operations over the system `ssh` binary, and commands
//! run on a server. It depends on no other grunt crate.
//!
//! This crate owns grunt's `ssh` transport for libgit2: git2 is built
//! without libssh2, and [`register`] installs a smart subtransport that spawns
//! the user's own `ssh` (or `GIT_SSH_COMMAND` / `GIT_SSH`), exactly like the
//! git CLI does. Everything in `~/.ssh/config` therefore applies: Host
//! aliases, ControlMaster sockets, ProxyJump, ssh-agent, 2FA prompts.
//!
//! One ssh process serves one operation: the `*Ls` action spawns it, the
//! following `UploadPack`/`ReceivePack` action talks over the same pipes, and
//! closing the subtransport reaps it. ssh's stderr is captured so that
//! failures become actionable error messages naming the host.
//!
//! [`Host`] runs other commands on a server (`grunt newproj` creating a project,
//! `grunt doctor`) through the very same ssh program, options and error
//! explanations.
//!
//! Path convention: a remote path `~/x` (from `host:~/x` or
//! `ssh://host/~/x`) is sent as the relative path `'x'`, because sshd starts
//! the remote command in the account's home directory; a bare `~` becomes
//! `'.'`. `~user/x` is sent quoted as is and expanded by git on the server
//! (git's `enter_repo` understands `~user`), which is also what the git CLI
//! does.
//!
//! The pieces, one job each: `url` parses remote URLs, `launch` quotes and
//! builds ssh's arguments and starts it, `capture` keeps ssh's stderr and waits for ssh
//! with a deadline, `explain` turns stderr into an error with a table of patterns, `error` holds [`SshError`], `host` runs commands on a
//! server, and `stream` is the smart subtransport libgit2 talks to.

mod capture;
mod error;
mod explain;
mod host;
mod launch;
mod stream;
mod url;

use std::sync::OnceLock;

use git2::transport::Transport;
use git2::{ErrorClass, ErrorCode};

pub use capture::stop_waiting;
pub use error::SshError;
pub use host::{ControlMaster, Host, InputRun, RemoteOutput};
pub use launch::shell_quote;

use stream::SshSubtransport;

/// URL schemes routed to this transport. libgit2 also sends scp-like
/// `[user@]host:path` URLs to whatever is registered for `ssh`.
const SCHEMES: [&str; 3] = ["ssh", "ssh+git", "git+ssh"];

/// Registers the system-ssh transport for `ssh://`, `ssh+git://`,
/// `git+ssh://` and scp-like `[user@]host:path` URLs.
///
/// Idempotent: the first call registers, later calls return the first
/// call's result. Call it at program start, before any thread starts a
/// remote operation (see the safety note inside).
pub fn register() -> Result<(), git2::Error> {
    static RESULT: OnceLock<Result<(), (ErrorCode, ErrorClass, String)>> = OnceLock::new();
    let result = RESULT.get_or_init(|| {
        for scheme in SCHEMES {
            // SAFETY: `git2::transport::register` is unsafe because libgit2
            // keeps custom transports in an unlocked global vector that
            // `git_transport_new` reads. The OnceLock guarantees that this
            // process mutates it at most once, and concurrent callers of
            // `register` block until that is done. The remaining requirement
            // is on the program: no other thread may already be creating a
            // libgit2 transport during the very first call, which grunt meets
            // by calling `register()` first thing in `main` (and tests call
            // it before any remote operation). The factory closure owns no
            // borrowed data, so it may live for the rest of the process.
            let registered = unsafe {
                git2::transport::register(scheme, |remote| {
                    Transport::smart(remote, false, SshSubtransport::default())
                })
            };
            if let Err(e) = registered {
                return Err((e.code(), e.class(), e.message().to_owned()));
            }
        }
        Ok(())
    });
    match result {
        Ok(()) => Ok(()),
        Err((code, class, msg)) => Err(git2::Error::new(*code, *class, msg)),
    }
}
