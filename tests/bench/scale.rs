//! Scale figures: a jobs repo with 10,000 jobs of 20 files each (200,000 files, as a year of
//! a busy project), and what grunt and grund pay per operation on it. Prints medians; run with
//! `cargo run --release -p grunt-tests --bin scale [JOBS]`.

use std::time::{Duration, Instant};

use git2::{FileMode, Oid, Repository};
use grunt_core::git::{self, refs, remote::Remote, sync, tree};
use grunt_core::jobid::JobId;
use grunt_core::layout::{job_dir, Location};
use grunt_core::{jobs, project};

fn main() {
    let n: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(10_000);
    let tmp = tempfile::tempdir().expect("tempdir");
    let srv = tmp.path().join("srv");
    let layout = grunt_core::layout::ServerLayout::from_home(&srv);
    let dirs = project::create_server(
        &layout,
        &grunt_core::layout::ProjectKey::new("clust", "ore", "sim"),
    )
    .expect("server project");
    let bare = git::open(&dirs.jobs()).expect("open");
    let sig = git2::Signature::now("bench", "b@x").expect("sig");

    let t = Instant::now();
    let job_tree = sample_job(&bare);
    // One commit holding all jobs: every job shares the code's blobs, each has its own message.
    let mut active = bare.treebuilder(None).expect("tb");
    for i in 1..=n {
        let id = JobId::new("ore", i).expect("id");
        let msg = bare.blob(format!("job {i}\n").as_bytes()).expect("blob");
        let mut b = git2::build::TreeUpdateBuilder::new();
        b.upsert("job.message", msg, FileMode::Blob);
        let t = b
            .create_updated(&bare, &bare.find_tree(job_tree).expect("t"))
            .expect("job");
        let mut wrap = bare.treebuilder(None).expect("tb");
        wrap.insert("sim", t, 0o040000).expect("insert");
        active
            .insert(id.to_string(), wrap.write().expect("w"), 0o040000)
            .expect("insert");
    }
    let active = active.write().expect("active");
    refs::commit_edits(&bare, &sig, &format!("{n} jobs"), 1, |_, _| {
        Ok(vec![tree::Edit::Put {
            path: "active".into(),
            oid: active,
            mode: FileMode::Tree,
        }])
    })
    .expect("commit");
    println!(
        "built a jobs repo with {n} jobs of 20 files ({} files) in {:.1} s",
        n * 20,
        t.elapsed().as_secs_f64()
    );

    // grund: commit one job's changed job.* files on top (what it does after each command).
    let mut k = 0u64;
    let grund_commit = median(15, || {
        k += 1;
        let id = JobId::new("ore", 1 + k % n).expect("id");
        let dir = job_dir(Location::Active, &id, "sim");
        refs::commit_edits(&bare, &sig, "GRUND: bench", 3, |r, _| {
            Ok(vec![
                tree::put_bytes(
                    r,
                    &format!("{dir}/job.status"),
                    format!("RUNNING {k}\n").as_bytes(),
                    false,
                )?,
                tree::put_bytes(
                    r,
                    &format!("{dir}/job.list"),
                    format!("File,Size,Modified\n{k}\n").as_bytes(),
                    false,
                )?,
            ])
        })
        .expect("commit");
    });
    println!(
        "grund commit of one job's files at {n} jobs: median {}",
        ms(grund_commit)
    );

    // grund: a batch moving one job to archive and committing another's files.
    let mut k2 = 0u64;
    let grund_move = median(15, || {
        k2 += 1;
        let id = JobId::new("ore", 1 + (k2 * 7) % n).expect("id");
        refs::commit_edits(&bare, &sig, "GRUND: bench move", 3, |_, _| {
            Ok(vec![tree::Edit::Move {
                from: format!("active/{id}"),
                to: format!("archive/{id}"),
            }])
        })
        .expect("commit");
    });
    println!(
        "grund archive of one job at {n} jobs: median {}",
        ms(grund_move)
    );

    // The client: clone, then list every job from git objects (what `grunt jobs` reads).
    let cli = tmp.path().join("cli");
    let base = project::remote_base(&Remote::Local(srv.clone()), "clust", "ore", "sim");
    let t = Instant::now();
    let cdirs = project::create_client(
        &grunt_core::layout::ClientLayout::from_home(&cli),
        &grunt_core::layout::ProjectKey::new("clust", "ore", "sim"),
        &base,
    )
    .expect("client");
    println!(
        "client newproj (first fetch of {n} jobs): {:.2} s",
        t.elapsed().as_secs_f64()
    );
    let crepo = git::open(&cdirs.jobs()).expect("open");
    let list = median(5, || {
        let head = git::head(&crepo).expect("head").expect("some");
        let root = crepo.find_commit(head).expect("c").tree().expect("t");
        let all = jobs::list(&crepo, &root, "sim");
        assert!(all.len() as u64 >= n - 20);
    });
    println!(
        "client listing of {n} jobs (job.* files read from objects): median {}",
        ms(list)
    );

    // The client: push a new job (fetch, build on the tip, push) — submit without the CLI.
    let client_job = sample_job(&crepo);
    let mut k3 = n;
    let push = median(15, || {
        k3 += 1;
        let id = JobId::new("ore", k3).expect("id");
        sync::push_change(&crepo, &sig, 5, |_, _| {
            Ok(sync::Change {
                edits: vec![tree::Edit::Put {
                    path: job_dir(Location::Active, &id, "sim"),
                    oid: client_job,
                    mode: FileMode::Tree,
                }],
                message: format!("Submit job: {id} bench"),
            })
        })
        .expect("push");
    });
    println!(
        "client submit commit + local push at {n} jobs: median {}",
        ms(push)
    );
}

/// A job of 20 files: code, runner, the client's job files and a command.
fn sample_job(repo: &Repository) -> Oid {
    let mut edits = Vec::new();
    for i in 0..14 {
        edits.push(
            tree::put_bytes(
                repo,
                &format!("src/mod{i}.py"),
                format!("# module {i}\nprint({i})\n").as_bytes(),
                false,
            )
            .expect("blob"),
        );
    }
    for (name, text) in [
        ("grunter", "#!/bin/sh\n"),
        ("grunt.toml", "[run]\ncommand = \"python3 src/mod0.py\"\n"),
        ("job.message", "bench\n"),
        ("job.submit", "2026-11-21 09:30:00 UTC\n"),
        ("job.args", "--lr\n0.1\n"),
        ("grcmd.submit", "2026-11-21 09:30:00 UTC\n"),
    ] {
        edits.push(tree::put_bytes(repo, name, text.as_bytes(), name == "grunter").expect("blob"));
    }
    tree::apply(repo, None, &edits).expect("tree")
}

fn median(runs: usize, mut f: impl FnMut()) -> Duration {
    let mut v: Vec<Duration> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    v.sort();
    v[runs / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}
