//! `grunt out` and `grunt ls`: a job's output and its file list, read from git objects
//! (the snapshot grund committed last, whose age `out` says), and `out --follow`, which
//! streams the output live from the server until the job ends.

use crate::remote_server::ServerRef;
use anyhow::Result;
use grunt_core::git::{remote::Remote, tree};
use grunt_core::jobfile;
use grunt_core::jobfile::list as joblist;
use grunt_core::jobs::JobRecord;
use grunt_ssh::shell_quote;
use serde::Serialize;

use crate::context::Ctx;
use crate::error;
use crate::{table, ui};

#[derive(Debug, Clone, clap::Args)]
#[command(after_long_help = "Examples:
  grunt out 3                 the output as grund last committed it, and how old that is
  grunt out 3 --lines 20      its last 20 lines
  grunt out --follow 3        live from the server until the job ends (Ctrl-C to stop)")]
pub struct OutArgs {
    /// Jobs: ids, numbers, ranges or comma lists.
    pub jobs: Vec<String>,
    /// Stream the job's output live from the server (over the project's ssh; a server on
    /// this machine reads the file) until the job ends.
    #[arg(long, short = 'f')]
    pub follow: bool,
    /// Only the last N lines.
    #[arg(long, short = 'n', value_name = "N")]
    pub lines: Option<usize>,
    /// Print JSON: one object per job (id, output, committed_at).
    #[arg(long, conflicts_with = "follow")]
    pub json: bool,
}

#[derive(Debug, Clone, clap::Args)]
pub struct LsArgs {
    /// Jobs: ids, numbers, ranges or comma lists.
    pub jobs: Vec<String>,
    /// Print JSON: one object per job with its files (name, size, modified).
    #[arg(long)]
    pub json: bool,
}

/// The jobs `args` name, after a pull (or from the local copy when the server is away).
fn jobs_of(ctx: &Ctx, args: &[String], what: &str) -> Result<Vec<JobRecord>> {
    ctx.require_jobs(args, what)?;
    ctx.pull_for_reading()?;
    let all = ctx.list()?;
    ctx.resolve(args, &all)
}

fn file_of(ctx: &Ctx, j: &JobRecord, name: &str) -> Result<Option<Vec<u8>>> {
    let Some(root) = ctx.tip()? else {
        return Ok(None);
    };
    Ok(tree::read_file(
        &ctx.jobs,
        &root,
        &format!("{}/{name}", j.dir()),
    ))
}

/// The job's output: `job.out`; for a replicate array (`array` in a Slurm profile), whose
/// tasks write `job.out.0`, `job.out.1`, …, each task's, in task order, after a line naming
/// it.
pub fn output_of(ctx: &Ctx, j: &JobRecord) -> Result<Option<Vec<u8>>> {
    if let Some(d) = file_of(ctx, j, jobfile::OUT)? {
        return Ok(Some(d));
    }
    let Some(root) = ctx.tip()? else {
        return Ok(None);
    };
    let Some(dir) = tree::subtree(&ctx.jobs, &root, &j.dir()) else {
        return Ok(None);
    };
    let prefix = format!("{}.", jobfile::OUT);
    let mut tasks: Vec<(u64, String)> = dir
        .iter()
        .filter_map(|e| {
            let name = e.name().ok().map(str::to_string);
            let task = name.as_deref().and_then(|n| n.strip_prefix(&prefix));
            let task: Option<u64> = task.and_then(|t| t.parse().ok());
            task.zip(name)
        })
        .collect();
    if tasks.is_empty() {
        return Ok(None);
    }
    tasks.sort();
    let mut out = Vec::new();
    for (task, name) in tasks {
        let data = tree::read_file(&ctx.jobs, &dir, &name).unwrap_or_default();
        out.extend_from_slice(format!("==> task {task} ({name}) <==\n").as_bytes());
        out.extend_from_slice(&data);
        if !data.ends_with(b"\n") && !data.is_empty() {
            out.push(b'\n');
        }
    }
    Ok(Some(out))
}

/// The last `n` lines of `text` (all with `None`).
pub fn tail(text: &str, n: Option<usize>) -> String {
    let text = text.trim_end();
    match n {
        Some(n) => {
            let lines: Vec<&str> = text.lines().collect();
            lines[lines.len().saturating_sub(n)..].join("\n")
        }
        None => text.to_string(),
    }
}

#[derive(Debug, Serialize)]
struct OutJson {
    id: String,
    output: Option<String>,
    /// When grund last committed the job's files (RFC 3339).
    committed_at: Option<String>,
}

