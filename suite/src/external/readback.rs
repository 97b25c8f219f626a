//! The configuration of a cluster the user runs, read back rather than
//! assumed: DescribeConfigs of a broker and of the trial's topic (through
//! rdkafka, with the user's client settings), the finalized features and
//! the controller from ApiVersions and Metadata (the observer's wire
//! client; PLAINTEXT listeners only, best effort). Each value keeps where
//! it came from; what could not be read is `unknown` and listed, and the
//! promise model then says its verdict is unknown.

use crate::observer::wire::Conn;
use anyhow::{anyhow, Context, Result};
use kafka_protocol::messages::{ApiKey, MetadataRequest};
use rdkafka::admin::{AdminClient, AdminOptions, ConfigSource, ResourceSpecifier};
use rdkafka::client::DefaultClientContext;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

/// One setting read back (or not).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Setting {
    /// `None`: unknown.
    pub value: Option<String>,
    /// Where it came from: `topic (dynamic)`, `broker 1 (static
    /// server.properties)`, `Kafka's default`, `ApiVersions`, … or why it
    /// is unknown.
    pub source: String,
}

impl Setting {
    fn known(value: impl Into<String>, source: impl Into<String>) -> Setting {
        Setting {
            value: Some(value.into()),
            source: source.into(),
        }
    }
    fn unknown(why: impl Into<String>) -> Setting {
        Setting {
            value: None,
            source: why.into(),
        }
    }
}

/// What was read back (test.json `external.config`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReadBack {
    /// By name: the Kafka property (`min.insync.replicas`, …), or
    /// `release`, `mode`, `replication.factor`, `controller`, features.
    pub settings: BTreeMap<String, Setting>,
    /// The settings the promise model needs that could not be read.
    #[serde(default)]
    pub unknown: Vec<String>,
    /// (broker id, advertised address) from the metadata.
    pub brokers: Vec<(i32, String)>,
}

impl ReadBack {
    pub fn value(&self, k: &str) -> Option<&str> {
        self.settings.get(k).and_then(|s| s.value.as_deref())
    }

    fn set(&mut self, k: &str, s: Setting) {
        self.settings.insert(k.to_string(), s);
    }

    /// The lines `probe` prints: each setting, its value and its source.
    pub fn lines(&self) -> Vec<String> {
        self.settings
            .iter()
            .map(|(k, s)| {
                format!(
                    "{k:<36} {:<12} {}",
                    s.value.as_deref().unwrap_or("unknown"),
                    s.source
                )
            })
            .collect()
    }
}

/// The topic- and broker-level settings the promise model reads.
const TOPIC_KEYS: [&str; 4] = [
    "min.insync.replicas",
    "unclean.leader.election.enable",
    "flush.messages",
    "flush.ms",
];
const BROKER_KEYS: [&str; 7] = [
    "min.insync.replicas",
    "unclean.leader.election.enable",
    "log.flush.interval.messages",
    "log.flush.interval.ms",
    "default.replication.factor",
    "process.roles",
    "zookeeper.connect",
];
/// What the promise verdict cannot do without.
pub const NEEDED: [&str; 3] = [
    "min.insync.replicas",
    "unclean.leader.election.enable",
    "mode",
];
const ELR_FEATURE: &str = "eligible.leader.replicas.version";

fn source(s: &ConfigSource, whose: &str) -> String {
    match s {
        ConfigSource::DynamicTopic => format!("{whose}: dynamic topic config"),
        ConfigSource::DynamicBroker => format!("{whose}: dynamic broker config"),
        ConfigSource::DynamicDefaultBroker => {
            format!("{whose}: dynamic cluster-wide default")
        }
        ConfigSource::StaticBroker => format!("{whose}: server.properties"),
        ConfigSource::Default => format!("{whose}: Kafka's default"),
        ConfigSource::Unknown => format!("{whose}: source not given"),
    }
}

/// DescribeConfigs of `spec`, the `keys` asked: (key → setting).
async fn describe(
    bootstrap: &str,
    spec: ResourceSpecifier<'_>,
    whose: &str,
    keys: &[&str],
) -> Result<BTreeMap<String, Setting>> {
    let admin: AdminClient<DefaultClientContext> = crate::kafka::admin::base_config(bootstrap)
        .create()
        .context("create an admin client")?;
    let res = admin
        .describe_configs(
            &[spec],
            &AdminOptions::new().request_timeout(Some(Duration::from_secs(10))),
        )
        .await
        .context("DescribeConfigs")?;
    let r = res
        .into_iter()
        .next()
        .ok_or_else(|| anyhow!("DescribeConfigs: no answer"))?
        .map_err(|e| anyhow!("DescribeConfigs of {whose}: {e}"))?;
    let mut out = BTreeMap::new();
    for e in r.entries {
        if !keys.contains(&e.name.as_str()) {
            continue;
        }
        let s = match e.value {
            Some(v) if !e.is_sensitive => Setting::known(v, source(&e.source, whose)),
            Some(_) => Setting::unknown(format!("{whose}: sensitive")),
            None => Setting::known("", source(&e.source, whose)),
        };
        out.insert(e.name, s);
    }
    Ok(out)
}

