//! The filesystem faults against real nodes (issue 13): the probe of the
//! durable state inside a node, a trial on the filesystem with no fault,
//! and a trial whose lose-unfsynced faults drop data and bite.
//!
//! Each test is short and serialised (`testing::serial`).

use kafka_trial::cluster::Cluster;
use kafka_trial::kafka::ClusterSpec;
use kafka_trial::trial::{run, ScriptFault, ScriptStep, ScriptTarget, TestSpec};
use serde_json::Value;
use std::time::Duration;
use trial_histories::{read_history, OpType, Process};
use trial_nemesis::{FaultKind, FaultKinds, Node, ProcessRole, ProcessState};

const LAZYFS: &str = "/opt/kt/bin/kt-lazyfs";

fn store() -> std::path::PathBuf {
    let p = std::env::temp_dir().join(format!("kafka-trial-lazyfs-{}", std::process::id()));
    std::fs::create_dir_all(&p).unwrap();
    p
}

/// What the filesystem faults need of a node, without any fault.
fn lazyfs_requirements() -> trial_nemesis::Requirements {
    trial_nemesis::requirements(&FaultKinds([FaultKind::LoseUnfsynced].into()))
}

async fn sh(n: &dyn Node, script: &str) -> trial_nemesis::ExecOutput {
    n.exec(&["bash", "-c", script]).await.expect("exec")
}

/// `probe prepare` on the mount of a real broker node, the broker killed
/// and its disk's un-fsynced state dropped through the control script,
/// then `probe check`: exactly the durable state remains, and the broker
/// starts again on the remounted filesystem.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_probe_sees_exactly_the_durable_state_after_a_drop() {
    let _serial = kafka_trial::testing::serial().await;
    let mut spec = ClusterSpec {
        nodes: 1,
        replication_factor: 1,
        min_insync_replicas: 1,
        ..Default::default()
    };
    spec.requirements = spec.requirements.union(&lazyfs_requirements());
    let cluster = Cluster::start(spec)
        .await
        .expect("a 1-node cluster on kt-lazyfs");
    let n = cluster.nodes[0].clone();
    let mounts = sh(&*n, "grep fuse.kt-lazyfs /proc/self/mountinfo").await;
    assert!(
        mounts.stdout.contains("/var/lib/kafka/data"),
        "log.dirs is on kt-lazyfs: {mounts:?}"
    );
    let prep = sh(
        &*n,
        &format!("{LAZYFS} probe prepare /var/lib/kafka/data/probe --expect /root/probe.expect"),
    )
    .await;
    assert!(prep.success(), "probe prepare: {prep:?}");
    // The broker is alive: the drop is refused.
    let refused = sh(&*n, "/opt/kt/bin/broker drop-unfsynced").await;
    assert_eq!(refused.code, 1, "{refused:?}");
    assert!(refused.stderr.contains("alive"), "{refused:?}");
    n.kill(ProcessRole::Broker).await.expect("kill");
    let report = n.drop_unfsynced().await.expect("drop");
    eprintln!("drop report: {report}");
    for k in [
        "files_removed",
        "files_restored",
        "files_truncated",
        "files_reverted",
        "dirs_removed",
        "dirs_restored",
        "bytes_dropped",
        "elapsed_ms",
    ] {
        assert!(report[k].is_u64(), "{k} in {report}");
    }
    assert!(report["bytes_dropped"].as_u64().unwrap() > 0, "{report}");
    let check = sh(
        &*n,
        &format!("{LAZYFS} probe check /var/lib/kafka/data/probe --expect /root/probe.expect"),
    )
    .await;
    assert!(check.success(), "probe check after the drop: {check:?}");
    // Remounted, and the broker runs on it again (without the probe's
    // folder, which Kafka would take for a malformed partition folder).
    let mounts = sh(&*n, "grep -c fuse.kt-lazyfs /proc/self/mountinfo").await;
    assert_eq!(mounts.stdout.trim(), "1", "{mounts:?}");
    assert!(sh(&*n, "rm -rf /var/lib/kafka/data/probe").await.success());
    n.start(ProcessRole::Broker).await.expect("start");
    cluster
        .wait_ready(Duration::from_secs(90))
        .await
        .expect("the broker comes back on the dropped disk");
    assert_eq!(
        n.state(ProcessRole::Broker).await.unwrap(),
        ProcessState::Running
    );
    cluster.teardown().await.unwrap();
}

