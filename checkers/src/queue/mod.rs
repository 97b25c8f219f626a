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
enum C {
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
struct VInfo {
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
struct CPos {
    partition: Partition,
    last: Offset,
    last_op: u64,
    run_start: Offset,
}

#[derive(Default)]
struct ProcState {
    consumer: Vec<CPos>,
    /// (partition, last acknowledged offset, op) of this process's sends.
    producer: Vec<(Partition, Offset, u64)>,
}

#[derive(Clone, Copy)]
struct Gap {
    class: C,
    partition: Partition,
    from: Offset,
    to: Offset,
    ops: [u64; 2],
    process: ProcKey,
}

#[derive(Default)]
struct Anoms {
    counts: [u64; N_CLASSES],
    examples: [Vec<Example>; N_CLASSES],
}

impl Anoms {
    fn add(&mut self, c: C, max: usize, ex: impl FnOnce() -> Example) {
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
    vinfo: Vec<VInfo>,
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
    anoms: Anoms,
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
            anoms: Anoms::default(),
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
        self.vinfo.push(VInfo {
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
                    self.anoms.add(C::NonmonotonicSend, max, || Example {
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

    fn flush_run(&mut self, c: CPos) {
        let pi = self.part(c.partition);
        self.parts[pi]
            .1
            .covered
            .push((c.run_start, c.last, c.last_op));
    }

    /// The records an ok poll returned (or a committed transaction's polls).
    /// `process` is None for the final reader (a fresh consumer per read).
    fn read_records<'r>(
        &mut self,
        op: u64,
        time: u64,
        process: Option<ProcKey>,
        records: impl Iterator<Item = &'r Record>,
        txn_reader: bool,
    ) {
        let max = self.opts.max_examples;
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.clear();
        for r in records {
            let v = self.read_value(r.value, time, op);
            self.observe(r.partition, r.offset, v, op, Source::Read);
            if txn_reader {
                let vi = &self.vinfo[v as usize];
                if vi.flags & F_TXN != 0 && vi.writer_op != NO && vi.writer_op != op {
                    self.wr_edges.push((vi.writer_op, op));
                }
            }
            let p = r.partition;
            let o = r.offset;
            if let Some(s) = scratch.iter_mut().find(|s| s.0 == p) {
                let prev = s.1;
                let run_start = s.2 as Offset;
                if o <= prev {
                    let name = process.map_or("final".to_string(), |q| self.pname(q));
                    self.anoms.add(C::IntNonmonotonicPoll, max, || Example {
                        ops: vec![op],
                        partition: Some(p),
                        offset: Some(o),
                        value: Some(r.value),
                        process: Some(name.clone()),
                        message: format!(
                            "process {name} read partition {p} at offset {prev} and then at \
                             offset {o} in one op"
                        ),
                    });
                    // The uninterrupted run ends here.
                    let pi = self.part(p);
                    self.parts[pi].1.covered.push((run_start, prev, op));
                    s.2 = o as u64;
                } else if o > prev + 1 {
                    self.gaps.push(Gap {
                        class: C::IntPollSkip,
                        partition: p,
                        from: prev,
                        to: o,
                        ops: [op, op],
                        process: process.unwrap_or(NO),
                    });
                }
                s.1 = o;
                continue;
            }
            // First record of this partition in this op.
            let mut run_start = o;
            if let Some(q) = process {
                let ps = self.procs.entry(q).or_default();
                if let Some(c) = ps.consumer.iter().find(|c| c.partition == p).copied() {
                    if o <= c.last {
                        let name = self.pname(q);
                        self.anoms.add(C::NonmonotonicPoll, max, || Example {
                            ops: vec![c.last_op, op],
                            partition: Some(p),
                            offset: Some(o),
                            value: Some(r.value),
                            process: Some(name.clone()),
                            message: format!(
                                "process {name} polled partition {p} up to offset {} (op {}) \
                                 and then from offset {o} (op {op})",
                                c.last, c.last_op
                            ),
                        });
                        self.flush_run(c);
                    } else {
                        run_start = c.run_start;
                        if o > c.last + 1 {
                            self.gaps.push(Gap {
                                class: C::PollSkip,
                                partition: p,
                                from: c.last,
                                to: o,
                                ops: [c.last_op, op],
                                process: q,
                            });
                        }
                    }
                }
            }
            scratch.push((p, o, run_start as u64));
        }
        // Remember where each partition's reading got to.
        match process {
            Some(q) => {
                let ps = self.procs.entry(q).or_default();
                for &(p, last, run_start) in &scratch {
                    let pos = CPos {
                        partition: p,
                        last,
                        last_op: op,
                        run_start: run_start as Offset,
                    };
                    match ps.consumer.iter_mut().find(|c| c.partition == p) {
                        Some(c) => *c = pos,
                        None => ps.consumer.push(pos),
                    }
                }
            }
            None => {
                // The final reader's run is accounted by final_read.
            }
        }
        self.scratch = scratch;
    }

    /// An ok poll.
    pub fn poll_ok(&mut self, op: u64, time: u64, process: ProcKey, records: &[Record]) {
        self.note_time(time);
        self.read_records(op, time, Some(process), records.iter(), false);
    }

    /// A transaction was invoked: its sends may take effect from now on.
    pub fn txn_invoke(&mut self, op: u64, sends: impl Iterator<Item = u64>) {
        self.has_txn = true;
        for v in sends {
            self.send_invoke(op, v, true);
        }
    }

    /// A transaction completed. `sends` are (value, partition, offset) of
    /// its send micro-ops in order, `polls` its poll records in order.
    #[allow(clippy::too_many_arguments)]
    pub fn txn_complete<'r>(
        &mut self,
        invoke_op: u64,
        op: u64,
        time: u64,
        process: ProcKey,
        kind: trial_histories::OpType,
        sends: &[(u64, Option<Partition>, Option<Offset>)],
        polls: impl Iterator<Item = &'r Record>,
    ) {
        use trial_histories::OpType;
        self.has_txn = true;
        self.note_time(time);
        let max = self.opts.max_examples;
        let status = match kind {
            OpType::Ok => S_OK,
            OpType::Fail => S_FAIL,
            _ => S_INFO,
        };
        let mut ss = std::mem::take(&mut self.scratch_send);
        ss.clear();
        for &(value, partition, offset) in sends {
            let v = self.vid(value);
            {
                let vi = &mut self.vinfo[v as usize];
                vi.status = status;
                vi.flags |= F_TXN;
                vi.ack_op = op;
                vi.ack_time = time;
                if vi.writer_op == NO {
                    vi.writer_op = invoke_op;
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
            if status != S_OK {
                continue;
            }
            self.acknowledged(v, time);
            let (Some(p), Some(o)) = (partition, offset) else {
                continue;
            };
            if o < 0 {
                continue;
            }
            self.observe(p, o, v, op, Source::Ack);
            match ss.iter_mut().find(|x| x.0 == p) {
                Some(x) => {
                    let prev = x.1;
                    x.1 = o;
                    if o <= prev {
                        let name = self.pname(process);
                        self.anoms.add(C::IntNonmonotonicSend, max, || Example {
                            ops: vec![op],
                            partition: Some(p),
                            offset: Some(o),
                            value: Some(value),
                            process: Some(name.clone()),
                            message: format!(
                                "transaction op {op} of process {name} sent to partition {p} \
                                 at offset {prev} and then at offset {o}"
                            ),
                        });
                    } else if o > prev + 1 {
                        self.gaps.push(Gap {
                            class: C::IntSendSkip,
                            partition: p,
                            from: prev,
                            to: o,
                            ops: [op, op],
                            process,
                        });
                    }
                }
                None => {
                    ss.push((p, o));
                    self.producer_step(process, p, o, op);
                }
            }
        }
        // The process's producer position is the txn's last send per partition.
        if status == S_OK {
            let ps = self.procs.entry(process).or_default();
            for &(p, o) in &ss {
                if let Some(x) = ps.producer.iter_mut().find(|x| x.0 == p) {
                    x.1 = x.1.max(o);
                }
            }
        }
        self.scratch_send = ss;
        if status == S_OK {
            // Reads are attributed to the txn's invocation index, so that
            // write-read edges connect invocation indices.
            self.read_records_txn(invoke_op, op, time, process, polls);
        } else {
            // An aborted or indefinite txn may have moved the consumer.
            self.reset_consumer(process);
        }
    }

    fn read_records_txn<'r>(
        &mut self,
        invoke_op: u64,
        op: u64,
        time: u64,
        process: ProcKey,
        polls: impl Iterator<Item = &'r Record>,
    ) {
        // Record edges with the invocation index of the reader, examples
        // with the completion index.
        let start = self.wr_edges.len();
        self.read_records(op, time, Some(process), polls, true);
        for e in &mut self.wr_edges[start..] {
            e.1 = invoke_op;
        }
        // Drop self-edges (a txn reading its own writes).
        let mut i = start;
        while i < self.wr_edges.len() {
            if self.wr_edges[i].0 == self.wr_edges[i].1 {
                self.wr_edges.swap_remove(i);
            } else {
                i += 1;
            }
        }
    }

    /// A final read of `partition` completed (or not: `value` is None unless
    /// it is ok).
    pub fn final_read(
        &mut self,
        op: u64,
        time: u64,
        partition: Partition,
        ok: Option<&trial_histories::values::FinalRead>,
    ) {
        self.note_time(time);
        let pi = self.part(partition);
        self.parts[pi].1.final_attempts += 1;
        let Some(fr) = ok else { return };
        self.read_records(op, time, None, fr.records.iter(), false);
        let last = fr.records.iter().map(|r| r.offset).max();
        let s = FinalReadSummary {
            op,
            start_offset: fr.start_offset,
            high_watermark: fr.high_watermark,
            records: fr.records.len() as u64,
            last_offset: last,
            complete: false, // decided in finish (depends on has_txn)
        };
        let pi = self.part(fr.partition);
        let ps = &mut self.parts[pi].1;
        // Keep the read that got furthest.
        let better = match &ps.final_read {
            None => true,
            Some(old) => {
                (s.records, s.high_watermark) > (old.records, old.high_watermark)
                    || (s.records >= s.high_watermark.saturating_sub(s.start_offset) as u64
                        && old.records < old.high_watermark.saturating_sub(old.start_offset) as u64)
            }
        };
        if better {
            ps.final_read = Some(s);
        }
    }

    /// The end of the history: decide everything that needs all reads.
    pub fn finish(mut self) -> QueueResults {
        let max = self.opts.max_examples;
        let mut unknown_reasons = Vec::new();

        // Flush consumer runs.
        let procs = std::mem::take(&mut self.procs);
        for (_, ps) in procs {
            for c in ps.consumer {
                self.flush_run(c);
            }
        }

        // Final reads: completeness and coverage.
        let has_txn = self.has_txn;
        for (p, ps) in &mut self.parts {
            let needs_final = ps.ok_sends > 0;
            match &mut ps.final_read {
                Some(fr) => {
                    let expect = (fr.high_watermark - fr.start_offset).max(0) as u64;
                    // Without transactions every offset below the high
                    // watermark holds a record. With them, control records
                    // and aborted records take offsets too, so the count
                    // cannot be checked: an ok final read is trusted to
                    // have read up to the high watermark.
                    fr.complete = has_txn || fr.records >= expect;
                    if fr.complete {
                        if fr.high_watermark > fr.start_offset {
                            ps.covered
                                .push((fr.start_offset, fr.high_watermark - 1, fr.op));
                        }
                    } else {
                        if let Some(l) = fr.last_offset {
                            ps.covered.push((fr.start_offset, l, fr.op));
                        }
                        let reached = fr.last_offset.map_or(fr.start_offset, |l| l + 1);
                        unknown_reasons.push(format!(
                            "final read of partition {p} stopped at offset {reached} of {} \
                             ({} records from offset {}, op {})",
                            fr.high_watermark, fr.records, fr.start_offset, fr.op
                        ));
                    }
                }
                None if needs_final => {
                    unknown_reasons.push(if ps.final_attempts > 0 {
                        format!(
                            "partition {p} has {} acknowledged sends but its final read never \
                             succeeded ({} attempts)",
                            ps.ok_sends, ps.final_attempts
                        )
                    } else {
                        format!(
                            "partition {p} has {} acknowledged sends but no final read",
                            ps.ok_sends
                        )
                    });
                }
                None => {}
            }
            // Sort intervals by start; prefix maximum of ends for queries.
            ps.covered.sort_unstable_by_key(|c| (c.0, c.1));
            let mut best: Option<(Offset, u64)> = None;
            for c in &mut ps.covered {
                match best {
                    Some((e, o)) if e >= c.1 => {
                        c.1 = e;
                        c.2 = o;
                    }
                    _ => best = Some((c.1, c.2)),
                }
            }
        }
        let all_final_complete = self
            .parts
            .iter()
            .all(|(_, ps)| ps.ok_sends == 0 || ps.final_read.as_ref().is_some_and(|f| f.complete));

        let ok_sends = self.vinfo.iter().filter(|v| v.status == S_OK).count();
        if ok_sends == 0 {
            unknown_reasons.push(
                "no send was acknowledged (ok): there is nothing whose loss could be detected"
                    .to_string(),
            );
        }

        // Values.
        let mut unseen_final = 0u64;
        let mut unseen_examples = Vec::new();
        for v in 0..self.vinfo.len() {
            let vi = self.vinfo[v].clone();
            let read = vi.first_read_op != NO;
            if read {
                match vi.status {
                    S_NONE => self.anoms.add(C::GarbageRead, max, || Example {
                        ops: vec![vi.first_read_op],
                        partition: Some(vi.partition),
                        offset: Some(vi.offset),
                        value: Some(vi.value),
                        process: None,
                        message: format!(
                            "value {} was read at partition {} offset {} (op {}) but no op \
                             ever sent it",
                            vi.value, vi.partition, vi.offset, vi.first_read_op
                        ),
                    }),
                    S_FAIL if vi.flags & F_TXN != 0 => {
                        self.anoms.add(C::AbortedRead, max, || Example {
                            ops: vec![vi.writer_op, vi.ack_op, vi.first_read_op],
                            partition: Some(vi.partition),
                            offset: Some(vi.offset),
                            value: Some(vi.value),
                            process: None,
                            message: format!(
                                "value {} of transaction op {} that aborted (op {}) was read \
                                 at partition {} offset {} (op {})",
                                vi.value,
                                vi.writer_op,
                                vi.ack_op,
                                vi.partition,
                                vi.offset,
                                vi.first_read_op
                            ),
                        })
                    }
                    S_FAIL => self.anoms.add(C::FailedWriteRead, max, || Example {
                        ops: vec![vi.ack_op, vi.first_read_op],
                        partition: Some(vi.partition),
                        offset: Some(vi.offset),
                        value: Some(vi.value),
                        process: None,
                        message: format!(
                            "value {} whose send failed (op {}) was read at partition {} \
                             offset {} (op {})",
                            vi.value, vi.ack_op, vi.partition, vi.offset, vi.first_read_op
                        ),
                    }),
                    _ => {}
                }
                continue;
            }
            if vi.status != S_OK {
                continue;
            }
            // Acknowledged and never read: lost if a read covered it.
            let cover = if vi.offset >= 0 {
                self.part_ix
                    .get(&vi.partition)
                    .and_then(|&pi| covering(&self.parts[pi as usize].1.covered, vi.offset))
            } else {
                None
            };
            match cover {
                Some(reader) => self.anoms.add(C::LostWrite, max, || Example {
                    ops: vec![vi.ack_op, reader],
                    partition: Some(vi.partition),
                    offset: Some(vi.offset),
                    value: Some(vi.value),
                    process: None,
                    message: format!(
                        "value {} was acknowledged at partition {} offset {} (op {}) but never \
                         read, although op {} read past that offset",
                        vi.value, vi.partition, vi.offset, vi.ack_op, reader
                    ),
                }),
                None => {
                    unseen_final += 1;
                    if unseen_examples.len() < max {
                        let pos = if vi.offset >= 0 {
                            let fr = self
                                .part_ix
                                .get(&vi.partition)
                                .and_then(|&pi| self.parts[pi as usize].1.final_read.clone());
                            match fr {
                                Some(fr) if vi.offset >= fr.high_watermark => format!(
                                    "partition {} offset {}, at or above the final high \
                                     watermark {}",
                                    vi.partition, vi.offset, fr.high_watermark
                                ),
                                Some(fr) if vi.offset < fr.start_offset => format!(
                                    "partition {} offset {}, below the final read's start \
                                     offset {}",
                                    vi.partition, vi.offset, fr.start_offset
                                ),
                                _ => format!("partition {} offset {}", vi.partition, vi.offset),
                            }
                        } else {
                            "an unknown position".to_string()
                        };
                        unseen_examples.push(Example {
                            ops: vec![vi.ack_op],
                            partition: (vi.offset >= 0).then_some(vi.partition),
                            offset: (vi.offset >= 0).then_some(vi.offset),
                            value: Some(vi.value),
                            process: None,
                            message: format!(
                                "value {} was acknowledged at {} (op {}) and never read",
                                vi.value, pos, vi.ack_op
                            ),
                        });
                    }
                }
            }
        }
        let unseen_is_loss = all_final_complete && unseen_final > 0 && ok_sends > 0;
        if unseen_final > 0 {
            let i = C::Unseen as usize;
            self.anoms.counts[i] = unseen_final;
            self.anoms.examples[i] = unseen_examples;
        }

        // Gaps: a skip only if some read returned a record inside the gap.
        let gaps = std::mem::take(&mut self.gaps);
        for g in gaps {
            let Some(&pi) = self.part_ix.get(&g.partition) else {
                continue;
            };
            let Some((o, v)) = self.parts[pi as usize].1.log.any_read_between(g.from, g.to) else {
                continue;
            };
            let value = self.vinfo[v as usize].value;
            let name = if g.process == NO {
                "final".to_string()
            } else {
                self.pname(g.process)
            };
            let (p, from, to) = (g.partition, g.from, g.to);
            let what = match g.class {
                C::PollSkip => format!(
                    "process {name} polled partition {p} up to offset {from} (op {}) and then \
                     from offset {to} (op {}), skipping offset {o} (value {value})",
                    g.ops[0], g.ops[1]
                ),
                C::IntPollSkip => format!(
                    "process {name} read partition {p} at offset {from} and then at {to} in \
                     op {}, skipping offset {o} (value {value})",
                    g.ops[0]
                ),
                _ => format!(
                    "transaction op {} of process {name} sent to partition {p} at offsets \
                     {from} and {to}, with offset {o} (value {value}) between them",
                    g.ops[0]
                ),
            };
            let ops = if g.ops[0] == g.ops[1] {
                vec![g.ops[0]]
            } else {
                g.ops.to_vec()
            };
            self.anoms.add(g.class, max, || Example {
                ops,
                partition: Some(p),
                offset: Some(o),
                value: Some(value),
                process: Some(name.clone()),
                message: what,
            });
        }

        // Inconsistent offsets.
        let mut conflicts: Vec<_> = std::mem::take(&mut self.conflicts).into_iter().collect();
        conflicts.sort_unstable_by_key(|c| c.0);
        for ((p, o), vals) in conflicts {
            let ops: Vec<u64> = vals.iter().map(|x| x.1).filter(|x| *x != NO).collect();
            let values: Vec<u64> = vals.iter().map(|x| x.0).collect();
            self.anoms.add(C::InconsistentOffsets, max, || Example {
                ops,
                partition: Some(p),
                offset: Some(o),
                value: values.first().copied(),
                process: None,
                message: format!(
                    "partition {p} offset {o} held values {values:?} in different reads"
                ),
            });
        }

        // Duplicates.
        let mut dups: Vec<_> = std::mem::take(&mut self.dups).into_iter().collect();
        dups.sort_unstable_by_key(|d| self.vinfo[d.0 as usize].value);
        for (v, pos) in dups {
            let vi = &self.vinfo[v as usize];
            let value = vi.value;
            let ops: Vec<u64> = pos.iter().map(|x| x.2).filter(|x| *x != NO).collect();
            let at: Vec<String> = pos.iter().map(|x| format!("{}@{}", x.0, x.1)).collect();
            self.anoms.add(C::Duplicate, max, || Example {
                ops,
                partition: Some(pos[0].0),
                offset: Some(pos[0].1),
                value: Some(value),
                process: None,
                message: format!(
                    "value {value} appears at {} positions (partition@offset): {}",
                    at.len(),
                    at.join(", ")
                ),
            });
        }

        // Transaction cycles.
        if self.has_txn {
            self.find_cycles();
        }

        // Unseen over time.
        let end_s = self.last_time.div_ceil(NS_PER_S) as usize;
        let mut over_time = Vec::with_capacity(end_s + 1);
        let mut cum = 0i64;
        let step = (end_s / 2000).max(1);
        for s in 0..end_s.max(self.unseen_delta.len()) {
            cum += self.unseen_delta.get(s).copied().unwrap_or(0);
            if (s + 1) % step == 0 {
                over_time.push(((s + 1) as f64, cum.max(0) as u64));
            }
        }

        // Assemble.
        let mut anomalies = BTreeMap::new();
        let mut valid = Validity::Valid;
        for (i, c) in CLASSES.iter().enumerate() {
            // Unseen values are suspicion, not proof, until every final
            // read is complete: informational until then.
            let informational = self.opts.informational.iter().any(|x| x == c)
                || (i == C::Unseen as usize && !unseen_is_loss);
            let count = self.anoms.counts[i];
            let counts_against = count > 0 && !informational;
            if counts_against {
                valid = Validity::Invalid;
            }
            anomalies.insert(
                c.to_string(),
                AnomalyReport {
                    count,
                    definition: definition(c).to_string(),
                    examples: std::mem::take(&mut self.anoms.examples[i]),
                    informational,
                },
            );
        }
        if valid == Validity::Valid && !unknown_reasons.is_empty() {
            valid = Validity::Unknown;
        }
        let partitions = self
            .parts
            .iter()
            .map(|(p, ps)| {
                (
                    p.to_string(),
                    PartitionReport {
                        ok_sends: ps.ok_sends,
                        info_sends: ps.info_sends,
                        fail_sends: ps.fail_sends,
                        offsets_known: ps.log.len() as u64,
                        max_read_offset: ps.max_read.map(|m| m.0),
                        final_read: ps.final_read.clone(),
                    },
                )
            })
            .collect();
        QueueResults {
            valid,
            anomalies,
            unseen: UnseenReport {
                final_count: unseen_final,
                over_time,
                is_loss: unseen_is_loss,
            },
            partitions,
            unknown_reasons,
        }
    }

    fn find_cycles(&mut self) {
        let max = self.opts.max_examples;
        // Nodes: committed (ok) or indefinite-but-observed (info) txns.
        let mut node_of: FxHashMap<u64, u32> = FxHashMap::default();
        let mut nodes: Vec<u64> = Vec::new();
        let mut node = |op: u64, node_of: &mut FxHashMap<u64, u32>| -> u32 {
            *node_of.entry(op).or_insert_with(|| {
                nodes.push(op);
                (nodes.len() - 1) as u32
            })
        };
        let counts_as_committed =
            |vi: &VInfo| vi.status == S_OK || (vi.status == S_INFO && vi.first_read_op != NO);
        // Write-write: consecutive txn writes in each partition's order.
        let mut writes: Vec<(Partition, Offset, u64)> = self
            .vinfo
            .iter()
            .filter(|vi| vi.flags & F_TXN != 0 && vi.offset >= 0 && counts_as_committed(vi))
            .map(|vi| (vi.partition, vi.offset, vi.writer_op))
            .collect();
        writes.sort_unstable();
        let mut edges: BTreeSet<(u32, u32, bool)> = BTreeSet::new(); // (from, to, is_wr)
        for w in writes.windows(2) {
            if w[0].0 == w[1].0 && w[0].2 != w[1].2 {
                let a = node(w[0].2, &mut node_of);
                let b = node(w[1].2, &mut node_of);
                edges.insert((a, b, false));
            }
        }
        // Write-read.
        let committed_writer: FxHashMap<u64, bool> = self
            .vinfo
            .iter()
            .filter(|vi| vi.flags & F_TXN != 0)
            .map(|vi| (vi.writer_op, counts_as_committed(vi)))
            .collect();
        for &(w, r) in &self.wr_edges {
            if committed_writer.get(&w).copied().unwrap_or(false) {
                let a = node(w, &mut node_of);
                let b = node(r, &mut node_of);
                edges.insert((a, b, true));
            }
        }
        let n = nodes.len();
        if n == 0 {
            return;
        }
        let mut all: Vec<Vec<u32>> = vec![Vec::new(); n];
        let mut ww: Vec<Vec<u32>> = vec![Vec::new(); n];
        for &(a, b, is_wr) in &edges {
            all[a as usize].push(b);
            if !is_wr {
                ww[a as usize].push(b);
            }
        }
        // G0: cycles of write-write edges only.
        for comp in cycles::tarjan_scc(&ww) {
            if comp.len() < 2 {
                continue;
            }
            let mut cyc = cycles::find_cycle(&ww, &comp, comp[0], comp[0]);
            cyc.pop(); // the path ends where it started
            let ops: Vec<u64> = cyc.iter().map(|&x| nodes[x as usize]).collect();
            self.anoms.add(C::G0, max, || Example {
                ops: ops.clone(),
                partition: None,
                offset: None,
                value: None,
                process: None,
                message: format!(
                    "transactions (invocation ops) {} form a write-write cycle",
                    fmt_cycle(&ops, &[])
                ),
            });
        }
        // G1c: a cycle containing a write-read edge.
        for comp in cycles::tarjan_scc(&all) {
            if comp.len() < 2 {
                continue;
            }
            let inside: crate::hash::FxHashSet<u32> = comp.iter().copied().collect();
            let wr = edges
                .iter()
                .find(|e| e.2 && inside.contains(&e.0) && inside.contains(&e.1));
            let Some(&(a, b, _)) = wr else { continue };
            // Cycle a -wr-> b -> ... -> a.
            let mut cyc = vec![a];
            cyc.extend(cycles::find_cycle(&all, &comp, b, a));
            cyc.pop(); // find_cycle ends at `a`
            let ops: Vec<u64> = cyc.iter().map(|&x| nodes[x as usize]).collect();
            let kinds: Vec<&str> = cyc
                .iter()
                .zip(cyc.iter().cycle().skip(1))
                .map(|(x, y)| {
                    if edges.contains(&(*x, *y, true)) {
                        "wr"
                    } else {
                        "ww"
                    }
                })
                .collect();
            self.anoms.add(C::G1c, max, || Example {
                ops: ops.clone(),
                partition: None,
                offset: None,
                value: None,
                process: None,
                message: format!(
                    "transactions (invocation ops) {} form a cycle with a write-read edge",
                    fmt_cycle(&ops, &kinds)
                ),
            });
        }
    }
}

fn fmt_cycle(ops: &[u64], kinds: &[&str]) -> String {
    let mut s = String::new();
    for (i, o) in ops.iter().enumerate() {
        s.push_str(&o.to_string());
        let k = kinds.get(i).copied().unwrap_or("ww");
        s.push_str(&format!(" -{k}-> "));
    }
    if let Some(o) = ops.first() {
        s.push_str(&o.to_string());
    }
    s
}

/// The op of an interval covering `o`, if any. `covered` is sorted by start
/// with ends replaced by their prefix maximum.
fn covering(covered: &[(Offset, Offset, u64)], o: Offset) -> Option<u64> {
    let i = covered.partition_point(|c| c.0 <= o);
    if i == 0 {
        return None;
    }
    let c = covered[i - 1];
    (c.1 >= o).then_some(c.2)
}
