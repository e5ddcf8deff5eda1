//! The whole round trip over real ssh (see `grunt_tests::sshworld`): ONE `grunt newproj sim
//! <alias>` on the client sets up both sides, grund runs as the server account, and submit,
//! status, results, out and ls go through a Host alias of the client's ssh config; with and
//! without a ControlMaster, with grunt on the server's PATH and without it (plain git). Then
//! what goes wrong: a wrong key or an unknown host creates nothing; sshd stopped in the middle
//! of newproj or submit is a clear error after which the rerun succeeds and nothing is lost;
//! git or a repo missing on the server is named; `grunt doctor` tells a healthy setup from a
//! dead grund or a missing repo.

use std::path::Path;
use std::process::{Output, Stdio};

use grunt_tests::sshworld::{Options, SshWorld};
use grunt_tests::{local_runner_text, wait_until, Run};

const TOML: &str = "[run]\ncommand = \"sh sim.sh\"\nresults = [\"*.csv\"]\n";

fn world(control_master: bool, grunt_on_server: bool, git_on_server: bool) -> Option<SshWorld> {
    SshWorld::new(&Options {
        control_master,
        grunt_on_server,
        git_on_server,
        runner: local_runner_text(),
        toml: TOML.to_string(),
    })
}

#[test]
fn ssh_round_trip_with_grunt_on_the_server() {
    round_trip(false, true);
}

#[test]
fn ssh_round_trip_with_control_master_and_plain_git() {
    round_trip(true, false);
}

fn round_trip(control_master: bool, grunt_on_server: bool) {
    let Some(w) = world(control_master, grunt_on_server, true) else {
        return;
    };
    let r = w.newproj().success();
    let how = if grunt_on_server {
        "created with the server's grunt"
    } else {
        "created with git"
    };
    has(&r.stdout, &[how, "created project sim for server"]);
    server_side_is_complete(&w);
    assert_eq!(
        std::fs::read_to_string(w.client.home.join(".grunt.defserver")).unwrap(),
        format!("{}\n", w.server_name)
    );
    // A second newproj finds the client's clones and touches nothing.
    w.newproj().failure("already exists");

    let mut grund = w.spawn_grund();
    let r = w
        .grunt(&["submit", "--wait=60", "0.25", "-m", "first try"])
        .success();
    // Job ids are the client's (`ore`), paths on the server the server account's.
    has(&r.stdout, &["submitted job ore000001"]);
    wait_done(&w, 1);
    let job = jobs_json(&w)
        .into_iter()
        .find(|j| j["id"] == "ore000001")
        .unwrap();
    assert_eq!(job["args"], serde_json::json!(["0.25"]));
    assert_eq!(job["message"], "first try");
    assert_eq!(job["server"], w.server_name.as_str());

    let r = w.grunt(&["results", "--wait=60", "ore000001"]).success();
    has(&r.stdout, &["linked:"]);
    let csv = std::fs::read_to_string(w.project.join("gresults/ore000001/out.csv")).unwrap();
    assert_eq!(csv, "epoch,loss\n1,0.25\n");
    let out = w.grunt(&["out", "1"]).success();
    has(&out.stdout, &["ran with: 0.25"]);
    let ls = w.grunt(&["ls", "1"]).success();
    assert!(
        ls.stdout.contains("out.csv") && ls.stdout.contains("sim.sh"),
        "{}",
        ls.stdout
    );
    // The job ran on the server's disk, as the server account.
    let ran = w.server_wc("jobs").join("active/ore000001/sim/out.csv");
    assert!(ran.is_file(), "{}", ran.display());
    assert_owned_by_server(&w, &ran);
    let tree = w.server_git(
        &w.bare("results"),
        &["ls-tree", "-r", "--name-only", "master"],
    );
    has(&tree.stdout, &["active/ore000001/sim/out.csv"]);

    if control_master {
        assert!(w.control_master_running(), "the ControlMaster is up");
    }
    let doc = w.grunt(&["doctor"]).success();
    eprintln!("doctor:\n{}", doc.stdout);
    assert!(!doc.stdout.contains("PROBLEM"), "{}", doc.stdout);
    let cm_line = if control_master {
        "ok       ssh ControlMaster: Master running"
    } else {
        "note     ssh ControlMaster: not configured"
    };
    let grunt_line = if grunt_on_server {
        format!("ok       grunt program on {}: grunt ", w.alias)
    } else {
        format!("note     grunt program on {}: not on the PATH", w.alias)
    };
    has(
        &doc.stdout,
        &[
            "ok       local clones:",
            "ok       ssh:",
            cm_line,
            &format!("ok       git on {}: git version", w.alias),
            &grunt_line,
            &format!("ok       grund on {}: alive (pid ", w.alias),
            "ok       server repos:",
        ],
    );

    // grund stops: doctor says so, and fails.
    grund.kill();
    let doc = w.grunt(&["doctor"]).failure("1 check(s) failed");
    eprintln!("doctor, grund stopped:\n{}", doc.stdout);
    has(
        &doc.stdout,
        &[
            &format!("PROBLEM  grund on {}: not running: pid ", w.alias),
            "nohup grund",
        ],
    );

    // So does a --wait that times out, with one more look over ssh.
    let r = w
        .grunt(&["status", "--wait=2", "1"])
        .failure("has not answered");
    has(
        &r.stderr,
        &[&format!("grund on {}: not running: pid ", w.alias)],
    );

    for kind in ["jobs", "results"] {
        let fsck = w.server_git(&w.bare(kind), &["fsck", "--no-dangling"]);
        assert!(fsck.ok, "git fsck {kind}: {}{}", fsck.stdout, fsck.stderr);
    }
}

