//! A simulated transactional Kafka: a correct model of Kafka's
//! transactions, writing the history the `txn` workload writes.
//!
//! What it models, and why each part is there (each is something the
//! transactional checker must not mistake for an anomaly):
//!
//! - **Partitions are logs of records and commit markers.** A transaction's
//!   records are appended when its sends are delivered (so they have offsets
//!   whatever the outcome); ending it appends one marker per partition it
//!   wrote. Markers and aborted records take offsets, so a reader sees gaps,
//!   as with a real broker.
//! - **read_committed consumers** read only below the last stable offset
//!   (LSO: the first offset of a still-open transaction), skipping aborted
//!   records and markers; `read_uncommitted` ones read every record up to the
//!   end (then aborted and not-yet-committed reads happen, and are permitted).
//! - **Transactions of 1–4 micro-ops** (sends to and polls of several
//!   partitions) by each process's transactional producer, run micro-op by
//!   micro-op, interleaved with other processes' ops (so transactions are
//!   concurrent and real-time edges exist); committed with the consumed
//!   offsets (`Txn.offsets`) → `ok`; aborted on purpose (`Txn.abort`) →
//!   `fail`; fenced mid-way (the process's producer is replaced) → `fail`;
//!   the commit's outcome lost → `info` (the simulator decides whether it
//!   really committed).
//! - **Consumers**: manual `assign` with explicit seeks for some partitions
//!   and partitions that stay assigned (position kept), group members that
//!   `subscribe` and receive `rebalance`s (eager: everything revoked;
//!   cooperative: only what moved) positioned at the group's committed
//!   offsets, plain polls (some time out, returning nothing), and `crash`es
//!   (positions forgotten). After a transaction that did not commit but
//!   consumed, the client is reopened (`crash`), as a consume-transform-produce
//!   client must to re-read what it consumed.
//! - **The end**: in-flight ops complete or stay unfinished (an unfinished
//!   transaction commits or aborts unseen), then one final read per
//!   partition.
//!
//! With [`TxnSimConfig::serial`], every transaction runs all its micro-ops
//! at the instant it completes and polls drain what is readable: the
//! dependency graph of such a history is acyclic (every ww, wr, rw, process
//! and real-time edge follows that order), the base on which
//! [`super::txn_mutate`] plants exactly one cycle.

use super::txn_mutate::{Staged, TxnAnomaly};
use super::Rng;
use crate::Isolation;
use std::collections::BTreeMap;
use trial_histories::values::{
    Assignment, FinalRead, MicroOp, Offset, Partition, Poll, Record, Send, Subscribe, Txn,
};
use trial_histories::{Op, OpType, Process, F};

/// What to simulate.
#[derive(Debug, Clone)]
pub struct TxnSimConfig {
    pub seed: u64,
    pub partitions: u32,
    pub workers: u32,
    /// Scheduling steps (each is roughly one op).
    pub steps: u64,
    /// The consumers' isolation level.
    pub isolation: Isolation,
    /// Run each transaction at one instant and drain every poll (acyclic
    /// dependency graph); otherwise micro-ops interleave and polls return
    /// 0–4 records per partition.
    pub serial: bool,
    /// Percent of transactions aborted on purpose.
    pub abort_pct: u64,
    /// Percent of transactions whose commit outcome is lost (`info`).
    pub info_pct: u64,
    /// Percent of transactions whose producer is fenced mid-way.
    pub fence_pct: u64,
    /// Plant the setting of one anomaly class at the end (a valid history
    /// still; [`super::txn_mutate::mutate`] makes the anomaly).
    pub stage: Option<TxnAnomaly>,
}

impl Default for TxnSimConfig {
    fn default() -> Self {
        TxnSimConfig {
            seed: 1,
            partitions: 3,
            workers: 5,
            steps: 300,
            isolation: Isolation::ReadCommitted,
            serial: false,
            abort_pct: 10,
            info_pct: 8,
            fence_pct: 3,
            stage: None,
        }
    }
}

/// A simulated history and, if a stage was asked for, the edits that turn
/// it into that anomaly.
#[derive(Debug, Clone)]
pub struct TxnHistory {
    pub ops: Vec<Op>,
    pub staged: Option<Staged>,
}

