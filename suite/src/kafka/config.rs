//! The Kafka side of a cluster: which nodes play which role
//! ([`ClusterSpec::layout`]), and each node's `server.properties`
//! ([`server_properties`]): suite defaults, then the spec's settings, then
//! the user's overrides (Kafka's own names win).

use crate::kafka::dist;
use crate::kafka::timing::Timing;
use crate::kafka::version::{self, KafkaVersion, Mode};
use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;
use trial_nemesis::{FaultKind, FaultKinds, Requirements};

/// Broker listener port inside every node.
pub const BROKER_PORT: u16 = 9092;
/// KRaft controller listener port.
pub const CONTROLLER_PORT: u16 = 9093;
/// `transaction.state.log.num.partitions`: where transactional ids are
/// placed ([`super::coordinator::partition_for`]).
pub const TRANSACTION_STATE_PARTITIONS: i32 = 10;
/// `offsets.topic.num.partitions`: where consumer groups are placed
/// ([`super::coordinator::partition_for`]).
pub const OFFSETS_PARTITIONS: i32 = 10;

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
    /// Kafka release (default: the newest 4.x that resolves; 3.9.1 in
    /// ZooKeeper mode).
    pub kafka_version: Option<String>,
    /// Where the metadata lives (default: the release's own default,
    /// [`KafkaVersion::default_mode`]; ZooKeeper when `zookeeper` is set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<Mode>,
    /// ZooKeeper mode: the ensemble's size, nodes z1..zK of their own
    /// (default 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zookeeper: Option<usize>,
    /// Node image (default: the suite's own, built when missing).
    pub image: Option<String>,
    /// A hosts file (`--hosts`): run on those machines over SSH instead of
    /// containers; the node counts and roles then come from the file
    /// ([`crate::platform::ssh::HostsFile::apply`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hosts: Option<std::path::PathBuf>,
    /// With `hosts`: which host plays which node (`n1` → `kafka1
    /// (172.20.0.2)`), recorded for test.json.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub placement: BTreeMap<String, String>,
    /// `default.replication.factor`.
    pub replication_factor: usize,
    /// `min.insync.replicas`.
    pub min_insync_replicas: usize,
    /// `unclean.leader.election.enable`.
    pub unclean_leader_election: bool,
    /// Free-form broker properties with Kafka's own names; they win.
    pub broker_overrides: BTreeMap<String, String>,
    /// Feature levels given to `kafka-storage format` (`--feature
    /// name=level`, Kafka 4.x), e.g. `eligible.leader.replicas.version=0`
    /// to start a cluster without eligible leader replicas (KIP-966), which
    /// Kafka 4.x turns on for new clusters. Empty: the release's defaults.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub features: BTreeMap<String, u16>,
    /// What the run's faults need of every node (capabilities, devices,
    /// the broker process's environment, files, packages): the union of
    /// `trial_nemesis::requirements` of its fault kinds. libfaketime's
    /// environment is there only when the clock fault is: its interposition
    /// costs the JVM a lot of CPU (measured: a 1-node broker's controller
    /// event queue overloaded).
    #[serde(default = "standing_requirements")]
    pub requirements: Requirements,
    /// Failure-detection knobs (see [`crate::kafka::timing`]).
    #[serde(default)]
    pub timing: Timing,
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
            mode: None,
            zookeeper: None,
            image: None,
            hosts: None,
            placement: BTreeMap::new(),
            replication_factor: 3,
            min_insync_replicas: 2,
            unclean_leader_election: false,
            broker_overrides: BTreeMap::new(),
            features: BTreeMap::new(),
            requirements: standing_requirements(),
            timing: Timing::default(),
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
            dist::validate_version(v)?;
        }
        let mode = self.mode();
        if let Some(v) = self.version() {
            version::check_pair(v.parse()?, mode)?;
            if !self.features.is_empty() && !v.parse::<KafkaVersion>()?.has_format_features() {
                bail!("--feature needs Kafka 4.0 or later (kafka-storage format --feature); this cluster runs {v}");
            }
        }
        match mode {
            Mode::Kraft => {
                if self.zookeeper.is_some() {
                    bail!("--zookeeper {} asks for a ZooKeeper ensemble, but this cluster runs in KRaft mode (--mode kraft, or a release without ZooKeeper: {})", self.zookeeper.unwrap_or(0), version::SUPPORTED);
                }
            }
            Mode::Zookeeper => {
                let k = self.zookeeper_count();
                if !(1..=7).contains(&k) {
                    bail!("--zookeeper {k}: an ensemble has 1 to 7 nodes (1, 3 or 5 are the usual sizes)");
                }
                if self.split_roles || self.controllers.is_some() {
                    bail!("--controllers and --split-roles are KRaft's: in ZooKeeper mode the controller is a broker elected through ZooKeeper");
                }
                if !self.features.is_empty() {
                    bail!(
                        "--feature sets KRaft feature levels; this cluster runs in ZooKeeper mode"
                    );
                }
            }
        }
        for f in self.features.keys() {
            if f.is_empty()
                || !f
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_')
            {
                bail!("--feature {f:?}: a feature name is letters, digits, dots (e.g. eligible.leader.replicas.version)");
            }
        }
        if self.heap_mb < 128 {
            bail!("--heap-mb must be at least 128");
        }
        Ok(())
    }

    /// Where the metadata lives: `--mode`, else ZooKeeper when an ensemble
    /// is asked for, else the release's default (KRaft for the default
    /// release).
    pub fn mode(&self) -> Mode {
        if let Some(m) = self.mode {
            return m;
        }
        if self.zookeeper.is_some() {
            return Mode::Zookeeper;
        }
        self.kafka_version
            .as_deref()
            .and_then(|v| v.parse::<KafkaVersion>().ok())
            .map(KafkaVersion::default_mode)
            .unwrap_or(Mode::Kraft)
    }

    /// The release to run: the one asked for, or in ZooKeeper mode the
    /// newest with ZooKeeper ([`KafkaVersion::ZOOKEEPER_DEFAULT`]); `None`
    /// means the newest 4.x that resolves.
    pub fn version(&self) -> Option<String> {
        match (&self.kafka_version, self.mode()) {
            (Some(v), _) => Some(v.clone()),
            (None, Mode::Zookeeper) => Some(KafkaVersion::ZOOKEEPER_DEFAULT.to_string()),
            (None, Mode::Kraft) => None,
        }
    }

    /// The ZooKeeper ensemble's size (0 in KRaft mode).
    pub fn zookeeper_count(&self) -> usize {
        match self.mode() {
            Mode::Zookeeper => self.zookeeper.unwrap_or(3),
            Mode::Kraft => 0,
        }
    }

    /// The roles of every node, in order: (name, node.id, broker?,
    /// controller?, ZooKeeper?). ZooKeeper nodes z1..zK come first (they
    /// start first), with ids 200+i that no broker has; their `myid` is i.
    pub fn layout(&self) -> Vec<NodeRole> {
        let broker = |i: usize, controller: bool| NodeRole {
            name: format!("n{i}"),
            id: i as i32,
            broker: true,
            controller,
            zookeeper: false,
        };
        let mut v = vec![];
        match (self.mode(), self.split_roles) {
            (Mode::Zookeeper, _) => {
                v.extend((1..=self.zookeeper_count()).map(|i| NodeRole {
                    name: format!("z{i}"),
                    id: ZOOKEEPER_ID_BASE + i as i32,
                    broker: false,
                    controller: false,
                    zookeeper: true,
                }));
                v.extend((1..=self.nodes).map(|i| broker(i, false)));
            }
            (Mode::Kraft, true) => {
                v.extend((1..=self.controllers.unwrap_or(3)).map(|i| NodeRole {
                    name: format!("c{i}"),
                    id: 100 + i as i32,
                    broker: false,
                    controller: true,
                    zookeeper: false,
                }));
                v.extend((1..=self.nodes).map(|i| broker(i, false)));
            }
            (Mode::Kraft, false) => {
                let k = self.controllers.unwrap_or(self.nodes.min(5));
                v.extend((1..=self.nodes).map(|i| broker(i, i <= k)));
            }
        }
        v
    }
}

