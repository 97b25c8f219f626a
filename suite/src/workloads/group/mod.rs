//! The consumer-group workload: members of one group subscribe to the
//! topic, poll, and commit (synchronously after each poll, asynchronously,
//! or by auto-commit), while logical senders (the queue workload's) write
//! keyed, unique values. Every assignment and revocation is recorded with
//! the member's generation and when the client reported it, every commit
//! with its offsets and outcome; members crash (an application that dies
//! after a poll, before processing it), leave and rejoin, and stall past
//! `max.poll.interval.ms`. After heal the group's committed offsets are
//! read (`committed`), then every partition (`final-read`). The `group`
//! checker judges it (checkers/README.md, "Consumer groups").
//!
//! Processes: `0 .. concurrency` members (a crash or leave retires the
//! process; the member comes back under a fresh id, a new member of the
//! group), `concurrency ..` the logical senders.

mod member;

use super::queue::{final_read, senders, Shared};
use super::{Context, Running, TopicSpec, Workload, WorkloadOptions};
use std::sync::Arc;
use std::time::Duration;
use trial_histories::values::Committed;
use trial_histories::{Op, OpType, Process, F};

/// The name of the group workload's topic.
pub const GROUP_TOPIC: &str = "group";

/// How long the final phase's member may take to drain the topic.
const DRAIN_LIMIT: Duration = Duration::from_secs(60);

/// The group workload.
pub struct Group {
    pub opts: WorkloadOptions,
    /// The run's shared state (fresh values and process ids), kept for
    /// the final phase's draining member.
    shared: std::sync::Mutex<Option<Arc<Shared>>>,
}

/// The `group` workload's knobs.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq, clap::Args)]
#[command(next_help_heading = "Workload: group")]
pub struct GroupOptions {
    /// group workload: group.protocol, classic or consumer (KIP-848, Kafka ≥ 4.0).
    #[serde(default)]
    #[arg(long = "group-protocol", value_enum, default_value = "classic")]
    pub protocol: crate::clients::GroupProtocol,
    /// group workload: the assignor (classic: range, roundrobin,
    /// cooperative-sticky; consumer: uniform, range). Default: the
    /// client's (classic: range then roundrobin, eager; consumer: the
    /// broker's, uniform).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[arg(long)]
    pub assignor: Option<String>,
    /// group workload: how members commit: sync (after each poll), async, auto.
    #[serde(default)]
    #[arg(long, default_value = "sync", value_parser = parse_commit)]
    pub commit: trial_histories::values::CommitMode,
    /// group workload: chance per poll that a member leaves the group
    /// cleanly and a new member joins 1–3 s later.
    #[serde(default)]
    #[arg(long, default_value_t = 0.0)]
    pub churn_probability: f64,
    /// group workload: chance per poll with records that the member stalls
    /// (stops polling, heartbeats go on) past `max.poll.interval.ms` before
    /// committing.
    #[serde(default)]
    #[arg(long, default_value_t = 0.0)]
    pub stall_probability: f64,
}

/// Parse `--commit`.
pub fn parse_commit(s: &str) -> Result<trial_histories::values::CommitMode, String> {
    use trial_histories::values::CommitMode;
    match s {
        "sync" => Ok(CommitMode::Sync),
        "async" => Ok(CommitMode::Async),
        "auto" => Ok(CommitMode::Auto),
        _ => Err(format!("{s:?}: commit is sync, async or auto")),
    }
}

impl Default for GroupOptions {
    fn default() -> Self {
        GroupOptions {
            protocol: crate::clients::GroupProtocol::Classic,
            assignor: None,
            commit: trial_histories::values::CommitMode::Sync,
            churn_probability: 0.0,
            stall_probability: 0.0,
        }
    }
}

impl super::PackageOptions for GroupOptions {
    fn validate(&self) -> Result<(), String> {
        if !(0.0..=1.0).contains(&self.churn_probability)
            || !(0.0..=1.0).contains(&self.stall_probability)
        {
            return Err("--churn-probability and --stall-probability must be within 0..1".into());
        }
        Ok(())
    }
}

