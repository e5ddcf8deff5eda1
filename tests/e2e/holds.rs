//! Jobs grund holds back: the cap on jobs in flight (`[queue] max_in_flight`, `Queued`) and
//! dependencies (`submit --after`, `--after-any`: `Waiting`, then submitted or `Canceled`),
//! with real grunt and grund processes. Each `grund --once` is a new grund: the queue lives in
//! the repo and on disk, not in a process.

use grunt_tests::World;

/// A runner whose jobs start and never end by themselves: the test ends them. Every submit
/// is logged, to count them.
const RUNNER: &str = "#!/bin/sh\necho \"$1 $GRUNT_JOBID\" >> \"$HOME/calls.log\"\nif [ \"$1\" = submit ]; then\n  date -u '+%Y-%m-%d %H:%M:%S UTC' > job.start; echo $$ > job.slurmid\n  echo \"$GRUNT_JOBID\" >> \"$HOME/submits.log\"\nfi\n";

fn submits(w: &World) -> Vec<String> {
    std::fs::read_to_string(w.server.home.join("submits.log"))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

/// Ends job `n` on the server's disk with `code`, as a job's own wrapper would.
fn end(w: &World, n: u32, code: i32) {
    let dir = w.server_jobs_dir().join(format!("active/ore{n:06}/sim"));
    assert!(dir.is_dir(), "{}", dir.display());
    std::fs::write(dir.join("job.exitcode"), format!("{code}\n")).unwrap();
    std::fs::write(dir.join("job.end"), "2026-12-07 12:00:00 UTC\n").unwrap();
}

fn states(w: &World) -> Vec<(String, String, String)> {
    w.jobs_json()
        .into_iter()
        .map(|j| {
            (
                j["id"].as_str().unwrap().to_string(),
                j["state"].as_str().unwrap().to_string(),
                j["reason"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

fn state(w: &World, n: u32) -> (String, String) {
    let id = format!("ore{n:06}");
    let (_, s, r) = states(w).into_iter().find(|(i, _, _)| *i == id).unwrap();
    (s, r)
}

#[test]
fn a_cap_queues_jobs_and_submits_them_as_others_end() {
    let w = World::new(RUNNER, "[queue]\nmax_in_flight = 2\n");
    w.grunt(&["submit", "--sweep", "x=1..5", "-m", "capped"])
        .success();
    w.grund_once().success();
    assert_eq!(submits(&w), ["ore000001", "ore000002"]);
    let (s, why) = state(&w, 3);
    assert_eq!(s, "Queued");
    assert!(
        why.contains("the cap ([queue] max_in_flight) is 2"),
        "{why}"
    );
    assert_eq!(state(&w, 5).0, "Queued");
    // Nothing ended: another grund changes nothing, and a status of the queued jobs does not
    // reach the runner (it logs every call).
    w.grunt(&["status", "3..5"]).success();
    w.grund_once().success();
    let calls = std::fs::read_to_string(w.server.home.join("calls.log")).unwrap_or_default();
    assert!(!calls.contains("status ore000003"), "{calls}");
    assert_eq!(submits(&w).len(), 2);
    // One ends: the oldest queued job goes.
    end(&w, 1, 0);
    w.grund_once().success();
    assert_eq!(submits(&w), ["ore000001", "ore000002", "ore000003"]);
    assert_eq!(state(&w, 3).0, "Running");
    assert_eq!(state(&w, 4).0, "Queued");
    // A grund killed after the runner's submit but before it lifted the hold leaves job.held
    // on disk: the next one finishes the release without a second submit, whatever the cap.
    let held3 = w.server_jobs_dir().join("active/ore000003/sim/job.held");
    std::fs::write(&held3, "Queued\n2 jobs in flight\n").unwrap();
    w.grund_once().success();
    assert!(!held3.exists(), "the release was finished");
    assert_eq!(submits(&w).len(), 3, "and not submitted again");
    assert_eq!(state(&w, 3).0, "Running");
    // A queued job can be canceled; it is never submitted.
    w.grunt(&["cancel", "4"]).success();
    w.grund_once().success();
    assert_eq!(
        state(&w, 4),
        ("Canceled".into(), "canceled while Queued".into())
    );
    end(&w, 2, 1);
    end(&w, 3, 0);
    w.grund_once().success();
    w.grund_once().success();
    assert_eq!(
        submits(&w),
        ["ore000001", "ore000002", "ore000003", "ore000005"],
        "each job once, the canceled one never"
    );
    assert!(World::file_in(&w.bare_jobs(), "active/ore000005/sim/job.held").is_none());
}

#[test]
fn after_waits_for_its_jobs_and_is_canceled_when_one_fails() {
    let w = World::new(RUNNER, "");
    w.grunt(&["submit", "1", "-m", "first"]).success();
    w.grunt(&["submit", "2", "-m", "second"]).success();
    // An unknown job is refused before anything is pushed.
    w.grunt(&["submit", "--after", "9", "-m", "x"])
        .failure("no job 9 in project sim");
    w.grunt(&["submit", "--after", "1,2", "3", "-m", "after both"])
        .success();
    w.grunt(&["submit", "4", "-m", "after 2 anyhow", "--after-any", "2"])
        .success();
    w.grund_once().success();
    assert_eq!(submits(&w), ["ore000001", "ore000002"]);
    let (s, why) = state(&w, 3);
    assert_eq!(s, "Waiting");
    assert!(why.contains("ore000001 (Running)"), "{why}");
    assert_eq!(state(&w, 4).0, "Waiting");
    end(&w, 1, 0);
    w.grund_once().success();
    assert_eq!(state(&w, 3).0, "Waiting", "2 still runs");
    // 2 fails: 3 (--after) is canceled, 4 (--after-any) runs.
    end(&w, 2, 3);
    w.grund_once().success();
    assert_eq!(
        state(&w, 3),
        ("Canceled".into(), "ore000002 ended Failed(3)".into())
    );
    assert_eq!(state(&w, 4).0, "Running");
    assert_eq!(submits(&w), ["ore000001", "ore000002", "ore000004"]);
    // An older client sees the original rule's state: canceled, and a waiting job pending.
    w.grunt(&["submit", "--after=4", "5", "-m", "after 4"])
        .success();
    w.grund_once().success();
    assert_eq!(state(&w, 5).0, "Waiting");
    let held = World::file_in(&w.bare_jobs(), "active/ore000005/sim/job.held").unwrap();
    assert!(held.starts_with("Waiting\n"), "{held}");
    assert!(World::file_in(&w.bare_jobs(), "active/ore000003/sim/job.canceled").is_some());
    assert!(World::file_in(&w.bare_jobs(), "active/ore000005/sim/job.start").is_none());
    // After a job that ended well, a job goes at once.
    w.grunt(&["submit", "--after", "1", "6", "-m", "after 1"])
        .success();
    w.grund_once().success();
    assert_eq!(state(&w, 6).0, "Running");
}

/// A runner whose jobs end at once: out of memory below 4G, else done. Every submit is
/// logged with the memory it was given.
const MEMORY_RUNNER: &str = "#!/bin/sh\nif [ \"$1\" = submit ]; then\n  now() { date -u '+%Y-%m-%d %H:%M:%S UTC'; }\n  now > job.start; echo $$ > job.slurmid\n  echo \"$GRUNT_JOBID $GRUNT_RES_MEM\" >> \"$HOME/submits.log\"\n  case $GRUNT_RES_MEM in\n    1G|2G) echo OUT_OF_MEMORY > job.status; echo 137 > job.exitcode ;;\n    *) echo 0 > job.exitcode ;;\n  esac\n  now > job.end\nfi\n";

#[test]
fn out_of_memory_is_retried_with_more_memory_as_new_jobs() {
    let toml = "[resources]\nmem = \"1G\"\n\n[retry]\non = [\"OutOfMemory\"]\nattempts = 4\nmem_factor = 2\n";
    let w = World::new(MEMORY_RUNNER, toml);
    // A project file named like a job file stays in every retry.
    std::fs::write(w.project.join("job.cfg"), "size = 3\n").unwrap();
    grunt_tests::run("git", &["add", "job.cfg"], &w.project, &[]).success();
    w.grunt(&["submit", "-m", "needs memory"]).success();
    // Each grund is a new process: one attempt per pass, each a new job naming its parent.
    for _ in 0..4 {
        w.grund_once().success();
    }
    assert_eq!(
        submits(&w),
        ["ore000001 1G", "ore000002 2G", "ore000003 4G"],
        "retried twice, memory doubled each time, then done; nothing twice"
    );
    assert_eq!(state(&w, 1).0, "OutOfMemory");
    assert_eq!(state(&w, 3).0, "Done");
    let file =
        |id: &str, name: &str| World::file_in(&w.bare_jobs(), &format!("active/{id}/sim/{name}"));
    assert_eq!(
        file("ore000002", "job.parent").as_deref(),
        Some("ore000001\n")
    );
    assert_eq!(file("ore000003", "job.attempt").as_deref(), Some("3\n"));
    assert_eq!(
        file("ore000001", "job.retried").as_deref(),
        Some("ore000002\n")
    );
    assert!(file("ore000003", "job.retried").is_none());
    let msg = file("ore000003", "job.message").unwrap();
    assert_eq!(msg, "retry 3 of ore000002 after OutOfMemory: retry 2 of ore000001 after OutOfMemory: needs memory\n");
    assert!(file("ore000003", "grunt.toml")
        .unwrap()
        .contains("mem = \"4G\""));
    assert_eq!(file("ore000003", "job.cfg").as_deref(), Some("size = 3\n"));
    assert!(file("ore000003", "job.start").is_some());
    assert!(
        file("ore000002", "grcmd.submit").is_none(),
        "grund submitted it, no command"
    );
    let r = w.grunt(&["show", "2"]).success();
    assert!(r.stdout.contains("parent    ore000001"), "{}", r.stdout);
    assert!(r.stdout.contains("retried   ore000003"), "{}", r.stdout);

    // A job that fails otherwise is not retried; a rule naming an unknown state is refused.
    std::fs::write(
        w.project.join("grunt.toml"),
        "[retry]\non = [\"OutOfMemry\"]\n",
    )
    .unwrap();
    w.grunt(&["submit", "-m", "typo"])
        .failure("unknown state \"OutOfMemry\"");
}

#[test]
fn a_profile_may_have_its_own_cap() {
    let toml = "[profile.gpu]\ngpus = \"1\"\n\n[queue.profile.gpu]\nmax_in_flight = 1\n";
    let w = World::new(RUNNER, toml);
    w.grunt(&[
        "submit",
        "--profile",
        "gpu",
        "--sweep",
        "x=1..3",
        "-m",
        "on the gpu",
    ])
    .success();
    w.grunt(&["submit", "--sweep", "y=1..2", "-m", "anywhere"])
        .success();
    w.grund_once().success();
    assert_eq!(submits(&w), ["ore000001", "ore000004", "ore000005"]);
    let (s, why) = state(&w, 2);
    assert_eq!(s, "Queued");
    assert!(why.contains("profile gpu"), "{why}");
    end(&w, 1, 0);
    w.grund_once().success();
    assert_eq!(
        submits(&w),
        ["ore000001", "ore000004", "ore000005", "ore000002"]
    );
    assert_eq!(state(&w, 3).0, "Queued");
}
