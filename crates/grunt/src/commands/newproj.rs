//! `grunt newproj <project> [remote]`: create a project's repos. Without a remote, on the
//! server (`~/gruntsrv`); with one, on the client (`~/gruntdat`), cloning the server's repos.
//! The remote is the server account's home directory on this machine (`/home/ore`, or
//! `ore@/home/ore`), or `[user@]host` reached over ssh.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use grunt_core::config::{self, DEFSERVER_FILE};
use grunt_core::git::remote::Remote;
use grunt_core::layout::{self, ClientLayout, ServerLayout};
use grunt_core::{fsutil, name, project};

use crate::ui;

#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// The project's name (on the client, normally the project directory's name).
    pub project: String,
    /// Client side: where the server is: a home directory on this machine or `[user@]host`.
    pub remote: Option<String>,
    /// The server's short name; saved to ~/.grunt.defserver when none is set.
    #[arg(long, value_name = "NAME")]
    pub server: Option<String>,
}

pub fn run(a: Args) -> Result<()> {
    name::check("project", &a.project)?;
    let home = layout::home()?;
    let cwd = std::env::current_dir()?;
    let server = server_name(&a, &cwd, &home, a.remote.is_none())?;
    let user = config::user_name()?;
    match &a.remote {
        None => {
            let dirs = project::create_server(
                &ServerLayout::from_home(&home),
                &server,
                &user,
                &a.project,
            )?;
            ui::out(format!(
                "created project {} on server {server}: {}",
                a.project,
                dirs.base.display()
            ))?;
            ui::out("start the daemon here if it is not running: nohup grund &")?;
        }
        Some(r) => {
            let (remote, server_user) = parse_remote(r, &server, &a.project, &user)?;
            let base = project::remote_base(&remote, &server, &server_user, &a.project);
            let dirs = project::create_client(
                &ClientLayout::from_home(&home),
                &server,
                &user,
                &a.project,
                &base,
            )?;
            ui::out(format!(
                "created project {} for server {server} ({}): {}",
                a.project,
                remote.display(),
                dirs.base.display()
            ))?;
        }
    }
    Ok(())
}

/// The server's name: `--server` (saved as the default when there is none), the configured
/// one, or, on a terminal, asked for as the original does.
fn server_name(a: &Args, cwd: &Path, home: &Path, on_server: bool) -> Result<String> {
    let configured = config::server_name(cwd, home)?;
    if let Some(s) = &a.server {
        name::check("server", s)?;
        if configured.is_none() {
            fsutil::write_line(&home.join(DEFSERVER_FILE), s)?;
        }
        return Ok(s.clone());
    }
    if let Some(s) = configured {
        return Ok(s);
    }
    if !std::io::stdin().is_terminal() {
        return Err(config::ConfigError::NoServer.into());
    }
    let what = if on_server {
        "this server"
    } else {
        "the server"
    };
    print!("Enter the short name of {what} (host name, no domain), saved in ~/{DEFSERVER_FILE}: ");
    std::io::stdout().flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    let s = line.trim().to_string();
    name::check("server", &s)?;
    fsutil::write_line(&home.join(DEFSERVER_FILE), &s)?;
    Ok(s)
}

/// Splits a remote into where it is and the server account's user name.
fn parse_remote(
    r: &str,
    server: &str,
    project: &str,
    client_user: &str,
) -> Result<(Remote, String)> {
    let (user, place) = match r.split_once('@') {
        Some((u, p)) => (Some(u.to_string()), p.to_string()),
        None => (None, r.to_string()),
    };
    if let Some(u) = &user {
        name::check("user", u)?;
    }
    let looks_local = place.starts_with('/') || place.starts_with('.') || place.starts_with('~');
    if !looks_local {
        if place.starts_with('-') || place.is_empty() {
            bail!("{r:?} is not a host: write [user@]host or a server home directory");
        }
        return Ok((
            Remote::Url(r.to_string()),
            user.unwrap_or_else(|| client_user.to_string()),
        ));
    }
    let path = expand_tilde(&place)?;
    let path = path
        .canonicalize()
        .with_context(|| format!("server home {} does not exist", path.display()))?;
    let user = match user {
        Some(u) => u,
        None => detect_user(&path, server, project)?,
    };
    Ok((Remote::Local(path), user))
}

fn expand_tilde(p: &str) -> Result<PathBuf> {
    Ok(match p.strip_prefix('~') {
        Some(rest) => layout::home()?.join(rest.trim_start_matches('/')),
        None => PathBuf::from(p),
    })
}

/// The server account whose `gruntsrv/bb/<server>/<user>/<project>` exists under `home`.
fn detect_user(home: &Path, server: &str, project: &str) -> Result<String> {
    let dir = home.join(layout::SERVER_ROOT).join("bb").join(server);
    let users: Vec<String> = std::fs::read_dir(&dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter(|e| e.path().join(project).join("jobs").is_dir())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    match users.as_slice() {
        [u] => Ok(u.clone()),
        [] => bail!(
            "no project {project:?} for server {server:?} under {}: create it there first (`grunt newproj {project}` as the server user)",
            dir.display()
        ),
        _ => bail!("several users have a project {project:?} under {}: write the remote as <user>@{}", dir.display(), home.display()),
    }
}
