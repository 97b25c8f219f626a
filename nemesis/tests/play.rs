//! Playing schedules against a simulated cluster: exact commands, exact
//! history ops, process roles, generated plans.

mod common;

use common::*;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;
use trial_nemesis::double::DoubleNet;
use trial_nemesis::grudge::complete_grudge;
use trial_nemesis::{
    heal_all, probe, run, Action, ClockMode, ClockOffset, Fault, FaultKinds, NemesisOptions, Phase,
    ProcessRole, ProcessState, Schedule, StaticTargets, Target, Topology,
};

#[tokio::test]
async fn partition_applies_exact_rules_records_grudge_and_heals() {
    let (net, nodes) = DoubleNet::new(5);
    let grudge = complete_grudge(&[set(&["n1", "n2"]), set(&["n3", "n4", "n5"])]);
    let s = plan(
        5,
        pair(
            0,
            0,
            20,
            Fault::Partition {
                topology: Topology::Halves,
                grudge: Some(grudge.clone()),
            },
        ),
    );
    let (buf, report) = play(&s, nodes, no_targets()).await;
    assert!(report.heal.verified);
    assert_eq!((report.actions, report.failed_actions), (2, 0));

    // n1 drops n3, n4, n5 (10.0.0.4..6), then deletes exactly those rules.
    let n1: Vec<String> = net
        .calls("n1")
        .into_iter()
        .filter(|c| c.starts_with("exec ") && !c.contains(" -S"))
        .collect();
    assert_eq!(
        &n1[..7],
        &[
            "exec sh -c iptables -w -N KTRIAL 2>/dev/null; iptables -w -C INPUT -j KTRIAL 2>/dev/null || iptables -w -I INPUT 1 -j KTRIAL",
            "exec iptables -w -A KTRIAL -s 10.0.0.4 -j DROP",
            "exec iptables -w -A KTRIAL -s 10.0.0.5 -j DROP",
            "exec iptables -w -A KTRIAL -s 10.0.0.6 -j DROP",
            "exec iptables -w -D KTRIAL -s 10.0.0.4 -j DROP",
            "exec iptables -w -D KTRIAL -s 10.0.0.5 -j DROP",
            "exec iptables -w -D KTRIAL -s 10.0.0.6 -j DROP",
        ]
    );
    for n in ["n1", "n2", "n3", "n4", "n5"] {
        assert!(net.rules(n).is_empty());
    }

    let ops = buf.ops();
    assert_eq!(
        shape(&ops),
        pairs(&[
            ("invoke", "start-partition"),
            ("info", "start-partition"),
            ("invoke", "stop-partition"),
            ("info", "stop-partition"),
            ("invoke", "heal"),
            ("info", "heal"),
        ])
    );
    let info = ops[1].value_json();
    assert_eq!(info["grudge"], json!(grudge));
    assert_eq!(info["rules"], json!(12));
    assert_eq!(info["id"], json!(0));
    assert_eq!(ops[0].value_json()["topology"], json!("halves"));
    assert_eq!(ops[3].value_json()["removed_rules"], json!(12));
    assert!(ops.iter().all(|o| o.error.is_none()));
    let heal = ops[5].value_json();
    assert_eq!(heal["reason"], json!("end"));
    assert_eq!(heal["verified"], json!(true));
    assert!(heal["duration_ms"].is_u64());
    assert_eq!(heal["nodes"]["n3"]["state"], json!("running"));
    assert_eq!(heal["nodes"]["n3"]["rules_remaining"], json!([]));
}

