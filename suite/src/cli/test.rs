//! `kafka-trial test` and `kafka-trial scenario`: run a trial from the
//! command line.

use super::cluster::{parse_pairs, ClusterArgs};
use super::exit;
use crate::clients::{Acks, Isolation};
use crate::trial::{self, Linearizability, NemesisPlan, TestSpec, SCENARIOS};
use crate::workloads::SubVia;
use anyhow::{bail, Result};
use clap::{Args, Subcommand};
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

/// Parse `90`, `90s`, `500ms`, `2m`, `1h`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, unit) = match s.find(|c: char| !(c.is_ascii_digit() || c == '.')) {
        Some(i) => (&s[..i], &s[i..]),
        None => (s, "s"),
    };
    let n: f64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a duration such as 30s, 500ms or 2m"))?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => return Err(format!("{s:?}: unknown unit {unit:?} (ms, s, m, h)")),
    };
    if !secs.is_finite() || secs < 0.0 {
        return Err(format!("{s:?} is not a valid duration"));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// Parse `--commit`.
/// `--judge promises` on a command line (the default says nothing).
fn opt_judge(w: &mut Vec<String>, judge: Option<trial_checkers::Judge>) {
    if let Some(j) = judge.filter(|j| *j != trial_checkers::Judge::default()) {
        w.push("--judge".into());
        w.push(j.as_str().into());
    }
}

/// `--judge anomalies|promises`.
pub fn parse_judge(s: &str) -> Result<trial_checkers::Judge, String> {
    s.parse()
}

pub fn parse_commit(s: &str) -> Result<trial_histories::values::CommitMode, String> {
    use trial_histories::values::CommitMode;
    match s {
        "sync" => Ok(CommitMode::Sync),
        "async" => Ok(CommitMode::Async),
        "auto" => Ok(CommitMode::Auto),
        _ => Err(format!("{s:?}: commit is sync, async or auto")),
    }
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

/// Every option of a trial.
#[derive(Args, Debug, Clone)]
pub struct TestArgs {
    /// Name of the test (the run folder is `<store>/<name>/<timestamp>`).
    #[arg(long, default_value = "queue")]
    pub name: String,
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Producer acks: all, 1 or 0.
    #[arg(long, default_value = "all")]
    pub acks: Acks,
    /// Idempotent producers (enable.idempotence=true; needs --acks all).
    #[arg(long)]
    pub idempotence: bool,
    /// Partitions of the test topic.
    #[arg(long, default_value_t = 3)]
    pub partitions: u32,
    /// Distinct keys the workers send under.
    #[arg(long, default_value_t = 16)]
    pub keys: u64,
    /// How consumers get partitions: assign (manual) or subscribe (group).
    #[arg(long, value_enum, default_value = "assign")]
    pub sub_via: SubVia,
    /// Faults to mix: partition,kill,pause,loss,clock,lose-unfsynced,power-loss, all, or none.
    #[arg(long, default_value = "none")]
    pub nemesis: String,
    /// Mean time between nemesis actions (default: the timing profile's,
    /// 6s with `fast`, 10s with `kafka-defaults`).
    #[arg(long, value_parser = parse_duration)]
    pub nemesis_interval: Option<Duration>,
    /// Shortest fault of a generated schedule (default: the timing
    /// profile's, 3× its detection time: 9s with `fast`, none with
    /// `kafka-defaults`).
    #[arg(long, value_parser = parse_duration)]
    pub min_fault_duration: Option<Duration>,
    /// Partition topologies: halves,one,majority,majorities-ring,bridge,primaries,controller
    /// (among brokers), group-coordinator (its workload's consumer group's coordinator alone;
    /// never in the default mix), and with --mode zookeeper zk-all-brokers,zk-one-broker,zk-leader
    /// (brokers cut from the ensemble; in the default mix of a ZooKeeper-mode run).
    #[arg(long)]
    pub partition_topologies: Option<String>,
    /// Targets of kill: one,minority,majority,all,leaders,controller,replicas-but-one,coordinator,
    /// group-coordinator (brokers; the last two need transactions / a consumer group), and with
    /// --mode zookeeper zk-one,zk-majority,zk-leader (the ZooKeeper server of ensemble members).
    /// Default: the first seven, plus zk-one,zk-leader in ZooKeeper mode.
    #[arg(long)]
    pub kill_targets: Option<String>,
    /// Targets of pause (same names and defaults as kill).
    #[arg(long)]
    pub pause_targets: Option<String>,
    /// Targets of lose-unfsynced: one,minority,majority,all,leaders,replicas-but-one.
    #[arg(long)]
    pub lose_unfsynced_targets: Option<String>,
    /// Targets of power-loss (same names; default majority,all).
    #[arg(long)]
    pub power_loss_targets: Option<String>,
    /// Most faults active at once.
    #[arg(long, default_value_t = 1)]
    pub max_concurrent_faults: usize,
    /// Workload (and fault period) duration.
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    pub time_limit: Duration,
    /// Target ops/s over all workers (0 = as fast as they go).
    #[arg(long, default_value_t = 200.0)]
    pub rate: f64,
    /// Worker processes.
    #[arg(long, default_value_t = 10)]
    pub concurrency: usize,
    /// Logical send processes sharing one producer, each with one send
    /// outstanding (so a stalled partition holds only the sends that went
    /// to it, and librdkafka batches across them); a send that ends `info`
    /// retires its process for a fresh one. The --concurrency processes
    /// then only poll. 0: the --concurrency processes send and poll, one
    /// blocking send at a time. (`--pipeline` is the old name.) Enough of
    /// them that a stalled partition cannot hold them all: stalled sends ≈
    /// send rate × share of sends to stalled partitions × fail-over time
    /// (100/s × 1/3 × 8 s ≈ 270 at the defaults).
    #[arg(long, alias = "pipeline", default_value_t = 256)]
    pub senders: usize,
    /// Workload: queue (keyed sends and polls, final reads) or txn
    /// (transactions of sends and polls committed with the consumed
    /// offsets, some aborted on purpose; final read_committed reads).
    #[arg(long, default_value = "queue")]
    pub workload: String,
    /// txn workload: the consumers' isolation.level, read_committed or
    /// read_uncommitted (the final reads are always read_committed).
    #[arg(long, default_value = "read_committed", value_parser = parse_isolation)]
    pub isolation: Isolation,
    /// txn workload: chance that a transaction is aborted on purpose.
    #[arg(long, default_value_t = crate::workloads::default_abort_probability())]
    pub abort_probability: f64,
    /// group workload: group.protocol, classic or consumer (KIP-848, Kafka ≥ 4.0).
    #[arg(long, value_enum, default_value = "classic")]
    pub group_protocol: crate::clients::GroupProtocol,
    /// group workload: the assignor (classic: range, roundrobin,
    /// cooperative-sticky; consumer: uniform, range). Default: the client's.
    #[arg(long)]
    pub assignor: Option<String>,
    /// group workload: how members commit: sync (after each poll), async, auto.
    #[arg(long, default_value = "sync", value_parser = parse_commit)]
    pub commit: trial_histories::values::CommitMode,
    /// Chance per operation (queue) or per poll with records (group) that a
    /// consumer process crashes: it closes its clients and a fresh process
    /// takes its place (group: after the poll, before processing it).
    #[arg(long, default_value_t = 0.005)]
    pub crash_probability: f64,
    /// group workload: chance per poll that a member leaves and a new one
    /// joins 1–3 s later.
    #[arg(long, default_value_t = 0.0)]
    pub churn_probability: f64,
    /// group workload: chance per poll that a member stalls past
    /// max.poll.interval.ms before committing.
    #[arg(long, default_value_t = 0.0)]
    pub stall_probability: f64,
    /// Client driver: rdkafka.
    #[arg(long, default_value = "rdkafka")]
    pub driver: String,
    /// How often the observer samples leaders, ISR and the controller.
    #[arg(long, default_value = "500ms", value_parser = parse_duration)]
    pub observer_interval: Duration,
    /// Share of operations that are sends (the rest are polls).
    #[arg(long, default_value_t = 0.5)]
    pub send_ratio: f64,
    /// Seed of the workload and the nemesis schedule.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// librdkafka producer property (repeatable), e.g. --producer-config linger.ms=5
    #[arg(long = "producer-config", value_name = "KEY=VALUE")]
    pub producer_config: Vec<String>,
    /// librdkafka consumer property (repeatable).
    #[arg(long = "consumer-config", value_name = "KEY=VALUE")]
    pub consumer_config: Vec<String>,
    /// librdkafka message.timeout.ms: how long a send may be retried
    /// (default: the timing profile's, 10s with `fast`).
    #[arg(long, value_parser = parse_duration)]
    pub message_timeout: Option<Duration>,
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
    pub linear_budget: Option<Duration>,
    /// Print the nemesis schedule and exit, touching no cluster.
    #[arg(long)]
    pub dry_run: bool,
}

impl TestArgs {
    pub fn spec(&self, store: &Path) -> Result<TestSpec> {
        let timing = self.cluster.timing;
        let mut o = timing.nemesis_defaults();
        o.kinds = self.nemesis.parse()?;
        o.max_concurrent = self.max_concurrent_faults;
        if let Some(i) = self.nemesis_interval {
            o.interval = i;
        }
        if let Some(d) = self.min_fault_duration {
            o.min_fault_duration = d;
        }
        if let Some(t) = &self.partition_topologies {
            o.topologies = trial_nemesis::parse_list(t)?;
        }
        if let Some(t) = &self.kill_targets {
            o.kill_targets = trial_nemesis::parse_list(t)?;
        }
        if let Some(t) = &self.pause_targets {
            o.pause_targets = trial_nemesis::parse_list(t)?;
        }
        if let Some(t) = &self.lose_unfsynced_targets {
            o.lose_unfsynced_targets = trial_nemesis::parse_list(t)?;
        }
        if let Some(t) = &self.power_loss_targets {
            o.power_loss_targets = trial_nemesis::parse_list(t)?;
        }
        let cluster = self.cluster.spec()?;
        let mut spec = TestSpec::new(&self.name).timing(timing);
        spec.cluster = cluster;
        spec.acks = self.acks;
        spec.idempotence = self.idempotence;
        spec.partitions = self.partitions;
        spec.keys = self.keys;
        spec.sub_via = self.sub_via;
        spec.nemesis = NemesisPlan::Generated(o);
        spec.time_limit = self.time_limit;
        spec.rate = self.rate;
        spec.concurrency = self.concurrency;
        spec.send_ratio = self.send_ratio;
        spec.senders = self.senders;
        spec.workload = self.workload.clone();
        spec.isolation = self.isolation;
        spec.abort_probability = self.abort_probability;
        spec.crash_probability = self.crash_probability;
        spec.group = crate::workloads::GroupOptions {
            protocol: self.group_protocol,
            assignor: self.assignor.clone(),
            commit: self.commit,
            churn_probability: self.churn_probability,
            stall_probability: self.stall_probability,
        };
        spec.driver = self.driver.clone();
        spec.observer_interval = self.observer_interval;
        spec.seed = self.seed;
        if let Some(m) = self.message_timeout {
            spec.message_timeout = m;
        }
        spec.producer_overrides = parse_pairs(&self.producer_config, "--producer-config")?;
        spec.consumer_overrides = parse_pairs(&self.consumer_config, "--consumer-config")?;
        spec.store = store.to_path_buf();
        spec.progress = true;
        spec.command = Some(command_line());
        spec.judge = self.judge;
        spec.linearizability = self.linearizability;
        spec.linear_budget = self.linear_budget;
        spec.validate()?;
        Ok(spec)
    }
}

/// This process's command line, quoted for a shell.
pub fn command_line() -> String {
    std::env::args()
        .map(|a| {
            if a.is_empty() || a.contains(|c: char| c.is_whitespace() || "'\"$`\\".contains(c)) {
                format!("'{}'", a.replace('\'', "'\\''"))
            } else {
                a
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Run a spec, print the summary, return the verdict's exit code.
pub async fn run_spec(spec: TestSpec, dry_run: bool) -> Result<ExitCode> {
    if dry_run {
        match spec.planned_schedule()? {
            Some(s) => println!("{s}"),
            None => println!("scripted nemesis: {:#?}", spec.nemesis),
        }
        return Ok(exit::code(exit::VALID));
    }
    let report = trial::run(spec).await?;
    print!("{}", trial::summary(&report));
    Ok(exit::code(report.exit_code))
}

pub async fn test(store: &Path, a: TestArgs) -> Result<ExitCode> {
    let spec = match a.spec(store) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("kafka-trial: {e:#}");
            return Ok(exit::code(exit::HARNESS));
        }
    };
    run_spec(spec, a.dry_run).await
}

#[derive(Subcommand, Debug)]
pub enum ScenarioCmd {
    /// List the named scenarios: name, purpose, expected verdict.
    List,
    /// Run a named scenario (its preset, then these overrides).
    Run(Box<ScenarioRunArgs>),
}

#[derive(Args, Debug)]
pub struct ScenarioRunArgs {
    /// Scenario name (see `scenario list`).
    pub name: String,
    #[arg(long)]
    pub seed: Option<u64>,
    #[arg(long, value_parser = parse_duration)]
    pub time_limit: Option<Duration>,
    #[arg(long)]
    pub rate: Option<f64>,
    #[arg(long)]
    pub concurrency: Option<usize>,
    #[arg(long)]
    pub nodes: Option<usize>,
    #[arg(long)]
    pub kafka_version: Option<String>,
    /// `kraft` or `zookeeper` (default: the scenario's, else the release's).
    #[arg(long)]
    pub mode: Option<crate::kafka::Mode>,
    #[arg(long, value_parser = parse_duration)]
    pub nemesis_interval: Option<Duration>,
    /// Run on these machines over SSH (see `test --hosts`); the node
    /// counts and roles come from the file instead of the scenario's.
    #[arg(long, value_name = "FILE")]
    pub hosts: Option<std::path::PathBuf>,
    /// txn workload: the consumers' isolation.level.
    #[arg(long, value_parser = parse_isolation)]
    pub isolation: Option<Isolation>,
    /// txn workload: chance that a transaction is aborted on purpose.
    #[arg(long)]
    pub abort_probability: Option<f64>,
    /// group scenarios: group.protocol, classic or consumer (KIP-848).
    #[arg(long, value_enum)]
    pub group_protocol: Option<crate::clients::GroupProtocol>,
    /// Run the brokers on kt-lazyfs even when the scenario has no
    /// filesystem fault (the same trial with and without it measures its
    /// cost).
    #[arg(long)]
    pub lazyfs: bool,
    /// Which verdict decides the exit code: `anomalies` (default) or
    /// `promises` (1 only for a broken promise of this configuration).
    #[arg(long, value_parser = parse_judge)]
    pub judge: Option<trial_checkers::Judge>,
    /// Linearizability against the `log` model (default) or `off`.
    #[arg(long, value_enum)]
    pub linearizability: Option<Linearizability>,
    /// Time budget of the linearizability search; default: scaled to the
    /// history.
    #[arg(long, value_parser = parse_duration)]
    pub linear_budget: Option<Duration>,
    /// Print the nemesis schedule and exit.
    #[arg(long)]
    pub dry_run: bool,
}

impl ScenarioRunArgs {
    /// `scenario run NAME` with no overrides.
    pub fn named(name: &str) -> ScenarioRunArgs {
        ScenarioRunArgs {
            name: name.to_string(),
            seed: None,
            time_limit: None,
            rate: None,
            concurrency: None,
            nodes: None,
            kafka_version: None,
            mode: None,
            nemesis_interval: None,
            hosts: None,
            isolation: None,
            abort_probability: None,
            group_protocol: None,
            lazyfs: false,
            judge: None,
            linearizability: None,
            linear_budget: None,
            dry_run: false,
        }
    }

    /// The `scenario run` command line these arguments are (what a matrix
    /// cell writes into its test.json, so its report repeats that one run).
    pub fn command_line(&self, store: &Path) -> String {
        use crate::report::escape::shell_word;
        let secs = |d: Duration| format!("{}s", d.as_secs_f64());
        let mut w: Vec<String> = vec!["kafka-trial".into()];
        w.push("--store".into());
        w.push(shell_word(&store.display().to_string()));
        w.extend(["scenario".into(), "run".into(), shell_word(&self.name)]);
        let mut opt = |flag: &str, v: Option<String>| {
            if let Some(v) = v {
                w.push(flag.to_string());
                w.push(shell_word(&v));
            }
        };
        opt("--seed", self.seed.map(|x| x.to_string()));
        opt("--time-limit", self.time_limit.map(secs));
        opt("--rate", self.rate.map(|x| x.to_string()));
        opt("--concurrency", self.concurrency.map(|x| x.to_string()));
        opt("--nodes", self.nodes.map(|x| x.to_string()));
        opt("--kafka-version", self.kafka_version.clone());
        opt("--mode", self.mode.map(|m| m.to_string()));
        opt("--nemesis-interval", self.nemesis_interval.map(secs));
        opt(
            "--hosts",
            self.hosts.as_ref().map(|h| h.display().to_string()),
        );
        opt(
            "--isolation",
            self.isolation.map(|i| match i {
                Isolation::ReadCommitted => "read_committed".to_string(),
                Isolation::ReadUncommitted => "read_uncommitted".to_string(),
            }),
        );
        opt(
            "--abort-probability",
            self.abort_probability.map(|x| x.to_string()),
        );
        opt(
            "--group-protocol",
            self.group_protocol.map(|p| p.as_str().to_string()),
        );
        opt(
            "--linearizability",
            self.linearizability
                .filter(|l| *l != Linearizability::Log)
                .map(|_| "off".to_string()),
        );
        opt("--linear-budget", self.linear_budget.map(secs));
        if self.lazyfs {
            w.push("--lazyfs".into());
        }
        opt_judge(&mut w, self.judge);
        w.join(" ")
    }
}

/// The spec `scenario run` runs: the scenario's preset, then the
/// overrides of `a`, validated (impossible release and mode pairs
/// refused). test.json's `command` is this process's command line.
pub fn scenario_spec(store: &Path, a: &ScenarioRunArgs) -> Result<TestSpec> {
    scenario_spec_with(store, a, command_line())
}

/// [`scenario_spec`] with the command line that repeats the run given
/// (`matrix` builds every cell through here, each with its own
/// `scenario run` line).
pub fn scenario_spec_with(store: &Path, a: &ScenarioRunArgs, command: String) -> Result<TestSpec> {
    let Some(sc) = SCENARIOS.iter().find(|s| s.name == a.name) else {
        let names: Vec<&str> = SCENARIOS.iter().map(|s| s.name).collect();
        bail!("unknown scenario {:?}; known: {}", a.name, names.join(", "));
    };
    let mut base = TestSpec::new(sc.name);
    if let Some(t) = a.time_limit {
        base.time_limit = t;
    }
    let mut spec = sc.spec(base);
    if let Some(j) = a.judge {
        spec.judge = j;
    }
    if let Some(l) = a.linearizability {
        spec.linearizability = l;
    }
    if let Some(b) = a.linear_budget {
        spec.linear_budget = Some(b);
    }
    if let Some(s) = a.seed {
        spec.seed = s;
    }
    if let Some(r) = a.rate {
        spec.rate = r;
    }
    if let Some(c) = a.concurrency {
        spec.concurrency = c;
    }
    if let Some(n) = a.nodes {
        spec.cluster.nodes = n;
    }
    if let Some(i) = a.isolation {
        spec.isolation = i;
    }
    if let Some(p) = a.abort_probability {
        spec.abort_probability = p;
    }
    if let Some(p) = a.group_protocol {
        spec.group.protocol = p;
    }
    if let Some(v) = &a.kafka_version {
        spec.cluster.kafka_version = Some(v.clone());
    }
    if let Some(m) = a.mode {
        spec.cluster.mode = Some(m);
    }
    if let (Some(i), NemesisPlan::Generated(o)) = (a.nemesis_interval, &mut spec.nemesis) {
        o.interval = i;
    }
    if a.lazyfs {
        spec.cluster.requirements = spec
            .cluster
            .requirements
            .union(&trial_nemesis::requirements(&trial_nemesis::FaultKinds(
                [trial_nemesis::FaultKind::LoseUnfsynced].into(),
            )));
    }
    if let Some(h) = &a.hosts {
        // The file decides the shape; the scenario's own metadata mode
        // must agree with it (a ZooKeeper scenario needs zookeeper hosts).
        let hosts = crate::platform::ssh::HostsFile::load(h)?;
        let file_mode = hosts.shape()?.mode;
        if let (Some(m), None) = (sc.spec(TestSpec::new(sc.name)).cluster.mode, a.mode) {
            if m != file_mode {
                bail!(
                    "scenario {} runs in {m} mode; the hosts file {} describes a {file_mode} cluster",
                    sc.name,
                    h.display()
                );
            }
        }
        let shape = &mut spec.cluster;
        shape.controllers = None;
        shape.split_roles = false;
        shape.zookeeper = None;
        shape.mode = None;
        hosts.apply(
            shape,
            &crate::platform::ssh::ShapeFlags {
                nodes: a.nodes,
                mode: a.mode,
                ..Default::default()
            },
        )?;
    }
    spec.store = store.to_path_buf();
    spec.progress = true;
    spec.command = Some(command);
    spec.validate()?;
    Ok(spec)
}

pub async fn scenario(store: &Path, cmd: ScenarioCmd) -> Result<ExitCode> {
    match cmd {
        ScenarioCmd::List => {
            println!("{:<26} {:<11} purpose", "name", "expected");
            for s in SCENARIOS {
                println!("{:<26} {:<11} {}", s.name, s.expected, s.purpose);
                println!("{:<26} promises tested: {}", "", s.promises.join(", "));
                if let Some(b) = &s.bug {
                    println!(
                        "{:<26} {} affects {}; fixed in {}; runs {} ({}) by default",
                        "",
                        b.ticket,
                        b.affects,
                        b.fixed_in,
                        b.default_version,
                        b.default_mode.name()
                    );
                }
            }
            Ok(exit::code(exit::VALID))
        }
        ScenarioCmd::Run(a) => {
            let spec = match scenario_spec(store, &a) {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("kafka-trial: {e:#}");
                    return Ok(exit::code(exit::HARNESS));
                }
            };
            let sc = SCENARIOS
                .iter()
                .find(|s| s.name == a.name)
                .expect("checked");
            eprintln!(
                "scenario {}: {} (expected: {}; promises tested: {})",
                sc.name,
                sc.purpose,
                sc.expected,
                sc.promises.join(", ")
            );
            run_spec(spec, a.dry_run).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("10s").unwrap(), Duration::from_secs(10));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("7").unwrap(), Duration::from_secs(7));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("5y").is_err());
    }

    #[test]
    fn isolation_parses() {
        assert_eq!(
            parse_isolation("read_uncommitted").unwrap(),
            Isolation::ReadUncommitted
        );
        assert_eq!(
            parse_isolation("read-committed").unwrap(),
            Isolation::ReadCommitted
        );
        assert!(parse_isolation("serializable").is_err());
    }

    #[test]
    fn linearizability_flags_reach_the_spec_its_check_and_the_command_line() {
        let a = ScenarioRunArgs {
            linearizability: Some(Linearizability::Off),
            linear_budget: Some(Duration::from_secs(7)),
            ..ScenarioRunArgs::named("safe")
        };
        let spec = scenario_spec(Path::new("store"), &a).unwrap();
        assert_eq!(spec.linearizability, Linearizability::Off);
        assert!(spec.linear_check(Default::default()).linear_model.is_none());
        let line = a.command_line(Path::new("store"));
        assert!(
            line.contains("--linearizability off --linear-budget 7s"),
            "{line}"
        );
        // The default: the log model within a budget scaled to the history,
        // in test.json so that `check RUN` does the same.
        let spec = scenario_spec(Path::new("store"), &ScenarioRunArgs::named("safe")).unwrap();
        let o = spec.linear_check(Default::default());
        assert_eq!(
            (o.linear_model.as_deref(), o.linear_scaled_budget),
            (Some("log"), true)
        );
        let json = serde_json::to_value(&spec).unwrap();
        assert_eq!(json["linearizability"], "log");
        let o = trial_checkers::CheckOptions::for_test_json(&json).unwrap();
        assert_eq!(
            (o.linear_model.as_deref(), o.linear_scaled_budget),
            (Some("log"), true)
        );
        let mut fixed = spec.clone();
        fixed.linear_budget = Some(Duration::from_millis(1500));
        let json = serde_json::to_value(&fixed).unwrap();
        assert_eq!(json["linear_budget"], 1.5);
        let back: TestSpec = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(back.linear_budget, Some(Duration::from_millis(1500)));
        let o = trial_checkers::CheckOptions::for_test_json(&json).unwrap();
        assert_eq!(
            (o.linear_scaled_budget, o.linear_time_limit),
            (false, Duration::from_millis(1500))
        );
    }

    #[test]
    fn every_scenario_builds_a_valid_spec() {
        for s in SCENARIOS {
            let a = ScenarioRunArgs {
                seed: Some(3),
                lazyfs: s.name == "safe",
                dry_run: true,
                ..ScenarioRunArgs::named(s.name)
            };
            let spec = scenario_spec(Path::new("store"), &a).unwrap();
            assert_eq!(spec.name, s.name);
            assert_eq!(spec.seed, 3);
            if s.name == "safe" {
                assert!(spec.cluster.requirements.tools.contains("kt-lazyfs"));
            }
        }
    }
}
