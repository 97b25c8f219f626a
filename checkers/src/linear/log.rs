//! The `log` model decided in near-linear time, without a search.
//!
//! What [`super::models::Log`] accepts, per partition: a send acknowledged
//! (or read) at offset `o` must take effect when the log holds exactly `o`
//! records; a send of unknown position appends wherever it lands; a read
//! of `from` returning `k` values needs `log[from..from+k]` to hold them at
//! its instant. When every send of a partition has a known offset (and no
//! two claim one), the log is fixed: `L[o]` is the value of the send at
//! `o`. Then a linearization exists iff
//!
//! 1. the log is gap-free up to `K`, the length the completed ops need
//!    (the completed sends' offsets + 1, the completed reads' `from + k`):
//!    a send at `o` can only follow sends at every offset below `o`;
//!    indefinite sends at `K` and beyond are left out (never required, and
//!    leaving them out only removes constraints);
//! 2. every completed read's values are `L[from..from+k]`;
//! 3. the sends at `0..K` take effect in offset order, each inside its
//!    interval: placing each as early as possible (just after the latest
//!    invocation among the sends at offsets `≤ o`, `E[o]`), a send at `o`
//!    fits iff `E[o] < complete`; a read needing `from + k` records fits
//!    iff `E[from+k-1] < complete` (reads never bound the log's length).
//!
//! That is an earliest-placement greedy over a chain, linear after one
//! sort of the offsets. Where it cannot decide — a send whose position is
//! unknown (an indefinite send never read) and a violation it might
//! explain, or two sends claiming one offset when one is indefinite — the
//! partition goes to the Wing–Gong/Lowe search ([`super::check`]) with its
//! share of the budget. A valid answer from the greedy is always final: it
//! built a linearization (leaving out every send of unknown position).
//!
//! Calls are kept compact ([`LogCalls`]: one row per send and per read,
//! read values in one arena) so that a 10M-op history streams into a few
//! hundred MB, not a `Vec<Op>`.
//!
//! # Transactions
//!
//! A partition is a log of *slots*: records and transaction markers. What
//! linearizability means with transactions, as the builder encodes it
//! (the greedy and the search then check the same plain log):
//!
//! - **Appends.** A send micro-op whose delivery report arrived is a
//!   record at its offset, appended inside its transaction's interval
//!   (invocation to completion), whatever the outcome: aborted records
//!   take offsets too. One without a report is placed where a read
//!   returned it, or left out (a marker stands in for its slot).
//! - **Visibility.** A transaction is *committed* if it completed `ok`, or
//!   completed `info` (or never completed) and a read_committed read of
//!   another process returned one of its records (atomicity); otherwise
//!   (`fail`, or `info` never read) its records are *hidden*: the log holds
//!   them with [`HIDDEN`] set.
//! - **Markers.** Every offset below a partition's highest known record or
//!   read that no send explains is a marker: hidden, and unconstrained in
//!   time (indefinite, invoked at 0). This also covers an aborted record
//!   whose send the history does not show.
//! - **Reads.** A poll, a transaction's poll or a final read returns one
//!   read per run of a partition's records in increasing offsets; every
//!   offset it skipped between two records (and, for a final read, between
//!   its start offset and its first record) is a wildcard that matches a
//!   hidden slot only: a read_committed read skips exactly the markers
//!   and the aborted records (it reads below the last stable offset, so
//!   every transaction below its last record was decided). So a read is
//!   constrained on the whole span from its first to its last offset: it
//!   may not return a hidden record (an aborted read), nor skip a
//!   committed one (a lost or skipped write), and its values must be the
//!   log's. Offsets before a poll's first record are not constrained (the
//!   consumer's position is its own). A gap over [`MAX_SKIP`] offsets
//!   splits the read.
//! - **Own writes.** A read_committed poll inside a transaction that
//!   returns that transaction's own record read it before the commit:
//!   its value is marked [`OWN`], which no log value matches.
//! - **read_uncommitted** consumers (polls and, taken as the same, final
//!   reads): a hidden record's value is hidden in what they return too, so
//!   they may return it; they never decide that a transaction committed.
//!
//! What this does not model (a relaxation: a violation found is real,
//! a pass does not exclude these): when a commit becomes visible (a read
//! must follow the appends it returns, not the commit marker), so a
//! read of a concurrent transaction's record before it committed passes;
//! cycles between transactions (G1c, G-single, G2: the transactional
//! checker's); a consumer's position across polls (poll-skip: the queue
//! checker's).

use super::models::{read_matches, show_value, Log, LogInput, LogOutput, HIDDEN, MARKER, OWN};
use super::{Call, Counterexample, LinearResult, Model, Tally};
use crate::decode::TxnSend;
use crate::hash::{FxHashMap, FxHashSet};
use crate::verdict::Validity;
use crate::Isolation;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use trial_histories::values::{FinalRead, MicroOp, Poll, Record, Send, Txn};
use trial_histories::{OpType, F};

/// "None" for positions and offsets: an op that never (knowably) completed,
/// a send whose offset is unknown.
pub const NO: u64 = u64::MAX;

/// A send of the log model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendCall {
    pub partition: i32,
    pub value: u64,
    /// Its offset, relative to the partition's first (NO: unknown).
    pub offset: u64,
    pub invoke: u64,
    /// NO: indefinite (`info`, never completed, or read but not acknowledged).
    pub complete: u64,
    /// Index of the invocation in the history.
    pub index: u64,
    /// Into [`LogCalls::processes`].
    pub process: u32,
}

/// A read (one contiguous run of one partition's records of a poll or
/// final read) of the log model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadCall {
    pub partition: i32,
    pub from: u64,
    /// Its values: `LogCalls::values[start..start+len]`; `known: false`: an
    /// unconstrained read (unknown output).
    pub start: u64,
    pub len: u32,
    pub known: bool,
    pub invoke: u64,
    pub complete: u64,
    pub index: u64,
    pub process: u32,
}

