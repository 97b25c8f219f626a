//! A fault that does nothing but say so, for tests only: it proves that a
//! kind is one file and one line in the registry. It needs `/dev/fuse`
//! (a requirement no real kind has), runs `true noop-<step>` on its nodes
//! at start, stop, heal and verify (the double logs each call), and plans
//! one random node.

use super::ctx::{names_json, split, FaultCtx, NodeHealing};
use super::{wrong_fault, wrong_undo, Done, FaultBehaviour, Started, Undo};
use crate::error::PlanError;
use crate::node::Node;
use crate::options::{FaultKind, NemesisOptions};
use crate::requirements::Requirements;
use crate::schedule::{choose_nodes, Action, Fault, PlanNodes};
use async_trait::async_trait;
use rand_chacha::ChaCha8Rng;
use serde_json::json;
use std::collections::BTreeSet;

pub(crate) struct Noop;

struct Touched(BTreeSet<String>);

async fn say(ctx: &FaultCtx<'_>, nodes: &BTreeSet<String>, step: &'static str) -> Done {
    let res = ctx
        .on_each(nodes, |n| async move {
            n.exec(&["true", step])
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        })
        .await;
    let per = split(res);
    let mut value = json!({ "nodes": names_json(&per.ok) });
    per.record(&mut value);
    Done::new(value, per.errors)
}

#[async_trait]
impl FaultBehaviour for Noop {
    fn kind(&self) -> FaultKind {
        FaultKind::Noop
    }

    fn requirements(&self) -> Requirements {
        Requirements::none().device("/dev/fuse")
    }

    fn validate(&self, _o: &NemesisOptions, _n: usize, _zk: usize) -> Result<(), PlanError> {
        Ok(())
    }

    fn plan(
        &self,
        nodes: &PlanNodes<'_>,
        _o: &NemesisOptions,
        rng: &mut ChaCha8Rng,
    ) -> Result<Fault, PlanError> {
        Ok(Fault::Noop {
            nodes: choose_nodes(nodes.brokers, 1, rng),
        })
    }

    async fn start(&self, ctx: &mut FaultCtx<'_>, action: &Action) -> Started {
        let Fault::Noop { nodes } = &action.fault else {
            return Started::nothing(wrong_fault(action));
        };
        let done = say(ctx, nodes, "noop-start").await;
        Started::undo_if(done, !nodes.is_empty(), Touched(nodes.clone()))
    }

    async fn stop(&self, ctx: &mut FaultCtx<'_>, undo: Undo) -> Done {
        match undo.take::<Touched>() {
            Some(Touched(ns)) => say(ctx, &ns, "noop-stop").await,
            None => wrong_undo(self.kind()),
        }
    }

    async fn heal_node(&self, node: &dyn Node, healing: &mut NodeHealing) {
        if let Err(e) = node.exec(&["true", "noop-heal"]).await {
            healing.report.problems.push(e.to_string());
        }
    }

    async fn verify_node(&self, node: &dyn Node, healing: &mut NodeHealing) {
        if let Err(e) = node.exec(&["true", "noop-verify"]).await {
            healing.report.problems.push(e.to_string());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{behaviour, requirements, REGISTRY};
    use crate::double::DoubleNet;
    use crate::options::{FaultKind, FaultKinds};
    use crate::schedule::{Fault, Schedule};
    use crate::{heal_all, run, NoTargets};
    use std::collections::BTreeSet;
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};
    use trial_histories::writer::HistoryWriter;

    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[tokio::test]
    async fn a_new_kind_runs_through_the_registry() {
        // Registered, found, and its requirement joins the others.
        assert!(REGISTRY.iter().any(|b| b.kind() == FaultKind::Noop));
        assert_eq!(behaviour(FaultKind::Noop).kind(), FaultKind::Noop);
        let kinds = FaultKinds(BTreeSet::from([FaultKind::Noop, FaultKind::Partition]));
        let r = requirements(&kinds);
        assert!(r.devices.contains("/dev/fuse"));
        assert!(r.capabilities.contains("NET_ADMIN"));

        // Played: start and stop through the runner, then heal and verify.
        let (net, nodes) = DoubleNet::new(3);
        let fault = Fault::Noop {
            nodes: BTreeSet::from(["n2".to_string()]),
        };
        let s = Schedule::single(&crate::node_names(3), fault, Duration::from_millis(2));
        let buf = Buf::default();
        let h = Arc::new(HistoryWriter::from_writer(buf.clone()));
        let (_tx, rx) = tokio::sync::watch::channel(false);
        let report = run(
            &s,
            nodes.clone(),
            Arc::new(NoTargets),
            h,
            rx,
            Instant::now(),
        )
        .await
        .unwrap();
        assert_eq!((report.actions, report.failed_actions), (2, 0));
        assert!(report.heal.verified, "{:?}", report.heal.problems());
        let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        let fs: Vec<String> = text
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["f"].to_string())
            .collect();
        assert_eq!(
            fs,
            [
                "start-noop",
                "start-noop",
                "stop-noop",
                "stop-noop",
                "heal",
                "heal"
            ]
            .map(|f| format!("\"{f}\""))
        );
        let noop_calls = |n: &str| -> Vec<String> {
            net.calls(n)
                .into_iter()
                .filter(|c| c.starts_with("exec true"))
                .collect()
        };
        assert_eq!(
            noop_calls("n2"),
            [
                "exec true noop-start",
                "exec true noop-stop",
                "exec true noop-heal",
                "exec true noop-verify"
            ]
        );
        // Heal reaches every node, with no record of what ran.
        assert_eq!(
            noop_calls("n1"),
            ["exec true noop-heal", "exec true noop-verify"]
        );
        net.clear_log();
        let again = heal_all(&nodes, "again").await;
        assert!(again.verified);
        assert_eq!(
            noop_calls("n3"),
            ["exec true noop-heal", "exec true noop-verify"]
        );
    }
}
