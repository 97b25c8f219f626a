//! A running Kafka cluster: nodes from a [`Platform`], Kafka configured and
//! started on them, and torn down on every way out.
//!
//! Start-up, in order: provision the machines (their addresses are known
//! only then) → install the control script and logging configuration →
//! write each node's `server.properties` (the KRaft voters need every
//! controller's address, ZooKeeper-mode brokers every ensemble member's)
//! or a ZooKeeper node's `zoo.cfg` and `myid` → format storage on every
//! KRaft node with one cluster id → start the ZooKeeper ensemble and wait
//! until it serves → start every other process → wait until every broker
//! is registered.
//!
//! The Kafka jars are shared read-only into every node at
//! `/opt/kafka/libs` (Docker: a bind mount; SSH: a checksummed cache on the
//! host, linked there), and the suite's own programs a fault needs (its
//! `Requirements::tools`, e.g. `kt-lazyfs`) at `/opt/kt/bin/<name>`; everything else goes in through [`Host::upload`], so
//! another platform only has to implement `Platform` and `Host`.

use crate::kafka::config::{
    server_properties, zookeeper_config, zookeeper_connect, ClusterSpec, Metadata, BROKER_PORT,
    CONTROLLER_PORT, ZOOKEEPER_DATA,
};
use crate::kafka::node::{
    KafkaNode, CONTROL, CONTROL_SCRIPT, LOG4J2, LOGS, SERVER_PROPERTIES, ZOO_CFG,
};
use crate::kafka::{admin, dist, zookeeper, KafkaDist, Mode};
use crate::platform::docker::DockerPlatform;
use crate::platform::ssh::{HostsFile, ShapeFlags, SshPlatform};
use crate::platform::{NodeRequest, Platform, Shared};
use anyhow::{bail, Result};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use trial_nemesis::{Node, ProcessState};

/// A running cluster. Dropping it tears it down (machines, network),
/// unless [`Cluster::detach`] was called (`cluster up`).
pub struct Cluster {
    pub id: String,
    pub spec: ClusterSpec,
    pub dist: KafkaDist,
    pub nodes: Vec<Arc<KafkaNode>>,
    platform: Arc<dyn Platform>,
    torn_down: AtomicBool,
    detached: AtomicBool,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("id", &self.id)
            .field("platform", &self.platform.name())
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

/// The broker process's environment file: what the run's faults require
/// of it (sourced by the control script before the JVM starts).
fn broker_env(spec: &ClusterSpec) -> String {
    let mut s = String::new();
    for (k, v) in &spec.requirements.env {
        s.push_str(&format!("{k}='{}'\n", v.replace('\'', "'\\''")));
    }
    s
}

impl Cluster {
    /// Validate, make sure the machines and Kafka are there, start every
    /// node and wait (bounded) until every broker is registered. The
    /// machines: the hosts of `spec.hosts` over SSH (checked first: see
    /// [`SshPlatform::connect`]; the node counts and roles are the file's),
    /// else containers on the local Docker engine.
    pub async fn start(spec: ClusterSpec) -> Result<Cluster> {
        Cluster::start_labelled(spec, vec![]).await
    }

    /// [`Cluster::start`] with labels on its machines (a trial's: its run
    /// folder, see [`crate::owner`]).
    pub async fn start_labelled(
        spec: ClusterSpec,
        labels: Vec<(String, String)>,
    ) -> Result<Cluster> {
        spec.validate()?;
        match spec.hosts.clone() {
            Some(path) => {
                let hosts = HostsFile::load(&path)?;
                let mut spec = spec;
                let flags = ShapeFlags::from_spec(&spec);
                hosts.apply(&mut spec, &flags)?;
                spec.validate()?;
                hosts.check_layout(&spec.layout())?;
                let platform = SshPlatform::connect(hosts).await?;
                Cluster::start_on_labelled(Arc::new(platform), spec, labels).await
            }
            None => {
                let platform = DockerPlatform::connect(spec.image.as_deref()).await?;
                Cluster::start_on_labelled(Arc::new(platform), spec, labels).await
            }
        }
    }

    /// What the platform records of this cluster (SSH: hosts.json).
    pub fn platform_report(&self) -> Option<serde_json::Value> {
        self.platform.report()
    }

    /// `docker` or `ssh`.
    pub fn platform_name(&self) -> &'static str {
        self.platform.name()
    }

    /// [`Cluster::start`] on any platform.
    pub async fn start_on(platform: Arc<dyn Platform>, spec: ClusterSpec) -> Result<Cluster> {
        Cluster::start_on_labelled(platform, spec, vec![]).await
    }

