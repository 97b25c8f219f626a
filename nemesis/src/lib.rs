//! # trial-nemesis
//!
//! Fault actions and their seeded schedules, applied to nodes through the
//! small [`Node`] trait. Knows nodes, addresses, processes and faults; never
//! Kafka's protocol (Kafka-aware targeting is asked of the suite through
//! [`Targets`]).
//!
//! The pieces, in the order a test uses them:
//! - [`options`]: which faults ([`FaultKinds`], `--nemesis partition,kill`)
//!   and their sub-options ([`NemesisOptions`]);
//! - [`schedule`]: the seeded plan ([`Schedule::generate`], JSON, `Display`);
//! - [`play`]: [`run`] plays it on nodes, records `start-*`/`stop-*` ops
//!   and always ends with [`heal`] (`heal_all`, [`HealGuard`]);
//! - [`faults`]: one module per fault kind behind [`FaultBehaviour`], their
//!   registry, and [`requirements()`] (what a run's faults need of a node,
//!   [`Requirements`]);
//! - [`topology`] and [`grudge`]: partitions as "who cannot hear whom";
//! - [`iptables`], [`clock`]: the exact commands run inside nodes;
//! - [`probe`]: connectivity checks from inside nodes, for tests;
//! - [`double`]: a simulated cluster (test double) for tests without Docker.

pub mod clock;
pub mod double;
pub mod error;
pub mod faults;
pub mod grudge;
pub mod heal;
pub mod iptables;
pub mod node;
pub mod options;
pub mod play;
pub mod probe;
pub mod requirements;
pub mod schedule;
pub mod topology;

pub use clock::{measure_offset, FaketimeEnv};
pub use error::{NemesisError, PlanError};
pub use faults::{requirements, FaultBehaviour, LAZYFS_ENV, LAZYFS_TOOL};
pub use grudge::{grudge_allows, tcp_allows, Grudge};
pub use heal::{heal_all, heal_recorded, HealGuard, HealReport, NodeHeal};
pub use node::{
    ExecOutput, NoTargets, Node, NodeError, ProcessRole, ProcessState, StaticTargets, Targets,
    FAKETIME_FILE,
};
pub use options::ms;
pub use options::{
    parse_list, ClockMode, ClockOffset, FaultKind, FaultKinds, NemesisOptions, Target,
};
pub use play::{run, RunReport};
pub use probe::{
    connectivity_matrix, expected_matrix, matrix_mismatches, tcp_connect, tcp_probe, Probe,
};
pub use requirements::Requirements;
pub use schedule::{node_names, Action, Fault, Phase, PlanNodes, Schedule};
pub use topology::Topology;
