//! `grunt server <name>`: this project's server, written to `grunt.server`.

use anyhow::Result;
use grunt_core::config::SERVER_FILE;
use grunt_core::{fsutil, name};

use crate::ui;

#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// The server's short name.
    pub name: String,
}

pub fn run(a: Args) -> Result<()> {
    name::check("server", &a.name)?;
    let path = std::env::current_dir()?.join(SERVER_FILE);
    fsutil::write_line(&path, &a.name)?;
    ui::out(format!(
        "server of this project: {} (in {})",
        a.name,
        path.display()
    ))?;
    Ok(())
}
