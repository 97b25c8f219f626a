//! # trial-checkers
//!
//! Pure analysis of a kafka-trial history: no network, Docker or Kafka.
//!
//! - [`queue`]: reconstructs each partition's log and reports Jepsen's
//!   Kafka anomaly classes (lost writes, duplicates, skips, non-monotonic
//!   sends and polls, inconsistent offsets, garbage/failed/aborted reads,
//!   transaction cycles), with counts and examples.
//! - [`linear`]: a Wing–Gong/Lowe linearizability checker, generic over a
//!   [`linear::Model`], with models of a Kafka partition log, a register, a
//!   CAS register and a key-value map; reads Jepsen EDN histories too.
//! - [`stats`]: outcomes, availability over time, latency quantiles.
//! - [`results`]: the verdict and `results.json`.
//! - [`effects`]: what each fault did to the cluster, from the observer's
//!   samples (leader changes, ISR, controller, fenced and unreachable
//!   brokers; fail-over time, time to full ISR; availability during faults).
//! - [`group`]: consumer groups: commits that go backwards or are lost,
//!   records skipped across rebalances, two owners of a partition; consume
//!   counts, time without an owner, rebalance windows.
//! - [`checker`]: the [`checker::Checker`] trait and the registry of the
//!   checkers fed by [`ingest`]'s one pairing pass.
//! - [`verdict`]: validity, anomaly classes, exit codes (a leaf module).
//! - [`generate`]: a history builder and a simulated Kafka that writes valid
//!   histories (with observer samples if asked), and faults that inject
//!   exactly one anomaly class (for property tests and benchmarks).
//! - [`jepsen`]: Jepsen's own Kafka histories (`history.edn`) translated
//!   into this op model and checked by the same checkers
//!   ([`jepsen::check_jepsen_file`]), classes named both ways.
//!
//! The entry point is [`check_history_file`]. Two rules keep a verdict
//! honest: no vacuous pass (a history that cannot show loss is `unknown`,
//! never `valid`), and proven loss apart from suspicion (`lost-write` only
//! when a read covered the offset; otherwise `unseen`).

pub mod checker;
mod decode;
pub mod effects;
pub mod generate;
pub mod graph;
pub mod group;
pub mod hash;
pub mod ingest;
pub mod jepsen;
pub mod leaders;
pub mod linear;
pub mod progress;
pub mod promises;
pub mod queue;
pub mod results;
pub mod stats;
pub mod txnstate;
pub mod verdict;

pub use ingest::Progress;
pub use linear::{check_edn_file, LinearResult};
pub use promises::{Judge, PromiseResults};
pub use queue::{QueueOptions, QueueResults};
pub use results::Results;
pub use stats::Stats;
pub use verdict::{anomaly_definitions, exit_code, AnomalyReport, Example, Validity};

use std::path::{Path, PathBuf};
use std::time::Duration;
use trial_histories::Op;

/// Why a history could not be checked at all (the harness's exit code 3).
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// The file cannot be read, or a line is not an operation (names the line).
    #[error(transparent)]
    Read(#[from] trial_histories::ReadError),
    /// An op's value does not have the shape its `f` requires.
    #[error("{path}: line {line}: op {index} ({f}): malformed value: {message}")]
    Value {
        path: PathBuf,
        line: u64,
        index: u64,
        f: String,
        message: String,
    },
    /// Invocations and completions do not pair up.
    #[error("{path}: line {line}: op {index}: {message}")]
    Pairing {
        path: PathBuf,
        line: u64,
        index: u64,
        message: String,
    },
    /// An EDN history could not be parsed.
    #[error("{path}: line {line}: {message}")]
    Edn {
        path: PathBuf,
        line: u64,
        message: String,
    },
    /// Bad options (e.g. an unknown model).
    #[error("{0}")]
    Options(String),
}

impl CheckError {
    /// The 1-based line the problem is on, if it is about one line.
    pub fn line(&self) -> Option<u64> {
        match self {
            CheckError::Read(e) => e.line(),
            CheckError::Value { line, .. }
            | CheckError::Pairing { line, .. }
            | CheckError::Edn { line, .. } => Some(*line),
            CheckError::Options(_) => None,
        }
    }
}

