//! The kill suite: three clients, each in its own home, push a mixed stream (submits, runner
//! commands, and two moves of the same job before grund gets to the first) while grund is
//! SIGKILLed and restarted over and over, and some client commands are SIGKILLed mid-flight.
//! In the end every command a client saw succeed ran exactly once, none ran twice, and every
//! job is where its last move put it, in git and on the server's disk.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use grunt_tests::{make_project, Account, World};

/// Logs each command's call, then works a little so that kills land inside calls too.
const RUNNER: &str = r#"#!/bin/sh
[ "$1" = batch-status ] && exit 0
echo "$GRUNT_JOBID $1" >> "$HOME/calls.log"
[ "$1" = submit ] && echo 1 > job.slurmid
sleep 0.02
exit 0
"#;

/// Rounds of the stream per client (4 jobs, 6 runner commands and 7 moves a round).
const ROUNDS: usize = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Ok,
    Killed,
    Failed,
}

struct Client {
    acct: Account,
    dir: PathBuf,
    seed: u64,
}

impl Client {
    fn rand(&mut self, n: u64) -> u64 {
        self.seed = self
            .seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.seed >> 33) % n
    }

    /// Runs `grunt args`; a killable one is SIGKILLed after a random moment one time in three.
    fn grunt(&mut self, args: &[&str], killable: bool) -> (Outcome, String) {
        let mut child = self
            .acct
            .command(&grunt_tests::grunt_bin(), &self.dir)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        if killable && self.rand(3) == 0 {
            let ms = self.rand(150);
            let deadline = Instant::now() + Duration::from_millis(ms);
            while Instant::now() < deadline && child.try_wait().unwrap().is_none() {
                std::thread::sleep(Duration::from_millis(2));
            }
            let _ = child.kill();
        }
        let out = child.wait_with_output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        let outcome = match out.status.code() {
            Some(0) => Outcome::Ok,
            Some(_) => Outcome::Failed,
            None => Outcome::Killed,
        };
        (outcome, text)
    }

    /// Submits a job (never killed: its id must be known) and returns the id.
    fn submit(&mut self, msg: &str) -> String {
        let (o, text) = self.grunt(&["submit", "-m", msg], false);
        assert_eq!(o, Outcome::Ok, "submit failed: {text}");
        let at = text.find("job ore").expect("an id in submit's output") + 4;
        text[at..at + 9].to_string()
    }

    fn must(&mut self, args: &[&str]) {
        let (o, text) = self.grunt(args, false);
        assert_eq!(o, Outcome::Ok, "grunt {args:?}: {text}");
    }
}

/// What the clients did: each runner command and how it ended; where each job must end.
#[derive(Default)]
struct Log {
    commands: Vec<(String, Outcome)>,
    final_place: BTreeMap<String, &'static str>,
    moves: usize,
    moves_killed: usize,
}

fn stream(c: &mut Client, k: usize) -> Log {
    let mut log = Log::default();
    for round in 0..ROUNDS {
        let a = c.submit("a");
        let b = c.submit("b");
        let cc = c.submit("c");
        let d = c.submit("d");
        let mut run = |c: &mut Client, word: String, job: &str| {
            let (o, _) = c.grunt(&["run", &word, job], true);
            log.commands.push((format!("{job} {word}"), o));
        };
        for i in 0..4 {
            run(c, format!("usr{k}r{round}n{i}"), &a);
        }
        c.must(&["archive", &a]);
        c.must(&["delete", &a]);
        run(c, format!("vsr{k}r{round}"), &b);
        c.must(&["delete", &b]);
        c.must(&["archive", &b]);
        c.must(&["archive", &cc]);
        run(c, format!("wsr{k}r{round}"), &cc);
        // A move that may be killed mid-push, then one that is not: it ends where the last says.
        let (o, _) = c.grunt(&["archive", &d], true);
        log.moves_killed += usize::from(o == Outcome::Killed);
        c.must(&["delete", &d]);
        log.final_place.insert(d, "delete");
        log.final_place.insert(a, "delete");
        log.final_place.insert(b, "archive");
        log.final_place.insert(cc, "archive");
        log.moves += 7;
    }
    log
}

fn calls(w: &World) -> BTreeMap<String, usize> {
    let text = std::fs::read_to_string(w.server.home.join("calls.log")).unwrap_or_default();
    let mut m = BTreeMap::new();
    for l in text.lines() {
        *m.entry(l.to_string()).or_insert(0) += 1;
    }
    m
}

