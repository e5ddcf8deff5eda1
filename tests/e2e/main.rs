//! The end-to-end suite: real git repos, real `grunt` and `grund` processes, hermetic homes.
//! One module per area.

#![allow(clippy::unwrap_used)] // tests fail loudly

mod bad_input;
mod client_cli;
mod commands;
mod compat;
mod concurrency;
mod daemon;
mod demo;
mod exactly_once;
mod local_runner;
mod reference;
mod roundtrip;
mod runners;
mod slurm;
mod ssh_roundtrip;
mod ssh_transport;
mod submit_options;
mod wire;
