//! Scripted nemeses: a fixed sequence of faults whose targets ("the leader
//! of partition 0", "its followers") are resolved once the topic exists —
//! deterministic scenarios such as "pause the followers, kill the leader".

use crate::kafka::admin::PartitionInfo;
use anyhow::{bail, Context, Result};
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
    /// The active controller when the trial starts (KRaft: the quorum's
    /// leader; ZooKeeper mode: the broker elected through ZooKeeper).
    ActiveController,
    /// The transaction coordinator of the workload's first
    /// `transactional.id` when the trial starts.
    Coordinator,
    /// The leader of the lowest test-topic partition led neither by the
    /// [`ScriptTarget::Coordinator`] nor by the broker that would take its
    /// `__transaction_state` partition over (so that a coordinator cut off
    /// from this leader can still fetch from its successor, rejoin the ISR
    /// and get its partition back).
    LeaderAwayFromCoordinator,
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
            ScriptFault::Isolate | ScriptFault::IsolateAll => FaultKind::Partition,
            ScriptFault::LoseUnfsynced => FaultKind::LoseUnfsynced,
            ScriptFault::PowerLoss => FaultKind::PowerLoss,
            ScriptFault::CutFromControllers
            | ScriptFault::CutFromBrokers
            | ScriptFault::CutFromCoordinator => FaultKind::Partition,
        }
    }
}

/// What a scripted step does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ScriptFault {
    Kill,
    Pause,
    /// Isolate the nodes from every other broker-side node (a ZooKeeper
    /// ensemble stays connected).
    Isolate,
    /// Isolate the nodes from every other node, the ZooKeeper ensemble's
    /// included (a broker that loses its ZooKeeper session).
    IsolateAll,
    /// Kill each node's broker and drop its un-fsynced writes; the stop
    /// starts it again.
    LoseUnfsynced,
    /// The same on all the nodes at one instant (every broker dead before
    /// any drop).
    PowerLoss,
    /// Cut the nodes off from the other KRaft controllers only: brokers
    /// still reach both sides (a quorum leader that loses its voters but
    /// not its brokers, KAFKA-15489).
    CutFromControllers,
    /// Cut the nodes off from the other brokers only (ZooKeeper and the
    /// controllers still reach them): a partition leader whose followers
    /// cannot fetch.
    CutFromBrokers,
    /// Cut the nodes off from [`ScriptTarget::Coordinator`] only.
    CutFromCoordinator,
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

/// What a script's targets are resolved against once the topic exists.
pub(crate) struct ScriptCluster<'a> {
    pub parts: &'a [PartitionInfo],
    /// Node id → node name.
    pub names: &'a BTreeMap<i32, String>,
    /// Every broker-side node's name (brokers and KRaft controllers): the
    /// schedule's nodes.
    pub all: &'a [String],
    /// The ZooKeeper ensemble's node names (empty in KRaft mode): an
    /// isolated node is cut off from them too.
    pub zookeeper: &'a [String],
    /// The KRaft controllers' node names (empty in ZooKeeper mode).
    pub controllers: &'a [String],
    /// The brokers' node names.
    pub brokers: &'a [String],
    /// The active controller's node name, if known.
    pub active_controller: Option<String>,
    /// The coordinator of the workload's first `transactional.id`, if any.
    pub coordinator: Option<String>,
    /// The broker that would take the coordinator's `__transaction_state`
    /// partition over (the next replica in its ISR), if known.
    pub successor: Option<String>,
}

/// The coordinator a script targets, or why there is none.
fn coordinator(c: &ScriptCluster<'_>) -> Result<String> {
    c.coordinator.clone().context(
        "the script targets a transaction coordinator, and none is known (txn workload only)",
    )
}

