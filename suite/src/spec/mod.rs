//! The trial spec: one typed, nested value that says what a trial is —
//! [`TrialSpec`] `{ name, seed, time_limit, cluster, client, workload,
//! nemesis, check }` — written as TOML (`spec.toml` in every run folder,
//! `--spec FILE`, `--print-spec`, `scenario show`), and the command line's
//! flags, which are the same structs flattened (each option declared once,
//! its doc comment its help and its field name its key in the file).
//!
//! - `cluster`, `client`, `check`: fixed sections ([`ClusterSection`],
//!   [`ClientSection`], [`CheckSection`]).
//! - `workload`: the options every workload reads ([`WorkloadSection`])
//!   plus one table of the chosen workload's own options,
//!   `[workload.<kind>]`, owned by its package
//!   (`crate::workloads::Package`): a new workload brings its options, its
//!   flags and their checks with it.
//! - `nemesis`: how often and how many faults ([`NemesisSection`]), and
//!   one table per fault kind it plays, `[nemesis.<kind>]` (targets and the
//!   kind's own knobs), or a fixed `script`.
//!
//! The run itself still takes the flat [`crate::trial::TestSpec`] (what
//! test.json holds, and what older runs' test.json files are read as):
//! [`TrialSpec::to_test`] and [`TrialSpec::from_test`] convert, exactly
//! (a spec printed and loaded back gives the same schedule, byte for byte).

mod builder;
mod convert;
pub mod dur;
pub mod flags;
mod kinds;

pub use dur::{format_duration, parse_duration};
pub use flags::SpecArgs;
pub use kinds::{
    ClockOptions, FaultFlags, KillOptions, LoseUnfsyncedOptions, LossOptions, PartitionOptions,
    PauseOptions, PowerLossOptions,
};
pub use trial_nemesis::{FaultKind, Target};

use crate::clients::Acks;
use crate::kafka::{Mode, Timing};
use crate::trial::script::ScriptStep;
use crate::trial::Linearizability;
use anyhow::{anyhow, bail, Context as _, Result};
use clap::{Args, FromArgMatches};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;
use trial_nemesis::FaultKinds;

/// The spec's file in every run folder.
pub const SPEC_FILE: &str = "spec.toml";

/// What a trial is: the file a user can write, share and rerun.
#[derive(Args, Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrialSpec {
    /// Name of the test (the run folder is `<store>/<name>/<timestamp>`).
    #[arg(long, default_value = "queue")]
    pub name: String,
    /// Seed of the workload and the nemesis schedule.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Workload (and fault period) duration.
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    #[serde(with = "dur")]
    pub time_limit: Duration,
    #[command(flatten)]
    pub cluster: ClusterSection,
    #[command(flatten)]
    pub client: ClientSection,
    #[command(flatten)]
    pub workload: WorkloadSection,
    #[command(flatten)]
    pub nemesis: NemesisSection,
    #[command(flatten)]
    pub check: CheckSection,
}

/// A `KEY=VALUE` flag value.
pub fn parse_pair(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.trim().to_string())),
        _ => Err(format!("{s:?} is not KEY=VALUE")),
    }
}

/// A `NAME=LEVEL` feature flag value.
pub fn parse_feature(s: &str) -> Result<(String, u16), String> {
    let (k, v) = parse_pair(s)?;
    let level = v
        .parse()
        .map_err(|_| format!("feature {s:?}: the level is a number"))?;
    Ok((k, level))
}

/// `Vec<(K, V)>` (repeatable `KEY=VALUE` flags) as a table in the file.
mod pairs {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use std::collections::BTreeMap;
    pub fn serialize<S: Serializer, V: Serialize + Clone>(
        v: &[(String, V)],
        s: S,
    ) -> Result<S::Ok, S::Error> {
        v.iter()
            .cloned()
            .collect::<BTreeMap<String, V>>()
            .serialize(s)
    }
    pub fn deserialize<'de, D: Deserializer<'de>, V: Deserialize<'de>>(
        d: D,
    ) -> Result<Vec<(String, V)>, D::Error> {
        Ok(BTreeMap::<String, V>::deserialize(d)?.into_iter().collect())
    }
}

impl ClientSection {
    /// Whether the producers are idempotent: as given, else Kafka's Java
    /// producer's default (on with acks=all, off otherwise).
    pub fn idempotent(&self) -> bool {
        self.idempotence.unwrap_or(self.acks == Acks::All)
    }
}

