//! Commands that ask grund for work on jobs by pushing `grcmd.<word>`: status, cancel, nuke,
//! delete, archive, and any user word for the runner.

use anyhow::{bail, Result};
use grunt_core::command;
use grunt_core::jobs::JobRecord;
use grunt_core::layout::Location;

use crate::context::Ctx;
use crate::ui;
use crate::wait::{self, WaitArg};

#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Jobs: ids (ore000042), numbers (42) or inclusive ranges (11..22).
    pub jobs: Vec<String>,
    #[command(flatten)]
    pub wait: WaitArg,
}

/// Pushes `word` for the jobs `a` names (for `status`, all active jobs when none are named).
pub fn run(ctx: &Ctx, word: &str, a: Args) -> Result<()> {
    ctx.pull_jobs()?;
    let all = ctx.list()?;
    let targets: Vec<JobRecord> = if a.jobs.is_empty() && word == "status" {
        all.iter()
            .filter(|j| {
                j.location == Location::Active && !j.summary(&ctx.server).state.is_finished()
            })
            .cloned()
            .collect()
    } else {
        ctx.require_jobs(&a.jobs, word)?;
        ctx.resolve(&a.jobs, &all)?
    };
    let targets: Vec<JobRecord> = targets
        .into_iter()
        .filter(|j| match (word, j.location) {
            ("archive", Location::Archive) | ("delete", Location::Delete) => {
                ui::note(format!(
                    "note: {} is in {} already; skipped",
                    j.id, j.location
                ));
                false
            }
            _ => true,
        })
        .collect();
    send(ctx, word, &targets, a.wait.wait)
}

/// Pushes `word` for `targets` and, with a deadline, waits for the answer and shows the jobs.
pub fn send(ctx: &Ctx, word: &str, targets: &[JobRecord], wait_secs: Option<u64>) -> Result<()> {
    if targets.is_empty() {
        ui::out(format!("no jobs to {word}"))?;
        return Ok(());
    }
    if matches!(word, "nuke" | "delete" | "archive") {
        for j in targets {
            super::link::remove_link(ctx, &j.id)?;
        }
    }
    let ids: Vec<_> = targets.iter().map(|j| j.id.clone()).collect();
    let commit = ctx.push_command(&ids, word, &|_| command::timestamp_content())?;
    let names: Vec<String> = ids.iter().map(|i| i.to_string()).collect();
    ui::out(format!(
        "{word}: {} (commit {:.10})",
        names.join(" "),
        commit.to_string()
    ))?;
    if let Some(secs) = wait_secs {
        wait::wait_for(ctx, commit, secs)?;
        let all = ctx.list()?;
        let now: Vec<JobRecord> = all.into_iter().filter(|j| ids.contains(&j.id)).collect();
        super::jobs::print_table(ctx, &format!("after {word}"), &now)?;
    }
    Ok(())
}

/// `grunt <word> <jobs..>`: a user command for the runner.
pub fn run_user(ctx: &Ctx, words: Vec<String>) -> Result<()> {
    let Some((word, rest)) = words.split_first() else {
        bail!("no command given; see grunt --help");
    };
    if let Err(e) = grunt_core::name::check_command(word) {
        bail!("{e}: not a grunt command, nor a runner command (see grunt --help)");
    }
    let mut wait = None;
    let mut jobs = Vec::new();
    for r in rest {
        if r == "--wait" {
            wait = Some(wait::DEFAULT_SECS);
        } else if let Some(s) = r.strip_prefix("--wait=") {
            wait = Some(
                s.parse()
                    .map_err(|_| anyhow::anyhow!("--wait takes seconds, not {s:?}"))?,
            );
        } else {
            jobs.push(r.clone());
        }
    }
    run(
        ctx,
        word,
        Args {
            jobs,
            wait: WaitArg { wait },
        },
    )
}
