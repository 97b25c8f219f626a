//! The queue (log) checker: reconstructs every partition's log from the
//! history and reports Jepsen's Kafka anomaly classes.
//!
//! (Over 800 lines on purpose: the compact state — value table, offset
//! logs, positions — and the few methods that touch it on every op stay
//! together; reads, the end of the check and the decoding live beside it.)
//!
//! It is fed one operation at a time by [`crate::ingest`] and keeps only
//! compact state: a table of values (one 56-byte entry per distinct value),
//! per partition a log of offsets → value ids (4 bytes per offset), per
//! process a few positions, and candidate gaps to confirm at the end (a gap
//! is a skip only if some read returned a record inside it, which is known
//! only once every read has been seen).
//!
//! Transactions: each txn gets a [`TxnRec`]; whether an `info` txn
//! committed (atomicity inference: another op read one of its writes) is
//! known only once every read has been seen, so everything that depends on
//! it (sends' monotonicity, lost writes, the dependency graph) is decided in
//! `finish` from compact per-process logs of sends.
//!
//! Definitions of every class are in `checkers/README.md` and
//! [`crate::results::anomaly_definitions`].

pub mod feed;
mod finish;
mod gaps;
mod reads;
#[cfg(test)]
mod tests;

use crate::hash::FxHashMap;
use crate::verdict::{class, definition, AnomalyReport, Example, Validity};
use crate::Isolation;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use trial_histories::values::{Assignment, Offset, Partition, Record};

/// A process as the checkers name it: workers by number, others interned.
pub use crate::checker::ProcKey;

const NO: u64 = u64::MAX;
const NO32: u32 = u32::MAX;
/// `ConsumerRun::run_start` of a position set by a seek: nothing read yet.
const NO_START: Offset = Offset::MAX;
// Entries of a process's producer log (`ProcState::sends`): a plain send's
// value id, a transaction's id with TAG_TXN, or a crash.
const TAG_TXN: u64 = 1 << 62;
const TAG_CRASH: u64 = 2 << 62;
/// (jepsen client model) An assignment: the producer keeps its last sends
/// only to the partitions `keeps[e & !TAG_KEEP]` lists.
const TAG_KEEP: u64 = 3 << 62;
const NS_PER_S: u64 = 1_000_000_000;

// Value status.
const S_NONE: u8 = 0; // only ever read: no send known
const S_INVOKED: u8 = 1; // invoked, never completed: indefinite
const S_OK: u8 = 2;
const S_FAIL: u8 = 3;
const S_INFO: u8 = 4;

// Value flags.
const F_TXN: u8 = 1;
const F_UNSEEN_COUNTED: u8 = 2;
/// The value's position came from its own send's completion (an ack or a
/// delivery report inside a transaction), not only from reads: send-order
/// checks use only such positions.
const F_ACK_POS: u8 = 4;
/// Its own transaction read it (a precommitted read): the value was seen,
/// so it is neither lost nor unseen, but the read proves no commit.
const F_SELF_READ: u8 = 8;
/// Some op that completed ok (a poll, a transaction, a final read) read
/// it: what proves a commit and a read under the jepsen client model.
const F_OK_READ: u8 = 16;

