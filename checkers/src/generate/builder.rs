//! A builder for hand-written histories: dense indices, increasing times.

use serde_json::json;
use trial_histories::values::{FinalRead, MicroOp, Poll, Record, Send, Txn};
use trial_histories::{Op, OpType, Process, F};

/// Builds a history op by op, assigning dense indices and increasing times.
#[derive(Debug, Default, Clone)]
pub struct Builder {
    pub ops: Vec<Op>,
    /// Time of the next op, ns.
    pub time: u64,
    /// Time added per op, ns (default 1 ms).
    pub tick: u64,
}

fn w(p: u64) -> Process {
    Process::Worker(p)
}

impl Builder {
    pub fn new() -> Self {
        Builder {
            ops: Vec::new(),
            time: 0,
            tick: 1_000_000,
        }
    }

    /// Append an op as is (index and time assigned here).
    pub fn push(&mut self, mut op: Op) -> u64 {
        op.index = self.ops.len() as u64;
        op.time = self.time;
        self.time += self.tick.max(1);
        self.ops.push(op);
        self.ops.len() as u64 - 1
    }

    /// Let `ns` nanoseconds pass.
    pub fn sleep(&mut self, ns: u64) {
        self.time += ns;
    }

    pub fn op<T: serde::Serialize>(
        &mut self,
        p: Process,
        kind: OpType,
        f: impl Into<F>,
        v: &T,
    ) -> u64 {
        self.push(Op::new(p, kind, f).with_value(v))
    }

    pub fn send_invoke(&mut self, p: u64, key: u64, value: u64) -> u64 {
        let s = Send {
            key,
            value,
            partition: None,
            offset: None,
        };
        self.op(w(p), OpType::Invoke, F::Send, &s)
    }

    /// Complete a send: `pos` is (partition, offset) for an ok.
    pub fn send_complete(
        &mut self,
        p: u64,
        kind: OpType,
        key: u64,
        value: u64,
        pos: Option<(i32, i64)>,
    ) -> u64 {
        let s = Send {
            key,
            value,
            partition: pos.map(|x| x.0),
            offset: pos.map(|x| x.1),
        };
        self.op(w(p), kind, F::Send, &s)
    }

    /// An ok send, invoke and completion: returns the completion's index.
    pub fn send_ok(&mut self, p: u64, value: u64, partition: i32, offset: i64) -> u64 {
        self.send_invoke(p, value % 16, value);
        self.send_complete(p, OpType::Ok, value % 16, value, Some((partition, offset)))
    }

    pub fn send_info(&mut self, p: u64, value: u64) -> u64 {
        self.send_invoke(p, value % 16, value);
        self.send_complete(p, OpType::Info, value % 16, value, None)
    }

    pub fn send_fail(&mut self, p: u64, value: u64) -> u64 {
        self.send_invoke(p, value % 16, value);
        self.send_complete(p, OpType::Fail, value % 16, value, None)
    }

    /// An ok poll of records `(partition, offset, value)`.
    pub fn poll(&mut self, p: u64, recs: &[(i32, i64, u64)]) -> u64 {
        self.op(w(p), OpType::Invoke, F::Poll, &serde_json::Value::Null);
        let records = recs
            .iter()
            .map(|&(partition, offset, value)| Record {
                partition,
                offset,
                key: value % 16,
                value,
            })
            .collect();
        self.op(
            w(p),
            OpType::Ok,
            F::Poll,
            &Poll {
                records,
                ..Default::default()
            },
        )
    }

    /// A poll that timed out (info).
    pub fn poll_info(&mut self, p: u64) -> u64 {
        self.op(w(p), OpType::Invoke, F::Poll, &serde_json::Value::Null);
        self.op(w(p), OpType::Info, F::Poll, &serde_json::Value::Null)
    }

    pub fn assign(&mut self, p: u64, parts: &[i32]) -> u64 {
        let v = json!({ "partitions": parts });
        self.op(w(p), OpType::Invoke, F::Assign, &v);
        self.op(w(p), OpType::Ok, F::Assign, &v)
    }

    pub fn rebalance(&mut self, p: u64, parts: &[i32]) -> u64 {
        self.op(
            w(p),
            OpType::Info,
            F::Rebalance,
            &json!({ "partitions": parts }),
        )
    }

    pub fn crash(&mut self, p: u64) -> u64 {
        self.push(Op::new(w(p), OpType::Info, F::Crash).with_error("client closed and reopened"))
    }

    /// A nemesis op pair, e.g. `start-partition`.
    pub fn nemesis(&mut self, f: &str) -> u64 {
        self.op(
            Process::Nemesis,
            OpType::Invoke,
            f,
            &serde_json::Value::Null,
        );
        self.op(Process::Nemesis, OpType::Info, f, &serde_json::Value::Null)
    }

    /// A final read of partition `p` from `start` to `hw` returning `recs`
    /// as (offset, value).
    pub fn final_read(&mut self, p: i32, start: i64, hw: i64, recs: &[(i64, u64)]) -> u64 {
        let fin = Process::Named("final".into());
        self.op(
            fin.clone(),
            OpType::Invoke,
            F::FinalRead,
            &json!({ "partition": p }),
        );
        let fr = FinalRead {
            partition: p,
            start_offset: start,
            high_watermark: hw,
            records: recs
                .iter()
                .map(|&(offset, value)| Record {
                    partition: p,
                    offset,
                    key: value % 16,
                    value,
                })
                .collect(),
        };
        self.op(fin, OpType::Ok, F::FinalRead, &fr)
    }

    /// Invoke a transaction of sends (values) and an empty poll.
    pub fn txn_invoke(&mut self, p: u64, sends: &[u64], poll: bool) -> u64 {
        let mut ops: Vec<MicroOp> = sends
            .iter()
            .map(|&v| {
                MicroOp::Send(Send {
                    key: v % 16,
                    value: v,
                    partition: None,
                    offset: None,
                })
            })
            .collect();
        if poll {
            ops.push(MicroOp::Poll(Poll::default()));
        }
        self.op(
            w(p),
            OpType::Invoke,
            F::Txn,
            &Txn {
                ops,
                ..Default::default()
            },
        )
    }

    /// Complete a transaction: sends (value, partition, offset) and polled
    /// records (partition, offset, value).
    pub fn txn_complete(
        &mut self,
        p: u64,
        kind: OpType,
        sends: &[(u64, i32, i64)],
        polled: Option<&[(i32, i64, u64)]>,
    ) -> u64 {
        let mut ops: Vec<MicroOp> = sends
            .iter()
            .map(|&(v, part, off)| {
                MicroOp::Send(Send {
                    key: v % 16,
                    value: v,
                    partition: (kind == OpType::Ok).then_some(part),
                    offset: (kind == OpType::Ok).then_some(off),
                })
            })
            .collect();
        if let Some(recs) = polled {
            ops.push(MicroOp::Poll(Poll {
                records: recs
                    .iter()
                    .map(|&(partition, offset, value)| Record {
                        partition,
                        offset,
                        key: value % 16,
                        value,
                    })
                    .collect(),
                ..Default::default()
            }));
        }
        self.op(
            w(p),
            kind,
            F::Txn,
            &Txn {
                ops,
                ..Default::default()
            },
        )
    }
}
