//! The trial: options validated → image and cluster ready → topic created
//! and verified → workload and nemesis together for the time limit → heal
//! → recovery → final reads → checkers → `results.json`, a summary, and an
//! exit code.
//!
//! A user's `cargo test` scenario is a few lines:
//!
//! ```no_run
//! # async fn f() -> anyhow::Result<()> {
//! use kafka_trial::runner::{run, TestSpec};
//! let report = run(TestSpec::new("my-test").nodes(3).acks_all().nemesis("kill")?).await?;
//! assert_eq!(report.anomaly("lost-write"), 0);
//! # Ok(()) }
//! ```

use crate::admin;
use crate::client::{Acks, ClientSettings};
use crate::cluster::{Cluster, ClusterSpec, ContainerNode};
use crate::workload::{self, Counters, QueueOptions, SubVia, Workload};
use anyhow::{bail, Context, Result};
use async_trait::async_trait;
use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use trial_checkers::{CheckOptions, Results};
use trial_histories::{HistoryWriter, Store};
use trial_nemesis::{
    Action, Fault, FaultKinds, NemesisOptions, Node, NodeError, Phase, ProcessState, Schedule,
    Target, Targets, Topology,
};

/// The name of the test topic.
pub const TOPIC: &str = "queue";

/// Who a scripted fault hits, resolved once the topic exists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Who {
    /// The leader of a partition of the test topic.
    LeaderOf(i32),
    /// The replicas of a partition other than its leader.
    FollowersOf(i32),
    /// Named nodes.
    Nodes(Vec<String>),
}

/// What a scripted step does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ScriptFault {
    Kill,
    Pause,
    /// Isolate the nodes from every other node.
    Isolate,
}

/// One step of a scripted nemesis: at `at` start (or stop) fault `id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScriptStep {
    #[serde(with = "trial_nemesis::options::ms")]
    pub at: Duration,
    pub id: u32,
    pub start: bool,
    pub fault: ScriptFault,
    pub who: Who,
}

/// How the nemesis is driven.
// A plan is built once per trial: the size difference of the variants costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NemesisPlan {
    /// A seeded random schedule of the chosen fault kinds.
    Generated(NemesisOptions),
    /// A fixed sequence whose targets are resolved once the topic exists
    /// (deterministic scenarios such as "pause the followers, kill the leader").
    Script(Vec<ScriptStep>),
}

mod secs {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;
    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(d.as_secs_f64())
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        Ok(Duration::from_secs_f64(f64::deserialize(d)?))
    }
}

/// Everything a trial needs; written to `test.json` so a run can be repeated.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TestSpec {
    pub name: String,
    pub cluster: ClusterSpec,
    pub partitions: u32,
    pub keys: u64,
    pub concurrency: usize,
    /// Target ops/s over all workers (0 = as fast as they go).
    pub rate: f64,
    pub sub_via: SubVia,
    /// Pipelined senders sharing one producer (0 = off); see `QueueOptions`.
    #[serde(default)]
    pub pipeline: usize,
    pub crash_probability: f64,
    pub send_ratio: f64,
    pub acks: Acks,
    pub idempotence: bool,
    #[serde(with = "secs")]
    pub message_timeout: Duration,
    #[serde(with = "secs")]
    pub request_timeout: Duration,
    pub producer_overrides: BTreeMap<String, String>,
    pub consumer_overrides: BTreeMap<String, String>,
    pub nemesis: NemesisPlan,
    #[serde(with = "secs")]
    pub time_limit: Duration,
    pub seed: u64,
    #[serde(with = "secs")]
    pub recovery_timeout: Duration,
    #[serde(with = "secs")]
    pub final_read_timeout: Duration,
    pub store: PathBuf,
    /// Show the live progress line.
    pub progress: bool,
    /// The command line that repeats this run (for the report).
    pub command: Option<String>,
}

