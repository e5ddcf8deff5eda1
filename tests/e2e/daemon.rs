//! The daemon's own behaviour: one instance per user, instant wake-up on a push, the
//! heartbeat, `--wait` deadlines, and `grund reset`.

use std::time::{Duration, Instant};

use grunt_tests::{local_runner_text, wait_until, World};

const TOML: &str = "[run]\ncommand = \"sh sim.sh\"\n";

#[test]
fn one_grund_per_user_and_a_killed_holders_lock_is_free_at_once() {
    let w = World::new(&local_runner_text(), TOML);
    let mut first = w.spawn_grund(&[]);
    let hb = w.server.home.join("gruntsrv/grund.heartbeat");
    wait_until(10, "heartbeat", || hb.is_file());
    let pid = first.child.id().to_string();
    let r = w.grund_once_bin();
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
    let r = w.grund_once_bin().success();
    assert!(!r.stderr.contains("ran "), "{}", r.stderr);
    assert!(!w.server_jobs_dir().join("active/ore000001").exists());
}

/// Answers batch-status for every listed job: even jobs completed, odd ones failed with 3.
const BATCH_RUNNER: &str = r#"#!/bin/sh
case "$1" in
  submit) echo 7 > job.slurmid; date -u '+%Y-%m-%d %H:%M:%S UTC' > job.start ;;
  batch-status)
    echo batch-status >> "$HOME/calls.log"
    while IFS="$(printf '\t')" read -r id batch dir; do
      [ -d "$dir" ] || exit 9
      n=${id#???}; n=$((1$n - 1000000))
      if [ $((n % 2)) = 0 ]; then echo "$id COMPLETED 0"; else echo "$id FAILED 3"; fi
    done < "$GRUNT_BATCH_FILE" ;;
esac
"#;

#[test]
fn refresh_asks_the_runner_once_for_all_active_jobs() {
    let w = World::new(BATCH_RUNNER, "");
    const N: usize = 20;
    for i in 0..N {
        w.grunt(&["submit", "-m", &format!("job {i}")]).success();
    }
    // --once runs the pending submits, then one refresh.
    w.grund_once().success();
    let calls = std::fs::read_to_string(w.server.home.join("calls.log")).unwrap();
    assert_eq!(
        calls.lines().count(),
        1,
        "one batch-status call for {N} jobs: {calls}"
    );
    let jobs = w.jobs_json();
    assert_eq!(jobs.len(), N);
    for j in &jobs {
        let n: u64 = j["id"].as_str().unwrap()[3..].parse().unwrap();
        let want = if n.is_multiple_of(2) {
            "Done"
        } else {
            "Failed(3)"
        };
        assert_eq!(j["status"], want, "{j}");
        let sched = if n.is_multiple_of(2) {
            "COMPLETED"
        } else {
            "FAILED"
        };
        assert_eq!(j["scheduler_status"], sched, "{j}");
    }
    // Finished jobs are not asked about again.
    w.grund_once().success();
    let calls = std::fs::read_to_string(w.server.home.join("calls.log")).unwrap();
    assert_eq!(calls.lines().count(), 1, "{calls}");
}

#[test]
fn a_running_grund_keeps_states_current_without_status_commands() {
    let toml = "[run]\ncommand = \"sleep 1; sh sim.sh\"\n";
    let w = World::new(&local_runner_text(), toml);
    let _d = w.inproc_grund(Duration::from_millis(250), Duration::from_secs(2));
    w.grunt(&["submit", "--wait=30", "-m", "refresh me"])
        .success();
    // No status command: grund's refresh commits job.end and the runner's word by itself.
    wait_until(40, "job done after a plain pull", || {
        w.job_state("ore000001").as_deref() == Some("Done")
    });
    let job = w.jobs_json().into_iter().next().unwrap();
    assert_eq!(job["scheduler_status"], "COMPLETED", "{job}");
}
