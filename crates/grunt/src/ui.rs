//! User output: what commands print for people goes through here (stdout, colours stripped
//! when piped or with `NO_COLOR`), notes and warnings to stderr; logging is separate
//! (`RUST_LOG`).

use std::io::{IsTerminal, Write};

/// Prints a line to stdout; a closed pipe ends the command quietly (see `error::report`).
pub fn out(text: impl AsRef<str>) -> std::io::Result<()> {
    let mut o = anstream::stdout().lock();
    o.write_all(text.as_ref().as_bytes())?;
    o.write_all(b"\n")
}

/// Prints a value as pretty JSON on stdout (for `--json`).
pub fn json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    Ok(out(serde_json::to_string_pretty(value)?)?)
}

/// A note for people, on stderr, so it never mixes with output meant for pipes.
pub fn note(text: impl AsRef<str>) {
    let _ = writeln!(anstream::stderr(), "{}", text.as_ref());
}

/// A warning, on stderr.
pub fn warn(text: impl AsRef<str>) {
    let y = anstyle::Style::new().fg_color(Some(anstyle::AnsiColor::Yellow.into()));
    let _ = writeln!(anstream::stderr(), "{y}warning:{y:#} {}", text.as_ref());
}

/// Is a person at the keyboard (stdin and stderr are terminals)?
pub fn interactive() -> bool {
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

/// A state, coloured for a terminal (stripped when piped or with `NO_COLOR`).
pub fn state_colored(state: grunt_core::state::State, text: &str) -> String {
    use anstyle::AnsiColor::*;
    use grunt_core::state::State;
    let color = match state {
        State::Done => Green,
        State::Running => Cyan,
        State::Pending => Blue,
        State::Canceled => Magenta,
        State::Unknown => Yellow,
        _ => Red,
    };
    let s = anstyle::Style::new().fg_color(Some(color.into()));
    format!("{s}{text}{s:#}")
}

/// Asks a yes/no question on the terminal; only `y` or `yes` is yes.
pub fn confirm(question: &str) -> std::io::Result<bool> {
    let mut e = anstream::stderr();
    e.write_all(question.as_bytes())?;
    e.flush()?;
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    Ok(matches!(
        line.trim().to_ascii_lowercase().as_str(),
        "y" | "yes"
    ))
}

/// `line` word-wrapped to `width` columns, continuation lines indented by `indent`.
pub(crate) fn wrap(line: &str, indent: usize, width: usize) -> String {
    let lead = line.len() - line.trim_start().len();
    let mut out = String::new();
    let mut cur = " ".repeat(lead);
    for word in line.trim_start().split(' ') {
        if !cur.trim().is_empty() && cur.chars().count() + 1 + word.chars().count() > width {
            out.push_str(cur.trim_end());
            out.push('\n');
            cur = " ".repeat(indent);
        } else if !cur.trim().is_empty() {
            cur.push(' ');
        }
        cur.push_str(word);
    }
    out.push_str(cur.trim_end());
    out.push('\n');
    out
}
