//! `grunt jobs`: the jobs table (or `--json`), read from git objects after a pull, fitted to
//! the terminal, with filters by place, state, id and count.

use anyhow::Result;
use grunt_core::jobs::{JobRecord, JobSummary};
use grunt_core::layout::Location;
use grunt_core::provenance::SourceRecord;

use crate::context::Ctx;
use crate::error;
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

impl Which {
    fn parse(word: &str) -> Option<Which> {
        clap::ValueEnum::from_str(word, true).ok()
    }

    fn matches(self, j: &JobRecord) -> bool {
        let finished = j.summary("").state.is_finished();
        match self {
            Which::Active => j.location == Location::Active && !finished,
            Which::Done => j.location == Location::Active && finished,
            Which::Archive => j.location == Location::Archive,
            Which::Delete => j.location == Location::Delete,
        }
    }

    fn title(self) -> &'static str {
        match self {
            Which::Active => "Active Jobs",
            Which::Done => "Done Jobs",
            Which::Archive => "Archived Jobs",
            Which::Delete => "Deleted Jobs",
        }
    }
}

#[derive(Debug, Clone, clap::Args)]
#[command(after_long_help = "Examples:
  grunt jobs                      done and active jobs
  grunt jobs archive              archived jobs
  grunt jobs --state failed,timeout --last 5
  grunt jobs 3,7..9 --wide        these jobs, with every column
  grunt jobs --sweep 12           the jobs of sweep 12
  grunt jobs --json | jq '.[] | select(.state == \"Failed\") | .id'

Like the original client, every command that opens the project rewrites jobs.active,
jobs.done, jobs.archive and jobs.delete (CSV) in the project directory, for its GUI and your
scripts; `[client] job_lists = false` in grunt.toml turns that off.")]
pub struct Args {
    /// Which jobs: `active`, `done`, `archive`, `delete`, and/or jobs (ids, numbers, ranges,
    /// comma lists). Default: done and active.
    #[arg(value_name = "WHICH|JOBS")]
    pub filter: Vec<String>,
    /// Only jobs in these states (comma list, any case): pending, queued, waiting, running, done, failed,
    /// timeout, outofmemory, canceled, nodefail, unknown.
    #[arg(long, value_name = "STATES", value_delimiter = ',')]
    pub state: Vec<String>,
    /// Only the last N jobs (by id) of each table.
    #[arg(long, value_name = "N")]
    pub last: Option<usize>,
    /// Every column: also Server, BatchId, SchedStat, Start, End, Profile.
    #[arg(long)]
    pub wide: bool,
    /// Only the jobs of this sweep (the id or number of its first job).
    #[arg(long, value_name = "SWEEP")]
    pub sweep: Option<String>,
    /// Print JSON: one object per job (id, state, exit_code, reason, times in RFC 3339, elapsed_secs, args, message, location, usage: what an ended job used, ...).
    #[arg(long)]
    pub json: bool,
}

const STATES: [&str; 11] = [
    "pending",
    "queued",
    "waiting",
    "running",
    "done",
    "failed",
    "timeout",
    "outofmemory",
    "canceled",
    "nodefail",
    "unknown",
];

pub fn run(ctx: &Ctx, a: Args) -> Result<()> {
    for s in &a.state {
        if !STATES.contains(&s.to_ascii_lowercase().as_str()) {
            return Err(error::usage(format!("--state {s:?} is not a state"))
                .hint(format!("states: {}", STATES.join(", ")))
                .into());
        }
    }
    ctx.pull_for_reading()?;
    let mut all = ctx.list()?;
    if let Some(sw) = &a.sweep {
        all = super::sweep::members(ctx, sw, &all)?.1;
    }
    let mut which = Vec::new();
    let mut specs = Vec::new();
    for f in &a.filter {
        match Which::parse(f) {
            Some(w) => which.push(w),
            None => specs.push(f.clone()),
        }
    }
    let named: Option<Vec<JobRecord>> = if specs.is_empty() {
        None
    } else {
        Some(ctx.resolve(&specs, &all)?)
    };
    let pick = |w: Option<Which>| -> Vec<JobRecord> {
        let mut v: Vec<JobRecord> = named
            .as_ref()
            .unwrap_or(&all)
            .iter()
            .filter(|j| w.is_none_or(|w| w.matches(j)))
            .filter(|j| {
                a.state.is_empty()
                    || a.state
                        .iter()
                        .any(|s| s.eq_ignore_ascii_case(j.summary("").state.kind()))
            })
            .cloned()
            .collect();
        if let Some(n) = a.last {
            let skip = v.len().saturating_sub(n);
            v.drain(..skip);
        }
        v
    };
    if a.json {
        let jobs: Vec<JobRecord> = if which.is_empty() {
            pick(None)
        } else {
            which.iter().flat_map(|w| pick(Some(*w))).collect()
        };
        let sums: Vec<JobJson> = jobs
            .iter()
            .map(|j| JobJson::of(j, &ctx.key.server))
            .collect();
        return ui::json(&sums);
    }
    let tables = if which.is_empty() && named.is_some() {
        // Named jobs: one table, wherever they are.
        return print_rows(ctx, "Jobs", &pick(None), a.wide);
    } else if which.is_empty() {
        vec![Which::Done, Which::Active]
    } else {
        which
    };
    for w in tables {
        print_rows(ctx, w.title(), &pick(Some(w)), a.wide)?;
    }
    Ok(())
}

