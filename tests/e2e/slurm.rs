//! The Slurm runner (`runner-examples/slurm/grunter`) and the original grunt's `grunter.py`
//! against a real Slurm, through `grunt` and `grund` end to end.
//!
//! The tests do not start Slurm: `.ci/slurm.sh start` does (CI runs it before the suite). When
//! `sinfo` does not answer they fail under `CI=true` and are skipped, loudly, elsewhere. Every
//! Slurm job a test makes is cancelled when the test ends, however it ends.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use grunt_tests::{grund_bin, write_exec, World};
use serde_json::Value;

/// Whether Slurm answers; under `CI=true` it must.
fn slurm_is_up() -> bool {
    let up = Command::new("sinfo")
        .args(["-h", "-o", "%a"])
        .stderr(Stdio::null())
        .output()
        .is_ok_and(|o| o.status.success() && String::from_utf8_lossy(&o.stdout).contains("up"));
    if up {
        return true;
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "no Slurm answers (`sinfo` fails): CI must run `.ci/slurm.sh start` before the tests"
    );
    eprintln!("SKIPPED: no Slurm (run .ci/slurm.sh start)");
    false
}

fn repo_file(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(rel)
}

fn slurm_runner_text() -> String {
    std::fs::read_to_string(repo_file("runner-examples/slurm/grunter"))
        .expect("runner-examples/slurm/grunter")
}

/// Cancels the Slurm jobs it holds when dropped, so a failed test leaves nothing queued.
#[derive(Debug, Default)]
struct SlurmJobs(Vec<String>);

impl SlurmJobs {
    fn add(&mut self, id: &str) {
        if !id.is_empty() && !self.0.iter().any(|i| i == id) {
            self.0.push(id.to_string());
        }
    }
}

impl Drop for SlurmJobs {
    fn drop(&mut self) {
        if !self.0.is_empty() {
            let _ = Command::new("scancel")
                .args(&self.0)
                .stderr(Stdio::null())
                .status();
        }
    }
}

/// Adds, commits and (for `None`) removes files in the project's git repo.
pub(crate) fn commit(w: &World, files: &[(&str, Option<&str>)]) {
    let repo = git2::Repository::open(&w.project).unwrap();
    let mut idx = repo.index().unwrap();
    for (name, text) in files {
        let path = w.project.join(name);
        match text {
            Some(t) => {
                std::fs::write(&path, t).unwrap();
                idx.add_path(Path::new(name)).unwrap();
            }
            None => {
                std::fs::remove_file(&path).unwrap();
                idx.remove_path(Path::new(name)).unwrap();
            }
        }
    }
    idx.write().unwrap();
    let tree = repo.find_tree(idx.write_tree().unwrap()).unwrap();
    let sig = git2::Signature::new("t", "t@x", &git2::Time::new(1_700_000_100, 0)).unwrap();
    let head = repo.head().unwrap().peel_to_commit().unwrap();
    repo.commit(Some("HEAD"), &sig, &sig, "test files", &tree, &[&head])
        .unwrap();
}

/// `grunt jobs --json` by id.
fn jobs_by_id(w: &World) -> BTreeMap<String, Value> {
    w.jobs_json()
        .into_iter()
        .map(|j| (j["id"].as_str().unwrap_or_default().to_string(), j))
        .collect()
}

/// Polls `f` once a second until it returns `Some`, or panics after `secs` with the last
/// value `last` describes.
fn eventually<T>(secs: u64, what: &str, mut f: impl FnMut() -> Result<T, String>) -> T {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        match f() {
            Ok(v) => return v,
            Err(last) if Instant::now() >= deadline => {
                panic!("timed out after {secs} s waiting for {what}; last: {last}")
            }
            Err(_) => std::thread::sleep(Duration::from_secs(1)),
        }
    }
}

/// `scontrol -o show job ID` as KEY=VALUE pairs.
fn scontrol_job(id: &str) -> BTreeMap<String, String> {
    let out = Command::new("scontrol")
        .args(["-o", "show", "job", id])
        .output()
        .expect("scontrol");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

const JOB_SH: &str = r#"case $1 in
ok) echo "epoch,loss" > out.csv; echo fine ;;
fail) echo failing >&2; exit 3 ;;
sleep) sleep "$2" ;;
sleep-once) [ -f job.parent ] || sleep "$2" ;;
env) echo "greeting=$GREETING from_script=$FROM_SCRIPT args=$*" ;;
esac
"#;

