//! Provenance and history (issue 13): `job.commit`/`job.patch` at submit, `grunt log`,
//! `grunt undelete`, `grunt reproduce`, `grunt rerun --verify`, notifications and
//! `job.inputs`, with real git repos and real grunt/grund processes.

use std::path::Path;

use grunt_tests::sshd::hermetic_git;
use grunt_tests::World;

/// Submit runs `sim.sh` with the job's arguments at once (it writes `out.csv`); results are
/// `out.csv`.
pub const RUNNER: &str = r#"#!/bin/sh
ts() { date -u '+%Y-%m-%d %H:%M:%S UTC'; }
case "$1" in
  submit) echo 7 > job.slurmid; ts > job.start; sh sim.sh $(cat job.args) > job.out; echo 0 > job.exitcode; ts > job.end ;;
  results) echo out.csv ;;
esac
"#;

/// `git ARGS` in `dir` as the client; its stdout.
pub fn git(w: &World, dir: &Path, args: &[&str]) -> String {
    let out = hermetic_git(&w.client.home)
        .current_dir(dir)
        .args(args)
        .output()
        .expect("running git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn job_file(w: &World, id: &str, name: &str) -> Option<String> {
    World::file_in(&w.bare_jobs(), &format!("active/{id}/sim/{name}"))
}

#[test]
fn submit_records_the_commit_and_the_uncommitted_patch() {
    let w = World::new(RUNNER, "");
    git(
        &w,
        &w.project,
        &[
            "remote",
            "add",
            "origin",
            "https://example.invalid/me/sim.git",
        ],
    );
    let head = git(&w, &w.project, &["rev-parse", "HEAD"])
        .trim()
        .to_string();
    let branch = git(&w, &w.project, &["rev-parse", "--abbrev-ref", "HEAD"])
        .trim()
        .to_string();

    // Clean: the commit, branch and remote; no patch.
    w.grunt(&["submit", "-m", "clean"]).success();
    let rec = job_file(&w, "ore000001", "job.commit").expect("job.commit");
    assert!(rec.contains(&format!("commit: {head}\n")), "{rec}");
    assert!(rec.contains(&format!("branch: {branch}\n")), "{rec}");
    assert!(
        rec.contains("remote: https://example.invalid/me/sim.git\n"),
        "{rec}"
    );
    assert!(rec.contains("uncommitted: none"), "{rec}");
    assert_eq!(job_file(&w, "ore000001", "job.patch"), None);

    // A tracked file changed but not committed: said so, and the patch rebuilds the job's file.
    let sim = w.project.join("sim.sh");
    let mut text = std::fs::read_to_string(&sim).unwrap();
    text.push_str("echo changed after the commit\n");
    std::fs::write(&sim, &text).unwrap();
    let r = w.grunt(&["submit", "-m", "dirty"]).success();
    assert!(
        r.stderr
            .contains("1 tracked file(s) have uncommitted changes"),
        "{}",
        r.stderr
    );
    let rec = job_file(&w, "ore000002", "job.commit").expect("job.commit");
    assert!(rec.contains("uncommitted: 1 tracked file(s)"), "{rec}");
    let patch = job_file(&w, "ore000002", "job.patch").expect("job.patch");
    git(&w, &w.project, &["checkout", "--", "sim.sh"]);
    let pf = w.tmp.path().join("p.patch");
    std::fs::write(&pf, &patch).unwrap();
    git(&w, &w.project, &["apply", pf.to_str().unwrap()]);
    assert_eq!(
        std::fs::read_to_string(&sim).unwrap(),
        job_file(&w, "ore000002", "sim.sh").unwrap()
    );

    // show and jobs --json carry it.
    let r = w.grunt(&["show", "2", "--json"]).success();
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["source"]["commit"], head.as_str(), "{}", r.stdout);
    assert_eq!(v["source"]["changed_files"], 1);
    let r = w.grunt(&["show", "2"]).success();
    assert!(
        r.stdout
            .contains(&format!("commit    {:.12} on {branch}", head)),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("job.patch"), "{}", r.stdout);
    let jobs = w.jobs_json();
    let one = jobs.iter().find(|j| j["id"] == "ore000001").unwrap();
    assert_eq!(one["source"]["commit"], head.as_str());
    assert_eq!(one["source"]["changed_files"], 0);
}

