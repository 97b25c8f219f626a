//! A real 3-node KRaft cluster in Docker: replication survives the loss of
//! a partition's leader, and the killed broker rejoins the ISR.
//!
//! Needs a Docker engine, debootstrap and Maven (`bash .ci/setup`).

use kafka_trial::clients::rdkafka::{RdConsumer, RdProducer};
use kafka_trial::clients::{Acks, ClientSettings, Consumer, Producer, SendOutcome, StartAt};
use kafka_trial::cluster::Cluster;
use kafka_trial::kafka::{admin, ClusterSpec};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use trial_nemesis::{Node, ProcessRole, ProcessState};

fn settings(bootstrap: &str, topic: &str) -> ClientSettings {
    ClientSettings {
        bootstrap: bootstrap.to_string(),
        topic: topic.to_string(),
        acks: Acks::All,
        idempotence: true,
        message_timeout: Duration::from_secs(30),
        request_timeout: Duration::from_secs(10),
        socket_timeout: Duration::from_secs(5),
        session_timeout: Duration::from_secs(6),
        producer_overrides: BTreeMap::new(),
        consumer_overrides: BTreeMap::new(),
    }
}

/// Send `values` one by one; every send must be acknowledged.
async fn produce(s: &ClientSettings, values: std::ops::Range<u64>) -> Vec<(i32, i64)> {
    let s = s.clone();
    tokio::task::spawn_blocking(move || {
        let p = RdProducer::new(&s).expect("producer");
        values
            .map(|v| match p.send(v % 7, v, Duration::from_secs(35)) {
                SendOutcome::Ok { partition, offset } => (partition, offset),
                other => panic!("send of {v} was not acknowledged: {other:?}"),
            })
            .collect()
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn leader_kill_loses_nothing_with_rf3_and_the_broker_rejoins_the_isr() {
    let _serial = kafka_trial::testing::serial().await;
    let t = Instant::now();
    let cluster = Cluster::start(ClusterSpec {
        nodes: 3,
        replication_factor: 3,
        min_insync_replicas: 2,
        ..Default::default()
    })
    .await
    .expect("cluster starts");
    eprintln!(
        "cluster {} ready in {:.1}s",
        cluster.id,
        t.elapsed().as_secs_f64()
    );
    let id = cluster.id.clone();
    let bootstrap = cluster.bootstrap_servers();
    let topic = "replicated";
    let parts = admin::create_topic(
        &bootstrap,
        topic,
        1,
        3,
        &[("min.insync.replicas", "2")],
        Duration::from_secs(60),
    )
    .await
    .expect("topic created with a full ISR");
    assert_eq!(parts[0].replicas.len(), 3);
    assert_eq!(parts[0].isr.len(), 3);
    let s = settings(&bootstrap, topic);

    let first = produce(&s, 0..1000).await;
    assert!(first.windows(2).all(|w| w[1].1 == w[0].1 + 1));

    // SIGKILL the leader's broker.
    let leader_id = parts[0].leader;
    let leader_name = cluster.name_of(leader_id).expect("leader is a node");
    let leader = cluster.node(&leader_name).unwrap().clone();
    leader.kill(ProcessRole::Broker).await.expect("kill");
    assert_eq!(
        leader.state(ProcessRole::Broker).await.unwrap(),
        ProcessState::Dead
    );

    // A new leader is elected among the two others.
    let deadline = Instant::now() + Duration::from_secs(60);
    let new_leader = loop {
        let md = admin::metadata(&bootstrap, Some(topic), Duration::from_secs(3)).await;
        if let Ok(md) = md {
            let p = &md.topics[topic][0];
            if p.leader >= 0 && p.leader != leader_id {
                break p.leader;
            }
        }
        assert!(Instant::now() < deadline, "no new leader within 60 s");
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    eprintln!("leader {leader_id} killed, new leader {new_leader}");

    let second = produce(&s, 1000..2000).await;
    assert!(second.first().unwrap().1 >= 1000);

    // A fresh consumer reads all 2000, in order, from offset 0.
    let s2 = s.clone();
    let read = tokio::task::spawn_blocking(move || {
        let c = RdConsumer::new(&s2, "verify").unwrap();
        c.assign(&[0], StartAt::Beginning).unwrap();
        let mut got = vec![];
        let deadline = Instant::now() + Duration::from_secs(60);
        while got.len() < 2000 && Instant::now() < deadline {
            let r = c.poll(5000, Duration::from_millis(500));
            got.extend(r.records);
        }
        got
    })
    .await
    .unwrap();
    assert_eq!(read.len(), 2000, "read {} of 2000 records", read.len());
    for (i, r) in read.iter().enumerate() {
        assert_eq!(r.offset, i as i64, "offsets are dense from 0");
        assert_eq!(r.value, i as u64, "values in send order");
    }

    // Restart the killed broker: it rejoins the ISR within a bounded time.
    leader.start(ProcessRole::Broker).await.expect("restart");
    let t = Instant::now();
    admin::wait_topic_healthy(&bootstrap, topic, 1, 3, Duration::from_secs(120))
        .await
        .expect("the restarted broker is back in the ISR");
    eprintln!(
        "{leader_name} back in the ISR {:.1}s after restart",
        t.elapsed().as_secs_f64()
    );

    let nodes: Vec<Arc<dyn Node>> = cluster.nemesis_nodes();
    assert_eq!(nodes.len(), 3);
    cluster.teardown().await.expect("teardown");
    drop(cluster);
    kafka_trial::testing::assert_no_leftovers(&id).await;
}

#[tokio::test]
async fn impossible_options_fail_before_anything_starts() {
    let _serial = kafka_trial::testing::serial().await;
    let e = Cluster::start(ClusterSpec {
        nodes: 2,
        replication_factor: 3,
        ..Default::default()
    })
    .await
    .unwrap_err();
    assert!(e.to_string().contains("above the node count"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_cluster_leaves_nothing_behind() {
    let _serial = kafka_trial::testing::serial().await;
    let cluster = Cluster::start(ClusterSpec {
        nodes: 1,
        replication_factor: 1,
        min_insync_replicas: 1,
        ..Default::default()
    })
    .await
    .expect("cluster starts");
    let id = cluster.id.clone();
    assert_eq!(
        cluster.nodes[0].state(ProcessRole::Broker).await.unwrap(),
        ProcessState::Running
    );
    drop(cluster); // no explicit teardown: Drop must do it
    kafka_trial::testing::assert_no_leftovers(&id).await;
}