/// What every cluster's nodes get unless told otherwise: what every fault
/// but the clock and the filesystem faults requires (the network faults'
/// `NET_ADMIN`: cheap, and a cluster started by hand or by a library test
/// can then be partitioned). The clock's libfaketime costs the JVM CPU, and
/// the filesystem faults put every write of the broker through FUSE, so
/// only a run with those faults (or `cluster up --faketime`) adds them.
pub fn standing_requirements() -> Requirements {
    let mut kinds = FaultKinds::all();
    kinds.0.remove(&FaultKind::Clock);
    kinds.0.retain(|k| !k.needs_lazyfs());
    trial_nemesis::requirements(&kinds)
}

/// The ELR feature's name (`kafka-features describe` prints it).
pub const ELR_FEATURE: &str = "eligible.leader.replicas.version";

/// Parse `--feature name=level` flags.
pub fn parse_features(v: &[String]) -> Result<BTreeMap<String, u16>> {
    let mut m = BTreeMap::new();
    for s in v {
        let Some((k, l)) = s.split_once('=') else {
            bail!("--feature {s:?} is not NAME=LEVEL (e.g. {ELR_FEATURE}=0)");
        };
        let level: u16 = l.trim().parse().map_err(|_| {
            anyhow::anyhow!("--feature {s:?}: the level must be a whole number 0..65535")
        })?;
        m.insert(k.trim().to_string(), level);
    }
    Ok(m)
}

