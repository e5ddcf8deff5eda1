//! `grunt clean`: removes files in the jobs working directory that are not in the jobs repo
//! (the original's `git clean -xfd`, for "ghost" jobs left by interrupted commands). grunt
//! itself reads jobs from git objects, so this only matters for a working copy left by the
//! original.

use anyhow::Result;
use grunt_core::git::tree;

use crate::context::Ctx;
use crate::ui;

pub fn run(ctx: &Ctx) -> Result<()> {
    ctx.pull_jobs()?;
    // A checked-out clone (the original's) first follows master, so that what is cleaned is
    // what master does not hold, not what a stale index still does.
    crate::worktree::follow(&ctx.jobs)?;
    let root = ctx.dirs.jobs();
    let head_tree = ctx.tip()?;
    let mut removed = 0usize;
    let mut stack = vec![root.clone()];
    // Bounded by the size of the directory tree.
    while let Some(dir) = stack.pop() {
        for ent in std::fs::read_dir(&dir)? {
            let ent = ent?;
            let path = ent.path();
            let rel = path.strip_prefix(&root)?.to_string_lossy().into_owned();
            if rel == ".git" {
                continue;
            }
            let ft = ent.file_type()?;
            if ft.is_dir() {
                stack.push(path);
                continue;
            }
            let tracked = head_tree.as_ref().is_some_and(|t| tree::exists(t, &rel));
            if !tracked {
                std::fs::remove_file(&path)?;
                removed += 1;
            }
        }
    }
    ui::out(format!(
        "cleaned {}: removed {removed} stray file(s)",
        root.display()
    ))?;
    Ok(())
}
