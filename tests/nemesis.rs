//! The nemesis against a real 5-node Kafka cluster, judged by effect:
//! TCP connects from inside the nodes follow each partition's grudge, a
//! killed broker refuses connections and comes back, a paused broker
//! answers nothing until resumed, packet loss drops packets, a skewed
//! clock reads off by the offset — and heal leaves nothing behind.

use kafka_trial::cluster::Cluster;
use kafka_trial::kafka::{admin, ClusterSpec, BROKER_PORT};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;
use trial_histories::HistoryWriter;
use trial_nemesis::{
    iptables, measure_offset, probe, run, topology, ClockMode, ClockOffset, FaketimeEnv, Fault,
    NoTargets, Node, ProcessRole, ProcessState, Schedule, StaticTargets, Target, Targets, Topology,
};

/// A schedule of one fault, started at once and stopped at `stop_ms`.
fn one_fault(nodes: &[String], fault: Fault, stop_ms: u64) -> Schedule {
    Schedule::single(nodes, fault, Duration::from_millis(stop_ms))
}

struct Running {
    cancel: watch::Sender<bool>,
    task: tokio::task::JoinHandle<Result<trial_nemesis::RunReport, trial_nemesis::NemesisError>>,
}

/// Start a schedule and wait until its first action is done (invoke + info).
async fn start(nodes: &[Arc<dyn Node>], s: Schedule, targets: Arc<dyn Targets>) -> Running {
    let (tx, rx) = watch::channel(false);
    let history = Arc::new(HistoryWriter::from_writer(std::io::sink()));
    let (n, h) = (nodes.to_vec(), history.clone());
    let task = tokio::spawn(async move { run(&s, n, targets, h, rx, Instant::now()).await });
    let deadline = Instant::now() + Duration::from_secs(60);
    while history.len() < 2 {
        assert!(Instant::now() < deadline, "the first action did not finish");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Running { cancel: tx, task }
}

async fn matrix(nodes: &[Arc<dyn Node>]) -> BTreeMap<(String, String), bool> {
    probe::connectivity_matrix(nodes, BROKER_PORT, Duration::from_secs(2))
        .await
        .expect("probes run")
}

async fn assert_healed(nodes: &[Arc<dyn Node>]) {
    let m = matrix(nodes).await;
    assert!(
        m.values().all(|ok| *ok),
        "after heal every pair connects: {m:?}"
    );
    for n in nodes {
        let out = n.exec(&["iptables", "-w", "-S"]).await.unwrap();
        assert!(
            iptables::chain_rules(&out.stdout).is_empty(),
            "{}: {}",
            n.name(),
            out.stdout
        );
        assert_eq!(
            n.state(ProcessRole::Broker).await.unwrap(),
            ProcessState::Running
        );
    }
}

/// Whether a broker answers a metadata request on its own within `t`.
async fn answers(node: &Arc<dyn Node>, t: Duration) -> bool {
    admin::metadata(&format!("{}:{BROKER_PORT}", node.ip()), None, t)
        .await
        .is_ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_fault_has_its_real_effect_on_a_five_node_cluster_and_heals() {
    let cluster = Cluster::start(ClusterSpec {
        nodes: 5,
        replication_factor: 3,
        min_insync_replicas: 2,
        ..Default::default()
    })
    .await
    .expect("5-node cluster");
    let nodes = cluster.nemesis_nodes();
    let names: Vec<String> = nodes.iter().map(|n| n.name().to_string()).collect();

    // Healthy: every pair connects to the broker port.
    assert!(matrix(&nodes).await.values().all(|ok| *ok));

    // Each topology: connects succeed exactly where the grudge allows.
    use rand::SeedableRng;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
    for t in [
        Topology::Halves,
        Topology::One,
        Topology::Majority,
        Topology::MajoritiesRing,
        Topology::Bridge,
    ] {
        let g = topology::build(t, &names, &mut rng).unwrap();
        let r = start(
            &nodes,
            one_fault(
                &names,
                Fault::Partition {
                    topology: t,
                    grudge: Some(g.clone()),
                },
                600_000,
            ),
            Arc::new(NoTargets),
        )
        .await;
        let m = matrix(&nodes).await;
        assert_eq!(
            probe::matrix_mismatches(&m, &g),
            Vec::<String>::new(),
            "{t}: {}",
            trial_nemesis::grudge::render(&g)
        );
        r.cancel.send(true).unwrap();
        let rep = r.task.await.unwrap().unwrap();
        eprintln!("{t}: grudge held; healed in {} ms", rep.heal.duration_ms);
        assert!(rep.heal.verified);
        assert_healed(&nodes).await;
    }

    // primaries: the leaders of a real topic, asked of the metadata.
    admin::create_topic(
        &cluster.bootstrap_servers(),
        "t",
        2,
        3,
        &[],
        Duration::from_secs(60),
    )
    .await
    .unwrap();
    let md = admin::metadata(
        &cluster.bootstrap_servers(),
        Some("t"),
        Duration::from_secs(5),
    )
    .await
    .unwrap();
    let leaders: BTreeMap<i32, String> = md.topics["t"]
        .iter()
        .map(|p| (p.id, cluster.name_of(p.leader).unwrap()))
        .collect();
    let r = start(
        &nodes,
        one_fault(
            &names,
            Fault::Partition {
                topology: Topology::Primaries,
                grudge: None,
            },
            600_000,
        ),
        Arc::new(StaticTargets {
            leaders: leaders.clone(),
            ..Default::default()
        }),
    )
    .await;
    let want = topology::isolate(&names, &leaders.values().cloned().collect());
    assert_eq!(
        probe::matrix_mismatches(&matrix(&nodes).await, &want),
        Vec::<String>::new()
    );
    r.cancel.send(true).unwrap();
    r.task.await.unwrap().unwrap();
    assert_healed(&nodes).await;

    // Kill: the broker process is gone and its port refuses; stop restarts it.
    let victim = nodes[4].clone();
    let r = start(
        &nodes,
        one_fault(
            &names,
            Fault::Kill {
                process: ProcessRole::Broker,
                target: Target::One,
                nodes: Some([victim.name().to_string()].into()),
            },
            600_000,
        ),
        Arc::new(NoTargets),
    )
    .await;
    assert_eq!(
        victim.state(ProcessRole::Broker).await.unwrap(),
        ProcessState::Dead
    );
    let p = probe::tcp_probe(
        nodes[0].as_ref(),
        victim.ip(),
        BROKER_PORT,
        Duration::from_secs(2),
    )
    .await
    .unwrap();
    assert_eq!(p, probe::Probe::Refused, "a killed broker's port refuses");
    r.cancel.send(true).unwrap();
    r.task.await.unwrap().unwrap();
    let t = Instant::now();
    let mut back = false;
    while t.elapsed() < Duration::from_secs(90) {
        if answers(&victim, Duration::from_secs(3)).await {
            back = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(back, "the restarted broker serves again");
    eprintln!(
        "kill: restarted broker served after {:.1}s",
        t.elapsed().as_secs_f64()
    );
    assert_healed(&nodes).await;

    // Pause: the broker answers nothing in time; resume and it answers.
    let victim = nodes[3].clone();
    assert!(answers(&victim, Duration::from_secs(10)).await);
    let r = start(
        &nodes,
        one_fault(
            &names,
            Fault::Pause {
                process: ProcessRole::Broker,
                target: Target::One,
                nodes: Some([victim.name().to_string()].into()),
            },
            600_000,
        ),
        Arc::new(NoTargets),
    )
    .await;
    assert_eq!(
        victim.state(ProcessRole::Broker).await.unwrap(),
        ProcessState::Paused
    );
    assert!(
        !answers(&victim, Duration::from_secs(3)).await,
        "a paused broker answers nothing"
    );
    r.cancel.send(true).unwrap();
    r.task.await.unwrap().unwrap();
    assert!(
        answers(&victim, Duration::from_secs(20)).await,
        "resumed, it answers"
    );
    assert_healed(&nodes).await;

    // Loss at 50 % on the links of n1 and n2: pings are measurably dropped.
    let (a, b) = (nodes[0].clone(), nodes[1].clone());
    let r = start(
        &nodes,
        one_fault(
            &names,
            Fault::Loss {
                target: Target::All,
                nodes: Some([a.name().to_string(), b.name().to_string()].into()),
                probability: 0.5,
            },
            600_000,
        ),
        Arc::new(NoTargets),
    )
    .await;
    let loss = probe::ping_loss(a.as_ref(), b.ip(), 40).await.unwrap();
    eprintln!("loss 0.5 on both ends: ping loss {loss:.2}");
    assert!((0.3..=0.99).contains(&loss), "ping loss {loss}");
    r.cancel.send(true).unwrap();
    r.task.await.unwrap().unwrap();
    let loss = probe::ping_loss(a.as_ref(), b.ip(), 10).await.unwrap();
    assert!(loss < 0.01, "after heal no ping is lost: {loss}");
    assert_healed(&nodes).await;

    // Clock: a bump moves the time a process under libfaketime reads.
    let env = FaketimeEnv::default();
    let c = nodes[2].clone();
    let r = start(
        &nodes,
        one_fault(
            &names,
            Fault::Clock {
                target: Target::One,
                mode: ClockMode::Bump,
                offsets: Some(BTreeMap::from([(c.name().to_string(), ClockOffset(-120))])),
                candidates: vec![ClockOffset(-120)],
                strobe: None,
            },
            600_000,
        ),
        Arc::new(NoTargets),
    )
    .await;
    let off = measure_offset(c.as_ref(), &env).await.unwrap();
    assert!(
        (-123..=-117).contains(&off),
        "measured offset {off}s, asked -120s"
    );
    r.cancel.send(true).unwrap();
    r.task.await.unwrap().unwrap();
    let off = measure_offset(c.as_ref(), &env).await.unwrap();
    assert!(off.abs() <= 2, "after heal the offset is gone: {off}s");

    cluster.teardown().await.unwrap();
}