/// One offset of a partition's log.
#[derive(Debug, Clone, Copy)]
pub(super) enum Slot {
    Rec { value: u64, txn: u32 },
    Marker,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum TxnState {
    Open,
    Committed,
    Aborted,
}

#[derive(Debug, Clone, Copy)]
enum Plan {
    Send(u64, Partition),
    Poll,
}

#[derive(Debug)]
struct OpenTxn {
    id: u32,
    plan: Vec<Plan>,
    results: Vec<MicroOp>,
    abort: bool,
    /// The micro-op at which the producer is fenced.
    fenced_at: Option<usize>,
    /// Whether a poll of it returned records.
    consumed: bool,
    polled: Vec<Partition>,
}

#[derive(Debug)]
enum Busy {
    Poll,
    Assign(Assignment),
    Subscribe,
    Txn(Box<OpenTxn>),
}

struct Worker {
    /// A group member (subscribe/rebalance) rather than manually assigned.
    group: bool,
    subscribed: bool,
    assigned: Vec<Partition>,
    pos: Vec<usize>,
    busy: Option<Busy>,
}

/// Processes of staged scenarios are numbered from here.
pub(super) const STAGED: u64 = 1_000_000;

pub(super) struct Sim<'a> {
    pub(super) rng: Rng,
    pub(super) cfg: TxnSimConfig,
    pub(super) logs: Vec<Vec<Slot>>,
    /// Per partition: first offset of each open transaction → its id.
    pub(super) open: Vec<BTreeMap<usize, u32>>,
    pub(super) txns: Vec<TxnState>,
    workers: Vec<Worker>,
    /// The group's committed offsets (next offset to read).
    group_offsets: Vec<Option<usize>>,
    time: u64,
    pub(super) index: u64,
    next_value: u64,
    staged: Option<Staged>,
    out: &'a mut dyn FnMut(Op),
}

fn key_of(v: u64) -> u64 {
    v % 16
}

pub(super) fn rec(partition: Partition, offset: usize, value: u64) -> Record {
    Record {
        partition,
        offset: offset as Offset,
        key: key_of(value),
        value,
    }
}

