//! Exit codes of the `kafka-trial` binary (DESIGN.md): defined once, in
//! `trial_checkers::verdict::exit_code`, and re-exported here.

use std::process::ExitCode;

pub use trial_checkers::exit_code::{ANOMALIES, HARNESS, UNKNOWN, VALID};

/// An error that should end the program with exit code 3 and a message.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct HarnessError(pub String);

pub fn code(c: u8) -> ExitCode {
    ExitCode::from(c)
}
