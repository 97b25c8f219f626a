//! The nemesis' commands in a real kernel: five containers of the node
//! image on their own docker network, acted on through `docker exec`.
//!
//! Opt-in (Docker and an image are needed): set `KTRIAL_NEMESIS_IMAGE` to
//! the node image, e.g.
//!
//! ```sh
//! KTRIAL_NEMESIS_IMAGE=kafka-trial-node:<tag> cargo test -p trial-nemesis --test docker -- --nocapture
//! ```
//!
//! No Kafka runs here: the "broker" of each node is a `sleep` renamed
//! `fakebroker` (so kill, pause and restart have a process to act on), and
//! the connectivity probes aim at a port where nothing listens: a refusal
//! proves packets pass both ways, a timeout proves they are dropped. The
//! containers and network carry the label `kafka-trial=true`, so
//! `kafka-trial clean` removes them if this test is killed.

use async_trait::async_trait;
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;
use trial_histories::writer::HistoryWriter;
use trial_nemesis::{
    iptables, measure_offset, probe, run, topology, ClockMode, ClockOffset, ExecOutput,
    FaketimeEnv, Fault, NoTargets, Node, NodeError, ProcessRole, ProcessState, Schedule,
    StaticTargets, Target, Targets, Topology,
};

const PORT: u16 = 9092;

#[derive(Debug)]
struct DockerNode {
    name: String,
    container: String,
    ip: IpAddr,
}

