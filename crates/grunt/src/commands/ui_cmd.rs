//! `grunt ui`: the local web dashboard (crates/grunt-ui), for the project in this directory.

use anyhow::Result;

use crate::context::Ctx;
use crate::error;

#[derive(Debug, Clone, clap::Args)]
#[command(after_long_help = "Examples:
  grunt ui                 serve on a free port and open the browser
  grunt ui --port 8765 --no-open

It listens on 127.0.0.1 only and prints its URL with a random token
(http://127.0.0.1:PORT/?token=...); every request without the token gets 401.
The page reads and acts through this same grunt (docs/ui.md has the JSON API).")]
pub struct Args {
    /// Port on 127.0.0.1 (default: a free one).
    #[arg(long, value_name = "P", default_value_t = 0)]
    pub port: u16,
    /// Do not open the browser; only print the URL.
    #[arg(long)]
    pub no_open: bool,
    /// Seconds between background pulls of the jobs table.
    #[arg(long, value_name = "SECS", default_value_t = 5)]
    pub refresh: u64,
}

pub fn run(ctx: &Ctx, a: Args) -> Result<()> {
    let grunt = std::env::current_exe()
        .map_err(|e| error::error(format!("cannot find this grunt binary: {e}")))?;
    grunt_ui::run(grunt_ui::Options {
        port: a.port,
        open: !a.no_open,
        refresh: a.refresh,
        grunt,
        project: ctx.cwd.clone(),
    })
}
