//! `kafka-trial test` and `kafka-trial scenario`: run a trial from the
//! command line.

use crate::client::Acks;
use crate::cmd::cluster::{parse_pairs, ClusterArgs};
use crate::exit;
use crate::runner::{self, NemesisPlan, ScriptFault, ScriptStep, TestSpec, Who};
use crate::workload::SubVia;
use anyhow::{bail, Result};
use clap::{Args, Subcommand};
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;
use trial_nemesis::{NemesisOptions, Target, Topology};

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
    /// Workload: `queue` (keyed sends and polls, final reads).
    #[arg(long, default_value = "queue")]
    pub workload: String,
    /// Partitions of the test topic.
    #[arg(long, default_value_t = 3)]
    pub partitions: u32,
    /// Distinct keys the workers send under.
    #[arg(long, default_value_t = 16)]
    pub keys: u64,
    /// How consumers get partitions: assign (manual) or subscribe (group).
    #[arg(long, value_enum, default_value = "assign")]
    pub sub_via: SubVia,
    /// Faults to mix: partition,kill,pause,loss,clock, all, or none.
    #[arg(long, default_value = "none")]
    pub nemesis: String,
    /// Mean time between nemesis actions.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub nemesis_interval: Duration,
    /// Partition topologies: halves,one,majority,majorities-ring,bridge,primaries,controller.
    #[arg(long)]
    pub partition_topologies: Option<String>,
    /// Targets of kill: one,minority,majority,all,leaders,controller,replicas-but-one.
    #[arg(long)]
    pub kill_targets: Option<String>,
    /// Targets of pause (same names as kill).
    #[arg(long)]
    pub pause_targets: Option<String>,
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
    /// Pipelined senders: N send-only processes sharing one producer, each
    /// with one send outstanding, so librdkafka batches across them; the
    /// --concurrency workers then only poll. 0: every worker sends and polls.
    #[arg(long, default_value_t = 0)]
    pub pipeline: usize,
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
    /// librdkafka message.timeout.ms: how long a send may be retried.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub message_timeout: Duration,
    /// Print the nemesis schedule and exit, touching no cluster.
    #[arg(long)]
    pub dry_run: bool,
}

impl TestArgs {
    pub fn spec(&self, store: &Path) -> Result<TestSpec> {
        if self.workload != "queue" {
            bail!(
                "unknown workload {:?}: the workload is `queue`",
                self.workload
            );
        }
        let mut o = NemesisOptions {
            kinds: self.nemesis.parse().map_err(|e| anyhow::anyhow!("{e}"))?,
            interval: self.nemesis_interval,
            max_concurrent: self.max_concurrent_faults,
            ..Default::default()
        };
        if let Some(t) = &self.partition_topologies {
            o.topologies = trial_nemesis::parse_list(t).map_err(|e| anyhow::anyhow!("{e}"))?;
        }
        if let Some(t) = &self.kill_targets {
            o.kill_targets = trial_nemesis::parse_list(t).map_err(|e| anyhow::anyhow!("{e}"))?;
        }
        if let Some(t) = &self.pause_targets {
            o.pause_targets = trial_nemesis::parse_list(t).map_err(|e| anyhow::anyhow!("{e}"))?;
        }
        let mut cluster = self.cluster.spec()?;
        if o.kinds.contains(trial_nemesis::FaultKind::Clock) {
            cluster.faketime = true;
        }
        let mut spec = TestSpec::new(&self.name);
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
        spec.pipeline = self.pipeline;
        spec.seed = self.seed;
        spec.message_timeout = self.message_timeout;
        spec.producer_overrides = parse_pairs(&self.producer_config, "--producer-config")?;
        spec.consumer_overrides = parse_pairs(&self.consumer_config, "--consumer-config")?;
        spec.store = store.to_path_buf();
        spec.progress = true;
        spec.command = Some(command_line());
        spec.validate()?;
        Ok(spec)
    }
}

