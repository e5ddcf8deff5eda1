//! Remote git operations over the system `ssh` binary.
//!
//! This module owns grunt's `ssh` transport for libgit2: git2 is built
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

use std::ffi::OsString;
use std::io::{self, IsTerminal, Read, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::{mpsc, Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use git2::transport::{Service, SmartSubtransport, SmartSubtransportStream, Transport};
use git2::{ErrorClass, ErrorCode};

/// URL schemes routed to this transport. libgit2 also sends scp-like
/// `[user@]host:path` URLs to whatever is registered for `ssh`.
const SCHEMES: [&str; 3] = ["ssh", "ssh+git", "git+ssh"];

/// How much of ssh's stderr is kept (the tail); error lines come last.
const STDERR_CAP: usize = 16 * 1024;

/// How long to wait for ssh to exit after its stdout hit EOF or a pipe broke,
/// before diagnosing with whatever is known.
const EXIT_WAIT: Duration = Duration::from_secs(5);

/// How long a finished operation waits for ssh to exit on its own after
/// stdin is closed (post-receive hooks may still be running remotely) before
/// the process is killed.
const CLOSE_WAIT: Duration = Duration::from_secs(10);

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
    fn into_git(self) -> git2::Error {
        git2::Error::new(ErrorCode::GenericError, ErrorClass::Ssh, self.to_string())
    }
}

/// A parsed ssh remote.
#[derive(Debug, Clone, PartialEq, Eq)]
struct SshUrl {
    user: Option<String>,
    host: String,
    port: Option<u16>,
    /// The path as it will be quoted into the remote command.
    path: String,
}

impl SshUrl {
    /// `user@host` (and `:port`) for messages, as the user would type it.
    fn display_host(&self) -> String {
        let mut s = String::new();
        if let Some(u) = &self.user {
            s.push_str(u);
            s.push('@');
        }
        s.push_str(&self.host);
        if let Some(p) = self.port {
            s.push_str(&format!(" (port {p})"));
        }
        s
    }

    /// The destination argument for ssh.
    fn destination(&self) -> String {
        match &self.user {
            Some(u) => format!("{u}@{}", self.host),
            None => self.host.clone(),
        }
    }
}

fn bad_url(url: &str, reason: impl Into<String>) -> SshError {
    SshError::BadUrl {
        url: url.to_owned(),
        reason: reason.into(),
    }
}

/// Parses `ssh://[user@]host[:port]/path` (also `ssh+git://`, `git+ssh://`)
/// and scp-like `[user@]host:path` / `[user@][host]:path`.
fn parse_url(url: &str) -> Result<SshUrl, SshError> {
    let lower = url.to_ascii_lowercase();
    for scheme in SCHEMES {
        let prefix = format!("{scheme}://");
        if lower.starts_with(&prefix) {
            return parse_scheme_url(url, &url[prefix.len()..]);
        }
    }
    parse_scp_url(url)
}

fn parse_scheme_url(url: &str, rest: &str) -> Result<SshUrl, SshError> {
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => return Err(bad_url(url, "no path after the host")),
    };
    let (user, hostport) = split_user(url, authority)?;
    let (host, port) = if let Some(inner) = hostport.strip_prefix('[') {
        let end = inner
            .find(']')
            .ok_or_else(|| bad_url(url, "unterminated `[` in host"))?;
        let after = &inner[end + 1..];
        let port = match after.strip_prefix(':') {
            Some(p) => parse_port(url, p)?,
            None if after.is_empty() => None,
            None => return Err(bad_url(url, "unexpected text after `]`")),
        };
        (&inner[..end], port)
    } else {
        match hostport.split_once(':') {
            Some((h, p)) => {
                if p.contains(':') {
                    return Err(bad_url(url, "IPv6 addresses must be written in brackets"));
                }
                (h, parse_port(url, p)?)
            }
            None => (hostport, None),
        }
    };
    // `ssh://host/~/x` and `ssh://host/~user/x` name home-relative paths.
    let path = if path.starts_with("/~") {
        &path[1..]
    } else {
        path
    };
    finish(url, user, host, port, path)
}