impl TestSpec {
    /// A 3-node, RF 3, acks=all test without faults, 60 s, seed 0.
    pub fn new(name: &str) -> TestSpec {
        TestSpec {
            name: name.to_string(),
            cluster: ClusterSpec::default(),
            partitions: 3,
            keys: 16,
            concurrency: 10,
            rate: 200.0,
            sub_via: SubVia::Assign,
            pipeline: 0,
            crash_probability: 0.005,
            send_ratio: 0.5,
            acks: Acks::All,
            idempotence: false,
            message_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(5),
            producer_overrides: BTreeMap::new(),
            consumer_overrides: BTreeMap::new(),
            nemesis: NemesisPlan::Generated(NemesisOptions::default()),
            time_limit: Duration::from_secs(60),
            seed: 0,
            recovery_timeout: Duration::from_secs(120),
            final_read_timeout: Duration::from_secs(60),
            store: PathBuf::from("store"),
            progress: false,
            command: None,
        }
    }
    pub fn nodes(mut self, n: usize) -> Self {
        self.cluster.nodes = n;
        self
    }
    pub fn replication_factor(mut self, rf: usize) -> Self {
        self.cluster.replication_factor = rf;
        self
    }
    pub fn min_insync_replicas(mut self, m: usize) -> Self {
        self.cluster.min_insync_replicas = m;
        self
    }
    pub fn unclean_leader_election(mut self, on: bool) -> Self {
        self.cluster.unclean_leader_election = on;
        self
    }
    pub fn acks(mut self, a: Acks) -> Self {
        self.acks = a;
        self
    }
    pub fn acks_all(self) -> Self {
        self.acks(Acks::All)
    }
    pub fn idempotence(mut self, on: bool) -> Self {
        self.idempotence = on;
        self
    }
    pub fn partitions(mut self, p: u32) -> Self {
        self.partitions = p;
        self
    }
    pub fn time_limit(mut self, d: Duration) -> Self {
        self.time_limit = d;
        self
    }
    pub fn rate(mut self, r: f64) -> Self {
        self.rate = r;
        self
    }
    pub fn concurrency(mut self, c: usize) -> Self {
        self.concurrency = c;
        self
    }
    /// `n` send-only processes through one shared producer (high throughput).
    pub fn pipeline(mut self, n: usize) -> Self {
        self.pipeline = n;
        self
    }
    pub fn seed(mut self, s: u64) -> Self {
        self.seed = s;
        self
    }
    pub fn store(mut self, p: impl Into<PathBuf>) -> Self {
        self.store = p.into();
        self
    }
    /// Fault kinds by name (`partition,kill,pause,loss,clock` or `all`),
    /// keeping the other nemesis options.
    pub fn nemesis(mut self, kinds: &str) -> Result<Self> {
        let k: FaultKinds = kinds.parse().map_err(|e| anyhow::anyhow!("{e}"))?;
        let mut o = match self.nemesis {
            NemesisPlan::Generated(o) => o,
            NemesisPlan::Script(_) => NemesisOptions::default(),
        };
        o.kinds = k;
        self.nemesis = NemesisPlan::Generated(o);
        Ok(self)
    }
    pub fn nemesis_options(mut self, o: NemesisOptions) -> Self {
        self.nemesis = NemesisPlan::Generated(o);
        self
    }
    pub fn script(mut self, steps: Vec<ScriptStep>) -> Self {
        self.nemesis = NemesisPlan::Script(steps);
        self
    }