/// Options of a check.
#[derive(Debug, Clone)]
pub struct CheckOptions {
    /// At most this many examples per anomaly class.
    pub max_examples: usize,
    /// Anomaly classes reported but not counted against validity. Default:
    /// `int-send-skip` (Kafka does not promise that a transaction's sends to
    /// a partition are contiguous; concurrent transactions interleave).
    pub informational: Vec<String>,
    /// If faults were active and fewer than this fraction of the client
    /// operations that completed meanwhile were ok, the verdict is
    /// `unknown`: the faults were not tested against a working system.
    pub min_ok_fraction_during_faults: f64,
    /// Also run the linearizability checker with this model on the history
    /// (`log` is the only model that applies to a queue history). `None` by
    /// default for library callers; a trial's options
    /// ([`CheckOptions::for_test_json`], the suite's runs) set `log` unless
    /// its spec says `linearizability: off`.
    pub linear_model: Option<String>,
    /// Time limit of the linearizability search (unless
    /// `linear_scaled_budget`).
    pub linear_time_limit: Duration,
    /// Scale the search's budget to the history instead
    /// ([`linear::log::scaled_budget`]: 10 s + 10 µs per call), as a
    /// trial does unless given a budget.
    pub linear_scaled_budget: bool,
    /// Registered checkers (by name, e.g. `effects`) not to run.
    pub skip_checkers: Vec<String>,
    /// The consumers' `isolation.level`: decides which transactional
    /// anomalies Kafka permits (read_uncommitted may see aborted and
    /// not-yet-committed records).
    pub isolation: Isolation,
    /// The workload writes transactions (a transactional producer).
    pub transactional: bool,
    /// The run's settings that decide what Kafka promised (from its
    /// test.json: [`CheckOptions::for_test_json`]). `None`: unknown; the
    /// promise verdict assumes the suite's defaults (with this run's
    /// `isolation`, `transactional` and group commit mode) and says so.
    pub configuration: Option<promises::Configuration>,
    /// Told how far the reading of a history file is (bytes done, bytes in
    /// all), at most ~20 times a second: for a progress bar.
    pub progress: Progress,
    /// How long a healthy cluster may see the workload make no progress
    /// before it is a `client-stall` ([`progress`]): a trial's is
    /// [`progress::stall_threshold_for`] its message timeout; the default
    /// [`progress::DEFAULT_STALL_THRESHOLD`].
    pub stall_threshold: Duration,
    /// What the checker assumes the history's client did (which positions
    /// a subscribe keeps, what a failed transaction rewinds, when a
    /// producer's order restarts, what proves a write lost): `None` chooses
    /// by the history's source — [`ClientModel::KafkaTrial`] for the
    /// suite's own histories, [`ClientModel::Jepsen`] for Jepsen's EDN.
    pub client_model: Option<ClientModel>,
    /// (op index, partition): reads whose internal order is not judged
    /// under the `jepsen` client model (keys of a Jepsen op's
    /// `:rebalance-log`, set by the importer).
    pub excused_internal: Vec<(u64, i32)>,
}

/// The client a history's checker assumes (checkers/README.md, "Client
/// models"). One named model per history source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ClientModel {
    /// kafka-trial's own clients: positions reset at a subscribe, after a
    /// transaction that did not commit, at an assign of unknown outcome; a
    /// producer's order restarts at a crash; a write is lost when a read
    /// covered its offset; an `info` transaction's delivery reports place
    /// its records.
    #[default]
    KafkaTrial,
    /// Jepsen's Kafka client (`jepsen.tests.kafka`): a transaction that did
    /// not commit rewinds to the last committed read; a subscribe or assign
    /// (ok or info) keeps the positions of keys still listed and a
    /// producer forgets its sends to keys it dropped; a write is lost below
    /// the highest offset an ok read returned in its key; an `info`
    /// transaction's sends count only once an ok read proved it committed.
    Jepsen,
}

impl ClientModel {
    pub fn as_str(self) -> &'static str {
        match self {
            ClientModel::KafkaTrial => "kafka-trial",
            ClientModel::Jepsen => "jepsen",
        }
    }
}

