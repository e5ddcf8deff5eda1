//! `grunt rerun --verify`: once the reruns have ended, their result files are copied into the
//! results repo (with the originals', if those were never copied) and each file's content hash
//! (its git blob id) is compared with the original's.

use std::collections::BTreeMap;

use anyhow::Result;
use git2::Oid;
use grunt_core::git::{self, tree};
use grunt_core::jobs::JobRecord;
use grunt_core::layout::Location;

use crate::context::Ctx;
use crate::error::{self, CommandError, Kind};
use crate::ui;

/// How long grund's answer to the results request is waited for.
const RESULTS_SECS: u64 = 300;

/// Compares the results of each `(original, rerun)` pair of job ids.
pub fn verify(ctx: &Ctx, pairs: &[(String, String)], timeout: Option<u64>) -> Result<()> {
    if pairs.is_empty() {
        return Ok(());
    }
    let new_ids: Vec<String> = pairs.iter().map(|(_, n)| n.clone()).collect();
    // Waits for the ends; a rerun that failed ends verification with its own error.
    super::wait_cmd::run(
        ctx,
        super::wait_cmd::Args {
            jobs: new_ids.clone(),
            timeout,
            json: false,
        },
    )?;
    let all = ctx.list()?;
    let find = |id: &str| -> Result<JobRecord> {
        Ok(ctx
            .resolve(&[id.to_string()], &all)?
            .into_iter()
            .next()
            .ok_or_else(|| error::error(format!("no job {id}")))?)
    };
    ctx.pull_results()?;
    let mut ask = Vec::new();
    for (orig, new) in pairs {
        let o = find(orig)?;
        if o.location != Location::Delete && results_of(ctx, &o)?.is_empty() {
            ask.push(o);
        }
        ask.push(find(new)?);
    }
    super::grcmd::send(ctx, "results", &ask, Some(RESULTS_SECS))?;
    ctx.pull_results()?;
    let all = ctx.list()?;
    let mut differing = Vec::new();
    for (orig, new) in pairs {
        let (o, n) = (find_in(&all, orig)?, find_in(&all, new)?);
        let (a, b) = (results_of(ctx, &o)?, results_of(ctx, &n)?);
        if a.is_empty() {
            ui::warn(format!(
                "{orig} has no results to compare with (deleted, or its runner lists none)"
            ));
            differing.push(format!("{orig}: no results"));
            continue;
        }
        let mut names: Vec<&String> = a.keys().chain(b.keys()).collect();
        names.sort();
        names.dedup();
        let mut diff = Vec::new();
        for name in &names {
            match (a.get(*name), b.get(*name)) {
                (Some(x), Some(y)) if x == y => {}
                (Some(_), Some(_)) => diff.push(format!("{name} (differs)")),
                (Some(_), None) => diff.push(format!("{name} (missing in {new})")),
                (None, _) => diff.push(format!("{name} (only in {new})")),
            }
        }
        if diff.is_empty() {
            ui::out(format!(
                "{new} reproduces {orig}: {} result file(s) identical",
                names.len()
            ))?;
        } else {
            ui::out(format!(
                "{new} does not reproduce {orig}: {} of {} result file(s) differ: {}",
                diff.len(),
                names.len(),
                diff.join(", ")
            ))?;
            differing.push(format!("{new} vs {orig}"));
        }
    }
    if differing.is_empty() {
        return Ok(());
    }
    Err(CommandError::new(
        Kind::Failed,
        format!("results differ: {}", differing.join("; ")),
    )
    .hint("`grunt diff --inputs A B` shows whether their data inputs differed")
    .into())
}

fn find_in(all: &[JobRecord], id: &str) -> Result<JobRecord> {
    all.iter()
        .find(|j| j.id.to_string() == id)
        .cloned()
        .ok_or_else(|| error::error(format!("job {id} is gone")).into())
}

/// The job's result files in the local results clone: path to blob id (a content hash).
fn results_of(ctx: &Ctx, job: &JobRecord) -> Result<BTreeMap<String, Oid>> {
    let repo = git::open(&ctx.dirs.results())?;
    let Some(head) = git::head(&repo)? else {
        return Ok(BTreeMap::new());
    };
    let root = repo.find_commit(head)?.tree()?;
    let Some(sub) = tree::subtree(&repo, &root, &job.dir()) else {
        return Ok(BTreeMap::new());
    };
    Ok(tree::walk_files(&repo, &sub)?
        .into_iter()
        .map(|f| (f.path, f.oid))
        .collect())
}
