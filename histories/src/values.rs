//! Typed shapes of the values that kafka-trial's workloads record.
//!
//! The history stores values as JSON; these types are the contract between
//! the suite (which writes them) and the checkers (which read them). Keys and
//! values are integers: every sent value is unique in a test, and values of
//! one key increase in send order, so a checker can name every record.

use serde::de::{self, SeqAccess, Visitor};
use serde::ser::SerializeTuple;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// Kafka partition number.
pub type Partition = i32;
/// Kafka offset within a partition.
pub type Offset = i64;

/// A keyed produce. The invocation carries `key` and `value`; an `ok`
/// completion adds `partition` and `offset` from the delivery report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Send {
    pub key: u64,
    pub value: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition: Option<Partition>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<Offset>,
}

/// One consumed record, written compactly as `[partition, offset, key, value]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Record {
    pub partition: Partition,
    pub offset: Offset,
    pub key: u64,
    pub value: u64,
}

impl Serialize for Record {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut t = s.serialize_tuple(4)?;
        t.serialize_element(&self.partition)?;
        t.serialize_element(&self.offset)?;
        t.serialize_element(&self.key)?;
        t.serialize_element(&self.value)?;
        t.end()
    }
}

impl<'de> Deserialize<'de> for Record {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Record;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a record [partition, offset, key, value]")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Record, A::Error> {
                let partition = a
                    .next_element()?
                    .ok_or_else(|| de::Error::invalid_length(0, &self))?;
                let offset = a
                    .next_element()?
                    .ok_or_else(|| de::Error::invalid_length(1, &self))?;
                let key = a
                    .next_element()?
                    .ok_or_else(|| de::Error::invalid_length(2, &self))?;
                let value = a
                    .next_element()?
                    .ok_or_else(|| de::Error::invalid_length(3, &self))?;
                Ok(Record {
                    partition,
                    offset,
                    key,
                    value,
                })
            }
        }
        d.deserialize_tuple(4, V)
    }
}

/// A consumer poll: the records it returned, in the order returned.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Poll {
    #[serde(default)]
    pub records: Vec<Record>,
    /// Group workloads: the application "crashed" after this poll returned
    /// and before it processed the records (the next op of the process is
    /// its `crash`). The records were delivered (the log holds them) but
    /// not consumed: with auto-commit their offsets may still be committed
    /// — Kafka's documented at-most-once window.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unprocessed: bool,
}

/// Manual assignment of partitions (`assign`), or the assignment a
/// consumer received in a group rebalance (`rebalance`).
///
/// What the consumer's read position becomes, per partition (checkers rely
/// on this; it is what the client really does):
/// - a partition in `seek`: the next record returned is the first at an
///   offset ≥ the given one (the client positioned itself there: a seek, an
///   assign with an explicit offset, or the committed offset it fetched);
/// - a partition in `revoked`, or newly in `partitions`, without a seek:
///   position unknown (reset);
/// - a partition that stays assigned (in `partitions` before and after, not
///   in `revoked`, no seek): the position is kept, and the next poll must go
///   on from where the last one stopped.
///
/// For `assign` the client computes `revoked` as the partitions it held and
/// no longer holds; for `rebalance` it is what the group took away (with the
/// eager protocol: everything it held).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assignment {
    /// Every partition assigned after the op (the whole assignment).
    pub partitions: Vec<Partition>,
    /// Where reading starts in these partitions: the offset of the next
    /// record the consumer will return.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub seek: Vec<(Partition, Offset)>,
    /// Partitions taken away by this op (their position is forgotten).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub revoked: Vec<Partition>,
    /// Group workloads (`rebalance`): the partitions this event newly gave
    /// the member (with the cooperative and KIP-848 protocols an
    /// assignment arrives in increments; with the eager protocol it is the
    /// whole of `partitions`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub added: Vec<Partition>,
    /// Group workloads: the member's generation (classic protocol: the
    /// group's generation id; KIP-848 `consumer` protocol: the member
    /// epoch) when the client reported the event; absent when unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generation: Option<i32>,
    /// Group workloads: the member id the coordinator gave this client.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member: Option<String>,
    /// Group workloads: the group's committed offset of each partition in
    /// `added`, fetched by the member when it was assigned (the offset its
    /// reading starts from; a partition with nothing committed is left
    /// out: it starts at the log start, `auto.offset.reset=earliest`).
    /// Not a `seek`: the position checks of the queue checker treat an
    /// added partition as starting anywhere, the group checker compares
    /// the first record read with this.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub committed: Vec<(Partition, Offset)>,
    /// Group workloads: the revocation is a loss (the member learned it had
    /// been removed from the group: session timeout, poll interval
    /// exceeded, fenced), not a revocation it was asked for.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub lost: bool,
    /// Group workloads: when the client reported the event, in nanoseconds
    /// since the test started (the op's `time` is when it was written,
    /// which may be up to one poll later).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<u64>,
}

