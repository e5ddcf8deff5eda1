//! The supervised runner call: grund does not run the runner as its own child but starts a
//! small supervisor (grund's own binary, `grund supervise-runner`, see [`supervise`]) that
//! outlives grund. The supervisor records, durably, that it started the runner and how the
//! runner ended, and holds a lock while it runs. So a grund killed at any moment finds out
//! after a restart whether a runner ran, is still running, or never started, and never runs
//! one twice (see [`crate::ledger`]).

use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use grunt_core::fsutil;
use grunt_core::runner::{run, Invocation, Outcome, KILL_GRACE};

/// How long a grund waits, at most, for a runner call that a previous grund started and that
/// has no time limit.
const UNLIMITED_WAIT: Duration = Duration::from_secs(7 * 24 * 3600);

/// The files of one supervised runner call, named after a command key (see
/// [`crate::ledger`]): `.inv` (the invocation), `.lock` (held while the supervisor lives),
/// `.started` (the runner may have run), `.exit` (how it ended).
#[derive(Debug, Clone)]
pub struct Slot {
    pub base: PathBuf,
}

impl Slot {
    fn file(&self, ext: &str) -> PathBuf {
        let mut s = self.base.clone().into_os_string();
        s.push(ext);
        PathBuf::from(s)
    }

    /// Where a call whose stdout must outlive the job's `job.grunter.out` writes it.
    pub fn stdout_file(&self) -> PathBuf {
        self.file(".out")
    }

    pub fn exit_file(&self) -> PathBuf {
        self.file(".exit")
    }

    pub fn read_exit(&self) -> grunt_core::Result<Option<Outcome>> {
        Ok(fsutil::read_line(&self.exit_file())?.and_then(|l| Outcome::decode(&l)))
    }

    /// Runs `inv` once, or finds out how the run that a previous grund started ended.
    /// `supervisor` is the command (program and leading arguments) that runs [`supervise`]
    /// for the slot path given as its last argument: grund's own binary.
    pub fn run_once(
        &self,
        inv: &Invocation,
        supervisor: &[std::ffi::OsString],
    ) -> grunt_core::Result<Outcome> {
        let Some((program, lead)) = supervisor.split_first() else {
            return Ok(Outcome::SpawnFailed("no supervisor command".into()));
        };
        let program = Path::new(program);
        if let Some(o) = self.read_exit()? {
            return Ok(o);
        }
        let lock_path = self.file(".lock");
        let lock = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(grunt_core::Error::io("opening", &lock_path))?;
        if lock.try_lock().is_err() {
            // A supervisor from before our restart is still running the runner: wait for it.
            let limit = inv.timeout_secs.map_or(UNLIMITED_WAIT, Duration::from_secs);
            let deadline = Instant::now() + limit + KILL_GRACE * 4;
            while Instant::now() < deadline {
                if lock.try_lock().is_ok() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            return Ok(self.read_exit()?.unwrap_or_else(|| {
                Outcome::Unknown("its supervisor did not record how it ended".into())
            }));
        }
        if self.file(".started").exists() {
            return Ok(Outcome::Unknown(
                "grund was interrupted while it ran and its ending was not recorded; it was not run again".into(),
            ));
        }
        let inv_path = self.file(".inv");
        let json = serde_json::to_vec(inv).unwrap_or_default();
        // Not synced (two fsyncs off every runner call): only the supervisor started next
        // reads it, from the page cache; after a crash `.started` and `.exit` (durable) alone
        // decide, and without `.started` the invocation is written again.
        write_replacing(&inv_path, &json)?;
        let fd = std::os::fd::AsRawFd::as_raw_fd(&lock);
        let mut cmd = Command::new(program);
        cmd.args(lead)
            .arg(&self.base)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .process_group(0);
        // SAFETY: only fcntl, which is async-signal-safe (rustix makes the system call
        // directly), runs between fork and exec, on the lock's descriptor, open in the child as
        // in the parent. It lets the supervisor inherit the lock, so the lock is held from
        // before it exists until it exits, whatever happens to grund.
        unsafe {
            cmd.pre_exec(move || {
                let fd = std::os::fd::BorrowedFd::borrow_raw(fd);
                let flags = rustix::io::fcntl_getfd(fd)?;
                rustix::io::fcntl_setfd(fd, flags - rustix::io::FdFlags::CLOEXEC)?;
                Ok(())
            });
        }
        let mut child = cmd.spawn().map_err(grunt_core::Error::io(
            "starting the runner supervisor",
            program,
        ))?;
        drop(lock);
        let status = child.wait().map_err(grunt_core::Error::io(
            "waiting for the runner supervisor",
            program,
        ))?;
        Ok(self.read_exit()?.unwrap_or_else(|| {
            Outcome::Unknown(format!(
                "its supervisor ended ({status}) without recording how"
            ))
        }))
    }
}

/// The supervisor's work: runs the invocation saved in the slot, enforcing its time limit, and
/// records how it ended. Called by grund's binary in a process of its own.
pub fn supervise(slot_base: &Path) -> grunt_core::Result<()> {
    let slot = Slot {
        base: slot_base.to_path_buf(),
    };
    let inv_path = slot.file(".inv");
    let text = std::fs::read(&inv_path).map_err(grunt_core::Error::io("reading", &inv_path))?;
    // The slot's lock came to us without close-on-exec; the runner and the jobs it leaves
    // running must not inherit it (nor anything else of ours), or the lock would outlive us.
    close_on_exec_above_stderr();
    let outcome = match serde_json::from_slice::<Invocation>(&text) {
        Ok(inv) => {
            fsutil::create_new_durable(&slot.file(".started"), b"")?;
            run(&inv)
        }
        Err(e) => {
            Outcome::SpawnFailed(format!("unreadable invocation {}: {e}", inv_path.display()))
        }
    };
    fsutil::atomic_write(&slot.exit_file(), outcome.encode().as_bytes())
}

/// Writes `data` to `path` through a temporary file and a rename, without syncing.
fn write_replacing(path: &Path, data: &[u8]) -> grunt_core::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".tmp{}", std::process::id()));
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, data)
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(grunt_core::Error::io("writing", path))
}

fn close_on_exec_above_stderr() {
    // The open ones only, where the system lists them: 4,093 fcntl calls were a good part of
    // a runner call's start.
    let listed: Option<Vec<i32>> = std::fs::read_dir("/proc/self/fd").ok().map(|d| {
        d.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
            .filter(|fd| *fd > 2)
            .collect()
    });
    // Bounded: descriptors above 4096 are not something grund ever hands down.
    let fds = listed.unwrap_or_else(|| (3..4096).collect());
    for fd in fds {
        // SAFETY: the descriptor is only passed to fcntl, which fails with EBADF on one that
        // is not open (such as the listing's own, closed by now); this single-threaded process
        // opens and closes nothing meanwhile.
        let fd = unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) };
        if let Ok(flags) = rustix::io::fcntl_getfd(fd) {
            let _ = rustix::io::fcntl_setfd(fd, flags | rustix::io::FdFlags::CLOEXEC);
        }
    }
}
