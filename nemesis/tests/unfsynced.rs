//! The filesystem faults (`lose-unfsynced`, `power-loss`) played on the
//! simulated cluster: the order of kills and drops, what the ops record,
//! stop and heal, plans and their JSON.

mod common;

use common::*;
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use trial_nemesis::double::{DoubleNet, DOUBLE_DROPPED_BYTES};
use trial_nemesis::{
    heal_all, Fault, FaultKind, FaultKinds, NemesisOptions, ProcessState, Schedule, StaticTargets,
    Target,
};

fn lose(target: Target, nodes: &[&str]) -> Fault {
    Fault::LoseUnfsynced {
        target,
        nodes: (!nodes.is_empty()).then(|| set(nodes)),
    }
}

fn power(target: Target, nodes: &[&str]) -> Fault {
    Fault::PowerLoss {
        target,
        nodes: (!nodes.is_empty()).then(|| set(nodes)),
    }
}

/// The process calls (no exec, no state) in order.
fn process_log(net: &DoubleNet) -> Vec<String> {
    net.log()
        .into_iter()
        .filter(|l| !l.contains(" exec ") && !l.ends_with(" state"))
        .collect()
}

#[tokio::test]
async fn lose_unfsynced_kills_drops_and_restarts_each_node() {
    let (net, nodes) = DoubleNet::new(3);
    let s = plan(3, pair(0, 0, 10, lose(Target::Minority, &["n2"])));
    let (buf, r) = play(&s, nodes, no_targets()).await;
    assert_eq!((r.actions, r.failed_actions), (2, 0));
    assert_eq!(
        process_log(&net),
        ["n2 kill", "n2 drop-unfsynced", "n2 start"]
    );
    let ops = buf.ops();
    assert_eq!(
        shape(&ops)[..4],
        pairs(&[
            ("invoke", "start-lose-unfsynced"),
            ("info", "start-lose-unfsynced"),
            ("invoke", "stop-lose-unfsynced"),
            ("info", "stop-lose-unfsynced"),
        ])
    );
    let v = ops[1].value_json();
    assert_eq!(v["nodes"], json!(["n2"]));
    assert_eq!(v["target"], json!("minority"));
    assert_eq!(
        v["dropped"]["n2"]["bytes_dropped"],
        json!(DOUBLE_DROPPED_BYTES)
    );
    assert!(v.get("already_dead").is_none());
    assert_eq!(ops[3].value_json()["started"], json!(["n2"]));
    assert!(r.heal.verified);
    assert_eq!(net.state("n2"), ProcessState::Running);
}

#[tokio::test]
async fn power_loss_kills_every_node_before_any_drop() {
    let (net, nodes) = DoubleNet::new(5);
    let s = plan(
        5,
        pair(
            0,
            0,
            10,
            power(Target::All, &["n1", "n2", "n3", "n4", "n5"]),
        ),
    );
    let (buf, r) = play(&s, nodes, no_targets()).await;
    assert_eq!(r.failed_actions, 0);
    let log = process_log(&net);
    let last_kill = log.iter().rposition(|l| l.ends_with(" kill")).unwrap();
    let first_drop = log
        .iter()
        .position(|l| l.ends_with(" drop-unfsynced"))
        .unwrap();
    assert!(last_kill < first_drop, "{log:?}");
    assert_eq!(log.iter().filter(|l| l.ends_with(" kill")).count(), 5);
    assert_eq!(
        log.iter()
            .filter(|l| l.ends_with(" drop-unfsynced"))
            .count(),
        5
    );
    assert_eq!(log.iter().filter(|l| l.ends_with(" start")).count(), 5);
    let v = buf.ops()[1].value_json();
    assert_eq!(v["dropped"].as_object().unwrap().len(), 5);
    assert_eq!(buf.ops()[1].f.to_string(), "start-power-loss");
    assert!(r.heal.verified);

    // The same with lose-unfsynced: each node drops as soon as its own
    // broker is dead (no barrier): still one kill before its drop.
    let (net, nodes) = DoubleNet::new(3);
    let s = plan(3, pair(0, 0, 10, lose(Target::All, &["n1", "n2", "n3"])));
    play(&s, nodes, no_targets()).await;
    for n in ["n1", "n2", "n3"] {
        let c: Vec<String> = net
            .calls(n)
            .into_iter()
            .filter(|c| c == "kill" || c == "drop-unfsynced" || c == "start")
            .collect();
        assert_eq!(c, ["kill", "drop-unfsynced", "start"], "{n}");
    }
}