/// The anomaly classes of this checker, in report order.
pub const CLASSES: &[&str] = &[
    class::LOST_WRITE,
    class::UNSEEN,
    class::DUPLICATE,
    class::INCONSISTENT_OFFSETS,
    class::NONMONOTONIC_SEND,
    class::POLL_SKIP,
    class::NONMONOTONIC_POLL,
    class::INT_POLL_SKIP,
    class::INT_NONMONOTONIC_POLL,
    class::INT_SEND_SKIP,
    class::INT_NONMONOTONIC_SEND,
    class::GARBAGE_READ,
    class::FAILED_WRITE_READ,
    class::ABORTED_READ,
    class::PRECOMMITTED_READ,
    class::G0,
    class::G0_PROCESS,
    class::G0_REALTIME,
    class::G1C,
    class::G1C_PROCESS,
    class::G1C_REALTIME,
    class::G_SINGLE,
    class::G_SINGLE_PROCESS,
    class::G_SINGLE_REALTIME,
    class::G2,
    class::G2_PROCESS,
    class::G2_REALTIME,
];

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u8)]
enum Anomaly {
    LostWrite = 0,
    Unseen,
    Duplicate,
    InconsistentOffsets,
    NonmonotonicSend,
    PollSkip,
    NonmonotonicPoll,
    IntPollSkip,
    IntNonmonotonicPoll,
    IntSendSkip,
    IntNonmonotonicSend,
    GarbageRead,
    FailedWriteRead,
    AbortedRead,
    PrecommittedRead,
    /// The graph's classes are found in `CLASSES` by name; this one is
    /// named here for the write-read cycles found in `finish`.
    G1c = 18,
}

// The enum indexes CLASSES.
const _: () = assert!(CLASSES.len() == N_CLASSES);
const _: () = assert!(matches!(CLASSES[Anomaly::G1c as usize].as_bytes(), b"G1c"));
const _: () = assert!(matches!(
    CLASSES[Anomaly::PrecommittedRead as usize].as_bytes(),
    b"precommitted-read"
));

/// The dependency-graph classes are indexed by name (`CLASSES`); the enum
/// names those the streaming checks emit.
const N_CLASSES: usize = 27;

/// Options of the queue checker.
#[derive(Debug, Clone)]
pub struct QueueOptions {
    /// At most this many examples per class.
    pub max_examples: usize,
    /// Classes permitted whatever the judgement table says (reported, not
    /// counted against validity); `int-send-skip` by default.
    pub informational: Vec<String>,
    /// The consumers' isolation level: decides the judgement of
    /// aborted-read, precommitted-read and G1c, and whether a read of an
    /// `info` transaction's write proves that it committed.
    pub isolation: Isolation,
    /// The workload writes transactions (also inferred from the history).
    pub transactional: bool,
    /// The client the history's processes ran ([`crate::ClientModel`]).
    pub client_model: crate::ClientModel,
    /// (op, partition) whose internal poll order is not judged under the
    /// jepsen model (a Jepsen op's `:rebalance-log`).
    pub excused_internal: crate::hash::FxHashSet<(u64, Partition)>,
}

impl Default for QueueOptions {
    fn default() -> Self {
        QueueOptions {
            max_examples: 8,
            informational: vec![class::INT_SEND_SKIP.to_string()],
            isolation: Isolation::default(),
            transactional: false,
            client_model: crate::ClientModel::KafkaTrial,
            excused_internal: Default::default(),
        }
    }
}

/// One transaction.
#[derive(Clone, Debug)]
struct TxnRec {
    invoke_op: u64,
    /// `NO` while in flight or if it never completed.
    complete_op: u64,
    invoke_time: u64,
    complete_time: u64,
    process: ProcKey,
    /// S_INVOKED (in flight / never completed), S_OK, S_FAIL, S_INFO.
    status: u8,
    /// Its sends' value ids: `txn_sends[sends.0 .. sends.0 + sends.1]`.
    sends: (u32, u32),
}

#[derive(Clone, Debug)]
struct ValueInfo {
    value: u64,
    /// Invocation index of the send or txn that wrote it.
    writer_op: u64,
    /// Completion index of that send or txn.
    ack_op: u64,
    ack_time: u64,
    /// The first read by an op other than the writing transaction itself.
    first_read_op: u64,
    /// The writing transaction (`NO32`: a plain send).
    txn: u32,
    /// First known position (the ack's, else the first read's); -1: none.
    offset: Offset,
    partition: Partition,
    status: u8,
    flags: u8,
}

/// One partition's reconstructed log: offset → (value id + 1), with the top
/// bit set once some read returned a record at that offset.
#[derive(Default)]
struct OffsetLog {
    dense: Vec<u32>,
    sparse: BTreeMap<Offset, u32>,
}

