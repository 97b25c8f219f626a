//! The queue (log) checker: reconstructs every partition's log from the
//! history and reports Jepsen's Kafka anomaly classes.
//!
//! It is fed one operation at a time by [`crate::ingest`] and keeps only
//! compact state: a table of values (one 56-byte entry per distinct value),
//! per partition a log of offsets → value ids (4 bytes per offset), per
//! process a few positions, and candidate gaps to confirm at the end (a gap
//! is a skip only if some read returned a record inside it, which is known
//! only once every read has been seen).
//!
//! Definitions of every class are in `checkers/README.md` and
//! [`crate::results::anomaly_definitions`].

pub mod feed;
mod finish;
mod reads;

use crate::cycles;
use crate::hash::FxHashMap;
use crate::verdict::{class, definition, AnomalyReport, Example, Validity};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use trial_histories::values::{Offset, Partition, Record};

/// A process as the checkers name it: workers by number, others interned.
pub use crate::checker::ProcKey;

const NO: u64 = u64::MAX;
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
    class::G0,
    class::G1C,
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
    G0,
    G1c,
}

const N_CLASSES: usize = 16;

/// Options of the queue checker.
#[derive(Debug, Clone)]
pub struct QueueOptions {
    /// At most this many examples per class.
    pub max_examples: usize,
    /// Classes reported but not counted against validity.
    pub informational: Vec<String>,
}

impl Default for QueueOptions {
    fn default() -> Self {
        QueueOptions {
            max_examples: 8,
            informational: vec![class::INT_SEND_SKIP.to_string()],
        }
    }
}

#[derive(Clone, Debug)]
struct ValueInfo {
    value: u64,
    /// Invocation index of the send or txn that wrote it.
    writer_op: u64,
    /// Completion index of that send or txn.
    ack_op: u64,
    ack_time: u64,
    first_read_op: u64,
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

    /// Some read returned a record at an offset strictly between a and b.
    fn any_read_between(&self, a: Offset, b: Offset) -> Option<(Offset, u32)> {
        if b <= a + 1 {
            return None;
        }
        let lo = (a + 1).max(0) as usize;
        let hi = (b.max(0) as usize).min(self.dense.len());
        for i in lo..hi {
            let s = self.dense[i];
            if s & READ_BIT != 0 {
                return Some((i as Offset, (s & !READ_BIT) - 1));
            }
        }
        self.sparse
            .range(a + 1..b)
            .find(|(_, s)| **s & READ_BIT != 0)
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
    final_read: Option<FinalReadSummary>,
    final_attempts: u32,
}

#[derive(Clone, Copy)]
struct ConsumerRun {
    partition: Partition,
    last: Offset,
    last_op: u64,
    run_start: Offset,
}

#[derive(Default)]
struct ProcState {
    consumer: Vec<ConsumerRun>,
    /// (partition, last acknowledged offset, op) of this process's sends.
    producer: Vec<(Partition, Offset, u64)>,
}

#[derive(Clone, Copy)]
struct Gap {
    class: Anomaly,
    partition: Partition,
    from: Offset,
    to: Offset,
    ops: [u64; 2],
    process: ProcKey,
}

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
    gaps: Vec<Gap>,
    /// (partition, offset) → every distinct value seen there, with the op.
    conflicts: FxHashMap<(Partition, Offset), Vec<(u64, u64)>>,
    /// value id → every distinct position it was seen at, with the op.
    dups: FxHashMap<u32, Vec<(Partition, Offset, u64)>>,
    /// (writer txn op, reader txn op): write-read dependencies.
    wr_edges: Vec<(u64, u64)>,
    anoms: AnomalyTally,
    /// Per second of history: change in the number of acknowledged values
    /// not yet read.
    unseen_delta: Vec<i64>,
    has_txn: bool,
    scratch: Vec<(Partition, Offset, u64)>,
    scratch_send: Vec<(Partition, Offset)>,
    last_time: u64,
}

