//! Nothing lost, nothing escapes: hand-made pushes that aim outside a job (a link a runner
//! left, a `..` project part, a link blob), a removed `maxjob.id`, a second move of a job
//! before grund got to the first, a repeated `grunt files`, a 64 KiB argument, a deleted
//! `grund.lock`, stale locks in the client's clones, a runner printing 50 MB, tracked symlinks
//! and a large result file. The random kill -9 suite is in [`crate::fault_kills`].

use std::path::{Path, PathBuf};

use git2::{FileMode, Oid, Repository};
use grunt_tests::World;

/// Logs every call but grund's periodic queries; `mklink` leaves a link to `$HOME/outside`
/// in the job, `loud` prints 50 MB, `big` makes a 64 MiB result file.
pub const RUNNER: &str = r#"#!/bin/sh
[ "$1" = batch-status ] && exit 0
echo "$GRUNT_JOBID $1" >> "$HOME/calls.log"
case "$1" in
  submit) echo 1 > job.slurmid; date -u '+%Y-%m-%d %H:%M:%S UTC' > job.start ;;
  mklink) ln -s "$HOME/outside" esc ;;
  loud) head -c 50000000 /dev/zero | tr '\0' x; echo; echo the last line ;;
  big) head -c 67108864 /dev/zero > big.bin ;;
  results) echo big.bin ;;
esac
exit 0
"#;

/// Runner calls per `"<jobid> <word>"`, from `$HOME/calls.log` on the server.
pub fn calls(w: &World) -> std::collections::BTreeMap<String, usize> {
    let text = std::fs::read_to_string(w.server.home.join("calls.log")).unwrap_or_default();
    let mut m = std::collections::BTreeMap::new();
    for l in text.lines() {
        *m.entry(l.to_string()).or_insert(0) += 1;
    }
    m
}

