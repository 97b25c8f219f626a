//! Kafka metadata and topic administration through librdkafka.

use anyhow::{anyhow, bail, Context, Result};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// One partition as the metadata describes it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PartitionInfo {
    pub id: i32,
    /// Leader broker id, -1 when none.
    pub leader: i32,
    pub replicas: Vec<i32>,
    pub isr: Vec<i32>,
}

/// What the cluster's metadata says.
#[derive(Debug, Clone, Serialize, Default)]
pub struct Metadata {
    /// (broker id, host:port)
    pub brokers: Vec<(i32, String)>,
    pub topics: BTreeMap<String, Vec<PartitionInfo>>,
}

/// An admin client's settings: the bootstrap, short socket timeouts, quiet
/// logs, and a user's cluster's security settings.
pub(crate) fn base_config(bootstrap: &str) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", bootstrap)
        .set("socket.timeout.ms", "5000")
        .set("log_level", "3");
    // A cluster the user runs: its security settings (`--client-config`).
    crate::external::secrets::apply(bootstrap, &mut c);
    c
}

/// Fetch the metadata (of one topic, or of all) within `timeout`.
pub async fn metadata(bootstrap: &str, topic: Option<&str>, timeout: Duration) -> Result<Metadata> {
    let bootstrap = bootstrap.to_string();
    let topic = topic.map(str::to_string);
    tokio::task::spawn_blocking(move || {
        let consumer: BaseConsumer = base_config(&bootstrap)
            .create()
            .context("create a metadata client")?;
        let md = consumer
            .fetch_metadata(topic.as_deref(), timeout)
            .context("fetch metadata")?;
        let mut out = Metadata {
            brokers: md
                .brokers()
                .iter()
                .map(|b| (b.id(), format!("{}:{}", b.host(), b.port())))
                .collect(),
            topics: BTreeMap::new(),
        };
        out.brokers.sort();
        for t in md.topics() {
            if t.error().is_some() {
                continue;
            }
            let mut parts: Vec<PartitionInfo> = t
                .partitions()
                .iter()
                .map(|p| PartitionInfo {
                    id: p.id(),
                    leader: p.leader(),
                    replicas: p.replicas().to_vec(),
                    isr: p.isr().to_vec(),
                })
                .collect();
            parts.sort_by_key(|p| p.id);
            out.topics.insert(t.name().to_string(), parts);
        }
        Ok(out)
    })
    .await
    .map_err(|e| anyhow!("metadata task: {e}"))?
}

/// Create a topic and wait (bounded) until every partition has a leader
/// and a full ISR of `replication` replicas.
pub async fn create_topic(
    bootstrap: &str,
    name: &str,
    partitions: i32,
    replication: i32,
    configs: &[(&str, &str)],
    timeout: Duration,
) -> Result<Vec<PartitionInfo>> {
    let admin: AdminClient<DefaultClientContext> = base_config(bootstrap)
        .create()
        .context("create an admin client")?;
    let mut nt = NewTopic::new(name, partitions, TopicReplication::Fixed(replication));
    for (k, v) in configs {
        nt = nt.set(k, v);
    }
    let res = admin
        .create_topics(
            &[nt],
            &AdminOptions::new().operation_timeout(Some(Duration::from_secs(30))),
        )
        .await
        .context("create topic")?;
    for r in res {
        if let Err((t, e)) = r {
            bail!("creating topic {t} failed: {e}");
        }
    }
    wait_topic_healthy(bootstrap, name, partitions, replication as usize, timeout).await
}

/// Wait until every partition of `topic` has a leader and `isr` in-sync replicas.
pub async fn wait_topic_healthy(
    bootstrap: &str,
    topic: &str,
    partitions: i32,
    isr: usize,
    timeout: Duration,
) -> Result<Vec<PartitionInfo>> {
    let deadline = Instant::now() + timeout;
    let mut last = String::from("no metadata yet");
    loop {
        match metadata(bootstrap, Some(topic), Duration::from_secs(3)).await {
            Ok(md) => {
                if let Some(parts) = md.topics.get(topic) {
                    let healthy = parts.len() == partitions as usize
                        && parts.iter().all(|p| p.leader >= 0 && p.isr.len() >= isr);
                    if healthy {
                        return Ok(parts.clone());
                    }
                    last = format!("{parts:?}");
                }
            }
            Err(e) => last = format!("{e:#}"),
        }
        if Instant::now() >= deadline {
            bail!("topic {topic} did not reach {partitions} partitions with a leader and {isr} in-sync replicas within {timeout:?}; last seen: {last}");
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}
