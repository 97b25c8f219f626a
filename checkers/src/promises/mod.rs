//! The promise model: what Kafka promised for a run's configuration and the
//! faults it met, and, for every anomaly class found, whether it breaks one
//! of those promises or the configuration permits it.
//!
//! Two layers are kept apart. The anomaly verdict ([`crate::Results::valid`],
//! exit codes 0/1/2) says what happened; this layer says whether Kafka
//! broke its word. A user who ran acks=all without idempotence and found
//! duplicates learns both that duplicates happened and that Kafka documents
//! them as possible ("If 'false', producer retries … may write duplicates").
//!
//! Each [`Promise`] quotes the sentence of Kafka's documentation it rests
//! on ([`docs`]) and names its conditions. A promise is `covered: false`
//! when it did not apply to this run: the configuration does not make it
//! (acks=1 promises no durability past the leader), or the run's faults
//! went beyond its conditions (every replica down; un-fsynced writes lost
//! on min.insync.replicas brokers at once; the last in-sync replica
//! power-lost without eligible leader replicas). `beyond` says which.
//!
//! [`judge`] decides one class: first the per-configuration reasons the
//! anomaly verdict already gives (`verdict::permitted`,
//! `verdict::permitted_in_group`: transactions are not isolated,
//! read_uncommitted, auto-commit), then a promise listing the class that
//! did not apply, else the class breaks the first promise listing it.

pub mod config;
pub mod docs;
#[cfg(test)]
mod tests;

pub use config::{Acks, Configuration, Exposure};

use crate::verdict::{self, class};
use crate::Isolation;
use docs::Doc;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use trial_histories::values::CommitMode;

/// One property Kafka promises (or explicitly does not) under a
/// configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Promise {
    /// Stable kebab-case name (see [`id`]).
    pub id: String,
    /// What is promised, for this configuration, in one sentence.
    pub statement: String,
    /// Kafka's own documented sentence(s), verbatim.
    pub quote: String,
    /// The doc section, KIP or javadoc the quote comes from.
    pub source: String,
    /// What the promise is conditional on.
    pub conditions: Vec<String>,
    /// False: the promise did not apply to this run, because the
    /// configuration does not make it or the faults went beyond its
    /// conditions; `beyond` says why.
    pub covered: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub beyond: Option<String>,
    /// Anomaly classes whose (non-permitted) finding breaks it.
    pub classes: Vec<String>,
    /// Filled by [`judge_results`]: `Some(true)` kept, `Some(false)`
    /// broken, `None` not judged (not covered).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kept: Option<bool>,
}

/// The promise ids.
pub mod id {
    pub const ACKED_WRITES_SURVIVE: &str = "acked-writes-survive";
    pub const PARTITION_ORDER: &str = "partition-order";
    pub const SEND_ORDER: &str = "send-order";
    pub const NO_DUPLICATES: &str = "no-duplicates";
    pub const ONLY_WRITTEN_READ: &str = "only-written-records-read";
    pub const READ_COMMITTED: &str = "read-committed";
    pub const TRANSACTIONS_ISOLATED: &str = "transactions-isolated";
    pub const TRANSACTIONS_COMPLETE: &str = "transactions-complete";
    pub const GROUP_ONE_OWNER: &str = "group-one-owner";
    pub const GROUP_AT_LEAST_ONCE: &str = "group-at-least-once";
    pub const COMMIT_ORDER: &str = "commit-order";
    pub const ACKED_COMMITS_SURVIVE: &str = "acked-commits-survive";
    pub const CONTROLLER_ELECTION_SAFETY: &str = "controller-election-safety";
    pub const CONTROLLER_RESIGNS: &str = "controller-resigns";
}

/// The verdict on one anomaly class.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "judgement", rename_all = "kebab-case")]
pub enum Judgement {
    BrokenPromise {
        promise: String,
        statement: String,
    },
    /// Quotes the doc sentence, or names the fault beyond the promise.
    Permitted {
        reason: String,
    },
}

impl Judgement {
    pub fn is_broken(&self) -> bool {
        matches!(self, Judgement::BrokenPromise { .. })
    }
}

/// One class found in a run, judged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassJudgement {
    pub count: u64,
    #[serde(flatten)]
    pub judgement: Judgement,
}

