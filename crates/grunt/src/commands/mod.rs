//! The command line and its dispatch: [`Cli`] with one [`Command`] variant per command, each
//! owning its arguments in its module (one module per command), the top-level help with the
//! commands in groups ([`command`]), and [`run`], which only dispatches.

pub mod await_cmd;
pub mod clean;
pub mod completions;
pub mod demo;
pub mod diff;
pub mod dir;
pub mod doctor;
pub mod etcat;
pub mod export;
pub mod files;
pub mod grcmd;
pub mod jobs;
pub mod link;
pub mod log;
pub mod message;
pub mod newproj;
pub mod newproj_server;
pub mod out;
pub mod queue;
pub mod receive_cmd;
pub mod reference;
pub mod reproduce;
pub mod rerun;
pub mod results;
pub mod runner;
pub mod server;
pub mod share;
pub mod show;
pub mod submit;
pub mod sweep;
pub mod ui_cmd;
pub mod verify;
pub mod wait_cmd;

use std::path::PathBuf;

use anyhow::Result;
use clap::{CommandFactory, Parser, Subcommand};
use grunt_core::protocol::words;

use crate::context::Ctx;
use crate::error;

/// grunt: run your project's code on a cluster through git, with a permanent record of every
/// job. Jobs are named by ids (ore000042), numbers (42), inclusive ranges (11..22) and comma
/// lists of them.
#[derive(Debug, Parser)]
#[command(name = "grunt", version, about, max_term_width = 100)]
pub struct Cli {
    /// Run as if grunt was started in DIR (as `git -C`).
    #[arg(short = 'C', global = true, value_name = "DIR", id = "chdir")]
    pub dir: Option<PathBuf>,
    /// Colours: auto (on a terminal, unless NO_COLOR is set), always or never.
    #[arg(long, global = true, value_name = "WHEN", default_value = "auto")]
    pub color: ColorWhen,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorWhen {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a project: on the server `newproj <project>`, on the client `newproj <project> <remote>`.
    Newproj(newproj::Args),
    /// Set this project's server (writes grunt.server).
    Server(server::Args),
    /// Submit the project's git-tracked files as a new job: submit [args..] -m "why".
    Submit(submit::Args),
    /// Submit a new job with the same code, arguments and profile as each given job.
    Rerun(rerun::Args),
    /// List jobs: all, or active, done, archive or delete; filters by state, id, count.
    Jobs(jobs::Args),
    /// A sweep at a glance: counts per state, the failed points; --rerun-failed runs them again.
    Sweep(sweep::Args),
    /// Everything about one job: message, args, state and why, times, errors, output, files, history.
    Show(show::Args),
    /// Wait until jobs have ended; exit 0 only if all of them succeeded.
    Wait(wait_cmd::Args),
    /// Ask the runner to update the status of jobs (default: all active jobs).
    Status(grcmd::Args),
    /// Copy jobs' result files into the results repo and link them into gresults/ (default: active jobs that need it).
    Results(results::Args),
    /// Copy the given files of one job into the results repo: files <job> <files..>.
    Files(files::Args),
    /// Pull the jobs and results repos.
    Pull,
    /// Show jobs' output (job.out); --follow streams it live from the server.
    Out(out::OutArgs),
    /// Show jobs' file lists (job.list).
    #[command(visible_alias = "list")]
    Ls(out::LsArgs),
    /// Replace a job's message: message <job> "new message".
    Message(message::Args),
    /// A job's history from git: every commit that touched it (submitted, started, ended, results, moves), with times.
    Log(log::Args),
    /// Write a job's exact files into a directory, or (--checkout) a git worktree at its commit with its patch.
    Reproduce(reproduce::Args),
    /// Show what differs between a job and the project directory, or between two jobs.
    Diff(diff::Args),
    /// Open jobs' directories (their files, from the local jobs clone), or print their paths.
    Dir(dir::Args),
    /// A local web dashboard of this project's jobs: table, job pages, plots, actions.
    Ui(ui_cmd::Args),
    /// Run the project's runner here, on the client, as `etcat <jobid>` (as the original does).
    Etcat(etcat::Args),
    /// Link jobs' results into gresults/<jobid>.
    Link(link::Args),
    /// Remove gresults/<jobid> links.
    Unlink(link::Args),
    /// Cancel jobs on the server (jobs that have ended are left as they are).
    Cancel(grcmd::Args),
    /// Remove jobs from both repos and the server's disk, for mistakes (use delete for the rest).
    Nuke(grcmd::NukeArgs),
    /// Move jobs to delete/ (their results are removed; the record stays).
    Delete(grcmd::Args),
    /// Move jobs to archive/, with their results.
    Archive(grcmd::Args),
    /// Move deleted jobs back to active/, with the results they had (from the results history).
    Undelete(grcmd::Args),
    /// Remove stray files from the jobs working directory.
    Clean,
    /// Ask the runner for the scheduler's queue and show it (waits for the answer).
    Queue(queue::Args),
    /// Send a user command to the runner: run <word> <jobs..> (any word, even one like a grunt command).
    Run(grcmd::RunArgs),
    /// Create a project on the server through grund: newproj-server <project>.
    NewprojServer(newproj_server::Args),
    /// Check this project's server: ssh, ControlMaster, git, grunt/grund versions, grund's heartbeat, repos.
    Doctor(doctor::Args),
    /// Run a full local round trip in a throwaway directory: server, grund, submit, results.
    Demo(demo::Args),
    /// The example runners grunt carries: runner list, runner install <name> (writes ./grunter).
    Runner(runner::Args),
    /// Print a shell completion script: completions bash|zsh|fish|elvish|powershell.
    Completions(completions::Args),
    /// Push a read-only mirror of the project's jobs and results (or of some jobs) to any git remote.
    Share(share::ShareArgs),
    /// Browse what `grunt share` pushed to a remote, without a server: clone-shared REMOTE.
    CloneShared(share::CloneArgs),
    /// Write a static HTML page of the runs table with links to outputs and plots: export --html DIR.
    Export(export::Args),
    /// Write man pages (grunt.1 and one per command) into a directory.
    Man(completions::ManArgs),
    /// Print the Markdown reference of all commands (docs/cli.md).
    #[command(hide = true)]
    CliReference,
    /// On the server, for a client's --wait: wait until grund has answered a commit and send
    /// the answer back.
    #[command(hide = true)]
    Await(await_cmd::Args),
    /// On the server, for a client's push: take a pack from stdin and move the branch.
    #[command(hide = true)]
    Receive(receive_cmd::Args),
    /// Any other word is a user command for the runner: <word> <jobs..>.
    #[command(external_subcommand)]
    Other(Vec<String>),
}

/// The commands in the groups the top-level help shows them in.
const GROUPS: [(&str, &[&str]); 6] = [
    (
        "Run jobs",
        &[
            "submit",
            "rerun",
            "reproduce",
            "status",
            "results",
            "files",
            "cancel",
            "run",
        ],
    ),
    (
        "Look at jobs",
        &[
            "jobs", "show", "log", "sweep", "wait", "out", "ls", "diff", "dir", "queue", "etcat",
            "ui",
        ],
    ),
    (
        "Keep the record tidy",
        &[
            "message", "archive", "delete", "undelete", "nuke", "link", "unlink", "pull", "clean",
        ],
    ),
    (
        "Set up",
        &[
            "newproj",
            "server",
            "newproj-server",
            "doctor",
            "runner",
            "demo",
        ],
    ),
    ("Share", &["share", "clone-shared", "export"]),
    ("Shell", &["completions", "man", "help"]),
];

/// The command line's definition, with the grouped top-level help.
pub fn command() -> clap::Command {
    let cmd = Cli::command();
    let mut groups = String::new();
    // As wide as the terminal, at most as wide as clap wraps the rest of the help.
    let term = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse::<usize>().ok())
        .or_else(|| terminal_size::terminal_size().map(|(w, _)| w.0 as usize))
        .unwrap_or(100)
        .min(100);
    let width = cmd
        .get_subcommands()
        .map(|s| s.get_name().len())
        .max()
        .unwrap_or(10);
    for (title, names) in GROUPS {
        groups.push_str(&format!("{title}:\n"));
        for name in names {
            let about = cmd
                .find_subcommand(name)
                .and_then(|s| s.get_about())
                .map(|a| a.to_string())
                .unwrap_or_else(|| "Print this message or the help of the given command".into());
            groups.push_str(&crate::ui::wrap(
                &format!("  {name:<width$}  {about}"),
                width + 4,
                term,
            ));
        }
        groups.push('\n');
    }
    groups.push_str(&crate::ui::wrap(
        "Any other word is a user command for your runner (grunt WORD JOBS..); `grunt run WORD` always is.",
        0,
        term,
    ));
    cmd.help_template(format!(
        "{{about-with-newline}}\n{{usage-heading}} {{usage}}\n\n{groups}\nOptions:\n{{options}}{{after-help}}"
    ))
    .after_help(format!(
        "Exit codes: {}.",
        crate::error::EXIT_CODES
            .iter()
            .map(|(c, m)| format!("{c} {}", m.split(':').next().unwrap_or(m)))
            .collect::<Vec<_>>()
            .join("; ")
    ))
}