fn command_line() -> String {
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
    let report = runner::run(spec).await?;
    print!("{}", runner::summary(&report));
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

/// A named, documented test preset.
pub struct Scenario {
    pub name: &'static str,
    pub purpose: &'static str,
    /// What the suite expects Kafka to do: `valid` or the anomaly it should find.
    pub expected: &'static str,
    pub build: fn(TestSpec) -> TestSpec,
}

fn opts(kinds: &str, f: impl FnOnce(&mut NemesisOptions)) -> NemesisPlan {
    let mut o = NemesisOptions {
        kinds: kinds.parse().expect("scenario fault kinds are valid"),
        interval: Duration::from_secs(8),
        ..Default::default()
    };
    f(&mut o);
    NemesisPlan::Generated(o)
}

/// The unclean-election sequence on partition 0: pause its followers,
/// let the leader acknowledge alone, kill it, resume the followers (one of
/// them becomes leader without the acknowledged records), restart it.
pub fn unclean_script(t: Duration) -> Vec<ScriptStep> {
    let at = |f: f64| Duration::from_secs_f64(t.as_secs_f64() * f);
    vec![
        ScriptStep {
            at: at(0.15),
            id: 0,
            start: true,
            fault: ScriptFault::Pause,
            who: Who::FollowersOf(0),
        },
        ScriptStep {
            at: at(0.40),
            id: 1,
            start: true,
            fault: ScriptFault::Kill,
            who: Who::LeaderOf(0),
        },
        ScriptStep {
            at: at(0.42),
            id: 0,
            start: false,
            fault: ScriptFault::Pause,
            who: Who::FollowersOf(0),
        },
        ScriptStep {
            at: at(0.85),
            id: 1,
            start: false,
            fault: ScriptFault::Kill,
            who: Who::LeaderOf(0),
        },
    ]
}

pub const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "safe",
        purpose: "RF 3, acks=all, min.insync 2, idempotence; partitions, kills and pauses: Kafka keeps every acknowledged write",
        expected: "valid",
        build: |mut s| {
            s.cluster.replication_factor = 3;
            s.cluster.min_insync_replicas = 2;
            s.acks = Acks::All;
            s.idempotence = true;
            s.nemesis = opts("partition,kill,pause", |_| {});
            s
        },
    },
    Scenario {
        name: "acks-1-leader-kill",
        purpose: "acks=1 and the partition leaders SIGKILLed: writes acknowledged by a leader alone die with it",
        expected: "lost-write",
        build: |mut s| {
            s.cluster.replication_factor = 3;
            s.cluster.min_insync_replicas = 1;
            s.acks = Acks::One;
            s.idempotence = false;
            s.rate = 1000.0;
            s.concurrency = 20;
            s.send_ratio = 0.8;
            s.nemesis = opts("kill", |o| {
                o.kill_targets = vec![Target::Leaders];
                o.interval = Duration::from_secs(6);
            });
            s
        },
    },
    Scenario {
        name: "unclean-election",
        purpose: "unclean election on, min.insync 1, acks=1: followers paused, the leader acknowledges alone and is killed, a stale follower takes over",
        expected: "lost-write",
        build: |mut s| {
            s.cluster.replication_factor = 3;
            s.cluster.min_insync_replicas = 1;
            s.cluster.unclean_leader_election = true;
            s.acks = Acks::One;
            s.idempotence = false;
            s.partitions = 1;
            s.send_ratio = 0.8;
            s.nemesis = NemesisPlan::Script(unclean_script(s.time_limit));
            s
        },
    },
    Scenario {
        name: "minority-partition",
        purpose: "the partition leaders isolated on the minority side; with acks=all and min.insync 2 the majority takes over and nothing acknowledged is lost",
        expected: "valid",
        build: |mut s| {
            s.cluster.replication_factor = 3;
            s.cluster.min_insync_replicas = 2;
            s.acks = Acks::All;
            s.idempotence = true;
            s.nemesis = opts("partition", |o| {
                o.topologies = vec![Topology::Primaries];
                o.interval = Duration::from_secs(10);
            });
            s
        },
    },
];

#[derive(Subcommand, Debug)]
pub enum ScenarioCmd {
    /// List the named scenarios: name, purpose, expected verdict.
    List,
    /// Run a named scenario (its preset, then these overrides).
    Run(ScenarioRunArgs),
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
    #[arg(long, value_parser = parse_duration)]
    pub nemesis_interval: Option<Duration>,
    /// Print the nemesis schedule and exit.
    #[arg(long)]
    pub dry_run: bool,
}

pub fn scenario_spec(store: &Path, a: &ScenarioRunArgs) -> Result<TestSpec> {
    let Some(sc) = SCENARIOS.iter().find(|s| s.name == a.name) else {
        let names: Vec<&str> = SCENARIOS.iter().map(|s| s.name).collect();
        bail!("unknown scenario {:?}; known: {}", a.name, names.join(", "));
    };
    let mut base = TestSpec::new(sc.name);
    if let Some(t) = a.time_limit {
        base.time_limit = t;
    }
    let mut spec = (sc.build)(base);
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
    if let Some(v) = &a.kafka_version {
        spec.cluster.kafka_version = Some(v.clone());
    }
    if let (Some(i), NemesisPlan::Generated(o)) = (a.nemesis_interval, &mut spec.nemesis) {
        o.interval = i;
    }
    spec.store = store.to_path_buf();
    spec.progress = true;
    spec.command = Some(command_line());
    spec.validate()?;
    Ok(spec)
}

pub async fn scenario(store: &Path, cmd: ScenarioCmd) -> Result<ExitCode> {
    match cmd {
        ScenarioCmd::List => {
            println!("{:<20} {:<11} purpose", "name", "expected");
            for s in SCENARIOS {
                println!("{:<20} {:<11} {}", s.name, s.expected, s.purpose);
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
                "scenario {}: {} (expected: {})",
                sc.name, sc.purpose, sc.expected
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
    fn every_scenario_builds_a_valid_spec() {
        for s in SCENARIOS {
            let a = ScenarioRunArgs {
                name: s.name.to_string(),
                seed: Some(3),
                time_limit: None,
                rate: None,
                concurrency: None,
                nodes: None,
                kafka_version: None,
                nemesis_interval: None,
                dry_run: true,
            };
            let spec = scenario_spec(Path::new("store"), &a).unwrap();
            assert_eq!(spec.name, s.name);
            assert_eq!(spec.seed, 3);
        }
    }
}
