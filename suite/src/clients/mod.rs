//! Kafka clients behind one contract: a [`Driver`] makes producers and
//! consumers, and every driver maps its client's own status onto the
//! history's `ok` / `fail` / `info` the same way.
//!
//! # The outcome contract (every driver meets it)
//!
//! What a checker may conclude depends on telling "definitely did not
//! happen" (`fail`) from "we cannot know" (`info`). When unsure, it is `info`.
//!
//! | client event | outcome | why |
//! | --- | --- | --- |
//! | acknowledged with an offset ≥ 0 | [`SendOutcome::Ok`] (+ partition, offset) | the broker acknowledged it at that offset |
//! | acknowledged without an offset (e.g. librdkafka's `DUPLICATE_SEQUENCE_NUMBER` handled as success) | `Info` | written, but where is unknown |
//! | delivery error, the client knows it was never persisted (librdkafka: `NOT_PERSISTED`) | `Fail` | the broker never got it |
//! | delivery error, possibly or actually persisted (timeouts, lost connections after sending) | `Info` | it may be in the log |
//! | refused locally before sending (queue full, message too large, unknown partition) | `Fail` | it never left the client |
//! | no delivery report within the message timeout + margin | `Info` | unknown |
//! | a poll that returned an error and no records | `fail` | reads have no effect |
//!
//! # Transactions ([`TxnClient`])
//!
//! A transactional client reports each call's error with its class
//! ([`TxnErrorKind`], librdkafka's `rd_kafka_error_is_retriable`,
//! `_txn_requires_abort`, `_is_fatal`); the workload turns a whole
//! transaction into one history op:
//!
//! | transaction event | outcome | why |
//! | --- | --- | --- |
//! | `commit_transaction` returned success | `ok` | the coordinator wrote the commit marker decision |
//! | aborted on purpose, `abort_transaction` succeeded | `fail` (`abort: true`) | the abort marker decision is durable |
//! | an error before commit was called (begin, send, `send_offsets_to_transaction`), then a successful abort or a fatal error | `fail` | EndTxn(commit) was never sent; the open transaction is aborted by the abort, the broker's transaction timeout or the next producer with this `transactional.id` |
//! | commit: retriable error (timeout), retried within the budget until success | `ok` | librdkafka allows retrying the same commit |
//! | commit: retries exhausted, fatal error (fenced) or abortable error whose abort also failed | `info` | EndTxn(commit) may have been sent: it may have committed |
//! | commit: abortable error, then a successful abort | `fail` | librdkafka raises abortable errors before EndTxn(commit) is sent |
//! | abort on purpose: retries exhausted or fatal | `info` | the outcome is not known to the client |
//!
//! A send micro-op carries its partition and offset whenever its delivery
//! report arrived, whatever the transaction's outcome: the record exists at
//! that offset, committed or aborted.
//!
//! - [`rdkafka`]: librdkafka through the `rdkafka` crate (the default);
//! - `double` (tests only): an in-memory topic, the test double that
//!   proves the seam (`workloads` runs its unit tests through it).
//!
//! Adding a client: a module implementing [`Driver`], [`Producer`] and
//! [`Consumer`], and one line in [`driver`].

#[cfg(test)]
pub mod double;
pub mod rdkafka;

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use trial_histories::values::{Partition, Record};

/// `acks` of the producer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Acks {
    #[serde(rename = "all")]
    All,
    #[serde(rename = "1")]
    One,
    #[serde(rename = "0")]
    Zero,
}

impl Acks {
    pub fn as_str(self) -> &'static str {
        match self {
            Acks::All => "all",
            Acks::One => "1",
            Acks::Zero => "0",
        }
    }
}

impl std::str::FromStr for Acks {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "all" | "-1" => Ok(Acks::All),
            "1" => Ok(Acks::One),
            "0" => Ok(Acks::Zero),
            _ => Err(format!("acks must be all, 1 or 0, not {s:?}")),
        }
    }
}

