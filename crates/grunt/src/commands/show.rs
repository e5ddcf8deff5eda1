//! `grunt show JOB`: everything about one job in one place: message, args, profile, state and
//! its reason, times and elapsed, what it used (`job.usage`: memory, CPU efficiency and time
//! against the limit, with a hint when a request was far too large), batch id, `job.error`, the tail of the runner's
//! stderr and of the output, the files, and the commits that touched it.

use anyhow::Result;
use grunt_core::git::tree;
use grunt_core::jobfile;
use grunt_core::jobfile::list as joblist;
use grunt_core::provenance::{self, InputRecord, SourceRecord};
use serde::Serialize;

use crate::context::Ctx;
use crate::error;
use crate::{table, ui};

#[derive(Debug, Clone, clap::Args)]
#[command(after_long_help = "Examples:
  grunt show 3
  grunt show ore000003 --lines 40
  grunt show 3 --json | jq .runner_stderr")]
pub struct Args {
    /// The job: an id or a number.
    pub job: String,
    /// Lines of the output and of the runner's stderr to show.
    #[arg(long, short = 'n', value_name = "N", default_value_t = 10)]
    pub lines: usize,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Serialize)]
struct ShowJson {
    #[serde(flatten)]
    summary: grunt_core::jobs::JobSummary,
    dir: String,
    error: Option<String>,
    runner_stderr: Option<String>,
    output: Option<String>,
    files: Vec<String>,
    history: Vec<HistoryJson>,
    /// Where the code came from (`job.commit`).
    source: Option<SourceRecord>,
    /// The data inputs' hashes (`job.inputs`).
    inputs: Vec<InputRecord>,
}

#[derive(Debug, Serialize)]
struct HistoryJson {
    commit: String,
    time: Option<String>,
    summary: String,
}

