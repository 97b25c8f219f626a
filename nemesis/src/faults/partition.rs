//! Network partition: for each node `b` and each peer `a` in `grudge[b]`,
//! `iptables -w -A KTRIAL -s <ip a> -j DROP` inside `b`; stop deletes
//! exactly those rules. Dynamic topologies (`primaries`, `controller`,
//! `group-coordinator`, `zk-leader`) isolate the nodes [`crate::Targets`]
//! names when applied: the first three among the brokers (a ZooKeeper ensemble stays connected),
//! `zk-leader` from every other node.

use super::ctx::{merge, names_json, FaultCtx, NodeHealing};
use super::net::{self, Rules};
use super::{wrong_fault, wrong_undo, Done, FaultBehaviour, Started, Undo};
use crate::error::PlanError;
use crate::iptables;
use crate::node::Node;
use crate::options::{FaultKind, NemesisOptions, Target};
use crate::requirements::Requirements;
use crate::schedule::{Action, Fault, PlanNodes};
use crate::topology::{self, Topology};
use async_trait::async_trait;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde_json::json;

pub(crate) struct Partition;

#[async_trait]
impl FaultBehaviour for Partition {
    fn kind(&self) -> FaultKind {
        FaultKind::Partition
    }

    fn requirements(&self) -> Requirements {
        net::requirements()
    }

    fn validate(&self, o: &NemesisOptions, n: usize, zookeeper: usize) -> Result<(), PlanError> {
        if o.topologies.is_empty() {
            return Err(PlanError::invalid("partition topologies", "", "empty list"));
        }
        for t in &o.topologies {
            if t.needs_zookeeper() && zookeeper == 0 {
                return Err(PlanError::invalid(
                    "partition topology",
                    t,
                    "it cuts brokers from ZooKeeper, and this run has no ZooKeeper ensemble (KRaft mode)",
                ));
            }
            if n < t.min_nodes() {
                return Err(PlanError::TooFewNodes {
                    topology: t.name(),
                    min: t.min_nodes(),
                    n,
                });
            }
        }
        Ok(())
    }

    fn plan(
        &self,
        nodes: &PlanNodes<'_>,
        o: &NemesisOptions,
        rng: &mut ChaCha8Rng,
    ) -> Result<Fault, PlanError> {
        let topologies = o.topologies_for(nodes.zookeeper.len());
        let topology = *topologies.choose(rng).expect("validated non-empty");
        let grudge = if topology.is_dynamic() {
            None
        } else {
            Some(topology::build_with_zookeeper(
                topology,
                nodes.brokers,
                nodes.zookeeper,
                rng,
            )?)
        };
        Ok(Fault::Partition { topology, grudge })
    }

    async fn start(&self, ctx: &mut FaultCtx<'_>, action: &Action) -> Started {
        let Fault::Partition {
            topology,
            grudge: planned,
        } = &action.fault
        else {
            return Started::nothing(wrong_fault(action));
        };
        let asked = json!({ "topology": topology });
        let mut value = json!({ "topology": topology });
        let grudge = match planned {
            Some(g) => g.clone(),
            None => {
                let target = match topology {
                    Topology::Controller => Target::Controller,
                    Topology::GroupCoordinator => Target::GroupCoordinator,
                    Topology::ZkLeader => Target::ZkLeader,
                    _ => Target::Leaders,
                };
                let (isolated, how) = match ctx.resolve(target, &None, 0).await {
                    Ok(x) => x,
                    Err(e) => return Started::nothing(Done::failed(asked, e)),
                };
                merge(&mut value, how);
                value["isolated"] = names_json(&isolated);
                topology::isolate_with_zookeeper(
                    *topology,
                    &ctx.brokers(),
                    ctx.zookeeper(),
                    &isolated,
                )
            }
        };
        let mut rules = Vec::new();
        let mut errors = Vec::new();
        // Which peer each rule cuts a node from (for the grudge applied).
        let mut src_of: std::collections::BTreeMap<(String, Vec<String>), String> =
            Default::default();
        for (node, drops) in &grudge {
            for src in drops {
                match ctx.ip_of(src).and_then(iptables::drop_from) {
                    Ok(spec) => {
                        src_of.insert((node.clone(), spec.clone()), src.clone());
                        rules.push((node.clone(), spec));
                    }
                    Err(e) => errors.push(e),
                }
            }
        }
        let (applied, per) = net::add_rules(ctx, rules).await;
        errors.extend(per.errors.iter().cloned());
        value["grudge"] = json!(grudge);
        value["rules"] = json!(applied.len());
        if !errors.is_empty() {
            // Part of the grudge is not in force: say which part is (the
            // nodes a partition hit are read from it).
            let mut held: crate::grudge::Grudge = grudge
                .keys()
                .map(|n| (n.clone(), Default::default()))
                .collect();
            for (node, spec) in &applied {
                if let Some(src) = src_of.get(&(node.clone(), spec.clone())) {
                    held.entry(node.clone()).or_default().insert(src.clone());
                }
            }
            value["applied_grudge"] = json!(held);
        }
        per.record(&mut value);
        let any = !applied.is_empty();
        Started::undo_if(Done::new(value, errors), any, Rules(applied))
    }

    async fn stop(&self, ctx: &mut FaultCtx<'_>, undo: Undo) -> Done {
        match undo.take::<Rules>() {
            Some(rules) => net::remove_rules(ctx, rules).await,
            None => wrong_undo(self.kind()),
        }
    }

    async fn heal_node(&self, node: &dyn Node, healing: &mut NodeHealing) {
        net::heal_chain(node, healing).await
    }

    async fn verify_node(&self, node: &dyn Node, healing: &mut NodeHealing) {
        net::verify_chain(node, healing).await
    }
}
