//! Kafka 3.x and ZooKeeper mode against real clusters: each comes up,
//! runs a short trial with faults that bite, is checked, and leaves
//! nothing behind.
//!
//! Needs a Docker engine, debootstrap and Maven (`bash .ci/setup`); the
//! first run resolves each release's jars from Maven Central (seconds).

use kafka_trial::platform::docker::{self, engine};
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

async fn assert_torn_down() {
    let d = engine::connect().await.unwrap();
    let left = docker::find_clusters(&d).await.unwrap();
    assert!(
        left.is_empty(),
        "containers remain after the trial: {:?}",
        left.iter().map(|c| &c.id).collect::<Vec<_>>()
    );
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
    assert_torn_down().await;
}
