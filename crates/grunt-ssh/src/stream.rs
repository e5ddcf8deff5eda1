//! The git2 smart subtransport: [`SshSubtransport`] spawns one ssh process ([`Conn`]) per
//! operation and hands libgit2 [`SshStream`] handles on it.

use std::io::{self, IsTerminal, Read, Write};
use std::process::{Child, ChildStdin, ChildStdout, Stdio};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread;
use std::time::Duration;

use git2::transport::{Service, SmartSubtransport, SmartSubtransportStream};

use super::capture::{wait_deadline, Captured};
use super::explain::explain;
use super::launch::{spawn_ssh, ssh_args, Launcher, Side};
use super::url::{parse_url, SshUrl};
use super::SshError;

/// How long to wait for ssh to exit after its stdout hit EOF or a pipe broke,
/// before diagnosing with whatever is known.
const EXIT_WAIT: Duration = Duration::from_secs(5);

/// How long a finished operation waits for ssh to exit on its own after
/// stdin is closed (post-receive hooks may still be running remotely) before
/// the process is killed.
const CLOSE_WAIT: Duration = Duration::from_secs(10);

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
pub(super) struct SshSubtransport {
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
    use std::ffi::OsString;

    use super::*;

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
}