/// What a client needs to know to connect and behave as the test asks.
#[derive(Debug, Clone)]
pub struct ClientSettings {
    pub bootstrap: String,
    pub topic: String,
    pub acks: Acks,
    pub idempotence: bool,
    /// How long a send is retried before it is given up.
    pub message_timeout: Duration,
    /// How long one request may take.
    pub request_timeout: Duration,
    /// Socket and session timeouts (the timing profile's client side).
    pub socket_timeout: Duration,
    pub session_timeout: Duration,
    /// Extra producer properties (the client's own names; they win).
    pub producer_overrides: BTreeMap<String, String>,
    /// Extra consumer properties.
    pub consumer_overrides: BTreeMap<String, String>,
}

/// The outcome of one send (see the table above).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendOutcome {
    Ok { partition: Partition, offset: i64 },
    Fail(String),
    Info(String),
}

/// Called once with the outcome of an asynchronous send.
pub type OnDelivery = Box<dyn FnOnce(SendOutcome) + Send + Sync>;

/// Where an assigned partition is read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartAt {
    Beginning,
    Offset(i64),
}

/// What one poll returned.
#[derive(Debug, Default)]
pub struct PollResult {
    pub records: Vec<Record>,
    pub error: Option<String>,
}

/// A producer of keyed records to the test topic; shareable between
/// threads (many logical processes send through one).
pub trait Producer: Send + Sync {
    /// Start a send; `done` is called exactly once with its outcome. A send
    /// the client refuses at once returns the refusal (a `Fail`) and does
    /// not call `done`.
    fn send_async(&self, key: u64, value: u64, done: OnDelivery) -> Result<(), SendOutcome>;

    /// Send and wait (at most the message timeout + a margin) for the outcome.
    fn send(&self, key: u64, value: u64, wait: Duration) -> SendOutcome {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        let sent = self.send_async(
            key,
            value,
            Box::new(move |o| {
                let _ = tx.send(o);
            }),
        );
        if let Err(refused) = sent {
            return refused;
        }
        match rx.recv_timeout(wait) {
            Ok(o) => o,
            Err(_) => SendOutcome::Info(format!("no delivery report within {wait:?}")),
        }
    }

    /// Wait (bounded) until every outstanding send has its outcome.
    fn flush(&self, within: Duration);
}

/// A consumer of the test topic, by manual assignment (consumer groups
/// are [`GroupMember`]s).
pub trait Consumer: Send {
    fn assign(&self, partitions: &[Partition], from: StartAt) -> Result<(), String>;
    /// Assign exactly these partitions, each read from its own offset.
    fn assign_at(&self, at: &[(Partition, i64)]) -> Result<(), String>;
    /// Poll for up to `max` records or `within`, whichever comes first.
    fn poll(&self, max: usize, within: Duration) -> PollResult;
    /// Low and high watermarks of a partition.
    fn watermarks(&self, p: Partition, within: Duration) -> Result<(i64, i64), String>;
    /// The offset of the next record the consumer would return from `p`,
    /// where the client knows it. Past the last returned record, it covers
    /// what the client skipped without returning (transaction markers,
    /// aborted records under `read_committed`).
    fn position(&self, _p: Partition) -> Option<i64> {
        None
    }
}

/// The class of a transactional call's error, as the client reports it;
/// it decides what the workload does next (see the table above).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxnErrorKind {
    /// The same call may be retried (e.g. a commit that timed out).
    Retriable,
    /// The transaction must be aborted (`abort_transaction`).
    Abortable,
    /// The producer is unusable (fenced by a newer producer with the same
    /// `transactional.id`, …): replace it.
    Fatal,
    /// Anything else (a bad state of the client): treated as fatal.
    Other,
}

/// A transactional call's error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxnError {
    pub kind: TxnErrorKind,
    pub message: String,
}

impl std::fmt::Display for TxnError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({:?})", self.message, self.kind)
    }
}

/// Call `f` until it succeeds or fails with a non-retriable error.
///
/// A retriable error is librdkafka's "retry call to resume": the call
/// timed out but its operation goes on inside the client, and the same
/// call must be made again (a new producer would abandon it). So the call
/// is made again, after a short pause, for as long as `go_on()` says so;
/// then the last retriable error is returned. The workload resumes while
/// the run goes on; opening the clients resumes `init_transactions` until
/// [`TxnSettings::init_within`] has passed.
pub fn resuming(
    go_on: impl Fn() -> bool,
    mut f: impl FnMut() -> Result<(), TxnError>,
) -> Result<(), TxnError> {
    loop {
        match f() {
            Ok(()) => return Ok(()),
            Err(e) if e.kind == TxnErrorKind::Retriable && go_on() => {
                std::thread::sleep(RESUME_PAUSE);
            }
            Err(e) => return Err(e),
        }
    }
}

