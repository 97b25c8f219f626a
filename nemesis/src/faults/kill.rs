//! Kill: `Node::kill` (SIGKILL) of one process (the broker unless the fault
//! names another) on each target; stop starts it again on the nodes this
//! fault killed and that are still dead. See `process.rs` for the shape it
//! shares with pause.

use super::ctx::{FaultCtx, NodeHealing};
use super::process::{self, Signal, Signalled};
use super::{wrong_fault, wrong_undo, Done, FaultBehaviour, Started, Undo};
use crate::error::PlanError;
use crate::node::Node;
use crate::options::{check_zookeeper_targets, FaultKind, NemesisOptions};
use crate::requirements::Requirements;
use crate::schedule::{pick_target, Action, Fault, PlanNodes};
use async_trait::async_trait;
use rand_chacha::ChaCha8Rng;

pub(crate) struct Kill;

#[async_trait]
impl FaultBehaviour for Kill {
    fn kind(&self) -> FaultKind {
        FaultKind::Kill
    }

    fn requirements(&self) -> Requirements {
        Requirements::none()
    }

    fn validate(&self, o: &NemesisOptions, _n: usize, zookeeper: usize) -> Result<(), PlanError> {
        if o.kill_targets.is_empty() {
            return Err(PlanError::invalid("kill targets", "", "empty list"));
        }
        check_zookeeper_targets("kill targets", &o.kill_targets, true, zookeeper)
    }

    fn plan(
        &self,
        nodes: &PlanNodes<'_>,
        o: &NemesisOptions,
        rng: &mut ChaCha8Rng,
    ) -> Result<Fault, PlanError> {
        let targets = o.kill_targets_for(nodes.zookeeper.len());
        let (target, nodes) = pick_target(nodes, &targets, rng);
        Ok(Fault::Kill {
            target,
            nodes,
            process: target.process(),
        })
    }

    async fn start(&self, ctx: &mut FaultCtx<'_>, action: &Action) -> Started {
        let Fault::Kill {
            target,
            nodes,
            process,
        } = &action.fault
        else {
            return Started::nothing(wrong_fault(action));
        };
        process::start(ctx, action, Signal::Kill, *target, nodes, *process).await
    }

    async fn stop(&self, ctx: &mut FaultCtx<'_>, undo: Undo) -> Done {
        match undo.take::<Signalled>() {
            Some(u) => process::stop(ctx, Signal::Kill, u).await,
            None => wrong_undo(self.kind()),
        }
    }

    async fn heal_node(&self, node: &dyn Node, healing: &mut NodeHealing) {
        process::heal(node, healing).await
    }

    async fn verify_node(&self, node: &dyn Node, healing: &mut NodeHealing) {
        process::verify(node, healing).await
    }
}
