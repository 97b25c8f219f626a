//! CLI subcommands: each module has its clap args and a `run`.

pub mod cluster;
pub mod history;
pub mod report;
pub mod test;