/// results.json `promises`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PromiseResults {
    /// No promise was broken.
    pub kept: bool,
    /// `Kafka kept every promise of this configuration` or
    /// `BROKEN PROMISE: <statement> (<class>: n, …)`.
    pub headline: String,
    pub configuration: Configuration,
    /// False: no test.json was given (the defaults were assumed): `--judge
    /// promises` then says unknown unless a promise was broken.
    pub configuration_known: bool,
    pub exposure: Exposure,
    pub promises: Vec<Promise>,
    /// Every class with a non-zero count that is evidence (not an
    /// informational `unseen`), by class.
    pub classes: BTreeMap<String, ClassJudgement>,
}

/// Which verdict decides the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Judge {
    /// Today's verdict: 1 when any (non-permitted) anomaly was found.
    #[default]
    Anomalies,
    /// 1 only when a promise of the run's configuration was broken.
    Promises,
}

impl std::str::FromStr for Judge {
    type Err = String;
    fn from_str(s: &str) -> Result<Judge, String> {
        match s.trim() {
            "anomalies" => Ok(Judge::Anomalies),
            "promises" => Ok(Judge::Promises),
            other => Err(format!("unknown judge {other:?} (anomalies or promises)")),
        }
    }
}

impl Judge {
    pub fn as_str(self) -> &'static str {
        match self {
            Judge::Anomalies => "anomalies",
            Judge::Promises => "promises",
        }
    }
}

/// The classes that stand for lost or rewritten acknowledged data.
const LOSS_CLASSES: &[&str] = &[
    class::LOST_WRITE,
    class::UNSEEN,
    class::INCONSISTENT_OFFSETS,
    class::NONMONOTONIC_SEND,
    class::NONLINEARIZABLE,
];

/// Why the committed log itself may have been truncated in this run (the
/// conditions of every promise that rests on durability), or `None`.
fn durability_beyond(cfg: &Configuration, exp: &Exposure) -> Option<String> {
    let rf = cfg.replication_factor as usize;
    let m = cfg.min_insync_replicas as usize;
    if cfg.unclean_leader_election && exp.any_broker_fault() {
        return Some(format!(
            "unclean.leader.election.enable=true and brokers were down or cut off (at most {} \
             down, {} cut off at once): an out-of-sync replica may have been elected leader. \
             Kafka documents unclean.leader.election.enable: {}",
            exp.max_down,
            exp.max_cut,
            docs::UNCLEAN.cite()
        ));
    }
    if rf > 0 && exp.max_down >= rf {
        return Some(format!(
            "{} brokers were down at once, at least the replication factor {rf}: no in-sync \
             replica of a partition may have been alive. Kafka documents: {}",
            exp.max_down,
            docs::ALL_DIE.cite()
        ));
    }
    if !cfg.flush_every_message && exp.max_power_loss >= m.max(1) {
        return Some(format!(
            "{} brokers lost their un-fsynced writes at once, at least min.insync.replicas={m}, \
             without log.flush.interval.messages=1: an acknowledged write may have been on no \
             disk at all. Kafka replicates instead of fsyncing: {}; flush.messages: {}",
            exp.max_power_loss,
            docs::NO_STABLE_STORAGE.cite(),
            docs::FLUSH.cite()
        ));
    }
    if !cfg.flush_every_message
        && cfg.eligible_leader_replicas != Some(true)
        && exp.max_power_loss >= 1
        && exp.max_down + exp.max_cut >= rf
    {
        return Some(format!(
            "a broker lost its un-fsynced writes while enough brokers were down or cut off (at \
             most {} down, {} cut off at once, replication factor {rf}) to leave it the last \
             in-sync replica, and eligible leader replicas (KIP-966) were {}: the \"last replica \
             standing\" case. KIP-966: {}",
            exp.max_down,
            exp.max_cut,
            match cfg.eligible_leader_replicas {
                Some(false) => "off",
                _ => "not known to be on",
            },
            docs::KIP_966.cite()
        ));
    }
    None
}

