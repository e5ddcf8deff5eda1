//! One module per command; [`run`] only dispatches.

pub mod clean;
pub mod demo;
pub mod diff;
pub mod doctor;
pub mod files_cmd;
pub mod jobs;
pub mod link;
pub mod message;
pub mod newproj;
pub mod newproj_server;
pub mod push;
pub mod queue;
pub mod reference;
pub mod rerun;
pub mod results;
pub mod server;
pub mod show;
pub mod submit;

use anyhow::Result;

use crate::cli::{Cli, Command};
use crate::context::Ctx;

pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Newproj(a) => newproj::run(a),
        Command::Server(a) => server::run(a),
        Command::Demo(a) => demo::run(a),
        Command::CliReference => reference::run(),
        Command::Submit(a) => submit::run(&Ctx::open()?, a),
        Command::Rerun(a) => rerun::run(&Ctx::open()?, a),
        Command::Jobs(a) => jobs::run(&Ctx::open()?, a),
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
        Command::Out(a) => show::out(&Ctx::open()?, a),
        Command::Ls(a) => show::ls(&Ctx::open()?, a),
        Command::Message(a) => message::run(&Ctx::open()?, a),
        Command::Diff(a) => diff::run(&Ctx::open()?, a),
        Command::Link(a) => link::link(&Ctx::open()?, a),
        Command::Unlink(a) => link::unlink(&Ctx::open()?, a),
        Command::Cancel(a) => push::run(&Ctx::open()?, "cancel", a),
        Command::Nuke(a) => push::run(&Ctx::open()?, "nuke", a),
        Command::Delete(a) => push::run(&Ctx::open()?, "delete", a),
        Command::Archive(a) => push::run(&Ctx::open()?, "archive", a),
        Command::Clean => clean::run(&Ctx::open()?),
        Command::Queue(a) => queue::run(&Ctx::open()?, a),
        Command::NewprojServer(a) => newproj_server::run(&Ctx::open()?, a),
        Command::Doctor(a) => doctor::run(a),
        Command::Other(words) => push::run_user(&Ctx::open()?, words),
    }
}
