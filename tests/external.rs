//! Trials against a cluster the user runs (issue 32), on a real cluster:
//! one the suite's own Docker platform starts (as `cluster up` does, with
//! `unclean.leader.election.enable=true` and `min.insync.replicas=1`),
//! then treated as external — `kafka-trial test --bootstrap` its address,
//! faults through a hooks file of `docker exec … broker kill|start` and
//! `docker pause|unpause` on its containers. One cluster, one trial
//! (~30 s of workload), serialised with the suite's other cluster tests.

use kafka_trial::cluster::Cluster;
use kafka_trial::kafka::ClusterSpec;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::{Offset, TopicPartitionList};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use trial_nemesis::{FaultKind, Schedule};

/// A secret given on the command line, and one in a properties file (both
/// `sasl.password`: this librdkafka has no OpenSSL, so few secret keys are
/// accepted; the flag's wins): the clients accept it and ignore it on a
/// PLAINTEXT connection.
const SECRET_FLAG: &str = "hunter2-flag-5f1c9e";
const SECRET_FILE: &str = "hunter2-file-77ab03";

fn store() -> PathBuf {
    let p = std::env::temp_dir().join(format!("kafka-trial-external-{}", std::process::id()));
    std::fs::create_dir_all(&p).unwrap();
    p
}