const READ_BIT: u32 = 1 << 31;
const DENSE_SLACK: usize = 1 << 20;

impl OffsetLog {
    fn slot(&mut self, o: Offset) -> &mut u32 {
        if o >= 0 {
            let i = o as usize;
            if i < self.dense.len() {
                return &mut self.dense[i];
            }
            if i <= self.dense.len() + DENSE_SLACK {
                self.dense.resize(i + 1, 0);
                return &mut self.dense[i];
            }
        }
        self.sparse.entry(o).or_insert(0)
    }

    /// Some read returned a record at an offset strictly between a and b
    /// (`mask` READ_BIT); with `mask` 0, any record known there, a
    /// delivery report's too (Jepsen's version order).
    fn any_read_between(&self, a: Offset, b: Offset, mask: u32) -> Option<(Offset, u32)> {
        if b <= a + 1 {
            return None;
        }
        let hit = |s: u32| s != 0 && s & mask == mask;
        let lo = (a + 1).max(0) as usize;
        let hi = (b.max(0) as usize).min(self.dense.len());
        for i in lo..hi {
            let s = self.dense[i];
            if hit(s) {
                return Some((i as Offset, (s & !READ_BIT) - 1));
            }
        }
        self.sparse
            .range(a + 1..b)
            .find(|(_, s)| hit(**s))
            .map(|(o, s)| (*o, (s & !READ_BIT) - 1))
    }

    fn len(&self) -> usize {
        self.dense.iter().filter(|s| **s != 0).count() + self.sparse.len()
    }
}

/// Summary of the final read(s) of one partition.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FinalReadSummary {
    pub op: u64,
    pub start_offset: Offset,
    pub high_watermark: Offset,
    pub records: u64,
    /// Offset of the last record returned, if any.
    pub last_offset: Option<Offset>,
    pub complete: bool,
}

#[derive(Default)]
struct PartState {
    log: OffsetLog,
    /// Intervals [from, to] that one reader read without interruption,
    /// with the op that read `to`.
    covered: Vec<(Offset, Offset, u64)>,
    ok_sends: u64,
    info_sends: u64,
    fail_sends: u64,
    max_read: Option<(Offset, u64)>,
    /// The highest offset an ok op read, and that op (jepsen lost-write).
    max_ok_read: Option<(Offset, u64)>,
    final_read: Option<FinalReadSummary>,
    final_attempts: u32,
    /// When each offset became known to exist. For the realtime lag.
    known: KnownSteps,
}

/// A partition's table of known offsets: steps (offset, time) meaning that
/// from `time` on, offsets up to `offset` were known to exist (the highest
/// offset any op had proven, as it grew), with an index by offset.
#[derive(Default)]
struct KnownSteps {
    /// Ascending in offset and in time.
    steps: Vec<(Offset, u64)>,
    /// `buckets[b]`: the first step whose offset is ≥ `b * KNOWN_BUCKET`
    /// (filled as the steps grow). Consumers lag far behind the head, so a
    /// search of the steps for a fresh position would otherwise miss the
    /// cache at every probe.
    buckets: Vec<u32>,
    /// An offset too large for the index (a sparse partition): searched
    /// without it from then on.
    unindexed: bool,
}

/// Offsets per entry of `KnownSteps::buckets`.
const KNOWN_BUCKET: Offset = 64;

impl KnownSteps {
    /// Offset `o` is known from `time` on.
    fn note(&mut self, o: Offset, time: u64) {
        match self.steps.last_mut() {
            // Within a millisecond of the last step, move the step up
            // instead of adding one: the lag stays a lower bound (offsets
            // are taken as known up to 1 ms later than they were) and the
            // table stays small (at most one step per ms).
            Some(k) if o > k.0 && time < k.1 + LAG_STEP_NS => *k = (o, time),
            Some(k) if o <= k.0 => return,
            _ => self.steps.push((o, time)),
        }
        // The last step now reaches `o`: it is the first step at or above
        // every bucket start up to `o` not yet reached (earlier steps are
        // all below them, or those buckets would be filled).
        if o >= 0 && !self.unindexed {
            let b = (o / KNOWN_BUCKET) as usize;
            if b > self.buckets.len() + (1 << 16) {
                self.unindexed = true;
                return;
            }
            let j = (self.steps.len() - 1) as u32;
            while self.buckets.len() <= b {
                self.buckets.push(j);
            }
        }
    }

