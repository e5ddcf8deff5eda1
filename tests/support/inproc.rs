//! grund in-process: the daemon's library run by the test itself, for tests of what grund
//! does rather than of its binary (the lock's message, signals, exit status, log lines and
//! flags are tested with [`crate::grund_bin`]). A pass costs no process start and needs no
//! CLI floor (the refresh interval can be a second). The runners get the server account's
//! hermetic environment, passed explicitly in [`grund::Options::env`]: nothing of the test
//! harness's own environment reaches them. Runner calls still go through the real runner
//! supervisor, grund's binary.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use grunt_core::layout::ServerLayout;

use crate::{grund_bin, Account, Run};

/// grund's options for `account` serving server `server`: `--once` or a daemon polling every
/// `poll` and refreshing every `refresh`.
pub fn options(account: &Account, server: &str, once: bool, poll: Duration) -> grund::Options {
    grund::Options {
        layout: ServerLayout::from_home(&account.home),
        server: server.to_string(),
        user: account.user.clone(),
        poll,
        once,
        refresh: Duration::from_secs(60),
        supervisor: vec![grund_bin().into(), "supervise-runner".into()],
        workers: 8,
        env: Arc::new(account.env().into_iter().collect::<BTreeMap<_, _>>()),
    }
}

/// Runs `daemon` (grund's `run` or `run_until`), again while it fails only because this
/// process seems to hold the lock still. It does not, but a process another test thread is
/// starting at that moment does: between fork and exec a child holds a copy of every
/// descriptor, so of the `flock` of an in-process grund that just ended. Bounded: 10 s.
fn with_lock(mut daemon: impl FnMut() -> anyhow::Result<()>) -> anyhow::Result<()> {
    let ours = format!("already running (pid {};", std::process::id());
    let mut result = daemon();
    crate::holds_within(Duration::from_secs(10), || {
        match &result {
            Err(e) if format!("{e:#}").contains(&ours) => {}
            _ => return true,
        }
        result = daemon();
        false
    });
    result
}

/// `grund --once` in-process: `ok` and, on failure, the error in `stderr` (exit code 1, as
/// the binary's). grund's log lines are not collected: a test that reads them runs the binary.
pub fn once(opts: &grund::Options) -> Run {
    let opts = grund::Options {
        once: true,
        ..opts.clone()
    };
    match with_lock(|| grund::run(&opts)) {
        Ok(()) => Run {
            ok: true,
            code: Some(0),
            stdout: String::new(),
            stderr: String::new(),
        },
        Err(e) => Run {
            ok: false,
            code: Some(1),
            stdout: String::new(),
            stderr: format!("grund: error: {e:#}\n"),
        },
    }
}

/// grund's loop on a thread of the test, stopped (within one poll) and joined when dropped.
#[derive(Debug)]
pub struct InProcGrund {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<Result<(), String>>>,
}

impl InProcGrund {
    pub fn spawn(opts: grund::Options) -> InProcGrund {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("grund-inproc".into())
            .spawn(move || {
                with_lock(|| grund::run_until(&opts, &flag)).map_err(|e| format!("{e:#}"))
            })
            .expect("starting grund's thread");
        InProcGrund {
            stop,
            thread: Some(thread),
        }
    }

    /// Stops the loop and waits for it; its error, if it ended with one.
    pub fn stop(&mut self) -> Result<(), String> {
        self.stop.store(true, Ordering::Relaxed);
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(r)) => r,
            Some(Err(_)) => Err("grund's thread panicked".into()),
            None => Ok(()),
        }
    }
}

impl Drop for InProcGrund {
    fn drop(&mut self) {
        let r = self.stop();
        if !std::thread::panicking() {
            assert!(r.is_ok(), "in-process grund failed: {r:?}");
        }
    }
}
