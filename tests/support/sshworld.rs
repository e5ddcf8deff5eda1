//! A grunt project whose server is reached over real ssh, for the e2e suite and the round
//! trip bench.
//!
//! The server is a private `sshd` on 127.0.0.1 (see [`crate::sshd`]) logging into the server
//! account (`gruntsrv` when running as root, so that client and server user names differ),
//! with copies of `grunt` and `grund` that account can run, and grund running AS that
//! account. The client is a hermetic account (`ore`, temp HOME) whose grunt reaches the
//! server through a Host alias: ssh ignores `$HOME` for `~/.ssh/config`, so
//! `GIT_SSH_COMMAND` points at a wrapper that runs `ssh -F <config>`. The wrapper also logs
//! every ssh invocation and can hold one back until the test says go (to stop sshd between
//! two steps of a command).
//!
//! One account runs one grund (it locks `~/gruntsrv/grund.lock`), so worlds are serialized:
//! [`SshWorld::new`] holds a process-wide lock until the world is dropped. Each world uses its
//! own server name, and removes its projects from the server account's home on drop.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::sshd::{require_sshd, ServerAccount, ServerDir, Sshd};
use crate::{grund_bin, grunt_bin, make_project, write_exec, Account, Daemon, Run};

/// PATH of the server's ssh sessions and of grund when grunt is not installed there.
const SYSTEM_PATH: &str = "/usr/local/bin:/usr/bin:/bin";

/// How a world is set up.
#[derive(Debug, Clone)]
pub struct Options {
    /// Whether the client's ssh config opens a ControlMaster.
    pub control_master: bool,
    /// Whether `grunt` and `grund` are on the PATH of the server's ssh sessions.
    pub grunt_on_server: bool,
    /// Whether `git` is on that PATH (without it, only the few tools grunt's remote scripts
    /// use are).
    pub git_on_server: bool,
    /// The runner script of the project and its grunt.toml.
    pub runner: String,
    pub toml: String,
}

/// See the module documentation.
#[derive(Debug)]
pub struct SshWorld {
    pub sshd: Sshd,
    pub server: ServerAccount,
    pub client: Account,
    /// The project directory on the client.
    pub project: PathBuf,
    /// The Host alias of the server in the client's ssh config.
    pub alias: String,
    /// The client's ssh config.
    pub config: PathBuf,
    /// This world's `<server>` name (`grund --server`).
    pub server_name: String,
    /// Where the wrapper keeps its log and its hold/go files.
    ctl: PathBuf,
    wrapper: PathBuf,
    bin: ServerDir,
    control_master: bool,
    /// Run `ssh -F <config>` directly, without the logging wrapper (for timing).
    direct_ssh: bool,
    defserver_existed: bool,
    tmp: tempfile::TempDir,
    _serial: MutexGuard<'static, ()>,
}

impl SshWorld {
    /// A world with a running sshd and a client project (nothing created on the server yet);
    /// None when sshd is not installed (and CI is not set: see [`require_sshd`]).
    pub fn new(opts: &Options) -> Option<SshWorld> {
        static SERIAL: Mutex<()> = Mutex::new(());
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        require_sshd()?;
        // A test that failed while holding the lock poisons it; the next world is still fine.
        let serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
        let server = ServerAccount::for_tests().expect("server account");
        let bin = server.scratch_dir().expect("server bin dir");
        for b in [grunt_bin(), grund_bin()] {
            let dest = bin.path().join(b.file_name().expect("binary name"));
            fs::copy(&b, &dest).expect("copying a binary for the server account");
        }
        let mut path = if opts.git_on_server {
            system_without_grunt(&bin.path().join("system"))
        } else {
            tools_without_git(&bin.path().join("tools"))
        };
        if opts.grunt_on_server {
            path = format!("{}:{path}", bin.path().display());
        }
        server.give(bin.path()).expect("chown server binaries");
        let sshd = Sshd::start_with_config(&server, &format!("SetEnv PATH={path}"))
            .expect("starting sshd");
        let tmp = tempfile::Builder::new()
            .prefix("grunt-sshworld-")
            .tempdir()
            .expect("tempdir");
        let client = Account::new(tmp.path(), "clihome", "ore");
        let project = tmp.path().join("work/sim");
        make_project(&project, &opts.runner, &opts.toml);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let alias = format!("grunt-sshworld-{n}");
        let config = sshd
            .write_ssh_config(&client.home, &alias, opts.control_master)
            .expect("ssh config");
        let ctl = tmp.path().join("ssh-ctl");
        fs::create_dir_all(&ctl).expect("ssh-ctl dir");
        let wrapper = tmp.path().join("ssh-wrapper");
        write_exec(&wrapper, &wrapper_script(&ctl, &config));
        let server_name = format!("sshrt{}x{n}", std::process::id());
        let defserver_existed = server.home().join(".grunt.defserver").exists();
        Some(SshWorld {
            sshd,
            server,
            client,
            project,
            alias,
            config,
            server_name,
            ctl,
            wrapper,
            bin,
            control_master: opts.control_master,
            direct_ssh: false,
            defserver_existed,
            tmp,
            _serial: serial,
        })
    }