/// The pause between two calls of a resumed call ([`resuming`]).
const RESUME_PAUSE: Duration = Duration::from_millis(100);

/// `isolation.level` of a transactional workload's consumers.
pub use trial_checkers::Isolation;

/// What a transactional client needs besides [`ClientSettings`].
#[derive(Debug, Clone)]
pub struct TxnSettings {
    /// The producer's `transactional.id` (stable per workload process, so
    /// that a replacement fences its predecessor).
    pub transactional_id: String,
    /// The consumer group whose offsets the transactions commit.
    pub group: String,
    pub isolation: Isolation,
    /// The broker aborts a transaction left open this long.
    pub transaction_timeout: Duration,
    /// How long opening the clients may keep resuming `init_transactions`
    /// after a retriable error (librdkafka: "retry call to resume"): the
    /// same producer's call is made again until then, as librdkafka asks,
    /// rather than the producer being dropped for a new one.
    pub init_within: Duration,
}

/// A transactional producer and the consumer of the same process
/// (consume-transform-produce): the consumer's group metadata travels with
/// the offsets the producer commits, so they belong together. Blocking
/// calls, one process at a time.
pub trait TxnClient: Send {
    /// `begin_transaction`.
    fn begin(&self) -> Result<(), TxnError>;
    /// Send `value` under `key` to `partition` inside the open transaction;
    /// `done` is called once with the delivery report (the outcome table
    /// above; an aborted transaction's purged sends report `Fail`).
    fn send_async(
        &self,
        partition: Partition,
        key: u64,
        value: u64,
        done: OnDelivery,
    ) -> Result<(), SendOutcome>;
    /// `send_offsets_to_transaction` with the consumer's group metadata.
    fn send_offsets(&self, offsets: &[(Partition, i64)], within: Duration) -> Result<(), TxnError>;
    /// `commit_transaction` (flushes outstanding sends first).
    fn commit(&self, within: Duration) -> Result<(), TxnError>;
    /// `abort_transaction` (purges outstanding sends).
    fn abort(&self, within: Duration) -> Result<(), TxnError>;
    /// The consumer: assign, poll, watermarks.
    fn consumer(&self) -> &dyn Consumer;
    /// The group's committed offsets of these partitions (`None`: nothing
    /// committed yet).
    fn committed(
        &self,
        partitions: &[Partition],
        within: Duration,
    ) -> Result<Vec<(Partition, Option<i64>)>, String>;
}

/// `group.protocol` of a group member.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum GroupProtocol {
    /// The classic protocol (JoinGroup/SyncGroup; the client's assignor:
    /// eager `range`/`roundrobin`, or `cooperative-sticky`).
    #[default]
    Classic,
    /// KIP-848's consumer protocol (Kafka ≥ 4.0): the coordinator assigns
    /// (`uniform` or `range`), members reconcile incrementally.
    Consumer,
}

impl GroupProtocol {
    pub fn as_str(self) -> &'static str {
        match self {
            GroupProtocol::Classic => "classic",
            GroupProtocol::Consumer => "consumer",
        }
    }
}

/// What a group member needs besides [`ClientSettings`].
#[derive(Debug, Clone)]
pub struct GroupSettings {
    pub group: String,
    pub protocol: GroupProtocol,
    /// The assignor (`partition.assignment.strategy` for `classic`,
    /// `group.remote.assignor` for `consumer`); `None`: the client's default.
    pub assignor: Option<String>,
    pub commit: trial_histories::values::CommitMode,
    /// `max.poll.interval.ms`: a member that does not poll this long
    /// leaves the group.
    pub max_poll_interval: Duration,
}

/// The outcome of an offset commit: `Ok` the coordinator accepted it,
/// `Fail` it definitely did not (a refusal: illegal generation, unknown
/// member, fenced or stale member epoch, rebalance in progress, not in a
/// group), `Info` unknown (timeouts, lost connections, coordinator moves).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommitOutcome {
    Ok,
    Fail(String),
    Info(String),
}

