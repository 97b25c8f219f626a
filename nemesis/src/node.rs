//! How the nemesis reaches a node: a small trait that `suite` implements
//! for its containers (and a test may implement for anything else).
//!
//! A node is a machine (a container with its own network namespace) that
//! runs one or more *processes*, each named by its [`ProcessRole`]: a
//! KRaft node runs one broker (combined with its controller); in ZooKeeper
//! mode a broker node runs a broker and a member of the ensemble a
//! ZooKeeper server (a node may also run both). Killing, pausing and
//! restarting act on one process; the machine, its address and its iptables
//! rules stay.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::{self, Debug};
use std::net::IpAddr;
use std::str::FromStr;

/// The output of a command run inside a node.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExecOutput {
    pub code: i64,
    pub stdout: String,
    pub stderr: String,
}

impl ExecOutput {
    pub fn success(&self) -> bool {
        self.code == 0
    }
}

/// Which process of a node a process fault (kill, pause) or heal acts on.
/// Serialised kebab-case: `broker`, `controller`, `zookeeper`.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum ProcessRole {
    /// The Kafka broker (in KRaft combined mode, also the controller).
    #[default]
    Broker,
    /// A dedicated KRaft controller process.
    Controller,
    /// A ZooKeeper server (ZooKeeper-mode clusters).
    #[serde(rename = "zookeeper")]
    ZooKeeper,
}

impl ProcessRole {
    pub const ALL: [ProcessRole; 3] = [
        ProcessRole::Broker,
        ProcessRole::Controller,
        ProcessRole::ZooKeeper,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ProcessRole::Broker => "broker",
            ProcessRole::Controller => "controller",
            ProcessRole::ZooKeeper => "zookeeper",
        }
    }

    /// The default role (for `skip_serializing_if`: a plan that does not
    /// name its process hits the broker, and its JSON does not say so).
    pub fn is_broker(&self) -> bool {
        *self == ProcessRole::Broker
    }
}

impl fmt::Display for ProcessRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ProcessRole {
    type Err = crate::error::PlanError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ProcessRole::ALL
            .into_iter()
            .find(|r| r.name() == s.trim())
            .ok_or_else(|| crate::error::PlanError::Unknown {
                what: "process role",
                name: s.to_string(),
                expected: ProcessRole::ALL.map(ProcessRole::name).join(", "),
            })
    }
}

/// The state of one process of a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProcessState {
    Running,
    Paused,
    Dead,
}

#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    #[error("node {node}: command {cmd:?} failed: {msg}")]
    Exec {
        node: String,
        cmd: String,
        msg: String,
    },
    #[error("node {node}: {msg}")]
    Other { node: String, msg: String },
}

/// A node the nemesis can act on.
#[async_trait]
pub trait Node: Send + Sync + Debug {
    /// `n1`, `n2`, …: also its hostname.
    fn name(&self) -> &str;
    /// The address peers use to reach it.
    fn ip(&self) -> IpAddr;
    /// Run a command inside the node (as root) and wait for it.
    async fn exec(&self, argv: &[&str]) -> Result<ExecOutput, NodeError>;
    /// The processes this node runs, each of which heal restarts or resumes
    /// and verifies. Default: one broker.
    fn processes(&self) -> Vec<ProcessRole> {
        vec![ProcessRole::Broker]
    }
    /// SIGKILL the process (the machine stays up).
    async fn kill(&self, process: ProcessRole) -> Result<(), NodeError>;
    /// Start the process again on the same data; returns once it is
    /// launched (not necessarily serving).
    async fn start(&self, process: ProcessRole) -> Result<(), NodeError>;
    /// SIGSTOP the process.
    async fn pause(&self, process: ProcessRole) -> Result<(), NodeError>;
    /// SIGCONT the process.
    async fn resume(&self, process: ProcessRole) -> Result<(), NodeError>;
    /// Whether the process runs, is stopped, or is gone.
    async fn state(&self, process: ProcessRole) -> Result<ProcessState, NodeError>;
    /// The fault kinds this node can carry, if not every kind: heal and
    /// verify skip the others (a broker reached only through the user's
    /// hooks has no iptables or clock file of ours to look at). Default:
    /// every kind.
    fn fault_kinds(&self) -> Option<Vec<crate::options::FaultKind>> {
        None
    }
    /// The power loss of the node's disk: put the filesystem under the
    /// broker's data back to what was last fsynced (data, lengths, names),
    /// and return the drop report (files and bytes dropped; the suite's is
    /// `kt-lazyfs drop`'s JSON line). The broker must be dead: a live one
    /// is refused. Nodes that do not run on such a filesystem say so (the
    /// default).
    async fn drop_unfsynced(&self) -> Result<serde_json::Value, NodeError> {
        Err(NodeError::Other {
            node: self.name().to_string(),
            msg: "this node cannot drop un-fsynced writes (no lazyfs under its data)".into(),
        })
    }
}