#[test]
fn done_failed_timeout_and_canceled_through_grunt() {
    if !slurm_is_up() {
        return;
    }
    let toml =
        "[run]\ncommand = \"sh job.sh\"\nresults = [\"*.csv\"]\n\n[resources]\ntime = \"1\"\n";
    let w = World::new(&slurm_runner_text(), toml);
    commit(&w, &[("job.sh", Some(JOB_SH))]);
    let _d = w.inproc_grund(Duration::from_millis(250), Duration::from_secs(2));
    let mut slurm = SlurmJobs::default();

    for (args, msg) in [
        (&["ok"][..], "succeeds"),
        (&["fail"], "exits 3"),
        (&["sleep", "150"], "runs past its 1-minute limit"),
        (&["sleep", "150"], "is canceled"),
    ] {
        let mut a = vec!["submit", "--wait=60"];
        a.extend_from_slice(args);
        a.extend_from_slice(&["-m", msg]);
        let r = w.grunt(&a).success();
        assert!(r.stdout.contains("submitted job"), "{}", r.stdout);
    }
    let jobs = jobs_by_id(&w);
    for id in ["ore000001", "ore000002", "ore000003", "ore000004"] {
        let batch = jobs[id]["batch_id"].as_str().unwrap_or_default();
        assert!(
            !batch.is_empty() && batch.bytes().all(|b| b.is_ascii_digit()),
            "{id} has no Slurm job id: {}",
            jobs[id]
        );
        slurm.add(batch);
    }
    // The batch script is Slurm's and carries the profile's time limit.
    let sbatch =
        std::fs::read_to_string(w.server_jobs_dir().join("active/ore000003/sim/job.sbatch"))
            .unwrap();
    assert!(sbatch.contains("#SBATCH --time=1\n"), "{sbatch}");
    assert!(
        sbatch.contains("#SBATCH --job-name=ore000003\n"),
        "{sbatch}"
    );
    let batch3 = jobs["ore000003"]["batch_id"].as_str().unwrap().to_string();
    assert_eq!(scontrol_job(&batch3)["TimeLimit"], "00:01:00");

    // Cancel job 4 once it runs (or still pends: either way it must end Canceled).
    w.grunt(&["cancel", "--wait=60", "4"]).success();

    let want = [
        ("ore000001", "Done"),
        ("ore000002", "Failed(3)"),
        ("ore000003", "Timeout"),
        ("ore000004", "Canceled"),
    ];
    // Slurm kills at the limit plus up to a minute; grund refreshes every 10 s.
    let jobs = eventually(200, "all four end states after plain pulls", || {
        let jobs = jobs_by_id(&w);
        let got: Vec<(String, String)> = want
            .iter()
            .map(|(id, _)| {
                (
                    id.to_string(),
                    jobs[*id]["status"].as_str().unwrap_or("?").into(),
                )
            })
            .collect();
        let done = want.iter().zip(&got).all(|((_, s), (_, g))| s == g);
        if done {
            Ok(jobs)
        } else {
            Err(format!("{got:?}"))
        }
    });
    assert_eq!(
        jobs["ore000003"]["scheduler_status"], "TIMEOUT",
        "{}",
        jobs["ore000003"]
    );
    assert_eq!(jobs["ore000002"]["exit_code"], 3, "{}", jobs["ore000002"]);
    assert_eq!(scontrol_job(&batch3)["JobState"], "TIMEOUT");
    let batch4 = jobs["ore000004"]["batch_id"].as_str().unwrap().to_string();
    assert_eq!(scontrol_job(&batch4)["JobState"], "CANCELLED");

    // The job's own output and result files come back.
    let out = w.grunt(&["out", "1"]).success();
    assert!(out.stdout.contains("fine"), "{}", out.stdout);
    w.grunt(&["results", "--wait=60", "1"]).success();
    let csv = std::fs::read_to_string(w.project.join("gresults/ore000001/out.csv")).unwrap();
    assert_eq!(csv, "epoch,loss\n");
}