    /// The index of the first step whose offset is above `last` (the
    /// number of steps if none is).
    fn first_above(&self, last: Offset) -> usize {
        let q = last.saturating_add(1);
        if q < 0 || self.unindexed {
            return self.steps.partition_point(|k| k.0 <= last);
        }
        let b = (q / KNOWN_BUCKET) as usize;
        // An unfilled bucket: every step is below its start, so ≤ last.
        let Some(&start) = self.buckets.get(b) else {
            return self.steps.len();
        };
        // Steps before `start` are below the bucket's start, so ≤ last.
        let mut i = start as usize;
        while i < self.steps.len() && self.steps[i].0 <= last {
            i += 1;
        }
        i
    }
}

/// A consumer's position in one partition: it read up to `last` (op
/// `last_op`) since `run_start`; or, after a seek (`run_start ==
/// NO_START`), its next record must be the first at an offset > `last`.
#[derive(Clone, Copy)]
struct ConsumerRun {
    partition: Partition,
    last: Offset,
    last_op: u64,
    run_start: Offset,
    /// Cursor into the partition's `known` table for the realtime lag
    /// (`u32::MAX`: not yet searched). `last` only grows within a run, so
    /// the cursor only moves forward: amortised O(1) per poll.
    known_ix: u32,
    /// When an offset above `last` became known (`NO`: not yet), cached:
    /// it never changes for a given `last`.
    expired_at: u64,
}

#[derive(Default)]
struct ProcState {
    consumer: Vec<ConsumerRun>,
    /// This process's sends and transactions in completion order, and its
    /// crashes (TAG_* entries): checked for monotonicity in `finish`, once
    /// it is known which `info` ones committed.
    sends: Vec<u64>,
}

use gaps::{Gap, GapStore};

#[derive(Default)]
struct AnomalyTally {
    counts: [u64; N_CLASSES],
    examples: [Vec<Example>; N_CLASSES],
}

impl AnomalyTally {
    fn add(&mut self, c: Anomaly, max: usize, ex: impl FnOnce() -> Example) {
        let i = c as usize;
        self.counts[i] += 1;
        if self.examples[i].len() < max {
            self.examples[i].push(ex());
        }
    }
}

/// Where an observation of (partition, offset, value) came from.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Source {
    Ack,
    Read,
}