/// What happened to a group member, as its client reported it, with when.
#[derive(Debug, Clone)]
pub enum GroupEvent {
    /// Partitions were added to the member's assignment.
    Assigned {
        added: Vec<Partition>,
        /// The whole assignment after the event.
        whole: Vec<Partition>,
        generation: Option<i32>,
        member: Option<String>,
        /// The group's committed offsets of `added` as the member fetched
        /// them on assignment.
        committed: Vec<(Partition, i64)>,
        at: std::time::Instant,
    },
    /// Partitions were taken away (`lost`: the member had been removed
    /// from the group).
    Revoked {
        revoked: Vec<Partition>,
        whole: Vec<Partition>,
        lost: bool,
        generation: Option<i32>,
        member: Option<String>,
        at: std::time::Instant,
    },
    /// An asynchronous or automatic commit's outcome (the commit callback).
    Committed {
        offsets: Vec<(Partition, i64)>,
        outcome: CommitOutcome,
        generation: Option<i32>,
        at: std::time::Instant,
    },
}

/// One poll of a group member: records, then the events that happened
/// after them (a poll stops at the first rebalance).
#[derive(Debug, Default)]
pub struct GroupPoll {
    pub records: Vec<Record>,
    pub error: Option<String>,
    pub events: Vec<GroupEvent>,
}

/// A consumer-group member of the test topic (subscribe, poll, commit).
pub trait GroupMember: Send {
    fn subscribe(&self) -> Result<(), String>;
    /// Poll for up to `max` records or `within`; stops early at a rebalance.
    fn poll(&self, max: usize, within: Duration) -> GroupPoll;
    /// Commit these offsets (the next record to read per partition) and wait.
    fn commit_sync(&self, offsets: &[(Partition, i64)]) -> CommitOutcome;
    /// Start committing these offsets; the outcome is a later
    /// [`GroupEvent::Committed`]. `Err`: refused at once.
    fn commit_async(&self, offsets: &[(Partition, i64)]) -> Result<(), String>;
    /// The member's generation (member epoch) now.
    fn generation(&self) -> Option<i32>;
    /// Leave the group and close; returns what was reported while closing
    /// (the final revocation, an automatic final commit).
    fn close(self: Box<Self>) -> Vec<GroupEvent>;
}

/// A kind of client.
pub trait Driver: Send + Sync + std::fmt::Debug {
    /// `rdkafka`, …
    fn name(&self) -> &'static str;
    fn producer(&self, s: &ClientSettings) -> Result<Arc<dyn Producer>, String>;
    fn consumer(&self, s: &ClientSettings, group: &str) -> Result<Box<dyn Consumer>, String>;
    /// A transactional producer (after `init_transactions`, which fences
    /// earlier producers of the same `transactional.id`) with its consumer.
    fn transactional(
        &self,
        _s: &ClientSettings,
        _t: &TxnSettings,
    ) -> Result<Box<dyn TxnClient>, String> {
        Err(format!("the {} driver has no transactions", self.name()))
    }
    /// A consumer-group member (not yet subscribed).
    fn group_member(
        &self,
        _s: &ClientSettings,
        _g: &GroupSettings,
    ) -> Result<Box<dyn GroupMember>, String> {
        Err(format!("the {} driver has no group members", self.name()))
    }
    /// The group's committed offsets of these partitions (those with
    /// nothing committed are left out), read without joining the group.
    fn committed(
        &self,
        _s: &ClientSettings,
        _group: &str,
        _partitions: &[Partition],
        _within: Duration,
    ) -> Result<Vec<(Partition, i64)>, String> {
        Err(format!(
            "the {} driver cannot read committed offsets",
            self.name()
        ))
    }
}

/// Names of the drivers [`driver`] knows.
pub const DRIVERS: &[&str] = &["rdkafka"];

/// The driver called `name`.
pub fn driver(name: &str) -> Result<Arc<dyn Driver>, String> {
    match name {
        "rdkafka" => Ok(Arc::new(rdkafka::Rdkafka)),
        #[cfg(test)]
        "double" => Ok(Arc::new(double::DoubleDriver::default())),
        _ => Err(format!(
            "unknown client driver {name:?}; known: {}",
            DRIVERS.join(", ")
        )),
    }
}
