//! `grunt receive` (issue 8, item 7): over real ssh, a push is ONE session running the
//! server's `grunt receive`, not `git-receive-pack`; grund sees its ref update as a push and
//! runs the job; a stale tip is refused there and the client fetches and replays; a server
//! without `receive` gets a git push (and is remembered); hostile input is refused with
//! nothing written. The server's `grunt` is named with `GRUNT_REMOTE_GRUNT`.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use grunt_tests::sshworld::{Options, SshWorld};
use grunt_tests::{local_runner_text, Run};

const TOML: &str = "[run]\ncommand = \"sh sim.sh\"\nresults = [\"*.csv\"]\n";
const REMOTE_GRUNT: &str = "GRUNT_REMOTE_GRUNT";

fn world() -> Option<SshWorld> {
    SshWorld::new(&Options {
        control_master: true,
        grunt_on_server: false,
        git_on_server: true,
        runner: local_runner_text(),
        toml: TOML.to_string(),
    })
}

/// `grunt args` with the server's grunt at `server_grunt` (unset: `grunt` on sshd's PATH,
/// which has none); returns the run and the kinds of ssh sessions it opened.
fn grunt(w: &SshWorld, server_grunt: Option<&Path>, args: &[&str]) -> (Run, Vec<&'static str>) {
    let before = w.ssh_log().len();
    let mut c = w.grunt_command(args);
    match server_grunt {
        Some(g) => c.env(REMOTE_GRUNT, g),
        None => c.env_remove(REMOTE_GRUNT),
    };
    let r: Run = c.output().unwrap().into();
    let kinds = w.ssh_log()[before..]
        .iter()
        .map(|l| {
            if l.contains("git-receive-pack") {
                "push"
            } else if l.contains("git-upload-pack") {
                "fetch"
            } else if l.contains(" receive ") {
                "receive"
            } else if l.contains(" await ") {
                "await"
            } else {
                "other"
            }
        })
        .collect();
    (r, kinds)
}

fn tip(w: &SshWorld) -> String {
    let r = w.server_git(&w.bare("jobs"), &["rev-parse", "master"]);
    assert!(r.ok, "{}", r.stderr);
    r.stdout.trim().to_string()
}

fn subjects(w: &SshWorld) -> Vec<String> {
    let r = w.server_git(&w.bare("jobs"), &["log", "--format=%s", "master"]);
    r.stdout.lines().map(str::to_string).collect()
}

/// Files under the bare repo's `objects/` (packs, loose objects, leftover quarantines).
fn objects(w: &SshWorld) -> Vec<String> {
    let root = w.bare("jobs").join("objects");
    let mut out = Vec::new();
    let mut dirs = vec![root.clone()];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            if e.file_type().unwrap().is_dir() {
                dirs.push(e.path());
            } else {
                out.push(e.path().strip_prefix(&root).unwrap().display().to_string());
            }
        }
    }
    out.sort();
    out
}

fn fsck_clean(w: &SshWorld) {
    let r = w.server_git(&w.bare("jobs"), &["fsck", "--no-dangling"]);
    assert!(r.ok, "git fsck: {}{}", r.stdout, r.stderr);
    let left: Vec<String> = objects(w)
        .into_iter()
        .filter(|p| p.starts_with("incoming-"))
        .collect();
    assert!(left.is_empty(), "quarantine left behind: {left:?}");
}

#[test]
fn submit_is_one_receive_and_grund_runs_it() {
    let Some(w) = world() else { return };
    w.newproj().success();
    let g = w.server_bin_dir().join("grunt");
    let (r, ssh) = grunt(&w, Some(&g), &["submit", "0.5", "-m", "one"]);
    assert!(r.success().stdout.contains("submitted job ore000001"));
    // Before: a git push (`git-receive-pack` on the server).
    assert_eq!(ssh, ["receive"]);
    assert!(subjects(&w)[0].starts_with("Submit job: ore000001"));
    let _grund = w.spawn_grund();
    // grund saw the receive's ref update as a push: the job ran.
    let (r, ssh) = grunt(&w, Some(&g), &["status", "--wait=60", "1"]);
    let r = r.success();
    assert!(r.stdout.contains("Done"), "{}", r.stdout);
    // The push and grund's answer in ONE session: no await, no fetch after it. (grund's
    // answer to the submit may land first: the stale push is fetched and replayed.)
    assert_eq!(ssh.last(), Some(&"receive"), "{ssh:?}");
    assert!(
        ssh[..ssh.len() - 1]
            .chunks(2)
            .all(|c| c == ["receive", "fetch"]),
        "{ssh:?}"
    );
    let (r, _) = grunt(&w, Some(&g), &["results", "--wait=60", "1"]);
    r.success();
    let csv = std::fs::read_to_string(w.project.join("gresults/ore000001/out.csv")).unwrap();
    assert_eq!(csv, "epoch,loss\n1,0.5\n");
    fsck_clean(&w);
}

