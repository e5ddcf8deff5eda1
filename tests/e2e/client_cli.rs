//! The client at the keyboard and in scripts (issue 7): the argument grammar, typos, unknown
//! jobs and exit codes, honest records after a late cancel, `show`, `wait`, subdirectories.

use grunt_tests::World;

/// A runner that runs the job inside `submit` (as the original's grunter.py may): the job has
/// ended once grund has answered. `fail` as the first job argument makes it exit 3.
const RUNNER: &str = r#"#!/bin/sh
ts() { date -u '+%Y-%m-%d %H:%M:%S UTC'; }
case "$1" in
  submit)
    echo 7 > job.slurmid; ts > job.start
    echo "ran with: $(cat job.args | tr '\n' ' ')" > job.out
    if grep -qx fail job.args; then echo 3 > job.exitcode; else echo 0 > job.exitcode; fi
    ts > job.end ;;
  cancel) ts > job.canceled ;;
  broken) echo "the real cause" >&2; exit 5 ;;
esac
"#;

fn head(w: &World) -> Option<String> {
    let r = git2::Repository::open_bare(w.bare_jobs()).ok()?;
    r.refname_to_id("refs/heads/master")
        .ok()
        .map(|o| o.to_string())
}

#[test]
fn grammar_typos_and_unknown_jobs_push_nothing() {
    let w = World::new(RUNNER, "");
    let before = head(&w);
    // A grunt option among the job's arguments is refused, with the `--` hint (exit 2).
    let r = w
        .grunt(&["submit", "1", "2", "--dry-run", "-m", "x"])
        .failure("one of grunt's own options");
    assert_eq!(r.code, Some(2));
    assert!(
        r.stderr.contains("hint:") && r.stderr.contains("--"),
        "{}",
        r.stderr
    );
    // A typo of a command is refused (exit 2), with "did you mean".
    let r = w.grunt(&["jbos", "6"]).failure("did you mean `grunt jobs`");
    assert_eq!(r.code, Some(2));
    // Unknown jobs are an error (exit 1).
    for cmd in [&["out", "99"][..], &["cancel", "99"], &["status", "999"]] {
        let r = w.grunt(cmd).failure("no job");
        assert_eq!(r.code, Some(1), "{cmd:?}");
    }
    assert_eq!(head(&w), before, "nothing was pushed");

    // After `--` the job's arguments are literal; options also follow -m MSG.
    let _d = w.spawn_grund(&["--poll", "1"]);
    w.grunt(&[
        "submit",
        "--",
        "a",
        "--dry-run",
        "two words",
        "-m",
        "lit",
        "--wait",
        "30",
    ])
    .success();
    let args = World::file_in(&w.bare_jobs(), "active/ore000001/sim/job.args").unwrap();
    assert_eq!(args, "a\n--dry-run\ntwo words\n");
    let jobs = w.grunt(&["jobs"]).success();
    assert!(jobs.stdout.contains("'two words'"), "{}", jobs.stdout);
}

#[test]
fn late_cancel_show_wait_and_subdirectories() {
    let w = World::new(RUNNER, "");
    let _d = w.spawn_grund(&["--poll", "1"]);
    w.grunt(&["submit", "ok", "-m", "fine", "--wait=30"])
        .success();
    assert_eq!(w.job_state("ore000001").as_deref(), Some("Done"));
    // Canceling an ended job says so and leaves the record alone.
    let r = w.grunt(&["cancel", "1"]).failure("already ended");
    assert_eq!(r.code, Some(1));
    assert_eq!(w.job_state("ore000001").as_deref(), Some("Done"));

    // show: message, state, output.
    let s = w.grunt(&["show", "1"]).success();
    assert!(
        s.stdout.contains("fine") && s.stdout.contains("Done"),
        "{}",
        s.stdout
    );
    assert!(s.stdout.contains("ran with: ok"), "{}", s.stdout);

    // wait: 0 when all succeeded, 4 when one failed.
    w.grunt(&["wait", "1", "--timeout", "30"]).success();
    w.grunt(&["submit", "fail", "-m", "bad", "--wait=30"])
        .success();
    let r = w
        .grunt(&["wait", "1,2", "--timeout", "30"])
        .failure("not every job succeeded");
    assert_eq!(r.code, Some(4));

    // A runner that fails on a command under --wait: exit 4.
    let r = w
        .grunt(&["run", "broken", "1", "--wait=30"])
        .failure("runner failed");
    assert_eq!(r.code, Some(4));

    // From a subdirectory of the project.
    let sub = w.project.join("deep/er");
    std::fs::create_dir_all(&sub).unwrap();
    let r = w.grunt_as(&w.client, &sub, &["jobs", "--json"]).success();
    assert!(r.stdout.contains("ore000002"), "{}", r.stdout);
}

#[test]
fn submit_and_doctor_print_json() {
    let w = World::new(RUNNER, "");
    // submit --json: the new id, and nothing else on stdout.
    let r = w.grunt(&["submit", "x", "-m", "j", "--json"]).success();
    let v: serde_json::Value = serde_json::from_str(&r.stdout).expect("submit --json");
    assert_eq!(v["ids"], serde_json::json!(["ore000001"]));
    assert_eq!(v["server"], "clust");
    assert_eq!(v["message"], "j");
    assert_eq!(v["commit"].as_str().map(str::len), Some(40));
    assert!(v.get("jobs").is_none());
    // With --wait, the job as `jobs --json` shows it, once answered.
    let _d = w.spawn_grund(&["--poll", "1"]);
    let r = w
        .grunt(&["submit", "--json", "--wait=30", "ok", "-m", "k"])
        .success();
    let v: serde_json::Value = serde_json::from_str(&r.stdout).expect("submit --json --wait");
    assert_eq!(v["ids"], serde_json::json!(["ore000002"]));
    assert_eq!(v["jobs"][0]["id"], "ore000002");
    assert_eq!(v["jobs"][0]["status"], "Done");
    assert_eq!(v["jobs"][0]["exit_code"], 0);

    // rerun --json: the new ids and what each runs again.
    let r = w.grunt(&["rerun", "1,2", "--json"]).success();
    let v: serde_json::Value = serde_json::from_str(&r.stdout).expect("rerun --json");
    assert_eq!(v["ids"], serde_json::json!(["ore000003", "ore000004"]));
    assert_eq!(v["reruns"][1]["of"], "ore000002");

    // doctor --json: every check with its status; "ok" agrees with the exit code.
    let r = w.grunt(&["doctor", "--json", "--timeout", "10"]);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).expect("doctor --json");
    let checks = v["checks"].as_array().expect("checks");
    assert!(
        checks
            .iter()
            .any(|c| c["check"] == "local clones" && c["status"] == "ok"),
        "{}",
        r.stdout
    );
    assert!(checks
        .iter()
        .all(|c| ["ok", "note", "problem"].contains(&c["status"].as_str().unwrap_or(""))));
    assert_eq!(v["ok"].as_bool(), Some(r.ok), "{}{}", r.stdout, r.stderr);
    let problems = checks.iter().filter(|c| c["status"] == "problem").count();
    assert_eq!(v["problems"].as_u64(), Some(problems as u64));
}
