//! `submit --dry-run`, `submit --profile`, and `rerun`.

use grunt_tests::{local_runner_text, World};

const TOML: &str = "[run]\ncommand = \"sh sim.sh\"\nresults = [\"*.csv\"]\n\n[resources]\nmem = \"4G\"\ntime = \"1:00:00\"\n\n[profile.big]\nmem = \"32G\"\n";

fn head(w: &World) -> String {
    grunt_tests::run("git", &["rev-parse", "HEAD"], &w.bare_jobs(), &[]).stdout
}

#[test]
fn dry_run_shows_the_job_and_the_runners_plan_and_submits_nothing() {
    let w = World::new(&local_runner_text(), TOML);
    let before = head(&w);
    let r = w
        .grunt(&[
            "submit",
            "--dry-run",
            "0.5",
            "two words",
            "-m",
            "just looking",
        ])
        .success();
    assert!(
        r.stdout.contains("job ore000001 (not submitted)"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("sim.sh") && r.stdout.contains("job.args"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("sh sim.sh '0.5' 'two words'"),
        "{}",
        r.stdout
    );
    assert_eq!(head(&w), before, "nothing was pushed");
    // The next real submit still gets number 1.
    let r = w.grunt(&["submit", "-m", "now for real"]).success();
    assert!(r.stdout.contains("ore000001"), "{}", r.stdout);

    // A runner that knows nothing of dry runs is not run at all.
    let w = World::new("#!/bin/sh\ntouch \"$HOME/ran\"\n", "");
    let r = w.grunt(&["submit", "--dry-run", "-m", "x"]).success();
    assert!(
        r.stdout.contains("does not support dry runs"),
        "{}",
        r.stdout
    );
    assert!(!w.client.home.join("ran").exists());
}

#[test]
fn profiles_reach_the_runner_as_resources() {
    let runner = "#!/bin/sh\nif [ \"$1\" = submit ]; then printf '%s %s %s\\n' \"$GRUNT_RES_MEM\" \"$GRUNT_RES_TIME\" \"$GRUNT_PROFILE\" > job.res; echo 1 > job.slurmid; fi\n";
    let w = World::new(runner, TOML);
    w.grunt(&["submit", "--profile", "nope", "-m", "x"])
        .failure("no [profile.nope]");
    w.grunt(&["submit", "--profile", "big", "-m", "big one"])
        .success();
    w.grunt(&["submit", "-m", "default one"]).success();
    w.grund_once().success();
    let big = World::file_in(&w.bare_jobs(), "active/ore000001/sim/job.res").unwrap();
    assert_eq!(big, "32G 1:00:00 big\n");
    let plain = World::file_in(&w.bare_jobs(), "active/ore000002/sim/job.res").unwrap();
    assert_eq!(plain, "4G 1:00:00 \n");
}

#[test]
fn rerun_submits_the_same_code_and_arguments_again() {
    let w = World::new(&local_runner_text(), TOML);
    w.grunt(&["submit", "--profile", "big", "0.7", "-m", "original"])
        .success();
    w.grund_once().success();
    // The project changes after the first job; the rerun keeps the old code.
    std::fs::write(w.project.join("sim.sh"), "echo new code\n").unwrap();
    let r = w.grunt(&["rerun", "1"]).success();
    assert!(r.stdout.contains("submitted job ore000002"), "{}", r.stdout);
    let job = |n: u32| {
        w.jobs_json()
            .into_iter()
            .find(|j| j["id"] == format!("ore{n:06}"))
            .unwrap()
    };
    let two = job(2);
    assert_eq!(two["message"], "rerun of ore000001: original");
    assert_eq!(two["args"], serde_json::json!(["0.7"]));
    assert_eq!(two["status"], "Pending", "no state carried over: {two}");
    let paths = World::paths_in(&w.bare_jobs());
    assert!(!paths.contains(&"active/ore000002/sim/job.slurmid".to_string()));
    assert_eq!(
        World::file_in(&w.bare_jobs(), "active/ore000002/sim/sim.sh"),
        World::file_in(&w.bare_jobs(), "active/ore000001/sim/sim.sh")
    );
    assert_eq!(
        World::file_in(&w.bare_jobs(), "active/ore000002/sim/job.profile").as_deref(),
        Some("big\n")
    );
    w.grund_once().success();
    assert!(World::file_in(&w.bare_jobs(), "active/ore000002/sim/job.slurmid").is_some());
}

#[test]
fn dry_run_with_the_slurm_runner_shows_the_sbatch_script() {
    let slurm = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../runner-examples/slurm/grunter"),
    )
    .unwrap();
    let w = World::new(&slurm, TOML);
    let before = head(&w);
    let r = w
        .grunt(&[
            "submit",
            "--dry-run",
            "--profile",
            "big",
            "0.1",
            "-m",
            "how big",
        ])
        .success();
    assert!(
        r.stdout.contains("--- job.sbatch (written by the runner)"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("#SBATCH") && r.stdout.contains("32G"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("nothing was submitted"), "{}", r.stdout);
    assert_eq!(head(&w), before);
}