#[test]
fn a_profile_reaches_slurm_and_the_job() {
    if !slurm_is_up() {
        return;
    }
    let toml = r#"[run]
command = "sh job.sh"

[resources]
time = "5"
mem = "100M"

[profile.big]
time = "0:10:00"
cpus = 2
partition = "debug"
sbatch = ["--comment=grunt-profile-test"]
env = ["GREETING=hello there"]
env_script = "setup.sh"
"#;
    let w = World::new(&slurm_runner_text(), toml);
    commit(
        &w,
        &[
            ("job.sh", Some(JOB_SH)),
            ("setup.sh", Some("export FROM_SCRIPT=sourced\n")),
        ],
    );
    let _d = w.inproc_grund(Duration::from_millis(250), Duration::from_secs(2));
    let mut slurm = SlurmJobs::default();
    w.grunt(&[
        "submit",
        "--wait=60",
        "--profile",
        "big",
        "env",
        "two words",
        "-m",
        "profile",
    ])
    .success();
    let job = jobs_by_id(&w)["ore000001"].clone();
    let batch = job["batch_id"].as_str().unwrap_or_default().to_string();
    slurm.add(&batch);
    assert!(!batch.is_empty(), "{job}");

    let sc = scontrol_job(&batch);
    assert_eq!(sc["TimeLimit"], "00:10:00", "{sc:?}");
    assert_eq!(sc["Partition"], "debug", "{sc:?}");
    assert_eq!(sc["Comment"], "grunt-profile-test", "{sc:?}");
    assert_eq!(sc["MinMemoryNode"], "100M", "{sc:?}");
    assert_eq!(sc["JobName"], "ore000001", "{sc:?}");
    assert!(
        sc["NumCPUs"] == "2" || sc["CPUs/Task"] == "2",
        "two CPUs per task: {sc:?}"
    );

    eventually(60, "the profile job Done", || {
        match w.job_state("ore000001").as_deref() {
            Some("Done") => Ok(()),
            s => Err(format!("{s:?}")),
        }
    });
    let out = w.grunt(&["out", "1"]).success();
    assert!(
        out.stdout
            .contains("greeting=hello there from_script=sourced args=env two words"),
        "{}",
        out.stdout
    );
}

/// A directory of `squeue`, `sacct` and `scontrol` wrappers that log each call to `log` and
/// run the real command.
fn logging_wrappers(dir: &Path, log: &Path) {
    logging_wrappers_of(dir, log, &["squeue", "sacct", "scontrol"]);
}

/// Wrappers of the Slurm commands `cmds`, as [`logging_wrappers`].
fn logging_wrappers_of(dir: &Path, log: &Path, cmds: &[&str]) {
    std::fs::create_dir_all(dir).unwrap();
    for &cmd in cmds {
        let real = Command::new("sh")
            .args(["-c", &format!("command -v {cmd}")])
            .output()
            .unwrap();
        let real = String::from_utf8_lossy(&real.stdout).trim().to_string();
        assert!(!real.is_empty(), "no {cmd} on PATH");
        write_exec(
            &dir.join(cmd),
            &format!(
                "#!/bin/sh\necho \"{cmd} $*\" >> '{}'\nexec '{real}' \"$@\"\n",
                log.display()
            ),
        );
    }
}