/// One job of `jobs --json`: its summary and where its code came from (`job.commit`).
#[derive(Debug, serde::Serialize)]
pub struct JobJson {
    #[serde(flatten)]
    summary: JobSummary,
    #[serde(skip_serializing_if = "Option::is_none")]
    source: Option<SourceRecord>,
}

impl JobJson {
    pub fn of(j: &JobRecord, server: &str) -> JobJson {
        JobJson {
            summary: j.summary(server),
            source: j
                .files
                .text(grunt_core::jobfile::COMMIT)
                .and_then(SourceRecord::parse),
        }
    }
}

/// Prints jobs as a table fitted to the terminal (see [`rows`]).
pub fn print_table(ctx: &Ctx, title: &str, jobs: &[JobRecord]) -> Result<()> {
    print_rows(ctx, title, jobs, false)
}

fn print_rows(ctx: &Ctx, title: &str, jobs: &[JobRecord], wide: bool) -> Result<()> {
    ui::out(format!("\n# {title} ({})", jobs.len()))?;
    if jobs.is_empty() {
        return Ok(());
    }
    let (header, rows, shrink) = rows(ctx, jobs, wide);
    // Every column does not fit 80 columns; squeezed, the headers wrap into letters. `--wide`
    // asks for all of them, so it keeps one line per row and may run past the terminal.
    let width = if wide { None } else { table::width() };
    ui::out(table::render_fitted(&header, &rows, width, &shrink).trim_end())?;
    Ok(())
}

/// The table's header, rows and the columns that give way when the terminal is narrow.
/// Times are local; the state is coloured and carries its reason; args are shell-quoted.
pub fn rows(
    ctx: &Ctx,
    jobs: &[JobRecord],
    wide: bool,
) -> (Vec<&'static str>, Vec<Vec<String>>, Vec<usize>) {
    let mut header = vec!["JobId", "State", "Submit", "Elapsed", "Args", "Message"];
    if wide {
        header.extend(["Server", "BatchId", "SchedStat", "Start", "End", "Profile"]);
    }
    let rows = jobs
        .iter()
        .map(|j| {
            let s = j.summary(&ctx.key.server);
            let status = match &s.reason {
                Some(r) if !r.is_empty() => format!("{} ({r})", s.status),
                _ => s.status.clone(),
            };
            let mut row = vec![
                s.id.clone(),
                ui::state_colored(s.state, &table::truncate(&status, 40)),
                table::short_time(&s.submit),
                s.elapsed_secs
                    .map(|e| table::duration(e.unsigned_abs()))
                    .unwrap_or_default(),
                quote_args(&s.args),
                s.message.clone(),
            ];
            if wide {
                row.extend([
                    s.server.clone(),
                    s.batch_id.clone(),
                    s.scheduler_status.clone(),
                    table::short_time(&s.start),
                    table::short_time(&s.end),
                    s.profile.clone().unwrap_or_default(),
                ]);
            }
            row
        })
        .collect();
    // The message gives way first, then the args, then the state's reason.
    (header, rows, vec![5, 4, 1])
}

/// Arguments as a shell would read them back (`"two words"` stays one argument).
pub fn quote_args(args: &[String]) -> String {
    args.iter()
        .map(|a| {
            shlex::try_quote(a)
                .map(|q| q.into_owned())
                .unwrap_or_else(|_| format!("{a:?}"))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Time in local form for tables, kept for the commands that show one job.
pub fn local(t: &str) -> String {
    JobSummary::local(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn args_are_shell_quoted() {
        let a = vec!["--lr".to_string(), "two words".into(), "it's".into()];
        let q = quote_args(&a);
        assert_eq!(shlex::split(&q).unwrap(), a);
    }
}
