//! End-to-end tests of the system-ssh transport against a real OpenSSH
//! server on 127.0.0.1 (see `src/sshd.rs`). No mocks: git2 talks through our
//! subtransport to `ssh`, which logs into `sshd` and runs the server's git.
//!
//! ssh ignores `$HOME` when looking for `~/.ssh/config`, so the whole test
//! binary points ssh at one config with `GIT_SSH_COMMAND="ssh -F ..."`; that
//! config `Include`s the per-test client homes' `.ssh/config`, and every test
//! uses its own Host alias. The command also logs each invocation's
//! arguments, which lets tests count ssh processes per operation.

use std::fs;
use std::io::IsTerminal;
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use git2::{Direction, Oid, PushOptions, RemoteCallbacks, Repository, RepositoryInitOptions};
use grunt_ssh as ssh;
use grunt_tests::sshd::{require_sshd, ServerAccount, ServerDir, Sshd};
use tempfile::TempDir;

struct Ctx {
    homes: PathBuf,
    invocations: PathBuf,
}

/// One-time setup shared by all tests; None when sshd is missing (skip).
fn ctx() -> Option<&'static Ctx> {
    static CTX: OnceLock<Option<Ctx>> = OnceLock::new();
    CTX.get_or_init(|| {
        require_sshd()?;
        let root = std::env::temp_dir().join(format!("grunt-ssh-tests-{}", std::process::id()));
        remove_stale_roots();
        let homes = root.join("homes");
        fs::create_dir_all(&homes).expect("create test root");
        let main_config = root.join("ssh_config");
        fs::write(
            &main_config,
            format!("Include {}/*/.ssh/config\n", homes.display()),
        )
        .expect("write main ssh config");
        let invocations = root.join("ssh-invocations.log");
        // Every test thread reaches this initializer before touching git2 or
        // the environment, and the others block on the OnceLock meanwhile, so
        // nothing reads the environment concurrently with this write.
        std::env::set_var(
            "GIT_SSH_COMMAND",
            format!(
                "printf '%s\\n' \"$*\" >> '{}'; exec ssh -F '{}'",
                invocations.display(),
                main_config.display()
            ),
        );
        std::env::remove_var("GIT_SSH");
        ssh::register().expect("register ssh transport");
        Some(Ctx { homes, invocations })
    })
    .as_ref()
}

/// Roots of earlier runs whose process is gone.
fn remove_stale_roots() {
    let Ok(entries) = fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if let Some(pid) = name.strip_prefix("grunt-ssh-tests-") {
            if !Path::new("/proc").join(pid).exists() {
                let _ = fs::remove_dir_all(e.path());
            }
        }
    }
}

/// A server, a bare repository on it, and a client home with an alias.
struct World {
    ctx: &'static Ctx,
    sshd: Sshd,
    home: TempDir,
    alias: String,
    config: PathBuf,
    sdir: ServerDir,
    bare: PathBuf,
}

impl World {
    fn new(name: &str, control_master: bool) -> Option<World> {
        Self::with_sshd_config(name, control_master, "")
    }

    fn with_sshd_config(name: &str, control_master: bool, extra: &str) -> Option<World> {
        let ctx = ctx()?;
        let server = ServerAccount::for_tests().expect("server account");
        let sshd = Sshd::start_with_config(&server, extra).expect("start sshd");
        let home = tempfile::Builder::new()
            .prefix("home-")
            .tempdir_in(&ctx.homes)
            .expect("client home");
        let alias = format!("{name}-{}", sshd.port());
        let config = sshd
            .write_ssh_config(home.path(), &alias, control_master)
            .expect("write ssh config");
        let sdir = server.scratch_dir().expect("server scratch dir");
        let bare = sdir.init_bare("repo.git").expect("bare repo");
        Some(World {
            ctx,
            sshd,
            home,
            alias,
            config,
            sdir,
            bare,
        })
    }

    /// `alias:<dir>/repo.git`, relative to the server account's home.
    fn scp_url(&self) -> String {
        format!("{}:{}/repo.git", self.alias, self.sdir.rel())
    }

    fn server_main(&self) -> String {
        self.sdir
            .rev_parse(&self.bare, "refs/heads/main")
            .unwrap_or_default()
    }

