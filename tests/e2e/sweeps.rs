//! Sweeps (`submit --sweep`, `--sweep-file`, `grunt sweep`, `jobs --sweep`) and `job.key`
//! (no accidental duplicates), with real grunt and grund processes.

use grunt_tests::{grunt_bin, local_runner_text, Run, World};

/// A runner that runs nothing in the background: `submit` records a job that started and ended
/// at once, failing (exit 1) when its args hold `--seed=3`.
const INSTANT: &str = "#!/bin/sh\nnow() { date -u '+%Y-%m-%d %H:%M:%S UTC'; }\nif [ \"$1\" = submit ]; then\n  now > job.start; echo $$ > job.slurmid\n  if grep -q -- '--seed=3' job.args; then echo 1 > job.exitcode; else echo 0 > job.exitcode; fi\n  now > job.end\nfi\n";

const TOML: &str = "[run]\ncommand = \"sh sim.sh\"\n";

fn head(w: &World) -> String {
    grunt_tests::run("git", &["rev-parse", "HEAD"], &w.bare_jobs(), &[])
        .stdout
        .trim()
        .to_string()
}

fn commits(w: &World) -> usize {
    grunt_tests::run("git", &["rev-list", "--count", "HEAD"], &w.bare_jobs(), &[])
        .stdout
        .trim()
        .parse()
        .unwrap()
}

fn job_file(w: &World, id: &str, name: &str) -> Option<String> {
    World::file_in(&w.bare_jobs(), &format!("active/{id}/sim/{name}"))
}