    /// Refuse impossible options with a message, before anything starts.
    pub fn validate(&self) -> Result<()> {
        self.cluster.validate()?;
        if self.name.is_empty() || self.name.contains('/') || self.name.starts_with('.') {
            bail!("test name {:?} must be a plain folder name", self.name);
        }
        if self.partitions < 1 {
            bail!("--partitions must be at least 1");
        }
        if self.concurrency < 1 {
            bail!("--concurrency must be at least 1");
        }
        if self.rate < 0.0 || !self.rate.is_finite() {
            bail!("--rate must be a number ≥ 0");
        }
        if self.time_limit < Duration::from_secs(1) {
            bail!("--time-limit must be at least 1s");
        }
        if !(0.0..=1.0).contains(&self.send_ratio) || !(0.0..=1.0).contains(&self.crash_probability)
        {
            bail!("send ratio and crash probability must be within 0..1");
        }
        if self.idempotence && self.acks != Acks::All {
            bail!("--idempotence needs --acks all (librdkafka enforces it)");
        }
        match &self.nemesis {
            NemesisPlan::Generated(o) => {
                o.validate(self.cluster.layout().len())
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                if o.kinds.contains(trial_nemesis::FaultKind::Clock) && !self.cluster.faketime {
                    bail!("the clock nemesis needs brokers under libfaketime: add --faketime");
                }
            }
            NemesisPlan::Script(steps) => {
                for s in steps {
                    if let Who::LeaderOf(p) | Who::FollowersOf(p) = s.who {
                        if p < 0 || p as u32 >= self.partitions {
                            bail!(
                                "scripted fault names partition {p}, the topic has {}",
                                self.partitions
                            );
                        }
                    }
                }
            }
        }
        Ok(())
    }

    fn node_names(&self) -> Vec<String> {
        self.cluster.layout().into_iter().map(|r| r.name).collect()
    }

    /// The schedule a generated plan will play (for `--dry-run`).
    pub fn planned_schedule(&self) -> Result<Option<Schedule>> {
        match &self.nemesis {
            NemesisPlan::Generated(o) => Ok(Some(
                Schedule::generate(self.seed, &self.node_names(), self.time_limit, o)
                    .map_err(|e| anyhow::anyhow!("{e}"))?,
            )),
            NemesisPlan::Script(_) => Ok(None),
        }
    }

    fn client_settings(&self, bootstrap: &str) -> ClientSettings {
        ClientSettings {
            bootstrap: bootstrap.to_string(),
            topic: TOPIC.to_string(),
            acks: self.acks,
            idempotence: self.idempotence,
            message_timeout: self.message_timeout,
            request_timeout: self.request_timeout,
            producer_overrides: self.producer_overrides.clone(),
            consumer_overrides: self.consumer_overrides.clone(),
        }
    }
}

/// What a trial found.
#[derive(Debug, Clone)]
pub struct Report {
    pub run_dir: PathBuf,
    pub results: Results,
    /// 0 valid, 1 anomalies, 2 unknown.
    pub exit_code: u8,
    pub interrupted: bool,
    /// Seconds from start until the cluster answered.
    pub cluster_ready_secs: f64,
    /// (ok, fail, info) completions of the workload.
    pub outcomes: (u64, u64, u64),
    pub sends_ok: u64,
    pub workload_secs: f64,
    /// The run's report.html, if it could be rendered.
    pub report_html: Option<PathBuf>,
}

impl Report {
    pub fn valid(&self) -> bool {
        self.exit_code == 0
    }
    /// Count of one anomaly class (`lost-write`, `duplicate`, …).
    pub fn anomaly(&self, class: &str) -> u64 {
        self.results.anomaly_counts.get(class).copied().unwrap_or(0)
    }
}

/// Kafka-aware targeting for the nemesis, answered from the metadata.
struct ClusterTargets {
    bootstrap: String,
    names: BTreeMap<i32, String>,
    nodes: Vec<Arc<ContainerNode>>,
}

#[async_trait]
impl Targets for ClusterTargets {
    async fn partition_leaders(&self) -> Result<BTreeMap<i32, String>, NodeError> {
        let parts = self.partitions().await?;
        Ok(parts
            .iter()
            .filter_map(|p| self.names.get(&p.leader).map(|n| (p.id, n.clone())))
            .collect())
    }
    async fn partition_replicas(&self) -> Result<BTreeMap<i32, Vec<String>>, NodeError> {
        let parts = self.partitions().await?;
        Ok(parts
            .iter()
            .map(|p| {
                let mut v: Vec<String> = vec![];
                if let Some(l) = self.names.get(&p.leader) {
                    v.push(l.clone());
                }
                for r in &p.replicas {
                    if let Some(n) = self.names.get(r) {
                        if !v.contains(n) {
                            v.push(n.clone());
                        }
                    }
                }
                (p.id, v)
            })
            .collect())
    }
    async fn active_controller(&self) -> Result<Option<String>, NodeError> {
        Ok(crate::cluster::active_controller_of(&self.nodes).await)
    }
}

