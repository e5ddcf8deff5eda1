//! A server reached over ssh (see [`Host`]): what is there for a project ([`probe`]: the
//! account, git, grunt and grund with their versions, grund's heartbeat, the project's bare
//! repos), and creating a project's server side from the client ([`create`]): with the
//! server's own `grunt newproj` when it has one, else with plain `git` there plus a first
//! commit built here and pushed through the ssh transport.
//!
//! The shell side is `server.sh` (linted by shellcheck), sent as one line run by `sh -c` (so
//! the login shell may be csh or fish) with the paths and names as positional arguments, each
//! quoted with [`shell_quote`], and every run bounded by a timeout. Paths are relative to the
//! remote home, as in the repos' URLs (`host:gruntsrv/bb/…`).

use std::time::Duration;

use grunt_core::config::DEFSERVER_FILE;
use grunt_core::git::{self, remote::Remote};
use grunt_core::layout::{BRANCH_REF, SERVER_ROOT};
use grunt_core::{name, project};
use grunt_ssh::{shell_quote, Host, RemoteOutput, SshError};

/// The server-side script: `sh -c SCRIPT sh ACTION ROOT SERVER USER PROJECT [ARGS…]`.
const SERVER_SH: &str = include_str!("server.sh");

/// Longest time one remote command may take.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(120);

/// What can go wrong on the server's side.
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    #[error(transparent)]
    Ssh(#[from] SshError),
    #[error(transparent)]
    Core(#[from] grunt_core::Error),
    #[error(
        "git is not installed on {host} (not on the PATH of non-interactive ssh sessions): \
         install it there, or set PATH in the server's ~/.bashrc before its \
         `not interactive: return` line; check with `ssh {host} 'command -v git'`"
    )]
    NoGit { host: String },
    #[error("`{what}` failed on {host} ({status}): {detail}")]
    Command {
        host: String,
        what: String,
        status: String,
        detail: String,
    },
    #[error(
        "the server repo {path} is not in grunt's layout \
         (<root>/bb/<server>/<user>/<project>/jobs): grunt cannot look at that server"
    )]
    NotLayout { path: String },
    #[error("on this machine: {0}")]
    Local(String),
    #[error("{host} gave an unusable answer to {what}: {detail}")]
    Answer {
        host: String,
        what: String,
        detail: String,
    },
}

/// Which project on the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The server root, relative to the remote home (or absolute): `gruntsrv`.
    pub root: String,
    pub server: String,
    /// The server account's name in the paths; `None`: the account's own (`$USER` there, as
    /// the server's grunt and grund take it).
    pub user: Option<String>,
    pub project: String,
}

impl Target {
    /// A project under the standard root `gruntsrv`, for the logged-in account.
    pub fn new(server: &str, project: &str) -> Target {
        Target {
            root: SERVER_ROOT.to_string(),
            server: server.to_string(),
            user: None,
            project: project.to_string(),
        }
    }

    /// The target a jobs or results repo path names: `<root>/bb/<server>/<user>/<project>/<kind>`.
    pub fn from_repo_path(path: &str) -> Option<Target> {
        let parts: Vec<&str> = path.trim_end_matches('/').rsplitn(6, '/').collect();
        let [_kind, project, user, server, bb, root] = parts.as_slice() else {
            return None;
        };
        if *bb != "bb" || root.is_empty() {
            return None;
        }
        for n in [project, user, server] {
            name::check("name", n).ok()?;
        }
        Some(Target {
            root: root.to_string(),
            server: server.to_string(),
            user: Some(user.to_string()),
            project: project.to_string(),
        })
    }

    /// `<root>/bb/<server>/<user>/<project>`: where the bare repos are.
    pub fn bare_base(&self, user: &str) -> String {
        format!("{}/bb/{}/{user}/{}", self.root, self.server, self.project)
    }

