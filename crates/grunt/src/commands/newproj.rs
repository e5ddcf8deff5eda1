//! `grunt newproj <project> [remote]`: create a project's repos. Without a remote, on the
//! server (`~/gruntsrv`); with one, on the client (`~/gruntdat`), cloning the server's repos.
//! The remote is the server account's home directory on this machine (`/home/ore`, or
//! `ore@/home/ore`), or `[user@]host` reached over ssh, where the server side is created
//! first when it is missing (see `crate::remote_server`): the whole setup is one
//! command on the laptop. A failed command leaves nothing on the client.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};

use crate::remote_server::{self, Created, Target};
use anyhow::{bail, Context, Result};
use grunt_core::config::{self, DEFSERVER_FILE};
use grunt_core::git::remote::Remote;
use grunt_core::layout::{self, ClientLayout, ProjectKey, ServerLayout};
use grunt_core::{fsutil, name, project};
use grunt_ssh::{shell_quote, Host};

use crate::ui;

#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// The project's name (on the client, normally the project directory's name).
    pub project: String,
    /// Client side: where the server is: `[user@]host` (an ssh Host alias works; the server
    /// side is created over ssh when missing) or a server home directory on this machine.
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
                &ProjectKey::new(&server.name, &user, &a.project),
            )?;
            server.save(&home)?;
            ui::out(format!(
                "created project {} on server {}: {}",
                a.project,
                server.name,
                dirs.base.display()
            ))?;
            ui::out("start the daemon here if it is not running: nohup grund &")?;
        }
        Some(r) => match parse_remote(r, &server.name, &a.project)? {
            Place::Local(path, server_user) => {
                let remote = Remote::Local(path);
                let base = project::remote_base(&remote, &server.name, &server_user, &a.project);
                let cl = ClientLayout::from_home(&home);
                let key = ProjectKey::new(&server.name, &user, &a.project);
                let dirs = with_cleanup(&cl.work(&key).base, || {
                    Ok(project::create_client(&cl, &key, &base)?)
                })?;
                server.save(&home)?;
                ui::out(format!(
                    "created project {} for server {} ({}): {}",
                    a.project,
                    server.name,
                    remote.display(),
                    dirs.base.display()
                ))?;
            }
            Place::Ssh(host) => over_ssh(&a, &home, &server, &user, &host)?,
        },
    }
    Ok(())
}

/// `grunt newproj <project> [user@]host`: the server side over ssh (unless it exists), then
/// this client's clones. Nothing is left here when it fails; what exists on the server is
/// reported, and running the same command again finishes the job.
fn over_ssh(a: &Args, home: &Path, server: &Server, user: &str, host: &Host) -> Result<()> {
    let cl = ClientLayout::from_home(home);
    let key = ProjectKey::new(&server.name, user, &a.project);
    let work = cl.work(&key);
    // Checked before anything happens on the server.
    if work.jobs().exists() {
        return Err(grunt_core::Error::ProjectExists {
            project: a.project.clone(),
            path: work.base,
        }
        .into());
    }
    let target = Target::new(&server.name, &a.project);
    let probe = remote_server::probe(host, &target)
        .with_context(|| format!("looking at {host} over ssh (nothing was created)"))?;
    let base = probe.bare_base(&target);
    let created = remote_server::create(host, &target, &probe)
        .map_err(anyhow::Error::from)
        .with_context(|| remote_state(host, &target))?;
    let how = match &created {
        Created::Existed => "exists already; setting up this client only".to_string(),
        Created::ByGrunt(v) => format!("created with the server's grunt ({v})"),
        Created::ByGit => format!("created with git (no grunt on {host}'s PATH)"),
    };
    ui::out(format!("project {} on {host}:{base} {how}", a.project))?;
    let url_base = host.url(&base);
    let dirs = with_cleanup(&work.base, || {
        Ok(project::create_client(&cl, &key, &url_base)?)
    })
    .with_context(|| {
        format!(
            "the server side is in place on {host} ({base}); nothing was kept on this client: \
             run the same command again to set it up"
        )
    })?;
    server.save(home)?;
    ui::out(format!(
        "created project {} for server {} ({url_base}): {}",
        a.project,
        server.name,
        dirs.base.display()
    ))?;
    if created != Created::Existed {
        let start = format!("nohup grund --server {} >grund.log 2>&1 &", server.name);
        ui::out(format!(
            "start grund on {host} if it is not running (`ssh {} {}`), then check with `grunt doctor`",
            host.destination(),
            shell_quote(&start)
        ))?;
    }
    Ok(())
}