/// The calls of a history under the log model, compactly.
#[derive(Debug, Clone, Default)]
pub struct LogCalls {
    pub sends: Vec<SendCall>,
    pub reads: Vec<ReadCall>,
    /// The values of every read, one after another.
    pub values: Vec<u64>,
    /// Process names (`SendCall::process`, `ReadCall::process`).
    pub processes: Vec<String>,
}

fn opt(x: u64) -> Option<u64> {
    (x != NO).then_some(x)
}

impl LogCalls {
    /// Number of calls.
    pub fn len(&self) -> usize {
        self.sends.len() + self.reads.len()
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn process_id(&mut self, ids: &mut FxHashMap<String, u32>, p: &str) -> u32 {
        if let Some(&i) = ids.get(p) {
            return i;
        }
        let i = self.processes.len() as u32;
        self.processes.push(p.to_string());
        ids.insert(p.to_string(), i);
        i
    }

    /// From generic calls (tests, the proptest against the search).
    pub fn from_calls(calls: &[Call<LogInput, LogOutput>]) -> LogCalls {
        let mut lc = LogCalls::default();
        let mut ids = FxHashMap::default();
        for c in calls {
            let process = lc.process_id(&mut ids, &c.process);
            let complete = c.complete.unwrap_or(NO);
            match (&c.input, &c.output) {
                (LogInput::Send { partition, value }, out) => lc.sends.push(SendCall {
                    partition: *partition,
                    value: *value,
                    offset: match out {
                        Some(LogOutput::Offset(o)) => *o,
                        _ => NO,
                    },
                    invoke: c.invoke,
                    complete,
                    index: c.index,
                    process,
                }),
                (LogInput::Read { partition, from }, out) => {
                    let start = lc.values.len() as u64;
                    let (len, known) = match out {
                        Some(LogOutput::Values(v)) => {
                            lc.values.extend_from_slice(v);
                            (v.len() as u32, true)
                        }
                        _ => (0, false),
                    };
                    lc.reads.push(ReadCall {
                        partition: *partition,
                        from: *from,
                        start,
                        len,
                        known,
                        invoke: c.invoke,
                        complete,
                        index: c.index,
                        process,
                    })
                }
            }
        }
        lc
    }

    fn read_values(&self, r: &ReadCall) -> &[u64] {
        &self.values[r.start as usize..r.start as usize + r.len as usize]
    }

    fn send_call(&self, s: &SendCall) -> Call<LogInput, LogOutput> {
        Call {
            input: LogInput::Send {
                partition: s.partition,
                value: s.value,
            },
            output: opt(s.offset).map(LogOutput::Offset),
            invoke: s.invoke,
            complete: opt(s.complete),
            index: s.index,
            process: self.processes[s.process as usize].clone(),
        }
    }

    fn read_call(&self, r: &ReadCall) -> Call<LogInput, LogOutput> {
        Call {
            input: LogInput::Read {
                partition: r.partition,
                from: r.from,
            },
            output: r
                .known
                .then(|| LogOutput::Values(self.read_values(r).to_vec())),
            invoke: r.invoke,
            complete: opt(r.complete),
            index: r.index,
            process: self.processes[r.process as usize].clone(),
        }
    }

    /// The generic calls of some sends and reads (for the search).
    pub fn calls_of(&self, sends: &[u32], reads: &[u32]) -> Vec<Call<LogInput, LogOutput>> {
        let mut v: Vec<_> = sends
            .iter()
            .map(|&i| self.send_call(&self.sends[i as usize]))
            .collect();
        v.extend(
            reads
                .iter()
                .map(|&i| self.read_call(&self.reads[i as usize])),
        );
        v
    }

    /// Every call, generically.
    pub fn to_calls(&self) -> Vec<Call<LogInput, LogOutput>> {
        let s: Vec<u32> = (0..self.sends.len() as u32).collect();
        let r: Vec<u32> = (0..self.reads.len() as u32).collect();
        self.calls_of(&s, &r)
    }
}

// ---------------------------------------------------------------------
// Building the calls from a history, one op at a time.

/// What an invocation left pending.
struct Pend {
    f: F,
    index: u64,
    pos: u64,
    /// Its first send row (a send: its row; a transaction: its first send
    /// micro-op's), and how many.
    send: u32,
    sends: u32,
    /// Its transaction row, for a transaction.
    txn: u32,
}

/// A send's outcome while building.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Fate {
    Indefinite,
    Acked,
    Failed,
    /// A transaction's send whose delivery report gave its offset (the
    /// record is in the log, whatever the transaction's outcome).
    Delivered,
}

/// A transaction's outcome as its completion said.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// Never completed (the test ended): committed or aborted unseen.
    Open,
    Committed,
    Aborted,
    /// `info`: the commit's outcome is unknown.
    Unknown,
}

/// A transaction while building.
struct TxnRow {
    outcome: Outcome,
    /// Its completion's position (NO: never completed).
    complete: u64,
    /// A read_committed read (not its own) returned one of its records: it
    /// committed.
    seen: bool,
}

/// Who read, when, and how ([`LogCallsBuilder::push_reads`]).
#[derive(Clone, Copy)]
struct ReadOf {
    invoke: u64,
    complete: u64,
    index: u64,
    process: u32,
    /// The transaction it is a poll of (PLAIN: none).
    txn: u32,
    /// Only committed records are returned.
    committed: bool,
}

/// "No transaction": a plain send, a read outside a transaction.
const PLAIN: u32 = u32::MAX;

/// The longest run of offsets a read may skip and stay one read: the
/// markers and aborted records between two records of one poll. A longer
/// gap splits it (the offsets in between are then not checked).
const MAX_SKIP: i64 = 1024;

