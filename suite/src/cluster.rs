//! A real KRaft Kafka cluster in Docker containers.
//!
//! Each node `nK` is a container (hostname `nK`) on a private bridge
//! network made for this cluster, with `NET_ADMIN` so the nemesis can set
//! iptables rules inside it. PID 1 is `tini` running `sleep`: the broker
//! JVM is a *child* process started by the control script
//! `/opt/kt/bin/broker`, so it can be SIGKILLed, SIGSTOPped and restarted
//! on the same data while the container, its address and its iptables
//! rules stay (a JVM as PID 1 ignores SIGKILL from inside its namespace).
//!
//! Per node the host holds `<work>/nK/{conf,logs}`: `conf` (server.properties,
//! log4j2.properties, the control script) is mounted read-only at
//! `/opt/kt`, `logs` at `/var/log/kafka`, and the Kafka jars at
//! `/opt/kafka/libs`. Broker logs are therefore on the host as they are
//! written; teardown copies them into the run's `nodes/nK/`.

use crate::admin;
use crate::docker::{self, LABEL, LABEL_CLUSTER};
use crate::image;
use crate::kafka_dist::{self, KafkaDist};
use anyhow::{anyhow, bail, Context, Result};
use async_trait::async_trait;
use bollard::models::{ContainerCreateBody, HostConfig, NetworkCreateRequest};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, ListContainersOptionsBuilder, ListNetworksOptionsBuilder,
    RemoveContainerOptionsBuilder,
};
use bollard::Docker;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use trial_nemesis::{ExecOutput, Node, NodeError, ProcessState};

/// Broker listener port inside every node.
pub const BROKER_PORT: u16 = 9092;
/// KRaft controller listener port.
pub const CONTROLLER_PORT: u16 = 9093;

/// Everything needed to start a cluster. Validate with [`ClusterSpec::validate`]
/// before anything starts.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClusterSpec {
    /// Broker nodes n1..nN.
    pub nodes: usize,
    /// KRaft voters. Combined mode: the first `controllers` nodes are
    /// broker+controller, the rest brokers only (default: all up to 5).
    /// Split roles: this many extra controller-only nodes c1..cK (default 3).
    pub controllers: Option<usize>,
    /// Dedicated controller nodes instead of combined broker+controller.
    pub split_roles: bool,
    /// Kafka release (default: the newest 4.x that resolves).
    pub kafka_version: Option<String>,
    /// Node image (default: the suite's own, built when missing).
    pub image: Option<String>,
    /// `default.replication.factor`.
    pub replication_factor: usize,
    /// `min.insync.replicas`.
    pub min_insync_replicas: usize,
    /// `unclean.leader.election.enable`.
    pub unclean_leader_election: bool,
    /// Free-form broker properties with Kafka's own names; they win.
    pub broker_overrides: BTreeMap<String, String>,
    /// Launch brokers under libfaketime so the clock nemesis can skew them.
    /// Off unless asked: libfaketime's interposition costs the JVM a lot
    /// of CPU (measured: a 1-node broker's controller event queue overloaded).
    pub faketime: bool,
    /// JVM heap per broker, in MiB.
    pub heap_mb: u32,
    /// How long to wait for every broker to register.
    pub ready_timeout: Duration,
}

impl Default for ClusterSpec {
    fn default() -> Self {
        ClusterSpec {
            nodes: 3,
            controllers: None,
            split_roles: false,
            kafka_version: None,
            image: None,
            replication_factor: 3,
            min_insync_replicas: 2,
            unclean_leader_election: false,
            broker_overrides: BTreeMap::new(),
            faketime: false,
            heap_mb: 512,
            ready_timeout: Duration::from_secs(180),
        }
    }
}

impl ClusterSpec {
    /// Refuse impossible options with a message, before anything starts.
    pub fn validate(&self) -> Result<()> {
        if self.nodes < 1 {
            bail!("--nodes must be at least 1");
        }
        if self.nodes > 15 {
            bail!(
                "--nodes {} is more than this suite runs (15 at most)",
                self.nodes
            );
        }
        if self.replication_factor < 1 {
            bail!("--replication-factor must be at least 1");
        }
        if self.replication_factor > self.nodes {
            bail!(
                "--replication-factor {} is above the node count {}: Kafka cannot place {} replicas on {} brokers",
                self.replication_factor,
                self.nodes,
                self.replication_factor,
                self.nodes
            );
        }
        if self.min_insync_replicas < 1 {
            bail!("--min-insync-replicas must be at least 1");
        }
        if self.min_insync_replicas > self.replication_factor {
            bail!(
                "--min-insync-replicas {} is above the replication factor {}: no acks=all write could ever succeed",
                self.min_insync_replicas,
                self.replication_factor
            );
        }
        if let Some(c) = self.controllers {
            if c < 1 {
                bail!("--controllers must be at least 1");
            }
            if !self.split_roles && c > self.nodes {
                bail!(
                    "--controllers {c} is above the node count {} (combined mode)",
                    self.nodes
                );
            }
        }
        if let Some(v) = &self.kafka_version {
            kafka_dist::validate_version(v)?;
        }
        if self.heap_mb < 128 {
            bail!("--heap-mb must be at least 128");
        }
        Ok(())
    }