/// What exists on the server after a failure, as far as a fresh look can tell.
fn remote_state(host: &Host, target: &Target) -> String {
    let failed = format!("creating project {} on {host} failed", target.project);
    let again = "nothing was kept on this client; run the same command again to finish: it keeps what exists";
    match remote_server::probe(host, target) {
        Ok(p) => format!(
            "{failed}; {}/{{jobs,results}} are now {:?}/{:?} there; {again}",
            p.bare_base(target),
            p.jobs,
            p.results
        ),
        Err(e) => format!("{failed}; could not check what exists there now ({e}); {again}"),
    }
}

/// Runs `make`, which creates `dir`; on failure removes the parent directories it created
/// too (`~/gruntdat/wc/<server>/<user>`), so a failed command leaves nothing behind.
fn with_cleanup<T>(dir: &Path, make: impl FnOnce() -> Result<T>) -> Result<T> {
    let fresh: Vec<PathBuf> = dir
        .ancestors()
        .skip(1)
        .take_while(|p| !p.exists())
        .map(Path::to_path_buf)
        .collect();
    let r = make();
    if r.is_err() {
        let _ = std::fs::remove_dir_all(dir);
        // Deepest first; `remove_dir` leaves anything someone else put there meanwhile.
        for p in &fresh {
            let _ = std::fs::remove_dir(p);
        }
    }
    r
}

/// The server's short name, and whether it becomes the default when the command succeeds.
#[derive(Debug)]
struct Server {
    name: String,
    save: bool,
}

impl Server {
    /// Writes ~/.grunt.defserver if this name is to become the default.
    fn save(&self, home: &Path) -> Result<()> {
        if self.save {
            fsutil::write_line(&home.join(DEFSERVER_FILE), &self.name)?;
        }
        Ok(())
    }
}

/// The server's name: `--server` (saved as the default when there is none), the configured
/// one, or, on a terminal, asked for as the original does. Saved only once the project exists.
fn server_name(a: &Args, cwd: &Path, home: &Path, on_server: bool) -> Result<Server> {
    let configured = config::server_name(cwd, home)?;
    if let Some(s) = &a.server {
        name::check("server", s)?;
        return Ok(Server {
            name: s.clone(),
            save: configured.is_none(),
        });
    }
    if let Some(s) = configured {
        return Ok(Server {
            name: s,
            save: false,
        });
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
    Ok(Server {
        name: s,
        save: true,
    })
}

/// Where the server is.
#[derive(Debug)]
enum Place {
    /// The server account's home on this machine, and that account's user name.
    Local(PathBuf, String),
    /// `[user@]host` over ssh; the server account's name is asked from it.
    Ssh(Host),
}

/// Tells a server home on this machine (`/home/ore`, `ore@~ore`, `./srv`) from `[user@]host`.
fn parse_remote(r: &str, server: &str, project: &str) -> Result<Place> {
    let (user, place) = match r.split_once('@') {
        Some((u, p)) => (Some(u.to_string()), p.to_string()),
        None => (None, r.to_string()),
    };
    let looks_local = place.starts_with('/') || place.starts_with('.') || place.starts_with('~');
    if !looks_local {
        return Ok(Place::Ssh(Host::parse(r)?));
    }
    if let Some(u) = &user {
        name::check("user", u)?;
    }
    let path = expand_tilde(&place)?;
    let path = path
        .canonicalize()
        .with_context(|| format!("server home {} does not exist", path.display()))?;
    let user = match user {
        Some(u) => u,
        None => detect_user(&path, server, project)?,
    };
    Ok(Place::Local(path, user))
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