#[test]
fn doctor_checks_a_server_on_this_machine_without_ssh() {
    let w = grunt_tests::World::new(&local_runner_text(), TOML);
    let r = w.grunt(&["doctor"]).failure("1 check(s) failed");
    has(
        &r.stdout,
        &[
            "ok       ssh: not needed",
            "ok       server repos:",
            "PROBLEM  grund on this machine: has never run there",
        ],
    );
    let mut d = w.spawn_grund(&["--poll", "1"]);
    let hb = w.server.home.join("gruntsrv/grund.heartbeat");
    wait_until(20, "grund's heartbeat", || hb.is_file());
    let r = w.grunt(&["doctor"]).success();
    has(&r.stdout, &["ok       grund on this machine: alive (pid "]);
    assert!(!r.stdout.contains("PROBLEM"), "{}", r.stdout);
    d.kill();
    let r = w.grunt(&["doctor"]).failure("1 check(s) failed");
    has(
        &r.stdout,
        &["PROBLEM  grund on this machine: not running: pid "],
    );
}

/// Both bare repos with the first commit, history protected, working copies' directories, a
/// default server name for a plain `grund`.
fn server_side_is_complete(w: &SshWorld) {
    assert!(w.server.home().join(".grunt.defserver").is_file());
    for kind in ["jobs", "results"] {
        let repo = w.bare(kind);
        let log = w
            .server_git(&repo, &["log", "--format=%s", "master"])
            .success();
        assert_eq!(log.stdout, "Initial commit for sim project\n", "{kind}");
        let files = w
            .server_git(&repo, &["ls-tree", "-r", "--name-only", "master"])
            .success();
        assert_eq!(
            files.stdout,
            "active/placeholder\narchive/placeholder\ndelete/placeholder\n"
        );
        let p = w
            .server_git(&repo, &["show", "master:archive/placeholder"])
            .success();
        assert_eq!(p.stdout, "placeholder");
        let cfg = w
            .server_git(&repo, &["config", "--get", "receive.denyNonFastForwards"])
            .success();
        assert_eq!(cfg.stdout.trim(), "true", "{kind}");
        assert_owned_by_server(w, &repo);
        assert!(
            w.server_wc(kind).is_dir(),
            "{}",
            w.server_wc(kind).display()
        );
    }
}

