//! Wall times of the client's commands over loopback ssh with a ControlMaster and a running
//! grund (as the server account, see `grunt_tests::sshworld`):
//!
//! - `grunt submit` of a 10-file and of a 1000-file project (target ≤ 0.1 s and ≤ 0.5 s);
//! - `grunt status --wait`: push a command, grund runs the runner and answers, the answer is
//!   pulled (target ≤ 0.5 s).
//!
//! Each figure is the median of N runs (default 10) after one warm-up run that also opens the
//! ControlMaster. Between two submits the bench waits (untimed) for grund's answer, so every
//! submit meets a settled server. grunt runs `ssh -F <config>` as a user's setup would. Also
//! prints how many ssh processes one submit starts, and every sample in order.
//!
//! Usage: `cargo run --release -p grunt-tests --bin roundtrip-bench [RUNS]`. Needs sshd.

#![allow(clippy::unwrap_used)] // a bench: failing loudly is its job

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use grunt_tests::sshworld::{median, timed, Options, SshWorld};
use grunt_tests::{local_runner_text, Run};

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
        grunt_on_server: false,
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
    let _grund = w.spawn_grund();
    let mut next = 1;

    let ssh_per_submit = ssh_per_submit(&w, &mut next);
    // Timed runs start ssh as a user's setup does, without the test's logging wrapper.
    w.set_direct_ssh(true);
    add_files(&w.project, 7, "small");
    let files = tracked(&w.project);
    let small = submits(&w, runs, &mut next);

    add_files(&w.project, 1000 - files, "big");
    let files_big = tracked(&w.project);
    let big = submits(&w, runs, &mut next);

    let mut status = Vec::new();
    // grund answers `status` by running the runner's status in the job directory.
    for _ in 0..=runs {
        let (r, t) = timed(|| w.grunt(&["status", "--wait=60", "1"]));
        ok(r);
        status.push(t);
    }
    status.remove(0); // warm-up
    let (small_raw, big_raw, status_raw) = (small.clone(), big.clone(), status.clone());

    println!(
        "{:<40} {:>9} {:>9} {:>9} {:>8}",
        "", "median s", "min s", "max s", "target"
    );
    for (name, mut samples, target) in [
        (format!("grunt submit, {files} files"), small, 0.1),
        (format!("grunt submit, {files_big} files"), big, 0.5),
        ("grunt status --wait (round trip)".to_string(), status, 0.5),
    ] {
        let m = median(&mut samples).as_secs_f64();
        println!(
            "{name:<40} {m:>9.3} {:>9.3} {:>9.3} {:>8} {}",
            samples[0].as_secs_f64(),
            samples[samples.len() - 1].as_secs_f64(),
            format!("≤ {target}"),
            if m <= target { "met" } else { "MISSED" }
        );
    }
    println!("ssh processes per submit: {ssh_per_submit}");
    for (name, samples) in [
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

/// Times `runs` submits after a warm-up one; waits for grund's answer after each (untimed).
fn submits(w: &SshWorld, runs: usize, next: &mut u32) -> Vec<Duration> {
    let mut out = Vec::new();
    for i in 0..=runs {
        let (r, t) = timed(|| w.grunt(&["submit", "-m", "bench"]));
        ok(r);
        settle(w, next);
        if i > 0 {
            out.push(t);
        }
    }
    out
}

/// How many ssh processes one submit starts (from the wrapper's log).
fn ssh_per_submit(w: &SshWorld, next: &mut u32) -> usize {
    let before = w.ssh_log().len();
    ok(w.grunt(&["submit", "-m", "count"]));
    let n = w.ssh_log().len() - before;
    settle(w, next);
    n
}

/// Waits until grund has answered the job just submitted.
fn settle(w: &SshWorld, next: &mut u32) {
    ok(w.grunt(&["status", "--wait=60", &next.to_string()]));
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
