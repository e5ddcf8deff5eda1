//! `job.usage` end to end: the local runner measures a job (GNU time), grund carries the file
//! back like every `job.*` file (and asks a runner that records usage again about a job that
//! ended before its usage was in), and `grunt show` and `jobs --json` print the efficiency and
//! the hints. A `job.usage` that is huge or binary breaks nothing. The real Slurm and Grid
//! Engine cases are in `slurm.rs` and `runners.rs`.

use grunt_tests::{local_runner_text, wait_until, World};
use serde_json::Value;

use crate::slurm::commit;

/// Allocates and touches MB megabytes, burns BURN seconds of CPU time (however busy the
/// machine), then sleeps SLEEP seconds.
pub(crate) const BURN_PY: &str = "import sys, time
mb, burn, sleep = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
a = bytearray(mb << 20)
for i in range(0, len(a), 4096):
    a[i] = 1
t = time.process_time()
while time.process_time() - t < burn:
    pass
time.sleep(sleep)
print('burned')
";

/// Whether /usr/bin/time is GNU's, which the local runner measures with; under `CI=true` it
/// must be (`.ci/run` installs it).
fn gnu_time() -> bool {
    let ok = std::process::Command::new("/usr/bin/time")
        .args(["-f", "%e", "-o", "/dev/null", "true"])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok || std::env::var("CI").as_deref() != Ok("true"),
        "no GNU time at /usr/bin/time: CI must install it (.ci/run)"
    );
    ok
}

fn job_json(w: &World, id: &str) -> Value {
    w.jobs_json()
        .into_iter()
        .find(|j| j["id"] == id)
        .unwrap_or(Value::Null)
}

/// The lines of `grunt show` from `elapsed` to the first blank line.
fn efficiency_block(show: &str) -> Vec<String> {
    show.lines()
        .skip_while(|l| !l.trim_start().starts_with("elapsed"))
        .take_while(|l| !l.trim().is_empty() && !l.trim_start().starts_with("batch id"))
        .map(str::to_string)
        .collect()
}

#[test]
fn the_local_runner_measures_a_job_and_show_says_what_to_ask_for() {
    // A time in minutes, as Slurm's plain number.
    let toml = "[run]\ncommand = \"python3 burn.py\"\n\n[resources]\nmem = \"4G\"\ncpus = 4\ntime = \"60\"\n";
    let w = World::new(&local_runner_text(), toml);
    commit(&w, &[("burn.py", Some(BURN_PY))]);
    let _d = w.spawn_grund(&["--poll", "1", "--refresh", "10"]);
    w.grunt(&[
        "submit",
        "--wait=60",
        "150",
        "1",
        "2",
        "-m",
        "burns a little",
    ])
    .success();
    let timed = gnu_time();
    let job = {
        let mut last = Value::Null;
        wait_until(60, "the job Done with its usage", || {
            w.grunt(&["status", "--wait=30", "1"]).success();
            last = job_json(&w, "ore000001");
            last["status"] == "Done" && (!timed || !last["usage"].is_null())
        });
        last
    };
    let show = w.grunt(&["show", "1"]).success().stdout;
    if !timed {
        // No GNU time here: no usage, and show is as before.
        eprintln!("SKIPPED the usage part: /usr/bin/time is not GNU time");
        assert!(job["usage"].is_null(), "{job}");
        assert!(!show.contains("  memory "), "{show}");
        return;
    }
    let u = &job["usage"];
    assert_eq!(u["source"], "time", "{u}");
    let used = u["mem_used_bytes"].as_u64().unwrap_or(0);
    assert!(
        (150 << 20..1 << 30).contains(&used),
        "peak memory of a job that touched 150M: {u}"
    );
    assert_eq!(u["mem_requested_bytes"], 4u64 << 30, "{u}");
    let cpu = u["cpu_secs"].as_f64().unwrap_or(0.0);
    let elapsed = u["elapsed_secs"].as_f64().unwrap_or(0.0);
    assert!(cpu >= 0.8 && elapsed >= 2.8 && cpu < elapsed, "{u}");
    assert_eq!(u["cpus"], 4, "{u}");
    let pct = u["cpu_percent"].as_f64().unwrap_or(100.0);
    assert!(pct < 25.0, "one busy second in three, on 4 CPUs: {u}");
    assert_eq!(u["time_requested_secs"], 3600.0, "{u}");
    assert_eq!(u["hints"].as_array().map(Vec::len), Some(3), "{u}");

    let block = efficiency_block(&show);
    // The words, whatever the wrapping.
    let text = block
        .join(" ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        text.contains("memory ") && text.contains("peak of 4G requested ("),
        "{show}"
    );
    assert!(
        text.contains("cpu ") && text.contains("of CPU time on 4 CPUs"),
        "{show}"
    );
    assert!(
        text.contains("requested 4G, used ") && text.contains("ask for ~256M next time"),
        "{show}"
    );
    assert!(text.contains("asked for 4 CPUs, kept 0."), "{show}");
    assert!(
        text.contains("ask for ~1 next time (cpus in the profile)"),
        "{show}"
    );
    assert!(text.contains(" of a 1:00:00 limit ("), "{show}");
    assert!(
        text.contains("time limit 1:00:00, ran 0:00:")
            && text.contains("ask for ~0:15:00 next time (time in the profile)"),
        "{show}"
    );
    // Readable at 80 columns even into a pipe: the hints wrap.
    for l in &block {
        assert!(
            l.chars().count() <= 80,
            "{} columns: {l}",
            l.chars().count()
        );
    }
}

/// A runner of its own whose job ends at once, and that writes `job.usage` only when asked
/// about the job after it ended (as a batch runner waits for the scheduler's accounting).
const LATE_USAGE_RUNNER: &str = r#"#!/bin/sh
ts() { date -u '+%Y-%m-%d %H:%M:%S UTC'; }
case $1 in
submit) echo 7 > job.slurmid; ts > job.start; echo 0 > job.exitcode; ts > job.end ;;
batch-status)
  echo batch-status >> "$HOME/calls.log"
  while IFS="$(printf '\t')" read -r id batch dir; do
    printf 'source=test\nelapsed=10\ncpu_time=19\ncpus=2\n' > "$dir/job.usage"
    echo "$id COMPLETED 0"
  done < "$GRUNT_BATCH_FILE" ;;
