//! One `~/gruntdat` used by the original Python client and ours (issue 7, item 10): the
//! original's clones are checked out, and it commits with `git commit -am`; between our
//! commands it does just that (emulated with the git CLI, as the original's GitPython does),
//! and nothing ours pushed is undone. Also the original's job lists, `jobs.active` etc.

use std::path::{Path, PathBuf};

use grunt_tests::{original_git as git, World};

/// Submit starts and ends the job at once; grund itself archives.
const RUNNER: &str = r#"#!/bin/sh
ts() { date -u '+%Y-%m-%d %H:%M:%S UTC'; }
case "$1" in
  submit) echo 7 > job.slurmid; ts > job.start; echo 0 > job.exitcode; ts > job.end ;;
esac
"#;

/// Replaces the client's clones with checked-out ones, as `grunt.py newproj sim ore@host`
/// makes them (`git clone`).
fn original_clones(w: &World) -> PathBuf {
    let cwc = w.client.home.join("gruntdat/wc/clust/ore/sim");
    for (kind, bare) in [("jobs", w.bare_jobs()), ("results", w.bare_results())] {
        std::fs::remove_dir_all(cwc.join(kind)).expect("removing our clone");
        git(&cwc, &["clone", "-q", bare.to_str().expect("utf8"), kind]);
    }
    cwc.join("jobs")
}

/// The original's `submit`, in its jobs clone: copy the files, write the job.* files, `git
/// add`, `git commit -am`, `git push` (after its `git pull`).
fn original_submit(jobs: &Path, id: &str, msg: &str) {
    git(jobs, &["pull", "-q"]);
    let dir = jobs.join("active").join(id).join("sim");
    std::fs::create_dir_all(&dir).expect("job dir");
    let ts = "2026-11-21 09:30:00 UTC\n";
    for (f, text) in [
        ("sim.sh", "echo hi\n"),
        ("job.submit", ts),
        ("job.message", &format!("{msg}\n")),
        ("job.args", ""),
        ("grcmd.submit", ts),
    ] {
        std::fs::write(dir.join(f), text).expect("job file");
    }
    git(jobs, &["add", dir.to_str().expect("utf8")]);
    git(
        jobs,
        &["commit", "-q", "-am", &format!("Submit job: {id} {msg}")],
    );
    git(jobs, &["push", "-q", "origin", "master"]);
}

/// The original's `message`: writes job.message, `git add`, `git commit -am`, `git push`.
fn original_message(jobs: &Path, id: &str, msg: &str) {
    git(jobs, &["pull", "-q"]);
    let f = jobs.join("active").join(id).join("sim/job.message");
    std::fs::write(&f, format!("{msg}\n")).expect("message");
    git(jobs, &["add", f.to_str().expect("utf8")]);
    git(
        jobs,
        &[
            "commit",
            "-q",
            "-am",
            &format!("Update message: {id} {msg}"),
        ],
    );
    git(jobs, &["push", "-q", "origin", "master"]);
}

/// Where each job is on the server (`active/ore000001`, …), sorted.
fn places(w: &World) -> Vec<String> {
    let mut v: Vec<String> = World::paths_in(&w.bare_jobs())
        .into_iter()
        .filter(|p| p.ends_with("/job.message"))
        .map(|p| p.split('/').take(2).collect::<Vec<_>>().join("/"))
        .collect();
    v.sort();
    v
}

