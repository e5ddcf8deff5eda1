//! `grunt out` and `grunt ls`: a job's output and its file list, read from git objects.

use anyhow::Result;
use grunt_core::git::tree;
use grunt_core::jobfile;
use grunt_core::joblist;

use crate::context::Ctx;
use crate::{table, ui};

#[derive(Debug, Clone, clap::Args)]
pub struct OutArgs {
    /// Jobs: ids, numbers or ranges.
    pub jobs: Vec<String>,
}

#[derive(Debug, Clone, clap::Args)]
pub struct LsArgs {
    /// Jobs: ids, numbers or ranges.
    pub jobs: Vec<String>,
}

fn each_file(
    ctx: &Ctx,
    args: &[String],
    what: &str,
    name: &str,
    mut show: impl FnMut(&str, Option<Vec<u8>>) -> Result<()>,
) -> Result<()> {
    ctx.require_jobs(args, what)?;
    ctx.pull_jobs()?;
    let all = ctx.list()?;
    let Some(root) = ctx.tip()? else {
        return Ok(());
    };
    for j in ctx.resolve(args, &all)? {
        let data = tree::read_file(&ctx.jobs, &root, &format!("{}/{name}", j.dir()));
        show(&format!("{} ({})", j.id, j.dir()), data)?;
    }
    Ok(())
}

pub fn out(ctx: &Ctx, a: OutArgs) -> Result<()> {
    each_file(ctx, &a.jobs, "out", jobfile::OUT, |job, data| {
        ui::out(format!("output of job {job}:"))?;
        match data {
            Some(d) => ui::out(String::from_utf8_lossy(&d).trim_end())?,
            None => ui::out("(no job.out yet: run `grunt status <job>` to refresh it)")?,
        }
        Ok(())
    })
}

pub fn ls(ctx: &Ctx, a: LsArgs) -> Result<()> {
    each_file(ctx, &a.jobs, "ls", jobfile::LIST, |job, data| {
        ui::out(format!("files of job {job}:"))?;
        let Some(d) = data else {
            return Ok(ui::out(
                "(no job.list yet: it is written after the first command grund runs on the job)",
            )?);
        };
        let rows: Vec<Vec<String>> = joblist::parse(&String::from_utf8_lossy(&d))
            .into_iter()
            .map(|e| {
                vec![
                    e.name,
                    format!("{:>16}", group_digits(e.size)),
                    grunt_core::time::to_local(&e.modified),
                ]
            })
            .collect();
        Ok(ui::out(table::render(&joblist::HEADER, &rows))?)
    })
}

fn group_digits(n: u64) -> String {
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