fn parse_scp_url(url: &str) -> Result<SshUrl, SshError> {
    let (user, host, path) = if url.starts_with('[') || url.contains("@[") {
        // `[host]:path`, `user@[host]:path` or git's `[user@host:port]:path`
        // is not supported here beyond a plain bracketed host.
        let (user, rest) = match url.split_once("@[") {
            Some((u, r)) if !u.contains('/') => (Some(u), r),
            _ => (None, &url[1..]),
        };
        let (host, after) = rest
            .split_once(']')
            .ok_or_else(|| bad_url(url, "unterminated `[` in host"))?;
        let path = after
            .strip_prefix(':')
            .ok_or_else(|| bad_url(url, "expected `:` after `]`"))?;
        (user, host, path)
    } else {
        if url.starts_with('-') {
            return Err(bad_url(url, "host must not start with `-`"));
        }
        let (userhost, path) = url
            .split_once(':')
            .ok_or_else(|| bad_url(url, "expected `host:path` or `ssh://host/path`"))?;
        if userhost.contains('/') {
            return Err(bad_url(
                url,
                "this looks like a local path (a `/` comes before the first `:`)",
            ));
        }
        let (user, host) = split_user(url, userhost)?;
        (user, host, path)
    };
    finish(url, user, host, None, path)
}

fn split_user<'a>(url: &str, s: &'a str) -> Result<(Option<&'a str>, &'a str), SshError> {
    match s.rsplit_once('@') {
        Some(("", _)) => Err(bad_url(url, "empty user name before `@`")),
        Some((u, h)) => Ok((Some(u), h)),
        None => Ok((None, s)),
    }
}

fn parse_port(url: &str, p: &str) -> Result<Option<u16>, SshError> {
    if p.is_empty() {
        return Ok(None);
    }
    p.parse::<u16>()
        .ok()
        .filter(|&n| n != 0)
        .map(Some)
        .ok_or_else(|| bad_url(url, format!("invalid port `{p}`")))
}

fn finish(
    url: &str,
    user: Option<&str>,
    host: &str,
    port: Option<u16>,
    path: &str,
) -> Result<SshUrl, SshError> {
    let bad_char = |s: &str| s.chars().any(|c| c.is_control() || c.is_whitespace());
    if host.is_empty() {
        return Err(bad_url(url, "empty host"));
    }
    // A leading `-` would be parsed by ssh as an option (CVE-2017-1000117).
    if host.starts_with('-') {
        return Err(bad_url(url, "host must not start with `-`"));
    }
    if bad_char(host) {
        return Err(bad_url(
            url,
            "host contains whitespace or control characters",
        ));
    }
    if let Some(u) = user {
        if u.starts_with('-') {
            return Err(bad_url(url, "user must not start with `-`"));
        }
        if bad_char(u) {
            return Err(bad_url(
                url,
                "user contains whitespace or control characters",
            ));
        }
    }
    if path.contains(['\0', '\n', '\r']) {
        return Err(bad_url(url, "path contains a NUL or newline character"));
    }
    let path = if path == "~" {
        "."
    } else if let Some(rest) = path.strip_prefix("~/") {
        let rest = rest.trim_start_matches('/');
        if rest.is_empty() {
            "."
        } else {
            rest
        }
    } else {
        path
    };
    if path.is_empty() {
        return Err(bad_url(url, "empty repository path"));
    }
    Ok(SshUrl {
        user: user.map(str::to_owned),
        host: host.to_owned(),
        port,
        path: path.to_owned(),
    })
}

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
enum Side {
    Upload,
    Receive,
}

impl Side {
    fn program(self) -> &'static str {
        match self {
            Side::Upload => "git-upload-pack",
            Side::Receive => "git-receive-pack",
        }
    }
}

