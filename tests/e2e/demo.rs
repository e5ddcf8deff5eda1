//! The README's first command: `grunt demo` runs a full local round trip and cleans up.

#[test]
fn demo_runs_a_full_round_trip() {
    let o = std::process::Command::new(grunt_tests::grunt_bin())
        .arg("demo")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{out}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(out.contains("round trip complete"), "{out}");
    assert!(out.contains("5,0.328"), "the results came back:\n{out}");
    assert!(!out.contains("demo directory kept"), "{out}");
}
