//! The argument grammar of commands that take a job's own arguments (`submit`):
//!
//! ```text
//! grunt submit [GRUNT OPTIONS] [--] [JOB ARGS..] -m MSG [GRUNT OPTIONS]
//! ```
//!
//! grunt's options go before the job's arguments or after `-m MSG`; nothing after `-m MSG` is
//! a job argument. `--` ends grunt's options: what follows, up to `-m`, is the job's. Without
//! `--`, a job argument that spells one of grunt's own options (`--dry-run`, `--wait`, …) is
//! refused, because it was surely meant for grunt.
//!
//! clap drops a `--` that comes before the first positional argument, so [`mark_end_of_options`]
//! marks it in the raw arguments first, for [`split`] to find.

use std::ffi::OsString;

use crate::error::{usage, CommandError};

/// Stands in the argument list right after the `--` the user wrote (never typed by people).
pub const END_OF_OPTIONS: &str = "\u{1}grunt:end-of-options";

/// Commands whose trailing arguments follow this grammar.
const COMMANDS: [&str; 1] = ["submit"];

/// Global options that take a value (so the word after them is not the command).
const GLOBAL_WITH_VALUE: [&str; 2] = ["-C", "--color"];

/// Marks the first `--` after the command word, if the command follows this grammar.
pub fn mark_end_of_options(args: Vec<OsString>) -> Vec<OsString> {
    let mut i = 1;
    while i < args.len() {
        let a = args[i].to_string_lossy();
        if GLOBAL_WITH_VALUE.contains(&a.as_ref()) {
            i += 2;
            continue;
        }
        if a.starts_with('-') {
            i += 1;
            continue;
        }
        break;
    }
    let Some(cmd) = args.get(i) else {
        return args;
    };
    if !COMMANDS.iter().any(|c| cmd == c) {
        return args;
    }
    let mut out = args.clone();
    if let Some(j) = args.iter().skip(i + 1).position(|a| a == "--") {
        out.insert(i + 1 + j + 1, END_OF_OPTIONS.into());
    }
    out
}

/// A command line split by the grammar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    pub job_args: Vec<String>,
    pub message: String,
    /// grunt's options written after `-m MSG`, to be parsed like the leading ones.
    pub trailing: Vec<String>,
}

/// Splits `rest` (clap's trailing values: whatever follows grunt's leading options) into the
/// job's arguments, the message and trailing options. `message` is `-m MSG` when clap took it
/// itself (no job arguments came before it). `own` are the spellings of grunt's options.
pub fn split(
    rest: &[String],
    message: Option<&str>,
    own: &[String],
) -> Result<Split, CommandError> {
    let mut tokens: Vec<String> = Vec::with_capacity(rest.len());
    // Index in `tokens` where `--` ended grunt's options (everything before -m is literal).
    let mut literal_from = None;
    for t in rest {
        if t == END_OF_OPTIONS {
            if tokens.last().is_some_and(|l| l == "--") {
                tokens.pop();
            }
            literal_from.get_or_insert(tokens.len());
        } else {
            tokens.push(t.clone());
        }
    }
    if let Some(msg) = message {
        // clap took -m itself: whatever follows came after it.
        if let Some(first) = tokens.iter().find(|t| !spells_option(t, own)) {
            return Err(usage(format!(
                "{} comes after -m MSG, where only grunt's options may follow",
                shown(first)
            ))
            .hint("job arguments go before -m: grunt submit [args..] -m \"why\""));
        }
        return Ok(Split {
            job_args: Vec::new(),
            message: check_message(msg)?,
            trailing: tokens,
        });
    }
    let Some(m) = tokens.iter().position(|t| t == "-m" || t == "--message") else {
        return Err(
            usage("missing -m \"message\": every job needs one; it is the job's record")
                .hint("grunt submit [args..] -m \"why\""),
        );
    };
    let Some(msg) = tokens.get(m + 1) else {
        return Err(usage("-m needs a message after it").hint("grunt submit [args..] -m \"why\""));
    };
    let message = check_message(msg)?;
    let job_args = tokens[..m].to_vec();
    let checked = &job_args[..literal_from.unwrap_or(job_args.len()).min(job_args.len())];
    if let Some(opt) = checked.iter().find(|a| spells_option(a, own)) {
        return Err(usage(format!(
            "{} is one of grunt's own options, here among the job's arguments",
            shown(opt)
        ))
        .hint("grunt's options go before the job's arguments or after -m MSG")
        .hint(format!(
            "if the job takes {} itself, write `--` before the job's arguments: grunt submit -- {} -m \"…\"",
            shown(opt),
            cut(&job_args.join(" "))
        )));
    }
    Ok(Split {
        job_args,
        message,
        trailing: tokens[m + 2..].to_vec(),
    })
}

/// An argument as an error message quotes it: debug-quoted, and cut to a screen line so a
/// 64 KiB argument does not flood the terminal.
fn shown(arg: &str) -> String {
    match arg.char_indices().nth(SHOWN_CHARS) {
        None => format!("{arg:?}"),
        Some((end, _)) => {
            let q = format!("{:?}", &arg[..end]);
            format!("{}…\" ({} bytes)", &q[..q.len() - 1], arg.len())
        }
    }
}

