//! `job.list`: the CSV listing (`File,Size,Modified`) of a job directory's own files, which
//! grund writes after every command so the client can see what a job produced (`grunt ls`).
//! Like the original: top-level regular files, without `job.*`, `grcmd.*`, dot-files and the
//! runner; quoted as Python's csv module does.

use std::fs;
use std::path::Path;

use chrono::{DateTime, Utc};

use crate::command;
use crate::jobfile;
use crate::time;
use crate::{Error, Result};

pub const HEADER: [&str; 3] = ["File", "Size", "Modified"];

/// One row of `job.list`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub name: String,
    pub size: u64,
    pub modified: String,
}

/// Lists `dir` as `job.list` should.
pub fn scan(dir: &Path) -> Result<Vec<Entry>> {
    let mut out = Vec::new();
    for ent in fs::read_dir(dir).map_err(Error::io("listing", dir))? {
        let ent = ent.map_err(Error::io("listing", dir))?;
        let name = ent.file_name().to_string_lossy().into_owned();
        if name.starts_with('.')
            || jobfile::is_job_file(&name)
            || name.starts_with(command::PREFIX)
            || name == jobfile::RUNNER_EXE
            || name == jobfile::RUNNER_PY
        {
            continue;
        }
        // symlink_metadata: a link is not a regular file of the job.
        let Ok(meta) = ent.path().symlink_metadata() else {
            continue;
        };
        if !meta.is_file() {
            continue;
        }
        let modified = meta
            .modified()
            .map(|m| time::format(DateTime::<Utc>::from(m)))
            .unwrap_or_default();
        out.push(Entry {
            name,
            size: meta.len(),
            modified,
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// The CSV text of a listing.
pub fn render(entries: &[Entry]) -> String {
    let mut s = HEADER.join(",");
    s.push_str("\r\n");
    for e in entries {
        s.push_str(&format!(
            "{},{},{}\r\n",
            quote(&e.name),
            e.size,
            quote(&e.modified)
        ));
    }
    s
}

fn quote(field: &str) -> String {
    if field.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_string()
    }
}

/// Parses `job.list` text (header skipped); malformed rows are skipped.
pub fn parse(text: &str) -> Vec<Entry> {
    let rows = parse_csv(text);
    rows.into_iter()
        .skip(1)
        .filter_map(|r| {
            let [name, size, modified] = <[String; 3]>::try_from(r).ok()?;
            Some(Entry {
                name,
                size: size.trim().parse().ok()?,
                modified,
            })
        })
        .collect()
}

fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => field.push(c),
        }
    }
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scan_render_parse() {
        let d = tempfile::tempdir().unwrap();
        for f in [
            "b.csv",
            "a,1.txt",
            "job.out",
            "grcmd.submit",
            ".hidden",
            "grunter.py",
        ] {
            fs::write(d.path().join(f), "xyz").unwrap();
        }
        fs::create_dir(d.path().join("sub")).unwrap();
        let entries = scan(d.path()).unwrap();
        let names: Vec<_> = entries.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["a,1.txt", "b.csv"]);
        assert!(time::parse(&entries[0].modified).is_some());
        let text = render(&entries);
        assert!(text.starts_with("File,Size,Modified\r\n\"a,1.txt\",3,"));
        assert_eq!(parse(&text), entries);
    }
}
