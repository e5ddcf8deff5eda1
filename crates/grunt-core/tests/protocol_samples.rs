//! The samples in tests/data/protocol/ still load: what grund, runners and `grunt await` wrote
//! with earlier versions stays readable.

#![allow(clippy::unwrap_used)] // tests fail loudly

use std::path::PathBuf;

use git2::Oid;
use grunt_core::git::{self, sync, tree};
use grunt_core::protocol::answer::Reply;
use grunt_core::protocol::batch::{BatchAnswer, BatchJob};
use grunt_core::protocol::status_file::GrundStatus;
use grunt_core::protocol::submit_batch::SubmitJob;

fn sample(name: &str) -> Vec<u8> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/data/protocol")
        .join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn oid(s: &str) -> Oid {
    Oid::from_str(s).unwrap()
}

#[test]
fn grund_status_files_load() {
    let s = GrundStatus::from_bytes(&sample("grund_status.txt"));
    assert_eq!(s.time, "2026-11-21 09:30:00 UTC");
    assert_eq!(
        s.commit_done,
        Some(oid("5f1c3a9e2b7d4c6e8f0a1b2c3d4e5f60718293a4"))
    );
    assert_eq!(
        s.commit_cur,
        Some(oid("9a8b7c6d5e4f30211f2e3d4c5b6a798877665544"))
    );
    // Written again, it is byte for byte what was read.
    assert_eq!(s.render().as_bytes(), sample("grund_status.txt"));
    let first = GrundStatus::from_bytes(&sample("grund_status-first.txt"));
    assert_eq!(first.commit_done, None);
    assert_eq!(first.render().as_bytes(), sample("grund_status-first.txt"));
}

#[test]
fn batch_status_request_and_answer_load() {
    let text = String::from_utf8(sample("batch-status.in")).unwrap();
    let jobs = BatchJob::parse_all(&text);
    assert_eq!(jobs.len(), 3);
    assert_eq!(jobs[2].batch_id, "833");
    assert_eq!(
        jobs[2].dir,
        PathBuf::from("/scratch/my runs/gruntsrv/wc/clust/ore/sim/jobs/active/ore000003/sim")
    );
    assert_eq!(BatchJob::render_all(&jobs), text);
    let out = String::from_utf8(sample("batch-status.out")).unwrap();
    let got: Vec<(String, String, Option<i32>)> = BatchAnswer::parse_all(&out)
        .into_iter()
        .map(|a| (a.id.to_string(), a.word, a.exit_code))
        .collect();
    let want = [
        ("ore000001", "RUNNING", None),
        ("ore000002", "FAILED", Some(3)),
        ("ore000003", "TIMEOUT", None),
    ]
    .map(|(i, w, c)| (i.to_string(), w.to_string(), c));
    assert_eq!(got, want);
}

#[test]
fn submit_batch_request_loads() {
    let text = String::from_utf8(sample("submit-batch.in")).unwrap();
    let jobs = SubmitJob::parse_all(&text);
    assert_eq!(jobs.len(), 3);
    assert_eq!(jobs[0].id.to_string(), "ore000012");
    assert_eq!(
        jobs[2].dir,
        PathBuf::from("/home/ore/my runs/gruntsrv/wc/clust/ore/sim/jobs/active/ore000014/sim")
    );
    assert_eq!(SubmitJob::render_all(&jobs), text);
}

#[test]
fn await_reply_loads_and_its_pack_is_taken_in() {
    let reply = Reply::read(&sample("await-reply.bin")).unwrap();
    assert!(reply.answered);
    assert!(reply.results.is_none());
    let jobs = reply.jobs.unwrap();
    assert_eq!(jobs.tip, oid("8dae9c2d28a1a89a870a738a5a8b92149e13a3f2"));
    let d = tempfile::tempdir().unwrap();
    let repo = git::init(d.path(), false).unwrap();
    sync::adopt(&repo, jobs.tip, &jobs.pack, false).unwrap();
    assert_eq!(git::head(&repo).unwrap(), Some(jobs.tip));
    let t = repo.find_commit(jobs.tip).unwrap().tree().unwrap();
    let status = tree::read_file(&repo, &t, "grund_status.txt").unwrap();
    assert_eq!(
        GrundStatus::from_bytes(&status).commit_cur,
        Some(oid("0000000000000000000000000000000000000001"))
    );
    // A pack that does not bring the tip moves nothing.
    let other = oid("1111111111111111111111111111111111111111");
    assert!(sync::adopt(&repo, other, &[], false).is_err());
    assert_eq!(git::head(&repo).unwrap(), Some(jobs.tip));
}

#[test]
fn provenance_files_load() {
    use grunt_core::provenance::{parse_inputs, render_inputs, InputKind, SourceRecord};
    let text = String::from_utf8(sample("job.commit")).unwrap();
    let s = SourceRecord::parse(&text).unwrap();
    assert_eq!(s.commit, "3f1c2e9a4b7d0c6e8f1a2b3c4d5e6f708192a3b4");
    assert_eq!(s.branch.as_deref(), Some("main"));
    assert_eq!(s.remote.as_deref(), Some("git@github.com:me/sim.git"));
    assert_eq!(s.subdir, "models/sim");
    assert_eq!(s.changed_files, 1);
    assert_eq!(s.render(), text, "written again, byte for byte");
    let text = String::from_utf8(sample("job.inputs")).unwrap();
    let inputs = parse_inputs(&text);
    let kinds: Vec<InputKind> = inputs.iter().map(|i| i.kind).collect();
    assert_eq!(kinds, [InputKind::Dir, InputKind::File, InputKind::Missing]);
    assert_eq!(inputs[0].path, "/shared/datasets/mnist v2");
    assert_eq!(inputs[0].size, 52428800);
    assert_eq!(render_inputs(&inputs), text);
}
