//! `grunt`: parses arguments and dispatches to one module per command (see `commands`).

// The `///` comments of the command line are its --help text, where `<job>` is usage notation,
// not HTML.
#![allow(rustdoc::invalid_html_tags)]

mod cli;
mod commands;
mod context;
mod error;
mod files;
mod newjob;
mod table;
mod ui;
mod wait;

use clap::Parser;

fn main() {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();
    // Before anything else touches git2: ssh URLs go through the system ssh.
    if let Err(e) = grunt_core::transport::register() {
        eprintln!("grunt: error: {e}");
        std::process::exit(1);
    }
    let cli = cli::Cli::parse();
    let code = match commands::run(cli) {
        Ok(()) => 0,
        Err(e) => error::report(&e),
    };
    std::process::exit(code);
}
