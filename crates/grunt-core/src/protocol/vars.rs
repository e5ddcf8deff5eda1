//! The names of the `GRUNT_*` variables grund (and `grunt submit --dry-run`) give a runner.
//! The values are documented in docs/runner-protocol.md.

/// The job id, e.g. `ore000042`.
pub const JOBID: &str = "GRUNT_JOBID";
/// The project's name.
pub const PROJECT: &str = "GRUNT_PROJECT";
/// The absolute path of the job directory (the runner's working directory).
pub const JOB_DIR: &str = "GRUNT_JOB_DIR";
/// The server's short name.
pub const SERVER: &str = "GRUNT_SERVER";
/// The user's name.
pub const USER: &str = "GRUNT_USER";
/// The job's resource profile (`grunt submit --profile NAME`).
pub const PROFILE: &str = "GRUNT_PROFILE";
/// For `batch-status` and `submit-batch`: the file listing the jobs (see [`super::batch`],
/// [`super::submit_batch`]).
pub const BATCH_FILE: &str = "GRUNT_BATCH_FILE";
/// `1` for a dry run of `submit`: write the script, submit nothing.
pub const DRY_RUN: &str = "GRUNT_DRY_RUN";
/// For a notification command: the job's final state (`Done`, `Failed`, `Timeout`, ...).
pub const STATE: &str = "GRUNT_STATE";
/// For a notification command: the job's message (`job.message`).
pub const MESSAGE: &str = "GRUNT_MESSAGE";
/// For a notification command: seconds from the job's start to its end (empty if unknown).
pub const ELAPSED: &str = "GRUNT_ELAPSED";
/// For a notification command: the job's exit code, when known.
pub const EXIT_CODE: &str = "GRUNT_EXIT_CODE";
/// Prefix of every variable grunt sets; `grunt.toml` values are `GRUNT_<TABLE>_<KEY>`.
pub const PREFIX: &str = "GRUNT_";
/// Prefix of the job's resolved resources, `GRUNT_RES_<KEY>`.
pub const RES_PREFIX: &str = "GRUNT_RES_";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ProjectConfig;
    use crate::runner::{Invocation, JobContext};

    /// The names here are the ones a runner really gets.
    #[test]
    fn the_runner_gets_these_names() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("job.profile"), "gpu\n").unwrap();
        std::fs::write(d.path().join("grunter"), "#!/bin/sh\n").unwrap();
        std::fs::write(d.path().join("grunt.toml"), "[profile.gpu]\ngpus = 1\n").unwrap();
        let cfg = ProjectConfig::load(d.path()).unwrap();
        let ctx = JobContext {
            job_id: "ore000001".into(),
            key: crate::layout::ProjectKey::new("clust", "ore", "sim"),
            job_dir: d.path().to_path_buf(),
        };
        let inv = Invocation::new(&ctx, super::super::words::STATUS, &cfg).unwrap();
        for (name, value) in [
            (JOBID, "ore000001"),
            (PROJECT, "sim"),
            (SERVER, "clust"),
            (USER, "ore"),
            (PROFILE, "gpu"),
        ] {
            assert_eq!(inv.env.get(name).map(String::as_str), Some(value), "{name}");
        }
        assert_eq!(inv.env.get(JOB_DIR), Some(&d.path().display().to_string()));
    }
}