#[test]
fn a_stale_tip_is_refused_and_replayed() {
    let Some(w) = world() else { return };
    w.newproj().success();
    let _grund = w.spawn_grund();
    let g = w.server_bin_dir().join("grunt");
    grunt(&w, Some(&g), &["submit", "-m", "one"]).0.success();
    // grund answers job 1: the server moves past what the client saw.
    grunt_tests::wait_until(60, "grund's answer to job 1", || {
        subjects(&w)[0].starts_with("GRUND: processed")
    });
    let answered = tip(&w);
    let (r, ssh) = grunt(&w, Some(&g), &["submit", "-m", "two"]);
    assert!(r.success().stdout.contains("submitted job ore000002"));
    assert_eq!(ssh, ["receive", "fetch", "receive"]);
    let s = subjects(&w);
    assert!(s[0].starts_with("Submit job: ore000002"), "{s:?}");
    let parent = w.server_git(&w.bare("jobs"), &["rev-parse", "master~1"]);
    assert_eq!(
        parent.stdout.trim(),
        answered,
        "job 2 is on top of grund's answer"
    );
    assert!(s.iter().any(|l| l.starts_with("Submit job: ore000001")));
    fsck_clean(&w);
}

#[test]
fn a_server_without_receive_gets_a_git_push() {
    let Some(w) = world() else { return };
    w.newproj().success();
    // A grunt too old for `receive` (it prints no answer and fails), then none at all. grund
    // starts after the first two, so that no answer of its moves the server in between.
    let old = Path::new("/bin/false");
    let (r, ssh) = grunt(&w, Some(old), &["submit", "-m", "one"]);
    assert!(r.success().stdout.contains("submitted job ore000001"));
    assert_eq!(ssh, ["receive", "push"]);
    // Remembered: the next push goes to git at once.
    let (r, ssh) = grunt(&w, Some(old), &["submit", "-m", "two"]);
    assert!(r.success().stdout.contains("submitted job ore000002"));
    assert_eq!(ssh, ["push"]);
    let _grund = w.spawn_grund();
    let (r, ssh) = grunt(&w, None, &["submit", "--wait=60", "-m", "three"]);
    let r = r.success();
    assert!(r.stdout.contains("submitted job ore000003"), "{}", r.stdout);
    assert_eq!(&ssh[..2], ["receive", "push"]);
    let s = subjects(&w);
    for n in 1..=3 {
        assert!(
            s.iter()
                .any(|l| l.starts_with(&format!("Submit job: ore00000{n}"))),
            "{s:?}"
        );
    }
    fsck_clean(&w);
}

