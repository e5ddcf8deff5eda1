//! Running commands on a server over ssh: [`Host`] (`[user@]host`), what a command
//! printed ([`RemoteOutput`]), and whether a ControlMaster serves the host.

use std::io::{self, IsTerminal, Read};
use std::process::{ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use super::capture::wait_deadline;
use super::explain::{explain, interesting_lines};
use super::launch::{base_args, spawn_ssh, Launcher};
use super::url::{parse_scp_url, parse_url, SshUrl};
use super::SshError;

/// A server to run commands on: `[user@]host` as people type it (a Host
/// alias of `~/.ssh/config` works), or the host part of a remote URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Host {
    url: SshUrl,
}

/// What a remote command printed and how it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteOutput {
    /// The remote command's exit code (None: ssh was killed by a signal).
    pub code: Option<i32>,
    pub stdout: String,
    /// The tail of the remote command's (and ssh's) stderr.
    pub stderr: String,
}

impl RemoteOutput {
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }

    /// stderr's meaningful lines on one line, for messages.
    pub fn error_text(&self) -> String {
        interesting_lines(&self.stderr).join(" / ")
    }
}

/// What [`Host::run_with_input`] saw.
#[derive(Debug)]
pub struct InputRun {
    /// The remote command's exit code (None: ssh was killed by a signal).
    pub code: Option<i32>,
    pub stdout: Vec<u8>,
    /// The tail of the remote command's (and ssh's) stderr.
    pub stderr: String,
    /// ssh's own failure (exit status 255, or killed), explained.
    pub failure: Option<SshError>,
}

/// Whether a ControlMaster connection serves a host (`ssh -O check`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ControlMaster {
    /// ssh's answer, e.g. `Master running (pid=1234)`.
    Running(String),
    /// No ControlPath is configured for the host: every operation logs in anew.
    NotConfigured,
    /// Configured, but no master is up; ssh's answer.
    NotRunning(String),
}

impl Host {
    /// Parses `[user@]host` (or `[user@][v6addr]`). A port goes in
    /// `~/.ssh/config` (`Port`), as for every other ssh use.
    pub fn parse(dest: &str) -> Result<Host, SshError> {
        let bad = |reason: String| SshError::BadHost {
            host: dest.to_owned(),
            reason,
        };
        let url = parse_scp_url(&format!("{dest}:.")).map_err(|e| match e {
            SshError::BadUrl { reason, .. } => bad(reason),
            other => other,
        })?;
        // `host:path` would have left the path in front of our `.`.
        if url.path != "." {
            return Err(bad("a host has no `:path` part".to_owned()));
        }
        Ok(Host { url })
    }

    /// The host of a remote URL (`host:path`, `ssh://host/path`) and the
    /// path as it is sent to the server (relative to the remote home unless
    /// it starts with `/`).
    pub fn from_url(url: &str) -> Result<(Host, String), SshError> {
        let url = parse_url(url)?;
        let path = url.path.clone();
        Ok((Host { url }, path))
    }

    /// The ssh destination, `[user@]host`, for hints like `ssh HOST true`.
    pub fn destination(&self) -> String {
        self.url.destination()
    }

    /// The URL of `path` on this host (a relative path starts in the remote home): the
    /// scp-like form people write, or `ssh://` when a port or an IPv6 address needs it.
    pub fn url(&self, path: &str) -> String {
        let u = &self.url;
        if u.port.is_none() && !u.host.contains(':') {
            return format!("{}:{path}", u.destination());
        }
        let user = u.user.as_ref().map(|n| format!("{n}@")).unwrap_or_default();
        let host = if u.host.contains(':') {
            format!("[{}]", u.host)
        } else {
            u.host.clone()
        };
        let port = u.port.map(|p| format!(":{p}")).unwrap_or_default();
        let path = if path.starts_with('/') {
            path.to_string()
        } else {
            format!("/~/{path}")
        };
        format!("ssh://{user}{host}{port}{path}")
    }

    /// Runs `command` (one line for the remote login shell; quote every
    /// argument with [`shell_quote`](super::shell_quote)) with the same ssh, options and
    /// BatchMode rule as git operations. ssh's own failures (exit status
    /// 255: cannot connect, authentication, connection lost) are an error
    /// explained like a git operation's; the command's failure is in the
    /// returned exit code. Killed after `timeout`.
    pub fn run(&self, command: &str, timeout: Duration) -> Result<RemoteOutput, SshError> {
        self.run_with(&Launcher::from_env(), command, timeout)
    }

    fn run_with(
        &self,
        launcher: &Launcher,
        command: &str,
        timeout: Duration,
    ) -> Result<RemoteOutput, SshError> {
        let interactive = io::stdin().is_terminal();
        let args = base_args(&self.url, !interactive, &[], Some(command.to_owned()));
        let (status, stdout, stderr) =
            self.run_args(launcher, &args, command, interactive, timeout)?;
        let code = status.code();
        if code.is_none() || code == Some(255) {
            return Err(explain(&self.url, None, Some(status), &stderr, None));
        }
        Ok(RemoteOutput {
            code,
            stdout: String::from_utf8_lossy(&stdout).into_owned(),
            stderr,
        })
    }

