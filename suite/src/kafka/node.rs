//! A Kafka node: a [`Host`] of any platform plus the control script that
//! runs the broker (or controller) JVM inside it. It is what the nemesis
//! acts on ([`Node`]): kill, pause and restart go through the script, so
//! they work the same on every platform.

use super::config::NodeRole;
use crate::platform::Host;
use async_trait::async_trait;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;
use trial_nemesis::{ExecOutput, Node, NodeError, ProcessRole, ProcessState};

/// The broker-control script, installed in every node at [`CONTROL`].
/// `start` daemonises the JVM and records its pid; `kill`/`pause`/`resume`
/// signal that pid; `state` prints running, paused or dead.
pub const CONTROL_SCRIPT: &str = include_str!("broker-ctl.sh");
/// Where the control script lives inside a node.
pub const CONTROL: &str = "/opt/kt/bin/broker";
/// The node's `server.properties` (the control script's `CONF`).
pub const SERVER_PROPERTIES: &str = "/opt/kt/server.properties";
/// A ZooKeeper node's configuration (the control script's `ZOOCFG`; its
/// presence makes the node's JVM a ZooKeeper server).
pub const ZOO_CFG: &str = "/opt/kt/zoo.cfg";
/// The log4j2 configuration of the brokers (server.log, state-change.log).
pub const LOG4J2: &str = include_str!("log4j2.properties");
/// Folder of the broker's logs inside a node.
pub const LOGS: &str = "/var/log/kafka";

/// One node of a Kafka cluster.
#[derive(Debug, Clone)]
pub struct KafkaNode {
    pub role: NodeRole,
    pub host: Arc<dyn Host>,
}

impl KafkaNode {
    /// The process that holds this node's role (what "the broker" means to
    /// the cluster's own start-up and recovery).
    pub fn main_process(&self) -> ProcessRole {
        self.processes()[0]
    }

    /// Run a command inside the node, with a timeout.
    pub async fn exec_timeout(&self, argv: &[&str], t: Duration) -> Result<ExecOutput, NodeError> {
        self.host.exec(argv, t).await
    }

    /// The JVM of this node plays every role it has (KRaft: broker,
    /// controller, or both in one process; a ZooKeeper node: its ZooKeeper
    /// server); asking for another is an error.
    fn check(&self, p: ProcessRole) -> Result<(), NodeError> {
        let ok = match p {
            ProcessRole::Broker => self.role.broker,
            ProcessRole::Controller => self.role.controller,
            ProcessRole::ZooKeeper => self.role.zookeeper,
        };
        if ok {
            Ok(())
        } else {
            Err(NodeError::Other {
                node: self.role.name.clone(),
                msg: format!("runs no {p} process"),
            })
        }
    }

    async fn control(&self, verb: &str) -> Result<String, NodeError> {
        self.control_within(verb, Duration::from_secs(30)).await
    }

    async fn control_within(&self, verb: &str, t: Duration) -> Result<String, NodeError> {
        let out = self.exec_timeout(&[CONTROL, verb], t).await?;
        if !out.success() {
            return Err(NodeError::Exec {
                node: self.role.name.clone(),
                cmd: format!("broker {verb}"),
                msg: format!("exit {}: {}{}", out.code, out.stdout, out.stderr),
            });
        }
        Ok(out.stdout.trim().to_string())
    }

    /// The last `lines` of a log file of the node (for error messages).
    pub async fn log_tail(&self, file: &str, lines: usize) -> String {
        let path = format!("{LOGS}/{file}");
        match self
            .exec_timeout(
                &["tail", "-n", &lines.to_string(), &path],
                Duration::from_secs(10),
            )
            .await
        {
            Ok(o) => o.stdout,
            Err(e) => format!("({path} unreadable: {e})"),
        }
    }
}

#[async_trait]
impl Node for KafkaNode {
    fn name(&self) -> &str {
        &self.role.name
    }
    fn ip(&self) -> IpAddr {
        self.host.ip()
    }
    async fn exec(&self, argv: &[&str]) -> Result<ExecOutput, NodeError> {
        self.exec_timeout(argv, Duration::from_secs(60)).await
    }
    /// One process per node: the broker's JVM, the controller's on a
    /// controller-only node, the ZooKeeper server's on a ZooKeeper node.
    fn processes(&self) -> Vec<ProcessRole> {
        if self.role.broker {
            vec![ProcessRole::Broker]
        } else if self.role.zookeeper {
            vec![ProcessRole::ZooKeeper]
        } else {
            vec![ProcessRole::Controller]
        }
    }
    async fn kill(&self, p: ProcessRole) -> Result<(), NodeError> {
        self.check(p)?;
        self.control("kill").await.map(|_| ())
    }
    async fn start(&self, p: ProcessRole) -> Result<(), NodeError> {
        self.check(p)?;
        self.control("start").await.map(|_| ())
    }
    async fn pause(&self, p: ProcessRole) -> Result<(), NodeError> {
        self.check(p)?;
        self.control("pause").await.map(|_| ())
    }
    async fn resume(&self, p: ProcessRole) -> Result<(), NodeError> {
        self.check(p)?;
        self.control("resume").await.map(|_| ())
    }
    /// `broker drop-unfsynced`: the control script refuses a live broker,
    /// runs `kt-lazyfs drop` (which waits for the filesystem daemon to put
    /// the data back to its durable state: bounded by the tool at 60 s),
    /// remounts, and prints the drop report as its last line.
    async fn drop_unfsynced(&self) -> Result<serde_json::Value, NodeError> {
        let out = self
            .control_within("drop-unfsynced", Duration::from_secs(90))
            .await?;
        let last = out
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("");
        serde_json::from_str(last).map_err(|e| NodeError::Other {
            node: self.role.name.clone(),
            msg: format!("drop-unfsynced printed no JSON report ({e}): {out:?}"),
        })
    }
    async fn state(&self, p: ProcessRole) -> Result<ProcessState, NodeError> {
        self.check(p)?;
        match self.control("state").await?.as_str() {
            "running" => Ok(ProcessState::Running),
            "paused" => Ok(ProcessState::Paused),
            _ => Ok(ProcessState::Dead),
        }
    }
}
