//! docs/cli.md is what `grunt cli-reference` prints: the reference cannot drift from --help.

#[test]
fn cli_reference_is_current() {
    let o = std::process::Command::new(grunt_tests::grunt_bin())
        .arg("cli-reference")
        .env("COLUMNS", "100")
        .output()
        .unwrap();
    assert!(o.status.success());
    let generated = String::from_utf8(o.stdout).unwrap();
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/cli.md");
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        generated == committed,
        "docs/cli.md is out of date: run `cargo run -p grunt -- cli-reference > docs/cli.md`"
    );
}
