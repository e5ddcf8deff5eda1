//! `grunt completions SHELL` (clap_complete) and `grunt man DIR` (clap_mangen): generated from
//! the same definitions as `--help`.

use std::path::PathBuf;

use anyhow::{Context, Result};

#[derive(Debug, Clone, clap::Args)]
#[command(after_long_help = "Examples:
  grunt completions bash > ~/.local/share/bash-completion/completions/grunt
  grunt completions zsh > ~/.zfunc/_grunt
  grunt completions fish > ~/.config/fish/completions/grunt.fish")]
pub struct Args {
    /// The shell.
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Clone, clap::Args)]
#[command(after_long_help = "Example:
  grunt man ~/.local/share/man/man1 && man grunt-submit")]
pub struct ManArgs {
    /// Where to write grunt.1 and grunt-<command>.1.
    pub dir: PathBuf,
}

pub fn completions(a: Args) -> Result<()> {
    let mut cmd = crate::commands::command();
    clap_complete::generate(a.shell, &mut cmd, "grunt", &mut std::io::stdout());
    Ok(())
}

pub fn man(a: ManArgs) -> Result<()> {
    std::fs::create_dir_all(&a.dir).with_context(|| format!("creating {}", a.dir.display()))?;
    let cmd = crate::commands::command();
    clap_mangen::generate_to(cmd, &a.dir)
        .with_context(|| format!("writing man pages into {}", a.dir.display()))?;
    crate::ui::out(format!("man pages written to {}", a.dir.display()))?;
    Ok(())
}