esac
"#;

#[test]
fn grund_asks_again_about_an_ended_job_until_its_usage_is_in() {
    let w = World::new(LATE_USAGE_RUNNER, "");
    w.grunt(&["submit", "-m", "ends at once"]).success();
    // One pass: the submit (the job has ended by its commit), then the refresh.
    w.grund_once().success();
    let calls = || std::fs::read_to_string(w.server.home.join("calls.log")).unwrap_or_default();
    assert_eq!(calls().lines().count(), 1, "asked once after the end");
    let usage = World::file_in(&w.bare_jobs(), "active/ore000001/sim/job.usage");
    assert_eq!(
        usage.as_deref(),
        Some("source=test\nelapsed=10\ncpu_time=19\ncpus=2\n"),
        "committed like every job.* file"
    );
    let job = job_json(&w, "ore000001");
    assert_eq!(job["status"], "Done", "{job}");
    assert_eq!(job["usage"]["cpu_percent"], 95.0, "{job}");
    // In: not asked again.
    w.grund_once().success();
    assert_eq!(calls().lines().count(), 1, "{}", calls());
}

/// A runner that leaves a `job.usage` of good lines followed by 2 MB of binary garbage.
const HOSTILE_RUNNER: &str = r#"#!/bin/sh
ts() { date -u '+%Y-%m-%d %H:%M:%S UTC'; }
case $1 in
submit)
  echo 7 > job.slurmid; ts > job.start
  printf 'elapsed=10\ncpu_time=19\ncpus=2\nmem_used=\377\376\n' > job.usage
  head -c 2000000 /dev/urandom >> job.usage
  printf '\nmem_requested=1G\n' >> job.usage
  echo 0 > job.exitcode; ts > job.end ;;
esac
"#;

#[test]
fn a_huge_binary_job_usage_breaks_nothing() {
    let w = World::new(HOSTILE_RUNNER, "");
    w.grunt(&["submit", "-m", "hostile usage"]).success();
    w.grund_once().success();
    let job = job_json(&w, "ore000001");
    assert_eq!(job["status"], "Done", "{job}");
    let u = &job["usage"];
    assert_eq!(u["cpus"], 2, "the readable lines count: {u}");
    assert!(
        u["mem_requested_bytes"].is_null() && u["mem_used_bytes"].is_null(),
        "past the cap, or garbage: left out: {u}"
    );
    let show = w.grunt(&["show", "1"]).success().stdout;
    assert!(
        show.contains("  cpu       95% efficiency: 19.0s of CPU time on 2 CPUs"),
        "{show}"
    );
}
