//! The `KTRIAL` iptables chain, shared by the partition and loss faults:
//! appending and deleting exactly the rules a fault added, and heal's flush
//! and verification of the whole chain (once per node for both kinds).

use super::ctx::{exec_ok, heal_exec, FaultCtx, NodeHealing, PerNode};
use super::Done;
use crate::iptables;
use crate::node::Node;
use crate::options::FaultKind;
use crate::requirements::Requirements;
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// Rule specs appended to `KTRIAL`, per node: what a stop deletes.
pub(crate) struct Rules(pub Vec<(String, Vec<String>)>);

/// What a fault made of iptables rules needs: to change the node's
/// firewall, and the tool.
pub(crate) fn requirements() -> Requirements {
    Requirements::none()
        .capability("NET_ADMIN")
        .package("iptables")
}

fn per_node(rules: Vec<(String, Vec<String>)>) -> Arc<BTreeMap<String, Vec<Vec<String>>>> {
    let mut by_node: BTreeMap<String, Vec<Vec<String>>> = BTreeMap::new();
    for (n, spec) in rules {
        by_node.entry(n).or_default().push(spec);
    }
    Arc::new(by_node)
}

/// Append rules (after making sure the chain exists); returns the rules
/// actually in place, and each node's failure (`ok` holds the nodes whose
/// rules are all in place).
pub(crate) async fn add_rules(
    ctx: &FaultCtx<'_>,
    rules: Vec<(String, Vec<String>)>,
) -> (Vec<(String, Vec<String>)>, PerNode) {
    let by_node = per_node(rules);
    let which: BTreeSet<String> = by_node.keys().cloned().collect();
    let res = ctx
        .on_each(&which, |n| {
            let specs = by_node.get(n.name()).cloned().unwrap_or_default();
            async move {
                exec_ok(n.as_ref(), &iptables::ensure_chain()).await?;
                let mut done = Vec::new();
                let mut err = None;
                for s in specs {
                    match exec_ok(n.as_ref(), &iptables::append(&s)).await {
                        Ok(()) => done.push(s),
                        Err(e) => {
                            err = Some(e);
                            break;
                        }
                    }
                }
                Ok((done, err))
            }
        })
        .await;
    let mut applied = Vec::new();
    let mut per = PerNode::default();
    for (name, r) in res {
        match r {
            Ok((done, err)) => {
                applied.extend(done.into_iter().map(|s| (name.clone(), s)));
                match err {
                    Some(e) => per.fail(&name, e),
                    None => {
                        per.ok.insert(name);
                    }
                }
            }
            Err(e) => per.fail(&name, e),
        }
    }
    (applied, per)
}

/// Delete exactly the rules a start added: `{removed_rules}` (and
/// `failed`, by node).
pub(crate) async fn remove_rules(ctx: &FaultCtx<'_>, rules: Rules) -> Done {
    let by_node = per_node(rules.0);
    let which: BTreeSet<String> = by_node.keys().cloned().collect();
    let res = ctx
        .on_each(&which, |n| {
            let specs = by_node.get(n.name()).cloned().unwrap_or_default();
            async move {
                let mut removed = 0usize;
                let mut errs = Vec::new();
                for s in specs {
                    match exec_ok(n.as_ref(), &iptables::delete(&s)).await {
                        Ok(()) => removed += 1,
                        Err(e) => errs.push(e),
                    }
                }
                Ok((removed, errs))
            }
        })
        .await;
    let mut removed = 0;
    let mut per = PerNode::default();
    for (name, r) in res {
        match r {
            Ok((k, e)) => {
                removed += k;
                for e in e {
                    per.fail(&name, e);
                }
            }
            Err(e) => per.fail(&name, e),
        }
    }
    let mut value = json!({ "removed_rules": removed });
    per.record(&mut value);
    Done::new(value, per.errors)
}

async fn list_rules(node: &dyn Node) -> Result<Vec<String>, String> {
    let out = heal_exec(node, &iptables::list()).await?;
    if !out.success() {
        return Err(format!(
            "iptables -w -S: exit {}: {}",
            out.code,
            out.stderr.trim()
        ));
    }
    Ok(iptables::chain_rules(&out.stdout))
}

/// Flush the chain if it holds anything (or if we cannot tell); once per
/// node for partition and loss. Loss rules are told apart by their
/// `statistic` match.
pub(crate) async fn heal_chain(node: &dyn Node, healing: &mut NodeHealing) {
    if !healing.first("iptables heal") {
        return;
    }
    let h = &mut healing.report;
    let before = list_rules(node).await;
    let must_flush = before.as_ref().map_or(true, |r| !r.is_empty());
    if !must_flush {
        return;
    }
    match heal_exec(node, &iptables::flush()).await {
        Ok(out) if out.success() => {
            if let Ok(rules) = &before {
                h.undone
                    .push(format!("flushed {} KTRIAL rules", rules.len()));
                h.flushed = rules.clone();
                for r in rules {
                    healing.healed.insert(if r.contains("statistic") {
                        FaultKind::Loss
                    } else {
                        FaultKind::Partition
                    });
                }
            }
        }
        Ok(out) => {
            if before.is_ok() {
                h.problems.push(format!(
                    "iptables -w -F KTRIAL: exit {}: {}",
                    out.code,
                    out.stderr.trim()
                ));
            }
        }
        Err(e) => h.problems.push(e),
    }
}

/// No `-A KTRIAL` rule left; once per node.
pub(crate) async fn verify_chain(node: &dyn Node, healing: &mut NodeHealing) {
    if !healing.first("iptables verify") {
        return;
    }
    let h = &mut healing.report;
    match list_rules(node).await {
        Ok(rules) => {
            if !rules.is_empty() {
                h.problems
                    .push(format!("{} KTRIAL rules remain", rules.len()));
            }
            h.rules_remaining = rules;
        }
        Err(e) => {
            // The same failure at heal and now: report it once.
            h.problems.retain(|p| p != &e);
            h.problems.push(format!("cannot verify rules: {e}"));
        }
    }
}