#[tokio::test]
async fn dynamic_targets_a_dead_broker_and_a_failed_drop() {
    let (net, nodes) = DoubleNet::new(3);
    let targets = StaticTargets {
        leaders: BTreeMap::from([(0, "n1".into()), (1, "n3".into())]),
        ..Default::default()
    };
    // n3 already dead: still dropped, and started by the stop; n1's drop
    // fails: the op says so, n1 stays killed and is started by the stop.
    net.set_state("n3", ProcessState::Dead);
    net.fail_when("n1", "drop-unfsynced");
    let s = plan(3, pair(0, 0, 10, power(Target::Leaders, &[])));
    let (buf, r) = play(&s, nodes, Arc::new(targets)).await;
    assert_eq!(r.failed_actions, 1);
    let ops = buf.ops();
    let v = ops[1].value_json();
    assert_eq!(v["nodes"], json!(["n1", "n3"]));
    assert_eq!(v["already_dead"], json!(["n3"]));
    assert!(v["dropped"].get("n1").is_none());
    assert!(v["dropped"].get("n3").is_some());
    // The node whose step failed is named, with the reason.
    assert_eq!(v["failed"].as_object().unwrap().len(), 1, "{v}");
    let why = v["failed"]["n1"].as_str().unwrap();
    assert!(
        why.starts_with("drop-unfsynced: ") && why.contains("injected failure of drop-unfsynced"),
        "{why}"
    );
    assert_eq!(v["leaders"], json!({"0": "n1", "1": "n3"}));
    assert!(
        ops[1]
            .error
            .as_deref()
            .is_some_and(|e| e.contains("injected failure of drop-unfsynced")),
        "{:?}",
        ops[1].error
    );
    assert_eq!(ops[3].value_json()["started"], json!(["n1", "n3"]));
    assert_eq!(net.state("n1"), ProcessState::Running);
    assert_eq!(net.state("n3"), ProcessState::Running);
    assert!(!net.calls("n2").contains(&"kill".to_string()));
}

/// Issue 30: a power loss of all three whose drop fails on two (as a
/// drop right after a SIGKILL did, "busy"): all three are killed (down),
/// only one dropped, and the op's `failed` names the two with the reason;
/// a kill that fails on one node names it too (and leaves it out of
/// `nodes`).
#[tokio::test]
async fn a_step_that_fails_on_a_node_is_recorded_with_its_reason() {
    let (net, nodes) = DoubleNet::new(3);
    net.fail_when("n2", "drop-unfsynced");
    net.fail_when("n3", "drop-unfsynced");
    let s = plan(3, pair(0, 0, 10, power(Target::All, &["n1", "n2", "n3"])));
    let (buf, r) = play(&s, nodes, no_targets()).await;
    assert_eq!(r.failed_actions, 1);
    let ops = buf.ops();
    let v = ops[1].value_json();
    assert_eq!(v["nodes"], json!(["n1", "n2", "n3"]), "all three killed");
    assert_eq!(
        v["dropped"].as_object().unwrap().keys().collect::<Vec<_>>(),
        ["n1"]
    );
    let failed = v["failed"].as_object().expect("failed recorded");
    assert_eq!(failed.keys().collect::<Vec<_>>(), ["n2", "n3"]);
    for n in ["n2", "n3"] {
        assert!(
            failed[n]
                .as_str()
                .unwrap()
                .contains("injected failure of drop-unfsynced"),
            "{v}"
        );
    }
    assert!(ops[1].error.is_some());
    assert!(r.heal.verified);

    // A kill that fails on n2: `nodes` is n1 only, `failed` has n2.
    let (net, nodes) = DoubleNet::new(3);
    net.fail_when("n2", "kill");
    let s = plan(
        3,
        pair(
            0,
            0,
            10,
            Fault::Kill {
                target: Target::All,
                nodes: Some(set(&["n1", "n2"])),
                process: Default::default(),
            },
        ),
    );
    let (buf, _) = play(&s, nodes, no_targets()).await;
    let v = buf.ops()[1].value_json();
    assert_eq!(v["nodes"], json!(["n1"]));
    assert!(v["failed"]["n2"]
        .as_str()
        .unwrap()
        .contains("injected failure of kill"));
    // A power loss whose kill fails on n3: n3 is neither down nor dropped.
    let (net, nodes) = DoubleNet::new(3);
    net.fail_when("n3", "kill");
    let s = plan(3, pair(0, 0, 10, power(Target::All, &["n1", "n2", "n3"])));
    let (buf, _) = play(&s, nodes, no_targets()).await;
    let v = buf.ops()[1].value_json();
    assert_eq!(v["nodes"], json!(["n1", "n2"]));
    assert!(
        v["failed"]["n3"].as_str().unwrap().starts_with("kill: "),
        "{v}"
    );
    assert!(v["dropped"].get("n3").is_none());
    // Everything applied: no `failed` at all.
    let (_net, nodes) = DoubleNet::new(3);
    let s = plan(3, pair(0, 0, 10, power(Target::All, &["n1", "n2", "n3"])));
    let (buf, _) = play(&s, nodes, no_targets()).await;
    assert!(buf.ops()[1].value_json().get("failed").is_none());
}