    /// The command line that runs [`SERVER_SH`]'s `action` for this target, with `extra`
    /// arguments: `sh -c '<script>' sh ACTION ROOT SERVER USER PROJECT EXTRA…`, every word
    /// quoted.
    fn script(&self, action: &str, extra: &[&str]) -> String {
        let mut words = vec![
            "sh".to_string(),
            "-c".to_string(),
            shell_quote(&one_line(SERVER_SH)),
            "sh".to_string(),
        ];
        let args = [
            action,
            &self.root,
            &self.server,
            self.user.as_deref().unwrap_or(""),
            &self.project,
        ];
        words.extend(args.iter().chain(extra).map(|a| shell_quote(a)));
        words.join(" ")
    }
}

/// A shell script as one line: comment and blank lines dropped, the others trimmed and joined
/// with spaces (the script ends every command with `;`, see `server.sh`).
fn one_line(script: &str) -> String {
    script
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A project's server as its clones' origin names it: over ssh or on this machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerRef {
    Ssh { host: Host, target: Target },
    Local { target: Target },
}

impl ServerRef {
    /// From the origin of a project's jobs (or results) clone.
    pub fn of(origin: &Remote) -> Result<ServerRef, RemoteError> {
        let target = |path: &str| {
            Target::from_repo_path(path).ok_or_else(|| RemoteError::NotLayout {
                path: path.to_string(),
            })
        };
        Ok(match origin {
            Remote::Url(url) => {
                let (host, path) = Host::from_url(url)?;
                let target = target(&path)?;
                ServerRef::Ssh { host, target }
            }
            Remote::Local(path) => ServerRef::Local {
                target: target(&path.to_string_lossy())?,
            },
        })
    }

    pub fn target(&self) -> &Target {
        match self {
            ServerRef::Ssh { target, .. } | ServerRef::Local { target } => target,
        }
    }

    /// The host as people wrote it, or `this machine`.
    pub fn place(&self) -> String {
        match self {
            ServerRef::Ssh { host, .. } => host.to_string(),
            ServerRef::Local { .. } => "this machine".to_string(),
        }
    }

    /// `ssh HOST 'cmd'` to run `cmd` there, or just `cmd` on this machine (for hints).
    pub fn hint(&self, cmd: &str) -> String {
        match self {
            ServerRef::Ssh { host, .. } => {
                format!("ssh {} {}", host.destination(), shell_quote(cmd))
            }
            ServerRef::Local { .. } => cmd.to_string(),
        }
    }

    /// Where a job's directory is on the server (relative to the remote home, or absolute):
    /// `<root>/wc/<server>/<user>/<project>/jobs/<job_dir>`. `user` is the account's name in
    /// the paths when the origin does not say.
    pub fn job_dir_path(&self, user: &str, job_dir: &str) -> String {
        let t = self.target();
        let user = t.user.as_deref().unwrap_or(user);
        format!(
            "{}/wc/{}/{user}/{}/jobs/{job_dir}",
            t.root, t.server, t.project
        )
    }

    /// Runs the shell `script` on the server (over ssh, or with `sh -c` on this machine),
    /// copying its output to `out` as it comes. Returns its exit code.
    pub fn stream(
        &self,
        script: &str,
        out: &mut dyn std::io::Write,
    ) -> Result<Option<i32>, RemoteError> {
        match self {
            ServerRef::Ssh { host, .. } => Ok(host.stream(script, out)?),
            ServerRef::Local { .. } => {
                use std::io::Read;
                let mut child = std::process::Command::new("sh")
                    .arg("-c")
                    .arg(script)
                    .stdin(std::process::Stdio::null())
                    .stdout(std::process::Stdio::piped())
                    .spawn()
                    .map_err(|e| RemoteError::Local(format!("running sh: {e}")))?;
                if let Some(mut pipe) = child.stdout.take() {
                    let mut buf = [0u8; 8192];
                    while let Ok(n) = pipe.read(&mut buf) {
                        if n == 0 || out.write_all(&buf[..n]).and_then(|()| out.flush()).is_err() {
                            break;
                        }
                    }
                }
                let _ = child.kill();
                let st = child
                    .wait()
                    .map_err(|e| RemoteError::Local(format!("waiting for sh: {e}")))?;
                Ok(st.code())
            }
        }
    }

    /// [`probe`] or [`probe_local`].
    pub fn probe(&self) -> Result<Probe, RemoteError> {
        match self {
            ServerRef::Ssh { host, target } => probe(host, target),
            ServerRef::Local { target } => probe_local(target),
        }
    }
}

/// A bare repo's state on the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RepoState {
    Missing,
    /// The repo exists but has no `master` yet.
    Empty,
    Ready,
}