/// Builds [`LogCalls`] from a history streamed op by op (`push`), then
/// resolves what needs the whole history (`finish`): offsets relative to
/// each partition's lowest, where indefinite sends landed, which
/// transactions' records are visible, the markers.
///
/// The rules (the ones of the search's input since it was written, with
/// one fix): an acknowledged send is at its partition and offset; a failed
/// send did not happen; an indefinite send whose value was read is at the
/// first place it was read (a send appends once); one never read, in a
/// partition whose final read returned the whole log, did not take effect
/// and is left out; otherwise it is in its key's partition at an unknown
/// offset. (The fix: an acknowledged send is never left out, even unread:
/// its offset claims a place in the log.) Each ok poll or final read gives
/// one read per run of a partition's records in increasing offsets, with
/// the offsets it skipped (≤ [`MAX_SKIP`] at a time) as [`HIDDEN`]
/// wildcards. Transactions as the module doc says.
#[derive(Default)]
pub struct LogCallsBuilder {
    out: LogCalls,
    ids: FxHashMap<String, u32>,
    worker_ids: FxHashMap<u64, u32>,
    pending: FxHashMap<u32, Pend>,
    /// Per send row: its key, fate, raw offset and transaction.
    keys: Vec<u64>,
    fates: Vec<Fate>,
    raw_offsets: Vec<i64>,
    send_txn: Vec<u32>,
    /// Per read row: its raw first offset, its transaction, and whether
    /// it reads committed records only.
    raw_from: Vec<i64>,
    read_txn: Vec<u32>,
    read_committed: Vec<bool>,
    txns: Vec<TxnRow>,
    /// The consumers read uncommitted records.
    polls_uncommitted: bool,
    base: FxHashMap<i32, i64>,
    key_part: FxHashMap<u64, i32>,
    complete_final: FxHashSet<i32>,
    pos: u64,
}

/// Who performed an op, as the reader found it.
#[derive(Clone, Copy, Debug)]
pub enum ProcessRef<'a> {
    Worker(u64),
    Named(&'a str),
}

impl LogCallsBuilder {
    /// A builder for consumers with read_committed polls.
    pub fn new() -> Self {
        Self::default()
    }

    /// A builder whose consumers' reads have this isolation level.
    pub fn with_isolation(isolation: Isolation) -> Self {
        LogCallsBuilder {
            polls_uncommitted: isolation == Isolation::ReadUncommitted,
            ..Self::default()
        }
    }

    fn process(&mut self, p: ProcessRef) -> u32 {
        match p {
            ProcessRef::Worker(n) => {
                if let Some(&i) = self.worker_ids.get(&n) {
                    return i;
                }
                let i = self.out.process_id(&mut self.ids, &n.to_string());
                self.worker_ids.insert(n, i);
                i
            }
            ProcessRef::Named(s) => self.out.process_id(&mut self.ids, s),
        }
    }

    fn note(&mut self, p: i32, o: i64) {
        let b = self.base.entry(p).or_insert(o);
        *b = (*b).min(o);
    }

    fn new_send(&mut self, key: u64, value: u64, pos: u64, index: u64, pid: u32, txn: u32) {
        self.out.sends.push(SendCall {
            partition: i32::MIN,
            value,
            offset: NO,
            invoke: pos,
            complete: NO,
            index,
            process: pid,
        });
        self.keys.push(key);
        self.fates.push(Fate::Indefinite);
        self.raw_offsets.push(0);
        self.send_txn.push(txn);
    }

    /// The next op of the history, with its value decoded as far as the
    /// log model needs it ([`Value::decode`]).
    pub fn push(&mut self, index: u64, process: ProcessRef, kind: OpType, f: &F, value: Value) {
        let pos = self.pos;
        self.pos += 1;
        let pid = self.process(process);
        if kind == OpType::Invoke {
            let (mut send, mut sends, mut txn) = (u32::MAX, 0, PLAIN);
            match value {
                Value::Send { key, value, .. } => {
                    send = self.out.sends.len() as u32;
                    sends = 1;
                    self.new_send(key, value, pos, index, pid, PLAIN);
                }
                Value::Txn { sends: ts, .. } => {
                    txn = self.txns.len() as u32;
                    self.txns.push(TxnRow {
                        outcome: Outcome::Open,
                        complete: NO,
                        seen: false,
                    });
                    send = self.out.sends.len() as u32;
                    sends = ts.len() as u32;
                    for &(value, _, _) in ts {
                        self.new_send(0, value, pos, index, pid, txn);
                    }
                }
                _ => {}
            }
            self.pending.insert(
                pid,
                Pend {
                    f: f.clone(),
                    index,
                    pos,
                    send,
                    sends,
                    txn,
                },
            );
            return;
        }
        // A standalone event (crash, rebalance) or a completion of another f
        // while an op is in flight: not ours.
        match self.pending.get(&pid) {
            Some(pd) if pd.f == *f => {}
            _ => return,
        }
        let Some(pd) = self.pending.remove(&pid) else {
            return;
        };
        if pd.txn != PLAIN {
            self.complete_txn(&pd, kind, value, pos, pid);
            return;
        }
        match (value, kind) {
            (
                Value::Send {
                    key,
                    value: v,
                    partition: Some(p),
                    offset: Some(o),
                },
                OpType::Ok,
            ) if pd.send != u32::MAX => {
                let i = pd.send as usize;
                self.note(p, o);
                self.key_part.insert(key, p);
                let s = &mut self.out.sends[i];
                s.partition = p;
                s.value = v;
                s.complete = pos;
                self.fates[i] = Fate::Acked;
                self.raw_offsets[i] = o;
            }
            (_, OpType::Fail) if pd.send != u32::MAX => {
                self.fates[pd.send as usize] = Fate::Failed;
            }
            (Value::Records(recs), OpType::Ok) => {
                for r in recs {
                    self.note(r.partition, r.offset);
                }
                let rd = self.read_of(&pd, pos, pid, PLAIN);
                self.push_reads(recs, rd, None);
            }
            (
                Value::FinalRead {
                    partition,
                    start_offset,
                    complete,
                    records,
                },
                OpType::Ok,
            ) => {
                self.note(partition, start_offset);
                if complete {
                    self.complete_final.insert(partition);
                }
                // Under read_uncommitted the final read is taken as one too
                // (the suite's is read_committed: that only relaxes it).
                let rd = self.read_of(&pd, pos, pid, PLAIN);
                self.push_reads(records, rd, Some((partition, start_offset)));
            }
            _ => {}
        }
    }

