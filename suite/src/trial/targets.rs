//! Kafka-aware targeting for the nemesis (partition leaders, replicas,
//! the active controller, transaction and group coordinators), answered from the
//! cluster's metadata; the ZooKeeper ensemble's leader, from its members
//! (`srvr`).

use crate::kafka::coordinator::{self, CoordinatorKind};
use crate::kafka::node::KafkaNode;
use crate::kafka::{admin, txn, zookeeper};
use async_trait::async_trait;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use trial_nemesis::{NodeError, Targets};

/// Kafka-aware targeting for the nemesis, answered from the metadata.
pub(crate) struct ClusterTargets {
    pub bootstrap: String,
    pub topic: String,
    pub names: BTreeMap<i32, String>,
    pub nodes: Vec<Arc<KafkaNode>>,
    /// The workload's `transactional.id`s (empty without transactions).
    pub transactional_ids: Vec<String>,
    /// The workload's consumer groups (empty without one).
    pub groups: Vec<String>,
    /// A cluster the user runs (no `nodes`): its brokers (id, address),
    /// asked for the active controller.
    pub brokers: Vec<(i32, String)>,
}

#[async_trait]
impl Targets for ClusterTargets {
    async fn partition_leaders(&self) -> Result<BTreeMap<i32, String>, NodeError> {
        let parts = self.partitions().await?;
        Ok(parts
            .iter()
            .filter_map(|p| self.names.get(&p.leader).map(|n| (p.id, n.clone())))
            .collect())
    }
    async fn partition_replicas(&self) -> Result<BTreeMap<i32, Vec<String>>, NodeError> {
        let parts = self.partitions().await?;
        Ok(parts
            .iter()
            .map(|p| {
                let mut v: Vec<String> = vec![];
                if let Some(l) = self.names.get(&p.leader) {
                    v.push(l.clone());
                }
                for r in &p.replicas {
                    if let Some(n) = self.names.get(r) {
                        if !v.contains(n) {
                            v.push(n.clone());
                        }
                    }
                }
                (p.id, v)
            })
            .collect())
    }
    async fn active_controller(&self) -> Result<Option<String>, NodeError> {
        if self.nodes.is_empty() {
            let c = crate::external::readback::active_controller(&self.brokers).await;
            return Ok(c.and_then(|c| self.names.get(&c).cloned()));
        }
        Ok(zookeeper::active_controller(&self.nodes).await)
    }
    async fn zookeeper_leader(&self) -> Result<Option<String>, NodeError> {
        if !self.nodes.iter().any(|n| n.role.zookeeper) {
            return Err(NodeError::Other {
                node: "-".into(),
                msg: "no ZooKeeper leader: the cluster has no ZooKeeper ensemble".into(),
            });
        }
        Ok(zookeeper::leader_of(&self.nodes).await)
    }
    async fn transaction_coordinators(&self) -> Result<BTreeMap<String, String>, NodeError> {
        if self.transactional_ids.is_empty() {
            return Err(NodeError::Other {
                node: "-".into(),
                msg: "no transaction coordinators: the workload has no transactional.id".into(),
            });
        }
        let c = txn::coordinators(
            &self.bootstrap,
            &self.transactional_ids,
            Duration::from_secs(5),
        )
        .await
        .map_err(|e| NodeError::Other {
            node: "-".into(),
            msg: format!("transaction coordinators: {e:#}"),
        })?;
        Ok(c.into_iter()
            .filter_map(|(id, b)| self.names.get(&b).map(|n| (id, n.clone())))
            .collect())
    }
    /// Each group's coordinator node name: the leader of its
    /// `__consumer_offsets` partition, read from the metadata when asked
    /// (so a coordinator that moved is the new one).
    async fn group_coordinators(&self) -> Result<BTreeMap<String, String>, NodeError> {
        if self.groups.is_empty() {
            return Err(NodeError::Other {
                node: "-".into(),
                msg: "no group coordinators: the workload has no consumer group".into(),
            });
        }
        let c = coordinator::coordinators(
            &self.bootstrap,
            CoordinatorKind::Group,
            &self.groups,
            Duration::from_secs(5),
        )
        .await
        .map_err(|e| NodeError::Other {
            node: "-".into(),
            msg: format!("group coordinators: {e:#}"),
        })?;
        Ok(c.into_iter()
            .filter_map(|(g, b)| self.names.get(&b).map(|n| (g, n.clone())))
            .collect())
    }
}

impl ClusterTargets {
    async fn partitions(&self) -> Result<Vec<admin::PartitionInfo>, NodeError> {
        let md = admin::metadata(&self.bootstrap, Some(&self.topic), Duration::from_secs(5))
            .await
            .map_err(|e| NodeError::Other {
                node: "-".into(),
                msg: format!("metadata: {e:#}"),
            })?;
        md.topics
            .get(&self.topic)
            .cloned()
            .ok_or_else(|| NodeError::Other {
                node: "-".into(),
                msg: format!("topic {} not in the metadata", self.topic),
            })
    }
}
