//! Bad input gets a clear error and changes nothing; a runner that fails, hangs or lies never
//! stops grund, and its failure is recorded in the job.

use grunt_tests::{local_runner_text, write_exec, World};

const TOML: &str = "[run]\ncommand = \"sh sim.sh\"\nresults = [\"*.csv\"]\n";

fn head(w: &World) -> String {
    grunt_tests::run("git", &["rev-parse", "HEAD"], &w.bare_jobs(), &[]).stdout
}

#[test]
fn client_refuses_bad_arguments_and_pushes_nothing() {
    let w = World::new(&local_runner_text(), TOML);
    let before = head(&w);
    w.grunt(&["submit", "0.1"]).failure("missing -m");
    w.grunt(&["submit", "-m", "why", "0.1"])
        .failure("comes after -m MSG");
    w.grunt(&["submit", "-m", ""]).failure("empty");
    w.grunt(&["status", "abc"])
        .failure("is not a job id, number or range");
    w.grunt(&["cancel", "22..11"]).failure("empty");
    w.grunt(&["cancel", "1..99999999"]).failure("more than");
    w.grunt(&["files", "1", "../etc/passwd"])
        .failure("leaves its directory");
    w.grunt(&["newproj", "a/b"]).failure("slash");
    w.grunt(&["newproj", "../x", "/tmp"])
        .failure("invalid project name");
    w.grunt(&["server", "bad name"]).failure("white space");
    w.grunt(&["rm;ls", "1"]).failure("not a grunt command");
    // Unknown jobs are an error before anything is pushed.
    let r = w.grunt(&["cancel", "42"]).failure("no job 42");
    assert_eq!(r.code, Some(1));
    assert_eq!(head(&w), before, "nothing was pushed");

    // No runner in the project.
    std::fs::remove_file(w.project.join("grunter")).unwrap();
    w.grunt(&["submit", "-m", "x"]).failure("no runner");
    assert_eq!(head(&w), before);

    // No server configured and no project set up.
    let other = w.tmp.path().join("other");
    std::fs::create_dir_all(&other).unwrap();
    let lonely = grunt_tests::Account::new(w.tmp.path(), "lonely", "ann");
    w.grunt_as(&lonely, &other, &["jobs"])
        .failure("no server configured");
    w.grunt_as(&w.client, &other, &["jobs"])
        .failure("not set up on this client");
}

#[test]
fn failing_hanging_and_lying_runners_are_recorded_and_grund_carries_on() {
    let runner = r#"#!/bin/sh
case "$1" in
  submit) echo 1 > job.slurmid; date -u '+%Y-%m-%d %H:%M:%S UTC' > job.start ;;
  fail) echo "it broke" >&2; exit 3 ;;
  hang) sleep 30 ;;
  results) echo out.csv; echo ../../../../../etc/passwd; echo /etc/passwd; echo missing.csv ;;
esac
"#;
    let toml = "[runner]\ntimeout = 1\n";
    let w = World::new(runner, toml);
    std::fs::write(w.project.join("out.csv"), "a,b\n").unwrap();
    grunt_tests::run(
        "git",
        &["add", "out.csv"],
        &w.project,
        &[("GIT_CONFIG_GLOBAL", "/dev/null".into())],
    );
    w.grunt(&["submit", "-m", "victim"]).success();
    w.grund_once().success();

    w.grunt(&["fail", "1"]).success();
    w.grund_once().success();
    let err = World::file_in(&w.bare_jobs(), "active/ore000001/sim/job.error").unwrap();
    assert!(err.contains("exited with status 3"), "{err}");
    let stderr = World::file_in(&w.bare_jobs(), "active/ore000001/sim/job.grunter.err").unwrap();
    assert_eq!(stderr, "it broke\n");

    let started = std::time::Instant::now();
    w.grunt(&["hang", "1"]).success();
    w.grund_once().success();
    assert!(
        started.elapsed().as_secs() < 20,
        "the hanging runner was not cut off"
    );
    let err = World::file_in(&w.bare_jobs(), "active/ore000001/sim/job.error").unwrap();
    assert!(err.contains("did not finish within 1 s"), "{err}");

    w.grunt(&["results", "1"]).success();
    w.grund_once().success();
    let res = World::paths_in(&w.bare_results());
    assert!(
        res.contains(&"active/ore000001/sim/out.csv".to_string()),
        "{res:?}"
    );
    assert!(!res.iter().any(|p| p.contains("passwd")), "{res:?}");
    let err = World::file_in(&w.bare_jobs(), "active/ore000001/sim/job.error").unwrap();
    assert!(
        err.contains("refused result files")
            && err.contains("passwd")
            && err.contains("missing.csv"),
        "{err}"
    );

    // A second submit of the same job is refused, not run.
    let runner_calls =
        |w: &World| World::file_in(&w.bare_jobs(), "active/ore000001/sim/job.slurmid");
    assert_eq!(runner_calls(&w).as_deref(), Some("1\n"));
}

#[test]
fn a_job_without_runner_gets_a_clear_error() {
    let w = World::new("#!/bin/sh\necho 1 > job.slurmid\n", "");
    w.grunt(&["submit", "-m", "ok"]).success();
    // The client cannot push a job without a runner; a hand-made one reaches grund anyway.
    let repo = git2::Repository::init(w.tmp.path().join("hand")).unwrap();
    let remote = w.bare_jobs();
    let mut origin = repo.remote("origin", remote.to_str().unwrap()).unwrap();
    origin
        .fetch(
            &["+refs/heads/master:refs/remotes/origin/master"],
            None,
            None,
        )
        .unwrap();
    let base = repo.refname_to_id("refs/remotes/origin/master").unwrap();
    let base = repo.find_commit(base).unwrap();
    let blob = repo.blob(b"2026-11-21 09:30:00 UTC\n").unwrap();
    let mut b = git2::build::TreeUpdateBuilder::new();
    b.upsert(
        "active/ore000009/sim/grcmd.submit",
        blob,
        git2::FileMode::Blob,
    );
    b.upsert(
        "active/ore000009/sim/job.message",
        blob,
        git2::FileMode::Blob,
    );
    let t = b.create_updated(&repo, &base.tree().unwrap()).unwrap();
    let sig = git2::Signature::now("x", "x@x").unwrap();
    let c = repo
        .commit(
            None,
            &sig,
            &sig,
            "hand-made",
            &repo.find_tree(t).unwrap(),
            &[&base],
        )
        .unwrap();
    repo.reference("refs/heads/master", c, true, "").unwrap();
    origin
        .push(&["refs/heads/master:refs/heads/master"], None)
        .unwrap();
    w.grund_once().success();
    let err = World::file_in(&w.bare_jobs(), "active/ore000009/sim/job.error").unwrap();
    assert!(err.contains("no runner"), "{err}");
    // The other job still ran.
    assert!(World::file_in(&w.bare_jobs(), "active/ore000001/sim/job.slurmid").is_some());
    let _ = write_exec;
}
