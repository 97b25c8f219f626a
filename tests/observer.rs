//! The cluster observer against a real 3-node KRaft cluster: it records the
//! first state (a leader and epoch per partition, the controller and its
//! epoch), and when the leader of partition 0 is SIGKILLed it records the
//! fault biting — a new leader with a higher epoch, the killed broker
//! unreachable and (Kafka 4.x) fenced — and then the broker back in the ISR.
//!
//! Needs a Docker engine, debootstrap and Maven (`bash .ci/setup`).

use kafka_protocol::messages::ApiKey;
use kafka_trial::cluster::Cluster;
use kafka_trial::kafka::{admin, ClusterSpec};
use kafka_trial::observer::wire::Conn;
use kafka_trial::observer::{sample_once, Observer, ObserverConfig, Snapshot};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};
use trial_histories::{read_history, HistoryWriter, OpType, Process};
use trial_nemesis::{Node, ProcessRole};

/// The `observe` ok snapshots written so far, in order.
fn observed(path: &Path) -> Vec<Snapshot> {
    let Ok(h) = read_history(path) else {
        return vec![];
    };
    h.ops
        .iter()
        .filter(|o| o.process == Process::Named("observer".into()) && o.kind == OpType::Ok)
        .filter_map(|o| o.value_as::<Snapshot>().ok())
        .collect()
}