/// One node's place in the cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeRole {
    pub name: String,
    /// `node.id` / `broker.id`; ZooKeeper nodes `ZOOKEEPER_ID_BASE + myid`.
    pub id: i32,
    pub broker: bool,
    /// A KRaft controller (voter).
    pub controller: bool,
    /// A ZooKeeper server of the ensemble (ZooKeeper mode).
    #[serde(default)]
    pub zookeeper: bool,
}

impl NodeRole {
    /// A ZooKeeper node's `myid` (1..K).
    pub fn myid(&self) -> Option<i32> {
        self.zookeeper.then_some(self.id - ZOOKEEPER_ID_BASE)
    }
}

/// ZooKeeper nodes' ids in the layout: 200 + myid, no broker's id.
pub const ZOOKEEPER_ID_BASE: i32 = 200;
/// ZooKeeper's client port.
pub const ZOOKEEPER_PORT: u16 = 2181;

/// How a node reaches the metadata: the KRaft voters
/// (`controller.quorum.voters`) or the ZooKeeper ensemble
/// (`zookeeper.connect`), both known only once addresses are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Metadata {
    Kraft { voters: String },
    Zookeeper { connect: String },
}

/// The `server.properties` of one node. Suite defaults first, then the
/// spec's settings, then the user's overrides (Kafka's own names win).
pub fn server_properties(
    spec: &ClusterSpec,
    role: &NodeRole,
    ip: &IpAddr,
    meta: &Metadata,
) -> String {
    let brokers = spec.nodes;
    let internal_rf = brokers.min(3);
    let mut p: BTreeMap<String, String> = BTreeMap::new();
    let mut set = |k: &str, v: String| {
        p.insert(k.to_string(), v);
    };
    match meta {
        Metadata::Kraft { voters } => {
            let roles = match (role.broker, role.controller) {
                (true, true) => "broker,controller",
                (true, false) => "broker",
                _ => "controller",
            };
            set("process.roles", roles.into());
            set("node.id", role.id.to_string());
            set("controller.quorum.voters", voters.clone());
            let mut listeners = vec![];
            if role.broker {
                listeners.push(format!("PLAINTEXT://0.0.0.0:{BROKER_PORT}"));
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
            for (k, v) in spec.timing.broker_properties() {
                set(k, v.to_string());
            }
        }
        Metadata::Zookeeper { connect } => {
            set("broker.id", role.id.to_string());
            set("zookeeper.connect", connect.clone());
            set("listeners", format!("PLAINTEXT://0.0.0.0:{BROKER_PORT}"));
            // Without this a broker of 3.x in ZooKeeper mode tries to
            // register a KRaft migration it was never asked for.
            set("zookeeper.metadata.migration.enable", "false".into());
            for (k, v) in spec.timing.zookeeper_broker_properties() {
                set(k, v.to_string());
            }
        }
    }
    if role.broker {
        set(
            "advertised.listeners",
            format!("PLAINTEXT://{ip}:{BROKER_PORT}"),
        );
        set("inter.broker.listener.name", "PLAINTEXT".into());
    }
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
    set(
        "offsets.topic.num.partitions",
        OFFSETS_PARTITIONS.to_string(),
    );
    set(
        "transaction.state.log.replication.factor",
        internal_rf.to_string(),
    );
    set(
        "transaction.state.log.min.isr",
        internal_rf.min(2).to_string(),
    );
    set(
        "transaction.state.log.num.partitions",
        TRANSACTION_STATE_PARTITIONS.to_string(),
    );
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

/// Where a ZooKeeper node keeps its data (and `myid`).
pub const ZOOKEEPER_DATA: &str = "/var/lib/zookeeper";
/// ZooKeeper's peer (quorum) and leader-election ports.
pub const ZOOKEEPER_PEER_PORT: u16 = 2888;
pub const ZOOKEEPER_ELECTION_PORT: u16 = 3888;

/// The `zoo.cfg` of every ZooKeeper node: the ensemble's `server.N` lines
/// (none for an ensemble of one, which then runs standalone), the
/// four-letter words the suite asks (`srvr` tells leader or follower), and
/// the timing profile's tick.
pub fn zookeeper_config(spec: &ClusterSpec, ensemble: &[(i32, IpAddr)]) -> String {
    let (tick, init, sync) = spec.timing.zookeeper_ticks();
    let mut s = String::from("# written by kafka-trial\n");
    s.push_str(&format!(
        "tickTime={tick}\ninitLimit={init}\nsyncLimit={sync}\ndataDir={ZOOKEEPER_DATA}\nclientPort={ZOOKEEPER_PORT}\n"
    ));
    s.push_str(
        "maxClientCnxns=0\nadmin.enableServer=false\n4lw.commands.whitelist=srvr,stat,ruok,mntr\n",
    );
    s.push_str("autopurge.purgeInterval=0\nquorumListenOnAllIPs=true\n");
    if ensemble.len() > 1 {
        for (myid, ip) in ensemble {
            s.push_str(&format!(
                "server.{myid}={ip}:{ZOOKEEPER_PEER_PORT}:{ZOOKEEPER_ELECTION_PORT}\n"
            ));
        }
    }
    s
}

/// `zookeeper.connect` of the brokers: every ensemble member.
pub fn zookeeper_connect(ensemble: &[(i32, IpAddr)]) -> String {
    ensemble
        .iter()
        .map(|(_, ip)| format!("{ip}:{ZOOKEEPER_PORT}"))
        .collect::<Vec<_>>()
        .join(",")
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
            kafka_version: Some("2.7.0".into()),
            ..Default::default()
        }
        .validate()
        .is_err());
        // 2.8 runs in ZooKeeper mode only, 4.x in KRaft only.
        let zk = ClusterSpec {
            kafka_version: Some("2.8.2".into()),
            ..Default::default()
        };
        assert!(zk.validate().is_ok());
        assert_eq!(zk.mode(), Mode::Zookeeper);
        assert_eq!(zk.zookeeper_count(), 3);
        for bad in [
            ClusterSpec {
                kafka_version: Some("4.0.0".into()),
                mode: Some(Mode::Zookeeper),
                ..Default::default()
            },
            ClusterSpec {
                kafka_version: Some("3.9.1".into()),
                mode: Some(Mode::Kraft),
                zookeeper: Some(3),
                ..Default::default()
            },
            ClusterSpec {
                zookeeper: Some(3),
                split_roles: true,
                ..Default::default()
            },
            ClusterSpec {
                zookeeper: Some(0),
                ..Default::default()
            },
        ] {
            assert!(bad.validate().is_err(), "{bad:?}");
        }
        // --zookeeper alone: ZooKeeper mode on the newest release with it.
        let alone = ClusterSpec {
            zookeeper: Some(1),
            ..Default::default()
        };
        assert!(alone.validate().is_ok());
        assert_eq!(alone.version().as_deref(), Some("3.9.1"));
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
    fn zookeeper_layout_puts_the_ensemble_first() {
        let s = ClusterSpec {
            nodes: 3,
            zookeeper: Some(3),
            ..Default::default()
        };
        let l = s.layout();
        assert_eq!(l.len(), 6);
        assert_eq!(l[0].name, "z1");
        assert_eq!(l[0].myid(), Some(1));
        assert!(l[..3].iter().all(|r| r.zookeeper && !r.broker));
        assert!(l[3..].iter().all(|r| r.broker && !r.controller));
        assert_eq!(l[3].myid(), None);
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
        let meta = Metadata::Kraft {
            voters: "1@10.0.0.2:9093".into(),
        };
        let p = server_properties(&s, role, &"10.0.0.2".parse().unwrap(), &meta);
        assert!(p.contains("unclean.leader.election.enable=true\n"));
        assert!(p.contains("min.insync.replicas=1\n"));
        assert!(p.contains("num.partitions=7\n"));
        assert!(p.contains("advertised.listeners=PLAINTEXT://10.0.0.2:9092\n"));
        assert!(p.contains("process.roles=broker,controller\n"));
    }

    #[test]
    fn zookeeper_mode_brokers_and_ensemble() {
        let s = ClusterSpec {
            zookeeper: Some(3),
            ..Default::default()
        };
        let ensemble: Vec<(i32, IpAddr)> = (1..=3)
            .map(|i| (i, format!("10.0.0.{}", 10 + i).parse().unwrap()))
            .collect();
        let meta = Metadata::Zookeeper {
            connect: zookeeper_connect(&ensemble),
        };
        let broker = s.layout().into_iter().find(|r| r.broker).unwrap();
        let p = server_properties(&s, &broker, &"10.0.0.2".parse().unwrap(), &meta);
        assert!(p.contains("broker.id=1\n"), "{p}");
        assert!(p.contains("zookeeper.connect=10.0.0.11:2181,10.0.0.12:2181,10.0.0.13:2181\n"));
        assert!(!p.contains("process.roles") && !p.contains("controller.quorum"));
        assert!(p.contains("zookeeper.session.timeout.ms="));
        let z = zookeeper_config(&s, &ensemble);
        assert!(z.contains("server.2=10.0.0.12:2888:3888\n"), "{z}");
        assert!(z.contains("4lw.commands.whitelist=srvr"));
        // An ensemble of one runs standalone: no server lines.
        assert!(!zookeeper_config(&s, &ensemble[..1]).contains("server."));
    }
}
