//! Two client homes of the same user submit to one project at the same moment, round after
//! round: every job gets its own id (renumbered when taken meanwhile) and every job runs.

use std::collections::BTreeSet;

use grunt_tests::{Account, World};

const RUNNER: &str = "#!/bin/sh\necho \"$GRUNT_JOBID $1\" >> \"$HOME/calls.log\"\n[ \"$1\" = submit ] && echo 1 > job.slurmid\nexit 0\n";

#[test]
fn simultaneous_submits_get_distinct_ids_and_all_run() {
    let w = World::new(RUNNER, "");
    let second = Account::new(w.tmp.path(), "laptop2", "ore");
    let remote = w.server.home.display().to_string();
    w.grunt_as(
        &second,
        &w.project,
        &["newproj", "sim", &remote, "--server", "clust"],
    )
    .success();
    const ROUNDS: usize = 6;
    for round in 0..ROUNDS {
        let barrier = std::sync::Barrier::new(2);
        std::thread::scope(|s| {
            for (who, name) in [(&w.client, "a"), (&second, "b")] {
                let barrier = &barrier;
                let w = &w;
                s.spawn(move || {
                    let msg = format!("{name}{round}");
                    barrier.wait();
                    w.grunt_as(who, &w.project, &["submit", "-m", &msg])
                        .success();
                });
            }
        });
    }
    w.grund_once().success();
    let jobs = w.jobs_json();
    assert_eq!(jobs.len(), 2 * ROUNDS, "{jobs:#?}");
    let ids: BTreeSet<&str> = jobs.iter().map(|j| j["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 2 * ROUNDS, "ids are distinct");
    let msgs: BTreeSet<&str> = jobs
        .iter()
        .map(|j| j["message"].as_str().unwrap())
        .collect();
    assert_eq!(msgs.len(), 2 * ROUNDS, "no submit was lost");
    let calls = std::fs::read_to_string(w.server.home.join("calls.log")).unwrap();
    assert_eq!(
        calls.lines().filter(|l| l.ends_with(" submit")).count(),
        2 * ROUNDS,
        "{calls}"
    );
}