#[tokio::test]
async fn heal_starts_a_broker_left_dead_by_a_drop() {
    let (net, nodes) = DoubleNet::new(3);
    // A start that was never stopped (the run ended in between): heal.
    let mut s = plan(3, pair(0, 0, 10, lose(Target::One, &["n1"])));
    s.actions.truncate(1);
    let (_buf, r) = play(&s, nodes.clone(), no_targets()).await;
    assert!(r.heal.verified, "{:?}", r.heal.problems());
    assert_eq!(net.state("n1"), ProcessState::Running);
    // And a drop on a live broker is refused by the node.
    let e = nodes[1].drop_unfsynced().await.unwrap_err().to_string();
    assert!(e.contains("not dead"), "{e}");
    assert!(heal_all(&nodes, "again").await.verified);
}

#[test]
fn plans_draw_their_targets_and_old_options_json_is_unchanged() {
    let o = NemesisOptions {
        interval: Duration::from_secs(5),
        ..NemesisOptions::with_kinds("lose-unfsynced,power-loss".parse().unwrap())
    };
    let s = Schedule::generate(
        3,
        &trial_nemesis::node_names(5),
        Duration::from_secs(200),
        &o,
    )
    .unwrap();
    let mut seen = BTreeMap::new();
    for a in &s.actions {
        match &a.fault {
            Fault::LoseUnfsynced { target, nodes } => {
                assert!(Target::LOSE_UNFSYNCED_DEFAULTS.contains(target));
                assert_eq!(nodes.as_ref().map(|n| n.len()), target.count(5));
                *seen.entry(FaultKind::LoseUnfsynced).or_insert(0) += 1;
            }
            Fault::PowerLoss { target, nodes } => {
                assert!(Target::POWER_LOSS_DEFAULTS.contains(target));
                assert_eq!(nodes.as_ref().map(|n| n.len()), target.count(5));
                *seen.entry(FaultKind::PowerLoss).or_insert(0) += 1;
            }
            f => panic!("unexpected {f:?}"),
        }
    }
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert!(s.render().contains("start power-loss"), "{}", s.render());
    assert_eq!(Schedule::from_json(&s.to_json()).unwrap(), s);
    // Default targets stay out of the JSON; others are written and read.
    let json = serde_json::to_value(NemesisOptions::default()).unwrap();
    assert!(json.get("lose_unfsynced_targets").is_none());
    assert!(json.get("power_loss_targets").is_none());
    let o = NemesisOptions {
        power_loss_targets: vec![Target::One],
        ..Default::default()
    };
    let v = serde_json::to_value(&o).unwrap();
    assert_eq!(v["power_loss_targets"], json!(["one"]));
    assert_eq!(serde_json::from_value::<NemesisOptions>(v).unwrap(), o);
    // The plan format of one fault.
    assert_eq!(
        serde_json::to_string(&lose(Target::One, &["n2"])).unwrap(),
        r#"{"kind":"lose-unfsynced","target":"one","nodes":["n2"]}"#
    );
    assert_eq!(
        serde_json::from_str::<Fault>(r#"{"kind":"power-loss","target":"all"}"#).unwrap(),
        power(Target::All, &[])
    );
    // `all` has both; an empty target list is refused.
    assert!(FaultKinds::all().contains(FaultKind::PowerLoss));
    let bad = NemesisOptions {
        lose_unfsynced_targets: vec![],
        ..NemesisOptions::with_kinds("lose-unfsynced".parse().unwrap())
    };
    let e = bad.validate(3).unwrap_err().to_string();
    assert!(e.contains("lose-unfsynced targets"), "{e}");
}