impl std::fmt::Display for ClientModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for ClientModel {
    type Err = CheckError;
    fn from_str(s: &str) -> Result<Self, CheckError> {
        match s {
            "kafka-trial" => Ok(ClientModel::KafkaTrial),
            "jepsen" => Ok(ClientModel::Jepsen),
            other => Err(CheckError::Options(format!(
                "unknown client model {other:?} (kafka-trial or jepsen)"
            ))),
        }
    }
}

/// A consumer's `isolation.level`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Isolation {
    /// Only committed transactional records are returned (librdkafka's
    /// and Kafka's default).
    #[default]
    ReadCommitted,
    /// Every record is returned, aborted and open transactions' included.
    ReadUncommitted,
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions {
            max_examples: 8,
            informational: vec![results::class::INT_SEND_SKIP.to_string()],
            min_ok_fraction_during_faults: 0.01,
            linear_model: None,
            linear_time_limit: Duration::from_secs(60),
            linear_scaled_budget: false,
            skip_checkers: Vec::new(),
            isolation: Isolation::default(),
            transactional: false,
            configuration: None,
            progress: Progress::default(),
            stall_threshold: progress::DEFAULT_STALL_THRESHOLD,
            client_model: None,
            excused_internal: Vec::new(),
        }
    }
}

impl CheckOptions {
    /// The linearizability budget: None to scale it to the history.
    fn linear_budget(&self) -> Option<Duration> {
        (!self.linear_scaled_budget).then_some(self.linear_time_limit)
    }

    pub(crate) fn queue(&self) -> QueueOptions {
        QueueOptions {
            max_examples: self.max_examples,
            informational: self.informational.clone(),
            isolation: self.isolation,
            transactional: self.transactional,
            client_model: self.client_model.unwrap_or_default(),
            excused_internal: self.excused_internal.iter().copied().collect(),
        }
    }

    /// The options that judge a run with its own settings: `workload` is
    /// the run's workload name (`txn` writes transactions), `isolation` its
    /// consumers' `isolation.level` if set (else read_committed, librdkafka's
    /// and the suite's default). Unknown isolation names are an error.
    pub fn for_settings(workload: &str, isolation: Option<&str>) -> Result<Self, CheckError> {
        let isolation = match isolation {
            None => Isolation::default(),
            Some(s) => s.parse()?,
        };
        Ok(CheckOptions {
            isolation,
            transactional: workload == "txn",
            ..CheckOptions::default()
        })
    }

    /// [`CheckOptions::for_settings`] from a run's `test.json`: its
    /// `workload`, and the isolation from a top-level `isolation` field or
    /// else `consumer_overrides["isolation.level"]` (absent: defaults);
    /// the promise model's [`promises::Configuration`]; and
    /// linearizability as the run had it: `linearizability` `log` (also
    /// when absent: every trial checks it) or `off`, with `linear_budget`
    /// seconds if set, else the budget scaled to the history.
    pub fn for_test_json(test: &serde_json::Value) -> Result<Self, CheckError> {
        let workload = test
            .get("workload")
            .and_then(|w| w.as_str())
            .unwrap_or("queue");
        let isolation = test.get("isolation").and_then(|i| i.as_str()).or_else(|| {
            test.get("consumer_overrides")
                .and_then(|o| o.get("isolation.level"))
                .and_then(|i| i.as_str())
        });
        let mut o = Self::for_settings(workload, isolation)?;
        o.configuration = Some(promises::Configuration::from_test_json(test));
        o.linear_model = match test.get("linearizability").and_then(|l| l.as_str()) {
            None | Some("log") => Some("log".to_string()),
            Some("off") => None,
            Some(other) => {
                return Err(CheckError::Options(format!(
                    "unknown linearizability {other:?} in test.json (log or off)"
                )))
            }
        };
        match test.get("linear_budget").and_then(|b| b.as_f64()) {
            Some(s) if s.is_finite() && s > 0.0 => o.linear_time_limit = Duration::from_secs_f64(s),
            Some(s) => {
                return Err(CheckError::Options(format!(
                    "linear_budget {s} in test.json: a positive number of seconds"
                )))
            }
            None => o.linear_scaled_budget = true,
        }
        if let Some(t) = progress::threshold_from_test_json(test) {
            o.stall_threshold = t;
        }
        Ok(o)
    }
}

