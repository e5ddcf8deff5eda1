//! Test harness for the end-to-end suite: hermetic homes for a server account and client
//! accounts on this machine, the real `grunt` and `grund` binaries, daemons that are killed
//! when their guard drops, and waiting on conditions with deadlines instead of sleeps.

#![allow(clippy::unwrap_used)] // a test harness: failing loudly is its job

pub mod inproc;
pub mod sshd;
pub mod sshworld;
pub mod ui;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The directory holding the `grunt` and `grund` binaries that cargo built: next to this
/// test executable (`target/<profile>/deps/e2e-<hash>` -> `target/<profile>`; a bench binary
/// is in `target/<profile>` itself). `cargo test --workspace` builds them (their packages'
/// own tests run them); for `cargo test -p grunt-tests` alone build them first with
/// `cargo build -p grunt -p grund`. A binary missing, or older than the sources it is built
/// from, is refused: the suite never tests a stale binary.
pub fn bin_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let exe = std::env::current_exe().expect("test executable path");
        let mut dir = exe.parent().expect("target dir").to_path_buf();
        if dir.file_name().is_some_and(|n| n == "deps") {
            dir.pop();
        }
        let release = if dir.file_name().is_some_and(|n| n == "release") {
            " --release"
        } else {
            ""
        };
        let build = format!("cargo build{release} -p grunt -p grund");
        for bin in ["grunt", "grund"] {
            let path = dir.join(bin);
            let built = std::fs::metadata(&path).and_then(|m| m.modified());
            let Ok(built) = built else {
                panic!("{} is missing: run `{build}` first", path.display());
            };
            if let Some(src) = newer_source(&dir.join(format!("{bin}.d")), built) {
                panic!(
                    "{} is older than {}: run `{build}` first",
                    path.display(),
                    src.display()
                );
            }
        }
        dir
    })
}

/// A source file of a binary changed after `built`, from the list of its sources cargo
/// writes next to it (`<bin>.d`, in Makefile syntax).
fn newer_source(dep_info: &Path, built: std::time::SystemTime) -> Option<PathBuf> {
    let text = std::fs::read_to_string(dep_info).ok()?;
    let (_, deps) = text.lines().next()?.split_once(": ")?;
    // Paths with spaces have them escaped as `\ `.
    let deps = deps.replace("\\ ", "\0");
    deps.split_whitespace()
        .map(|p| PathBuf::from(p.replace('\0', " ")))
        .find(|p| {
            std::fs::metadata(p)
                .and_then(|m| m.modified())
                .is_ok_and(|t| t > built)
        })
}

pub fn grunt_bin() -> PathBuf {
    bin_dir().join("grunt")
}

pub fn grund_bin() -> PathBuf {
    bin_dir().join("grund")
}

/// Polls `cond` until it holds or `secs` pass; panics with `what` on timeout.
/// The one polling loop of the suite (see [`holds_within`] and [`exit_within`]).
pub fn wait_until(secs: u64, what: &str, cond: impl FnMut() -> bool) {
    assert!(
        holds_within(Duration::from_secs(secs), cond),
        "timed out after {secs} s waiting for: {what}"
    );
}

/// Polls `cond` until it holds or `timeout` passes; whether it held. The pause between polls
/// grows from 1 ms to 20 ms: quick conditions are seen at once, slow ones cost little.
pub fn holds_within(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    let mut pause = Duration::from_millis(1);
    loop {
        if cond() {
            return true;
        }
        let now = Instant::now();
        if now >= deadline {
            return false;
        }
        std::thread::sleep(pause.min(deadline - now));
        pause = (pause * 2).min(Duration::from_millis(20));
    }
}

/// Waits for `child` to exit, at most `timeout`. On timeout it is killed and reaped, and the
/// answer is `None`.
pub fn exit_within(child: &mut Child, timeout: Duration) -> Option<std::process::ExitStatus> {
    let mut status = None;
    holds_within(timeout, || {
        status = child.try_wait().ok().flatten();
        status.is_some()
    });
    if status.is_none() {
        let _ = child.kill();
        let _ = child.wait();
    }
    status
}

/// A hermetic account on this machine: its own HOME and user name.
#[derive(Debug, Clone)]
pub struct Account {
    pub home: PathBuf,
    pub user: String,
}

impl Account {
    pub fn new(root: &Path, dir: &str, user: &str) -> Account {
        let home = root.join(dir);
        std::fs::create_dir_all(&home).expect("creating home");
        Account {
            home,
            user: user.to_string(),
        }
    }

    /// This account's clean environment: what its commands (and an in-process grund's
    /// runners) get.
    pub fn env(&self) -> Vec<(String, String)> {
        let s = |v: &str| v.to_string();
        let mut env = vec![
            (s("HOME"), self.home.display().to_string()),
            (s("USER"), self.user.clone()),
            (s("LOGNAME"), self.user.clone()),
            (s("PATH"), std::env::var("PATH").unwrap_or_default()),
            (s("GIT_CONFIG_GLOBAL"), s("/dev/null")),
            (s("GIT_CONFIG_NOSYSTEM"), s("1")),
            (s("LANG"), s("C")),
            (s("TZ"), s("UTC")),
            // Tests submit the same job again and again, as the original allowed; the refusal
            // of duplicates is tested on its own (e2e `sweeps`), without this.
            (s("GRUNT_ALLOW_DUPLICATES"), s("1")),
        ];
        if let Ok(v) = std::env::var("RUST_LOG") {
            env.push((s("RUST_LOG"), v));
        }
        env
    }

