//! Scripted nemeses: a fixed sequence of faults whose targets ("the leader
//! of partition 0", "its followers") are resolved once the topic exists —
//! deterministic scenarios such as "pause the followers, kill the leader".

use crate::kafka::admin::PartitionInfo;
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;
use trial_histories::serde_duration::ms;
use trial_nemesis::{
    Action, Fault, FaultKind, NemesisOptions, Phase, ProcessRole, Schedule, Target, Topology,
};

/// ScriptTarget a scripted fault hits, resolved once the topic exists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ScriptTarget {
    /// The leader of a partition of the test topic.
    LeaderOf(i32),
    /// The replicas of a partition other than its leader.
    FollowersOf(i32),
    /// Named nodes.
    Nodes(Vec<String>),
    /// The ZooKeeper ensemble's leader at the moment the step starts
    /// (asked of the ensemble then: `zk-leader`); kill and pause hit its
    /// ZooKeeper process, isolate cuts it from the ensemble and the
    /// brokers. ZooKeeper mode only.
    ZookeeperLeader,
}

impl ScriptFault {
    /// The nemesis fault kind this step plays.
    pub fn kind(self) -> FaultKind {
        match self {
            ScriptFault::Kill => FaultKind::Kill,
            ScriptFault::Pause => FaultKind::Pause,
            ScriptFault::Isolate => FaultKind::Partition,
            ScriptFault::LoseUnfsynced => FaultKind::LoseUnfsynced,
            ScriptFault::PowerLoss => FaultKind::PowerLoss,
        }
    }
}

/// What a scripted step does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ScriptFault {
    Kill,
    Pause,
    /// Isolate the nodes from every other node.
    Isolate,
    /// Kill each node's broker and drop its un-fsynced writes; the stop
    /// starts it again.
    LoseUnfsynced,
    /// The same on all the nodes at one instant (every broker dead before
    /// any drop).
    PowerLoss,
}

/// One step of a scripted nemesis: at `at` start (or stop) fault `id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
// `who` is the name `test.json` has always used.
pub struct ScriptStep {
    #[serde(with = "ms")]
    pub at: Duration,
    pub id: u32,
    pub start: bool,
    pub fault: ScriptFault,
    #[serde(rename = "who")]
    pub target: ScriptTarget,
}

/// Turn a script into a schedule with fixed node names, now that the
/// topic's leaders and replicas are known. `all` are the brokers: an
/// isolated set is cut from the other brokers (a ZooKeeper ensemble, which
/// the caller adds to the schedule, stays connected).
pub(crate) fn resolve_script(
    steps: &[ScriptStep],
    parts: &[PartitionInfo],
    names: &BTreeMap<i32, String>,
    all: &[String],
    period: Duration,
    seed: u64,
) -> Result<Schedule> {
    let name = |id: &i32| names.get(id).cloned().unwrap_or_else(|| format!("id{id}"));
    let mut actions = vec![];
    for s in steps {
        if s.target == ScriptTarget::ZookeeperLeader {
            let fault = match s.fault {
                ScriptFault::Kill => Fault::Kill {
                    process: ProcessRole::ZooKeeper,
                    target: Target::ZkLeader,
                    nodes: None,
                },
                ScriptFault::Pause => Fault::Pause {
                    process: ProcessRole::ZooKeeper,
                    target: Target::ZkLeader,
                    nodes: None,
                },
                ScriptFault::Isolate => Fault::Partition {
                    topology: Topology::ZkLeader,
                    grudge: None,
                },
                other => anyhow::bail!(
                    "a scripted {other:?} cannot hit the ZooKeeper leader (it acts on brokers)"
                ),
            };
            actions.push(Action {
                at_ms: s.at.as_millis() as u64,
                id: s.id,
                phase: if s.start { Phase::Start } else { Phase::Stop },
                seed,
                fault,
            });
            continue;
        }
        let nodes: BTreeSet<String> = match &s.target {
            ScriptTarget::LeaderOf(p) => {
                let part = parts
                    .iter()
                    .find(|x| x.id == *p)
                    .context("no such partition")?;
                [name(&part.leader)].into()
            }
            ScriptTarget::FollowersOf(p) => {
                let part = parts
                    .iter()
                    .find(|x| x.id == *p)
                    .context("no such partition")?;
                part.replicas
                    .iter()
                    .filter(|r| **r != part.leader)
                    .map(name)
                    .collect()
            }
            ScriptTarget::Nodes(v) => v.iter().cloned().collect(),
            ScriptTarget::ZookeeperLeader => unreachable!("resolved above"),
        };
        let fault = match s.fault {
            ScriptFault::Kill => Fault::Kill {
                process: ProcessRole::Broker,
                target: Target::One,
                nodes: Some(nodes),
            },
            ScriptFault::Pause => Fault::Pause {
                process: ProcessRole::Broker,
                target: Target::One,
                nodes: Some(nodes),
            },
            ScriptFault::LoseUnfsynced => Fault::LoseUnfsynced {
                target: Target::One,
                nodes: Some(nodes),
            },
            ScriptFault::PowerLoss => Fault::PowerLoss {
                target: Target::All,
                nodes: Some(nodes),
            },
            ScriptFault::Isolate => {
                let rest: BTreeSet<String> = all
                    .iter()
                    .filter(|n| !nodes.contains(*n))
                    .cloned()
                    .collect();
                Fault::Partition {
                    topology: Topology::One,
                    grudge: Some(trial_nemesis::grudge::complete_grudge(&[nodes, rest])),
                }
            }
        };
        actions.push(Action {
            at_ms: s.at.as_millis() as u64,
            id: s.id,
            phase: if s.start { Phase::Start } else { Phase::Stop },
            seed,
            fault,
        });
    }
    actions.sort_by_key(|a| a.at_ms);
    Ok(Schedule {
        seed,
        nodes: all.to_vec(),
        zookeeper: Vec::new(),
        period,
        options: NemesisOptions::default(),
        actions,
    })
}