impl ClusterTargets {
    async fn partitions(&self) -> Result<Vec<admin::PartitionInfo>, NodeError> {
        let md = admin::metadata(&self.bootstrap, Some(TOPIC), Duration::from_secs(5))
            .await
            .map_err(|e| NodeError::Other {
                node: "-".into(),
                msg: format!("metadata: {e:#}"),
            })?;
        md.topics
            .get(TOPIC)
            .cloned()
            .ok_or_else(|| NodeError::Other {
                node: "-".into(),
                msg: format!("topic {TOPIC} not in the metadata"),
            })
    }
}

/// Turn a script into a schedule with fixed node names, now that the
/// topic's leaders and replicas are known.
fn resolve_script(
    steps: &[ScriptStep],
    parts: &[admin::PartitionInfo],
    names: &BTreeMap<i32, String>,
    all: &[String],
    period: Duration,
    seed: u64,
) -> Result<Schedule> {
    let name = |id: &i32| names.get(id).cloned().unwrap_or_else(|| format!("id{id}"));
    let mut actions = vec![];
    for s in steps {
        let nodes: BTreeSet<String> = match &s.who {
            Who::LeaderOf(p) => {
                let part = parts
                    .iter()
                    .find(|x| x.id == *p)
                    .context("no such partition")?;
                [name(&part.leader)].into()
            }
            Who::FollowersOf(p) => {
                let part = parts
                    .iter()
                    .find(|x| x.id == *p)
                    .context("no such partition")?;
                part.replicas
                    .iter()
                    .filter(|r| **r != part.leader)
                    .map(name)
                    .collect()
            }
            Who::Nodes(v) => v.iter().cloned().collect(),
        };
        let fault = match s.fault {
            ScriptFault::Kill => Fault::Kill {
                target: Target::One,
                nodes: Some(nodes),
            },
            ScriptFault::Pause => Fault::Pause {
                target: Target::One,
                nodes: Some(nodes),
            },
            ScriptFault::Isolate => {
                let rest: BTreeSet<String> = all
                    .iter()
                    .filter(|n| !nodes.contains(*n))
                    .cloned()
                    .collect();
                Fault::Partition {
                    topology: Topology::One,
                    grudge: Some(trial_nemesis::grudge::complete_grudge(&[nodes, rest])),
                }
            }
        };
        actions.push(Action {
            at_ms: s.at.as_millis() as u64,
            id: s.id,
            phase: if s.start { Phase::Start } else { Phase::Stop },
            seed,
            fault,
        });
    }
    actions.sort_by_key(|a| a.at_ms);
    Ok(Schedule {
        seed,
        nodes: all.to_vec(),
        period,
        options: NemesisOptions::default(),
        actions,
    })
}

