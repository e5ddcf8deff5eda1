//! The daemon's own behaviour: one instance per user, instant wake-up on a push, the
//! heartbeat, `--wait` deadlines, and `grund reset`.

use std::time::Instant;

use grunt_tests::{local_runner_text, wait_until, World};

const TOML: &str = "[run]\ncommand = \"sh sim.sh\"\n";

#[test]
fn one_grund_per_user_and_a_killed_holders_lock_is_free_at_once() {
    let w = World::new(&local_runner_text(), TOML);
    let mut first = w.spawn_grund(&[]);
    let hb = w.server.home.join("gruntsrv/grund.heartbeat");
    wait_until(10, "heartbeat", || hb.is_file());
    let pid = first.child.id().to_string();
    let r = w.grund_once();
    assert!(!r.ok);
    assert!(
        r.stderr.contains("already running") && r.stderr.contains(&pid),
        "{}",
        r.stderr
    );
    first.kill();
    w.grund_once().success();
}

#[test]
fn a_push_wakes_grund_at_once_without_polling() {
    let w = World::new(&local_runner_text(), TOML);
    // A poll interval far beyond the test's deadline: only file events can wake it.
    let d = w.spawn_grund(&["--poll", "600"]);
    let hb = w.server.home.join("gruntsrv/grund.heartbeat");
    wait_until(10, "heartbeat", || hb.is_file());
    let t = Instant::now();
    w.grunt(&["submit", "--wait=20", "1", "-m", "instant"])
        .success();
    let took = t.elapsed();
    assert!(took.as_secs() < 20, "took {took:?}; log:\n{}", d.log_text());
    assert!(
        d.log_text().contains("submit ore000001"),
        "{}",
        d.log_text()
    );
}

#[test]
fn wait_fails_clearly_when_grund_is_not_running() {
    let w = World::new(&local_runner_text(), TOML);
    w.grunt(&["submit", "--wait=1", "-m", "nobody home"])
        .failure("has not answered within 1 s");
    let r = w.grunt(&["status", "--wait=1", "1"]);
    assert!(!r.ok);
    assert!(r.stderr.contains("never run there"), "{}", r.stderr);
    // Once grund has run, a stale heartbeat says it looks dead.
    w.grund_once().success();
    let hb = w.server.home.join("gruntsrv/grund.heartbeat");
    std::fs::write(&hb, "time: 2020-01-01 00:00:00 UTC\npid: 1\n").unwrap();
    w.grunt(&["status", "--wait=1", "1"]).failure("looks dead");
}

#[test]
fn reset_skips_pending_commands() {
    let w = World::new(&local_runner_text(), TOML);
    w.grunt(&["submit", "-m", "never runs"]).success();
    let r = w
        .server
        .command(&grunt_tests::grund_bin(), &w.server.home)
        .args(["--server", "clust", "reset"])
        .output()
        .unwrap();
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let r = w.grund_once().success();
    assert!(!r.stderr.contains("ran "), "{}", r.stderr);
    assert!(!w.server_jobs_dir().join("active/ore000001").exists());
}
