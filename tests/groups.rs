//! The consumer-group workload against a real 3-node cluster, once per
//! group protocol: 4 members commit synchronously after every poll while
//! the group's coordinator (the leader of its `__consumer_offsets`
//! partition) is killed. The run must end with every acknowledged record
//! consumed by some member, every partition's acknowledged commits never
//! going backwards and the final committed offsets at or above them, one
//! owner per partition and generation, and the coordinator moved by the
//! faults (checked here from the history itself, and by the `group`
//! checker).
//!
//! Needs a Docker engine, debootstrap and Maven (`bash .ci/setup`).

use kafka_trial::clients::GroupProtocol;
use kafka_trial::trial::{run, TestSpec};
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};
use trial_histories::values::{Commit, Committed, Poll, Send};
use trial_histories::{read_history, OpType, Process, F};
use trial_nemesis::NemesisOptions;

fn store(tag: &str) -> std::path::PathBuf {
    let p = std::env::temp_dir().join(format!("kafka-trial-groups-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&p).unwrap();
    p
}

/// What Kafka promises a group that commits after processing.
const FORBIDDEN: &[&str] = &[
    "group-skip",
    "unprocessed-skip",
    "commit-regression",
    "lost-commit",
    "double-ownership",
    "lost-write",
];

async fn group_through_coordinator_kills(protocol: GroupProtocol, seed: u64) {
    let _serial = kafka_trial::testing::serial().await;
    let t0 = Instant::now();
    let tag = protocol.as_str();
    let mut spec = TestSpec::new(&format!("group-{tag}"))
        .workload("group")
        .nodes(3)
        .replication_factor(3)
        .min_insync_replicas(2)
        .acks_all()
        .idempotence(true)
        .partitions(8)
        .time_limit(Duration::from_secs(30))
        .rate(150.0)
        .concurrency(4)
        .seed(seed)
        .store(store(tag));
    spec.senders = 16;
    spec.crash_probability = 0.0;
    spec.group.protocol = protocol;
    let mut o: NemesisOptions = spec.cluster.timing.nemesis_defaults();
    o.kinds = "kill".parse().unwrap();
    o.kill_targets = trial_nemesis::parse_list("group-coordinator").unwrap();
    o.interval = Duration::from_secs(6);
    o.min_fault_duration = Duration::from_secs(4);
    let spec = spec.nemesis_options(o);
    let report = run(spec).await.expect("the trial runs");
    eprintln!(
        "{tag}: trial in {:.0}s: {}",
        t0.elapsed().as_secs_f64(),
        report.results.summary
    );
    let h = read_history(&report.run_dir.join("history.jsonl")).unwrap();

    // Every acknowledged record was consumed (processed) by some member.
    let acked: BTreeSet<u64> = h
        .ops
        .iter()
        .filter(|o| o.f == F::Send && o.kind == OpType::Ok)
        .map(|o| o.value_as::<Send>().unwrap().value)
        .collect();
    let mut consumed = BTreeSet::new();
    for o in &h.ops {
        if o.f == F::Poll && o.kind == OpType::Ok && matches!(o.process, Process::Worker(_)) {
            let p: Poll = o.value_as().unwrap();
            if !p.unprocessed {
                consumed.extend(p.records.iter().map(|r| r.value));
            }
        }
    }
    assert!(
        acked.len() > 500,
        "{tag}: only {} acknowledged",
        acked.len()
    );
    let missing: Vec<&u64> = acked.difference(&consumed).take(10).collect();
    assert!(
        missing.is_empty(),
        "{tag}: acknowledged but never consumed: {missing:?}"
    );

    // Acknowledged commits per partition, in completion order, never go
    // backwards within a member, and the final committed offset covers them.
    let mut best: BTreeMap<i32, i64> = BTreeMap::new();
    let mut per_member: BTreeMap<(Process, i32), i64> = BTreeMap::new();
    let mut oks = 0;
    for o in h
        .ops
        .iter()
        .filter(|o| o.f == F::Commit && o.kind == OpType::Ok)
    {
        oks += 1;
        let c: Commit = o.value_as().unwrap();
        assert!(c.generation.is_some(), "{tag}: a commit without generation");
        for (p, off) in c.offsets {
            let last = per_member.entry((o.process.clone(), p)).or_insert(off);
            assert!(
                off >= *last,
                "{tag}: {} committed {p}@{off} after {last}",
                o.process
            );
            *last = off;
            let b = best.entry(p).or_insert(off);
            *b = (*b).max(off);
        }
    }
    assert!(oks >= 20, "{tag}: only {oks} acknowledged commits");
    let committed: Committed = h
        .ops
        .iter()
        .find(|o| o.f == F::Committed && o.kind == OpType::Ok)
        .expect("the group's committed offsets were read after heal")
        .value_as()
        .unwrap();
    let fin: BTreeMap<i32, i64> = committed.offsets.into_iter().collect();
    for (p, b) in &best {
        let f = fin.get(p).copied().unwrap_or(-1);
        assert!(
            f >= *b,
            "{tag}: partition {p} committed {f} after heal, {b} acknowledged"
        );
    }

    // Rebalances were recorded with generations.
    let rebalances = h.ops.iter().filter(|o| o.f == F::Rebalance).count();
    assert!(rebalances >= 4, "{tag}: {rebalances} rebalance events");

    // The faults hit the coordinator and moved it.
    let coordinators: Vec<i64> = h
        .ops
        .iter()
        .filter(|o| o.f == F::Observe && o.kind == OpType::Ok)
        .filter_map(|o| {
            let v = o.value_json();
            let g = v.get("groups")?.as_object()?.values().next()?.clone();
            g.get("coordinator")?.as_i64()
        })
        .collect();
    let moves = coordinators.windows(2).filter(|w| w[0] != w[1]).count();
    assert!(
        moves >= 1,
        "{tag}: the group coordinator never moved ({coordinators:?})"
    );

    // The checkers agree: nothing Kafka forbids here.
    for c in FORBIDDEN {
        assert_eq!(
            report.anomaly(c),
            0,
            "{tag}: {c}: {}",
            report.results.human_summary(3)
        );
    }
    let doc = serde_json::to_value(&report.results).unwrap();
    let group = &doc["checkers"]["group"];
    assert_eq!(group["applicable"], true, "{tag}: {group}");
    eprintln!("{tag}: {}", group["summary"]);
    kafka_trial::testing::assert_no_leftovers(&report.cluster_id).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_classic_group_through_coordinator_kills_keeps_at_least_once() {
    group_through_coordinator_kills(GroupProtocol::Classic, 5).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_kip848_group_through_coordinator_kills_keeps_at_least_once() {
    group_through_coordinator_kills(GroupProtocol::Consumer, 6).await;
}
