//! grund, the grunt daemon: one per user on the server, it notices new commits in every
//! project's bare jobs repo and runs the `grcmd.*` commands they carry.
//!
//! - [`daemon`]: the loop ([`daemon::run`]) and one pass over one project ([`daemon::pass`]).
//! - [`lock`]: one instance per user, through `flock` on `~/gruntsrv/grund.lock`.
//! - [`watch`]: waking up when a ref changes (inotify through `notify`) or on a poll timer.
//! - [`pool`]: the worker threads; projects are processed side by side, each by one worker.
//! - [`cycle`]: processing one project's pending commands, exactly once.
//! - [`exec`]: what each command does, in git and on disk.
//! - [`ledger`]: the durable per-command progress, for exactly-once processing.
//! - [`supervisor`]: a runner call in a process that outlives grund, recorded in a [`supervisor::Slot`].
//! - [`arrays`]: the submits of one sweep handed to the runner in one `submit-batch` call.
//! - [`hold`]: jobs held back by a cap on jobs in flight or by dependencies, and their release.
//! - [`retry`]: retries by cause, each a new job naming its parent.
//! - [`workdir`]: the job directories on disk, written from git only for jobs grund touches.
//! - [`inputs`]: `job.inputs`, the content hashes of a job's `[inputs] paths` at submit.
//! - [`nofollow`]: writing into a job directory without following a link or `..` out of it.
//! - [`notify`]: the `[notify] command` run when a job reaches a final state, once per state.
//! - [`refresh`]: status without asking, one runner call per project per interval.
//! - [`handback`]: `grund handback`, going back to the original `grund.py`.
//! - [`heartbeat`]: the file that tells clients grund is alive.

pub mod arrays;
pub mod cycle;
pub mod daemon;
pub mod exec;
pub mod handback;
pub mod heartbeat;
pub mod hold;
pub mod inputs;
pub mod ledger;
pub mod lock;
pub mod nofollow;
pub mod notify;
pub mod pool;
pub mod refresh;
pub mod retry;
pub mod supervisor;
pub mod watch;
pub mod workdir;

pub use daemon::{pass, run, Options};
