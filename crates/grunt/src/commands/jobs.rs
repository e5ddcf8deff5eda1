//! `grunt jobs`: the jobs table (or `--json`), read from git objects after a pull.

use anyhow::Result;
use grunt_core::jobs::{JobRecord, JobSummary};
use grunt_core::layout::Location;

use crate::context::Ctx;
use crate::{table, ui};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Which {
    /// Pending or running jobs in active/.
    Active,
    /// Finished jobs in active/.
    Done,
    Archive,
    Delete,
}

#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Which jobs (default: done and active).
    pub which: Option<Which>,
    /// Print JSON: one object per job (id, server, status, batch id, times in UTC, args, message, location).
    #[arg(long)]
    pub json: bool,
}

pub fn run(ctx: &Ctx, a: Args) -> Result<()> {
    ctx.pull_jobs()?;
    let all = ctx.list()?;
    let pick = |w: Which| -> Vec<JobRecord> {
        all.iter()
            .filter(|j| {
                let finished = j.summary("").state.is_finished();
                match w {
                    Which::Active => j.location == Location::Active && !finished,
                    Which::Done => j.location == Location::Active && finished,
                    Which::Archive => j.location == Location::Archive,
                    Which::Delete => j.location == Location::Delete,
                }
            })
            .cloned()
            .collect()
    };
    if a.json {
        let jobs: Vec<JobRecord> = match a.which {
            Some(w) => pick(w),
            None => all.clone(),
        };
        let sums: Vec<JobSummary> = jobs.iter().map(|j| j.summary(&ctx.server)).collect();
        return Ok(ui::out(serde_json::to_string_pretty(&sums)?)?);
    }
    match a.which {
        Some(w) => print_table(ctx, &format!("{w:?} Jobs"), &pick(w)),
        None => {
            print_table(ctx, "Done Jobs", &pick(Which::Done))?;
            print_table(ctx, "Active Jobs", &pick(Which::Active))
        }
    }
}

pub const HEADER: [&str; 10] = [
    "JobId",
    "Server",
    "BatchId",
    "Status",
    "SchedStat",
    "Submit",
    "Start",
    "End",
    "Args",
    "Message",
];

/// Prints jobs as the original's table, times in local time, with the reason for bad ends.
pub fn print_table(ctx: &Ctx, title: &str, jobs: &[JobRecord]) -> Result<()> {
    let rows: Vec<Vec<String>> = jobs
        .iter()
        .map(|j| {
            let s = j.summary(&ctx.server);
            let status = match &s.reason {
                Some(r) if !r.is_empty() => format!("{} ({r})", s.status),
                _ => s.status.clone(),
            };
            vec![
                s.id.clone(),
                s.server.clone(),
                s.batch_id.clone(),
                status,
                s.scheduler_status.clone(),
                JobSummary::local(&s.submit),
                JobSummary::local(&s.start),
                JobSummary::local(&s.end),
                s.args.join(" "),
                s.message.clone(),
            ]
        })
        .collect();
    ui::out(format!("\n################################\n#  {title}"))?;
    ui::out(table::render(&HEADER, &rows))?;
    Ok(())
}