/// `--acks`.
fn parse_acks(s: &str) -> Result<Acks, String> {
    s.parse()
}

/// `--judge anomalies|promises`.
pub fn parse_judge(s: &str) -> Result<trial_checkers::Judge, String> {
    s.parse()
}

/// `--nemesis partition,kill,…`.
fn parse_kinds(s: &str) -> Result<FaultKinds, String> {
    s.parse()
        .map_err(|e: trial_nemesis::PlanError| e.to_string())
}

/// The cluster: its shape, release and broker settings.
#[derive(Args, Debug, Clone, PartialEq, Serialize, Deserialize)]
#[command(next_help_heading = "Cluster")]
pub struct ClusterSection {
    /// Number of broker nodes (n1..nN; default 3, or with --hosts the
    /// file's broker hosts).
    #[arg(long)]
    pub nodes: Option<usize>,
    /// KRaft voters (combined mode: the first K nodes; default all up to 5).
    #[arg(long)]
    pub controllers: Option<usize>,
    /// Dedicated controller nodes c1..cK instead of combined broker+controller.
    #[arg(long)]
    pub split_roles: bool,
    /// Default replication factor of topics.
    #[arg(long, default_value_t = 3)]
    pub replication_factor: usize,
    /// `min.insync.replicas` of the brokers.
    #[arg(long, default_value_t = 2)]
    pub min_insync_replicas: usize,
    /// Allow out-of-sync replicas to become leader (may lose data; Kafka's
    /// default: false).
    #[arg(long, num_args = 0..=1, default_value_t = false, default_missing_value = "true", action = clap::ArgAction::Set)]
    pub unclean_leader_election: bool,
    /// Kafka release from Maven Central (default: the newest 4.x that
    /// resolves; 3.9.1 in ZooKeeper mode). KRaft mode runs 3.3.0 to 4.x,
    /// ZooKeeper mode 2.8.0 to 3.9.x.
    #[arg(long)]
    pub kafka_version: Option<String>,
    /// Where the metadata lives: `kraft` or `zookeeper` (default: the
    /// release's own: KRaft from 3.3 on, ZooKeeper before).
    #[arg(long)]
    pub mode: Option<Mode>,
    /// ZooKeeper mode: the ensemble's size (nodes z1..zK; default 3).
    /// Implies `--mode zookeeper`.
    #[arg(long, value_name = "K")]
    pub zookeeper: Option<usize>,
    /// Node image to use instead of the suite's own.
    #[arg(long)]
    pub image: Option<String>,
    /// Run on these machines over SSH instead of containers: a hosts file
    /// (TOML: each host's name, address, user, port, key and roles; see
    /// the README's "SSH hosts"). The node counts and roles then come from
    /// the file; --nodes, --controllers, --split-roles, --zookeeper or
    /// --mode that say otherwise are errors.
    #[arg(long, value_name = "FILE")]
    pub hosts: Option<PathBuf>,
    /// Extra broker property, Kafka's own name (repeatable): --broker-config log.flush.interval.messages=1
    #[arg(long, value_name = "KEY=VALUE", value_parser = parse_pair)]
    #[serde(with = "pairs", default, skip_serializing_if = "Vec::is_empty")]
    pub broker_config: Vec<(String, String)>,
    /// Feature level given to `kafka-storage format` (repeatable), e.g.
    /// --feature eligible.leader.replicas.version=0 (ELR off; Kafka 4.x
    /// turns it on for new clusters).
    #[arg(long = "feature", value_name = "NAME=LEVEL", value_parser = parse_feature)]
    #[serde(with = "pairs", default, skip_serializing_if = "Vec::is_empty")]
    pub features: Vec<(String, u16)>,
    /// JVM heap per broker in MiB.
    #[arg(long, default_value_t = 512)]
    pub heap_mb: u32,
    /// Timing profile: `fast` (failure detection within ~3 s, faults that
    /// last ≥ 3× that) or `kafka-defaults` (Kafka's and librdkafka's own
    /// timeouts, what production runs).
    #[arg(long, value_enum, default_value = "fast")]
    pub timing: Timing,
    /// Launch brokers under libfaketime (what the clock fault requires;
    /// a trial adds it by itself when its nemesis has clock faults).
    #[arg(long)]
    pub faketime: bool,
    /// Run the brokers on kt-lazyfs (what the lose-unfsynced and
    /// power-loss faults require; a trial adds it by itself when its
    /// nemesis has them): the same trial with and without it measures its
    /// cost.
    #[arg(long)]
    pub lazyfs: bool,
    /// A cluster you already run: its bootstrap servers. No cluster is
    /// built; the trial creates its own topic (`kt-trial-…`, unique per
    /// run; refused if it exists), reads the brokers' and the topic's
    /// configuration back for the promise model, and deletes the topic at
    /// the end. Faults only through --fault-hooks. See the README's
    /// "A cluster you already run".
    #[arg(long, value_name = "HOST:PORT[,…]")]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bootstrap: Option<String>,
    /// With --bootstrap: leave the trial's topic on the cluster at the end.
    #[arg(long)]
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub keep_topic: bool,
    /// With --bootstrap: a TOML file mapping the nemesis' actions (kill,
    /// restart, pause, resume, isolate, heal) to your own commands, per
    /// broker id (`{id}`, `{host}`); see the README.
    #[arg(long, value_name = "FILE")]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault_hooks: Option<PathBuf>,
}

