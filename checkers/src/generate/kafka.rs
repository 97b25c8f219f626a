//! The simulated Kafka: a correct Kafka (several partitions, concurrent
//! workers with interleaved invoke/complete, sends ok/info/fail, polls,
//! assign/rebalance with random seeks, crashes, transactions, nemesis
//! windows, unfinished ops, complete final reads) writing a valid history,
//! into which an [`Fault`] injects exactly one anomaly class; with an
//! observer, it also samples a simulated cluster ([`super::cluster`]).

use super::{Cluster, Fault, Rng};
use serde_json::json;
use trial_histories::values::{Assignment, FinalRead, MicroOp, Poll, Record, Send, Txn};
use trial_histories::{Op, OpType, Process, F};

/// What to simulate.
#[derive(Debug, Clone)]
pub struct SimConfig {
    pub seed: u64,
    pub partitions: u32,
    pub workers: u32,
    /// Scheduling steps of the workload (each is roughly one op).
    pub steps: u64,
    /// Use transactions too.
    pub txns: bool,
    /// Run a nemesis (start/stop fault windows, a final heal).
    pub nemesis: bool,
    pub fault: Option<Fault>,
    /// Sample a simulated cluster into the history (`observe` ops of the
    /// process `observer`): faults hit a broker that leads a partition, so
    /// every fault changes a leader, shrinks ISRs and makes a broker
    /// unreachable; the stop brings the ISRs back.
    pub observer: bool,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            seed: 1,
            partitions: 3,
            workers: 5,
            steps: 200,
            txns: false,
            nemesis: true,
            fault: None,
            observer: false,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    Val(u64),
    Aborted(u64),
    Marker,
    Lost(u64),
    Hole,
}

enum InFlight {
    Send { value: u64, partition: i32 },
    Poll,
    Assign(Vec<i32>),
    Txn { sends: Vec<(u64, i32)>, poll: bool },
}

struct Worker {
    busy: Option<InFlight>,
    assigned: Vec<i32>,
    pos: Vec<usize>,
}

struct Sim<'a> {
    rng: Rng,
    cfg: SimConfig,
    logs: Vec<Vec<Slot>>,
    workers: Vec<Worker>,
    time: u64,
    index: u64,
    next_value: u64,
    info_unwritten: Vec<u64>,
    applied: bool,
    fault_open: Option<&'static str>,
    ok_since_fault: u64,
    cluster: Cluster,
    out: &'a mut dyn FnMut(Op),
}

fn key_of(v: u64) -> u64 {
    v % 16
}

fn rec(partition: i32, offset: usize, value: u64) -> Record {
    Record {
        partition,
        offset: offset as i64,
        key: key_of(value),
        value,
    }
}

const FORCED: u64 = 1_000_000;

