//! A real OpenSSH server on 127.0.0.1 for tests and benches.
//!
//! This module owns the test-side ssh world: a throw-away `sshd` with its own
//! host key, port and authorized key ([`Sshd`]), the local account it logs
//! into ([`ServerAccount`], a separate `gruntsrv` user when running as root so
//! that client and server users differ), scratch directories in that
//! account's home ([`ServerDir`]), and client-side `ssh_config` snippets.
//!
//! OpenSSH reads `~/.ssh/config` from the passwd entry's home directory, not
//! from `$HOME` (checked with OpenSSH 9.2, as root and as a normal user), so
//! clients must be pointed at the written config with `ssh -F`, e.g. via
//! `GIT_SSH_COMMAND="ssh -F <client_home>/.ssh/config"`.
//!
//! Only std and `tempfile`; every wait has a deadline.

use std::fs;
use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// Name of the account created for the server side when running as root.
pub const SERVER_USER: &str = "gruntsrv";

const READY_TIMEOUT: Duration = Duration::from_secs(10);
const POLL: Duration = Duration::from_millis(20);

/// Finds `sshd`. When it is missing: panics under `CI=true` (a CI machine
/// must provide it), otherwise prints a loud SKIPPED line and returns None.
pub fn require_sshd() -> Option<PathBuf> {
    let candidates = ["/usr/sbin/sshd", "/usr/local/sbin/sshd", "/sbin/sshd"];
    let found = candidates
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .or_else(|| {
            std::env::var_os("PATH").and_then(|paths| {
                std::env::split_paths(&paths)
                    .map(|d| d.join("sshd"))
                    .find(|p| p.is_file())
            })
        });
    if found.is_none() {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!(
                "sshd is not installed but CI=true: the ssh tests must run in CI \
                 (apt-get install openssh-server)"
            );
        }
        eprintln!("SKIPPED: sshd not installed (apt-get install openssh-server)");
    }
    found
}

