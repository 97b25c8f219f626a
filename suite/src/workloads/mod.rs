//! Workloads: what the clients do to the cluster during a trial, in the
//! spirit of Jepsen's client + generator + final generator + checker.
//!
//! A [`Workload`] names the topic it needs, starts its processes (each a
//! *process* of the history with at most one op outstanding), runs a final
//! phase after heal (e.g. reading every partition back), and says which
//! checker options its history implies.
//!
//! - [`queue`]: keyed sends and polls of unique increasing values, final
//!   reads of every partition (Jepsen's Kafka queue workload);
//! - [`txn`]: transactions of sends and polls committed with the consumed
//!   offsets (consume-transform-produce), some aborted on purpose, final
//!   `read_committed` reads (Jepsen's Kafka transactional workload).
//!
//! Adding a workload: a module implementing [`Workload`] and one line in
//! [`registry`] (the test-only `trivial` workload shows the whole of it).

pub mod group;
pub mod pacing;
pub mod queue;
#[cfg(test)]
mod trivial;
pub mod txn;

use crate::clients::{ClientSettings, Driver};
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use trial_histories::{HistoryWriter, Op, OpType};

/// The knobs every workload reads (each uses what applies to it).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WorkloadOptions {
    pub partitions: u32,
    /// Distinct keys.
    pub keys: u64,
    /// Consumer processes (each with its own consumer).
    pub concurrency: usize,
    /// Logical send processes sharing the producer, each with one send
    /// outstanding (0: the consumer processes send too, one blocking send
    /// at a time).
    pub senders: usize,
    /// Target ops/s over all processes (0 = as fast as they go).
    pub rate: f64,
    pub sub_via: SubVia,
    /// Chance per op that a consumer process crashes its clients and opens
    /// new ones.
    pub crash_probability: f64,
    /// Share of ops that are sends (the rest are polls); for `txn`, the
    /// share of micro-ops that are sends.
    pub send_ratio: f64,
    /// `txn`: the consumers' `isolation.level`.
    #[serde(default)]
    pub isolation: crate::clients::Isolation,
    /// `txn`: chance that a transaction is aborted on purpose.
    #[serde(default = "default_abort_probability")]
    pub abort_probability: f64,
    /// `group`: the members' group protocol, assignor and commit mode, and
    /// their churn and stalls.
    #[serde(default)]
    pub group: GroupOptions,
}

/// The `group` workload's knobs.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct GroupOptions {
    #[serde(default)]
    pub protocol: crate::clients::GroupProtocol,
    /// `None`: the protocol's default (`classic`: range then roundrobin,
    /// eager; `consumer`: the broker's, uniform).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignor: Option<String>,
    #[serde(default)]
    pub commit: trial_histories::values::CommitMode,
    /// Chance per poll that a member leaves the group cleanly and a new
    /// member joins 1–3 s later.
    #[serde(default)]
    pub churn_probability: f64,
    /// Chance per poll with records that the member stalls (stops polling,
    /// heartbeats go on) past `max.poll.interval.ms` before committing.
    #[serde(default)]
    pub stall_probability: f64,
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

/// `--abort-probability`'s default.
pub fn default_abort_probability() -> f64 {
    0.1
}

/// How consumers get their partitions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum SubVia {
    /// Manual assignment of a random subset of partitions, read from the start.
    Assign,
    /// Subscription in one consumer group shared by all workers.
    Subscribe,
}

/// The topic a workload needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicSpec {
    pub name: String,
    pub partitions: u32,
}

/// Everything a running workload may use.
#[derive(Clone)]
pub struct Context {
    pub history: Arc<HistoryWriter>,
    pub driver: Arc<dyn Driver>,
    pub settings: ClientSettings,
    pub seed: u64,
    /// Consumer group name of this run.
    pub group: String,
    /// When the processes stop invoking.
    pub deadline: Instant,
    /// Set to stop early (Ctrl-C, a failing history).
    pub stop: Arc<AtomicBool>,
    pub counters: Arc<Counters>,
}