impl std::str::FromStr for Isolation {
    type Err = CheckError;
    fn from_str(s: &str) -> Result<Self, CheckError> {
        match s {
            "read_committed" => Ok(Isolation::ReadCommitted),
            "read_uncommitted" => Ok(Isolation::ReadUncommitted),
            other => Err(CheckError::Options(format!(
                "unknown isolation level {other:?} (read_committed or read_uncommitted)"
            ))),
        }
    }
}

/// Check a history file (`history.jsonl`): read it once as a stream, run
/// the queue checker and the stats (and, if asked, the linearizability
/// checker), and combine the verdict.
pub fn check_history_file(path: &Path, opts: &CheckOptions) -> Result<Results, CheckError> {
    let ing = ingest::ingest_file(path, opts, checker::REGISTRY)?;
    let linear = match &opts.linear_model {
        Some(m) => Some(linear::check_history_log_isolation(
            path,
            m,
            opts.linear_budget(),
            opts.isolation,
        )?),
        None => None,
    };
    Ok(assemble(ing, linear, opts))
}

/// Check a history held in memory (tests, generated histories).
pub fn check_ops(ops: &[Op], opts: &CheckOptions) -> Result<Results, CheckError> {
    check_ops_with(ops, opts, checker::REGISTRY)
}

/// Check a history in memory with the checkers of `registry` (tests of
/// new checkers; [`checker::REGISTRY`] is the default).
pub fn check_ops_with(
    ops: &[Op],
    opts: &CheckOptions,
    registry: &[checker::Registration],
) -> Result<Results, CheckError> {
    let ing = ingest::ingest_ops(ops, opts, registry)?;
    let linear = match &opts.linear_model {
        Some(m) => Some(linear::check_ops_log_isolation(
            ops,
            m,
            opts.linear_budget(),
            opts.isolation,
        )?),
        None => None,
    };
    Ok(assemble(ing, linear, opts))
}

/// Wrap a linearizability result of an EDN history as `Results`.
pub fn results_from_linear(l: LinearResult, ops: u64) -> Results {
    let l = l.with_anomalies();
    let mut anomaly_counts = std::collections::BTreeMap::new();
    anomaly_counts.insert(
        results::class::NONLINEARIZABLE.to_string(),
        u64::from(l.valid == Validity::Invalid),
    );
    let unknown_reasons: Vec<String> = l.unknown_reason.iter().cloned().collect();
    let summary = match l.valid {
        Validity::Valid => format!("valid: {ops} ops linearizable as a {}", l.model),
        Validity::Invalid => format!(
            "INVALID: not linearizable as a {}: {}",
            l.model,
            l.counterexample
                .as_ref()
                .map_or(String::new(), |c| c.message.clone())
        ),
        Validity::Unknown => format!(
            "unknown: {}",
            unknown_reasons.first().cloned().unwrap_or_default()
        ),
    };
    Results {
        valid: l.valid,
        summary,
        anomaly_counts,
        unknown_reasons,
        checkers: results::CheckerResults {
            queue: None,
            stats: Stats::default(),
            linearizable: Some(l),
            other: Default::default(),
        },
        ops,
        warnings: Vec::new(),
        weak_evidence: Vec::new(),
        promises: None,
        client_model: None,
    }
}