/// How the ssh program is started: the environment is read once per
/// connection, as git does.
#[derive(Debug, Clone)]
enum Launcher {
    /// `sh -c "$GIT_SSH_COMMAND \"$@\"" ssh ARGS...`
    Shell(OsString),
    /// `$GIT_SSH ARGS...` or `ssh ARGS...`
    Program(OsString),
}

impl Launcher {
    fn from_env() -> Launcher {
        let non_empty = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty());
        if let Some(cmd) = non_empty("GIT_SSH_COMMAND") {
            Launcher::Shell(cmd)
        } else if let Some(prog) = non_empty("GIT_SSH") {
            Launcher::Program(prog)
        } else {
            Launcher::Program(OsString::from("ssh"))
        }
    }

    fn describe(&self) -> String {
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
fn ssh_args(url: &SshUrl, side: Side, batch_mode: bool) -> Vec<String> {
    let remote = format!("{} {}", side.program(), shell_quote(&url.path));
    base_args(url, batch_mode, &[], Some(remote))
}

/// ssh's arguments: port, BatchMode, `options` (before the `--` that ends
/// them), the destination and the remote command line, if any.
fn base_args(
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

/// Tail of ssh's stderr, filled by a reader thread.
#[derive(Debug, Default)]
struct Captured {
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

    /// Reads ssh's stderr to EOF. With `tee`, also shows it live: on a
    /// terminal, ssh prints parts of interactive logins (e.g. a 2FA menu
    /// sent as keyboard-interactive instructions) on stderr, and the user
    /// must see them to answer the prompt ssh shows on /dev/tty.
    fn pump(&self, mut src: impl Read, tee: bool) {
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
    fn text(&self, timeout: Duration) -> String {
        String::from_utf8_lossy(&self.wait_eof(timeout).buf).into_owned()
    }
}

/// Waits until `child` exits or `timeout` passes. ssh closing its stderr
/// is the event to wait for (std cannot wait on a child with a timeout);
/// the exit itself follows within moments, so the polling after it starts
/// fine-grained.
fn wait_deadline(
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
fn interesting_lines(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .filter(|l| !l.starts_with("Warning: Permanently added") && !l.starts_with("debug"))
        .collect()
}

/// Turns what is known about a failed ssh run into a message.
fn explain(
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
    /// argument with [`shell_quote`]) with the same ssh, options and
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
            stdout,
            stderr,
        })
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
    ) -> Result<(ExitStatus, String, String), SshError> {
        let deadline = Instant::now() + timeout;
        let (mut child, stderr) = spawn_ssh(launcher, args, Stdio::null(), interactive)?;
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
        Ok((
            status,
            String::from_utf8_lossy(&stdout).into_owned(),
            stderr,
        ))
    }
}

impl std::fmt::Display for Host {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.url.display_host())
    }
}

/// Starts ssh with `args`, stdout piped, stderr captured by a reader thread
/// (and shown live when `interactive`, see [`Captured::pump`]).
fn spawn_ssh(
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
        None => stderr.lock().eof = true,
    }
    Ok((child, stderr))
}

/// One running ssh process and its pipes.
#[derive(Debug)]
struct Conn {
    url: SshUrl,
    side: Side,
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: Option<ChildStdout>,
    stderr: Arc<Captured>,
    /// Set once the connection failed, so later calls repeat the diagnosis
    /// instead of producing secondary errors.
    failed: Option<String>,
}

impl Conn {
    fn spawn(url: SshUrl, side: Side, launcher: &Launcher) -> Result<Conn, SshError> {
        let interactive = io::stdin().is_terminal();
        let args = ssh_args(&url, side, !interactive);
        let (mut child, stderr) = spawn_ssh(launcher, &args, Stdio::piped(), interactive)?;
        Ok(Conn {
            url,
            side,
            stdin: child.stdin.take(),
            stdout: child.stdout.take(),
            child,
            stderr,
            failed: None,
        })
    }

