//! Commands that ask grund for work on jobs by pushing `grcmd.<word>`: status, cancel, nuke,
//! delete, archive, undelete, and any user word for the runner.

use anyhow::Result;
use grunt_core::jobs::JobRecord;
use grunt_core::layout::Location;
use grunt_core::protocol::words;
use grunt_core::{command, jobfile};

use crate::context::Ctx;
use crate::error::{self, CommandError, Kind};
use crate::ui;
use crate::wait::{self, WaitArg};

#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Jobs: ids (ore000042), numbers (42) or inclusive ranges (11..22).
    pub jobs: Vec<String>,
    #[command(flatten)]
    pub wait: WaitArg,
}

#[derive(Debug, Clone, clap::Args)]
#[command(
    after_long_help = "Examples:\n  grunt nuke 12          asks first on a terminal\n  grunt nuke 12..14 --yes"
)]
pub struct NukeArgs {
    #[command(flatten)]
    pub args: Args,
    /// Do not ask: nuke removes jobs and their results for good.
    #[arg(long, short = 'y')]
    pub yes: bool,
}

#[derive(Debug, Clone, clap::Args)]
#[command(
    after_long_help = "Examples:\n  grunt run plot 3        the runner's `plot` command in job 3\n  grunt run status 3      the runner's own word, even one grunt has too"
)]
pub struct RunArgs {
    /// The runner's command word.
    pub word: String,
    #[command(flatten)]
    pub args: Args,
}

/// `grunt nuke`: asks on a terminal first (the jobs and results go for good).
pub fn nuke(ctx: &Ctx, a: NukeArgs) -> Result<()> {
    if !a.yes && ui::interactive() {
        ctx.pull_jobs()?;
        let all = ctx.list()?;
        ctx.require_jobs(&a.args.jobs, "nuke")?;
        let ids: Vec<String> = ctx
            .resolve(&a.args.jobs, &all)?
            .iter()
            .map(|j| j.id.to_string())
            .collect();
        let question = format!(
            "nuke {}? Their records and results are removed for good [y/N] ",
            ids.join(" ")
        );
        if !ui::confirm(&question)? {
            return Err(error::error("not nuked: nothing was done").into());
        }
    }
    run(ctx, "nuke", a.args)
}

/// Pushes `word` for the jobs `a` names (for `status`, all active jobs when none are named).
pub fn run(ctx: &Ctx, word: &str, a: Args) -> Result<()> {
    let all = ctx.jobs_for(&a.jobs)?;
    let targets: Vec<JobRecord> = if a.jobs.is_empty() && word == words::STATUS {
        all.iter()
            .filter(|j| {
                j.location == Location::Active && !j.summary(&ctx.key.server).state.is_finished()
            })
            .cloned()
            .collect()
    } else {
        ctx.require_jobs(&a.jobs, word)?;
        ctx.resolve(&a.jobs, &all)?
    };
    let named = targets.len();
    let targets: Vec<JobRecord> = targets
        .into_iter()
        .filter(|j| match (word, j.location) {
            ("undelete", loc) if loc != Location::Delete => {
                ui::note(format!(
                    "note: {} is in {loc}, not in delete; skipped",
                    j.id
                ));
                false
            }
            ("archive", Location::Archive) | ("delete", Location::Delete) => {
                ui::note(format!(
                    "note: {} is in {} already; skipped",
                    j.id, j.location
                ));
                false
            }
            (words::CANCEL, _) => {
                let state = j.summary("").state;
                if state.is_finished() {
                    ui::note(format!(
                        "note: {} has already ended ({state}); its record is left as it is",
                        j.id
                    ));
                }
                !state.is_finished()
            }
            _ => true,
        })
        .collect();
    if word == words::CANCEL && named > 0 && targets.is_empty() {
        return Err(error::error("nothing to cancel: every job named has already ended").into());
    }
    send(ctx, word, &targets, a.wait.wait)
}

/// Pushes `word` for `targets` and, with a deadline, waits for the answer and shows the jobs.
/// A runner that failed on the command is exit 4 ([`Kind::Failed`]).
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
    ctx.wait_after_push.set(wait_secs);
    let commit = ctx.push_command(&ids, word, &|_| command::timestamp_content())?;
    let names: Vec<String> = ids.iter().map(|i| i.to_string()).collect();
    ui::out(format!(
        "{word}: {} (commit {:.10})",
        names.join(" "),
        commit.to_string()
    ))?;
    if let Some(secs) = wait_secs {
        wait::wait_for_what(ctx, commit, secs, &format!("{word} of {}", names.join(" ")))?;
        let all = ctx.list()?;
        let now: Vec<JobRecord> = all.into_iter().filter(|j| ids.contains(&j.id)).collect();
        if !matches!(word, "nuke") {
            super::jobs::print_table(ctx, &format!("after {word}"), &now)?;
        }
        check_answers(word, targets, &now)?;
    }
    Ok(())
}

/// After grund's answer: did the runner fail on `word` for any job (a new `job.error` for
/// this command)? That is exit 4, with the runner's own words.
pub fn check_answers(word: &str, before: &[JobRecord], after: &[JobRecord]) -> Result<()> {
    let mut failed = Vec::new();
    for j in after {
        let old = before
            .iter()
            .find(|b| b.id == j.id)
            .and_then(|b| b.files.text(jobfile::ERROR).map(str::to_string));
        let new = j.files.text(jobfile::ERROR).map(str::to_string);
        if let Some(e) =
            new.filter(|n| Some(n) != old.as_ref() && n.starts_with(&format!("{word}:")))
        {
            failed.push(format!(
                "{}: {}",
                j.id,
                e.lines().next().unwrap_or("").trim()
            ));
        }
    }
    if failed.is_empty() {
        return Ok(());
    }
    let first = after.first().map(|j| j.id.to_string()).unwrap_or_default();
    Err(CommandError::new(
        Kind::Failed,
        format!("the runner failed on {word}:\n  {}", failed.join("\n  ")),
    )
    .hint(format!(
        "`grunt show {first}` shows the runner's stderr (job.grunter.err)"
    ))
    .into())
}

/// `grunt <word> <jobs..>` and `grunt run <word> <jobs..>`: a user command for the runner.
pub fn run_user(ctx: &Ctx, words: Vec<String>) -> Result<()> {
    let Some((word, rest)) = words.split_first() else {
        return Err(error::usage("no command given; see grunt --help").into());
    };
    if let Err(e) = grunt_core::name::check_command(word) {
        return Err(error::usage(format!(
            "{e}: not a grunt command, nor a runner command (see grunt --help)"
        ))
        .into());
    }
    let mut wait = None;
    let mut jobs = Vec::new();
    for r in rest {
        if r == "--wait" {
            wait = Some(wait::DEFAULT_SECS);
        } else if let Some(s) = r.strip_prefix("--wait=") {
            wait = Some(
                s.parse()
                    .map_err(|_| error::usage(format!("--wait takes seconds, not {s:?}")))?,
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
