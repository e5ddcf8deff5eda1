//! `grunt export --html DIR`: a static page of the project's runs (`index.html`) with each
//! job's state, times, arguments, message and commit, links to its output (`job.out`) and
//! result files, and its plots (images among the results) shown inline. Files are copied
//! under `DIR/files/<jobid>/`, so the directory can be served or sent as it is.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use grunt_core::git::{self, tree};
use grunt_core::jobfile;
use grunt_core::provenance::SourceRecord;

use crate::context::Ctx;
use crate::{error, table, ui};

#[derive(Debug, Clone, clap::Args)]
#[command(after_long_help = "Examples:
  grunt export --html site/ && xdg-open site/index.html")]
pub struct Args {
    /// Write a static HTML page of the runs into DIR.
    #[arg(long, value_name = "DIR", required = true)]
    pub html: PathBuf,
    /// Write into DIR even if it has files (index.html and files/ are overwritten).
    #[arg(long)]
    pub force: bool,
}

const IMAGES: [&str; 5] = ["png", "jpg", "jpeg", "svg", "gif"];

pub fn run(ctx: &Ctx, a: Args) -> Result<()> {
    let dir = ctx.cwd.join(&a.html);
    if !a.force && std::fs::read_dir(&dir).is_ok_and(|mut d| d.next().is_some()) {
        return Err(error::usage(format!(
            "{} is not empty: nothing was written",
            dir.display()
        ))
        .hint("name another DIR, or add --force")
        .into());
    }
    ctx.pull_for_reading()?;
    if let Err(e) = ctx.pull_results() {
        ui::warn(format!(
            "results not pulled ({}); exporting the local copy",
            error::one_line(&e)
        ));
    }
    let jobs = ctx.list()?;
    let root = ctx.tip()?;
    let results = git::open(&ctx.dirs.results())?;
    let rtree = match git::head(&results)? {
        Some(h) => Some(results.find_commit(h)?.tree()?),
        None => None,
    };
    let mut rows = String::new();
    for j in jobs.iter().rev() {
        let s = j.summary(&ctx.key.server);
        let files_dir = dir.join("files").join(j.id.to_string());
        let mut links = Vec::new();
        let mut plots = Vec::new();
        if let Some(out) = root
            .as_ref()
            .and_then(|r| tree::read_file(&ctx.jobs, r, &format!("{}/{}", j.dir(), jobfile::OUT)))
        {
            write(&files_dir.join(jobfile::OUT), &out)?;
            links.push(link(&j.id.to_string(), jobfile::OUT));
        }
        if let Some(sub) = rtree
            .as_ref()
            .and_then(|t| tree::subtree(&results, t, &j.dir()))
        {
            for f in tree::walk_files(&results, &sub)? {
                let blob = results.find_blob(f.oid)?;
                write(&files_dir.join(&f.path), blob.content())?;
                links.push(link(&j.id.to_string(), &f.path));
                let ext = f.path.rsplit('.').next().unwrap_or("").to_ascii_lowercase();
                if IMAGES.contains(&ext.as_str()) {
                    plots.push(format!(
                        "<img src=\"files/{}/{}\" alt=\"{}\">",
                        esc(&j.id.to_string()),
                        esc(&f.path),
                        esc(&f.path)
                    ));
                }
            }
        }
        let commit = j
            .files
            .text(jobfile::COMMIT)
            .and_then(SourceRecord::parse)
            .map(|c| format!("{:.10}{}", c.commit, if c.dirty() { " +patch" } else { "" }))
            .unwrap_or_default();
        rows.push_str(&format!(
            "<tr class=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td><td>{}{}</td></tr>\n",
            esc(s.state.kind()),
            esc(&s.id),
            esc(&s.status),
            esc(&j.location.to_string()),
            esc(&s.submit),
            esc(&s.elapsed_secs.map(|e| table::duration(e.unsigned_abs())).unwrap_or_default()),
            esc(&super::jobs::quote_args(&s.args)),
            esc(&s.message),
            esc(&commit),
            links.join(" "),
            if plots.is_empty() { String::new() } else { format!("<div class=\"plots\">{}</div>", plots.join("")) }
        ));
    }
    let page = format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{p}: runs</title>\n<style>\nbody{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:.3em .5em;vertical-align:top}}tr.Failed,tr.Timeout,tr.OutOfMemory{{background:#fee}}tr.Done{{background:#efe}}.plots img{{max-width:240px;display:block;margin-top:.3em}}\n</style></head><body>\n<h1>{p}: {n} runs</h1>\n<p>Exported from server {server} by grunt.</p>\n<table>\n<tr><th>Job</th><th>State</th><th>Where</th><th>Submitted</th><th>Elapsed</th><th>Args</th><th>Message</th><th>Commit</th><th>Output and results</th></tr>\n{rows}</table>\n</body></html>\n",
        p = esc(&ctx.key.project),
        n = jobs.len(),
        server = esc(&ctx.key.server),
    );
    write(&dir.join("index.html"), page.as_bytes())?;
    ui::out(format!(
        "wrote {} ({} runs)",
        dir.join("index.html").display(),
        jobs.len()
    ))?;
    Ok(())
}

fn link(id: &str, path: &str) -> String {
    format!(
        "<a href=\"files/{}/{}\">{}</a>",
        esc(id),
        esc(path),
        esc(path)
    )
}

fn write(path: &Path, data: &[u8]) -> Result<()> {
    if let Some(p) = path.parent() {
        std::fs::create_dir_all(p).with_context(|| format!("creating {}", p.display()))?;
    }
    std::fs::write(path, data).with_context(|| format!("writing {}", path.display()))
}

/// HTML-escaped text.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    #[test]
    fn escapes() {
        assert_eq!(
            super::esc("<a href=\"x\">&"),
            "&lt;a href=&quot;x&quot;&gt;&amp;"
        );
    }
}
