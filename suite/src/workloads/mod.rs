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
//! A workload is one package ([`Package`]): its module owns the
//! [`Workload`], its own options (one struct: their flags, with help, and
//! their table `[workload.<name>]` in a trial spec), their checks, and the
//! checker options its history implies. Adding one is that module plus one
//! line in [`registry`] (the test-only `trivial` workload shows the whole
//! of it, one option included).

pub mod group;
pub use group::{parse_commit, GroupOptions};
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
    /// outstanding (at least 1).
    pub senders: usize,
    /// Target ops/s over all processes (0 = as fast as they go).
    pub rate: f64,
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
    /// The workload's own options (its table in the trial spec), for
    /// workloads that keep theirs nowhere else.
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub options: serde_json::Value,
}

/// `--abort-probability`'s default.
pub fn default_abort_probability() -> f64 {
    0.1
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
            // Once: every worker meets the same failure (a full disk).
            if !self.stop.swap(true, Ordering::Relaxed) {
                tracing::error!("cannot append to the history: {e}");
            }
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

/// A workload's own options: one struct that is its flags (each with its
/// help), its table in a trial spec (the field names are the keys, and the
/// flags' ids) and its checks.
pub trait PackageOptions:
    clap::Args + clap::FromArgMatches + Serialize + serde::de::DeserializeOwned + Clone + 'static
{
    /// Refuse values that cannot run, before anything starts.
    fn validate(&self) -> Result<(), String> {
        Ok(())
    }
}

/// A workload package as the registry holds it.
pub trait Package: Sync {
    /// `queue`, …: the value of `--workload` and `[workload] kind`.
    fn name(&self) -> &'static str;
    /// Add the workload's own flags to a command.
    fn augment(&self, cmd: clap::Command) -> clap::Command;
    /// The ids (= keys in the spec) and long names of its flags.
    fn flag_ids(&self) -> Vec<(String, String)> {
        self.augment(clap::Command::new("ids"))
            .get_arguments()
            .map(|a| {
                let id = a.get_id().to_string();
                let long = a.get_long().unwrap_or(&id).to_string();
                (id, long)
            })
            .collect()
    }
    /// Its options as the flags say (their defaults where not given).
    fn flags_options(&self, m: &clap::ArgMatches) -> Result<serde_json::Value, clap::Error>;
    /// Its options from a spec's table (absent keys: defaults; unknown
    /// keys and invalid values refused), as the complete table.
    fn options(&self, table: &serde_json::Value) -> Result<serde_json::Value, String>;
    /// Its options as a run carries them.
    fn read(&self, o: &WorkloadOptions) -> serde_json::Value;
    /// Put its options (a table) into what a run carries.
    fn write(&self, table: &serde_json::Value, o: &mut WorkloadOptions) -> Result<(), String>;
    /// The workload, from the common options and its own.
    fn build(&self, o: &WorkloadOptions) -> Result<Box<dyn Workload>, String>;
}

/// How a run carries a workload's options `O`: read them from, and write
/// them into, fields of [`WorkloadOptions`].
pub type Carried<O> = (fn(&WorkloadOptions) -> O, fn(&O, &mut WorkloadOptions));

/// A package from its options type `O` and its functions: what each
/// workload module declares as its `PACKAGE`.
pub struct Pkg<O> {
    pub name: &'static str,
    /// The workload from the common options and its own.
    pub build: fn(&WorkloadOptions, &O) -> Box<dyn Workload>,
    /// Where a run carries the options (`None`: `WorkloadOptions::options`;
    /// the first workloads keep theirs in fields of their own).
    pub carried: Option<Carried<O>>,
}

impl<O: PackageOptions> Pkg<O> {
    fn defaults(&self) -> O {
        let cmd = O::augment_args(clap::Command::new(self.name).no_binary_name(true));
        let m = cmd
            .try_get_matches_from(std::iter::empty::<String>())
            .expect("every workload option has a default");
        O::from_arg_matches(&m).expect("defaults parse")
    }

    fn typed(&self, table: &serde_json::Value) -> Result<O, String> {
        let mut full = serde_json::to_value(self.defaults()).map_err(|e| e.to_string())?;
        let full_map = full.as_object_mut().expect("options are a table");
        match table {
            serde_json::Value::Null => {}
            serde_json::Value::Object(m) => {
                let known: Vec<String> = self.flag_ids().into_iter().map(|(id, _)| id).collect();
                for (k, v) in m {
                    if !known.contains(k) {
                        return Err(format!(
                            "`{k}` is not an option of the {} workload (its options: {})",
                            self.name,
                            known.join(", ")
                        ));
                    }
                    full_map.insert(k.clone(), v.clone());
                }
            }
            other => return Err(format!("options must be a table, not {other}")),
        }
        let o: O = serde_json::from_value(full).map_err(|e| e.to_string())?;
        o.validate()?;
        Ok(o)
    }
}

impl<O: PackageOptions> Package for Pkg<O> {
    fn name(&self) -> &'static str {
        self.name
    }
    fn augment(&self, cmd: clap::Command) -> clap::Command {
        O::augment_args(cmd)
    }
    fn flags_options(&self, m: &clap::ArgMatches) -> Result<serde_json::Value, clap::Error> {
        let o = O::from_arg_matches(m)?;
        Ok(serde_json::to_value(o).expect("options are JSON"))
    }
    fn options(&self, table: &serde_json::Value) -> Result<serde_json::Value, String> {
        let o = self.typed(table)?;
        serde_json::to_value(o).map_err(|e| e.to_string())
    }
    fn read(&self, o: &WorkloadOptions) -> serde_json::Value {
        let typed = match self.carried {
            Some((read, _)) => read(o),
            None => self.typed(&o.options).unwrap_or_else(|_| self.defaults()),
        };
        serde_json::to_value(typed).expect("options are JSON")
    }
    fn write(&self, table: &serde_json::Value, o: &mut WorkloadOptions) -> Result<(), String> {
        let typed = self.typed(table)?;
        match self.carried {
            Some((_, write)) => write(&typed, o),
            None => o.options = serde_json::to_value(typed).map_err(|e| e.to_string())?,
        }
        Ok(())
    }
    fn build(&self, o: &WorkloadOptions) -> Result<Box<dyn Workload>, String> {
        let typed = match self.carried {
            Some((read, _)) => read(o),
            None => self.typed(&o.options)?,
        };
        typed.validate()?;
        Ok((self.build)(o, &typed))
    }
}

