//! Where Kafka puts a coordinator, the way the broker computes it, for both
//! kinds that hash a key onto an internal topic:
//!
//! - a consumer group's coordinator leads the group's `__consumer_offsets`
//!   partition (`GroupCoordinatorService.partitionFor`, the classic
//!   `GroupMetadataManager.partitionFor` before it:
//!   `Utils.abs(groupId.hashCode) % offsets.topic.num.partitions`);
//! - a `transactional.id`'s transaction coordinator leads its
//!   `__transaction_state` partition (`TransactionStateManager.partitionFor`:
//!   `Utils.abs(transactionalId.hashCode) % transaction.state.log.num.partitions`).
//!
//! Both use Java's `String.hashCode`. [`coordinators`] reads the partition
//! leaders from the metadata; [`find_coordinator`] asks a broker the same
//! question over the wire (FindCoordinator, key type 0 = group, 1 =
//! transaction), so a real-cluster test can hold the computation against
//! the cluster's own answer.

use super::admin;
use super::config::{OFFSETS_PARTITIONS, TRANSACTION_STATE_PARTITIONS};
use crate::observer::wire::Conn;
use anyhow::{anyhow, bail, Context, Result};
use kafka_protocol::messages::{ApiKey, FindCoordinatorRequest};
use kafka_protocol::protocol::StrBytes;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

/// Kafka's internal topic of consumer group offsets and metadata.
pub const CONSUMER_OFFSETS_TOPIC: &str = "__consumer_offsets";
/// Kafka's internal topic of transaction states.
pub const TRANSACTION_STATE_TOPIC: &str = "__transaction_state";

/// Which coordinator: the FindCoordinator key type, the internal topic and
/// its partition count (as `config.rs` sets it on every broker).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CoordinatorKind {
    /// A consumer group's (key: the `group.id`).
    Group,
    /// A transactional producer's (key: the `transactional.id`).
    Transaction,
}

impl CoordinatorKind {
    /// FindCoordinator's `key_type`.
    pub fn key_type(self) -> i8 {
        match self {
            CoordinatorKind::Group => 0,
            CoordinatorKind::Transaction => 1,
        }
    }

    /// The internal topic whose partition leaders coordinate.
    pub fn topic(self) -> &'static str {
        match self {
            CoordinatorKind::Group => CONSUMER_OFFSETS_TOPIC,
            CoordinatorKind::Transaction => TRANSACTION_STATE_TOPIC,
        }
    }

    /// Partitions of [`CoordinatorKind::topic`] on the suite's brokers.
    pub fn partitions(self) -> i32 {
        match self {
            CoordinatorKind::Group => OFFSETS_PARTITIONS,
            CoordinatorKind::Transaction => TRANSACTION_STATE_PARTITIONS,
        }
    }

    /// The partition of [`CoordinatorKind::topic`] that holds `key`.
    pub fn partition_of(self, key: &str) -> i32 {
        partition_for(key, self.partitions())
    }

    fn what(self) -> &'static str {
        match self {
            CoordinatorKind::Group => "group",
            CoordinatorKind::Transaction => "transactional id",
        }
    }
}

/// Java's `String.hashCode` (over UTF-16 code units, wrapping).
pub fn java_string_hash(s: &str) -> i32 {
    s.encode_utf16()
        .fold(0i32, |h, c| h.wrapping_mul(31).wrapping_add(c as i32))
}

/// The partition of `key` among `partitions`, as the broker computes it
/// (Kafka's `Utils.abs`: `Integer.MIN_VALUE` maps to 0, where Java's
/// `Math.abs` would stay negative).
pub fn partition_for(key: &str, partitions: i32) -> i32 {
    let h = java_string_hash(key);
    let abs = if h == i32::MIN { 0 } else { h.abs() };
    abs % partitions
}