/// The conditions of a promise that rests on the log's durability.
fn durability_conditions(cfg: &Configuration) -> Vec<String> {
    let rf = cfg.replication_factor;
    let m = cfg.min_insync_replicas;
    let mut c = vec![
        format!("at least one in-sync replica alive: fewer than RF={rf} brokers down at once"),
        if cfg.unclean_leader_election {
            "no broker down or cut off (unclean.leader.election.enable=true elects an \
             out-of-sync replica when the in-sync ones are gone)"
                .to_string()
        } else {
            "no out-of-sync replica elected (unclean.leader.election.enable=false)".to_string()
        },
    ];
    if cfg.flush_every_message {
        c.push("every append fsynced (log.flush.interval.messages=1)".into());
    } else {
        c.push(format!(
            "un-fsynced writes lost on fewer than min.insync.replicas={m} brokers at once"
        ));
        if cfg.eligible_leader_replicas != Some(true) {
            c.push(format!(
                "without eligible leader replicas (KIP-966): no broker loses un-fsynced writes \
                 while RF={rf} brokers are down or cut off at once"
            ));
        }
    }
    c
}

fn promise(
    pid: &str,
    statement: String,
    doc: &[Doc],
    conditions: Vec<String>,
    beyond: Option<String>,
    classes: &[&str],
) -> Promise {
    Promise {
        id: pid.to_string(),
        statement,
        quote: doc.iter().map(|d| d.quote).collect::<Vec<_>>().join(" … "),
        source: doc.iter().map(|d| d.source).collect::<Vec<_>>().join("; "),
        conditions,
        covered: beyond.is_none(),
        beyond,
        classes: classes.iter().map(|c| c.to_string()).collect(),
        kept: None,
    }
}

fn not_made(setting: &str, doc: &Doc) -> Option<String> {
    Some(format!(
        "not promised by this configuration ({setting}): Kafka documents {}",
        doc.cite()
    ))
}