/// Every visible command name and alias, for "did you mean".
pub fn command_names() -> Vec<String> {
    let cmd = Cli::command();
    let mut names = Vec::new();
    for s in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        names.push(s.get_name().to_string());
        names.extend(s.get_visible_aliases().map(str::to_string));
    }
    names
}

/// Runs the command `cli` names.
pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Newproj(a) => newproj::run(a),
        Command::Server(a) => server::run(a),
        Command::Demo(a) => demo::run(a),
        Command::Runner(a) => runner::run(a),
        Command::CliReference => reference::run(),
        Command::Await(a) => await_cmd::run(a),
        Command::Receive(a) => receive_cmd::run(a),
        Command::Completions(a) => completions::completions(a),
        Command::Man(a) => completions::man(a),
        Command::Submit(a) => submit::run(&Ctx::open()?, a),
        Command::Rerun(a) => rerun::run(&Ctx::open()?, a),
        Command::Jobs(a) => jobs::run(&Ctx::open()?, a),
        Command::Sweep(a) => sweep::run(&Ctx::open()?, a),
        Command::Show(a) => show::run(&Ctx::open()?, a),
        Command::Wait(a) => wait_cmd::run(&Ctx::open()?, a),
        Command::Status(a) => grcmd::run(&Ctx::open()?, words::STATUS, a),
        Command::Results(a) => results::run(&Ctx::open()?, a),
        Command::Files(a) => files::run(&Ctx::open()?, a),
        Command::Pull => {
            let ctx = Ctx::open()?;
            ctx.pull_jobs()?;
            ctx.pull_results()?;
            crate::ui::out(format!(
                "pulled jobs and results of {} from {}",
                ctx.key.project, ctx.key.server
            ))?;
            Ok(())
        }
        Command::Out(a) => out::out(&Ctx::open()?, a),
        Command::Ls(a) => out::ls(&Ctx::open()?, a),
        Command::Message(a) => message::run(&Ctx::open()?, a),
        Command::Diff(a) => diff::run(&Ctx::open()?, a),
        Command::Dir(a) => dir::run(&Ctx::open()?, a),
        Command::Etcat(a) => etcat::run(&Ctx::open()?, a),
        Command::Link(a) => link::link(&Ctx::open()?, a),
        Command::Unlink(a) => link::unlink(&Ctx::open()?, a),
        Command::Cancel(a) => grcmd::run(&Ctx::open()?, words::CANCEL, a),
        Command::Nuke(a) => grcmd::nuke(&Ctx::open()?, a),
        Command::Delete(a) => grcmd::run(&Ctx::open()?, "delete", a),
        Command::Archive(a) => grcmd::run(&Ctx::open()?, "archive", a),
        Command::Undelete(a) => grcmd::run(&Ctx::open()?, "undelete", a),
        Command::Log(a) => log::run(&Ctx::open()?, a),
        Command::Reproduce(a) => reproduce::run(&Ctx::open()?, a),
        Command::Share(a) => share::share(&Ctx::open()?, a),
        Command::CloneShared(a) => share::clone_shared(a),
        Command::Export(a) => export::run(&Ctx::open()?, a),
        Command::Clean => clean::run(&Ctx::open()?),
        Command::Queue(a) => queue::run(&Ctx::open()?, a),
        Command::Run(a) => grcmd::run(&Ctx::open()?, &a.word, a.args),
        Command::NewprojServer(a) => newproj_server::run(&Ctx::open()?, a),
        Command::Doctor(a) => doctor::run(a),
        Command::Ui(a) => ui_cmd::run(&Ctx::open()?, a),
        Command::Other(words) => {
            if let Some(word) = words.first() {
                refuse_typo(word)?;
            }
            grcmd::run_user(&Ctx::open()?, words)
        }
    }
}