/// Every workload package: one line each.
pub fn registry() -> Vec<&'static dyn Package> {
    #[allow(unused_mut)]
    let mut r: Vec<&'static dyn Package> = vec![&queue::PACKAGE, &txn::PACKAGE, &group::PACKAGE];
    #[cfg(test)]
    r.push(&trivial::PACKAGE);
    r
}

/// The package called `name`.
pub fn package(name: &str) -> Result<&'static dyn Package, String> {
    let registry = registry();
    registry
        .iter()
        .find(|p| p.name() == name)
        .copied()
        .ok_or_else(|| {
            let names: Vec<&str> = registry.iter().map(|p| p.name()).collect();
            format!("unknown workload {name:?}; known: {}", names.join(", "))
        })
}

/// The workload called `name`.
pub fn build(name: &str, o: &WorkloadOptions) -> Result<Box<dyn Workload>, String> {
    package(name)?.build(o)
}

/// Every workload package's flags, for the command line (each applies only
/// to its own workload).
#[derive(Debug, Clone, Default)]
pub struct PackageFlags(pub std::collections::BTreeMap<&'static str, serde_json::Value>);

impl clap::Args for PackageFlags {
    fn augment_args(cmd: clap::Command) -> clap::Command {
        registry().into_iter().fold(cmd, |c, p| p.augment(c))
    }
    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        Self::augment_args(cmd)
    }
}

impl clap::FromArgMatches for PackageFlags {
    fn from_arg_matches(m: &clap::ArgMatches) -> Result<Self, clap::Error> {
        let mut out = std::collections::BTreeMap::new();
        for p in registry() {
            out.insert(p.name(), p.flags_options(m)?);
        }
        Ok(PackageFlags(out))
    }
    fn update_from_arg_matches(&mut self, m: &clap::ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(m)?;
        Ok(())
    }
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
            crash_probability: 0.01,
            send_ratio: 0.5,
            isolation: crate::clients::Isolation::ReadCommitted,
            abort_probability: 0.1,
            group: GroupOptions::default(),
            options: serde_json::Value::Null,
        }
    }

    /// Only a workload whose members subscribe names the run's group.
    #[test]
    fn groups_are_the_subscribers_group() {
        let o = options(16);
        assert!(build("queue", &o).unwrap().groups("kt-c1").is_empty());
        assert!(build("txn", &o).unwrap().groups("kt-c1").is_empty());
        assert_eq!(build("group", &o).unwrap().groups("kt-c1"), ["kt-c1"]);
    }

    /// The queue workload, run through the driver seam against the test
    /// double, writes a history that the checkers find valid, with its
    /// sends acknowledged and read back; both sending modes.
    #[test]
    fn queue_through_the_driver_seam_is_valid() {
        for senders in [1, 16] {
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
        let w = build("queue", &options(16)).unwrap();
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
                .is_some_and(|f| f.since_s >= from - 0.2 && f.since_s <= to)),
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
