//! The wire between the client, grund and the runner, in one place: every file format,
//! request and answer that crosses a process boundary and is not a job's own file.
//!
//! - [`status_file`]: `grund_status.txt`, grund's record of the last client commit it answered.
//! - [`batch`]: the runner's `batch-status` call: the jobs file grund writes, the lines the
//!   runner prints.
//! - [`vars`]: the `GRUNT_*` variables a runner gets.
//! - [`words`]: the command words grund gives the runner.
//! - [`answer`]: `grunt await`, the server-side wait for grund's answer (`--wait`), and the
//!   framed reply it sends back over ssh.
//!
//! Each format is versioned by [`crate::FORMAT_VERSION`] (the on-disk ones) or its own header
//! (the reply of `grunt await`), and has samples in `tests/data/protocol/` that must keep loading.

pub mod answer;
pub mod batch;
pub mod status_file;
pub mod vars;
pub mod words;