/// How a group member commits its offsets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CommitMode {
    /// `commit(offsets, Sync)` after every poll that returned records:
    /// `commit` invoke, then its completion.
    #[default]
    Sync,
    /// `commit(offsets, Async)` after every poll; the outcome arrives later
    /// in the client's commit callback: a standalone `commit` completion.
    Async,
    /// `enable.auto.commit=true`: the client commits what polls returned
    /// every `auto.commit.interval.ms` and on close; each outcome its
    /// commit callback reports is a standalone `commit` completion.
    Auto,
}

impl CommitMode {
    pub fn as_str(self) -> &'static str {
        match self {
            CommitMode::Sync => "sync",
            CommitMode::Async => "async",
            CommitMode::Auto => "auto",
        }
    }
}

/// A group member's offset commit (`commit`).
///
/// `sync`: an `invoke` then `ok` (the coordinator accepted it), `fail` (it
/// definitely did not: rejected — illegal generation, unknown member,
/// fenced or stale member epoch, rebalance in progress — or refused by the
/// client before sending), or `info` (unknown: a timeout, a lost
/// connection, the coordinator moved). `async` / `auto`: a standalone
/// completion of the same types when the client's commit callback fires.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Commit {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    pub mode: CommitMode,
    /// Per partition, the committed offset: the next record to read.
    pub offsets: Vec<(Partition, Offset)>,
    /// The member's generation when it committed (as on `Assignment`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generation: Option<i32>,
    /// An explicit reset (e.g. a seek back and commit on purpose): this
    /// commit may go backwards.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub reset: bool,
}

/// After heal, the group's committed offsets as a fresh client fetched
/// them (`committed`, process `final`): per partition the committed
/// offset, partitions with nothing committed left out.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Committed {
    pub group: String,
    pub offsets: Vec<(Partition, Offset)>,
}

/// A group member's deliberate pause (`stall`): it stops polling for `ms`
/// milliseconds (invoke, then `ok` when it goes on). Longer than
/// `max.poll.interval.ms`, the client leaves the group and its partitions
/// are given to others; the member's next commit is a zombie's.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stall {
    pub ms: u64,
}

/// Subscription to topics in a consumer group.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subscribe {
    pub topics: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Group workloads: `group.protocol` (`classic` or `consumer`, KIP-848).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    /// Group workloads: the assignor (`partition.assignment.strategy` with
    /// `classic`: `range`, `roundrobin`, `cooperative-sticky`; with
    /// `consumer`, the broker's: `uniform`, `range`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignor: Option<String>,
    /// Group workloads: how the member commits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<CommitMode>,
}

/// After heal, a fresh consumer read a whole partition: every record from
/// `start_offset` (the log start, normally 0) up to `high_watermark`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FinalRead {
    pub partition: Partition,
    #[serde(default)]
    pub start_offset: Offset,
    pub high_watermark: Offset,
    #[serde(default)]
    pub records: Vec<Record>,
}

/// One micro-operation of a transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "f", rename_all = "lowercase")]
pub enum MicroOp {
    Send(Send),
    Poll(Poll),
}