/// Every promise of the model for this configuration and exposure, the
/// ones that do not concern the run's workload included (a class found
/// there is still judged against them).
fn catalogue(cfg: &Configuration, exp: &Exposure) -> Vec<(Promise, bool)> {
    let rf = cfg.replication_factor;
    let m = cfg.min_insync_replicas;
    let durable = durability_beyond(cfg, exp);
    let idempotent = cfg.idempotence || cfg.transactional;
    let mut out = Vec::new();

    // Acknowledged writes.
    let (statement, doc, beyond): (String, Vec<Doc>, Option<String>) = match cfg.acks {
        Acks::All => (
            format!(
                "With acks=all, replication factor {rf} and min.insync.replicas={m}, an \
                 acknowledged write is never lost, moved or overwritten; up to {} broker \
                 failure(s) are tolerated",
                rf.saturating_sub(1)
            ),
            vec![
                docs::ACKS_ALL,
                docs::COMMITTED_NOT_LOST,
                docs::MIN_INSYNC,
                docs::TOLERATE_N_MINUS_1,
            ],
            durable.clone(),
        ),
        Acks::One => (
            "With acks=1 an acknowledged write survives only as long as the leader that wrote it \
             keeps it until its followers copy it"
                .to_string(),
            vec![docs::ACKS_ONE],
            not_made("acks=1", &docs::ACKS_ONE),
        ),
        Acks::Zero => (
            "With acks=0 nothing is acknowledged by the broker: a send's success promises nothing"
                .to_string(),
            vec![docs::ACKS_ZERO],
            not_made("acks=0", &docs::ACKS_ZERO),
        ),
    };
    let conditions = match cfg.acks {
        Acks::All => durability_conditions(cfg),
        _ => vec![format!("acks=all (this run: acks={})", cfg.acks.as_str())],
    };
    out.push((
        promise(
            id::ACKED_WRITES_SURVIVE,
            statement,
            &doc,
            conditions,
            beyond,
            LOSS_CLASSES,
        ),
        true,
    ));

    // What consumers read: committed records, in log order.
    out.push((
        promise(
            id::PARTITION_ORDER,
            "A consumer reads a partition's records in the order they are stored, skipping none \
             and never going back, and only committed records, which survive a leader change"
                .to_string(),
            &[docs::ORDER, docs::ONLY_COMMITTED_READ],
            durability_conditions(cfg),
            durable.clone(),
            &[
                class::POLL_SKIP,
                class::NONMONOTONIC_POLL,
                class::INT_POLL_SKIP,
                class::INT_NONMONOTONIC_POLL,
            ],
        ),
        true,
    ));

    // A producer's order.
    let send_order_beyond = if idempotent || cfg.max_in_flight == Some(1) {
        None
    } else {
        not_made(
            &format!(
                "enable.idempotence=false with max.in.flight {}",
                cfg.max_in_flight.map_or(
                    "left at the client's default (librdkafka: 1000000)".to_string(),
                    |n| n.to_string()
                )
            ),
            &docs::MAX_IN_FLIGHT,
        )
    };
    out.push((
        promise(
            id::SEND_ORDER,
            "A producer's records to one partition are appended in the order it sent them"
                .to_string(),
            &[docs::ORDER, docs::MAX_IN_FLIGHT],
            vec!["enable.idempotence=true, or max.in.flight.requests.per.connection=1".into()],
            send_order_beyond,
            &[class::NONMONOTONIC_SEND, class::INT_NONMONOTONIC_SEND],
        ),
        true,
    ));

    // Duplicates.
    let dup_beyond = if idempotent {
        durable.clone()
    } else {
        not_made("enable.idempotence=false", &docs::IDEMPOTENCE)
    };
    let mut dup_conditions = vec!["enable.idempotence=true".to_string()];
    if idempotent {
        dup_conditions.extend(durability_conditions(cfg));
    }
    out.push((
        promise(
            id::NO_DUPLICATES,
            "The idempotent producer writes exactly one copy of each record, whatever its retries"
                .to_string(),
            &[docs::IDEMPOTENCE],
            dup_conditions,
            dup_beyond,
            &[class::DUPLICATE],
        ),
        true,
    ));

    // Reads return only what was written.
    out.push((
        promise(
            id::ONLY_WRITTEN_READ,
            "A consumer returns only records a producer wrote, never one the client reported as \
             not written"
                .to_string(),
            &[docs::ONLY_COMMITTED_READ, docs::NOT_PERSISTED],
            vec![],
            None,
            &[class::GARBAGE_READ, class::FAILED_WRITE_READ],
        ),
        true,
    ));

    // Transactions.
    let rc_beyond = match cfg.isolation {
        Isolation::ReadUncommitted => Some(format!(
            "not promised by this configuration (isolation.level=read_uncommitted): Kafka \
             documents {}",
            docs::ISOLATION.cite()
        )),
        Isolation::ReadCommitted => durable.clone().map(|d| {
            format!(
                "transaction markers are records of the log, and the log may have lost some: {d}"
            )
        }),
    };
    out.push((
        promise(
            id::READ_COMMITTED,
            "A read_committed consumer returns a transaction's records only once it committed, \
             never an aborted one's, and no cycle of reads between transactions"
                .to_string(),
            &[docs::ISOLATION, docs::TXN_ATOMIC],
            {
                let mut c = vec!["isolation.level=read_committed".to_string()];
                c.extend(durability_conditions(cfg));
                c
            },
            rc_beyond,
            &[
                class::ABORTED_READ,
                class::PRECOMMITTED_READ,
                class::G1C,
                class::G1C_PROCESS,
                class::G1C_REALTIME,
            ],
        ),
        cfg.transactional,
    ));
    out.push((
        promise(
            id::TRANSACTIONS_ISOLATED,
            "Kafka does not promise isolation between transactions: they are atomic, and their \
             records interleave"
                .to_string(),
            &[docs::TXN_ATOMIC],
            vec![],
            Some(
                "not promised by Kafka: transactions are atomic, not isolated (the reasons per \
                 class: verdict::permitted)"
                    .to_string(),
            ),
            &[
                class::INT_SEND_SKIP,
                class::G0,
                class::G0_PROCESS,
                class::G0_REALTIME,
                class::G_SINGLE,
                class::G_SINGLE_PROCESS,
                class::G_SINGLE_REALTIME,
                class::G2,
                class::G2_PROCESS,
                class::G2_REALTIME,
            ],
        ),
        cfg.transactional,
    ));
    out.push((
        promise(
            id::TRANSACTIONS_COMPLETE,
            "Every transaction ends: the coordinator aborts one left open past \
             transaction.timeout.ms and completes its markers, so no transactional.id stays \
             prepared"
                .to_string(),
            &[docs::TXN_TIMEOUT],
            vec!["the faults have ended (15 s after the last stop)".into()],
            None,
            &[class::STUCK_TRANSACTION],
        ),
        cfg.transactional,
    ));

    // Consumer groups.
    let group = cfg.group_commit.is_some();
    out.push((
        promise(
            id::GROUP_ONE_OWNER,
            "Each partition is consumed by exactly one member of the group at a time".to_string(),
            &[docs::GROUP_ONE_OWNER],
            vec![],
            None,
            &[class::DOUBLE_OWNERSHIP],
        ),
        group,
    ));
    out.push((
        promise(
            id::GROUP_AT_LEAST_ONCE,
            format!(
                "A group that commits {} consumes every record below its committed offset at \
                 least once",
                match cfg.group_commit {
                    Some(CommitMode::Auto) => "automatically (what polls returned)",
                    _ => "after processing",
                }
            ),
            &[docs::AT_LEAST_ONCE],
            durability_conditions(cfg),
            durable.clone().map(|d| {
                format!(
                    "records below a committed offset may have been truncated and replaced: {d}"
                )
            }),
            &[class::GROUP_SKIP, class::UNPROCESSED_SKIP],
        ),
        group,
    ));
    let commit_order_beyond = match cfg.group_commit {
        Some(CommitMode::Async) if cfg.driver == "rdkafka" => Some(format!(
            "not promised by this configuration (asynchronous commits through librdkafka): \
             librdkafka retries an asynchronous commit and documents no order among them \
             (paraphrase); the order is the Java client's promise: {}",
            docs::COMMIT_ASYNC_ORDER.cite()
        )),
        _ => None,
    };
    out.push((
        promise(
            id::COMMIT_ORDER,
            "A member's acknowledged commits of a partition take effect in the order it made them"
                .to_string(),
            &[docs::COMMIT_ASYNC_ORDER],
            vec!["synchronous commits, or the Java client's commitAsync".into()],
            commit_order_beyond,
            &[class::COMMIT_REGRESSION],
        ),
        group,
    ));
    out.push((
        promise(
            id::ACKED_COMMITS_SURVIVE,
            "An acknowledged commit is stored securely: the group's committed offset never falls \
             below it"
                .to_string(),
            &[docs::COMMITTED_POSITION],
            durability_conditions(cfg),
            durable.map(|d| {
                format!("the offsets topic is replicated like any topic, and may have lost records: {d}")
            }),
            &[class::LOST_COMMIT],
        ),
        group,
    ));

    // The KRaft controller quorum.
    let kraft = cfg.mode.as_deref() != Some("zookeeper");
    out.push((
        promise(
            id::CONTROLLER_ELECTION_SAFETY,
            "At most one KRaft controller leads the metadata quorum in an epoch".to_string(),
            &[docs::RAFT_ELECTION_SAFETY],
            vec![],
            None,
            &[class::CONTROLLER_SAME_EPOCH],
        ),
        kraft,
    ));
    out.push((
        promise(
            id::CONTROLLER_RESIGNS,
            "A KRaft controller that no majority fetches from resigns within \
             controller.quorum.fetch.timeout.ms: two controllers do not both lead for long"
                .to_string(),
            &[docs::QUORUM_FETCH_TIMEOUT],
            vec!["clocks run true (the timeout is measured on the controller's clock)".into()],
            exp.clock.then(|| {
                "a clock fault ran: the resignation timeout is measured on the controller's own \
                 clock, which the fault skewed"
                    .to_string()
            }),
            &[class::CONTROLLER_SPLIT_BRAIN],
        ),
        kraft,
    ));
    out
}

