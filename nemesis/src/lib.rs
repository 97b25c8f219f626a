//! # trial-nemesis
//!
//! Fault actions and their seeded schedules, applied to nodes through the
//! small [`Node`] trait. Knows nodes, addresses, processes and faults; never
//! Kafka's protocol (Kafka-aware targeting is asked of the suite through
//! [`Targets`]).

pub mod node;

pub use node::{ExecOutput, Node, NodeError, ProcessState, Targets, FAKETIME_FILE};
