//! Latency of fetch and push over loopback ssh with a ControlMaster:
//! grunt's system-ssh transport (git2) against the git CLI, and each as a
//! ratio to the floor, one `ssh HOST true` through the same master, measured
//! in the same run.
//!
//! Starts a private sshd (see `sshd.rs`), then for each side runs one
//! warm-up round (which also opens the ControlMaster) followed by N rounds
//! of: make one small commit, time the push, time a fetch of it into a
//! second repository; and N pushes through the server's `grunt receive` (what `grunt submit`
//! uses). Then N times `ssh HOST true`. Prints median and p90 in
//! milliseconds, and the medians' ratios to the floor's.
//!
//! Usage: `cargo build --release -p grunt -p grund && cargo run --release -p grunt-tests --bin
//! sshbench [ROUNDS]` (default 20). Needs sshd installed.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use git2::{Oid, PushOptions, RemoteCallbacks, Repository, RepositoryInitOptions};
use grunt_ssh as ssh;
use grunt_tests::sshd::{hermetic_git, require_sshd, ServerAccount, Sshd};

type Res<T> = Result<T, String>;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sshbench: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Res<()> {
    let rounds: usize = match std::env::args().nth(1) {
        Some(a) => a.parse().map_err(|_| format!("bad round count `{a}`"))?,
        None => 20,
    };
    if rounds == 0 {
        return Err("need at least one round".into());
    }
    if require_sshd().is_none() {
        return Ok(());
    }
    let server = ServerAccount::for_tests()?;
    let sshd = Sshd::start(&server)?;
    let home = tempfile::Builder::new()
        .prefix("sshbench-")
        .tempdir()
        .map_err(|e| e.to_string())?;
    let alias = "grunt-bench";
    let config = sshd.write_ssh_config(home.path(), alias, true)?;
    let ssh_command = format!("ssh -F '{}'", config.display());
    // Single-threaded here: nothing else reads the environment yet. ssh
    // ignores $HOME for its config, hence -F.
    std::env::set_var("GIT_SSH_COMMAND", &ssh_command);
    ssh::register().map_err(|e| e.to_string())?;

    let sdir = server.scratch_dir()?;
    sdir.init_bare("ours.git")?;
    sdir.init_bare("cli.git")?;
    sdir.init_bare("receive.git")?;
    // The server's `grunt`, for `grunt receive`: a copy the server account can run.
    let grunt = sdir.path().join("grunt");
    fs::copy(grunt_tests::grunt_bin(), &grunt).map_err(|e| format!("copying grunt: {e}"))?;
    server.give(&grunt)?;
    std::env::set_var(grunt_core::protocol::receive::REMOTE_GRUNT_VAR, &grunt);

    println!(
        "sshbench: {rounds} rounds over ssh to 127.0.0.1:{} with ControlMaster ({})",
        sshd.port(),
        if server.is_separate_user() {
            "separate server account"
        } else {
            "same account"
        }
    );

    let url = format!("{alias}:{}/ours.git", sdir.rel());
    let (push_ours, fetch_ours) = bench_git2(home.path(), &url, rounds)?;
    let url = format!("{alias}:{}/cli.git", sdir.rel());
    let (push_cli, fetch_cli) = bench_cli(home.path(), &url, &ssh_command, rounds)?;
    let url = format!("{alias}:{}/receive.git", sdir.rel());
    let push_receive = bench_receive(home.path(), &url, rounds)?;

    let floor = bench_floor(&config, alias, rounds)?;
    let (floor_median, _) = stats(&floor);
    println!(
        "{:<28} {:>10} {:>10} {:>8}",
        "", "median ms", "p90 ms", "× floor"
    );
    for (name, samples) in [
        ("ssh HOST true (the floor)", &floor),
        ("fetch (grunt transport)", &fetch_ours),
        ("push  (grunt transport)", &push_ours),
        ("fetch (git CLI)", &fetch_cli),
        ("push  (git CLI)", &push_cli),
        ("push  (grunt receive)", &push_receive),
    ] {
        let (median, p90) = stats(samples);
        println!(
            "{name:<28} {median:>10.1} {p90:>10.1} {:>8.2}",
            median / floor_median
        );
    }
    let _ = Sshd::stop_control_master(&config, alias);
    Ok(())
}