    /// Number of ssh processes started for this test's alias.
    fn ssh_invocations(&self) -> Vec<String> {
        let needle = format!(" -- {} ", self.alias);
        fs::read_to_string(&self.ctx.invocations)
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains(&needle))
            .map(str::to_owned)
            .collect()
    }

    fn new_repo(&self, name: &str) -> (PathBuf, Repository) {
        let path = self.home.path().join(name);
        let mut opts = RepositoryInitOptions::new();
        opts.initial_head("main");
        let repo = Repository::init_opts(&path, &opts).expect("init client repo");
        (path, repo)
    }
}

fn commit(repo: &Repository, file: &str, content: &str) -> Oid {
    let workdir = repo.workdir().expect("non-bare");
    fs::write(workdir.join(file), content).expect("write file");
    let mut index = repo.index().expect("index");
    index.add_path(Path::new(file)).expect("add");
    index.write().expect("write index");
    let tree = repo
        .find_tree(index.write_tree().expect("write tree"))
        .expect("tree");
    let sig = git2::Signature::now("grunt test", "test@grunt.invalid").expect("sig");
    let parent = repo
        .head()
        .ok()
        .and_then(|h| h.target())
        .map(|oid| repo.find_commit(oid).expect("parent"));
    let parents: Vec<&git2::Commit> = parent.iter().collect();
    repo.commit(Some("HEAD"), &sig, &sig, content, &tree, &parents)
        .expect("commit")
}

fn push_opts<'a>(rejected: &'a std::cell::RefCell<Vec<String>>) -> PushOptions<'a> {
    let mut cbs = RemoteCallbacks::new();
    cbs.push_update_reference(move |name, status| {
        if let Some(msg) = status {
            rejected.borrow_mut().push(format!("{name}: {msg}"));
        }
        Ok(())
    });
    let mut opts = PushOptions::new();
    opts.remote_callbacks(cbs);
    opts
}

/// Pushes main; Err holds git2's message or the server's rejection.
fn push(repo: &Repository, url: &str) -> Result<(), String> {
    let rejected = std::cell::RefCell::new(Vec::new());
    let mut remote = repo.remote_anonymous(url).map_err(|e| e.to_string())?;
    remote
        .push(
            &["refs/heads/main:refs/heads/main"],
            Some(&mut push_opts(&rejected)),
        )
        .map_err(|e| e.message().to_owned())?;
    let rejected = rejected.into_inner();
    if rejected.is_empty() {
        Ok(())
    } else {
        Err(rejected.join("; "))
    }
}

/// Fetches the server's main; returns its oid.
fn fetch(repo: &Repository, url: &str) -> Result<Oid, String> {
    let mut remote = repo.remote_anonymous(url).map_err(|e| e.to_string())?;
    remote
        .fetch(&["+refs/heads/main:refs/remotes/origin/main"], None, None)
        .map_err(|e| e.message().to_owned())?;
    repo.refname_to_id("refs/remotes/origin/main")
        .map_err(|e| e.to_string())
}

#[test]
fn push_and_fetch_scp_alias() {
    let Some(w) = World::new("scp", false) else {
        return;
    };
    let (_, repo) = w.new_repo("client");
    let oid = commit(&repo, "hello.txt", "hello over ssh\n");
    push(&repo, &w.scp_url()).expect("push");
    assert_eq!(w.server_main(), oid.to_string());

    let (_, fresh) = w.new_repo("fresh");
    assert_eq!(fetch(&fresh, &w.scp_url()).expect("fetch"), oid);
    let blob = fresh
        .find_commit(oid)
        .expect("commit fetched")
        .tree()
        .expect("tree")
        .get_name("hello.txt")
        .expect("file")
        .id();
    assert_eq!(
        fresh.find_blob(blob).expect("blob").content(),
        b"hello over ssh\n"
    );

    // One ssh process per operation: ls and pack share it.
    let calls = w.ssh_invocations();
    assert_eq!(calls.len(), 2, "{calls:#?}");
    assert!(calls[0].contains("git-receive-pack '"), "{calls:#?}");
    assert!(calls[1].contains("git-upload-pack '"), "{calls:#?}");
    let batch = calls.iter().all(|c| c.contains("-o BatchMode=yes"));
    assert_eq!(batch, !std::io::stdin().is_terminal(), "{calls:#?}");
}