/// The promises of a configuration under an exposure
/// (`Exposure::default()` = no fault): the ones that concern its workload
/// (transactions, groups, KRaft).
pub fn promises(cfg: &Configuration, exp: &Exposure) -> Vec<Promise> {
    catalogue(cfg, exp)
        .into_iter()
        .filter(|(_, relevant)| *relevant)
        .map(|(p, _)| p)
        .collect()
}

/// The per-configuration reasons the anomaly verdict already gives (the
/// same sentences: transactions are atomic, not isolated; read_uncommitted;
/// auto-commit). A G1c-family class is judged as a cycle of write-read
/// edges alone (forbidden under read_committed): a run's own report says
/// when its cycles needed a write-write edge, and [`judge_results`] takes
/// that.
fn verdict_reason(c: &str, cfg: &Configuration) -> Option<String> {
    verdict::permitted(c, cfg.isolation, true)
        .or_else(|| verdict::permitted_in_group(c, cfg.group_commit))
}

fn judge_in(c: &str, cfg: &Configuration, all: &[(Promise, bool)]) -> Judgement {
    if let Some(reason) = verdict_reason(c, cfg) {
        return Judgement::Permitted { reason };
    }
    let listing: Vec<&Promise> = all
        .iter()
        .map(|(p, _)| p)
        .filter(|p| p.classes.iter().any(|x| x == c))
        .collect();
    if let Some(p) = listing.iter().find(|p| !p.covered) {
        return Judgement::Permitted {
            reason: p.beyond.clone().unwrap_or_default(),
        };
    }
    match listing.first() {
        Some(p) => Judgement::BrokenPromise {
            promise: p.id.clone(),
            statement: p.statement.clone(),
        },
        None => Judgement::BrokenPromise {
            promise: "unmodelled".into(),
            statement: format!(
                "{c} is a class the promise model does not know: judged a broken promise until \
                 the model names the promise it breaks"
            ),
        },
    }
}