    /// [`Cluster::start_on`] with labels on its machines.
    pub async fn start_on_labelled(
        platform: Arc<dyn Platform>,
        spec: ClusterSpec,
        labels: Vec<(String, String)>,
    ) -> Result<Cluster> {
        spec.validate()?;
        let dist = dist::ensure(spec.version().as_deref()).await?;
        let id = new_cluster_id();
        let mut shared = vec![Shared {
            host_path: dist.libs.clone(),
            node_path: "/opt/kafka/libs".into(),
            read_only: true,
        }];
        for t in &spec.requirements.tools {
            shared.push(crate::tools::shared(t)?);
        }
        let requests: Vec<NodeRequest> = spec
            .layout()
            .iter()
            .map(|role| NodeRequest {
                name: role.name.clone(),
                capabilities: spec.requirements.capabilities.iter().cloned().collect(),
                devices: spec.requirements.devices.iter().cloned().collect(),
                packages: spec.requirements.packages.iter().cloned().collect(),
                env: vec![("KT_HEAP_MB".into(), spec.heap_mb.to_string())],
                shared: shared.clone(),
                labels: labels.clone(),
            })
            .collect();
        let mut cluster = Cluster {
            id: id.clone(),
            spec,
            dist,
            nodes: vec![],
            platform: platform.clone(),
            torn_down: AtomicBool::new(false),
            detached: AtomicBool::new(false),
        };
        // From here on, a failure drops `cluster`, which tears down.
        let hosts = platform.provision(&id, &requests).await?;
        cluster.nodes = cluster
            .spec
            .layout()
            .into_iter()
            .zip(hosts)
            .map(|(role, host)| Arc::new(KafkaNode { role, host }))
            .collect();
        cluster.launch().await?;
        Ok(cluster)
    }