    /// Waits for ssh to finish, then explains the failure. Cached.
    fn fail(&mut self, io_err: Option<&io::Error>) -> io::Error {
        if let Some(msg) = &self.failed {
            return io::Error::other(msg.clone());
        }
        let status = wait_deadline(&mut self.child, &self.stderr, EXIT_WAIT)
            .ok()
            .flatten();
        let stderr = self.stderr.text(Duration::from_millis(500));
        let msg = explain(&self.url, Some(self.side), status, &stderr, io_err).to_string();
        log::debug!("ssh transport failed: {msg}; stderr: {stderr}");
        self.failed = Some(msg.clone());
        io::Error::other(msg)
    }

    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(msg) = &self.failed {
            return Err(io::Error::other(msg.clone()));
        }
        let Some(out) = self.stdout.as_mut() else {
            return Ok(0);
        };
        loop {
            match out.read(buf) {
                Ok(0) if buf.is_empty() => return Ok(0),
                Ok(0) => {
                    // EOF: fine if ssh (and so the remote git) succeeded;
                    // libgit2 then decides whether the data was complete.
                    match wait_deadline(&mut self.child, &self.stderr, EXIT_WAIT) {
                        Ok(Some(st)) if st.success() => return Ok(0),
                        _ => return Err(self.fail(None)),
                    }
                }
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(self.fail(Some(&e))),
            }
        }
    }

    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if let Some(msg) = &self.failed {
            return Err(io::Error::other(msg.clone()));
        }
        let Some(inp) = self.stdin.as_mut() else {
            return Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "ssh connection already closed",
            ));
        };
        loop {
            match inp.write(buf) {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(self.fail(Some(&e))),
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self.stdin.as_mut() {
            Some(inp) => inp.flush(),
            None => Ok(()),
        }
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        // EOF on stdin lets the remote git finish (e.g. post-receive hooks).
        drop(self.stdin.take());
        // Keep reading what the remote still sends so it never blocks on a
        // full pipe; the thread ends when ssh closes its stdout.
        if let Some(mut out) = self.stdout.take() {
            let _ = thread::Builder::new()
                .name("ssh-drain".to_owned())
                .spawn(move || {
                    let _ = io::copy(&mut out, &mut io::sink());
                });
        }
        match wait_deadline(&mut self.child, &self.stderr, CLOSE_WAIT) {
            Ok(Some(_)) => {}
            _ => {
                log::debug!(
                    "ssh to {} did not exit within {:?}; killing it",
                    self.url.display_host(),
                    CLOSE_WAIT
                );
                let _ = self.child.kill();
                let _ = self.child.wait();
            }
        }
        if log::log_enabled!(log::Level::Debug) {
            let text = self.stderr.text(Duration::from_millis(100));
            if !text.trim().is_empty() {
                log::debug!("ssh stderr ({}): {}", self.url.display_host(), text.trim());
            }
        }
    }
}

/// The stream handed to libgit2; a handle on the shared connection.
#[derive(Debug)]
struct SshStream {
    conn: Arc<Mutex<Conn>>,
}

impl SshStream {
    fn lock(&self) -> io::Result<MutexGuard<'_, Conn>> {
        self.conn
            .lock()
            .map_err(|_| io::Error::other("ssh connection state poisoned by a panic"))
    }
}

impl Read for SshStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.lock()?.read(buf)
    }
}

impl Write for SshStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.lock()?.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.lock()?.flush()
    }
}

/// Smart subtransport spawning one ssh process per operation.
#[derive(Debug)]
struct SshSubtransport {
    launcher: Option<Launcher>,
    /// The connection opened by the last `*Ls` action, reused by the
    /// following `UploadPack` / `ReceivePack` action.
    current: Mutex<Option<(Side, Arc<Mutex<Conn>>)>>,
}