#[test]
fn push_and_fetch_ssh_url_forms() {
    let Some(w) = World::new("urls", false) else {
        return;
    };
    let (_, repo) = w.new_repo("client");
    let user = w.sshd.server().name().to_owned();
    let home_url = format!("ssh://{}/~/{}/repo.git", w.alias, w.sdir.rel());
    let abs_url = format!("ssh://{user}@{}{}", w.alias, w.bare.display());
    let port_url = format!("ssh://{}:{}{}", w.alias, w.sshd.port(), w.bare.display());
    let scp_home_url = format!("{}:~/{}/repo.git", w.alias, w.sdir.rel());
    let (_, fresh) = w.new_repo("fresh");
    for (i, url) in [&home_url, &abs_url, &port_url, &scp_home_url]
        .into_iter()
        .enumerate()
    {
        let oid = commit(&repo, "n.txt", &format!("commit {i}\n"));
        push(&repo, url).unwrap_or_else(|e| panic!("push {url}: {e}"));
        assert_eq!(w.server_main(), oid.to_string(), "{url}");
        assert_eq!(
            fetch(&fresh, url).unwrap_or_else(|e| panic!("fetch {url}: {e}")),
            oid
        );
    }
    let calls = w.ssh_invocations();
    assert!(
        calls.iter().any(|c| c.starts_with("-p ")),
        "explicit port passed: {calls:#?}"
    );
}

#[test]
fn control_master_is_used_and_stoppable() {
    let Some(w) = World::new("cm", true) else {
        return;
    };
    let (_, repo) = w.new_repo("client");
    let oid = commit(&repo, "a.txt", "a\n");
    push(&repo, &w.scp_url()).expect("push through ControlMaster");
    let socket = || {
        fs::read_dir(w.sshd.control_dir())
            .map(|d| {
                d.flatten()
                    .any(|e| e.file_type().is_ok_and(|t| t.is_socket()))
            })
            .unwrap_or(false)
    };
    assert!(socket(), "ControlMaster socket missing");
    assert!(Sshd::control_master_running(&w.config, &w.alias));
    let (_, fresh) = w.new_repo("fresh");
    assert_eq!(fetch(&fresh, &w.scp_url()).expect("fetch via master"), oid);
    // Both operations ran over the one master connection.
    let sessions = w.sshd.log().matches("Accepted publickey").count();
    assert_eq!(sessions, 1, "{}", w.sshd.log());

    Sshd::stop_control_master(&w.config, &w.alias).expect("ssh -O exit");
    grunt_tests::wait_until(10, "ControlMaster socket removal", || !socket());
}

#[test]
fn wrong_key_explains_authentication() {
    let Some(w) = World::new("key", false) else {
        return;
    };
    let other = w.sshd.generate_key("stranger").expect("keygen");
    let alias = format!("{}-stranger", w.alias);
    w.sshd
        .write_ssh_config_with_identity(w.home.path(), &alias, false, &other)
        .expect("config");
    let (_, repo) = w.new_repo("client");
    commit(&repo, "a.txt", "a\n");
    let err = push(&repo, &format!("{alias}:{}/repo.git", w.sdir.rel())).expect_err("must fail");
    eprintln!("error: {err}");
    assert!(err.contains(&format!("ssh to {alias} failed")), "{err}");
    assert!(err.contains("Permission denied (publickey)"), "{err}");
    assert!(err.contains("ssh-agent, IdentityFile"), "{err}");
    assert_eq!(w.server_main(), "", "nothing pushed");
}

#[test]
fn unknown_alias_explains_resolution() {
    let Some(w) = World::new("unknown", false) else {
        return;
    };
    let (_, fresh) = w.new_repo("fresh");
    // The `..` makes glibc reject the name locally: the test never sends a
    // DNS query, yet ssh reports the usual resolution failure.
    let err = fetch(&fresh, "grunt-unknown..alias:repo.git").expect_err("must fail");
    eprintln!("error: {err}");
    assert!(
        err.contains("could not resolve hostname grunt-unknown..alias"),
        "{err}"
    );
    assert!(err.contains("Host alias in ~/.ssh/config"), "{err}");
}

#[test]
fn missing_repository_is_named() {
    let Some(w) = World::new("norepo", false) else {
        return;
    };
    let url = format!("{}:{}/nope.git", w.alias, w.sdir.rel());
    let (_, fresh) = w.new_repo("fresh");
    let err = fetch(&fresh, &url).expect_err("fetch must fail");
    eprintln!("error: {err}");
    let want = format!(
        "repository not found at {}/nope.git on {}",
        w.sdir.rel(),
        w.alias
    );
    assert!(err.contains(&want), "{err}");
    let (_, repo) = w.new_repo("client");
    commit(&repo, "a.txt", "a\n");
    let err = push(&repo, &url).expect_err("push must fail");
    eprintln!("error: {err}");
    assert!(err.contains(&want), "{err}");
}