/// A transaction: sends and polls that commit or abort together.
///
/// Outcome (the op's type): committed → `ok`; aborted, or failed before the
/// commit was sent → `fail`; a commit or abort whose outcome the client does
/// not know (timeout, coordinator moved, producer fenced while committing)
/// → `info`. A send micro-op carries its partition and offset whenever its
/// delivery report arrived, whatever the transaction's outcome: the record
/// exists at that offset (committed or aborted).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Txn {
    pub ops: Vec<MicroOp>,
    /// Consumer offsets committed with the transaction
    /// (`send_offsets_to_transaction`): per partition, the offset of the
    /// next record to read.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub offsets: Vec<(Partition, Offset)>,
    /// The workload meant to abort this transaction (it calls abort instead
    /// of commit); set on the invocation and the completion.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub abort: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_is_a_compact_array() {
        let r = Record {
            partition: 1,
            offset: 2,
            key: 3,
            value: 4,
        };
        assert_eq!(serde_json::to_string(&r).unwrap(), "[1,2,3,4]");
        let back: Record = serde_json::from_str("[1,2,3,4]").unwrap();
        assert_eq!(back, r);
        assert!(serde_json::from_str::<Record>("[1,2,3]").is_err());
    }

    #[test]
    fn send_omits_unknown_position() {
        let s = Send {
            key: 1,
            value: 7,
            partition: None,
            offset: None,
        };
        assert_eq!(serde_json::to_string(&s).unwrap(), r#"{"key":1,"value":7}"#);
    }

    #[test]
    fn txn_round_trips() {
        let t = Txn {
            ops: vec![
                MicroOp::Send(Send {
                    key: 1,
                    value: 2,
                    partition: Some(0),
                    offset: Some(9),
                }),
                MicroOp::Poll(Poll {
                    records: vec![],
                    ..Default::default()
                }),
            ],
            offsets: vec![(0, 10)],
            abort: false,
        };
        let s = serde_json::to_string(&t).unwrap();
        assert_eq!(serde_json::from_str::<Txn>(&s).unwrap(), t);
    }

    /// A group whose coordinator did not answer is its coordinator alone;
    /// the rebalancing states of both protocols are recognised.
    #[test]
    fn group_view_omits_what_was_not_read() {
        let g = GroupView {
            coordinator: 2,
            ..Default::default()
        };
        assert_eq!(serde_json::to_string(&g).unwrap(), r#"{"coordinator":2}"#);
        let full: GroupView = serde_json::from_str(
            r#"{"coordinator":1,"state":"Reconciling","epoch":7,"members":4}"#,
        )
        .unwrap();
        assert!(full.rebalancing());
        assert_eq!((full.epoch, full.members), (Some(7), Some(4)));
        for (state, rebalancing) in [
            ("PreparingRebalance", true),
            ("CompletingRebalance", true),
            ("Assigning", true),
            ("Stable", false),
            ("Empty", false),
        ] {
            let v = GroupView {
                state: Some(state.into()),
                ..g.clone()
            };
            assert_eq!(v.rebalancing(), rebalancing, "{state}");
        }
        assert!(!g.rebalancing());
        // An observation from before groups were observed reads as none.
        let o: Observation = serde_json::from_str(r#"{"partitions":[]}"#).unwrap();
        assert_eq!(o.groups, None);
    }
}

/// A sample of the cluster's state by the observer: the `ok` value of an
/// `observe` op (process `"observer"`; histories/README.md).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Observation {
    /// Every partition of the test topic, sorted by partition.
    #[serde(default)]
    pub partitions: Vec<PartitionState>,
    /// The active KRaft controller, or `null` if unknown in this sample.
    #[serde(default)]
    pub controller: Option<ControllerState>,
    /// Broker id (a string key in JSON) → node name (`n1` …).
    #[serde(default)]
    pub brokers: std::collections::BTreeMap<i32, String>,
    /// Broker ids the controller reports fenced (absent where unknown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fenced: Option<Vec<i32>>,
    /// Broker ids the observer could not reach in this sample.
    #[serde(default)]
    pub unreachable: Vec<i32>,
    /// How long the sample took.
    #[serde(default)]
    pub read_ms: u64,
    /// Per source (`metadata`, `quorum`, `cluster`, `elr`, `zookeeper`),
    /// what failed.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub errors: std::collections::BTreeMap<String, String>,
    /// ZooKeeper mode: the ensemble as its servers report themselves
    /// (absent in KRaft mode). The controller is then the broker elected
    /// through ZooKeeper, and `controller.epoch` is -1 (Metadata does not
    /// carry ZooKeeper's controller epoch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zookeeper: Option<EnsembleState>,
    /// KRaft only: what each controller (voter) id says of itself when
    /// asked on its own listener, so that two controllers that both
    /// believe they lead (KAFKA-15489) show, which the single `controller`
    /// (the highest epoch anyone reports) hides. Voters that could not be
    /// asked in this sample are left out; absent where nothing was asked
    /// (ZooKeeper mode, older histories).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voters: Option<std::collections::BTreeMap<i32, VoterView>>,
    /// Transactional workloads: each `transactional.id`'s state as its
    /// coordinator reports it (DescribeTransactions, Kafka ≥ 3.0: `Empty`,
    /// `Ongoing`, `PrepareCommit`, `PrepareAbort`, `CompleteCommit`,
    /// `CompleteAbort`, …), so that a transaction stuck half-completed
    /// (KAFKA-16352) shows. Ids no coordinator answered for are left out;
    /// absent where nothing was asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transactions: Option<std::collections::BTreeMap<String, String>>,
    /// Workloads with consumer groups: each group's coordinator and, where
    /// the coordinator answered, the group's state, so that a coordinator
    /// that moved (a `group-coordinator` fault that bit) and the
    /// rebalances it caused show. Absent where nothing was asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups: Option<std::collections::BTreeMap<String, GroupView>>,
}

/// One consumer group in an [`Observation`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct GroupView {
    /// Broker id of the group's coordinator: the leader of the group's
    /// `__consumer_offsets` partition (`abs(hash(group)) % partitions`).
    pub coordinator: i32,
    /// The state the coordinator reports: classic groups (DescribeGroups)
    /// `Empty`, `PreparingRebalance`, `CompletingRebalance`, `Stable`,
    /// `Dead`; consumer-protocol groups (KIP-848, ConsumerGroupDescribe)
    /// `Empty`, `Assigning`, `Reconciling`, `Stable`, `Dead`. Absent when
    /// the coordinator did not answer (dead, paused, cut off, loading).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// Consumer-protocol groups: the group epoch (DescribeGroups carries
    /// no generation, so classic groups have none here).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epoch: Option<i32>,
    /// Members the coordinator lists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub members: Option<u32>,
}