/// The clients: driver and producer settings.
#[derive(Args, Debug, Clone, PartialEq, Serialize, Deserialize)]
#[command(next_help_heading = "Client")]
pub struct ClientSection {
    /// Client driver: rdkafka.
    #[arg(long, default_value = "rdkafka")]
    pub driver: String,
    /// Producer acks: all, 1 or 0 (default all, as Kafka's Java producer
    /// since 3.0 and librdkafka).
    #[arg(long, default_value = "all", value_parser = parse_acks)]
    pub acks: Acks,
    /// Idempotent producers (enable.idempotence; needs --acks all).
    /// Default as Kafka's Java producer since 3.0: on, unless acks is not
    /// `all` (then off, the way the Java producer drops it when
    /// idempotence is not set explicitly). `--idempotence false` turns it
    /// off with acks=all (librdkafka's own default).
    #[arg(long, num_args = 0..=1, default_missing_value = "true", action = clap::ArgAction::Set)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotence: Option<bool>,
    /// librdkafka message.timeout.ms: how long a send may be retried
    /// (default: the timing profile's, 10s with `fast`).
    #[arg(long, value_parser = parse_duration)]
    #[serde(with = "dur::opt", default)]
    pub message_timeout: Option<Duration>,
    /// librdkafka request.timeout.ms (default: the timing profile's).
    #[arg(long, value_parser = parse_duration)]
    #[serde(with = "dur::opt", default)]
    pub request_timeout: Option<Duration>,
    /// librdkafka producer property (repeatable), e.g. --producer-config linger.ms=5
    #[arg(long, value_name = "KEY=VALUE", value_parser = parse_pair)]
    #[serde(with = "pairs", default, skip_serializing_if = "Vec::is_empty")]
    pub producer_config: Vec<(String, String)>,
    /// librdkafka consumer property (repeatable).
    #[arg(long, value_name = "KEY=VALUE", value_parser = parse_pair)]
    #[serde(with = "pairs", default, skip_serializing_if = "Vec::is_empty")]
    pub consumer_config: Vec<(String, String)>,
    /// With --bootstrap: a property of every client and admin call
    /// (repeatable), e.g. --client-config security.protocol=SASL_PLAINTEXT;
    /// secrets (passwords, keys, sasl.jaas.config) are written `***`.
    #[arg(long, value_name = "KEY=VALUE", value_parser = parse_pair)]
    #[serde(with = "pairs", default, skip_serializing_if = "Vec::is_empty")]
    pub client_config: Vec<(String, String)>,
    /// With --bootstrap: client properties from a file (KEY=VALUE lines,
    /// read when the trial starts; --client-config wins).
    #[arg(long, value_name = "FILE")]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_config_file: Option<PathBuf>,
}