fn progress_bar(enabled: bool) -> ProgressBar {
    if !enabled {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new_spinner();
    pb.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    pb.enable_steady_tick(Duration::from_millis(250));
    pb
}

/// A line for the person watching: above the live progress line, as a
/// plain line when stderr is not a terminal (a CI log, a pipe), or in the
/// log when the caller asked for no progress output (library use).
fn note(pb: &ProgressBar, progress: bool, m: String) {
    if !progress {
        tracing::info!("{m}");
    } else if pb.is_hidden() {
        eprintln!("{m}");
    } else {
        pb.println(m);
    }
}

/// Faults of the schedule active `t` after the origin (for the progress line).
fn active_faults(s: &Schedule, t: Duration) -> Vec<String> {
    let t = t.as_millis() as u64;
    let mut active: BTreeMap<u32, String> = BTreeMap::new();
    for a in s.actions.iter().take_while(|a| a.at_ms <= t) {
        match a.phase {
            Phase::Start => {
                active.insert(a.id, a.fault.kind().name().to_string());
            }
            Phase::Stop => {
                active.remove(&a.id);
            }
        }
    }
    active.into_values().collect()
}

/// Run one trial from start to verdict.
pub async fn run(spec: TestSpec) -> Result<Report> {
    spec.validate()?;
    let pb = progress_bar(spec.progress);
    let say = |m: String| note(&pb, spec.progress, m);
    let t0 = Instant::now();
    let store = Store::new(&spec.store);
    let run_dir = store
        .create_run(&spec.name)
        .with_context(|| format!("create a run folder in {}", spec.store.display()))?;
    run_dir.write_json("test.json", &spec)?;
    say(format!("run folder: {}", run_dir.path.display()));

    // Ctrl-C: stop the workload and the nemesis, heal, tear down, check.
    let interrupted = Arc::new(AtomicBool::new(false));
    let (cancel_tx, cancel_rx) = tokio::sync::watch::channel(false);
    {
        let interrupted = interrupted.clone();
        let cancel_tx = cancel_tx.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                eprintln!("\ninterrupted: stopping the workload, healing, tearing down (Ctrl-C again to abandon)");
                interrupted.store(true, Ordering::SeqCst);
                let _ = cancel_tx.send(true);
                if tokio::signal::ctrl_c().await.is_ok() {
                    eprintln!(
                        "abandoned: faults may remain and containers are left; `kafka-trial clean` removes them"
                    );
                    std::process::exit(i32::from(crate::exit::HARNESS));
                }
            }
        });
    }

    pb.set_message("starting the cluster");
    let cluster = Cluster::start(spec.cluster.clone()).await?;
    let cluster_ready_secs = t0.elapsed().as_secs_f64();
    say(format!(
        "cluster {} ready in {cluster_ready_secs:.1}s: Kafka {}, {} nodes, bootstrap {}",
        cluster.id,
        cluster.dist.version,
        cluster.nodes.len(),
        cluster.bootstrap_servers()
    ));
    let outcome = trial(
        &spec,
        &cluster,
        &run_dir,
        &pb,
        interrupted.clone(),
        cancel_rx,
    )
    .await;
    // Logs and teardown happen whatever the trial's outcome.
    pb.set_message("collecting logs and tearing down");
    if let Err(e) = cluster.collect_logs(&run_dir.nodes()) {
        tracing::warn!("collecting node logs: {e:#}");
    }
    let td = cluster.teardown().await;
    drop(cluster);
    let (counters, workload_secs) = outcome?;
    td?;

    pb.set_message("checking the history");
    let history_path = run_dir.history();
    let results = tokio::task::spawn_blocking(move || {
        trial_checkers::check_history_file(&history_path, &CheckOptions::default())
    })
    .await??;
    run_dir.write_json("results.json", &results)?;
    pb.set_message("rendering the report");
    let dir = run_dir.path.clone();
    let report_html =
        match tokio::task::spawn_blocking(move || crate::report::write_run_report(&dir)).await? {
            Ok(files) => Some(files.html),
            Err(e) => {
                tracing::warn!("rendering report.html: {e:#}");
                None
            }
        };
    pb.finish_and_clear();
    let (ok, fail, info) = counters.snapshot();
    Ok(Report {
        run_dir: run_dir.path.clone(),
        exit_code: results.exit_code(),
        results,
        interrupted: interrupted.load(Ordering::SeqCst),
        cluster_ready_secs,
        outcomes: (ok, fail, info),
        sends_ok: counters.sends_ok.load(Ordering::Relaxed),
        workload_secs,
        report_html,
    })
}

