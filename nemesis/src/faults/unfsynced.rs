//! The filesystem faults: `lose-unfsynced` and `power-loss`.
//!
//! A `kill -9` of the JVM loses nothing the kernel already holds: Kafka
//! does not fsync on acknowledgement, so only a power loss (or a kernel
//! crash) shows what un-fsynced data was worth. The suite mounts its FUSE
//! filesystem (`kt-lazyfs`) under the broker's `log.dirs` when a run asks
//! for these kinds ([`requirements`]); [`Node::drop_unfsynced`] puts it
//! back to what was last fsynced.
//!
//! Both kinds: SIGKILL the broker, drop, and at stop start it again (the
//! kill's stop, through the shared [`super::ProcessBook`], so a pause or a
//! kill planned meanwhile sees the broker dead). They differ in when:
//! `lose-unfsynced` does each node on its own (kill then drop, nodes
//! concurrently); `power-loss` kills every target first, and only when all
//! are dead drops each one, so no broker survives to replicate to the
//! others what they are about to lose (a correlated failure). The start's
//! `info` value has `nodes` (killed), `dropped` (node → drop report: only
//! the nodes whose drop succeeded), `failed` (node → why its kill or drop
//! failed, when one did: such a node lost nothing, and the promise model
//! does not count it as power-lost) and, for a broker found already dead,
//! `already_dead`. The drop itself waits, inside the node, for the killed
//! JVM to be gone from the kernel (its exiting threads keep the mount
//! busy) and retries a busy unmount a bounded number of times; its report
//! says how long it waited and how often it retried. Heal is the process
//! faults' heal (start every dead broker; the control script remounts the
//! filesystem when needed).

use super::ctx::{merge, names_json, record_failed, timed, FaultCtx, NodeHealing};
use super::process::{self, Signal, Signalled};
use super::{wrong_fault, wrong_undo, Done, FaultBehaviour, Started, Undo};
use crate::error::PlanError;
use crate::node::{Node, ProcessRole, ProcessState};
use crate::options::{check_zookeeper_targets, FaultKind, NemesisOptions, Target};
use crate::requirements::Requirements;
use crate::schedule::{pick_target, Action, Fault, PlanNodes};
use async_trait::async_trait;
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// The suite's FUSE filesystem program (shipped into the node).
pub const LAZYFS_TOOL: &str = "kt-lazyfs";
/// The broker's environment variable that makes the control script mount
/// the filesystem under `log.dirs`.
pub const LAZYFS_ENV: &str = "KT_LAZYFS";

/// What both kinds need: FUSE in the container, the right to mount, the
/// filesystem program, and the broker on it.
fn requirements() -> Requirements {
    Requirements::none()
        .device("/dev/fuse")
        .capability("SYS_ADMIN")
        .env(LAZYFS_ENV, "1")
        .tool(LAZYFS_TOOL)
}

pub(crate) struct LoseUnfsynced;
pub(crate) struct PowerLoss;

/// Kill the broker; one already dead counts (it is just as dead, and its
/// data is dropped the same). `Ok(true)` when it was found dead.
async fn kill(n: Arc<dyn Node>) -> Result<bool, String> {
    let what = format!("{}: kill", n.name());
    match timed(what.clone(), n.kill(ProcessRole::Broker)).await {
        Ok(()) => Ok(false),
        Err(e) => match timed(what, n.state(ProcessRole::Broker)).await {
            Ok(ProcessState::Dead) => Ok(true),
            _ => Err(e),
        },
    }
}

async fn drop_data(n: Arc<dyn Node>) -> Result<Value, String> {
    let what = format!("{}: drop-unfsynced", n.name());
    timed(what, n.drop_unfsynced()).await
}

/// One node's outcome: killed (and whether it was already dead), and the
/// drop report or why there is none.
type NodeOutcome = (bool, Result<Value, String>);

