//! The verdict vocabulary: [`Validity`], anomaly reports and examples, the
//! anomaly class names and their definitions, and the exit codes.
//!
//! A leaf module: it imports no checker, so every checker (and
//! [`crate::results`], which gathers what they found) can use it without an
//! import cycle.

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// Process exit codes of kafka-trial (DESIGN.md), one definition for the
/// checkers and the binary (`kafka-trial`'s `exit` module re-exports them).
pub mod exit_code {
    /// The history is valid.
    pub const VALID: u8 = 0;
    /// Anomalies were found.
    pub const ANOMALIES: u8 = 1;
    /// The checkers could not decide.
    pub const UNKNOWN: u8 = 2;
    /// The harness or its input failed (no cluster, bad options, bad file).
    pub const HARNESS: u8 = 3;
}

/// `true`, `false`, or `"unknown"` (could not decide: never a pass).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Validity {
    Valid,
    Invalid,
    Unknown,
}

impl Validity {
    /// Combine two verdicts: any invalid → invalid; else any unknown →
    /// unknown; else valid.
    pub fn and(self, o: Validity) -> Validity {
        use Validity::*;
        match (self, o) {
            (Invalid, _) | (_, Invalid) => Invalid,
            (Unknown, _) | (_, Unknown) => Unknown,
            _ => Valid,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Validity::Valid => "valid",
            Validity::Invalid => "INVALID",
            Validity::Unknown => "unknown",
        }
    }
    /// The process exit code that DESIGN.md assigns: 0 valid, 1 anomalies,
    /// 2 unknown.
    pub fn exit_code(self) -> u8 {
        match self {
            Validity::Valid => exit_code::VALID,
            Validity::Invalid => exit_code::ANOMALIES,
            Validity::Unknown => exit_code::UNKNOWN,
        }
    }
}

impl fmt::Display for Validity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Validity {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Validity::Valid => s.serialize_bool(true),
            Validity::Invalid => s.serialize_bool(false),
            Validity::Unknown => s.serialize_str("unknown"),
        }
    }
}

impl<'de> Deserialize<'de> for Validity {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Validity;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("true, false or \"unknown\"")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Validity, E> {
                Ok(if v {
                    Validity::Valid
                } else {
                    Validity::Invalid
                })
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Validity, E> {
                match v {
                    "unknown" => Ok(Validity::Unknown),
                    other => Err(E::custom(format!("unknown validity {other:?}"))),
                }
            }
        }
        d.deserialize_any(V)
    }
}

/// One piece of evidence for an anomaly.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Example {
    /// Indices of the ops involved (e.g. the send's ack and the read that
    /// proves the loss).
    pub ops: Vec<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process: Option<String>,
    /// What happened, in a sentence a person reads.
    pub message: String,
}

/// One anomaly class: how often, what it means, a few examples.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct AnomalyReport {
    pub count: u64,
    pub definition: String,
    pub examples: Vec<Example>,
    /// Reported but not counted against validity: the class is permitted
    /// under the run's configuration (`permitted` says why), or it is
    /// `unseen` while some final read was incomplete (suspicion, not proof).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub informational: bool,
    /// The run's configuration permits this class: why, in a sentence that
    /// quotes Kafka's documented semantics. A permitted class is reported
    /// but does not make the history invalid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permitted: Option<String>,
}

