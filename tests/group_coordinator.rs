//! A consumer group's coordinator against a real 3-node KRaft cluster:
//! the suite's placement (Java's hashCode of the group onto
//! `__consumer_offsets`, that partition's leader) is the cluster's own
//! FindCoordinator answer (key type 0); the observer records the group at
//! that coordinator, in a state (a KIP-848 consumer-protocol group beside
//! it with its group epoch, through ConsumerGroupDescribe); and when the coordinator is SIGKILLed
//! (what the `group-coordinator` target does), the observer records the
//! coordinator moving to another broker.
//!
//! Needs a Docker engine, debootstrap and Maven (`bash .ci/setup`).

use kafka_trial::clients::{driver, Acks, ClientSettings, GroupProtocol, GroupSettings};
use kafka_trial::cluster::Cluster;
use kafka_trial::kafka::coordinator::{self, CoordinatorKind};
use kafka_trial::kafka::{admin, ClusterSpec, KafkaVersion};
use kafka_trial::observer::{sample_once, ObserverConfig, Snapshot};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use trial_histories::values::GroupView;
use trial_nemesis::{Node, ProcessRole};

/// Sample until `pred` holds for the group's view (bounded).
async fn sample_until(
    cfg: &ObserverConfig,
    group: &str,
    what: &str,
    limit: Duration,
    pred: impl Fn(&GroupView) -> bool,
) -> (GroupView, Snapshot) {
    let t = Instant::now();
    let mut last = None;
    while t.elapsed() < limit {
        if let Ok(s) = sample_once(cfg).await {
            if let Some(v) = s.groups.as_ref().and_then(|g| g.get(group)) {
                if pred(v) {
                    eprintln!("{what}: {v:?} after {:.1}s", t.elapsed().as_secs_f64());
                    return (v.clone(), s);
                }
            }
            last = Some(s);
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    panic!("{what}: not observed within {limit:?}; last sample: {last:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_group_coordinator_is_where_kafka_puts_it_and_its_kill_is_observed() {
    let _serial = kafka_trial::testing::serial().await;
    let t0 = Instant::now();
    let cluster = Cluster::start(ClusterSpec {
        nodes: 3,
        replication_factor: 3,
        min_insync_replicas: 2,
        // Fence a dead broker within seconds, so its partitions (the
        // group's `__consumer_offsets` one among them) move quickly.
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
    let id = cluster.id.clone();
    eprintln!(
        "cluster {id} (Kafka {}) ready in {:.1}s",
        cluster.dist.version,
        t0.elapsed().as_secs_f64()
    );
    let bootstrap = cluster.bootstrap_servers();
    let topic = "grouped";
    admin::create_topic(&bootstrap, topic, 3, 3, &[], Duration::from_secs(60))
        .await
        .expect("topic created");
    // The run's group, named as `trial::run` names it.
    let group = format!("kt-{id}");

    // A subscribed member: joining creates `__consumer_offsets`. It polls
    // (heartbeats run in librdkafka's own thread) until told to stop.
    let settings = ClientSettings {
        bootstrap: bootstrap.clone(),
        topic: topic.into(),
        acks: Acks::All,
        idempotence: false,
        message_timeout: Duration::from_secs(10),
        request_timeout: Duration::from_secs(5),
        socket_timeout: Duration::from_secs(5),
        session_timeout: Duration::from_secs(6),
        producer_overrides: BTreeMap::new(),
        consumer_overrides: BTreeMap::new(),
    };
    let stop = Arc::new(AtomicBool::new(false));
    let member = {
        let (stop, group) = (stop.clone(), group.clone());
        tokio::task::spawn_blocking(move || {
            let c = driver("rdkafka")
                .unwrap()
                .group_member(
                    &settings,
                    &GroupSettings {
                        group,
                        protocol: GroupProtocol::Classic,
                        assignor: None,
                        commit: trial_histories::values::CommitMode::Sync,
                        max_poll_interval: Duration::from_secs(10),
                    },
                )
                .expect("a group member");
            c.subscribe().expect("subscribe");
            while !stop.load(Ordering::Relaxed) {
                c.poll(100, Duration::from_millis(200));
            }
        })
    };

    // A KIP-848 member (group.protocol=consumer, Kafka ≥ 4.0) in a second
    // group, straight through rdkafka: the suite's driver sets the classic
    // protocol's session timeout, which the consumer protocol refuses.
    let group848 = format!("kt-{id}-848");
    let version: KafkaVersion = cluster.dist.version.parse().expect("a release number");
    let consumer_protocol = version.major >= 4;
    let member848 = consumer_protocol.then(|| {
        let (stop, group, bootstrap) = (stop.clone(), group848.clone(), bootstrap.clone());
        tokio::task::spawn_blocking(move || {
            use rdkafka::consumer::{BaseConsumer, Consumer};
            let c: BaseConsumer = rdkafka::ClientConfig::new()
                .set("bootstrap.servers", &bootstrap)
                .set("group.id", &group)
                .set("group.protocol", "consumer")
                .create()
                .expect("a consumer-protocol consumer");
            c.subscribe(&[topic]).expect("subscribe");
            while !stop.load(Ordering::Relaxed) {
                let _ = c.poll(Duration::from_millis(200));
            }
        })
    });

    // The computed coordinator is the cluster's own answer.
    let groups = vec![group.clone()];
    let deadline = Instant::now() + Duration::from_secs(30);
    let computed = loop {
        match coordinator::coordinators(
            &bootstrap,
            CoordinatorKind::Group,
            &groups,
            Duration::from_secs(5),
        )
        .await
        {
            Ok(c) if c.contains_key(&group) => break c[&group],
            r if Instant::now() > deadline => panic!("no coordinator computed: {r:?}"),
            _ => tokio::time::sleep(Duration::from_millis(500)).await,
        }
    };
    let mut cfg = ObserverConfig::for_cluster(&cluster, topic);
    cfg.groups = groups.clone();
    for b in &cfg.brokers {
        let asked = coordinator::find_coordinator(
            b.addr,
            CoordinatorKind::Group,
            &group,
            Duration::from_secs(5),
        )
        .await
        .expect("FindCoordinator(group)");
        assert_eq!(asked, computed, "{}'s answer for {group}", b.name);
    }
    eprintln!(
        "group {group}: __consumer_offsets-{}, coordinator {computed}",
        CoordinatorKind::Group.partition_of(&group)
    );

    // The observer sees the group at that coordinator, with its member.
    let (v, _) = sample_until(
        &cfg,
        &group,
        "the group stable at its coordinator",
        Duration::from_secs(30),
        |v| v.state.as_deref() == Some("Stable"),
    )
    .await;
    assert_eq!(v.coordinator, computed);
    assert_eq!(v.members, Some(1));
    assert_eq!(v.epoch, None, "a classic group has no epoch here");
    if consumer_protocol {
        let mut cfg848 = cfg.clone();
        cfg848.groups = vec![group848.clone()];
        let (v, _) = sample_until(
            &cfg848,
            &group848,
            "the KIP-848 group stable with an epoch",
            Duration::from_secs(30),
            |v| v.state.as_deref() == Some("Stable") && v.epoch.is_some_and(|e| e > 0),
        )
        .await;
        assert_eq!(v.members, Some(1));
        let partition = CoordinatorKind::Group.partition_of(&group848);
        eprintln!("group {group848}: __consumer_offsets-{partition}, {v:?}");
    }

    // Kill the coordinator: the observer records it moving.
    let victim = cluster
        .nodes
        .iter()
        .find(|n| n.role.id == computed)
        .expect("the coordinator is a node")
        .clone();
    victim.kill(ProcessRole::Broker).await.expect("kill");
    let (moved, _) = sample_until(
        &cfg,
        &group,
        "the coordinator moved",
        Duration::from_secs(30),
        |v| v.coordinator != computed,
    )
    .await;
    assert_ne!(moved.coordinator, computed);
    victim.start(ProcessRole::Broker).await.expect("restart");

    stop.store(true, Ordering::Relaxed);
    member.await.unwrap();
    if let Some(m) = member848 {
        m.await.unwrap();
    }
    cluster.teardown().await.unwrap();
    kafka_trial::testing::assert_no_leftovers(&id).await;
    eprintln!("done in {:.1}s", t0.elapsed().as_secs_f64());
}
