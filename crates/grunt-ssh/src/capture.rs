//! ssh's stderr: the tail captured by a reader thread ([`Captured`]), and bounded waits for
//! ssh to finish.

use std::io::{self, Read, Write};
use std::process::{Child, ExitStatus};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

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

/// How often a wait looks whether it should stop.
const STOP_LOOK: Duration = Duration::from_millis(100);

static STOP: AtomicBool = AtomicBool::new(false);

/// Ends the waits for remote commands of this process, now and later, killing their ssh: for
/// Ctrl-C, which a program that handles it must pass on (ssh may outlive it, e.g. a
/// ControlMaster's client while the remote command waits).
pub fn stop_waiting() {
    STOP.store(true, Ordering::SeqCst);
}

/// Whether waits should stop; kills `child` then.
fn stopped(child: &mut Child) -> io::Result<bool> {
    if !STOP.load(Ordering::SeqCst) {
        return Ok(false);
    }
    match child.kill() {
        // Exited meanwhile: nothing to kill.
        Err(e) if e.kind() != io::ErrorKind::InvalidInput => Err(e),
        _ => Ok(true),
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
    // In slices, to see a stop (Ctrl-C) while a remote command waits.
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if stderr.wait_eof(left.min(STOP_LOOK)).eof || left.is_zero() || stopped(child)? {
            break;
        }
    }
    let mut pause = Duration::from_micros(200);
    loop {
        if let Some(st) = child.try_wait()? {
            return Ok(Some(st));
        }
        if stopped(child)? {
            return child.wait().map(Some);
        }
        let now = Instant::now();
        if now >= deadline {
            return Ok(None);
        }
        thread::sleep(pause.min(deadline - now));
        pause = (pause * 2).min(Duration::from_millis(25));
    }
}