    /// [`Host::run`] for a command whose stdout is binary: returns the exit code, stdout as
    /// bytes and the tail of stderr.
    pub fn run_bytes(
        &self,
        command: &str,
        timeout: Duration,
    ) -> Result<(Option<i32>, Vec<u8>, String), SshError> {
        let launcher = Launcher::from_env();
        let interactive = io::stdin().is_terminal();
        let args = base_args(&self.url, !interactive, &[], Some(command.to_owned()));
        let (status, stdout, stderr) =
            self.run_args(&launcher, &args, command, interactive, timeout)?;
        let code = status.code();
        if code.is_none() || code == Some(255) {
            return Err(explain(&self.url, None, Some(status), &stderr, None));
        }
        Ok((code, stdout, stderr))
    }

    /// [`Host::run_bytes`] with `input` on the remote command's stdin (closed after it), for
    /// a command that reads data, such as `grunt receive` reading a pack. When ssh itself
    /// failed or was killed (Ctrl-C), the output is still returned, with the explained error:
    /// the command may have done its work and said so before.
    pub fn run_with_input(
        &self,
        command: &str,
        input: &[u8],
        timeout: Duration,
    ) -> Result<InputRun, SshError> {
        let launcher = Launcher::from_env();
        let interactive = io::stdin().is_terminal();
        let args = base_args(&self.url, !interactive, &[], Some(command.to_owned()));
        let (status, stdout, stderr) =
            self.run_args_input(&launcher, &args, command, interactive, timeout, input)?;
        let code = status.code();
        let failure = (code.is_none() || code == Some(255))
            .then(|| explain(&self.url, None, Some(status), &stderr, None));
        Ok(InputRun {
            code,
            stdout,
            stderr,
            failure,
        })
    }

    /// Runs `command` there (as [`Host::run`]), copying its output to `out` as it comes,
    /// until it ends: for following a file live. Returns the command's exit code.
    pub fn stream(&self, command: &str, out: &mut dyn io::Write) -> Result<Option<i32>, SshError> {
        let launcher = Launcher::from_env();
        let interactive = io::stdin().is_terminal();
        let args = base_args(&self.url, !interactive, &[], Some(command.to_owned()));
        let (mut child, stderr) = spawn_ssh(&launcher, &args, Stdio::null(), interactive)?;
        if let Some(mut pipe) = child.stdout.take() {
            let mut buf = [0u8; 8192];
            loop {
                match pipe.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        if out.write_all(&buf[..n]).and_then(|()| out.flush()).is_err() {
                            break;
                        }
                    }
                }
            }
        }
        let _ = child.kill();
        let status = child.wait().map_err(|source| SshError::Spawn {
            program: launcher.describe(),
            source,
        })?;
        let code = status.code();
        if code == Some(255) {
            let text = stderr.text(Duration::from_millis(500));
            return Err(explain(&self.url, None, Some(status), &text, None));
        }
        Ok(code)
    }

    /// `ssh -O check HOST`: whether a ControlMaster serves this host.
    pub fn control_master(&self, timeout: Duration) -> Result<ControlMaster, SshError> {
        let interactive = io::stdin().is_terminal();
        let args = base_args(&self.url, !interactive, &["-O", "check"], None);
        let launcher = Launcher::from_env();
        let (status, _, stderr) =
            self.run_args(&launcher, &args, "ssh -O check", interactive, timeout)?;
        let text = interesting_lines(&stderr).join(" / ");
        Ok(if status.success() {
            ControlMaster::Running(text)
        } else if text.contains("No ControlPath specified") {
            ControlMaster::NotConfigured
        } else {
            ControlMaster::NotRunning(text)
        })
    }

    /// Runs ssh with `args` to its end (bounded by `timeout`): exit status,
    /// stdout and the tail of stderr.
    fn run_args(
        &self,
        launcher: &Launcher,
        args: &[String],
        what: &str,
        interactive: bool,
        timeout: Duration,
    ) -> Result<(ExitStatus, Vec<u8>, String), SshError> {
        self.run_args_input(launcher, args, what, interactive, timeout, &[])
    }

    /// [`Host::run_args`] writing `input` to ssh's stdin (null when empty).
    fn run_args_input(
        &self,
        launcher: &Launcher,
        args: &[String],
        what: &str,
        interactive: bool,
        timeout: Duration,
        input: &[u8],
    ) -> Result<(ExitStatus, Vec<u8>, String), SshError> {
        let deadline = Instant::now() + timeout;
        let stdin = if input.is_empty() {
            Stdio::null()
        } else {
            Stdio::piped()
        };
        let (mut child, stderr) = spawn_ssh(launcher, args, stdin, interactive)?;
        if let Some(mut pipe) = child.stdin.take() {
            // From a thread: the remote side may answer (or fail) before reading it all. A
            // failed write shows as the remote command's own complaint or exit code.
            let data = input.to_vec();
            let spawned = thread::Builder::new()
                .name("ssh-stdin".to_owned())
                .spawn(move || {
                    let _ = io::Write::write_all(&mut pipe, &data);
                });
            if let Err(source) = spawned {
                let _ = child.kill();
                let _ = child.wait();
                return Err(SshError::Spawn {
                    program: launcher.describe(),
                    source,
                });
            }
        }
        let (tx, rx) = mpsc::channel();
        if let Some(mut out) = child.stdout.take() {
            let spawned = thread::Builder::new()
                .name("ssh-stdout".to_owned())
                .spawn(move || {
                    let mut buf = Vec::new();
                    let _ = out.read_to_end(&mut buf);
                    let _ = tx.send(buf);
                });
            if let Err(source) = spawned {
                let _ = child.kill();
                let _ = child.wait();
                return Err(SshError::Spawn {
                    program: launcher.describe(),
                    source,
                });
            }
        }
        let status = match wait_deadline(&mut child, &stderr, timeout) {
            Ok(Some(st)) => st,
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(SshError::Timeout {
                    host: self.url.display_host(),
                    command: what.to_owned(),
                    secs: timeout.as_secs(),
                });
            }
        };
        // ssh is gone; a remote process it left behind cannot hold our pipe
        // open, but bound the wait all the same.
        let left = deadline
            .saturating_duration_since(Instant::now())
            .max(Duration::from_millis(500));
        let stdout = rx.recv_timeout(left).unwrap_or_default();
        let stderr = stderr.text(Duration::from_millis(500));
        Ok((status, stdout, stderr))
    }
}