fn json(p: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn consumer(bootstrap: &str, group: &str) -> BaseConsumer {
    ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .set("log_level", "3")
        .create()
        .unwrap()
}

fn groups(bootstrap: &str) -> Vec<String> {
    let c = consumer(bootstrap, "kt-lister");
    let mut g: Vec<String> = c
        .fetch_group_list(None, Duration::from_secs(10))
        .unwrap()
        .groups()
        .iter()
        .map(|g| g.name().to_string())
        .collect();
    g.sort();
    g
}

fn committed(bootstrap: &str, group: &str, topic: &str) -> Offset {
    let c = consumer(bootstrap, group);
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition(topic, 0);
    let got = c.committed_offsets(tpl, Duration::from_secs(10)).unwrap();
    got.find_partition(topic, 0).unwrap().offset()
}

/// Every file under `dir` (recursively).
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = vec![];
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(files(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_cluster_the_user_runs_is_tested_through_bootstrap_and_hooks() {
    let _serial = kafka_trial::testing::serial().await;
    let t_cluster = Instant::now();
    let cluster = Cluster::start(ClusterSpec {
        nodes: 3,
        min_insync_replicas: 1,
        unclean_leader_election: true,
        ..Default::default()
    })
    .await
    .expect("the cluster starts");
    eprintln!("cluster up in {:.1}s", t_cluster.elapsed().as_secs_f64());
    let bootstrap = cluster.bootstrap_servers();
    let id = cluster.id.clone();

    // Another user's topic and group, which the trial must not touch.
    kafka_trial::kafka::admin::create_topic(
        &bootstrap,
        "sentinel",
        1,
        3,
        &[],
        Duration::from_secs(60),
    )
    .await
    .unwrap();
    {
        let b = bootstrap.clone();
        tokio::task::spawn_blocking(move || {
            let c = consumer(&b, "sentinel-group");
            let mut tpl = TopicPartitionList::new();
            tpl.add_partition_offset("sentinel", 0, Offset::Offset(0))
                .unwrap();
            c.commit(&tpl, CommitMode::Sync).unwrap();
        })
        .await
        .unwrap();
    }
    let groups_before = {
        let b = bootstrap.clone();
        tokio::task::spawn_blocking(move || groups(&b))
            .await
            .unwrap()
    };

    // The hooks: the user's own tools, here docker on the containers.
    let dir = tempfile::tempdir().unwrap();
    let hooks = dir.path().join("hooks.toml");
    std::fs::write(
        &hooks,
        format!(
            "timeout = \"40s\"\n\
             kill = \"docker exec kt-{id}-n{{id}} /opt/kt/bin/broker kill\"\n\
             restart = \"docker exec kt-{id}-n{{id}} /opt/kt/bin/broker start\"\n\
             pause = \"docker pause kt-{id}-n{{id}}\"\n\
             resume = \"docker unpause kt-{id}-n{{id}}\"\n"
        ),
    )
    .unwrap();
    let props = dir.path().join("client.properties");
    std::fs::write(
        &props,
        format!("# the file's secret (the flag's wins)\nsasl.password={SECRET_FILE}\n"),
    )
    .unwrap();

    let words = |seed: u64| -> Vec<String> {
        [
            "--name",
            "external",
            "--bootstrap",
            &bootstrap,
            "--fault-hooks",
            hooks.to_str().unwrap(),
            "--client-config",
            "sasl.username=kt-user",
            "--client-config",
            &format!("sasl.password={SECRET_FLAG}"),
            "--client-config-file",
            props.to_str().unwrap(),
            "--nemesis",
            "kill,pause",
            "--nemesis-interval",
            "2s",
            "--min-fault-duration",
            "7s",
            "--time-limit",
            "30s",
            "--partitions",
            "2",
            "--rate",
            "100",
            "--concurrency",
            "4",
            "--senders",
            "16",
            "--seed",
            &seed.to_string(),
        ]
        .map(String::from)
        .to_vec()
    };
    // A seed whose schedule (over the brokers b1..b3 the run will name)
    // plays both a kill and a pause.
    let seed = (0..200u64)
        .find(|s| {
            let t = kafka_trial::spec::SpecArgs::parse_from(words(*s))
                .unwrap()
                .apply(None)
                .unwrap()
                .to_test(&store())
                .unwrap();
            let kafka_trial::trial::NemesisPlan::Generated(o) = &t.nemesis else {
                unreachable!()
            };
            let names = ["b1", "b2", "b3"].map(String::from);
            let s = Schedule::generate_with_zookeeper(*s, &names, &[], t.time_limit, o).unwrap();
            let kinds: Vec<FaultKind> = s.actions.iter().map(|a| a.fault.kind()).collect();
            kinds.contains(&FaultKind::Kill) && kinds.contains(&FaultKind::Pause)
        })
        .expect("a seed with a kill and a pause");

    let t_run = Instant::now();
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_kafka-trial"));
    cmd.arg("--store")
        .arg(store())
        .arg("test")
        .args(words(seed))
        .kill_on_drop(true);
    let out = tokio::time::timeout(Duration::from_secs(240), cmd.output())
        .await
        .expect("the trial ends within 240 s")
        .unwrap();
    let run_secs = t_run.elapsed().as_secs_f64();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    eprintln!("trial took {run_secs:.1}s\n{stdout}\n{stderr}");
    assert_eq!(out.status.code(), Some(0), "a valid trial");
    let run_dir = store().join("external").join("latest");
    let run_dir = std::fs::canonicalize(&run_dir).unwrap();
    let test = json(&run_dir.join("test.json"));
    let results = json(&run_dir.join("results.json"));

    // Faults through the hooks, each with an observable effect.
    let e = &results["checkers"]["effects"];
    let kinds: Vec<&str> = e["intervals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"kill") && kinds.contains(&"pause"),
        "{kinds:?}"
    );
    assert_eq!(e["with_effect"], e["faults"], "every fault bit: {e:#}");
    assert!(e["partly_applied"].is_null() || e["partly_applied"] == 0);
    let hooks_log = std::fs::read_to_string(run_dir.join("hooks.jsonl")).unwrap();
    let calls: Vec<Value> = hooks_log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    for a in ["kill", "restart", "pause", "resume"] {
        assert!(
            calls.iter().any(|c| c["action"] == a && c["code"] == 0),
            "{a} ran: {hooks_log}"
        );
    }
    for c in &calls {
        eprintln!("hook {} {} {} ms", c["node"], c["action"], c["ms"]);
    }

    // The configuration read back, and the promise model's matches it.
    let cfg = &test["external"]["config"]["settings"];
    eprintln!("read back: {cfg:#}");
    assert_eq!(cfg["min.insync.replicas"]["value"], "1");
    assert_eq!(cfg["unclean.leader.election.enable"]["value"], "true");
    // Set by the cluster (the suite sets it cluster-wide), not Kafka's default.
    let src = cfg["min.insync.replicas"]["source"].as_str().unwrap();
    assert!(
        src.starts_with("topic: ") && !src.contains("Kafka's default"),
        "{src}"
    );
    assert_eq!(
        cfg["unclean.leader.election.enable"]["source"],
        "topic: server.properties"
    );
    assert_eq!(cfg["mode"]["value"], "kraft");
    assert!(
        cfg.as_object()
            .unwrap()
            .values()
            .any(|s| s["source"].as_str().unwrap().contains("Kafka's default")),
        "a default's source says so"
    );
    assert_eq!(test["external"]["config"]["unknown"], serde_json::json!([]));
    let pc = &results["promises"]["configuration"];
    assert_eq!(pc["min_insync_replicas"], 1);
    assert_eq!(pc["unclean_leader_election"], true);
    assert_eq!(pc["mode"], "kraft");
    assert_eq!(results["promises"]["configuration_known"], true);

    // The topic is gone; the other topic and group are as they were.
    let topic = test["external"]["topic"].as_str().unwrap().to_string();
    assert!(topic.starts_with("kt-trial-external-"), "{topic}");
    assert_eq!(test["external"]["topic_deleted"], true);
    let md = kafka_trial::kafka::admin::metadata(&bootstrap, None, Duration::from_secs(10))
        .await
        .unwrap();
    assert!(
        !md.topics.keys().any(|t| t.starts_with("kt-trial-")),
        "{:?}",
        md.topics.keys()
    );
    assert_eq!(md.topics["sentinel"].len(), 1);
    let b = bootstrap.clone();
    let (groups_after, sentinel) = tokio::task::spawn_blocking(move || {
        (groups(&b), committed(&b, "sentinel-group", "sentinel"))
    })
    .await
    .unwrap();
    assert_eq!(
        sentinel,
        Offset::Offset(0),
        "the other group's offset is untouched"
    );
    for g in &groups_after {
        assert!(
            groups_before.contains(g) || g.starts_with("kt-trial-") || g == "kt-lister",
            "group {g} appeared"
        );
    }

    // No secret anywhere in the run folder.
    for f in files(&run_dir) {
        let bytes = std::fs::read(&f).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        for s in [SECRET_FLAG, SECRET_FILE] {
            assert!(!text.contains(s), "{} holds a secret", f.display());
        }
    }
    assert!(std::fs::read_to_string(run_dir.join("test.json"))
        .unwrap()
        .contains("\"sasl.password\": \"***\""));
    for s in [SECRET_FLAG, SECRET_FILE] {
        assert!(
            !stdout.contains(s) && !stderr.contains(s),
            "the terminal shows a secret"
        );
    }
    drop(cluster);
}

/// Options impossible on a cluster the user runs are refused before
/// anything starts, with exit code 3 (no cluster needed).
#[test]
fn impossible_options_exit_3() {
    for extra in [
        &["--nodes", "5"][..],
        &["--kafka-version", "3.9.1"],
        &["--nemesis", "kill"],
        &["--nemesis", "partition"],
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_kafka-trial"))
            .args([
                "--store",
                store().to_str().unwrap(),
                "test",
                "--bootstrap",
                "127.0.0.1:1",
            ])
            .args(extra)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(3), "{extra:?}");
        assert!(!String::from_utf8_lossy(&out.stderr).trim().is_empty());
    }
}
