//! Wall times of the client's commands over loopback ssh with a ControlMaster and a running
//! grund (as the server account, see `grunt_tests::sshworld`), each also as a ratio to the
//! floor: one `ssh HOST true` through the same master, measured in the same run (a floor
//! sample is taken right before each sample of a command, so both see the same load):
//!
//! - `grunt submit` of a 10-file and of a 1000-file project (target ≤ 1.3× the floor for the
//!   small one, and ≤ 0.1 s and ≤ 0.5 s absolute): one push, no fetch first;
//! - `grunt status --wait`: push a command, grund runs the runner and answers, the answer comes
//!   back with the server's `grunt await` (target ≤ 2.5× the floor, ≤ 0.5 s absolute).
//!
//! Each figure is the median (and p90) of N runs (default 10) after one warm-up run that also
//! opens the ControlMaster. With `BENCH_STRACE=DIR`, every grunt run and grund go through
//! `strace -f -tt` into DIR (to see where the milliseconds go; the figures are then not); with
//! `BENCH_PERF=DIR`, every grunt run through `perf record -g`. Between two submits the bench waits (untimed) for grund's answer, so every
//! submit meets a settled server. grunt runs `ssh -F <config>` as a user's setup would, and
//! the server's grunt is named by `GRUNT_REMOTE_GRUNT`. Also prints how many ssh processes one
//! submit and one `status --wait` start, and every sample in order.
//!
//! Usage: `cargo build --release -p grunt -p grund && cargo run --release -p grunt-tests --bin
//! roundtrip-bench [RUNS]`. Needs sshd.

#![allow(clippy::unwrap_used)] // a bench: failing loudly is its job

use std::path::Path;
use std::process::{Command, ExitCode, Stdio};
use std::time::Duration;

use grunt_tests::sshworld::{median, timed, Options, SshWorld};
use grunt_tests::{local_runner_text, Run};

/// strace's options with BENCH_STRACE: the events that mark the steps (processes started and
/// ended, files renamed into place, fsyncs), filtered in the kernel so that timing suffers
/// little.
const STRACE: [&str; 5] = [
    "-f",
    "-ttt",
    "--seccomp-bpf",
    "-e",
    "trace=execve,exit_group,rename,renameat,renameat2,fsync,fdatasync,inotify_add_watch",
];

const TOML: &str = "[run]\ncommand = \"sh sim.sh\"\nresults = [\"*.csv\"]\n";

fn main() -> ExitCode {
    let runs: usize = match std::env::args().nth(1).map(|a| a.parse()) {
        None => 10,
        Some(Ok(n)) if n > 0 => n,
        Some(_) => {
            eprintln!("usage: roundtrip-bench [RUNS]");
            return ExitCode::FAILURE;
        }
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
        "roundtrip-bench: {runs} runs each, loopback ssh with ControlMaster, grund as {}, {} build",
        w.server_user(),
        if cfg!(debug_assertions) {
            "DEBUG (numbers are not representative: use --release)"
        } else {
            "release"
        }
    );
    ok(w.newproj());
    let grund = w.spawn_grund();
    // With BENCH_STRACE=DIR, grund's system calls with times go to DIR/grund.txt.
    let _strace = std::env::var_os("BENCH_STRACE").map(|dir| {
        Command::new("strace")
            .args(STRACE)
            .arg("-o")
            .arg(Path::new(&dir).join("grund.txt"))
            .arg("-p")
            .arg(grund.child.id().to_string())
            .spawn()
            .unwrap()
    });
    let mut next = 1;

    let ssh_per_submit = ssh_per(&w, &mut next, &["submit", "-m", "count"], true);
    let ssh_per_status = ssh_per(&w, &mut next, &["status", "--wait=60", "1"], false);
    // Timed runs start ssh as a user's setup does, without the test's logging wrapper.
    w.set_direct_ssh(true);
    let mut floor = Vec::new();
    add_files(&w.project, 7, "small");
    let files = tracked(&w.project);
    let small = submits(&w, runs, &mut next, &mut floor);

    add_files(&w.project, 1000 - files, "big");
    let files_big = tracked(&w.project);
    let big = submits(&w, runs, &mut next, &mut floor);

    let mut status = Vec::new();
    // grund answers `status` by running the runner's status in the job directory.
    for i in 0..=runs {
        let f = ssh_true(&w);
        let (r, t) = timed(|| grunt(&w, &["status", "--wait=60", "1"]));
        ok(r);
        if i > 0 {
            floor.push(f);
            status.push(t);
        }
    }
    let (small_raw, big_raw, status_raw) = (small.clone(), big.clone(), status.clone());
    let floor_s = median(&mut floor.clone()).as_secs_f64();

    println!(
        "floor: `ssh HOST true` through the ControlMaster, median of {} = {:.1} ms",
        floor.len(),
        floor_s * 1000.0
    );
    println!(
        "{:<36} {:>9} {:>7} {:>7} {:>7} {:>8} {:>8} {:>8} {:>8}",
        "", "median s", "p90 s", "min s", "max s", "× floor", "p90 ×", "target ×", "target s"
    );
    for (name, mut samples, ratio, target) in [
        (
            format!("grunt submit, {files} files"),
            small,
            Some(1.3),
            0.1,
        ),
        (format!("grunt submit, {files_big} files"), big, None, 0.5),
        (
            "grunt status --wait (round trip)".to_string(),
            status,
            Some(2.5),
            0.5,
        ),
    ] {
        let m = median(&mut samples).as_secs_f64();
        let p90 = samples[(samples.len() * 9).div_ceil(10).saturating_sub(1)].as_secs_f64();
        let x = m / floor_s;
        let met = ratio.is_none_or(|r| x <= r) && m <= target;
        println!(
            "{name:<36} {m:>9.3} {p90:>7.3} {:>7.3} {:>7.3} {x:>8.2} {:>8.2} {:>8} {:>8} {}",
            samples[0].as_secs_f64(),
            samples[samples.len() - 1].as_secs_f64(),
            p90 / floor_s,
            ratio
                .map(|r| format!("≤ {r}"))
                .unwrap_or_else(|| "-".into()),
            format!("≤ {target}"),
            if met { "met" } else { "MISSED" }
        );
    }
    println!("ssh processes per submit: {ssh_per_submit}; per status --wait: {ssh_per_status}");
    for (name, samples) in [
        ("floor (ssh true)", &floor),
        ("submit, small", &small_raw),
        ("submit, big", &big_raw),
        ("status --wait", &status_raw),
    ] {
        let ms: Vec<String> = samples
            .iter()
            .map(|d| format!("{:.0}", d.as_secs_f64() * 1000.0))
            .collect();
        println!("samples in order, ms, {name}: {}", ms.join(" "));
    }
    ExitCode::SUCCESS
}