/// Text cut to [`SHOWN_CHARS`] characters, for hints that show a command line.
fn cut(text: &str) -> String {
    match text.char_indices().nth(SHOWN_CHARS) {
        None => text.to_string(),
        Some((end, _)) => format!("{}…", &text[..end]),
    }
}

const SHOWN_CHARS: usize = 60;

fn check_message(msg: &str) -> Result<String, CommandError> {
    if msg.trim().is_empty() {
        return Err(usage(
            "the -m message is empty: say why you run this job; it is the job's record",
        ));
    }
    Ok(msg.to_string())
}

/// Does `arg` spell one of `own` (`--wait`, `--wait=5`, `-C`…)?
fn spells_option(arg: &str, own: &[String]) -> bool {
    own.iter().any(|o| {
        arg == o
            || (o.starts_with("--")
                && arg
                    .strip_prefix(o.as_str())
                    .is_some_and(|r| r.starts_with('=')))
    })
}

/// The spellings (`--long`, `-s`) of the options of `cmd`, with the global ones.
pub fn own_options(cmd: &clap::Command) -> Vec<String> {
    let mut out: Vec<String> = GLOBAL_WITH_VALUE.iter().map(|s| s.to_string()).collect();
    for a in cmd.get_arguments() {
        if a.is_positional() {
            continue;
        }
        out.extend(
            a.get_long_and_visible_aliases()
                .into_iter()
                .flatten()
                .map(|l| format!("--{l}")),
        );
        out.extend(
            a.get_short_and_visible_aliases()
                .into_iter()
                .flatten()
                .map(|s| format!("-{s}")),
        );
    }
    out.retain(|o| o != "-m" && o != "--message" && o != "-h" && o != "--help");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| x.to_string()).collect()
    }

    fn own() -> Vec<String> {
        v(&["--wait", "--dry-run", "--profile", "--json", "-C"])
    }

    #[test]
    fn job_args_then_message_then_options() {
        let s = split(&v(&["--lr", "0.1", "-m", "why", "--dry-run"]), None, &own()).unwrap();
        assert_eq!(s.job_args, v(&["--lr", "0.1"]));
        assert_eq!(s.message, "why");
        assert_eq!(s.trailing, v(&["--dry-run"]));
    }

    #[test]
    fn a_grunt_option_among_job_args_is_refused_unless_after_dashdash() {
        for bad in [
            &["1", "2", "--dry-run", "-m", "x"][..],
            &["--wait=30", "1", "-m", "x"],
            &["1", "--profile", "gpu", "-m", "x"],
        ] {
            let e = split(&v(bad), None, &own()).unwrap_err();
            assert_eq!(e.kind, crate::error::Kind::Usage, "{bad:?}");
        }
        let s = split(
            &v(&[END_OF_OPTIONS, "1", "--dry-run", "-m", "x"]),
            None,
            &own(),
        )
        .unwrap();
        assert_eq!(s.job_args, v(&["1", "--dry-run"]));
        // `--` in the middle: what comes before it is still checked.
        let s = split(
            &v(&["a", "--", END_OF_OPTIONS, "--wait", "-m", "x"]),
            None,
            &own(),
        );
        assert_eq!(s.unwrap().job_args, v(&["a", "--wait"]));
        assert!(split(
            &v(&["--dry-run", "--", END_OF_OPTIONS, "-m", "x"]),
            None,
            &own()
        )
        .is_err());
        // Other words that only look like options are the job's.
        assert!(split(&v(&["--waiting", "--dry", "-m", "x"]), None, &own()).is_ok());
    }

    #[test]
    fn a_huge_argument_is_quoted_cut() {
        let huge = "x".repeat(65536);
        let among = split(&v(&[&huge, "--dry-run", "-m", "m"]), None, &own()).unwrap_err();
        let after = split(&v(&[&huge]), Some("m"), &own()).unwrap_err();
        for err in [among, after] {
            let text = format!("{err:?}");
            assert!(text.len() < 1000, "the error quotes {} bytes", text.len());
        }
        let after = split(&v(&[&huge]), Some("m"), &own()).unwrap_err();
        assert!(after.to_string().contains("(65536 bytes)"), "{after}");
    }

    #[test]
    fn message_rules() {
        assert!(split(&v(&["--lr"]), None, &own())
            .unwrap_err()
            .to_string()
            .contains("missing -m"));
        assert!(split(&v(&["a", "-m"]), None, &own()).is_err());
        assert!(split(&v(&["-m", " "]), None, &own())
            .unwrap_err()
            .to_string()
            .contains("empty"));
        // clap took -m: anything else after it must be grunt's options.
        assert!(split(&v(&["--wait"]), Some("x"), &own()).is_ok());
        assert!(split(&v(&["1"]), Some("x"), &own()).is_err());
    }

    #[test]
    fn marks_the_first_dashdash_after_submit() {
        let os = |s: &[&str]| s.iter().map(OsString::from).collect::<Vec<_>>();
        let m = mark_end_of_options(os(&["grunt", "-C", "submit", "submit", "--", "a"]));
        assert_eq!(
            m,
            os(&["grunt", "-C", "submit", "submit", "--", END_OF_OPTIONS, "a"])
        );
        let m = mark_end_of_options(os(&["grunt", "status", "--", "1"]));
        assert_eq!(m, os(&["grunt", "status", "--", "1"]));
    }
}
