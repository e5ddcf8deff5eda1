//! `grunt diff <job> [job2]`: what differs between a job's files and the project directory
//! (the files `submit` would copy now), or between two jobs; `job.*` and `grcmd.*` files are
//! left out.

use std::collections::BTreeMap;

use anyhow::{bail, Result};
use git2::Patch;
use grunt_core::git::tree;
use grunt_core::jobfile;

use crate::context::Ctx;
use crate::{project_files, ui};

#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    pub job: String,
    /// A second job to compare with, instead of the project directory.
    pub other: Option<String>,
    /// Compare the two jobs' data inputs (job.inputs: path, size, sha256) instead of their
    /// files.
    #[arg(long, requires = "other")]
    pub inputs: bool,
}

pub fn run(ctx: &Ctx, a: Args) -> Result<()> {
    ctx.pull_jobs()?;
    let all = ctx.list()?;
    let one = |arg: &String| -> Result<grunt_core::jobs::JobRecord> {
        match ctx.resolve(std::slice::from_ref(arg), &all)?.as_slice() {
            [j] => Ok(j.clone()),
            _ => bail!("diff takes single existing jobs, not {arg:?}"),
        }
    };
    let job = one(&a.job)?;
    if a.inputs {
        if let Some(o) = &a.other {
            return diff_inputs(&job, &one(o)?);
        }
    }
    let old = job_files(ctx, &job.dir())?;
    let (new, new_name) = match &a.other {
        Some(o) => {
            let j2 = one(o)?;
            (job_files(ctx, &j2.dir())?, j2.id.to_string())
        }
        None => {
            let mut m = BTreeMap::new();
            for f in project_files::project_files(&ctx.cwd)? {
                if keep(&f.rel) {
                    m.insert(f.rel.clone(), f.content()?);
                }
            }
            (m, "working directory".to_string())
        }
    };
    let mut paths: Vec<&String> = old.keys().chain(new.keys()).collect();
    paths.sort();
    paths.dedup();
    let mut differs = 0;
    for p in paths {
        let (o, n) = (old.get(p), new.get(p));
        if o == n {
            continue;
        }
        differs += 1;
        let old_path = format!("{}/{p}", job.id);
        let new_path = format!("{new_name}/{p}");
        let patch = Patch::from_buffers(
            o.map_or(&[][..], |v| v.as_slice()),
            o.map(|_| std::path::Path::new(&old_path)),
            n.map_or(&[][..], |v| v.as_slice()),
            n.map(|_| std::path::Path::new(&new_path)),
            None,
        )?;
        let mut patch = patch;
        let buf = patch.to_buf()?;
        ui::out(String::from_utf8_lossy(&buf).trim_end())?;
    }
    if differs == 0 {
        ui::out(format!("no differences between {} and {new_name}", job.id))?;
    }
    Ok(())
}

/// `--inputs`: each input path of either job, and whether it changed between them.
fn diff_inputs(a: &grunt_core::jobs::JobRecord, b: &grunt_core::jobs::JobRecord) -> Result<()> {
    use grunt_core::provenance::{parse_inputs, InputRecord};
    let read = |j: &grunt_core::jobs::JobRecord| -> Vec<InputRecord> {
        j.files
            .text(jobfile::INPUTS)
            .map(parse_inputs)
            .unwrap_or_default()
    };
    let (x, y) = (read(a), read(b));
    if x.is_empty() && y.is_empty() {
        ui::out(format!(
            "neither {} nor {} recorded inputs ([inputs] paths in grunt.toml)",
            a.id, b.id
        ))?;
        return Ok(());
    }
    let mut paths: Vec<&String> = x.iter().chain(y.iter()).map(|i| &i.path).collect();
    paths.sort();
    paths.dedup();
    let mut changed = 0;
    for p in paths {
        let (i, j) = (
            x.iter().find(|i| &i.path == p),
            y.iter().find(|i| &i.path == p),
        );
        let line = match (i, j) {
            (Some(i), Some(j)) if i == j => format!("  same     {}", super::show::input_line(i)),
            (Some(i), Some(j)) => {
                changed += 1;
                format!(
                    "  changed  {p}: {} -> {}",
                    super::show::input_brief(i),
                    super::show::input_brief(j)
                )
            }
            (Some(_), None) => {
                changed += 1;
                format!("  only in {}: {p}", a.id)
            }
            (None, _) => {
                changed += 1;
                format!("  only in {}: {p}", b.id)
            }
        };
        ui::out(line)?;
    }
    ui::out(match changed {
        0 => format!("the inputs of {} and {} are identical", a.id, b.id),
        n => format!("{n} input(s) differ between {} and {}", a.id, b.id),
    })?;
    Ok(())
}

fn keep(rel: &str) -> bool {
    let name = rel.rsplit('/').next().unwrap_or(rel);
    !jobfile::is_job_file(name)
        && !name.starts_with(grunt_core::command::PREFIX)
        && !rel.starts_with("gresults/")
}

fn job_files(ctx: &Ctx, dir: &str) -> Result<BTreeMap<String, Vec<u8>>> {
    let mut m = BTreeMap::new();
    let Some(root) = ctx.tip()? else {
        return Ok(m);
    };
    let Some(t) = tree::subtree(&ctx.jobs, &root, dir) else {
        return Ok(m);
    };
    for f in tree::walk_files(&ctx.jobs, &t)? {
        if keep(&f.path) {
            m.insert(f.path, ctx.jobs.find_blob(f.oid)?.content().to_vec());
        }
    }
    Ok(m)
}
