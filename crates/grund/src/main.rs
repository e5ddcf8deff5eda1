//! `grund`: parses arguments and runs the daemon (see the `grund` library).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use grunt_core::config;
use grunt_core::layout::{self, ServerLayout};

/// The grunt daemon: runs the commands clients push to this server's job repos.
/// Start it on the login node with `nohup grund &`, or from cron with `grund --once`.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    /// Seconds between polls of the repos (file events wake grund at once; polling covers
    /// network file systems, which send none).
    #[arg(long, default_value_t = 10, value_name = "SECS")]
    poll: u64,
    /// Process what is pending, then exit (for cron or scrontab where daemons are banned).
    #[arg(long)]
    once: bool,
    /// Seconds between refreshes of active jobs' states: one runner `batch-status` call per
    /// project, whatever the number of jobs (at least 10).
    #[arg(long, default_value_t = 60, value_name = "SECS")]
    refresh: u64,
    /// How many projects are processed at the same time (a runner that hangs holds up only
    /// its own project).
    #[arg(long, default_value_t = 8, value_name = "N")]
    workers: usize,
    /// This server's short name (default: ~/.grunt.defserver).
    #[arg(long, value_name = "NAME")]
    server: Option<String>,
    #[command(subcommand)]
    command: Option<Cmd>,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Mark everything pending as done without running it (the original's `reset`). The lock
    /// needs no reset: it is freed the moment its holder dies.
    Reset,
    /// Leave ~/gruntsrv's working copies as the original grund.py expects them (checked out at
    /// the repos' tips, with an upstream for `git pull`), to go back to the original. Stop this
    /// grund first; start the original afterwards.
    Handback,
    /// Internal: supervise one runner call (started by grund itself).
    #[command(hide = true)]
    SuperviseRunner { slot: PathBuf },
}

fn main() {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    if let Err(e) = real_main() {
        eprintln!("grund: error: {e:#}");
        std::process::exit(1);
    }
}

fn real_main() -> Result<()> {
    let cli = Cli::parse();
    if let Some(Cmd::SuperviseRunner { slot }) = &cli.command {
        return Ok(grund::supervisor::supervise(slot)?);
    }
    let home = layout::home()?;
    let server = match cli.server {
        Some(s) => s,
        None => config::server_name(&home, &home)?.ok_or(config::ConfigError::NoServer)?,
    };
    grunt_core::name::check("server", &server)?;
    let exe = std::env::current_exe().context("finding grund's own executable")?;
    let opts = grund::Options {
        layout: ServerLayout::from_home(&home),
        server,
        user: config::user_name()?,
        poll: Duration::from_secs(cli.poll.max(1)),
        once: cli.once,
        refresh: Duration::from_secs(cli.refresh.max(10)),
        supervisor: vec![exe.into(), "supervise-runner".into()],
        workers: cli.workers.clamp(1, 256),
        env: std::sync::Arc::new(grunt_core::runner::process_env()),
    };
    match cli.command {
        Some(Cmd::Reset) => grund::daemon::reset(&opts),
        Some(Cmd::Handback) => grund::handback::handback(&opts),
        _ => grund::run(&opts),
    }
}