/// The streaming queue checker.
pub struct QueueChecker {
    opts: QueueOptions,
    /// Value → id for small values (workloads number values densely from
    /// 1): one array index instead of a hash lookup. `u32::MAX`: none.
    dense_vids: Vec<u32>,
    vids: FxHashMap<u64, u32>,
    /// Partition → index into `parts`, for small partition numbers.
    dense_parts: Vec<u32>,
    vinfo: Vec<ValueInfo>,
    part_ix: FxHashMap<Partition, u32>,
    parts: Vec<(Partition, PartState)>,
    procs: FxHashMap<ProcKey, ProcState>,
    proc_names: FxHashMap<ProcKey, String>,
    gaps: GapStore,
    /// (partition, offset) → every distinct value seen there, with the op.
    conflicts: FxHashMap<(Partition, Offset), Vec<(u64, u64)>>,
    /// value id → every distinct position it was seen at, with the op.
    dups: FxHashMap<u32, Vec<(Partition, Offset, u64)>>,
    txns: Vec<TxnRec>,
    /// The value ids of every transaction's sends (`TxnRec::sends`).
    txn_sends: Vec<u32>,
    /// Invocation index → txn id, while the txn is in flight.
    open_txns: FxHashMap<u64, u32>,
    /// (writer txn, reader txn): an ok transaction read a record of another.
    wr_edges: Vec<(u32, u32)>,
    /// (txn, partition, offset, value): an ok transaction's highest read of
    /// each partition it polled.
    txn_reads: Vec<(u32, Partition, Offset, u64)>,
    /// Per ok poll (and ok txn that polled): the realtime lag lower bound,
    /// ns, of its most stale partition.
    lags: Vec<u64>,
    /// The worst lags: (lag ns, op, process, partition), at most `WORST_LAGS`.
    worst_lags: Vec<(u64, u64, ProcKey, Partition)>,
    anoms: AnomalyTally,
    /// Per second of history: change in the number of acknowledged values
    /// not yet read.
    unseen_delta: Vec<i64>,
    has_txn: bool,
    /// Per partition read by the current op: (partition, last offset, run
    /// start, value at the last offset).
    scratch: Vec<(Partition, Offset, Offset, u64)>,
    last_time: u64,
    /// (jepsen client model) Delivery reports of sends that did not end
    /// ok, placed at the end only if their writer proved committed:
    /// (partition, offset, value id, op, time).
    deferred_acks: Vec<(Partition, Offset, u32, u64, u64)>,
    /// (jepsen client model) The partitions each assignment kept
    /// (`TAG_KEEP` entries of the send logs).
    keeps: Vec<Vec<Partition>>,
}

/// The queue checker's findings.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct QueueResults {
    pub valid: Validity,
    pub anomalies: BTreeMap<String, AnomalyReport>,
    pub unseen: UnseenReport,
    pub partitions: BTreeMap<String, PartitionReport>,
    /// How stale polls were: a measure, not an anomaly.
    #[serde(default)]
    pub realtime_lag: LagReport,
    #[serde(default)]
    pub unknown_reasons: Vec<String>,
}

/// Acknowledged values not (yet) read.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct UnseenReport {
    /// Never read by the end of the history (and not proven lost).
    #[serde(rename = "final")]
    pub final_count: u64,
    /// `[t_seconds, count]`: acknowledged values not yet read at time t.
    pub over_time: Vec<(f64, u64)>,
    /// Whether the final count is an anomaly (every final read complete).
    pub is_loss: bool,
}

/// Realtime lag: per poll (and per ok transaction that polled), a lower
/// bound of how long before the poll's invocation the newest record it had
/// read of some partition had stopped being the newest one in that
/// partition (Jepsen's `realtime-lag`; checkers/README.md).
#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq)]
pub struct LagReport {
    /// Polls measured (those whose process had a known position).
    pub polls: u64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// The most stale polls, worst first.
    pub worst: Vec<LagExample>,
}

/// One stale poll.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LagExample {
    /// The poll's completion index.
    pub op: u64,
    pub process: String,
    pub partition: Partition,
    pub lag_ms: f64,
}

const WORST_LAGS: usize = 5;
/// Resolution of the table of known offsets (`PartState::known`).
const LAG_STEP_NS: u64 = 1_000_000;

/// What one partition looked like.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct PartitionReport {
    pub ok_sends: u64,
    pub info_sends: u64,
    pub fail_sends: u64,
    /// Distinct offsets known (read or acknowledged).
    pub offsets_known: u64,
    pub max_read_offset: Option<Offset>,
    pub final_read: Option<FinalReadSummary>,
}

impl QueueChecker {
    pub fn new(opts: QueueOptions) -> Self {
        QueueChecker {
            opts,
            dense_vids: Vec::new(),
            vids: FxHashMap::default(),
            dense_parts: Vec::new(),
            vinfo: Vec::new(),
            part_ix: FxHashMap::default(),
            parts: Vec::new(),
            procs: FxHashMap::default(),
            proc_names: FxHashMap::default(),
            gaps: GapStore::default(),
            conflicts: FxHashMap::default(),
            dups: FxHashMap::default(),
            txns: Vec::new(),
            txn_sends: Vec::new(),
            open_txns: FxHashMap::default(),
            wr_edges: Vec::new(),
            txn_reads: Vec::new(),
            lags: Vec::new(),
            worst_lags: Vec::new(),
            anoms: AnomalyTally::default(),
            unseen_delta: Vec::new(),
            has_txn: false,
            scratch: Vec::new(),
            last_time: 0,
            deferred_acks: Vec::new(),
            keeps: Vec::new(),
        }
    }

