//! The client on a real terminal (issue 7, items 6 and 9): commands run through a pty of 80
//! columns (util-linux `script`, the size set with `stty`, no COLUMNS): the jobs table fits
//! with one line per job, states are coloured on the terminal and plain when piped or with
//! NO_COLOR, help is wrapped, and `nuke` asks. Also `completions` and `man`.

use std::io::Write;
use std::process::Stdio;

use grunt_tests::World;

/// Submit ends the job at once; `fail` among the arguments makes it fail.
const RUNNER: &str = r#"#!/bin/sh
ts() { date -u '+%Y-%m-%d %H:%M:%S UTC'; }
case "$1" in
  submit)
    echo 7 > job.slurmid; ts > job.start
    if grep -qx fail job.args; then echo 3 > job.exitcode; else echo 0 > job.exitcode; fi
    ts > job.end ;;
esac
"#;

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// Runs grunt in `w`'s project on a pty of 80x30, feeding `input`; returns what the terminal
/// showed (line ends as `\n`) and the exit code.
fn on_tty(w: &World, args: &[&str], env: &[(&str, &str)], input: &str) -> (String, Option<i32>) {
    let bin = grunt_tests::grunt_bin();
    let mut cmd = format!(
        "stty cols 80 rows 30; exec {}",
        quote(&bin.display().to_string())
    );
    for a in args {
        cmd.push(' ');
        cmd.push_str(&quote(a));
    }
    let mut c = w.client.command(std::path::Path::new("script"), &w.project);
    c.args(["-qec", &cmd, "/dev/null"])
        .env("TERM", "xterm-256color")
        .env_remove("COLUMNS")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        c.env(k, v);
    }
    let mut child = c.spawn().expect("script (util-linux)");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(input.as_bytes()).expect("input");
    drop(stdin);
    let o = child.wait_with_output().expect("script");
    (
        String::from_utf8_lossy(&o.stdout).replace("\r\n", "\n"),
        o.status.code(),
    )
}

/// `text` without ANSI escape sequences (CSI … letter, OSC … BEL/ST).
fn plain(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\x1b' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('[') => {
                for d in chars.by_ref() {
                    if d.is_ascii_alphabetic() {
                        break;
                    }
                }
            }
            Some(']') => {
                while let Some(d) = chars.next() {
                    if d == '\x07' || (d == '\x1b' && chars.next_if_eq(&'\\').is_some()) {
                        break;
                    }
                }
            }
            _ => {}
        }
    }
    out
}

fn widest(text: &str) -> usize {
    plain(text)
        .lines()
        .map(|l| l.chars().count())
        .max()
        .unwrap_or(0)
}

#[test]
fn jobs_table_fits_80_columns_with_colour_only_on_a_terminal() {
    let w = World::new(RUNNER, "");
    let long = "a message long enough that it could never fit on one line of eighty columns together with the rest of the row";
    w.grunt(&["submit", "two words", "--lr=0.001", "-m", long])
        .success();
    w.grunt(&["submit", "fail", "-m", long]).success();
    w.grund_once().success();
    w.grunt(&["submit", "-m", "still pending"]).success();

    let (out, code) = on_tty(&w, &["jobs"], &[], "");
    assert_eq!(code, Some(0), "{out}");
    assert!(widest(&out) <= 80, "wider than 80 columns:\n{out}");
    for id in ["ore000001", "ore000002", "ore000003"] {
        assert_eq!(
            plain(&out).lines().filter(|l| l.contains(id)).count(),
            1,
            "{id} is not on exactly one line:\n{out}"
        );
    }
    // Coloured states on the terminal; args shell-quoted.
    assert!(out.contains('\x1b'), "no colour on a terminal:\n{out}");
    assert!(plain(&out).contains("'two words'"), "{out}");
    let done_line = out.lines().find(|l| l.contains("ore000001")).unwrap_or("");
    assert!(done_line.contains("\x1b["), "{done_line:?}");

    // show: long values wrap under themselves; history lines fit.
    let (out, code) = on_tty(&w, &["show", "1"], &[], "");
    assert_eq!(code, Some(0), "{out}");
    assert!(widest(&out) <= 80, "show wider than 80 columns:\n{out}");
    let text = plain(&out);
    let at = text
        .find("  message   a message long")
        .expect("message line");
    let next = text[at..].lines().nth(1).unwrap_or("");
    assert!(
        next.starts_with("            ") && next.trim().len() > 5,
        "{out}"
    );

    // NO_COLOR on the terminal, and a pipe: plain.
    let (out, _) = on_tty(&w, &["jobs"], &[("NO_COLOR", "1")], "");
    assert!(!out.contains('\x1b'), "colour despite NO_COLOR:\n{out}");
    assert!(out.contains("ore000002"), "{out}");
    let piped = w.grunt(&["jobs"]).success();
    assert!(!piped.stdout.contains('\x1b'), "{}", piped.stdout);
    assert!(piped.stdout.contains("ore000002"), "{}", piped.stdout);
}

