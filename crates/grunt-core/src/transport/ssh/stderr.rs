//! ssh's stderr: the tail captured by a reader thread ([`Captured`]), bounded waits for
//! ssh to finish, and [`explain`], which turns what ssh printed into a clear [`SshError`].

use std::io::{self, Read, Write};
use std::process::{Child, ExitStatus};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use super::launch::Side;
use super::url::SshUrl;
use super::SshError;

/// How much of ssh's stderr is kept (the tail); error lines come last.
const STDERR_CAP: usize = 16 * 1024;

/// Tail of ssh's stderr, filled by a reader thread.
#[derive(Debug, Default)]
pub(super) struct Captured {
    state: Mutex<CapturedState>,
    done: Condvar,
}

#[derive(Debug, Default)]
struct CapturedState {
    buf: Vec<u8>,
    eof: bool,
}

impl Captured {
    fn lock(&self) -> MutexGuard<'_, CapturedState> {
        // A panic in the reader thread cannot leave the buffer inconsistent
        // in a way that matters for an error message.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Marks stderr as read to its end, for a child without a stderr pipe.
    pub(super) fn set_eof(&self) {
        self.lock().eof = true;
    }

    /// Reads ssh's stderr to EOF. With `tee`, also shows it live: on a
    /// terminal, ssh prints parts of interactive logins (e.g. a 2FA menu
    /// sent as keyboard-interactive instructions) on stderr, and the user
    /// must see them to answer the prompt ssh shows on /dev/tty.
    pub(super) fn pump(&self, mut src: impl Read, tee: bool) {
        let mut chunk = [0u8; 4096];
        loop {
            match src.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => {
                    if tee {
                        let _ = io::stderr().write_all(&chunk[..n]);
                    }
                    let mut st = self.lock();
                    st.buf.extend_from_slice(&chunk[..n]);
                    if st.buf.len() > STDERR_CAP {
                        let excess = st.buf.len() - STDERR_CAP;
                        st.buf.drain(..excess);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => break,
            }
        }
        self.lock().eof = true;
        self.done.notify_all();
    }

    /// Waits (bounded) until ssh closed stderr; returns the guard.
    fn wait_eof(&self, timeout: Duration) -> MutexGuard<'_, CapturedState> {
        let deadline = Instant::now() + timeout;
        let mut st = self.lock();
        while !st.eof {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            st = match self.done.wait_timeout(st, deadline - now) {
                Ok((g, _)) => g,
                Err(e) => e.into_inner().0,
            };
        }
        st
    }

    /// Waits (bounded) until ssh closed stderr, then returns the text.
    pub(super) fn text(&self, timeout: Duration) -> String {
        String::from_utf8_lossy(&self.wait_eof(timeout).buf).into_owned()
    }
}

/// Waits until `child` exits or `timeout` passes. ssh closing its stderr
/// is the event to wait for (std cannot wait on a child with a timeout);
/// the exit itself follows within moments, so the polling after it starts
/// fine-grained.
pub(super) fn wait_deadline(
    child: &mut Child,
    stderr: &Captured,
    timeout: Duration,
) -> io::Result<Option<ExitStatus>> {
    let deadline = Instant::now() + timeout;
    if let Some(st) = child.try_wait()? {
        return Ok(Some(st));
    }
    drop(stderr.wait_eof(timeout));
    let mut pause = Duration::from_micros(200);
    loop {
        if let Some(st) = child.try_wait()? {
            return Ok(Some(st));
        }
        let now = Instant::now();
        if now >= deadline {
            return Ok(None);
        }
        thread::sleep(pause.min(deadline - now));
        pause = (pause * 2).min(Duration::from_millis(25));
    }
}

/// Lines of stderr worth showing: ssh's own noise (warnings about added
/// host keys, debug lines) is dropped.
pub(super) fn interesting_lines(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .filter(|l| !l.starts_with("Warning: Permanently added") && !l.starts_with("debug"))
        .collect()
}

