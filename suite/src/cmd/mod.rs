//! CLI subcommands: each module has its clap args and a `run`.

pub mod history;
pub mod report;
