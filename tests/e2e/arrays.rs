//! Native arrays through grund: the submits of one sweep reach the runner as ONE
//! `submit-batch` call (jobs the cap holds stay out and go later, one by one), a runner
//! without `submit-batch` gets one `submit` per job as before, and a grund killed in the middle
//! of the call neither calls again nor submits a job twice. Fake runners count the calls; the
//! real schedulers are in `slurm.rs` and `runners.rs`.

use std::collections::BTreeMap;
use std::time::Duration;

use grunt_tests::World;

/// Logs every call (`<jobid> <word>`; for submit-batch also the jobs it got) and, as a batch
/// runner does, writes each job's `job.slurmid`: `77_<task>` for an array's task. With
/// `$HOME/block` present, submit-batch waits (bounded) until it is removed.
const BATCH_RUNNER: &str = r#"#!/bin/sh
[ "$1" = batch-status ] && exit 0
now() { date -u '+%Y-%m-%d %H:%M:%S UTC'; }
case $1 in
submit-batch)
	echo "$GRUNT_JOBID submit-batch $(cut -f 1 "$GRUNT_BATCH_FILE" | paste -s -d , -)" >> "$HOME/calls.log"
	i=0
	while [ -e "$HOME/block" ] && [ "$i" -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
	t=0
	while IFS='	' read -r id dir; do
		echo "77_$t" > "$dir/job.slurmid"
		now > "$dir/job.start"; echo 0 > "$dir/job.exitcode"; now > "$dir/job.end"
		t=$((t + 1))
	done < "$GRUNT_BATCH_FILE"
	;;
submit)
	echo "$GRUNT_JOBID submit" >> "$HOME/calls.log"
	echo 5 > job.slurmid; now > job.start; echo 0 > job.exitcode; now > job.end
	;;
*) echo "$GRUNT_JOBID $1" >> "$HOME/calls.log" ;;
esac
"#;

/// The original runner's way with a word it does not know: exit 1. Its submits record an
/// instant job.
const NO_BATCH_RUNNER: &str = r#"#!/bin/sh
[ "$1" = batch-status ] && exit 1
echo "$GRUNT_JOBID $1" >> "$HOME/calls.log"
case $1 in
submit) echo $$ > job.slurmid; date > job.start; echo 0 > job.exitcode; date > job.end ;;
status | cancel | results) ;;
*) echo "unknown command $1" >&2; exit 1 ;;
esac
"#;

const TOML: &str = "[run]\ncommand = \"sh sim.sh\"\n";

fn calls(w: &World) -> Vec<String> {
    std::fs::read_to_string(w.server.home.join("calls.log"))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

fn job_file(w: &World, id: &str, name: &str) -> Option<String> {
    World::file_in(&w.bare_jobs(), &format!("active/{id}/sim/{name}"))
}

fn states(w: &World) -> BTreeMap<String, String> {
    w.jobs_json()
        .into_iter()
        .map(|j| {
            (
                j["id"].as_str().unwrap_or_default().to_string(),
                j["state"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

#[test]
fn a_sweep_is_one_submit_batch_call() {
    let w = World::new(BATCH_RUNNER, TOML);
    w.grunt(&["submit", "--sweep", "i=1..4", "-m", "four points"])
        .success();
    w.grund_once().success();
    assert_eq!(
        calls(&w),
        ["ore000001 submit-batch ore000001,ore000002,ore000003,ore000004"],
        "one call for the sweep, none per job"
    );
    for t in 0..4 {
        let id = format!("ore{:06}", t + 1);
        assert_eq!(
            job_file(&w, &id, "job.slurmid").as_deref(),
            Some(format!("77_{t}\n").as_str()),
            "{id}: its task's id is committed"
        );
    }
    w.grunt(&["pull"]).success();
    assert!(states(&w).values().all(|s| s == "Done"), "{:?}", states(&w));
    // A job on its own, and a second sweep: the first is a plain submit, the second one call.
    w.grunt(&["submit", "-m", "alone"]).success();
    w.grunt(&["submit", "--sweep", "j=1,2", "-m", "two"])
        .success();
    w.grund_once().success();
    assert_eq!(
        calls(&w)[1..],
        [
            "ore000005 submit",
            "ore000006 submit-batch ore000006,ore000007"
        ]
    );
}

#[test]
fn jobs_the_cap_holds_are_not_in_the_batch() {
    let toml = format!("{TOML}\n[queue]\nmax_in_flight = 2\n");
    // The batch's jobs stay in flight: they never end.
    let runner = BATCH_RUNNER.replace(
        "now > \"$dir/job.start\"; echo 0 > \"$dir/job.exitcode\"; now > \"$dir/job.end\"",
        "now > \"$dir/job.start\"",
    );
    let w = World::new(&runner, &toml);
    w.grunt(&["submit", "--sweep", "i=1..4", "-m", "capped"])
        .success();
    w.grund_once().success();
    assert_eq!(
        calls(&w),
        ["ore000001 submit-batch ore000001,ore000002"],
        "only the jobs within the cap"
    );
    w.grunt(&["pull"]).success();
    let s = states(&w);
    assert_eq!(s["ore000003"], "Queued", "{s:?}");
    assert_eq!(s["ore000004"], "Queued", "{s:?}");
    assert_eq!(job_file(&w, "ore000003", "job.slurmid"), None);
}

#[test]
fn a_runner_without_submit_batch_gets_one_submit_per_job() {
    let w = World::new(NO_BATCH_RUNNER, TOML);
    w.grunt(&["submit", "--sweep", "i=1..3", "-m", "three"])
        .success();
    w.grund_once().success();
    assert_eq!(
        calls(&w),
        [
            "ore000001 submit-batch",
            "ore000001 submit",
            "ore000002 submit",
            "ore000003 submit"
        ]
    );
    for n in 1..=3 {
        let id = format!("ore{n:06}");
        assert!(job_file(&w, &id, "job.slurmid").is_some(), "{id}");
        assert_eq!(job_file(&w, &id, "job.error"), None, "{id}: no error");
    }
}

#[test]
fn a_grund_killed_during_submit_batch_submits_nothing_twice() {
    let w = World::new(BATCH_RUNNER, TOML);
    let block = w.server.home.join("block");
    std::fs::write(&block, "").unwrap();
    w.grunt(&["submit", "--sweep", "i=1..3", "-m", "three"])
        .success();
    let mut d = w.spawn_grund(&["--poll", "1"]);
    assert!(
        grunt_tests::holds_within(Duration::from_secs(60), || !calls(&w).is_empty()),
        "submit-batch never called: {}",
        d.log_text()
    );
    // Killed while the runner works; the runner's supervisor lives on.
    d.kill();
    let d = w.spawn_grund(&["--poll", "1"]);
    std::fs::remove_file(&block).unwrap();
    let done = || job_file(&w, "ore000003", "job.slurmid").is_some();
    assert!(
        grunt_tests::holds_within(Duration::from_secs(60), done),
        "never committed: {}",
        d.log_text()
    );
    drop(d);
    w.grund_once().success();
    assert_eq!(
        calls(&w),
        ["ore000001 submit-batch ore000001,ore000002,ore000003"],
        "once, and no job on its own"
    );
    for n in 1..=3 {
        let id = format!("ore{n:06}");
        assert_eq!(job_file(&w, &id, "job.error"), None, "{id}");
    }
}
