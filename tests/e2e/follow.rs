//! `grunt out --follow` (issue 7, item 5): it streams lines the job appends while it runs,
//! from a server on this machine and over ssh, and returns by itself when the job ends.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use grunt_tests::sshworld::{Options, SshWorld};
use grunt_tests::World;

/// Submit starts the job in the background (in its own session, as a batch system would):
/// it writes `line1`, waits (bounded) for a `go` file the test makes, writes `line2`, ends.
const RUNNER: &str = r#"#!/bin/sh
ts() { date -u '+%Y-%m-%d %H:%M:%S UTC'; }
case "$1" in
  submit)
    echo 7 > job.slurmid; ts > job.start
    cat > job.sh <<'EOF'
echo line1 >> job.out
i=0; while [ ! -e go ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done
echo line2 >> job.out
echo 0 > job.exitcode; date -u '+%Y-%m-%d %H:%M:%S UTC' > job.end
EOF
    setsid sh job.sh </dev/null >/dev/null 2>&1 &
    ;;
esac
"#;

/// Runs `follow` (an `out --follow` command), waits for `line1` on its stdout, makes `go` in
/// the job's directory on the server, then expects `line2` and the command to end with 0.
fn streams_until_the_end(mut follow: Command, job_dir: &Path) {
    let mut child = follow
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("grunt out --follow");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let expect = |what: &str| {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(l) if l == what => return,
                Ok(_) => {}
                Err(e) => panic!("no {what:?} from out --follow: {e}"),
            }
        }
    };
    expect("line1");
    // line2 does not exist yet: it can only come through the live stream.
    assert!(!job_dir.join("go").exists());
    std::fs::write(job_dir.join("go"), "").expect("go");
    expect("line2");
    let status = grunt_tests::exit_within(&mut child, Duration::from_secs(60))
        .expect("out --follow did not return after the job ended");
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut e, &mut err);
    }
    assert!(status.success(), "{status}: {err}");
    assert!(err.contains("following job.out of ore000001"), "{err}");
}

#[test]
fn follow_streams_from_a_local_server_until_the_job_ends() {
    let w = World::new(RUNNER, "");
    w.grunt(&["submit", "-m", "follow me"]).success();
    w.grund_once().success();
    assert_eq!(w.job_state("ore000001").as_deref(), Some("Running"));
    let mut c = w.client.command(&grunt_tests::grunt_bin(), &w.project);
    c.args(["out", "--follow", "1"]);
    streams_until_the_end(c, &w.server_jobs_dir().join("active/ore000001/sim"));
}

#[test]
fn follow_streams_over_ssh() {
    let Some(w) = SshWorld::new(&Options {
        control_master: false,
        grunt_on_server: true,
        git_on_server: true,
        runner: RUNNER.to_string(),
        toml: String::new(),
    }) else {
        return;
    };
    w.newproj().success();
    let _grund = w.spawn_grund();
    w.grunt(&["submit", "--wait=60", "-m", "follow me"])
        .success();
    let running = || {
        let r = w.grunt(&["jobs", "--json"]).success();
        r.stdout.contains("\"status\": \"Running\"")
    };
    grunt_tests::wait_until(60, "the job running", running);
    streams_until_the_end(
        w.grunt_command(&["out", "--follow", "1"]),
        &w.server_wc("jobs").join("active/ore000001/sim"),
    );
}
