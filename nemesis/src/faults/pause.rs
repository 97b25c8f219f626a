//! Pause: `Node::pause` (SIGSTOP) of one process (the broker unless the
//! fault names another) on each target (a process this run killed is skipped);
//! stop resumes it on the nodes this fault paused and that are still paused.
//! See `process.rs` for the shape it shares with kill.

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

pub(crate) struct Pause;

#[async_trait]
impl FaultBehaviour for Pause {
    fn kind(&self) -> FaultKind {
        FaultKind::Pause
    }

    fn requirements(&self) -> Requirements {
        Requirements::none()
    }

    fn validate(&self, o: &NemesisOptions, _n: usize, zookeeper: usize) -> Result<(), PlanError> {
        if o.pause_targets.is_empty() {
            return Err(PlanError::invalid("pause targets", "", "empty list"));
        }
        check_zookeeper_targets("pause targets", &o.pause_targets, true, zookeeper)
    }

    fn plan(
        &self,
        nodes: &PlanNodes<'_>,
        o: &NemesisOptions,
        rng: &mut ChaCha8Rng,
    ) -> Result<Fault, PlanError> {
        let targets = o.pause_targets_for(nodes.zookeeper.len());
        let (target, nodes) = pick_target(nodes, &targets, rng);
        Ok(Fault::Pause {
            target,
            nodes,
            process: target.process(),
        })
    }

    async fn start(&self, ctx: &mut FaultCtx<'_>, action: &Action) -> Started {
        let Fault::Pause {
            target,
            nodes,
            process,
        } = &action.fault
        else {
            return Started::nothing(wrong_fault(action));
        };
        process::start(ctx, action, Signal::Pause, *target, nodes, *process).await
    }

    async fn stop(&self, ctx: &mut FaultCtx<'_>, undo: Undo) -> Done {
        match undo.take::<Signalled>() {
            Some(u) => process::stop(ctx, Signal::Pause, u).await,
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