    /// The roles of every node, in order: (name, node.id, broker?, controller?).
    pub fn layout(&self) -> Vec<NodeRole> {
        let mut v = vec![];
        if self.split_roles {
            let k = self.controllers.unwrap_or(3);
            for i in 1..=k {
                v.push(NodeRole {
                    name: format!("c{i}"),
                    id: 100 + i as i32,
                    broker: false,
                    controller: true,
                });
            }
            for i in 1..=self.nodes {
                v.push(NodeRole {
                    name: format!("n{i}"),
                    id: i as i32,
                    broker: true,
                    controller: false,
                });
            }
        } else {
            let k = self.controllers.unwrap_or(self.nodes.min(5));
            for i in 1..=self.nodes {
                v.push(NodeRole {
                    name: format!("n{i}"),
                    id: i as i32,
                    broker: true,
                    controller: i <= k,
                });
            }
        }
        v
    }
}

/// One node's place in the cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeRole {
    pub name: String,
    pub id: i32,
    pub broker: bool,
    pub controller: bool,
}

/// The broker-control script run inside each node. `start` daemonises the
/// JVM and records its pid; `kill`/`pause`/`resume` signal that pid;
/// `state` prints running, paused or dead.
const BROKER_SCRIPT: &str = r#"#!/bin/bash
# kafka-trial: control of the broker process inside a node.
set -u
PIDFILE=/run/kt-broker.pid
CONF=/opt/kt/server.properties
LOGS=/var/log/kafka
pid() { [ -s "$PIDFILE" ] && cat "$PIDFILE"; }
alive() {
  local p; p=$(pid) || return 1
  [ -r "/proc/$p/status" ] || return 1
  ! grep -q '^State:[[:space:]]*[ZX]' "/proc/$p/status"
}
java_opts() {
  echo "-Xms${KT_HEAP_MB}m -Xmx${KT_HEAP_MB}m -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:TieredStopAtLevel=1 -Djava.awt.headless=true -Dkafka.logs.dir=$LOGS -Dlog4j2.configurationFile=/opt/kt/log4j2.properties"
}
case "${1:-}" in
  format)
    java $(java_opts) -cp '/opt/kafka/libs/*' kafka.tools.StorageTool format -t "$2" -c "$CONF" --ignore-formatted >>"$LOGS/format.out" 2>&1
    ;;
  start)
    if alive; then echo "already running: $(pid)"; exit 0; fi
    mkdir -p "$LOGS"
    echo "[$(date -u '+%F %T')] kafka-trial: starting broker" >>"$LOGS/server.out"
    if [ -f /opt/kt/faketime ]; then
      lib=$(ls /usr/lib/*/faketime/libfaketime.so.1 | head -1)
      [ -f /etc/faketimerc ] || echo "+0" >/etc/faketimerc
      export LD_PRELOAD="$lib" FAKETIME_TIMESTAMP_FILE=/etc/faketimerc FAKETIME_CACHE_DURATION=1 FAKETIME_DONT_FAKE_MONOTONIC=1
    fi
    setsid bash -c 'echo $$ >'"$PIDFILE"'; exec java '"$(java_opts)"' -cp "/opt/kafka/libs/*" kafka.Kafka '"$CONF" \
      >>"$LOGS/server.out" 2>&1 </dev/null &
    for _ in $(seq 1 50); do [ -s "$PIDFILE" ] && break; sleep 0.1; done
    echo "started: $(pid)"
    ;;
  kill)
    if alive; then kill -9 "$(pid)"; for _ in $(seq 1 100); do alive || break; sleep 0.05; done; fi
    alive && { echo "still alive"; exit 1; }
    echo "killed"
    ;;
  pause) alive && kill -STOP "$(pid)" ;;
  resume) alive && kill -CONT "$(pid)" ;;
  state)
    if alive; then
      if grep -q '^State:[[:space:]]*T' "/proc/$(pid)/status"; then echo paused; else echo running; fi
    else
      echo dead
    fi
    ;;
  *) echo "usage: broker format ID|start|kill|pause|resume|state" >&2; exit 2 ;;
esac
"#;

const LOG4J2: &str = "status = warn
appender.file.type = File
appender.file.name = FILE
appender.file.fileName = ${sys:kafka.logs.dir}/server.log
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
appender.state.type = File
appender.state.name = STATE
appender.state.fileName = ${sys:kafka.logs.dir}/state-change.log
appender.state.layout.type = PatternLayout
appender.state.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = FILE
logger.state.name = state.change.logger
logger.state.level = INFO
logger.state.additivity = false
logger.state.appenderRef.state.ref = STATE
logger.zk.name = org.apache.kafka.clients
logger.zk.level = WARN
";

/// The `server.properties` of one node. Suite defaults first, then the
/// spec's settings, then the user's overrides (Kafka's own names win).
pub fn server_properties(spec: &ClusterSpec, role: &NodeRole, ip: &IpAddr, voters: &str) -> String {
    let brokers = spec.nodes;
    let internal_rf = brokers.min(3);
    let mut p: BTreeMap<String, String> = BTreeMap::new();
    let mut set = |k: &str, v: String| {
        p.insert(k.to_string(), v);
    };
    let roles = match (role.broker, role.controller) {
        (true, true) => "broker,controller",
        (true, false) => "broker",
        _ => "controller",
    };
    set("process.roles", roles.into());
    set("node.id", role.id.to_string());
    set("controller.quorum.voters", voters.into());
    let mut listeners = vec![];
    if role.broker {
        listeners.push(format!("PLAINTEXT://0.0.0.0:{BROKER_PORT}"));
        set(
            "advertised.listeners",
            format!("PLAINTEXT://{ip}:{BROKER_PORT}"),
        );
        set("inter.broker.listener.name", "PLAINTEXT".into());
    }
    if role.controller {
        listeners.push(format!("CONTROLLER://0.0.0.0:{CONTROLLER_PORT}"));
    }
    set("listeners", listeners.join(","));
    set("controller.listener.names", "CONTROLLER".into());
    set(
        "listener.security.protocol.map",
        "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT".into(),
    );
    set("log.dirs", "/var/lib/kafka/data".into());
    set("num.partitions", "1".into());
    set(
        "default.replication.factor",
        spec.replication_factor.to_string(),
    );
    set("min.insync.replicas", spec.min_insync_replicas.to_string());
    set(
        "unclean.leader.election.enable",
        spec.unclean_leader_election.to_string(),
    );
    set("offsets.topic.replication.factor", internal_rf.to_string());
    set("offsets.topic.num.partitions", "10".into());
    set(
        "transaction.state.log.replication.factor",
        internal_rf.to_string(),
    );
    set(
        "transaction.state.log.min.isr",
        internal_rf.min(2).to_string(),
    );
    set("transaction.state.log.num.partitions", "10".into());
    set(
        "share.coordinator.state.topic.replication.factor",
        internal_rf.to_string(),
    );
    set(
        "share.coordinator.state.topic.min.isr",
        internal_rf.min(2).to_string(),
    );
    set("group.initial.rebalance.delay.ms", "0".into());
    set("auto.create.topics.enable", "false".into());
    // Smaller thread pools: up to 15 JVMs share two cores.
    set("num.network.threads", "2".into());
    set("num.io.threads", "4".into());
    set("background.threads", "4".into());
    set("num.recovery.threads.per.data.dir", "1".into());
    set("log.cleaner.threads", "1".into());
    for (k, v) in &spec.broker_overrides {
        set(k, v.clone());
    }
    let mut s = String::from("# written by kafka-trial\n");
    for (k, v) in p {
        s.push_str(&format!("{k}={v}\n"));
    }
    s
}

/// A Kafka node in a container; the nemesis acts on it through [`Node`].
#[derive(Debug)]
pub struct ContainerNode {
    pub role: NodeRole,
    /// Docker container name (`kt-<cluster>-<node>`).
    pub container: String,
    pub ip: IpAddr,
    /// Host folder of its logs.
    pub logs: PathBuf,
    docker: Docker,
}

impl ContainerNode {
    /// Run a command inside the node, with a timeout.
    pub async fn exec_timeout(&self, argv: &[&str], t: Duration) -> Result<ExecOutput, NodeError> {
        docker::exec(&self.docker, &self.container, argv, t)
            .await
            .map(|r| ExecOutput {
                code: r.code,
                stdout: r.stdout,
                stderr: r.stderr,
            })
            .map_err(|e| NodeError::Exec {
                node: self.role.name.clone(),
                cmd: argv.join(" "),
                msg: format!("{e:#}"),
            })
    }

    async fn broker_ctl(&self, verb: &str) -> Result<String, NodeError> {
        let out = self
            .exec_timeout(&["/opt/kt/bin/broker", verb], Duration::from_secs(30))
            .await?;
        if !out.success() {
            return Err(NodeError::Exec {
                node: self.role.name.clone(),
                cmd: format!("broker {verb}"),
                msg: format!("exit {}: {}{}", out.code, out.stdout, out.stderr),
            });
        }
        Ok(out.stdout.trim().to_string())
    }

    /// The node's broker log so far (for error messages).
    pub fn log_tail(&self, lines: usize) -> String {
        let text = std::fs::read_to_string(self.logs.join("server.log")).unwrap_or_default();
        let v: Vec<&str> = text.lines().collect();
        v[v.len().saturating_sub(lines)..].join("\n")
    }
}

#[async_trait]
impl Node for ContainerNode {
    fn name(&self) -> &str {
        &self.role.name
    }
    fn ip(&self) -> IpAddr {
        self.ip
    }
    async fn exec(&self, argv: &[&str]) -> Result<ExecOutput, NodeError> {
        self.exec_timeout(argv, Duration::from_secs(60)).await
    }
    async fn kill(&self) -> Result<(), NodeError> {
        self.broker_ctl("kill").await.map(|_| ())
    }
    async fn start(&self) -> Result<(), NodeError> {
        self.broker_ctl("start").await.map(|_| ())
    }
    async fn pause(&self) -> Result<(), NodeError> {
        self.broker_ctl("pause").await.map(|_| ())
    }
    async fn resume(&self) -> Result<(), NodeError> {
        self.broker_ctl("resume").await.map(|_| ())
    }
    async fn state(&self) -> Result<ProcessState, NodeError> {
        match self.broker_ctl("state").await?.as_str() {
            "running" => Ok(ProcessState::Running),
            "paused" => Ok(ProcessState::Paused),
            _ => Ok(ProcessState::Dead),
        }
    }
}

/// A running cluster. Dropping it tears it down (containers, network),
/// unless [`Cluster::detach`] was called (`cluster up`).
pub struct Cluster {
    pub id: String,
    pub spec: ClusterSpec,
    pub dist: KafkaDist,
    pub image: String,
    pub network: String,
    pub nodes: Vec<Arc<ContainerNode>>,
    work: PathBuf,
    docker: Docker,
    torn_down: AtomicBool,
    detached: AtomicBool,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("id", &self.id)
            .field(
                "nodes",
                &self.nodes.iter().map(|n| &n.role.name).collect::<Vec<_>>(),
            )
            .finish()
    }
}

fn new_cluster_id() -> String {
    use rand::Rng;
    let mut r = rand::thread_rng();
    (0..8)
        .map(|_| char::from(b"0123456789abcdef"[r.gen_range(0..16)]))
        .collect()
}

/// A KRaft cluster id: 16 random bytes, base64url without padding (22 chars).
fn kraft_cluster_id() -> String {
    use base64::Engine;
    use rand::RngCore;
    // Like Kafka's own Uuid.randomUuid: never an id that starts with '-',
    // which command-line parsers (kafka-storage's among them) take for an option.
    loop {
        let mut b = [0u8; 16];
        rand::thread_rng().fill_bytes(&mut b);
        let id = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
        if !id.starts_with('-') {
            return id;
        }
    }
}

impl Cluster {
    /// Validate, make sure the image and Kafka are there, start every
    /// node and wait (bounded) until every broker is registered.
    pub async fn start(spec: ClusterSpec) -> Result<Cluster> {
        spec.validate()?;
        let docker = docker::connect().await?;
        let image = spec.image.clone().unwrap_or_else(image::default_image);
        image::ensure(&docker, &image).await?;
        let dist = kafka_dist::ensure(spec.kafka_version.as_deref()).await?;
        let id = new_cluster_id();
        let work = image::cache_dir().join("clusters").join(&id);
        std::fs::create_dir_all(&work)?;
        let network = format!("kt-{id}");
        let mut cluster = Cluster {
            id: id.clone(),
            spec,
            dist,
            image,
            network: network.clone(),
            nodes: vec![],
            work,
            docker: docker.clone(),
            torn_down: AtomicBool::new(false),
            detached: AtomicBool::new(false),
        };
        // From here on, a failure drops `cluster`, which tears down.
        cluster.launch().await?;
        Ok(cluster)
    }

    async fn launch(&mut self) -> Result<()> {
        let t0 = Instant::now();
        let labels: HashMap<String, String> = [
            (LABEL.to_string(), "true".to_string()),
            (LABEL_CLUSTER.to_string(), self.id.clone()),
        ]
        .into();
        self.docker
            .create_network(NetworkCreateRequest {
                name: self.network.clone(),
                driver: Some("bridge".into()),
                labels: Some(labels.clone()),
                ..Default::default()
            })
            .await
            .with_context(|| format!("create network {}", self.network))?;
        let layout = self.spec.layout();
        // 1. containers (sleeping under tini), to learn their addresses
        for role in &layout {
            let node_dir = self.work.join(&role.name);
            let conf = node_dir.join("conf");
            let logs = node_dir.join("logs");
            std::fs::create_dir_all(conf.join("bin"))?;
            std::fs::create_dir_all(&logs)?;
            let script = conf.join("bin/broker");
            std::fs::write(&script, BROKER_SCRIPT)?;
            set_executable(&script)?;
            std::fs::write(conf.join("log4j2.properties"), LOG4J2)?;
            if self.spec.faketime {
                std::fs::write(conf.join("faketime"), "on\n")?;
            }
            let container = format!("kt-{}-{}", self.id, role.name);
            let host_config = HostConfig {
                binds: Some(vec![
                    format!("{}:/opt/kafka/libs:ro", self.dist.libs.display()),
                    format!("{}:/opt/kt:ro", conf.display()),
                    format!("{}:/var/log/kafka", logs.display()),
                ]),
                cap_add: Some(vec!["NET_ADMIN".into()]),
                network_mode: Some(self.network.clone()),
                init: Some(false),
                ..Default::default()
            };
            let body = ContainerCreateBody {
                image: Some(self.image.clone()),
                hostname: Some(role.name.clone()),
                cmd: Some(vec![
                    "/usr/bin/tini".into(),
                    "-s".into(),
                    "--".into(),
                    "sleep".into(),
                    "infinity".into(),
                ]),
                env: Some(vec![format!("KT_HEAP_MB={}", self.spec.heap_mb)]),
                labels: Some(labels.clone()),
                host_config: Some(host_config),
                ..Default::default()
            };
            self.docker
                .create_container(
                    Some(
                        CreateContainerOptionsBuilder::default()
                            .name(&container)
                            .build(),
                    ),
                    body,
                )
                .await
                .with_context(|| format!("create container {container} from {}", self.image))?;
            self.docker
                .start_container(&container, None)
                .await
                .with_context(|| format!("start container {container}"))?;
            let ip = container_ip(&self.docker, &container, &self.network).await?;
            self.nodes.push(Arc::new(ContainerNode {
                role: role.clone(),
                container,
                ip,
                logs,
                docker: self.docker.clone(),
            }));
        }
        // 2. configuration, now that addresses are known
        let voters: Vec<String> = self
            .nodes
            .iter()
            .filter(|n| n.role.controller)
            .map(|n| format!("{}@{}:{CONTROLLER_PORT}", n.role.id, n.ip))
            .collect();
        let voters = voters.join(",");
        for n in &self.nodes {
            let props = server_properties(&self.spec, &n.role, &n.ip, &voters);
            std::fs::write(
                self.work.join(&n.role.name).join("conf/server.properties"),
                props,
            )?;
        }
        // 3. format storage on every node (same cluster id), in parallel
        let kraft_id = kraft_cluster_id();
        let formats = self.nodes.iter().map(|n| {
            let n = n.clone();
            let kid = kraft_id.clone();
            async move {
                let out = n
                    .exec_timeout(
                        &["/opt/kt/bin/broker", "format", &kid],
                        Duration::from_secs(180),
                    )
                    .await
                    .map_err(|e| anyhow!("{e}"))?;
                if !out.success() {
                    let log =
                        std::fs::read_to_string(n.logs.join("format.out")).unwrap_or_default();
                    bail!("formatting storage on {} failed: {}", n.role.name, log);
                }
                Ok(())
            }
        });
        futures::future::try_join_all(formats).await?;
        // 4. start every broker and wait for them all
        for n in &self.nodes {
            n.start().await.map_err(|e| anyhow!("{e}"))?;
        }
        self.wait_ready(self.spec.ready_timeout).await?;
        tracing::info!(
            cluster = %self.id,
            secs = t0.elapsed().as_secs_f64(),
            "cluster ready"
        );
        Ok(())
    }

    /// Wait until the metadata lists every broker (bounded).
    pub async fn wait_ready(&self, timeout: Duration) -> Result<()> {
        let want = self.brokers().count();
        let deadline = Instant::now() + timeout;
        let mut last: String;
        loop {
            match admin::metadata(&self.bootstrap_servers(), None, Duration::from_secs(3)).await {
                Ok(md) if md.brokers.len() == want => return Ok(()),
                Ok(md) => last = format!("{} of {want} brokers registered", md.brokers.len()),
                Err(e) => last = format!("{e:#}"),
            }
            for n in &self.nodes {
                if let Ok(ProcessState::Dead) = n.state().await {
                    bail!(
                        "the broker on {} exited while starting; its log ends with:\n{}\n{}",
                        n.role.name,
                        n.log_tail(15),
                        std::fs::read_to_string(n.logs.join("server.out")).unwrap_or_default()
                    );
                }
            }
            if Instant::now() >= deadline {
                let tails: Vec<String> = self
                    .nodes
                    .iter()
                    .map(|n| format!("--- {} ---\n{}", n.role.name, n.log_tail(5)))
                    .collect();
                bail!(
                    "the cluster was not ready within {timeout:?} ({last}); the brokers' logs end with:\n{}",
                    tails.join("\n")
                );
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    /// Broker nodes (not controller-only ones).
    pub fn brokers(&self) -> impl Iterator<Item = &Arc<ContainerNode>> {
        self.nodes.iter().filter(|n| n.role.broker)
    }

    /// `ip:9092,…` of every broker, for clients on the host.
    pub fn bootstrap_servers(&self) -> String {
        self.brokers()
            .map(|n| format!("{}:{BROKER_PORT}", n.ip))
            .collect::<Vec<_>>()
            .join(",")
    }

    pub fn node(&self, name: &str) -> Option<&Arc<ContainerNode>> {
        self.nodes.iter().find(|n| n.role.name == name)
    }

    /// Node name of a broker id.
    pub fn name_of(&self, id: i32) -> Option<String> {
        self.nodes
            .iter()
            .find(|n| n.role.id == id)
            .map(|n| n.role.name.clone())
    }

    /// The nodes as the nemesis sees them.
    pub fn nemesis_nodes(&self) -> Vec<Arc<dyn Node>> {
        self.nodes
            .iter()
            .map(|n| n.clone() as Arc<dyn Node>)
            .collect()
    }

    /// The active KRaft controller's node name.
    pub async fn active_controller(&self) -> Option<String> {
        active_controller_of(&self.nodes).await
    }

    /// Keep the cluster running after this handle is dropped (`cluster up`).
    pub fn detach(&self) {
        self.detached.store(true, Ordering::SeqCst);
    }

    /// Copy every node's logs into `dest/<node>/` (the run's `nodes/`).
    pub fn collect_logs(&self, dest: &Path) -> Result<()> {
        for n in &self.nodes {
            let to = dest.join(&n.role.name);
            std::fs::create_dir_all(&to)?;
            if let Ok(rd) = std::fs::read_dir(&n.logs) {
                for e in rd.flatten() {
                    if e.path().is_file() {
                        std::fs::copy(e.path(), to.join(e.file_name()))?;
                    }
                }
            }
            let props = self.work.join(&n.role.name).join("conf/server.properties");
            std::fs::copy(&props, to.join("server.properties")).ok();
        }
        Ok(())
    }

    /// Remove the containers, the network and the work folder.
    pub async fn teardown(&self) -> Result<()> {
        if self.torn_down.swap(true, Ordering::SeqCst) {
            return Ok(());
        }
        remove_cluster(&self.docker, &self.id).await?;
        std::fs::remove_dir_all(&self.work).ok();
        Ok(())
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if self.detached.load(Ordering::SeqCst) || self.torn_down.load(Ordering::SeqCst) {
            return;
        }
        // Drop cannot await: tear down on a thread with its own runtime and
        // its own engine connection, and wait for it.
        let id = self.id.clone();
        let work = self.work.clone();
        let r = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            rt.block_on(async {
                let d = docker::connect().await?;
                remove_cluster(&d, &id).await
            })?;
            std::fs::remove_dir_all(&work).ok();
            Ok::<_, anyhow::Error>(())
        })
        .join();
        match r {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!("kafka-trial: teardown of cluster {} failed: {e:#}", self.id),
            Err(_) => eprintln!("kafka-trial: teardown of cluster {} panicked", self.id),
        }
    }
}

/// The quorum state a running KRaft controller keeps on disk.
pub const QUORUM_STATE: &str = "/var/lib/kafka/data/__cluster_metadata-0/quorum-state";

/// The leader (active controller) id in a quorum-state file's text, if any.
pub fn quorum_leader(text: &str) -> Option<i64> {
    serde_json::from_str::<serde_json::Value>(text)
        .ok()
        .and_then(|v| v.get("leaderId").and_then(|x| x.as_i64()))
        .filter(|id| *id >= 0)
}

/// The active KRaft controller's node name, read from [`QUORUM_STATE`].
pub async fn active_controller_of(nodes: &[Arc<ContainerNode>]) -> Option<String> {
    for n in nodes.iter().filter(|n| n.role.controller) {
        if !matches!(n.state().await, Ok(ProcessState::Running)) {
            continue;
        }
        let Ok(out) = n
            .exec_timeout(&["cat", QUORUM_STATE], Duration::from_secs(5))
            .await
        else {
            continue;
        };
        if let Some(id) = quorum_leader(&out.stdout) {
            return nodes
                .iter()
                .find(|x| i64::from(x.role.id) == id)
                .map(|x| x.role.name.clone());
        }
    }
    None
}

fn set_executable(p: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mut perm = std::fs::metadata(p)?.permissions();
    perm.set_mode(0o755);
    std::fs::set_permissions(p, perm)?;
    Ok(())
}

async fn container_ip(docker: &Docker, container: &str, network: &str) -> Result<IpAddr> {
    let info = docker.inspect_container(container, None).await?;
    let ip = info
        .network_settings
        .and_then(|s| s.networks)
        .and_then(|mut n| n.remove(network))
        .and_then(|e| e.ip_address)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| anyhow!("container {container} has no address on {network}"))?;
    ip.parse()
        .with_context(|| format!("address {ip:?} of {container}"))
}

/// Remove every container and network labelled with this cluster id
/// (or, with `None`, with the suite's label at all).
pub async fn remove_labelled(docker: &Docker, cluster: Option<&str>) -> Result<(usize, usize)> {
    let label = match cluster {
        Some(id) => format!("{LABEL_CLUSTER}={id}"),
        None => LABEL.to_string(),
    };
    let filters: HashMap<String, Vec<String>> = [("label".to_string(), vec![label])].into();
    let containers = docker
        .list_containers(Some(
            ListContainersOptionsBuilder::default()
                .all(true)
                .filters(&filters)
                .build(),
        ))
        .await
        .context("list containers")?;
    let mut nc = 0;
    let removals = containers.iter().filter_map(|c| c.id.clone()).map(|id| {
        let docker = docker.clone();
        async move {
            docker
                .remove_container(
                    &id,
                    Some(
                        RemoveContainerOptionsBuilder::default()
                            .force(true)
                            .v(true)
                            .build(),
                    ),
                )
                .await
        }
    });
    for r in futures::future::join_all(removals).await {
        match r {
            Ok(()) => nc += 1,
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => {}
            Err(e) => return Err(e).context("remove container"),
        }
    }
    let networks = docker
        .list_networks(Some(
            ListNetworksOptionsBuilder::default()
                .filters(&filters)
                .build(),
        ))
        .await
        .context("list networks")?;
    let mut nn = 0;
    for n in networks {
        if let Some(id) = n.id {
            match docker.remove_network(&id).await {
                Ok(()) => nn += 1,
                Err(bollard::errors::Error::DockerResponseServerError {
                    status_code: 404, ..
                }) => {}
                Err(e) => return Err(e).context("remove network"),
            }
        }
    }
    Ok((nc, nn))
}

async fn remove_cluster(docker: &Docker, id: &str) -> Result<()> {
    remove_labelled(docker, Some(id)).await.map(|_| ())
}

/// A cluster left running by `cluster up`, found again by its labels.
#[derive(Debug, Clone, Serialize)]
pub struct FoundCluster {
    pub id: String,
    /// (node name, container, ip, running?) in node order.
    pub nodes: Vec<(String, String, String, bool)>,
}

impl FoundCluster {
    pub fn bootstrap_servers(&self) -> String {
        self.nodes
            .iter()
            .filter(|(name, ..)| name.starts_with('n'))
            .map(|(_, _, ip, _)| format!("{ip}:{BROKER_PORT}"))
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// Every cluster the suite has running, found by label.
pub async fn find_clusters(docker: &Docker) -> Result<Vec<FoundCluster>> {
    let filters: HashMap<String, Vec<String>> =
        [("label".to_string(), vec![LABEL.to_string()])].into();
    let containers = docker
        .list_containers(Some(
            ListContainersOptionsBuilder::default()
                .all(true)
                .filters(&filters)
                .build(),
        ))
        .await?;
    let mut by_id: BTreeMap<String, FoundCluster> = BTreeMap::new();
    for c in containers {
        let labels = c.labels.clone().unwrap_or_default();
        let Some(id) = labels.get(LABEL_CLUSTER).cloned() else {
            continue;
        };
        let name = c
            .names
            .clone()
            .unwrap_or_default()
            .first()
            .cloned()
            .unwrap_or_default()
            .trim_start_matches('/')
            .to_string();
        let node = name.rsplit('-').next().unwrap_or("").to_string();
        let ip = c
            .network_settings
            .and_then(|s| s.networks)
            .and_then(|n| n.into_values().next())
            .and_then(|e| e.ip_address)
            .unwrap_or_default();
        let running = c.state.map(|s| s.to_string() == "running").unwrap_or(false);
        by_id
            .entry(id.clone())
            .or_insert_with(|| FoundCluster { id, nodes: vec![] })
            .nodes
            .push((node, name, ip, running));
    }
    let mut v: Vec<FoundCluster> = by_id.into_values().collect();
    for c in &mut v {
        c.nodes.sort_by_key(|(n, ..)| {
            let (p, num) = n.split_at(1.min(n.len()));
            (p.to_string(), num.parse::<u32>().unwrap_or(0))
        });
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn impossible_options_are_refused() {
        let ok = ClusterSpec::default();
        assert!(ok.validate().is_ok());
        let e = ClusterSpec {
            nodes: 3,
            replication_factor: 4,
            ..Default::default()
        }
        .validate()
        .unwrap_err();
        assert!(e.to_string().contains("above the node count"), "{e}");
        let e = ClusterSpec {
            min_insync_replicas: 4,
            ..Default::default()
        }
        .validate()
        .unwrap_err();
        assert!(
            e.to_string().contains("above the replication factor"),
            "{e}"
        );
        assert!(ClusterSpec {
            nodes: 0,
            replication_factor: 1,
            min_insync_replicas: 1,
            ..Default::default()
        }
        .validate()
        .is_err());
        assert!(ClusterSpec {
            kafka_version: Some("2.8.0".into()),
            ..Default::default()
        }
        .validate()
        .is_err());
    }

    #[test]
    fn kraft_ids_are_22_chars_and_never_look_like_an_option() {
        for _ in 0..2000 {
            let id = kraft_cluster_id();
            assert_eq!(id.len(), 22);
            assert!(!id.starts_with('-'), "{id}");
        }
    }

    #[test]
    fn quorum_leader_reads_the_leader_id() {
        let t = r#"{"clusterId":"","leaderId":2,"leaderEpoch":1,"votedId":-1}"#;
        assert_eq!(quorum_leader(t), Some(2));
        assert_eq!(quorum_leader(r#"{"leaderId":-1}"#), None);
        assert_eq!(quorum_leader("garbage"), None);
    }

    #[test]
    fn combined_layout_caps_voters_at_five() {
        let s = ClusterSpec {
            nodes: 7,
            ..Default::default()
        };
        let l = s.layout();
        assert_eq!(l.len(), 7);
        assert_eq!(l.iter().filter(|r| r.controller).count(), 5);
        assert!(l.iter().all(|r| r.broker));
    }

    #[test]
    fn split_layout_adds_controllers() {
        let s = ClusterSpec {
            nodes: 3,
            split_roles: true,
            controllers: Some(3),
            ..Default::default()
        };
        let l = s.layout();
        assert_eq!(l.len(), 6);
        assert_eq!(l.iter().filter(|r| r.controller && !r.broker).count(), 3);
    }

    #[test]
    fn properties_follow_the_spec_and_overrides_win() {
        let mut s = ClusterSpec {
            unclean_leader_election: true,
            min_insync_replicas: 1,
            ..Default::default()
        };
        s.broker_overrides
            .insert("num.partitions".into(), "7".into());
        let role = &s.layout()[0];
        let p = server_properties(&s, role, &"10.0.0.2".parse().unwrap(), "1@10.0.0.2:9093");
        assert!(p.contains("unclean.leader.election.enable=true\n"));
        assert!(p.contains("min.insync.replicas=1\n"));
        assert!(p.contains("num.partitions=7\n"));
        assert!(p.contains("advertised.listeners=PLAINTEXT://10.0.0.2:9092\n"));
        assert!(p.contains("process.roles=broker,controller\n"));
    }
}
