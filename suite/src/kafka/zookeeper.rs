//! The ZooKeeper ensemble of a ZooKeeper-mode cluster, as its servers
//! report themselves: ZooKeeper's `srvr` four-letter word (enabled by the
//! suite's `zoo.cfg`) over the client port, asked from the controller's
//! side like every other observation. Each server says whether it leads,
//! follows, or runs standalone; one that is cut off from its quorum stops
//! serving and answers "This ZooKeeper instance is not currently serving
//! requests".

use super::config::ZOOKEEPER_PORT;
use super::node::KafkaNode;
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// What one ZooKeeper server says of itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ZkStatus {
    /// `leader`, `follower`, `standalone`, `observer`, or `not-serving`
    /// (up, but without a quorum).
    pub mode: String,
    /// The last transaction id it has seen (`Zxid:`), whose high 32 bits
    /// are the leader's epoch.
    pub zxid: Option<i64>,
}

impl ZkStatus {
    /// The epoch of the leadership it follows (zxid's high half).
    pub fn epoch(&self) -> Option<i64> {
        self.zxid.map(|z| z >> 32)
    }
    /// Whether it leads the ensemble (or is the ensemble, alone).
    pub fn leads(&self) -> bool {
        self.mode == "leader" || self.mode == "standalone"
    }
}

/// Parse an answer to `srvr`.
pub fn parse_srvr(text: &str) -> Result<ZkStatus> {
    if text.contains("not currently serving requests") {
        return Ok(ZkStatus {
            mode: "not-serving".into(),
            zxid: None,
        });
    }
    let mut mode = None;
    let mut zxid = None;
    for line in text.lines() {
        if let Some(m) = line.strip_prefix("Mode:") {
            mode = Some(m.trim().to_string());
        } else if let Some(z) = line.strip_prefix("Zxid:") {
            let z = z.trim().trim_start_matches("0x");
            zxid = i64::from_str_radix(z, 16).ok();
        }
    }
    match mode {
        Some(mode) => Ok(ZkStatus { mode, zxid }),
        None => bail!(
            "not a ZooKeeper srvr answer: {:?}",
            text.chars().take(120).collect::<String>()
        ),
    }
}

/// Ask one server `srvr` (bounded by `timeout` in all).
pub async fn status(ip: IpAddr, timeout: Duration) -> Result<ZkStatus> {
    let addr = SocketAddr::new(ip, ZOOKEEPER_PORT);
    let text = tokio::time::timeout(timeout, async {
        let mut s = tokio::net::TcpStream::connect(addr).await?;
        s.write_all(b"srvr").await?;
        let mut buf = String::new();
        s.read_to_string(&mut buf).await?;
        Ok::<_, std::io::Error>(buf)
    })
    .await
    .with_context(|| format!("ZooKeeper at {addr} did not answer srvr within {timeout:?}"))?
    .with_context(|| format!("srvr to ZooKeeper at {addr}"))?;
    parse_srvr(&text)
}

/// Every ZooKeeper node's answer (node name → status, or why none), asked
/// in parallel.
pub async fn ensemble(
    nodes: &[Arc<KafkaNode>],
    timeout: Duration,
) -> BTreeMap<String, Result<ZkStatus, String>> {
    let zk: Vec<&Arc<KafkaNode>> = nodes.iter().filter(|n| n.role.zookeeper).collect();
    let answers = futures::future::join_all(zk.iter().map(|n| status(n.host.ip(), timeout))).await;
    zk.iter()
        .zip(answers)
        .map(|(n, a)| (n.role.name.clone(), a.map_err(|e| format!("{e:#}"))))
        .collect()
}

