//! `jobs.active`, `jobs.done`, `jobs.archive` and `jobs.delete` in the project directory: the
//! CSV lists of this user's jobs that the original client writes on every command, and that
//! its GUI (grunti) and users' scripts read. Written as the original writes them (Python's
//! `csv` module: minimal quoting, `\r\n` line ends; times in local time with the zone's
//! abbreviation), from the jobs clone's `master`, after each command.
//!
//! `[client] job_lists = false` in `grunt.toml` turns them off.

use std::path::Path;

use anyhow::Result;
use grunt_core::config::ProjectConfig;
use grunt_core::jobs::{JobRecord, JobSummary};
use grunt_core::layout::Location;

/// The header row, as the original's `jobs_header`.
const HEADER: [&str; 10] = [
    "$JobId",
    "$Server",
    "$SlurmId",
    "$Status",
    "$SlurmStat",
    "$Submit",
    "$Start",
    "$End",
    "$Args",
    "$Message",
];

/// The file names, in the order the original writes them.
pub const FILES: [&str; 4] = ["jobs.active", "jobs.done", "jobs.archive", "jobs.delete"];

/// Does `grunt.toml` in `dir` leave the lists on (the default)?
pub fn enabled(dir: &Path) -> bool {
    let Ok(cfg) = ProjectConfig::load(dir) else {
        return true;
    };
    match cfg.raw.get("client").and_then(|c| c.get("job_lists")) {
        None => true,
        Some(v) if v.as_bool().is_some() => v.as_bool() == Some(true),
        Some(other) => {
            crate::ui::warn(format!(
                "grunt.toml: [client] job_lists should be true or false, not {other}; writing the job lists"
            ));
            true
        }
    }
}

/// A file in the jobs clone's git directory: the commit and the directory the lists were last
/// written from and into. The lists depend on nothing else (the local zone aside), so a
/// command that moved nothing does not read every job again.
const STAMP: &str = "grunt-job-lists";

/// Writes the lists of `ctx`'s project into its directory, unless they are there already as
/// of the jobs clone's `master`.
pub fn write_if_changed(ctx: &crate::context::Ctx) -> Result<()> {
    let head = grunt_core::git::head(&ctx.jobs)?;
    let stamp = format!(
        "{} {} {} {} {}\n",
        head.map(|h| h.to_string()).unwrap_or_default(),
        std::env::var("TZ").unwrap_or_default(),
        ctx.prefix,
        ctx.key.server,
        ctx.cwd.display()
    );
    let stamp_path = ctx.jobs.path().join(STAMP);
    let current = std::fs::read_to_string(&stamp_path).is_ok_and(|s| s == stamp)
        && FILES.iter().all(|f| {
            // Never empty (a header at least) unless a crash lost an unsynced write.
            std::fs::metadata(ctx.cwd.join(f)).is_ok_and(|m| m.is_file() && m.len() > 0)
        });
    if current {
        return Ok(());
    }
    write(&ctx.cwd, &ctx.list()?, &ctx.prefix, &ctx.key.server)?;
    // Only an optimisation: when it cannot be written, the lists are written every time.
    let _ = std::fs::write(&stamp_path, stamp);
    Ok(())
}

/// Writes the four lists into `dir` for the jobs whose ids start with `prefix`.
pub fn write(dir: &Path, jobs: &[JobRecord], prefix: &str, server: &str) -> Result<()> {
    let mut lists: [Vec<[String; 10]>; 4] = Default::default();
    for job in jobs.iter().filter(|j| j.id.prefix() == prefix) {
        let s = job.summary(server);
        let list = match job.location {
            Location::Active if s.state.is_finished() => 1,
            Location::Active => 0,
            Location::Archive => 2,
            Location::Delete => 3,
        };
        lists[list].push(row(&s));
    }
    for (name, rows) in FILES.iter().zip(lists.iter_mut()) {
        rows.sort_by(|a, b| a[0].cmp(&b[0]));
        let mut text = csv_line(&HEADER.map(String::from));
        for r in rows.iter() {
            text.push_str(&csv_line(r));
        }
        replace(&dir.join(name), text.as_bytes())?;
    }
    Ok(())
}

/// Puts `data` in place of `path` by a rename (a reader sees the old or the new list), unless
/// it holds that already. Not synced: the lists are derived from the jobs clone and written
/// again by the next command that finds one missing or empty, and an fsync per list cost more
/// than the rest of a `grunt submit` (~2-6 ms each, with the directory's).
fn replace(path: &Path, data: &[u8]) -> Result<()> {
    if std::fs::read(path).is_ok_and(|old| old == data) {
        return Ok(());
    }
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp{}", std::process::id()));
    std::fs::write(&tmp, data)
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            grunt_core::Error::io("writing", path)(e)
        })?;
    Ok(())
}

fn row(s: &JobSummary) -> [String; 10] {
    [
        s.id.clone(),
        s.server.clone(),
        s.batch_id.clone(),
        s.status.clone(),
        s.scheduler_status.clone(),
        local(&s.submit),
        local(&s.start),
        local(&s.end),
        s.args.join(" "),
        s.message.clone(),
    ]
}

/// A stored UTC timestamp as the original shows it: local time and the zone's abbreviation
/// (`2026-11-21 10:30:00 CET`); text that is not a timestamp stays as it is.
fn local(text: &str) -> String {
    match grunt_core::time::parse(text) {
        Some(t) => {
            let l = t.with_timezone(&chrono::Local);
            format!(
                "{} {}",
                l.format("%Y-%m-%d %H:%M:%S"),
                zone_name(t.timestamp())
            )
        }
        None => text.trim().to_string(),
    }
}

/// The local zone's abbreviation at `secs` (what Python's `%Z` prints), from the C library
/// (chrono knows offsets only).
fn zone_name(secs: i64) -> String {
    let t: libc::time_t = secs as libc::time_t;
    // SAFETY: `tm` is a plain C struct that zeroed is a valid value of; `localtime_r` writes
    // only into it and returns null on failure; `tm_zone` then points to a static,
    // NUL-terminated string owned by the C library (or is null).
    unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        if libc::localtime_r(&t, &mut tm).is_null() || tm.tm_zone.is_null() {
            return "UTC".into();
        }
        std::ffi::CStr::from_ptr(tm.tm_zone)
            .to_string_lossy()
            .into_owned()
    }
}

/// One row as Python's `csv.writer` writes it: fields with a comma, quote or line break are
/// quoted (quotes doubled); the line ends with `\r\n`.
fn csv_line(fields: &[String]) -> String {
    let mut line = String::new();
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            line.push(',');
        }
        if f.contains([',', '"', '\n', '\r']) {
            line.push('"');
            line.push_str(&f.replace('"', "\"\""));
            line.push('"');
        } else {
            line.push_str(f);
        }
    }
    line.push_str("\r\n");
    line
}

#[cfg(test)]
mod tests {
    #[test]
    fn csv_as_python_writes_it() {
        let f = |v: &[&str]| super::csv_line(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(f(&["a", "b c"]), "a,b c\r\n");
        assert_eq!(f(&["x,y", "say \"hi\""]), "\"x,y\",\"say \"\"hi\"\"\"\r\n");
    }
}