/// Anomaly class names (stable keys of `anomaly_counts`).
pub mod class {
    pub const LOST_WRITE: &str = "lost-write";
    pub const UNSEEN: &str = "unseen";
    pub const DUPLICATE: &str = "duplicate";
    pub const INCONSISTENT_OFFSETS: &str = "inconsistent-offsets";
    pub const NONMONOTONIC_SEND: &str = "nonmonotonic-send";
    pub const POLL_SKIP: &str = "poll-skip";
    pub const NONMONOTONIC_POLL: &str = "nonmonotonic-poll";
    pub const INT_POLL_SKIP: &str = "int-poll-skip";
    pub const INT_NONMONOTONIC_POLL: &str = "int-nonmonotonic-poll";
    pub const INT_SEND_SKIP: &str = "int-send-skip";
    pub const INT_NONMONOTONIC_SEND: &str = "int-nonmonotonic-send";
    pub const GARBAGE_READ: &str = "garbage-read";
    pub const FAILED_WRITE_READ: &str = "failed-write-read";
    pub const ABORTED_READ: &str = "aborted-read";
    pub const PRECOMMITTED_READ: &str = "precommitted-read";
    pub const G0: &str = "G0";
    pub const G0_PROCESS: &str = "G0-process";
    pub const G0_REALTIME: &str = "G0-realtime";
    pub const G1C: &str = "G1c";
    pub const G1C_PROCESS: &str = "G1c-process";
    pub const G1C_REALTIME: &str = "G1c-realtime";
    pub const G_SINGLE: &str = "G-single";
    pub const G_SINGLE_PROCESS: &str = "G-single-process";
    pub const G_SINGLE_REALTIME: &str = "G-single-realtime";
    pub const G2: &str = "G2";
    pub const G2_PROCESS: &str = "G2-process";
    pub const G2_REALTIME: &str = "G2-realtime";
    pub const NONLINEARIZABLE: &str = "nonlinearizable";
    pub const CONTROLLER_SPLIT_BRAIN: &str = "controller-split-brain";
    pub const CONTROLLER_SAME_EPOCH: &str = "controller-same-epoch";
    pub const STUCK_TRANSACTION: &str = "stuck-transaction";
    pub const COMMIT_REGRESSION: &str = "commit-regression";
    pub const LOST_COMMIT: &str = "lost-commit";
    pub const GROUP_SKIP: &str = "group-skip";
    pub const UNPROCESSED_SKIP: &str = "unprocessed-skip";
    pub const DOUBLE_OWNERSHIP: &str = "double-ownership";
}

/// The classes of the `group` checker, in the order it reports them.
pub const GROUP_CLASSES: [&str; 5] = [
    class::COMMIT_REGRESSION,
    class::LOST_COMMIT,
    class::GROUP_SKIP,
    class::UNPROCESSED_SKIP,
    class::DOUBLE_OWNERSHIP,
];

