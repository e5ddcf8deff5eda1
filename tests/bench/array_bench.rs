//! How grund hands a 1,000-point sweep to a batch runner: the number of runner calls, and the
//! time from the push (`grunt submit --sweep i=1..1000` started) to every job submitted (its
//! `job.slurmid` on the server's disk), with grund running. Three runners, fake and counting,
//! so the figures are grund's own: one with `submit-batch` (a native array: ONE call), one
//! without (the original's way: one `submit` per job, after a `submit-batch` it refuses),
//! and, as the floor, the same per-job runner given a ONE-job submit. Printed as ratios to that
//! floor, measured in the same run.
//!
//! Usage: `cargo build --release -p grunt -p grund && cargo run --release -p grunt-tests --bin
//! array-bench [RUNS] [POINTS]` (default 3 runs, 1000 points). Local, no ssh.

#![allow(clippy::unwrap_used)] // a bench: failing loudly is its job

use std::process::ExitCode;
use std::time::{Duration, Instant};

use grunt_tests::sshworld::median;
use grunt_tests::World;

/// `submit-batch` writes every job's id in one call; `submit` one job's.
const BATCH: &str = r#"#!/bin/sh
case $1 in
submit-batch)
	echo "$1" >> "$HOME/calls.log"
	awk -F '\t' '{ f = $2 "/job.slurmid"; print "77_" NR - 1 > f; close(f) }' "$GRUNT_BATCH_FILE"
	;;
submit) echo "$1" >> "$HOME/calls.log"; echo 5 > job.slurmid ;;
esac
"#;

/// The original's way: no `submit-batch` (exit 1), one `submit` per job.
const PER_JOB: &str = r#"#!/bin/sh
case $1 in
submit-batch) echo "$1" >> "$HOME/calls.log"; exit 1 ;;
submit) echo "$1" >> "$HOME/calls.log"; echo 5 > job.slurmid ;;
esac
"#;

const TOML: &str = "[run]\ncommand = \"true\"\n[submit]\nallow_duplicates = true\n";

/// Deadline for one sample.
const LIMIT: Duration = Duration::from_secs(600);

/// One sample: a fresh world with `runner` and grund running; push a sweep of `points` (a
/// plain job for 1); returns the runner calls and the time from the push to the last job's
/// `job.slurmid`.
fn sample(runner: &str, points: usize) -> (usize, Duration) {
    let w = World::new(runner, TOML);
    let _d = w.spawn_grund(&["--poll", "1"]);
    let last = w
        .server_jobs_dir()
        .join(format!("active/ore{points:06}/sim/job.slurmid"));
    let args: Vec<String> = match points {
        1 => vec!["submit".into(), "-m".into(), "one".into()],
        n => vec![
            "submit".into(),
            "--sweep".into(),
            format!("i=1..{n}"),
            "-m".into(),
            "bench".into(),
        ],
    };
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    // From the start of the push (grunt submit) on.
    let t0 = Instant::now();
    let r = w.grunt(&args);
    assert!(r.ok, "{}", r.stderr);
    while !last.exists() {
        assert!(t0.elapsed() < LIMIT, "not submitted within {LIMIT:?}");
        std::thread::sleep(Duration::from_millis(2));
    }
    let took = t0.elapsed();
    let calls = std::fs::read_to_string(w.server.home.join("calls.log"))
        .unwrap_or_default()
        .lines()
        .count();
    (calls, took)
}

fn main() -> ExitCode {
    let arg = |n: usize, default: usize| match std::env::args().nth(n).map(|a| a.parse()) {
        None => Some(default),
        Some(Ok(v)) if v > 0 => Some(v),
        Some(_) => None,
    };
    let (Some(runs), Some(points)) = (arg(1, 3), arg(2, 1000)) else {
        eprintln!("usage: array-bench [RUNS] [POINTS]");
        return ExitCode::FAILURE;
    };
    println!(
        "array-bench: {runs} runs, a {points}-point sweep handed to grund, {} build",
        if cfg!(debug_assertions) {
            "DEBUG (numbers are not representative: use --release)"
        } else {
            "release"
        }
    );
    let (mut floor, mut batch, mut per_job) = (Vec::new(), Vec::new(), Vec::new());
    let (mut batch_calls, mut per_job_calls) = (0, 0);
    for _ in 0..runs {
        floor.push(sample(PER_JOB, 1).1);
        let (c, t) = sample(BATCH, points);
        batch_calls = c;
        batch.push(t);
        let (c, t) = sample(PER_JOB, points);
        per_job_calls = c;
        per_job.push(t);
    }
    let m = |v: &mut Vec<Duration>| median(v).as_secs_f64();
    let (f, b, p) = (m(&mut floor), m(&mut batch), m(&mut per_job));
    println!(
        "floor: one job, push to submitted: median {:.1} ms",
        f * 1e3
    );
    println!(
        "with submit-batch: {batch_calls} runner call(s); push to all {points} submitted: median {:.3} s = {:.1}× the floor",
        b,
        b / f
    );
    println!(
        "one submit per job: {per_job_calls} runner calls; push to all {points} submitted: median {:.3} s = {:.1}× the floor ({:.1}× submit-batch)",
        p,
        p / f,
        p / b
    );
    ExitCode::SUCCESS
}
