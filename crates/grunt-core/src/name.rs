//! Names that end up in paths: projects, servers, users and command words.
//!
//! Anything a client or a file can put into a path is checked here, once, so that no name can
//! climb out of its directory (`..`, `/`), hide (leading `.`), pose as an option (leading `-`)
//! or smuggle control characters into logs and terminals.

use thiserror::Error;

/// A name was refused.
#[derive(Debug, Error, PartialEq, Eq)]
#[error("invalid {kind} name {name:?}: {why}")]
pub struct NameError {
    pub kind: &'static str,
    pub name: String,
    pub why: &'static str,
}

/// Checks a project, server or user name: one path component of printable characters.
pub fn check(kind: &'static str, name: &str) -> Result<(), NameError> {
    let err = |why| {
        Err(NameError {
            kind,
            name: name.to_string(),
            why,
        })
    };
    if name.is_empty() {
        return err("it is empty");
    }
    if name.len() > 200 {
        return err("it is longer than 200 bytes");
    }
    if name == "." || name == ".." {
        return err("it is a relative path component");
    }
    if name.contains('/') || name.contains('\\') {
        return err("it contains a slash");
    }
    if name.chars().any(|c| c.is_control()) {
        return err("it contains a control character");
    }
    if name.starts_with('-') {
        return err("it starts with '-'");
    }
    if name.starts_with('.') {
        return err("it starts with '.'");
    }
    if name.chars().any(|c| c.is_whitespace()) {
        return err("it contains white space");
    }
    Ok(())
}

/// Checks a command word (`grcmd.<word>`, a runner command): letters, digits, `_` and `-`,
/// not starting with `-`.
pub fn check_command(word: &str) -> Result<(), NameError> {
    check("command", word)?;
    if !word
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err(NameError {
            kind: "command",
            name: word.to_string(),
            why: "only letters, digits, '_' and '-' are allowed",
        });
    }
    Ok(())
}

/// Checks a relative path inside a job directory (a result file, a project file): components
/// separated by `/`, none empty, `.`, `..` or `.git`, no control characters, not absolute.
pub fn check_relative_path(path: &str) -> Result<(), NameError> {
    let err = |why| {
        Err(NameError {
            kind: "file",
            name: path.to_string(),
            why,
        })
    };
    if path.is_empty() {
        return err("it is empty");
    }
    if path.starts_with('/') {
        return err("it is an absolute path");
    }
    if path.chars().any(|c| c.is_control()) {
        return err("it contains a control character");
    }
    for part in path.split('/') {
        match part {
            "" => return err("it has an empty path component"),
            "." | ".." => return err("it leaves its directory ('.' or '..')"),
            ".git" => return err("it names a .git directory"),
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_names_pass() {
        for n in ["sim", "my-proj_2", "Leabra.v2", "ore"] {
            assert_eq!(check("project", n), Ok(()), "{n}");
        }
    }

    #[test]
    fn bad_names_are_refused_with_reason() {
        for (n, why) in [
            ("", "empty"),
            ("a/b", "slash"),
            ("..", "relative"),
            ("-rf", "'-'"),
            (".hidden", "'.'"),
            ("a\nb", "control"),
            ("a b", "white"),
        ] {
            let e = check("project", n).unwrap_err();
            assert!(e.to_string().contains(why), "{n:?}: {e}");
        }
    }

    #[test]
    fn command_words() {
        assert!(check_command("newproj-server").is_ok());
        assert!(check_command("my_cmd2").is_ok());
        assert!(check_command("rm;ls").is_err());
        assert!(check_command("-x").is_err());
    }

    #[test]
    fn relative_paths() {
        assert!(check_relative_path("out/run_1.csv").is_ok());
        for p in [
            "../etc/passwd",
            "/etc/passwd",
            "a//b",
            "a/./b",
            ".git/config",
            "a\0b",
        ] {
            assert!(check_relative_path(p).is_err(), "{p}");
        }
    }
}
