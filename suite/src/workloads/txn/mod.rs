//! The transactional workload (Jepsen's Kafka `txn` workload, in the
//! consume-transform-produce shape Kafka's transactions are made for).
//!
//! `--concurrency` processes, each owning a transactional producer (a
//! stable `transactional.id`, `kt-txn-<slot>`, so that a replacement fences
//! its predecessor and completes its open transaction) and a consumer
//! (`--isolation`, `read_committed` by default) of the run's consumer
//! group. Each transaction is 1–4 micro-ops — sends of unique increasing
//! values to random partitions, polls of the consumer's assigned partitions
//! — committed with the offsets it consumed (`send_offsets_to_transaction`
//! with the consumer's group metadata), or aborted on purpose with
//! probability `--abort-probability`. One `txn` op per transaction; its
//! outcome follows the table in [`crate::clients`]: committed → `ok`;
//! aborted, or failed before the commit was sent → `fail`; a commit or
//! abort whose outcome the client does not know → `info`.
//!
//! Consumers are assigned partitions explicitly (so the history knows where
//! each starts reading): after every (re)assignment, and after every
//! transaction that did not commit (consume-transform-produce rewinds to
//! what the group committed), the process fetches the group's committed
//! offsets and assigns at them, recorded as an `assign` with `seek`.
//! A process whose transaction ended `info`, or whose producer failed
//! fatally (fenced), records a `crash`, replaces its clients and goes on
//! under a fresh process id.
//!
//! A call that fails with a retriable error (librdkafka's "retry call to
//! resume": a commit, abort, `send_offsets` or `init_transactions` that
//! timed out while no coordinator answered) is made again on the same
//! producer for as long as the run goes on, so a transaction caught by a
//! whole-cluster outage completes, with a definite outcome, when the
//! cluster is back; only at the run's end does it become `info`. A process
//! whose assignment failed (clients reopened while the group coordinator
//! was away) asks again before its next transaction.
//!
//! Final phase: the queue workload's [`final_read`](super::queue::final_read)
//! with a fresh `read_committed` consumer.

mod process;

use super::queue::final_read;
use super::{Context, Running, TopicSpec, Workload, WorkloadOptions};
use crate::clients::Isolation;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// The name of the transactional workload's topic.
pub const TXN_TOPIC: &str = "txn";

/// The `transactional.id` of process slot `slot`.
pub fn transactional_id(slot: usize) -> String {
    format!("kt-txn-{slot}")
}

/// The transactional workload.
#[derive(Debug, Clone)]
pub struct Txn {
    pub opts: WorkloadOptions,
}

/// The txn workload's own options.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, clap::Args)]
#[command(next_help_heading = "Workload: txn")]
pub struct TxnOptions {
    /// txn workload: the consumers' isolation.level, read_committed or
    /// read_uncommitted (the final reads are always read_committed).
    #[arg(long, default_value = "read_committed", value_parser = parse_isolation)]
    pub isolation: Isolation,
    /// txn workload: chance that a transaction is aborted on purpose.
    #[arg(long, default_value_t = super::default_abort_probability())]
    pub abort_probability: f64,
}

/// Parse `--isolation`.
pub fn parse_isolation(s: &str) -> Result<Isolation, String> {
    match s.trim().replace('-', "_").as_str() {
        "read_committed" => Ok(Isolation::ReadCommitted),
        "read_uncommitted" => Ok(Isolation::ReadUncommitted),
        _ => Err(format!(
            "{s:?}: isolation is read_committed or read_uncommitted"
        )),
    }
}

impl super::PackageOptions for TxnOptions {
    fn validate(&self) -> Result<(), String> {
        if !(0.0..=1.0).contains(&self.abort_probability) {
            return Err("--abort-probability must be within 0..1".into());
        }
        Ok(())
    }
}

/// The txn workload as a package (its line in the registry).
pub static PACKAGE: super::Pkg<TxnOptions> = super::Pkg {
    name: "txn",
    build: build_with,
    carried: Some((carried, carry)),
};

fn carried(o: &WorkloadOptions) -> TxnOptions {
    TxnOptions {
        isolation: o.isolation,
        abort_probability: o.abort_probability,
    }
}

fn carry(t: &TxnOptions, o: &mut WorkloadOptions) {
    o.isolation = t.isolation;
    o.abort_probability = t.abort_probability;
}

fn build_with(o: &WorkloadOptions, t: &TxnOptions) -> Box<dyn Workload> {
    let mut o = o.clone();
    carry(t, &mut o);
    build(&o)
}

/// [`crate::workloads::registry`]'s constructor.
pub fn build(o: &WorkloadOptions) -> Box<dyn Workload> {
    Box::new(Txn { opts: o.clone() })
}

/// State shared by every process of one run.
pub(crate) struct Shared {
    pub ctx: Context,
    pub opts: WorkloadOptions,
    next_value: AtomicU64,
    next_process: AtomicU64,
}

impl Shared {
    pub fn fresh_value(&self) -> u64 {
        self.next_value.fetch_add(1, Ordering::Relaxed) + 1
    }
    pub fn fresh_process(&self) -> u64 {
        self.next_process.fetch_add(1, Ordering::Relaxed)
    }
}

impl Workload for Txn {
    fn name(&self) -> &'static str {
        "txn"
    }

    fn topic(&self) -> TopicSpec {
        TopicSpec {
            name: TXN_TOPIC.into(),
            partitions: self.opts.partitions,
        }
    }

    fn start(&self, ctx: Context) -> Running {
        let o = &self.opts;
        let shared = Arc::new(Shared {
            ctx,
            opts: o.clone(),
            next_value: AtomicU64::new(0),
            next_process: AtomicU64::new(o.concurrency as u64),
        });
        let mut running = Running::new();
        for i in 0..o.concurrency {
            let s = shared.clone();
            running.spawn(format!("txn-{i}"), move || process::txn_process(i, &s));
        }
        running
    }

    fn final_phase(&self, ctx: &Context, timeout: Duration) -> bool {
        // Whatever the workload's isolation, the final read shows what was
        // committed.
        let mut ctx = ctx.clone();
        ctx.settings
            .consumer_overrides
            .insert("isolation.level".into(), "read_committed".into());
        final_read::final_reads(&ctx, self.opts.partitions, timeout)
    }

    fn check_options(&self) -> trial_checkers::CheckOptions {
        trial_checkers::CheckOptions {
            isolation: self.opts.isolation,
            transactional: true,
            ..Default::default()
        }
    }

    fn transactional_ids(&self) -> Vec<String> {
        (0..self.opts.concurrency).map(transactional_id).collect()
    }
}

impl Txn {
    /// The isolation level of the workload's consumers.
    pub fn isolation(&self) -> Isolation {
        self.opts.isolation
    }
}

#[cfg(test)]
mod tests;
