//! Compatibility with the original Python grunt: repos laid out and committed as the original
//! does (built here with the git CLI, following PROTOCOL.md §1–3), run by its `grunter.py`
//! contract, are processed and listed by grund and grunt.

use grunt_tests::{original_git as git, run, Account, World};

const GRUNTER_PY: &str = r#"import sys, datetime
def ts():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S %Z")
cmd = sys.argv[1]
if cmd == "submit":
    open("job.slurmid", "w").write("4242\n")
    open("job.start", "w").write(ts() + "\n")
    open("out.csv", "w").write("x\n1\n")
    open("job.end", "w").write(ts() + "\n")
elif cmd == "results":
    print("out.csv")
"#;

#[test]
fn original_layout_is_processed_and_listed() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Account::new(tmp.path(), "srv", "ore");
    let client = Account::new(tmp.path(), "cli", "ore");
    std::fs::write(client.home.join(".grunt.defserver"), "clust\n").unwrap();
    std::fs::write(server.home.join(".grunt.defserver"), "clust\n").unwrap();
    let bb = server.home.join("gruntsrv/bb/clust/ore/sim");
    let wc = server.home.join("gruntsrv/wc/clust/ore/sim");
    // Server side, as `grunt.py newproj sim` makes it.
    for kind in ["jobs", "results"] {
        std::fs::create_dir_all(bb.join(kind)).unwrap();
        git(&bb.join(kind), &["init", "-q", "--bare", "-b", "master"]);
        std::fs::create_dir_all(&wc).unwrap();
        git(&wc, &["clone", "-q", bb.join(kind).to_str().unwrap(), kind]);
        for d in ["active", "delete", "archive"] {
            std::fs::create_dir_all(wc.join(kind).join(d)).unwrap();
            std::fs::write(wc.join(kind).join(d).join("placeholder"), "placeholder").unwrap();
        }
        git(&wc.join(kind), &["checkout", "-q", "-b", "master"]);
        git(&wc.join(kind), &["add", "."]);
        git(
            &wc.join(kind),
            &["commit", "-q", "-m", "Initial commit for sim project"],
        );
        git(&wc.join(kind), &["push", "-q", "origin", "master"]);
    }
    // The original grund's first pass records the head as done.
    let head = run("git", &["rev-parse", "HEAD"], &wc.join("jobs"), &[]).stdout;
    std::fs::write(wc.join("jobs/last_commit_done.sha"), head.trim()).unwrap();

    // Client side, as `grunt.py newproj sim ore@host` and `grunt.py submit` make it.
    let cwc = client.home.join("gruntdat/wc/clust/ore/sim");
    std::fs::create_dir_all(&cwc).unwrap();
    for kind in ["jobs", "results"] {
        git(
            &cwc,
            &["clone", "-q", bb.join(kind).to_str().unwrap(), kind],
        );
    }
    let job = cwc.join("jobs/active/ore000001/sim");
    std::fs::create_dir_all(&job).unwrap();
    std::fs::write(job.join("grunter.py"), GRUNTER_PY).unwrap();
    std::fs::write(job.join("model.py"), "print('hi')\n").unwrap();
    std::fs::write(job.join("job.submit"), "2026-11-21 09:30:00 UTC\n").unwrap();
    std::fs::write(job.join("job.message"), "from the python client\n").unwrap();
    std::fs::write(job.join("job.args"), "--lr\n0.1\n").unwrap();
    std::fs::write(job.join("grcmd.submit"), "2026-11-21 09:30:00 UTC\n").unwrap();
    git(&cwc.join("jobs"), &["add", "."]);
    git(
        &cwc.join("jobs"),
        &[
            "commit",
            "-q",
            "-m",
            "Submit job: ore000001 from the python client",
        ],
    );
    git(&cwc.join("jobs"), &["push", "-q", "origin", "master"]);

    // Our grund runs it through python3 grunter.py.
    let r = server
        .command(&grunt_tests::grund_bin(), &server.home)
        .arg("--once")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&r.stderr);
    assert!(
        r.status.success() && stderr.contains("ran 1 command(s)"),
        "{stderr}"
    );
    let jobs = bb.join("jobs");
    assert_eq!(
        World::file_in(&jobs, "active/ore000001/sim/job.slurmid").as_deref(),
        Some("4242\n")
    );
    let status = World::file_in(&jobs, "grund_status.txt").unwrap();
    assert!(
        status.contains(&format!("commit_done: {}", head.trim())),
        "{status}"
    );

    // Our grunt lists it from the original's client clone, and gets its results.
    let proj = tmp.path().join("sim");
    std::fs::create_dir_all(&proj).unwrap();
    let grunt = |args: &[&str]| -> grunt_tests::Run {
        client
            .command(&grunt_tests::grunt_bin(), &proj)
            .args(args)
            .output()
            .unwrap()
            .into()
    };
    let r = grunt(&["jobs", "--json"]).success();
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v[0]["id"], "ore000001");
    assert_eq!(v[0]["status"], "Done");
    assert_eq!(v[0]["batch_id"], "4242");
    assert_eq!(v[0]["args"], serde_json::json!(["--lr", "0.1"]));
    assert_eq!(v[0]["message"], "from the python client");
    grunt(&["results", "1"]).success();
    let r = server
        .command(&grunt_tests::grund_bin(), &server.home)
        .arg("--once")
        .output()
        .unwrap();
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    grunt(&["pull"]).success();
    assert_eq!(
        std::fs::read_to_string(proj.join("gresults/ore000001/out.csv")).unwrap(),
        "x\n1\n"
    );
    // The original's server working copy and the git CLI still read the repos.
    let r = run("git", &["fsck", "--no-dangling"], &jobs, &[]);
    assert!(r.ok, "{}", r.stderr);
    let r = run("git", &["log", "--oneline", "-3"], &jobs, &[]);
    assert!(r.stdout.contains("GRUND: processed from:"), "{}", r.stdout);
}