#[test]
fn a_sweep_is_one_job_per_point_in_one_push() {
    let w = World::new(INSTANT, TOML);
    let before = commits(&w);
    let r = w
        .grunt(&[
            "submit",
            "--sweep",
            "lr=0.1,0.01",
            "--sweep",
            "seed=1..5",
            "base",
            "-m",
            "grid",
        ])
        .success();
    assert!(
        r.stdout.contains("sweep ore000001: 10 jobs"),
        "{}",
        r.stdout
    );
    assert_eq!(commits(&w), before + 1, "one commit, one push");
    for n in 1..=10 {
        let id = format!("ore{n:06}");
        assert_eq!(
            job_file(&w, &id, "job.sweep").as_deref(),
            Some("ore000001\n")
        );
        assert!(job_file(&w, &id, "grcmd.submit").is_some(), "{id}");
    }
    assert!(job_file(&w, "ore000011", "job.args").is_none());
    // The common args, then one --NAME=VALUE line per parameter; the first axis varies slowest.
    assert_eq!(
        job_file(&w, "ore000002", "job.args").unwrap(),
        "base\n--lr=0.1\n--seed=2\n"
    );
    assert_eq!(
        job_file(&w, "ore000006", "job.params").unwrap(),
        "lr=0.01\nseed=1\n"
    );
    assert_eq!(job_file(&w, "ore000006", "job.message").unwrap(), "grid\n");

    w.grund_once().success();
    // The sweep's summary: 10 points, the two with seed=3 failed.
    let r = w.grunt(&["sweep", "1"]).success();
    assert!(
        r.stdout.contains("10 points, 10 jobs: grid"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("Done 8") && r.stdout.contains("Failed 2"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("ore000003") && r.stdout.contains("lr=0.1 seed=3"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("ore000008") && r.stdout.contains("lr=0.01 seed=3"),
        "{}",
        r.stdout
    );
    let j: serde_json::Value =
        serde_json::from_str(&w.grunt(&["sweep", "1", "--json"]).success().stdout).unwrap();
    assert_eq!(j["points"], 10);
    assert_eq!(j["states"]["Failed"], 2);
    assert_eq!(j["failed"][0]["params"]["seed"], "3");
    // Any job of the sweep, not its first, is refused with the way to the sweep.
    w.grunt(&["sweep", "4"])
        .failure("it belongs to sweep ore000001");

    // Rerun the failed points: two new jobs of the same sweep, same point, same args.
    w.grunt(&["sweep", "1", "--rerun-failed"]).success();
    assert_eq!(
        job_file(&w, "ore000011", "job.sweep").as_deref(),
        Some("ore000001\n")
    );
    assert_eq!(
        job_file(&w, "ore000012", "job.args").unwrap(),
        "base\n--lr=0.01\n--seed=3\n"
    );
    w.grund_once().success();
    // Their latest jobs speak for the points: still 10 points, now 12 jobs.
    let r = w.grunt(&["sweep", "1"]).success();
    assert!(r.stdout.contains("10 points, 12 jobs"), "{}", r.stdout);

    // jobs --sweep and show.
    let jobs = w.grunt(&["jobs", "--sweep", "1", "--json"]).success();
    let jobs: Vec<serde_json::Value> = serde_json::from_str(&jobs.stdout).unwrap();
    assert_eq!(jobs.len(), 12);
    assert_eq!(jobs[1]["params"]["lr"], "0.1");
    assert_eq!(jobs[1]["sweep"], "ore000001");
    let r = w.grunt(&["show", "7"]).success();
    assert!(
        r.stdout.contains("params    lr=0.01 seed=2"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("sweep     ore000001"), "{}", r.stdout);
}

#[test]
fn sweep_files_and_dry_runs() {
    let w = World::new(INSTANT, TOML);
    std::fs::write(
        w.project.join("params.toml"),
        "[sweep]\nseed = \"1..2\"\n\n[[point]]\nlr = 0.1\nlayers = 2\n\n[[point]]\nlr = 0.5\nlayers = 4\n",
    )
    .unwrap();
    let before = head(&w);
    let r = w
        .grunt(&[
            "submit",
            "--sweep-file",
            "params.toml",
            "--dry-run",
            "-m",
            "look",
        ])
        .success();
    assert!(
        r.stdout.contains("a sweep of 4 jobs (not submitted)"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("layers=4 lr=0.5 seed=2"), "{}", r.stdout);
    assert!(
        r.stdout.contains("'--layers=4' '--lr=0.5' '--seed=2'"),
        "{}",
        r.stdout
    );
    assert_eq!(head(&w), before, "a dry run pushes nothing");
    w.grunt(&[
        "submit",
        "--sweep-file",
        "params.toml",
        "--sweep",
        "opt=adam,sgd",
        "-m",
        "file",
    ])
    .success();
    assert_eq!(
        job_file(&w, "ore000008", "job.args").unwrap(),
        "--layers=4\n--lr=0.5\n--seed=2\n--opt=sgd\n"
    );
}

#[test]
fn bad_sweeps_are_refused_and_push_nothing() {
    let w = World::new(INSTANT, TOML);
    let before = head(&w);
    w.grunt(&["submit", "--sweep", "lr=", "-m", "x"])
        .failure("--sweep lr= has no values");
    w.grunt(&["submit", "--sweep", "lr", "-m", "x"])
        .failure("has no `=`");
    w.grunt(&["submit", "--sweep", "seed=5..1", "-m", "x"])
        .failure("is empty: the end is below the start");
    w.grunt(&["submit", "--sweep", "seed=1..x", "-m", "x"])
        .failure("both ends must be integers");
    w.grunt(&["submit", "--sweep", "a=1", "--sweep", "a=2", "-m", "x"])
        .failure("given twice");
    // Above 10,000 points grunt asks; without a terminal it refuses.
    w.grunt(&[
        "submit", "--sweep", "a=1..200", "--sweep", "b=1..51", "-m", "x",
    ])
    .failure("this sweep makes 10200 jobs, more than 10000");
    w.grunt(&["submit", "--sweep", "a=1..100000000000", "-m", "x"])
        .failure("more than grunt submits at once");
    // --sweep is grunt's own option: among the job's args it is refused.
    w.grunt(&["submit", "x", "--sweep", "a=1", "-m", "x"])
        .failure("one of grunt's own options");
    std::fs::write(w.project.join("bad.toml"), "[sweep]\nlr = [\"\"]\n").unwrap();
    w.grunt(&["submit", "--sweep-file", "bad.toml", "-m", "x"])
        .failure("is empty or holds a newline");
    w.grunt(&["submit", "--sweep-file", "nope.toml", "-m", "x"])
        .failure("reading the sweep file");
    assert_eq!(head(&w), before, "nothing was pushed");
}

/// `grunt` as the client without the harness's `GRUNT_ALLOW_DUPLICATES=1`: as people run it.
fn grunt_strict(w: &World, args: &[&str]) -> Run {
    w.client
        .command(&grunt_bin(), &w.project)
        .env_remove("GRUNT_ALLOW_DUPLICATES")
        .args(args)
        .output()
        .unwrap()
        .into()
}

#[test]
fn the_same_job_twice_is_refused_unless_forced_or_rerun() {
    let w = World::new(&local_runner_text(), TOML);
    let g = |args: &[&str]| grunt_strict(&w, args);
    g(&["submit", "0.5", "-m", "first"]).success();
    let before = head(&w);
    g(&["submit", "0.5", "-m", "again"]).failure("already ran as ore000001 (Pending, ");
    assert_eq!(head(&w), before, "nothing was pushed");
    // Other args, another profile-free point, or changed files make another job.
    g(&["submit", "0.6", "-m", "other args"]).success();
    std::fs::write(w.project.join("sim.sh"), "echo changed\n").unwrap();
    g(&["submit", "0.5", "-m", "changed code"]).success();
    g(&["submit", "0.5", "-m", "changed code again"]).failure("already ran as ore000003");
    g(&["submit", "--force", "0.5", "-m", "on purpose"]).success();
    g(&["rerun", "1"]).success();
    // A sweep point that already ran is refused too, and names its point.
    g(&["submit", "--sweep", "x=1,2", "-m", "s"]).success();
    g(&["submit", "--sweep", "x=2,3", "-m", "s"]).failure("(point x=2) already ran as ore000007");
    // The opt-out for those who submit the same job on purpose, as the original allowed.
    std::fs::write(
        w.project.join("grunt.toml"),
        format!("{TOML}[submit]\nallow_duplicates = true\n"),
    )
    .unwrap();
    g(&["submit", "--sweep", "x=1..2", "-m", "s"]).success();
    g(&["submit", "--sweep", "x=1..2", "-m", "s"]).success();
}
