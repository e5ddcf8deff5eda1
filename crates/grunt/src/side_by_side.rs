//! One `~/gruntdat` shared with the original Python client: what runs after every command
//! on a project (from `Ctx`'s drop), so that the original finds its clones and its job lists
//! as it expects them.

use crate::context::Ctx;
use crate::{error, jobs_csv, ui, worktree};

/// What keeps a `~/gruntdat` shared with the original client whole after a command on `ctx`:
/// checked-out clones follow their `master`, and the job lists are rewritten. Failures here
/// are warnings: the command itself has done its work.
pub fn after_command(ctx: &Ctx) {
    let results = grunt_core::git::open(&ctx.dirs.results()).ok();
    for repo in std::iter::once(&ctx.jobs).chain(results.as_ref()) {
        worktree::follow_and_warn(repo);
    }
    if jobs_csv::enabled(&ctx.cwd) {
        let written = jobs_csv::write_if_changed(ctx);
        if let Err(e) = written {
            ui::warn(format!(
                "could not write the job lists (jobs.active, …): {}",
                error::one_line(&e)
            ));
        }
    }
}
