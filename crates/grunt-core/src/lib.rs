//! The grunt protocol: everything the client (`grunt`), the daemon (`grund`) and the runner
//! (`grunter`) agree on, defined once.
//!
//! - [`layout`]: where repos and files live on the server (`~/gruntsrv`) and client
//!   (`~/gruntdat`), and [`layout::ProjectKey`], the names a project's paths are made of.
//! - [`name`], [`jobid`]: the names and job ids that end up in paths, and their validation.
//! - [`jobfile`]: the `job.*` files of a job (with [`jobfile::list`], the `job.list` format);
//!   [`state`]: the state they imply; [`jobs`]: the jobs of a repo tree, read from git objects.
//! - [`command`]: the `grcmd.*` files that ask grund for work.
//! - [`config`]: `grunt.toml` and the original's one-line config files.
//! - [`runner`]: finding and running the user's runner with its environment and time limit.
//! - [`git`]: repos, trees built straight from blobs, commits with compare-and-swap, remotes
//!   (ssh ones through the `grunt-ssh` crate).
//! - [`project`]: creating a project's repos on the server and the client.
//! - [`heartbeat`]: grund's heartbeat file, how clients tell whether it lives.
//! - [`protocol`]: the wire between client, grund and runner: `grund_status.txt`, `batch-status`,
//!   the `GRUNT_*` variables, the runner's command words, `grunt await`.
//! - [`provenance`]: `job.commit` and `job.inputs`, where a job's code and data came from.
//! - [`fsutil`]: atomic and durable writes, reading files a runner could have replaced, a
//!   full disk; [`time`]: the original's timestamps; [`error`]: [`Error`].
//! - [`sweep`], [`jobkey`], [`hold`], [`retry`]: research workflows (docs/sweeps.md): sweep
//!   points, `job.key`, jobs grund holds (a cap, dependencies), retries by cause.

pub mod command;
pub mod config;
pub mod error;
pub mod fsutil;
pub mod git;
pub mod heartbeat;
pub mod hold;
pub mod jobfile;
pub mod jobid;
pub mod jobkey;
pub mod jobs;
pub mod layout;
pub mod name;
pub mod project;
pub mod protocol;
pub mod provenance;
pub mod retry;
pub mod runner;
pub mod state;
pub mod sweep;
pub mod time;

pub use error::{Error, Result};

/// Prefix of every commit message grund writes; grund skips such commits when looking for work.
pub const GRUND_COMMIT_PREFIX: &str = "GRUND:";