pub fn run(ctx: &Ctx, a: Args) -> Result<()> {
    ctx.pull_for_reading()?;
    let all = ctx.list()?;
    let found = ctx.resolve(std::slice::from_ref(&a.job), &all)?;
    let [job] = found.as_slice() else {
        return Err(error::usage(format!("show takes one job, not {:?}", a.job))
            .hint("`grunt jobs 3..5` shows several")
            .into());
    };
    let text = |name: &str| -> Result<Option<String>> {
        let Some(root) = ctx.tip()? else {
            return Ok(None);
        };
        Ok(
            tree::read_file(&ctx.jobs, &root, &format!("{}/{name}", job.dir()))
                .map(|d| String::from_utf8_lossy(&d).into_owned()),
        )
    };
    let s = job.summary(&ctx.key.server);
    let error_text = text(jobfile::ERROR)?.map(|t| t.trim_end().to_string());
    let stderr = text(jobfile::RUNNER_ERR)?
        .map(|t| super::out::tail(&t, Some(a.lines)))
        .filter(|t| !t.is_empty());
    let output = super::out::output_of(ctx, job)?
        .map(|d| super::out::tail(&String::from_utf8_lossy(&d), Some(a.lines)));
    let files: Vec<String> = text(jobfile::LIST)?
        .map(|t| joblist::parse(&t).into_iter().map(|e| e.name).collect())
        .unwrap_or_default();
    let history = ctx.job_history(job, 20)?;
    let source = job
        .files
        .text(jobfile::COMMIT)
        .and_then(SourceRecord::parse);
    let inputs = job
        .files
        .text(jobfile::INPUTS)
        .map(provenance::parse_inputs)
        .unwrap_or_default();
    if a.json {
        return ui::json(&ShowJson {
            summary: s,
            dir: job.dir(),
            error: error_text,
            runner_stderr: stderr,
            output,
            files,
            history: history
                .iter()
                .map(|h| HistoryJson {
                    commit: h.commit.to_string(),
                    time: h.time.map(|t| t.to_rfc3339()),
                    summary: h.summary.clone(),
                })
                .collect(),
            source,
            inputs,
        });
    }
    let mut o = Vec::new();
    let state = match &s.reason {
        Some(r) if !r.is_empty() => format!("{} ({r})", s.status),
        _ => s.status.clone(),
    };
    o.push(format!(
        "job {}  {}",
        s.id,
        ui::state_colored(s.state, &state)
    ));
    // On a terminal, long values wrap under themselves and history lines fit its width.
    let width = table::width().map(usize::from);
    let field = |label: &str, value: &str| -> String {
        let line = format!("  {label:<9} {value}");
        match width {
            Some(w) => crate::ui::wrap(&line, 12, w.max(40)).trim_end().to_string(),
            None => line,
        }
    };
    o.push(field("message", &s.message));
    o.push(format!("  args      {}", super::jobs::quote_args(&s.args)));
    if let Some(p) = &s.profile {
        o.push(format!("  profile   {p}"));
    }
    if let Some(params) = job.files.text(jobfile::PARAMS) {
        let point = grunt_core::sweep::parse_params(params);
        o.push(field("params", &grunt_core::sweep::describe(&point)));
    }
    for (label, name) in [
        ("parent", jobfile::PARENT),
        ("attempt", jobfile::ATTEMPT),
        ("retried", jobfile::RETRIED),
    ] {
        let v = job.files.line(name);
        if !v.is_empty() {
            o.push(format!("  {label:<9} {v}"));
        }
    }
    if let Some(sw) = &s.sweep {
        o.push(format!("  sweep     {sw} (grunt sweep {sw})"));
    }
    o.push(format!("  where     {} on {}", job.dir(), ctx.key.server));
    o.push(format!("  submit    {}", super::jobs::local(&s.submit)));
    if !s.start.is_empty() {
        o.push(format!("  start     {}", super::jobs::local(&s.start)));
    }
    if !s.end.is_empty() {
        o.push(format!("  end       {}", super::jobs::local(&s.end)));
    }
    let usage = s.usage.as_ref();
    // Against the time limit asked for, when the accounting knows it.
    let limit = usage
        .and_then(|u| Some((u.usage.time_requested_secs?, u.efficiency.time_percent?)))
        .map(|(l, p)| {
            use grunt_core::jobfile::usage::{format_hms, percent};
            format!(" of a {} limit ({})", format_hms(l), percent(p))
        })
        .unwrap_or_default();
    match (s.elapsed_secs, usage.and_then(|u| u.usage.elapsed_secs)) {
        (Some(e), _) => o.push(format!(
            "  elapsed   {}{limit}",
            table::duration(e.unsigned_abs())
        )),
        // Killed by the scheduler, the job wrote no job.end; its accounting knows.
        (None, Some(e)) => o.push(format!("  elapsed   {}{limit}", secs(e))),
        _ => {}
    }
    if let Some(u) = usage {
        // Hints are sentences: wrapped at 80 columns at most, even into a pipe.
        let hint_width = width.unwrap_or(80).clamp(40, 80);
        for (label, value) in usage_lines(u) {
            let line = format!("  {label:<9} {value}");
            match label {
                "hint" => o.push(
                    crate::ui::wrap(&line, 12, hint_width)
                        .trim_end()
                        .to_string(),
                ),
                _ => o.push(field(label, &value)),
            }
        }
    }
    if !s.batch_id.is_empty() {
        o.push(format!("  batch id  {}", s.batch_id));
    }
    if !s.scheduler_status.is_empty() {
        o.push(format!("  scheduler {}", s.scheduler_status));
    }
    if let Some(code) = s.exit_code {
        o.push(format!("  exit code {code}"));
    }
    if let Some(src) = &source {
        o.push(field("commit", &source_line(src)));
    }
    for i in &inputs {
        o.push(field("input", &input_line(i)));
    }
    if let Some(e) = &error_text {
        o.push(format!("\njob.error:\n{}", indent(e)));
    }
    if let Some(e) = &stderr {
        o.push(format!(
            "\nrunner's stderr ({}, last {} lines):\n{}",
            jobfile::RUNNER_ERR,
            a.lines,
            indent(e)
        ));
    }
    match &output {
        Some(out) if !out.is_empty() => o.push(format!(
            "\noutput ({}, last {} lines):\n{}",
            jobfile::OUT,
            a.lines,
            indent(out)
        )),
        _ => o.push("\noutput: none yet".into()),
    }
    if files.is_empty() {
        o.push("\nfiles: none listed yet".into());
    } else {
        o.push(format!(
            "\nfiles ({}):\n{}",
            files.len(),
            indent(&files.join("\n"))
        ));
    }
    if !history.is_empty() {
        o.push("\nhistory (newest first):".into());
        for h in &history {
            let when = h
                .time
                .map(|t| grunt_core::time::to_local(&grunt_core::time::format(t)))
                .unwrap_or_default();
            o.push(format!(
                "  {:.10}  {when}  {}",
                h.commit.to_string(),
                table::truncate(
                    &h.summary,
                    width.map_or(60, |w| w.saturating_sub(35).max(20))
                )
            ));
        }
    }
    ui::out(o.join("\n"))?;
    Ok(())
}