/// The group workload as a package (its line in the registry).
pub static PACKAGE: super::Pkg<GroupOptions> = super::Pkg {
    name: "group",
    build: build_with,
    carried: Some((carried, carry)),
};

fn carried(o: &WorkloadOptions) -> GroupOptions {
    o.group.clone()
}

fn carry(g: &GroupOptions, o: &mut WorkloadOptions) {
    o.group = g.clone();
}

fn build_with(o: &WorkloadOptions, g: &GroupOptions) -> Box<dyn Workload> {
    let mut o = o.clone();
    carry(g, &mut o);
    build(&o)
}

/// [`crate::workloads::registry`]'s constructor.
pub fn build(o: &WorkloadOptions) -> Box<dyn Workload> {
    let mut opts = o.clone();
    // Members only poll: `--rate` is the senders' whole rate.
    opts.send_ratio = 1.0;
    Box::new(Group {
        opts,
        shared: std::sync::Mutex::new(None),
    })
}

impl std::fmt::Debug for Group {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Group").field("opts", &self.opts).finish()
    }
}

impl Workload for Group {
    fn name(&self) -> &'static str {
        "group"
    }

    fn topic(&self) -> TopicSpec {
        TopicSpec {
            name: GROUP_TOPIC.into(),
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
        if let Ok(mut g) = self.shared.lock() {
            *g = Some(shared.clone());
        }
        let mut running = Running::new();
        for i in 0..o.concurrency {
            let s = shared.clone();
            running.spawn(format!("member-{i}"), move || {
                member::member_process(i as u64, &s)
            });
        }
        let s = shared.clone();
        running.spawn("senders".into(), move || senders::senders(&s));
        running
    }

    fn final_phase(&self, ctx: &Context, timeout: Duration) -> bool {
        // After heal the application goes on: one member drains what the
        // run's members left (so every acknowledged record should end up
        // consumed and committed), then leaves.
        let shared = self.shared.lock().ok().and_then(|g| g.clone());
        if let Some(s) = shared {
            let drain = Shared::new(
                ctx.clone(),
                WorkloadOptions {
                    crash_probability: 0.0,
                    ..s.opts.clone()
                },
                s.next_process.load(std::sync::atomic::Ordering::Relaxed),
            );
            member::drain(&drain, self.opts.partitions, timeout.min(DRAIN_LIMIT));
        }
        let committed = final_committed(ctx, self.opts.partitions, timeout);
        final_read::final_reads(ctx, self.opts.partitions, timeout) && committed
    }

    /// Every member joins the run's group.
    fn groups(&self, run_group: &str) -> Vec<String> {
        vec![run_group.to_string()]
    }
}

/// After heal: the group's committed offsets, as a client outside the
/// group reads them (`committed`, process `final`).
fn final_committed(ctx: &Context, partitions: u32, timeout: Duration) -> bool {
    let p = Process::Named("final".into());
    let mut v = Committed {
        group: ctx.group.clone(),
        offsets: vec![],
    };
    let _ = ctx
        .history
        .append(Op::new(p.clone(), OpType::Invoke, F::Committed).with_value(&v));
    let parts: Vec<i32> = (0..partitions as i32).collect();
    let deadline = std::time::Instant::now() + timeout;
    // The coordinator may still be loading the offsets after heal: retry.
    let mut last = String::new();
    while std::time::Instant::now() < deadline {
        match ctx.driver.committed(
            &ctx.settings,
            &ctx.group,
            &parts,
            Duration::from_secs(10).min(timeout),
        ) {
            Ok(offsets) => {
                v.offsets = offsets;
                let _ = ctx
                    .history
                    .append(Op::new(p, OpType::Ok, F::Committed).with_value(&v));
                return true;
            }
            Err(e) => {
                last = e;
                std::thread::sleep(Duration::from_millis(500));
            }
        }
    }
    let _ = ctx.history.append(
        Op::new(p, OpType::Fail, F::Committed)
            .with_value(&v)
            .with_error(last),
    );
    false
}
