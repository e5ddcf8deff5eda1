//! One module per command; [`run`] only dispatches.

pub mod await_cmd;
pub mod clean;
pub mod completions;
pub mod demo;
pub mod diff;
pub mod dir;
pub mod doctor;
pub mod etcat;
pub mod export;
pub mod files_cmd;
pub mod jobs;
pub mod link;
pub mod log;
pub mod message;
pub mod newproj;
pub mod newproj_server;
pub mod out;
pub mod push;
pub mod queue;
pub mod reference;
pub mod reproduce;
pub mod rerun;
pub mod results;
pub mod server;
pub mod share;
pub mod show;
pub mod submit;
pub mod verify;
pub mod wait_cmd;

use anyhow::Result;

use crate::cli::{Cli, Command};
use crate::context::Ctx;
use crate::error;

pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Newproj(a) => newproj::run(a),
        Command::Server(a) => server::run(a),
        Command::Demo(a) => demo::run(a),
        Command::CliReference => reference::run(),
        Command::Await(a) => await_cmd::run(a),
        Command::Completions(a) => completions::completions(a),
        Command::Man(a) => completions::man(a),
        Command::Submit(a) => submit::run(&Ctx::open()?, a),
        Command::Rerun(a) => rerun::run(&Ctx::open()?, a),
        Command::Jobs(a) => jobs::run(&Ctx::open()?, a),
        Command::Show(a) => show::run(&Ctx::open()?, a),
        Command::Wait(a) => wait_cmd::run(&Ctx::open()?, a),
        Command::Status(a) => push::run(&Ctx::open()?, "status", a),
        Command::Results(a) => results::run(&Ctx::open()?, a),
        Command::Files(a) => files_cmd::run(&Ctx::open()?, a),
        Command::Pull => {
            let ctx = Ctx::open()?;
            ctx.pull_jobs()?;
            ctx.pull_results()?;
            crate::ui::out(format!(
                "pulled jobs and results of {} from {}",
                ctx.project, ctx.server
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
        Command::Cancel(a) => push::run(&Ctx::open()?, "cancel", a),
        Command::Nuke(a) => push::nuke(&Ctx::open()?, a),
        Command::Delete(a) => push::run(&Ctx::open()?, "delete", a),
        Command::Archive(a) => push::run(&Ctx::open()?, "archive", a),
        Command::Undelete(a) => push::run(&Ctx::open()?, "undelete", a),
        Command::Log(a) => log::run(&Ctx::open()?, a),
        Command::Reproduce(a) => reproduce::run(&Ctx::open()?, a),
        Command::Share(a) => share::share(&Ctx::open()?, a),
        Command::CloneShared(a) => share::clone_shared(a),
        Command::Export(a) => export::run(&Ctx::open()?, a),
        Command::Clean => clean::run(&Ctx::open()?),
        Command::Queue(a) => queue::run(&Ctx::open()?, a),
        Command::Run(a) => push::run(&Ctx::open()?, &a.word, a.args),
        Command::NewprojServer(a) => newproj_server::run(&Ctx::open()?, a),
        Command::Doctor(a) => doctor::run(a),
        Command::Other(words) => {
            if let Some(word) = words.first() {
                refuse_typo(word)?;
            }
            push::run_user(&Ctx::open()?, words)
        }
    }
}

/// A word close to a grunt command is surely a typo: refuse it before anything is pushed.
fn refuse_typo(word: &str) -> Result<()> {
    let close = crate::cli::command_names()
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
