//! The client's push through the server's `grunt receive` (see
//! [`crate::protocol::receive`]): one ssh session that carries the pack and the ref update, and
//! with a [`Wait`] also brings back grund's answer. A server without it is remembered in the
//! clone for a day ([`NO_RECEIVE`]) so that the next pushes go to git at once.

use std::time::Duration;

use git2::{Oid, Repository};

use super::remote::Pushed;
use crate::layout::BRANCH_REF;
use crate::protocol::answer::Reply;
use crate::protocol::receive::{self, Request, Verdict, REMOTE_GRUNT_VAR};
use crate::{Error, Result};

/// A file in the clone's git directory naming a server `grunt` that had no `receive`.
pub const NO_RECEIVE: &str = "grunt-no-receive";

/// How long a missing `grunt receive` is believed.
const RECHECK: Duration = Duration::from_secs(24 * 3600);

/// A bound on a push without a wait (a large pack over a slow link).
const PUSH_TIMEOUT: Duration = Duration::from_secs(3600);

/// Time the server gets beyond a wait's deadline to pack and send the answer.
const SEND_GRACE: Duration = Duration::from_secs(30);

/// After the push, wait on the server for grund's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wait {
    pub secs: u64,
    /// Commits the client's results clone has.
    pub have_results: Vec<Oid>,
}

/// Pushes `new` over `expected` through `grunt receive` at `url`. `None`: the server cannot
/// take it that way (not ssh, no `grunt receive` there, or it refused): push with git.
pub fn push(
    repo: &Repository,
    url: &str,
    new: Oid,
    expected: Option<Oid>,
    wait: Option<&Wait>,
) -> Result<Option<(Pushed, Option<Reply>)>> {
    let Ok((host, path)) = grunt_ssh::Host::from_url(url) else {
        return Ok(None);
    };
    let program = std::env::var(REMOTE_GRUNT_VAR).unwrap_or_else(|_| "grunt".to_string());
    if known_missing(repo, &program) {
        return Ok(None);
    }
    let pack = receive::pack_for(repo, new, expected)?;
    let req = Request {
        path,
        refname: BRANCH_REF.to_string(),
        old: expected,
        new,
        wait_secs: wait.map(|w| w.secs),
        have_results: wait.map(|w| w.have_results.clone()).unwrap_or_default(),
    };
    let timeout = wait.map_or(PUSH_TIMEOUT, |w| Duration::from_secs(w.secs) + SEND_GRACE);
    let remote_err = |e: grunt_ssh::SshError| Error::Remote {
        remote: url.to_string(),
        message: e.to_string(),
    };
    let run = host
        .run_with_input(&req.command_line(&program), &pack, timeout)
        .map_err(remote_err)?;
    let (code, err) = (run.code, run.stderr.trim());
    let reply = receive::read_reply(&run.stdout);
    match (run.failure, &reply) {
        // Taken before ssh failed or was killed (Ctrl-C while waiting): the push is done.
        (Some(e), Some((Verdict::Updated, _))) => log::debug!("after the push: {e}"),
        (Some(e), _) => return Err(remote_err(e)),
        (None, _) => {}
    }
    Ok(match reply {
        None => {
            log::debug!(
                "no `{program} {}` on {host} (exit {code:?}: {}); pushing with git",
                receive::SUBCOMMAND,
                err.trim()
            );
            note_missing(repo, &program);
            None
        }
        Some((Verdict::Updated, answer)) => Some((Pushed::Ok, answer)),
        Some((Verdict::Moved(tip), _)) => Some((
            Pushed::Rejected(format!(
                "the server's branch moved (to {})",
                tip.map_or_else(|| "nothing".to_string(), |t| t.to_string())
            )),
            None,
        )),
        Some((Verdict::Refused(why), _)) => {
            log::debug!("{host} refused the push ({why}); pushing with git");
            None
        }
    })
}

/// Whether `program` on this clone's server was found without `receive` within a day.
fn known_missing(repo: &Repository, program: &str) -> bool {
    let p = repo.path().join(NO_RECEIVE);
    let fresh = std::fs::metadata(&p)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.elapsed().ok())
        .is_some_and(|age| age < RECHECK);
    fresh && std::fs::read_to_string(&p).is_ok_and(|s| s.trim_end() == program)
}

fn note_missing(repo: &Repository, program: &str) {
    // Only saves a session next time: a failed write is harmless.
    let _ = std::fs::write(repo.path().join(NO_RECEIVE), format!("{program}\n"));
}