    /// A command with this account's clean environment.
    pub fn command(&self, program: &Path, cwd: &Path) -> Command {
        let mut c = Command::new(program);
        c.current_dir(cwd)
            .env_clear()
            .envs(self.env())
            .stdin(Stdio::null());
        c
    }
}

/// The result of running a binary.
#[derive(Debug)]
pub struct Run {
    pub ok: bool,
    /// The exit code (`None`: killed by a signal).
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(o: Output) -> Run {
        Run {
            ok: o.status.success(),
            code: o.status.code(),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

impl Run {
    /// Panics with the output unless the command succeeded.
    pub fn success(self) -> Run {
        assert!(
            self.ok,
            "command failed\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    /// Panics unless the command failed with `needle` in its stderr.
    pub fn failure(self, needle: &str) -> Run {
        assert!(
            !self.ok,
            "command succeeded but should have failed\nstdout:\n{}",
            self.stdout
        );
        assert!(
            self.stderr.contains(needle),
            "stderr lacks {needle:?}:\n{}",
            self.stderr
        );
        self
    }
}

/// A running grund, killed (by pid) when dropped.
#[derive(Debug)]
pub struct Daemon {
    pub child: Child,
    pub log: PathBuf,
}

impl Daemon {
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A server account, one client account and a project directory, all under one temp dir.
#[derive(Debug)]
pub struct World {
    pub tmp: tempfile::TempDir,
    pub server: Account,
    pub client: Account,
    pub project: PathBuf,
    pub server_name: String,
    pub project_name: String,
}

/// The local runner shipped in runner-examples/.
pub fn local_runner() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../runner-examples/local/grunter")
}

impl World {
    /// A world with server `clust`, user `ore` on both sides, and project `sim` set up on both
    /// sides, whose runner is `runner` (a script's text) and whose grunt.toml is `toml`.
    pub fn new(runner: &str, toml: &str) -> World {
        let tmp = tempfile::tempdir().expect("tempdir");
        let server = Account::new(tmp.path(), "srvhome", "ore");
        let client = Account::new(tmp.path(), "clihome", "ore");
        let project = tmp.path().join("work/sim");
        let w = World {
            server,
            client,
            project,
            server_name: "clust".into(),
            project_name: "sim".into(),
            tmp,
        };
        w.make_project(runner, toml);
        w.grunt_as(
            &w.server,
            &w.server.home,
            &["newproj", "sim", "--server", "clust"],
        )
        .success();
        let remote = w.server.home.display().to_string();
        w.grunt(&["newproj", "sim", &remote, "--server", "clust"])
            .success();
        w
    }

    /// The project directory: a git repo with `sim.sh`, `grunter` and `grunt.toml` committed.
    fn make_project(&self, runner: &str, toml: &str) {
        make_project(&self.project, runner, toml);
    }

    pub fn grunt_as(&self, who: &Account, cwd: &Path, args: &[&str]) -> Run {
        who.command(&grunt_bin(), cwd)
            .args(args)
            .output()
            .expect("running grunt")
            .into()
    }

    /// `grunt` as the client, in the project directory.
    pub fn grunt(&self, args: &[&str]) -> Run {
        self.grunt_as(&self.client, &self.project, args)
    }

    /// `grund --once` as the server, in-process (see [`inproc`]).
    pub fn grund_once(&self) -> Run {
        inproc::once(&self.grund_options())
    }

    /// grund's options as the server (see [`inproc::options`]): `--once`, polling every
    /// second when run as a daemon.
    pub fn grund_options(&self) -> grund::Options {
        inproc::options(
            &self.server,
            &self.server_name,
            true,
            Duration::from_secs(1),
        )
    }

    /// grund's loop as the server, in-process, polling every `poll` and refreshing states
    /// every `refresh` (no 10 s floor as in the CLI); stopped, within a `poll`, when dropped.
    pub fn inproc_grund(&self, poll: Duration, refresh: Duration) -> inproc::InProcGrund {
        inproc::InProcGrund::spawn(grund::Options {
            once: false,
            poll,
            refresh,
            ..self.grund_options()
        })
    }

    /// `grund --once` as the server: the binary.
    pub fn grund_once_bin(&self) -> Run {
        self.server
            .command(&grund_bin(), &self.server.home)
            .args(["--once", "--server", &self.server_name])
            .output()
            .expect("running grund")
            .into()
    }

    /// Starts grund as the server; its log goes to a file.
    pub fn spawn_grund(&self, extra: &[&str]) -> Daemon {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let log = self.tmp.path().join(format!("grund-{n}.log"));
        let f = std::fs::File::create(&log).expect("log file");
        let child = self
            .server
            .command(&grund_bin(), &self.server.home)
            .args(["--server", &self.server_name])
            .args(extra)
            .stdout(f.try_clone().expect("log"))
            .stderr(f)
            .spawn()
            .expect("starting grund");
        Daemon { child, log }
    }

    pub fn bare_jobs(&self) -> PathBuf {
        self.server.home.join("gruntsrv/bb/clust/ore/sim/jobs")
    }

    pub fn bare_results(&self) -> PathBuf {
        self.server.home.join("gruntsrv/bb/clust/ore/sim/results")
    }

    /// The server's disk directory of the jobs.
    pub fn server_jobs_dir(&self) -> PathBuf {
        self.server.home.join("gruntsrv/wc/clust/ore/sim/jobs")
    }

    /// Paths in the tip of a bare repo.
    pub fn paths_in(repo: &Path) -> Vec<String> {
        let r = git2::Repository::open_bare(repo).expect("open bare");
        let head = r.refname_to_id("refs/heads/master").expect("master");
        let tree = r.find_commit(head).expect("commit").tree().expect("tree");
        let mut out = Vec::new();
        tree.walk(git2::TreeWalkMode::PreOrder, |dir, e| {
            if e.kind() == Some(git2::ObjectType::Blob) {
                out.push(format!("{dir}{}", e.name().unwrap_or("?")));
            }
            git2::TreeWalkResult::Ok
        })
        .expect("walk");
        out
    }

    /// A file's content in the tip of a bare repo.
    pub fn file_in(repo: &Path, path: &str) -> Option<String> {
        let r = git2::Repository::open_bare(repo).ok()?;
        let head = r.refname_to_id("refs/heads/master").ok()?;
        let tree = r.find_commit(head).ok()?.tree().ok()?;
        let e = tree.get_path(Path::new(path)).ok()?;
        let b = r.find_blob(e.id()).ok()?;
        Some(String::from_utf8_lossy(b.content()).into_owned())
    }

    /// `grunt jobs --json`, parsed.
    pub fn jobs_json(&self) -> Vec<serde_json::Value> {
        let r = self.grunt(&["jobs", "--json"]).success();
        serde_json::from_str::<Vec<serde_json::Value>>(&r.stdout).expect("jobs --json output")
    }

    pub fn job_state(&self, id: &str) -> Option<String> {
        self.jobs_json()
            .into_iter()
            .find(|j| j["id"] == id)
            .and_then(|j| j["status"].as_str().map(str::to_string))
    }
}

/// Makes `dir` a project: a git repo with `sim.sh`, `grunter` (`runner`) and `grunt.toml`
/// (`toml`) committed. `sim.sh` writes `out.csv` from its first argument.
pub fn make_project(dir: &Path, runner: &str, toml: &str) {
    std::fs::create_dir_all(dir).expect("project dir");
    write_exec(&dir.join("grunter"), runner);
    std::fs::write(dir.join("grunt.toml"), toml).expect("grunt.toml");
    std::fs::write(
        dir.join("sim.sh"),
        "echo \"epoch,loss\" > out.csv\necho \"1,$1\" >> out.csv\necho \"ran with: $*\"\n",
    )
    .expect("sim.sh");
    let repo = git2::Repository::init(dir).expect("git init");
    let mut idx = repo.index().expect("index");
    for f in ["grunter", "grunt.toml", "sim.sh"] {
        idx.add_path(Path::new(f)).expect("add");
    }
    idx.write().expect("index write");
    let tree = repo
        .find_tree(idx.write_tree().expect("tree"))
        .expect("tree");
    let sig = git2::Signature::new("t", "t@x", &git2::Time::new(1_700_000_000, 0)).expect("sig");
    repo.commit(Some("HEAD"), &sig, &sig, "init", &tree, &[])
        .expect("commit");
}

/// Writes an executable file.
pub fn write_exec(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).expect("writing script");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

/// The local runner's text.
pub fn local_runner_text() -> String {
    std::fs::read_to_string(local_runner()).expect("runner-examples/local/grunter")
}

/// Runs an arbitrary command and returns its output.
pub fn run(program: &str, args: &[&str], cwd: &Path, env: &[(&str, OsString)]) -> Run {
    let mut c = Command::new(program);
    c.args(args).current_dir(cwd);
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("running command").into()
}

/// The git CLI as the original's GitPython runs it, as user `orig`: hermetic, and failing the
/// test when git fails. Returns its standard output.
pub fn original_git(dir: &Path, args: &[&str]) -> String {
    let env = [
        ("GIT_CONFIG_GLOBAL", "/dev/null".into()),
        ("GIT_CONFIG_NOSYSTEM", "1".into()),
        ("GIT_AUTHOR_NAME", "orig".into()),
        ("GIT_AUTHOR_EMAIL", "o@x".into()),
        ("GIT_COMMITTER_NAME", "orig".into()),
        ("GIT_COMMITTER_EMAIL", "o@x".into()),
    ];
    let r = run("git", args, dir, &env);
    assert!(
        r.ok,
        "git {args:?} in {}: {}{}",
        dir.display(),
        r.stdout,
        r.stderr
    );
    r.stdout
}
