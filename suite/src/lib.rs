//! # kafka-trial
//!
//! The controller of kafka-trial: cluster lifecycle, clients, workloads,
//! the test runner and the CLI.

pub mod admin;
pub mod client;
pub mod cluster;
pub mod cmd;
pub mod docker;
pub mod exit;
pub mod image;
pub mod kafka_dist;
pub mod observer;
pub mod report;
pub mod runner;
pub mod serve;
pub mod testing;
pub mod workload;