fn assert_owned_by_server(w: &SshWorld, path: &Path) {
    use std::os::unix::fs::MetadataExt;
    let home = std::fs::metadata(w.server.home()).unwrap().uid();
    assert_eq!(
        std::fs::metadata(path).unwrap().uid(),
        home,
        "{} belongs to the server account",
        path.display()
    );
}

/// Asks for job `n`'s status until it is Done.
fn wait_done(w: &SshWorld, n: u32) {
    let id = format!("ore{n:06}");
    wait_until(60, &format!("job {id} done"), || {
        w.grunt(&["status", "--wait=30", &n.to_string()]).success();
        job_state(w, &id).as_deref() == Some("Done")
    });
}

fn jobs_json(w: &SshWorld) -> Vec<serde_json::Value> {
    let r = w.grunt(&["jobs", "--json"]).success();
    serde_json::from_str(&r.stdout).expect("jobs --json")
}

fn job_state(w: &SshWorld, id: &str) -> Option<String> {
    jobs_json(w)
        .into_iter()
        .find(|j| j["id"] == id)
        .and_then(|j| j["status"].as_str().map(str::to_string))
}

/// Nothing of the project on the client: no clones, no default server.
fn nothing_local(w: &SshWorld) {
    assert!(
        !w.client.home.join("gruntdat").exists(),
        "client's gruntdat was left behind"
    );
    assert!(
        !w.client.home.join(".grunt.defserver").exists(),
        "default server saved by a failed command"
    );
}

#[test]
fn ssh_newproj_with_a_wrong_key_or_an_unknown_host_creates_nothing() {
    let Some(w) = world(false, false, true) else {
        return;
    };
    let stranger = w.sshd.generate_key("stranger").unwrap();
    let alias = format!("{}-stranger", w.alias);
    w.sshd
        .write_ssh_config_with_identity(&w.client.home, &alias, false, &stranger)
        .unwrap();
    let r = w
        .grunt(&["newproj", "sim", &alias, "--server", &w.server_name])
        .failure("Permission denied (publickey)");
    eprintln!("newproj with a wrong key:\n{}", r.stderr);
    assert!(r.stderr.starts_with("grunt: error: "), "{}", r.stderr);
    has(
        &r.stderr,
        &["nothing was created", "ssh-agent, IdentityFile"],
    );
    nothing_local(&w);
    assert!(!w.bare("jobs").exists());

    // `..` makes glibc refuse the name locally: no DNS query leaves the machine.
    let r = w
        .grunt(&[
            "newproj",
            "sim",
            "grunt-unknown..alias",
            "--server",
            &w.server_name,
        ])
        .failure("could not resolve hostname grunt-unknown..alias");
    has(&r.stderr, &["Host alias in ~/.ssh/config"]);
    nothing_local(&w);

    // A host that ssh would read as an option never reaches ssh.
    let before = w.ssh_log().len();
    w.grunt(&["newproj", "sim", "me@-oProxyCommand=x", "--server", "s"])
        .failure("must not start with `-`");
    assert_eq!(w.ssh_log().len(), before);
    nothing_local(&w);
}

#[test]
fn ssh_git_missing_on_the_server_is_named() {
    // Plain-git setup needs git there: refused before anything is created.
    {
        let Some(w) = world(false, false, false) else {
            return;
        };
        let r = w.newproj().failure("git is not installed on");
        has(&r.stderr, &[&w.alias]);
        nothing_local(&w);
        assert!(!w.bare("jobs").exists());
    }
    // The server's grunt creates the project without the git CLI, but clones need git there.
    let Some(w) = world(false, true, false) else {
        return;
    };
    let r = w.newproj().failure("git-upload-pack: command not found");
    eprintln!("newproj without git on the server:\n{}", r.stderr);
    has(
        &r.stderr,
        &["install git on the server", "the server side is in place"],
    );
    nothing_local(&w);
    server_side_is_complete(&w);
}

