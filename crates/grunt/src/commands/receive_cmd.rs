//! `grunt receive PATH REF OLD NEW` (hidden): the server's half of a client's push, run there
//! over ssh with a pack on stdin (see `grunt_core::protocol::receive`). Takes the pack into the
//! bare repo at PATH and moves REF from OLD to NEW, or says why not; with `--wait SECS` then
//! waits for grund's answer as `grunt await` does and sends it in the same session.

use std::io::Read;
use std::path::PathBuf;

use anyhow::{Context, Result};
use git2::Oid;
use grunt_core::git;
use grunt_core::protocol::receive::{self, Verdict, MAX_PACK};

use crate::error;

#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// The bare repo, relative to the home directory or absolute.
    pub path: PathBuf,
    /// The ref to move (only refs/heads/master).
    pub refname: String,
    /// The commit the ref must be at (`-`: the repo has none yet).
    pub old: String,
    /// The new commit.
    pub new: String,
    /// Then wait until grund has answered NEW, at most SECS seconds, and send the answer.
    #[arg(long, value_name = "SECS")]
    pub wait: Option<u64>,
    /// With --wait: a commit the client's results clone has (repeatable).
    #[arg(long, value_name = "COMMIT")]
    pub have_results: Vec<String>,
}

pub fn run(a: Args) -> Result<()> {
    let oid =
        |s: &str| Oid::from_str(s).map_err(|_| error::usage(format!("{s:?} is not a commit id")));
    let old = match a.old.as_str() {
        "-" => None,
        s => Some(oid(s)?),
    };
    let new = oid(&a.new)?;
    let have_results = a
        .have_results
        .iter()
        .map(|s| oid(s))
        .collect::<Result<Vec<_>, _>>()?;
    let mut pack = Vec::new();
    std::io::stdin()
        .lock()
        .take(MAX_PACK + 1)
        .read_to_end(&mut pack)
        .context("reading the pack")?;
    let verdict = if pack.len() as u64 > MAX_PACK {
        Verdict::Refused(format!("the pack is larger than {MAX_PACK} bytes"))
    } else {
        let repo = git::open(&a.path)?;
        receive::apply(&repo, &a.refname, old, new, &pack)?
    };
    let mut out = std::io::stdout().lock();
    verdict.write(&mut out).context("sending the answer")?;
    match (&verdict, a.wait) {
        (Verdict::Updated, Some(secs)) => {
            let base = a.path.parent().map(PathBuf::from).unwrap_or_default();
            let have_jobs: Vec<Oid> = [Some(new), old].into_iter().flatten().collect();
            let reply = super::await_cmd::answer(&base, new, secs, &have_jobs, &have_results)?;
            reply.write(&mut out).context("sending the answer")?;
            Ok(())
        }
        (Verdict::Refused(why), _) => {
            Err(error::usage(format!("refused: {why}; nothing was written")).into())
        }
        _ => Ok(()),
    }
}
