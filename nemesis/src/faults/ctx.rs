//! What a fault may use while it runs ([`FaultCtx`]) or heals
//! ([`NodeHealing`]), and the helpers every kind shares: timed steps,
//! commands on many nodes at once, target resolution.

use crate::heal::{NodeHeal, HEAL_STEP_TIMEOUT};
use crate::node::{ExecOutput, Node, NodeError, ProcessRole, Targets};
use crate::options::{FaultKind, Target};
use crate::schedule::choose_nodes;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinSet;

/// Longest wait for one command or signal of an action (a broker start may
/// take a while; a hung `docker exec` must not hang the test).
pub const STEP_TIMEOUT: Duration = Duration::from_secs(60);

/// Processes this run killed or paused and has not restarted or resumed,
/// shared by the kill and pause faults (a dead process is not paused; a
/// killed one is no longer paused).
#[derive(Debug, Default)]
pub(crate) struct ProcessBook {
    pub killed: BTreeSet<(String, ProcessRole)>,
    pub paused: BTreeSet<(String, ProcessRole)>,
}

/// The run as a fault sees it while it starts or stops.
pub struct FaultCtx<'a> {
    pub(crate) nodes: &'a BTreeMap<String, Arc<dyn Node>>,
    pub(crate) names: &'a [String],
    /// The members of the ZooKeeper ensemble (the schedule's `zookeeper`;
    /// empty in KRaft mode).
    pub(crate) zookeeper: &'a [String],
    pub(crate) targets: &'a dyn Targets,
    pub(crate) cancel: &'a mut watch::Receiver<bool>,
    pub(crate) processes: &'a mut ProcessBook,
}

/// Heal's work on one node: the report, and which shared mechanisms (the
/// iptables chain, the processes) were already healed or verified by a
/// kind that shares them.
#[derive(Debug, Default)]
pub struct NodeHealing {
    pub report: NodeHeal,
    /// Kinds found in force and undone on this node.
    pub healed: BTreeSet<FaultKind>,
    done: BTreeSet<&'static str>,
}

impl NodeHealing {
    /// True the first time `what` is asked on this node (so partition and
    /// loss flush their shared chain once, kill and pause check processes
    /// once).
    pub fn first(&mut self, what: &'static str) -> bool {
        self.done.insert(what)
    }
}

/// One heal step, bounded by [`HEAL_STEP_TIMEOUT`].
pub(crate) async fn heal_step<T, F>(what: &str, f: F) -> Result<T, String>
where
    F: Future<Output = Result<T, NodeError>>,
{
    match tokio::time::timeout(HEAL_STEP_TIMEOUT, f).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(format!("{what}: {e}")),
        Err(_) => Err(format!("{what}: timed out after {HEAL_STEP_TIMEOUT:?}")),
    }
}

/// A command during heal, bounded by [`HEAL_STEP_TIMEOUT`].
pub(crate) async fn heal_exec(node: &dyn Node, argv: &[String]) -> Result<ExecOutput, String> {
    let a: Vec<&str> = argv.iter().map(String::as_str).collect();
    heal_step(&argv.join(" "), node.exec(&a)).await
}

/// One action step, bounded by [`STEP_TIMEOUT`].
pub(crate) async fn timed<T>(
    what: String,
    f: impl Future<Output = Result<T, NodeError>>,
) -> Result<T, String> {
    match tokio::time::timeout(STEP_TIMEOUT, f).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!("{what}: timed out after {STEP_TIMEOUT:?}")),
    }
}

/// Run a command; a non-zero exit is an error.
pub(crate) async fn exec_ok(node: &dyn Node, argv: &[String]) -> Result<(), String> {
    let a: Vec<&str> = argv.iter().map(String::as_str).collect();
    let out = timed(
        format!("{}: {}", node.name(), argv.join(" ")),
        node.exec(&a),
    )
    .await?;
    if out.success() {
        Ok(())
    } else {
        Err(format!(
            "{}: {}: exit {}: {}",
            node.name(),
            argv.join(" "),
            out.code,
            out.stderr.trim()
        ))
    }
}

pub(crate) fn names_json(s: &BTreeSet<String>) -> Value {
    json!(s.iter().collect::<Vec<_>>())
}