/// Read the configuration back: the brokers (`brokers`, from the
/// metadata), the topic `topic` (created by the trial: its replication
/// factor is `rf` replicas as the metadata shows them), and, if `wire` (a
/// PLAINTEXT cluster), ApiVersions' features and Metadata's controller.
pub async fn read(
    bootstrap: &str,
    brokers: &[(i32, String)],
    topic: Option<(&str, usize)>,
    wire: bool,
) -> ReadBack {
    let mut rb = ReadBack {
        brokers: brokers.to_vec(),
        ..Default::default()
    };
    // A broker's own settings (the first that answers).
    let mut broker_cfg = None;
    let mut last_err = String::from("no broker in the metadata");
    let mut answered = None;
    for (id, _) in brokers {
        match describe(
            bootstrap,
            ResourceSpecifier::Broker(*id),
            &format!("broker {id}"),
            &BROKER_KEYS,
        )
        .await
        {
            Ok(m) => {
                broker_cfg = Some(m);
                answered = Some(*id);
                break;
            }
            Err(e) => last_err = format!("{e:#}"),
        }
    }
    let broker_cfg = broker_cfg.unwrap_or_default();
    for k in BROKER_KEYS {
        let s = broker_cfg
            .get(k)
            .cloned()
            .unwrap_or_else(|| match answered {
                Some(id) => Setting::unknown(format!("broker {id}: not in its configuration")),
                None => Setting::unknown(format!("not read from any broker ({last_err})")),
            });
        rb.set(&format!("broker {k}"), s);
    }
    // The mode, from the broker's configuration: KRaft has process.roles,
    // ZooKeeper mode a zookeeper.connect.
    let roles = broker_cfg
        .get("process.roles")
        .and_then(|s| s.value.clone());
    let zk = broker_cfg
        .get("zookeeper.connect")
        .and_then(|s| s.value.clone());
    let mode = match (roles.as_deref(), zk.as_deref()) {
        (Some(r), _) if !r.is_empty() => {
            Setting::known("kraft", format!("broker process.roles = {r}"))
        }
        (_, Some(z)) if !z.is_empty() => {
            Setting::known("zookeeper", "broker zookeeper.connect is set")
        }
        _ => Setting::unknown(
            "neither process.roles nor zookeeper.connect reads back: not Apache Kafka's configuration",
        ),
    };
    rb.set("mode", mode);
    // The topic's effective settings (topic overrides, else the broker's).
    if let Some((t, rf)) = topic {
        match describe(bootstrap, ResourceSpecifier::Topic(t), "topic", &TOPIC_KEYS).await {
            Ok(m) => {
                for k in TOPIC_KEYS {
                    rb.set(
                        k,
                        m.get(k)
                            .cloned()
                            .unwrap_or_else(|| Setting::unknown("the topic's config lacks it")),
                    );
                }
            }
            Err(e) => {
                for k in TOPIC_KEYS {
                    rb.set(k, Setting::unknown(format!("{e:#}")));
                }
            }
        }
        rb.set(
            "replication.factor",
            Setting::known(rf.to_string(), "the trial topic's replicas in the metadata"),
        );
    } else {
        // No topic (probe): the broker's defaults are what a topic gets.
        for k in ["min.insync.replicas", "unclean.leader.election.enable"] {
            let s = rb
                .settings
                .get(&format!("broker {k}"))
                .cloned()
                .unwrap_or_else(|| Setting::unknown("not read"));
            rb.set(k, s);
        }
    }
    // Features and the controller over the wire (PLAINTEXT only).
    let wire_read = if wire {
        read_wire(brokers).await
    } else {
        Err(anyhow!(
            "not a PLAINTEXT listener: ApiVersions and Metadata are not read"
        ))
    };
    match wire_read {
        Ok((features, controller, cluster_id)) => {
            let elr = features.get(ELR_FEATURE).copied().unwrap_or(0);
            let kraft = features.contains_key("metadata.version");
            rb.set(
                ELR_FEATURE,
                if kraft {
                    Setting::known(elr.to_string(), "ApiVersions finalized features")
                } else {
                    Setting::known("0", "ApiVersions: no metadata.version (ZooKeeper mode)")
                },
            );
            if let Some(mv) = features.get("metadata.version") {
                rb.set(
                    "metadata.version",
                    Setting::known(mv.to_string(), "ApiVersions finalized features"),
                );
            }
            let _ = controller;
            rb.set(
                "controller",
                match active_controller(brokers).await {
                    Some(c) if kraft => Setting::known(c.to_string(), "DescribeQuorum leader"),
                    Some(c) => Setting::known(c.to_string(), "Metadata controller_id"),
                    None => Setting::unknown("neither DescribeQuorum nor Metadata named it"),
                },
            );
            if let Some(c) = cluster_id {
                rb.set("cluster.id", Setting::known(c, "Metadata"));
            }
        }
        Err(e) => {
            rb.set(ELR_FEATURE, Setting::unknown(format!("{e:#}")));
            rb.set("controller", Setting::unknown(format!("{e:#}")));
        }
    }
    // The release: no Kafka request says it.
    rb.set(
        "release",
        Setting::unknown("no request of Kafka's protocol names the release"),
    );
    rb.unknown = NEEDED
        .iter()
        .filter(|k| rb.value(k).is_none())
        .map(|k| k.to_string())
        .collect();
    rb
}