impl Context {
    /// Append `op` to the history and count its outcome; a history that
    /// cannot be written stops the workload.
    pub fn record(&self, op: Op) {
        if op.kind != OpType::Invoke {
            self.counters.count(op.kind);
        }
        if let Err(e) = self.history.append(op) {
            tracing::error!("cannot append to the history: {e}");
            self.stop.store(true, Ordering::Relaxed);
        }
    }

    /// Whether processes should stop invoking.
    pub fn done(&self) -> bool {
        self.stop.load(Ordering::Relaxed) || Instant::now() >= self.deadline
    }
}

/// A workload.
pub trait Workload: Send + Sync + std::fmt::Debug {
    /// `queue`, …
    fn name(&self) -> &'static str;
    /// The topic to create before the workload starts.
    fn topic(&self) -> TopicSpec;
    /// Start the processes; they run until `ctx.deadline` or `ctx.stop`.
    fn start(&self, ctx: Context) -> Running;
    /// After heal and recovery: the final phase (e.g. read everything
    /// back), recorded in the history; blocking, bounded by `timeout` per
    /// step. Returns whether it completed.
    fn final_phase(&self, ctx: &Context, timeout: Duration) -> bool;
    /// The checker options this workload's history implies.
    fn check_options(&self) -> trial_checkers::CheckOptions {
        trial_checkers::CheckOptions::default()
    }
    /// The `transactional.id`s the workload's producers use (their
    /// transaction coordinators are a nemesis target).
    fn transactional_ids(&self) -> Vec<String> {
        vec![]
    }
    /// The consumer groups the workload's members join, given the run's
    /// group (`Context::group`): their coordinators are a nemesis target
    /// (`group-coordinator`) and the observer records each one's
    /// coordinator and state. Workloads without a group have none.
    fn groups(&self, run_group: &str) -> Vec<String> {
        let _ = run_group;
        vec![]
    }
}

/// A workload's constructor, from the common options.
pub type Build = fn(&WorkloadOptions) -> Box<dyn Workload>;

/// Every workload, by name: one line each.
pub fn registry() -> Vec<(&'static str, Build)> {
    #[allow(unused_mut)]
    let mut r: Vec<(&'static str, Build)> = vec![
        ("queue", queue::build),
        ("txn", txn::build),
        ("group", group::build),
    ];
    #[cfg(test)]
    r.push(("trivial", trivial::build));
    r
}

/// The workload called `name`.
pub fn build(name: &str, o: &WorkloadOptions) -> Result<Box<dyn Workload>, String> {
    let registry = registry();
    registry
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, b)| b(o))
        .ok_or_else(|| {
            let names: Vec<&str> = registry.iter().map(|(n, _)| *n).collect();
            format!("unknown workload {name:?}; known: {}", names.join(", "))
        })
}

/// Live counters for the progress line.
#[derive(Debug, Default)]
pub struct Counters {
    pub ok: AtomicU64,
    pub fail: AtomicU64,
    pub info: AtomicU64,
    pub sends_ok: AtomicU64,
}

impl Counters {
    pub fn count(&self, t: OpType) {
        match t {
            OpType::Ok => self.ok.fetch_add(1, Ordering::Relaxed),
            OpType::Fail => self.fail.fetch_add(1, Ordering::Relaxed),
            OpType::Info => self.info.fetch_add(1, Ordering::Relaxed),
            OpType::Invoke => 0,
        };
    }
    pub fn snapshot(&self) -> (u64, u64, u64) {
        (
            self.ok.load(Ordering::Relaxed),
            self.fail.load(Ordering::Relaxed),
            self.info.load(Ordering::Relaxed),
        )
    }
}

/// The threads of a running workload: join them to wait for every process.
pub struct Running {
    threads: Vec<(String, std::thread::JoinHandle<()>)>,
}

impl Running {
    pub fn new() -> Running {
        Running { threads: vec![] }
    }

    /// Run `f` on a thread of its own named `name`.
    pub fn spawn(&mut self, name: String, f: impl FnOnce() + Send + 'static) {
        let h = std::thread::Builder::new()
            .name(name.clone())
            .spawn(f)
            .expect("spawning a workload thread");
        self.threads.push((name, h));
    }

