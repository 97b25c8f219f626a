//! Where nodes come from: a [`Platform`] provisions and tears down the
//! machines a cluster runs on, and each machine is a [`Host`] that can run
//! a command, receive a file and give one back (Jepsen's `Remote`).
//!
//! The Kafka layer (`crate::kafka`, `crate::cluster`) never knows which
//! platform it runs on: it asks for nodes with a [`NodeRequest`] (name,
//! what the faults of the run require of a node, folders to share) and then
//! only execs, uploads and downloads. Docker ([`docker`]) is the default
//! platform; [`ssh`] runs the nodes on the user's machines (`--hosts`).
//!
//! Must never: know Kafka's configuration or protocol, or decide faults.

pub mod docker;
pub mod ssh;

use anyhow::Result;
use async_trait::async_trait;
use std::fmt::Debug;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use trial_nemesis::{ExecOutput, NodeError};

/// A folder (or a single file) of the controller's machine that a node sees at `node_path`
/// (Docker: a bind mount; a remote platform copies it over).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shared {
    pub host_path: PathBuf,
    pub node_path: String,
    pub read_only: bool,
}

/// What one node must be: its name (also its hostname), what the faults of
/// the run require of it, its environment and shared folders.
#[derive(Debug, Clone, Default)]
pub struct NodeRequest {
    pub name: String,
    /// Linux capabilities the run's faults need (e.g. `NET_ADMIN`).
    pub capabilities: Vec<String>,
    /// Devices the run's faults need (e.g. `/dev/fuse`).
    pub devices: Vec<String>,
    /// Packages the machine must have (checked where the platform can).
    pub packages: Vec<String>,
    /// Environment of the node's processes.
    pub env: Vec<(String, String)>,
    pub shared: Vec<Shared>,
    /// Labels for the machine where the platform has them (Docker: the
    /// container's and its network's, e.g. the run folder a trial's
    /// cluster serves; see `owner`).
    pub labels: Vec<(String, String)>,
}

/// One machine of a cluster.
#[async_trait]
pub trait Host: Send + Sync + Debug {
    /// `n1`, `n2`, …: also its hostname.
    fn name(&self) -> &str;
    /// The address peers and clients use to reach it.
    fn ip(&self) -> IpAddr;
    /// Run a command as root on the machine and wait (at most `timeout`).
    async fn exec(&self, argv: &[&str], timeout: Duration) -> Result<ExecOutput, NodeError>;
    /// Put the bytes `contents` into the file `path` on the machine
    /// (mode 0755 if `executable`), creating its folder.
    async fn upload(&self, contents: &[u8], path: &str, executable: bool) -> Result<()>;
    /// Copy the file `path` on the machine, or the regular files of the
    /// folder `path`, into the folder `dest` (created); returns how many
    /// files were copied.
    async fn download(&self, path: &str, dest: &Path) -> Result<usize>;
}

/// A source of machines for clusters.
#[async_trait]
pub trait Platform: Send + Sync + Debug {
    /// `docker`, `ssh`, …
    fn name(&self) -> &'static str;
    /// Make the machines of cluster `cluster`, in the order asked; on
    /// error, whatever was made is torn down by [`Platform::teardown`].
    async fn provision(&self, cluster: &str, nodes: &[NodeRequest]) -> Result<Vec<Arc<dyn Host>>>;
    /// Remove every machine and network of cluster `cluster` (idempotent).
    async fn teardown(&self, cluster: &str) -> Result<()>;
    /// What the platform records of a run (the SSH platform: each host's
    /// preflight facts and bytes uploaded; written as the run's
    /// `hosts.json`). None: nothing to record.
    fn report(&self) -> Option<serde_json::Value> {
        None
    }
}