#[test]
fn original_client_commits_never_undo_ours() {
    let w = World::new(RUNNER, "");
    let jobs = original_clones(&w);

    // The original submits job 1; grund runs it.
    original_submit(&jobs, "ore000001", "from python");
    w.grund_once().success();
    // Ours submits job 2 and archives job 1 (grund moves it).
    w.grunt(&["submit", "-m", "from rust"]).success();
    w.grunt(&["archive", "1"]).success();
    w.grund_once().success();
    w.grunt(&["jobs"]).success();
    assert_eq!(places(&w), ["active/ore000002", "archive/ore000001"]);

    // Ours left the original's clone as `git pull` would: files and index at master.
    assert_eq!(git(&jobs, &["status", "--porcelain"]), "");
    assert!(jobs.join("active/ore000002/sim/job.message").is_file());
    assert!(!jobs.join("active/ore000001").exists());
    assert!(jobs.join("archive/ore000001/sim/job.message").is_file());

    // The original's `message` (git commit -am) and another submit keep all of ours.
    original_message(&jobs, "ore000002", "renamed by python");
    original_submit(&jobs, "ore000003", "python again");
    assert_eq!(
        places(&w),
        ["active/ore000002", "active/ore000003", "archive/ore000001"]
    );
    assert_eq!(
        World::file_in(&w.bare_jobs(), "active/ore000002/sim/job.message").as_deref(),
        Some("renamed by python\n")
    );
    // And ours carries on on top of the original's commits.
    w.grunt(&["message", "3", "renamed by rust"]).success();
    original_message(&jobs, "ore000002", "and back");
    assert_eq!(
        World::file_in(&w.bare_jobs(), "active/ore000003/sim/job.message").as_deref(),
        Some("renamed by rust\n")
    );

    // A file the user changed in the clone, which ours then moves, is kept, with a warning;
    // the rest follows.
    let mine = jobs.join("active/ore000002/sim/sim.sh");
    std::fs::write(&mine, "my edit\n").expect("edit");
    w.grunt(&["archive", "2"]).success();
    w.grund_once().success();
    let r = w.grunt(&["jobs"]).success();
    assert!(r.stderr.contains("kept your change"), "{}", r.stderr);
    assert_eq!(std::fs::read_to_string(&mine).expect("kept"), "my edit\n");
    assert_eq!(
        git(&jobs, &["status", "--porcelain"]),
        "?? active/ore000002/\n"
    );
    assert!(jobs.join("archive/ore000002/sim/job.message").is_file());
    assert!(!jobs.join("active/ore000002/sim/job.message").exists());

    // The original's push was rejected (the server moved on): its commit waits in its clone
    // for its next `git pull`. Ours refuses rather than move master past it.
    w.grunt(&["submit", "-m", "ours meanwhile"]).success();
    let f = jobs.join("active/ore000003/sim/job.message");
    std::fs::write(&f, "unpushed\n").expect("message");
    git(
        &jobs,
        &["commit", "-q", "-am", "Update message: ore000003 unpushed"],
    );
    let before = git(&jobs, &["rev-parse", "master"]);
    let r = w.grunt(&["jobs"]).failure("the server has not got");
    assert_eq!(r.code, Some(1));
    assert!(
        r.stderr.contains("git -C") && r.stderr.contains("push"),
        "{}",
        r.stderr
    );
    assert_eq!(git(&jobs, &["rev-parse", "master"]), before);
    assert_eq!(std::fs::read_to_string(&f).expect("kept"), "unpushed\n");
    // As the hint says: the original's pull and push publish it, and ours goes on.
    git(&jobs, &["pull", "-q", "--no-rebase", "--no-edit"]);
    git(&jobs, &["push", "-q", "origin", "master"]);
    w.grunt(&["jobs"]).success();
    assert_eq!(
        World::file_in(&w.bare_jobs(), "active/ore000003/sim/job.message").as_deref(),
        Some("unpushed\n")
    );
    assert!(World::file_in(&w.bare_jobs(), "active/ore000004/sim/job.message").is_some());

    // `dir` opens the original's own checkout of the job, and writes nothing into it.
    let r = w.grunt(&["dir", "3"]).success();
    assert_eq!(
        r.stdout.trim(),
        jobs.join("active/ore000003/sim").display().to_string()
    );
    assert_eq!(
        git(&jobs, &["status", "--porcelain"]),
        "?? active/ore000002/\n"
    );

    // `clean` (the original's `git clean`) removes only what master does not hold.
    w.grunt(&["archive", "3"]).success();
    w.grund_once().success();
    let r = w.grunt(&["clean"]).success();
    assert!(!r.stderr.contains("warning"), "{}", r.stderr);
    assert!(!mine.exists());
    assert!(jobs.join("archive/ore000003/sim/job.message").is_file());
    assert_eq!(git(&jobs, &["status", "--porcelain", "--ignored"]), "");
}

