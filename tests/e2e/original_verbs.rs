//! The original client's own verbs that are not runner commands (issue 7, item 11): `dir`
//! (a job's files, opened or their path printed) and `etcat` (the project's runner, run on
//! the client), and `list` (an alias of `ls`).

use std::path::{Path, PathBuf};

use grunt_tests::{write_exec, World};

/// Submit ends the job at once; `etcat JOB` runs on the client and says where, and fails for
/// job 2.
const RUNNER: &str = r#"#!/bin/sh
ts() { date -u '+%Y-%m-%d %H:%M:%S UTC'; }
case "$1" in
  submit) echo 7 > job.slurmid; ts > job.start; echo 0 > job.exitcode; ts > job.end ;;
  results) echo job.out ;;
  etcat)
    [ "$2" = ore000002 ] && exit 3
    echo "etcat $2 in $PWD for $GRUNT_PROJECT"; echo "$2" >> etcat.log ;;
esac
"#;

fn grunt_env(w: &World, args: &[&str], env: &[(&str, &str)]) -> grunt_tests::Run {
    let mut c = w.client.command(&grunt_tests::grunt_bin(), &w.project);
    c.args(args);
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("grunt").into()
}

#[test]
fn dir_writes_the_jobs_files_and_opens_them_with_a_display() {
    let w = World::new(RUNNER, "");
    w.grunt(&["submit", "x", "-m", "first"]).success();
    w.grund_once().success();

    // No display: the path is printed, and the job's files are there.
    let r = w.grunt(&["dir", "1"]).success();
    let dir = PathBuf::from(r.stdout.trim());
    assert!(dir.ends_with("jobs/active/ore000001/sim"), "{}", r.stdout);
    assert!(
        dir.starts_with(w.client.home.join("gruntdat")),
        "{}",
        r.stdout
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("job.message")).expect("job.message"),
        "first\n"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("job.slurmid")).expect("job.slurmid"),
        "7\n"
    );
    assert!(dir.join("sim.sh").is_file());
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(dir.join("grunter"))
        .expect("grunter")
        .permissions()
        .mode();
    assert_eq!(mode & 0o111, 0o111, "the runner stays executable");

    // With a display, the desktop's opener gets the directory.
    let bin = w.tmp.path().join("bin");
    std::fs::create_dir_all(&bin).expect("bin");
    let called = w.tmp.path().join("opened");
    write_exec(
        &bin.join("xdg-open"),
        &format!("#!/bin/sh\necho \"$1\" > {}\n", called.display()),
    );
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    grunt_env(
        &w,
        &["dir", "ore000001"],
        &[("DISPLAY", ":9"), ("PATH", &path)],
    )
    .success();
    assert_eq!(
        std::fs::read_to_string(&called).expect("xdg-open was called"),
        format!("{}\n", dir.display())
    );

    // After the job moved, its old copy goes and the new place is written.
    w.grunt(&["archive", "1"]).success();
    w.grund_once().success();
    let r = w.grunt(&["dir", "1"]).success();
    assert!(
        r.stdout.trim().ends_with("jobs/archive/ore000001/sim"),
        "{}",
        r.stdout
    );
    assert!(!dir.exists());
    // An unknown job is an error, as everywhere.
    assert_eq!(w.grunt(&["dir", "9"]).failure("no job").code, Some(1));
}

#[test]
fn etcat_runs_the_projects_runner_on_the_client() {
    let w = World::new(RUNNER, "");
    w.grunt(&["submit", "-m", "a"]).success();
    w.grunt(&["submit", "-m", "b"]).success();
    let before = World::paths_in(&w.bare_jobs());
    let r = w.grunt(&["etcat", "1"]).success();
    let project: &Path = &w.project;
    assert_eq!(
        r.stdout,
        format!("etcat ore000001 in {} for sim\n", project.display())
    );
    assert_eq!(
        std::fs::read_to_string(project.join("etcat.log")).expect("etcat.log"),
        "ore000001\n"
    );
    // Nothing went to the server: etcat is not a runner command there.
    assert_eq!(World::paths_in(&w.bare_jobs()), before);
    // The runner failing is exit 4, after trying every job.
    let r = w
        .grunt(&["etcat", "1..2"])
        .failure("etcat failed for ore000002");
    assert_eq!(r.code, Some(4));
    assert_eq!(
        std::fs::read_to_string(project.join("etcat.log")).expect("etcat.log"),
        "ore000001\nore000001\n"
    );
    // `list` is `ls`.
    let a = w.grunt(&["list", "1"]).success();
    let b = w.grunt(&["ls", "1"]).success();
    assert_eq!(a.stdout, b.stdout);
}
