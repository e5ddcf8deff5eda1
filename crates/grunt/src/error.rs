//! The client's one error type and how it reaches people: a [`Kind`] that sets the exit code,
//! hints printed on their own `hint:` lines, causes printed once each, and a broken pipe that
//! exits quietly.
//!
//! Commands return `anyhow::Result`; a [`CommandError`] anywhere in the chain gives the kind
//! and the hints, any other error is [`Kind::Error`].

use std::fmt;

/// What went wrong, as scripts see it (the exit code). The table is in docs/cli.md.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Exit 1: the command could not do what was asked; nothing was pushed unless it says so.
    Error,
    /// Exit 2: the command line is wrong; nothing was done.
    Usage,
    /// Exit 3: the request was pushed, but grund had not answered by the `--wait` deadline.
    NotAnswered,
    /// Exit 4: grund answered, and the runner or the job failed.
    Failed,
    /// Exit 130: Ctrl-C while waiting (the request, if pushed, stays pushed).
    Interrupted,
}

impl Kind {
    pub fn exit_code(self) -> i32 {
        match self {
            Kind::Error => 1,
            Kind::Usage => 2,
            Kind::NotAnswered => 3,
            Kind::Failed => 4,
            Kind::Interrupted => 130,
        }
    }
}

/// Every exit code and what it means: the one table `--help` and docs/cli.md show.
pub const EXIT_CODES: [(i32, &str); 6] = [
    (0, "success"),
    (
        1,
        "error: the command could not do what was asked (nothing was pushed unless it says so)",
    ),
    (2, "usage: the command line is wrong; nothing was done"),
    (
        3,
        "pushed, but grund had not answered by the --wait deadline",
    ),
    (4, "answered, and the runner or the job failed"),
    (130, "Ctrl-C while waiting (what was pushed stays pushed)"),
];

/// An error with a kind and hints for people.
#[derive(Debug)]
pub struct CommandError {
    pub kind: Kind,
    message: String,
    hints: Vec<String>,
}

impl CommandError {
    pub fn new(kind: Kind, message: impl Into<String>) -> CommandError {
        CommandError {
            kind,
            message: message.into(),
            hints: Vec::new(),
        }
    }

    /// Adds a hint, printed on a line of its own after the error.
    pub fn hint(mut self, hint: impl Into<String>) -> CommandError {
        self.hints.push(hint.into());
        self
    }
}

impl fmt::Display for CommandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CommandError {}

/// A usage error (exit 2).
pub fn usage(message: impl Into<String>) -> CommandError {
    CommandError::new(Kind::Usage, message)
}

/// A plain error (exit 1).
pub fn error(message: impl Into<String>) -> CommandError {
    CommandError::new(Kind::Error, message)
}

/// The kind of an error chain: that of its first [`CommandError`], else [`Kind::Error`].
pub fn kind_of(e: &anyhow::Error) -> Kind {
    e.chain()
        .find_map(|c| c.downcast_ref::<CommandError>())
        .map_or(Kind::Error, |c| c.kind)
}

/// Prints an error for people and returns the exit code.
pub fn report(e: &anyhow::Error) -> i32 {
    if is_broken_pipe(e) {
        return 0;
    }
    let mut out = anstream::stderr();
    for line in render(e) {
        let _ = std::io::Write::write_all(&mut out, format!("{line}\n").as_bytes());
    }
    kind_of(e).exit_code()
}

/// The lines [`report`] prints: the error, each cause not already said, then the hints.
pub fn render(e: &anyhow::Error) -> Vec<String> {
    let red = anstyle::Style::new()
        .bold()
        .fg_color(Some(anstyle::AnsiColor::Red.into()));
    let cyan = anstyle::Style::new().fg_color(Some(anstyle::AnsiColor::Cyan.into()));
    let mut said = e.to_string();
    let mut lines = vec![format!("grunt: {red}error:{red:#} {said}")];
    for cause in e.chain().skip(1) {
        let text = cause.to_string();
        // Many errors already show their source in their own text (`{op} {path}: {source}`).
        if said.contains(&text) {
            continue;
        }
        lines.push(format!("  caused by: {text}"));
        said.push_str(&text);
    }
    let mut hints: Vec<String> = e
        .chain()
        .filter_map(|c| c.downcast_ref::<CommandError>())
        .flat_map(|c| c.hints.iter().cloned())
        .collect();
    if is_disk_full(e) {
        hints.push("the disk is full: free some space and run the command again".into());
    }
    lines.extend(hints.iter().map(|h| format!("{cyan}hint:{cyan:#} {h}")));
    lines
}

/// The error and its causes on one line, for warnings.
pub fn one_line(e: &anyhow::Error) -> String {
    let mut said = e.to_string();
    for c in e.chain().skip(1) {
        let t = c.to_string();
        if !said.contains(&t) {
            said = format!("{said}: {t}");
        }
    }
    said.replace('\n', " ")
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// No space left on the device, whether from the OS or from git writing a pack.
fn is_disk_full(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(grunt_core::fsutil::is_disk_full)
            || c.to_string().contains("No space left on device")
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_kind_is_in_the_exit_code_table() {
        use super::Kind::*;
        for k in [Error, Usage, NotAnswered, Failed, Interrupted] {
            assert!(super::EXIT_CODES.iter().any(|(c, _)| *c == k.exit_code()));
        }
    }

    use super::*;

    #[test]
    fn kinds_set_exit_codes_and_hints_print_once() {
        let e = anyhow::Error::new(usage("bad").hint("write --"));
        assert_eq!(kind_of(&e), Kind::Usage);
        let lines = render(&e);
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert!(lines[1].contains("hint:") && lines[1].contains("write --"));
        let e = anyhow::Error::new(CommandError::new(Kind::NotAnswered, "late")).context("ctx");
        assert_eq!(kind_of(&e).exit_code(), 3);
        assert_eq!(kind_of(&anyhow::anyhow!("x")).exit_code(), 1);
    }

    #[test]
    fn a_cause_already_in_the_message_is_not_repeated() {
        let io = std::io::Error::other("disk on fire");
        let e = anyhow::Error::new(grunt_core::Error::io("writing", "/x")(io));
        let lines = render(&e);
        assert_eq!(lines.len(), 1, "{lines:?}");
        let e = anyhow::anyhow!("inner").context("outer");
        assert_eq!(render(&e).len(), 2);
    }
}