#[test]
fn help_is_wrapped_and_nuke_asks_on_a_terminal() {
    let w = World::new(RUNNER, "");
    for args in [
        &["--help"][..],
        &["submit", "--help"],
        &["jobs", "--help"],
        &["help"],
    ] {
        let (out, code) = on_tty(&w, args, &[], "");
        assert_eq!(code, Some(0), "{args:?}: {out}");
        assert!(out.lines().count() > 10, "{args:?}: {out}");
        assert!(widest(&out) <= 80, "{args:?} wider than 80 columns:\n{out}");
    }

    w.grunt(&["submit", "-m", "keep me"]).success();
    let head = || World::file_in(&w.bare_jobs(), "active/ore000001/sim/job.message");
    // On a terminal nuke asks; anything but yes keeps the job, and nothing is pushed.
    let before = World::paths_in(&w.bare_jobs());
    let (out, code) = on_tty(&w, &["nuke", "1"], &[], "n\n");
    assert!(
        out.contains("nuke ore000001?") && out.contains("[y/N]"),
        "{out}"
    );
    assert_ne!(code, Some(0), "{out}");
    assert_eq!(World::paths_in(&w.bare_jobs()), before);
    assert_eq!(head().as_deref(), Some("keep me\n"));
    // `y` nukes.
    let (out, code) = on_tty(&w, &["nuke", "1"], &[], "y\n");
    assert_eq!(code, Some(0), "{out}");
    assert!(
        World::file_in(&w.bare_jobs(), "active/ore000001/sim/grcmd.nuke").is_some(),
        "{out}"
    );
}

#[test]
fn completions_and_man_pages_are_real() {
    let w = World::new(RUNNER, "");
    let r = w.grunt(&["completions", "bash"]).success();
    assert!(
        r.stdout.contains("complete -F _grunt"),
        "{}",
        &r.stdout[..200.min(r.stdout.len())]
    );
    for cmd in ["submit", "show", "wait", "dir", "etcat"] {
        assert!(r.stdout.contains(cmd), "{cmd} missing from bash completion");
    }
    // bash itself accepts it and then completes `grunt sho` to show (`sh` is also `share`).
    let script = w.tmp.path().join("grunt.bash");
    std::fs::write(&script, &r.stdout).expect("script");
    let probe = format!(
        "source {}; COMP_WORDS=(grunt sho); COMP_CWORD=1; COMP_LINE='grunt sho'; COMP_POINT=9; _grunt grunt sho grunt; echo \"${{COMPREPLY[@]}}\"",
        quote(&script.display().to_string())
    );
    let b = grunt_tests::run("bash", &["-c", &probe], &w.project, &[]);
    assert!(b.ok, "{}", b.stderr);
    assert_eq!(
        b.stdout.split_whitespace().collect::<Vec<_>>(),
        ["show"],
        "{}",
        b.stdout
    );

    let dir = w.tmp.path().join("man");
    w.grunt(&["man", dir.to_str().expect("utf8")]).success();
    let page = std::fs::read_to_string(dir.join("grunt.1")).expect("grunt.1");
    assert!(
        page.starts_with(".ie") || page.contains(".TH grunt 1"),
        "{}",
        &page[..200.min(page.len())]
    );
    assert!(page.contains(".TH grunt"), "no title");
    let sub = std::fs::read_to_string(dir.join("grunt-submit.1")).expect("grunt-submit.1");
    assert!(
        sub.contains("\\-\\-dry\\-run") || sub.contains("dry-run"),
        "submit's options"
    );
    // man itself renders it, when installed.
    let m = grunt_tests::run(
        "sh",
        &[
            "-c",
            "command -v man >/dev/null || exit 77; MANWIDTH=80 man -l grunt-submit.1",
        ],
        &dir,
        &[],
    );
    if m.code != Some(77) {
        assert!(m.ok && m.stdout.contains("dry"), "{}{}", m.stdout, m.stderr);
    }
}
