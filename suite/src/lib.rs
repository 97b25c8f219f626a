//! # kafka-trial
//!
//! The controller of kafka-trial: cluster lifecycle, clients, workloads,
//! the test runner and the CLI.

pub mod cmd;
pub mod exit;
pub mod report;
pub mod serve;