/// Wait (bounded) until a snapshot recorded at position `from` or later
/// satisfies `pred`; its position and itself.
async fn wait_for(
    path: &Path,
    what: &str,
    from: usize,
    limit: Duration,
    pred: impl Fn(&Snapshot) -> bool,
) -> (usize, Snapshot) {
    let t = Instant::now();
    loop {
        if let Some(found) = observed(path)
            .into_iter()
            .enumerate()
            .skip(from)
            .find(|(_, s)| pred(s))
        {
            eprintln!("{what}: seen after {:.1}s", t.elapsed().as_secs_f64());
            return found;
        }
        if t.elapsed() > limit {
            let last = observed(path).pop();
            panic!("{what}: not observed within {limit:?}; last snapshot: {last:?}");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_observer_records_a_leader_kill_biting_and_the_broker_rejoining() {
    let _serial = kafka_trial::testing::serial().await;
    let t0 = Instant::now();
    let cluster = Cluster::start(ClusterSpec {
        nodes: 3,
        replication_factor: 3,
        min_insync_replicas: 2,
        // Fence a dead broker within seconds, so the test stays short.
        broker_overrides: [
            ("broker.session.timeout.ms".to_string(), "3000".to_string()),
            (
                "broker.heartbeat.interval.ms".to_string(),
                "500".to_string(),
            ),
        ]
        .into(),
        ..Default::default()
    })
    .await
    .expect("cluster starts");
    eprintln!(
        "cluster {} (Kafka {}) ready in {:.1}s",
        cluster.id,
        cluster.dist.version,
        t0.elapsed().as_secs_f64()
    );
    let topic = "observed";
    admin::create_topic(
        &cluster.bootstrap_servers(),
        topic,
        3,
        3,
        &[],
        Duration::from_secs(60),
    )
    .await
    .expect("topic created with a full ISR");

    let cfg = ObserverConfig::for_cluster(&cluster, topic);
    let once = sample_once(&cfg).await.expect("one sample reads");
    eprintln!("one sample: {}", serde_json::to_string(&once).unwrap());
    assert_eq!(once.partitions.len(), 3);
    assert!(once.errors.is_empty(), "{:?}", once.errors);
    // What this Kafka speaks (for the record in the test log).
    for (what, node) in [
        ("broker", &cfg.brokers[0]),
        ("controller", &cfg.controllers[0]),
    ] {
        let c = Conn::open(node.addr, Duration::from_secs(2))
            .await
            .expect("ApiVersions");
        let v = |k: ApiKey| c.versions.get(&(k as i16)).copied();
        eprintln!(
            "{what} {}: Metadata {:?} DescribeTopicPartitions {:?} DescribeCluster {:?} DescribeQuorum {:?}; features {:?}",
            node.name,
            v(ApiKey::Metadata),
            v(ApiKey::DescribeTopicPartitions),
            v(ApiKey::DescribeCluster),
            v(ApiKey::DescribeQuorum),
            c.features
        );
    }

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.jsonl");
    let history = Arc::new(HistoryWriter::create(&path).unwrap());
    let observer = Observer::spawn(cfg, history.clone());

    // The first snapshot: a leader and an epoch for every partition, the controller.
    let (_, first) = wait_for(&path, "first snapshot", 0, Duration::from_secs(10), |_| {
        true
    })
    .await;
    assert_eq!(
        first
            .partitions
            .iter()
            .map(|p| p.partition)
            .collect::<Vec<_>>(),
        [0, 1, 2]
    );
    for p in &first.partitions {
        assert!(p.leader >= 1 && p.epoch >= 0, "partition {p:?}");
        assert_eq!(p.replicas.len(), 3);
        assert_eq!(p.isr.len(), 3);
    }
    let ctl = first.controller.expect("controller known");
    assert!(ctl.id >= 1 && ctl.epoch >= 1, "{ctl:?}");
    assert_eq!(first.brokers.len(), 3);
    assert!(first.unreachable.is_empty());
    let fenced_known = first.fenced.is_some();
    eprintln!("first: {}", serde_json::to_string(&first).unwrap());

    // SIGKILL the leader of partition 0.
    let p0 = first.partition(0).unwrap().clone();
    let victim_name = cluster.name_of(p0.leader).unwrap();
    let victim = cluster.node(&victim_name).unwrap().clone();
    victim.kill(ProcessRole::Broker).await.expect("kill");
    let killed_at = Instant::now();

    let seen_before_kill = observed(&path).len();
    let (at_move, moved) = wait_for(
        &path,
        "new leader with a higher epoch, the killed broker unreachable",
        seen_before_kill,
        Duration::from_secs(30),
        |s| {
            s.partition(0)
                .is_some_and(|p| p.leader >= 1 && p.leader != p0.leader && p.epoch > p0.epoch)
                && s.unreachable.contains(&p0.leader)
        },
    )
    .await;
    eprintln!("moved: {}", serde_json::to_string(&moved).unwrap());
    if fenced_known {
        let (_, f) = wait_for(
            &path,
            "the killed broker fenced",
            at_move,
            Duration::from_secs(30),
            |s| s.fenced.as_ref().is_some_and(|f| f.contains(&p0.leader)),
        )
        .await;
        eprintln!(
            "fenced {:.1}s after the kill: {}",
            killed_at.elapsed().as_secs_f64(),
            serde_json::to_string(&f).unwrap()
        );
    }

    // Restart it: back in partition 0's ISR, reachable again.
    let seen_before_restart = observed(&path).len();
    victim.start(ProcessRole::Broker).await.expect("restart");
    let (_, back) = wait_for(
        &path,
        "the restarted broker in the ISR",
        seen_before_restart,
        Duration::from_secs(45),
        |s| {
            s.partition(0).is_some_and(|p| p.isr.contains(&p0.leader))
                && !s.unreachable.contains(&p0.leader)
        },
    )
    .await;
    eprintln!("back: {}", serde_json::to_string(&back).unwrap());

    let summary = observer.stop().await;
    eprintln!("observer: {summary:?}");
    assert!(
        summary.samples >= 10 && summary.recorded >= 6,
        "{summary:?}"
    );
    history.sync().unwrap();

    // The observer's ops pair up: every invoke is followed by its completion.
    let h = read_history(&path).unwrap();
    let ops: Vec<_> = h
        .ops
        .iter()
        .filter(|o| o.process == Process::Named("observer".into()))
        .collect();
    assert_eq!(ops.len() as u64, summary.recorded);
    for w in ops.chunks(2) {
        assert_eq!(w[0].kind, OpType::Invoke);
        assert_ne!(w[1].kind, OpType::Invoke);
        assert_eq!(w[1].index, w[0].index + 1);
        assert_eq!(w[0].f.as_str(), "observe");
    }

    cluster.teardown().await.expect("teardown");
    eprintln!("whole test: {:.1}s", t0.elapsed().as_secs_f64());
}