#[test]
fn git_missing_on_server_is_explained() {
    let Some(w) = World::with_sshd_config("nogit", false, "SetEnv PATH=/nonexistent") else {
        return;
    };
    let (_, fresh) = w.new_repo("fresh");
    let err = fetch(&fresh, &w.scp_url()).expect_err("must fail");
    eprintln!("error: {err}");
    assert!(err.contains("git-upload-pack: command not found"), "{err}");
    assert!(err.contains("install git on the server"), "{err}");
}

#[test]
fn rejects_option_like_host() {
    let Some(w) = World::new("dash", false) else {
        return;
    };
    let (_, fresh) = w.new_repo("fresh");
    let err = fetch(&fresh, "-oProxyCommand=touch /tmp/grunt-pwned:repo").expect_err("reject");
    assert!(err.contains("must not start with `-`"), "{err}");
    let err = fetch(&fresh, &format!("{}:a\nb", w.alias)).expect_err("reject");
    assert!(err.contains("NUL or newline"), "{err}");
    assert!(w.ssh_invocations().is_empty());
}

#[test]
fn sshd_down_then_back_loses_nothing() {
    let Some(mut w) = World::new("down", false) else {
        return;
    };
    let (_, repo) = w.new_repo("client");
    let first = commit(&repo, "a.txt", "1\n");
    push(&repo, &w.scp_url()).expect("first push");

    w.sshd.kill();
    let second = commit(&repo, "a.txt", "2\n");
    let err = push(&repo, &w.scp_url()).expect_err("push with sshd down");
    eprintln!("error: {err}");
    assert!(
        err.contains(&format!("ssh to {} failed: connection refused", w.alias)),
        "{err}"
    );
    assert_eq!(w.server_main(), first.to_string());

    w.sshd.restart().expect("restart sshd");
    if !w.alias.ends_with(&format!("-{}", w.sshd.port())) {
        // The old port was taken meanwhile: point a new alias at the new one.
        w.alias = format!("down-{}", w.sshd.port());
        w.sshd
            .write_ssh_config(w.home.path(), &w.alias, false)
            .expect("config for new port");
    }
    let url = w.scp_url();
    push(&repo, &url).expect("push after restart");
    assert_eq!(w.server_main(), second.to_string());
    let (_, fresh) = w.new_repo("fresh");
    assert_eq!(fetch(&fresh, &url).expect("fetch"), second);
    let parent = fresh
        .find_commit(second)
        .expect("second")
        .parent_id(0)
        .expect("parent");
    assert_eq!(parent, first, "history intact");
}

#[test]
fn sshd_killed_mid_operation_with_control_master() {
    killed_mid_operation("midcm", true);
}

#[test]
fn sshd_killed_mid_operation_plain() {
    killed_mid_operation("mid", false);
}

fn killed_mid_operation(name: &str, control_master: bool) {
    let Some(mut w) = World::new(name, control_master) else {
        return;
    };
    let (_, repo) = w.new_repo("client");
    let first = commit(&repo, "a.txt", "1\n");
    push(&repo, &w.scp_url()).expect("first push");
    let second = commit(&repo, "a.txt", "2\n");

    {
        let mut remote = repo.remote_anonymous(&w.scp_url()).expect("remote");
        let mut conn = remote
            .connect_auth(Direction::Push, None, None)
            .expect("connect (receive-pack ls)");
        assert!(!conn.list().expect("advertised refs").is_empty());
        // The server dies after the ref advertisement, before the pack.
        w.sshd.kill();
        let rejected = std::cell::RefCell::new(Vec::new());
        let err = conn
            .remote()
            .push(
                &["refs/heads/main:refs/heads/main"],
                Some(&mut push_opts(&rejected)),
            )
            .expect_err("push over a dead connection")
            .message()
            .to_owned();
        eprintln!("mid-operation error: {err}");
        assert!(
            err.contains(&format!("connection to {} lost", w.alias)),
            "{err}"
        );
    }
    assert_eq!(w.server_main(), first.to_string());

    w.sshd.restart().expect("restart sshd");
    if !w.alias.ends_with(&format!("-{}", w.sshd.port())) {
        w.alias = format!("{name}-{}", w.sshd.port());
        w.sshd
            .write_ssh_config(w.home.path(), &w.alias, control_master)
            .expect("config for new port");
    }
    // The stale ControlMaster socket must not get in the way.
    push(&repo, &w.scp_url()).expect("push after restart");
    assert_eq!(w.server_main(), second.to_string());
}