/// A program on the server's PATH.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tool {
    pub path: String,
    /// The first line of its `--version`.
    pub version: String,
}

/// What the server has for a project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    /// The logged-in account's user name there.
    pub account: String,
    /// The user name in the project's paths.
    pub user: String,
    /// `git --version`, if git is on the PATH.
    pub git: Option<String>,
    pub grunt: Option<Tool>,
    pub grund: Option<Tool>,
    /// The heartbeat file's text, if it exists.
    pub heartbeat: Option<String>,
    /// The command name of the heartbeat's pid when that process runs on this node (not a
    /// zombie); `running` when `ps` cannot tell.
    pub grund_process: Option<String>,
    pub jobs: RepoState,
    pub results: RepoState,
}

impl Probe {
    /// `<root>/bb/<server>/<user>/<project>` for this server's user.
    pub fn bare_base(&self, target: &Target) -> String {
        target.bare_base(&self.user)
    }
}

const PROBE_WHAT: &str = "the grunt probe";

/// Looks at the server in one ssh round trip.
pub fn probe(host: &Host, target: &Target) -> Result<Probe, RemoteError> {
    let out = host.run(&target.script("probe", &[]), COMMAND_TIMEOUT)?;
    if !out.success() {
        return Err(failed(host, PROBE_WHAT, &out));
    }
    parse_probe(&out.stdout).map_err(|detail| RemoteError::Answer {
        host: host.to_string(),
        what: PROBE_WHAT.to_string(),
        detail,
    })
}

/// The same look at a server on this machine (a project whose remote is a path), run by the
/// local `sh` as the current user.
pub fn probe_local(target: &Target) -> Result<Probe, RemoteError> {
    let here = "this machine";
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(target.script("probe", &[]))
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| grunt_core::Error::io("running sh for", "the probe")(e))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(RemoteError::Command {
            host: here.to_string(),
            what: PROBE_WHAT.to_string(),
            status: out.status.to_string(),
            detail: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    parse_probe(&stdout).map_err(|detail| RemoteError::Answer {
        host: here.to_string(),
        what: PROBE_WHAT.to_string(),
        detail,
    })
}

fn parse_probe(stdout: &str) -> Result<Probe, String> {
    let mut p = Probe {
        account: String::new(),
        user: String::new(),
        git: None,
        grunt: None,
        grund: None,
        heartbeat: None,
        grund_process: None,
        jobs: RepoState::Missing,
        results: RepoState::Missing,
    };
    let (mut jobs, mut results) = (None, None);
    let mut tools: [(Option<String>, Option<String>); 2] = Default::default();
    for line in stdout.lines() {
        if let Some(hb) = line.strip_prefix("heartbeat.") {
            let text = p.heartbeat.get_or_insert_with(String::new);
            text.push_str(hb);
            text.push('\n');
            continue;
        }
        // Anything else a login script prints is ignored.
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let value = value.trim().to_string();
        let state = || match value.as_str() {
            "missing" => Some(RepoState::Missing),
            "empty" => Some(RepoState::Empty),
            "ready" => Some(RepoState::Ready),
            _ => None,
        };
        match key {
            "account" => p.account = value,
            "user" => p.user = value,
            "git" => p.git = Some(value),
            "grunt.path" => tools[0].0 = Some(value),
            "grunt.version" => tools[0].1 = Some(value),
            "grund.path" => tools[1].0 = Some(value),
            "grund.version" => tools[1].1 = Some(value),
            "grund.process" => p.grund_process = Some(value),
            "repo.jobs" => jobs = state(),
            "repo.results" => results = state(),
            _ => {}
        }
    }
    let [grunt, grund] = tools.map(|(path, version)| {
        path.map(|path| Tool {
            path,
            version: version.unwrap_or_default(),
        })
    });
    (p.grunt, p.grund) = (grunt, grund);
    name::check("user", &p.user).map_err(|e| format!("the server's user name: {e}"))?;
    match (jobs, results) {
        (Some(j), Some(r)) => (p.jobs, p.results) = (j, r),
        _ => return Err(format!("no repo states in its output:\n{stdout}")),
    }
    Ok(p)
}

/// How the server side came to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Created {
    /// Both repos were there already, with their first commit.
    Existed,
    /// By the server's `grunt newproj` (its `--version`).
    ByGrunt(String),
    /// With `git` there and a first commit pushed from here.
    ByGit,
}