static DEFINITIONS: &[(&str, &str)] = &[
    (
        class::COMMIT_REGRESSION,
        "A consumer group's committed offset of a partition went backwards: an ok commit lower \
         than an earlier ok commit of the partition (same member: in completion order; another \
         member: invoked after the earlier one completed), with no explicit reset between.",
    ),
    (
        class::LOST_COMMIT,
        "The group's committed offset of a partition, fetched after the run, is lower than the \
         highest offset an ok commit acknowledged (or absent although an ok commit exists).",
    ),
    (
        class::GROUP_SKIP,
        "A record of the final log below the group's final committed offset that no member \
         ever returned in an ok poll: the group moved past it without consuming it \
         (at-least-once broken).",
    ),
    (
        class::UNPROCESSED_SKIP,
        "A record of the final log below the group's final committed offset that members only \
         ever received in polls they never processed (the application died first): its \
         offset was committed without the record being consumed.",
    ),
    (
        class::DOUBLE_OWNERSHIP,
        "Two members owned one partition at once while the earlier owner knew it was in the \
         later owner's generation or a later one (it recorded an event or ok commit of that \
         generation while both owned the partition, or before).",
    ),
    (
        class::STUCK_TRANSACTION,
        "A transactional.id its coordinator reported in PrepareCommit or PrepareAbort for \
         more than 15 s after both the last fault's stop and the start of that state: its \
         markers' completion was never written, its producer can begin no other transaction \
         (KAFKA-16352).",
    ),
    (
        class::CONTROLLER_SPLIT_BRAIN,
        "Two KRaft controllers each answered, on their own listeners, that they were the \
         metadata quorum's leader (at different epochs) for longer than a cut-off leader takes \
         to resign (10 s; KIP-595's quorum.fetch.timeout.ms, KAFKA-15489).",
    ),
    (
        class::CONTROLLER_SAME_EPOCH,
        "Two KRaft controllers each answered that they led the metadata quorum in one and \
         the same epoch (Raft's election safety broken).",
    ),
    (
        class::LOST_WRITE,
        "An acknowledged (ok) send whose value no read ever returned, although a read of its \
         partition covered its acknowledged offset: the final read's range [start_offset, \
         high_watermark), or one consumer's uninterrupted run of polls that read offsets on \
         both sides of it.",
    ),
    (
        class::UNSEEN,
        "An acknowledged (ok) send whose value no read ever returned and whose loss no read \
         proves; counted over time, and an anomaly (loss) only when every partition's final \
         read was complete.",
    ),
    (
        class::DUPLICATE,
        "One sent value found at two or more distinct (partition, offset) positions, counting \
         every read and the offset its own acknowledgement claimed.",
    ),
    (
        class::INCONSISTENT_OFFSETS,
        "One offset of a partition holding different values in different reads, or a read \
         value differing from the value an acknowledgement claimed for that offset.",
    ),
    (
        class::NONMONOTONIC_SEND,
        "Within one process, an acknowledged send to a partition got an offset not greater \
         than that of the process's previous acknowledged send to the partition (since its \
         last crash).",
    ),
    (
        class::POLL_SKIP,
        "Within one consumer process, between consecutive polls of a partition with no \
         assign, subscribe, rebalance, crash or indefinite poll in between, the offset jumped \
         forward over an offset that some read returned a record at.",
    ),
    (
        class::NONMONOTONIC_POLL,
        "Within one consumer process, between consecutive polls of a partition with no \
         assign, subscribe, rebalance, crash or indefinite poll in between, the next offset \
         read was not greater than the last one.",
    ),
    (
        class::INT_POLL_SKIP,
        "Inside one poll (or one transaction's polls, or one final read), consecutive records \
         of a partition jumped over an offset that some read returned a record at.",
    ),
    (
        class::INT_NONMONOTONIC_POLL,
        "Inside one poll (or one transaction's polls, or one final read), a record of a \
         partition had an offset not greater than the previous record of that partition.",
    ),
    (
        class::INT_SEND_SKIP,
        "Inside one committed transaction, consecutive sends to a partition were acknowledged \
         at offsets with another read record between them.",
    ),
    (
        class::INT_NONMONOTONIC_SEND,
        "Inside one committed transaction, a send to a partition was acknowledged at an \
         offset not greater than the transaction's previous send to that partition.",
    ),
    (
        class::GARBAGE_READ,
        "A read returned a value that no send (nor transaction) ever tried to write, not even \
         an invocation that never completed.",
    ),
    (
        class::FAILED_WRITE_READ,
        "A read returned the value of a send that definitely failed (type fail).",
    ),
    (
        class::ABORTED_READ,
        "A read returned a value written by a transaction that definitely aborted (type fail); \
         Adya's G1a.",
    ),
    (
        class::PRECOMMITTED_READ,
        "A read returned a transaction's record before that transaction could have committed: \
         the transaction read its own write (a read_committed consumer never returns its own \
         producer's uncommitted records), or the read completed before the writing transaction \
         was even invoked.",
    ),
    (
        class::G0,
        "A cycle of committed transactions linked only by write-write dependencies (T1 wrote \
         a record before T2 in one partition's log, and T2 before T1 in another).",
    ),
    (
        class::G0_PROCESS,
        "A G0 cycle that needs process order: write-write dependencies closed by one process \
         running T1 before T2.",
    ),
    (
        class::G0_REALTIME,
        "A G0 cycle that needs real-time order: write-write dependencies closed by T1 \
         completing before T2 was invoked.",
    ),
    (
        class::G1C,
        "A cycle of committed transactions linked by write-write and write-read dependencies \
         (T2 read a record T1 wrote), with at least one write-read edge.",
    ),
    (
        class::G1C_PROCESS,
        "A G1c cycle that needs process order (one process ran T1 before T2) to close.",
    ),
    (
        class::G1C_REALTIME,
        "A G1c cycle that needs real-time order (T1 completed before T2 was invoked) to close.",
    ),
    (
        class::G_SINGLE,
        "A dependency cycle with exactly one anti-dependency (rw: T1 read a partition up to \
         offset o and T2 wrote the next version after o): read skew.",
    ),
    (
        class::G_SINGLE_PROCESS,
        "A G-single cycle that needs process order (one process ran T1 before T2) to close.",
    ),
    (
        class::G_SINGLE_REALTIME,
        "A G-single cycle that needs real-time order (T1 completed before T2 was invoked) to \
         close.",
    ),
    (
        class::G2,
        "A dependency cycle with two or more anti-dependencies: transactions each missed \
         another's write (write skew).",
    ),
    (
        class::G2_PROCESS,
        "A G2 cycle that needs process order (one process ran T1 before T2) to close.",
    ),
    (
        class::G2_REALTIME,
        "A G2 cycle that needs real-time order (T1 completed before T2 was invoked) to close.",
    ),
    (
        class::NONLINEARIZABLE,
        "The linearizability checker found no order of the operations consistent with the \
         model and with real time (see checkers.linearizable.counterexample).",
    ),
];

