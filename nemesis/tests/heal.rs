//! Heal on every way out of a run (end, error, panic, drop, mid-action)
//! and of leftovers without a record, against a simulated cluster.

mod common;

use common::*;
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use trial_nemesis::double::DoubleNet;
use trial_nemesis::grudge::complete_grudge;
use trial_nemesis::{
    heal_all, run, Action, Fault, NemesisError, NodeError, Phase, ProcessRole, ProcessState,
    Target, Targets, Topology,
};

#[tokio::test]
async fn heal_all_undoes_leftovers_and_verifies() {
    let (net, nodes) = DoubleNet::new(4);
    net.add_rule("n1", &["-s", "10.0.0.3", "-j", "DROP"]);
    net.add_rule(
        "n2",
        &[
            "-s",
            "10.0.0.2",
            "-m",
            "statistic",
            "--mode",
            "random",
            "--probability",
            "0.5",
            "-j",
            "DROP",
        ],
    );
    net.set_state("n3", ProcessState::Paused);
    net.set_state("n4", ProcessState::Dead);
    net.set_clock("n2", Some("-30s"));
    net.set_clock("n4", None);
    let r = heal_all(&nodes, "test").await;
    assert!(r.verified, "{:?}", r.problems());
    assert_eq!(r.nodes["n1"].undone, ["flushed 1 KTRIAL rules"]);
    assert_eq!(r.nodes["n1"].flushed, ["-A KTRIAL -s 10.0.0.3/32 -j DROP"]);
    assert_eq!(
        r.nodes["n2"].undone,
        ["flushed 1 KTRIAL rules", "clock -30s -> +0"]
    );
    assert_eq!(r.nodes["n3"].undone, ["resumed broker"]);
    assert_eq!(r.nodes["n4"].undone, ["started broker"]);
    assert_eq!(r.nodes["n4"].clock, None);
    let kinds: Vec<String> = r.healed.iter().map(|k| k.to_string()).collect();
    assert_eq!(kinds, ["partition", "kill", "pause", "loss", "clock"]);
    // Heal is idempotent: a second one finds nothing to do.
    let again = heal_all(&nodes, "again").await;
    assert!(again.verified);
    assert!(again.nodes.values().all(|h| h.undone.is_empty()));
    // A clean node is touched only by reads: list, cat, state.
    let calls = net.calls("n1");
    let last: Vec<&String> = calls.iter().rev().take(5).collect();
    assert!(last
        .iter()
        .all(|c| c.contains(" -S") || c.contains("cat ") || *c == "state"));
}

#[tokio::test]
async fn heal_that_does_not_verify_is_an_error_and_says_why() {
    let (net, nodes) = DoubleNet::new(3);
    net.fail_when("n2", "-F KTRIAL");
    let s = plan(
        3,
        pair(
            0,
            0,
            1,
            Fault::Partition {
                topology: Topology::One,
                grudge: Some(complete_grudge(&[set(&["n2"]), set(&["n1", "n3"])])),
            },
        ),
    );
    // Make the stop fail too, so the rules are still there at heal.
    net.fail_when("n2", "-D KTRIAL");
    let (buf, e) = play_err(&s, nodes, no_targets()).await;
    assert!(
        matches!(&e, NemesisError::HealIncomplete(m) if m.contains("n2: 2 KTRIAL rules remain")),
        "{e}"
    );
    let ops = buf.ops();
    let heal = ops.last().unwrap();
    assert_eq!(heal.value_json()["verified"], json!(false));
    assert!(heal
        .error
        .as_deref()
        .unwrap()
        .starts_with("heal did not verify: n2: "));
    assert!(ops[3].error.as_deref().unwrap().contains("-D KTRIAL"));
}

/// Targets that panic: the runner must still heal, then re-raise.
struct Panicky;

#[async_trait::async_trait]
impl Targets for Panicky {
    async fn partition_leaders(&self) -> Result<BTreeMap<i32, String>, NodeError> {
        panic!("boom in targets")
    }
    async fn partition_replicas(&self) -> Result<BTreeMap<i32, Vec<String>>, NodeError> {
        panic!("boom")
    }
    async fn active_controller(&self) -> Result<Option<String>, NodeError> {
        panic!("boom")
    }
}

