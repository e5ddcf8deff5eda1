//! Round trips and runner calls at the floor (issue 8, items 6 and 7):
//!
//! - an explicit `grunt status` of many jobs is ONE `batch-status` runner call when the runner
//!   has it, and one `status` per job when it has not (the original `grunter.py`);
//! - over ssh, `submit` is one push (no fetch first; a rejected push is fetched and replayed),
//!   and `--wait` asks the server once: `grunt await` there blocks until grund has answered
//!   and sends the answer back; without `grunt` on the server it polls. The server's `grunt` is
//!   named explicitly (`GRUNT_REMOTE_GRUNT`), so nothing depends on sshd's PATH. The push
//!   itself goes through the server's `grunt receive`, which also waits (see `receive.rs`).

use std::path::Path;

use grunt_tests::sshworld::{Options, SshWorld};
use grunt_tests::{wait_until, Run, World};

/// A runner whose jobs end at once: `submit` writes every file of a finished job (so grund's
/// periodic refresh never has a live job to ask about), `status` writes `job.status`, and
/// `batch-status` (when `batch` is set; else it is refused as the original `grunter.py`
/// refuses unknown words) answers for every job of the request. With `log`, every call
/// appends `<word> <jobid>` to that file.
fn runner(log: Option<&Path>, batch: bool) -> String {
    let log_line = match log {
        Some(p) => format!(
            "printf '%s %s\\n' \"$1\" \"$GRUNT_JOBID\" >> '{}'\n",
            p.display()
        ),
        None => String::new(),
    };
    let batch_case = if batch {
        "  batch-status)\n    tab=$(printf '\\t')\n    while IFS=\"$tab\" read -r id bid dir; do echo \"$id COMPLETED 0\"; done < \"$GRUNT_BATCH_FILE\" ;;\n"
    } else {
        ""
    };
    format!(
        "#!/bin/sh\n{log_line}now() {{ date -u '+%Y-%m-%d %H:%M:%S UTC'; }}\ncase \"$1\" in\n\
         \x20 submit) echo 4242 > job.slurmid; now > job.start; now > job.end; echo 0 > job.exitcode ;;\n\
         \x20 status) echo COMPLETED > job.status; echo COMPLETED ;;\n\
         \x20 results) ;;\n{batch_case}\
         \x20 *) echo \"unknown command: $1\" >&2; exit 1 ;;\nesac\n"
    )
}

/// The runner calls logged so far, as (word, job id).
fn calls(log: &Path) -> Vec<(String, String)> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(w, j)| (w.to_string(), j.to_string()))
        .collect()
}

/// 40 finished jobs, submitted and processed, with an empty call log.
fn forty_jobs(batch: bool) -> (World, std::path::PathBuf, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("calls.log");
    let w = World::new(&runner(Some(&log), batch), "");
    for _ in 0..40 {
        w.grunt(&["submit", "-m", "many"]).success();
    }
    w.grund_once().success();
    assert_eq!(
        calls(&log).iter().filter(|(w, _)| w == "submit").count(),
        40
    );
    std::fs::write(&log, "").unwrap();
    (w, log, dir)
}

#[test]
fn explicit_status_of_40_jobs_is_one_batch_status_call() {
    let (w, log, _dir) = forty_jobs(true);
    w.grunt(&["status", "1..40"]).success();
    w.grund_once().success();
    // Before: 40 `status` calls, one scheduler query each.
    assert_eq!(
        calls(&log),
        vec![("batch-status".to_string(), "ore000040".to_string())],
        "one runner call for the 40 jobs"
    );
    for n in [1, 17, 40] {
        let job = format!("active/ore{n:06}/sim");
        assert_eq!(
            World::file_in(&w.bare_jobs(), &format!("{job}/job.status")).as_deref(),
            Some("COMPLETED\n"),
            "{job}: the answer is committed"
        );
        assert!(World::file_in(&w.bare_jobs(), &format!("{job}/job.list")).is_some());
    }
    // One job alone still gets the runner's own `status`.
    std::fs::write(&log, "").unwrap();
    w.grunt(&["status", "3"]).success();
    w.grund_once().success();
    assert_eq!(
        calls(&log),
        vec![("status".to_string(), "ore000003".to_string())]
    );
}

