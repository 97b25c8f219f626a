//! What a trial is: [`TestSpec`] (every option, written to `test.json`
//! so that a run can be repeated), how its nemesis is driven
//! ([`NemesisPlan`]), and what it found ([`Report`]).

use super::script::{ScriptFault, ScriptStep, ScriptTarget};
use crate::clients::ClientSettings;
use crate::clients::{Acks, Isolation};
use crate::kafka::{ClusterSpec, NodeRole, Timing};
use crate::workloads::{Workload, WorkloadOptions};
use anyhow::{anyhow, bail, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;
use trial_checkers::Results;
use trial_histories::serde_duration::secs;
use trial_nemesis::{FaultKinds, NemesisOptions, Schedule};

fn default_workload() -> String {
    "queue".into()
}

fn default_driver() -> String {
    "rdkafka".into()
}

fn default_observer_interval() -> Duration {
    Duration::from_millis(500)
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
    /// Faults exactly as planned (kind, targets, start and stop), played
    /// as they are: what `shrink` writes for a generated schedule.
    Fixed(Vec<super::fixed::FixedFault>),
}

/// The first release whose consumer group protocol (KIP-848,
/// `group.protocol=consumer`) is generally available.
pub const KIP_848_SINCE: crate::kafka::KafkaVersion = crate::kafka::KafkaVersion::new(4, 0, 0);

/// Everything a trial needs; written to `test.json` so a run can be repeated.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TestSpec {
    pub name: String,
    /// The workload, by name (see [`crate::workloads::REGISTRY`]).
    #[serde(default = "default_workload")]
    pub workload: String,
    /// The client driver, by name (see [`crate::clients::driver`]).
    #[serde(default = "default_driver")]
    pub driver: String,
    pub cluster: ClusterSpec,
    pub partitions: u32,
    pub keys: u64,
    pub concurrency: usize,
    /// Target ops/s over all workers (0 = as fast as they go).
    pub rate: f64,
    /// Logical send processes sharing one producer, each with one send
    /// outstanding (at least 1; `0`, the retired blocking-send mode,
    /// still reads from old runs' test.json and is refused to run).
    #[serde(default, alias = "pipeline")]
    pub senders: usize,
    pub crash_probability: f64,
    pub send_ratio: f64,
    /// `txn` workload: the consumers' `isolation.level`.
    #[serde(default)]
    pub isolation: Isolation,
    /// `txn` workload: chance that a transaction is aborted on purpose.
    #[serde(default = "crate::workloads::default_abort_probability")]
    pub abort_probability: f64,
    /// `group` workload: protocol, assignor, commit mode, churn, stalls.
    #[serde(default)]
    pub group: crate::workloads::GroupOptions,
    /// The options of a workload that keeps them nowhere else (its table
    /// in the trial spec, `crate::spec`); absent for the first workloads,
    /// whose options are the fields above.
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub workload_options: serde_json::Value,
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
    /// How often the observer samples the cluster's state.
    #[serde(default = "default_observer_interval", with = "secs")]
    pub observer_interval: Duration,
    pub store: PathBuf,
    /// Show the live progress line.
    pub progress: bool,
    /// The command line that repeats this run (for the report).
    pub command: Option<String>,
    /// Which verdict decides the exit code: `anomalies` (any anomaly the
    /// checkers count: 1) or `promises` (1 only for a promise Kafka made
    /// for this configuration and broke).
    #[serde(default)]
    pub judge: trial_checkers::Judge,
    /// Linearizability checked on the history (`log`, the default: every
    /// trial checks it; or `off`).
    #[serde(default)]
    pub linearizability: Linearizability,
    /// The linearizability search's time budget; absent: scaled to the
    /// history (`trial_checkers::linear::log::scaled_budget`).
    #[serde(default, skip_serializing_if = "Option::is_none", with = "opt_secs")]
    pub linear_budget: Option<Duration>,
    /// A cluster the user runs (`--bootstrap`): no cluster is built;
    /// test.json also records the configuration read back from it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external: Option<crate::external::ExternalSpec>,
}

/// Linearizability checked on a trial's history (`--linearizability`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Linearizability {
    /// Against the `log` model, per partition.
    #[default]
    Log,
    /// Not checked.
    Off,
}

