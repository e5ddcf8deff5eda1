//! User output: what commands print for people goes through here (stdout), notes and
//! warnings to stderr; logging is separate (`RUST_LOG`).

use std::io::Write;

/// Prints a line to stdout; a closed pipe ends the command quietly (see `error::report`).
pub fn out(text: impl AsRef<str>) -> std::io::Result<()> {
    let mut o = std::io::stdout().lock();
    o.write_all(text.as_ref().as_bytes())?;
    o.write_all(b"\n")
}

/// A note for people, on stderr, so it never mixes with output meant for pipes.
pub fn note(text: impl AsRef<str>) {
    eprintln!("{}", text.as_ref());
}