    fn read_of(&self, pd: &Pend, complete: u64, process: u32, txn: u32) -> ReadOf {
        ReadOf {
            invoke: pd.pos,
            complete,
            index: pd.index,
            process,
            txn,
            committed: !self.polls_uncommitted,
        }
    }

    /// A transaction's completion: its outcome, its sends' offsets, its
    /// polls' reads (they happened, whatever the outcome, inside its
    /// interval).
    fn complete_txn(&mut self, pd: &Pend, kind: OpType, value: Value, pos: u64, pid: u32) {
        let t = &mut self.txns[pd.txn as usize];
        t.complete = pos;
        t.outcome = match kind {
            OpType::Ok => Outcome::Committed,
            OpType::Fail => Outcome::Aborted,
            _ => Outcome::Unknown,
        };
        let Value::Txn { sends, records } = value else {
            return;
        };
        let rows = pd.send as usize..(pd.send + pd.sends) as usize;
        for (k, &(v, p, o)) in sends.iter().enumerate() {
            let (Some(p), Some(o)) = (p, o) else { continue };
            // Its row: the k-th send of the invocation, or the one of its
            // value if the completion lists them otherwise.
            let row = match rows.clone().nth(k) {
                Some(r) if self.out.sends[r].value == v => r,
                _ => match rows.clone().find(|&r| self.out.sends[r].value == v) {
                    Some(r) => r,
                    None => continue,
                },
            };
            self.note(p, o);
            self.out.sends[row].partition = p;
            self.out.sends[row].complete = pos;
            self.fates[row] = Fate::Delivered;
            self.raw_offsets[row] = o;
        }
        for r in records {
            self.note(r.partition, r.offset);
        }
        let rd = self.read_of(pd, pos, pid, pd.txn);
        self.push_reads(records, rd, None);
    }

    /// One read per run of a partition's records in increasing offsets,
    /// the skipped offsets as wildcards; `at`: where the reader was
    /// positioned (a final read's partition and start offset: what it
    /// skipped before its first record counts too).
    fn push_reads(&mut self, recs: &[Record], rd: ReadOf, at: Option<(i32, i64)>) {
        let mut i = 0;
        while i < recs.len() {
            let p = recs[i].partition;
            let start = self.out.values.len() as u64;
            let mut from = recs[i].offset;
            if let Some((ap, ao)) = at.filter(|_| i == 0) {
                let lead = recs[0].offset - ao;
                if ap == p && (1..=MAX_SKIP).contains(&lead) {
                    from = ao;
                    self.out
                        .values
                        .extend(std::iter::repeat_n(HIDDEN, lead as usize));
                }
            }
            self.out.values.push(recs[i].value);
            let mut j = i + 1;
            while j < recs.len() && recs[j].partition == p {
                let gap = recs[j].offset - recs[j - 1].offset - 1;
                if !(0..=MAX_SKIP).contains(&gap) {
                    break;
                }
                self.out
                    .values
                    .extend(std::iter::repeat_n(HIDDEN, gap as usize));
                self.out.values.push(recs[j].value);
                j += 1;
            }
            let len = (self.out.values.len() as u64 - start) as u32;
            self.out.reads.push(ReadCall {
                partition: p,
                from: 0,
                start,
                len,
                known: true,
                invoke: rd.invoke,
                complete: rd.complete,
                index: rd.index,
                process: rd.process,
            });
            self.raw_from.push(from);
            self.read_txn.push(rd.txn);
            self.read_committed.push(rd.committed);
            i = j;
        }
    }

    /// Resolve offsets, indefinite sends and transactions; the calls.
    pub fn finish(mut self) -> LogCalls {
        let base = std::mem::take(&mut self.base);
        let rel = |p: i32, o: i64| (o - base.get(&p).copied().unwrap_or(0)).max(0) as u64;
        // Where the values of indefinite sends were read: first place, and
        // the partition of the last read (as the search's input always had).
        let mut read_at: FxHashMap<u64, ((i32, i64), i32)> = FxHashMap::default();
        let wanted: FxHashSet<u64> = self
            .out
            .sends
            .iter()
            .zip(&self.fates)
            .filter(|(_, f)| **f == Fate::Indefinite)
            .map(|(s, _)| s.value)
            .collect();
        for (r, &from) in self.out.reads.iter_mut().zip(&self.raw_from) {
            if !wanted.is_empty() {
                let vals = &self.out.values[r.start as usize..(r.start + r.len as u64) as usize];
                for (k, v) in vals.iter().enumerate() {
                    if wanted.contains(v) {
                        read_at
                            .entry(*v)
                            .and_modify(|e| e.1 = r.partition)
                            .or_insert(((r.partition, from + k as i64), r.partition));
                    }
                }
            }
            r.from = rel(r.partition, from);
        }
        if !self.txns.is_empty() {
            self.resolve_txns();
        }
        let mut keep = Vec::with_capacity(self.out.sends.len());
        for (i, s) in self.out.sends.iter_mut().enumerate() {
            let txn = self.send_txn[i];
            match self.fates[i] {
                Fate::Failed => keep.push(false),
                Fate::Acked | Fate::Delivered => {
                    s.offset = rel(s.partition, self.raw_offsets[i]);
                    keep.push(true);
                }
                // A transaction's send without a delivery report: where it
                // was read, else left out (a marker stands in for whatever
                // is at offsets no send explains).
                Fate::Indefinite if txn != PLAIN => match read_at.get(&(s.value & !HIDDEN)) {
                    Some(&((rp, ro), _)) => {
                        s.partition = rp;
                        s.offset = rel(rp, ro);
                        keep.push(true);
                    }
                    None => keep.push(false),
                },
                Fate::Indefinite => {
                    s.complete = NO;
                    let at = read_at.get(&s.value);
                    let part = at
                        .map(|a| a.1)
                        .or_else(|| self.key_part.get(&self.keys[i]).copied());
                    let dropped =
                        at.is_none() && part.is_some_and(|p| self.complete_final.contains(&p));
                    match part.filter(|_| !dropped) {
                        Some(p) => {
                            s.partition = p;
                            s.offset = at.map_or(NO, |&((rp, ro), _)| rel(rp, ro));
                            keep.push(true);
                        }
                        None => keep.push(false),
                    }
                }
            }
        }
        let copies = self.duplicate_copies(&keep);
        let mut k = keep.iter();
        self.out.sends.retain(|_| *k.next().unwrap_or(&false));
        self.out.sends.extend(copies);
        if !self.txns.is_empty() {
            self.add_markers();
        }
        self.out
    }