/// The ensemble's leader (the standalone server of an ensemble of one):
/// the node that says it leads, with the highest epoch if two do (an old
/// leader cut off from the quorum says so until it notices).
pub async fn leader_of(nodes: &[Arc<KafkaNode>]) -> Option<String> {
    ensemble(nodes, Duration::from_secs(3))
        .await
        .into_iter()
        .filter_map(|(n, s)| s.ok().filter(ZkStatus::leads).map(|s| (s.epoch(), n)))
        .max()
        .map(|(_, n)| n)
}

/// Wait (bounded) until the ensemble has a leader and every member serves.
pub async fn wait_serving(nodes: &[Arc<KafkaNode>], timeout: Duration) -> Result<()> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let e = ensemble(nodes, Duration::from_secs(2)).await;
        let serving = e
            .values()
            .filter(|s| matches!(s, Ok(s) if s.mode != "not-serving"))
            .count();
        if serving == e.len() && e.values().flatten().any(ZkStatus::leads) {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            let states: Vec<String> = e
                .iter()
                .map(|(n, s)| match s {
                    Ok(s) => format!("{n}: {}", s.mode),
                    Err(e) => format!("{n}: {e}"),
                })
                .collect();
            bail!(
                "the ZooKeeper ensemble was not serving within {timeout:?}: {}",
                states.join("; ")
            );
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// ZooKeeper mode's controller: the broker id that the first broker to
/// answer names in Metadata (the broker that won the `/controller` znode).
pub async fn metadata_controller(brokers: &[SocketAddr], timeout: Duration) -> Option<i32> {
    use crate::observer::wire::Conn;
    use kafka_protocol::messages::{ApiKey, MetadataRequest, MetadataResponse};
    for addr in brokers {
        let Ok(mut conn) = Conn::open(*addr, timeout).await else {
            continue;
        };
        let Some(v) = conn.version(ApiKey::Metadata, 1..=12) else {
            continue;
        };
        let req = MetadataRequest::default()
            .with_topics(Some(vec![]))
            .with_allow_auto_topic_creation(false);
        let r: Result<MetadataResponse> = conn.call(&req, v, timeout).await;
        if let Ok(md) = r {
            if md.controller_id.0 >= 0 {
                return Some(md.controller_id.0);
            }
        }
    }
    None
}

/// The active controller's node name in either mode: KRaft's from the
/// quorum state the controllers keep, ZooKeeper's from Metadata.
pub async fn active_controller(nodes: &[Arc<KafkaNode>]) -> Option<String> {
    if !nodes.iter().any(|n| n.role.zookeeper) {
        return super::quorum::active_controller_of(nodes).await;
    }
    let brokers: Vec<SocketAddr> = nodes
        .iter()
        .filter(|n| n.role.broker)
        .map(|n| SocketAddr::new(n.host.ip(), super::config::BROKER_PORT))
        .collect();
    let id = metadata_controller(&brokers, Duration::from_secs(3)).await?;
    nodes
        .iter()
        .find(|n| n.role.broker && n.role.id == id)
        .map(|n| n.role.name.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn srvr_answers_parse() {
        let leader = "Zookeeper version: 3.8.4-9316c2a7a97e1666d8f4593f34dd6fc36ecc436c, built on 2024-02-12 22:16 UTC\nLatency min/avg/max: 0/0.0/0\nReceived: 3\nSent: 2\nConnections: 1\nOutstanding: 0\nZxid: 0x100000004\nMode: leader\nNode count: 5\nProposal sizes last/min/max: -1/-1/-1\n";
        let s = parse_srvr(leader).unwrap();
        assert_eq!(s.mode, "leader");
        assert_eq!(s.zxid, Some(0x1_0000_0004));
        assert_eq!(s.epoch(), Some(1));
        assert!(s.leads());
        let f = parse_srvr("Zxid: 0x0\nMode: follower\n").unwrap();
        assert!(!f.leads());
        let n = parse_srvr("This ZooKeeper instance is not currently serving requests\n").unwrap();
        assert_eq!(n.mode, "not-serving");
        assert!(parse_srvr("hello").is_err());
    }
}
