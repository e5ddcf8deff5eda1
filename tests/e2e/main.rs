//! The end-to-end suite: real git repos, real `grunt` and `grund` processes, hermetic homes.
//! One module per area.

#![allow(clippy::unwrap_used)] // tests fail loudly

mod arrays;
mod bad_input;
mod client_cli;
mod commands;
mod compat;
mod concurrency;
mod daemon;
mod daemon_pool;
mod daemon_scope;
mod demo;
mod exactly_once;
mod fault_kills;
mod faults;
mod follow;
mod handback;
mod holds;
mod local_runner;
mod original_verbs;
mod provenance;
mod receive;
mod reference;
mod roundtrip;
mod runners;
mod side_by_side;
mod slurm;
mod ssh_roundtrip;
mod ssh_transport;
mod submit_options;
mod sweeps;
mod terminal;
mod ui;
mod usage;
mod wire;