#[test]
fn log_lists_every_commit_and_undelete_brings_the_job_and_its_results_back() {
    let w = World::new(RUNNER, "");
    w.grunt(&["submit", "0.25", "-m", "first"]).success();
    w.grund_once().success();
    w.grunt(&["results", "1"]).success();
    w.grund_once().success();
    let out_csv = World::file_in(&w.bare_results(), "active/ore000001/sim/out.csv")
        .expect("results of job 1");
    assert!(out_csv.contains("1,0.25"), "{out_csv}");

    w.grunt(&["delete", "1"]).success();
    w.grund_once().success();
    assert!(World::file_in(&w.bare_jobs(), "delete/ore000001/sim/job.message").is_some());
    assert_eq!(
        World::file_in(&w.bare_results(), "active/ore000001/sim/out.csv"),
        None
    );

    // The audit trail, oldest first, from both repos.
    let r = w.grunt(&["log", "1"]).success();
    let order = [
        "submitted: first",
        "started",
        "ended",
        "asked: results",
        "results: out.csv",
        "asked: delete",
        "results removed",
        "moved active -> delete",
    ];
    let mut at = 0;
    for needle in order {
        let pos = r.stdout[at..]
            .find(needle)
            .unwrap_or_else(|| panic!("{needle:?} after byte {at} in:\n{}", r.stdout));
        at += pos;
    }
    let v: serde_json::Value =
        serde_json::from_str(&w.grunt(&["log", "1", "--json"]).success().stdout).unwrap();
    let events = v.as_array().unwrap();
    assert!(events
        .iter()
        .any(|e| e["by"] == "grund" && e["repo"] == "results"));
    assert_eq!(events[0]["by"], "client");

    // A job not in delete/ is left alone.
    w.grunt(&["submit", "-m", "second"]).success();
    let r = w.grunt(&["undelete", "2"]).success();
    assert!(r.stderr.contains("not in delete"), "{}", r.stderr);

    // Undelete: back to active/, results back from history, on the server's disk too.
    w.grunt(&["undelete", "1"]).success();
    w.grund_once().success();
    assert!(World::file_in(&w.bare_jobs(), "active/ore000001/sim/job.message").is_some());
    assert!(World::file_in(&w.bare_jobs(), "delete/ore000001/sim/job.message").is_none());
    assert_eq!(
        World::file_in(&w.bare_results(), "active/ore000001/sim/out.csv").as_deref(),
        Some(out_csv.as_str())
    );
    assert!(w
        .server_jobs_dir()
        .join("active/ore000001/sim/job.message")
        .is_file());
    let r = w.grunt(&["log", "1"]).success();
    assert!(r.stdout.contains("moved delete -> active"), "{}", r.stdout);
    let jobs = w.jobs_json();
    let one = jobs.iter().find(|j| j["id"] == "ore000001").unwrap();
    assert_eq!(one["location"], "active");
    // Processed once: another pass finds nothing to do and changes nothing.
    let before = World::paths_in(&w.bare_results());
    w.grund_once().success();
    assert_eq!(World::paths_in(&w.bare_results()), before);

    // A nuked job's history is still in git.
    w.grunt(&["nuke", "1", "--yes"]).success();
    w.grund_once().success();
    let r = w.grunt(&["log", "1"]).success();
    assert!(r.stdout.contains("submitted: first"), "{}", r.stdout);
    assert!(
        r.stdout.contains("removed from the jobs repo (nuke)"),
        "{}",
        r.stdout
    );
    w.grunt(&["log", "77"]).failure("no job");
}

/// As [`RUNNER`]; a job holding a file `noisy` also writes `stamp.txt` (the time in ns), a
/// result no rerun reproduces.
const NOISY_RUNNER: &str = r#"#!/bin/sh
ts() { date -u '+%Y-%m-%d %H:%M:%S UTC'; }
case "$1" in
  submit) echo 7 > job.slurmid; ts > job.start; sh sim.sh $(cat job.args) > job.out
          if [ -f noisy ]; then date +%s%N > stamp.txt; fi
          echo 0 > job.exitcode; ts > job.end ;;
  results) echo out.csv; if [ -f stamp.txt ]; then echo stamp.txt; fi ;;
esac
"#;