fn assemble(ing: ingest::Ingested, linear: Option<LinearResult>, opts: &CheckOptions) -> Results {
    let linear = linear.map(LinearResult::with_anomalies);
    let mut queue: Option<QueueResults> = None;
    let mut stats = Stats::default();
    let mut other = std::collections::BTreeMap::new();
    let mut unknown_reasons = Vec::new();
    let mut anomaly_counts = std::collections::BTreeMap::new();
    let mut warnings = ing.warnings;
    let mut weak_evidence = Vec::new();
    let mut valid = Validity::Valid;
    // Anomalies other checkers than `queue` found (e.g. `effects`).
    let mut found_elsewhere = Vec::new();
    for out in ing.outputs {
        valid = valid.and(out.validity);
        if out.name != "queue" {
            found_elsewhere.extend(
                out.anomaly_counts
                    .iter()
                    .filter(|(c, n)| **n > 0 && !out.informational.contains(c))
                    .map(|(c, n)| format!("{n} {c}")),
            );
        }
        unknown_reasons.extend(out.unknown_reasons);
        anomaly_counts.extend(out.anomaly_counts);
        warnings.extend(out.warnings);
        weak_evidence.extend(out.weak_evidence);
        match out.typed {
            Some(t) if out.name == "queue" => match t.downcast::<QueueResults>() {
                Ok(q) => queue = Some(*q),
                Err(_) => unreachable!("the queue checker's typed output is QueueResults"),
            },
            Some(t) if out.name == "stats" => match t.downcast::<Stats>() {
                Ok(s) => stats = *s,
                Err(_) => unreachable!("the stats checker's typed output is Stats"),
            },
            _ => {
                other.insert(
                    out.name.to_string(),
                    results::CheckerBody {
                        json: out.body,
                        summary: out.summary,
                    },
                );
            }
        }
    }
    // A checker that could not decide never passes.
    if valid == Validity::Valid && !unknown_reasons.is_empty() {
        valid = Validity::Unknown;
    }
    // A violation joins the verdict (`nonlinearizable`); an undecided
    // search is unknown for that checker only (its reason in
    // `checkers.linearizable.unknown_reason`, and a warning): it neither
    // hides nor stands in for what the queue checker found.
    if let Some(l) = &linear {
        anomaly_counts.insert(
            results::class::NONLINEARIZABLE.to_string(),
            u64::from(l.valid == Validity::Invalid),
        );
        match l.valid {
            Validity::Invalid => valid = valid.and(Validity::Invalid),
            Validity::Unknown => warnings.push(format!(
                "linearizability ({}) undecided: {}",
                l.model,
                l.unknown_reason.as_deref().unwrap_or("no reason given")
            )),
            Validity::Valid => {}
        }
    }
    let found: Vec<String> = queue
        .iter()
        .flat_map(|q| {
            q.anomalies
                .iter()
                .filter(|(c, a)| {
                    a.count > 0
                        && !a.informational
                        && (c.as_str() != results::class::UNSEEN || q.unseen.is_loss)
                })
                .map(|(c, a)| format!("{} {c}", a.count))
        })
        .chain(
            linear
                .as_ref()
                .filter(|l| l.valid == Validity::Invalid)
                .map(|l| format!("not linearizable as a {}", l.model)),
        )
        .chain(found_elsewhere)
        .collect();
    let ok_sends: u64 = queue
        .iter()
        .flat_map(|q| q.partitions.values())
        .map(|p| p.ok_sends)
        .sum();
    let partitions = queue.as_ref().map_or(0, |q| q.partitions.len());
    let summary = match valid {
        Validity::Invalid => format!(
            "INVALID: {} ({} ops, {} acknowledged sends)",
            found.join(", "),
            ing.ops,
            ok_sends
        ),
        Validity::Unknown => format!(
            "unknown: {}{} ({} ops)",
            unknown_reasons.first().cloned().unwrap_or_default(),
            if unknown_reasons.len() > 1 {
                format!(" (+{} more)", unknown_reasons.len() - 1)
            } else {
                String::new()
            },
            ing.ops
        ),
        Validity::Valid => format!(
            "valid{}: {} ops, {} acknowledged sends in {} partitions, every one read back",
            if weak_evidence.is_empty() {
                ""
            } else {
                " (weak evidence: the clients stalled)"
            },
            ing.ops,
            ok_sends,
            partitions
        ),
    };
    let mut results = Results {
        valid,
        summary,
        anomaly_counts,
        unknown_reasons,
        checkers: results::CheckerResults {
            queue,
            stats,
            linearizable: linear,
            other,
        },
        ops: ing.ops,
        warnings,
        weak_evidence,
        promises: None,
        client_model: opts.client_model.filter(|m| *m != ClientModel::KafkaTrial),
    };
    results.promises = Some(judge_promises(&results, opts));
    results
}