/// ApiVersions' finalized features, Metadata's controller and cluster id,
/// from the first broker that answers.
async fn read_wire(
    brokers: &[(i32, String)],
) -> Result<(BTreeMap<String, i16>, Option<i32>, Option<String>)> {
    let mut last = anyhow!("no broker");
    for (_, addr) in brokers {
        let Some(a) = resolve(addr) else {
            last = anyhow!("cannot resolve {addr}");
            continue;
        };
        let t = Duration::from_secs(5);
        let mut conn = match Conn::open(a, t).await {
            Ok(c) => c,
            Err(e) => {
                last = e;
                continue;
            }
        };
        let features = conn.features.clone();
        let Some(v) = conn.version(ApiKey::Metadata, 9..=12) else {
            return Ok((features, None, None));
        };
        let req = MetadataRequest::default()
            .with_topics(Some(vec![]))
            .with_allow_auto_topic_creation(false);
        match conn.call(&req, v, t).await {
            Ok(md) => {
                let c = (md.controller_id.0 >= 0).then_some(md.controller_id.0);
                let id = md.cluster_id.map(|s| s.to_string());
                return Ok((features, c, id));
            }
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// The active controller: in KRaft the leader of `__cluster_metadata`
/// (DescribeQuorum, which brokers forward to the quorum), else (ZooKeeper
/// mode, or a broker that does not forward it) Metadata's controller — in
/// KRaft mode that is only a broker that forwards, so it is not used there.
pub async fn active_controller(brokers: &[(i32, String)]) -> Option<i32> {
    use crate::observer::{quorum_state, QuorumAnswer};
    use kafka_protocol::messages::describe_quorum_request::{PartitionData, TopicData};
    use kafka_protocol::messages::{DescribeQuorumRequest, TopicName};
    use kafka_protocol::protocol::StrBytes;
    let t = Duration::from_secs(5);
    for (_, addr) in brokers {
        let Some(a) = resolve(addr) else { continue };
        let Ok(mut conn) = Conn::open(a, t).await else {
            continue;
        };
        let kraft = conn.features.contains_key("metadata.version");
        if let (true, Some(v)) = (kraft, conn.version(ApiKey::DescribeQuorum, 0..=2)) {
            let req = DescribeQuorumRequest::default().with_topics(vec![TopicData::default()
                .with_topic_name(TopicName(StrBytes::from_static_str("__cluster_metadata")))
                .with_partitions(vec![PartitionData::default().with_partition_index(0)])]);
            if let Ok(r) = conn.call(&req, v, t).await {
                if let Ok(QuorumAnswer::Leader(c)) = quorum_state(&r) {
                    return (c.id >= 0).then_some(c.id);
                }
            }
            continue;
        }
        if kraft {
            continue;
        }
        if let Some(v) = conn.version(ApiKey::Metadata, 9..=12) {
            let req = MetadataRequest::default()
                .with_topics(Some(vec![]))
                .with_allow_auto_topic_creation(false);
            if let Ok(md) = conn.call(&req, v, t).await {
                return (md.controller_id.0 >= 0).then_some(md.controller_id.0);
            }
        }
    }
    None
}

/// `host:port` → its first address.
pub fn resolve(addr: &str) -> Option<SocketAddr> {
    use std::net::ToSocketAddrs;
    addr.to_socket_addrs().ok()?.next()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_lists_what_the_promise_model_needs() {
        let mut rb = ReadBack::default();
        rb.set(
            "min.insync.replicas",
            Setting::known("1", "topic: Kafka's default"),
        );
        rb.set("mode", Setting::unknown("x"));
        rb.unknown = NEEDED
            .iter()
            .filter(|k| rb.value(k).is_none())
            .map(|k| k.to_string())
            .collect();
        assert_eq!(rb.unknown, vec!["unclean.leader.election.enable", "mode"]);
        assert!(rb.lines().iter().any(|l| l.contains("unknown")));
    }
}
