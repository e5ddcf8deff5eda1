//! Exactly once: grund is SIGKILLed at many points while clients keep pushing commands, and
//! restarted each time; in the end every command has run its runner exactly once.

use std::collections::BTreeMap;

use grunt_tests::World;

/// Logs each command's call (not grund's periodic batch-status queries), then works a little
/// so that kills land in the middle of calls too.
const COUNTING_RUNNER: &str = r#"#!/bin/sh
[ "$1" = batch-status ] && exit 0
echo "$GRUNT_JOBID $1" >> "$HOME/calls.log"
if [ "$1" = submit ]; then echo 1 > job.slurmid; fi
sleep 0.03
"#;

fn calls(w: &World) -> BTreeMap<String, usize> {
    let text = std::fs::read_to_string(w.server.home.join("calls.log")).unwrap_or_default();
    let mut m = BTreeMap::new();
    for l in text.lines() {
        *m.entry(l.to_string()).or_insert(0) += 1;
    }
    m
}

#[test]
fn sigkill_at_many_points_never_loses_or_doubles_a_command() {
    let w = World::new(COUNTING_RUNNER, "");
    const JOBS: u64 = 12;
    let stop = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|s| {
        // The client: a stream of submits, then status and a user command on every job.
        let client = s.spawn(|| {
            for i in 0..JOBS {
                w.grunt(&["submit", &i.to_string(), "-m", "stream"])
                    .success();
            }
            w.grunt(&["status", &format!("1..{JOBS}")]).success();
            w.grunt(&["ping", &format!("1..{JOBS}")]).success();
            for i in 1..=JOBS {
                w.grunt(&["status", &i.to_string()]).success();
            }
            stop.store(true, std::sync::atomic::Ordering::SeqCst);
        });
        // The killer: start grund, let it run a pseudo-random while, SIGKILL it, repeat.
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut kills = 0;
        while !stop.load(std::sync::atomic::Ordering::SeqCst) || kills < 40 {
            let mut d = w.spawn_grund(&["--poll", "1"]);
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let ms = 5 + (seed >> 33) % 150;
            std::thread::sleep(std::time::Duration::from_millis(ms));
            d.kill();
            kills += 1;
            assert!(kills < 400, "the client never finished");
        }
        client.join().unwrap();
    });
    // Let a last grund finish everything (waiting for any runner still under supervision).
    let d = w.spawn_grund(&["--poll", "1"]);
    let expected = JOBS as usize * 4;
    let finished = || {
        let head = grunt_tests::run("git", &["rev-parse", "HEAD"], &w.bare_jobs(), &[]).stdout;
        let done = std::fs::read_to_string(
            w.server
                .home
                .join("gruntsrv/wc/clust/ore/sim/jobs/last_commit_done.sha"),
        )
        .unwrap_or_default();
        // Equal only once grund has committed the last batch and seen its own commit.
        calls(&w).values().sum::<usize>() >= expected && head.trim() == done.trim()
    };
    assert!(
        grunt_tests::holds_within(std::time::Duration::from_secs(120), finished),
        "not finished: calls {:#?}\nlog:\n{}",
        calls(&w),
        d.log_text()
    );
    drop(d);
    let c = calls(&w);
    for i in 1..=JOBS {
        for cmd in ["submit", "ping"] {
            assert_eq!(
                c.get(&format!("ore{i:06} {cmd}")),
                Some(&1),
                "{cmd} of job {i}: {c:#?}"
            );
        }
        assert_eq!(
            c.get(&format!("ore{i:06} status")),
            Some(&2),
            "status of job {i} (pushed twice): {c:#?}"
        );
    }
    assert_eq!(c.values().sum::<usize>(), expected, "{c:#?}");
    // Every job's record made it back.
    for i in 1..=JOBS {
        let p = format!("active/ore{i:06}/sim/job.slurmid");
        if World::file_in(&w.bare_jobs(), &p).is_none() {
            let dir = w.server_jobs_dir().join(format!("active/ore{i:06}/sim"));
            let ls =
                grunt_tests::run("ls", &["-la", dir.to_str().unwrap()], w.tmp.path(), &[]).stdout;
            let log = grunt_tests::run(
                "git",
                &["log", "--stat", "--format=%s"],
                &w.bare_jobs(),
                &[],
            )
            .stdout;
            panic!("{p} missing\ndisk:\n{ls}\nlog:\n{log}");
        }
    }
}

#[test]
fn a_lost_last_commit_done_file_does_not_replay_history() {
    let w = World::new(COUNTING_RUNNER, "");
    w.grunt(&["submit", "-m", "one"]).success();
    w.grunt(&["submit", "-m", "two"]).success();
    w.grunt(&["ping", "1..2"]).success();
    w.grund_once().success();
    // The server's working copies are lost (a quota clean-up, a new disk).
    std::fs::remove_dir_all(w.server.home.join("gruntsrv/wc")).unwrap();
    w.grunt(&["submit", "-m", "three"]).success();
    let r = w.grund_once_bin().success();
    assert!(r.stderr.contains("resuming after"), "{}", r.stderr);
    let c = calls(&w);
    assert_eq!(c.get("ore000001 submit"), Some(&1), "{c:#?}");
    assert_eq!(c.get("ore000002 submit"), Some(&1), "{c:#?}");
    assert_eq!(c.get("ore000003 submit"), Some(&1), "{c:#?}");
    // Commands that no guard stops (unlike a second submit) ran once too.
    assert_eq!(c.get("ore000001 ping"), Some(&1), "{c:#?}");
    assert_eq!(c.get("ore000002 ping"), Some(&1), "{c:#?}");
}