    /// Give a non-worker process key its display name.
    pub fn name_process(&mut self, key: ProcKey, name: &str) {
        self.proc_names.insert(key, name.to_string());
    }

    fn pname(&self, p: ProcKey) -> String {
        self.proc_names
            .get(&p)
            .cloned()
            .unwrap_or_else(|| p.to_string())
    }

    fn new_value(&mut self, value: u64) -> u32 {
        self.vinfo.push(ValueInfo {
            value,
            writer_op: NO,
            ack_op: NO,
            ack_time: 0,
            first_read_op: NO,
            txn: NO32,
            offset: -1,
            partition: -1,
            status: S_NONE,
            flags: 0,
        });
        (self.vinfo.len() - 1) as u32
    }

    #[inline]
    fn vid(&mut self, value: u64) -> u32 {
        let i = value as usize;
        if value < (1 << 40) && i < self.dense_vids.len() {
            let v = self.dense_vids[i];
            if v != u32::MAX {
                return v;
            }
            let v = self.new_value(value);
            self.dense_vids[i] = v;
            return v;
        }
        if value < (1 << 40) && i <= self.dense_vids.len() * 2 + (1 << 16) {
            self.dense_vids
                .resize((i + 1).max(self.dense_vids.len() * 2), u32::MAX);
            let v = self.new_value(value);
            self.dense_vids[i] = v;
            return v;
        }
        if let Some(v) = self.vids.get(&value) {
            return *v;
        }
        let v = self.new_value(value);
        self.vids.insert(value, v);
        v
    }

    #[inline]
    fn part(&mut self, p: Partition) -> usize {
        if (0..4096).contains(&p) {
            if let Some(&i) = self.dense_parts.get(p as usize) {
                if i != u32::MAX {
                    return i as usize;
                }
            }
        }
        let n = self.parts.len() as u32;
        let parts = &mut self.parts;
        let i = *self.part_ix.entry(p).or_insert_with(|| {
            parts.push((p, PartState::default()));
            n
        });
        if (0..4096).contains(&p) {
            let pu = p as usize;
            if pu >= self.dense_parts.len() {
                self.dense_parts.resize(pu + 1, u32::MAX);
            }
            self.dense_parts[pu] = i;
        }
        i as usize
    }

    fn bump_delta(&mut self, time: u64, d: i64) {
        let s = (time / NS_PER_S) as usize;
        if s >= self.unseen_delta.len() {
            self.unseen_delta.resize(s + 1, 0);
        }
        self.unseen_delta[s] += d;
    }

    pub(crate) fn jepsen(&self) -> bool {
        self.opts.client_model == crate::ClientModel::Jepsen
    }

    fn note_time(&mut self, t: u64) {
        self.last_time = self.last_time.max(t);
    }

    /// A plain send was invoked.
    pub fn send_invoke(&mut self, op: u64, value: u64) {
        self.send_invoke_in(op, value, NO32);
    }

    fn send_invoke_in(&mut self, op: u64, value: u64, txn: u32) -> u32 {
        let v = self.vid(value);
        let vi = &mut self.vinfo[v as usize];
        if vi.writer_op == NO {
            vi.writer_op = op;
            vi.status = S_INVOKED;
            if txn != NO32 {
                vi.flags |= F_TXN;
                vi.txn = txn;
            }
        }
        v
    }