    /// Wait, at most `limit`, for every thread to finish its current op.
    /// Returns the threads still running then: they are stuck inside the
    /// client library (librdkafka has lock-order deadlocks around leader
    /// changes, e.g. confluentinc/librdkafka#5476) and are abandoned. Their
    /// last op stays without a completion, which checkers read as unknown —
    /// exactly what a client that never answers means.
    pub fn join_within(self, limit: Duration) -> Vec<String> {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline && self.threads.iter().any(|(_, h)| !h.is_finished()) {
            std::thread::sleep(Duration::from_millis(50));
        }
        let mut stuck = vec![];
        for (name, h) in self.threads {
            if h.is_finished() {
                let _ = h.join();
            } else {
                tracing::warn!(
                    "{name} did not return within {limit:?}: stuck inside the client; abandoned, its open op counts as indeterminate"
                );
                stuck.push(name);
            }
        }
        stuck
    }
}

impl Default for Running {
    fn default() -> Self {
        Running::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clients::double::DoubleDriver;
    use crate::clients::Acks;
    use std::collections::BTreeMap;

    pub(super) fn context(dir: &std::path::Path, partitions: u32, run_for: Duration) -> Context {
        let history = Arc::new(HistoryWriter::create(&dir.join("history.jsonl")).unwrap());
        Context {
            history,
            driver: Arc::new(DoubleDriver::new(partitions as usize)),
            settings: ClientSettings {
                bootstrap: "in-memory".into(),
                topic: "queue".into(),
                acks: Acks::All,
                idempotence: false,
                message_timeout: Duration::from_secs(1),
                request_timeout: Duration::from_secs(1),
                socket_timeout: Duration::from_secs(1),
                session_timeout: Duration::from_secs(1),
                producer_overrides: BTreeMap::new(),
                consumer_overrides: BTreeMap::new(),
            },
            seed: 7,
            group: "g".into(),
            deadline: Instant::now() + run_for,
            stop: Arc::new(AtomicBool::new(false)),
            counters: Arc::new(Counters::default()),
        }
    }

    pub(super) fn options(senders: usize) -> WorkloadOptions {
        WorkloadOptions {
            partitions: 3,
            keys: 8,
            concurrency: 3,
            senders,
            rate: 400.0,
            sub_via: SubVia::Assign,
            crash_probability: 0.01,
            send_ratio: 0.5,
            isolation: crate::clients::Isolation::ReadCommitted,
            abort_probability: 0.1,
            group: GroupOptions::default(),
        }
    }

    /// Only a workload whose members subscribe names the run's group.
    #[test]
    fn groups_are_the_subscribers_group() {
        let mut o = options(0);
        assert!(build("queue", &o).unwrap().groups("kt-c1").is_empty());
        assert!(build("txn", &o).unwrap().groups("kt-c1").is_empty());
        assert_eq!(build("group", &o).unwrap().groups("kt-c1"), ["kt-c1"]);
        o.sub_via = SubVia::Subscribe;
        assert_eq!(build("queue", &o).unwrap().groups("kt-c1"), ["kt-c1"]);
    }

    /// The queue workload, run through the driver seam against the test
    /// double, writes a history that the checkers find valid, with its
    /// sends acknowledged and read back; both sending modes.
    #[test]
    fn queue_through_the_driver_seam_is_valid() {
        for senders in [0, 16] {
            let dir = tempfile::tempdir().unwrap();
            let w = build("queue", &options(senders)).unwrap();
            assert_eq!(w.topic().partitions, 3);
            let ctx = context(dir.path(), 3, Duration::from_millis(700));
            let running = w.start(ctx.clone());
            assert!(running.join_within(Duration::from_secs(10)).is_empty());
            assert!(w.final_phase(&ctx, Duration::from_secs(5)));
            ctx.history.sync().unwrap();
            let r = trial_checkers::check_history_file(
                &dir.path().join("history.jsonl"),
                &w.check_options(),
            )
            .unwrap();
            assert_eq!(r.valid, trial_checkers::Validity::Valid, "{}", r.summary);
            let sends = ctx.counters.sends_ok.load(Ordering::Relaxed);
            assert!(sends > 20, "only {sends} acknowledged sends");
        }
    }

    /// Clients that stall on purpose (the test double's, for 1.2 s in a
    /// 3 s run) while an observer records a healthy cluster: the check
    /// reports one `client-stall` over that window with the senders stuck
    /// in it, and the verdict is what it would be without it (valid), read
    /// as weak evidence.
    #[test]
    fn a_client_that_stalls_on_purpose_is_a_client_stall() {
        use trial_histories::{Op, OpType, Process, F};
        let dir = tempfile::tempdir().unwrap();
        let w = build("queue", &options(0)).unwrap();
        let mut ctx = context(dir.path(), 3, Duration::from_millis(3000));
        let double = DoubleDriver::new(3);
        ctx.driver = Arc::new(double.clone());
        let healthy = serde_json::json!({
            "partitions": (0..3).map(|p| serde_json::json!({
                "partition": p, "leader": 1, "epoch": 0, "replicas": [1, 2, 3],
                "isr": [1, 2, 3], "offline": []})).collect::<Vec<_>>(),
            "brokers": {"1": "n1", "2": "n2", "3": "n3"}, "unreachable": [], "read_ms": 1
        });
        let done = Arc::new(AtomicBool::new(false));
        let observer = {
            let (h, done) = (ctx.history.clone(), done.clone());
            std::thread::spawn(move || {
                let p = Process::Named("observer".into());
                while !done.load(Ordering::SeqCst) {
                    h.append(Op::new(p.clone(), OpType::Invoke, F::Observe))
                        .unwrap();
                    h.append(Op::new(p.clone(), OpType::Ok, F::Observe).with_value(&healthy))
                        .unwrap();
                    std::thread::sleep(Duration::from_millis(50));
                }
            })
        };
        let staller = {
            let (h, double) = (ctx.history.clone(), double.clone());
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(1000));
                double.set_stalled(true);
                let from = h.now_ns();
                std::thread::sleep(Duration::from_millis(1200));
                let to = h.now_ns();
                double.set_stalled(false);
                (from as f64 / 1e9, to as f64 / 1e9)
            })
        };
        let running = w.start(ctx.clone());
        assert!(running.join_within(Duration::from_secs(10)).is_empty());
        let (from, to) = staller.join().unwrap();
        assert!(w.final_phase(&ctx, Duration::from_secs(5)));
        done.store(true, Ordering::SeqCst);
        observer.join().unwrap();
        ctx.history.sync().unwrap();
        let opts = trial_checkers::CheckOptions {
            stall_threshold: Duration::from_millis(500),
            ..w.check_options()
        };
        let r =
            trial_checkers::check_history_file(&dir.path().join("history.jsonl"), &opts).unwrap();
        assert_eq!(r.valid, trial_checkers::Validity::Valid, "{}", r.summary);
        let p: trial_checkers::progress::ProgressResults = r.checker("progress").unwrap();
        assert_eq!(p.stalls.len(), 1, "{:?}", p.stalls);
        let s = &p.stalls[0];
        // It starts at the last progress before the stall and ends at the
        // first after it.
        assert!(
            s.start_s <= from + 0.01 && s.start_s > from - 0.2,
            "{s:?} vs {from}–{to}"
        );
        assert!(
            s.end_s >= to - 0.01 && s.end_s < to + 0.5,
            "{s:?} vs {from}–{to}"
        );
        assert!(s.processes_stuck >= 1, "{s:?}");
        assert!(
            s.processes.iter().any(|p| p
                .in_flight
                .as_ref()
                .is_some_and(|f| f.f == "send" && f.since_s >= from - 0.2 && f.since_s <= to)),
            "{s:?}"
        );
        assert!(r.summary.contains("weak evidence"), "{}", r.summary);
        assert!(r.human_summary(0).contains("weak evidence: client-stall"));
    }

    /// A new workload is its module plus one registry line.
    #[test]
    fn a_registered_workload_is_found_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let w = build("trivial", &options(0)).unwrap();
        assert_eq!(w.name(), "trivial");
        let ctx = context(dir.path(), 3, Duration::from_millis(100));
        w.start(ctx.clone()).join_within(Duration::from_secs(5));
        assert!(w.final_phase(&ctx, Duration::from_secs(1)));
        let (ok, _, _) = ctx.counters.snapshot();
        assert!(ok >= 1);
        let e = build("nope", &options(0)).unwrap_err();
        assert!(e.contains("queue") && e.contains("trivial"), "{e}");
    }
}
