//! The queue workload (Jepsen's Kafka queue): keyed sends of unique,
//! increasing values and polls that read them back, then final reads of
//! every partition after heal.
//!
//! Processes, each with at most one op outstanding:
//! - `0 .. concurrency`: consumer processes ([`consumers`]), each with its
//!   own consumer (a random subset of the partitions assigned, read from
//!   the start), polling at their share of `--rate`;
//! - `concurrency ..`: logical send processes ([`senders`]) that share one
//!   producer, invoked at their share of `--rate`. A stalled partition
//!   holds only the processes whose sends went to it, so the others keep
//!   going; a send that ends `info` retires its process and a fresh id takes
//!   its place, as in Jepsen, so the number of live processes stays constant.
//!
//! [`final_read`]: after heal, a fresh consumer reads every partition from
//! its start to its high watermark (process `final`).

pub mod consumers;
pub mod final_read;
pub mod senders;

use super::{Context, Running, TopicSpec, Workload, WorkloadOptions};
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Duration;

/// The name of the queue workload's topic.
pub const QUEUE_TOPIC: &str = "queue";

/// The queue workload.
#[derive(Debug, Clone)]
pub struct Queue {
    pub opts: WorkloadOptions,
}

/// [`crate::workloads::REGISTRY`]'s constructor.
/// The queue workload's own options: none beyond the common ones (its
/// consumers assign; consumer groups are the group workload's).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, clap::Args)]
#[command(next_help_heading = "Workload: queue")]
pub struct QueueOptions {
    /// Retired: the queue's consumers always assign (`assign`, what older
    /// spec files say, is accepted); consumer groups are the group
    /// workload's.
    #[arg(long, hide = true)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_via: Option<String>,
}

impl super::PackageOptions for QueueOptions {
    fn validate(&self) -> Result<(), String> {
        match self.sub_via.as_deref() {
            None | Some("assign") => Ok(()),
            Some(other) => Err(format!(
                "sub_via {other:?}: the queue workload's subscribing consumers are retired (they kept one rebalance per poll and dropped the others); run `--workload group` for consumer groups"
            )),
        }
    }
}

/// The queue workload as a package (its line in the registry).
pub static PACKAGE: super::Pkg<QueueOptions> = super::Pkg {
    name: "queue",
    build: build_with,
    carried: Some((carried, carry)),
};

fn carried(_: &WorkloadOptions) -> QueueOptions {
    QueueOptions { sub_via: None }
}

fn carry(_: &QueueOptions, _: &mut WorkloadOptions) {}

fn build_with(o: &WorkloadOptions, _: &QueueOptions) -> Box<dyn Workload> {
    build(o)
}

pub fn build(o: &WorkloadOptions) -> Box<dyn Workload> {
    Box::new(Queue { opts: o.clone() })
}

/// State shared by every process of one run.
pub(crate) struct Shared {
    pub ctx: Context,
    pub opts: WorkloadOptions,
    /// The last value sent (values are unique across the run).
    pub next_value: AtomicU64,
    /// The next fresh process id (for retired processes).
    pub next_process: AtomicU64,
}

impl Shared {
    /// A run's state: values from 1, fresh process ids from `first_fresh`
    /// (the ids below it are the workload's first processes).
    pub fn new(ctx: Context, opts: WorkloadOptions, first_fresh: u64) -> Shared {
        Shared {
            ctx,
            opts,
            next_value: AtomicU64::new(0),
            next_process: AtomicU64::new(first_fresh),
        }
    }
    pub fn fresh_value(&self) -> u64 {
        self.next_value
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            + 1
    }
    pub fn fresh_process(&self) -> u64 {
        self.next_process
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    }
}

impl Workload for Queue {
    fn name(&self) -> &'static str {
        "queue"
    }

    fn topic(&self) -> TopicSpec {
        TopicSpec {
            name: QUEUE_TOPIC.into(),
            partitions: self.opts.partitions,
        }
    }

    fn start(&self, ctx: Context) -> Running {
        let o = &self.opts;
        let shared = Arc::new(Shared::new(
            ctx,
            o.clone(),
            (o.concurrency + o.senders) as u64,
        ));
        let mut running = Running::new();
        for i in 0..o.concurrency {
            let s = shared.clone();
            running.spawn(format!("consumer-{i}"), move || {
                consumers::consumer_process(i as u64, &s)
            });
        }
        let s = shared.clone();
        running.spawn("senders".into(), move || senders::senders(&s));
        running
    }

    fn final_phase(&self, ctx: &Context, timeout: Duration) -> bool {
        final_read::final_reads(ctx, self.opts.partitions, timeout)
    }
}
