//! Where Kafka puts a `transactional.id`'s transaction coordinator, the
//! way the broker computes it (`TransactionStateManager.partitionFor`:
//! `Utils.abs(transactionalId.hashCode()) % transaction.state.log.num.partitions`,
//! Java's `String.hashCode`), and the leader of that `__transaction_state`
//! partition from the metadata. [`find_coordinator`] asks a broker the same
//! question over the wire (FindCoordinator, key type 1), so a real-cluster
//! test can hold the computation against the cluster's own answer.

use super::admin;
use super::config::TRANSACTION_STATE_PARTITIONS;
use crate::observer::wire::Conn;
use anyhow::{anyhow, bail, Context, Result};
use kafka_protocol::messages::{ApiKey, FindCoordinatorRequest};
use kafka_protocol::protocol::StrBytes;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

/// Kafka's internal topic of transaction states.
pub const TRANSACTION_STATE_TOPIC: &str = "__transaction_state";

/// Java's `String.hashCode` (over UTF-16 code units, wrapping).
pub fn java_string_hash(s: &str) -> i32 {
    s.encode_utf16()
        .fold(0i32, |h, c| h.wrapping_mul(31).wrapping_add(c as i32))
}

/// The `__transaction_state` partition of `transactional_id` among
/// `partitions` (Kafka's `Utils.abs`: `Integer.MIN_VALUE` maps to 0).
pub fn transaction_state_partition(transactional_id: &str, partitions: i32) -> i32 {
    let h = java_string_hash(transactional_id);
    let abs = if h == i32::MIN { 0 } else { h.abs() };
    abs % partitions
}

/// The coordinator broker id of each transactional id: the leader of its
/// `__transaction_state` partition (absent while the topic does not exist
/// yet — Kafka creates it on the first transactional FindCoordinator — or
/// the partition has no leader).
pub async fn coordinators(
    bootstrap: &str,
    ids: &[String],
    timeout: Duration,
) -> Result<BTreeMap<String, i32>> {
    let md = admin::metadata(bootstrap, Some(TRANSACTION_STATE_TOPIC), timeout).await?;
    let parts = md
        .topics
        .get(TRANSACTION_STATE_TOPIC)
        .ok_or_else(|| anyhow!("{TRANSACTION_STATE_TOPIC} is not in the metadata (yet)"))?;
    Ok(ids
        .iter()
        .filter_map(|id| {
            let p = transaction_state_partition(id, TRANSACTION_STATE_PARTITIONS);
            parts
                .iter()
                .find(|x| x.id == p && x.leader >= 0)
                .map(|x| (id.clone(), x.leader))
        })
        .collect())
}

/// Ask the broker at `addr` which broker coordinates `transactional_id`'s
/// transactions (FindCoordinator, key type 1 = transaction).
pub async fn find_coordinator(
    addr: SocketAddr,
    transactional_id: &str,
    timeout: Duration,
) -> Result<i32> {
    let mut conn = Conn::open(addr, timeout).await?;
    let v = conn
        .version(ApiKey::FindCoordinator, 1..=4)
        .context("the broker speaks no FindCoordinator v1–v4")?;
    let key = StrBytes::from_string(transactional_id.to_string());
    let mut req = FindCoordinatorRequest::default().with_key_type(1);
    if v >= 4 {
        req = req.with_coordinator_keys(vec![key]);
    } else {
        req = req.with_key(key);
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
        bail!("FindCoordinator({transactional_id}) error code {error}");
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
        assert_eq!(transaction_state_partition("polygenelubricants", 10), 0);
        assert_eq!(transaction_state_partition("hello", 10), 2);
        // A negative hash: abs first, then the remainder.
        let h = java_string_hash("kt-txn-12345678");
        let p = transaction_state_partition("kt-txn-12345678", 10);
        assert_eq!(p, (h.unsigned_abs() % 10) as i32);
        assert!((0..10).contains(&p));
    }
}