fn docker(args: &[&str]) -> Result<String, String> {
    let out = Command::new("docker")
        .args(args)
        .output()
        .map_err(|e| format!("docker {args:?}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "docker {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

impl DockerNode {
    async fn sh(&self, script: &str) -> Result<ExecOutput, NodeError> {
        self.exec(&["sh", "-c", script]).await
    }
    async fn sh_ok(&self, script: &str) -> Result<(), NodeError> {
        let o = self.sh(script).await?;
        if o.success() {
            Ok(())
        } else {
            Err(NodeError::Exec {
                node: self.name.clone(),
                cmd: script.into(),
                msg: format!("exit {}: {}", o.code, o.stderr),
            })
        }
    }
}

#[async_trait]
impl Node for DockerNode {
    fn name(&self) -> &str {
        &self.name
    }
    fn ip(&self) -> IpAddr {
        self.ip
    }
    async fn exec(&self, argv: &[&str]) -> Result<ExecOutput, NodeError> {
        let out = tokio::process::Command::new("docker")
            .arg("exec")
            .arg(&self.container)
            .args(argv)
            .output()
            .await
            .map_err(|e| NodeError::Other {
                node: self.name.clone(),
                msg: e.to_string(),
            })?;
        Ok(ExecOutput {
            code: out.status.code().unwrap_or(-1) as i64,
            stdout: String::from_utf8_lossy(&out.stdout).into(),
            stderr: String::from_utf8_lossy(&out.stderr).into(),
        })
    }
    async fn kill(&self, _process: ProcessRole) -> Result<(), NodeError> {
        self.sh_ok("pkill -KILL -f '^fakebroker'").await
    }
    async fn start(&self, _process: ProcessRole) -> Result<(), NodeError> {
        let out = tokio::process::Command::new("docker")
            .args(["exec", "-d", &self.container, "bash", "-c"])
            .arg("exec -a fakebroker sleep 1000000")
            .output()
            .await
            .map_err(|e| NodeError::Other {
                node: self.name.clone(),
                msg: e.to_string(),
            })?;
        if !out.status.success() {
            return Err(NodeError::Other {
                node: self.name.clone(),
                msg: String::from_utf8_lossy(&out.stderr).into(),
            });
        }
        // `docker exec -d` returns before the process exists.
        for _ in 0..50 {
            if self.state(ProcessRole::Broker).await? == ProcessState::Running {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(NodeError::Other {
            node: self.name.clone(),
            msg: "fakebroker did not start".into(),
        })
    }
    async fn pause(&self, _process: ProcessRole) -> Result<(), NodeError> {
        self.sh_ok("pkill -STOP -f '^fakebroker'").await
    }
    async fn resume(&self, _process: ProcessRole) -> Result<(), NodeError> {
        self.sh_ok("pkill -CONT -f '^fakebroker'").await
    }
    async fn state(&self, _process: ProcessRole) -> Result<ProcessState, NodeError> {
        let o = self
            .sh("p=$(pgrep -f '^fakebroker' | head -1); [ -z \"$p\" ] && echo dead || ps -o stat= -p $p")
            .await?;
        let s = o.stdout.trim();
        Ok(if s == "dead" || s.starts_with('Z') || s.is_empty() {
            ProcessState::Dead
        } else if s.starts_with('T') {
            ProcessState::Paused
        } else {
            ProcessState::Running
        })
    }
}

/// Five containers on a private network; removed on drop.
struct Cluster {
    tag: String,
    nodes: Vec<Arc<dyn Node>>,
}

impl Cluster {
    async fn up(image: &str, n: usize) -> Cluster {
        let tag = format!("ktnem-{}", std::process::id());
        let mut c = Cluster {
            tag: tag.clone(),
            nodes: vec![],
        };
        let label = format!("kafka-trial.nemesis-test={tag}");
        docker(&[
            "network",
            "create",
            "--label",
            "kafka-trial=true",
            "--label",
            &label,
            &tag,
        ])
        .unwrap();
        for i in 1..=n {
            let name = format!("n{i}");
            let container = format!("{tag}-{name}");
            docker(&[
                "run",
                "-d",
                "--name",
                &container,
                "--hostname",
                &name,
                "--network",
                &tag,
                "--cap-add",
                "NET_ADMIN",
                "--label",
                "kafka-trial=true",
                "--label",
                &label,
                "--entrypoint",
                "/usr/bin/tini",
                image,
                "-s",
                "--",
                "sleep",
                "infinity",
            ])
            .unwrap();
            let ip = docker(&[
                "inspect",
                "-f",
                "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}",
                &container,
            ])
            .unwrap()
            .parse()
            .unwrap();
            let node = DockerNode {
                name,
                container,
                ip,
            };
            node.start(ProcessRole::Broker).await.unwrap();
            c.nodes.push(Arc::new(node));
        }
        c
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for i in 1..=self.nodes.len() {
            let _ = docker(&["rm", "-f", &format!("{}-n{i}", self.tag)]);
        }
        let _ = docker(&["network", "rm", &self.tag]);
    }
}

fn one_fault(fault: Fault, stop_ms: u64) -> Schedule {
    Schedule::single(
        &trial_nemesis::node_names(5),
        fault,
        Duration::from_millis(stop_ms),
    )
}

struct Running {
    cancel: watch::Sender<bool>,
    task: tokio::task::JoinHandle<Result<trial_nemesis::RunReport, trial_nemesis::NemesisError>>,
    history: Arc<HistoryWriter>,
}

/// Start the schedule and wait until its first action completed.
async fn start(c: &Cluster, s: Schedule, targets: Arc<dyn Targets>) -> Running {
    let (tx, rx) = watch::channel(false);
    let history = Arc::new(HistoryWriter::from_writer(std::io::sink()));
    let (nodes, h) = (c.nodes.clone(), history.clone());
    let task = tokio::spawn(async move { run(&s, nodes, targets, h, rx, Instant::now()).await });
    while history.len() < 2 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Running {
        cancel: tx,
        task,
        history,
    }
}

async fn matrix(c: &Cluster) -> BTreeMap<(String, String), bool> {
    probe::connectivity_matrix(&c.nodes, PORT, Duration::from_secs(1))
        .await
        .unwrap()
}

async fn assert_clean(c: &Cluster) {
    let m = matrix(c).await;
    assert!(m.values().all(|ok| *ok), "healed, all reachable: {m:?}");
    for n in &c.nodes {
        let out = n.exec(&["iptables", "-w", "-S"]).await.unwrap();
        assert!(
            iptables::chain_rules(&out.stdout).is_empty(),
            "{}",
            out.stdout
        );
        assert_eq!(
            n.state(ProcessRole::Broker).await.unwrap(),
            ProcessState::Running
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_kernel() {
    let Ok(image) = std::env::var("KTRIAL_NEMESIS_IMAGE") else {
        eprintln!("skipped: set KTRIAL_NEMESIS_IMAGE to a node image to run this test");
        return;
    };
    let c = Cluster::up(&image, 5).await;
    let names = trial_nemesis::node_names(5);

    // Nothing listens on the port: every probe is refused, i.e. reachable.
    let m = matrix(&c).await;
    assert_eq!(m.len(), 20);
    assert!(m.values().all(|ok| *ok), "{m:?}");

    // Every fixed topology: the probes see exactly the grudge; cancel heals.
    use rand::SeedableRng;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
    for t in [
        Topology::Halves,
        Topology::One,
        Topology::Majority,
        Topology::MajoritiesRing,
        Topology::Bridge,
    ] {
        let g = topology::build(t, &names, &mut rng).unwrap();
        let t0 = Instant::now();
        let r = start(
            &c,
            one_fault(
                Fault::Partition {
                    topology: t,
                    grudge: Some(g.clone()),
                },
                600_000,
            ),
            Arc::new(NoTargets),
        )
        .await;
        eprintln!("{t}: applied in {:?}", t0.elapsed());
        let m = matrix(&c).await;
        assert_eq!(
            probe::matrix_mismatches(&m, &g),
            Vec::<String>::new(),
            "{t}: {}",
            trial_nemesis::grudge::render(&g)
        );
        r.cancel.send(true).unwrap();
        let rep = r.task.await.unwrap().unwrap();
        eprintln!("{t}: healed in {}ms", rep.heal.duration_ms);
        assert!(rep.cancelled && rep.heal.verified);
        assert_clean(&c).await;
    }

    // primaries through Targets, stopped by the schedule (iptables -D path).
    let targets = StaticTargets {
        leaders: BTreeMap::from([(0, "n2".into()), (1, "n4".into())]),
        ..Default::default()
    };
    let r = start(
        &c,
        one_fault(
            Fault::Partition {
                topology: Topology::Primaries,
                grudge: None,
            },
            4_000,
        ),
        Arc::new(targets),
    )
    .await;
    let want = topology::isolate(&names, &["n2".to_string(), "n4".to_string()].into());
    assert_eq!(
        probe::matrix_mismatches(&matrix(&c).await, &want),
        Vec::<String>::new()
    );
    let rep = r.task.await.unwrap().unwrap();
    assert!(!rep.cancelled);
    assert_eq!(rep.failed_actions, 0, "stop-partition deleted its rules");
    assert_eq!(r.history.len(), 6);
    assert_clean(&c).await;

    // Loss at 50% on every link: a connect needs its SYN and the answer to
    // pass (25%); ping loses request or reply (75%).
    let r = start(
        &c,
        one_fault(
            Fault::Loss {
                target: Target::All,
                nodes: Some(names.iter().cloned().collect()),
                probability: 0.5,
            },
            20_000,
        ),
        Arc::new(NoTargets),
    )
    .await;
    let (a, b) = (&c.nodes[0], &c.nodes[1]);
    let ok = probe::tcp_success_count(a.as_ref(), b.ip(), PORT, 40, Duration::from_millis(300))
        .await
        .unwrap();
    eprintln!("loss 0.5: {ok}/40 connects answered");
    assert!(
        (2..=22).contains(&ok),
        "{ok}/40 answered, expected about 10"
    );
    let loss = probe::ping_loss(a.as_ref(), b.ip(), 30).await.unwrap();
    eprintln!("loss 0.5: ping loss {loss}");
    assert!(
        (0.4..=0.98).contains(&loss),
        "ping loss {loss}, expected about 0.75"
    );
    let rep = r.task.await.unwrap().unwrap();
    assert_eq!(
        rep.failed_actions, 0,
        "stop-loss deleted its statistic rules"
    );
    let ok = probe::tcp_success_count(a.as_ref(), b.ip(), PORT, 10, Duration::from_millis(300))
        .await
        .unwrap();
    assert_eq!(ok, 10);
    assert_clean(&c).await;

    // Clock: a bump is what a process under libfaketime sees; heal resets.
    let env = FaketimeEnv::default();
    let r = start(
        &c,
        one_fault(
            Fault::Clock {
                target: Target::One,
                mode: ClockMode::Bump,
                offsets: Some(BTreeMap::from([("n3".into(), ClockOffset(-120))])),
                candidates: vec![],
                strobe: None,
            },
            600_000,
        ),
        Arc::new(NoTargets),
    )
    .await;
    let off = measure_offset(c.nodes[2].as_ref(), &env).await.unwrap();
    assert!((-121..=-119).contains(&off), "n3 sees {off}s");
    let off = measure_offset(c.nodes[0].as_ref(), &env).await.unwrap();
    assert!((-1..=1).contains(&off), "n1 untouched: {off}s");
    r.cancel.send(true).unwrap();
    let rep = r.task.await.unwrap().unwrap();
    assert!(rep.heal.nodes["n3"]
        .undone
        .contains(&"clock -120s -> +0".to_string()));
    let off = measure_offset(c.nodes[2].as_ref(), &env).await.unwrap();
    assert!((-1..=1).contains(&off), "reset: {off}s");

    // Kill and pause of the process; heal restarts and resumes.
    let r = start(
        &c,
        one_fault(
            Fault::Kill {
                target: Target::Minority,
                nodes: Some(["n4".to_string(), "n5".to_string()].into()),
                process: ProcessRole::Broker,
            },
            600_000,
        ),
        Arc::new(NoTargets),
    )
    .await;
    assert_eq!(
        c.nodes[3].state(ProcessRole::Broker).await.unwrap(),
        ProcessState::Dead
    );
    r.cancel.send(true).unwrap();
    let rep = r.task.await.unwrap().unwrap();
    assert_eq!(rep.heal.nodes["n4"].undone, ["started broker"]);
    let r = start(
        &c,
        one_fault(
            Fault::Pause {
                target: Target::One,
                nodes: Some(["n1".to_string()].into()),
                process: ProcessRole::Broker,
            },
            2_000,
        ),
        Arc::new(NoTargets),
    )
    .await;
    assert_eq!(
        c.nodes[0].state(ProcessRole::Broker).await.unwrap(),
        ProcessState::Paused
    );
    let rep = r.task.await.unwrap().unwrap();
    assert_eq!(rep.failed_actions, 0);
    assert_clean(&c).await;
}