/// Every anomaly class with its one-sentence definition (for the report).
pub fn anomaly_definitions() -> &'static [(&'static str, &'static str)] {
    DEFINITIONS
}

/// The definition of one class.
pub fn definition(class: &str) -> &'static str {
    DEFINITIONS
        .iter()
        .find(|(c, _)| *c == class)
        .map(|(_, d)| *d)
        .unwrap_or("")
}

/// Jepsen's keyword for a class (its Kafka workload's and Elle's names), for
/// checking Jepsen's own histories and naming our classes both ways. `None`
/// for a class Jepsen does not report (`unseen` is Jepsen's `:unseen` too,
/// but counted differently; see checkers/README.md).
pub fn jepsen_name(class: &str) -> Option<&'static str> {
    use class::*;
    Some(match class {
        LOST_WRITE => ":lost-write",
        UNSEEN => ":unseen",
        DUPLICATE => ":duplicate",
        INCONSISTENT_OFFSETS => ":inconsistent-offsets",
        NONMONOTONIC_SEND => ":nonmonotonic-send",
        POLL_SKIP => ":poll-skip",
        NONMONOTONIC_POLL => ":nonmonotonic-poll",
        INT_POLL_SKIP => ":int-poll-skip",
        INT_NONMONOTONIC_POLL => ":int-nonmonotonic-poll",
        INT_SEND_SKIP => ":int-send-skip",
        INT_NONMONOTONIC_SEND => ":int-nonmonotonic-send",
        ABORTED_READ => ":G1a",
        PRECOMMITTED_READ => ":precommitted-read",
        G0 => ":G0",
        G0_PROCESS => ":G0-process",
        G0_REALTIME => ":G0-realtime",
        G1C => ":G1c",
        G1C_PROCESS => ":G1c-process",
        G1C_REALTIME => ":G1c-realtime",
        // Jepsen folds a read of a failed plain send into G1a too.
        FAILED_WRITE_READ => ":G1a",
        // Jepsen has no class for these: a read of a value nobody wrote
        // fails its writer lookup, and its Kafka checker draws no
        // anti-dependency (rw) edges, so it finds no G-single or G2.
        GARBAGE_READ | NONLINEARIZABLE => return None,
        _ => return None,
    })
}

/// Kafka's documentation of `isolation.level`, quoted by the judgements.
const ISOLATION_DOC: &str = "Kafka documents isolation.level: \"If set to read_committed, \
     consumer.poll() will only return transactional messages which have been committed. If set \
     to read_uncommitted, consumer.poll() will return all messages, even transactional messages \
     which have been aborted.\"";

/// Whether the run's configuration permits a class, and why: the
/// per-configuration judgement (the table in checkers/README.md). `None`:
/// the class is forbidden and counts against validity.
///
/// `wr_only_cycle`: a G1c-family cycle of write-read (and process or
/// real-time) edges alone was found, which no isolation level Kafka offers
/// besides read_uncommitted permits.
pub fn permitted(class: &str, isolation: crate::Isolation, wr_only_cycle: bool) -> Option<String> {
    use class::*;
    let ru = isolation == crate::Isolation::ReadUncommitted;
    let no_isolation = "Kafka's transactions make writes atomic, not isolated: the KafkaProducer \
        documentation promises that \"the transactional producer allows an application to send \
        messages to multiple partitions (and topics!) atomically\", and concurrent transactions' \
        records interleave in every partition they share";
    match class {
        INT_SEND_SKIP => Some(format!(
            "{no_isolation}, so another producer's records may land between one transaction's \
             sends to a partition"
        )),
        G0 | G0_PROCESS | G0_REALTIME => {
            Some(format!("{no_isolation}: write-write cycles are expected"))
        }
        G1C | G1C_PROCESS | G1C_REALTIME if ru => Some(format!(
            "the consumers read with isolation.level=read_uncommitted, so a transaction may read \
             another's uncommitted records, in either direction. {ISOLATION_DOC}"
        )),
        G1C | G1C_PROCESS | G1C_REALTIME if !wr_only_cycle => Some(format!(
            "every cycle found needs a write-write edge, and {no_isolation}; a cycle of \
             write-read edges alone would be forbidden under read_committed"
        )),
        G_SINGLE | G_SINGLE_PROCESS | G_SINGLE_REALTIME | G2 | G2_PROCESS | G2_REALTIME => Some(
            "Kafka promises no serializability: its transactions make a consume-transform-\
                 produce step atomic and hide aborted records from read_committed consumers, \
                 but a transaction's polls are not isolated from concurrent commits, so \
                 anti-dependency cycles (read skew, write skew) are allowed"
                .to_string(),
        ),
        ABORTED_READ | PRECOMMITTED_READ if ru => Some(format!(
            "the consumers read with isolation.level=read_uncommitted. {ISOLATION_DOC}"
        )),
        _ => None,
    }
}

