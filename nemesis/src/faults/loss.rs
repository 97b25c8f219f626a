//! Packet loss: every link touching a target node is lossy both ways: a
//! target drops from every other node, every other node drops from the
//! targets, each with `iptables -w -A KTRIAL -s <ip> -m statistic --mode
//! random --probability <p> -j DROP`; stop deletes exactly those rules.

use super::ctx::{merge, names_json, FaultCtx, NodeHealing};
use super::net::{self, Rules};
use super::{wrong_fault, wrong_undo, Done, FaultBehaviour, Started, Undo};
use crate::error::PlanError;
use crate::grudge::Grudge;
use crate::iptables;
use crate::node::Node;
use crate::options::{check_zookeeper_targets, FaultKind, NemesisOptions};
use crate::requirements::Requirements;
use crate::schedule::{pick_target, Action, Fault, PlanNodes};
use async_trait::async_trait;
use rand_chacha::ChaCha8Rng;
use serde_json::json;
use std::collections::BTreeSet;

pub(crate) struct Loss;

#[async_trait]
impl FaultBehaviour for Loss {
    fn kind(&self) -> FaultKind {
        FaultKind::Loss
    }

    fn requirements(&self) -> Requirements {
        net::requirements()
    }

    fn validate(&self, o: &NemesisOptions, _n: usize, zookeeper: usize) -> Result<(), PlanError> {
        if o.loss_targets.is_empty() {
            return Err(PlanError::invalid("loss targets", "", "empty list"));
        }
        check_zookeeper_targets("loss targets", &o.loss_targets, false, zookeeper)?;
        let p = o.loss_probability;
        if !(p > 0.0 && p <= 1.0) {
            return Err(PlanError::invalid(
                "loss probability",
                p,
                "must be in (0, 1]",
            ));
        }
        Ok(())
    }

    fn plan(
        &self,
        nodes: &PlanNodes<'_>,
        o: &NemesisOptions,
        rng: &mut ChaCha8Rng,
    ) -> Result<Fault, PlanError> {
        let (target, nodes) = pick_target(nodes, &o.loss_targets, rng);
        Ok(Fault::Loss {
            target,
            nodes,
            probability: o.loss_probability,
        })
    }

    async fn start(&self, ctx: &mut FaultCtx<'_>, action: &Action) -> Started {
        let Fault::Loss {
            target,
            nodes: planned,
            probability: p,
        } = &action.fault
        else {
            return Started::nothing(wrong_fault(action));
        };
        let (target, p) = (*target, *p);
        let (ns, how) = match ctx.resolve(target, planned, action.seed).await {
            Ok(x) => x,
            Err(e) => {
                let asked = json!({ "target": target, "probability": p });
                return Started::nothing(Done::failed(asked, e));
            }
        };
        // Every link touching a target node is lossy, both ways: a target
        // drops from everyone, everyone drops from the targets.
        let names = ctx.names();
        let mut lossy: Grudge = names.iter().map(|n| (n.clone(), BTreeSet::new())).collect();
        for x in names {
            for y in names {
                if x != y && (ns.contains(x) || ns.contains(y)) {
                    lossy.entry(x.clone()).or_default().insert(y.clone());
                }
            }
        }
        let mut rules = Vec::new();
        let mut errors = Vec::new();
        for (node, srcs) in &lossy {
            for src in srcs {
                match ctx.ip_of(src).and_then(|ip| iptables::lossy_from(ip, p)) {
                    Ok(spec) => rules.push((node.clone(), spec)),
                    Err(e) => errors.push(e),
                }
            }
        }
        let (applied, per) = net::add_rules(ctx, rules).await;
        errors.extend(per.errors.iter().cloned());
        let mut value = json!({
            "target": target,
            "nodes": names_json(&ns),
            "probability": p,
            "lossy": lossy,
            "rules": applied.len(),
        });
        per.record(&mut value);
        merge(&mut value, how);
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