/// Runs `grunt receive` on the server over ssh with `stdin`; returns (exit code, stdout).
fn receive_raw(w: &SshWorld, args: &[&str], stdin: &[u8]) -> (Option<i32>, String) {
    let g = w.server_bin_dir().join("grunt");
    let mut line = format!("'{}' receive '{}'", g.display(), w.bare("jobs").display());
    for a in args {
        line.push_str(&format!(" '{a}'"));
    }
    let mut child = Command::new("ssh")
        .arg("-F")
        .arg(&w.config)
        .args([w.alias.as_str(), line.as_str()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    let _ = input.write_all(stdin);
    drop(input);
    let out = child.wait_with_output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn hostile_input_to_receive_is_refused_with_nothing_written() {
    let Some(w) = world() else { return };
    w.newproj().success();
    let g = w.server_bin_dir().join("grunt");
    grunt(&w, Some(&g), &["submit", "-m", "one"]).0.success();
    grunt(&w, Some(&g), &["submit", "-m", "two"]).0.success();
    let head = tip(&w);
    let parent = w
        .server_git(&w.bare("jobs"), &["rev-parse", "master~1"])
        .stdout
        .trim()
        .to_string();
    let tree = w
        .server_git(&w.bare("jobs"), &["rev-parse", "master^{tree}"])
        .stdout
        .trim()
        .to_string();
    let before = objects(&w);
    let master = "refs/heads/master";
    let fake = "1234567890123456789012345678901234567890";
    let mut garbage = b"PACK\0\0\0\x02\0\0\0\x01".to_vec();
    garbage.extend(std::iter::repeat_n(0xa5u8, 4096));
    for (what, args, stdin) in [
        ("garbage", vec![master, &head, fake], garbage.clone()),
        ("not a pack", vec![master, &head, fake], b"hello\n".to_vec()),
        ("a tree", vec![master, &head, &tree], Vec::new()),
        ("a rewind", vec![master, &head, &parent], Vec::new()),
        (
            "another ref",
            vec!["refs/heads/evil", "-", &parent],
            Vec::new(),
        ),
        ("a tag ref", vec!["refs/tags/x", "-", &head], Vec::new()),
        ("an unknown commit", vec![master, &head, fake], Vec::new()),
    ] {
        let (code, out) = receive_raw(&w, &args, &stdin);
        assert!(
            out.contains("grunt-receive 1\nrefused "),
            "{what}: exit {code:?}, {out}"
        );
        assert_ne!(code, Some(0), "{what}");
        assert_eq!(tip(&w), head, "{what}: the branch did not move");
        assert_eq!(objects(&w), before, "{what}: nothing written");
    }
    let refs = w.server_git(&w.bare("jobs"), &["for-each-ref", "--format=%(refname)"]);
    assert_eq!(refs.stdout.trim(), master);
    // Arguments that are not commit ids are refused before anything is read.
    let (code, out) = receive_raw(&w, &[master, "HEAD", "x"], b"");
    assert_ne!(code, Some(0));
    assert!(!out.contains("ok"), "{out}");
    assert_eq!(tip(&w), head);
    fsck_clean(&w);
}

#[test]
fn ctrl_c_while_the_push_waits_keeps_the_push() {
    use std::os::unix::process::CommandExt;
    let Some(w) = world() else { return };
    w.newproj().success();
    // No grund: the server's receive waits for an answer that does not come.
    let g = w.server_bin_dir().join("grunt");
    let mut c = w.grunt_command(&["submit", "--wait=60", "-m", "one"]);
    c.env(REMOTE_GRUNT, &g)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let child = c.spawn().unwrap();
    grunt_tests::wait_until(60, "the push on the server", || {
        subjects(&w)
            .first()
            .is_some_and(|s| s.starts_with("Submit job: ore000001"))
    });
    // The server's receive waits for grund's answer (there is no grund).
    let bare = format!("bb/{}/", w.server_name);
    let waiting = || {
        std::fs::read_dir("/proc").unwrap().flatten().any(|e| {
            std::fs::read(e.path().join("cmdline")).is_ok_and(|c| {
                let c = String::from_utf8_lossy(&c).replace('\0', " ");
                c.contains(" receive ") && c.contains(bare.as_str())
            })
        })
    };
    assert!(waiting());
    // Ctrl-C reaches the terminal's process group: grunt, the shell and ssh.
    let pgid = i32::try_from(child.id()).unwrap();
    // SAFETY: a plain system call on a process group this test started.
    assert_eq!(unsafe { libc::kill(-pgid, libc::SIGINT) }, 0);
    let out = child.wait_with_output().unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    // Before: the wait ran inside the push's ssh session and Ctrl-C killed grunt outright.
    assert_eq!(out.status.code(), Some(130), "{stdout}\n{stderr}");
    assert!(stdout.contains("submitted job ore000001"), "{stdout}");
    assert!(
        stderr.contains("interrupted: the request is already pushed"),
        "{stderr}"
    );
    // The server's side stops waiting too (before: it waited out the 60 s).
    grunt_tests::wait_until(30, "the server's receive to end", || !waiting());
    // The client knows its push: the next submit builds on it in one session.
    let (r, ssh) = grunt(&w, Some(&g), &["submit", "-m", "two"]);
    assert!(r.success().stdout.contains("submitted job ore000002"));
    assert_eq!(ssh, ["receive"]);
}