#[tokio::test]
async fn grudge_is_what_the_probes_see_and_cancel_heals() {
    let (net, nodes) = DoubleNet::new(5);
    let s = Schedule::generate(
        11,
        &trial_nemesis::node_names(5),
        Duration::from_secs(1),
        &NemesisOptions {
            topologies: vec![Topology::MajoritiesRing],
            interval: Duration::from_millis(10),
            jitter_percent: 0,
            ..NemesisOptions::with_kinds("partition".parse().unwrap())
        },
    )
    .unwrap();
    // The first start at once, its stop in an hour: we probe, then cancel.
    let mut s1 = s.clone();
    s1.actions.truncate(1);
    s1.actions[0].at_ms = 0;
    let mut stop = s1.actions[0].clone();
    stop.phase = Phase::Stop;
    stop.at_ms = 3_600_000;
    s1.actions.push(stop);
    let Fault::Partition {
        grudge: Some(grudge),
        ..
    } = &s1.actions[0].fault
    else {
        panic!("a fixed ring")
    };
    let grudge = grudge.clone();
    let (tx, rx) = watch::channel(false);
    let (buf, h) = history();
    let nodes2 = nodes.clone();
    let task =
        tokio::spawn(async move { run(&s1, nodes2, no_targets(), h, rx, Instant::now()).await });
    while buf.ops().len() < 2 {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let m = probe::connectivity_matrix(&nodes, 9092, Duration::from_secs(1))
        .await
        .unwrap();
    assert_eq!(m.len(), 20);
    assert_eq!(probe::matrix_mismatches(&m, &grudge), Vec::<String>::new());
    assert!(m.values().any(|ok| !ok) && m.values().any(|ok| *ok));

    tx.send(true).unwrap();
    let report = task.await.unwrap().unwrap();
    assert!(report.cancelled);
    let ops = buf.ops();
    assert_eq!(
        shape(&ops),
        pairs(&[
            ("invoke", "start-partition"),
            ("info", "start-partition"),
            ("invoke", "heal"),
            ("info", "heal"),
        ])
    );
    assert_eq!(ops[2].value_json()["reason"], json!("cancelled"));
    assert_eq!(ops[2].value_json()["active"], json!(["partition"]));
    assert_eq!(ops[3].value_json()["healed"], json!(["partition"]));
    let m = probe::connectivity_matrix(&nodes, 9092, Duration::from_secs(1))
        .await
        .unwrap();
    assert!(m.values().all(|ok| *ok), "healed: everyone connects");
    assert!(net.rules("n1").is_empty());
}

#[tokio::test]
async fn kill_leaders_restarts_them() {
    let (net, nodes) = DoubleNet::new(5);
    let targets = StaticTargets {
        leaders: BTreeMap::from([(0, "n2".into()), (1, "n4".into()), (2, "n2".into())]),
        ..Default::default()
    };
    let s = plan(5, pair(3, 0, 10, kill(Target::Leaders, None)));
    let (buf, _) = play(&s, nodes, Arc::new(targets)).await;
    let log: Vec<String> = net
        .log()
        .into_iter()
        .filter(|l| !l.contains("exec") && !l.ends_with("state"))
        .collect();
    assert_eq!(log, ["n2 kill", "n4 kill", "n2 start", "n4 start"]);
    let ops = buf.ops();
    let v = ops[1].value_json();
    assert_eq!(v["nodes"], json!(["n2", "n4"]));
    assert_eq!(v["target"], json!("leaders"));
    assert_eq!(v["leaders"], json!({"0": "n2", "1": "n4", "2": "n2"}));
    assert_eq!(ops[3].value_json()["started"], json!(["n2", "n4"]));
    assert_eq!(ops[3].f.to_string(), "stop-kill");
    assert_eq!(net.state("n2"), ProcessState::Running);
}

/// `coordinator` hits the coordinator of one transactional id, named in
/// the fault's op; with no transactional ids it fails the action.
#[tokio::test]
async fn pause_a_transaction_coordinator() {
    let (net, nodes) = DoubleNet::new(3);
    let targets = StaticTargets {
        coordinators: BTreeMap::from([("kt-txn-0".into(), "n3".into())]),
        ..Default::default()
    };
    let s = plan(3, pair(0, 0, 10, kill(Target::Coordinator, None)));
    let (buf, _) = play(&s, nodes, Arc::new(targets)).await;
    let ops = buf.ops();
    let v = ops[1].value_json();
    assert_eq!(v["nodes"], json!(["n3"]));
    assert_eq!(v["target"], json!("coordinator"));
    assert_eq!(v["transactional_id"], json!("kt-txn-0"));
    assert!(net.log().iter().any(|l| l == "n3 kill"));

    let (_net, nodes) = DoubleNet::new(3);
    let s = plan(3, pair(0, 0, 10, kill(Target::Coordinator, None)));
    let (buf, r) = play(&s, nodes, Arc::new(StaticTargets::default())).await;
    assert_eq!(r.failed_actions, 1);
    assert!(
        buf.ops()[1]
            .error
            .as_deref()
            .is_some_and(|e| e.contains("no transactional.id")),
        "{:?}",
        buf.ops()[1].error
    );
}

/// `group-coordinator` hits the coordinator of one consumer group (kill
/// and pause alike), named with its group in the fault's op; without
/// groups the action fails with the reason.
#[tokio::test]
async fn kill_and_pause_a_group_coordinator() {
    let targets = || StaticTargets {
        // A transaction coordinator elsewhere: the two targets never mix.
        coordinators: BTreeMap::from([("kt-txn-0".into(), "n1".into())]),
        group_coordinators: BTreeMap::from([("kt-c1".into(), "n2".into())]),
        ..Default::default()
    };
    for (fault, signal, undo) in [
        (kill(Target::GroupCoordinator, None), "kill", "start"),
        (pause(Target::GroupCoordinator, None), "pause", "resume"),
    ] {
        let (net, nodes) = DoubleNet::new(3);
        let s = plan(3, pair(0, 0, 10, fault));
        let (buf, r) = play(&s, nodes, Arc::new(targets())).await;
        assert_eq!(r.failed_actions, 0, "{signal}");
        let ops = buf.ops();
        let v = ops[1].value_json();
        assert_eq!(v["nodes"], json!(["n2"]), "{signal}");
        assert_eq!(v["target"], json!("group-coordinator"));
        assert_eq!(v["group"], json!("kt-c1"));
        assert_eq!(v["coordinator"], json!("n2"));
        let log: Vec<String> = net
            .log()
            .into_iter()
            .filter(|l| !l.contains("exec") && !l.ends_with("state"))
            .collect();
        assert_eq!(log, [format!("n2 {signal}"), format!("n2 {undo}")]);
        assert_eq!(net.state("n2"), ProcessState::Running);
    }

    let (net, nodes) = DoubleNet::new(3);
    let s = plan(3, pair(0, 0, 10, kill(Target::GroupCoordinator, None)));
    let (buf, r) = play(&s, nodes, Arc::new(StaticTargets::default())).await;
    assert_eq!(r.failed_actions, 1);
    let (_, r) = play(&s, DoubleNet::new(3).1, no_targets()).await;
    assert_eq!(r.failed_actions, 1, "NoTargets answers nothing either");
    let e = buf.ops()[1].error.clone().unwrap_or_default();
    assert!(
        e.contains("no consumer group with a known coordinator"),
        "{e}"
    );
    assert!(!net.log().iter().any(|l| l.ends_with(" kill")));
}

/// The `group-coordinator` cut isolates the group's coordinator from every
/// other broker (a ZooKeeper ensemble, if any, hears all), and the stop
/// removes exactly the rules added.
#[tokio::test]
async fn isolate_a_group_coordinator() {
    let (net, nodes) = DoubleNet::new(3);
    let targets = StaticTargets {
        group_coordinators: BTreeMap::from([("kt-c1".into(), "n3".into())]),
        ..Default::default()
    };
    let s = plan(
        3,
        pair(
            0,
            0,
            10,
            Fault::Partition {
                topology: Topology::GroupCoordinator,
                grudge: None,
            },
        ),
    );
    let (buf, r) = play(&s, nodes, Arc::new(targets)).await;
    assert_eq!(r.failed_actions, 0);
    let v = buf.ops()[1].value_json();
    assert_eq!(v["topology"], json!("group-coordinator"));
    assert_eq!(v["isolated"], json!(["n3"]));
    assert_eq!(v["group"], json!("kt-c1"));
    assert_eq!(
        v["grudge"],
        json!({"n1": ["n3"], "n2": ["n3"], "n3": ["n1", "n2"]})
    );
    assert_eq!(v["rules"], json!(4));
    let adds = |n: &str| {
        net.calls(n)
            .iter()
            .filter(|c| c.contains(" -A KTRIAL"))
            .count()
    };
    assert_eq!((adds("n1"), adds("n2"), adds("n3")), (1, 1, 2));
    for n in ["n1", "n2", "n3"] {
        assert!(net.rules(n).is_empty(), "{n}: the stop removed its rules");
    }
}

/// Asked for by name, the target and the topology plan as dynamic (no
/// nodes, no grudge in the plan); the defaults never draw them, so the
/// plans of older runs are unchanged.
#[test]
fn group_coordinator_is_planned_only_when_asked() {
    let names = trial_nemesis::node_names(3);
    let o = NemesisOptions {
        kill_targets: vec![Target::GroupCoordinator],
        pause_targets: vec![Target::GroupCoordinator],
        topologies: vec![Topology::GroupCoordinator],
        interval: Duration::from_millis(100),
        ..NemesisOptions::with_kinds("kill,pause,partition".parse().unwrap())
    };
    let s = Schedule::generate(1, &names, Duration::from_secs(3), &o).unwrap();
    let mut seen = 0;
    for a in &s.actions {
        match &a.fault {
            Fault::Kill { target, nodes, .. } | Fault::Pause { target, nodes, .. } => {
                assert_eq!((*target, nodes), (Target::GroupCoordinator, &None));
                seen += 1;
            }
            Fault::Partition { topology, grudge } => {
                assert_eq!((*topology, grudge), (Topology::GroupCoordinator, &None));
                seen += 1;
            }
            _ => {}
        }
    }
    assert!(seen >= 3, "{}", s.render());
    assert!(!Target::DEFAULTS.contains(&Target::GroupCoordinator));
    assert!(!Topology::defaults().contains(&Topology::GroupCoordinator));
    let d = NemesisOptions::with_kinds(FaultKinds::all());
    for seed in 0..20 {
        let s = Schedule::generate(seed, &names, Duration::from_secs(30), &d).unwrap();
        assert!(!s.to_json().contains("group-coordinator"), "{}", s.render());
    }
    assert_eq!(
        "group-coordinator".parse::<Target>().unwrap(),
        Target::GroupCoordinator
    );
    assert_eq!(
        "group-coordinator".parse::<Topology>().unwrap(),
        Topology::GroupCoordinator
    );
}

#[tokio::test]
async fn kill_all_but_one_replica() {
    let (net, nodes) = DoubleNet::new(5);
    let targets = StaticTargets {
        replicas: BTreeMap::from([
            (0, vec!["n1".into(), "n2".into(), "n3".into()]),
            (1, vec!["n5".into()]),
        ]),
        ..Default::default()
    };
    let s = plan(5, pair(0, 0, 5, kill(Target::ReplicasButOne, None)));
    let (buf, _) = play(&s, nodes, Arc::new(targets)).await;
    let v = buf.ops()[1].value_json();
    assert_eq!(
        v["partition"],
        json!(0),
        "the only partition with 2+ replicas"
    );
    let survivor = v["survivor"].as_str().unwrap().to_string();
    let killed: BTreeSet<String> = serde_json::from_value(v["nodes"].clone()).unwrap();
    assert_eq!(killed.len(), 2);
    assert!(!killed.contains(&survivor));
    assert!(killed.is_subset(&set(&["n1", "n2", "n3"])));
    assert!(!net.calls(&survivor).contains(&"kill".to_string()));
}

#[tokio::test]
async fn pause_then_resume_and_kill_wins_over_pause() {
    let (net, nodes) = DoubleNet::new(3);
    let mut actions = vec![];
    actions.push(Action {
        at_ms: 0,
        id: 0,
        phase: Phase::Start,
        seed: 1,
        fault: pause(Target::All, Some(set(&["n1", "n2"]))),
    });
    actions.push(Action {
        at_ms: 1,
        id: 1,
        phase: Phase::Start,
        seed: 1,
        fault: kill(Target::One, Some(set(&["n2"]))),
    });
    let stop_pause = Action {
        at_ms: 2,
        phase: Phase::Stop,
        ..actions[0].clone()
    };
    let stop_kill = Action {
        at_ms: 3,
        phase: Phase::Stop,
        ..actions[1].clone()
    };
    actions.push(stop_pause);
    actions.push(stop_kill);
    let (buf, r) = play(&plan(3, actions), nodes, no_targets()).await;
    assert_eq!(r.failed_actions, 0);
    let ops = buf.ops();
    assert_eq!(ops[1].value_json()["nodes"], json!(["n1", "n2"]));
    // n2 was killed while paused: stop-pause resumes only n1, stop-kill starts n2.
    assert_eq!(ops[5].value_json()["resumed"], json!(["n1"]));
    assert_eq!(ops[7].value_json()["started"], json!(["n2"]));
    for n in ["n1", "n2", "n3"] {
        assert_eq!(net.state(n), ProcessState::Running);
    }
}

#[tokio::test]
async fn loss_uses_statistic_rules_on_links_touching_the_targets() {
    let (net, nodes) = DoubleNet::new(3);
    let s = plan(
        3,
        pair(
            0,
            0,
            5,
            Fault::Loss {
                target: Target::One,
                nodes: Some(set(&["n1"])),
                probability: 0.5,
            },
        ),
    );
    let (buf, _) = play(&s, nodes, no_targets()).await;
    let adds = |n: &str| -> Vec<String> {
        net.calls(n)
            .into_iter()
            .filter(|c| c.contains(" -A KTRIAL"))
            .collect()
    };
    assert_eq!(
        adds("n1"),
        [
            "exec iptables -w -A KTRIAL -s 10.0.0.3 -m statistic --mode random --probability 0.5 -j DROP",
            "exec iptables -w -A KTRIAL -s 10.0.0.4 -m statistic --mode random --probability 0.5 -j DROP",
        ]
    );
    assert_eq!(
        adds("n2"),
        ["exec iptables -w -A KTRIAL -s 10.0.0.2 -m statistic --mode random --probability 0.5 -j DROP"]
    );
    let v = buf.ops()[1].value_json();
    assert_eq!(
        v["lossy"],
        json!({"n1": ["n2", "n3"], "n2": ["n1"], "n3": ["n1"]})
    );
    assert_eq!(v["rules"], json!(4));
    assert_eq!(buf.ops()[3].value_json()["removed_rules"], json!(4));
}

#[tokio::test]
async fn clock_bump_and_strobe_write_offsets_and_reset() {
    let (net, nodes) = DoubleNet::new(3);
    let offsets = BTreeMap::from([
        ("n1".to_string(), ClockOffset(30)),
        ("n3".to_string(), ClockOffset(-120)),
    ]);
    let bump = Fault::Clock {
        target: Target::All,
        mode: ClockMode::Bump,
        offsets: Some(offsets.clone()),
        candidates: vec![ClockOffset(30)],
        strobe: None,
    };
    let strobe = Fault::Clock {
        target: Target::All,
        mode: ClockMode::Strobe,
        offsets: Some(offsets),
        candidates: vec![ClockOffset(30)],
        strobe: Some(trial_nemesis::schedule::Strobe {
            period_ms: 1,
            count: 3,
        }),
    };
    let mut actions = pair(0, 0, 30, bump);
    actions.extend(pair(1, 40, 50, strobe));
    let s = plan(3, actions);
    let (tx, rx) = watch::channel(false);
    let (buf, h) = history();
    let nodes2 = nodes.clone();
    let task =
        tokio::spawn(async move { run(&s, nodes2, no_targets(), h, rx, Instant::now()).await });
    while buf.ops().len() < 2 {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    // While bumped, the node's faked clock is off by exactly the offset.
    let env = trial_nemesis::FaketimeEnv::default();
    assert_eq!(
        trial_nemesis::measure_offset(nodes[2].as_ref(), &env)
            .await
            .unwrap(),
        -120
    );
    assert_eq!(net.clock("n1").as_deref(), Some("+30s"));
    assert_eq!(net.clock("n2").as_deref(), Some("+0"));
    task.await.unwrap().unwrap();
    drop(tx);
    let n3: Vec<String> = net
        .calls("n3")
        .into_iter()
        .filter(|c| c.contains("faketimerc") && c.contains("printf"))
        .collect();
    let w = |o: &str| format!("exec sh -c printf '%s\\n' '{o}' > /etc/faketimerc");
    // bump, reset, strobe -120 / +0 / -120, reset.
    assert_eq!(
        n3,
        [
            w("-120s"),
            w("+0"),
            w("-120s"),
            w("+0"),
            w("-120s"),
            w("+0")
        ]
    );
    let ops = buf.ops();
    let v = ops[5].value_json();
    assert_eq!(v["mode"], json!("strobe"));
    assert_eq!(v["writes"], json!(3));
    assert_eq!(v["now"], json!({"n1": "+30s", "n3": "-120s"}));
    assert_eq!(ops[3].value_json()["reset"], json!(["n1", "n3"]));
    assert_eq!(net.clock("n3").as_deref(), Some("+0"));
}

#[tokio::test]
async fn a_failed_action_is_recorded_and_the_run_goes_on() {
    let (_net, nodes) = DoubleNet::new(3);
    let mut actions = pair(0, 0, 1, kill(Target::Controller, None));
    actions.extend(pair(1, 2, 3, pause(Target::One, Some(set(&["n3"])))));
    let (buf, r) = play(&plan(3, actions), nodes, no_targets()).await;
    assert_eq!((r.actions, r.failed_actions), (4, 1));
    let ops = buf.ops();
    assert_eq!(
        ops[1].error.as_deref(),
        Some("node -: no Kafka targeting available (NoTargets)")
    );
    assert_eq!(ops[1].value_json()["target"], json!("controller"));
    assert_eq!(
        ops[3].value_json()["undone"],
        json!("nothing: the start did nothing")
    );
    assert_eq!(ops[5].value_json()["nodes"], json!(["n3"]));
    assert_eq!(ops[7].value_json()["resumed"], json!(["n3"]));
}

/// A partition whose rules fail on one node: the op names the node with
/// the reason, and `applied_grudge` says which part of the grudge is in
/// force (the nodes it hit are read from it).
#[tokio::test]
async fn a_partition_that_failed_on_a_node_records_what_took() {
    let (net, nodes) = DoubleNet::new(3);
    net.fail_when("n1", "-A KTRIAL");
    let grudge = complete_grudge(&[set(&["n1"]), set(&["n2", "n3"])]);
    let s = plan(
        3,
        pair(
            0,
            0,
            1,
            Fault::Partition {
                topology: Topology::One,
                grudge: Some(grudge),
            },
        ),
    );
    let (buf, r) = play(&s, nodes, no_targets()).await;
    assert_eq!(r.failed_actions, 1);
    let v = buf.ops()[1].value_json();
    assert!(
        v["failed"]["n1"].as_str().unwrap().contains("-A KTRIAL"),
        "{v}"
    );
    assert_eq!(v["failed"].as_object().unwrap().len(), 1);
    assert_eq!(
        v["applied_grudge"],
        json!({"n1": [], "n2": ["n1"], "n3": ["n1"]})
    );
    assert_eq!(v["rules"], json!(2));
    // The interval reads the nodes hit from what took: n1 is still cut
    // off (the others drop it).
    assert_eq!(
        trial_histories::faults::nodes_hit(&v.to_string()),
        vec!["n1".to_string()]
    );
    assert!(r.heal.verified);
}

#[tokio::test]
async fn targets_naming_unknown_nodes_fail_the_action() {
    let (net, nodes) = DoubleNet::new(3);
    let targets = StaticTargets {
        controller: Some("broker-7".into()),
        ..Default::default()
    };
    let s = plan(
        3,
        pair(
            0,
            0,
            1,
            Fault::Partition {
                topology: Topology::Controller,
                grudge: None,
            },
        ),
    );
    let (buf, r) = play(&s, nodes, Arc::new(targets)).await;
    assert_eq!(r.failed_actions, 1);
    assert_eq!(
        buf.ops()[1].error.as_deref(),
        Some("target controller resolved to [\"broker-7\"], not nodes of this run (n1,n2,n3)")
    );
    assert!(!net.log().iter().any(|l| l.contains(" -A KTRIAL")));
}

#[tokio::test]
async fn unknown_node_in_the_plan_is_refused_before_acting() {
    let (net, nodes) = DoubleNet::new(3);
    let s = plan(4, vec![]);
    let (buf, e) = play_err(&s, nodes, no_targets()).await;
    assert_eq!(
        e.to_string(),
        "the schedule names node \"n4\", which is not among the nodes given to the runner"
    );
    assert!(buf.ops().is_empty());
    assert!(net.log().is_empty());
}

/// A generated plan of every fault kind, played end to end: every invoke
/// has its info, fault intervals are well nested, heal verifies.
#[tokio::test]
async fn generated_plan_of_all_faults_plays_clean() {
    for seed in 0..4u64 {
        let (net, nodes) = DoubleNet::new(5);
        let o = NemesisOptions {
            interval: Duration::from_millis(5),
            max_concurrent: 3,
            strobe_period: Duration::from_millis(1),
            strobe_count: 4,
            ..NemesisOptions::with_kinds(FaultKinds::all())
        };
        let s = Schedule::generate(
            seed,
            &trial_nemesis::node_names(5),
            Duration::from_millis(300),
            &o,
        )
        .unwrap();
        assert!(s.actions.len() >= 10, "{}", s.render());
        let targets = StaticTargets {
            leaders: BTreeMap::from([(0, "n1".into()), (1, "n3".into())]),
            replicas: BTreeMap::from([(0, vec!["n1".into(), "n2".into(), "n3".into()])]),
            controller: Some("n5".into()),
            coordinators: BTreeMap::from([("kt-txn-0".into(), "n2".into())]),
            group_coordinators: BTreeMap::from([("kt-c1".into(), "n4".into())]),
            zookeeper_leader: None,
        };
        let (buf, r) = play(&s, nodes, Arc::new(targets)).await;
        let ops = buf.ops();
        assert_eq!(ops.len(), 2 * s.actions.len() + 2);
        for (i, a) in s.actions.iter().enumerate() {
            let (inv, info) = (&ops[2 * i], &ops[2 * i + 1]);
            assert_eq!(inv.f.to_string(), a.f());
            assert_eq!(info.f.to_string(), a.f());
            assert_eq!(inv.kind.to_string(), "invoke");
            assert_eq!(info.kind.to_string(), "info");
            assert_eq!(info.value_json()["id"], json!(a.id));
        }
        assert!(r.heal.verified);
        let last: Value = ops.last().unwrap().value_json();
        assert_eq!(last["reason"], json!("end"));
        for n in trial_nemesis::node_names(5) {
            assert!(net.rules(&n).is_empty());
            assert_eq!(net.state(&n), ProcessState::Running);
            assert_eq!(net.clock(&n).as_deref(), Some("+0"));
        }
    }
}

/// A fault may name the process it hits; heal restarts and resumes every
/// process a node reports.
#[tokio::test]
async fn kill_and_pause_name_their_process_and_heal_restarts_every_process() {
    let (net, nodes) = DoubleNet::new(3);
    for n in ["n1", "n2", "n3"] {
        net.add_process(n, ProcessRole::ZooKeeper);
    }
    assert_eq!(
        nodes[0].processes(),
        [ProcessRole::Broker, ProcessRole::ZooKeeper]
    );
    let kill_zk = Fault::Kill {
        target: Target::One,
        nodes: Some(set(&["n2"])),
        process: ProcessRole::ZooKeeper,
    };
    let pause_zk = Fault::Pause {
        target: Target::One,
        nodes: Some(set(&["n3"])),
        process: ProcessRole::ZooKeeper,
    };
    let mut actions = pair(0, 0, 1, kill_zk);
    actions.extend(pair(1, 2, 3, pause_zk));
    let (buf, r) = play(&plan(3, actions), nodes.clone(), no_targets()).await;
    assert_eq!(r.failed_actions, 0);
    let log: Vec<String> = net
        .log()
        .into_iter()
        .filter(|l| !l.contains("exec") && !l.contains("state"))
        .collect();
    assert_eq!(
        log,
        [
            "n2 kill zookeeper",
            "n2 start zookeeper",
            "n3 pause zookeeper",
            "n3 resume zookeeper"
        ]
    );
    let ops = buf.ops();
    assert_eq!(ops[0].value_json()["process"], json!("zookeeper"));
    assert_eq!(ops[1].value_json()["process"], json!("zookeeper"));
    assert_eq!(ops[1].value_json()["nodes"], json!(["n2"]));
    assert_eq!(ops[3].value_json()["started"], json!(["n2"]));
    assert_eq!(ops[7].value_json()["resumed"], json!(["n3"]));
    // A plan that names no process hits the broker and its JSON says nothing.
    let broker = kill(Target::One, Some(set(&["n1"])));
    assert!(!serde_json::to_string(&broker).unwrap().contains("process"));

    // Leftovers on both processes: heal undoes each, and says which.
    net.set_process_state("n1", ProcessRole::ZooKeeper, ProcessState::Dead);
    net.set_state("n1", ProcessState::Paused);
    net.set_process_state("n2", ProcessRole::ZooKeeper, ProcessState::Paused);
    let h = heal_all(&nodes, "test").await;
    assert!(h.verified, "{:?}", h.problems());
    assert_eq!(
        h.nodes["n1"].undone,
        ["resumed broker", "started zookeeper"]
    );
    assert_eq!(h.nodes["n2"].undone, ["resumed zookeeper"]);
    let kinds: Vec<String> = h.healed.iter().map(|k| k.to_string()).collect();
    assert_eq!(kinds, ["kill", "pause"]);
    let v = serde_json::to_value(&h.nodes["n1"]).unwrap();
    assert_eq!(v["state"], json!("running"));
    assert_eq!(
        v["processes"],
        json!({"broker": "running", "zookeeper": "running"})
    );
    for n in ["n1", "n2", "n3"] {
        assert_eq!(
            net.process_state(n, ProcessRole::ZooKeeper),
            ProcessState::Running
        );
    }

    // A process heal cannot see is named in the problems.
    net.fail_when("n3", "state zookeeper");
    let h = heal_all(&nodes, "test").await;
    assert!(!h.verified);
    let p = h.problems().join("; ");
    assert!(p.contains("n3: state zookeeper: "), "{p}");
    assert!(
        p.contains("n3: cannot verify process: state zookeeper: "),
        "{p}"
    );
}
