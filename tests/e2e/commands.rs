//! The remaining client commands against a running grund: cancel, files, queue, link/unlink,
//! clean, newproj-server and a user command passed to the runner.

use grunt_tests::{local_runner_text, wait_until, World};

const TOML: &str = "[run]\ncommand = \"sh sim.sh\"\nresults = [\"*.csv\"]\n";

#[test]
fn cancel_stops_a_running_job() {
    let toml = "[run]\ncommand = \"sleep 60\"\n";
    let w = World::new(&local_runner_text(), toml);
    let _d = w.spawn_grund(&["--poll", "1"]);
    w.grunt(&["submit", "--wait=30", "-m", "too long"])
        .success();
    wait_until(30, "job running", || {
        w.grunt(&["status", "--wait=20", "1"]).success();
        w.job_state("ore000001").as_deref() == Some("Running")
    });
    let r = w.grunt(&["cancel", "--wait=30", "ore000001"]).success();
    assert!(r.stdout.contains("Canceled"), "{}", r.stdout);
    let pgid = World::file_in(&w.bare_jobs(), "active/ore000001/sim/job.slurmid").unwrap();
    let pgid: i32 = pgid.trim().parse().unwrap();
    // The whole group must be gone (zombies, which nothing may reap here, do not count).
    wait_until(15, "job's process group gone", || {
        let alive = grunt_tests::run("ps", &["-A", "-o", "pgid=,stat="], w.tmp.path(), &[]).stdout;
        !alive.lines().any(|l| {
            let mut f = l.split_whitespace();
            f.next().and_then(|g| g.parse::<i32>().ok()) == Some(pgid)
                && !f.next().unwrap_or("").contains('Z')
        })
    });
}

#[test]
fn files_queue_links_user_commands_and_clean() {
    let runner = r#"#!/bin/sh
case "$1" in
  submit) echo 1 > job.slurmid; echo a > a.txt; mkdir -p sub; echo b > sub/b.txt; echo c > c.csv ;;
  queue) echo "nothing queued" > job.queue ;;
  plot) echo "plotted" > plot.png; echo "plot for $GRUNT_JOBID" ;;
esac
"#;
    let w = World::new(runner, TOML);
    let _d = w.spawn_grund(&["--poll", "1"]);
    w.grunt(&["submit", "--wait=30", "-m", "make files"])
        .success();

    // files: exactly the named files come back.
    w.grunt(&["files", "--wait=30", "1", "a.txt", "sub/b.txt"])
        .success();
    let res = World::paths_in(&w.bare_results());
    assert!(
        res.contains(&"active/ore000001/sim/a.txt".to_string()),
        "{res:?}"
    );
    assert!(
        res.contains(&"active/ore000001/sim/sub/b.txt".to_string()),
        "{res:?}"
    );
    assert!(
        !res.contains(&"active/ore000001/sim/c.csv".to_string()),
        "{res:?}"
    );
    assert_eq!(
        std::fs::read_to_string(w.project.join("gresults/ore000001/sub/b.txt")).unwrap(),
        "b\n"
    );

    // unlink and link.
    w.grunt(&["unlink", "1"]).success();
    assert!(!w.project.join("gresults/ore000001").exists());
    w.grunt(&["link", "1"]).success();
    assert!(w.project.join("gresults/ore000001/a.txt").is_file());

    // queue waits for the runner's answer and shows it.
    let q = w.grunt(&["queue"]).success();
    assert!(q.stdout.contains("nothing queued"), "{}", q.stdout);

    // Any other word goes to the runner.
    w.grunt(&["plot", "--wait=30", "1"]).success();
    let out = World::file_in(&w.bare_jobs(), "active/ore000001/sim/job.grunter.out").unwrap();
    assert_eq!(out, "plot for ore000001\n");
    let ls = w.grunt(&["ls", "1"]).success();
    assert!(ls.stdout.contains("plot.png"), "{}", ls.stdout);

    // clean removes stray files from the client's jobs working directory, nothing else.
    let jobs_wc = w.client.home.join("gruntdat/wc/clust/ore/sim/jobs");
    std::fs::create_dir_all(jobs_wc.join("active/ghost000009")).unwrap();
    std::fs::write(jobs_wc.join("active/ghost000009/x"), "boo").unwrap();
    let r = w.grunt(&["clean"]).success();
    assert!(r.stdout.contains("removed 1"), "{}", r.stdout);
    assert!(!jobs_wc.join("active/ghost000009/x").exists());
    assert!(jobs_wc.join(".git").is_dir());
}

#[test]
fn newproj_server_creates_another_project_through_grund() {
    let w = World::new(&local_runner_text(), TOML);
    w.grunt(&["newproj-server", "other"]).failure("has none");
    w.grunt(&["submit", "-m", "carrier"]).success();
    w.grunt(&["newproj-server", "../evil"])
        .failure("invalid project name");
    w.grunt(&["newproj-server", "other"]).success();
    w.grund_once().success();
    let other = w.server.home.join("gruntsrv/bb/clust/ore/other");
    assert!(other.join("jobs").is_dir() && other.join("results").is_dir());
    let paths = World::paths_in(&other.join("jobs"));
    assert!(
        paths.contains(&"active/placeholder".to_string()),
        "{paths:?}"
    );
    // And a client can use it.
    let dir = w.tmp.path().join("work/other");
    std::fs::create_dir_all(&dir).unwrap();
    let remote = w.server.home.display().to_string();
    w.grunt_as(&w.client, &dir, &["newproj", "other", &remote])
        .success();
}