pub fn out(ctx: &Ctx, a: OutArgs) -> Result<()> {
    let jobs = jobs_of(ctx, &a.jobs, "out")?;
    if a.follow {
        let [job] = jobs.as_slice() else {
            return Err(error::usage("--follow takes exactly one job").into());
        };
        return follow(ctx, job, a.lines.unwrap_or(10));
    }
    let mut json = Vec::new();
    for j in &jobs {
        let data = output_of(ctx, j)?;
        let when = ctx.last_commit_time(j)?;
        if a.json {
            json.push(OutJson {
                id: j.id.to_string(),
                output: data.map(|d| tail(&String::from_utf8_lossy(&d), a.lines)),
                committed_at: when.map(|t| t.to_rfc3339()),
            });
            continue;
        }
        let age = match when {
            Some(t) => format!(
                ", as grund committed it {} ago",
                table::duration((chrono::Utc::now() - t).num_seconds().max(0).unsigned_abs())
            ),
            None => String::new(),
        };
        ui::out(format!("output of job {} ({}{age}):", j.id, j.dir()))?;
        match data {
            Some(d) => ui::out(tail(&String::from_utf8_lossy(&d), a.lines))?,
            None => ui::out("(no job.out yet: `grunt status JOB` refreshes it, `grunt out --follow JOB` streams it)")?,
        }
    }
    if a.json {
        ui::json(&json)?;
    }
    Ok(())
}

/// Streams `job.out` from the server's job directory: the last `lines` lines, then what is
/// appended, until the job has ended (its end, exit code or cancel mark appears).
fn follow(ctx: &Ctx, job: &JobRecord, lines: usize) -> Result<()> {
    if job.summary("").state.is_finished() {
        ui::note(format!(
            "note: {} has ended ({}); its output as committed:",
            job.id,
            job.summary("").status
        ));
        let data = file_of(ctx, job, jobfile::OUT)?.unwrap_or_default();
        return Ok(ui::out(tail(&String::from_utf8_lossy(&data), Some(lines)))?);
    }
    let server = ServerRef::of(&Remote::origin(&ctx.jobs)?)?;
    let dir = server.job_dir_path(&ctx.key.user, &job.dir());
    let script = follow_script(&dir, lines);
    ui::note(format!(
        "following {} of {} on {} until it ends (Ctrl-C stops following; the job goes on)",
        jobfile::OUT,
        job.id,
        server.place()
    ));
    let mut out = std::io::stdout();
    match server.stream(&script, &mut out)? {
        Some(0) => Ok(()),
        Some(3) => Err(error::error(format!(
            "{} has no directory on the server ({dir}): grund has not run it yet",
            job.id
        ))
        .into()),
        other => Err(error::error(format!("following the output ended with {other:?}")).into()),
    }
}

/// The shell that follows a job's output on the server; exits 3 without a job directory.
/// The ends it watches for are the runner's files (`job.end`, `job.exitcode`, `job.canceled`).
pub fn follow_script(dir: &str, lines: usize) -> String {
    format!(
        "d={d}; [ -d \"$d\" ] || exit 3; cd \"$d\" || exit 3; : >>job.out 2>/dev/null; \
         tail -n {lines} -f job.out & t=$!; trap 'kill $t 2>/dev/null' EXIT HUP INT TERM; \
         while [ ! -e job.end ] && [ ! -e job.exitcode ] && [ ! -e job.canceled ]; do sleep 1; done; \
         sleep 1; exit 0",
        d = shell_quote(dir)
    )
}

#[derive(Debug, Serialize)]
struct LsJson {
    id: String,
    files: Vec<FileJson>,
}

#[derive(Debug, Serialize)]
struct FileJson {
    name: String,
    size: u64,
    modified: Option<String>,
}

pub fn ls(ctx: &Ctx, a: LsArgs) -> Result<()> {
    let jobs = jobs_of(ctx, &a.jobs, "ls")?;
    let mut json = Vec::new();
    for j in &jobs {
        let data = file_of(ctx, j, jobfile::LIST)?;
        let entries = data
            .map(|d| joblist::parse(&String::from_utf8_lossy(&d)))
            .unwrap_or_default();
        if a.json {
            json.push(LsJson {
                id: j.id.to_string(),
                files: entries
                    .iter()
                    .map(|e| FileJson {
                        name: e.name.clone(),
                        size: e.size,
                        modified: grunt_core::time::parse(&e.modified).map(|t| t.to_rfc3339()),
                    })
                    .collect(),
            });
            continue;
        }
        ui::out(format!("files of job {} ({}):", j.id, j.dir()))?;
        if entries.is_empty() && !ctx_has_list(ctx, j)? {
            ui::out(
                "(no job.list yet: it is written after the first command grund runs on the job)",
            )?;
            continue;
        }
        let rows: Vec<Vec<String>> = entries
            .into_iter()
            .map(|e| {
                vec![
                    e.name,
                    format!("{:>16}", group_digits(e.size)),
                    grunt_core::time::to_local(&e.modified),
                ]
            })
            .collect();
        ui::out(table::render(&joblist::HEADER, &rows).trim_end())?;
    }
    if a.json {
        ui::json(&json)?;
    }
    Ok(())
}

fn ctx_has_list(ctx: &Ctx, j: &JobRecord) -> Result<bool> {
    Ok(file_of(ctx, j, jobfile::LIST)?.is_some())
}

pub fn group_digits(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tails() {
        assert_eq!(tail("a\nb\nc\n", Some(2)), "b\nc");
        assert_eq!(tail("a\nb\n", None), "a\nb");
        assert_eq!(tail("a\n", Some(5)), "a");
    }
}
