//! Checks on what a request names, before anything runs: job ids as the CLI reads them (whole
//! ids such as `ore000042`, comma lists of them), and result file paths that stay inside the
//! job's results directory (no `..`, no absolute path, no symlink out of it).

use std::path::{Component, Path, PathBuf};

use grunt_core::jobid::JobId;

/// Whole job ids, one or a comma list (`ore000001,ore000002`), at most `MAX_IDS`.
pub fn job_ids(text: &str) -> Result<Vec<JobId>, String> {
    const MAX_IDS: usize = 1000;
    let ids: Vec<&str> = text.split(',').map(str::trim).collect();
    if ids.len() > MAX_IDS {
        return Err(format!("at most {MAX_IDS} jobs at once"));
    }
    ids.iter()
        .map(|s| {
            s.parse::<JobId>()
                .map_err(|e| format!("{s:?} is not a job id: {e}"))
        })
        .collect()
}

/// One whole job id.
pub fn job_id(text: &str) -> Result<JobId, String> {
    match job_ids(text)?.as_slice() {
        [one] => Ok(one.clone()),
        _ => Err(format!("{text:?}: one job id, please")),
    }
}

/// `rel` inside `base`, both resolved on disk: refuses `..`, absolute paths and anything whose
/// real path leaves `base` (a symlink out of it).
pub fn file_in(base: &Path, rel: &str) -> Result<PathBuf, String> {
    let p = Path::new(rel);
    if rel.is_empty()
        || rel.contains('\0')
        || rel.contains('\\')
        || !p.components().all(|c| matches!(c, Component::Normal(_)))
    {
        return Err(format!(
            "{rel:?} is not a plain path inside the job's results"
        ));
    }
    let base = base.canonicalize().map_err(|_| {
        "the job has no results here yet (grunt results, then grunt link)".to_string()
    })?;
    let full = base
        .join(p)
        .canonicalize()
        .map_err(|_| format!("{rel:?}: no such result file"))?;
    if !full.starts_with(&base) {
        return Err(format!("{rel:?} leads out of the job's results"));
    }
    if !full.is_file() {
        return Err(format!("{rel:?} is not a file"));
    }
    Ok(full)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_as_the_cli_reads_them() {
        assert!(job_ids("ore000001").is_ok());
        assert_eq!(job_ids("ore000001,ore000002").map(|v| v.len()), Ok(2));
        for bad in [
            "",
            "..",
            "../etc",
            "ore0001/../x",
            "-rf",
            "ore000001;ls",
            "a b",
        ] {
            assert!(job_ids(bad).is_err(), "{bad:?} passed");
        }
        assert!(job_id("ore000001,ore000002").is_err());
    }

    #[test]
    fn paths_stay_inside() {
        let d = std::env::temp_dir().join(format!("grunt-ui-validate-{}", std::process::id()));
        let _ = std::fs::create_dir_all(d.join("job"));
        let _ = std::fs::write(d.join("job/a.csv"), "x,y\n");
        let _ = std::fs::write(d.join("secret"), "s");
        let job = d.join("job");
        assert!(file_in(&job, "a.csv").is_ok());
        for bad in ["../secret", "/etc/passwd", "", "./a.csv/..", "a\\b"] {
            assert!(file_in(&job, bad).is_err(), "{bad:?} passed");
        }
        #[cfg(unix)]
        {
            let _ = std::os::unix::fs::symlink(d.join("secret"), job.join("link"));
            assert!(file_in(&job, "link").is_err());
        }
        let _ = std::fs::remove_dir_all(&d);
    }
}
