//! One mutator per transactional anomaly class.
//!
//! Each class has a *stage*: a few ops that the simulated transactional
//! Kafka ([`super::txn`]) appends after its random part, on partitions and
//! processes of their own, and that are a correct Kafka's behaviour (the
//! staged history is valid). The stage comes with the minimal *edits* (a
//! record added to or removed from one or two reads) that turn it into
//! exactly that anomaly; [`mutate`] applies them. So each class is proven
//! both ways on the same history: without the edits nothing forbidden is
//! found, with them exactly that class is. [`TxnAnomaly::why`] says, per
//! class, why the edited history is that anomaly.

use super::txn::{rec, Sim, STAGED};
use trial_histories::values::{
    Assignment, FinalRead, MicroOp, Offset, Partition, Poll, Record, Send, Txn,
};
use trial_histories::{Op, OpType, Process, F};

/// The anomaly classes a mutator makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TxnAnomaly {
    /// A write of an `info` transaction, committed by atomicity, is lost.
    LostWrite,
    /// A committed poll returns an aborted transaction's record.
    AbortedRead,
    /// A transaction's poll returns its own write before it committed.
    PrecommittedRead,
    /// Two committed transactions each read the other's write.
    G1c,
    /// A transaction read one write of another but missed its next one.
    GSingle,
    /// Two transactions each missed the other's write (write skew).
    G2,
    /// A consumer whose partition stayed assigned skips a record.
    PollSkip,
}

impl TxnAnomaly {
    pub const ALL: &'static [TxnAnomaly] = &[
        TxnAnomaly::LostWrite,
        TxnAnomaly::AbortedRead,
        TxnAnomaly::PrecommittedRead,
        TxnAnomaly::G1c,
        TxnAnomaly::GSingle,
        TxnAnomaly::G2,
        TxnAnomaly::PollSkip,
    ];

    /// The class the checker must report (cycle classes may carry a
    /// `-process` / `-realtime` suffix).
    pub fn class(self) -> &'static str {
        match self {
            TxnAnomaly::LostWrite => "lost-write",
            TxnAnomaly::AbortedRead => "aborted-read",
            TxnAnomaly::PrecommittedRead => "precommitted-read",
            TxnAnomaly::G1c => "G1c",
            TxnAnomaly::GSingle => "G-single",
            TxnAnomaly::G2 => "G2",
            TxnAnomaly::PollSkip => "poll-skip",
        }
    }

    /// Why the edited stage is this anomaly (A, B, C are the staged
    /// processes 1000001, 1000002, 1000003; p, q, r their partitions).
    pub fn why(self) -> &'static str {
        match self {
            TxnAnomaly::LostWrite => {
                "A's transaction sent v1 to p and v2 to q and ended info; C read v1, so A \
                 committed (atomicity) and v2 at q's first offset is a committed record; the \
                 edit removes v2 from q's final read, which read B's later record w: a read \
                 covered v2's offset and lacks it"
            }
            TxnAnomaly::AbortedRead => {
                "A's transaction sent v to p and aborted (fail, abort); C's ok poll, \
                 positioned at p's first offset, is edited to return v before B's committed w \
                 (the commit marker between them takes an offset, so nothing is skipped)"
            }
            TxnAnomaly::PrecommittedRead => {
                "A's transaction sent v to p and then polled p from v's offset; the edit makes \
                 that poll return v, A's own write, before A committed (read_committed hides \
                 it from every consumer until the commit)"
            }
            TxnAnomaly::G1c => {
                "A (send a to p, poll q) and B (send b to q, poll p) ran concurrently and both \
                 committed; the edit makes A's poll return b and B's poll return a: A wr→ B \
                 and B wr→ A, a cycle of write-read edges only"
            }
            TxnAnomaly::GSingle => {
                "C wrote c to p; B wrote x to p (after c) and y to q; A, concurrent with B, read \
                 p up to c; the edit makes A's poll also return y: B wr→ A (A read y) and \
                 A rw→ B (A's last read of p is c, B wrote the next version x), one \
                 anti-dependency in the cycle"
            }
            TxnAnomaly::G2 => {
                "C wrote c1 to p and c2 to q; A read p (c1) and wrote a to q; B read q \
                 (c2, a) and wrote b to p; the edit removes a from B's poll: A rw→ B (B wrote \
                 b after c1) and B rw→ A (A wrote a after c2), two anti-dependencies (write \
                 skew)"
            }
            TxnAnomaly::PollSkip => {
                "B wrote r1, r2, r3 to p; C assigned p (seek to r1), polled r1, assigned p and \
                 q (p stays: no seek, not revoked, so its position is kept), polled r2, r3; \
                 the edit removes r2 from the second poll: C skipped r2, which the final read \
                 shows"
            }
        }
    }
}