impl Default for SshSubtransport {
    fn default() -> Self {
        SshSubtransport {
            launcher: None,
            current: Mutex::new(None),
        }
    }
}

impl SshSubtransport {
    fn current(&self) -> MutexGuard<'_, Option<(Side, Arc<Mutex<Conn>>)>> {
        self.current.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl SmartSubtransport for SshSubtransport {
    fn action(
        &self,
        url: &str,
        action: Service,
    ) -> Result<Box<dyn SmartSubtransportStream>, git2::Error> {
        let (side, is_ls) = match action {
            Service::UploadPackLs => (Side::Upload, true),
            Service::UploadPack => (Side::Upload, false),
            Service::ReceivePackLs => (Side::Receive, true),
            Service::ReceivePack => (Side::Receive, false),
        };
        let mut current = self.current();
        if !is_ls {
            // git over ssh is stateful: the pack exchange continues on the
            // connection that delivered the ref advertisement.
            if let Some((s, conn)) = current.as_ref() {
                if *s == side {
                    return Ok(Box::new(SshStream {
                        conn: Arc::clone(conn),
                    }));
                }
            }
        }
        // Drop any previous connection before starting a new one.
        *current = None;
        let parsed = parse_url(url).map_err(SshError::into_git)?;
        let launcher = match &self.launcher {
            Some(l) => l.clone(),
            None => Launcher::from_env(),
        };
        let conn = Conn::spawn(parsed, side, &launcher).map_err(SshError::into_git)?;
        let conn = Arc::new(Mutex::new(conn));
        *current = Some((side, Arc::clone(&conn)));
        Ok(Box::new(SshStream { conn }))
    }

    fn close(&self) -> Result<(), git2::Error> {
        // The connection is reaped when its last stream handle is gone.
        *self.current() = None;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(user: Option<&str>, host: &str, port: Option<u16>, path: &str) -> SshUrl {
        SshUrl {
            user: user.map(str::to_owned),
            host: host.to_owned(),
            port,
            path: path.to_owned(),
        }
    }

    #[test]
    fn parses_scheme_urls() {
        let p = |s| parse_url(s).expect(s);
        assert_eq!(
            p("ssh://git@example:2222/~/repo.git"),
            url(Some("git"), "example", Some(2222), "repo.git")
        );
        assert_eq!(
            p("ssh://host/srv/repo.git"),
            url(None, "host", None, "/srv/repo.git")
        );
        assert_eq!(p("SSH://host/~bob/r"), url(None, "host", None, "~bob/r"));
        assert_eq!(p("ssh://host/~"), url(None, "host", None, "."));
        assert_eq!(
            p("git+ssh://u@[::1]:22/x"),
            url(Some("u"), "::1", Some(22), "/x")
        );
        assert_eq!(p("ssh+git://h:/x"), url(None, "h", None, "/x"));
    }

    #[test]
    fn parses_scp_urls() {
        let p = |s| parse_url(s).expect(s);
        assert_eq!(
            p("user@host:path/repo.git"),
            url(Some("user"), "host", None, "path/repo.git")
        );
        assert_eq!(p("host:~/r.git"), url(None, "host", None, "r.git"));
        assert_eq!(p("host:/abs/r.git"), url(None, "host", None, "/abs/r.git"));
        assert_eq!(p("a@b@host:r"), url(Some("a@b"), "host", None, "r"));
        assert_eq!(p("[::1]:r"), url(None, "::1", None, "r"));
        assert_eq!(p("u@[fe80::1]:r"), url(Some("u"), "fe80::1", None, "r"));
    }

    #[test]
    fn rejects_dangerous_or_broken_urls() {
        for bad in [
            "-oProxyCommand=touch /tmp/pwned:repo",
            "ssh://-oProxyCommand=x/repo",
            "-x@host:repo",
            "host:re\npo",
            "host:re\0po",
            "ssh://host/a\rb",
            "host:",
            "ssh://host",
            "ssh://host:notaport/x",
            "ssh://host:0/x",
            "ssh://::1/x",
            "/local/dir:with/colon",
            "noseparator",
            "@host:x",
            "ho st:x",
        ] {
            let err = parse_url(bad).expect_err(bad).to_string();
            assert!(err.contains("invalid ssh URL"), "{bad}: {err}");
        }
    }

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

    /// A fake "ssh" that ignores its arguments and echoes stdin back, so the
    /// same process is observable through both actions.
    fn echo_transport() -> SshSubtransport {
        SshSubtransport {
            launcher: Some(Launcher::Shell(OsString::from("exec cat #"))),
            current: Mutex::new(None),
        }
    }

    #[test]
    fn pack_action_reuses_ls_connection() {
        let t = echo_transport();
        let mut ls = t
            .action("host:repo", Service::UploadPackLs)
            .expect("ls action");
        let mut pack = t
            .action("host:repo", Service::UploadPack)
            .expect("pack action");
        pack.write_all(b"0009hello").expect("write");
        pack.flush().expect("flush");
        let mut buf = [0u8; 9];
        ls.read_exact(&mut buf).expect("read from the ls stream");
        assert_eq!(&buf, b"0009hello");
        let pid = {
            let cur = t.current();
            let (_, conn) = cur.as_ref().expect("connection kept");
            let pid = conn.lock().expect("lock").child.id();
            pid
        };
        drop(ls);
        drop(pack);
        t.close().expect("close");
        // Reaped: the pid is no longer our child (no zombie left behind).
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        assert!(
            stat.is_empty() || !stat.contains(") Z "),
            "child {pid} left as zombie: {stat}"
        );
    }

    #[test]
    fn new_ls_action_replaces_connection() {
        let t = echo_transport();
        let _a = t.action("host:a", Service::ReceivePackLs).expect("first");
        let first = t.current().as_ref().map(|(_, c)| Arc::clone(c));
        let _b = t.action("host:b", Service::UploadPackLs).expect("second");
        let second = t.current().as_ref().map(|(_, c)| Arc::clone(c));
        match (first, second) {
            (Some(a), Some(b)) => assert!(!Arc::ptr_eq(&a, &b)),
            _ => panic!("connections missing"),
        }
        // A pack action of the other direction must not reuse the stream.
        let _c = t.action("host:b", Service::ReceivePack).expect("third");
        assert_eq!(t.current().as_ref().map(|(s, _)| *s), Some(Side::Receive));
    }

    #[test]
    fn failing_ssh_becomes_clear_error() {
        let t = SshSubtransport {
            launcher: Some(Launcher::Shell(OsString::from(
                "echo 'me@box: Permission denied (publickey).' >&2; exit 255; #",
            ))),
            current: Mutex::new(None),
        };
        let mut s = t
            .action("me@box:repo.git", Service::UploadPackLs)
            .expect("spawn");
        let mut buf = [0u8; 16];
        let err = s.read(&mut buf).expect_err("must fail").to_string();
        assert!(err.contains("ssh to me@box failed"), "{err}");
        assert!(err.contains("without a password prompt"), "{err}");
        // Repeated reads repeat the diagnosis.
        let again = s.read(&mut buf).expect_err("still failing").to_string();
        assert_eq!(err, again);
    }

    #[test]
    fn missing_program_is_reported() {
        let t = SshSubtransport {
            launcher: Some(Launcher::Program(OsString::from(
                "/nonexistent/grunt-no-such-ssh",
            ))),
            current: Mutex::new(None),
        };
        let err = match t.action("host:repo", Service::UploadPackLs) {
            Ok(_) => panic!("spawn must fail"),
            Err(e) => e.message().to_owned(),
        };
        assert!(err.contains("could not run the ssh command"), "{err}");
    }

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