#[test]
fn kill_9_of_grund_and_clients_loses_doubles_and_misplaces_nothing() {
    let w = World::new(RUNNER, "");
    let remote = w.server.home.display().to_string();
    let mut clients: Vec<Client> = (0..3)
        .map(|k| {
            let acct = Account::new(w.tmp.path(), &format!("cli{k}"), "ore");
            let dir = w.tmp.path().join(format!("work{k}/sim"));
            make_project(&dir, RUNNER, "");
            w.grunt_as(
                &acct,
                &dir,
                &["newproj", "sim", &remote, "--server", "clust"],
            )
            .success();
            Client {
                acct,
                dir,
                seed: 0x9e37_79b9_7f4a_7c15 ^ (k as u64 + 1),
            }
        })
        .collect();
    let mut grund_kills = 0;
    let logs: Vec<Log> = std::thread::scope(|s| {
        let handles: Vec<_> = clients
            .iter_mut()
            .enumerate()
            .map(|(k, c)| s.spawn(move || stream(c, k)))
            .collect();
        // The killer: start grund, let it run a pseudo-random while, SIGKILL it, until every
        // client is through (or has failed).
        let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
        while !handles.iter().all(|h| h.is_finished()) {
            let mut d = w.spawn_grund(&["--poll", "1"]);
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            std::thread::sleep(Duration::from_millis(20 + (seed >> 33) % 300));
            d.kill();
            grund_kills += 1;
        }
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });

    // A last grund finishes everything.
    let _d = w.spawn_grund(&["--poll", "1"]);
    let must_run: Vec<&String> = logs
        .iter()
        .flat_map(|l| &l.commands)
        .filter(|(_, o)| *o == Outcome::Ok)
        .map(|(c, _)| c)
        .collect();
    let ledger = w.server_jobs_dir().join("last_commit_done.sha");
    let settled = || {
        let head = grunt_tests::run("git", &["rev-parse", "HEAD"], &w.bare_jobs(), &[]).stdout;
        let done = std::fs::read_to_string(&ledger).unwrap_or_default();
        let c = calls(&w);
        head.trim() == done.trim() && must_run.iter().all(|k| c.contains_key(*k))
    };
    grunt_tests::holds_within(Duration::from_secs(60), settled);

    let c = calls(&w);
    let tried: Vec<&(String, Outcome)> = logs.iter().flat_map(|l| &l.commands).collect();
    let count = |o: Outcome| tried.iter().filter(|(_, x)| *x == o).count();
    let lost: Vec<_> = must_run.iter().filter(|k| !c.contains_key(**k)).collect();
    let doubled: Vec<_> = c.iter().filter(|(_, n)| **n > 1).collect();
    let paths = World::paths_in(&w.bare_jobs());
    let mut misplaced = Vec::new();
    let mut jobs = 0;
    for log in &logs {
        for (id, want) in &log.final_place {
            jobs += 1;
            let in_git: Vec<_> = ["active", "archive", "delete"]
                .into_iter()
                .filter(|l| paths.contains(&format!("{l}/{id}/sim/job.submit")))
                .collect();
            let on_disk: Vec<_> = ["active", "archive", "delete"]
                .into_iter()
                .filter(|l| w.server_jobs_dir().join(l).join(id).join("sim").is_dir())
                .collect();
            if in_git != [*want] || on_disk != [*want] {
                misplaced.push(format!(
                    "{id}: want {want}, git {in_git:?}, disk {on_disk:?}"
                ));
            }
        }
    }
    eprintln!(
        "kill suite: {} runner commands tried ({} ok, {} killed, {} failed), {} moves ({} killed), {jobs} jobs, {grund_kills} grund kills; lost {}, doubled {}, misplaced {}",
        tried.len(),
        count(Outcome::Ok),
        count(Outcome::Killed),
        count(Outcome::Failed),
        logs.iter().map(|l| l.moves).sum::<usize>(),
        logs.iter().map(|l| l.moves_killed).sum::<usize>(),
        lost.len(),
        doubled.len(),
        misplaced.len()
    );
    assert!(lost.is_empty(), "lost: {lost:?}");
    assert!(doubled.is_empty(), "doubled: {doubled:?}");
    assert!(misplaced.is_empty(), "misplaced: {misplaced:#?}");
}