impl Sim<'_> {
    pub(super) fn emit<T: serde::Serialize>(
        &mut self,
        p: Process,
        kind: OpType,
        f: F,
        v: &T,
        error: Option<&str>,
    ) -> u64 {
        let mut op = Op::new(p, kind, f).with_value(v);
        op.error = error.map(str::to_string);
        op.index = self.index;
        op.time = self.time;
        self.index += 1;
        self.time += 50_000 + self.rng.below(3_000_000);
        (self.out)(op);
        self.index - 1
    }

    pub(super) fn fresh(&mut self) -> u64 {
        self.next_value += 1;
        self.next_value
    }

    pub(super) fn new_txn(&mut self) -> u32 {
        self.txns.push(TxnState::Open);
        (self.txns.len() - 1) as u32
    }

    /// Deliver a send of transaction `txn`: append its record.
    pub(super) fn append(&mut self, txn: u32, p: Partition, value: u64) -> usize {
        let log = &mut self.logs[p as usize];
        log.push(Slot::Rec { value, txn });
        let o = log.len() - 1;
        let open = &mut self.open[p as usize];
        if !open.values().any(|t| *t == txn) {
            open.insert(o, txn);
        }
        o
    }

    /// End transaction `txn`: commit or abort, one marker per partition it
    /// wrote.
    pub(super) fn end_txn(&mut self, txn: u32, commit: bool) {
        self.txns[txn as usize] = if commit {
            TxnState::Committed
        } else {
            TxnState::Aborted
        };
        for p in 0..self.open.len() {
            let first = self.open[p]
                .iter()
                .find(|(_, t)| **t == txn)
                .map(|(o, _)| *o);
            if let Some(o) = first {
                self.open[p].remove(&o);
                self.logs[p].push(Slot::Marker);
            }
        }
    }

    /// The last stable offset of a partition.
    pub(super) fn lso(&self, p: usize) -> usize {
        self.open[p]
            .keys()
            .next()
            .copied()
            .unwrap_or(self.logs[p].len())
    }

    fn visible(&self, txn: u32) -> bool {
        self.cfg.isolation == Isolation::ReadUncommitted
            || self.txns[txn as usize] == TxnState::Committed
    }

    /// A random read position of partition `p` (a reset consumer may start
    /// anywhere up to what is readable).
    fn random_pos(&mut self, p: usize) -> usize {
        let end = self.lso(p) as u64;
        self.rng.below(end + 1) as usize
    }

    fn forget_positions(&mut self, w: usize) {
        for i in 0..self.workers[w].assigned.len() {
            let p = self.workers[w].assigned[i] as usize;
            self.workers[w].pos[p] = self.random_pos(p);
        }
    }

    fn random_parts(&mut self) -> Vec<Partition> {
        let n = self.cfg.partitions as i32;
        let mut v: Vec<Partition> = (0..n).filter(|_| self.rng.pct(60)).collect();
        if v.is_empty() {
            v.push(self.rng.below(n as u64) as i32);
        }
        v
    }

    /// What a consumer's poll returns now, advancing its positions.
    fn read(&mut self, w: usize) -> Vec<Record> {
        let mut out = Vec::new();
        let mut parts = self.workers[w].assigned.clone();
        let rot = self.rng.below(parts.len().max(1) as u64) as usize;
        parts.rotate_left(rot);
        let uncommitted = self.cfg.isolation == Isolation::ReadUncommitted;
        for p in parts {
            let limit = if self.cfg.serial {
                usize::MAX
            } else {
                self.rng.below(5) as usize
            };
            let pu = p as usize;
            let end = if uncommitted {
                self.logs[pu].len()
            } else {
                self.lso(pu)
            };
            let mut pos = self.workers[w].pos[pu];
            let mut n = 0;
            while n < limit && pos < end {
                if let Slot::Rec { value, txn } = self.logs[pu][pos] {
                    if self.visible(txn) {
                        out.push(rec(p, pos, value));
                        n += 1;
                    }
                }
                pos += 1;
            }
            self.workers[w].pos[pu] = pos;
        }
        out
    }

    fn run(&mut self) {
        for _ in 0..self.cfg.steps {
            let w = self.rng.below(self.workers.len() as u64) as usize;
            if self.workers[w].busy.is_some() {
                self.step(w);
            } else {
                self.invoke(w);
            }
        }
        self.finish();
    }

    fn invoke(&mut self, w: usize) {
        let proc_ = Process::Worker(w as u64);
        if self.workers[w].group && !self.workers[w].subscribed {
            let s = Subscribe {
                topics: vec!["txn".into()],
                group: Some("kt-group".into()),
                ..Default::default()
            };
            self.emit(proc_, OpType::Invoke, F::Subscribe, &s, None);
            self.workers[w].busy = Some(Busy::Subscribe);
            return;
        }
        let r = self.rng.below(100);
        if r < 60 {
            let n = 1 + self.rng.below(4) as usize;
            let plan: Vec<Plan> = (0..n)
                .map(|_| {
                    if self.rng.pct(55) {
                        let v = self.fresh();
                        Plan::Send(v, (key_of(v) % self.cfg.partitions as u64) as i32)
                    } else {
                        Plan::Poll
                    }
                })
                .collect();
            let abort = self.rng.pct(self.cfg.abort_pct);
            let fenced_at = self
                .rng
                .pct(self.cfg.fence_pct)
                .then(|| self.rng.below(n as u64) as usize);
            let results = plan.iter().map(|p| blank(*p)).collect::<Vec<_>>();
            let t = Txn {
                ops: results.clone(),
                offsets: Vec::new(),
                abort,
            };
            self.emit(proc_, OpType::Invoke, F::Txn, &t, None);
            let id = self.new_txn();
            self.workers[w].busy = Some(Busy::Txn(Box::new(OpenTxn {
                id,
                plan,
                results: Vec::new(),
                abort,
                fenced_at,
                consumed: false,
                polled: Vec::new(),
            })));
        } else if r < 88 {
            self.emit(proc_, OpType::Invoke, F::Poll, &(), None);
            self.workers[w].busy = Some(Busy::Poll);
        } else if r < 96 {
            let parts = self.random_parts();
            let old = self.workers[w].assigned.clone();
            if self.workers[w].group {
                self.rebalance(w, parts, old);
            } else {
                let mut seek = Vec::new();
                for &p in &parts {
                    if self.rng.pct(40) {
                        let o = self.random_pos(p as usize);
                        seek.push((p, o as Offset));
                    }
                }
                let a = Assignment {
                    revoked: old.into_iter().filter(|p| !parts.contains(p)).collect(),
                    partitions: parts,
                    seek,
                    ..Default::default()
                };
                self.emit(proc_, OpType::Invoke, F::Assign, &a, None);
                self.workers[w].busy = Some(Busy::Assign(a));
            }
        } else {
            self.emit(
                proc_,
                OpType::Info,
                F::Crash,
                &(),
                Some("client closed and reopened"),
            );
            self.forget_positions(w);
        }
    }

    /// A group rebalance (standalone `info` op): eager revokes everything,
    /// cooperative only what moved; newly assigned partitions start at the
    /// group's committed offset where there is one.
    fn rebalance(&mut self, w: usize, parts: Vec<Partition>, old: Vec<Partition>) {
        let eager = self.rng.pct(50);
        let revoked: Vec<Partition> = old
            .iter()
            .copied()
            .filter(|p| eager || !parts.contains(p))
            .collect();
        let mut seek = Vec::new();
        for &p in &parts {
            let stayed = old.contains(&p) && !revoked.contains(&p);
            if stayed {
                continue;
            }
            match self.group_offsets[p as usize] {
                Some(o) => {
                    seek.push((p, o as Offset));
                    self.workers[w].pos[p as usize] = o;
                }
                None => self.workers[w].pos[p as usize] = self.random_pos(p as usize),
            }
        }
        let a = Assignment {
            partitions: parts.clone(),
            seek,
            revoked,
            ..Default::default()
        };
        self.emit(
            Process::Worker(w as u64),
            OpType::Info,
            F::Rebalance,
            &a,
            None,
        );
        self.workers[w].assigned = parts;
    }

    /// A busy worker's next step: a transaction runs its next micro-op (or,
    /// serial, all of them) and ends when none is left; other ops complete.
    fn step(&mut self, w: usize) {
        let proc_ = Process::Worker(w as u64);
        let Some(busy) = self.workers[w].busy.take() else {
            return;
        };
        match busy {
            Busy::Txn(mut t) => {
                let all = self.cfg.serial;
                loop {
                    if t.results.len() == t.plan.len()
                        || t.fenced_at.is_some_and(|f| f < t.results.len())
                    {
                        self.end(w, *t);
                        return;
                    }
                    self.micro(w, &mut t);
                    if !all {
                        break;
                    }
                }
                self.workers[w].busy = Some(Busy::Txn(t));
            }
            Busy::Poll => {
                if self.rng.pct(95) {
                    let records = self.read(w);
                    self.emit(
                        proc_,
                        OpType::Ok,
                        F::Poll,
                        &Poll {
                            records,
                            ..Default::default()
                        },
                        None,
                    );
                } else {
                    self.emit(proc_, OpType::Info, F::Poll, &(), Some("poll timed out"));
                }
            }
            Busy::Assign(a) => {
                for &p in &a.partitions {
                    let pu = p as usize;
                    if let Some(&(_, o)) = a.seek.iter().find(|s| s.0 == p) {
                        self.workers[w].pos[pu] = o as usize;
                    } else if !self.workers[w].assigned.contains(&p) {
                        self.workers[w].pos[pu] = self.random_pos(pu);
                    }
                }
                self.workers[w].assigned = a.partitions.clone();
                self.emit(proc_, OpType::Ok, F::Assign, &a, None);
            }
            Busy::Subscribe => {
                let s = Subscribe {
                    topics: vec!["txn".into()],
                    group: Some("kt-group".into()),
                    ..Default::default()
                };
                self.emit(proc_, OpType::Ok, F::Subscribe, &s, None);
                self.workers[w].subscribed = true;
                let parts = self.random_parts();
                let old = std::mem::take(&mut self.workers[w].assigned);
                self.rebalance(w, parts, old);
            }
        }
    }

    /// Run a transaction's next micro-op.
    fn micro(&mut self, w: usize, t: &mut OpenTxn) {
        let i = t.results.len();
        let fenced = t.fenced_at == Some(i);
        let r = match t.plan[i] {
            Plan::Send(v, p) => {
                let mut s = Send {
                    key: key_of(v),
                    value: v,
                    partition: None,
                    offset: None,
                };
                if !fenced {
                    let o = self.append(t.id, p, v);
                    s.partition = Some(p);
                    s.offset = Some(o as Offset);
                }
                MicroOp::Send(s)
            }
            Plan::Poll if fenced => MicroOp::Poll(Poll::default()),
            Plan::Poll => {
                let records = self.read(w);
                t.consumed |= !records.is_empty();
                for r in &records {
                    if !t.polled.contains(&r.partition) {
                        t.polled.push(r.partition);
                    }
                }
                MicroOp::Poll(Poll {
                    records,
                    ..Default::default()
                })
            }
        };
        t.results.push(r);
    }

    /// End a transaction whose micro-ops ran: commit, abort or fail, and
    /// write its completion.
    fn end(&mut self, w: usize, t: OpenTxn) {
        let proc_ = Process::Worker(w as u64);
        let mut ops = t.results;
        for p in &t.plan[ops.len()..] {
            ops.push(blank(*p));
        }
        let offsets: Vec<(Partition, Offset)> = t
            .polled
            .iter()
            .map(|&p| (p, self.workers[w].pos[p as usize] as Offset))
            .collect();
        let (kind, commit, error) = if t.fenced_at.is_some() {
            (
                OpType::Fail,
                false,
                Some("producer fenced: replaced by a new producer"),
            )
        } else if t.abort {
            (OpType::Fail, false, Some("aborted on purpose"))
        } else if self.rng.pct(self.cfg.info_pct) {
            let commit = self.rng.pct(50);
            (
                OpType::Info,
                commit,
                Some("commit timed out: outcome unknown"),
            )
        } else {
            (OpType::Ok, true, None)
        };
        self.end_txn(t.id, commit);
        if commit {
            for &(p, o) in &offsets {
                self.group_offsets[p as usize] = Some(o as usize);
            }
        }
        let value = Txn {
            ops,
            offsets: if kind == OpType::Fail {
                Vec::new()
            } else {
                offsets
            },
            abort: t.abort,
        };
        self.emit(proc_.clone(), kind, F::Txn, &value, error);
        if kind != OpType::Ok && t.consumed {
            // What it consumed must be read again: the client reopens.
            self.emit(
                proc_,
                OpType::Info,
                F::Crash,
                &(),
                Some("client closed and reopened after a transaction that did not commit"),
            );
            self.forget_positions(w);
        }
    }

    fn finish(&mut self) {
        for w in 0..self.workers.len() {
            let Some(busy) = self.workers[w].busy.take() else {
                continue;
            };
            if self.rng.pct(50) {
                self.workers[w].busy = Some(busy);
                while self.workers[w].busy.is_some() {
                    self.step(w);
                }
            } else if let Busy::Txn(mut t) = busy {
                // Unfinished: it committed or aborted, nobody knows which.
                // A commit comes after every micro-op ran (the client
                // commits only then); a fenced producer never commits.
                let commit = t.fenced_at.is_none() && self.rng.pct(50);
                if commit {
                    while t.results.len() < t.plan.len() {
                        self.micro(w, &mut t);
                    }
                }
                self.end_txn(t.id, commit);
            }
        }
        let staged = self.cfg.stage.map(|a| self.stage(a));
        self.staged = staged;
        let fin = Process::Named("final".into());
        for p in 0..self.logs.len() {
            self.emit(
                fin.clone(),
                OpType::Invoke,
                F::FinalRead,
                &serde_json::json!({ "partition": p }),
                None,
            );
            let records: Vec<Record> = self.logs[p]
                .iter()
                .enumerate()
                .filter_map(|(o, s)| match *s {
                    Slot::Rec { value, txn } if self.visible(txn) => Some(rec(p as i32, o, value)),
                    _ => None,
                })
                .collect();
            let fr = FinalRead {
                partition: p as i32,
                start_offset: 0,
                high_watermark: self.logs[p].len() as Offset,
                records,
            };
            self.emit(fin.clone(), OpType::Ok, F::FinalRead, &fr, None);
        }
    }
}

