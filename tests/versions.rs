//! Kafka 3.x and ZooKeeper mode against real clusters: each comes up,
//! runs a short trial with faults that bite, is checked, and leaves
//! nothing behind.
//!
//! Needs a Docker engine, debootstrap and Maven (`bash .ci/setup`); the
//! first run resolves each release's jars from Maven Central (seconds).

use kafka_trial::trial::{run, Report, ScriptFault, ScriptStep, ScriptTarget, TestSpec};
use serde_json::Value;
use std::time::Duration;

fn store() -> std::path::PathBuf {
    let p = std::env::temp_dir().join(format!("kafka-trial-versions-{}", std::process::id()));
    std::fs::create_dir_all(&p).unwrap();
    p
}

fn step(at_ms: u64, id: u32, start: bool, fault: ScriptFault, target: ScriptTarget) -> ScriptStep {
    ScriptStep {
        at: Duration::from_millis(at_ms),
        id,
        start,
        fault,
        target,
    }
}

fn json(report: &Report, file: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(report.run_dir.join(file)).unwrap()).unwrap()
}

/// Every `observe` sample's value, in order.
fn observations(report: &Report) -> Vec<Value> {
    let h = trial_histories::read_history(&report.run_dir.join("history.jsonl")).unwrap();
    h.ops
        .iter()
        .filter(|o| o.f.as_str() == "observe" && o.kind == trial_histories::OpType::Ok)
        .map(|o| serde_json::from_str(o.value.get()).unwrap())
        .collect()
}

/// The leader kill, judged: the fault bit (a new leader), nothing
/// acknowledged was lost.
fn assert_leader_kill_bit_and_nothing_was_lost(report: &Report) {
    let r = json(report, "results.json");
    let e = &r["checkers"]["effects"];
    assert!(e["with_effect"].as_u64().unwrap_or(0) >= 1, "{e}");
    assert!(
        r["checkers"]["queue"]["valid"].is_boolean(),
        "the queue checker judged the run: {}",
        r["checkers"]["queue"]
    );
    assert_eq!(
        report.anomaly("lost-write"),
        0,
        "{}",
        report.results.summary
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kafka_3_6_in_kraft_mode_runs_a_checked_trial_with_a_leader_kill() {
    let _serial = kafka_trial::testing::serial().await;
    let spec = TestSpec::new("kraft-3.6")
        .kafka_version("3.6.2")
        .nodes(3)
        .partitions(2)
        .acks_all()
        .idempotence(true)
        .time_limit(Duration::from_secs(24))
        .rate(150.0)
        .seed(5)
        .store(store())
        .script(vec![
            step(5_000, 0, true, ScriptFault::Kill, ScriptTarget::LeaderOf(0)),
            step(
                15_000,
                0,
                false,
                ScriptFault::Kill,
                ScriptTarget::LeaderOf(0),
            ),
        ]);
    let report = run(spec).await.expect("the trial runs on 3.6.2");
    eprintln!("{}", kafka_trial::trial::summary(&report));
    let t = json(&report, "test.json");
    assert_eq!(t["cluster"]["kafka_version"], "3.6.2");
    assert_eq!(t["cluster"]["mode"], "kraft");
    let obs = observations(&report);
    assert!(
        obs.iter()
            .any(|o| o["controller"]["id"].as_i64() >= Some(1)),
        "the observer saw the KRaft controller"
    );
    assert_leader_kill_bit_and_nothing_was_lost(&report);
    kafka_trial::testing::assert_no_leftovers(&report.cluster_id).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kafka_3_9_with_a_zookeeper_ensemble_survives_broker_and_zookeeper_leader_kills() {
    let _serial = kafka_trial::testing::serial().await;
    let spec = TestSpec::new("zookeeper-3.9")
        .kafka_version("3.9.1")
        .zookeeper(3)
        .nodes(3)
        .partitions(2)
        .acks_all()
        .idempotence(true)
        .time_limit(Duration::from_secs(32))
        .rate(150.0)
        .seed(9)
        .store(store())
        .script(vec![
            step(4_000, 0, true, ScriptFault::Kill, ScriptTarget::LeaderOf(0)),
            step(
                13_000,
                0,
                false,
                ScriptFault::Kill,
                ScriptTarget::LeaderOf(0),
            ),
            step(
                17_000,
                1,
                true,
                ScriptFault::Kill,
                ScriptTarget::ZookeeperLeader,
            ),
            step(
                26_000,
                1,
                false,
                ScriptFault::Kill,
                ScriptTarget::ZookeeperLeader,
            ),
        ]);
    let report = run(spec)
        .await
        .expect("the trial runs on 3.9.1 with ZooKeeper");
    eprintln!("{}", kafka_trial::trial::summary(&report));
    let t = json(&report, "test.json");
    assert_eq!(t["cluster"]["kafka_version"], "3.9.1");
    assert_eq!(t["cluster"]["mode"], "zookeeper");
    // The ZooKeeper leader's kill hit a z node's ZooKeeper process, and the
    // ensemble elected another leader.
    let h = trial_histories::read_history(&report.run_dir.join("history.jsonl")).unwrap();
    let zk_kill = h
        .ops
        .iter()
        .find(|o| {
            o.f.as_str() == "start-kill"
                && o.kind == trial_histories::OpType::Info
                && o.value.get().contains("zookeeper")
        })
        .expect("a kill of a ZooKeeper process was recorded");
    let v: Value = serde_json::from_str(zk_kill.value.get()).unwrap();
    let killed = v["nodes"][0].as_str().expect("the killed node").to_string();
    assert!(killed.starts_with('z'), "{v}");
    let obs = observations(&report);
    assert!(
        obs.iter()
            .any(|o| o["zookeeper"]["leader"].as_str() == Some(killed.as_str())),
        "the observer saw {killed} lead the ensemble before the kill"
    );
    assert!(
        obs.iter()
            .any(|o| o["zookeeper"]["leader"].as_str().is_some()
                && o["zookeeper"]["leader"].as_str() != Some(killed.as_str())
                && o["zookeeper"]["members"][&killed] != "leader"),
        "the observer saw another ZooKeeper leader after the kill"
    );
    assert!(
        obs.iter()
            .any(|o| o["controller"]["id"].as_i64() >= Some(1)),
        "the observer saw the ZooKeeper-elected controller"
    );
    let r = json(&report, "results.json");
    let zk_effect = r["checkers"]["effects"]["intervals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["nodes"][0] == killed.as_str())
        .expect("the ZooKeeper kill's interval")
        .clone();
    assert_eq!(zk_effect["effect"], true, "{zk_effect}");
    assert!(
        zk_effect["zookeeper_leader_changes"].as_u64() >= Some(1),
        "{zk_effect}"
    );
    assert_leader_kill_bit_and_nothing_was_lost(&report);
    kafka_trial::testing::assert_no_leftovers(&report.cluster_id).await;
}