#[tokio::test]
async fn heal_after_a_panic_then_the_panic_goes_on() {
    let (net, nodes) = DoubleNet::new(3);
    let mut actions = pair(0, 0, 50, kill(Target::One, Some(set(&["n1"]))));
    actions.insert(
        1,
        Action {
            at_ms: 1,
            id: 1,
            phase: Phase::Start,
            seed: 0,
            fault: pause(Target::Leaders, None),
        },
    );
    let s = plan(3, actions);
    let (buf, h) = history();
    let r =
        tokio::spawn(
            async move { run(&s, nodes, Arc::new(Panicky), h, never(), Instant::now()).await },
        )
        .await;
    assert!(r.unwrap_err().is_panic());
    let ops = buf.ops();
    // The pause that panicked is completed before heal: the ops pair up.
    assert_eq!(
        shape(&ops),
        pairs(&[
            ("invoke", "start-kill"),
            ("info", "start-kill"),
            ("invoke", "start-pause"),
            ("info", "start-pause"),
            ("invoke", "heal"),
            ("info", "heal"),
        ])
    );
    assert_eq!(
        ops[3].error.as_deref(),
        Some("interrupted (panic) before it completed")
    );
    let heal_invoke = &ops[ops.len() - 2];
    assert_eq!(heal_invoke.f.to_string(), "heal");
    assert_eq!(heal_invoke.value_json()["reason"], json!("panic"));
    assert_eq!(ops.last().unwrap().value_json()["verified"], json!(true));
    assert_eq!(net.state("n1"), ProcessState::Running);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_run_heals_through_the_guard() {
    let (net, nodes) = DoubleNet::new(3);
    let s = plan(
        3,
        pair(
            0,
            0,
            60_000,
            pause(Target::All, Some(set(&["n1", "n2", "n3"]))),
        ),
    );
    let (buf, h) = history();
    let fut = run(&s, nodes, no_targets(), h, never(), Instant::now());
    // The suite gives up on the nemesis (e.g. a select! on another branch).
    let r = tokio::time::timeout(Duration::from_millis(200), fut).await;
    assert!(r.is_err());
    let ops = buf.ops();
    let f: Vec<String> = ops.iter().map(|o| o.f.to_string()).collect();
    assert_eq!(f, ["start-pause", "start-pause", "heal", "heal"]);
    assert_eq!(ops[2].value_json()["reason"], json!("drop"));
    assert_eq!(ops[3].value_json()["healed"], json!(["pause"]));
    for n in ["n1", "n2", "n3"] {
        assert_eq!(net.state(n), ProcessState::Running);
    }
}

/// A node whose `pause` hangs (a stuck `docker` call).
#[derive(Debug)]
struct StuckPause(Arc<dyn trial_nemesis::Node>);

#[async_trait::async_trait]
impl trial_nemesis::Node for StuckPause {
    fn name(&self) -> &str {
        self.0.name()
    }
    fn ip(&self) -> std::net::IpAddr {
        self.0.ip()
    }
    async fn exec(&self, argv: &[&str]) -> Result<trial_nemesis::ExecOutput, NodeError> {
        self.0.exec(argv).await
    }
    async fn kill(&self, p: ProcessRole) -> Result<(), NodeError> {
        self.0.kill(p).await
    }
    async fn start(&self, p: ProcessRole) -> Result<(), NodeError> {
        self.0.start(p).await
    }
    async fn pause(&self, p: ProcessRole) -> Result<(), NodeError> {
        tokio::time::sleep(Duration::from_secs(3600)).await;
        self.0.pause(p).await
    }
    async fn resume(&self, p: ProcessRole) -> Result<(), NodeError> {
        self.0.resume(p).await
    }
    async fn state(&self, p: ProcessRole) -> Result<ProcessState, NodeError> {
        self.0.state(p).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_run_mid_action_completes_the_op_then_heals() {
    let (net, nodes) = DoubleNet::new(3);
    let nodes: Vec<Arc<dyn trial_nemesis::Node>> = nodes
        .into_iter()
        .map(|n| Arc::new(StuckPause(n)) as Arc<dyn trial_nemesis::Node>)
        .collect();
    let mut actions = pair(0, 0, 1, kill(Target::One, Some(set(&["n2"]))));
    actions.extend(pair(1, 2, 60_000, pause(Target::One, Some(set(&["n1"])))));
    let s = plan(3, actions);
    let (buf, h) = history();
    let fut = run(&s, nodes, no_targets(), h, never(), Instant::now());
    assert!(tokio::time::timeout(Duration::from_millis(300), fut)
        .await
        .is_err());
    let ops = buf.ops();
    assert_eq!(
        shape(&ops),
        pairs(&[
            ("invoke", "start-kill"),
            ("info", "start-kill"),
            ("invoke", "stop-kill"),
            ("info", "stop-kill"),
            ("invoke", "start-pause"),
            ("info", "start-pause"),
            ("invoke", "heal"),
            ("info", "heal"),
        ])
    );
    assert_eq!(
        ops[5].error.as_deref(),
        Some("interrupted (drop) before it completed")
    );
    assert_eq!(ops[6].value_json()["reason"], json!("drop"));
    assert_eq!(ops[7].value_json()["verified"], json!(true));
    assert_eq!(net.state("n1"), ProcessState::Running);
    assert_eq!(net.state("n2"), ProcessState::Running);
}