/// What the nemesis may ask of the suite about Kafka, to aim its faults.
/// The nemesis never speaks Kafka's protocol itself.
#[async_trait]
pub trait Targets: Send + Sync {
    /// Leader node name of each partition of the test topic.
    async fn partition_leaders(&self) -> Result<BTreeMap<i32, String>, NodeError>;
    /// Replica node names of each partition of the test topic (leader first).
    async fn partition_replicas(&self) -> Result<BTreeMap<i32, Vec<String>>, NodeError>;
    /// The active KRaft controller's node name, if known.
    async fn active_controller(&self) -> Result<Option<String>, NodeError>;
    /// The transaction coordinator's node name of each `transactional.id`
    /// the workload uses (the leader of its `__transaction_state`
    /// partition). Workloads without transactions have none: the default
    /// answer is an error, recorded in the fault's `info` op.
    async fn transaction_coordinators(&self) -> Result<BTreeMap<String, String>, NodeError> {
        Err(NodeError::Other {
            node: "-".into(),
            msg: "no transaction coordinators: the workload has no transactional.id".into(),
        })
    }
    /// The coordinator's node name of each consumer group the workload
    /// uses (the leader of the group's `__consumer_offsets` partition),
    /// asked when a `group-coordinator` target or topology is applied.
    /// Workloads without groups have none: the default answer is an
    /// error, recorded in the fault's `info` op.
    async fn group_coordinators(&self) -> Result<BTreeMap<String, String>, NodeError> {
        Err(NodeError::Other {
            node: "-".into(),
            msg: "no group coordinators: the workload has no consumer group".into(),
        })
    }
    /// The node name of the ZooKeeper ensemble's leader (the standalone
    /// server of an ensemble of one), if one is known; asked when a
    /// `zk-leader` target or topology is applied. Clusters without an
    /// ensemble (KRaft) have none: the default answer is an error,
    /// recorded in the fault's `info` op.
    async fn zookeeper_leader(&self) -> Result<Option<String>, NodeError> {
        Err(NodeError::Other {
            node: "-".into(),
            msg: "no ZooKeeper leader: the cluster has no ZooKeeper ensemble".into(),
        })
    }
}

/// A [`Targets`] that knows nothing: every Kafka-aware target is an error
/// (recorded in the fault's `info` op). For tests and fault sets without
/// `leaders`, `controller`, `replicas-but-one` or `primaries`.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoTargets;

#[async_trait]
impl Targets for NoTargets {
    async fn partition_leaders(&self) -> Result<BTreeMap<i32, String>, NodeError> {
        Err(no_targets())
    }
    async fn partition_replicas(&self) -> Result<BTreeMap<i32, Vec<String>>, NodeError> {
        Err(no_targets())
    }
    async fn active_controller(&self) -> Result<Option<String>, NodeError> {
        Err(no_targets())
    }
}

fn no_targets() -> NodeError {
    NodeError::Other {
        node: "-".into(),
        msg: "no Kafka targeting available (NoTargets)".into(),
    }
}

/// Fixed answers to the [`Targets`] questions (tests, or a suite that
/// computed them itself).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StaticTargets {
    pub leaders: BTreeMap<i32, String>,
    pub replicas: BTreeMap<i32, Vec<String>>,
    pub controller: Option<String>,
    /// `transactional.id` → coordinator node name.
    pub coordinators: BTreeMap<String, String>,
    /// Consumer group → coordinator node name.
    pub group_coordinators: BTreeMap<String, String>,
    /// The ZooKeeper ensemble's leader.
    pub zookeeper_leader: Option<String>,
}

#[async_trait]
impl Targets for StaticTargets {
    async fn partition_leaders(&self) -> Result<BTreeMap<i32, String>, NodeError> {
        Ok(self.leaders.clone())
    }
    async fn partition_replicas(&self) -> Result<BTreeMap<i32, Vec<String>>, NodeError> {
        Ok(self.replicas.clone())
    }
    async fn active_controller(&self) -> Result<Option<String>, NodeError> {
        Ok(self.controller.clone())
    }
    async fn transaction_coordinators(&self) -> Result<BTreeMap<String, String>, NodeError> {
        Ok(self.coordinators.clone())
    }
    async fn group_coordinators(&self) -> Result<BTreeMap<String, String>, NodeError> {
        Ok(self.group_coordinators.clone())
    }
    async fn zookeeper_leader(&self) -> Result<Option<String>, NodeError> {
        Ok(self.zookeeper_leader.clone())
    }
}

/// Inside every node, libfaketime reads the clock offset from this file
/// (brokers run with `LD_PRELOAD=libfaketime` and a short cache duration);
/// the clock nemesis writes offsets such as `+30s` or `-2m` into it, and
/// heal writes `+0`.
///
/// The suite launches each broker with (see [`crate::clock::FaketimeEnv`],
/// which the nemesis uses to *measure* a node's faked clock):
/// `LD_PRELOAD=/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1`
/// (Debian's `libfaketime`), `FAKETIME_TIMESTAMP_FILE=/etc/faketimerc`,
/// `FAKETIME_NO_CACHE=1` (or a short `FAKETIME_CACHE_DURATION`), and for the
/// JVM `FAKETIME_DONT_FAKE_MONOTONIC=1`; never `FAKETIME` itself, which
/// would take precedence over the file. The file should exist with `+0`
/// from the start.
pub const FAKETIME_FILE: &str = "/etc/faketimerc";