    async fn launch(&mut self) -> Result<()> {
        let t0 = Instant::now();
        // 1. configuration, now that addresses are known: the KRaft voters,
        // or the ZooKeeper ensemble.
        let ensemble: Vec<(i32, std::net::IpAddr)> = self
            .nodes
            .iter()
            .filter_map(|n| Some((n.role.myid()?, n.ip())))
            .collect();
        let meta = match self.spec.mode() {
            Mode::Kraft => Metadata::Kraft {
                voters: self
                    .nodes
                    .iter()
                    .filter(|n| n.role.controller)
                    .map(|n| format!("{}@{}:{CONTROLLER_PORT}", n.role.id, n.ip()))
                    .collect::<Vec<_>>()
                    .join(","),
            },
            Mode::Zookeeper => Metadata::Zookeeper {
                connect: zookeeper_connect(&ensemble),
            },
        };
        let zoo_cfg = zookeeper_config(&self.spec, &ensemble);
        let env = broker_env(&self.spec);
        let files = &self.spec.requirements.files;
        let installs = self.nodes.iter().map(|n| {
            // A ZooKeeper node gets zoo.cfg and its myid instead of
            // server.properties (the control script runs what it finds).
            let config = match n.role.myid() {
                Some(myid) => vec![
                    (zoo_cfg.clone(), ZOO_CFG.to_string()),
                    (format!("{myid}\n"), format!("{ZOOKEEPER_DATA}/myid")),
                ],
                None => vec![(
                    server_properties(&self.spec, &n.role, &n.ip(), &meta),
                    SERVER_PROPERTIES.to_string(),
                )],
            };
            let env = env.clone();
            async move {
                let h = &n.host;
                h.upload(CONTROL_SCRIPT.as_bytes(), CONTROL, true).await?;
                h.upload(LOG4J2.as_bytes(), "/opt/kt/log4j2.properties", false)
                    .await?;
                for (content, path) in &config {
                    h.upload(content.as_bytes(), path, false).await?;
                }
                h.upload(env.as_bytes(), "/opt/kt/broker.env", false)
                    .await?;
                for (path, content) in files {
                    h.upload(content.as_bytes(), path, false).await?;
                }
                Ok::<_, anyhow::Error>(())
            }
        });
        futures::future::try_join_all(installs).await?;
        // 2. format storage on every node (same cluster id), in parallel
        let kraft_id = kraft_cluster_id();
        let features: Vec<String> = self
            .spec
            .features
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let formats = self.nodes.iter().map(|n| {
            let kid = kraft_id.clone();
            let features = features.clone();
            async move {
                let mut argv = vec![CONTROL, "format", &kid];
                argv.extend(features.iter().map(String::as_str));
                let out = n.exec_timeout(&argv, Duration::from_secs(180)).await?;
                if !out.success() {
                    bail!(
                        "formatting storage on {} failed (exit {}): {}{}{}",
                        n.role.name,
                        out.code,
                        out.stdout,
                        out.stderr,
                        n.log_tail("format.out", 40).await
                    );
                }
                Ok(())
            }
        });
        futures::future::try_join_all(formats).await?;
        // 3. start every process and wait for them all: the ZooKeeper
        // ensemble first, serving before any broker connects (a broker that
        // cannot reach ZooKeeper within its connection timeout exits).
        for n in self.nodes.iter().filter(|n| n.role.zookeeper) {
            n.start(n.main_process()).await?;
        }
        if !ensemble.is_empty() {
            zookeeper::wait_serving(&self.nodes, Duration::from_secs(90)).await?;
        }
        for n in self.nodes.iter().filter(|n| !n.role.zookeeper) {
            n.start(n.main_process()).await?;
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
                if let Ok(ProcessState::Dead) = n.state(n.main_process()).await {
                    bail!(
                        "the broker on {} exited while starting; its log ends with:\n{}\n{}",
                        n.role.name,
                        n.log_tail("server.log", 15).await,
                        n.log_tail("server.out", 40).await
                    );
                }
            }
            if Instant::now() >= deadline {
                let mut tails = vec![];
                for n in &self.nodes {
                    tails.push(format!(
                        "--- {} ---\n{}",
                        n.role.name,
                        n.log_tail("server.log", 5).await
                    ));
                }
                bail!(
                    "the cluster was not ready within {timeout:?} ({last}); the brokers' logs end with:\n{}",
                    tails.join("\n")
                );
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    /// Broker nodes (not controller-only ones).
    pub fn brokers(&self) -> impl Iterator<Item = &Arc<KafkaNode>> {
        self.nodes.iter().filter(|n| n.role.broker)
    }

    /// `ip:9092,…` of every broker, for clients on the host.
    pub fn bootstrap_servers(&self) -> String {
        self.brokers()
            .map(|n| format!("{}:{BROKER_PORT}", n.ip()))
            .collect::<Vec<_>>()
            .join(",")
    }

    pub fn node(&self, name: &str) -> Option<&Arc<KafkaNode>> {
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

    /// The active controller's node name: KRaft's quorum leader, or in
    /// ZooKeeper mode the broker elected through ZooKeeper.
    pub async fn active_controller(&self) -> Option<String> {
        zookeeper::active_controller(&self.nodes).await
    }

    /// The ZooKeeper ensemble's nodes (none in KRaft mode).
    pub fn zookeeper_nodes(&self) -> impl Iterator<Item = &Arc<KafkaNode>> {
        self.nodes.iter().filter(|n| n.role.zookeeper)
    }

    /// Keep the cluster running after this handle is dropped (`cluster up`).
    pub fn detach(&self) {
        self.detached.store(true, Ordering::SeqCst);
    }

    /// Copy every node's logs and `server.properties` into `dest/<node>/`
    /// (the run's `nodes/`).
    pub async fn collect_logs(&self, dest: &Path) -> Result<()> {
        for n in &self.nodes {
            let to = dest.join(&n.role.name);
            n.host.download(LOGS, &to).await?;
            let conf = if n.role.zookeeper {
                ZOO_CFG
            } else {
                SERVER_PROPERTIES
            };
            if let Err(e) = n.host.download(conf, &to).await {
                tracing::warn!("{}: {conf} not collected: {e:#}", n.role.name);
            }
        }
        Ok(())
    }

    /// Remove the machines and the network.
    pub async fn teardown(&self) -> Result<()> {
        if self.torn_down.swap(true, Ordering::SeqCst) {
            return Ok(());
        }
        self.platform.teardown(&self.id).await
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if self.detached.load(Ordering::SeqCst) || self.torn_down.load(Ordering::SeqCst) {
            return;
        }
        // Drop cannot await: tear down on a thread with its own runtime, and
        // wait for it.
        let id = self.id.clone();
        let platform = self.platform.clone();
        let r = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            rt.block_on(platform.teardown(&id))
        })
        .join();
        match r {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!("kafka-trial: teardown of cluster {} failed: {e:#}", self.id),
            Err(_) => eprintln!("kafka-trial: teardown of cluster {} panicked", self.id),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kraft_ids_are_22_chars_and_never_look_like_an_option() {
        for _ in 0..2000 {
            let id = kraft_cluster_id();
            assert_eq!(id.len(), 22);
            assert!(!id.starts_with('-'), "{id}");
        }
    }
}
