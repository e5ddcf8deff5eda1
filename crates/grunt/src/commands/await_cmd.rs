//! `grunt await BASE COMMIT` (hidden): the server's half of a client's `--wait`, run there over
//! ssh. Watches the bare jobs repo under BASE (`<root>/bb/<server>/<user>/<project>`) until
//! `grund_status.txt` answers COMMIT or `--secs` pass, then prints the reply of
//! `grunt_core::protocol::answer`: whether it was answered, and both repos' tips with a pack of
//! what the client's `--have-*` commits do not reach.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use git2::Oid;
use grunt_core::git;
use grunt_core::protocol::answer::{self, Reply};

use crate::error;
use crate::wait::ref_pause;

/// The longest wait a client may ask for (a day): bounds a server process left waiting.
const MAX_SECS: u64 = 86_400;

#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Where the bare repos `jobs` and `results` are, relative to the home directory or absolute.
    pub base: PathBuf,
    /// The client commit whose answer is awaited.
    pub commit: String,
    /// Wait at most SECS seconds.
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    pub secs: u64,
    /// A commit the client's jobs clone has (repeatable).
    #[arg(long, value_name = "COMMIT")]
    pub have_jobs: Vec<String>,
    /// A commit the client's results clone has (repeatable).
    #[arg(long, value_name = "COMMIT")]
    pub have_results: Vec<String>,
}

pub fn run(a: Args) -> Result<()> {
    let oid =
        |s: &str| Oid::from_str(s).map_err(|_| error::usage(format!("{s:?} is not a commit id")));
    let commit = oid(&a.commit)?;
    let haves = |v: &[String]| v.iter().map(|s| oid(s)).collect::<Result<Vec<_>, _>>();
    let (have_jobs, have_results) = (haves(&a.have_jobs)?, haves(&a.have_results)?);
    let reply = answer(&a.base, commit, a.secs, &have_jobs, &have_results)?;
    let mut out = std::io::stdout().lock();
    reply.write(&mut out).context("sending the answer")?;
    Ok(())
}

/// Whether nobody reads our stdout any more (the pipe or socket to sshd is closed).
fn stdout_gone() -> bool {
    let mut fd = libc::pollfd {
        fd: 1,
        events: 0,
        revents: 0,
    };
    // SAFETY: one valid pollfd, no timeout; fd 1 is only looked at.
    let n = unsafe { libc::poll(&mut fd, 1, 0) };
    n > 0 && fd.revents & (libc::POLLERR | libc::POLLHUP) != 0
}

/// Waits at most `secs` until the bare jobs repo under `base` answers `commit`, then packs
/// what the client's haves do not reach (also for `grunt receive --wait`).
pub fn answer(
    base: &Path,
    commit: Oid,
    secs: u64,
    have_jobs: &[Oid],
    have_results: &[Oid],
) -> Result<Reply> {
    let jobs_path = base.join("jobs");
    let jobs = git::open(&jobs_path)?;
    let deadline = Instant::now() + Duration::from_secs(secs.min(MAX_SECS));
    let mut pause = ref_pause(&jobs_path);
    // Over ssh: a client gone (Ctrl-C, a lost connection) ends the wait, not the deadline.
    let answered = answer::wait_answered(&jobs, commit, deadline, &mut |d| {
        pause(d);
        !stdout_gone()
    })?;
    // The jobs tip first: grund commits results before jobs, so the results read after it
    // hold at least what that jobs tip answers.
    let jobs_update = answer::update_since(&jobs, have_jobs)?;
    let results = match git::open(&base.join("results")) {
        Ok(r) => answer::update_since(&r, have_results)?,
        Err(e) => {
            log::warn!("{e}");
            None
        }
    };
    Ok(Reply {
        answered,
        jobs: jobs_update,
        results,
    })
}
