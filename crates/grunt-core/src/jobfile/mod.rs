//! The `job.*` files of a job: their names, who writes them, and a job's view of them.
//!
//! Client: `job.message`, `job.submit`, `job.args`, `job.profile`. Runner (by convention, Slurm flavour):
//! `job.sbatch`, `job.slurmid` (the batch id, whatever the scheduler), `job.start`, `job.end`,
//! `job.exitcode`, `job.status`, `job.canceled`, `job.out`, `job.err*`, `job.queue`.
//! grund: `job.list` (its format in [`list`]), `job.error`, `job.grunter.out`, `job.grunter.err`.
//! Runner, once the job ended: `job.usage` (its format in [`usage`]).

pub mod list;
pub mod usage;

use std::collections::BTreeMap;

pub const PREFIX: &str = "job.";
pub const MESSAGE: &str = "job.message";
pub const SUBMIT: &str = "job.submit";
pub const ARGS: &str = "job.args";
pub const SBATCH: &str = "job.sbatch";
pub const BATCHID: &str = "job.slurmid";
pub const START: &str = "job.start";
pub const END: &str = "job.end";
pub const EXITCODE: &str = "job.exitcode";
pub const STATUS: &str = "job.status";
pub const CANCELED: &str = "job.canceled";
pub const OUT: &str = "job.out";
pub const QUEUE: &str = "job.queue";
pub const LIST: &str = "job.list";
pub const ERROR: &str = "job.error";
pub const RUNNER_OUT: &str = "job.grunter.out";
pub const RUNNER_ERR: &str = "job.grunter.err";
/// The resource profile chosen at submit (`grunt submit --profile NAME`).
pub const PROFILE: &str = "job.profile";
/// The project's commit, branch and remote at submit (see [`crate::provenance`]).
pub const COMMIT: &str = "job.commit";
/// Uncommitted changes to tracked files at submit, as a diff against `job.commit`.
pub const PATCH: &str = "job.patch";
/// Content hashes of the job's data inputs, written by grund at submit.
pub const INPUTS: &str = "job.inputs";
/// A sweep point's parameters, `NAME=VALUE` lines (see [`crate::sweep`]).
pub const PARAMS: &str = "job.params";
/// The sweep a job belongs to: the id of the sweep's first job.
pub const SWEEP: &str = "job.sweep";
/// What the job is (its files, args and profile), to refuse accidental duplicates (see
/// [`crate::jobkey`]).
pub const KEY: &str = "job.key";
/// Jobs that must end well before this one is submitted, one id a line (`submit --after`).
pub const AFTER: &str = "job.after";
/// Jobs that must end, however, before this one is submitted (`submit --after-any`).
pub const AFTER_ANY: &str = "job.after_any";
/// Written by grund while it holds a job back: the state (`Queued`, `Waiting`) and why, or
/// `Canceled` and why when a dependency failed (see [`crate::hold`]).
pub const HELD: &str = "job.held";
/// Written by grund into a retry: the job it runs again (see [`crate::retry`]).
pub const PARENT: &str = "job.parent";
/// Written by grund into a retry: which attempt it is (the first job is attempt 1).
pub const ATTEMPT: &str = "job.attempt";
/// Written by grund into a job it retried: the retry's id.
pub const RETRIED: &str = "job.retried";
/// Written by the runner once the job ended: what it used (see [`usage`]).
pub const USAGE: &str = "job.usage";

/// Files only the client writes. grund never commits them back from disk, so a message the
/// client changes while a command runs is not overwritten by the stale copy on the server.
pub const CLIENT_OWNED: [&str; 11] = [
    MESSAGE, SUBMIT, ARGS, PROFILE, PARAMS, SWEEP, KEY, AFTER, AFTER_ANY, COMMIT, PATCH,
];

/// Runner scripts, in the order they are looked for; copied into every job even if untracked.
pub const RUNNER_EXE: &str = "grunter";
pub const RUNNER_PY: &str = "grunter.py";

/// Is this file name a `job.*` state file?
pub fn is_job_file(name: &str) -> bool {
    name.starts_with(PREFIX) && name.len() > PREFIX.len()
}

/// The `job.*` files of one job, by name, as text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobFiles {
    files: BTreeMap<String, String>,
}

impl JobFiles {
    pub fn insert(&mut self, name: impl Into<String>, content: &[u8]) {
        self.files
            .insert(name.into(), String::from_utf8_lossy(content).into_owned());
    }

    pub fn has(&self, name: &str) -> bool {
        self.files.contains_key(name)
    }

    /// Whole content, if present.
    pub fn text(&self, name: &str) -> Option<&str> {
        self.files.get(name).map(String::as_str)
    }

    /// First line, trimmed; empty if absent (the original's `read_string`).
    pub fn line(&self, name: &str) -> String {
        self.text(name)
            .and_then(|t| t.lines().next())
            .unwrap_or("")
            .trim()
            .to_string()
    }

    /// `job.args` as arguments, one per line.
    pub fn args(&self) -> Vec<String> {
        self.text(ARGS)
            .map(|t| {
                t.lines()
                    .map(|l| l.trim_end_matches('\r').to_string())
                    .filter(|l| !l.is_empty())
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.files.keys().map(String::as_str)
    }
}