#[test]
fn job_lists_are_written_as_the_original_writes_them() {
    let w = World::new(RUNNER, "");
    w.grunt(&["submit", "a b", "-m", "first, with a comma"])
        .success();
    w.grunt(&["submit", "-m", "archived"]).success();
    w.grunt(&["archive", "2"]).success();
    w.grund_once().success();
    w.grunt(&["submit", "-m", "waiting"]).success();
    w.grunt(&["jobs"]).success();
    let read = |n: &str| std::fs::read_to_string(w.project.join(n)).expect(n);
    let header =
        "$JobId,$Server,$SlurmId,$Status,$SlurmStat,$Submit,$Start,$End,$Args,$Message\r\n";
    let rows = |n: &str| -> Vec<String> {
        let text = read(n);
        assert!(text.starts_with(header), "{n}: {text:?}");
        text[header.len()..]
            .split_inclusive("\r\n")
            .map(str::to_string)
            .collect()
    };
    // Python's csv: minimal quoting, \r\n; times in local time with the zone's name (TZ is
    // TZ=UTC here); args joined with spaces.
    let done = rows("jobs.done");
    assert_eq!(done.len(), 1, "{done:?}");
    assert!(
        done[0].starts_with("ore000001,clust,7,Done,,")
            && done[0].ends_with(",a b,\"first, with a comma\"\r\n")
            && done[0].matches(" UTC,").count() == 3,
        "{done:?}"
    );
    let active = rows("jobs.active");
    assert_eq!(active.len(), 1, "{active:?}");
    assert!(
        active[0].starts_with("ore000003,clust,,Pending,,")
            && active[0].ends_with(" UTC,,,,waiting\r\n"),
        "{active:?}"
    );
    let archive = rows("jobs.archive");
    assert!(
        archive.len() == 1 && archive[0].starts_with("ore000002,clust,"),
        "{archive:?}"
    );
    assert!(rows("jobs.delete").is_empty());

    // A list removed by hand comes back with the next command, even when nothing moved.
    std::fs::remove_file(w.project.join("jobs.delete")).expect("rm");
    w.grunt(&["jobs"]).success();
    assert_eq!(rows("jobs.delete"), Vec::<String>::new());

    // `[client] job_lists = false` in grunt.toml turns them off.
    for f in ["jobs.active", "jobs.done", "jobs.archive", "jobs.delete"] {
        std::fs::remove_file(w.project.join(f)).expect("rm");
    }
    std::fs::write(
        w.project.join("grunt.toml"),
        "[client]\njob_lists = false\n",
    )
    .expect("toml");
    w.grunt(&["jobs"]).success();
    assert!(!w.project.join("jobs.active").exists());
}

/// Results: submit writes out.csv, which the runner names as the job's result.
const RESULTS_RUNNER: &str = r#"#!/bin/sh
ts() { date -u '+%Y-%m-%d %H:%M:%S UTC'; }
case "$1" in
  submit) echo 7 > job.slurmid; ts > job.start; echo "x,1" > out.csv; echo 0 > job.exitcode; ts > job.end ;;
  results) echo out.csv ;;
esac
"#;

#[test]
fn results_clone_keeps_what_people_changed() {
    let w = World::new(RESULTS_RUNNER, "");
    w.grunt(&["submit", "-m", "a"]).success();
    w.grunt(&["submit", "-m", "b"]).success();
    w.grund_once().success();
    w.grunt(&["results", "1"]).success();
    w.grund_once().success();
    w.grunt(&["pull"]).success();
    let mine = w.project.join("gresults/ore000001/out.csv");
    assert_eq!(std::fs::read_to_string(&mine).expect("result"), "x,1\n");
    // Someone annotates a result in place (gresults/ links into the results clone) ...
    std::fs::write(&mine, "x,1\nmy notes\n").expect("edit");
    // ... and later pulls other results: the note stays, the new results come.
    w.grunt(&["results", "2"]).success();
    w.grund_once().success();
    let r = w.grunt(&["pull"]).success();
    assert_eq!(
        std::fs::read_to_string(&mine).expect("kept"),
        "x,1\nmy notes\n"
    );
    assert!(!r.stderr.contains("warning"), "{}", r.stderr);
    assert_eq!(
        std::fs::read_to_string(w.project.join("gresults/ore000002/out.csv")).expect("new result"),
        "x,1\n"
    );
}