/// `rounds` times `ssh -F <config> <alias> true` through the ControlMaster.
fn bench_floor(config: &Path, alias: &str, rounds: usize) -> Res<Vec<Duration>> {
    let mut out = Vec::new();
    for _ in 0..rounds {
        let t = Instant::now();
        let st = Command::new("ssh")
            .arg("-F")
            .arg(config)
            .args([alias, "true"])
            .stdin(Stdio::null())
            .status()
            .map_err(|e| format!("ssh: {e}"))?;
        if !st.success() {
            return Err(format!("ssh {alias} true: {st}"));
        }
        out.push(t.elapsed());
    }
    Ok(out)
}

/// (median, p90) in milliseconds.
fn stats(samples: &[Duration]) -> (f64, f64) {
    let mut ms: Vec<f64> = samples.iter().map(|d| d.as_secs_f64() * 1e3).collect();
    ms.sort_by(f64::total_cmp);
    let n = ms.len();
    // Middle element for odd n, mean of the two middle ones for even n.
    let median = (ms[(n - 1) / 2] + ms[n / 2]) / 2.0;
    let p90 = ms[(n * 9).div_ceil(10).saturating_sub(1)];
    (median, p90)
}

fn init(path: &Path) -> Res<Repository> {
    let mut opts = RepositoryInitOptions::new();
    opts.initial_head("main");
    Repository::init_opts(path, &opts).map_err(|e| e.to_string())
}

fn commit(repo: &Repository, round: usize) -> Res<Oid> {
    let e = |e: git2::Error| e.to_string();
    let workdir = repo.workdir().ok_or("bare repo")?;
    fs::write(workdir.join("round.txt"), format!("round {round}\n")).map_err(|e| e.to_string())?;
    let mut index = repo.index().map_err(e)?;
    index.add_path(Path::new("round.txt")).map_err(e)?;
    index.write().map_err(e)?;
    let tree = repo.find_tree(index.write_tree().map_err(e)?).map_err(e)?;
    let sig = git2::Signature::now("bench", "bench@grunt.invalid").map_err(e)?;
    let parent = match repo.head().ok().and_then(|h| h.target()) {
        Some(oid) => Some(repo.find_commit(oid).map_err(e)?),
        None => None,
    };
    let parents: Vec<&git2::Commit> = parent.iter().collect();
    repo.commit(Some("HEAD"), &sig, &sig, "bench", &tree, &parents)
        .map_err(e)
}

fn git2_push(repo: &Repository, url: &str) -> Res<()> {
    let mut rejected = None;
    {
        let mut cbs = RemoteCallbacks::new();
        cbs.push_update_reference(|name, status| {
            if let Some(s) = status {
                rejected = Some(format!("{name}: {s}"));
            }
            Ok(())
        });
        let mut opts = PushOptions::new();
        opts.remote_callbacks(cbs);
        let mut remote = repo.remote_anonymous(url).map_err(|e| e.to_string())?;
        remote
            .push(&["refs/heads/main:refs/heads/main"], Some(&mut opts))
            .map_err(|e| e.to_string())?;
    }
    match rejected {
        Some(r) => Err(r),
        None => Ok(()),
    }
}

fn git2_fetch(repo: &Repository, url: &str) -> Res<Oid> {
    let mut remote = repo.remote_anonymous(url).map_err(|e| e.to_string())?;
    remote
        .fetch(&["+refs/heads/main:refs/remotes/origin/main"], None, None)
        .map_err(|e| e.to_string())?;
    repo.refname_to_id("refs/remotes/origin/main")
        .map_err(|e| e.to_string())
}

type Samples = (Vec<Duration>, Vec<Duration>);

