//! grund at many projects: the reaction to a push (from the ref update to the runner's start)
//! and the CPU an idle poll cycle costs, at 1,000 projects and, as the floor measured in the
//! same run, at 1 project. Targets: reaction p50 ≤ 100 ms, idle ≤ 0.01 CPU-s per poll cycle.
//! At many projects, the reaction is measured while the first project's runner hangs, which
//! must not delay the others.
//!
//! The projects are created in-process (`project::create_server`); a push is a commit made on
//! a bare jobs repo with a compare-and-swap of its branch, as a client's push lands; the
//! runner writes the time it started. grund runs as a real process (`--poll 1`), its CPU read
//! from `/proc/<pid>/stat`.
//!
//! Usage: `cargo build --release -p grund && cargo run --release -p grunt-tests --bin grund-scale
//! [PROJECTS] [PUSHES]`.

#![allow(clippy::unwrap_used)] // a bench: failing loudly is its job

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use grunt_core::git::{self, refs, tree};
use grunt_core::layout::ServerLayout;
use grunt_core::project;

/// How long the idle CPU is measured, in poll cycles of 1 s.
const IDLE_CYCLES: u64 = 10;

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(1000);
    let pushes: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(21);
    println!(
        "grund-scale: {} build",
        if cfg!(debug_assertions) {
            "DEBUG (numbers are not representative: use --release)"
        } else {
            "release"
        }
    );
    let floor = measure(1, pushes);
    let at_n = measure(n, pushes);
    println!();
    println!("(at more than 1 project, the reaction is measured with one project's runner hung)");
    println!("| projects | reaction p50 | reaction max | idle CPU per poll cycle |");
    println!("|---|---|---|---|");
    for m in [&floor, &at_n] {
        println!(
            "| {} | {:.1} ms | {:.1} ms | {:.4} CPU-s |",
            m.projects,
            m.p50 * 1e3,
            m.max * 1e3,
            m.idle_cpu
        );
    }
    println!(
        "reaction at {n} projects: {:.2}x the 1-project floor (target p50 <= 100 ms: {}); idle CPU at {n}: {:.4} CPU-s per cycle (target <= 0.01: {})",
        at_n.p50 / floor.p50.max(1e-6),
        if at_n.p50 <= 0.1 { "met" } else { "NOT met" },
        at_n.idle_cpu,
        if at_n.idle_cpu <= 0.01 { "met" } else { "NOT met" },
    );
}

struct Measured {
    projects: usize,
    p50: f64,
    max: f64,
    idle_cpu: f64,
}

/// Kills grund when dropped.
struct Grund(Child);

impl Drop for Grund {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn measure(n: usize, pushes: usize) -> Measured {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("srv");
    let marks = tmp.path().join("marks");
    std::fs::create_dir_all(&marks).unwrap();
    let layout = ServerLayout::from_home(&home);
    let t = Instant::now();
    let names: Vec<String> = (0..n).map(|i| format!("p{i:04}")).collect();
    for name in &names {
        project::create_server(
            &layout,
            &grunt_core::layout::ProjectKey::new("clust", "ore", name),
        )
        .unwrap();
    }
    println!(
        "{n} project(s) created in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let runner = format!(
        "#!/bin/sh\ndate +%s.%N > \"{}/$GRUNT_PROJECT-$GRUNT_JOBID\"\n",
        marks.display()
    );
    let log = std::fs::File::create(tmp.path().join("grund.log")).unwrap();
    let child = Command::new(grunt_tests::grund_bin())
        .args(["--server", "clust", "--poll", "1", "--refresh", "3600"])
        .current_dir(&home)
        .env_clear()
        .env("HOME", &home)
        .env("USER", "ore")
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    let grund = Grund(child);
    let pid = grund.0.id();
    settle(pid);

    // Idle: poll cycles with nothing to do.
    let before = cpu_secs(pid);
    std::thread::sleep(Duration::from_secs(IDLE_CYCLES));
    let idle_cpu = (cpu_secs(pid) - before) / IDLE_CYCLES as f64;

