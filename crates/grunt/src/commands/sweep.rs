//! `grunt sweep SWEEP`: one sweep at a glance. A sweep is the jobs whose `job.sweep` names the
//! same first job; a point is a distinct `job.params`, and when a point ran more than once
//! (`rerun`) its latest job speaks for it. Shows the counts per state, the points that ended
//! badly, and with `--rerun-failed` submits those again.

use std::collections::BTreeMap;

use anyhow::Result;
use grunt_core::jobfile;
use grunt_core::jobs::JobRecord;
use grunt_core::sweep;
use serde::Serialize;

use crate::context::Ctx;
use crate::error;
use crate::wait::WaitArg;
use crate::{table, ui};

#[derive(Debug, Clone, clap::Args)]
#[command(after_long_help = "Examples:
  grunt sweep 12                 counts per state and the failed points of sweep 12
  grunt sweep 12 --rerun-failed  submit the failed points again (as grunt rerun)
  grunt jobs --sweep 12          every job of the sweep")]
pub struct Args {
    /// The sweep: the id or number of its first job.
    pub sweep: String,
    /// Submit the points that ended badly again (a `rerun` of each one's latest job).
    #[arg(long)]
    pub rerun_failed: bool,
    /// Print JSON: `{"sweep", "points", "jobs", "states": {STATE: N}, "failed": [{"id",
    /// "state", "params"}]}`.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Serialize)]
struct SweepJson {
    sweep: String,
    points: usize,
    jobs: usize,
    states: BTreeMap<&'static str, usize>,
    failed: Vec<FailedJson>,
}

#[derive(Debug, Serialize)]
struct FailedJson {
    id: String,
    state: String,
    params: BTreeMap<String, String>,
}

/// The jobs of sweep `spec` (a job id or number naming its first job), in id order.
pub fn members(ctx: &Ctx, spec: &str, all: &[JobRecord]) -> Result<(String, Vec<JobRecord>)> {
    let found = ctx.resolve(&[spec.to_string()], all)?;
    let [first] = found.as_slice() else {
        return Err(error::usage(format!("name one sweep, not {spec:?}")).into());
    };
    let id = first.id.to_string();
    let mut jobs: Vec<JobRecord> = all
        .iter()
        .filter(|j| j.files.line(jobfile::SWEEP) == id)
        .cloned()
        .collect();
    if jobs.is_empty() {
        let theirs = first.files.line(jobfile::SWEEP);
        let mut e = error::usage(format!("job {id} is not the first job of a sweep"));
        if !theirs.is_empty() {
            e = e.hint(format!(
                "it belongs to sweep {theirs}: grunt sweep {theirs}"
            ));
        }
        return Err(e.into());
    }
    jobs.sort_by(|a, b| a.id.cmp(&b.id));
    Ok((id, jobs))
}

pub fn run(ctx: &Ctx, a: Args) -> Result<()> {
    ctx.pull_for_reading()?;
    let all = ctx.list()?;
    let (id, jobs) = members(ctx, &a.sweep, &all)?;
    // The latest job of each point (as grund counts them for the sweep's notification).
    let latest = grunt_core::jobs::latest_per_point(&jobs);
    let mut states: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut failed = Vec::new();
    for j in &latest {
        let s = j.summary(&ctx.key.server);
        *states.entry(s.state.kind()).or_default() += 1;
        if s.state.is_finished() && !s.state.is_success() {
            failed.push((*j, s));
        }
    }
    failed.sort_by(|a, b| a.0.id.cmp(&b.0.id));
    let point_of = |j: &JobRecord| sweep::parse_params(j.files.text(jobfile::PARAMS).unwrap_or(""));
    if a.json && !a.rerun_failed {
        return ui::json(&SweepJson {
            sweep: id,
            points: latest.len(),
            jobs: jobs.len(),
            states,
            failed: failed
                .iter()
                .map(|(j, s)| FailedJson {
                    id: j.id.to_string(),
                    state: s.status.clone(),
                    params: point_of(j).into_iter().collect(),
                })
                .collect(),
        });
    }
    if !a.json {
        let message = jobs
            .first()
            .map(|j| j.files.line(jobfile::MESSAGE))
            .unwrap_or_default();
        ui::out(format!(
            "sweep {id}: {} points, {} jobs: {message}",
            latest.len(),
            jobs.len()
        ))?;
        ui::out(format!(
            "  {}",
            states
                .iter()
                .map(|(k, n)| format!("{k} {n}"))
                .collect::<Vec<_>>()
                .join("  ")
        ))?;
        if !failed.is_empty() {
            let rows: Vec<Vec<String>> = failed
                .iter()
                .map(|(j, s)| {
                    vec![
                        j.id.to_string(),
                        ui::state_colored(s.state, &s.status),
                        sweep::describe(&point_of(j)),
                    ]
                })
                .collect();
            ui::out(format!("\nfailed points ({}):", failed.len()))?;
            ui::out(table::render(&["JobId", "State", "Params"], &rows))?;
            if !a.rerun_failed {
                ui::out(format!("\nrun them again: grunt sweep {id} --rerun-failed"))?;
            }
        }
    }
    if a.rerun_failed {
        if failed.is_empty() {
            ui::note("no failed points to run again");
            return Ok(());
        }
        let ids = failed.iter().map(|(j, _)| j.id.to_string()).collect();
        return super::rerun::run(
            ctx,
            super::rerun::Args {
                jobs: ids,
                wait: WaitArg { wait: None },
                verify: false,
                timeout: None,
                json: a.json,
            },
        );
    }
    Ok(())
}
