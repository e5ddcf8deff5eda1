//! [`explain`]: what ssh printed on stderr, and how it ended, turned into a clear [`SshError`].
//!
//! [`PATTERNS`] is the table: the first entry whose pattern is in one of ssh's lines (case
//! insensitive) decides the kind of error; the order matters (a refused connection also
//! prints lines that could pass for others).

use std::io;
use std::process::ExitStatus;

use crate::launch::Side;
use crate::url::SshUrl;
use crate::SshError;

/// Which [`SshError`] a line of ssh's stderr stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Resolve,
    Refused,
    Unreachable,
    HostKey,
    Auth,
    NeedsPrompt,
    /// The remote git program is not there: a line naming it and `not found` (or exit 127).
    /// Only for git operations.
    GitMissing,
    /// Only for git operations: [`crate::Host::run`] only explains ssh's own failures (the
    /// command's are its caller's business).
    RepoNotFound,
    Lost,
}

/// Patterns in ssh's stderr and the kind of failure each means, tried in this order.
const PATTERNS: &[(&str, Kind)] = &[
    ("Could not resolve hostname", Kind::Resolve),
    ("Connection refused", Kind::Refused),
    ("Connection timed out", Kind::Unreachable),
    ("No route to host", Kind::Unreachable),
    ("Network is unreachable", Kind::Unreachable),
    ("Operation timed out", Kind::Unreachable),
    ("Host key verification failed", Kind::HostKey),
    ("Permission denied (", Kind::Auth),
    ("Too many authentication failures", Kind::Auth),
    ("no mutual signature", Kind::Auth),
    ("read_passphrase", Kind::NeedsPrompt),
    ("can't open /dev/tty", Kind::NeedsPrompt),
    ("No such device or address", Kind::NeedsPrompt),
    ("not found", Kind::GitMissing),
    ("does not appear to be a git repository", Kind::RepoNotFound),
    ("not a git repository", Kind::RepoNotFound),
    ("repository not found", Kind::RepoNotFound),
    ("No such file or directory", Kind::RepoNotFound),
    ("closed by remote host", Kind::Lost),
    ("Connection closed by", Kind::Lost),
    ("Connection reset", Kind::Lost),
    ("Broken pipe", Kind::Lost),
    ("read from master failed", Kind::Lost),
    ("client_loop:", Kind::Lost),
    ("kex_exchange_identification", Kind::Lost),
    ("Timeout, server", Kind::Lost),
];

/// Lines of stderr worth showing: ssh's own noise (warnings about added
/// host keys, debug lines) is dropped.
pub(crate) fn interesting_lines(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .filter(|l| !l.starts_with("Warning: Permanently added") && !l.starts_with("debug"))
        .collect()
}

/// The first line of `lines` holding `needle`, ignoring case.
fn find<'a>(lines: &[&'a str], needle: &str) -> Option<&'a str> {
    let needle = needle.to_ascii_lowercase();
    lines
        .iter()
        .find(|l| l.to_ascii_lowercase().contains(&needle))
        .copied()
}

/// The line (and kind) of the first entry of [`PATTERNS`] that applies.
fn classify<'a>(
    lines: &[&'a str],
    side: Option<Side>,
    code: Option<i32>,
) -> Option<(Kind, &'a str)> {
    for &(needle, kind) in PATTERNS {
        match (kind, side) {
            (Kind::GitMissing | Kind::RepoNotFound, None) => continue,
            (Kind::GitMissing, Some(side)) => {
                let program = side.program();
                if code == Some(127) {
                    return Some((kind, ""));
                }
                if let Some(l) = lines
                    .iter()
                    .find(|l| l.contains(program) && l.contains(needle))
                {
                    return Some((kind, l));
                }
            }
            _ => {
                if let Some(l) = find(lines, needle) {
                    return Some((kind, l));
                }
            }
        }
    }
    None
}

/// Turns what is known about a failed ssh run into a message.
pub(crate) fn explain(
    url: &SshUrl,
    side: Option<Side>,
    status: Option<ExitStatus>,
    stderr: &str,
    io_err: Option<&io::Error>,
) -> SshError {
    let host = url.display_host();
    let lines = interesting_lines(stderr);
    let code = status.and_then(|s| s.code());
    if let Some((kind, line)) = classify(&lines, side, code) {
        let detail = line.to_owned();
        return match kind {
            Kind::Resolve => SshError::Resolve {
                host: url.host.clone(),
                detail: line.rsplit(": ").next().unwrap_or(line).to_owned(),
            },
            Kind::Refused => SshError::Refused { host },
            Kind::Unreachable => SshError::Unreachable { host, detail },
            Kind::HostKey => SshError::HostKey { host },
            Kind::Auth => {
                // The server would have asked for a password or a 2FA code: that cannot
                // work without a terminal, but a ControlMaster opened beforehand in one does.
                let hint = if detail.contains("keyboard-interactive") || detail.contains("password")
                {
                    format!(
                        "; for a 2FA login, open a ControlMaster connection first in a terminal \
                         (`ssh {host} true` with ControlMaster/ControlPersist in ~/.ssh/config)"
                    )
                } else {
                    String::new()
                };
                SshError::Auth { host, detail, hint }
            }
            Kind::NeedsPrompt => SshError::NeedsPrompt { host, detail },
            Kind::GitMissing => SshError::GitMissing {
                program: side.map(Side::program).unwrap_or_default().to_owned(),
                host,
            },
            Kind::RepoNotFound => SshError::RepoNotFound {
                path: url.path.clone(),
                host,
                detail,
            },
            Kind::Lost => SshError::Lost { host, detail },
        };
    }
    unclassified(host, status, &lines, io_err)
}

/// A failure no pattern names: told by how ssh ended.
fn unclassified(
    host: String,
    status: Option<ExitStatus>,
    lines: &[&str],
    io_err: Option<&io::Error>,
) -> SshError {
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
    if status.is_some_and(|s| s.success()) {
        // ssh and the remote git both succeeded, yet libgit2 wanted more.
        return SshError::Lost {
            host,
            detail: format!("the remote git closed the connection early ({tail})"),
        };
    }
    if status.and_then(|s| s.code()) == Some(255) && lines.is_empty() {
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
    use crate::url::tests::url;

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