/// What every workload reads; the chosen workload's own options are the
/// table `options[kind]` (`[workload.<kind>]` in the file).
#[derive(Args, Debug, Clone, PartialEq, Serialize, Deserialize)]
#[command(next_help_heading = "Workload")]
pub struct WorkloadSection {
    /// Workload: queue (keyed sends and polls, final reads), txn
    /// (transactions of sends and polls committed with the consumed
    /// offsets, some aborted on purpose; final read_committed reads) or
    /// group (consumer-group members that subscribe, poll and commit).
    #[arg(long = "workload", default_value = "queue")]
    pub kind: String,
    /// Partitions of the test topic.
    #[arg(long, default_value_t = 3)]
    pub partitions: u32,
    /// Distinct keys the workers send under.
    #[arg(long, default_value_t = 16)]
    pub keys: u64,
    /// Worker (consumer) processes.
    #[arg(long, default_value_t = 10)]
    pub concurrency: usize,
    /// Target ops/s over all workers (0 = as fast as they go).
    #[arg(long, default_value_t = 200.0)]
    pub rate: f64,
    /// Share of operations that are sends (the rest are polls).
    #[arg(long, default_value_t = 0.5)]
    pub send_ratio: f64,
    /// Logical send processes sharing one producer, each with one send
    /// outstanding (so a stalled partition holds only the sends that went
    /// to it, and librdkafka batches across them); a send that ends `info`
    /// retires its process for a fresh one. The --concurrency processes
    /// only poll. At least 1; enough of them that a stalled partition
    /// cannot hold them all: stalled sends ≈
    /// send rate × share of sends to stalled partitions × fail-over time
    /// (100/s × 1/3 × 8 s ≈ 270 at the defaults).
    #[arg(long, default_value_t = 256)]
    pub senders: usize,
    /// Chance per operation (queue) or per poll with records (group) that a
    /// consumer process crashes: it closes its clients and a fresh process
    /// takes its place (group: after the poll, before processing it).
    #[arg(long, default_value_t = 0.005)]
    pub crash_probability: f64,
    /// How long to wait after heal for the cluster to recover.
    #[arg(long, default_value = "120s", value_parser = parse_duration)]
    #[serde(with = "dur")]
    pub recovery_timeout: Duration,
    /// Bound of each step of the final phase (e.g. a final read).
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    #[serde(with = "dur")]
    pub final_read_timeout: Duration,
    /// The chosen workload's own options, by workload name (one entry).
    #[arg(skip)]
    #[serde(flatten)]
    pub options: BTreeMap<String, Value>,
}

/// How the nemesis is driven: a seeded schedule of the fault kinds in
/// `faults` (each with its table of options), or a fixed `script`.
#[derive(Args, Debug, Clone, PartialEq, Serialize, Deserialize)]
#[command(next_help_heading = "Nemesis")]
pub struct NemesisSection {
    /// Faults to mix: partition,kill,pause,loss,clock,lose-unfsynced,power-loss, all, or none.
    #[arg(long = "nemesis", default_value = "none", value_parser = parse_kinds)]
    pub faults: FaultKinds,
    /// Mean time between nemesis actions (default: the timing profile's,
    /// 6s with `fast`, 10s with `kafka-defaults`).
    #[arg(long = "nemesis-interval", value_parser = parse_duration)]
    #[serde(with = "dur::opt", default)]
    pub interval: Option<Duration>,
    /// Each wait between actions is the interval ± this many percent.
    #[arg(long = "nemesis-jitter", default_value_t = 25)]
    pub jitter_percent: u32,
    /// Shortest fault of a generated schedule (default: the timing
    /// profile's, 3× its detection time: 9s with `fast`, none with
    /// `kafka-defaults`).
    #[arg(long, value_parser = parse_duration)]
    #[serde(with = "dur::opt", default)]
    pub min_fault_duration: Option<Duration>,
    /// Most faults active at once.
    #[arg(long = "max-concurrent-faults", default_value_t = 1)]
    pub max_concurrent: usize,
    #[arg(skip)]
    pub partition: Option<PartitionOptions>,
    #[arg(skip)]
    pub kill: Option<KillOptions>,
    #[arg(skip)]
    pub pause: Option<PauseOptions>,
    #[arg(skip)]
    pub loss: Option<LossOptions>,
    #[arg(skip)]
    pub clock: Option<ClockOptions>,
    #[arg(skip)]
    #[serde(rename = "lose-unfsynced")]
    pub lose_unfsynced: Option<LoseUnfsyncedOptions>,
    #[arg(skip)]
    #[serde(rename = "power-loss")]
    pub power_loss: Option<PowerLossOptions>,
    /// A fixed sequence of faults instead of a schedule (scenarios).
    #[arg(skip)]
    pub script: Option<Vec<ScriptStep>>,
    /// Faults exactly as a run planned them (`[[nemesis.schedule]]`:
    /// start, stop, seed and the fault), instead of a generated schedule
    /// (what `shrink` writes).
    #[arg(skip)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<Vec<crate::trial::fixed::FixedFault>>,
}