/// Add `extra`'s fields to `value` (both objects).
pub(crate) fn merge(value: &mut Value, extra: Value) {
    if let (Value::Object(m), Value::Object(e)) = (value, extra) {
        m.extend(e);
    }
}

/// What a step did on each node: the nodes it succeeded on, the errors
/// (the op's `error`), and each node's reason where it failed (the op
/// value's `failed`).
#[derive(Debug, Default)]
pub(crate) struct PerNode {
    pub ok: BTreeSet<String>,
    pub errors: Vec<String>,
    pub failed: BTreeMap<String, String>,
}

impl PerNode {
    /// Record `node`'s failure.
    pub fn fail(&mut self, node: &str, e: String) {
        self.failed
            .entry(node.to_string())
            .and_modify(|r| {
                r.push_str("; ");
                r.push_str(&e);
            })
            .or_insert_with(|| e.clone());
        self.errors.push(e);
    }

    /// Add `failed` to `value` (an object) when a node failed: every
    /// node-level step's failure is in the history, by node.
    pub fn record(&self, value: &mut Value) {
        record_failed(value, &self.failed);
    }
}

/// `value["failed"] = {node: reason}` unless `failed` is empty.
pub(crate) fn record_failed(value: &mut Value, failed: &BTreeMap<String, String>) {
    if !failed.is_empty() {
        if let Value::Object(m) = value {
            m.insert("failed".into(), json!(failed));
        }
    }
}

/// The nodes that succeeded, the errors, and each failed node's reason.
pub(crate) fn split(res: Vec<(String, Result<(), String>)>) -> PerNode {
    let mut out = PerNode::default();
    for (n, r) in res {
        match r {
            Ok(()) => {
                out.ok.insert(n);
            }
            Err(e) => out.fail(&n, e),
        }
    }
    out
}

