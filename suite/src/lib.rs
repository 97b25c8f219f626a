//! # kafka-trial
//!
//! The controller of kafka-trial: cluster lifecycle, clients, workloads,
//! the test runner and the CLI.