/// A micro-op as invoked (no outcome yet).
fn blank(p: Plan) -> MicroOp {
    match p {
        Plan::Send(v, _) => MicroOp::Send(Send {
            key: key_of(v),
            value: v,
            partition: None,
            offset: None,
        }),
        Plan::Poll => MicroOp::Poll(Poll::default()),
    }
}

/// Simulate and hand each op to `out`, in history order; returns the
/// staged anomaly's edits, if one was asked for.
pub fn simulate_txn_into(cfg: &TxnSimConfig, out: &mut dyn FnMut(Op)) -> Option<Staged> {
    let parts = cfg.partitions.max(1) as usize;
    let workers = (0..cfg.workers.max(1))
        .map(|w| Worker {
            group: w % 3 == 2,
            subscribed: false,
            assigned: if w % 3 == 2 {
                Vec::new()
            } else {
                (0..parts as i32).collect()
            },
            pos: vec![0; parts],
            busy: None,
        })
        .collect();
    let mut sim = Sim {
        rng: Rng::new(cfg.seed),
        cfg: TxnSimConfig {
            partitions: parts as u32,
            ..cfg.clone()
        },
        logs: vec![Vec::new(); parts],
        open: vec![BTreeMap::new(); parts],
        txns: Vec::new(),
        workers,
        group_offsets: vec![None; parts],
        time: 0,
        index: 0,
        next_value: 0,
        staged: None,
        out,
    };
    sim.run();
    sim.staged.take()
}

/// Simulate into memory.
pub fn simulate_txn(cfg: &TxnSimConfig) -> TxnHistory {
    let mut ops = Vec::new();
    let staged = simulate_txn_into(cfg, &mut |op| ops.push(op));
    TxnHistory { ops, staged }
}

/// Simulate straight into a JSONL history file (benchmarks); returns the
/// number of ops.
pub fn simulate_txn_to_file(cfg: &TxnSimConfig, path: &std::path::Path) -> std::io::Result<u64> {
    super::write_jsonl(path, |emit| {
        simulate_txn_into(cfg, &mut |op| emit(op));
    })
}