/// Pushes through the server's `grunt receive` (one session, no `git-receive-pack`), as
/// `grunt submit` does.
fn bench_receive(home: &Path, url: &str, rounds: usize) -> Res<Vec<Duration>> {
    use grunt_core::git::remote::Pushed;
    let pusher = init(&home.join("receive-push"))?;
    let mut pushes = Vec::new();
    let mut old = None;
    for round in 0..=rounds {
        let oid = commit(&pusher, round)?;
        let t = Instant::now();
        let pushed = grunt_core::git::receive::push(&pusher, url, oid, old, None)
            .map_err(|e| e.to_string())?;
        let push = t.elapsed();
        match pushed {
            Some((Pushed::Ok, _)) => {}
            other => return Err(format!("grunt receive did not take the push: {other:?}")),
        }
        old = Some(oid);
        if round > 0 {
            pushes.push(push);
        }
    }
    Ok(pushes)
}

fn bench_git2(home: &Path, url: &str, rounds: usize) -> Res<Samples> {
    let pusher = init(&home.join("ours-push"))?;
    let fetcher = init(&home.join("ours-fetch"))?;
    let (mut pushes, mut fetches) = (Vec::new(), Vec::new());
    for round in 0..=rounds {
        let oid = commit(&pusher, round)?;
        let t = Instant::now();
        git2_push(&pusher, url)?;
        let push = t.elapsed();
        let t = Instant::now();
        let got = git2_fetch(&fetcher, url)?;
        let fetch = t.elapsed();
        if got != oid {
            return Err(format!("fetched {got}, pushed {oid}"));
        }
        // Round 0 is the warm-up that opens the ControlMaster.
        if round > 0 {
            pushes.push(push);
            fetches.push(fetch);
        }
    }
    Ok((pushes, fetches))
}

fn git_cli(home: &Path, dir: &Path, ssh_command: &str) -> Command {
    let mut c = hermetic_git(home);
    c.arg("-C")
        .arg(dir)
        .env("GIT_SSH_COMMAND", ssh_command)
        .stdin(Stdio::null());
    c
}

fn run_cli(mut c: Command) -> Res<String> {
    let out = c.output().map_err(|e| format!("{c:?}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{c:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

fn bench_cli(home: &Path, url: &str, ssh_command: &str, rounds: usize) -> Res<Samples> {
    let pusher: PathBuf = home.join("cli-push");
    let fetcher: PathBuf = home.join("cli-fetch");
    for dir in [&pusher, &fetcher] {
        let mut c = hermetic_git(home);
        c.args(["init", "-q", "-b", "main"]).arg(dir);
        run_cli(c)?;
        let mut c = git_cli(home, dir, ssh_command);
        c.args(["remote", "add", "origin", url]);
        run_cli(c)?;
    }
    let (mut pushes, mut fetches) = (Vec::new(), Vec::new());
    for round in 0..=rounds {
        fs::write(pusher.join("round.txt"), format!("round {round}\n"))
            .map_err(|e| e.to_string())?;
        let mut c = git_cli(home, &pusher, ssh_command);
        c.args(["commit", "-q", "-m", "bench", "--", "round.txt"]);
        if round == 0 {
            let mut add = git_cli(home, &pusher, ssh_command);
            add.args(["add", "round.txt"]);
            run_cli(add)?;
        }
        run_cli(c)?;
        let mut rev = git_cli(home, &pusher, ssh_command);
        rev.args(["rev-parse", "HEAD"]);
        let oid = run_cli(rev)?;

        let mut c = git_cli(home, &pusher, ssh_command);
        c.args(["push", "-q", "origin", "main"]);
        let t = Instant::now();
        run_cli(c)?;
        let push = t.elapsed();

        let mut c = git_cli(home, &fetcher, ssh_command);
        c.args(["fetch", "-q", "origin", "+main:refs/remotes/origin/main"]);
        let t = Instant::now();
        run_cli(c)?;
        let fetch = t.elapsed();

        let mut rev = git_cli(home, &fetcher, ssh_command);
        rev.args(["rev-parse", "refs/remotes/origin/main"]);
        let got = run_cli(rev)?;
        if got != oid {
            return Err(format!("git CLI fetched {got}, pushed {oid}"));
        }
        if round > 0 {
            pushes.push(push);
            fetches.push(fetch);
        }
    }
    Ok((pushes, fetches))
}