/// The promise verdict of a checked kafka-trial history: the run's
/// configuration (or the defaults with what the options and the group
/// checker know), the faults it applied, every class found judged.
fn judge_promises(r: &Results, opts: &CheckOptions) -> PromiseResults {
    // Settings of a cluster the user runs that could not be read back
    // are not known either.
    let known = opts
        .configuration
        .as_ref()
        .is_some_and(|c| c.unknown.is_empty());
    let cfg = opts.configuration.clone().unwrap_or_else(|| {
        let group: Option<group::GroupResults> = r.checker("group");
        promises::Configuration {
            isolation: opts.isolation,
            transactional: opts.transactional,
            idempotence: opts.transactional,
            group_commit: group.and_then(|g| g.commit_mode),
            ..Default::default()
        }
    });
    let exposure = promises::Exposure::from_intervals(&r.checkers.stats.fault_intervals);
    let found = r.evidence();
    promises::judge_results(&cfg, known, &exposure, &found, r.valid == Validity::Unknown)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::{simulate, SimConfig};

    fn linear(valid: Validity) -> LinearResult {
        LinearResult {
            valid,
            model: "log".into(),
            ops: 10,
            partitions: 1,
            explored: 10,
            elapsed_ms: 1.0,
            counterexample: None,
            unknown_reason: (valid == Validity::Unknown).then(|| "time limit reached".into()),
            searched_partitions: 1,
            budget_ms: Some(1.0),
            anomalies: Default::default(),
        }
    }

    /// The verdict rule of linearizability in every trial: a violation
    /// joins, an undecided search stays with its checker.
    #[test]
    fn an_undecided_search_does_not_hide_or_replace_the_queue_verdict() {
        let ops = simulate(&SimConfig {
            seed: 3,
            partitions: 2,
            workers: 4,
            steps: 400,
            ..SimConfig::default()
        });
        let opts = CheckOptions::default();
        let ing = || ingest::ingest_ops(&ops, &opts, checker::REGISTRY).unwrap();
        let base = assemble(ing(), None, &opts).valid;
        assert_eq!(base, Validity::Valid);
        let r = assemble(ing(), Some(linear(Validity::Unknown)), &opts);
        assert_eq!(r.valid, Validity::Valid, "{}", r.summary);
        assert!(r.unknown_reasons.is_empty());
        assert!(r.warnings.iter().any(|w| w.contains("time limit reached")));
        assert!(r.human_summary(1).contains("unknown for this checker only"));
        let r = assemble(ing(), Some(linear(Validity::Invalid)), &opts);
        assert_eq!(r.valid, Validity::Invalid);
        assert_eq!(r.anomaly_counts["nonlinearizable"], 1);
        // And with the real checker: a simulated run is a linearizable log.
        let opts = CheckOptions::for_test_json(&serde_json::json!({"workload": "queue"})).unwrap();
        assert_eq!(opts.linear_model.as_deref(), Some("log"));
        let r = check_ops(&ops, &opts).unwrap();
        let l = r.checkers.linearizable.as_ref().expect("checked");
        assert_eq!(
            (r.valid, l.valid, l.searched_partitions),
            (Validity::Valid, Validity::Valid, 0)
        );
        assert!(r.human_summary(1).contains("linearizable (log): valid"));
    }

    #[test]
    fn test_json_turns_linearizability_off_or_fixes_its_budget() {
        let o =
            CheckOptions::for_test_json(&serde_json::json!({"linearizability": "off"})).unwrap();
        assert_eq!(o.linear_model, None);
        let o = CheckOptions::for_test_json(&serde_json::json!({"linear_budget": 2.5})).unwrap();
        assert_eq!(
            (o.linear_scaled_budget, o.linear_time_limit),
            (false, Duration::from_millis(2500))
        );
        let o = CheckOptions::for_test_json(&serde_json::json!({})).unwrap();
        assert!(o.linear_scaled_budget);
        // A transactional run checks linearizability too.
        let o = CheckOptions::for_test_json(&serde_json::json!({"workload": "txn"})).unwrap();
        assert!(o.transactional);
        assert_eq!(o.linear_model.as_deref(), Some("log"));
        assert!(
            CheckOptions::for_test_json(&serde_json::json!({"linearizability": "kv"})).is_err()
        );
        assert!(CheckOptions::default().linear_model.is_none());
    }
}
