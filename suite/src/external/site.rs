//! A trial's run on a cluster the user runs: connect with the user's
//! client settings, refuse an existing topic, create the run's own
//! (`kt-trial-<name>-<random>`), read the configuration back into
//! test.json (and the promise model's inputs), hand `trial::run` a
//! [`Site`] of hook nodes and observed brokers, and at the end delete the
//! topic (unless `--keep-topic`) and write `hooks.jsonl`.

use super::hooks::{HookLog, HookNode, Hooks};
use super::readback::{self, ReadBack};
use super::{secrets, ExternalSpec, TOPIC_PREFIX};
use crate::kafka::admin;
use crate::observer::{ObservedNode, ObserverConfig};
use crate::trial::run::{trial, Site};
use crate::trial::TestSpec;
use crate::workloads::{Counters, Workload};
use anyhow::{bail, Context, Result};
use indicatif::ProgressBar;
use rdkafka::admin::{AdminClient, AdminOptions};
use rdkafka::client::DefaultClientContext;
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};
use trial_histories::RunDir;
use trial_nemesis::Node;

/// The node name of broker `id` on a cluster the user runs.
pub fn node_name(id: i32) -> String {
    format!("b{id}")
}

fn random_suffix() -> String {
    use rand::Rng;
    let mut r = rand::thread_rng();
    (0..8)
        .map(|_| char::from(b"0123456789abcdef"[r.gen_range(0..16)]))
        .collect()
}

/// A cluster the user runs, connected.
pub struct Connected {
    pub bootstrap: String,
    /// (broker id, advertised host:port) from the metadata.
    pub brokers: Vec<(i32, String)>,
    /// Every topic the cluster had when the run started.
    pub topics_before: Vec<String>,
    /// The client settings speak PLAINTEXT (the observer can ask too).
    pub plaintext: bool,
}

impl Connected {
    /// Register the client settings for `x.bootstrap` and read the
    /// metadata (bounded).
    pub async fn connect(x: &ExternalSpec) -> Result<Connected> {
        let settings = x.client_settings()?;
        secrets::check(&settings)?;
        let plaintext = secrets::plaintext(&settings);
        secrets::register(&x.bootstrap, settings);
        let md = admin::metadata(&x.bootstrap, None, Duration::from_secs(15))
            .await
            .with_context(|| format!("no metadata from --bootstrap {}", x.bootstrap))?;
        if md.brokers.is_empty() {
            bail!("--bootstrap {}: the metadata names no broker", x.bootstrap);
        }
        Ok(Connected {
            bootstrap: x.bootstrap.clone(),
            brokers: md.brokers.clone(),
            topics_before: md.topics.keys().cloned().collect(),
            plaintext,
        })
    }

    /// The observer's view: every broker at its advertised address
    /// (PLAINTEXT only: the observer speaks no TLS or SASL).
    pub fn observer(&self) -> Option<ObserverConfig> {
        if !self.plaintext {
            return None;
        }
        let brokers: Vec<ObservedNode> = self
            .brokers
            .iter()
            .filter_map(|(id, a)| {
                Some(ObservedNode {
                    id: *id,
                    name: node_name(*id),
                    addr: readback::resolve(a)?,
                })
            })
            .collect();
        Some(ObserverConfig {
            topic: String::new(),
            brokers,
            controllers: vec![],
            zookeeper: vec![],
            transactional_ids: vec![],
            groups: vec![],
            interval: ObserverConfig::INTERVAL,
            timeout: ObserverConfig::TIMEOUT,
        })
    }

    /// The hook nodes, one per broker.
    pub fn nodes(&self, hooks: &Arc<Hooks>, log: &HookLog) -> Vec<Arc<dyn Node>> {
        self.brokers
            .iter()
            .map(|(id, addr)| {
                let host = addr
                    .rsplit_once(':')
                    .map_or(addr.as_str(), |(h, _)| h)
                    .to_string();
                let ip = readback::resolve(addr)
                    .map(|a| a.ip())
                    .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
                Arc::new(HookNode::new(
                    *id,
                    node_name(*id),
                    host,
                    ip,
                    hooks.clone(),
                    log.clone(),
                )) as Arc<dyn Node>
            })
            .collect()
    }