/// Turns what is known about a failed ssh run into a message.
pub(super) fn explain(
    url: &SshUrl,
    side: Option<Side>,
    status: Option<ExitStatus>,
    stderr: &str,
    io_err: Option<&io::Error>,
) -> SshError {
    let host = url.display_host();
    let lines = interesting_lines(stderr);
    let find = |needle: &str| -> Option<String> {
        lines
            .iter()
            .find(|l| {
                l.to_ascii_lowercase()
                    .contains(&needle.to_ascii_lowercase())
            })
            .map(|l| (*l).to_owned())
    };
    let tail = {
        let start = lines.len().saturating_sub(3);
        let t = lines[start..].join(" / ");
        if t.is_empty() {
            match io_err {
                Some(e) => format!("ssh ended early ({e}) without saying why"),
                None => "ssh ended early without saying why".to_owned(),
            }
        } else {
            t
        }
    };

    if let Some(l) = find("Could not resolve hostname") {
        let detail = l.rsplit(": ").next().unwrap_or(&l).to_owned();
        return SshError::Resolve {
            host: url.host.clone(),
            detail,
        };
    }
    if find("Connection refused").is_some() {
        return SshError::Refused { host };
    }
    for needle in [
        "Connection timed out",
        "No route to host",
        "Network is unreachable",
        "Operation timed out",
    ] {
        if let Some(detail) = find(needle) {
            return SshError::Unreachable { host, detail };
        }
    }
    if find("Host key verification failed").is_some() {
        return SshError::HostKey { host };
    }
    for needle in [
        "Permission denied (",
        "Too many authentication failures",
        "no mutual signature",
    ] {
        if let Some(detail) = find(needle) {
            // The server would have asked for a password or a 2FA code:
            // that cannot work without a terminal, but a ControlMaster
            // opened beforehand in one does.
            let hint = if detail.contains("keyboard-interactive") || detail.contains("password") {
                format!(
                    "; for a 2FA login, open a ControlMaster connection first in a terminal \
                     (`ssh {host} true` with ControlMaster/ControlPersist in ~/.ssh/config)"
                )
            } else {
                String::new()
            };
            return SshError::Auth { host, detail, hint };
        }
    }
    for needle in [
        "read_passphrase",
        "can't open /dev/tty",
        "No such device or address",
    ] {
        if let Some(detail) = find(needle) {
            return SshError::NeedsPrompt { host, detail };
        }
    }
    let code = status.and_then(|s| s.code());
    // A git operation's remote command is git itself; [`Host::run`] only
    // explains ssh's own failures (the command's are its caller's business).
    if let Some(side) = side {
        let program = side.program();
        if code == Some(127)
            || lines
                .iter()
                .any(|l| l.contains(program) && l.contains("not found"))
        {
            return SshError::GitMissing {
                program: program.to_owned(),
                host,
            };
        }
        for needle in [
            "does not appear to be a git repository",
            "not a git repository",
            "repository not found",
            "No such file or directory",
        ] {
            if let Some(detail) = find(needle) {
                return SshError::RepoNotFound {
                    path: url.path.clone(),
                    host,
                    detail,
                };
            }
        }
    }
    for needle in [
        "closed by remote host",
        "Connection closed by",
        "Connection reset",
        "Broken pipe",
        "read from master failed",
        "client_loop:",
        "kex_exchange_identification",
        "Timeout, server",
    ] {
        if let Some(detail) = find(needle) {
            return SshError::Lost { host, detail };
        }
    }
    if status.is_some_and(|s| s.success()) {
        // ssh and the remote git both succeeded, yet libgit2 wanted more.
        return SshError::Lost {
            host,
            detail: format!("the remote git closed the connection early ({tail})"),
        };
    }
    if code == Some(255) && lines.is_empty() {
        // ssh's own failures exit 255; a mux client whose ControlMaster (or
        // whose server) died exits so without printing anything.
        return SshError::Lost {
            host,
            detail: "ssh exited with status 255 without a message (connection or \
                     ControlMaster closed)"
                .to_owned(),
        };
    }
    let status = match status {
        Some(s) => match s.code() {
            Some(c) => format!("exit status {c}"),
            None => format!("{s}"),
        },
        None => "still running".to_owned(),
    };
    if let Some(e) = io_err {
        if lines.is_empty() {
            return SshError::Lost {
                host,
                detail: format!("{e} ({status})"),
            };
        }
    }
    SshError::Other {
        host,
        status,
        detail: tail,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::ssh::url::tests::url;

    fn status(code: i32) -> Option<ExitStatus> {
        use std::os::unix::process::ExitStatusExt;
        Some(ExitStatus::from_raw(code << 8))
    }

    #[test]
    fn explains_failures() {
        let u = url(Some("me"), "cluster", None, "r.git");
        let e =
            |stderr: &str, code: i32| explain(&u, Some(Side::Upload), status(code), stderr, None);
        let msg = e("me@cluster: Permission denied (publickey).\n", 255).to_string();
        assert!(msg.contains("ssh to me@cluster failed: me@cluster: Permission denied (publickey)"));
        assert!(msg.contains("ssh-agent, IdentityFile"), "{msg}");
        let msg = e(
            "me@cluster: Permission denied (publickey,keyboard-interactive).\n",
            255,
        )
        .to_string();
        assert!(
            msg.contains("open a ControlMaster connection first"),
            "{msg}"
        );
        assert!(msg.contains("`ssh me@cluster true`"), "{msg}");
        let msg = e(
            "ssh: Could not resolve hostname cluster: Name or service not known\n",
            255,
        )
        .to_string();
        assert!(msg.contains("could not resolve hostname cluster"), "{msg}");
        let msg = e(
            "ssh: connect to host 1.2.3.4 port 22: Connection refused\n",
            255,
        );
        assert!(matches!(msg, SshError::Refused { .. }));
        let msg = e("bash: line 1: git-upload-pack: command not found\n", 127).to_string();
        assert!(msg.contains("install git on the server"), "{msg}");
        let msg = e(
            "fatal: 'r.git' does not appear to be a git repository\n",
            128,
        )
        .to_string();
        assert!(
            msg.contains("repository not found at r.git on me@cluster"),
            "{msg}"
        );
        let msg = e("Host key verification failed.\n", 255);
        assert!(matches!(msg, SshError::HostKey { .. }));
        let msg = e("Connection to 127.0.0.1 closed by remote host.\n", 255);
        assert!(matches!(msg, SshError::Lost { .. }));
        let msg = e("", 255);
        assert!(matches!(msg, SshError::Lost { .. }));
        let msg = e("", 1);
        assert!(matches!(msg, SshError::Other { .. }));
    }
}