    /// A plain send completed.
    #[allow(clippy::too_many_arguments)]
    pub fn send_complete(
        &mut self,
        op: u64,
        time: u64,
        process: ProcKey,
        kind: trial_histories::OpType,
        value: u64,
        partition: Option<Partition>,
        offset: Option<Offset>,
    ) {
        use trial_histories::OpType;
        self.note_time(time);
        let v = self.vid(value);
        let status = match kind {
            OpType::Ok => S_OK,
            OpType::Fail => S_FAIL,
            _ => S_INFO,
        };
        {
            let vi = &mut self.vinfo[v as usize];
            vi.status = status;
            vi.ack_op = op;
            vi.ack_time = time;
            if vi.writer_op == NO {
                vi.writer_op = op;
            }
        }
        if let Some(p) = partition {
            let pi = self.part(p);
            let ps = &mut self.parts[pi].1;
            match status {
                S_OK => ps.ok_sends += 1,
                S_FAIL => ps.fail_sends += 1,
                _ => ps.info_sends += 1,
            }
        }
        if status == S_FAIL {
            return;
        }
        // Ok, or info (which counts if some read proves it was written).
        self.procs.entry(process).or_default().sends.push(v as u64);
        if status == S_OK {
            self.acknowledged(v, time);
            if let (Some(p), Some(o)) = (partition, offset) {
                if o >= 0 {
                    self.observe(p, o, v, op, time, Source::Ack);
                }
            }
        } else if let (Some(p), Some(o), true) = (partition, offset, self.jepsen()) {
            // Jepsen places an info send once an ok read proves it.
            if o >= 0 {
                self.deferred_acks.push((p, o, v, op, time));
            }
        }
    }

    fn acknowledged(&mut self, v: u32, time: u64) {
        let vi = &mut self.vinfo[v as usize];
        if vi.first_read_op == NO && vi.flags & F_UNSEEN_COUNTED == 0 {
            vi.flags |= F_UNSEEN_COUNTED;
            self.bump_delta(time, 1);
        }
    }

    /// Record that (p, o) holds value v according to `src`, as known at
    /// `time`.
    fn observe(&mut self, p: Partition, o: Offset, v: u32, op: u64, time: u64, src: Source) {
        let pi = self.part(p);
        let ps = &mut self.parts[pi].1;
        ps.known.note(o, time);
        let slot = ps.log.slot(o);
        let cur = *slot;
        if src == Source::Read {
            *slot |= READ_BIT;
            if ps.max_read.is_none_or(|(m, _)| o > m) {
                ps.max_read = Some((o, op));
            }
        }
        if cur & !READ_BIT == 0 {
            *slot = (*slot & READ_BIT) | (v + 1);
        } else {
            let other = (cur & !READ_BIT) - 1;
            if other != v {
                let e = self.conflicts.entry((p, o)).or_default();
                if e.is_empty() {
                    e.push((self.vinfo[other as usize].value, NO));
                }
                let val = self.vinfo[v as usize].value;
                if !e.iter().any(|x| x.0 == val) {
                    e.push((val, op));
                }
            }
        }
        // Position of the value.
        let vi = &mut self.vinfo[v as usize];
        if vi.offset < 0 {
            vi.offset = o;
            vi.partition = p;
            if src == Source::Ack {
                vi.flags |= F_ACK_POS;
            }
        } else if src == Source::Ack && vi.offset == o && vi.partition == p {
            vi.flags |= F_ACK_POS;
        } else if vi.offset != o || vi.partition != p {
            let (vp, vo) = (vi.partition, vi.offset);
            let e = self.dups.entry(v).or_default();
            if e.is_empty() {
                e.push((vp, vo, NO));
            }
            if !e.iter().any(|x| x.0 == p && x.1 == o) {
                e.push((p, o, op));
            }
        }
    }

    /// A value was read by op (completed at `time`); `reader_txn` is the
    /// reading transaction (`NO32`: a poll or final read). Returns the
    /// value id and whether the reader is the value's own writer.
    fn read_value(
        &mut self,
        value: u64,
        time: u64,
        op: u64,
        reader_txn: u32,
        ok: bool,
    ) -> (u32, bool) {
        let v = self.vid(value);
        let vi = &mut self.vinfo[v as usize];
        if reader_txn != NO32 && vi.txn == reader_txn {
            vi.flags |= F_SELF_READ;
            return (v, true);
        }
        if ok {
            vi.flags |= F_OK_READ;
        }
        if vi.first_read_op == NO {
            vi.first_read_op = op;
            if vi.flags & F_UNSEEN_COUNTED != 0 {
                self.bump_delta(time, -1);
            }
        }
        (v, false)
    }

