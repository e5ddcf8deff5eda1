//! The built `grund` binary starts and names itself. Also why cargo builds it for
//! `cargo test --workspace`: the end-to-end suite (tests/) runs this very binary.

use std::process::Command;

#[test]
fn the_binary_runs() {
    let out = Command::new(env!("CARGO_BIN_EXE_grund"))
        .arg("--version")
        .output()
        .expect("running grund --version");
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("grund "), "{text}");
}