    /// A plain send retried without idempotence can be appended twice
    /// (its first attempt was written, its response lost): Kafka permits
    /// that duplicate when `enable.idempotence` is off, and the queue
    /// checker judges it (`duplicate`, against the run's configuration).
    /// So the log model takes every copy of a kept plain send's value that
    /// a read returned at another offset of its partition, where no send is
    /// known, as one more append of that send: invoked with it and
    /// unconstrained in time after (an earlier attempt's request can reach
    /// the broker late). A relaxation: the model never calls a duplicate
    /// non-linearizable.
    fn duplicate_copies(&self, keep: &[bool]) -> Vec<SendCall> {
        let mut claimed: FxHashSet<(i32, u64)> = FxHashSet::default();
        let mut by_value: FxHashMap<u64, usize> = FxHashMap::default();
        for (i, s) in self.out.sends.iter().enumerate() {
            if !keep[i] || s.offset == NO {
                continue;
            }
            claimed.insert((s.partition, s.offset));
            if self.send_txn[i] == PLAIN {
                by_value.insert(s.value, i);
            }
        }
        let mut copies = vec![];
        if by_value.is_empty() {
            return copies;
        }
        for r in self.out.reads.iter().filter(|r| r.known) {
            let vals = &self.out.values[r.start as usize..(r.start + r.len as u64) as usize];
            for (k, v) in vals.iter().enumerate() {
                let o = r.from + k as u64;
                if v & HIDDEN != 0 || claimed.contains(&(r.partition, o)) {
                    continue;
                }
                if let Some(&i) = by_value.get(v) {
                    let s = &self.out.sends[i];
                    if s.partition == r.partition {
                        claimed.insert((r.partition, o));
                        copies.push(SendCall {
                            offset: o,
                            complete: NO,
                            ..s.clone()
                        });
                    }
                }
            }
        }
        copies
    }

    /// Which transactions committed, and the values that say so: a
    /// record of a transaction that did not commit is [`HIDDEN`] in the
    /// log (and in what a read_uncommitted poll returned); a transaction's
    /// own record in its read_committed poll is marked [`OWN`].
    fn resolve_txns(&mut self) {
        let mut txn_of: FxHashMap<u64, u32> = FxHashMap::default();
        for (s, &t) in self.out.sends.iter().zip(&self.send_txn) {
            if t != PLAIN {
                txn_of.insert(s.value, t);
            }
        }
        for (ri, r) in self.out.reads.iter().enumerate() {
            if !self.read_committed[ri] {
                continue;
            }
            let vals = &mut self.out.values[r.start as usize..(r.start + r.len as u64) as usize];
            for v in vals {
                match txn_of.get(v) {
                    Some(&t) if t == self.read_txn[ri] => *v |= HIDDEN | MARKER | OWN,
                    Some(&t) => self.txns[t as usize].seen = true,
                    None => {}
                }
            }
        }
        let committed = |t: &TxnRow| match t.outcome {
            Outcome::Committed => true,
            Outcome::Aborted => false,
            Outcome::Open | Outcome::Unknown => t.seen,
        };
        for (ri, r) in self.out.reads.iter().enumerate() {
            if self.read_committed[ri] {
                continue;
            }
            let vals = &mut self.out.values[r.start as usize..(r.start + r.len as u64) as usize];
            for v in vals {
                if let Some(&t) = txn_of.get(v) {
                    if !committed(&self.txns[t as usize]) {
                        *v |= HIDDEN;
                    }
                }
            }
        }
        for (s, &t) in self.out.sends.iter_mut().zip(&self.send_txn) {
            if t != PLAIN && !committed(&self.txns[t as usize]) {
                s.value |= HIDDEN;
            }
        }
        // A send's completion is its transaction's: its record was
        // appended before the transaction ended, whatever the outcome.
        for ((s, &t), f) in self
            .out
            .sends
            .iter_mut()
            .zip(&self.send_txn)
            .zip(&self.fates)
        {
            if t != PLAIN && *f == Fate::Delivered {
                s.complete = self.txns[t as usize].complete;
            } else if t != PLAIN {
                s.complete = NO;
            }
        }
    }

    /// A marker at every offset below a partition's highest (known
    /// record or read) that no send explains: a transaction marker, or an
    /// aborted record whose send the history does not show. Markers are
    /// hidden, indefinite and unconstrained in time.
    fn add_markers(&mut self) {
        let mut known: BTreeMap<i32, FxHashSet<u64>> = BTreeMap::new();
        let mut top: BTreeMap<i32, u64> = BTreeMap::new();
        for s in &self.out.sends {
            if s.offset != NO {
                known.entry(s.partition).or_default().insert(s.offset);
                let t = top.entry(s.partition).or_default();
                *t = (*t).max(s.offset + 1);
            }
        }
        for r in &self.out.reads {
            let t = top.entry(r.partition).or_default();
            *t = (*t).max(r.from + r.len as u64);
        }
        let marker = self.out.process_id(&mut self.ids, "marker");
        for (p, t) in top {
            let k = known.remove(&p).unwrap_or_default();
            for o in (0..t).filter(|o| !k.contains(o)) {
                self.out.sends.push(SendCall {
                    partition: p,
                    value: HIDDEN | MARKER | o,
                    offset: o,
                    invoke: 0,
                    complete: NO,
                    index: NO,
                    process: marker,
                });
            }
        }
    }
}