/// An optional `Duration` as (fractional) seconds.
mod opt_secs {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;
    pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_f64(d.as_secs_f64()),
            None => s.serialize_none(),
        }
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        Option::<f64>::deserialize(d)?
            .map(|v| Duration::try_from_secs_f64(v).map_err(serde::de::Error::custom))
            .transpose()
    }
}

impl TestSpec {
    /// `o` with this spec's linearizability check: the `log` model unless
    /// `off`, within `linear_budget` or a budget scaled to the history.
    pub fn linear_check(&self, o: trial_checkers::CheckOptions) -> trial_checkers::CheckOptions {
        trial_checkers::CheckOptions {
            // Transactional runs too: the `log` model knows transactions.
            linear_model: (self.linearizability == Linearizability::Log).then(|| "log".into()),
            linear_time_limit: self.linear_budget.unwrap_or(o.linear_time_limit),
            linear_scaled_budget: self.linear_budget.is_none(),
            ..o
        }
    }

    /// A 3-node, RF 3, acks=all test without faults, 60 s, seed 0.
    pub fn new(name: &str) -> TestSpec {
        let timing = Timing::default();
        let t = timing.client_timeouts();
        TestSpec {
            name: name.to_string(),
            workload: default_workload(),
            driver: default_driver(),
            cluster: ClusterSpec::default(),
            partitions: 3,
            keys: 16,
            concurrency: 10,
            rate: 200.0,
            senders: 256,
            crash_probability: 0.005,
            send_ratio: 0.5,
            isolation: Isolation::ReadCommitted,
            abort_probability: crate::workloads::default_abort_probability(),
            group: crate::workloads::GroupOptions::default(),
            workload_options: serde_json::Value::Null,
            acks: Acks::All,
            // Kafka's Java producer's default since 3.0 (with acks=all).
            idempotence: true,
            message_timeout: t.message,
            request_timeout: t.request,
            producer_overrides: BTreeMap::new(),
            consumer_overrides: BTreeMap::new(),
            nemesis: NemesisPlan::Generated(timing.nemesis_defaults()),
            time_limit: Duration::from_secs(60),
            seed: 0,
            recovery_timeout: Duration::from_secs(120),
            final_read_timeout: Duration::from_secs(60),
            observer_interval: default_observer_interval(),
            store: PathBuf::from("store"),
            progress: false,
            judge: trial_checkers::Judge::default(),
            command: None,
            linearizability: Linearizability::Log,
            linear_budget: None,
            external: None,
        }
    }
    pub fn nodes(mut self, n: usize) -> Self {
        self.cluster.nodes = n;
        self
    }
    /// The Kafka release (`3.6.2`, `4.0.0`, …; see `kafka::version`).
    pub fn kafka_version(mut self, v: &str) -> Self {
        self.cluster.kafka_version = Some(v.to_string());
        self
    }
    /// KRaft or ZooKeeper mode (default: the release's own).
    pub fn mode(mut self, m: crate::kafka::Mode) -> Self {
        self.cluster.mode = Some(m);
        self
    }
    /// ZooKeeper mode with an ensemble of `k` nodes z1..zk.
    pub fn zookeeper(mut self, k: usize) -> Self {
        self.cluster.zookeeper = Some(k);
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
    /// Producer acks; acks other than `all` turn idempotence off, as
    /// Kafka's Java producer does when it is not set explicitly (set it
    /// after this to say otherwise).
    pub fn acks(mut self, a: Acks) -> Self {
        self.acks = a;
        if a != Acks::All {
            self.idempotence = false;
        }
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
    /// `n` (at least 1) logical send processes through one shared
    /// producer.
    pub fn senders(mut self, n: usize) -> Self {
        self.senders = n;
        self
    }
    /// A timing profile: Kafka's detection knobs, the clients' timeouts and
    /// the generated nemesis' fault durations and interval.
    pub fn timing(mut self, t: Timing) -> Self {
        self.cluster.timing = t;
        let c = t.client_timeouts();
        self.message_timeout = c.message;
        self.request_timeout = c.request;
        if let NemesisPlan::Generated(o) = &mut self.nemesis {
            t.apply_to(o);
        }
        self
    }
    pub fn workload(mut self, name: &str) -> Self {
        self.workload = name.to_string();
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
        let k: FaultKinds = kinds.parse()?;
        let mut o = match self.nemesis {
            NemesisPlan::Generated(o) => o,
            NemesisPlan::Script(_) | NemesisPlan::Fixed(_) => {
                self.cluster.timing.nemesis_defaults()
            }
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
        if let Some(x) = &self.external {
            crate::external::parse_bootstrap(&x.bootstrap)?;
        }
        if self.name.is_empty() || self.name.contains('/') || self.name.starts_with('.') {
            bail!("test name {:?} must be a plain folder name", self.name);
        }
        if self.partitions < 1 {
            bail!("--partitions must be at least 1");
        }
        if self.concurrency < 1 {
            bail!("--concurrency must be at least 1");
        }
        if self.senders < 1 {
            bail!("--senders must be at least 1 (`--senders 0`, the mode where each consumer process also sent, one blocking send at a time, is retired: one sender is the closest)");
        }
        self.build_workload()?;
        crate::clients::driver(&self.driver).map_err(|e| anyhow!(e))?;
        if self.observer_interval < Duration::from_millis(50) {
            bail!("--observer-interval must be at least 50ms");
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
        if !(0.0..=1.0).contains(&self.abort_probability) {
            bail!("--abort-probability must be within 0..1");
        }
        if !(0.0..=1.0).contains(&self.group.churn_probability)
            || !(0.0..=1.0).contains(&self.group.stall_probability)
        {
            bail!("--churn-probability and --stall-probability must be within 0..1");
        }
        if self.group.protocol == crate::clients::GroupProtocol::Consumer {
            let old = match self.cluster.version() {
                Some(v) => v.parse::<crate::kafka::KafkaVersion>()? < KIP_848_SINCE,
                None => false,
            };
            if old || self.cluster.mode() == crate::kafka::Mode::Zookeeper {
                bail!(
                    "--group-protocol consumer (KIP-848) needs Kafka {KIP_848_SINCE} or newer in KRaft mode; this run is {} in {} mode",
                    self.cluster.version().unwrap_or_else(|| "the newest 4.x".into()),
                    self.cluster.mode()
                );
            }
        }
        if self.idempotence && self.acks != Acks::All {
            bail!("--idempotence needs --acks all (librdkafka enforces it)");
        }
        match &self.nemesis {
            NemesisPlan::Generated(o) => {
                // A zk-* target or topology without an ensemble stops here.
                let (brokers, zookeeper) = self.nemesis_names();
                o.validate_with_zookeeper(brokers.len(), zookeeper.len())?;
            }
            NemesisPlan::Fixed(faults) => {
                let (brokers, zookeeper) = self.nemesis_names();
                super::fixed::validate(faults, &brokers, &zookeeper, self.time_limit)?;
            }
            NemesisPlan::Script(steps) => {
                for s in steps {
                    if s.target == ScriptTarget::ZookeeperLeader {
                        if self.cluster.zookeeper_count() == 0 {
                            bail!("a scripted fault targets the ZooKeeper leader, but this cluster runs in KRaft mode (no ZooKeeper ensemble)");
                        }
                        if !matches!(
                            s.fault,
                            ScriptFault::Kill | ScriptFault::Pause | ScriptFault::Isolate
                        ) {
                            bail!("a scripted {:?} cannot hit the ZooKeeper leader (it acts on brokers)", s.fault);
                        }
                    }
                    if let ScriptTarget::LeaderOf(p) | ScriptTarget::FollowersOf(p) = s.target {
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

    /// The names the nemesis plans over: the brokers, and the ZooKeeper
    /// ensemble (empty in KRaft mode).
    fn nemesis_names(&self) -> (Vec<String>, Vec<String>) {
        nemesis_names(self.cluster.layout().iter())
    }

    /// The fault kinds the nemesis plan may play.
    pub fn fault_kinds(&self) -> FaultKinds {
        match &self.nemesis {
            NemesisPlan::Generated(o) => o.kinds.clone(),
            NemesisPlan::Script(steps) => {
                FaultKinds(steps.iter().map(|s| s.fault.kind()).collect())
            }
            NemesisPlan::Fixed(faults) => super::fixed::kinds(faults),
        }
    }

    /// The spec with what its faults require of the nodes added to the
    /// cluster's requirements (the platform provides them).
    pub fn with_fault_requirements(mut self) -> TestSpec {
        let r = trial_nemesis::requirements(&self.fault_kinds());
        self.cluster.requirements = std::mem::take(&mut self.cluster.requirements).union(&r);
        self
    }

    /// The schedule a generated plan will play (for `--dry-run`).
    pub fn planned_schedule(&self) -> Result<Option<Schedule>> {
        match &self.nemesis {
            NemesisPlan::Generated(o) => {
                let (brokers, zookeeper) = self.nemesis_names();
                Ok(Some(Schedule::generate_with_zookeeper(
                    self.seed,
                    &brokers,
                    &zookeeper,
                    self.time_limit,
                    o,
                )?))
            }
            NemesisPlan::Fixed(faults) => {
                let (brokers, zookeeper) = self.nemesis_names();
                Ok(Some(super::fixed::to_schedule(
                    faults,
                    &brokers,
                    &zookeeper,
                    self.time_limit,
                    self.seed,
                )))
            }
            NemesisPlan::Script(_) => Ok(None),
        }
    }

    /// The options every workload reads.
    pub fn workload_options(&self) -> WorkloadOptions {
        WorkloadOptions {
            partitions: self.partitions,
            keys: self.keys,
            concurrency: self.concurrency,
            senders: self.senders,
            rate: self.rate,
            crash_probability: self.crash_probability,
            send_ratio: self.send_ratio,
            isolation: self.isolation,
            abort_probability: self.abort_probability,
            group: self.group.clone(),
            options: self.workload_options.clone(),
        }
    }

    /// Take the workload options back (what a workload package wrote).
    pub fn set_workload_options(&mut self, o: WorkloadOptions) {
        self.partitions = o.partitions;
        self.keys = o.keys;
        self.concurrency = o.concurrency;
        self.senders = o.senders;
        self.rate = o.rate;
        self.crash_probability = o.crash_probability;
        self.send_ratio = o.send_ratio;
        self.isolation = o.isolation;
        self.abort_probability = o.abort_probability;
        self.group = o.group;
        self.workload_options = o.options;
    }

    /// The workload this spec names.
    pub fn build_workload(&self) -> Result<Box<dyn Workload>> {
        crate::workloads::build(&self.workload, &self.workload_options()).map_err(|e| anyhow!(e))
    }

    pub(crate) fn client_settings(&self, bootstrap: &str, topic: &str) -> ClientSettings {
        let t = self.cluster.timing.client_timeouts();
        ClientSettings {
            bootstrap: bootstrap.to_string(),
            topic: topic.to_string(),
            acks: self.acks,
            idempotence: self.idempotence,
            message_timeout: self.message_timeout,
            request_timeout: self.request_timeout,
            socket_timeout: t.socket,
            session_timeout: t.session,
            producer_overrides: self.producer_overrides.clone(),
            consumer_overrides: self.consumer_overrides.clone(),
        }
    }
}

/// Split a cluster's nodes into the names the nemesis plans over: the
/// brokers (with any dedicated KRaft controllers), which broker faults and
/// the classic partitions pick among, and the members of the ZooKeeper
/// ensemble (`role.zookeeper`), which only the `zk-*` targets and
/// topologies touch.
pub(crate) fn nemesis_names<'a>(
    roles: impl Iterator<Item = &'a NodeRole>,
) -> (Vec<String>, Vec<String>) {
    let (zookeeper, brokers): (Vec<&NodeRole>, Vec<&NodeRole>) = roles.partition(|r| r.zookeeper);
    let names = |v: Vec<&NodeRole>| v.into_iter().map(|r| r.name.clone()).collect();
    (names(brokers), names(zookeeper))
}

/// What a trial found.
#[derive(Debug, Clone)]
pub struct Report {
    pub run_dir: PathBuf,
    pub results: Results,
    /// 0 valid, 1 anomalies, 2 unknown.
    pub exit_code: u8,
    pub interrupted: bool,
    /// The cluster's id (its containers are `kt-<id>-<node>`), torn down
    /// by the time the report exists.
    pub cluster_id: String,
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

    /// Tests of commands that run trials one after another (`matrix`,
    /// `claims`): an interrupted run, without a cluster, whose folder
    /// holds a checked sample run (with observer samples).
    #[cfg(test)]
    pub fn stand_in(run_dir: &std::path::Path) -> Result<Report> {
        use crate::report::sample_run::{write_checked_sample_run, SampleRunSpec};
        let (_, results) = write_checked_sample_run(
            run_dir,
            &SampleRunSpec {
                observer: true,
                ..Default::default()
            },
        )?;
        Ok(Report {
            run_dir: run_dir.to_path_buf(),
            exit_code: results.exit_code(),
            results,
            interrupted: true,
            cluster_id: "stand-in".into(),
            cluster_ready_secs: 1.0,
            outcomes: (0, 0, 0),
            sends_ok: 0,
            workload_secs: 1.0,
            report_html: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kafka::Mode;
    use trial_nemesis::{Fault, Target, Topology};

    fn spec(mode: Mode, o: NemesisOptions) -> TestSpec {
        let mut s = TestSpec::new("zk").nemesis_options(o);
        s.cluster.kafka_version = Some("3.9.1".into());
        s.cluster.mode = Some(mode);
        s
    }

    fn kill_zk_leader() -> NemesisOptions {
        NemesisOptions {
            kill_targets: vec![Target::One, Target::ZkLeader],
            ..NemesisOptions::with_kinds("kill".parse().unwrap())
        }
    }

    #[test]
    fn the_nemesis_plans_over_brokers_and_the_ensemble_apart() {
        let mut s = spec(Mode::Zookeeper, kill_zk_leader());
        s.time_limit = Duration::from_secs(300);
        assert_eq!(
            s.nemesis_names(),
            (
                vec!["n1".to_string(), "n2".into(), "n3".into()],
                vec!["z1".to_string(), "z2".into(), "z3".into()]
            )
        );
        s.validate().unwrap();
        let plan = s.planned_schedule().unwrap().unwrap();
        assert_eq!(plan.nodes, ["n1", "n2", "n3"]);
        assert_eq!(plan.zookeeper, ["z1", "z2", "z3"]);
        let kinds: Vec<(Target, bool)> = plan
            .actions
            .iter()
            .map(|a| match &a.fault {
                Fault::Kill {
                    target, process, ..
                } => (*target, process.is_broker()),
                f => panic!("{f:?}"),
            })
            .collect();
        assert!(kinds.contains(&(Target::ZkLeader, false)), "{kinds:?}");
        assert!(kinds.contains(&(Target::One, true)), "{kinds:?}");
        // KRaft: the brokers only, the plan as before.
        let k = spec(
            Mode::Kraft,
            NemesisOptions::with_kinds("kill".parse().unwrap()),
        );
        assert_eq!(k.nemesis_names().1, Vec::<String>::new());
        let plan = k.planned_schedule().unwrap().unwrap();
        assert!(plan.zookeeper.is_empty());
        assert_eq!(plan.nodes, ["n1", "n2", "n3"]);
    }

    /// A zk-* target or topology in KRaft mode is refused before anything
    /// starts (the CLI turns it into exit 3).
    #[test]
    fn zookeeper_faults_without_an_ensemble_are_refused() {
        let e = spec(Mode::Kraft, kill_zk_leader())
            .validate()
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("kill targets \"zk-leader\" is invalid")
                && e.contains("no ZooKeeper ensemble"),
            "{e}"
        );
        let o = NemesisOptions {
            topologies: vec![Topology::ZkAllBrokers],
            ..NemesisOptions::with_kinds("partition".parse().unwrap())
        };
        assert!(spec(Mode::Zookeeper, o.clone()).validate().is_ok());
        let e = spec(Mode::Kraft, o).validate().unwrap_err().to_string();
        assert!(e.contains("zk-all-brokers"), "{e}");
    }
}