    /// Create `topic` (refused if it exists) and wait until healthy.
    pub async fn create_topic(
        &self,
        topic: &str,
        partitions: u32,
        rf: usize,
    ) -> Result<Vec<admin::PartitionInfo>> {
        let md = admin::metadata(&self.bootstrap, None, Duration::from_secs(15)).await?;
        if md.topics.contains_key(topic) {
            bail!("topic {topic} already exists on the cluster: refused (the trial makes its own)");
        }
        // No configs of our own: the topic takes the cluster's, read back.
        admin::create_topic(
            &self.bootstrap,
            topic,
            partitions as i32,
            rf as i32,
            &[],
            Duration::from_secs(60),
        )
        .await
    }

    /// Delete `topic` (the run's own), bounded.
    pub async fn delete_topic(&self, topic: &str) -> Result<()> {
        if !topic.starts_with(TOPIC_PREFIX) {
            bail!("refusing to delete {topic}: not a trial's topic");
        }
        delete_topic(&self.bootstrap, topic).await
    }
}

/// Delete one topic through the admin API (the caller names only topics
/// of its own).
pub async fn delete_topic(bootstrap: &str, topic: &str) -> Result<()> {
    let admin: AdminClient<DefaultClientContext> = crate::kafka::admin::base_config(bootstrap)
        .create()
        .context("create an admin client")?;
    let res = admin
        .delete_topics(
            &[topic],
            &AdminOptions::new().operation_timeout(Some(Duration::from_secs(30))),
        )
        .await
        .context("delete topic")?;
    for r in res {
        if let Err((t, e)) = r {
            bail!("deleting topic {t} failed: {e}");
        }
    }
    Ok(())
}

/// The promise model's inputs in test.json's `cluster` from what was read
/// back (unknown values left at what the spec says, and listed in
/// `external.config.unknown`).
pub fn apply_readback(spec: &mut TestSpec, rb: &ReadBack) {
    let c = &mut spec.cluster;
    if let Some(v) = rb.value("min.insync.replicas").and_then(|v| v.parse().ok()) {
        c.min_insync_replicas = v;
    }
    if let Some(v) = rb
        .value("unclean.leader.election.enable")
        .and_then(|v| v.parse().ok())
    {
        c.unclean_leader_election = v;
    }
    if let Some(v) = rb.value("replication.factor").and_then(|v| v.parse().ok()) {
        c.replication_factor = v;
    }
    c.mode = rb.value("mode").and_then(|m| m.parse().ok());
    c.kafka_version = rb.value("release").map(str::to_string);
    if let Some(l) = rb
        .value("eligible.leader.replicas.version")
        .and_then(|v| v.parse().ok())
    {
        c.features
            .insert("eligible.leader.replicas.version".into(), l);
    }
    // The flush settings as the promise model reads them (the topic's
    // `flush.messages` is the effective one).
    for (k, read) in [
        ("flush.messages", "flush.messages"),
        (
            "log.flush.interval.messages",
            "broker log.flush.interval.messages",
        ),
    ] {
        if let Some(v) = rb.value(read) {
            c.broker_overrides.insert(k.into(), v.into());
        }
    }
}

