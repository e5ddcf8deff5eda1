//! Projects side by side: a runner that hangs in one project holds up no other, a project
//! created while grund runs is watched at once, and the runner gets grund's environment.

use std::path::PathBuf;

use grunt_tests::{grund_bin, local_runner_text, make_project, wait_until, World};

const TOML: &str = "[run]\ncommand = \"sh sim.sh\"\n";

/// Creates project `name` on the server and on the client (its directory beside `sim`).
fn add_project(w: &World, name: &str, runner: &str) -> PathBuf {
    let dir = w.tmp.path().join("work").join(name);
    make_project(&dir, runner, TOML);
    w.grunt_as(
        &w.server,
        &w.server.home,
        &["newproj", name, "--server", "clust"],
    )
    .success();
    let remote = w.server.home.display().to_string();
    w.grunt_as(
        &w.client,
        &dir,
        &["newproj", name, &remote, "--server", "clust"],
    )
    .success();
    dir
}

fn job_file(w: &World, project: &str, rel: &str) -> Option<String> {
    let bare = w
        .server
        .home
        .join(format!("gruntsrv/bb/clust/ore/{project}/jobs"));
    World::file_in(&bare, rel)
}

/// `submit` blocks while `$HOME/hold` exists (at most 60 s), after saying it started.
const HANGING_RUNNER: &str = r#"#!/bin/sh
case "$1" in
  submit)
    touch "$HOME/hung-started"
    i=0
    while [ -e "$HOME/hold" ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i+1)); done
    echo 1 > job.slurmid ;;
esac
"#;

#[test]
fn a_hung_runner_in_one_project_does_not_hold_up_another() {
    let w = World::new(HANGING_RUNNER, TOML);
    let other = add_project(&w, "other", &local_runner_text());
    let hold = w.server.home.join("hold");
    std::fs::write(&hold, "").unwrap();
    let d = w.spawn_grund(&["--poll", "600"]);
    wait_until(10, "heartbeat", || {
        w.server.home.join("gruntsrv/grund.heartbeat").is_file()
    });
    w.grunt(&["submit", "-m", "hangs"]).success();
    wait_until(20, "the hanging runner to start", || {
        w.server.home.join("hung-started").exists()
    });
    // While sim's runner blocks, other's submit is answered and its runner has run.
    w.grunt_as(
        &w.client,
        &other,
        &["submit", "--wait=30", "-m", "beside a hung one"],
    )
    .success();
    assert!(
        job_file(&w, "other", "active/ore000001/other/job.slurmid").is_some(),
        "{}",
        d.log_text()
    );
    assert!(hold.exists(), "the hung runner was released before");
    // The heartbeat says what sim waits on.
    let hb = std::fs::read_to_string(w.server.home.join("gruntsrv/grund.heartbeat")).unwrap();
    assert!(
        hb.contains("busy: sim: runner `submit` of ore000001"),
        "{hb}"
    );
    // And so does `grunt doctor`.
    let r = w.grunt(&["doctor"]);
    assert!(
        format!("{}{}", r.stdout, r.stderr).contains("busy with sim: runner `submit` of ore000001"),
        "{}\n{}",
        r.stdout,
        r.stderr
    );
    std::fs::remove_file(&hold).unwrap();
    wait_until(30, "sim's job answered", || {
        w.grunt(&["status", "--wait=5", "1"]).ok
    });
}

#[test]
fn a_project_created_while_grund_runs_is_served_without_a_poll() {
    let w = World::new(&local_runner_text(), TOML);
    // A poll interval far beyond the deadlines: only file events can wake grund.
    let d = w.spawn_grund(&["--poll", "600"]);
    wait_until(10, "heartbeat", || {
        w.server.home.join("gruntsrv/grund.heartbeat").is_file()
    });
    let late = add_project(&w, "late", &local_runner_text());
    w.grunt_as(
        &w.client,
        &late,
        &["submit", "--wait=20", "-m", "new project"],
    )
    .success();
    assert!(
        job_file(&w, "late", "active/ore000001/late/job.slurmid").is_some(),
        "{}",
        d.log_text()
    );
}

/// Writes the variables it was given into job files.
const ENV_RUNNER: &str = r#"#!/bin/sh
case "$1" in
  submit)
    printf '%s\n' "${MY_MODULE_PATH-unset}" > job.envcheck
    printf '%s\n' "$GRUNT_JOBID" > job.idcheck
    printf '%s\n' "$HOME" "${CARGO_MANIFEST_DIR-unset}" > job.homecheck
    echo 1 > job.slurmid ;;
esac
"#;

fn grund_once_with(w: &World, var: (&str, &str)) {
    let r = w
        .server
        .command(&grund_bin(), &w.server.home)
        .env(var.0, var.1)
        .args(["--once", "--server", "clust"])
        .output()
        .unwrap();
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
}