/// What is checked and how the verdict is given.
#[derive(Args, Debug, Clone, PartialEq, Serialize, Deserialize)]
#[command(next_help_heading = "Check")]
pub struct CheckSection {
    /// Which verdict decides the exit code: `anomalies` (1 when the
    /// checkers count any anomaly) or `promises` (1 only when Kafka broke
    /// a promise it makes for this configuration; a class the
    /// configuration permits, e.g. duplicates without idempotence, is
    /// reported but does not fail the run).
    #[arg(long, default_value = "anomalies", value_parser = parse_judge)]
    pub judge: trial_checkers::Judge,
    /// Check the history's linearizability against the `log` model (per
    /// partition; a violation is `nonlinearizable`, an undecided search is
    /// unknown for that checker only), or `off`.
    #[arg(long, value_enum, default_value_t = Linearizability::Log)]
    pub linearizability: Linearizability,
    /// Time budget of the linearizability search (e.g. 30s); default:
    /// scaled to the history, 10 s + 10 µs per operation.
    #[arg(long, value_parser = parse_duration)]
    #[serde(with = "dur::opt", default)]
    pub linear_budget: Option<Duration>,
    /// How often the observer samples leaders, ISR and the controller.
    #[arg(long, default_value = "500ms", value_parser = parse_duration)]
    #[serde(with = "dur")]
    pub observer_interval: Duration,
}

/// The value of `T`'s flags when none is given: their defaults, which are
/// also the defaults of a spec file that leaves them out.
pub fn flag_defaults<T: Args + FromArgMatches>() -> T {
    let cmd = T::augment_args(clap::Command::new("defaults").no_binary_name(true));
    let m = cmd
        .try_get_matches_from(std::iter::empty::<String>())
        .expect("every flag has a default");
    T::from_arg_matches(&m).expect("defaults parse")
}

/// The ids of `T`'s flags (each its field's name: its key in the file).
pub fn flag_ids<T: Args>() -> Vec<(String, String)> {
    T::augment_args(clap::Command::new("ids"))
        .get_arguments()
        .map(|a| {
            let long = a.get_long().unwrap_or(a.get_id().as_str()).to_string();
            (a.get_id().to_string(), long)
        })
        .collect()
}

impl Default for TrialSpec {
    fn default() -> Self {
        let mut s: TrialSpec = flag_defaults();
        s.normalize().expect("the defaults are a valid spec");
        s
    }
}

/// The table of a fault kind's options in the file (`[nemesis.<kind>]`).
pub const KIND_TABLES: [&str; 7] = [
    "partition",
    "kill",
    "pause",
    "loss",
    "clock",
    "lose-unfsynced",
    "power-loss",
];

impl TrialSpec {
    /// Give every chosen workload and fault kind its table (defaults
    /// where absent; the workload package checks and completes its own),
    /// and refuse tables of workloads or fault kinds the trial does not
    /// run.
    pub fn normalize(&mut self) -> Result<()> {
        // The workload's own table.
        let kind = self.workload.kind.clone();
        let pkg = crate::workloads::package(&kind).map_err(|e| anyhow!(e))?;
        if let Some(other) = self.workload.options.keys().find(|k| **k != kind) {
            bail!(
                "[workload.{other}]: those options do not apply to the {kind} workload this spec runs"
            );
        }
        let given = self
            .workload
            .options
            .remove(&kind)
            .unwrap_or(Value::Object(Map::new()));
        let table = pkg
            .options(&given)
            .map_err(|e| anyhow!("[workload.{kind}]: {e}"))?;
        self.workload.options.insert(kind, table);
        // The fault kinds' tables.
        let n = &mut self.nemesis;
        if n.schedule.is_some() && (n.script.is_some() || !n.faults.0.is_empty()) {
            bail!("[nemesis]: a fixed schedule and a script or generated faults at once");
        }
        if n.script.is_some() && !n.faults.0.is_empty() {
            bail!(
                "[nemesis]: a script and generated faults ({}) at once",
                n.faults
            );
        }
        macro_rules! table {
            ($field:ident, $kind:expr) => {{
                let on = n.faults.0.contains(&$kind);
                match (&n.$field, on) {
                    (None, true) => n.$field = Some(flag_defaults()),
                    (Some(_), false) => bail!(
                        "[nemesis.{}]: those options do not apply, the nemesis does not play {} faults (faults: {})",
                        $kind.name(),
                        $kind.name(),
                        n.faults
                    ),
                    _ => {}
                }
            }};
        }
        use trial_nemesis::FaultKind as K;
        table!(partition, K::Partition);
        table!(kill, K::Kill);
        table!(pause, K::Pause);
        table!(loss, K::Loss);
        table!(clock, K::Clock);
        table!(lose_unfsynced, K::LoseUnfsynced);
        table!(power_loss, K::PowerLoss);
        Ok(())
    }