/// Commits what `build` makes of the tip's tree straight into the bare jobs repo, as a
/// hostile or careless client's push would land there.
fn hand_commit(w: &World, msg: &str, build: impl FnOnce(&Repository, &git2::Tree<'_>) -> Oid) {
    let r = Repository::open_bare(w.bare_jobs()).unwrap();
    let head = r.refname_to_id("refs/heads/master").unwrap();
    let parent = r.find_commit(head).unwrap();
    let tree = build(&r, &parent.tree().unwrap());
    let sig = git2::Signature::now("hand", "hand@x").unwrap();
    let c = r
        .commit(
            None,
            &sig,
            &sig,
            msg,
            &r.find_tree(tree).unwrap(),
            &[&parent],
        )
        .unwrap();
    r.reference_matching("refs/heads/master", c, true, head, "hand-made")
        .unwrap();
}

/// Writes a tree object byte by byte, so it may hold names libgit2 would refuse (`..`).
fn raw_tree(r: &Repository, entries: &[(u32, &str, Oid)]) -> Oid {
    let mut sorted: Vec<_> = entries.to_vec();
    let key = |e: &(u32, &str, Oid)| {
        let mut k = e.1.as_bytes().to_vec();
        if e.0 == 0o40000 {
            k.push(b'/');
        }
        k
    };
    sorted.sort_by_key(key);
    let mut bytes = Vec::new();
    for (mode, name, oid) in sorted {
        bytes.extend_from_slice(format!("{mode:o} {name}\0").as_bytes());
        bytes.extend_from_slice(oid.as_bytes());
    }
    r.odb()
        .unwrap()
        .write(git2::ObjectType::Tree, &bytes)
        .unwrap()
}

fn put(r: &Repository, base: &git2::Tree<'_>, edits: &[(&str, Oid, FileMode)]) -> Oid {
    let mut b = git2::build::TreeUpdateBuilder::new();
    for (p, o, m) in edits {
        b.upsert(*p, *o, *m);
    }
    b.create_updated(r, base).unwrap()
}

fn job_disk(w: &World, loc: &str, id: &str) -> PathBuf {
    w.server_jobs_dir().join(loc).join(id).join("sim")
}

fn head(repo: &Path) -> String {
    grunt_tests::run("git", &["rev-parse", "HEAD"], repo, &[])
        .stdout
        .trim()
        .to_string()
}

#[test]
fn hand_made_pushes_never_write_outside_a_job() {
    let w = World::new(RUNNER, "");
    let outside = w.server.home.join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    w.grunt(&["submit", "-m", "one"]).success();
    w.grunt(&["submit", "-m", "two"]).success();
    w.grunt(&["run", "mklink", "1"]).success();
    w.grund_once().success();
    let esc = job_disk(&w, "active", "ore000001").join("esc");
    assert!(esc.symlink_metadata().unwrap().file_type().is_symlink());
    let runner1 = job_disk(&w, "active", "ore000001").join("grunter");
    let original = std::fs::read(&runner1).unwrap();

    // (a) A file below the link the runner left.
    hand_commit(&w, "through the link", |r, t| {
        let blob = r.blob(b"pwned\n").unwrap();
        put(
            r,
            t,
            &[("active/ore000001/sim/esc/pwned.txt", blob, FileMode::Blob)],
        )
    });
    // (b) A project part `..`: active/ore000002/../ore000001/sim/grunter, with a command on
    // job 1 in the same commit that would run the replaced runner.
    hand_commit(&w, "dot-dot", |r, t| {
        let evil = r
            .blob(b"#!/bin/sh\necho pwned >> \"$HOME/hacked\"\n")
            .unwrap();
        let sim = raw_tree(r, &[(0o100755, "grunter", evil)]);
        let o1 = raw_tree(r, &[(0o40000, "sim", sim)]);
        let dd = raw_tree(r, &[(0o40000, "ore000001", o1)]);
        let job2 = t.get_path(Path::new("active/ore000002/sim")).unwrap().id();
        let o2 = raw_tree(r, &[(0o40000, "..", dd), (0o40000, "sim", job2)]);
        let stamp = r.blob(b"2026-11-21 09:30:00 UTC\n").unwrap();
        put(
            r,
            t,
            &[
                ("active/ore000002", o2, FileMode::Tree),
                ("active/ore000001/sim/grcmd.ping", stamp, FileMode::Blob),
            ],
        )
    });
    // (c) A link blob aiming out of the job (grund makes links only when they stay inside).
    hand_commit(&w, "link blob", |r, t| {
        let target = r.blob(b"../../../../../outside").unwrap();
        put(
            r,
            t,
            &[("active/ore000001/sim/evil", target, FileMode::Link)],
        )
    });
    w.grund_once().success();
    let escaped: Vec<_> = std::fs::read_dir(&outside)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(escaped.is_empty(), "written outside the job: {escaped:?}");
    assert_eq!(
        std::fs::read(&runner1).unwrap(),
        original,
        "job 1's runner was replaced through ore000002/.."
    );
    assert!(
        !w.server.home.join("hacked").exists(),
        "the planted runner ran"
    );
    assert_eq!(calls(&w).get("ore000001 ping"), Some(&1), "{:?}", calls(&w));
    let evil = job_disk(&w, "active", "ore000001").join("evil");
    assert!(
        !evil
            .symlink_metadata()
            .is_ok_and(|m| m.file_type().is_symlink()),
        "a link out of the job was made"
    );
    // grund carries on with the project.
    w.grunt(&["ping", "2"]).success();
    w.grund_once().success();
    assert_eq!(calls(&w).get("ore000002 ping"), Some(&1));
}

#[test]
fn ids_never_repeat_after_maxjob_id_is_removed() {
    let w = World::new(RUNNER, "");
    for m in ["a", "b", "c"] {
        w.grunt(&["submit", "-m", m]).success();
    }
    w.grund_once().success();
    w.grunt(&["nuke", "3"]).success();
    w.grund_once().success();
    assert!(World::file_in(&w.bare_jobs(), "maxjob.id").is_some());
    hand_commit(&w, "remove maxjob.id", |r, t| {
        let mut b = git2::build::TreeUpdateBuilder::new();
        b.remove("maxjob.id");
        b.create_updated(r, t).unwrap()
    });
    // A client that never submitted here (no nextjob.id).
    let next = w.client.home.join("gruntdat/projs/sim/nextjob.id");
    std::fs::remove_file(&next).unwrap();
    let out = w.grunt(&["submit", "-m", "d"]).success().stdout;
    assert!(out.contains("ore000004"), "id 3 came back: {out}");
    // grund's next commit does not lower maxjob.id either.
    std::fs::remove_file(&next).unwrap();
    w.grund_once().success();
    let max = World::file_in(&w.bare_jobs(), "maxjob.id").unwrap();
    assert_eq!(max.trim(), "4");
    let out = w.grunt(&["submit", "-m", "e"]).success().stdout;
    assert!(out.contains("ore000005"), "{out}");
}

#[test]
fn a_second_move_takes_the_job_from_where_the_first_left_it() {
    let w = World::new(RUNNER, "");
    for m in ["a", "b", "c", "d"] {
        w.grunt(&["submit", "-m", m]).success();
    }
    w.grund_once().success();
    // Pushed before grund gets to any of them.
    w.grunt(&["archive", "1"]).success();
    w.grunt(&["delete", "1"]).success();
    w.grunt(&["delete", "2"]).success();
    w.grunt(&["archive", "2"]).success();
    w.grunt(&["delete", "3"]).success();
    w.grunt(&["delete", "3"]).success();
    w.grund_once().success();
    // One processed, one not yet.
    w.grunt(&["archive", "4"]).success();
    w.grund_once().success();
    w.grunt(&["delete", "4"]).success();
    w.grund_once().success();
    let paths = World::paths_in(&w.bare_jobs());
    for (id, loc) in [
        ("ore000001", "delete"),
        ("ore000002", "archive"),
        ("ore000003", "delete"),
        ("ore000004", "delete"),
    ] {
        let here: Vec<_> = ["active", "archive", "delete"]
            .into_iter()
            .filter(|l| {
                paths
                    .iter()
                    .any(|p| p.starts_with(&format!("{l}/{id}/sim/job.submit")))
            })
            .collect();
        assert_eq!(here, [loc], "{id} in git");
        let on_disk: Vec<_> = ["active", "archive", "delete"]
            .into_iter()
            .filter(|l| job_disk(&w, l, id).is_dir())
            .collect();
        assert_eq!(on_disk, [loc], "{id} on the server's disk");
    }
}

#[test]
fn repeating_grunt_files_is_a_new_commit_each_time() {
    let w = World::new(RUNNER, "");
    w.grunt(&["submit", "-m", "a"]).success();
    w.grund_once().success();
    let mut before = head(&w.bare_jobs());
    for _ in 0..3 {
        w.grunt(&["files", "1", "sim.sh"]).success();
        let now = head(&w.bare_jobs());
        assert_ne!(now, before, "grunt files pushed nothing");
        before = now;
    }
    w.grund_once().success();
    let res = World::paths_in(&w.bare_results());
    assert!(
        res.contains(&"active/ore000001/sim/sim.sh".to_string()),
        "{res:?}"
    );
    let content = World::file_in(&w.bare_jobs(), "active/ore000001/sim/grcmd.results").unwrap();
    assert!(content.starts_with("sim.sh\n"), "{content:?}");
    // What the original does with it: each line stripped, blank lines skipped.
    let names: Vec<_> = content
        .lines()
        .map(str::trim_end)
        .filter(|l| !l.is_empty())
        .collect();
    assert_eq!(names, ["sim.sh"]);
}

#[test]
fn a_64_kib_argument_never_panics_the_client() {
    let w = World::new(RUNNER, "");
    let arg = "x".repeat(64 * 1024);
    w.grunt(&["submit", &arg, "-m", "long"]).success();
    w.grund_once().success();
    for args in [
        &["jobs"][..],
        &["jobs", "--wide"],
        &["show", "1"],
        &["status", "1"],
    ] {
        let r = w.grunt(args);
        assert!(
            r.ok && !r.stderr.contains("panicked"),
            "grunt {args:?}: {}",
            r.stderr
        );
        // Tables cut long cells; `show` is the one view that prints a job's whole arguments.
        if args[0] == "jobs" {
            assert!(
                r.stdout.lines().all(|l| l.len() < 4096),
                "grunt {args:?} printed the whole argument"
            );
        }
    }
}

#[test]
fn deleting_grund_lock_does_not_let_a_second_grund_in() {
    let w = World::new(RUNNER, "");
    let d = w.spawn_grund(&["--poll", "1"]);
    let lock = w.server.home.join("gruntsrv/grund.lock");
    grunt_tests::wait_until(30, "grund holds its lock", || {
        std::fs::read_to_string(&lock).is_ok_and(|t| !t.trim().is_empty())
    });
    std::fs::remove_file(&lock).unwrap();
    let second = w.grund_once_bin();
    assert!(
        !second.ok && second.stderr.contains("already running"),
        "a second grund ran: {}",
        second.stderr
    );
    drop(d);
}

#[test]
fn stale_locks_in_the_clients_clones_are_cleared() {
    let w = World::new(RUNNER, "");
    w.grunt(&["submit", "-m", "a"]).success();
    w.grund_once().success();
    w.grunt(&["pull"]).success();
    let wc = w.client.home.join("gruntdat/wc/clust/ore/sim");
    let jobs = Repository::open(wc.join("jobs"))
        .unwrap()
        .path()
        .to_path_buf();
    let results = Repository::open(wc.join("results"))
        .unwrap()
        .path()
        .to_path_buf();
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(120);
    let locks = [
        jobs.join("refs/heads/master.lock"),
        jobs.join("refs/remotes/origin/master.lock"),
        results.join("refs/heads/master.lock"),
        results.join("index.lock"),
    ];
    for l in &locks {
        std::fs::create_dir_all(l.parent().unwrap()).unwrap();
        std::fs::File::create(l).unwrap().set_modified(old).unwrap();
    }
    let r = w.grunt(&["status", "1"]).success();
    assert!(r.stderr.contains("removing"), "no warning: {}", r.stderr);
    w.grund_once().success();
    w.grunt(&["pull"]).success();
    for l in &locks {
        assert!(!l.exists(), "{} is still there", l.display());
    }
    // A fresh one a killed grunt left a moment ago goes too: no live grunt holds the clone
    // (grunt holds an flock on it while writing), so nothing waits for 30 s.
    let fresh = jobs.join("refs/remotes/origin/master.lock");
    std::fs::File::create(&fresh).unwrap();
    w.grunt(&["status", "1"]).success();
    assert!(!fresh.exists());
}

#[test]
fn runner_output_goes_into_the_jobs_repo_as_a_bounded_tail() {
    let w = World::new(RUNNER, "");
    w.grunt(&["submit", "-m", "a"]).success();
    w.grunt(&["run", "loud", "1"]).success();
    w.grund_once().success();
    let out = World::file_in(&w.bare_jobs(), "active/ore000001/sim/job.grunter.out").unwrap();
    assert!(
        out.len() <= 64 * 1024 + 512,
        "{} bytes committed",
        out.len()
    );
    assert!(out.starts_with("[grund: the first") && out.ends_with("the last line\n"));
    let on_disk = job_disk(&w, "active", "ore000001").join("job.grunter.out");
    assert!(std::fs::metadata(on_disk).unwrap().len() > 50_000_000);
}

#[test]
fn tracked_symlinks_are_stored_as_links_and_never_followed_out() {
    let w = World::new(RUNNER, "");
    std::os::unix::fs::symlink("/etc/passwd", w.project.join("plink.txt")).unwrap();
    std::os::unix::fs::symlink("sim.sh", w.project.join("inside.sh")).unwrap();
    grunt_tests::run(
        "git",
        &["add", "plink.txt", "inside.sh"],
        &w.project,
        &[("GIT_CONFIG_GLOBAL", "/dev/null".into())],
    );
    w.grunt(&["submit", "-m", "links"]).success();
    let r = Repository::open_bare(w.bare_jobs()).unwrap();
    let tip = r
        .find_commit(r.refname_to_id("refs/heads/master").unwrap())
        .unwrap()
        .tree()
        .unwrap();
    for (p, target) in [("plink.txt", "/etc/passwd"), ("inside.sh", "sim.sh")] {
        let e = tip
            .get_path(Path::new(&format!("active/ore000001/sim/{p}")))
            .unwrap();
        assert_eq!(e.filemode(), 0o120000, "{p} not stored as a link");
        assert_eq!(r.find_blob(e.id()).unwrap().content(), target.as_bytes());
    }
    w.grund_once().success();
    let job = job_disk(&w, "active", "ore000001");
    assert!(job.join("plink.txt").symlink_metadata().is_err());
    assert_eq!(
        std::fs::read_link(job.join("inside.sh")).unwrap(),
        Path::new("sim.sh")
    );
}

/// Runs `grund --once` and returns its peak resident memory in KiB (from `wait4`).
#[allow(clippy::zombie_processes)] // reaped by wait4, which std cannot do with rusage
fn grund_once_peak_kib(w: &World) -> i64 {
    let child = w
        .server
        .command(&grunt_tests::grund_bin(), &w.server.home)
        .args(["--once", "--server", &w.server_name])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut status = 0;
    // SAFETY: plain syscall on our own child; rusage is a valid out-pointer.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = child.id() as libc::pid_t;
    let rc = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(rc, pid);
    assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0);
    usage.ru_maxrss
}

#[test]
fn a_large_result_file_is_streamed_not_read_whole() {
    let w = World::new(RUNNER, "");
    w.grunt(&["submit", "-m", "a"]).success();
    w.grunt(&["run", "big", "1"]).success();
    w.grund_once().success();
    w.grunt(&["results", "1"]).success();
    let peak = grund_once_peak_kib(&w);
    let res = World::paths_in(&w.bare_results());
    assert!(
        res.contains(&"active/ore000001/sim/big.bin".to_string()),
        "{res:?}"
    );
    assert!(
        peak < 48 * 1024,
        "grund peaked at {} MiB for a 64 MiB result",
        peak / 1024
    );
}