#[test]
fn explicit_status_without_batch_status_asks_each_job() {
    let (w, log, _dir) = forty_jobs(false);
    w.grunt(&["status", "1..40"]).success();
    w.grund_once().success();
    let c = calls(&log);
    assert_eq!(
        c.iter().filter(|(w, _)| w == "batch-status").count(),
        1,
        "{c:?}"
    );
    let asked: Vec<&str> = c
        .iter()
        .filter(|(w, _)| w == "status")
        .map(|(_, j)| j.as_str())
        .collect();
    let want: Vec<String> = (1..=40).map(|n| format!("ore{n:06}")).collect();
    assert_eq!(asked, want, "every job's own status, in order");
    for n in [1, 40] {
        let job = format!("active/ore{n:06}/sim");
        assert_eq!(
            World::file_in(&w.bare_jobs(), &format!("{job}/job.status")).as_deref(),
            Some("COMPLETED\n")
        );
        assert_eq!(
            World::file_in(&w.bare_jobs(), &format!("{job}/job.error")),
            None,
            "the refused batch-status is no job's error"
        );
    }
}

const REMOTE_GRUNT: &str = "GRUNT_REMOTE_GRUNT";

fn ssh_world() -> Option<SshWorld> {
    SshWorld::new(&Options {
        control_master: true,
        grunt_on_server: false,
        git_on_server: true,
        runner: runner(None, true),
        toml: String::new(),
    })
}

/// `grunt args` over ssh with the server's grunt at `server_grunt`; returns the run and the
/// ssh invocations it made.
fn grunt_ssh(w: &SshWorld, server_grunt: &Path, args: &[&str]) -> (Run, Vec<String>) {
    let before = w.ssh_log().len();
    let r: Run = w
        .grunt_command(args)
        .env(REMOTE_GRUNT, server_grunt)
        .output()
        .unwrap()
        .into();
    (r, w.ssh_log()[before..].to_vec())
}

fn kinds(lines: &[String]) -> Vec<&'static str> {
    lines
        .iter()
        .map(|l| {
            if l.contains("git-receive-pack") {
                "push"
            } else if l.contains("git-upload-pack") {
                "fetch"
            } else if l.contains(" await ") {
                "await"
            } else if l.contains(" receive ") {
                "receive"
            } else {
                "other"
            }
        })
        .collect()
}

/// The commit a ref names, in a client clone or a server repo.
fn tip(w: &SshWorld, repo: &Path, name: &str) -> String {
    let r = w.server_git(repo, &["rev-parse", name]);
    assert!(r.ok, "{}", r.stderr);
    r.stdout.trim().to_string()
}

fn client_clone(w: &SshWorld, kind: &str) -> std::path::PathBuf {
    w.client
        .home
        .join(format!("gruntdat/wc/{}/ore/sim/{kind}/.git", w.server_name))
}

#[test]
fn status_wait_asks_the_server_once() {
    let Some(w) = ssh_world() else { return };
    w.newproj().success();
    let _grund = w.spawn_grund();
    let grunt = w.server_bin_dir().join("grunt");
    let (r, _) = grunt_ssh(&w, &grunt, &["submit", "--wait=60", "-m", "one"]);
    let r = r.success();
    assert!(r.stdout.contains("Done"), "{}", r.stdout);

    let (r, ssh) = grunt_ssh(&w, &grunt, &["status", "--wait=60", "1"]);
    let r = r.success();
    // Before: a fetch, the push, then a fetch every 0.1-2 s until the answer was there; then
    // a push and an await. Now the receive waits for the answer in the same session.
    assert_eq!(kinds(&ssh), ["receive"], "{ssh:#?}");
    assert!(r.stdout.contains("ore000001"), "{}", r.stdout);
    // The answer came with the await: both clones are at the server's tips, no fetch needed.
    for kind in ["jobs", "results"] {
        assert_eq!(
            tip(&w, &client_clone(&w, kind), "refs/remotes/origin/master"),
            tip(&w, &w.bare(kind), "master"),
            "{kind}"
        );
    }
    let status = tip(
        &w,
        &client_clone(&w, "jobs"),
        "master:active/ore000001/sim/job.status",
    );
    let blob = w.server_git(&client_clone(&w, "jobs"), &["cat-file", "-p", &status]);
    assert_eq!(blob.stdout, "COMPLETED\n");
}

