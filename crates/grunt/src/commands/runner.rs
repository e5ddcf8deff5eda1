//! `grunt runner list` and `grunt runner install NAME`: the example runners of
//! `runner-examples/`, built into the binary, and writing one into the project as `grunter`.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;

use anyhow::{Context, Result};

use crate::{error, ui};

/// The runners, by name: what each is for, and its text (`runner-examples/<name>/grunter`).
pub const RUNNERS: [(&str, &str, &str); 5] = [
    (
        "local",
        "runs each job in the background on the server itself",
        include_str!("../../../../runner-examples/local/grunter"),
    ),
    (
        "slurm",
        "runs each job as a Slurm batch job (sbatch)",
        include_str!("../../../../runner-examples/slurm/grunter"),
    ),
    (
        "sge",
        "runs each job as a Grid Engine batch job (qsub)",
        include_str!("../../../../runner-examples/sge/grunter"),
    ),
    (
        "lsf",
        "runs each job as an LSF batch job (bsub)",
        include_str!("../../../../runner-examples/lsf/grunter"),
    ),
    (
        "htcondor",
        "runs each job as an HTCondor job (condor_submit)",
        include_str!("../../../../runner-examples/htcondor/grunter"),
    ),
];

/// The file a runner is installed as, at the project's root.
const RUNNER_FILE: &str = "grunter";

#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: Sub,
}

#[derive(Debug, Clone, clap::Subcommand)]
pub enum Sub {
    /// Name the runners grunt carries.
    List,
    /// Write runner NAME into this project as an executable `grunter` (never over one).
    Install {
        /// local, slurm, sge, lsf or htcondor (see `grunt runner list`).
        name: String,
    },
}

pub fn run(a: Args) -> Result<()> {
    match a.command {
        Sub::List => {
            for (name, what, _) in RUNNERS {
                ui::out(format!("{name:<9} {what}"))?;
            }
            Ok(())
        }
        Sub::Install { name } => install(&name),
    }
}

fn install(name: &str) -> Result<()> {
    let Some((_, _, text)) = RUNNERS.iter().find(|(n, _, _)| *n == name) else {
        let names: Vec<&str> = RUNNERS.iter().map(|(n, _, _)| *n).collect();
        return Err(error::usage(format!(
            "no runner named {name:?}: there are {}",
            names.join(", ")
        ))
        .into());
    };
    let path = std::env::current_dir()?.join(RUNNER_FILE);
    // create_new: an existing runner is the user's, never replaced.
    let mut f = match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o755)
        .open(&path)
    {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return Err(error::usage(format!(
                "{} exists already: remove it first to install the {name} runner",
                path.display()
            ))
            .into());
        }
        Err(e) => return Err(e).with_context(|| format!("creating {}", path.display())),
    };
    f.write_all(text.as_bytes())
        .and_then(|()| f.sync_all())
        .with_context(|| format!("writing {}", path.display()))?;
    ui::out(format!(
        "installed the {name} runner as {} (see runner-examples/README.md for grunt.toml)",
        path.display()
    ))?;
    Ok(())
}