async fn trial(
    spec: &TestSpec,
    cluster: &Cluster,
    run_dir: &trial_histories::RunDir,
    pb: &ProgressBar,
    interrupted: Arc<AtomicBool>,
    cancel: tokio::sync::watch::Receiver<bool>,
) -> Result<(Arc<Counters>, f64)> {
    let bootstrap = cluster.bootstrap_servers();
    pb.set_message(format!("creating topic {TOPIC}"));
    let parts = admin::create_topic(
        &bootstrap,
        TOPIC,
        spec.partitions as i32,
        spec.cluster.replication_factor as i32,
        &[(
            "min.insync.replicas",
            &spec.cluster.min_insync_replicas.to_string(),
        )],
        Duration::from_secs(60),
    )
    .await?;
    for p in &parts {
        if p.replicas.len() != spec.cluster.replication_factor || p.isr.len() != p.replicas.len() {
            bail!(
                "topic {TOPIC} partition {} has replicas {:?} and ISR {:?}, expected {} in sync",
                p.id,
                p.replicas,
                p.isr,
                spec.cluster.replication_factor
            );
        }
    }
    let names: BTreeMap<i32, String> = cluster
        .nodes
        .iter()
        .map(|n| (n.role.id, n.role.name.clone()))
        .collect();
    let all_names: Vec<String> = cluster.nodes.iter().map(|n| n.role.name.clone()).collect();
    let schedule = match &spec.nemesis {
        NemesisPlan::Generated(o) => Schedule::generate(spec.seed, &all_names, spec.time_limit, o)
            .map_err(|e| anyhow::anyhow!("{e}"))?,
        NemesisPlan::Script(steps) => resolve_script(
            steps,
            &parts,
            &names,
            &all_names,
            spec.time_limit,
            spec.seed,
        )?,
    };
    run_dir.write_json("schedule.json", &schedule)?;

    let history = Arc::new(HistoryWriter::create(&run_dir.history())?);
    // The cluster observer records leaders, epochs, ISR and the controller
    // from now until recovery, so the history shows whether faults bit.
    // Dropping its handle (an early return) stops it too.
    let observer = crate::observer::Observer::spawn(
        crate::observer::ObserverConfig::for_cluster(cluster, TOPIC),
        history.clone(),
    );
    let settings = spec.client_settings(&bootstrap);
    let counters = Arc::new(Counters::default());
    let stop = Arc::new(AtomicBool::new(false));
    let workload = Workload::start(
        history.clone(),
        settings.clone(),
        QueueOptions {
            partitions: spec.partitions,
            keys: spec.keys,
            concurrency: spec.concurrency,
            rate: spec.rate,
            sub_via: spec.sub_via,
            crash_probability: spec.crash_probability,
            send_ratio: spec.send_ratio,
            seed: spec.seed,
            group: format!("kt-{}", cluster.id),
            pipeline: spec.pipeline,
        },
        spec.time_limit,
        stop.clone(),
        counters.clone(),
    );
    let targets: Arc<dyn Targets> = Arc::new(ClusterTargets {
        bootstrap: bootstrap.clone(),
        names,
        nodes: cluster.nodes.clone(),
    });
    let nemesis = {
        let schedule = schedule.clone();
        let nodes = cluster.nemesis_nodes();
        let history = history.clone();
        let origin = history.start();
        tokio::spawn(async move {
            trial_nemesis::run(&schedule, nodes, targets, history, cancel, origin).await
        })
    };

    // The live progress line, until the time limit or an interruption.
    let started = Instant::now();
    // Without a terminal the spinner is hidden: print the line every 10 s.
    let plain = spec.progress && pb.is_hidden();
    let mut last_plain = Instant::now();
    while started.elapsed() < spec.time_limit && !interrupted.load(Ordering::SeqCst) {
        let (ok, fail, info) = counters.snapshot();
        let faults = active_faults(&schedule, history.start().elapsed());
        let line = format!(
            "{:>3.0}/{}s  ok {ok}  fail {fail}  info {info}  faults: {}",
            started.elapsed().as_secs_f64(),
            spec.time_limit.as_secs(),
            if faults.is_empty() {
                "none".to_string()
            } else {
                faults.join(", ")
            }
        );
        if plain && last_plain.elapsed() >= Duration::from_secs(10) {
            eprintln!("{line}");
            last_plain = Instant::now();
        }
        pb.set_message(line);
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    stop.store(true, Ordering::SeqCst);
    pb.set_message("stopping the workload (each worker finishes its operation)");
    let join_limit = spec.message_timeout + spec.request_timeout + Duration::from_secs(10);
    let stuck = tokio::task::spawn_blocking(move || workload.join_within(join_limit)).await?;
    if !stuck.is_empty() {
        note(pb, spec.progress, format!(
            "workers {stuck:?} are stuck inside librdkafka and were abandoned; their open operations count as indeterminate"
        ));
    }
    let workload_secs = started.elapsed().as_secs_f64();
    pb.set_message("healing");
    let nemesis_report = nemesis.await?;
    match &nemesis_report {
        Ok(r) => tracing::info!(
            actions = r.actions,
            failed = r.failed_actions,
            "nemesis done"
        ),
        Err(e) => tracing::warn!("nemesis: {e}"),
    }

    if interrupted.load(Ordering::SeqCst) {
        // No final reads after Ctrl-C: the checkers will say what they can.
        return Ok((counters, workload_secs));
    }
    // Recovery: every broker running and every partition's ISR full.
    pb.set_message("waiting for recovery (every broker up, every ISR full)");
    let t = Instant::now();
    for n in &cluster.nodes {
        if !matches!(n.state().await, Ok(ProcessState::Running)) {
            tracing::warn!("{} is not running after heal: starting it", n.role.name);
            let _ = n.start().await;
        }
    }
    let recovered = admin::wait_topic_healthy(
        &bootstrap,
        TOPIC,
        spec.partitions as i32,
        spec.cluster.replication_factor,
        spec.recovery_timeout,
    )
    .await;
    match &recovered {
        Ok(_) => tracing::info!("recovered in {:.1}s", t.elapsed().as_secs_f64()),
        Err(e) => tracing::warn!("not fully recovered: {e:#}"),
    }
    let observed = observer.stop().await;
    tracing::info!(
        samples = observed.samples,
        recorded = observed.recorded,
        failed = observed.failed,
        "observer done"
    );
    pb.set_message("final reads of every partition");
    let h = history.clone();
    let parts_n = spec.partitions;
    let timeout = spec.final_read_timeout;
    // Bounded even if librdkafka hangs: a final read that never returns
    // leaves its op open, and the checkers then say `unknown`.
    let reads =
        tokio::task::spawn_blocking(move || workload::final_reads(&h, &settings, parts_n, timeout));
    let limit = spec.final_read_timeout * (spec.partitions + 1) + Duration::from_secs(30);
    if tokio::time::timeout(limit, reads).await.is_err() {
        note(
            pb,
            spec.progress,
            format!(
                "final reads did not finish within {limit:?}; the verdict will say what is missing"
            ),
        );
    }
    history.sync().ok();
    Ok((counters, workload_secs))
}

/// The terminal summary of a finished trial.
pub fn summary(report: &Report) -> String {
    let (ok, fail, info) = report.outcomes;
    let mut s = String::new();
    s.push_str(&report.results.human_summary(2));
    if !s.ends_with('\n') {
        s.push('\n');
    }
    s.push_str(&format!(
        "workload: {:.0}s, ops ok {ok} / fail {fail} / info {info}, {:.1} acknowledged sends/s\n",
        report.workload_secs,
        report.sends_ok as f64 / report.workload_secs.max(0.001)
    ));
    if report.interrupted {
        s.push_str("interrupted: no final reads were made\n");
    }
    s.push_str(&format!("run folder: {}\n", report.run_dir.display()));
    if let Some(h) = &report.report_html {
        s.push_str(&format!("report: {}\n", h.display()));
    }
    s
}