/// The lines `show` prints from `job.usage`: memory used against requested, CPU efficiency,
/// and the hints for requests that were far too large.
fn usage_lines(u: &grunt_core::jobs::UsageSummary) -> Vec<(&'static str, String)> {
    use grunt_core::jobfile::usage::{format_bytes, percent};
    let (us, eff) = (&u.usage, &u.efficiency);
    let mut out = Vec::new();
    let mem = match (us.mem_used_bytes, us.mem_requested_bytes, eff.mem_percent) {
        (Some(used), Some(req), Some(p)) => Some(format!(
            "{} peak of {} requested ({})",
            format_bytes(used),
            format_bytes(req),
            percent(p)
        )),
        (Some(used), _, _) => Some(format!("{} peak", format_bytes(used))),
        (None, Some(req), _) => Some(format!("{} requested, use not measured", format_bytes(req))),
        _ => None,
    };
    out.extend(mem.map(|m| ("memory", m)));
    let cpus = |n: u32| format!("{n} CPU{}", if n == 1 { "" } else { "s" });
    let cpu = match (us.cpu_secs, us.cpus, eff.cpu_percent) {
        (Some(c), Some(n), Some(p)) => Some(format!(
            "{} efficiency: {} of CPU time on {}",
            percent(p),
            secs(c),
            cpus(n)
        )),
        (Some(c), _, _) => Some(format!("{} of CPU time", secs(c))),
        (None, Some(n), _) => Some(cpus(n)),
        _ => None,
    };
    out.extend(cpu.map(|c| ("cpu", c)));
    out.extend(eff.hints.iter().map(|h| ("hint", h.clone())));
    out
}

/// Seconds for people: tenths below a minute (`2.8s`), else as the tables show durations.
fn secs(s: f64) -> String {
    if s < 59.95 {
        format!("{s:.1}s")
    } else {
        table::duration(s.round() as u64)
    }
}

/// `job.commit` in one line: sha, branch, remote, and whether there was a patch.
fn source_line(s: &SourceRecord) -> String {
    let mut line = format!("{:.12}", s.commit);
    if let Some(b) = &s.branch {
        line.push_str(&format!(" on {b}"));
    }
    if let Some(r) = &s.remote {
        line.push_str(&format!(" ({r})"));
    }
    if s.dirty() {
        line.push_str(&format!(
            ", plus uncommitted changes to {} file(s) ({})",
            s.changed_files,
            jobfile::PATCH
        ));
    }
    line
}

/// One `job.inputs` entry in one line.
pub fn input_line(i: &InputRecord) -> String {
    match i.kind {
        provenance::InputKind::Missing => format!("{} (missing at submit)", i.path),
        k => format!(
            "{} ({}, {} bytes, sha256 {:.16})",
            i.path,
            if k == provenance::InputKind::Dir {
                "directory"
            } else {
                "file"
            },
            i.size,
            i.sha256
        ),
    }
}

/// An input's size and hash, short, or that it was missing.
pub fn input_brief(i: &InputRecord) -> String {
    match i.kind {
        provenance::InputKind::Missing => "missing".into(),
        _ => format!("{} bytes, sha256 {:.16}", i.size, i.sha256),
    }
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|l| format!("  {}", table::truncate(l, 500)))
        .collect::<Vec<_>>()
        .join("\n")
}
