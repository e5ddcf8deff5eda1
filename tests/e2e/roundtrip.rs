//! The whole life of jobs with the local runner and a running grund: submit, wait, status,
//! results into gresults/, out, ls, diff, message, archive, delete, nuke.

use grunt_tests::{local_runner_text, wait_until, World};

const TOML: &str = "[run]\ncommand = \"sh sim.sh\"\nresults = [\"*.csv\"]\n";

#[test]
fn full_round_trip_with_a_running_daemon() {
    let w = World::new(&local_runner_text(), TOML);
    let _d = w.spawn_grund(&["--poll", "5"]);

    let r = w
        .grunt(&["submit", "--wait=30", "0.25", "-m", "first try"])
        .success();
    assert!(r.stdout.contains("submitted job ore000001"), "{}", r.stdout);
    assert!(
        r.stdout.contains("ore000001"),
        "table after --wait:\n{}",
        r.stdout
    );
    // The job runs detached; ask for status until it is done.
    wait_until(30, "job 1 done", || {
        w.grunt(&["status", "--wait=20", "1"]).success();
        w.job_state("ore000001").as_deref() == Some("Done")
    });
    let job = w
        .jobs_json()
        .into_iter()
        .find(|j| j["id"] == "ore000001")
        .unwrap();
    assert_eq!(job["args"], serde_json::json!(["0.25"]));
    assert_eq!(job["message"], "first try");
    assert_eq!(job["location"], "active");
    assert_eq!(job["server"], "clust");
    assert!(chrono_like_rfc3339(job["end"].as_str().unwrap()), "{job}");

    let r = w.grunt(&["results", "--wait=30", "ore000001"]).success();
    assert!(r.stdout.contains("linked:"), "{}", r.stdout);
    let csv = std::fs::read_to_string(w.project.join("gresults/ore000001/out.csv")).unwrap();
    assert_eq!(csv, "epoch,loss\n1,0.25\n");

    let out = w.grunt(&["out", "1"]).success();
    assert!(out.stdout.contains("ran with: 0.25"), "{}", out.stdout);
    let ls = w.grunt(&["ls", "1"]).success();
    assert!(
        ls.stdout.contains("out.csv") && ls.stdout.contains("sim.sh"),
        "{}",
        ls.stdout
    );
    assert!(
        !ls.stdout.contains("job.out"),
        "job.* files are not listed:\n{}",
        ls.stdout
    );

    // diff against the working tree shows an edit; a second job differs the same way.
    std::fs::write(w.project.join("sim.sh"), "echo changed > out.csv\n").unwrap();
    let d = w.grunt(&["diff", "1"]).success();
    assert!(d.stdout.contains("+echo changed > out.csv"), "{}", d.stdout);
    assert!(!d.stdout.contains("job.message"), "{}", d.stdout);
    w.grunt(&["submit", "--wait=30", "-m", "second"]).success();
    let d2 = w.grunt(&["diff", "1", "2"]).success();
    assert!(
        d2.stdout.contains("+echo changed > out.csv"),
        "{}",
        d2.stdout
    );
    let same = w.grunt(&["diff", "2"]).success();
    assert!(same.stdout.contains("no differences"), "{}", same.stdout);

    w.grunt(&["message", "1", "better words"]).success();
    let job = w
        .jobs_json()
        .into_iter()
        .find(|j| j["id"] == "ore000001")
        .unwrap();
    assert_eq!(job["message"], "better words");

    // archive moves the job and its results in both repos and on disk.
    w.grunt(&["archive", "--wait=30", "1"]).success();
    let jobs = World::paths_in(&w.bare_jobs());
    assert!(
        jobs.iter().any(|p| p.starts_with("archive/ore000001/sim/")),
        "{jobs:?}"
    );
    assert!(!jobs.iter().any(|p| p.starts_with("active/ore000001/")));
    let res = World::paths_in(&w.bare_results());
    assert!(
        res.contains(&"archive/ore000001/sim/out.csv".to_string()),
        "{res:?}"
    );
    assert!(w
        .server_jobs_dir()
        .join("archive/ore000001/sim/out.csv")
        .is_file());
    assert!(
        !w.project.join("gresults/ore000001").exists(),
        "archive unlinks results"
    );

    // delete keeps the record in jobs but drops the results.
    w.grunt(&["delete", "--wait=30", "1"]).success();
    let jobs = World::paths_in(&w.bare_jobs());
    assert!(
        jobs.iter().any(|p| p.starts_with("delete/ore000001/sim/")),
        "{jobs:?}"
    );
    assert!(!World::paths_in(&w.bare_results())
        .iter()
        .any(|p| p.contains("ore000001")));

    // nuke removes it everywhere.
    w.grunt(&["nuke", "--wait=30", "1"]).success();
    assert!(!World::paths_in(&w.bare_jobs())
        .iter()
        .any(|p| p.contains("ore000001")));
    assert!(!w.server_jobs_dir().join("delete/ore000001").exists());
    assert!(w.jobs_json().iter().all(|j| j["id"] != "ore000001"));

    // The repos are sound for the git CLI.
    for repo in [w.bare_jobs(), w.bare_results()] {
        let r = grunt_tests::run("git", &["fsck", "--no-dangling"], &repo, &[]);
        assert!(
            r.ok,
            "git fsck {}: {}{}",
            repo.display(),
            r.stdout,
            r.stderr
        );
    }
}

#[test]
fn grund_once_processes_what_is_pending_and_exits() {
    let w = World::new(&local_runner_text(), TOML);
    w.grunt(&["submit", "7", "-m", "cron style"]).success();
    w.grunt(&["submit", "8", "-m", "cron style 2"]).success();
    let r = w.grund_once_bin().success();
    assert!(r.stderr.contains("ran 2 command(s)"), "{}", r.stderr);
    let last = std::fs::read_to_string(
        w.server
            .home
            .join("gruntsrv/wc/clust/ore/sim/jobs/last_commit_done.sha"),
    )
    .unwrap();
    assert_eq!(last.len(), 40, "{last:?}");
    // Nothing pending: a second run does nothing.
    let r = w.grund_once_bin().success();
    assert!(!r.stderr.contains("ran "), "{}", r.stderr);
    let status = World::file_in(&w.bare_jobs(), "grund_status.txt").unwrap();
    assert!(
        status.starts_with("time: ") && status.contains("commit_cur: "),
        "{status}"
    );
    assert_eq!(World::file_in(&w.bare_jobs(), "maxjob.id").unwrap(), "2\n");
    assert!(w.server.home.join("gruntsrv/grund.heartbeat").is_file());
}

/// `--json` times are RFC 3339 (`2026-11-21T09:30:00+00:00`).
fn chrono_like_rfc3339(t: &str) -> bool {
    t.len() >= 20 && t.as_bytes()[10] == b'T' && (t.ends_with("+00:00") || t.ends_with('Z'))
}
