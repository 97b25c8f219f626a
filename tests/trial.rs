//! End-to-end trials against a real cluster with real clients: the
//! pipeline records, heals, reads back and judges — and it has teeth.
//!
//! These are also the examples of the library API: build a `TestSpec`,
//! `run` it, assert on the `Report`.

use kafka_trial::clients::Acks;
use kafka_trial::trial::{run, unclean_script, TestSpec};
use std::time::Duration;
use trial_histories::{read_history, OpType, Process, F};

fn store() -> std::path::PathBuf {
    let p = std::env::temp_dir().join(format!("kafka-trial-tests-{}", std::process::id()));
    std::fs::create_dir_all(&p).unwrap();
    p
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_short_trial_records_everything_and_every_checker_judges_it() {
    let _serial = kafka_trial::testing::serial().await;
    let report = run(TestSpec::new("short")
        .nodes(3)
        .partitions(2)
        .acks_all()
        .idempotence(true)
        .time_limit(Duration::from_secs(25))
        .rate(100.0)
        .concurrency(4)
        .seed(7)
        .store(store())
        .nemesis("pause")
        .unwrap())
    .await
    .expect("the trial runs");

    let history = read_history(&report.run_dir.join("history.jsonl")).expect("history reads back");
    let ops = &history.ops;
    let count = |f: &F, t: OpType| ops.iter().filter(|o| &o.f == f && o.kind == t).count();
    assert!(
        count(&F::Send, OpType::Ok) > 50,
        "acknowledged sends recorded"
    );
    assert!(count(&F::Poll, OpType::Ok) > 10, "polls recorded");
    assert_eq!(
        count(&F::FinalRead, OpType::Ok),
        2,
        "one final read per partition"
    );
    assert!(
        ops.iter()
            .any(|o| o.process == Process::Nemesis && o.f.as_str() == "start-pause"),
        "nemesis ops recorded"
    );
    assert!(
        ops.iter()
            .any(|o| o.process == Process::Nemesis && o.f == F::Heal),
        "heal recorded"
    );
    assert!(
        ops.iter()
            .any(|o| o.process == Process::Named("observer".into())
                && o.f.as_str() == "observe"
                && o.kind == OpType::Ok),
        "the cluster observer recorded the cluster's state"
    );

    let results: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(report.run_dir.join("results.json")).unwrap(),
    )
    .unwrap();
    assert!(results["valid"].is_boolean() || results["valid"] == "unknown");
    assert!(
        results["checkers"]["queue"]["valid"].is_boolean()
            || results["checkers"]["queue"]["valid"] == "unknown"
    );
    assert!(
        results["checkers"]["stats"]["by_f"]["send"]["ok"]
            .as_u64()
            .unwrap()
            > 0
    );
    assert!(results["anomaly_counts"]["lost-write"].is_u64());
    // RF 3, acks=all, idempotence: a pause of one broker loses nothing.
    assert_eq!(
        report.anomaly("lost-write"),
        0,
        "{}",
        report.results.summary
    );
    assert_eq!(report.anomaly("duplicate"), 0, "{}", report.results.summary);
    // Linearizability is part of every trial: the log model, per
    // partition, in results.json, the summary and the report.
    let lin = &results["checkers"]["linearizable"];
    assert_eq!(lin["model"], "log");
    assert_eq!(lin["partitions"], 2);
    assert_eq!(lin["valid"], true, "{}", report.results.human_summary(2));
    assert!(report
        .results
        .human_summary(2)
        .contains("linearizable (log): valid"));
    let html = std::fs::read_to_string(report.run_dir.join("report.html")).unwrap();
    assert!(
        html.contains(r#"data-linear="valid""#),
        "report.html shows it"
    );
    for n in ["n1", "n2", "n3"] {
        assert!(
            report
                .run_dir
                .join("nodes")
                .join(n)
                .join("server.log")
                .exists(),
            "broker log of {n} collected"
        );
    }
}

/// RF 3, min.insync 1, unclean election on; partition 0's followers are
/// paused, the leader alone acknowledges, is SIGKILLed, the followers
/// resume and one of them leads without those records.
fn teeth(acks: Acks, min_insync: usize) -> TestSpec {
    let t = Duration::from_secs(30);
    TestSpec::new("teeth")
        .nodes(3)
        .replication_factor(3)
        .min_insync_replicas(min_insync)
        .unclean_leader_election(true)
        .acks(acks)
        .partitions(1)
        .time_limit(t)
        .rate(150.0)
        .concurrency(4)
        .seed(1)
        .store(store())
        .script(unclean_script(t))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn teeth_acks_1_with_a_stale_leader_loses_acknowledged_writes() {
    let _serial = kafka_trial::testing::serial().await;
    let mut spec = teeth(Acks::One, 1);
    spec.send_ratio = 0.8;
    let report = run(spec).await.expect("the trial runs");
    eprintln!("{}", kafka_trial::trial::summary(&report));
    assert!(
        report.anomaly("lost-write") > 0,
        "acknowledged sends to a leader that died alone must be reported lost: {}",
        report.results.summary
    );
    assert_eq!(report.exit_code, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn teeth_acks_all_min_insync_2_loses_nothing() {
    let _serial = kafka_trial::testing::serial().await;
    let mut spec = teeth(Acks::All, 2);
    spec.send_ratio = 0.8;
    let report = run(spec).await.expect("the trial runs");
    eprintln!("{}", kafka_trial::trial::summary(&report));
    assert_eq!(
        report.anomaly("lost-write"),
        0,
        "acks=all with min.insync 2 must not lose: {}",
        report.results.summary
    );
    assert!(report.sends_ok > 20, "the workload made progress");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pipelined_senders_keep_one_send_outstanding_per_process() {
    let _serial = kafka_trial::testing::serial().await;
    let report = run(TestSpec::new("pipeline")
        .nodes(3)
        .acks_all()
        .idempotence(true)
        .senders(64)
        .concurrency(2)
        .rate(0.0)
        .time_limit(Duration::from_secs(15))
        .seed(3)
        .store(store())
        .nemesis("kill")
        .unwrap())
    .await
    .expect("the trial runs");
    eprintln!("{}", kafka_trial::trial::summary(&report));
    assert!(
        report.sends_ok > 1000,
        "pipelined sends are fast: {}",
        report.sends_ok
    );
    assert_eq!(
        report.anomaly("lost-write"),
        0,
        "{}",
        report.results.summary
    );
    // The pairing rules hold: every sender process (2..66) has at most one
    // send outstanding at any time (the checker would refuse the history).
    let history = read_history(&report.run_dir.join("history.jsonl")).unwrap();
    let senders: std::collections::BTreeSet<u64> = history
        .ops
        .iter()
        .filter(|o| o.f == F::Send)
        .filter_map(|o| o.process.worker())
        .collect();
    assert!(senders.iter().all(|p| (2..66).contains(p)), "{senders:?}");
    assert!(senders.len() > 32, "many sender processes were used");
}

/// Ctrl-C in the middle of a trial with a partition active: the CLI heals,
/// tears the cluster down, checks what was recorded and exits with the
/// verdict's code, leaving the history, results.json and no container.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_heals_tears_down_and_keeps_the_history() {
    let _serial = kafka_trial::testing::serial().await;
    let store = store().join("ctrl-c");
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_kafka-trial"))
        .args([
            "--store",
            store.to_str().unwrap(),
            "test",
            "--name",
            "interrupted",
        ])
        .args(["--nemesis", "partition", "--nemesis-interval", "3s"])
        .args(["--time-limit", "120s", "--rate", "50", "--concurrency", "3"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the binary starts");
    // Wait until the workload has recorded something and a fault is on.
    let history = |p: &std::path::Path| {
        std::fs::read_to_string(p.join("interrupted/latest/history.jsonl")).unwrap_or_default()
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(180);
    while !history(&store).contains("\"f\":\"start-partition\",\"value\"")
        || !history(&store).contains("\"type\":\"info\",\"f\":\"start-partition\"")
    {
        assert!(std::time::Instant::now() < deadline, "no partition started");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let pid = child.id().expect("running") as i32;
    // SAFETY: signalling the child we spawned.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0);
    let out = tokio::time::timeout(Duration::from_secs(180), child.wait_with_output())
        .await
        .expect("the CLI finishes after Ctrl-C")
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let code = out.status.code().expect("exited, not killed");
    assert!((0..=2).contains(&code), "exit {code}: {stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    let run = store.join("interrupted/latest");
    assert!(run.join("results.json").exists(), "results.json written");
    let h = read_history(&run.join("history.jsonl")).expect("history reads back");
    assert!(h.ops.iter().any(|o| o.f == F::Send && o.kind == OpType::Ok));
    let heal = h
        .ops
        .iter()
        .rev()
        .find(|o| o.process == Process::Nemesis && o.f == F::Heal && o.kind == OpType::Info)
        .expect("heal recorded");
    assert!(
        heal.value.get().contains("\"reason\":\"cancel"),
        "healed on cancel: {}",
        heal.value.get()
    );
    let d = kafka_trial::platform::docker::engine::connect()
        .await
        .unwrap();
    assert!(
        kafka_trial::platform::docker::find_clusters(&d)
            .await
            .unwrap()
            .is_empty(),
        "no cluster left after Ctrl-C"
    );
}

/// Issue 34: `acks-1-leader-kill` (60 s, three leader kills) shrinks to at
/// most 2 faults that still lose acknowledged writes in at least 2 of 3
/// reruns. Long (one run per candidate, ~15–25 minutes here): ignored by
/// default; `cargo test -p kafka-trial --test trial -- --ignored shrink_`.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "long: a shrink of real trials (~15–25 min)"]
async fn shrink_acks_1_leader_kill_to_at_most_two_faults_that_still_lose_writes() {
    use kafka_trial::trial::shrink::{
        self, doc, outcome_of, Budget, Candidate, ShrinkOptions, ShrinkTarget, TrialRunner,
    };
    let _serial = kafka_trial::testing::serial().await;
    let store = store();
    let sc = kafka_trial::trial::SCENARIOS
        .iter()
        .find(|s| s.name == "acks-1-leader-kill")
        .unwrap();
    let mut lossy = None;
    for seed in 0..3 {
        let spec = sc
            .spec(TestSpec::new(sc.name).time_limit(Duration::from_secs(60)))
            .seed(seed)
            .store(&store);
        let r = run(spec).await.expect("the trial runs");
        if r.anomaly("lost-write") > 0 {
            lossy = Some(r);
            break;
        }
    }
    let report = lossy.expect("acks=1 with leader kills lost writes in one of 3 runs");
    let rel = kafka_trial::trial::claims::relative(&store, &report.run_dir);
    let orig = doc::load_run(&store, &rel).unwrap();
    let original = Candidate::original(&orig.spec, orig.schedule.as_ref()).unwrap();
    let before = original.faults.len();
    let target = ShrinkTarget::Class("lost-write".into());
    let mut o = ShrinkOptions::new(
        1,
        Budget {
            wall: Some(Duration::from_secs(25 * 60)),
            max_runs: Some(14),
        },
    );
    o.progress = true;
    let mut base = orig.spec.clone();
    base.name = "acks-1-leader-kill-shrink".into();
    base.progress = false;
    let seen = outcome_of(&store, &report);
    let mut runner = TrialRunner {
        store: store.clone(),
    };
    let s = shrink::shrink(&base, original, Some(seen), &target, &o, &mut runner).await;
    eprintln!(
        "shrunk {before} → {} faults in {} runs, {:.0}s: {:?}",
        s.minimal.faults.len(),
        s.runs,
        s.elapsed_s,
        s.minimal.describe_faults()
    );
    assert!(s.runs <= 14);
    assert!(
        s.minimal.faults.len() <= 2,
        "{:?}",
        s.minimal.describe_faults()
    );
    let spec = s.minimal.to_spec(&base);
    let mut lost = 0;
    for _ in 0..3 {
        let r = run(spec.clone()).await.expect("the minimal spec runs");
        if r.anomaly("lost-write") > 0 {
            lost += 1;
        }
    }
    assert!(
        lost >= 2,
        "the minimal schedule lost writes in {lost} of 3 reruns"
    );
}