#[test]
fn reproduce_writes_the_job_or_a_patched_checkout_and_rerun_verify_compares_results() {
    let w = World::new(NOISY_RUNNER, "");
    let sim = w.project.join("sim.sh");
    let mut text = std::fs::read_to_string(&sim).unwrap();
    text.push_str("echo not committed\n");
    std::fs::write(&sim, &text).unwrap();
    w.grunt(&["submit", "0.5", "-m", "dirty"]).success();

    // The job's exact files.
    let dir = w.tmp.path().join("copy");
    let r = w
        .grunt(&["reproduce", "1", dir.to_str().unwrap()])
        .success();
    assert!(r.stdout.contains("wrote the"), "{}", r.stdout);
    assert_eq!(std::fs::read_to_string(dir.join("sim.sh")).unwrap(), text);
    assert_eq!(
        std::fs::read_to_string(dir.join("job.message")).unwrap(),
        "dirty\n"
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(dir.join("grunter"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o111, 0o111);
    // Not into a directory with files, unless forced.
    std::fs::write(dir.join("sim.sh"), "mine\n").unwrap();
    let r = w
        .grunt(&["reproduce", "1", dir.to_str().unwrap()])
        .failure("not empty");
    assert_eq!(r.code, Some(2));
    assert_eq!(
        std::fs::read_to_string(dir.join("sim.sh")).unwrap(),
        "mine\n"
    );
    w.grunt(&["reproduce", "1", dir.to_str().unwrap(), "--force"])
        .success();
    assert_eq!(std::fs::read_to_string(dir.join("sim.sh")).unwrap(), text);

    // A worktree at the job's commit with job.patch applied: the job's code, not the tip's.
    git(&w, &w.project, &["checkout", "--", "sim.sh"]);
    std::fs::write(w.project.join("later.txt"), "later\n").unwrap();
    git(&w, &w.project, &["add", "later.txt"]);
    git(
        &w,
        &w.project,
        &[
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@x",
            "commit",
            "-qm",
            "later",
        ],
    );
    let wt = w.tmp.path().join("wt");
    let r = w
        .grunt(&["reproduce", "1", wt.to_str().unwrap(), "--checkout"])
        .success();
    assert!(r.stdout.contains("identical to the job's"), "{}", r.stdout);
    assert_eq!(std::fs::read_to_string(wt.join("sim.sh")).unwrap(), text);
    assert!(!wt.join("later.txt").exists());
    assert!(git(&w, &w.project, &["worktree", "list"]).contains("wt"));

    // rerun --verify: identical results, then a job whose results cannot be reproduced.
    let _grund = w.spawn_grund(&[]);
    let r = w
        .grunt(&["rerun", "1", "--verify", "--timeout", "120"])
        .success();
    assert!(
        r.stdout
            .contains("ore000002 reproduces ore000001: 1 result file(s) identical"),
        "{}",
        r.stdout
    );
    std::fs::write(w.project.join("noisy"), "").unwrap();
    git(&w, &w.project, &["add", "noisy"]);
    w.grunt(&["submit", "-m", "noisy"]).success();
    let r = w
        .grunt(&["rerun", "3", "--verify", "--timeout", "120"])
        .failure("results differ");
    assert_eq!(r.code, Some(4));
    assert!(r.stdout.contains("stamp.txt (differs)"), "{}", r.stdout);
    assert!(!r.stdout.contains("out.csv (differs)"), "{}", r.stdout);
}

/// Ends every job at once; a job whose argument is `fail` exits 3.
const ENDING_RUNNER: &str = r#"#!/bin/sh
ts() { date -u '+%Y-%m-%d %H:%M:%S UTC'; }
case "$1" in
  submit) echo 7 > job.slurmid; ts > job.start
          if [ "$(cat job.args)" = fail ]; then echo 3 > job.exitcode; else echo 0 > job.exitcode; fi
          ts > job.end ;;
  status) echo COMPLETED > job.status ;;