    /// A consumer's whole position is unknown (subscribe, crash, a poll or
    /// transaction that did not complete ok, an assignment whose outcome is
    /// unknown): its next poll of any partition may start anywhere.
    pub fn reset_consumer(&mut self, process: ProcKey) {
        if let Some(ps) = self.procs.get_mut(&process) {
            let cons = std::mem::take(&mut ps.consumer);
            for c in cons {
                self.flush_run(c);
            }
        }
    }

    /// An assignment (`assign` ok, or a `rebalance`) took effect: the rules
    /// of [`Assignment`]. A partition that stays assigned (still in
    /// `partitions`, not revoked, not sought) keeps its position; one that
    /// left, was revoked or sought loses it; a seek sets a known position.
    pub fn assignment(&mut self, op: u64, process: ProcKey, a: &Assignment) {
        if self.jepsen() {
            // Jepsen's producer forgets its last sends to keys it dropped.
            let id = self.keeps.len() as u64;
            self.keeps.push(a.partitions.clone());
            self.procs
                .entry(process)
                .or_default()
                .sends
                .push(TAG_KEEP | id);
        }
        let ps = self.procs.entry(process).or_default();
        let mut kept = Vec::with_capacity(ps.consumer.len());
        let mut dropped = Vec::new();
        for c in std::mem::take(&mut ps.consumer) {
            let p = c.partition;
            if a.partitions.contains(&p)
                && !a.revoked.contains(&p)
                && !a.seek.iter().any(|s| s.0 == p)
            {
                kept.push(c);
            } else {
                dropped.push(c);
            }
        }
        // Jepsen's checker has no seeks: a sought partition is a fresh
        // start there (its final phase runs in a new process).
        let seeks = if self.jepsen() { &[][..] } else { &a.seek[..] };
        let ps = self.procs.entry(process).or_default();
        for &(p, o) in seeks {
            if a.partitions.contains(&p) {
                kept.push(ConsumerRun {
                    partition: p,
                    // A seek to i64::MIN (a hostile history) is no overflow.
                    last: o.saturating_sub(1),
                    last_op: op,
                    run_start: NO_START,
                    known_ix: u32::MAX,
                    expired_at: NO,
                });
            }
        }
        ps.consumer = kept;
        for c in dropped {
            self.flush_run(c);
        }
    }

    /// Positions of a process's consumer, to put back after an op the
    /// jepsen client model rewinds (a transaction that did not commit, a
    /// poll that did not end ok: Jepsen's client resumes from its last
    /// committed read).
    fn save_positions(&self, process: ProcKey) -> Vec<ConsumerRun> {
        self.procs
            .get(&process)
            .map_or_else(Vec::new, |ps| ps.consumer.clone())
    }

    fn restore_positions(&mut self, process: ProcKey, saved: Vec<ConsumerRun>) {
        let ps = self.procs.entry(process).or_default();
        let now = std::mem::replace(&mut ps.consumer, saved);
        // The runs the rewound op extended still prove what they covered.
        for c in now {
            self.flush_run(c);
        }
    }

    /// The process closed its clients and reopened them.
    pub fn crash(&mut self, process: ProcKey) {
        self.reset_consumer(process);
        self.procs.entry(process).or_default().sends.push(TAG_CRASH);
    }

    fn flush_run(&mut self, c: ConsumerRun) {
        if c.run_start == NO_START {
            return; // a seek nothing was read after
        }
        let pi = self.part(c.partition);
        self.parts[pi]
            .1
            .covered
            .push((c.run_start, c.last, c.last_op));
    }
}
