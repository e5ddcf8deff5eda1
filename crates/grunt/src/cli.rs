//! The command line: one variant per command, each owning its arguments in its module.

use clap::{Parser, Subcommand};

use crate::commands::*;

/// grunt: run your project's code on a cluster through git, with a permanent record of every
/// job. Job arguments take ids (ore000042), numbers (42) and inclusive ranges (11..22).
#[derive(Debug, Parser)]
#[command(name = "grunt", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a project: on the server `newproj <project>`, on the client `newproj <project> <remote>`.
    Newproj(newproj::Args),
    /// Set this project's server (writes grunt.server).
    Server(server::Args),
    /// Submit the project's git-tracked files as a new job: submit [args..] -m "why".
    Submit(submit::Args),
    /// Submit a new job with the same code, arguments and profile as each given job.
    Rerun(rerun::Args),
    /// List jobs: all, or active, done, archive or delete.
    Jobs(jobs::Args),
    /// Ask the runner to update the status of jobs (default: all active jobs).
    Status(push::Args),
    /// Copy jobs' result files into the results repo and link them into gresults/ (default: active jobs that need it).
    Results(results::Args),
    /// Copy the given files of one job into the results repo: files <job> <files..>.
    Files(files_cmd::Args),
    /// Pull the jobs and results repos.
    Pull,
    /// Show jobs' output (job.out).
    Out(show::OutArgs),
    /// Show jobs' file lists (job.list).
    Ls(show::LsArgs),
    /// Replace a job's message: message <job> "new message".
    Message(message::Args),
    /// Show what differs between a job and the project directory, or between two jobs.
    Diff(diff::Args),
    /// Link jobs' results into gresults/<jobid>.
    Link(link::Args),
    /// Remove gresults/<jobid> links.
    Unlink(link::Args),
    /// Cancel jobs on the server.
    Cancel(push::Args),
    /// Remove jobs from both repos and the server's disk, for mistakes (use delete for the rest).
    Nuke(push::Args),
    /// Move jobs to delete/ (their results are removed; the record stays).
    Delete(push::Args),
    /// Move jobs to archive/, with their results.
    Archive(push::Args),
    /// Remove stray files from the jobs working directory.
    Clean,
    /// Ask the runner for the scheduler's queue and show it (waits for the answer).
    Queue(queue::Args),
    /// Create a project on the server through grund: newproj-server <project>.
    NewprojServer(newproj_server::Args),
    /// Check this project's server: ssh, ControlMaster, git, grunt/grund versions, grund's heartbeat, repos.
    Doctor(doctor::Args),
    /// Run a full local round trip in a throwaway directory: server, grund, submit, results.
    Demo(demo::Args),
    /// Print the Markdown reference of all commands (docs/cli.md).
    #[command(hide = true)]
    CliReference,
    /// Any other word is a user command for the runner: <word> <jobs..>.
    #[command(external_subcommand)]
    Other(Vec<String>),
}