#[test]
fn await_gives_up_at_the_deadline() {
    let Some(w) = ssh_world() else { return };
    w.newproj().success();
    let mut grund = w.spawn_grund();
    let grunt = w.server_bin_dir().join("grunt");
    grunt_ssh(&w, &grunt, &["submit", "--wait=60", "-m", "one"])
        .0
        .success();
    grund.kill();
    let (r, ssh) = grunt_ssh(&w, &grunt, &["status", "--wait=2", "1"]);
    assert_eq!(r.code, Some(3), "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("has not answered within 2 s"),
        "{}",
        r.stderr
    );
    // The one session, then the look at grund's health for the message.
    assert_eq!(&kinds(&ssh)[..1], ["receive"], "{ssh:#?}");
    assert!(!kinds(&ssh).contains(&"push"), "{ssh:#?}");
}

#[test]
fn status_wait_polls_without_grunt_on_the_server() {
    let Some(w) = ssh_world() else { return };
    w.newproj().success();
    let _grund = w.spawn_grund();
    let none = Path::new("/nonexistent/grunt");
    grunt_ssh(&w, none, &["submit", "--wait=60", "-m", "one"])
        .0
        .success();
    let (r, ssh) = grunt_ssh(&w, none, &["status", "--wait=60", "1"]);
    let r = r.success();
    assert!(r.stdout.contains("ore000001"), "{}", r.stdout);
    let k = kinds(&ssh);
    assert_eq!(&k[..2], ["push", "await"], "{ssh:#?}");
    assert!(
        k[2..].iter().all(|k| *k == "fetch") && k.len() >= 4,
        "{ssh:#?}"
    );
    assert_eq!(
        tip(&w, &client_clone(&w, "jobs"), "refs/remotes/origin/master"),
        tip(&w, &w.bare("jobs"), "master")
    );
}

#[test]
fn submit_pushes_without_fetching_first() {
    let Some(w) = ssh_world() else { return };
    w.newproj().success();
    let _grund = w.spawn_grund();
    let grunt = w.server_bin_dir().join("grunt");
    grunt_ssh(&w, &grunt, &["submit", "--wait=60", "-m", "one"])
        .0
        .success();
    // The clone is current: the submit is one push. Before: a fetch, then the push.
    let (r, ssh) = grunt_ssh(&w, &grunt, &["submit", "-m", "two"]);
    assert!(r.success().stdout.contains("submitted job ore000002"));
    assert_eq!(kinds(&ssh), ["receive"], "{ssh:#?}");
    // grund answers job 2: the server moves past what this client saw.
    wait_until(60, "grund's answer to job 2", || {
        let s = w.server_git(&w.bare("jobs"), &["show", "master:grund_status.txt"]);
        let cur = s
            .stdout
            .lines()
            .find_map(|l| l.strip_prefix("commit_cur: "));
        cur.is_some_and(|c| c == tip(&w, &client_clone(&w, "jobs"), "master"))
    });
    // The stale push is rejected, fetched and replayed, never forced.
    let (r, ssh) = grunt_ssh(&w, &grunt, &["submit", "-m", "three"]);
    assert!(r.success().stdout.contains("submitted job ore000003"));
    // (grund may commit once more meanwhile, e.g. its refresh of the ended job 2: another
    // fetch and replay.)
    let k = kinds(&ssh);
    assert_eq!(&k[..3], ["receive", "fetch", "receive"], "{ssh:#?}");
    assert!(
        k[3..].chunks(2).all(|c| c == ["fetch", "receive"]),
        "{ssh:#?}"
    );
    let log = w.server_git(&w.bare("jobs"), &["log", "--format=%s", "master"]);
    let subjects: Vec<&str> = log.stdout.lines().collect();
    // (grund may already have answered job 3 on top of it.)
    let three = subjects
        .iter()
        .position(|s| s.starts_with("Submit job: ore000003"));
    let Some(three) = three else {
        panic!("job 3 is not on the server: {subjects:?}")
    };
    assert!(
        subjects[..three].iter().all(|s| s.starts_with("GRUND: ")),
        "{subjects:?}"
    );
    assert!(
        subjects[three + 1].starts_with("GRUND: processed"),
        "job 3 is on top of grund's answer: {subjects:?}"
    );
}
