//! Transaction coordinators: where Kafka puts a `transactional.id`'s
//! (`TransactionStateManager.partitionFor`: `Utils.abs(transactionalId.hashCode())
//! % transaction.state.log.num.partitions`, Java's `String.hashCode`), the
//! leader of that `__transaction_state` partition from the metadata, and
//! FindCoordinator (key type 1) to hold the computation against the
//! cluster's own answer. The transaction flavour of [`super::coordinator`],
//! which computes both kinds.

use super::coordinator::{self, CoordinatorKind};
use anyhow::Result;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

pub use super::coordinator::{java_string_hash, TRANSACTION_STATE_TOPIC};

/// The `__transaction_state` partition of `transactional_id` among
/// `partitions`.
pub fn transaction_state_partition(transactional_id: &str, partitions: i32) -> i32 {
    coordinator::partition_for(transactional_id, partitions)
}

/// The coordinator broker id of each transactional id: the leader of its
/// `__transaction_state` partition (of
/// [`super::config::TRANSACTION_STATE_PARTITIONS`];
/// absent while the topic does not exist yet — Kafka creates it on the
/// first transactional FindCoordinator — or the partition has no leader).
pub async fn coordinators(
    bootstrap: &str,
    ids: &[String],
    timeout: Duration,
) -> Result<BTreeMap<String, i32>> {
    coordinator::coordinators(bootstrap, CoordinatorKind::Transaction, ids, timeout).await
}

/// Ask the broker at `addr` which broker coordinates `transactional_id`'s
/// transactions (FindCoordinator, key type 1 = transaction).
pub async fn find_coordinator(
    addr: SocketAddr,
    transactional_id: &str,
    timeout: Duration,
) -> Result<i32> {
    coordinator::find_coordinator(
        addr,
        CoordinatorKind::Transaction,
        transactional_id,
        timeout,
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::super::config::TRANSACTION_STATE_PARTITIONS;
    use super::*;

    #[test]
    fn the_transaction_partition_is_the_shared_computation() {
        assert_eq!(transaction_state_partition("hello", 10), 2);
        assert_eq!(
            transaction_state_partition("kt-txn-0", TRANSACTION_STATE_PARTITIONS),
            CoordinatorKind::Transaction.partition_of("kt-txn-0")
        );
    }
}