/// The run on a cluster the user runs: what `trial::run` does with a
/// built cluster, from connecting to deleting the topic. Returns the
/// trial's outcome, the run's id and the seconds until the topic was ready.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn run_on(
    mut x: ExternalSpec,
    spec: &mut TestSpec,
    workload: &Arc<dyn Workload>,
    run_dir: &RunDir,
    pb: &ProgressBar,
    t0: Instant,
    interrupted: Arc<AtomicBool>,
    cancel: (
        tokio::sync::watch::Sender<bool>,
        tokio::sync::watch::Receiver<bool>,
    ),
) -> Result<(Result<(Arc<Counters>, f64)>, String, f64)> {
    pb.set_message(format!("connecting to {}", x.bootstrap));
    let id = format!("trial-{}-{}", spec.name, random_suffix());
    let topic = format!("kt-{id}");
    let conn = Connected::connect(&x).await;
    let conn = match conn {
        Ok(c) => c,
        Err(e) => {
            secrets::forget(&x.bootstrap);
            return Err(e);
        }
    };
    let result = async {
        pb.set_message(format!("creating topic {topic}"));
        x.topic = Some(topic.clone());
        spec.external = Some(x.clone());
        run_dir.write_json("test.json", &*spec)?;
        let parts = conn
            .create_topic(&topic, spec.partitions, spec.cluster.replication_factor)
            .await?;
        Ok::<_, anyhow::Error>(parts)
    }
    .await;
    let parts = match result {
        Ok(p) => p,
        Err(e) => {
            secrets::forget(&x.bootstrap);
            return Err(e);
        }
    };
    // The configuration, read back now that the topic exists.
    pb.set_message("reading the configuration back");
    let rb = readback::read(
        &conn.bootstrap,
        &conn.brokers,
        Some((&topic, parts.first().map_or(0, |p| p.replicas.len()))),
        conn.plaintext,
    )
    .await;
    apply_readback(spec, &rb);
    x.config = Some(rb);
    let ready = t0.elapsed().as_secs_f64();
    x.setup_secs = Some(ready);
    spec.external = Some(x.clone());
    run_dir.write_json("test.json", &*spec)?;
    let hook_log = HookLog::default();
    let nodes = match &x.hooks {
        Some(h) => conn.nodes(&Arc::new(h.clone()), &hook_log),
        None => vec![],
    };
    let names: BTreeMap<i32, String> = conn
        .brokers
        .iter()
        .map(|(id, _)| (*id, node_name(*id)))
        .collect();
    let site = Site {
        id: id.clone(),
        bootstrap: conn.bootstrap.clone(),
        brokers: names.values().cloned().collect(),
        zookeeper: vec![],
        names,
        nodes,
        built: None,
        addresses: conn.brokers.clone(),
        observe: conn.observer(),
        parts: Some((topic.clone(), parts)),
    };
    crate::trial::progress::note(
        pb,
        spec.progress,
        format!(
            "cluster at {} ready in {ready:.1}s: {} brokers, topic {topic}{}",
            conn.bootstrap,
            conn.brokers.len(),
            if site.observe.is_none() {
                " (not observed: the observer speaks PLAINTEXT only)"
            } else {
                ""
            }
        ),
    );
    let outcome = trial(spec, workload, &site, run_dir, pb, interrupted, cancel).await;
    // Whatever the outcome: the hooks' record, the topic deleted.
    let calls = hook_log.lock().unwrap_or_else(|e| e.into_inner()).clone();
    if !calls.is_empty() {
        let mut text = String::new();
        for c in &calls {
            text.push_str(&serde_json::to_string(c).unwrap_or_default());
            text.push('\n');
        }
        if let Err(e) = std::fs::write(run_dir.path.join("hooks.jsonl"), text) {
            tracing::warn!("writing hooks.jsonl: {e}");
        }
    }
    if !x.keep_topic {
        pb.set_message(format!("deleting topic {topic}"));
        let deleted = conn.delete_topic(&topic).await;
        if let Err(e) = &deleted {
            tracing::warn!("deleting the trial's topic {topic}: {e:#}");
            eprintln!("warning: the trial's topic {topic} was not deleted: {e:#}");
        }
        x.topic_deleted = Some(deleted.is_ok());
        spec.external = Some(x.clone());
        run_dir.write_json("test.json", &*spec)?;
    }
    secrets::forget(&conn.bootstrap);
    Ok((outcome, id, ready))
}
