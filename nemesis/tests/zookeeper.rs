//! The nemesis on a ZooKeeper-mode cluster: plans that know the ensemble
//! (`zk-*` targets pick its members and name the `zookeeper` process,
//! broker-side targets and the classic topologies never touch it, the
//! `zk-*` topologies cut brokers from it), refusals without an ensemble,
//! and ZooKeeper faults played on the simulated cluster through heal.

mod common;

use common::*;
use proptest::prelude::*;
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;
use trial_nemesis::double::DoubleNet;
use trial_nemesis::grudge::{components_of, is_symmetric, sees};
use trial_nemesis::topology::{build_with_zookeeper, isolate_with_zookeeper};
use trial_nemesis::{
    node_names, Action, Fault, FaultKinds, NemesisOptions, Phase, PlanError, ProcessRole,
    ProcessState, Schedule, StaticTargets, Target, Topology,
};

fn zk_names(k: usize) -> Vec<String> {
    (1..=k).map(|i| format!("z{i}")).collect()
}

fn opts(kinds: &str) -> NemesisOptions {
    NemesisOptions::with_kinds(kinds.parse().unwrap())
}

fn plan(seed: u64, n: usize, k: usize, o: &NemesisOptions) -> Result<Schedule, PlanError> {
    Schedule::generate_with_zookeeper(
        seed,
        &node_names(n),
        &zk_names(k),
        Duration::from_secs(200),
        o,
    )
}

fn within(nodes: &BTreeSet<String>, pool: &[String]) -> bool {
    nodes.iter().all(|n| pool.contains(n))
}