#[test]
fn one_refresh_of_200_active_jobs_is_one_squeue_call() {
    if !slurm_is_up() {
        return;
    }
    const N: usize = 200;
    // Held jobs stay PENDING without using the node.
    let toml = "[run]\ncommand = \"true\"\n\n[resources]\nsbatch = [\"--hold\"]\n";
    let w = World::new(&slurm_runner_text(), toml);
    let t0 = Instant::now();
    for i in 0..N {
        w.grunt(&["submit", "-m", &format!("held {i}")]).success();
    }
    let wrappers = w.tmp.path().join("wrappers");
    let log = w.tmp.path().join("scheduler-calls.log");
    logging_wrappers(&wrappers, &log);
    let path = format!(
        "{}:{}",
        wrappers.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut slurm = SlurmJobs::default();
    // --once: the 200 submits (sbatch), then one refresh.
    let r = w
        .server
        .command(&grund_bin(), &w.server.home)
        .env("PATH", &path)
        .args(["--once", "--server", &w.server_name])
        .output()
        .unwrap();
    let jobs = w.jobs_json();
    for j in &jobs {
        slurm.add(j["batch_id"].as_str().unwrap_or_default());
    }
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    eprintln!("{N} submits and one refresh took {:?}", t0.elapsed());

    let calls = std::fs::read_to_string(&log).unwrap_or_default();
    let count = |c: &str| calls.lines().filter(|l| l.starts_with(c)).count();
    assert_eq!(count("squeue "), 1, "one squeue for {N} jobs:\n{calls}");
    assert_eq!(
        count("sacct "),
        0,
        "nothing for sacct, all are queued:\n{calls}"
    );
    assert_eq!(count("scontrol "), 0, "{calls}");
    let ids: std::collections::BTreeSet<&str> =
        jobs.iter().filter_map(|j| j["batch_id"].as_str()).collect();
    assert_eq!(jobs.len(), N);
    assert_eq!(ids.len(), N, "every job has its own Slurm job id");
    for j in &jobs {
        assert_eq!(j["status"], "Pending", "{j}");
        assert_eq!(j["scheduler_status"], "PENDING", "{j}");
    }
}

/// A project whose runner is the original grunt's Slurm `grunter.py` (and no `grunter`).
fn original_grunter_world() -> World {
    let w = World::new("#!/bin/sh\nexit 1\n", "");
    let original =
        std::fs::read_to_string(repo_file("tests/data/schedulers/slurm/original-grunter.py"))
            .unwrap();
    commit(&w, &[("grunter", None), ("grunter.py", Some(&original))]);
    w
}

#[test]
fn the_original_grunter_py_keeps_working_with_slurm() {
    if !slurm_is_up() {
        return;
    }
    let w = original_grunter_world();
    let _d = w.inproc_grund(Duration::from_millis(250), Duration::from_secs(2));
    let mut slurm = SlurmJobs::default();

    let r = w
        .grunt(&["submit", "--wait=60", "0.5", "-m", "the original runner"])
        .success();
    assert!(r.stdout.contains("submitted job ore000001"), "{}", r.stdout);
    let job_dir = w.server_jobs_dir().join("active/ore000001/sim");
    let id = std::fs::read_to_string(job_dir.join("job.slurmid")).unwrap();
    slurm.add(id.trim());
    assert!(id.trim().bytes().all(|b| b.is_ascii_digit()), "{id:?}");
    assert!(
        std::fs::read_to_string(job_dir.join("job.sbatch"))
            .unwrap()
            .contains("sh sim.sh 0.5"),
        "the original's own batch script"
    );

    // Its status command, through grunt, until the job's files say Done (original rule).
    eventually(90, "the original's job Done", || {
        w.grunt(&["status", "--wait=30", "1"]).success();
        match w.job_state("ore000001").as_deref() {
            Some("Done") => Ok(()),
            s => Err(format!("{s:?}")),
        }
    });
    assert!(
        !job_dir.join("job.exitcode").exists(),
        "the original writes none"
    );
    w.grunt(&["results", "--wait=60", "1"]).success();
    let csv = std::fs::read_to_string(w.project.join("gresults/ore000001/out.csv")).unwrap();
    assert_eq!(csv, "epoch,loss\n1,0.5\n");
}

/// The runner alone (as grund calls it) against the real Slurm, with a logging `sacct`,
/// `squeue` and `scontrol` first on PATH: finished jobs come from sacct when accounting works,
/// and from one `scontrol` call when sacct fails as it does without accounting.
#[test]
fn batch_status_uses_sacct_and_falls_back_to_scontrol() {
    if !slurm_is_up() {
        return;
    }
    let root = tempfile::Builder::new()
        .prefix("grunt slurm batch ")
        .tempdir()
        .unwrap();
    let wrappers = root.path().join("wrappers");
    let log = root.path().join("calls.log");
    logging_wrappers(&wrappers, &log);
    let real_path = std::env::var("PATH").unwrap_or_default();
    let runner = repo_file("runner-examples/slurm/grunter");
    let run = |dir: &Path, word: &str, path: &str, extra: &[(&str, String)]| {
        let out = Command::new(dir.join("grunter"))
            .arg(word)
            .current_dir(dir)
            .env_clear()
            .env("PATH", path)
            .env("HOME", root.path())
            .env("GRUNT_JOB_DIR", dir)
            .env("GRUNT_JOBID", dir.parent().unwrap().file_name().unwrap())
            .env("GRUNT_RUN_COMMAND", "sh -c 'exit $0'")
            .envs(extra.iter().map(|(k, v)| (k, v)))
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let mut slurm = SlurmJobs::default();
    let mut batch = String::new();
    for (id, code) in [("ore000001", "0"), ("ore000002", "3")] {
        let dir = root.path().join(id).join("sim");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::copy(&runner, dir.join("grunter")).unwrap();
        std::fs::write(dir.join("job.args"), format!("{code}\n")).unwrap();
        let (status, out) = run(&dir, "submit", &real_path, &[]);
        assert_eq!(status, Some(0), "{out}");
        let sid = std::fs::read_to_string(dir.join("job.slurmid")).unwrap();
        slurm.add(sid.trim());
        batch.push_str(&format!("{id}\t{}\t{}\n", sid.trim(), dir.display()));
    }
    let bf = root.path().join("batch.in");
    std::fs::write(&bf, &batch).unwrap();
    let first = root.path().join("ore000001/sim");
    let want = "ore000001 COMPLETED 0\nore000002 FAILED 3\n";
    let wrapped = format!("{}:{real_path}", wrappers.display());
    let env = [("GRUNT_BATCH_FILE", bf.display().to_string())];

    // With accounting (the default of .ci/slurm.sh), sacct answers once it has the records.
    let accounting = Command::new("sacct")
        .args(["-n", "-X", "-j", "1"])
        .output()
        .is_ok_and(|o| o.status.success());
    let dirs = [first.clone(), root.path().join("ore000002/sim")];
    eventually(60, "both jobs ended", || {
        let _ = std::fs::remove_file(&log);
        let (_, out) = run(&first, "batch-status", &wrapped, &env);
        let calls = std::fs::read_to_string(&log).unwrap_or_default();
        // With accounting, each ended job's job.usage too (one more sacct call, once).
        let settled = !accounting
            || (!calls.contains("scontrol") && dirs.iter().all(|d| d.join("job.usage").exists()));
        if out == want && settled {
            Ok(())
        } else {
            Err(format!("{out:?}, calls: {calls}"))
        }
    });
    // Settled: one squeue and one sacct for the states, no more.
    let _ = std::fs::remove_file(&log);
    let (_, out) = run(&first, "batch-status", &wrapped, &env);
    assert_eq!(out, want);
    let calls = std::fs::read_to_string(&log).unwrap();
    assert_eq!(
        calls.lines().filter(|l| l.starts_with("squeue")).count(),
        1,
        "{calls}"
    );
    assert_eq!(
        calls.lines().filter(|l| l.starts_with("sacct")).count(),
        1,
        "{calls}"
    );

    // Without: sacct fails as it does with AccountingStorageType=accounting_storage/none.
    let failing = root.path().join("no-accounting");
    std::fs::create_dir_all(&failing).unwrap();
    write_exec(
        &failing.join("sacct"),
        "#!/bin/sh\necho 'Slurm accounting storage is disabled' >&2\nexit 1\n",
    );
    let _ = std::fs::remove_file(&log);
    let path = format!("{}:{wrapped}", failing.display());
    let (status, out) = run(&first, "batch-status", &path, &env);
    assert_eq!((status, out.as_str()), (Some(0), want));
    let calls = std::fs::read_to_string(&log).unwrap();
    assert_eq!(
        calls.lines().filter(|l| l.starts_with("scontrol")).count(),
        1,
        "{calls}"
    );
}

/// `submit --after` and `[queue] max_in_flight` with real Slurm jobs: grund holds the jobs
/// and hands them to Slurm only when the ones before them have ended, as the refresh learns.
#[test]
fn after_and_the_cap_hold_jobs_until_slurm_ends_the_ones_before() {
    if !slurm_is_up() {
        return;
    }
    let toml = "[run]\ncommand = \"sh job.sh\"\n\n[queue]\nmax_in_flight = 1\n";
    let w = World::new(&slurm_runner_text(), toml);
    commit(&w, &[("job.sh", Some(JOB_SH))]);
    let _d = w.inproc_grund(Duration::from_millis(250), Duration::from_secs(2));
    let mut slurm = SlurmJobs::default();
    w.grunt(&["submit", "--wait=60", "sleep", "3", "-m", "first"])
        .success();
    w.grunt(&["submit", "--wait=60", "ok", "-m", "capped"])
        .success();
    w.grunt(&[
        "submit",
        "--wait=60",
        "--after",
        "1",
        "fail",
        "-m",
        "after 1",
    ])
    .success();
    w.grunt(&["submit", "--wait=60", "--after", "3", "ok", "-m", "after 3"])
        .success();
    let jobs = jobs_by_id(&w);
    slurm.add(jobs["ore000001"]["batch_id"].as_str().unwrap_or_default());
    assert_eq!(
        jobs["ore000002"]["state"], "Queued",
        "{}",
        jobs["ore000002"]
    );
    assert_eq!(
        jobs["ore000003"]["state"], "Waiting",
        "{}",
        jobs["ore000003"]
    );
    assert_eq!(jobs["ore000002"]["batch_id"], "", "not handed to Slurm");
    // One at a time through Slurm; 3 fails, so 4 (after 3) is canceled and never sent.
    let jobs = eventually(180, "the held jobs to run one by one", || {
        let jobs = jobs_by_id(&w);
        for id in ["ore000002", "ore000003"] {
            slurm.add(jobs[id]["batch_id"].as_str().unwrap_or_default());
        }
        let got: Vec<String> = (1..=4)
            .map(|n| {
                jobs[&format!("ore{n:06}")]["status"]
                    .as_str()
                    .unwrap_or("?")
                    .to_string()
            })
            .collect();
        match got == ["Done", "Done", "Failed(3)", "Canceled"] {
            true => Ok(jobs),
            false => Err(format!("{got:?}")),
        }
    });
    assert_eq!(jobs["ore000004"]["batch_id"], "", "{}", jobs["ore000004"]);
    assert_eq!(jobs["ore000004"]["reason"], "ore000003 ended Failed(3)");
    // Slurm ran them one after the other: each started after the one before ended.
    let times = |id: &str, what: &str| jobs[id][what].as_str().unwrap_or_default().to_string();
    assert!(
        times("ore000002", "start") >= times("ore000001", "end"),
        "{jobs:?}"
    );
    assert!(
        times("ore000003", "start") >= times("ore000002", "end"),
        "{jobs:?}"
    );
}

/// `[retry]` with a real Slurm: a job killed at its 1-minute limit (TIMEOUT) is submitted again
/// by grund as a new job with twice the time.
#[test]
fn a_timeout_is_retried_with_twice_the_time() {
    if !slurm_is_up() {
        return;
    }
    let toml = "[run]\ncommand = \"sh job.sh\"\n\n[resources]\ntime = \"1\"\n\n[retry]\non = [\"Timeout\"]\nattempts = 2\ntime_factor = 2\n";
    let w = World::new(&slurm_runner_text(), toml);
    commit(&w, &[("job.sh", Some(JOB_SH))]);
    let _d = w.inproc_grund(Duration::from_millis(250), Duration::from_secs(2));
    let mut slurm = SlurmJobs::default();
    // The first attempt sleeps far past its limit (Slurm enforces limits only every 30-60 s,
    // so a job just over its limit may end well); the retry (it has a job.parent) ends at once.
    w.grunt(&[
        "submit",
        "--wait=60",
        "sleep-once",
        "600",
        "-m",
        "times out once",
    ])
    .success();
    let jobs = eventually(330, "a timeout, then a retry that ends well", || {
        let jobs = jobs_by_id(&w);
        for j in jobs.values() {
            slurm.add(j["batch_id"].as_str().unwrap_or_default());
        }
        let st = |id: &str| {
            jobs.get(id)
                .map_or("-".to_string(), |j| j["status"].to_string())
        };
        match (st("ore000001").as_str(), st("ore000002").as_str()) {
            ("\"Timeout\"", "\"Done\"") => Ok(jobs),
            (a, b) => Err(format!("{a} {b}")),
        }
    });
    assert!(!jobs.contains_key("ore000003"), "one retry only");
    let batch2 = jobs["ore000002"]["batch_id"].as_str().unwrap().to_string();
    assert_eq!(scontrol_job(&batch2)["TimeLimit"], "00:02:00");
    let sbatch =
        std::fs::read_to_string(w.server_jobs_dir().join("active/ore000002/sim/job.sbatch"))
            .unwrap();
    assert!(sbatch.contains("#SBATCH --time=00:02:00\n"), "{sbatch}");
    let parent = World::file_in(&w.bare_jobs(), "active/ore000002/sim/job.parent");
    assert_eq!(parent.as_deref(), Some("ore000001\n"));
}

/// A sweep point's job: sleeps `--t=N` seconds and says which point it is.
const POINT_SH: &str = r#"t=0
for a in "$@"; do case $a in --t=*) t=${a#--t=} ;; esac; done
echo "point t=$t task ${SLURM_ARRAY_TASK_ID:-none}"
sleep "$t"
"#;

/// A 4-point sweep is ONE Slurm array: one sbatch call, one array id that every job's
/// job.slurmid shares (`ARRAYID_TASK`), the profile's `array_throttle` as the array's
/// throttle; each task runs in its own job's directory, with its own output, and ends Done;
/// `grunt cancel` of one job cancels its task only.
#[test]
fn a_sweep_is_one_slurm_array_with_a_throttle() {
    if !slurm_is_up() {
        return;
    }
    let toml =
        "[run]\ncommand = \"sh point.sh\"\n\n[resources]\narray_throttle = 2\nmem = \"1G\"\n";
    let w = World::new(&slurm_runner_text(), toml);
    commit(&w, &[("point.sh", Some(POINT_SH))]);
    let wrappers = w.tmp.path().join("wrappers");
    let log = w.tmp.path().join("scheduler-calls.log");
    logging_wrappers_of(&wrappers, &log, &["sbatch"]);
    let path = format!(
        "{}:{}",
        wrappers.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut slurm = SlurmJobs::default();
    w.grunt(&["submit", "--sweep", "t=1,2,3,120", "-m", "four points"])
        .success();
    let r = w
        .server
        .command(&grund_bin(), &w.server.home)
        .env("PATH", &path)
        .args(["--once", "--server", &w.server_name])
        .output()
        .unwrap();
    let jobs = jobs_by_id(&w);
    let ids: Vec<String> = (1..=4)
        .map(|n| {
            jobs[&format!("ore{n:06}")]["batch_id"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    let array = ids[0].split('_').next().unwrap_or_default().to_string();
    slurm.add(&array);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let calls = std::fs::read_to_string(&log).unwrap_or_default();
    assert_eq!(
        calls.lines().filter(|l| l.starts_with("sbatch ")).count(),
        1,
        "one sbatch for the sweep:\n{calls}"
    );
    assert!(
        !array.is_empty() && array.bytes().all(|b| b.is_ascii_digit()),
        "{ids:?}"
    );
    for (t, id) in ids.iter().enumerate() {
        assert_eq!(id, &format!("{array}_{t}"), "{ids:?}");
    }
    let sbatch =
        std::fs::read_to_string(w.server_jobs_dir().join("active/ore000001/sim/job.sbatch"))
            .unwrap();
    assert!(sbatch.contains("#SBATCH --array=0-3%2\n"), "{sbatch}");
    assert_eq!(scontrol_job(&ids[3])["ArrayTaskThrottle"], "2");

    let _d = w.spawn_grund(&["--poll", "1", "--refresh", "10"]);
    // The long point is canceled, alone.
    w.grunt(&["cancel", "--wait=60", "4"]).success();
    let want = ["Done", "Done", "Done", "Canceled"];
    eventually(180, "three points Done, the fourth Canceled", || {
        let jobs = jobs_by_id(&w);
        let got: Vec<String> = (1..=4)
            .map(|n| {
                jobs[&format!("ore{n:06}")]["status"]
                    .as_str()
                    .unwrap_or("?")
                    .to_string()
            })
            .collect();
        match got == want {
            true => Ok(()),
            false => Err(format!("{got:?}")),
        }
    });
    for t in 0..3 {
        let out = w.grunt(&["out", &(t + 1).to_string()]).success();
        assert!(
            out.stdout.contains(&format!("point t={} task {t}", t + 1)),
            "job {}: {}",
            t + 1,
            out.stdout
        );
    }
    let task3 = scontrol_job(&ids[3]);
    assert!(
        task3.get("JobState").is_none_or(|s| s == "CANCELLED"),
        "{task3:?}"
    );
    // Each task's usage from sacct, with the array's memory request (its script is the
    // first job's).
    eventually(90, "each Done task's job.usage", || {
        let jobs = jobs_by_id(&w);
        let got: Vec<Value> = (1..=3)
            .map(|n| jobs[&format!("ore{n:06}")]["usage"].clone())
            .collect();
        match got
            .iter()
            .all(|u| u["source"] == "sacct" && u["mem_requested_bytes"] == 1u64 << 30)
        {
            true => Ok(()),
            false => Err(format!("{got:?}")),
        }
    });
}

/// The original's replicate arrays: `array = "0-2"` in a profile runs the job's command as
/// a 3-task Slurm array, each with its index in GRUNT_ARRAY_TASK and SLURM_ARRAY_TASK_ID and
/// its own output file; the job ends Done when all three have.
#[test]
fn a_replicate_array_runs_the_command_once_per_task() {
    if !slurm_is_up() {
        return;
    }
    let toml = "[run]\ncommand = \"sh rep.sh\"\n\n[profile.reps]\narray = \"0-2\"\n";
    let w = World::new(&slurm_runner_text(), toml);
    let rep = "echo \"task $GRUNT_ARRAY_TASK slurm $SLURM_ARRAY_TASK_ID args $*\"\nsleep 1\n";
    commit(&w, &[("rep.sh", Some(rep))]);
    let _d = w.spawn_grund(&["--poll", "1", "--refresh", "10"]);
    let mut slurm = SlurmJobs::default();
    w.grunt(&[
        "submit",
        "--wait=60",
        "--profile",
        "reps",
        "x",
        "-m",
        "three replicas",
    ])
    .success();
    let jobs = jobs_by_id(&w);
    let id = jobs["ore000001"]["batch_id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    slurm.add(&id);
    assert!(
        !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()),
        "the array's id: {id:?}"
    );
    eventually(120, "the replicate array Done", || {
        match w.job_state("ore000001").as_deref() {
            Some("Done") => Ok(()),
            s => Err(format!("{s:?}")),
        }
    });
    let dir = w.server_jobs_dir().join("active/ore000001/sim");
    for t in 0..3 {
        let out = std::fs::read_to_string(dir.join(format!("job.out.{t}"))).unwrap();
        assert_eq!(out, format!("task {t} slurm {t} args x\n"));
    }
    assert_eq!(
        std::fs::read_to_string(dir.join("job.exitcode")).unwrap(),
        "0\n"
    );
    // `grunt out` shows every task's output, in task order.
    let out = w.grunt(&["out", "1"]).success().stdout;
    let at = |t: usize| {
        out.find(&format!(
            "==> task {t} (job.out.{t}) <==\ntask {t} slurm {t}"
        ))
    };
    assert!(at(0).is_some() && at(0) < at(1) && at(1) < at(2), "{out}");
    let sacct = Command::new("sacct")
        .args(["-j", &id, "-P", "-n", "-X", "-o", "JobID"])
        .output()
        .unwrap();
    let tasks = String::from_utf8_lossy(&sacct.stdout);
    let mut tasks: Vec<&str> = tasks.lines().collect();
    tasks.sort();
    if !tasks.is_empty() {
        // With accounting: the three tasks of one array.
        let want: Vec<String> = (0..3).map(|t| format!("{id}_{t}")).collect();
        assert_eq!(tasks, want);
    }
}

/// The original grunt's `grunter.py` knows no `submit-batch` (it exits non-zero for it): a
/// sweep still reaches Slurm, one `sbatch` per job, as with the original grund.
#[test]
fn the_original_grunter_py_gets_a_sweep_one_job_at_a_time() {
    if !slurm_is_up() {
        return;
    }
    let w = original_grunter_world();
    let mut slurm = SlurmJobs::default();
    w.grunt(&["submit", "--sweep", "x=0.5,0.7", "-m", "a sweep"])
        .success();
    w.grund_once().success();
    let mut ids = Vec::new();
    for n in 1..=2 {
        let dir = w.server_jobs_dir().join(format!("active/ore{n:06}/sim"));
        let id = std::fs::read_to_string(dir.join("job.slurmid")).unwrap_or_default();
        slurm.add(id.trim());
        assert!(
            !id.trim().is_empty() && id.trim().bytes().all(|b| b.is_ascii_digit()),
            "job {n}: {id:?}"
        );
        assert!(!dir.join("job.error").exists(), "job {n} has no error");
        assert!(
            std::fs::read_to_string(dir.join("job.sbatch"))
                .unwrap()
                .contains(&format!("sh sim.sh --x={}", ["0.5", "0.7"][n - 1])),
            "the original's own batch script"
        );
        ids.push(id);
    }
    assert_ne!(ids[0], ids[1], "one Slurm job each");
}

/// `job.usage` from a real sacct: a job that touches 150M and keeps one of its 4 CPUs busy
/// for a second ends with its usage recorded by grund's refresh, and `grunt show` prints the
/// efficiency and what to ask for next time.
#[test]
fn an_ended_jobs_usage_comes_from_sacct_and_show_prints_its_efficiency() {
    if !slurm_is_up() {
        return;
    }
    // Sampled every second: Slurm's default (30 s) would miss the peak of a short job.
    let toml = "[run]\ncommand = \"python3 burn.py\"\n\n[resources]\nmem = \"2G\"\ncpus = 4\ntime = \"1:00:00\"\nsbatch = [\"--acctg-freq=task=1\"]\n";
    let w = World::new(&slurm_runner_text(), toml);
    commit(&w, &[("burn.py", Some(crate::usage::BURN_PY))]);
    let _d = w.spawn_grund(&["--poll", "1", "--refresh", "10"]);
    let mut slurm = SlurmJobs::default();
    w.grunt(&[
        "submit",
        "--wait=60",
        "150",
        "1",
        "3",
        "-m",
        "burns a little",
    ])
    .success();
    slurm.add(
        jobs_by_id(&w)["ore000001"]["batch_id"]
            .as_str()
            .unwrap_or_default(),
    );
    // No status command: the refresh learns the end, and sacct's record, by itself.
    let job = eventually(120, "the job Done with its usage", || {
        let j = jobs_by_id(&w)["ore000001"].clone();
        if j["status"] == "Done" && !j["usage"].is_null() {
            Ok(j)
        } else {
            Err(j.to_string())
        }
    });
    let u = &job["usage"];
    assert_eq!(u["source"], "sacct", "{u}");
    assert_eq!(u["state"], "COMPLETED", "{u}");
    assert_eq!(u["cpus"], 4, "{u}");
    assert_eq!(u["mem_requested_bytes"], 2u64 << 30, "{u}");
    assert_eq!(u["time_requested_secs"], 3600.0, "{u}");
    let used = u["mem_used_bytes"].as_u64().unwrap_or(0);
    assert!(
        (150 << 20..1 << 30).contains(&used),
        "peak of a job that touched 150M: {u}"
    );
    let cpu = u["cpu_secs"].as_f64().unwrap_or(0.0);
    let elapsed = u["elapsed_secs"].as_f64().unwrap_or(0.0);
    assert!(cpu >= 0.8 && elapsed >= 3.0 && cpu < elapsed, "{u}");
    assert!(u["cpu_percent"].as_f64().unwrap_or(100.0) < 25.0, "{u}");

    let show = w.grunt(&["show", "1"]).success().stdout;
    let words = show.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(words.contains("peak of 2G requested ("), "{show}");
    assert!(words.contains("of CPU time on 4 CPUs"), "{show}");
    assert!(
        words.contains("requested 2G, used ")
            && words.contains("ask for ~256M next time (mem in the profile)"),
        "{show}"
    );
    assert!(
        words.contains("ask for ~1 next time (cpus in the profile)"),
        "{show}"
    );
    assert!(
        words.contains(" of a 1:00:00 limit (")
            && words.contains("ask for ~0:15:00 next time (time in the profile)"),
        "{show}"
    );
}