impl Sim<'_> {
    fn emit<T: serde::Serialize>(&mut self, p: Process, kind: OpType, f: F, v: &T) {
        let mut op = Op::new(p, kind, f).with_value(v);
        if kind == OpType::Info {
            op.error = Some("timed out".into());
        }
        op.index = self.index;
        op.time = self.time;
        self.index += 1;
        self.time += 50_000 + self.rng.below(3_000_000);
        (self.out)(op);
    }

    fn fresh(&mut self) -> u64 {
        self.next_value += 1;
        self.next_value
    }

    fn append(&mut self, p: i32, s: Slot) -> usize {
        let log = &mut self.logs[p as usize];
        log.push(s);
        log.len() - 1
    }

    fn maybe(&mut self, f: Fault, pct: u64) -> bool {
        if self.cfg.fault == Some(f) && !self.applied && self.rng.pct(pct) {
            self.applied = true;
            return true;
        }
        false
    }

    fn note_ok(&mut self) {
        self.ok_since_fault += 1;
    }

    /// An observer sample of the simulated cluster (if observed).
    fn observe(&mut self) {
        if self.cfg.observer {
            let p = Process::Named("observer".into());
            let o = self.cluster.observation();
            self.emit(p.clone(), OpType::Invoke, F::Observe, &());
            self.emit(p, OpType::Ok, F::Observe, &o);
        }
    }

    fn run(&mut self) {
        self.observe();
        for _ in 0..self.cfg.steps {
            if self.cfg.nemesis && self.rng.pct(3) {
                self.nemesis_step();
                continue;
            }
            let w = self.rng.below(self.workers.len() as u64) as usize;
            if self.workers[w].busy.is_some() {
                self.complete(w);
            } else {
                self.invoke(w);
            }
        }
        self.finish();
    }

    fn nemesis_step(&mut self) {
        match self.fault_open {
            Some(kind) => {
                // Close a window only once something succeeded in it: the
                // checker (rightly) calls a fault that met no working
                // system untested.
                if self.ok_since_fault > 0 {
                    let f = F::Other(format!("stop-{kind}"));
                    self.emit(Process::Nemesis, OpType::Invoke, f.clone(), &());
                    self.emit(Process::Nemesis, OpType::Info, f, &());
                    self.fault_open = None;
                    self.cluster.heal();
                    self.observe();
                }
            }
            None => {
                let kinds = ["partition", "kill", "pause", "loss", "clock"];
                let kind = kinds[self.rng.below(kinds.len() as u64) as usize];
                let f = F::Other(format!("start-{kind}"));
                self.emit(Process::Nemesis, OpType::Invoke, f.clone(), &kind);
                if self.cfg.observer {
                    // Hit the leader of some partition, and say so.
                    let id = self.cluster.leader_of(self.index as usize);
                    let node = Cluster::node(id);
                    let value = if kind == "partition" {
                        let others: Vec<String> = self
                            .cluster
                            .nodes()
                            .into_iter()
                            .filter(|n| *n != node)
                            .collect();
                        let mut grudge = serde_json::Map::new();
                        grudge.insert(node.clone(), json!(others));
                        for o in &others {
                            grudge.insert(o.clone(), json!([node]));
                        }
                        json!({ "grudge": grudge })
                    } else {
                        json!({ "nodes": [node] })
                    };
                    self.emit(Process::Nemesis, OpType::Info, f, &value);
                    self.cluster.hit(id);
                    self.observe();
                } else {
                    self.emit(Process::Nemesis, OpType::Info, f, &kind);
                }
                self.fault_open = Some(kind);
                self.ok_since_fault = 0;
            }
        }
    }

    fn random_positions(&mut self, w: usize) {
        for p in 0..self.logs.len() {
            let len = self.logs[p].len() as u64;
            self.workers[w].pos[p] = self.rng.below(len + 1) as usize;
        }
    }

    /// The value of an `assign` of `parts` by worker `w`: what it revokes
    /// is what it held and no longer holds.
    fn assignment(&self, w: usize, parts: &[i32]) -> Assignment {
        Assignment {
            partitions: parts.to_vec(),
            seek: Vec::new(),
            revoked: self.workers[w]
                .assigned
                .iter()
                .copied()
                .filter(|p| !parts.contains(p))
                .collect(),
            ..Default::default()
        }
    }

    fn random_parts(&mut self) -> Vec<i32> {
        let n = self.cfg.partitions as i32;
        let mut v: Vec<i32> = (0..n).filter(|_| self.rng.pct(60)).collect();
        if v.is_empty() {
            v.push(self.rng.below(n as u64) as i32);
        }
        v
    }

    fn invoke(&mut self, w: usize) {
        let proc_ = Process::Worker(w as u64);
        let r = self.rng.below(100);
        if self.cfg.txns && r < 25 {
            let n = 1 + self.rng.below(3);
            let sends: Vec<(u64, i32)> = (0..n)
                .map(|_| {
                    let v = self.fresh();
                    (v, (key_of(v) % self.cfg.partitions as u64) as i32)
                })
                .collect();
            let poll = self.rng.pct(50);
            let t = txn_value(&sends, None, poll.then_some(&[][..]));
            self.emit(proc_, OpType::Invoke, F::Txn, &t);
            self.workers[w].busy = Some(InFlight::Txn { sends, poll });
        } else if r < 60 {
            let v = self.fresh();
            let s = Send {
                key: key_of(v),
                value: v,
                partition: None,
                offset: None,
            };
            self.emit(proc_, OpType::Invoke, F::Send, &s);
            let partition = (key_of(v) % self.cfg.partitions as u64) as i32;
            self.workers[w].busy = Some(InFlight::Send {
                value: v,
                partition,
            });
        } else if r < 90 {
            self.emit(proc_, OpType::Invoke, F::Poll, &());
            self.workers[w].busy = Some(InFlight::Poll);
        } else if r < 95 {
            let parts = self.random_parts();
            self.emit(
                proc_,
                OpType::Invoke,
                F::Assign,
                &self.assignment(w, &parts),
            );
            self.workers[w].busy = Some(InFlight::Assign(parts));
        } else if r < 97 {
            self.emit(proc_, OpType::Info, F::Crash, &());
            self.random_positions(w);
        } else {
            // An eager rebalance: everything held is revoked, so every
            // position is forgotten.
            let parts = self.random_parts();
            let revoked = self.workers[w].assigned.clone();
            self.emit(
                proc_,
                OpType::Info,
                F::Rebalance,
                &Assignment {
                    partitions: parts.clone(),
                    seek: Vec::new(),
                    revoked,
                    ..Default::default()
                },
            );
            self.workers[w].assigned = parts;
            self.random_positions(w);
        }
    }

    /// What a consumer's poll returns now, advancing its positions.
    fn read(&mut self, w: usize) -> Vec<Record> {
        let mut out = Vec::new();
        let mut parts = self.workers[w].assigned.clone();
        let rot = self.rng.below(parts.len().max(1) as u64) as usize;
        parts.rotate_left(rot);
        for p in parts {
            let k = self.rng.below(5) as usize;
            let mut pos = self.workers[w].pos[p as usize];
            let log = &self.logs[p as usize];
            let mut n = 0;
            while n < k && pos < log.len() {
                match log[pos] {
                    Slot::Val(v) => {
                        out.push(rec(p, pos, v));
                        n += 1;
                    }
                    Slot::Hole => break,
                    _ => {}
                }
                pos += 1;
            }
            self.workers[w].pos[p as usize] = pos;
        }
        out
    }

    fn complete(&mut self, w: usize) {
        let proc_ = Process::Worker(w as u64);
        let Some(inflight) = self.workers[w].busy.take() else {
            return;
        };
        match inflight {
            InFlight::Send { value, partition } => {
                let r = self.rng.below(100);
                let mut s = Send {
                    key: key_of(value),
                    value,
                    partition: None,
                    offset: None,
                };
                if r < 80 {
                    let o = if self.maybe(Fault::LostWrite, 20) {
                        self.append(partition, Slot::Lost(value))
                    } else {
                        let o = self.append(partition, Slot::Val(value));
                        if self.maybe(Fault::Duplicate, 20) {
                            self.append(partition, Slot::Val(value));
                        }
                        o
                    };
                    s.partition = Some(partition);
                    s.offset = Some(o as i64);
                    self.emit(proc_, OpType::Ok, F::Send, &s);
                    self.note_ok();
                } else if r < 90 {
                    if self.rng.pct(50) {
                        self.append(partition, Slot::Val(value));
                    } else {
                        self.info_unwritten.push(value);
                    }
                    self.emit(proc_, OpType::Info, F::Send, &s);
                } else {
                    self.emit(proc_, OpType::Fail, F::Send, &s);
                }
            }
            InFlight::Poll => {
                if self.rng.pct(92) {
                    let mut records = self.read(w);
                    if !records.is_empty()
                        && !self.info_unwritten.is_empty()
                        && self.maybe(Fault::InconsistentOffsets, 30)
                    {
                        let x = self.info_unwritten.pop().unwrap_or(0);
                        records[0].value = x;
                        records[0].key = key_of(x);
                    }
                    self.emit(
                        proc_,
                        OpType::Ok,
                        F::Poll,
                        &Poll {
                            records,
                            ..Default::default()
                        },
                    );
                    self.note_ok();
                } else {
                    // The consumer may have moved on without our knowing.
                    for p in 0..self.logs.len() {
                        let len = self.logs[p].len();
                        let pos = self.workers[w].pos[p];
                        if pos < len {
                            self.workers[w].pos[p] =
                                pos + self.rng.below((len - pos + 1) as u64) as usize;
                        }
                    }
                    self.emit(proc_, OpType::Info, F::Poll, &());
                }
            }
            InFlight::Assign(parts) => {
                self.emit(proc_, OpType::Ok, F::Assign, &self.assignment(w, &parts));
                // A partition that stays assigned keeps its position
                // (`Assignment`'s rules); a new one starts anywhere.
                let old = std::mem::replace(&mut self.workers[w].assigned, parts.clone());
                for p in parts {
                    if !old.contains(&p) {
                        let len = self.logs[p as usize].len() as u64;
                        self.workers[w].pos[p as usize] = self.rng.below(len + 1) as usize;
                    }
                }
            }
            InFlight::Txn { sends, poll } => {
                let r = self.rng.below(100);
                let commit = r < 80 || (r < 90 && self.rng.pct(50));
                let records = if commit && poll {
                    Some(self.read(w))
                } else {
                    None
                };
                let mut acked = Vec::new();
                let mut touched = Vec::new();
                for &(v, p) in &sends {
                    let o = self.append(
                        p,
                        if commit {
                            Slot::Val(v)
                        } else {
                            Slot::Aborted(v)
                        },
                    );
                    acked.push((v, p, o));
                    if !touched.contains(&p) {
                        touched.push(p);
                    }
                }
                for p in touched {
                    self.append(p, Slot::Marker);
                }
                if r < 80 {
                    let t = txn_value(&sends, Some(&acked), records.as_deref());
                    self.emit(proc_, OpType::Ok, F::Txn, &t);
                    self.note_ok();
                } else {
                    let t = txn_value(&sends, None, poll.then_some(&[][..]));
                    let kind = if r < 90 { OpType::Info } else { OpType::Fail };
                    self.emit(proc_, kind, F::Txn, &t);
                }
            }
        }
    }

    fn forced_send(
        &mut self,
        p: u64,
        partition: i32,
        slot: Option<Slot>,
        kind: OpType,
    ) -> (u64, usize) {
        let v = self.fresh();
        let proc_ = Process::Worker(p);
        // A key that the partitioner maps to `partition`, as Kafka's would.
        let mut s = Send {
            key: partition as u64,
            value: v,
            partition: None,
            offset: None,
        };
        self.emit(proc_.clone(), OpType::Invoke, F::Send, &s);
        let o = match slot {
            Some(Slot::Val(_)) => self.append(partition, Slot::Val(v)),
            Some(Slot::Lost(_)) => self.append(partition, Slot::Lost(v)),
            _ => self.logs[partition as usize].len(),
        };
        if kind == OpType::Ok {
            s.partition = Some(partition);
            s.offset = Some(o as i64);
            self.note_ok();
        }
        self.emit(proc_, kind, F::Send, &s);
        (v, o)
    }

    /// Three consecutive acknowledged records of partition 0, read by a
    /// fresh consumer after an assign.
    fn three_records(&mut self) -> [Record; 3] {
        let mut r = Vec::new();
        for _ in 0..3 {
            let (v, o) = self.forced_send(FORCED + 3, 0, Some(Slot::Val(0)), OpType::Ok);
            r.push(rec(0, o, v));
        }
        let c = Process::Worker(FORCED + 2);
        self.emit(
            c.clone(),
            OpType::Invoke,
            F::Assign,
            &json!({"partitions": [0]}),
        );
        self.emit(c, OpType::Ok, F::Assign, &json!({"partitions": [0]}));
        [r[0], r[1], r[2]]
    }

    fn poll_as(&mut self, p: u64, records: Vec<Record>) {
        let c = Process::Worker(p);
        self.emit(c.clone(), OpType::Invoke, F::Poll, &());
        self.emit(
            c,
            OpType::Ok,
            F::Poll,
            &Poll {
                records,
                ..Default::default()
            },
        );
    }

    /// A transaction by a fresh process: `plan` is (value, partition,
    /// offset) in micro-op order; the caller has appended the records.
    fn txn_as(
        &mut self,
        p: u64,
        plan: &[(u64, i32, usize)],
        kind: OpType,
        polled: Option<&[Record]>,
    ) {
        let proc_ = Process::Worker(p);
        let sends: Vec<(u64, i32)> = plan.iter().map(|x| (x.0, x.1)).collect();
        let t = txn_value(&sends, None, polled.map(|_| &[][..]));
        self.emit(proc_.clone(), OpType::Invoke, F::Txn, &t);
        let t = if kind == OpType::Ok {
            txn_value(&sends, Some(plan), polled)
        } else {
            t
        };
        if kind == OpType::Ok {
            self.note_ok();
        }
        self.emit(proc_, kind, F::Txn, &t);
    }

    fn forced_fault(&mut self, f: Fault) {
        const A: u64 = FORCED + 1;
        const B: u64 = FORCED + 2;
        match f {
            Fault::LostWrite => {
                self.forced_send(A, 0, Some(Slot::Lost(0)), OpType::Ok);
            }
            Fault::Duplicate => {
                let (v, _) = self.forced_send(A, 0, Some(Slot::Val(0)), OpType::Ok);
                self.append(0, Slot::Val(v));
            }
            Fault::Unseen => {
                // Acknowledged at the end of the log, never appended: done
                // last, so nothing else takes the offset.
                self.forced_send(A, 0, None, OpType::Ok);
            }
            Fault::InconsistentOffsets => {
                let (x, _) = self.forced_send(A, 0, None, OpType::Info);
                let o = self.logs[0]
                    .iter()
                    .position(|s| matches!(s, Slot::Val(_)))
                    .unwrap_or(0);
                let c = Process::Worker(B);
                self.emit(
                    c.clone(),
                    OpType::Invoke,
                    F::Assign,
                    &json!({"partitions": [0]}),
                );
                self.emit(c, OpType::Ok, F::Assign, &json!({"partitions": [0]}));
                self.poll_as(B, vec![rec(0, o, x)]);
            }
            Fault::NonmonotonicSend => {
                let hole = self.append(0, Slot::Hole);
                let (_, _) = self.forced_send(A, 0, Some(Slot::Val(0)), OpType::Ok);
                let v = self.fresh();
                let proc_ = Process::Worker(A);
                let mut s = Send {
                    key: key_of(v),
                    value: v,
                    partition: None,
                    offset: None,
                };
                self.emit(proc_.clone(), OpType::Invoke, F::Send, &s);
                self.logs[0][hole] = Slot::Val(v);
                s.partition = Some(0);
                s.offset = Some(hole as i64);
                self.emit(proc_, OpType::Ok, F::Send, &s);
            }
            Fault::PollSkip => {
                let [a, _, c] = self.three_records();
                self.poll_as(B, vec![a]);
                self.poll_as(B, vec![c]);
            }
            Fault::NonmonotonicPoll => {
                let [a, b, c] = self.three_records();
                self.poll_as(B, vec![a, b]);
                self.poll_as(B, vec![b, c]);
            }
            Fault::IntPollSkip => {
                let [a, _, c] = self.three_records();
                self.poll_as(B, vec![a, c]);
            }
            Fault::IntNonmonotonicPoll => {
                let [a, b, _] = self.three_records();
                self.poll_as(B, vec![b, a]);
            }
            Fault::GarbageRead => {
                let g = self.fresh();
                self.append(0, Slot::Val(g));
            }
            Fault::FailedWriteRead => {
                self.forced_send(A, 0, Some(Slot::Val(0)), OpType::Fail);
            }
            Fault::AbortedRead => {
                let v = self.fresh();
                let o = self.append(0, Slot::Val(v));
                self.append(0, Slot::Marker);
                self.txn_as(A, &[(v, 0, o)], OpType::Fail, None);
            }
            Fault::IntSendSkip => {
                let (v1, v2) = (self.fresh(), self.fresh());
                let o1 = self.append(0, Slot::Val(v1));
                self.forced_send(B, 0, Some(Slot::Val(0)), OpType::Ok);
                let o2 = self.append(0, Slot::Val(v2));
                self.append(0, Slot::Marker);
                self.txn_as(A, &[(v1, 0, o1), (v2, 0, o2)], OpType::Ok, None);
            }
            Fault::IntNonmonotonicSend => {
                let (v1, v2) = (self.fresh(), self.fresh());
                let o2 = self.append(0, Slot::Val(v2));
                let o1 = self.append(0, Slot::Val(v1));
                self.append(0, Slot::Marker);
                self.txn_as(A, &[(v1, 0, o1), (v2, 0, o2)], OpType::Ok, None);
            }
            Fault::G0 | Fault::G1c => {
                // A second partition of their own.
                self.logs.push(Vec::new());
                let q = (self.logs.len() - 1) as i32;
                let (a, b, c) = (self.fresh(), self.fresh(), self.fresh());
                let oa = self.append(0, Slot::Val(a));
                if f == Fault::G0 {
                    let d = self.fresh();
                    let oc = self.append(0, Slot::Val(c));
                    let od = self.append(q, Slot::Val(d));
                    let ob = self.append(q, Slot::Val(b));
                    self.append(0, Slot::Marker);
                    self.append(q, Slot::Marker);
                    self.txn_as(A, &[(a, 0, oa), (b, q, ob)], OpType::Ok, None);
                    self.txn_as(B, &[(c, 0, oc), (d, q, od)], OpType::Ok, None);
                } else {
                    let oc = self.append(q, Slot::Val(c));
                    let ob = self.append(q, Slot::Val(b));
                    self.append(0, Slot::Marker);
                    self.append(q, Slot::Marker);
                    self.txn_as(A, &[(a, 0, oa), (b, q, ob)], OpType::Ok, None);
                    self.txn_as(B, &[(c, q, oc)], OpType::Ok, Some(&[rec(0, oa, a)]));
                }
            }
        }
    }

    fn finish(&mut self) {
        // In-flight ops: complete half of them, leave the rest unfinished
        // (indefinite: an unfinished send may or may not be written).
        for w in 0..self.workers.len() {
            if self.workers[w].busy.is_none() {
                continue;
            }
            if self.rng.pct(50) {
                self.complete(w);
            } else if let Some(InFlight::Send { value, partition }) = &self.workers[w].busy {
                let (v, p) = (*value, *partition);
                if self.rng.pct(50) {
                    self.append(p, Slot::Val(v));
                }
            }
        }
        // At least one acknowledged send (and an ok op in any open fault).
        self.forced_send(FORCED, 0, Some(Slot::Val(0)), OpType::Ok);
        if let Some(f) = self.cfg.fault {
            if !self.applied {
                self.applied = true;
                self.forced_fault(f);
            }
        }
        // A record lost at the very end of a partition cannot be told from
        // a final read that stopped early: put one record after it, so the
        // final read proves the loss.
        for p in 0..self.logs.len() {
            if matches!(self.logs[p].last(), Some(Slot::Lost(_))) {
                self.forced_send(FORCED, p as i32, Some(Slot::Val(0)), OpType::Ok);
            }
        }
        if self.cfg.nemesis {
            self.emit(Process::Nemesis, OpType::Invoke, F::Heal, &());
            self.emit(Process::Nemesis, OpType::Info, F::Heal, &());
            if self.fault_open.take().is_some() {
                self.cluster.heal();
                self.observe();
            }
        }
        let fin = Process::Named("final".into());
        for p in 0..self.logs.len() {
            self.emit(
                fin.clone(),
                OpType::Invoke,
                F::FinalRead,
                &json!({ "partition": p }),
            );
            let records: Vec<Record> = self.logs[p]
                .iter()
                .enumerate()
                .filter_map(|(o, s)| match s {
                    Slot::Val(v) => Some(rec(p as i32, o, *v)),
                    _ => None,
                })
                .collect();
            let fr = FinalRead {
                partition: p as i32,
                start_offset: 0,
                high_watermark: self.logs[p].len() as i64,
                records,
            };
            self.emit(fin.clone(), OpType::Ok, F::FinalRead, &fr);
        }
    }
}

