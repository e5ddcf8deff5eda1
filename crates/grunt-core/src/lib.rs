//! The grunt protocol: everything the client (`grunt`), the daemon (`grund`) and the runner
//! (`grunter`) agree on, defined once.
//!
//! - [`layout`]: where repos and files live on the server (`~/gruntsrv`) and client (`~/gruntdat`).
//! - [`name`], [`jobid`]: the names and job ids that end up in paths, and their validation.
//! - [`jobfile`], [`status`], [`joblist`]: the `job.*` files of a job and the state they imply.
//! - [`command`]: the `grcmd.*` files that ask grund for work.
//! - [`config`]: `grunt.toml` and the original's one-line config files.
//! - [`runner`]: finding and running the user's runner with its environment and time limit.
//! - [`git`]: repos, trees built straight from blobs, commits with compare-and-swap, remotes.
//! - [`project`]: creating a project's repos on the server and the client.
//! - [`ledger`]: grund's durable per-command progress, for exactly-once processing.
//! - [`heartbeat`]: grund's heartbeat file, how clients tell whether it lives.
//! - [`protocol`]: the wire between client, grund and runner: `grund_status.txt`, `batch-status`,
//!   the `GRUNT_*` variables, the runner's command words, `grunt await`.
//! - [`provenance`]: `job.commit` and `job.inputs`, where a job's code and data came from.
//! - [`remote_server`]: a server reached over ssh: what is there, creating a project on it.

pub mod command;
pub mod config;
pub mod error;
pub mod fsutil;
pub mod git;
pub mod heartbeat;
pub mod jobfile;
pub mod jobid;
pub mod joblist;
pub mod jobs;
pub mod layout;
pub mod ledger;
pub mod name;
pub mod project;
pub mod protocol;
pub mod provenance;
pub mod remote_server;
pub mod runner;
pub mod status;
pub mod time;
pub mod transport;

pub use error::{Error, Result};

/// Version of the on-disk format this crate reads and writes. Version 1 is the original Python
/// grunt's layout (PROTOCOL.md §1–3) plus the additions of §4, which the original ignores.
pub const FORMAT_VERSION: u32 = 1;

/// Prefix of every commit message grund writes; grund skips such commits when looking for work.
pub const GRUND_COMMIT_PREFIX: &str = "GRUND:";
