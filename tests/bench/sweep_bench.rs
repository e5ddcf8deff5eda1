//! Wall time of submitting a 1,000-point sweep (`grunt submit --sweep i=1..1000`) over
//! loopback ssh with a ControlMaster: one commit, one push, target ≤ 2 s. Printed also as
//! ratios to two floors measured in the same run, a sample of each right before each sweep
//! sample: one `ssh HOST true` through the same master, and one single-job `grunt submit`.
//! No grund runs, so every sample meets the same idle server.
//!
//! Usage: `cargo build --release -p grunt -p grund && cargo run --release -p grunt-tests --bin
//! sweep-bench [RUNS] [POINTS]` (default 5 runs, 1000 points). Needs sshd.

#![allow(clippy::unwrap_used)] // a bench: failing loudly is its job

use std::process::{Command, ExitCode, Stdio};
use std::time::Duration;

use grunt_tests::sshworld::{median, timed, Options, SshWorld};
use grunt_tests::{local_runner_text, Run};

const TOML: &str = "[run]\ncommand = \"sh sim.sh\"\n";
const TARGET_SECS: f64 = 2.0;

fn main() -> ExitCode {
    let arg = |n: usize, default: usize| match std::env::args().nth(n).map(|a| a.parse()) {
        None => Some(default),
        Some(Ok(v)) if v > 0 => Some(v),
        Some(_) => None,
    };
    let (Some(runs), Some(points)) = (arg(1, 5), arg(2, 1000)) else {
        eprintln!("usage: sweep-bench [RUNS] [POINTS]");
        return ExitCode::FAILURE;
    };
    let Some(mut w) = SshWorld::new(&Options {
        control_master: true,
        grunt_on_server: true,
        git_on_server: true,
        runner: local_runner_text(),
        toml: TOML.to_string(),
    }) else {
        return ExitCode::SUCCESS;
    };
    println!(
        "sweep-bench: {runs} runs of a {points}-point sweep, loopback ssh with ControlMaster, {} build",
        if cfg!(debug_assertions) {
            "DEBUG (numbers are not representative: use --release)"
        } else {
            "release"
        }
    );
    ok(w.newproj());
    w.set_direct_ssh(true);
    let range = format!("i=1..{points}");
    let (mut ssh_floor, mut single, mut sweep) = (Vec::new(), Vec::new(), Vec::new());
    let mut next = 1usize;
    // One warm-up round opens the master and warms the caches; then the timed ones.
    for run in 0..=runs {
        let f = ssh_true(&w);
        let tag = format!("run{run}");
        let (r, s) = timed(|| w.grunt(&["submit", &tag, "-m", "one job"]));
        ok(r);
        next += 1;
        let (r, t) = timed(|| w.grunt(&["submit", "--sweep", &range, &tag, "-m", "bench sweep"]));
        let r = ok(r);
        assert!(r.stdout.contains(&format!("{points} jobs")), "{}", r.stdout);
        next += points;
        if run > 0 {
            ssh_floor.push(f);
            single.push(s);
            sweep.push(t);
        }
    }
    // Every point is a job of the last sweep, all in one commit.
    let jobs = w.bare("jobs");
    let log = w.server_git(&jobs, &["log", "-1", "--format=%s"]);
    assert!(
        log.stdout.contains(&format!("({points} jobs)")),
        "{}",
        log.stdout
    );
    let last = w.server_git(&jobs, &["ls-tree", "--name-only", "HEAD", "active/"]);
    let jobs_now = last
        .stdout
        .lines()
        .filter(|l| !l.ends_with("placeholder"))
        .count();
    assert_eq!(jobs_now, next - 1, "jobs in active/ after all runs");

    let m = |v: &mut Vec<Duration>| median(v).as_secs_f64();
    let (floor_s, single_s, sweep_s) = (m(&mut ssh_floor), m(&mut single), m(&mut sweep));
    println!(
        "floor: `ssh HOST true` median {:.1} ms; one-job submit median {:.1} ms",
        floor_s * 1e3,
        single_s * 1e3
    );
    println!(
        "{points}-point sweep submit: median {sweep_s:.3} s (min {:.3}, max {:.3}) = {:.1}× ssh true, {:.1}× a one-job submit; target ≤ {TARGET_SECS} s: {}",
        sweep.iter().min().unwrap().as_secs_f64(),
        sweep.iter().max().unwrap().as_secs_f64(),
        sweep_s / floor_s,
        sweep_s / single_s,
        if sweep_s <= TARGET_SECS { "met" } else { "MISSED" }
    );
    let ms = |v: &[Duration]| {
        v.iter()
            .map(|d| format!("{:.0}", d.as_secs_f64() * 1e3))
            .collect::<Vec<_>>()
            .join(" ")
    };
    println!("samples in order, ms, ssh true: {}", ms(&ssh_floor));
    println!("samples in order, ms, one-job submit: {}", ms(&single));
    println!("samples in order, ms, sweep submit: {}", ms(&sweep));
    ExitCode::SUCCESS
}

/// One `ssh -F <config> HOST true` through the master: the floor.
fn ssh_true(w: &SshWorld) -> Duration {
    let (st, t) = timed(|| {
        Command::new("ssh")
            .arg("-F")
            .arg(&w.config)
            .args([w.alias.as_str(), "true"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .status()
            .unwrap()
    });
    assert!(st.success(), "ssh {} true failed", w.alias);
    t
}

fn ok(r: Run) -> Run {
    assert!(r.ok, "command failed:\n{}\n{}", r.stdout, r.stderr);
    r
}