fn run(cmd: &mut Command) -> Result<Output, String> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("running {cmd:?}: {e}"))?;
    if out.status.success() {
        Ok(out)
    } else {
        Err(format!(
            "{cmd:?} failed ({}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

fn is_root() -> bool {
    // The owner of /proc/self is the effective uid; std has no geteuid.
    fs::metadata("/proc/self")
        .map(|m| m.uid() == 0)
        .unwrap_or(false)
}

fn passwd_entry(user: &str) -> Option<Vec<String>> {
    let out = Command::new("getent")
        .args(["passwd", user])
        .stdin(Stdio::null())
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let line = String::from_utf8_lossy(&out.stdout)
        .lines()
        .next()?
        .to_owned();
    let fields: Vec<String> = line.split(':').map(str::to_owned).collect();
    (fields.len() >= 7).then_some(fields)
}

/// The local account that sshd logs clients into.
#[derive(Debug, Clone)]
pub struct ServerAccount {
    name: String,
    home: PathBuf,
    /// True when it is a different user than the one running the tests.
    separate: bool,
}

impl ServerAccount {
    /// As root: the `gruntsrv` account, created (idempotently) if missing.
    /// Otherwise: the current user, since an unprivileged sshd can only log
    /// in as itself.
    pub fn for_tests() -> Result<ServerAccount, String> {
        if is_root() {
            Self::separate_user()
        } else {
            let name = String::from_utf8_lossy(&run(Command::new("id").arg("-un"))?.stdout)
                .trim()
                .to_owned();
            let home = passwd_entry(&name)
                .map(|f| PathBuf::from(&f[5]))
                .or_else(|| std::env::var_os("HOME").map(PathBuf::from))
                .ok_or_else(|| format!("no home directory for {name}"))?;
            Ok(ServerAccount {
                name,
                home,
                separate: false,
            })
        }
    }

    fn separate_user() -> Result<ServerAccount, String> {
        // Parallel tests may race to create the account; serialize in-process
        // and re-check after a failed useradd (another process may have won).
        static CREATE: Mutex<()> = Mutex::new(());
        let _guard = CREATE.lock().unwrap_or_else(|e| e.into_inner());
        if passwd_entry(SERVER_USER).is_none() {
            let made = run(Command::new("useradd").args(["-m", "-s", "/bin/bash", SERVER_USER]));
            if let Err(e) = made {
                if passwd_entry(SERVER_USER).is_none() {
                    return Err(e);
                }
            }
        }
        // With UsePAM no, sshd refuses accounts whose password field starts
        // with `!` (useradd's "locked" default). `*` means "no password"
        // without being locked.
        let shadow = fs::read_to_string("/etc/shadow").unwrap_or_default();
        let locked = shadow.lines().any(|l| {
            let mut f = l.split(':');
            f.next() == Some(SERVER_USER) && f.next().is_some_and(|p| p.starts_with('!'))
        });
        if locked {
            run(Command::new("usermod").args(["-p", "*", SERVER_USER]))?;
        }
        let fields = passwd_entry(SERVER_USER)
            .ok_or_else(|| format!("account {SERVER_USER} missing after useradd"))?;
        let home = PathBuf::from(&fields[5]);
        if !home.is_dir() {
            fs::create_dir_all(&home).map_err(|e| format!("creating {}: {e}", home.display()))?;
            run(Command::new("chown")
                .arg(format!("{SERVER_USER}:"))
                .arg(&home))?;
        }
        Ok(ServerAccount {
            name: SERVER_USER.to_owned(),
            home,
            separate: true,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn home(&self) -> &Path {
        &self.home
    }

    /// Whether the server account differs from the user running the tests.
    pub fn is_separate_user(&self) -> bool {
        self.separate
    }

    /// Hands `path` (recursively) to the server account. No-op when the
    /// server account is the current user.
    pub fn give(&self, path: &Path) -> Result<(), String> {
        if self.separate {
            run(Command::new("chown")
                .arg("-R")
                .arg(format!("{}:", self.name))
                .arg(path))?;
        }
        Ok(())
    }

    /// A fresh directory in the server account's home, removed on drop.
    pub fn scratch_dir(&self) -> Result<ServerDir, String> {
        let dir = tempfile::Builder::new()
            .prefix(".grunt-test-")
            .tempdir_in(&self.home)
            .map_err(|e| format!("scratch dir in {}: {e}", self.home.display()))?;
        self.give(dir.path())?;
        let rel = dir
            .path()
            .strip_prefix(&self.home)
            .map_err(|e| e.to_string())?
            .to_string_lossy()
            .into_owned();
        Ok(ServerDir {
            dir,
            rel,
            account: self.clone(),
        })
    }
}

/// A directory inside the server account's home.
#[derive(Debug)]
pub struct ServerDir {
    dir: TempDir,
    rel: String,
    account: ServerAccount,
}

impl ServerDir {
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The path relative to the server account's home (what scp-like URLs
    /// without a leading `/` mean).
    pub fn rel(&self) -> &str {
        &self.rel
    }

    /// `git init --bare` a repository named `name` (branch `main`), owned by
    /// the server account. Runs the git CLI hermetically.
    pub fn init_bare(&self, name: &str) -> Result<PathBuf, String> {
        let path = self.dir.path().join(name);
        run(hermetic_git(self.dir.path())
            .args(["init", "-q", "--bare", "-b", "main"])
            .arg(&path))?;
        self.account.give(&path)?;
        Ok(path)
    }

    /// `git rev-parse REV` in a repository in this directory.
    pub fn rev_parse(&self, repo: &Path, rev: &str) -> Result<String, String> {
        let out = run(hermetic_git(self.dir.path())
            .arg("-c")
            .arg("safe.directory=*")
            .arg("--git-dir")
            .arg(repo)
            .args(["rev-parse", "--verify", "-q", rev]))?;
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    }
}

/// A `git` command that ignores the user's and the system's git config.
pub fn hermetic_git(home: &Path) -> Command {
    let mut c = Command::new("git");
    c.env("HOME", home)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "grunt test")
        .env("GIT_AUTHOR_EMAIL", "test@grunt.invalid")
        .env("GIT_COMMITTER_NAME", "grunt test")
        .env("GIT_COMMITTER_EMAIL", "test@grunt.invalid")
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE");
    c
}

fn keygen(path: &Path, comment: &str) -> Result<(), String> {
    run(Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f"])
        .arg(path))
    .map(|_| ())
}

fn free_port() -> Result<u16, String> {
    let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).map_err(|e| format!("bind: {e}"))?;
    l.local_addr()
        .map(|a| a.port())
        .map_err(|e| format!("local_addr: {e}"))
}

/// Process ids of all descendants of `root` (per /proc), deepest last.
fn descendants(root: u32) -> Vec<u32> {
    let mut parent_of = Vec::new();
    if let Ok(entries) = fs::read_dir("/proc") {
        for e in entries.flatten() {
            let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
                continue;
            };
            let Ok(stat) = fs::read_to_string(e.path().join("stat")) else {
                continue;
            };
            // The command name may contain spaces and parentheses: fields
            // are counted from the last `)`.
            let ppid = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().nth(1))
                .and_then(|p| p.parse::<u32>().ok());
            if let Some(ppid) = ppid {
                parent_of.push((pid, ppid));
            }
        }
    }
    let mut out = Vec::new();
    let mut frontier = vec![root];
    while let Some(p) = frontier.pop() {
        for &(pid, ppid) in &parent_of {
            if ppid == p && !out.contains(&pid) {
                out.push(pid);
                frontier.push(pid);
            }
        }
    }
    out
}

/// A running `sshd -D` on 127.0.0.1.
#[derive(Debug)]
pub struct Sshd {
    dir: TempDir,
    /// Short directory for ControlMaster sockets (unix socket paths are
    /// limited to ~100 bytes).
    control_dir: TempDir,
    sshd: PathBuf,
    server: ServerAccount,
    port: u16,
    config: PathBuf,
    host_key: PathBuf,
    host_pub: String,
    user_key: PathBuf,
    known_hosts: PathBuf,
    authorized_keys_setting: String,
    /// Key file installed in the server account's home (separate account).
    installed_keys: Option<PathBuf>,
    extra: String,
    child: Option<Child>,
    /// (ssh config, alias) pairs that may own a ControlMaster to stop.
    masters: Mutex<Vec<(PathBuf, String)>>,
}

impl Sshd {
    /// Starts a server logging clients into `server`.
    pub fn start(server: &ServerAccount) -> Result<Sshd, String> {
        Self::start_with_config(server, "")
    }

    /// Like [`Sshd::start`], with extra sshd_config lines appended (e.g.
    /// `SetEnv PATH=/nonexistent` to simulate a server without git).
    pub fn start_with_config(server: &ServerAccount, extra: &str) -> Result<Sshd, String> {
        let sshd = require_sshd().ok_or("sshd not installed")?;
        let dir = tempfile::Builder::new()
            .prefix("grunt-sshd-")
            .tempdir()
            .map_err(|e| format!("tempdir: {e}"))?;
        let control_dir = tempfile::Builder::new()
            .prefix("cm")
            .tempdir_in("/tmp")
            .map_err(|e| format!("tempdir: {e}"))?;
        let host_key = dir.path().join("host_ed25519");
        let user_key = dir.path().join("user_ed25519");
        keygen(&host_key, "grunt-test-host")?;
        keygen(&user_key, "grunt-test-user")?;
        let user_pub = fs::read_to_string(dir.path().join("user_ed25519.pub"))
            .map_err(|e| format!("reading user pubkey: {e}"))?;
        let host_pub = fs::read_to_string(dir.path().join("host_ed25519.pub"))
            .map_err(|e| format!("reading host pubkey: {e}"))?
            .trim_end()
            .to_owned();

        if is_root() {
            // sshd insists on its privilege separation directory when root;
            // the init system normally makes it, and may not run here.
            fs::create_dir_all("/run/sshd").map_err(|e| format!("mkdir /run/sshd: {e}"))?;
        }

        // sshd reads the authorized keys file with the target user's uid, so
        // for a separate account it must be readable by that user: its own
        // ~/.ssh, one file per server so parallel tests do not clobber each
        // other. An unprivileged sshd reads it as itself: any path works.
        let (authorized_keys_setting, installed_keys) = if server.separate {
            let ssh_dir = server.home.join(".ssh");
            fs::create_dir_all(&ssh_dir)
                .map_err(|e| format!("mkdir {}: {e}", ssh_dir.display()))?;
            let tag = dir
                .path()
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "grunt".to_owned());
            let file = ssh_dir.join(format!("authorized_keys_{tag}"));
            fs::write(&file, &user_pub).map_err(|e| format!("writing {}: {e}", file.display()))?;
            fs::set_permissions(&file, fs::Permissions::from_mode(0o600))
                .map_err(|e| format!("chmod {}: {e}", file.display()))?;
            fs::set_permissions(&ssh_dir, fs::Permissions::from_mode(0o700))
                .map_err(|e| format!("chmod {}: {e}", ssh_dir.display()))?;
            run(Command::new("chown")
                .arg(format!("{}:", server.name))
                .arg(&ssh_dir)
                .arg(&file))?;
            (format!(".ssh/authorized_keys_{tag}"), Some(file))
        } else {
            let file = dir.path().join("authorized_keys");
            fs::write(&file, &user_pub).map_err(|e| format!("writing {}: {e}", file.display()))?;
            (file.display().to_string(), None)
        };

        let mut me = Sshd {
            config: dir.path().join("sshd_config"),
            known_hosts: dir.path().join("known_hosts"),
            dir,
            control_dir,
            sshd,
            server: server.clone(),
            port: 0,
            host_key,
            host_pub,
            user_key,
            authorized_keys_setting,
            installed_keys,
            extra: extra.to_owned(),
            child: None,
            masters: Mutex::new(Vec::new()),
        };
        // The probed port may be taken by a parallel test before sshd binds
        // it; retry with a new one.
        let mut last_err = String::new();
        for _ in 0..3 {
            me.port = free_port()?;
            me.write_files()?;
            match me.launch() {
                Ok(()) => return Ok(me),
                Err(e) => last_err = e,
            }
        }
        Err(last_err)
    }

    fn write_files(&self) -> Result<(), String> {
        fs::write(
            &self.known_hosts,
            format!("[127.0.0.1]:{} {}\n", self.port, self.host_pub),
        )
        .map_err(|e| format!("writing known_hosts: {e}"))?;
        let text = format!(
            "ListenAddress 127.0.0.1\n\
             Port {port}\n\
             HostKey {host_key}\n\
             PidFile {pid}\n\
             AuthorizedKeysFile {keys}\n\
             StrictModes no\n\
             UsePAM no\n\
             PasswordAuthentication no\n\
             KbdInteractiveAuthentication no\n\
             PubkeyAuthentication yes\n\
             AllowUsers {user}\n\
             PrintMotd no\n\
             LogLevel VERBOSE\n\
             {extra}\n",
            port = self.port,
            host_key = self.host_key.display(),
            pid = self.dir.path().join("sshd.pid").display(),
            keys = self.authorized_keys_setting,
            user = self.server.name,
            extra = self.extra,
        );
        fs::write(&self.config, text).map_err(|e| format!("writing sshd_config: {e}"))
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("sshd.log")
    }

    /// Runs sshd and waits until it accepts connections.
    fn launch(&mut self) -> Result<(), String> {
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .map_err(|e| format!("opening sshd log: {e}"))?;
        let mut child = Command::new(&self.sshd)
            .arg("-D")
            .arg("-e")
            .arg("-f")
            .arg(&self.config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(|e| format!("spawning {}: {e}", self.sshd.display()))?;
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if let Ok(Some(st)) = child.try_wait() {
                return Err(format!("sshd exited early ({st}); log:\n{}", self.log()));
            }
            if TcpStream::connect_timeout(&addr, POLL).is_ok() {
                self.child = Some(child);
                return Ok(());
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "sshd did not accept connections on {addr} within {READY_TIMEOUT:?}; log:\n{}",
                    self.log()
                ));
            }
            thread::sleep(POLL);
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn server(&self) -> &ServerAccount {
        &self.server
    }

    /// The private key the server accepts.
    pub fn user_key_path(&self) -> &Path {
        &self.user_key
    }

    /// A known_hosts file with `[127.0.0.1]:PORT <host key>`.
    pub fn known_hosts_path(&self) -> &Path {
        &self.known_hosts
    }

    /// Directory holding ControlMaster sockets of configs written with
    /// `control_master = true`.
    pub fn control_dir(&self) -> &Path {
        self.control_dir.path()
    }

    /// What sshd logged so far (`LogLevel VERBOSE`).
    pub fn log(&self) -> String {
        fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// Generates a further ed25519 key (not authorized on the server).
    pub fn generate_key(&self, name: &str) -> Result<PathBuf, String> {
        let path = self.dir.path().join(name);
        keygen(&path, name)?;
        Ok(path)
    }

    /// Appends a `Host alias` block for this server to
    /// `client_home/.ssh/config` and returns that file's path.
    pub fn write_ssh_config(
        &self,
        client_home: &Path,
        alias: &str,
        control_master: bool,
    ) -> Result<PathBuf, String> {
        self.write_ssh_config_with_identity(client_home, alias, control_master, &self.user_key)
    }

    /// Like [`Sshd::write_ssh_config`] with another private key.
    pub fn write_ssh_config_with_identity(
        &self,
        client_home: &Path,
        alias: &str,
        control_master: bool,
        identity: &Path,
    ) -> Result<PathBuf, String> {
        let ssh_dir = client_home.join(".ssh");
        fs::create_dir_all(&ssh_dir).map_err(|e| format!("mkdir {}: {e}", ssh_dir.display()))?;
        let path = ssh_dir.join("config");
        let mut block = format!(
            "Host {alias}\n\
             \x20 HostName 127.0.0.1\n\
             \x20 Port {port}\n\
             \x20 User {user}\n\
             \x20 IdentityFile {key}\n\
             \x20 IdentitiesOnly yes\n\
             \x20 IdentityAgent none\n\
             \x20 UserKnownHostsFile {kh}\n\
             \x20 GlobalKnownHostsFile /dev/null\n\
             \x20 StrictHostKeyChecking yes\n\
             \x20 UpdateHostKeys no\n\
             \x20 ConnectTimeout 10\n",
            port = self.port,
            user = self.server.name,
            key = identity.display(),
            kh = self.known_hosts.display(),
        );
        if control_master {
            block.push_str(&format!(
                "  ControlMaster auto\n  ControlPath {}/%C\n  ControlPersist 60\n",
                self.control_dir.path().display()
            ));
            self.masters
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push((path.clone(), alias.to_owned()));
        }
        let mut f = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| format!("opening {}: {e}", path.display()))?;
        f.write_all(block.as_bytes())
            .map_err(|e| format!("writing {}: {e}", path.display()))?;
        Ok(path)
    }

    /// `ssh -F config -O check alias`: whether a ControlMaster is running.
    pub fn control_master_running(config: &Path, alias: &str) -> bool {
        Command::new("ssh")
            .arg("-F")
            .arg(config)
            .args(["-O", "check", "--", alias])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    }

    /// `ssh -F config -O exit alias`: stops the ControlMaster, if any.
    pub fn stop_control_master(config: &Path, alias: &str) -> Result<(), String> {
        if !Self::control_master_running(config, alias) {
            return Ok(());
        }
        run(Command::new("ssh")
            .arg("-F")
            .arg(config)
            .args(["-O", "exit", "--", alias]))
        .map(|_| ())
    }

    /// Kills sshd and every session it forked (SIGKILL), as a crash or a
    /// reboot of the server would. Client-side ssh processes notice the
    /// broken connections on their own.
    pub fn kill(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        // Collect the session processes first: once the listener is gone
        // they are reparented and no longer findable through it.
        let sessions = descendants(child.id());
        let _ = child.kill();
        let _ = child.wait();
        if !sessions.is_empty() {
            let _ = Command::new("kill")
                .arg("-KILL")
                .args(sessions.iter().map(u32::to_string))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }

    /// Whether the sshd process is running.
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    /// Starts sshd again with the same keys and config, on the same port if
    /// it can be bound, else on a new one (call
    /// [`Sshd::write_ssh_config`] again in that case: [`Sshd::port`] tells).
    pub fn restart(&mut self) -> Result<(), String> {
        self.kill();
        let mut last_err = match self.launch() {
            Ok(()) => return Ok(()),
            Err(e) => e,
        };
        for _ in 0..2 {
            self.port = free_port()?;
            self.write_files()?;
            match self.launch() {
                Ok(()) => return Ok(()),
                Err(e) => last_err = e,
            }
        }
        Err(last_err)
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let masters = std::mem::take(&mut *self.masters.lock().unwrap_or_else(|e| e.into_inner()));
        for (config, alias) in masters {
            let _ = Self::stop_control_master(&config, &alias);
        }
        self.kill();
        if let Some(f) = &self.installed_keys {
            let _ = fs::remove_file(f);
        }
    }
}