impl FaultCtx<'_> {
    /// The run's node names, in the order given.
    pub fn names(&self) -> &[String] {
        self.names
    }

    /// The members of the ZooKeeper ensemble (empty in KRaft mode).
    pub fn zookeeper(&self) -> &[String] {
        self.zookeeper
    }

    /// The run's nodes that are not members of the ensemble (the brokers,
    /// with any dedicated KRaft controllers), in the order given.
    pub fn brokers(&self) -> Vec<String> {
        self.names
            .iter()
            .filter(|n| !self.zookeeper.contains(n))
            .cloned()
            .collect()
    }

    /// Resolves when the run is cancelled (never if the sender is gone).
    pub(crate) async fn cancelled(&mut self) {
        crate::play::cancelled(self.cancel).await
    }

    pub(crate) fn ip_of(&self, name: &str) -> Result<std::net::IpAddr, String> {
        self.nodes
            .get(name)
            .map(|n| n.ip())
            .ok_or_else(|| format!("unknown node {name:?}"))
    }

    /// Run `f` on each named node concurrently; results in name order.
    pub(crate) async fn on_each<T, F, Fut>(
        &self,
        which: &BTreeSet<String>,
        f: F,
    ) -> Vec<(String, Result<T, String>)>
    where
        T: Send + 'static,
        F: Fn(Arc<dyn Node>) -> Fut,
        Fut: Future<Output = Result<T, String>> + Send + 'static,
    {
        let mut set = JoinSet::new();
        for name in which {
            let name = name.clone();
            match self.nodes.get(&name) {
                Some(n) => {
                    let fut = f(n.clone());
                    set.spawn(async move { (name, fut.await) });
                }
                None => {
                    set.spawn(async move {
                        let e = format!("unknown node {name:?}");
                        (name, Err(e))
                    });
                }
            }
        }
        let mut out = Vec::new();
        while let Some(j) = set.join_next().await {
            match j {
                Ok(r) => out.push(r),
                Err(e) => out.push(("?".to_string(), Err(format!("task failed: {e}")))),
            }
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    /// Resolve a target to node names, with a description of how (e.g.
    /// which partition's replicas). Names that are not nodes of this run
    /// (a `Targets` answer gone wrong) make the action fail.
    pub(crate) async fn resolve(
        &self,
        target: Target,
        planned: &Option<BTreeSet<String>>,
        seed: u64,
    ) -> Result<(BTreeSet<String>, Value), String> {
        let (ns, how) = self.resolve_names(target, planned, seed).await?;
        let unknown: Vec<&String> = ns.iter().filter(|n| !self.nodes.contains_key(*n)).collect();
        if !unknown.is_empty() {
            return Err(format!(
                "target {target} resolved to {unknown:?}, not nodes of this run ({})",
                self.names.join(",")
            ));
        }
        Ok((ns, how))
    }

    async fn resolve_names(
        &self,
        target: Target,
        planned: &Option<BTreeSet<String>>,
        seed: u64,
    ) -> Result<(BTreeSet<String>, Value), String> {
        if let Some(ns) = planned {
            return Ok((ns.clone(), Value::Null));
        }
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        match target {
            Target::Leaders => {
                let leaders =
                    timed("partition leaders".into(), self.targets.partition_leaders()).await?;
                let ns: BTreeSet<String> = leaders.values().cloned().collect();
                if ns.is_empty() {
                    return Err("the test topic has no known leaders".into());
                }
                Ok((ns, json!({ "leaders": leaders })))
            }
            Target::Controller => {
                match timed("active controller".into(), self.targets.active_controller()).await? {
                    Some(c) => Ok((BTreeSet::from([c]), Value::Null)),
                    None => Err("no active controller known".into()),
                }
            }
            Target::Coordinator => {
                let coordinators = timed(
                    "transaction coordinators".into(),
                    self.targets.transaction_coordinators(),
                )
                .await?;
                let ids: Vec<(&String, &String)> = coordinators.iter().collect();
                let (id, node) = ids
                    .choose(&mut rng)
                    .ok_or("the workload has no transactional.id with a known coordinator")?;
                Ok((
                    BTreeSet::from([(*node).clone()]),
                    json!({ "transactional_id": id, "coordinator": node }),
                ))
            }
            Target::GroupCoordinator => {
                let coordinators = timed(
                    "group coordinators".into(),
                    self.targets.group_coordinators(),
                )
                .await?;
                let groups: Vec<(&String, &String)> = coordinators.iter().collect();
                let (group, node) = groups
                    .choose(&mut rng)
                    .ok_or("the workload has no consumer group with a known coordinator")?;
                Ok((
                    BTreeSet::from([(*node).clone()]),
                    json!({ "group": group, "coordinator": node }),
                ))
            }
            Target::ReplicasButOne => {
                let replicas = timed(
                    "partition replicas".into(),
                    self.targets.partition_replicas(),
                )
                .await?;
                let candidates: Vec<(&i32, &Vec<String>)> =
                    replicas.iter().filter(|(_, r)| r.len() >= 2).collect();
                let (p, r) = candidates
                    .choose(&mut rng)
                    .ok_or("no partition of the test topic has two or more replicas")?;
                let survivor = r[rng.gen_range(0..r.len())].clone();
                let ns: BTreeSet<String> = r.iter().filter(|x| **x != survivor).cloned().collect();
                Ok((
                    ns,
                    json!({ "partition": p, "replicas": r, "survivor": survivor }),
                ))
            }
            Target::ZkLeader => {
                if self.zookeeper.is_empty() {
                    return Err(no_ensemble(target));
                }
                let leader = timed("ZooKeeper leader".into(), self.targets.zookeeper_leader())
                    .await?
                    .ok_or("no ZooKeeper leader known")?;
                if !self.zookeeper.contains(&leader) {
                    return Err(format!(
                        "the ZooKeeper leader {leader:?} is not a member of this run's ensemble ({})",
                        self.zookeeper.join(",")
                    ));
                }
                Ok((BTreeSet::from([leader]), Value::Null))
            }
            fixed => {
                let pool = if fixed.is_zookeeper() {
                    self.zookeeper.to_vec()
                } else {
                    self.brokers()
                };
                if pool.is_empty() {
                    return Err(no_ensemble(target));
                }
                let n = fixed.count(pool.len()).unwrap_or(1);
                Ok((choose_nodes(&pool, n, &mut rng), Value::Null))
            }
        }
    }
}

/// A `zk-*` target in a run without an ensemble (a hand-made plan: the
/// planner refuses it).
fn no_ensemble(target: Target) -> String {
    format!("target {target} names ZooKeeper servers, and this run has no ZooKeeper ensemble")
}
