//! Starting ssh: shell quoting, which git program runs remotely ([`Side`]), which ssh
//! program runs locally ([`Launcher`]), ssh's argument vector, and spawning it with its
//! stderr captured.

use std::ffi::OsString;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::thread;

use super::capture::Captured;
use super::url::SshUrl;
use super::SshError;

/// Quotes `s` for a POSIX shell (and csh, which expands `!` inside quotes),
/// the same way git quotes the path of the remote command.
pub fn shell_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        match c {
            '\'' => out.push_str("'\\''"),
            '!' => out.push_str("'\\!'"),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// Which git program runs on the far end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Side {
    Upload,
    Receive,
}

impl Side {
    pub(super) fn program(self) -> &'static str {
        match self {
            Side::Upload => "git-upload-pack",
            Side::Receive => "git-receive-pack",
        }
    }
}

/// How the ssh program is started: the environment is read once per
/// connection, as git does.
#[derive(Debug, Clone)]
pub(super) enum Launcher {
    /// `sh -c "$GIT_SSH_COMMAND \"$@\"" ssh ARGS...`
    Shell(OsString),
    /// `$GIT_SSH ARGS...` or `ssh ARGS...`
    Program(OsString),
}

impl Launcher {
    pub(super) fn from_env() -> Launcher {
        let non_empty = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty());
        if let Some(cmd) = non_empty("GIT_SSH_COMMAND") {
            Launcher::Shell(cmd)
        } else if let Some(prog) = non_empty("GIT_SSH") {
            Launcher::Program(prog)
        } else {
            Launcher::Program(OsString::from("ssh"))
        }
    }

    pub(super) fn describe(&self) -> String {
        match self {
            Launcher::Shell(c) => format!("GIT_SSH_COMMAND={}", c.to_string_lossy()),
            Launcher::Program(p) => p.to_string_lossy().into_owned(),
        }
    }

    fn command(&self, args: &[String]) -> Command {
        match self {
            Launcher::Shell(cmd) => {
                let mut script = cmd.clone();
                script.push(" \"$@\"");
                let mut c = Command::new("sh");
                c.arg("-c").arg(script).arg("ssh").args(args);
                c
            }
            Launcher::Program(p) => {
                let mut c = Command::new(p);
                c.args(args);
                c
            }
        }
    }
}

/// The argument vector given to ssh (after the program name) for a git
/// operation.
pub(super) fn ssh_args(url: &SshUrl, side: Side, batch_mode: bool) -> Vec<String> {
    let remote = format!("{} {}", side.program(), shell_quote(&url.path));
    base_args(url, batch_mode, &[], Some(remote))
}

/// ssh's arguments: port, BatchMode, `options` (before the `--` that ends
/// them), the destination and the remote command line, if any.
pub(super) fn base_args(
    url: &SshUrl,
    batch_mode: bool,
    options: &[&str],
    remote: Option<String>,
) -> Vec<String> {
    let mut args = Vec::new();
    if let Some(p) = url.port {
        args.push("-p".to_owned());
        args.push(p.to_string());
    }
    // Without a terminal nobody can answer a prompt; fail fast instead of
    // hanging. On a terminal, prompts (2FA, host key) must stay possible.
    if batch_mode {
        args.push("-o".to_owned());
        args.push("BatchMode=yes".to_owned());
    }
    args.extend(options.iter().map(|o| (*o).to_owned()));
    args.push("--".to_owned());
    args.push(url.destination());
    args.extend(remote);
    args
}

/// Starts ssh with `args`, stdout piped, stderr captured by a reader thread
/// (and shown live when `interactive`, see [`Captured::pump`]).
pub(super) fn spawn_ssh(
    launcher: &Launcher,
    args: &[String],
    stdin: Stdio,
    interactive: bool,
) -> Result<(Child, Arc<Captured>), SshError> {
    let mut cmd = launcher.command(args);
    cmd.stdin(stdin)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    log::debug!("ssh: {} {:?}", launcher.describe(), args);
    let mut child = cmd.spawn().map_err(|source| SshError::Spawn {
        program: launcher.describe(),
        source,
    })?;
    let stderr = Arc::new(Captured::default());
    match child.stderr.take() {
        Some(pipe) => {
            let sink = Arc::clone(&stderr);
            let spawned = thread::Builder::new()
                .name("ssh-stderr".to_owned())
                .spawn(move || sink.pump(pipe, interactive));
            if let Err(e) = spawned {
                let _ = child.kill();
                let _ = child.wait();
                return Err(SshError::Spawn {
                    program: launcher.describe(),
                    source: e,
                });
            }
        }
        None => stderr.set_eof(),
    }
    Ok((child, stderr))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::url::tests::url;

    #[test]
    fn quotes_paths() {
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
        assert_eq!(shell_quote("x!y"), "'x'\\!'y'");
        assert_eq!(shell_quote("$(rm -rf /)"), "'$(rm -rf /)'");
    }

    #[test]
    fn builds_args() {
        let u = url(Some("me"), "h", Some(2200), "it's.git");
        assert_eq!(
            ssh_args(&u, Side::Upload, true),
            [
                "-p",
                "2200",
                "-o",
                "BatchMode=yes",
                "--",
                "me@h",
                "git-upload-pack 'it'\\''s.git'"
            ]
        );
        let u = url(None, "h", None, "r");
        assert_eq!(
            ssh_args(&u, Side::Receive, false),
            ["--", "h", "git-receive-pack 'r'"]
        );
    }
}