impl GroupView {
    /// Whether the state is one of a rebalance under way: a classic
    /// group's `PreparingRebalance` / `CompletingRebalance`, a consumer
    /// group's `Assigning` / `Reconciling`.
    pub fn rebalancing(&self) -> bool {
        matches!(
            self.state.as_deref(),
            Some("PreparingRebalance" | "CompletingRebalance" | "Assigning" | "Reconciling")
        )
    }
}

/// A ZooKeeper ensemble in an [`Observation`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct EnsembleState {
    /// The node that leads (or runs standalone), if one says so; with two
    /// (an old leader cut off from the quorum), the higher epoch's.
    pub leader: Option<String>,
    /// Node name → `leader`, `follower`, `standalone`, `not-serving` (up,
    /// without a quorum) or `unreachable`.
    pub members: std::collections::BTreeMap<String, String>,
    /// Node name → the epoch of the leadership it serves under (zxid's
    /// high 32 bits), where it answered.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub epochs: std::collections::BTreeMap<String, i64>,
}

impl EnsembleState {
    /// The members that serve clients: they lead, follow, observe or run
    /// alone (not `not-serving`, not `unreachable`).
    pub fn serving(&self) -> impl Iterator<Item = &String> {
        self.members
            .iter()
            .filter(|(_, m)| {
                matches!(
                    m.as_str(),
                    "leader" | "follower" | "standalone" | "observer"
                )
            })
            .map(|(n, _)| n)
    }
}

/// One KRaft voter's own view in an [`Observation`]: a voter answers
/// DescribeQuorum only while it is the leader (with its epoch); otherwise
/// it refuses with NOT_LEADER_OR_FOLLOWER.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct VoterView {
    /// The voter believes it is the quorum's leader (the active controller).
    pub leader: bool,
    /// The leader epoch it leads in (absent when it does not lead).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epoch: Option<i32>,
}

impl Observation {
    /// The state of partition `p`, if the sample has it.
    pub fn partition(&self, p: Partition) -> Option<&PartitionState> {
        self.partitions.iter().find(|q| q.partition == p)
    }
}

/// One partition's leadership and replicas in an [`Observation`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct PartitionState {
    pub partition: Partition,
    /// Broker id of the leader, -1 when there is none.
    pub leader: i32,
    /// The partition's leader epoch, -1 when unknown.
    pub epoch: i32,
    pub replicas: Vec<i32>,
    pub isr: Vec<i32>,
    /// Eligible leader replicas (KIP-966), where the version reports it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub elr: Option<Vec<i32>>,
    #[serde(default)]
    pub offline: Vec<i32>,
}

/// The active controller in an [`Observation`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ControllerState {
    /// The metadata quorum's leader, -1 while there is none.
    pub id: i32,
    /// The quorum's leader epoch.
    pub epoch: i32,
}