#[test]
fn ssh_stopped_mid_operation_then_the_rerun_loses_nothing() {
    let Some(mut w) = world(true, false, true) else {
        return;
    };
    // newproj: sshd dies after the jobs repo got its first commit, before results did.
    w.hold_ssh_on("sim/results'");
    let child = w.grunt_command(&["newproj", "sim", &w.alias, "--server", &w.server_name]);
    let pending = spawn(child);
    w.wait_held();
    w.stop_sshd();
    w.go();
    let r = finish(pending).failure("connection refused");
    eprintln!("newproj with sshd stopped:\n{}", r.stderr);
    has(
        &r.stderr,
        &[
            &format!("ssh to {} failed", w.alias),
            "could not check what exists there",
            "run the same command again",
        ],
    );
    nothing_local(&w);
    let jobs_head = w
        .server_git(&w.bare("jobs"), &["rev-parse", "master"])
        .success();
    assert!(
        !w.server_git(
            &w.bare("results"),
            &["rev-parse", "-q", "--verify", "master"]
        )
        .ok
    );

    w.restart_sshd();
    let r = w.newproj().success();
    has(&r.stdout, &["created with git"]);
    server_side_is_complete(&w);
    // The rerun kept the first run's commit.
    assert_eq!(
        w.server_git(&w.bare("jobs"), &["rev-parse", "master"])
            .success()
            .stdout,
        jobs_head.stdout
    );

    let _grund = w.spawn_grund();
    w.grunt(&["submit", "--wait=60", "0.1", "-m", "one"])
        .success();
    wait_done(&w, 1);
    w.grunt(&["results", "--wait=60", "1"]).success();

    // submit: sshd dies between the fetch and the push.
    w.hold_ssh_on("git-receive-pack");
    let pending = spawn(w.grunt_command(&["submit", "0.2", "-m", "two"]));
    w.wait_held();
    w.stop_sshd();
    w.go();
    let r = finish(pending).failure("connection refused");
    eprintln!("submit with sshd stopped:\n{}", r.stderr);
    assert!(r.stderr.starts_with("grunt: error: "), "{}", r.stderr);
    w.restart_sshd();
    // Nothing half-pushed: the server has job 1 only.
    let ids: Vec<_> = jobs_json(&w).into_iter().map(|j| j["id"].clone()).collect();
    assert_eq!(ids, [serde_json::json!("ore000001")]);
    let r = w
        .grunt(&["submit", "--wait=60", "0.2", "-m", "two"])
        .success();
    has(&r.stdout, &["submitted job ore000002"]);
    wait_done(&w, 2);
    assert_eq!(job_state(&w, "ore000001").as_deref(), Some("Done"));
    w.grunt(&["results", "--wait=60", "2"]).success();
    for (id, loss) in [("ore000001", "0.1"), ("ore000002", "0.2")] {
        let csv = std::fs::read_to_string(w.project.join(format!("gresults/{id}/out.csv")))
            .unwrap_or_default();
        assert_eq!(csv, format!("epoch,loss\n1,{loss}\n"), "{id}");
    }

    // A repo gone from the server is named by the next command and by doctor.
    std::fs::remove_dir_all(w.bare("results")).unwrap();
    let r = w.grunt(&["pull"]).failure("repository not found at");
    assert!(
        r.stderr
            .contains(&format!("/{}/sim/results on {}", w.server_user(), w.alias)),
        "{}",
        r.stderr
    );
    let doc = w.grunt(&["doctor"]).failure("check(s) failed");
    assert!(
        doc.stdout.contains("PROBLEM  server repos:") && doc.stdout.contains("results is missing"),
        "{}",
        doc.stdout
    );
}

fn spawn(mut c: std::process::Command) -> std::process::Child {
    c.stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawning grunt")
}

fn finish(child: std::process::Child) -> Run {
    let out: Output = child.wait_with_output().expect("grunt's output");
    out.into()
}

/// Asserts that `text` contains every needle.
fn has(text: &str, needles: &[&str]) {
    for n in needles {
        assert!(text.contains(n), "{n:?} missing in:\n{text}");
    }
}