async fn start(
    ctx: &mut FaultCtx<'_>,
    action: &Action,
    target: Target,
    planned: &Option<BTreeSet<String>>,
    together: bool,
) -> Started {
    let (ns, how) = match ctx.resolve(target, planned, action.seed).await {
        Ok(x) => x,
        Err(e) => return Started::nothing(Done::failed(json!({ "target": target }), e)),
    };
    let mut errors = Vec::new();
    let mut killed: BTreeSet<String> = BTreeSet::new();
    let mut already_dead: BTreeSet<String> = BTreeSet::new();
    let mut dropped = Map::new();
    let outcomes: Vec<(String, Result<NodeOutcome, String>)> = if together {
        // Every broker dead before any disk loses anything.
        let kills = ctx.on_each(&ns, kill).await;
        let mut dead = BTreeSet::new();
        let mut out = Vec::new();
        for (n, r) in kills {
            match r {
                Ok(was) => {
                    if was {
                        already_dead.insert(n.clone());
                    }
                    dead.insert(n);
                }
                Err(e) => out.push((n, Err(e))),
            }
        }
        for (n, r) in ctx.on_each(&dead, drop_data).await {
            out.push((n.clone(), Ok((already_dead.contains(&n), r))));
        }
        out
    } else {
        ctx.on_each(&ns, |n| async move {
            let was = kill(n.clone()).await?;
            Ok((was, drop_data(n).await))
        })
        .await
    };
    let mut failed: BTreeMap<String, String> = BTreeMap::new();
    for (n, r) in outcomes {
        match r {
            Err(e) => {
                failed.insert(n, format!("kill: {e}"));
                errors.push(e);
            }
            Ok((was, report)) => {
                if was {
                    already_dead.insert(n.clone());
                }
                killed.insert(n.clone());
                match report {
                    Ok(v) => {
                        dropped.insert(n, v);
                    }
                    Err(e) => {
                        failed.insert(n, format!("drop-unfsynced: {e}"));
                        errors.push(e);
                    }
                }
            }
        }
    }
    for n in &killed {
        ctx.processes
            .killed
            .insert((n.clone(), ProcessRole::Broker));
        ctx.processes
            .paused
            .remove(&(n.clone(), ProcessRole::Broker));
    }
    let mut value = json!({
        "target": target,
        "nodes": names_json(&killed),
        "dropped": Value::Object(dropped),
    });
    if !already_dead.is_empty() {
        value["already_dead"] = names_json(&already_dead);
    }
    record_failed(&mut value, &failed);
    merge(&mut value, how);
    let any = !killed.is_empty();
    Started::undo_if(
        Done::new(value, errors),
        any,
        Signalled::new(ProcessRole::Broker, killed),
    )
}

fn validate(kind: FaultKind, targets: &[Target], zookeeper: usize) -> Result<(), PlanError> {
    let what = if kind == FaultKind::PowerLoss {
        "power-loss targets"
    } else {
        "lose-unfsynced targets"
    };
    if targets.is_empty() {
        return Err(PlanError::invalid(what, "", "empty list"));
    }
    check_zookeeper_targets(what, targets, false, zookeeper)
}

async fn stop(ctx: &mut FaultCtx<'_>, kind: FaultKind, undo: Undo) -> Done {
    match undo.take::<Signalled>() {
        Some(u) => process::stop(ctx, Signal::Kill, u).await,
        None => wrong_undo(kind),
    }
}

#[async_trait]
impl FaultBehaviour for LoseUnfsynced {
    fn kind(&self) -> FaultKind {
        FaultKind::LoseUnfsynced
    }

    fn requirements(&self) -> Requirements {
        requirements()
    }

    fn validate(&self, o: &NemesisOptions, _n: usize, zookeeper: usize) -> Result<(), PlanError> {
        validate(self.kind(), &o.lose_unfsynced_targets, zookeeper)
    }

    fn plan(
        &self,
        nodes: &PlanNodes<'_>,
        o: &NemesisOptions,
        rng: &mut ChaCha8Rng,
    ) -> Result<Fault, PlanError> {
        let (target, nodes) = pick_target(nodes, &o.lose_unfsynced_targets, rng);
        Ok(Fault::LoseUnfsynced { target, nodes })
    }

    async fn start(&self, ctx: &mut FaultCtx<'_>, action: &Action) -> Started {
        let Fault::LoseUnfsynced { target, nodes } = &action.fault else {
            return Started::nothing(wrong_fault(action));
        };
        start(ctx, action, *target, nodes, false).await
    }

    async fn stop(&self, ctx: &mut FaultCtx<'_>, undo: Undo) -> Done {
        stop(ctx, self.kind(), undo).await
    }

    async fn heal_node(&self, node: &dyn Node, healing: &mut NodeHealing) {
        process::heal(node, healing).await
    }

    async fn verify_node(&self, node: &dyn Node, healing: &mut NodeHealing) {
        process::verify(node, healing).await
    }
}

#[async_trait]
impl FaultBehaviour for PowerLoss {
    fn kind(&self) -> FaultKind {
        FaultKind::PowerLoss
    }

    fn requirements(&self) -> Requirements {
        requirements()
    }

    fn validate(&self, o: &NemesisOptions, _n: usize, zookeeper: usize) -> Result<(), PlanError> {
        validate(self.kind(), &o.power_loss_targets, zookeeper)
    }

    fn plan(
        &self,
        nodes: &PlanNodes<'_>,
        o: &NemesisOptions,
        rng: &mut ChaCha8Rng,
    ) -> Result<Fault, PlanError> {
        let (target, nodes) = pick_target(nodes, &o.power_loss_targets, rng);
        Ok(Fault::PowerLoss { target, nodes })
    }

    async fn start(&self, ctx: &mut FaultCtx<'_>, action: &Action) -> Started {
        let Fault::PowerLoss { target, nodes } = &action.fault else {
            return Started::nothing(wrong_fault(action));
        };
        start(ctx, action, *target, nodes, true).await
    }

    async fn stop(&self, ctx: &mut FaultCtx<'_>, undo: Undo) -> Done {
        stop(ctx, self.kind(), undo).await
    }

    async fn heal_node(&self, node: &dyn Node, healing: &mut NodeHealing) {
        process::heal(node, healing).await
    }

    async fn verify_node(&self, node: &dyn Node, healing: &mut NodeHealing) {
        process::verify(node, healing).await
    }
}