    /// A scratch directory on the client's side.
    pub fn tmp(&self) -> &Path {
        self.tmp.path()
    }

    /// The value of GIT_SSH_COMMAND that reaches this world's alias.
    pub fn git_ssh_command(&self) -> String {
        if self.direct_ssh {
            format!("ssh -F '{}'", self.config.display())
        } else {
            format!("'{}'", self.wrapper.display())
        }
    }

    /// With `true`, grunt runs `ssh -F <config>` itself instead of the wrapper, as a user's
    /// setup would: no log, no holding (for timing).
    pub fn set_direct_ssh(&mut self, direct: bool) {
        self.direct_ssh = direct;
    }

    /// `grunt` as the client in the project directory, through the ssh wrapper.
    pub fn grunt(&self, args: &[&str]) -> Run {
        self.grunt_command(args)
            .output()
            .expect("running grunt")
            .into()
    }

    /// The command [`SshWorld::grunt`] runs.
    pub fn grunt_command(&self, args: &[&str]) -> Command {
        let mut c = self.client.command(&grunt_bin(), &self.project);
        c.args(args).env("GIT_SSH_COMMAND", self.git_ssh_command());
        c
    }

    /// `grunt newproj sim <alias> --server <name>`.
    pub fn newproj(&self) -> Run {
        self.grunt(&["newproj", "sim", &self.alias, "--server", &self.server_name])
    }

    /// Starts grund as the server account, serving this world's server name.
    pub fn spawn_grund(&self) -> Daemon {
        let log = self
            .tmp
            .path()
            .join(format!("grund-{}.log", unique_suffix()));
        let f = fs::File::create(&log).expect("grund log");
        let grund = self.bin.path().join("grund");
        let home = self.server.home();
        let env = [
            format!("HOME={}", home.display()),
            format!("USER={}", self.server.name()),
            format!("LOGNAME={}", self.server.name()),
            format!("PATH={SYSTEM_PATH}"),
            "GIT_CONFIG_NOSYSTEM=1".to_string(),
            "LANG=C".to_string(),
            "TZ=UTC".to_string(),
            format!(
                "RUST_LOG={}",
                std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into())
            ),
        ];
        let mut c = if self.server.is_separate_user() {
            let mut c = Command::new("setpriv");
            c.args([
                "--reuid",
                self.server.name(),
                "--regid",
                self.server.name(),
                "--init-groups",
            ]);
            c.arg("env");
            c
        } else {
            Command::new("env")
        };
        // setpriv and env exec: the child's pid is grund's, so the guard kills grund itself.
        c.arg("-i")
            .args(&env)
            .arg(&grund)
            .args(["--server", &self.server_name, "--poll", "1"])
            .current_dir(home)
            .stdin(Stdio::null())
            .stdout(f.try_clone().expect("log"))
            .stderr(f);
        let child = c.spawn().expect("starting grund as the server account");
        let d = Daemon { child, log };
        let hb = home.join("gruntsrv/grund.heartbeat");
        let pid = d.child.id();
        let up = crate::holds_within(std::time::Duration::from_secs(20), || {
            fs::read_to_string(&hb).is_ok_and(|t| t.contains(&format!("pid: {pid}\n")))
        });
        assert!(
            up,
            "timed out after 20 s waiting for grund's heartbeat with its pid; its log:\n{}\nheartbeat:\n{}",
            d.log_text(),
            fs::read_to_string(&hb).unwrap_or_default()
        );
        d
    }

    /// Where the server account's copies of `grunt` and `grund` are (on its PATH only with
    /// [`Options::grunt_on_server`]).
    pub fn server_bin_dir(&self) -> &Path {
        self.bin.path()
    }

    /// The server's user name in the project's paths.
    pub fn server_user(&self) -> &str {
        self.server.name()
    }

    /// `~gruntsrv/gruntsrv/bb/<server>/<server user>/sim/<kind>`.
    pub fn bare(&self, kind: &str) -> PathBuf {
        self.server.home().join(format!(
            "gruntsrv/bb/{}/{}/sim/{kind}",
            self.server_name,
            self.server_user()
        ))
    }

    /// `~gruntsrv/gruntsrv/wc/<server>/<server user>/sim/<kind>`.
    pub fn server_wc(&self, kind: &str) -> PathBuf {
        self.server.home().join(format!(
            "gruntsrv/wc/{}/{}/sim/{kind}",
            self.server_name,
            self.server_user()
        ))
    }

    /// `git <args>` on a server repo, as root may (safe.directory), via the git CLI.
    pub fn server_git(&self, repo: &Path, args: &[&str]) -> Run {
        crate::sshd::hermetic_git(self.tmp.path())
            .args(["-c", "safe.directory=*", "--git-dir"])
            .arg(repo)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("running git")
            .into()
    }

    /// Every ssh invocation so far (its arguments, one line each).
    pub fn ssh_log(&self) -> Vec<String> {
        fs::read_to_string(self.ctl.join("ssh.log"))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// Holds the next ssh invocation whose arguments contain `needle` until [`Self::go`].
    pub fn hold_ssh_on(&self, needle: &str) {
        let _ = fs::remove_file(self.ctl.join("held"));
        fs::write(self.ctl.join("hold-on"), needle).expect("hold-on file");
    }

    /// Waits until an ssh invocation is held (see [`Self::hold_ssh_on`]).
    pub fn wait_held(&self) {
        let held = self.ctl.join("held");
        crate::wait_until(60, "an ssh invocation to be held", || held.exists());
    }

    /// Lets the held ssh invocation go on.
    pub fn go(&self) {
        fs::write(self.ctl.join("go"), "").expect("go file");
    }

    /// Stops sshd and every session it runs (a crash of the server).
    pub fn stop_sshd(&mut self) {
        self.sshd.kill();
    }

    /// Starts sshd again; the alias follows it if it had to take another port.
    pub fn restart_sshd(&mut self) {
        let old = self.sshd.port();
        self.sshd.restart().expect("restarting sshd");
        if self.sshd.port() != old {
            // ssh takes the first value it finds: rewrite the config instead of appending.
            fs::remove_file(&self.config).expect("removing the old ssh config");
            self.config = self
                .sshd
                .write_ssh_config(&self.client.home, &self.alias, self.control_master)
                .expect("ssh config for the new port");
        }
    }

    /// Whether `ssh -O check` finds a ControlMaster for the alias.
    pub fn control_master_running(&self) -> bool {
        Sshd::control_master_running(&self.config, &self.alias)
    }
}

