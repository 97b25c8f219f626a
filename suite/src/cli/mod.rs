//! The `kafka-trial` command line: each module holds its commands' clap
//! arguments and what they do.
//!
//! - [`test`]: `test` and `scenario` (run trials);
//! - [`history`]: `check`, `runs`, `show` (the store, offline);
//! - [`cluster`]: `cluster up|status|down`, `image`, `clean`;
//! - [`hosts`]: `hosts sandbox up|down` (stand-in hosts for `--hosts`);
//! - [`report`]: `report` and `serve`;
//! - [`matrix`]: `matrix` (a scenario over releases, modes and seeds);
//! - [`claims`]: `claims` (textbook claims as experiments);
//! - [`shrink`]: `shrink` (a failing run's smallest schedule that still fails);
//! - [`exit`]: the exit codes;
//! - [`app`]: the whole command line, every subcommand.

pub mod app;
pub mod claims;
pub mod cluster;
pub mod exit;
pub mod history;
pub mod hosts;
pub mod matrix;
pub mod report;
pub mod shrink;
pub mod test;