/// Creates the project's server side as `probe` found it, finishing whatever an interrupted
/// earlier run left: the bare repos `jobs` and `results` (with `receive.denyNonFastForwards`)
/// and their first commit, the working copies' directories, and `~/.grunt.defserver` when
/// the account has none (so that a plain `grund` serves this server, as after the server's
/// own `grunt newproj`).
pub fn create(host: &Host, target: &Target, probe: &Probe) -> Result<Created, RemoteError> {
    use RepoState::*;
    if (probe.jobs, probe.results) == (Ready, Ready) {
        return Ok(Created::Existed);
    }
    let own_user = target.user.as_ref().is_none_or(|u| *u == probe.account);
    if let (Missing, Missing, Some(grunt), true) =
        (probe.jobs, probe.results, &probe.grunt, own_user)
    {
        let cmd = format!(
            "grunt newproj {} --server {}",
            shell_quote(&target.project),
            shell_quote(&target.server)
        );
        let out = host.run(&format!("sh -c {}", shell_quote(&cmd)), COMMAND_TIMEOUT)?;
        if !out.success() {
            return Err(failed(host, &cmd, &out));
        }
        return Ok(Created::ByGrunt(grunt.version.clone()));
    }
    if probe.git.is_none() {
        return Err(RemoteError::NoGit {
            host: host.to_string(),
        });
    }
    let script = target.script("create", &[BRANCH_REF, DEFSERVER_FILE]);
    let out = host.run(&script, COMMAND_TIMEOUT)?;
    if !out.success() {
        return Err(failed(host, "creating the bare repos with git", &out));
    }
    let base = probe.bare_base(target);
    for (kind, state) in [("jobs", probe.jobs), ("results", probe.results)] {
        if state != Ready {
            seed(
                &host.url(&format!("{base}/{kind}")),
                &probe.user,
                &target.project,
            )?;
        }
    }
    Ok(Created::ByGit)
}

/// Pushes a project's first commit (see [`project::initial_commit`]) to the empty repo at
/// `url`, building it in a throwaway local repo. A repo that got its first commit meanwhile
/// is left as it is.
fn seed(url: &str, user: &str, project: &str) -> Result<(), RemoteError> {
    let dir = tempfile::Builder::new()
        .prefix("grunt-seed-")
        .tempdir()
        .map_err(|e| grunt_core::Error::io("creating scratch dir in", std::env::temp_dir())(e))?;
    let repo = git::init(dir.path(), true)?;
    let head = project::initial_commit(&repo, user, project)?;
    let Some(head) = head.or(git::head(&repo)?) else {
        return Err(grunt_core::Error::Remote {
            remote: url.to_string(),
            message: "building the first commit produced nothing".into(),
        }
        .into());
    };
    match Remote::Url(url.to_string()).push(&repo, head, None)? {
        git::remote::Pushed::Ok => {}
        git::remote::Pushed::Rejected(why) => {
            log::info!("{url} has a first commit already ({why}); keeping it");
        }
    }
    Ok(())
}