/// Kafka's documentation of `enable.auto.commit`'s delivery semantics,
/// quoted by the judgement of `unprocessed-skip`.
const AUTO_COMMIT_DOC: &str = "the group commits with enable.auto.commit=true, and the \
     KafkaConsumer documentation warns that automatic commits give at-least-once delivery only if \
     \"you must consume all data returned from each call to poll(Duration) before any subsequent \
     calls, or before closing the consumer. If you fail to do either of these, it is possible for \
     the committed offset to get ahead of the consumed position, which results in missing \
     records\": a member that died between a poll and its processing leaves such records behind \
     (at-most-once for them)";

/// The consumer-group half of the per-configuration judgement (the table
/// in checkers/README.md): whether the group's commit mode permits a
/// class of the `group` checker, and why. `None`: forbidden.
pub fn permitted_in_group(
    class: &str,
    commit: Option<trial_histories::values::CommitMode>,
) -> Option<String> {
    use trial_histories::values::CommitMode;
    match class {
        class::UNPROCESSED_SKIP if commit == Some(CommitMode::Auto) => {
            Some(AUTO_COMMIT_DOC.to_string())
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_judgement_follows_the_commit_mode() {
        use trial_histories::values::CommitMode::*;
        assert!(permitted_in_group(class::UNPROCESSED_SKIP, Some(Auto))
            .unwrap()
            .contains("enable.auto.commit"));
        for m in [None, Some(Sync), Some(Async)] {
            assert!(permitted_in_group(class::UNPROCESSED_SKIP, m).is_none());
        }
        for c in GROUP_CLASSES {
            if c != class::UNPROCESSED_SKIP {
                assert!(permitted_in_group(c, Some(Auto)).is_none(), "{c}");
            }
            assert!(definition(c).len() > 20, "{c}");
        }
    }

    #[test]
    fn validity_serialises_as_the_contract_says() {
        assert_eq!(serde_json::to_string(&Validity::Valid).unwrap(), "true");
        assert_eq!(serde_json::to_string(&Validity::Invalid).unwrap(), "false");
        assert_eq!(
            serde_json::to_string(&Validity::Unknown).unwrap(),
            "\"unknown\""
        );
        for v in [Validity::Valid, Validity::Invalid, Validity::Unknown] {
            let s = serde_json::to_string(&v).unwrap();
            assert_eq!(serde_json::from_str::<Validity>(&s).unwrap(), v);
        }
        assert_eq!(Validity::Valid.and(Validity::Unknown), Validity::Unknown);
        assert_eq!(Validity::Unknown.and(Validity::Invalid), Validity::Invalid);
    }

    #[test]
    fn judgements_follow_the_table() {
        use crate::Isolation::*;
        for c in [
            class::G0,
            class::G0_REALTIME,
            class::G2,
            class::G_SINGLE_PROCESS,
        ] {
            assert!(permitted(c, ReadCommitted, true).is_some(), "{c}");
        }
        assert!(permitted(class::G1C, ReadCommitted, false).is_some());
        assert!(permitted(class::G1C, ReadCommitted, true).is_none());
        assert!(permitted(class::G1C, ReadUncommitted, true).is_some());
        for c in [class::ABORTED_READ, class::PRECOMMITTED_READ] {
            assert!(permitted(c, ReadCommitted, false).is_none());
            assert!(permitted(c, ReadUncommitted, false)
                .unwrap()
                .contains("read_uncommitted"));
        }
        for c in [class::LOST_WRITE, class::POLL_SKIP, class::DUPLICATE] {
            assert!(permitted(c, ReadUncommitted, false).is_none());
        }
        assert_eq!(jepsen_name(class::G1C_REALTIME), Some(":G1c-realtime"));
        assert_eq!(jepsen_name(class::ABORTED_READ), Some(":G1a"));
        assert_eq!(jepsen_name(class::GARBAGE_READ), None);
    }

    #[test]
    fn every_class_has_a_definition() {
        for (c, d) in anomaly_definitions() {
            assert!(!c.is_empty() && d.len() > 20, "{c}");
        }
    }
}
