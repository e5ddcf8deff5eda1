//! `grunt wait JOBS`: returns when every job named has reached a final state; exit 0 only if
//! all of them succeeded (4 if any failed, 3 at the `--timeout`). States arrive as grund
//! commits them (its refresh, or a `grunt status`); waiting polls with backoff.

use std::time::{Duration, Instant};

use anyhow::Result;
use serde::Serialize;

use crate::context::Ctx;
use crate::error::{self, CommandError, Kind};
use crate::ui;

#[derive(Debug, Clone, clap::Args)]
#[command(after_long_help = "Examples:
  grunt wait 3                    until job 3 has ended
  grunt wait 11..20 --timeout 3600 && grunt results 11..20
  grunt wait 3 --json")]
pub struct Args {
    /// Jobs: ids, numbers, ranges or comma lists.
    #[arg(required = true)]
    pub jobs: Vec<String>,
    /// Give up after SECS seconds (exit 3); default: wait as long as it takes.
    #[arg(long, value_name = "SECS")]
    pub timeout: Option<u64>,
    /// Print the jobs' final states as JSON.
    #[arg(long)]
    pub json: bool,
}

/// The longest pause between two pulls.
const MAX_PAUSE: Duration = Duration::from_secs(5);

#[derive(Debug, Serialize)]
struct WaitJson {
    id: String,
    state: &'static str,
    status: String,
    exit_code: Option<i32>,
    success: bool,
}

pub fn run(ctx: &Ctx, a: Args) -> Result<()> {
    ctx.pull_jobs()?;
    let ids: Vec<_> = ctx
        .resolve(&a.jobs, &ctx.list()?)?
        .into_iter()
        .map(|j| j.id)
        .collect();
    let deadline = a.timeout.map(|s| Instant::now() + Duration::from_secs(s));
    let mut pause = Duration::from_millis(200);
    let pb = spinner(ids.len());
    let finished = loop {
        let all = ctx.list()?;
        let jobs: Vec<_> = all.into_iter().filter(|j| ids.contains(&j.id)).collect();
        let open = jobs
            .iter()
            .filter(|j| !j.summary("").state.is_finished())
            .count();
        if open == 0 && jobs.len() == ids.len() {
            break jobs;
        }
        if jobs.len() < ids.len() {
            pb.finish_and_clear();
            return Err(error::error("a job being waited for was nuked meanwhile").into());
        }
        pb.set_message(format!("waiting for {open} of {} jobs to end", ids.len()));
        if deadline.is_some_and(|d| Instant::now() + pause > d) {
            pb.finish_and_clear();
            return Err(CommandError::new(
                Kind::NotAnswered,
                format!(
                    "{open} of {} jobs had not ended within {} s",
                    ids.len(),
                    a.timeout.unwrap_or(0)
                ),
            )
            .hint("`grunt jobs` shows where they are")
            .into());
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(MAX_PAUSE);
        ctx.pull_jobs()?;
    };
    pb.finish_and_clear();
    let sums: Vec<_> = finished
        .iter()
        .map(|j| j.summary(&ctx.key.server))
        .collect();
    if a.json {
        ui::json(
            &sums
                .iter()
                .map(|s| WaitJson {
                    id: s.id.clone(),
                    state: s.state.kind(),
                    status: s.status.clone(),
                    exit_code: s.exit_code,
                    success: s.state.is_success(),
                })
                .collect::<Vec<_>>(),
        )?;
    } else {
        for s in &sums {
            ui::out(format!(
                "{}  {}",
                s.id,
                ui::state_colored(s.state, &s.status)
            ))?;
        }
    }
    let failed: Vec<String> = sums
        .iter()
        .filter(|s| !s.state.is_success())
        .map(|s| format!("{} {}", s.id, s.status))
        .collect();
    if failed.is_empty() {
        return Ok(());
    }
    Err(CommandError::new(
        Kind::Failed,
        format!("not every job succeeded: {}", failed.join(", ")),
    )
    .hint("`grunt show JOB` says why")
    .into())
}

fn spinner(n: usize) -> indicatif::ProgressBar {
    use std::io::IsTerminal;
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let pb = indicatif::ProgressBar::new_spinner();
    pb.set_message(format!("waiting for {n} jobs to end"));
    pb.enable_steady_tick(Duration::from_millis(120));
    pb
}
