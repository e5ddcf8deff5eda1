//! Going back to the original `grund.py` after this grund served a project: `grund handback`
//! leaves the working copies so that the original's poll (`git pull`, read
//! `last_commit_done.sha`, walk the new commits, run the runner in the checkout, `git add` its
//! `job.*` files, `git mv` for archive, commit, `git push`) works. The poll is emulated with
//! the git CLI, step by step as `grund_sub.py` does it.

use std::path::Path;

use grunt_tests::{grund_bin, Run, World};

const TOML: &str = "";

/// A runner in the original's manner: it needs nothing from grund but the job directory.
const RUNNER: &str = r#"#!/bin/sh
case "$1" in
  submit) echo 7 > job.slurmid; date -u '+%Y-%m-%d %H:%M:%S UTC' > job.start ;;
  status) echo RUNNING > job.status ;;
esac
"#;

/// git as the server account, with an identity for commits.
fn git(w: &World, dir: &Path, args: &[&str]) -> Run {
    w.server
        .command(Path::new("git"), dir)
        .args(["-c", "user.name=grund.py", "-c", "user.email=g@x"])
        .args(args)
        .output()
        .unwrap()
        .into()
}

#[test]
fn after_handback_the_original_grunds_poll_works_in_the_working_copies() {
    let w = World::new(RUNNER, TOML);
    w.grunt(&["submit", "first", "-m", "served by this grund"])
        .success();
    w.grunt(&["submit", "second", "-m", "served by this grund"])
        .success();
    w.grund_once().success();
    w.grunt(&["status", "1"]).success();
    w.grund_once().success();

    let r = w
        .server
        .command(&grund_bin(), &w.server.home)
        .args(["--server", "clust", "handback"])
        .output()
        .unwrap();
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));

    // A client goes on submitting while the original grund is back.
    w.grunt(&["submit", "third", "-m", "for the original"])
        .success();

    let wc = w.server.home.join("gruntsrv/wc/clust/ore/sim");
    let jobs = wc.join("jobs");
    // grund_sub.py: pull both working copies.
    git(&w, &jobs, &["pull", "origin"]).success();
    git(&w, &wc.join("results"), &["pull", "origin"]).success();
    // The commits since last_commit_done.sha carry job 3's submit, and its files are there.
    let last = std::fs::read_to_string(jobs.join("last_commit_done.sha")).unwrap();
    let changed = git(
        &w,
        &jobs,
        &["diff", "--name-only", &format!("{last}..HEAD")],
    )
    .success();
    assert!(
        changed.stdout.contains("active/ore000003/sim/grcmd.submit"),
        "{}",
        changed.stdout
    );
    let job3 = jobs.join("active/ore000003/sim");
    assert!(job3.join("grunter").is_file());
    assert!(jobs.join("maxjob.id").is_file());
    // call_grunter: the runner in the checkout, then add its job.* files.
    let r: Run = w
        .server
        .command(&job3.join("grunter"), &job3)
        .arg("submit")
        .output()
        .unwrap()
        .into();
    assert!(r.ok, "{}", r.stderr);
    git(
        &w,
        &jobs,
        &[
            "add",
            "active/ore000003/sim/job.slurmid",
            "active/ore000003/sim/job.start",
        ],
    )
    .success();
    // archive_job for job 1, which this grund served: git mv of its directory.
    git(&w, &jobs, &["mv", "active/ore000001", "archive/ore000001"]).success();
    // commit_jobs: status, commit, push.
    let head = git(&w, &jobs, &["rev-parse", "HEAD"]).success();
    std::fs::write(
        jobs.join("grund_status.txt"),
        format!(
            "time: 2026-12-07 00:00:00 UTC\ncommit_done: {last}\ncommit_cur: {}",
            head.stdout
        ),
    )
    .unwrap();
    std::fs::write(jobs.join("last_commit_done.sha"), head.stdout.trim()).unwrap();
    git(&w, &jobs, &["add", "grund_status.txt", "maxjob.id"]).success();
    git(
        &w,
        &jobs,
        &["commit", "-q", "-m", "GRUND: processed from: x to: y"],
    )
    .success();
    git(&w, &jobs, &["push", "origin"]).success();

    // The client sees what the original did.
    let listed = w.jobs_json();
    let by_id = |id: &str| listed.iter().find(|j| j["id"] == id).cloned().unwrap();
    assert_ne!(by_id("ore000003")["status"], "Pending", "{listed:?}");
    let r = w.grunt(&["jobs", "archive", "--json"]).success();
    assert!(r.stdout.contains("ore000001"), "{}", r.stdout);
}