/// Which read an edit changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// A `poll` completion (by op index).
    Poll(u64),
    /// The poll micro-op `micro` of a `txn` completion (by op index).
    TxnPoll { op: u64, micro: usize },
    /// The final read of a partition.
    FinalRead(Partition),
}

/// How an edit changes a read's records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Insert `record` at position `at` of the records.
    Insert { at: usize, record: Record },
    /// Remove the record at this partition and offset.
    Remove {
        partition: Partition,
        offset: Offset,
    },
}

/// One edit of a read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Edit {
    pub target: Target,
    pub change: Change,
}

/// A staged anomaly: which class, and the edits that make it.
#[derive(Debug, Clone)]
pub struct Staged {
    pub anomaly: TxnAnomaly,
    pub edits: Vec<Edit>,
}

fn edit_records(records: &mut Vec<Record>, c: Change) -> Result<(), String> {
    match c {
        Change::Insert { at, record } => {
            if at > records.len() {
                return Err(format!("insert at {at} of {} records", records.len()));
            }
            records.insert(at, record);
        }
        Change::Remove { partition, offset } => {
            let i = records
                .iter()
                .position(|r| r.partition == partition && r.offset == offset)
                .ok_or_else(|| format!("no record at {partition}/{offset} to remove"))?;
            records.remove(i);
        }
    }
    Ok(())
}

fn edit_op(op: &mut Op, e: &Edit) -> Result<(), String> {
    let bad = |m: serde_json::Error| format!("op {}: {m}", op.index);
    match e.target {
        Target::Poll(_) => {
            let mut v: Poll = op.value_as().map_err(bad)?;
            edit_records(&mut v.records, e.change)?;
            *op = op.clone().with_value(&v);
        }
        Target::TxnPoll { micro, .. } => {
            let mut v: Txn = op.value_as().map_err(bad)?;
            match v.ops.get_mut(micro) {
                Some(MicroOp::Poll(p)) => edit_records(&mut p.records, e.change)?,
                _ => return Err(format!("op {}: micro-op {micro} is not a poll", op.index)),
            }
            *op = op.clone().with_value(&v);
        }
        Target::FinalRead(_) => {
            let mut v: FinalRead = op.value_as().map_err(bad)?;
            edit_records(&mut v.records, e.change)?;
            *op = op.clone().with_value(&v);
        }
    }
    Ok(())
}

/// Apply a stage's edits to the history it was staged in.
pub fn mutate(ops: &[Op], staged: &Staged) -> Result<Vec<Op>, String> {
    let mut out = ops.to_vec();
    for e in &staged.edits {
        let i = match e.target {
            Target::Poll(i) | Target::TxnPoll { op: i, .. } => i as usize,
            Target::FinalRead(p) => out
                .iter()
                .position(|o| {
                    o.f == F::FinalRead
                        && o.kind == OpType::Ok
                        && o.value_json()["partition"].as_i64() == Some(p as i64)
                })
                .ok_or_else(|| format!("no final read of partition {p}"))?,
        };
        let op = out
            .get_mut(i)
            .ok_or_else(|| format!("no op {i} in a history of {}", ops.len()))?;
        edit_op(op, e)?;
    }
    Ok(out)
}