/// A word close to a grunt command is surely a typo: refuse it before anything is pushed.
fn refuse_typo(word: &str) -> Result<()> {
    let close = command_names()
        .into_iter()
        .map(|c| (strsim::osa_distance(word, &c), c))
        // Short words are all close to each other (`fail` is two edits from `wait`): up to
        // four letters, a typo is one edit (or swap) away.
        .filter(|(d, c)| *d <= if word.len().min(c.len()) <= 4 { 1 } else { 2 })
        .min_by_key(|(d, _)| *d);
    if let Some((_, cmd)) = close {
        return Err(error::usage(format!(
            "unknown command {word:?}: did you mean `grunt {cmd}`?"
        ))
        .hint(format!(
            "to send {word:?} to your runner as a user command, write `grunt run {word} JOBS`"
        ))
        .into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_command_is_in_a_group() {
        let grouped: Vec<&str> = super::GROUPS
            .iter()
            .flat_map(|(_, n)| n.iter().copied())
            .collect();
        for s in super::Cli::command_for_test().get_subcommands() {
            if !s.is_hide_set() {
                assert!(
                    grouped.contains(&s.get_name()),
                    "{} is in no group",
                    s.get_name()
                );
            }
        }
    }

    impl super::Cli {
        fn command_for_test() -> clap::Command {
            <super::Cli as clap::CommandFactory>::command()
        }
    }
}
