//! The wire between the client, grund and the runner, in one place: every file format,
//! request and answer that crosses a process boundary and is not a job's own file.
//!
//! - [`status_file`]: `grund_status.txt`, grund's record of the last client commit it answered.
//! - [`batch`]: the runner's `batch-status` call: the jobs file grund writes, the lines the
//!   runner prints.
//! - [`submit_batch`]: the runner's `submit-batch` call: the jobs of one sweep in one call,
//!   submitted as one scheduler array.
//! - [`vars`]: the `GRUNT_*` variables a runner gets.
//! - [`words`]: the command words grund gives the runner.
//! - [`answer`]: `grunt await`, the server-side wait for grund's answer (`--wait`), and the
//!   framed reply it sends back over ssh.
//! - [`receive`]: `grunt receive`, a push in one ssh session without `git-receive-pack`.
//!
//! The on-disk formats are the original Python grunt's (PROTOCOL.md §1–3) plus the additions of
//! §4, which the original ignores, so they carry no version; the reply of `grunt await` has its
//! own versioned header. Each has samples in `tests/data/protocol/` that must keep loading.

pub mod answer;
pub mod batch;
pub mod receive;
pub mod status_file;
pub mod submit_batch;
pub mod vars;
pub mod words;
