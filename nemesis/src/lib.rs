//! # trial-nemesis
//!
//! Fault actions and their seeded schedules, applied to nodes through the
//! small [`Node`] trait. Knows nodes, addresses, processes and faults; never
//! Kafka's protocol (Kafka-aware targeting is asked of the suite through
//! [`Targets`]).

pub mod error;
pub mod grudge;
pub mod node;
pub mod options;
pub mod schedule;
pub mod topology;

pub use error::{NemesisError, PlanError};
pub use grudge::{grudge_allows, tcp_allows, Grudge};
pub use node::{ExecOutput, Node, NodeError, ProcessState, Targets, FAKETIME_FILE};
pub use options::{ClockMode, ClockOffset, FaultKind, FaultKinds, NemesisOptions, Target};
pub use schedule::{node_names, Action, Fault, Phase, Schedule};
pub use topology::Topology;
