//! Exit codes of the `kafka-trial` binary (DESIGN.md).

use std::process::ExitCode;

/// The history is valid.
pub const VALID: u8 = 0;
/// Anomalies were found.
pub const ANOMALIES: u8 = 1;
/// The checkers could not decide.
pub const UNKNOWN: u8 = 2;
/// The harness or its input failed (no cluster, bad options, bad file).
pub const HARNESS: u8 = 3;

/// An error that should end the program with exit code 3 and a message.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct HarnessError(pub String);

pub fn code(c: u8) -> ExitCode {
    ExitCode::from(c)
}