/// The queue checker's findings.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct QueueResults {
    pub valid: Validity,
    pub anomalies: BTreeMap<String, AnomalyReport>,
    pub unseen: UnseenReport,
    pub partitions: BTreeMap<String, PartitionReport>,
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
            gaps: Vec::new(),
            conflicts: FxHashMap::default(),
            dups: FxHashMap::default(),
            wr_edges: Vec::new(),
            anoms: AnomalyTally::default(),
            unseen_delta: Vec::new(),
            has_txn: false,
            scratch: Vec::new(),
            scratch_send: Vec::new(),
            last_time: 0,
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

    fn note_time(&mut self, t: u64) {
        self.last_time = self.last_time.max(t);
    }

    /// A send (plain, or a transaction's micro-op) was invoked.
    pub fn send_invoke(&mut self, op: u64, value: u64, txn: bool) {
        let v = self.vid(value) as usize;
        let vi = &mut self.vinfo[v];
        if vi.writer_op == NO {
            vi.writer_op = op;
            vi.status = S_INVOKED;
            if txn {
                vi.flags |= F_TXN;
            }
        }
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
        if status == S_OK {
            self.acknowledged(v, time);
            if let (Some(p), Some(o)) = (partition, offset) {
                if o >= 0 {
                    self.observe(p, o, v, op, Source::Ack);
                    self.producer_step(process, p, o, op);
                }
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

    /// Cross-op monotonicity of one process's acknowledged sends.
    fn producer_step(&mut self, process: ProcKey, p: Partition, o: Offset, op: u64) {
        let max = self.opts.max_examples;
        let ps = self.procs.entry(process).or_default();
        match ps.producer.iter_mut().find(|x| x.0 == p) {
            Some(x) => {
                let (prev, prev_op) = (x.1, x.2);
                *x = (p, o, op);
                if o <= prev {
                    let name = self.pname(process);
                    self.anoms.add(Anomaly::NonmonotonicSend, max, || Example {
                        ops: vec![prev_op, op],
                        partition: Some(p),
                        offset: Some(o),
                        value: None,
                        process: Some(name.clone()),
                        message: format!(
                            "process {name} sent to partition {p} at offset {prev} (op {prev_op}) \
                             and then at offset {o} (op {op})"
                        ),
                    });
                }
            }
            None => ps.producer.push((p, o, op)),
        }
    }

    /// Record that (p, o) holds value v according to `src`.
    fn observe(&mut self, p: Partition, o: Offset, v: u32, op: u64, src: Source) {
        let pi = self.part(p);
        let ps = &mut self.parts[pi].1;
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

    /// A value was read by op (completed at `time`).
    fn read_value(&mut self, value: u64, time: u64, op: u64) -> u32 {
        let v = self.vid(value);
        let vi = &mut self.vinfo[v as usize];
        if vi.first_read_op == NO {
            vi.first_read_op = op;
            if vi.flags & F_UNSEEN_COUNTED != 0 {
                self.bump_delta(time, -1);
            }
        }
        v
    }

    /// A consumer's assignment changed, it crashed, or a poll's outcome is
    /// unknown: its next poll of any partition may start anywhere.
    pub fn reset_consumer(&mut self, process: ProcKey) {
        if let Some(ps) = self.procs.get_mut(&process) {
            let cons = std::mem::take(&mut ps.consumer);
            for c in cons {
                self.flush_run(c);
            }
        }
    }

    /// The process closed its clients and reopened them.
    pub fn crash(&mut self, process: ProcKey) {
        self.reset_consumer(process);
        if let Some(ps) = self.procs.get_mut(&process) {
            ps.producer.clear();
        }
    }

    fn flush_run(&mut self, c: ConsumerRun) {
        let pi = self.part(c.partition);
        self.parts[pi]
            .1
            .covered
            .push((c.run_start, c.last, c.last_op));
    }
}
