//! Faults that bite (issue 11), against a real cluster: the observer sees
//! what a fault did, the `effects` checker judges it, the workload keeps
//! running on healthy partitions, and a fault with no effect never passes.
//!
//! Each test is one short scripted trial (serialised).

use kafka_trial::kafka::Timing;
use kafka_trial::trial::{run, ScriptFault, ScriptStep, ScriptTarget, TestSpec};
use serde_json::Value;
use std::time::Duration;
use trial_histories::{read_history, OpType, Process};

fn store() -> std::path::PathBuf {
    let p = std::env::temp_dir().join(format!("kafka-trial-bite-{}", std::process::id()));
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

fn results(report: &kafka_trial::trial::Report) -> Value {
    serde_json::from_str(&std::fs::read_to_string(report.run_dir.join("results.json")).unwrap())
        .unwrap()
}

/// The observer's `ok` samples: (time s, value).
fn samples(report: &kafka_trial::trial::Report) -> Vec<(f64, Value)> {
    let h = read_history(&report.run_dir.join("history.jsonl")).unwrap();
    h.ops
        .iter()
        .filter(|o| o.process == Process::Named("observer".into()) && o.kind == OpType::Ok)
        .map(|o| (o.time as f64 / 1e9, o.value_json()))
        .collect()
}

fn partition(sample: &Value, p: i64) -> &Value {
    sample["partitions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["partition"] == p)
        .unwrap()
}

/// Kill the leader of partition 0: within a bounded time the observer
/// records a new leader with a higher epoch, and results.json says the
/// fault had an effect and how long the fail-over took.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_killed_leader_is_replaced_and_the_fault_is_judged_to_bite() {
    let _serial = kafka_trial::testing::serial().await;
    let spec = TestSpec::new("bite-kill")
        .nodes(3)
        .partitions(3)
        .time_limit(Duration::from_secs(24))
        .rate(200.0)
        .seed(3)
        .store(store())
        .script(vec![
            step(6_000, 0, true, ScriptFault::Kill, ScriptTarget::LeaderOf(0)),
            step(
                18_000,
                0,
                false,
                ScriptFault::Kill,
                ScriptTarget::LeaderOf(0),
            ),
        ]);
    let report = run(spec).await.expect("the trial runs");
    eprintln!("{}", kafka_trial::trial::summary(&report));
    let obs = samples(&report);
    assert!(!obs.is_empty(), "the observer recorded samples");
    let before = obs
        .iter()
        .rev()
        .find(|(t, _)| *t < 6.0)
        .expect("a sample before the kill");
    let (l0, e0) = (
        partition(&before.1, 0)["leader"].as_i64().unwrap(),
        partition(&before.1, 0)["epoch"].as_i64().unwrap(),
    );
    assert!(l0 >= 0 && e0 >= 0, "leader {l0} epoch {e0}");
    let after = obs.iter().find(|(t, v)| {
        *t >= 6.0
            && partition(v, 0)["leader"].as_i64() != Some(l0)
            && partition(v, 0)["leader"].as_i64() >= Some(0)
            && partition(v, 0)["epoch"].as_i64() > Some(e0)
    });
    let (t, _) = after.expect("a new leader of partition 0 with a higher epoch was observed");
    assert!(*t < 6.0 + 15.0, "fail-over observed only at {t:.1}s");
    let r = results(&report);
    let e = &r["checkers"]["effects"];
    assert_eq!(e["faults"], 1, "{e}");
    assert_eq!(e["with_effect"], 1, "{e}");
    let f = &e["intervals"][0];
    assert_eq!(f["effect"], true, "{f}");
    let failover = f["failover_s"].as_f64().expect("a fail-over time");
    assert!(failover > 0.0 && failover < 15.0, "{failover}");
    assert_eq!(
        report.anomaly("lost-write"),
        0,
        "{}",
        report.results.summary
    );
}

/// 5 nodes, RF 3: while the leader of partition 0 is paused, partitions
/// whose replicas do not include it keep completing sends.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_paused_leader_does_not_stall_partitions_it_does_not_replicate() {
    let _serial = kafka_trial::testing::serial().await;
    let spec = TestSpec::new("bite-pause")
        .nodes(5)
        .replication_factor(3)
        .partitions(5)
        .time_limit(Duration::from_secs(24))
        .rate(300.0)
        .seed(5)
        .store(store())
        .script(vec![
            step(
                6_000,
                0,
                true,
                ScriptFault::Pause,
                ScriptTarget::LeaderOf(0),
            ),
            step(
                18_000,
                0,
                false,
                ScriptFault::Pause,
                ScriptTarget::LeaderOf(0),
            ),
        ]);
    let report = run(spec).await.expect("the trial runs");
    eprintln!("{}", kafka_trial::trial::summary(&report));
    let r = results(&report);
    let parts = r["checkers"]["effects"]["partitions"]
        .as_array()
        .unwrap()
        .clone();
    let unaffected: Vec<&Value> = parts
        .iter()
        .filter(|p| p["other_faults"].is_number())
        .collect();
    assert!(
        !unaffected.is_empty(),
        "with 5 nodes and RF 3 some partition has no replica on the paused node: {parts:?}"
    );
    for p in unaffected {
        let during = p["other_faults"].as_f64().unwrap();
        let healthy = p["healthy"].as_f64().unwrap();
        assert!(
            during >= 0.5 * healthy,
            "partition {} kept only {during:.1} ok sends/s of its healthy {healthy:.1} while another partition's leader was paused",
            p["partition"]
        );
    }
    assert_eq!(
        report.anomaly("lost-write"),
        0,
        "{}",
        report.results.summary
    );
}

/// With Kafka's own timeouts a 1 s pause changes nothing that the
/// observer can see: the run is `unknown`, never `valid`.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_fault_without_an_observable_effect_is_unknown() {
    let _serial = kafka_trial::testing::serial().await;
    let spec = TestSpec::new("bite-none")
        .nodes(3)
        .partitions(2)
        .time_limit(Duration::from_secs(14))
        .rate(100.0)
        .seed(7)
        .store(store())
        .timing(Timing::KafkaDefaults)
        .script(vec![
            step(
                6_000,
                0,
                true,
                ScriptFault::Pause,
                ScriptTarget::LeaderOf(0),
            ),
            step(
                7_000,
                0,
                false,
                ScriptFault::Pause,
                ScriptTarget::LeaderOf(0),
            ),
        ]);
    let report = run(spec).await.expect("the trial runs");
    eprintln!("{}", kafka_trial::trial::summary(&report));
    assert_eq!(report.exit_code, 2, "{}", report.results.summary);
    assert!(
        report
            .results
            .unknown_reasons
            .iter()
            .any(|r| r.contains("observable effect")),
        "{:?}",
        report.results.unknown_reasons
    );
}