fn failed(host: &Host, what: &str, out: &RemoteOutput) -> RemoteError {
    let detail = out.error_text();
    RemoteError::Command {
        host: host.to_string(),
        what: what.to_string(),
        status: match out.code {
            Some(c) => format!("exit status {c}"),
            None => "killed".to_string(),
        },
        detail: if detail.is_empty() {
            "no message".to_string()
        } else {
            detail
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_from_repo_path() {
        let t = Target::from_repo_path("gruntsrv/bb/clust/ore/sim/jobs").expect("parses");
        assert_eq!(t.root, "gruntsrv");
        assert_eq!(
            (t.server.as_str(), t.user.as_deref(), t.project.as_str()),
            ("clust", Some("ore"), "sim")
        );
        assert_eq!(t.bare_base("ore"), "gruntsrv/bb/clust/ore/sim");
        let abs = Target::from_repo_path("/scratch/x/gruntsrv/bb/c/u/p/results").expect("abs");
        assert_eq!(abs.root, "/scratch/x/gruntsrv");
        assert!(Target::from_repo_path("repos/sim.git").is_none());
        assert!(Target::from_repo_path("gruntsrv/xx/c/u/p/jobs").is_none());
        assert!(Target::from_repo_path("bb/c/u/p/jobs").is_none());
    }

    /// The server script, as one line, probes and creates a project whose names need quoting.
    #[test]
    fn server_script_quotes_names() {
        let home = tempfile::tempdir().expect("tempdir");
        let t = Target {
            root: "it's root".into(),
            server: "c l".into(),
            user: None,
            project: "p$x".into(),
        };
        let run = |script: String| {
            let out = std::process::Command::new("sh")
                .arg("-c")
                .arg(script)
                .current_dir(home.path())
                .env("USER", "ore")
                .output()
                .expect("sh");
            assert!(out.status.success(), "{out:?}");
            String::from_utf8_lossy(&out.stdout).into_owned()
        };
        let jobs = home.path().join("it's root/bb/c l/ore/p$x/jobs");
        std::fs::create_dir_all(&jobs).expect("mkdir");
        let probe = parse_probe(&run(t.script("probe", &[]))).expect("probe parses");
        assert_eq!(
            (probe.account.as_str(), probe.user.as_str()),
            ("ore", "ore")
        );
        assert_eq!(
            (probe.jobs, probe.results),
            (RepoState::Empty, RepoState::Missing)
        );
        run(t.script("create", &[BRANCH_REF, DEFSERVER_FILE]));
        assert!(jobs.join("HEAD").is_file());
        assert!(home
            .path()
            .join("it's root/wc/c l/ore/p$x/results")
            .is_dir());
        let defserver =
            std::fs::read_to_string(home.path().join(DEFSERVER_FILE)).expect("defserver");
        assert_eq!(defserver, "c l\n");
        assert!(!one_line(SERVER_SH).contains('\n'));
    }

    #[test]
    fn parses_probe_output() {
        let out =
            "Welcome to the cluster!\naccount=gruntsrv\nuser=gruntsrv\ngit=git version 2.47.3\n\
                   grund.path=/usr/bin/grund\ngrund.version=grund 0.1.0\n\
                   heartbeat.time: 2026-11-21 09:30:00 UTC\nheartbeat.pid: 42\n\
                   grund.process=grund\nrepo.jobs=ready\nrepo.results=empty\n";
        let p = parse_probe(out).expect("parses");
        assert_eq!(p.account, "gruntsrv");
        assert_eq!(p.git.as_deref(), Some("git version 2.47.3"));
        assert!(p.grunt.is_none());
        assert_eq!(
            p.grund,
            Some(Tool {
                path: "/usr/bin/grund".into(),
                version: "grund 0.1.0".into()
            })
        );
        assert_eq!(
            p.heartbeat.as_deref(),
            Some("time: 2026-11-21 09:30:00 UTC\npid: 42\n")
        );
        assert_eq!(p.grund_process.as_deref(), Some("grund"));
        assert_eq!((p.jobs, p.results), (RepoState::Ready, RepoState::Empty));
        assert!(parse_probe("account=x\nuser=x\n").is_err());
        assert!(parse_probe("user=../x\nrepo.jobs=ready\nrepo.results=ready\n").is_err());
    }
}