impl std::fmt::Display for Host {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.url.display_host())
    }
}

#[cfg(test)]
mod tests {
    use std::ffi::OsString;

    use super::*;
    use crate::shell_quote;

    #[test]
    fn parses_hosts() {
        let h = |s: &str| Host::parse(s).map(|h| h.destination());
        assert_eq!(h("cluster").ok().as_deref(), Some("cluster"));
        assert_eq!(h("me@cluster").ok().as_deref(), Some("me@cluster"));
        assert_eq!(h("me@[::1]").ok().as_deref(), Some("me@::1"));
        for bad in [
            "",
            "-oProxyCommand=x",
            "host:path",
            "a/b",
            "ho st",
            "@h",
            "-u@h",
        ] {
            let err = Host::parse(bad).expect_err(bad).to_string();
            assert!(err.contains("invalid ssh host"), "{bad}: {err}");
        }
        let (host, path) = Host::from_url("me@c:gruntsrv/bb/x/jobs").expect("url");
        assert_eq!(
            (host.destination().as_str(), path.as_str()),
            ("me@c", "gruntsrv/bb/x/jobs")
        );
        assert_eq!(host.to_string(), "me@c");
        assert_eq!(host.url("a/b"), "me@c:a/b");
        for (url, path) in [
            ("ssh://me@[::1]:2222/x", "gr/jobs"),
            ("ssh://h:22/x", "/abs/jobs"),
            ("[fe80::1]:x", "rel"),
        ] {
            let (host, _) = Host::from_url(url).expect(url);
            let again = parse_url(&host.url(path)).expect("round trip");
            assert_eq!(
                again,
                SshUrl {
                    path: path.to_owned(),
                    ..host.url.clone()
                },
                "{url}"
            );
        }
    }

    /// A fake ssh that runs the remote command (its last argument) locally.
    fn local_shell() -> Launcher {
        Launcher::Shell(OsString::from("for a; do last=$a; done; eval \"$last\" #"))
    }

    #[test]
    fn runs_remote_commands() {
        let h = Host::parse("me@box").expect("host");
        let t = Duration::from_secs(10);
        let cmd = format!("printf '%s' {}; echo oops >&2; exit 3", shell_quote("it's"));
        let out = h.run_with(&local_shell(), &cmd, t).expect("runs");
        assert_eq!(out.code, Some(3));
        assert!(!out.success());
        assert_eq!(out.stdout, "it's");
        assert_eq!(out.error_text(), "oops");

        // ssh's own failure (255) is explained like a git operation's.
        let cmd = "echo 'me@box: Permission denied (publickey).' >&2; exit 255";
        let err = h.run_with(&local_shell(), cmd, t).expect_err("auth");
        assert!(matches!(err, SshError::Auth { .. }), "{err}");

        let start = Instant::now();
        let err = h
            .run_with(&local_shell(), "sleep 5", Duration::from_millis(300))
            .expect_err("timeout");
        assert!(matches!(err, SshError::Timeout { .. }), "{err}");
        assert!(start.elapsed() < Duration::from_secs(4));
    }
}