esac
"#;

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn notify_runs_once_per_job_and_final_state_across_restarts() {
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("notified.log");
    let script = tmp.path().join("notify.sh");
    grunt_tests::write_exec(
        &script,
        &format!(
            "#!/bin/sh\necho \"$GRUNT_JOBID $GRUNT_PROJECT $GRUNT_STATE $GRUNT_ELAPSED $GRUNT_MESSAGE\" >> {}\n",
            log.display()
        ),
    );
    let w = World::new(
        ENDING_RUNNER,
        &format!("[notify]\ncommand = \"{}\"\n", script.display()),
    );
    w.grunt(&["submit", "-m", "works"]).success();
    w.grunt(&["submit", "fail", "-m", "breaks"]).success();
    w.grund_once().success();
    let got = lines(&log);
    assert_eq!(got.len(), 2, "{got:?}");
    assert!(got[0].starts_with("ore000001 sim Done "), "{got:?}");
    assert!(got[0].ends_with(" works"), "{got:?}");
    assert!(got[1].starts_with("ore000002 sim Failed "), "{got:?}");
    // Touched again by a new grund (a restart) and another command: not notified again.
    w.grunt(&["status", "1", "2"]).success();
    w.grund_once().success();
    w.grund_once().success();
    assert_eq!(lines(&log).len(), 2, "{:?}", lines(&log));

    // No [notify] in the project: grund.toml's, for all projects. Its failure is logged, and
    // it is not retried.
    let global = tmp.path().join("global.log");
    std::fs::write(
        w.server.home.join("gruntsrv/grund.toml"),
        format!(
            "[notify]\ncommand = \"echo global $GRUNT_JOBID $GRUNT_STATE >> {}; exit 1\"\n",
            global.display()
        ),
    )
    .unwrap();
    std::fs::write(w.project.join("grunt.toml"), "").unwrap();
    w.grunt(&["submit", "-m", "third"]).success();
    let r = w.grund_once_bin().success();
    assert_eq!(lines(&global), ["global ore000003 Done"]);
    assert!(
        format!("{}{}", r.stdout, r.stderr).contains("not retried"),
        "{}",
        r.stderr
    );
    w.grunt(&["status", "3"]).success();
    w.grund_once().success();
    assert_eq!(lines(&global).len(), 1);
    assert_eq!(lines(&log).len(), 2);

    // Time-limited: a command that hangs is killed at its timeout and logged.
    std::fs::write(
        w.project.join("grunt.toml"),
        "[notify]\ncommand = \"sleep 600\"\ntimeout = 1\n",
    )
    .unwrap();
    w.grunt(&["submit", "-m", "fourth"]).success();
    let r = w.grund_once_bin().success();
    assert!(
        format!("{}{}", r.stdout, r.stderr).contains("TimedOut(1)"),
        "{}",
        r.stderr
    );
}

/// Starts each job; `status` ends it once `$HOME/end-<jobid>` exists (failing with 3 when its
/// point is `x=2`).
const HELD_END_RUNNER: &str = r#"#!/bin/sh
ts() { date -u '+%Y-%m-%d %H:%M:%S UTC'; }
case "$1" in
  submit) echo 7 > job.slurmid; ts > job.start ;;
  status) if [ -e "$HOME/end-$GRUNT_JOBID" ]; then
            if grep -q -- --x=2 job.args; then echo 3 > job.exitcode; else echo 0 > job.exitcode; fi
            ts > job.end; echo COMPLETED > job.status
          fi ;;
esac
"#;

#[test]
fn a_sweep_notifies_once_when_its_last_point_ends_across_restarts() {
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("notified.log");
    let script = tmp.path().join("notify.sh");
    grunt_tests::write_exec(
        &script,
        &format!(
            "#!/bin/sh\nif [ -n \"$GRUNT_SWEEP\" ]; then\n  echo \"sweep $GRUNT_SWEEP ${{GRUNT_JOBID-}}${{GRUNT_STATE-}}points=$GRUNT_SWEEP_POINTS done=$GRUNT_SWEEP_DONE failed=$GRUNT_SWEEP_FAILED timeout=$GRUNT_SWEEP_TIMEOUT $GRUNT_MESSAGE\"\nelse\n  echo \"job $GRUNT_JOBID $GRUNT_STATE\"\nfi >> {}\n",
            log.display()
        ),
    );
    let w = World::new(
        HELD_END_RUNNER,
        &format!("[notify]\ncommand = \"{}\"\n", script.display()),
    );
    w.grunt(&["submit", "--sweep", "x=1..3", "-m", "grid"])
        .success();
    w.grund_once().success();
    let end = |n: u32| std::fs::write(w.server.home.join(format!("end-ore00000{n}")), "").unwrap();
    // Two of three points end: their jobs notify, the sweep does not.
    end(1);
    end(2);
    w.grunt(&["status", "1", "2"]).success();
    w.grund_once().success();
    assert_eq!(
        lines(&log),
        ["job ore000001 Done", "job ore000002 Failed"],
        "{:?}",
        lines(&log)
    );
    // The last one ends (seen by another grund, the binary): the sweep notifies, once.
    end(3);
    w.grunt(&["status", "3"]).success();
    w.grund_once_bin().success();
    assert_eq!(
        lines(&log),
        [
            "job ore000001 Done",
            "job ore000002 Failed",
            "job ore000003 Done",
            "sweep ore000001 points=3 done=2 failed=1 timeout=0 grid",
        ],
        "{:?}",
        lines(&log)
    );
    // Touched again after restarts: nothing more.
    w.grunt(&["status", "1..3"]).success();
    w.grund_once().success();
    w.grund_once_bin().success();
    assert_eq!(lines(&log).len(), 4, "{:?}", lines(&log));
}