/// The coordinator broker id of each key: the leader of its partition of
/// the kind's internal topic (absent while the topic does not exist yet —
/// Kafka creates it on the first FindCoordinator of its kind — or the
/// partition has no leader).
pub async fn coordinators(
    bootstrap: &str,
    kind: CoordinatorKind,
    keys: &[String],
    timeout: Duration,
) -> Result<BTreeMap<String, i32>> {
    let topic = kind.topic();
    let md = admin::metadata(bootstrap, Some(topic), timeout).await?;
    let parts = md
        .topics
        .get(topic)
        .ok_or_else(|| anyhow!("{topic} is not in the metadata (yet)"))?;
    Ok(keys
        .iter()
        .filter_map(|k| {
            let p = kind.partition_of(k);
            parts
                .iter()
                .find(|x| x.id == p && x.leader >= 0)
                .map(|x| (k.clone(), x.leader))
        })
        .collect())
}

/// Ask the broker at `addr` which broker coordinates `key` of `kind`
/// (FindCoordinator). A first question creates the kind's internal topic.
pub async fn find_coordinator(
    addr: SocketAddr,
    kind: CoordinatorKind,
    key: &str,
    timeout: Duration,
) -> Result<i32> {
    let mut conn = Conn::open(addr, timeout).await?;
    let v = conn
        .version(ApiKey::FindCoordinator, 1..=4)
        .context("the broker speaks no FindCoordinator v1–v4")?;
    let k = StrBytes::from_string(key.to_string());
    let mut req = FindCoordinatorRequest::default().with_key_type(kind.key_type());
    if v >= 4 {
        req = req.with_coordinator_keys(vec![k]);
    } else {
        req = req.with_key(k);
    }
    let resp = conn.call(&req, v, timeout).await?;
    let (error, node) = if v >= 4 {
        let c = resp
            .coordinators
            .first()
            .context("FindCoordinator answered no coordinator")?;
        (c.error_code, c.node_id.0)
    } else {
        (resp.error_code, resp.node_id.0)
    };
    if error != 0 {
        bail!("FindCoordinator({} {key}) error code {error}", kind.what());
    }
    Ok(node)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values Java computes (`"hello".hashCode()`, the empty string, and a
    /// string whose hash is `Integer.MIN_VALUE`, where `Math.abs` would
    /// stay negative and Kafka's `Utils.abs` gives 0).
    #[test]
    fn java_hash_and_partition() {
        assert_eq!(java_string_hash(""), 0);
        assert_eq!(java_string_hash("hello"), 99_162_322);
        assert_eq!(java_string_hash("polygenelubricants"), i32::MIN);
        assert_eq!(partition_for("polygenelubricants", 10), 0);
        assert_eq!(partition_for("hello", 10), 2);
        // A negative hash: abs first, then the remainder.
        let h = java_string_hash("kt-txn-12345678");
        let p = partition_for("kt-txn-12345678", 10);
        assert_eq!(p, (h.unsigned_abs() % 10) as i32);
        assert!((0..10).contains(&p));
    }

    /// Group names (the suite's are `kt-<cluster id>`) with what a JVM
    /// computes for each through Kafka 4.0's own `Utils.abs`:
    /// `g.hashCode()`, `Utils.abs(g.hashCode()) % 10` (the suite's
    /// `offsets.topic.num.partitions`) and `% 50` (Kafka's default).
    #[test]
    fn group_partitions_match_java() {
        for (group, hash, p10, p50) in [
            ("kt-c1", 102_318_866, 6, 16),
            ("test-group", 627_841_412, 2, 12),
            ("my-group", -1_906_497_762, 2, 12),
            ("kt-7f3a9c", -1_163_153_717, 7, 17),
            ("group", 98_629_247, 7, 47),
            ("é", 233, 3, 33),
            ("😀", 1_772_899, 9, 49),
            ("polygenelubricants", i32::MIN, 0, 0),
        ] {
            assert_eq!(java_string_hash(group), hash, "{group}");
            assert_eq!(partition_for(group, 10), p10, "{group}");
            assert_eq!(partition_for(group, 50), p50, "{group}");
        }
        assert_eq!(CoordinatorKind::Group.partition_of("kt-c1"), 6);
        assert_eq!(CoordinatorKind::Group.topic(), "__consumer_offsets");
        assert_eq!(CoordinatorKind::Group.key_type(), 0);
        assert_eq!(CoordinatorKind::Transaction.key_type(), 1);
    }
}
