//! `grunt`: parses arguments and dispatches to one module per command (see `commands`).

// The `///` comments of the command line are its --help text, where `<job>` is usage notation,
// not HTML.
#![allow(rustdoc::invalid_html_tags)]

mod commands;
mod context;
mod error;
mod grammar;
mod jobs_csv;
mod newjob;
mod project_files;
mod provenance;
mod remote_server;
mod side_by_side;
mod table;
mod ui;
mod wait;
mod worktree;

use clap::FromArgMatches;

fn main() {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();
    std::process::exit(match run() {
        Ok(()) => 0,
        Err(e) => error::report(&e),
    });
}

fn run() -> anyhow::Result<()> {
    // Before anything else touches git2: ssh URLs go through the system ssh.
    grunt_ssh::register()?;
    let args = grammar::mark_end_of_options(std::env::args_os().collect());
    let matches = commands::command().get_matches_from(args);
    let cli = commands::Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    match cli.color {
        commands::ColorWhen::Always => anstream::ColorChoice::Always.write_global(),
        commands::ColorWhen::Never => anstream::ColorChoice::Never.write_global(),
        commands::ColorWhen::Auto => {}
    }
    if let Some(dir) = &cli.dir {
        std::env::set_current_dir(dir)
            .map_err(|e| error::usage(format!("-C {}: {e}", dir.display())))?;
    }
    commands::run(cli)
}