#[test]
fn rerun_keeps_project_files_named_like_job_files_and_drops_the_runners() {
    let w = World::new(ENDING_RUNNER, "");
    std::fs::write(w.project.join("job.cfg"), "size = 3\n").unwrap();
    grunt_tests::run("git", &["add", "job.cfg"], &w.project, &[]).success();
    w.grunt(&["submit", "-m", "with a job.cfg"]).success();
    w.grund_once().success();
    // Archived first: the job as submitted is found through the move.
    w.grunt(&["archive", "1"]).success();
    w.grund_once().success();
    w.grunt(&["rerun", "1"]).success();
    let file = |name: &str| World::file_in(&w.bare_jobs(), &format!("active/ore000002/sim/{name}"));
    assert_eq!(file("job.cfg").as_deref(), Some("size = 3\n"));
    for runners in ["job.start", "job.end", "job.slurmid", "job.exitcode"] {
        assert!(file(runners).is_none(), "{runners} carried into the rerun");
    }
    assert!(file("job.message")
        .unwrap()
        .starts_with("rerun of ore000001: "));
    assert!(
        file("job.commit").is_some(),
        "the source's provenance stays"
    );
    w.grund_once().success();
    assert_eq!(w.job_state("ore000002").as_deref(), Some("Done"));
}

#[test]
fn inputs_are_hashed_at_submit_cached_and_diffed() {
    let w = World::new(
        ENDING_RUNNER,
        "[inputs]\npaths = [\"data/set\", \"data/one.csv\", \"data/gone\"]\n",
    );
    let data = w.server.home.join("data");
    std::fs::create_dir_all(data.join("set/sub")).unwrap();
    std::fs::write(data.join("set/a.csv"), "1,2\n").unwrap();
    std::fs::write(data.join("set/sub/b.csv"), "3,4\n").unwrap();
    std::fs::write(data.join("one.csv"), "abc").unwrap();
    w.grunt(&["submit", "-m", "first"]).success();
    let r = w.grund_once_bin().success();
    assert!(
        format!("{}{}", r.stdout, r.stderr).contains("\"data/gone\""),
        "a missing input is a warning: {}",
        r.stderr
    );
    let rec =
        World::file_in(&w.bare_jobs(), "active/ore000001/sim/job.inputs").expect("job.inputs");
    assert!(
        rec.contains(
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad 3 file data/one.csv"
        ),
        "{rec}"
    );
    assert!(rec.contains(" 8 dir data/set\n"), "{rec}");
    assert!(rec.contains("- 0 missing data/gone\n"), "{rec}");
    let r = w.grunt(&["show", "1"]).success();
    assert!(
        r.stdout.contains("data/gone (missing at submit)"),
        "{}",
        r.stdout
    );

    // A file of the dataset changes: the next job's tree hash differs, the rest is the same.
    std::fs::write(data.join("set/sub/b.csv"), "3,5\n").unwrap();
    w.grunt(&["submit", "-m", "second"]).success();
    w.grund_once().success();
    let r = w.grunt(&["diff", "--inputs", "1", "2"]).success();
    assert!(r.stdout.contains("changed  data/set:"), "{}", r.stdout);
    assert!(r.stdout.contains("same     data/one.csv"), "{}", r.stdout);
    assert!(r.stdout.contains("1 input(s) differ"), "{}", r.stdout);

    // An unchanged file is not hashed again: its cached hash is what the next job records.
    let cache = w.server.home.join("gruntsrv/grund-inputs.cache");
    let text = std::fs::read_to_string(&cache).expect("the cache");
    let real = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
    assert!(text.contains(real), "{text}");
    std::fs::write(&cache, text.replace(real, &"0".repeat(64))).unwrap();
    w.grunt(&["submit", "-m", "third"]).success();
    w.grund_once().success();
    let rec = World::file_in(&w.bare_jobs(), "active/ore000003/sim/job.inputs").unwrap();
    assert!(
        rec.contains(&format!("{} 3 file data/one.csv", "0".repeat(64))),
        "{rec}"
    );
}