    // With more than one project, the first one's runner hangs (until `hold` goes) all along:
    // the others must not notice.
    let hold = tmp.path().join("hold");
    if n > 1 {
        std::fs::write(&hold, "").unwrap();
        let hang = format!(
            "#!/bin/sh\ni=0\nwhile [ -e \"{}\" ] && [ $i -lt 3000 ]; do sleep 0.1; i=$((i+1)); done\n",
            hold.display()
        );
        push_job(&layout, &names[0], "ore999999", &hang);
    }
    // Reaction: one push at a time, to projects spread over all of them.
    let mut samples = Vec::new();
    for k in 0..pushes {
        let name = if n > 1 {
            &names[1 + (k * 7919) % (n - 1)]
        } else {
            &names[0]
        };
        let job = format!("ore{:06}", k + 1);
        let pushed = push_job(&layout, name, &job, &runner);
        let mark = marks.join(format!("{name}-{job}"));
        let deadline = Instant::now() + Duration::from_secs(30);
        let started = loop {
            if let Some(t) = std::fs::read_to_string(&mark)
                .ok()
                .and_then(|s| s.trim().parse::<f64>().ok())
            {
                break t;
            }
            assert!(
                Instant::now() < deadline,
                "the runner of {name} {job} did not start within 30 s"
            );
            std::thread::sleep(Duration::from_millis(2));
        };
        samples.push((started - pushed).max(0.0));
        // Let grund commit its answer before the next push.
        std::thread::sleep(Duration::from_millis(200));
    }
    samples.sort_by(f64::total_cmp);
    let p50 = samples[samples.len() / 2];
    let max = samples.last().copied().unwrap_or_default();
    println!(
        "{n} project(s): reaction p50 {:.1} ms (max {:.1} ms, {pushes} pushes), idle {:.4} CPU-s per poll cycle",
        p50 * 1e3,
        max * 1e3,
        idle_cpu
    );
    let _ = std::fs::remove_file(&hold);
    drop(grund);
    Measured {
        projects: n,
        p50,
        max,
        idle_cpu,
    }
}

/// Commits a job with a submit command and the runner to `project`'s bare jobs repo, as a
/// client's push lands; returns when the ref moved (seconds since the epoch).
fn push_job(layout: &ServerLayout, project: &str, job: &str, runner: &str) -> f64 {
    let bare = layout
        .bare(&grunt_core::layout::ProjectKey::new(
            "clust", "ore", project,
        ))
        .jobs();
    let repo = git::open(&bare).unwrap();
    let sig = git2::Signature::now("bench", "b@x").unwrap();
    let dir = format!("active/{job}/{project}");
    let edits = vec![
        tree::put_bytes(&repo, &format!("{dir}/grunter"), runner.as_bytes(), true).unwrap(),
        tree::put_bytes(&repo, &format!("{dir}/job.message"), b"bench\n", false).unwrap(),
        tree::put_bytes(
            &repo,
            &format!("{dir}/grcmd.submit"),
            b"2026-01-01 00:00:00 UTC\n",
            false,
        )
        .unwrap(),
    ];
    refs::commit_edits(&repo, &sig, "bench: submit", 10, |_, _| Ok(edits.clone())).unwrap();
    now()
}

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64()
}

/// Waits until grund's first passes are over: its CPU time stops growing (at most 300 s).
fn settle(pid: u32) {
    let deadline = Instant::now() + Duration::from_secs(300);
    let mut last = cpu_secs(pid);
    while Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(1500));
        let c = cpu_secs(pid);
        if c - last < 0.02 {
            return;
        }
        last = c;
    }
}

/// User and system CPU of a process, in seconds.
fn cpu_secs(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|s| s.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime are fields 14 and 15 of the line: 11 and 12 counted from the state.
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    (ticks(11) + ticks(12)) / hz.max(1.0)
}