/// Check one planned fault of a run with brokers `n1..nN` and members
/// `z1..zK`: who it picks, which process, what the grudge cuts.
fn check_fault(f: &Fault, n: usize, k: usize) -> Result<(), TestCaseError> {
    let (brokers, zk) = (node_names(n), zk_names(k));
    match f {
        Fault::Kill {
            target,
            nodes,
            process,
        }
        | Fault::Pause {
            target,
            nodes,
            process,
        } => {
            let pool = if target.is_zookeeper() { &zk } else { &brokers };
            prop_assert_eq!(*process, target.process());
            prop_assert_eq!(
                *process == ProcessRole::ZooKeeper,
                target.is_zookeeper(),
                "{:?}",
                f
            );
            prop_assert_eq!(nodes.as_ref().map(|x| x.len()), target.count(pool.len()));
            if let Some(ns) = nodes {
                prop_assert!(within(ns, pool), "{:?} outside its pool", f);
            }
        }
        Fault::Loss { target, nodes, .. }
        | Fault::LoseUnfsynced { target, nodes }
        | Fault::PowerLoss { target, nodes } => {
            prop_assert!(!target.is_zookeeper());
            if let Some(ns) = nodes {
                prop_assert!(within(ns, &brokers), "{:?}", f);
            }
        }
        Fault::Clock {
            target, offsets, ..
        } => {
            prop_assert!(!target.is_zookeeper());
            if let Some(o) = offsets {
                prop_assert!(o.keys().all(|x| brokers.contains(x)), "{:?}", f);
            }
        }
        Fault::Partition { topology, grudge } => {
            prop_assert_eq!(grudge.is_some(), !topology.is_dynamic());
            let Some(g) = grudge else {
                return Ok(());
            };
            prop_assert!(is_symmetric(g));
            let keys: Vec<String> = g.keys().cloned().collect();
            let mut all: Vec<String> = brokers.iter().chain(&zk).cloned().collect();
            all.sort();
            prop_assert_eq!(keys, all, "every node is a key");
            match topology {
                Topology::ZkAllBrokers => {
                    let comps = components_of(g).expect("a clean cut");
                    let b: BTreeSet<String> = brokers.iter().cloned().collect();
                    let z: BTreeSet<String> = zk.iter().cloned().collect();
                    prop_assert_eq!(comps, vec![b, z]);
                }
                Topology::ZkOneBroker => {
                    let cut: Vec<&String> = brokers.iter().filter(|b| !g[*b].is_empty()).collect();
                    prop_assert_eq!(cut.len(), 1);
                    let z: BTreeSet<String> = zk.iter().cloned().collect();
                    prop_assert_eq!(&g[cut[0]], &z);
                    for m in &zk {
                        prop_assert_eq!(&g[m], &BTreeSet::from([cut[0].clone()]));
                    }
                }
                _ => {
                    // A classic cut: among brokers only, every member hears all.
                    for m in &zk {
                        prop_assert!(g[m].is_empty(), "{} drops {:?}", m, g[m]);
                        prop_assert_eq!(sees(g, m).len(), n + k);
                    }
                    for b in &brokers {
                        prop_assert!(within(&g[b], &brokers));
                    }
                }
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    #[test]
    fn ensemble_plans_pick_the_right_members(
        seed in any::<u64>(),
        n in 3usize..=6,
        k in 1usize..=5,
        max in 1usize..=3,
    ) {
        let o = NemesisOptions {
            max_concurrent: max,
            ..NemesisOptions::with_kinds(FaultKinds::all())
        };
        let s = plan(seed, n, k, &o).unwrap();
        prop_assert_eq!(&s, &plan(seed, n, k, &o).unwrap());
        prop_assert_eq!(&s.zookeeper, &zk_names(k));
        prop_assert_eq!(Schedule::from_json(&s.to_json()).unwrap(), s.clone());
        for a in &s.actions {
            check_fault(&a.fault, n, k)?;
        }
    }

    #[test]
    fn every_classic_topology_leaves_the_ensemble_connected(
        seed in any::<u64>(),
        n in 3usize..=7,
        k in 0usize..=5,
    ) {
        use rand::SeedableRng;
        for t in Topology::CLASSIC.into_iter().filter(|t| !t.is_dynamic()) {
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
            let g = build_with_zookeeper(t, &node_names(n), &zk_names(k), &mut rng).unwrap();
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
            let classic = trial_nemesis::topology::build(t, &node_names(n), &mut rng).unwrap();
            // The brokers' cut is the classic one, drawn the same way.
            let mut brokers_only = g.clone();
            brokers_only.retain(|x, _| !x.starts_with('z'));
            prop_assert_eq!(brokers_only, classic);
            for m in zk_names(k) {
                prop_assert!(g[&m].is_empty());
                prop_assert_eq!(sees(&g, &m).len(), n + k);
            }
        }
    }
}

/// The defaults of a run with an ensemble draw `zk-one`, `zk-leader` and
/// the three `zk-*` topologies (never `zk-majority`, which is the user's
/// to ask for); a run without one draws none of them.
#[test]
fn defaults_with_an_ensemble_add_the_zookeeper_targets_and_topologies() {
    let o = opts("partition,kill,pause");
    let mut targets = BTreeSet::new();
    let mut topologies = BTreeSet::new();
    for seed in 0..40 {
        for a in plan(seed, 5, 3, &o).unwrap().actions {
            match a.fault {
                Fault::Kill { target, .. } | Fault::Pause { target, .. } => {
                    targets.insert(target);
                }
                Fault::Partition { topology, .. } => {
                    topologies.insert(topology);
                }
                _ => {}
            }
        }
    }
    let expected: BTreeSet<Target> = Target::DEFAULTS
        .into_iter()
        .chain(Target::ZOOKEEPER_DEFAULTS)
        .collect();
    assert_eq!(targets, expected);
    let expected: BTreeSet<Topology> = Topology::CLASSIC
        .into_iter()
        .chain(Topology::ZOOKEEPER)
        .collect();
    assert_eq!(topologies, expected);
    assert_eq!(
        o.kill_targets_for(3),
        [&Target::DEFAULTS[..], &[Target::ZkOne, Target::ZkLeader]].concat()
    );
    assert_eq!(o.kill_targets_for(0), Target::DEFAULTS);
    assert_eq!(o.topologies_for(0), Topology::CLASSIC);
    assert_eq!(o.topologies_for(1).len(), 10);

    // A list the user gave is used as given.
    let o = NemesisOptions {
        kill_targets: vec![Target::One],
        pause_targets: vec![Target::ZkMajority],
        topologies: vec![Topology::Halves],
        ..opts("partition,kill,pause")
    };
    for a in plan(1, 5, 3, &o).unwrap().actions {
        match &a.fault {
            Fault::Kill {
                target, process, ..
            } => assert_eq!((*target, *process), (Target::One, ProcessRole::Broker)),
            Fault::Pause {
                target,
                nodes,
                process,
            } => {
                assert_eq!(
                    (*target, *process),
                    (Target::ZkMajority, ProcessRole::ZooKeeper)
                );
                assert_eq!(nodes.as_ref().unwrap().len(), 2, "2 of 3");
            }
            Fault::Partition { topology, .. } => assert_eq!(*topology, Topology::Halves),
            f => panic!("{f:?}"),
        }
    }
}

/// Without an ensemble, the old plans: the same bytes, no `zookeeper`.
#[test]
fn without_an_ensemble_the_plans_are_the_old_ones() {
    let o = NemesisOptions {
        max_concurrent: 2,
        ..NemesisOptions::with_kinds(FaultKinds::all())
    };
    for seed in 0..10 {
        let old = Schedule::generate(seed, &node_names(5), Duration::from_secs(200), &o).unwrap();
        let new = plan(seed, 5, 0, &o).unwrap();
        assert_eq!(old.to_json(), new.to_json());
        assert!(!new.to_json().contains("zookeeper"));
    }
    // An old plan's JSON reads with an empty ensemble.
    let old =
        Schedule::generate(3, &node_names(3), Duration::from_secs(60), &opts("kill")).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&old.to_json()).unwrap();
    assert!(v.get("zookeeper").is_none());
    v["zookeeper"] = json!(["z1"]);
    let back: Schedule = serde_json::from_value(v).unwrap();
    assert_eq!(back.zookeeper, ["z1"]);
}

#[test]
fn the_plan_says_which_nodes_are_the_ensemble() {
    let o = NemesisOptions {
        kill_targets: vec![Target::ZkOne],
        ..opts("kill")
    };
    let s = plan(5, 3, 3, &o).unwrap();
    let r = s.render();
    assert!(
        r.starts_with("nemesis plan: seed 5, nodes n1 n2 n3, zookeeper z1 z2 z3, fault period"),
        "{r}"
    );
    assert!(
        r.contains("start kill      #0   zookeeper of zk-one: z"),
        "{r}"
    );
    assert!(
        s.to_json().contains("\"zookeeper\": [\n    \"z1\""),
        "{}",
        s.to_json()
    );
    let kill = &s.actions[0].fault;
    let json = serde_json::to_string(kill).unwrap();
    assert!(
        json.starts_with(r#"{"kind":"kill","target":"zk-one","nodes":["z"#)
            && json.ends_with(r#""],"process":"zookeeper"}"#),
        "{json}"
    );
}

/// A run without an ensemble that names a `zk-*` target or topology is
/// refused before anything starts; `zk-*` targets are for kill and pause.
#[test]
fn zookeeper_names_without_an_ensemble_are_refused() {
    let cases: Vec<(NemesisOptions, &str)> = vec![
        (
            NemesisOptions {
                kill_targets: vec![Target::One, Target::ZkLeader],
                ..opts("kill")
            },
            "kill targets \"zk-leader\" is invalid: it names ZooKeeper servers, and this run has no ZooKeeper ensemble (KRaft mode)",
        ),
        (
            NemesisOptions {
                pause_targets: vec![Target::ZkMajority],
                ..opts("pause")
            },
            "pause targets \"zk-majority\" is invalid: it names ZooKeeper servers, and this run has no ZooKeeper ensemble (KRaft mode)",
        ),
        (
            NemesisOptions {
                topologies: vec![Topology::Halves, Topology::ZkOneBroker],
                ..opts("partition")
            },
            "partition topology \"zk-one-broker\" is invalid: it cuts brokers from ZooKeeper, and this run has no ZooKeeper ensemble (KRaft mode)",
        ),
    ];
    for (o, want) in cases {
        let e = plan(1, 5, 0, &o).unwrap_err();
        assert_eq!(e.to_string(), want);
        assert_eq!(o.validate(5).unwrap_err().to_string(), want);
        assert!(plan(1, 5, 3, &o).is_ok(), "{want}: fine with an ensemble");
        assert!(o.validate_with_zookeeper(5, 3).is_ok());
    }
    // Other kinds never take a zk-* target, ensemble or not.
    for (o, what) in [
        (
            NemesisOptions {
                loss_targets: vec![Target::ZkOne],
                ..opts("loss")
            },
            "loss targets",
        ),
        (
            NemesisOptions {
                clock_targets: vec![Target::ZkLeader],
                ..opts("clock")
            },
            "clock targets",
        ),
        (
            NemesisOptions {
                power_loss_targets: vec![Target::ZkMajority],
                ..opts("power-loss")
            },
            "power-loss targets",
        ),
        (
            NemesisOptions {
                lose_unfsynced_targets: vec![Target::ZkOne],
                ..opts("lose-unfsynced")
            },
            "lose-unfsynced targets",
        ),
    ] {
        let e = plan(1, 5, 3, &o).unwrap_err().to_string();
        assert!(e.starts_with(what), "{e}");
        assert!(e.contains("for kill and pause only"), "{e}");
    }
    // Names of the ensemble must not repeat the brokers'.
    let e = Schedule::generate_with_zookeeper(
        1,
        &node_names(3),
        &["n2".to_string()],
        Duration::from_secs(30),
        &opts("kill"),
    )
    .unwrap_err();
    assert!(e.to_string().contains("unique"), "{e}");
}

#[test]
fn zookeeper_names_parse() {
    let t: Vec<Target> = trial_nemesis::parse_list("one, zk-one,zk-majority ,zk-leader").unwrap();
    assert_eq!(
        t,
        [
            Target::One,
            Target::ZkOne,
            Target::ZkMajority,
            Target::ZkLeader
        ]
    );
    assert_eq!(Target::ZkMajority.count(3), Some(2));
    assert_eq!(Target::ZkMajority.count(5), Some(3));
    assert_eq!(Target::ZkOne.count(3), Some(1));
    assert_eq!(Target::ZkLeader.count(3), None);
    assert!(Target::ZkLeader.is_dynamic() && !Target::ZkOne.is_dynamic());
    let t: Vec<Topology> =
        trial_nemesis::parse_list("zk-all-brokers,zk-one-broker,zk-leader").unwrap();
    assert_eq!(t, Topology::ZOOKEEPER);
    for t in Topology::ALL {
        assert_eq!(t.name().parse::<Topology>().unwrap(), t);
        assert_eq!(t.needs_zookeeper(), t.name().starts_with("zk-"));
    }
    for t in Target::ALL {
        assert_eq!(t.name().parse::<Target>().unwrap(), t);
        assert_eq!(t.is_zookeeper(), t.name().starts_with("zk-"));
    }
    let e = "zk-two".parse::<Target>().unwrap_err().to_string();
    assert!(e.contains("zk-one, zk-majority, zk-leader"), "{e}");
}

#[test]
fn the_dynamic_cuts_with_an_ensemble() {
    let (b, z) = (node_names(3), zk_names(3));
    // `controller` (and `primaries`): among brokers; the ensemble hears all.
    let g = isolate_with_zookeeper(Topology::Controller, &b, &z, &set(&["n2"]));
    assert_eq!(g["n2"], set(&["n1", "n3"]));
    assert_eq!(g["n1"], set(&["n2"]));
    assert!(z.iter().all(|m| g[m].is_empty()));
    // `zk-leader`: the leader alone, from members and brokers alike.
    let g = isolate_with_zookeeper(Topology::ZkLeader, &b, &z, &set(&["z2"]));
    assert_eq!(g["z2"], set(&["n1", "n2", "n3", "z1", "z3"]));
    assert_eq!(g["n1"], set(&["z2"]));
    assert_eq!(g["z1"], set(&["z2"]));
    assert_eq!(trial_nemesis::grudge::render(&g), "n1,n2,n3,z1,z3 | z2");
}

#[test]
fn the_zookeeper_cuts_render_as_they_are() {
    use rand::SeedableRng;
    let (b, z) = (node_names(3), zk_names(3));
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
    let g = build_with_zookeeper(Topology::ZkAllBrokers, &b, &z, &mut rng).unwrap();
    assert_eq!(trial_nemesis::grudge::render(&g), "n1,n2,n3 | z1,z2,z3");
    let g = build_with_zookeeper(Topology::ZkOneBroker, &b, &z, &mut rng).unwrap();
    let cut = b.iter().find(|x| !g[*x].is_empty()).unwrap().clone();
    let others: Vec<&str> = b
        .iter()
        .filter(|x| **x != cut)
        .map(String::as_str)
        .collect();
    assert_eq!(
        trial_nemesis::grudge::render(&g),
        format!("{cut} | z1,z2,z3 (bridged by {})", others.join(","))
    );
    let e = build_with_zookeeper(Topology::ZkOneBroker, &b, &[], &mut rng).unwrap_err();
    assert!(e.to_string().contains("no ZooKeeper ensemble"), "{e}");
}

fn zk_plan(actions: Vec<Action>) -> Schedule {
    Schedule {
        zookeeper: zk_names(3),
        ..common::plan(3, actions)
    }
}

fn start_only(fault: Fault) -> Vec<Action> {
    vec![Action {
        at_ms: 0,
        id: 0,
        phase: Phase::Start,
        seed: 7,
        fault,
    }]
}

fn zk_targets(leader: &str) -> Arc<StaticTargets> {
    Arc::new(StaticTargets {
        controller: Some("n1".into()),
        leaders: BTreeMap::from([(0, "n2".into())]),
        zookeeper_leader: Some(leader.into()),
        ..Default::default()
    })
}

/// Calls other than commands and state checks: the signals and restarts.
fn signals(net: &DoubleNet) -> Vec<String> {
    net.log()
        .into_iter()
        .filter(|l| !l.contains(" exec ") && !l.contains(" state"))
        .collect()
}

/// A zk kill played end to end: stop starts the ZooKeeper server again;
/// one left dead (no stop) is started by heal.
#[tokio::test]
async fn zk_kill_is_undone_by_its_stop_and_by_heal() {
    let (net, nodes) = DoubleNet::with_zookeeper(3, 3);
    assert_eq!(nodes[0].name(), "z1");
    assert_eq!(nodes[0].processes(), [ProcessRole::ZooKeeper]);
    assert_eq!(nodes[3].processes(), [ProcessRole::Broker]);
    let fault = Fault::Kill {
        target: Target::ZkOne,
        nodes: Some(set(&["z2"])),
        process: ProcessRole::ZooKeeper,
    };
    let (buf, r) = play(
        &zk_plan(pair(0, 0, 1, fault.clone())),
        nodes.clone(),
        no_targets(),
    )
    .await;
    assert_eq!(r.failed_actions, 0);
    assert_eq!(signals(&net), ["z2 kill zookeeper", "z2 start zookeeper"]);
    let ops = buf.ops();
    assert_eq!(
        ops[1].value_json(),
        json!({"target": "zk-one", "nodes": ["z2"], "process": "zookeeper", "id": 0})
    );
    assert_eq!(ops[3].value_json()["started"], json!(["z2"]));

    // Killed and never stopped: heal starts it, and says so.
    net.clear_log();
    let (buf, r) = play(&zk_plan(start_only(fault)), nodes, no_targets()).await;
    assert!(r.heal.verified);
    assert_eq!(signals(&net), ["z2 kill zookeeper", "z2 start zookeeper"]);
    assert_eq!(r.heal.nodes["z2"].undone, ["started zookeeper"]);
    let heal = buf.ops().last().unwrap().value_json();
    assert_eq!(heal["healed"], json!(["kill"]));
    assert_eq!(
        net.process_state("z2", ProcessRole::ZooKeeper),
        ProcessState::Running
    );
}

/// `zk-leader` is asked of `Targets` when applied: a pause of the leader
/// left in force is resumed by heal; a leader that is not a member, or no
/// answer, fails the action (recorded) and touches nothing.
#[tokio::test]
async fn zk_leader_pause_is_resolved_when_applied_and_healed() {
    let (net, nodes) = DoubleNet::with_zookeeper(3, 3);
    let fault = Fault::Pause {
        target: Target::ZkLeader,
        nodes: None,
        process: ProcessRole::ZooKeeper,
    };
    let (buf, r) = play(
        &zk_plan(start_only(fault.clone())),
        nodes.clone(),
        zk_targets("z3"),
    )
    .await;
    assert_eq!(r.failed_actions, 0);
    assert_eq!(signals(&net), ["z3 pause zookeeper", "z3 resume zookeeper"]);
    assert_eq!(
        buf.ops()[1].value_json(),
        json!({"target": "zk-leader", "nodes": ["z3"], "process": "zookeeper", "id": 0})
    );
    assert_eq!(r.heal.nodes["z3"].undone, ["resumed zookeeper"]);
    assert!(r.heal.verified);

    for (targets, why) in [
        (
            zk_targets("n1"),
            "the ZooKeeper leader \"n1\" is not a member of this run's ensemble (z1,z2,z3)",
        ),
        (
            Arc::new(StaticTargets::default()),
            "no ZooKeeper leader known",
        ),
    ] {
        net.clear_log();
        let (buf, r) = play(
            &zk_plan(pair(0, 0, 1, fault.clone())),
            nodes.clone(),
            targets,
        )
        .await;
        assert_eq!(r.failed_actions, 1);
        assert_eq!(buf.ops()[1].error.as_deref(), Some(why));
        assert!(signals(&net).is_empty(), "{:?}", net.log());
    }
    // A run whose schedule has no ensemble cannot aim at one.
    let (buf, _) = play(
        &common::plan(3, pair(0, 0, 1, fault)),
        nodes,
        zk_targets("z3"),
    )
    .await;
    assert_eq!(
        buf.ops()[1].error.as_deref(),
        Some("target zk-leader names ZooKeeper servers, and this run has no ZooKeeper ensemble")
    );
}

/// The `zk-leader` cut and a classic dynamic cut, played: the rules are
/// inside the nodes the grudge names, and none in the ensemble for the
/// classic one.
#[tokio::test]
async fn zookeeper_partitions_put_the_rules_where_the_grudge_says() {
    let (net, nodes) = DoubleNet::with_zookeeper(3, 3);
    let leader_cut = Fault::Partition {
        topology: Topology::ZkLeader,
        grudge: None,
    };
    let (buf, r) = play(
        &zk_plan(pair(0, 0, 1, leader_cut)),
        nodes.clone(),
        zk_targets("z1"),
    )
    .await;
    assert_eq!(r.failed_actions, 0);
    let info = buf.ops()[1].value_json();
    assert_eq!(info["isolated"], json!(["z1"]));
    assert_eq!(info["rules"], json!(10));
    assert_eq!(info["grudge"]["z1"], json!(["n1", "n2", "n3", "z2", "z3"]));
    assert_eq!(info["grudge"]["n2"], json!(["z1"]));
    // z1 dropped everyone during the fault; after its stop no rule is left.
    assert!(net
        .calls("z1")
        .iter()
        .any(|c| c == "exec iptables -w -A KTRIAL -s 10.0.0.2 -j DROP"));
    for n in nodes.iter() {
        assert!(net.rules(n.name()).is_empty());
    }

    net.clear_log();
    let controller_cut = Fault::Partition {
        topology: Topology::Controller,
        grudge: None,
    };
    let (buf, _) = play(
        &zk_plan(pair(0, 0, 1, controller_cut)),
        nodes,
        zk_targets("z1"),
    )
    .await;
    let info = buf.ops()[1].value_json();
    assert_eq!(info["rules"], json!(4), "n1 from n2, n3 and back");
    for m in zk_names(3) {
        assert_eq!(info["grudge"][&m], json!([]));
        assert!(
            !net.calls(&m).iter().any(|c| c.contains("-A KTRIAL")),
            "{m}: {:?}",
            net.calls(&m)
        );
    }
}

/// A generated plan with an ensemble, every kind, played end to end on the
/// simulated cluster: no action fails (one fault at a time: overlapping
/// ones may meet a broker another killed), no broker process is asked of a
/// member (nor a ZooKeeper process of a broker), heal verifies.
#[tokio::test]
async fn generated_plan_with_an_ensemble_plays_clean() {
    let mut zk_signals = 0;
    for seed in 0..6u64 {
        let (net, nodes) = DoubleNet::with_zookeeper(5, 3);
        let o = NemesisOptions {
            interval: Duration::from_millis(5),
            max_concurrent: 1,
            strobe_period: Duration::from_millis(1),
            strobe_count: 4,
            kill_targets: [&Target::DEFAULTS[..], &[Target::ZkMajority]].concat(),
            ..NemesisOptions::with_kinds(FaultKinds::all())
        };
        let s = Schedule::generate_with_zookeeper(
            seed,
            &node_names(5),
            &zk_names(3),
            Duration::from_millis(300),
            &o,
        )
        .unwrap();
        assert!(s.actions.len() >= 10, "{}", s.render());
        let targets = Arc::new(StaticTargets {
            leaders: BTreeMap::from([(0, "n1".into()), (1, "n3".into())]),
            replicas: BTreeMap::from([(0, vec!["n1".into(), "n2".into(), "n3".into()])]),
            controller: Some("n5".into()),
            coordinators: BTreeMap::from([("kt-txn-0".into(), "n2".into())]),
            group_coordinators: BTreeMap::from([("kt-c1".into(), "n3".into())]),
            zookeeper_leader: Some("z2".into()),
        });
        let (buf, r) = play(&s, nodes, targets).await;
        let errors: Vec<String> = buf.ops().iter().filter_map(|o| o.error.clone()).collect();
        assert!(errors.is_empty(), "{errors:?}\n{}", s.render());
        assert!(r.heal.verified);
        for line in net.log() {
            let (node, call) = line.split_once(' ').unwrap();
            let zk_call = call.ends_with(" zookeeper");
            let signal = ["kill", "start", "pause", "resume", "drop-unfsynced"]
                .iter()
                .any(|w| call.starts_with(w));
            if signal {
                assert_eq!(node.starts_with('z'), zk_call, "{line}");
                zk_signals += usize::from(zk_call);
            }
        }
        for m in zk_names(3) {
            assert_eq!(
                net.process_state(&m, ProcessRole::ZooKeeper),
                ProcessState::Running
            );
            assert_eq!(net.clock(&m).as_deref(), Some("+0"), "{m}: no clock fault");
        }
    }
    assert!(
        zk_signals > 0,
        "the plans killed or paused a ZooKeeper server"
    );
}
