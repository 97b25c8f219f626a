//! Synthetic histories: a builder for hand-written ones, and a simulated
//! Kafka that writes valid histories of many concurrent clients (with
//! observer samples of a simulated cluster if asked), into which a
//! [`Fault`] injects exactly one anomaly class.
//!
//! This is test and benchmark support, public so that benches, examples
//! and other crates' tests can use it. It has its own small PRNG
//! (SplitMix64) so that it needs no dependency and is reproducible from a
//! seed.
//!
//! - [`builder`]: [`Builder`], op by op.
//! - [`kafka`]: [`simulate`], [`SimConfig`].
//! - [`inject`]: [`Fault`], the anomaly classes to inject.
//! - [`txn`]: [`simulate_txn`], [`TxnSimConfig`]: a simulated
//!   transactional Kafka (aborts, `info` commits, fenced producers,
//!   rebalances, read_committed or read_uncommitted consumers).
//! - [`txn_mutate`]: [`TxnAnomaly`], a stage and a minimal edit per
//!   transactional anomaly class ([`mutate`]).
//! - [`group`]: [`simulate_group`], [`GroupSimConfig`]: a correct
//!   consumer group (joins, crashes, leaves, stalls; eager and cooperative
//!   rebalances; sync, async and auto commits), and [`mutate_group`]: one
//!   edit per class of the `group` checker ([`GroupAnomaly`]).
//! - [`cluster`]: the simulated cluster the observer samples.
//! - [`cas`]: CAS-register histories.
//! - [`rng`]: [`Rng`], a small PRNG.

pub mod builder;
pub mod cas;
pub mod cluster;
pub mod group;
mod group_mutate;
pub mod inject;
pub mod kafka;
pub mod rng;
pub mod txn;
pub mod txn_mutate;

pub use builder::Builder;
pub use cas::cas_register_calls;
pub use cluster::Cluster;
pub use group::{
    simulate_group, simulate_group_into, simulate_group_to_file, GroupSimConfig, Rebalancing,
};
pub use group_mutate::{mutate_group, GroupAnomaly};
pub use inject::Fault;
pub use kafka::{simulate, simulate_into, simulate_to_file, SimConfig};
pub use rng::Rng;
pub use txn::{simulate_txn, simulate_txn_into, simulate_txn_to_file, TxnHistory, TxnSimConfig};
pub use txn_mutate::{mutate, Staged, TxnAnomaly};

/// Write the ops a simulator emits (`run` gets the emit callback) to a
/// JSONL history file; returns the number of ops. One writer for every
/// simulator, so benchmark files have the exact format the suite writes.
pub(crate) fn write_jsonl(
    path: &std::path::Path,
    run: impl FnOnce(&mut dyn FnMut(trial_histories::Op)),
) -> std::io::Result<u64> {
    use std::io::Write;
    let mut f = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    let mut n = 0u64;
    let mut err = None;
    run(&mut |op| {
        if err.is_some() {
            return;
        }
        n += 1;
        if let Err(e) = serde_json::to_writer(&mut f, &op)
            .map_err(std::io::Error::other)
            .and_then(|_| f.write_all(b"\n"))
        {
            err = Some(e);
        }
    });
    if let Some(e) = err {
        return Err(e);
    }
    f.flush()?;
    Ok(n)
}