impl Drop for SshWorld {
    fn drop(&mut self) {
        let root = self.server.home().join("gruntsrv");
        for kind in ["bb", "wc"] {
            let _ = fs::remove_dir_all(root.join(kind).join(&self.server_name));
        }
        if !self.defserver_existed {
            let _ = fs::remove_file(self.server.home().join(".grunt.defserver"));
        }
    }
}

/// The GIT_SSH_COMMAND wrapper: logs, may hold one invocation, then runs `ssh -F <config>`.
fn wrapper_script(ctl: &Path, config: &Path) -> String {
    format!(
        r#"#!/bin/sh
# Test wrapper for ssh: logs each invocation; when hold-on exists and its text occurs in the
# arguments, marks "held" and waits (at most 60 s) for "go" before running ssh.
d='{ctl}'
printf '%s\n' "$*" >> "$d/ssh.log"
if [ -f "$d/hold-on" ]; then
  case "$*" in
    *"$(cat "$d/hold-on")"*)
      rm -f "$d/hold-on"
      : > "$d/held"
      i=0
      while [ ! -e "$d/go" ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i+1)); done
      rm -f "$d/go"
      ;;
  esac
fi
exec ssh -F '{config}' "$@"
"#,
        ctl = ctl.display(),
        config = config.display()
    )
}

/// [`SYSTEM_PATH`], or where a `grunt` or `grund` is installed on it, a directory of links to
/// every program on it but those: whether the server has grunt is the test's choice, not the
/// machine's. Returns the PATH.
fn system_without_grunt(dir: &Path) -> String {
    let installed = SYSTEM_PATH.split(':').any(|d| {
        ["grunt", "grund"]
            .iter()
            .any(|b| Path::new(d).join(b).symlink_metadata().is_ok())
    });
    if !installed {
        return SYSTEM_PATH.to_string();
    }
    fs::create_dir_all(dir).expect("system tools dir");
    for d in SYSTEM_PATH.split(':') {
        let Ok(entries) = fs::read_dir(d) else {
            continue;
        };
        for e in entries.flatten() {
            let name = e.file_name();
            let link = dir.join(&name);
            // The first on the PATH wins, as for the shell.
            if name == "grunt" || name == "grund" || link.symlink_metadata().is_ok() {
                continue;
            }
            std::os::unix::fs::symlink(e.path(), link).expect("tool link");
        }
    }
    dir.display().to_string()
}

/// A directory of links to the programs grunt's remote scripts use, and not git; returns it.
fn tools_without_git(dir: &Path) -> String {
    fs::create_dir_all(dir).expect("tools dir");
    for tool in [
        "sh", "id", "sed", "head", "grep", "mkdir", "ps", "cat", "true", "rm", "env",
    ] {
        let found = SYSTEM_PATH
            .split(':')
            .map(|d| Path::new(d).join(tool))
            .find(|p| p.is_file());
        if let Some(target) = found {
            std::os::unix::fs::symlink(&target, dir.join(tool)).expect("tool link");
        }
    }
    dir.display().to_string()
}

fn unique_suffix() -> String {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    format!("{}-{n}", std::process::id())
}

/// Median of durations (sorted in place).
pub fn median(samples: &mut [Duration]) -> Duration {
    samples.sort();
    samples.get(samples.len() / 2).copied().unwrap_or_default()
}

/// Time one call.
pub fn timed<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let start = Instant::now();
    let r = f();
    (r, start.elapsed())
}
