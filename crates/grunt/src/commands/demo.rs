//! `grunt demo`: a full local round trip in a throwaway directory, with nothing but this
//! machine: a server account's home and a client's, `grunt newproj` on both sides, `grund`
//! started, a sample project submitted with the local runner, its results pulled into
//! `gresults/` and shown, and `grund` stopped. It runs the real binaries, as a user would.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::ui;

/// The local runner, built into the binary so the demo works from anywhere.
const LOCAL_RUNNER: &str = include_str!("../../../../runner-examples/local/grunter");

const SIM: &str = r#"#!/bin/sh
# A stand-in for a simulation: a learning rate in, a loss curve out.
lr=${1:-0.1}
echo "epoch,loss" > loss.csv
loss=1000
for epoch in 1 2 3 4 5; do
  loss=$(( loss - loss * 2 / 10 ))
  echo "$epoch,0.$loss" >> loss.csv
  echo "epoch $epoch: loss 0.$loss (lr $lr)"
done
"#;

const TOML: &str = r#"# Read by the local runner (runner-examples/local/grunter).
[run]
command = "sh sim.sh"
results = ["*.csv"]
"#;

#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Keep the demo directory (printed at the end) instead of removing it.
    #[arg(long)]
    pub keep: bool,
}

pub fn run(a: Args) -> Result<()> {
    let scratch = tempfile::Builder::new()
        .prefix("grunt-demo-")
        .tempdir()
        .context("creating the demo directory")?;
    let result = demo(scratch.path());
    if a.keep || result.is_err() {
        let tmp = scratch.keep();
        ui::out(format!("\ndemo directory kept: {}", tmp.display()))?;
        if a.keep && result.is_ok() {
            // Its homes are the demo's own: say how to go on using it.
            let t = tmp.display();
            ui::out(format!(
                "to go on with it:\n  (cd {t}/server-home && HOME=$PWD USER=demo grund --server laptop-cluster &)\n  \
                 cd {t}/work/demo && export HOME={t}/client-home USER=demo LOGNAME=demo\n  grunt jobs"
            ))?;
        }
    }
    result
}

/// A process guard: the demo's grund is stopped however the demo ends.
struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn demo(tmp: &Path) -> Result<()> {
    let grunt = std::env::current_exe()?;
    let grund = grunt.with_file_name("grund");
    if !grund.is_file() {
        bail!(
            "grund is not next to grunt ({}): build both with `cargo build --release`",
            grund.display()
        );
    }
    let server = tmp.join("server-home");
    let client = tmp.join("client-home");
    let project = tmp.join("work/demo");
    for d in [&server, &client, &project] {
        std::fs::create_dir_all(d)?;
    }
    write_project(&project)?;
    let user = "demo";

    step("create the project on the server (in the server account's home)");
    show(
        &grunt,
        &server,
        &server,
        user,
        &["newproj", "demo", "--server", "laptop-cluster"],
    )?;

    step("start grund on the server: nohup grund &");
    let log = std::fs::File::create(tmp.join("grund.log"))?;
    let mut cmd = Command::new(&grund);
    let child = env(&mut cmd, &server, user)
        .current_dir(&server)
        .args(["--server", "laptop-cluster", "--poll", "2"])
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .context("starting grund")?;
    let _daemon = Daemon(child);

    step("create the project on the client, pointing at the server");
    let remote = server.display().to_string();
    show(
        &grunt,
        &client,
        &project,
        user,
        &["newproj", "demo", &remote, "--server", "laptop-cluster"],
    )?;

    step("submit the project's git-tracked files as a job, and wait for grund to start it");
    show(
        &grunt,
        &client,
        &project,
        user,
        &[
            "submit",
            "--wait=60",
            "0.3",
            "-m",
            "demo: does the loss go down?",
        ],
    )?;

    step("ask for its status until it is done");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let out = capture(
            &grunt,
            &client,
            &project,
            user,
            &["status", "--wait=30", "1"],
        )?;
        if out.contains("Done") {
            ui::out(out.trim_end())?;
            break;
        }
        if Instant::now() > deadline {
            bail!("the demo job did not finish within 60 s:\n{out}");
        }
        std::thread::sleep(Duration::from_millis(200));
    }

    step("bring its results back and link them into gresults/");
    show(
        &grunt,
        &client,
        &project,
        user,
        &["results", "--wait=60", "1"],
    )?;
    let csv = project.join("gresults/dem000001/loss.csv");
    let text =
        std::fs::read_to_string(&csv).with_context(|| format!("reading {}", csv.display()))?;
    ui::out(format!("{}:\n{}", csv.display(), text.trim_end()))?;

    step("the job's output and the jobs table");
    show(&grunt, &client, &project, user, &["out", "1"])?;
    show(&grunt, &client, &project, user, &["jobs"])?;

    step("stop grund");
    ui::out("round trip complete: server, daemon, submit, results")?;
    Ok(())
}

fn step(what: &str) {
    let _ = ui::out(format!("\n==> {what}"));
}

fn env<'c>(c: &'c mut Command, home: &Path, user: &str) -> &'c mut Command {
    c.env("HOME", home)
        .env("USER", user)
        .env("LOGNAME", user)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .stdin(Stdio::null())
}

fn show(exe: &Path, home: &Path, cwd: &Path, user: &str, args: &[&str]) -> Result<()> {
    let out = capture(exe, home, cwd, user, args)?;
    ui::out(out.trim_end())?;
    Ok(())
}

fn capture(exe: &Path, home: &Path, cwd: &Path, user: &str, args: &[&str]) -> Result<String> {
    ui::out(format!("$ grunt {}", args.join(" ")))?;
    let o = env(&mut Command::new(exe), home, user)
        .current_dir(cwd)
        .args(args)
        .output()
        .context("running grunt")?;
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    if !o.status.success() {
        bail!(
            "`grunt {}` failed:\n{}{}",
            args.join(" "),
            text,
            String::from_utf8_lossy(&o.stderr)
        );
    }
    Ok(text)
}

/// The sample project: a git repo with the simulation, the local runner and its settings.
fn write_project(dir: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(dir.join("sim.sh"), SIM)?;
    std::fs::write(dir.join("grunt.toml"), TOML)?;
    let runner = dir.join("grunter");
    std::fs::write(&runner, LOCAL_RUNNER)?;
    std::fs::set_permissions(&runner, std::fs::Permissions::from_mode(0o755))?;
    let repo = git2::Repository::init(dir)?;
    let mut idx = repo.index()?;
    for f in ["sim.sh", "grunt.toml", "grunter"] {
        idx.add_path(Path::new(f))?;
    }
    idx.write()?;
    let tree = repo.find_tree(idx.write_tree()?)?;
    let sig = git2::Signature::now("demo", "demo@localhost")?;
    repo.commit(Some("HEAD"), &sig, &sig, "demo project", &tree, &[])?;
    Ok(())
}