    /// A spec from TOML (or JSON, if it starts with `{`): what it leaves
    /// out is the default; an unknown key, or options of a workload or a
    /// fault kind the spec does not run, are errors.
    pub fn parse(text: &str) -> Result<TrialSpec> {
        let given: Value = if text.trim_start().starts_with('{') {
            serde_json::from_str(text).context("the spec is not valid JSON")?
        } else {
            toml::from_str(text).context("the spec is not valid TOML")?
        };
        let mut base = serde_json::to_value(flag_defaults::<TrialSpec>())?;
        // Tables that only exist when chosen: no default to check against.
        if let Some(w) = base.get_mut("workload").and_then(Value::as_object_mut) {
            w.retain(|_, v| !v.is_object());
        }
        merge(&mut base, given, "")?;
        let mut s: TrialSpec = serde_json::from_value(base).map_err(|e| anyhow!("{e}"))?;
        s.normalize()?;
        Ok(s)
    }

    /// [`TrialSpec::parse`] of a file.
    pub fn load(path: &Path) -> Result<TrialSpec> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the spec {}", path.display()))?;
        TrialSpec::parse(&text).with_context(|| format!("spec {}", path.display()))
    }

    /// The spec as TOML (what `--print-spec` prints and `spec.toml` holds),
    /// secrets of `client_config` written `***`.
    pub fn to_toml(&self) -> String {
        toml::to_string(&self.redacted()).expect("a trial spec is always TOML")
    }

    /// The spec as a TOML table value (for the report), secrets `***`.
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self.redacted()).expect("a trial spec is always JSON")
    }

    /// This spec as it may be written: `client_config` secrets `***`.
    pub fn redacted(&self) -> TrialSpec {
        let mut s = self.clone();
        s.client.client_config = crate::external::secrets::redacted(&s.client.client_config);
        s
    }
}

/// The keys a table of the spec may have (its flags' ids).
fn known_keys(path: &str) -> Vec<String> {
    let ids = match path {
        "cluster" => flag_ids::<ClusterSection>(),
        "client" => flag_ids::<ClientSection>(),
        "workload" => flag_ids::<WorkloadSection>(),
        "nemesis" => flag_ids::<NemesisSection>(),
        "check" => flag_ids::<CheckSection>(),
        _ => vec![],
    };
    ids.into_iter().map(|(id, _)| id).collect()
}

/// Put `given` over `base`, refusing keys `base` does not have (the
/// workload's and the fault kinds' tables excepted: their packages check
/// them). `path` names the table for messages.
fn merge(base: &mut Value, given: Value, path: &str) -> Result<()> {
    let Value::Object(given) = given else {
        *base = given;
        return Ok(());
    };
    let Value::Object(b) = base else {
        *base = Value::Object(given);
        return Ok(());
    };
    for (k, v) in given {
        let here = if path.is_empty() {
            k.clone()
        } else {
            format!("{path}.{k}")
        };
        let open_table = (path == "workload" && v.is_object())
            || (path == "nemesis" && KIND_TABLES.contains(&k.as_str()))
            || (path == "nemesis" && (k == "script" || k == "schedule"));
        match b.get_mut(&k) {
            _ if open_table => {
                b.insert(k, v);
            }
            Some(slot) if !slot.is_null() && slot.is_object() => merge(slot, v, &here)?,
            Some(slot) => *slot = v,
            None if known_keys(path).contains(&k) => {
                b.insert(k, v);
            }
            None => bail!("unknown option `{here}` in the spec"),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
