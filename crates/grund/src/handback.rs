//! `grund handback`: leaves `~/gruntsrv/wc` as the original `grund.py` expects it, so a user
//! can go back to the original on the same server.
//!
//! This grund never checks its working copies out: it writes job directories from git only
//! for the jobs it runs commands on, and commits from git objects. The original works in a
//! checkout instead (`git pull`, `git add`, `git mv`, commit, push), and its `git pull` fails on
//! files this grund left untracked on disk ("untracked working tree files would be
//! overwritten"). So for each working copy (jobs and results of every project): the local
//! branch and `origin/master` are set to the bare repo's tip, `git pull` gets its upstream,
//! the index is that tip's tree, and the files missing on disk are checked out. Files on disk
//! are left as they are (a running job may still be writing them). `last_commit_done.sha`
//! is already where and as the original keeps it.

use std::path::Path;

use anyhow::{Context, Result};
use git2::build::CheckoutBuilder;
use git2::Repository;
use grunt_core::git::{self, remote};
use grunt_core::layout::BRANCH_REF;

use crate::daemon::{project_names, Options};
use crate::lock;

/// Prepares every project's working copies for the original grund. Holds grund's lock
/// meanwhile, so it refuses while this grund runs.
pub fn handback(opts: &Options) -> Result<()> {
    let _lock = lock::acquire(&opts.layout.lock_file())?;
    let user_dir = opts.layout.bare_user_dir(&opts.server, &opts.user);
    let projects = project_names(&user_dir);
    for name in &projects {
        let bare = opts.layout.bare(&opts.key(name));
        let work = opts.layout.work(&opts.key(name));
        for (wc, b) in [(work.jobs(), bare.jobs()), (work.results(), bare.results())] {
            prepare(&wc, &b).with_context(|| format!("{name}: preparing {}", wc.display()))?;
        }
        println!("{name}: working copies ready for the original grund");
    }
    println!(
        "{} project(s) handed back; start the original with `nohup python3 grund.py &` (this grund must stay stopped)",
        projects.len()
    );
    Ok(())
}

/// One working copy: branch, upstream, index and missing files at the bare repo's tip.
fn prepare(wc: &Path, bare: &Path) -> Result<()> {
    let bare_repo = git::open(bare)?;
    let Some(head) = git::head(&bare_repo)? else {
        return Ok(());
    };
    let repo = match Repository::open(wc) {
        Ok(r) => r,
        Err(_) => {
            let r = Repository::init(wc).with_context(|| format!("git init {}", wc.display()))?;
            r.remote("origin", &bare.display().to_string())
                .context("adding origin")?;
            r
        }
    };
    if repo.find_remote("origin").is_err() {
        repo.remote("origin", &bare.display().to_string())
            .context("adding origin")?;
    }
    // The objects: through the alternates this grund sets up, else fetched from origin.
    if repo.find_commit(head).is_err() {
        let mut origin = repo.find_remote("origin").context("finding origin")?;
        origin
            .fetch(&["+refs/heads/*:refs/remotes/origin/*"], None, None)
            .context("fetching from origin")?;
    }
    remote::set_ref(&repo, remote::TRACKING_REF, head)?;
    remote::set_ref(&repo, BRANCH_REF, head)?;
    repo.set_head(BRANCH_REF).context("setting HEAD")?;
    let mut cfg = repo.config().context("opening config")?;
    let branch = BRANCH_REF.trim_start_matches("refs/heads/");
    cfg.set_str(&format!("branch.{branch}.remote"), "origin")
        .context("setting the upstream")?;
    cfg.set_str(&format!("branch.{branch}.merge"), BRANCH_REF)
        .context("setting the upstream")?;
    let tree = repo
        .find_commit(head)
        .and_then(|c| c.tree())
        .context("reading the tip's tree")?;
    let mut index = repo.index().context("opening the index")?;
    index
        .read_tree(&tree)
        .context("reading the tree into the index")?;
    index.write().context("writing the index")?;
    // Only what is missing on disk is written; files that are there stay as they are.
    repo.checkout_index(
        Some(&mut index),
        Some(CheckoutBuilder::new().safe().recreate_missing(true)),
    )
    .context("checking out missing files")?;
    Ok(())
}