/// `grunt args` in the project, with the server's grunt named explicitly.
fn grunt(w: &SshWorld, args: &[&str]) -> Run {
    let mut c = w.grunt_command(args);
    c.env("GRUNT_REMOTE_GRUNT", w.server_bin_dir().join("grunt"));
    let trace = std::env::var_os("BENCH_STRACE").map(|d| (d, "strace"));
    if let Some((dir, tool)) = trace.or(std::env::var_os("BENCH_PERF").map(|d| (d, "perf"))) {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let out = Path::new(&dir).join(format!("{n}-{}.{tool}", args[0]));
        let mut s = Command::new(tool);
        if tool == "perf" {
            s.args(["record", "-q", "-F", "20000", "-g", "-o"]);
        } else {
            s.args(STRACE).arg("-o");
        }
        s.arg(out)
            .arg(c.get_program())
            .args(c.get_args())
            .current_dir(c.get_current_dir().unwrap())
            .env_clear();
        for (k, v) in c.get_envs() {
            if let Some(v) = v {
                s.env(k, v);
            }
        }
        c = s;
    }
    c.output().unwrap().into()
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

/// Times `runs` submits after a warm-up one, each after a floor sample; waits for grund's
/// answer after each (untimed).
fn submits(w: &SshWorld, runs: usize, next: &mut u32, floor: &mut Vec<Duration>) -> Vec<Duration> {
    let mut out = Vec::new();
    for i in 0..=runs {
        let f = ssh_true(w);
        let (r, t) = timed(|| grunt(w, &["submit", "-m", "bench"]));
        ok(r);
        settle(w, next);
        if i > 0 {
            floor.push(f);
            out.push(t);
        }
    }
    out
}

/// How many ssh processes one `grunt args` starts (from the wrapper's log); `submitted` when
/// it makes a new job to settle.
fn ssh_per(w: &SshWorld, next: &mut u32, args: &[&str], submitted: bool) -> usize {
    let before = w.ssh_log().len();
    ok(grunt(w, args));
    let n = w.ssh_log().len() - before;
    if submitted {
        settle(w, next);
    }
    n
}

/// Waits until grund has answered the job just submitted.
fn settle(w: &SshWorld, next: &mut u32) {
    ok(grunt(w, &["status", "--wait=60", &next.to_string()]));
    *next += 1;
}

fn ok(r: Run) {
    assert!(r.ok, "command failed:\n{}\n{}", r.stdout, r.stderr);
}

/// Adds `n` small tracked files under `data/` and commits them.
fn add_files(project: &Path, n: usize, tag: &str) {
    let repo = git2::Repository::open(project).unwrap();
    let mut idx = repo.index().unwrap();
    let dir = project.join("data");
    std::fs::create_dir_all(&dir).unwrap();
    for i in 0..n {
        let rel = format!("data/{tag}-{i:04}.txt");
        std::fs::write(project.join(&rel), format!("{tag} file {i}\n").repeat(4)).unwrap();
        idx.add_path(Path::new(&rel)).unwrap();
    }
    idx.write().unwrap();
    let tree = repo.find_tree(idx.write_tree().unwrap()).unwrap();
    let sig = git2::Signature::now("bench", "bench@grunt.invalid").unwrap();
    let head = repo.head().unwrap().peel_to_commit().unwrap();
    repo.commit(Some("HEAD"), &sig, &sig, tag, &tree, &[&head])
        .unwrap();
}

/// Number of files git tracks in the project.
fn tracked(project: &Path) -> usize {
    git2::Repository::open(project)
        .unwrap()
        .index()
        .unwrap()
        .len()
}
