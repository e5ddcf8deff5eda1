//! The command words grund gives the runner as its one argument. `grcmd.<word>` files carry
//! the same words from the client (see [`crate::command`], which also has the words grund
//! handles itself: `results` with a file list, `delete`, `archive`, `nuke`, `newproj-server`).

/// Start the job, detached. Required.
pub const SUBMIT: &str = "submit";
/// Print the job's result files, one per line. Required.
pub const RESULTS: &str = "results";
/// Ask the scheduler about one job, write `job.status`. Conventional.
pub const STATUS: &str = "status";
/// Stop the job, write `job.canceled`. Conventional.
pub const CANCEL: &str = "cancel";
/// Write the user's queue to `job.queue`. Conventional.
pub const QUEUE: &str = "queue";
/// Ask the scheduler about many jobs at once (see [`super::batch`]). Optional.
pub const BATCH_STATUS: &str = "batch-status";
/// Submit many jobs (the points of one sweep) as one scheduler array (see
/// [`super::submit_batch`]). Optional.
pub const SUBMIT_BATCH: &str = "submit-batch";