/// Every anomaly class (`verdict::class::*`) × configuration × exposure:
/// forbidden (a broken promise, named) or permitted, and why.
pub fn judge(class: &str, cfg: &Configuration, exp: &Exposure) -> Judgement {
    judge_in(class, cfg, &catalogue(cfg, exp))
}

/// The promise verdict of a whole run: every class found (with its count)
/// judged, its report's own `permitted` reason first (a G1c whose cycles
/// all need a write-write edge, a class listed as informational), the
/// promises marked kept or broken, and the headline.
///
/// `found`: (class, count, the report's `permitted` reason) of every class
/// with a non-zero count that is evidence; `unknown`: the anomaly verdict
/// was unknown.
pub fn judge_results(
    cfg: &Configuration,
    configuration_known: bool,
    exp: &Exposure,
    found: &[(String, u64, Option<String>)],
    unknown: bool,
) -> PromiseResults {
    let all = catalogue(cfg, exp);
    let mut classes = BTreeMap::new();
    for (c, n, permitted) in found {
        let judgement = match permitted {
            Some(reason) => Judgement::Permitted {
                reason: reason.clone(),
            },
            None => judge_in(c, cfg, &all),
        };
        classes.insert(
            c.clone(),
            ClassJudgement {
                count: *n,
                judgement,
            },
        );
    }
    let broken_ids: Vec<&str> = classes
        .values()
        .filter_map(|j| match &j.judgement {
            Judgement::BrokenPromise { promise, .. } => Some(promise.as_str()),
            _ => None,
        })
        .collect();
    let mut promises: Vec<Promise> = all
        .iter()
        .filter(|(p, relevant)| *relevant || broken_ids.contains(&p.id.as_str()))
        .map(|(p, _)| p.clone())
        .collect();
    for p in &mut promises {
        if p.covered {
            p.kept = Some(!broken_ids.contains(&p.id.as_str()));
        }
    }
    let mut broken: Vec<String> = Vec::new();
    for p in &promises {
        if p.kept == Some(false) {
            let evidence: Vec<String> = classes
                .iter()
                .filter(|(_, j)| {
                    matches!(&j.judgement, Judgement::BrokenPromise { promise, .. } if *promise == p.id)
                })
                .map(|(c, j)| format!("{c}: {}", j.count))
                .collect();
            broken.push(format!("{} ({})", p.statement, evidence.join(", ")));
        }
    }
    for (c, j) in &classes {
        if let Judgement::BrokenPromise { promise, statement } = &j.judgement {
            if !promises.iter().any(|p| &p.id == promise) {
                broken.push(format!("{statement} ({c}: {})", j.count));
            }
        }
    }
    let kept = broken.is_empty();
    let headline = if kept {
        let mut h = "Kafka kept every promise of this configuration".to_string();
        if unknown {
            h.push_str(" that this run could judge (the anomaly verdict is unknown)");
        }
        if !cfg.unknown.is_empty() {
            h.push_str(&format!(
                " (not read back from the cluster: {}; the promise verdict is unknown)",
                cfg.unknown.join(", ")
            ));
        } else if !configuration_known {
            h.push_str(" (configuration unknown: the suite's defaults were assumed)");
        }
        h
    } else {
        format!("BROKEN PROMISE: {}", broken.join("; "))
    };
    PromiseResults {
        kept,
        headline,
        configuration: cfg.clone(),
        configuration_known,
        exposure: exp.clone(),
        promises,
        classes,
    }
}