const A: u64 = STAGED + 1;
const B: u64 = STAGED + 2;
const C: u64 = STAGED + 3;

/// A micro-op of a staged transaction.
#[derive(Clone, Copy)]
enum M {
    /// (value, partition, offset); offset `None`: not delivered.
    Send(u64, Partition, Option<usize>),
    Poll,
}

impl Sim<'_> {
    fn stage_partition(&mut self) -> Partition {
        self.logs.push(Vec::new());
        self.open.push(Default::default());
        (self.logs.len() - 1) as Partition
    }

    fn stage_assign(&mut self, p: u64, parts: &[Partition], seek: &[(Partition, usize)]) {
        let a = Assignment {
            partitions: parts.to_vec(),
            seek: seek.iter().map(|&(p, o)| (p, o as Offset)).collect(),
            revoked: Vec::new(),
            ..Default::default()
        };
        self.emit(Process::Worker(p), OpType::Invoke, F::Assign, &a, None);
        self.emit(Process::Worker(p), OpType::Ok, F::Assign, &a, None);
    }

    fn stage_poll(&mut self, p: u64, records: Vec<Record>) -> u64 {
        self.emit(Process::Worker(p), OpType::Invoke, F::Poll, &(), None);
        self.emit(
            Process::Worker(p),
            OpType::Ok,
            F::Poll,
            &Poll {
                records,
                ..Default::default()
            },
            None,
        )
    }

    fn txn_value(ms: &[M], polls: &[Vec<Record>], done: bool, abort: bool) -> Txn {
        let mut polls = polls.iter();
        let ops = ms
            .iter()
            .map(|m| match *m {
                M::Send(v, p, o) => MicroOp::Send(Send {
                    key: v % 16,
                    value: v,
                    partition: done.then_some(p),
                    offset: if done { o.map(|o| o as Offset) } else { None },
                }),
                M::Poll => MicroOp::Poll(Poll {
                    records: if done {
                        polls.next().cloned().unwrap_or_default()
                    } else {
                        Vec::new()
                    },
                    ..Default::default()
                }),
            })
            .collect();
        Txn {
            ops,
            offsets: Vec::new(),
            abort,
        }
    }

    fn stage_txn_invoke(&mut self, p: u64, ms: &[M], abort: bool) {
        let t = Self::txn_value(ms, &[], false, abort);
        self.emit(Process::Worker(p), OpType::Invoke, F::Txn, &t, None);
    }

    fn stage_txn_complete(
        &mut self,
        p: u64,
        kind: OpType,
        ms: &[M],
        polls: &[Vec<Record>],
        abort: bool,
    ) -> u64 {
        let t = Self::txn_value(ms, polls, true, abort);
        let error = match kind {
            OpType::Fail => Some("aborted on purpose"),
            OpType::Info => Some("commit timed out: outcome unknown"),
            _ => None,
        };
        self.emit(Process::Worker(p), kind, F::Txn, &t, error)
    }

    /// A whole committed transaction of sends by process `p`: returns
    /// the offsets.
    fn stage_writer(&mut self, p: u64, sends: &[(u64, Partition)]) -> Vec<usize> {
        let ms: Vec<M> = sends.iter().map(|&(v, q)| M::Send(v, q, None)).collect();
        self.stage_txn_invoke(p, &ms, false);
        let id = self.new_txn();
        let offs: Vec<usize> = sends.iter().map(|&(v, q)| self.append(id, q, v)).collect();
        self.end_txn(id, true);
        let ms: Vec<M> = sends
            .iter()
            .zip(&offs)
            .map(|(&(v, q), &o)| M::Send(v, q, Some(o)))
            .collect();
        self.stage_txn_complete(p, OpType::Ok, &ms, &[], false);
        offs
    }

    /// Append the stage of `a` (a correct execution) and return its edits.
    pub(super) fn stage(&mut self, a: TxnAnomaly) -> Staged {
        let p = self.stage_partition();
        let q = self.stage_partition();
        let edits = match a {
            TxnAnomaly::LostWrite => {
                let (v1, v2, w) = (self.fresh(), self.fresh(), self.fresh());
                let plan = [M::Send(v1, p, None), M::Send(v2, q, None)];
                self.stage_txn_invoke(A, &plan, false);
                let id = self.new_txn();
                let o1 = self.append(id, p, v1);
                let o2 = self.append(id, q, v2);
                self.end_txn(id, true);
                let done = [M::Send(v1, p, Some(o1)), M::Send(v2, q, Some(o2))];
                self.stage_txn_complete(A, OpType::Info, &done, &[], false);
                self.stage_writer(B, &[(w, q)]);
                self.stage_assign(C, &[p], &[(p, o1)]);
                self.stage_poll(C, vec![rec(p, o1, v1)]);
                vec![Edit {
                    target: Target::FinalRead(q),
                    change: Change::Remove {
                        partition: q,
                        offset: o2 as Offset,
                    },
                }]
            }
            TxnAnomaly::AbortedRead => {
                let (v, w) = (self.fresh(), self.fresh());
                self.stage_txn_invoke(A, &[M::Send(v, p, None)], true);
                let id = self.new_txn();
                let o = self.append(id, p, v);
                self.end_txn(id, false);
                self.stage_txn_complete(A, OpType::Fail, &[M::Send(v, p, Some(o))], &[], true);
                let ow = self.stage_writer(B, &[(w, p)])[0];
                self.stage_assign(C, &[p], &[(p, o)]);
                let i = self.stage_poll(C, vec![rec(p, ow, w)]);
                vec![Edit {
                    target: Target::Poll(i),
                    change: Change::Insert {
                        at: 0,
                        record: rec(p, o, v),
                    },
                }]
            }
            TxnAnomaly::PrecommittedRead => {
                let v = self.fresh();
                let start = self.logs[p as usize].len();
                self.stage_assign(A, &[p], &[(p, start)]);
                self.stage_txn_invoke(A, &[M::Send(v, p, None), M::Poll], false);
                let id = self.new_txn();
                let o = self.append(id, p, v);
                // read_committed: the poll stops at the LSO, v's offset.
                self.end_txn(id, true);
                let i = self.stage_txn_complete(
                    A,
                    OpType::Ok,
                    &[M::Send(v, p, Some(o)), M::Poll],
                    &[Vec::new()],
                    false,
                );
                vec![Edit {
                    target: Target::TxnPoll { op: i, micro: 1 },
                    change: Change::Insert {
                        at: 0,
                        record: rec(p, o, v),
                    },
                }]
            }
            TxnAnomaly::G1c => {
                let (a, b) = (self.fresh(), self.fresh());
                let (sp, sq) = (self.logs[p as usize].len(), self.logs[q as usize].len());
                self.stage_assign(A, &[q], &[(q, sq)]);
                self.stage_assign(B, &[p], &[(p, sp)]);
                self.stage_txn_invoke(A, &[M::Send(a, p, None), M::Poll], false);
                self.stage_txn_invoke(B, &[M::Send(b, q, None), M::Poll], false);
                let (ta, tb) = (self.new_txn(), self.new_txn());
                let oa = self.append(ta, p, a);
                let ob = self.append(tb, q, b);
                // Both polls find the other's record still open: nothing.
                self.end_txn(ta, true);
                let ia = self.stage_txn_complete(
                    A,
                    OpType::Ok,
                    &[M::Send(a, p, Some(oa)), M::Poll],
                    &[Vec::new()],
                    false,
                );
                self.end_txn(tb, true);
                let ib = self.stage_txn_complete(
                    B,
                    OpType::Ok,
                    &[M::Send(b, q, Some(ob)), M::Poll],
                    &[Vec::new()],
                    false,
                );
                vec![
                    Edit {
                        target: Target::TxnPoll { op: ia, micro: 1 },
                        change: Change::Insert {
                            at: 0,
                            record: rec(q, ob, b),
                        },
                    },
                    Edit {
                        target: Target::TxnPoll { op: ib, micro: 1 },
                        change: Change::Insert {
                            at: 0,
                            record: rec(p, oa, a),
                        },
                    },
                ]
            }
            TxnAnomaly::GSingle => {
                let r = self.stage_partition();
                let (c, x, y, z) = (self.fresh(), self.fresh(), self.fresh(), self.fresh());
                let oc = self.stage_writer(C, &[(c, p)])[0];
                let sq = self.logs[q as usize].len();
                self.stage_assign(A, &[p, q], &[(p, oc), (q, sq)]);
                // A is invoked before B completes: no real-time edge.
                self.stage_txn_invoke(A, &[M::Poll, M::Send(z, r, None)], false);
                let bo = self.stage_writer(B, &[(x, p), (y, q)]);
                let ta = self.new_txn();
                // A's poll fetched p's first record only (a fetch returns
                // what it returns), then A wrote z.
                let oz = self.append(ta, r, z);
                self.end_txn(ta, true);
                let i = self.stage_txn_complete(
                    A,
                    OpType::Ok,
                    &[M::Poll, M::Send(z, r, Some(oz))],
                    &[vec![rec(p, oc, c)]],
                    false,
                );
                vec![Edit {
                    target: Target::TxnPoll { op: i, micro: 0 },
                    change: Change::Insert {
                        at: 1,
                        record: rec(q, bo[1], y),
                    },
                }]
            }
            TxnAnomaly::G2 => {
                let (c1, c2, a, b) = (self.fresh(), self.fresh(), self.fresh(), self.fresh());
                let co = self.stage_writer(C, &[(c1, p), (c2, q)]);
                self.stage_assign(A, &[p], &[(p, co[0])]);
                self.stage_assign(B, &[q], &[(q, co[1])]);
                self.stage_txn_invoke(A, &[M::Poll, M::Send(a, q, None)], false);
                self.stage_txn_invoke(B, &[M::Poll, M::Send(b, p, None)], false);
                let ta = self.new_txn();
                let oa = self.append(ta, q, a);
                self.end_txn(ta, true);
                self.stage_txn_complete(
                    A,
                    OpType::Ok,
                    &[M::Poll, M::Send(a, q, Some(oa))],
                    &[vec![rec(p, co[0], c1)]],
                    false,
                );
                let tb = self.new_txn();
                let ob = self.append(tb, p, b);
                self.end_txn(tb, true);
                let i = self.stage_txn_complete(
                    B,
                    OpType::Ok,
                    &[M::Poll, M::Send(b, p, Some(ob))],
                    &[vec![rec(q, co[1], c2), rec(q, oa, a)]],
                    false,
                );
                vec![Edit {
                    target: Target::TxnPoll { op: i, micro: 0 },
                    change: Change::Remove {
                        partition: q,
                        offset: oa as Offset,
                    },
                }]
            }
            TxnAnomaly::PollSkip => {
                let (r1, r2, r3) = (self.fresh(), self.fresh(), self.fresh());
                let o = self.stage_writer(B, &[(r1, p), (r2, p), (r3, p)]);
                self.stage_assign(C, &[p], &[(p, o[0])]);
                self.stage_poll(C, vec![rec(p, o[0], r1)]);
                // p stays assigned: no seek, not revoked.
                self.stage_assign(C, &[p, q], &[]);
                let i = self.stage_poll(C, vec![rec(p, o[1], r2), rec(p, o[2], r3)]);
                vec![Edit {
                    target: Target::Poll(i),
                    change: Change::Remove {
                        partition: p,
                        offset: o[1] as Offset,
                    },
                }]
            }
        };
        Staged { anomaly: a, edits }
    }
}
