//! Errors by scope: a job's broken files are that job's error and processing goes on; a
//! project's error is retried and shows in `--once`'s exit status; a full disk is waited out.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use grunt_tests::{grund_bin, wait_until, Run, World};

const TOML: &str = "[run]\ncommand = \"sh sim.sh\"\n";

/// Misbehaves according to the job's first argument, after leaving a batch id.
const HOSTILE_RUNNER: &str = r#"#!/bin/sh
what=$(head -n 1 job.args 2>/dev/null)
case "$1" in
  submit)
    echo 1 > job.slurmid
    case "$what" in
      fifo-toml) rm -f grunt.toml; mkfifo grunt.toml ;;
      fifo-result) mkfifo pipe.csv; echo 1 > out.csv ;;
      dir-to-file) d="$PWD"; cd ..; rm -rf "$d"; echo x > "$d" ;;
    esac ;;
  results) echo pipe.csv; echo gone.csv; echo out.csv ;;
  status) echo RUNNING > job.status ;;
esac
"#;

/// `grund --once`, killed (and the test failed) if it does not end within `secs`.
fn once_within(w: &World, secs: u64) -> Run {
    let mut child = w
        .server
        .command(&grund_bin(), &w.server.home)
        .args(["--once", "--server", "clust"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    if !grunt_tests::holds_within(Duration::from_secs(secs), || {
        child.try_wait().unwrap().is_some()
    }) {
        let _ = child.kill();
        let out = child.wait_with_output().unwrap();
        panic!(
            "grund --once hung for {secs} s:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    child.wait_with_output().unwrap().into()
}

fn job_file(w: &World, rel: &str) -> Option<String> {
    World::file_in(&w.bare_jobs(), rel)
}

#[test]
fn fifos_and_a_replaced_job_directory_are_the_jobs_errors_and_never_stall_grund() {
    let w = World::new(HOSTILE_RUNNER, TOML);
    for what in ["fifo-toml", "fifo-result", "dir-to-file"] {
        w.grunt(&["submit", what, "-m", what]).success();
    }
    once_within(&w, 60).success();
    // Job 1's grunt.toml is a FIFO now: reading it must not block.
    w.grunt(&["status", "1"]).success();
    // Job 2 lists a FIFO, a file that is not there and a good one.
    w.grunt(&["results", "2"]).success();
    // Job 3's directory became a file: its next command still runs.
    w.grunt(&["status", "3"]).success();
    once_within(&w, 60).success();
    let err1 = job_file(&w, "active/ore000001/sim/job.error").unwrap_or_default();
    assert!(
        err1.contains("grunt.toml") && err1.contains("not a regular file"),
        "{err1}"
    );
    assert!(
        World::paths_in(&w.bare_results()).contains(&"active/ore000002/sim/out.csv".to_string())
    );
    let err2 = job_file(&w, "active/ore000002/sim/job.error").unwrap_or_default();
    assert!(
        err2.contains("pipe.csv") && err2.contains("gone.csv"),
        "{err2}"
    );
    assert_eq!(
        job_file(&w, "active/ore000003/sim/job.status").as_deref(),
        Some("RUNNING\n")
    );
    // Every command was answered: nothing is left pending for the next pass.
    let r = once_within(&w, 60).success();
    assert!(!r.stderr.contains("ran "), "{}", r.stderr);
}

#[test]
fn once_exits_non_zero_when_a_project_failed() {
    let w = World::new(&grunt_tests::local_runner_text(), TOML);
    w.grunt(&["submit", "-m", "never committed"]).success();
    // The results repo is broken: the project cannot commit its answers.
    std::fs::remove_dir_all(w.bare_results().join("objects")).unwrap();
    std::fs::write(w.bare_results().join("HEAD"), "garbage\n").unwrap();
    let r = once_within(&w, 60);
    assert!(!r.ok, "grund --once exited 0:\n{}", r.stderr);
    assert!(
        r.stderr.contains("1 of 1 project(s) failed"),
        "{}",
        r.stderr
    );
}

/// A tmpfs mounted over a directory for the test's life.
struct Tmpfs(std::path::PathBuf);

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// Mounts a small tmpfs over `dir`, keeping what was in it.
fn small_tmpfs(dir: &Path, size: &str) -> Tmpfs {
    let keep = dir.with_extension("kept");
    let ok = |c: &mut Command| assert!(c.status().unwrap().success(), "{c:?}");
    ok(Command::new("cp").arg("-a").arg(dir).arg(&keep));
    ok(Command::new("mount")
        .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
        .arg(dir));
    let guard = Tmpfs(dir.to_path_buf());
    ok(Command::new("cp")
        .arg("-a")
        .arg(format!("{}/.", keep.display()))
        .arg(dir));
    guard
}

/// Fills the file system of `dir` until it is full.
fn fill(file: &Path) {
    use std::io::Write;
    let mut f = std::fs::File::create(file).unwrap();
    let chunk = vec![0u8; 1 << 16];
    // Bounded by the file system's size.
    while f.write_all(&chunk).is_ok() {}
    let _ = f.sync_all();
}

#[test]
fn a_full_disk_is_waited_out_and_the_client_says_the_disk_is_full() {
    if !is_root() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI must run this test as root (it mounts a tmpfs)"
        );
        eprintln!("SKIPPED a_full_disk_is_waited_out…: not root, cannot mount a tmpfs");
        return;
    }
    let w = World::new(&grunt_tests::local_runner_text(), TOML);
    let srv = w.server.home.join("gruntsrv");
    let _mount = small_tmpfs(&srv, "32m");
    let d = w.spawn_grund(&["--poll", "1"]);
    let hb = srv.join("grund.heartbeat");
    wait_until(10, "heartbeat", || hb.is_file());
    let filler = srv.join("filler");
    fill(&filler);
    wait_until(20, "grund to notice the full disk", || {
        d.log_text().contains("writing heartbeat")
    });
    // The client's push fails and says why.
    let r = w.grunt(&["submit", "-m", "no room"]);
    assert!(!r.ok);
    assert!(r.stderr.contains("the disk is full"), "{}", r.stderr);
    std::fs::remove_file(&filler).unwrap();
    // grund went on: it answers once there is room again.
    w.grunt(&["submit", "--wait=30", "-m", "room again"])
        .success();
    assert!(
        d.log_text().contains("heartbeat written again"),
        "{}",
        d.log_text()
    );
}