/// Buffers an op's value is decoded into ([`Value::decode`]).
#[derive(Debug, Default)]
pub struct Scratch {
    recs: Vec<Record>,
    sends: Vec<TxnSend>,
}

/// An op's value as far as the log model needs it.
#[derive(Debug)]
pub enum Value<'a> {
    Send {
        key: u64,
        value: u64,
        partition: Option<i32>,
        offset: Option<i64>,
    },
    /// An ok poll's records.
    Records(&'a [Record]),
    /// An ok final read: its records, and whether it returned the whole log
    /// (`records ≥ high_watermark − start_offset`).
    FinalRead {
        partition: i32,
        start_offset: i64,
        complete: bool,
        records: &'a [Record],
    },
    /// A transaction (any type): its send micro-ops (value, partition,
    /// offset) and its polls' records.
    Txn {
        sends: &'a [TxnSend],
        records: &'a [Record],
    },
    /// Nothing the model needs (or a value that does not decode: the
    /// pairing pass reports those).
    Other,
}

impl<'a> Value<'a> {
    /// Decode the raw JSON `raw` of an op (`buf`: buffers for records and
    /// sends). None: the shape is not one the model reads, or it does not
    /// decode.
    pub fn decode(kind: OpType, f: &F, raw: &[u8], buf: &'a mut Scratch) -> Option<Value<'a>> {
        match (f, kind) {
            (F::Send, OpType::Invoke | OpType::Ok) => {
                let (key, value, partition, offset) = super::scan::send(raw).or_else(|| {
                    serde_json::from_slice::<Send>(raw)
                        .ok()
                        .map(|s| (s.key, s.value, s.partition, s.offset))
                })?;
                Some(Value::Send {
                    key,
                    value,
                    partition,
                    offset,
                })
            }
            (F::Poll, OpType::Ok) => {
                let recs = &mut buf.recs;
                recs.clear();
                let fast = std::str::from_utf8(raw).is_ok_and(|t| crate::decode::poll(t, recs));
                if !fast {
                    *recs = serde_json::from_slice::<Poll>(raw).ok()?.records;
                }
                Some(Value::Records(recs))
            }
            (F::FinalRead, OpType::Ok) => {
                let fr = serde_json::from_slice::<FinalRead>(raw).ok()?;
                buf.recs = fr.records;
                Some(Value::FinalRead {
                    partition: fr.partition,
                    start_offset: fr.start_offset,
                    complete: buf.recs.len() as i64 >= fr.high_watermark - fr.start_offset,
                    records: &buf.recs,
                })
            }
            (F::Txn, _) => {
                buf.recs.clear();
                buf.sends.clear();
                let fast = std::str::from_utf8(raw)
                    .is_ok_and(|t| crate::decode::txn(t, &mut buf.sends, &mut buf.recs));
                if !fast {
                    let t = serde_json::from_slice::<Txn>(raw).ok()?;
                    for m in t.ops {
                        match m {
                            MicroOp::Send(s) => buf.sends.push((s.value, s.partition, s.offset)),
                            MicroOp::Poll(p) => buf.recs.extend(p.records),
                        }
                    }
                }
                Some(Value::Txn {
                    sends: &buf.sends,
                    records: &buf.recs,
                })
            }
            _ => Some(Value::Other),
        }
    }

    /// Does the model read the value of such an op?
    pub fn needed(kind: OpType, f: &F) -> bool {
        matches!(
            (f, kind),
            (F::Send, OpType::Invoke | OpType::Ok)
                | (F::Poll | F::FinalRead, OpType::Ok)
                | (F::Txn, _)
        )
    }
}

/// The calls of a history in memory (read_committed polls).
pub fn log_calls_compact(ops: &[trial_histories::Op]) -> LogCalls {
    log_calls_with(ops, Isolation::ReadCommitted)
}

/// The calls of a history in memory whose polls have this isolation.
pub fn log_calls_with(ops: &[trial_histories::Op], isolation: Isolation) -> LogCalls {
    let mut b = LogCallsBuilder::with_isolation(isolation);
    for op in ops {
        let p = match &op.process {
            trial_histories::Process::Worker(n) => ProcessRef::Worker(*n),
            trial_histories::Process::Nemesis => ProcessRef::Named("nemesis"),
            trial_histories::Process::Named(s) => ProcessRef::Named(s),
        };
        let mut recs = Scratch::default();
        let v = Value::decode(op.kind, &op.f, op.value.get().as_bytes(), &mut recs)
            .unwrap_or(Value::Other);
        b.push(op.index, p, op.kind, &op.f, v);
    }
    b.finish()
}

// ---------------------------------------------------------------------
// The decision.

/// What the greedy found for one partition.
#[derive(Debug)]
pub enum Decision {
    Valid,
    Invalid(Box<Counterexample>),
    /// The greedy cannot decide (the reason); the search must.
    Undecided(String),
}

/// A violation: the op that cannot be placed (a send or a read row), the
/// time by which it had to be, and why.
struct Violation {
    send: Option<u32>,
    read: Option<u32>,
    deadline: u64,
    why: String,
    /// Two completed sends at one offset: no send of unknown position can
    /// explain it.
    definite: bool,
}

fn fmt_state(log: &[u64]) -> String {
    // As `LogState`'s Debug shows it.
    super::models::fmt_log(log)
}

/// Decide one partition's calls (`sends`, `reads`: rows of `lc`).
pub fn decide(lc: &LogCalls, partition: i32, sends: &[u32], reads: &[u32]) -> Decision {
    let unknown = sends
        .iter()
        .filter(|&&i| lc.sends[i as usize].offset == NO)
        .count();
    let mut claims: Vec<(u64, u32)> = sends
        .iter()
        .map(|&i| (lc.sends[i as usize].offset, i))
        .filter(|c| c.0 != NO)
        .collect();
    claims.sort_unstable();
    let mut violations: Vec<Violation> = Vec::new();
    // Two sends at one offset: both completed is a violation (the second
    // can never take effect); otherwise the search decides.
    for w in claims.windows(2) {
        if w[0].0 == w[1].0 {
            let (a, b) = (&lc.sends[w[0].1 as usize], &lc.sends[w[1].1 as usize]);
            if a.complete == NO || b.complete == NO {
                return Decision::Undecided(format!(
                    "two sends claim offset {} (ops {} and {}), one of them indefinite",
                    w[0].0, a.index, b.index
                ));
            }
            let (first, second, si) = if a.complete <= b.complete {
                (a, b, w[1].1)
            } else {
                (b, a, w[0].1)
            };
            violations.push(Violation {
                send: Some(si),
                read: None,
                deadline: second.complete,
                why: format!(
                    "offset {} was also acknowledged to op {} (value {}): one offset holds one record",
                    w[0].0, first.index, first.value
                ),
                definite: true,
            });
        }
    }
    claims.dedup_by_key(|c| c.0);
    // The gap-free log below m.
    let m = claims
        .iter()
        .enumerate()
        .take_while(|(i, c)| c.0 == *i as u64)
        .count();
    let chain: Vec<u32> = claims[..m].iter().map(|c| c.1).collect();
    // E[o]: the latest invocation among the sends at offsets ≤ o, and
    // which send it is.
    let mut e: Vec<(u64, u32)> = Vec::with_capacity(m);
    for &i in &chain {
        let inv = lc.sends[i as usize].invoke;
        let prev = e.last().copied().unwrap_or((0, i));
        e.push(if e.is_empty() || inv > prev.0 {
            (inv, i)
        } else {
            prev
        });
    }
    let log: Vec<u64> = chain.iter().map(|&i| lc.sends[i as usize].value).collect();
    let late = |o: usize, complete: u64| -> Option<String> {
        let (inv, who) = e[o];
        (inv >= complete).then(|| {
            let s = &lc.sends[who as usize];
            format!(
                "offset {}'s record was sent by op {} (process {}), invoked only after this op \
                 completed",
                s.offset, s.index, lc.processes[s.process as usize]
            )
        })
    };
    for &i in sends {
        let s = &lc.sends[i as usize];
        if s.complete == NO || s.offset == NO {
            continue;
        }
        if s.offset >= m as u64 {
            violations.push(Violation {
                send: Some(i),
                read: None,
                deadline: s.complete,
                why: format!(
                    "no send is known at offset {m}: a record at offset {} needs one there",
                    s.offset
                ),
                definite: false,
            });
        } else if chain[s.offset as usize] == i {
            if let Some(why) = late(s.offset as usize, s.complete) {
                violations.push(Violation {
                    send: Some(i),
                    read: None,
                    deadline: s.complete,
                    why,
                    definite: false,
                });
            }
        }
    }
    for &i in reads {
        let r = &lc.reads[i as usize];
        if r.complete == NO || !r.known {
            continue;
        }
        let vals = lc.read_values(r);
        let need = r.from + vals.len() as u64;
        let why = if let Some(k) = (0..vals.len()).find(|&k| {
            let o = r.from + k as u64;
            o >= m as u64 || !read_matches(vals[k], log[o as usize])
        }) {
            let o = r.from + k as u64;
            Some(if o >= m as u64 {
                format!(
                    "it returned {} at offset {o}, but no send is known at offset {m}",
                    show_value(vals[k])
                )
            } else {
                let s = &lc.sends[chain[o as usize] as usize];
                let what = if vals[k] == HIDDEN {
                    "skipped".to_string()
                } else {
                    format!("returned {}", show_value(vals[k]))
                };
                if s.index == NO {
                    format!(
                        "it {what} at offset {o}, where no send is known (a transaction \
                         marker, or a record no read_committed read may return)"
                    )
                } else {
                    format!(
                        "it {what} at offset {o}, where op {} wrote {}",
                        s.index,
                        show_value(s.value)
                    )
                }
            })
        } else if need > m as u64 {
            Some(format!(
                "it read from offset {}, but no send is known at offset {m}",
                r.from
            ))
        } else if need > 0 {
            late(need as usize - 1, r.complete)
        } else {
            None
        };
        if let Some(why) = why {
            violations.push(Violation {
                send: None,
                read: Some(i),
                deadline: r.complete,
                why,
                definite: false,
            });
        }
    }
    if violations.is_empty() {
        return Decision::Valid;
    }
    // Sends of unknown position might fill a gap or stand in for an
    // indefinite send: then only a definite violation decides.
    let first = violations
        .iter()
        .min_by_key(|v| v.deadline)
        .expect("non-empty");
    let undecided = (unknown > 0).then(|| (first.send, first.read, first.why.clone()));
    let Some(v) = violations
        .into_iter()
        .filter(|v| unknown == 0 || v.definite)
        .min_by_key(|v| v.deadline)
    else {
        let (send, read, why) = undecided.expect("unknown sends");
        let v = Violation {
            send,
            read,
            deadline: 0,
            why,
            definite: false,
        };
        return Decision::Undecided(format!(
            "{unknown} indefinite send(s) of unknown offset might explain op {}: {}",
            v.send
                .map(|i| lc.sends[i as usize].index)
                .or(v.read.map(|i| lc.reads[i as usize].index))
                .unwrap_or(0),
            v.why
        ));
    };
    Decision::Invalid(Box::new(counterexample(
        lc, partition, &chain, &e, &log, reads, v,
    )))
}

/// The counterexample of a violation: the ops the greedy places before the
/// blocked op's completion, in order (its tail), the log after them, the op.
fn counterexample(
    lc: &LogCalls,
    partition: i32,
    chain: &[u32],
    e: &[(u64, u32)],
    log: &[u64],
    reads: &[u32],
    v: Violation,
) -> Counterexample {
    let d = v.deadline;
    // (time, kind, tie, row): sends at E[o], reads just after what they need.
    let mut placed: Vec<(u64, u8, u64, u32)> = Vec::new();
    let mut len = 0usize;
    for (o, &i) in chain.iter().enumerate() {
        if e[o].0 >= d || Some(i) == v.send {
            break;
        }
        placed.push((e[o].0, 0, o as u64, i));
        len = o + 1;
    }
    for &i in reads {
        let r = &lc.reads[i as usize];
        if Some(i) == v.read || !r.known || r.invoke >= d {
            continue;
        }
        let vals = lc.read_values(r);
        let need = r.from as usize + vals.len();
        if need > len
            || !log[r.from as usize..need]
                .iter()
                .zip(vals)
                .all(|(&l, &v)| read_matches(v, l))
        {
            continue;
        }
        let t = if need == 0 {
            r.invoke
        } else {
            r.invoke.max(e[need - 1].0)
        };
        if t < d {
            placed.push((t, 1, r.invoke, i));
        }
    }
    placed.sort_unstable();
    let describe = |kind: u8, row: u32| -> (u64, String) {
        let c = if kind == 0 {
            lc.send_call(&lc.sends[row as usize])
        } else {
            lc.read_call(&lc.reads[row as usize])
        };
        (c.index, Log.describe(&c.input, c.output.as_ref()))
    };
    // Markers are not ops of the history.
    placed.retain(|&(_, kind, _, row)| kind != 0 || lc.sends[row as usize].index != NO);
    let tail: Vec<(u64, String)> = placed
        .iter()
        .skip(placed.len().saturating_sub(20))
        .map(|&(_, kind, _, row)| describe(kind, row))
        .collect();
    let blocked = match (v.send, v.read) {
        (Some(i), _) => lc.send_call(&lc.sends[i as usize]),
        (_, Some(i)) => lc.read_call(&lc.reads[i as usize]),
        _ => unreachable!("a violation names its op"),
    };
    let st = fmt_state(&log[..len]);
    let op = Log.describe(&blocked.input, blocked.output.as_ref());
    Counterexample::new(
        partition as u32 as u64,
        (placed.len(), tail),
        st,
        (blocked.index, blocked.process, op),
        Some(&v.why),
    )
}

/// The search budget scaled to a history: 10 s plus 10 µs per call (1M
/// calls: 20 s), so that the fallback search of a long run gets time in
/// proportion and a short run is not held up.
pub fn scaled_budget(calls: u64) -> Duration {
    Duration::from_secs(10)
        + Duration::from_micros(10).saturating_mul(calls.min(u32::MAX as u64) as u32)
}

/// Check the log model's calls: the greedy per partition, the search for
/// the partitions it cannot decide, each with its share of `budget` (in
/// proportion to its calls among those left).
pub fn check_log(lc: &LogCalls, budget: Duration) -> LinearResult {
    let t0 = Instant::now();
    let mut parts: BTreeMap<i32, (Vec<u32>, Vec<u32>)> = BTreeMap::new();
    for (i, s) in lc.sends.iter().enumerate() {
        parts.entry(s.partition).or_default().0.push(i as u32);
    }
    for (i, r) in lc.reads.iter().enumerate() {
        parts.entry(r.partition).or_default().1.push(i as u32);
    }
    let completed = lc.sends.iter().filter(|s| s.complete != NO).count()
        + lc.reads.iter().filter(|r| r.complete != NO).count();
    let mut explored = 0u64;
    let mut counterexample: Option<Counterexample> = None;
    let mut undecided: Vec<(i32, String)> = Vec::new();
    for (&p, (s, r)) in &parts {
        explored += (s.len() + r.len()) as u64;
        match decide(lc, p, s, r) {
            Decision::Valid => {}
            Decision::Invalid(c) => {
                counterexample = Some(*c);
                break;
            }
            Decision::Undecided(why) => undecided.push((p, why)),
        }
    }
    let mut unknown: Option<String> = None;
    let searched = if counterexample.is_some() {
        0
    } else {
        undecided.len()
    };
    if counterexample.is_none() {
        // Small partitions first: a counterexample is found sooner.
        undecided.sort_by_key(|(p, _)| parts[p].0.len() + parts[p].1.len());
        let mut left: usize = undecided
            .iter()
            .map(|(p, _)| parts[p].0.len() + parts[p].1.len())
            .sum();
        for (p, why) in &undecided {
            let (s, r) = &parts[p];
            let n = s.len() + r.len();
            let remaining = budget.saturating_sub(t0.elapsed());
            let share = remaining.mul_f64(n as f64 / left.max(1) as f64);
            left -= n;
            let res = super::check(&Log, lc.calls_of(s, r), share);
            explored += res.explored;
            match res.valid {
                Validity::Valid => {}
                Validity::Invalid => {
                    counterexample = res.counterexample;
                    break;
                }
                Validity::Unknown => {
                    unknown.get_or_insert(format!(
                        "{} (the search's share of the {:.0} s budget; it ran because {why})",
                        res.unknown_reason.unwrap_or_default(),
                        budget.as_secs_f64()
                    ));
                }
            }
        }
    }
    LinearResult::from_tally(Tally {
        model: "log".to_string(),
        ops: lc.len() as u64,
        partitions: parts.len() as u64,
        explored,
        completed,
        counterexample,
        unknown,
        searched_partitions: searched as u64,
        budget,
        started: t0,
    })
}