fn branches(w: &World, bare: &Path) -> String {
    git(
        w,
        bare,
        &[
            "for-each-ref",
            "--format=%(refname) %(objectname)",
            "refs/heads",
        ],
    )
}

#[test]
fn a_clone_shared_project_takes_numbers_ranges_and_lists_as_its_owner_does() {
    let w = World::new(RUNNER, "");
    for (arg, msg) in [("0.1", "one"), ("0.2", "two"), ("0.3", "three")] {
        w.grunt(&["submit", arg, "-m", msg]).success();
    }
    w.grund_once().success();
    w.grunt(&["results", "1..3"]).success();
    w.grunt(&["nuke", "3", "--yes"]).success();
    w.grund_once().success();
    let remote = w.tmp.path().join("runs.git");
    git(
        &w,
        w.tmp.path(),
        &["init", "-q", "--bare", remote.to_str().unwrap()],
    );
    let url = remote.to_str().unwrap();
    w.grunt(&["share", url]).success();
    // A colleague whose user name makes no job prefix of their own (digits only).
    let bob = grunt_tests::Account::new(w.tmp.path(), "bobhome", "42");
    w.grunt_as(&bob, &bob.home, &["clone-shared", url])
        .success();
    let proj = bob.home.join("sim");
    let g = |args: &[&str]| w.grunt_as(&bob, &proj, args).success().stdout;
    assert!(g(&["show", "2"]).contains("two"));
    assert!(g(&["out", "1"]).contains("ran with: 0.1"));
    assert!(g(&["diff", "1", "2"]).contains("ore000001"));
    for spec in ["1..2", "1,2", "ore000001..2"] {
        let v: serde_json::Value = serde_json::from_str(&g(&["jobs", spec, "--json"])).unwrap();
        let ids: Vec<&str> = v
            .as_array()
            .unwrap()
            .iter()
            .map(|j| j["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, ["ore000001", "ore000002"], "{spec}");
    }
    // A number means the owner's job even when it is gone from the tip, as `log` has it.
    let log = g(&["log", "3"]);
    assert!(log.contains("ore000003") && log.contains("nuke"), "{log}");
    // Read-only: a command or a submit is refused, and nothing goes into the mirror.
    let before = g(&["jobs", "--json"]);
    w.grunt_as(&bob, &proj, &["status", "1"])
        .failure("read-only");
    w.grunt_as(&bob, &proj, &["submit", "0.4", "-m", "mine"])
        .failure("read-only");
    assert_eq!(g(&["jobs", "--json"]), before);
}

#[test]
fn share_pushes_a_mirror_that_clone_shared_browses_and_export_writes_a_page() {
    let w = World::new(RUNNER, "");
    w.grunt(&["submit", "0.1", "-m", "one"]).success();
    w.grunt(&["submit", "0.2", "-m", "two"]).success();
    w.grund_once().success();
    w.grunt(&["results", "1", "2"]).success();
    w.grund_once().success();
    let remote = w.tmp.path().join("runs.git");
    git(
        &w,
        w.tmp.path(),
        &["init", "-q", "--bare", remote.to_str().unwrap()],
    );
    let url = remote.to_str().unwrap();
    let r = w.grunt(&["share", url]).success();
    assert!(r.stdout.contains("grunt/sim/jobs"), "{}", r.stdout);
    let b = branches(&w, &remote);
    assert!(b.contains("refs/heads/grunt/sim/jobs"), "{b}");
    assert!(b.contains("refs/heads/grunt/sim/results"), "{b}");

    // A colleague without a server browses it.
    let bob = grunt_tests::Account::new(w.tmp.path(), "bobhome", "bob");
    let r = w
        .grunt_as(&bob, &bob.home, &["clone-shared", url])
        .success();
    assert!(
        r.stdout.contains("cloned the shared record of sim"),
        "{}",
        r.stdout
    );
    let proj = bob.home.join("sim");
    let r = w.grunt_as(&bob, &proj, &["jobs", "--json"]).success();
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 2, "{}", r.stdout);
    let r = w.grunt_as(&bob, &proj, &["show", "ore000002"]).success();
    assert!(r.stdout.contains("two"), "{}", r.stdout);
    let r = w.grunt_as(&bob, &proj, &["out", "ore000001"]).success();
    assert!(r.stdout.contains("ran with: 0.1"), "{}", r.stdout);
    let r = w
        .grunt_as(&bob, &proj, &["diff", "ore000001", "ore000002"])
        .success();
    assert!(r.stdout.contains("no differences"), "{}", r.stdout);
    let out = bob
        .home
        .join("gruntdat/wc/shared/bob/sim/results/active/ore000001/sim/out.csv");
    assert!(std::fs::read_to_string(&out).unwrap().contains("1,0.1"));

    // Not over a directory set up for another server.
    let mine = bob.home.join("mine");
    std::fs::create_dir_all(&mine).unwrap();
    std::fs::write(mine.join("grunt.server"), "clust\n").unwrap();
    w.grunt_as(&bob, &bob.home, &["clone-shared", url, "--dir", "mine"])
        .failure("another server or project");
    assert_eq!(
        std::fs::read_to_string(mine.join("grunt.server")).unwrap(),
        "clust\n"
    );

    // Sharing again moves the branches forward; cloning again updates.
    w.grunt(&["submit", "0.3", "-m", "three"]).success();
    w.grunt(&["share", url]).success();
    w.grunt_as(&bob, &bob.home, &["clone-shared", url])
        .success();
    let r = w.grunt_as(&bob, &proj, &["jobs", "--json"]).success();
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 3, "{}", r.stdout);

    // A remote whose branch has another history is refused, with nothing pushed.
    let other = w.tmp.path().join("other.git");
    git(
        &w,
        w.tmp.path(),
        &["init", "-q", "--bare", other.to_str().unwrap()],
    );
    let scratch = w.tmp.path().join("scratch");
    std::fs::create_dir_all(&scratch).unwrap();
    git(&w, &scratch, &["init", "-q"]);
    std::fs::write(scratch.join("x"), "x").unwrap();
    git(&w, &scratch, &["add", "x"]);
    git(
        &w,
        &scratch,
        &[
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@x",
            "commit",
            "-qm",
            "x",
        ],
    );
    git(
        &w,
        &scratch,
        &[
            "push",
            "-q",
            other.to_str().unwrap(),
            "HEAD:refs/heads/grunt/sim/results",
        ],
    );
    let before = branches(&w, &other);
    w.grunt(&["share", other.to_str().unwrap()])
        .failure("not this project's");
    assert_eq!(branches(&w, &other), before, "nothing pushed");

    // --jobs: only the chosen jobs leave.
    let some = w.tmp.path().join("some.git");
    git(
        &w,
        w.tmp.path(),
        &["init", "-q", "--bare", some.to_str().unwrap()],
    );
    w.grunt(&["share", some.to_str().unwrap(), "--jobs", "2"])
        .success();
    let carol = grunt_tests::Account::new(w.tmp.path(), "carolhome", "carol");
    w.grunt_as(
        &carol,
        &carol.home,
        &["clone-shared", some.to_str().unwrap()],
    )
    .success();
    let r = w
        .grunt_as(&carol, &carol.home.join("sim"), &["jobs", "--json"])
        .success();
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let ids: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["ore000002"]);
    let all = git(&w, &some, &["log", "--all", "--format=%H"]);
    assert_eq!(
        all.lines().count(),
        2,
        "one snapshot commit per repo, no history: {all}"
    );

    // export --html: the runs table, with links to outputs and results.
    let r = w.grunt(&["export", "--html", "site"]).success();
    assert!(r.stdout.contains("3 runs"), "{}", r.stdout);
    let page = std::fs::read_to_string(w.project.join("site/index.html")).unwrap();
    for needle in [
        "ore000001",
        "one",
        "files/ore000001/out.csv",
        "files/ore000002/job.out",
    ] {
        assert!(page.contains(needle), "{needle} in {page}");
    }
    assert!(
        std::fs::read_to_string(w.project.join("site/files/ore000001/out.csv"))
            .unwrap()
            .contains("1,0.1")
    );
    w.grunt(&["export", "--html", "site"]).failure("not empty");
    w.grunt(&["export", "--html", "site", "--force"]).success();
}