/// A short queue trial with kt-lazyfs under every broker and no fault:
/// valid (the filesystem changes nothing while no fault is active).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_trial_on_the_filesystem_without_faults_is_valid() {
    let _serial = kafka_trial::testing::serial().await;
    let mut spec = TestSpec::new("lazyfs-nofault")
        .nodes(3)
        .replication_factor(3)
        .min_insync_replicas(2)
        .acks_all()
        .idempotence(true)
        .partitions(3)
        .time_limit(Duration::from_secs(25))
        .rate(200.0)
        .seed(5)
        .store(store());
    spec.cluster.requirements = spec.cluster.requirements.union(&lazyfs_requirements());
    let report = run(spec).await.expect("the trial runs");
    eprintln!("{}", kafka_trial::trial::summary(&report));
    assert!(report.valid(), "{}", kafka_trial::trial::summary(&report));
    assert!(
        report.sends_ok > 1000,
        "sends acknowledged: {}",
        report.sends_ok
    );
}

/// A short trial with two lose-unfsynced faults (the leader of partition
/// 0, then a follower): each start records the drop report, at least one
/// dropped bytes, the brokers come back, and the observer saw them bite.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn lose_unfsynced_drops_bytes_and_bites() {
    let _serial = kafka_trial::testing::serial().await;
    let step = |at_s: u64, id, start, target| ScriptStep {
        at: Duration::from_secs(at_s),
        id,
        start,
        fault: ScriptFault::LoseUnfsynced,
        target,
    };
    let spec = TestSpec::new("lazyfs-lose")
        .nodes(3)
        .replication_factor(3)
        .min_insync_replicas(2)
        .acks_all()
        .idempotence(true)
        .partitions(3)
        .time_limit(Duration::from_secs(30))
        .rate(200.0)
        .seed(6)
        .store(store())
        .script(vec![
            step(5, 0, true, ScriptTarget::LeaderOf(0)),
            step(12, 0, false, ScriptTarget::LeaderOf(0)),
            step(17, 1, true, ScriptTarget::FollowersOf(1)),
            step(24, 1, false, ScriptTarget::FollowersOf(1)),
        ]);
    let report = run(spec).await.expect("the trial runs");
    eprintln!("{}", kafka_trial::trial::summary(&report));
    let h = read_history(&report.run_dir.join("history.jsonl")).unwrap();
    let starts: Vec<Value> = h
        .ops
        .iter()
        .filter(|o| {
            o.process == Process::Nemesis
                && o.kind == OpType::Info
                && o.f.to_string() == "start-lose-unfsynced"
        })
        .map(|o| o.value_json())
        .collect();
    assert_eq!(starts.len(), 2, "{starts:?}");
    let mut total = 0;
    for v in &starts {
        let nodes = v["nodes"].as_array().unwrap();
        assert!(!nodes.is_empty(), "{v}");
        for n in nodes {
            let r = &v["dropped"][n.as_str().unwrap()];
            assert!(r["bytes_dropped"].is_u64(), "a drop report for {n}: {v}");
            total += r["bytes_dropped"].as_u64().unwrap();
        }
    }
    assert!(total > 0, "some fault dropped bytes: {starts:?}");
    let results: Value = serde_json::from_str(
        &std::fs::read_to_string(report.run_dir.join("results.json")).unwrap(),
    )
    .unwrap();
    let effects = &results["checkers"]["effects"];
    assert!(
        effects["with_effect"].as_u64().unwrap_or(0) >= 1,
        "the observer saw a fault bite: {effects}"
    );
    let heal = h
        .ops
        .iter()
        .rfind(|o| o.process == Process::Nemesis && o.f.to_string() == "heal")
        .expect("a heal op");
    assert_eq!(heal.kind, OpType::Info);
    assert!(report.sends_ok > 0);
}