#[test]
fn the_runner_inherits_grunds_environment_unless_clean_env_is_set() {
    let w = World::new(ENV_RUNNER, TOML);
    w.grunt(&["submit", "-m", "env"]).success();
    grund_once_with(&w, ("MY_MODULE_PATH", "/opt/modules/cuda"));
    assert_eq!(
        job_file(&w, "sim", "active/ore000001/sim/job.envcheck").as_deref(),
        Some("/opt/modules/cuda\n")
    );
    assert_eq!(
        job_file(&w, "sim", "active/ore000001/sim/job.idcheck").as_deref(),
        Some("ore000001\n")
    );
    // Opting in to a cleared environment.
    std::fs::write(
        w.project.join("grunt.toml"),
        format!("{TOML}[runner]\nclean_env = true\n"),
    )
    .unwrap();
    w.grunt(&["submit", "-m", "clean"]).success();
    grund_once_with(&w, ("MY_MODULE_PATH", "/opt/modules/cuda"));
    assert_eq!(
        job_file(&w, "sim", "active/ore000002/sim/job.envcheck").as_deref(),
        Some("unset\n")
    );
}

#[test]
fn in_process_the_runner_gets_the_environment_grund_is_given_not_the_tests_own() {
    let w = World::new(ENV_RUNNER, TOML);
    w.grunt(&["submit", "-m", "env"]).success();
    let mut opts = w.grund_options();
    std::sync::Arc::make_mut(&mut opts.env).insert("MY_MODULE_PATH".into(), "/opt/m".into());
    grunt_tests::inproc::once(&opts).success();
    assert_eq!(
        job_file(&w, "sim", "active/ore000001/sim/job.envcheck").as_deref(),
        Some("/opt/m\n")
    );
    // HOME is the server account's, not the test's; what cargo set for the test is not there.
    assert_eq!(
        job_file(&w, "sim", "active/ore000001/sim/job.homecheck"),
        Some(format!("{}\nunset\n", w.server.home.display()))
    );
}

#[test]
fn grunds_environment_reaches_a_slurm_job() {
    let up = std::process::Command::new("sinfo")
        .arg("-h")
        .output()
        .is_ok_and(|o| o.status.success() && !o.stdout.is_empty());
    if !up {
        eprintln!("SKIPPED grunds_environment_reaches_a_slurm_job: no Slurm here");
        return;
    }
    let runner = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../runner-examples/slurm/grunter"),
    )
    .unwrap();
    let toml = "[run]\ncommand = 'echo \"greeting=$MY_GREETING\"'\n\n[resources]\ntime = \"1\"\n";
    let w = World::new(&runner, toml);
    // grund started where `module load` had set a variable.
    let log = w.tmp.path().join("grund-env.log");
    let f = std::fs::File::create(&log).unwrap();
    let child = w
        .server
        .command(&grund_bin(), &w.server.home)
        .env("MY_GREETING", "from-the-login-shell")
        .args(["--server", "clust", "--poll", "1", "--refresh", "10"])
        .stdout(f.try_clone().unwrap())
        .stderr(f)
        .spawn()
        .unwrap();
    let _d = grunt_tests::Daemon { child, log };
    w.grunt(&["submit", "--wait=60", "-m", "env through sbatch"])
        .success();
    let batch = w.jobs_json()[0]["batch_id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    wait_until(120, "the Slurm job to end", || {
        w.job_state("ore000001").as_deref() == Some("Done")
    });
    let out = w.grunt(&["out", "1"]).success();
    let _ = std::process::Command::new("scancel").arg(&batch).status();
    assert!(
        out.stdout.contains("greeting=from-the-login-shell"),
        "{}",
        out.stdout
    );
}

#[test]
fn a_push_wakes_only_its_own_project() {
    let w = World::new(&local_runner_text(), TOML);
    let other = add_project(&w, "other", &local_runner_text());
    let log = w.tmp.path().join("grund-debug.log");
    let f = std::fs::File::create(&log).unwrap();
    let child = w
        .server
        .command(&grund_bin(), &w.server.home)
        .env("RUST_LOG", "grund::daemon=debug,info")
        .args(["--server", "clust", "--poll", "600", "--refresh", "3600"])
        .stdout(f.try_clone().unwrap())
        .stderr(f)
        .spawn()
        .unwrap();
    let d = grunt_tests::Daemon { child, log };
    let passes = |p: &str| {
        d.log_text()
            .lines()
            .filter(|l| {
                l.ends_with(&format!(" {p}: pass")) || l.contains(&format!(" {p}: pass and"))
            })
            .count()
    };
    wait_until(10, "the first pass over both projects", || {
        passes("sim") >= 1 && passes("other") >= 1
    });
    let before = passes("other");
    for i in 0..3 {
        w.grunt(&["submit", "--wait=20", "-m", &format!("push {i}")])
            .success();
    }
    assert!(passes("sim") > 3, "{}", d.log_text());
    assert_eq!(passes("other"), before, "{}", d.log_text());
    // And a push to the other project wakes it.
    w.grunt_as(&w.client, &other, &["submit", "--wait=20", "-m", "other"])
        .success();
    assert!(passes("other") > before);
}