/// Turn a script into a schedule with fixed node names, now that the
/// topic's leaders and replicas are known. `all` are the brokers: an
/// isolated set is cut from the other brokers (a ZooKeeper ensemble, which
/// the caller adds to the schedule, stays connected).
pub(crate) fn resolve_script(
    steps: &[ScriptStep],
    c: &ScriptCluster<'_>,
    period: Duration,
    seed: u64,
) -> Result<Schedule> {
    let (parts, names, all) = (c.parts, c.names, c.all);
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
            ScriptTarget::ActiveController => [c
                .active_controller
                .clone()
                .context("the script targets the active controller, and none is known")?]
            .into(),
            ScriptTarget::Coordinator => [coordinator(c)?].into(),
            ScriptTarget::LeaderAwayFromCoordinator => {
                let co = coordinator(c)?;
                let mut ps: Vec<&PartitionInfo> = parts.iter().collect();
                ps.sort_by_key(|p| p.id);
                let leader = ps
                    .iter()
                    .map(|p| name(&p.leader))
                    .find(|l| *l != co && Some(l) != c.successor.as_ref())
                    .with_context(|| {
                        format!(
                            "every partition is led by the coordinator {co} or its successor {:?}",
                            c.successor
                        )
                    })?;
                [leader].into()
            }
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
            ScriptFault::Isolate | ScriptFault::IsolateAll => {
                let zookeeper: &[String] = if s.fault == ScriptFault::IsolateAll {
                    c.zookeeper
                } else {
                    &[]
                };
                let rest: BTreeSet<String> = all
                    .iter()
                    .chain(zookeeper)
                    .filter(|n| !nodes.contains(*n))
                    .cloned()
                    .collect();
                Fault::Partition {
                    topology: Topology::One,
                    grudge: Some(trial_nemesis::grudge::complete_grudge(&[nodes, rest])),
                }
            }
            ScriptFault::CutFromControllers
            | ScriptFault::CutFromBrokers
            | ScriptFault::CutFromCoordinator => {
                let (side, what): (Vec<String>, &str) = match s.fault {
                    ScriptFault::CutFromControllers => {
                        (c.controllers.to_vec(), "KRaft controllers")
                    }
                    ScriptFault::CutFromBrokers => (c.brokers.to_vec(), "brokers"),
                    _ => (vec![coordinator(c)?], "coordinator"),
                };
                let others: BTreeSet<String> =
                    side.into_iter().filter(|n| !nodes.contains(n)).collect();
                if others.is_empty() {
                    bail!("{:?} needs other {what} than {nodes:?}", s.fault);
                }
                // Only the two sides drop each other: every other node
                // (brokers) is in the grudge with nothing to drop.
                let mut grudge = trial_nemesis::grudge::empty_grudge(all);
                for n in &nodes {
                    grudge.insert(n.clone(), others.clone());
                }
                for o in &others {
                    grudge.insert(o.clone(), nodes.clone());
                }
                Fault::Partition {
                    topology: Topology::One,
                    grudge: Some(grudge),
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
        zookeeper: c.zookeeper.to_vec(),
        period,
        options: NemesisOptions::default(),
        actions,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cluster<'a>(
        parts: &'a [PartitionInfo],
        names: &'a BTreeMap<i32, String>,
        all: &'a [String],
        controllers: &'a [String],
        active: Option<&str>,
    ) -> ScriptCluster<'a> {
        ScriptCluster {
            parts,
            names,
            all,
            zookeeper: &[],
            controllers,
            brokers: &all[3..],
            active_controller: active.map(str::to_string),
            coordinator: None,
            successor: None,
        }
    }

    #[test]
    fn the_active_controller_is_cut_from_the_other_controllers_only() {
        let all: Vec<String> = ["c1", "c2", "c3", "n1", "n2", "n3"]
            .map(String::from)
            .to_vec();
        let ctl: Vec<String> = all[..3].to_vec();
        let names = BTreeMap::new();
        let steps = vec![
            ScriptStep {
                at: Duration::from_secs(10),
                id: 0,
                start: true,
                fault: ScriptFault::CutFromControllers,
                target: ScriptTarget::ActiveController,
            },
            ScriptStep {
                at: Duration::from_secs(40),
                id: 0,
                start: false,
                fault: ScriptFault::CutFromControllers,
                target: ScriptTarget::ActiveController,
            },
        ];
        let c = cluster(&[], &names, &all, &ctl, Some("c2"));
        let s = resolve_script(&steps, &c, Duration::from_secs(60), 1).unwrap();
        assert_eq!(s.actions.len(), 2);
        let Fault::Partition {
            grudge: Some(g), ..
        } = &s.actions[0].fault
        else {
            panic!("{:?}", s.actions[0].fault)
        };
        let set = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<BTreeSet<_>>();
        assert_eq!(g["c2"], set(&["c1", "c3"]));
        assert_eq!(g["c1"], set(&["c2"]));
        assert_eq!(g["c3"], set(&["c2"]));
        for n in ["n1", "n2", "n3"] {
            assert!(g[n].is_empty(), "brokers reach everyone");
        }
        // No active controller known, or no other controller: refused.
        let c = cluster(&[], &names, &all, &ctl, None);
        assert!(resolve_script(&steps, &c, Duration::from_secs(60), 1).is_err());
        let c = cluster(&[], &names, &all, &ctl[1..2], Some("c2"));
        let e = resolve_script(&steps, &c, Duration::from_secs(60), 1).unwrap_err();
        assert!(e.to_string().contains("other KRaft controllers"), "{e}");
        // The same cut among brokers, and from a coordinator.
        let parts = vec![
            PartitionInfo {
                id: 0,
                leader: 1,
                replicas: vec![1, 2, 3],
                isr: vec![1, 2, 3],
            },
            PartitionInfo {
                id: 1,
                leader: 2,
                replicas: vec![2, 3, 1],
                isr: vec![2, 3, 1],
            },
        ];
        let names: BTreeMap<i32, String> = (1..=3).map(|i| (i, format!("n{i}"))).collect();
        let mut c = cluster(&parts, &names, &all, &ctl, None);
        let step = |fault, target| ScriptStep {
            at: Duration::from_secs(1),
            id: 0,
            start: true,
            fault,
            target,
        };
        let s = resolve_script(
            &[step(ScriptFault::CutFromBrokers, ScriptTarget::LeaderOf(0))],
            &c,
            Duration::from_secs(60),
            1,
        )
        .unwrap();
        let Fault::Partition {
            grudge: Some(g), ..
        } = &s.actions[0].fault
        else {
            panic!()
        };
        assert_eq!(g["n1"], set(&["n2", "n3"]));
        assert!(g["c1"].is_empty() && g["n2"] == set(&["n1"]));
        let away = [step(
            ScriptFault::CutFromCoordinator,
            ScriptTarget::LeaderAwayFromCoordinator,
        )];
        assert!(resolve_script(&away, &c, Duration::from_secs(60), 1).is_err());
        c.coordinator = Some("n1".into());
        let s = resolve_script(&away, &c, Duration::from_secs(60), 1).unwrap();
        let Fault::Partition {
            grudge: Some(g), ..
        } = &s.actions[0].fault
        else {
            panic!()
        };
        assert_eq!(g["n2"], set(&["n1"]), "partition 1's leader, away from n1");
        assert_eq!(g["n1"], set(&["n2"]));
        assert!(g["n3"].is_empty());
        // Isolate keeps ZooKeeper connected; IsolateAll cuts it too.
        let zk: Vec<String> = vec!["z1".into()];
        let mut with_zk = cluster(&parts, &names, &all, &ctl, None);
        with_zk.zookeeper = &zk;
        for (fault, cut) in [
            (ScriptFault::Isolate, false),
            (ScriptFault::IsolateAll, true),
        ] {
            let s = resolve_script(
                &[step(fault, ScriptTarget::LeaderOf(0))],
                &with_zk,
                Duration::from_secs(60),
                1,
            )
            .unwrap();
            let Fault::Partition {
                grudge: Some(g), ..
            } = &s.actions[0].fault
            else {
                panic!()
            };
            assert_eq!(g["n1"].contains("z1"), cut, "{fault:?}");
            assert_eq!(s.zookeeper, zk);
        }
        // n2 would take over n1's transactions: no leader is away from both.
        c.successor = Some("n2".into());
        let e = resolve_script(&away, &c, Duration::from_secs(60), 1).unwrap_err();
        assert!(e.to_string().contains("successor"), "{e}");
    }
}