fn txn_value(
    sends: &[(u64, i32)],
    acked: Option<&[(u64, i32, usize)]>,
    polled: Option<&[Record]>,
) -> Txn {
    let mut ops: Vec<MicroOp> = sends
        .iter()
        .enumerate()
        .map(|(i, &(v, _))| {
            let a = acked.map(|a| a[i]);
            MicroOp::Send(Send {
                key: key_of(v),
                value: v,
                partition: a.map(|a| a.1),
                offset: a.map(|a| a.2 as i64),
            })
        })
        .collect();
    if let Some(r) = polled {
        ops.push(MicroOp::Poll(Poll {
            records: r.to_vec(),
            ..Default::default()
        }));
    }
    Txn {
        ops,
        ..Default::default()
    }
}

/// Simulate and hand each op to `out`, in history order.
pub fn simulate_into(cfg: &SimConfig, out: &mut dyn FnMut(Op)) {
    let parts = cfg.partitions.max(1) as usize;
    let workers = (0..cfg.workers.max(1))
        .map(|_| Worker {
            busy: None,
            assigned: (0..parts as i32).collect(),
            pos: vec![0; parts + 1],
        })
        .collect();
    let mut sim = Sim {
        rng: Rng::new(cfg.seed),
        cfg: SimConfig {
            partitions: parts as u32,
            ..cfg.clone()
        },
        logs: vec![Vec::new(); parts],
        workers,
        time: 0,
        index: 0,
        next_value: 0,
        info_unwritten: Vec::new(),
        applied: false,
        fault_open: None,
        ok_since_fault: 0,
        cluster: Cluster::new(parts as u32, 3),
        out,
    };
    sim.run();
}

/// Simulate into memory.
pub fn simulate(cfg: &SimConfig) -> Vec<Op> {
    let mut v = Vec::new();
    simulate_into(cfg, &mut |op| v.push(op));
    v
}

/// Simulate straight into a JSONL history file (for benchmarks); returns
/// the number of ops.
pub fn simulate_to_file(cfg: &SimConfig, path: &std::path::Path) -> std::io::Result<u64> {
    super::write_jsonl(path, |emit| {
        simulate_into(cfg, &mut |op| emit(op));
    })
}
