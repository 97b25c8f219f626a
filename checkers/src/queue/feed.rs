//! The queue checker as a [`Checker`] of the pairing pass: decodes the
//! values it needs (sends, polls and transactions with the allocation-free
//! decoders of [`crate::decode`], the rest with serde) and updates
//! [`QueueChecker`].

use super::{QueueChecker, QueueOptions};
use crate::checker::{Checker, CheckerOutput, Context, Invocation, ProcKey};
use crate::decode::TxnSend;
use crate::CheckError;
use crate::CheckOptions;
use trial_histories::values::{Assignment, FinalRead, MicroOp, Poll, Record, Send, Txn};
use trial_histories::{Op, OpType, F};

/// `queue`: Jepsen's Kafka anomaly classes (checkers/README.md).
pub struct QueueFeed {
    queue: QueueChecker,
    /// Reused buffer for a poll's or a transaction's records.
    records: Vec<Record>,
    /// Reused buffer for a transaction's sends.
    sends: Vec<TxnSend>,
}

pub(crate) fn make(opts: &CheckOptions) -> Box<dyn Checker> {
    Box::new(QueueFeed::new(opts.queue()))
}

impl QueueFeed {
    pub fn new(opts: QueueOptions) -> Self {
        QueueFeed {
            queue: QueueChecker::new(opts),
            records: Vec::new(),
            sends: Vec::new(),
        }
    }

    /// A transaction's sends into `self.sends` and its polls' records (in
    /// order) into `self.records`: the allocation-free decoder, else serde.
    fn decode_txn(&mut self, op: &Op, cx: &Context) -> Result<(), CheckError> {
        self.sends.clear();
        self.records.clear();
        if crate::decode::txn(op.value.get(), &mut self.sends, &mut self.records) {
            return Ok(());
        }
        let t: Txn = op.value_as().map_err(|e| cx.bad_value(op, e))?;
        for m in t.ops {
            match m {
                MicroOp::Send(s) => self.sends.push((s.value, s.partition, s.offset)),
                MicroOp::Poll(p) => self.records.extend(p.records),
            }
        }
        Ok(())
    }
}

impl Checker for QueueFeed {
    fn name(&self) -> &'static str {
        "queue"
    }

    fn name_process(&mut self, key: ProcKey, name: &str) {
        self.queue.name_process(key, name);
    }

    fn invoke(&mut self, op: &Op, cx: &Context) -> Result<(), CheckError> {
        match op.f {
            F::Send => {
                let value = match cx.send {
                    Some((v, _, _)) => v,
                    None => {
                        let s: Send = op.value_as().map_err(|e| cx.bad_value(op, e))?;
                        s.value
                    }
                };
                self.queue.send_invoke(op.index, value);
            }
            F::Txn => {
                self.decode_txn(op, cx)?;
                self.queue.txn_invoke(
                    op.index,
                    op.time,
                    cx.process,
                    self.sends.iter().map(|s| s.0),
                );
            }
            _ => {}
        }
        Ok(())
    }

    fn complete(
        &mut self,
        invoke: Option<&Invocation>,
        op: &Op,
        cx: &Context,
    ) -> Result<(), CheckError> {
        let key = cx.process;
        match &op.f {
            F::Send => {
                let (value, partition, offset) = match cx.send {
                    Some(x) => x,
                    None => {
                        let s: Send = op.value_as().map_err(|e| cx.bad_value(op, e))?;
                        (s.value, s.partition, s.offset)
                    }
                };
                self.queue
                    .send_complete(op.index, op.time, key, op.kind, value, partition, offset);
            }
            F::Poll => {
                let mut recs = std::mem::take(&mut self.records);
                recs.clear();
                // Decoded already by the parallel pass (`cx.records`), else
                // the allocation-free decoder, else serde.
                if op.kind == OpType::Ok {
                    if cx.records.is_none() && !crate::decode::poll(op.value.get(), &mut recs) {
                        let p: Poll = op.value_as().map_err(|e| cx.bad_value(op, e))?;
                        recs = p.records;
                    }
                    let invoked = invoke.map_or(op.time, |i| i.time);
                    let r = cx.records.unwrap_or(&recs);
                    self.queue.poll_ok(op.index, invoked, op.time, key, r);
                } else {
                    // A poll that did not end ok may still say what it
                    // returned: evidence that those records exist.
                    let v = op.value.get();
                    // (Its value is not a contract: anything but records is
                    // no evidence, not an error.)
                    if cx.records.is_none() && v != "null" && !crate::decode::poll(v, &mut recs) {
                        if let Ok(p) = op.value_as::<Poll>() {
                            recs = p.records;
                        }
                    }
                    let r = cx.records.unwrap_or(&recs);
                    self.queue.poll_not_ok(op.index, op.time, key, r);
                }
                self.records = recs;
            }
            F::Txn => {
                self.decode_txn(op, cx)?;
                let inv = invoke.map_or(op.index, |p| p.index);
                let inv_time = invoke.map_or(op.time, |p| p.time);
                self.queue.txn_complete(
                    inv,
                    inv_time,
                    op.index,
                    op.time,
                    key,
                    op.kind,
                    &self.sends,
                    &self.records,
                );
            }
            // What the client really reset: the rules on `Assignment`. An
            // assignment that failed changed nothing; one whose outcome is
            // unknown may have changed anything.
            F::Assign | F::Rebalance => match op.kind {
                OpType::Fail => {}
                // Jepsen's client: an assign that did not fail took effect.
                OpType::Info if op.f == F::Assign && !self.queue.jepsen() => {
                    self.queue.reset_consumer(key)
                }
                _ => {
                    let a = match crate::decode::assignment(op.value.get()) {
                        Some(a) => a,
                        None => op
                            .value_as::<Assignment>()
                            .map_err(|e| cx.bad_value(op, e))?,
                    };
                    self.queue.assignment(op.index, key, &a);
                }
            },
            // Subscribing changes the group's assignment wholesale; the
            // rebalances that follow say what was assigned.
            // (Jepsen's client keeps the positions of the keys still
            // subscribed: the importer's rebalance after the subscribe says
            // which.)
            F::Subscribe if op.kind != OpType::Fail && !self.queue.jepsen() => {
                self.queue.reset_consumer(key)
            }
            F::Crash => self.queue.crash(key),
            F::FinalRead => {
                if op.kind == OpType::Ok {
                    let mut records = Vec::new();
                    let fr = match crate::decode::final_read(op.value.get(), &mut records) {
                        Some((partition, start_offset, high_watermark)) => FinalRead {
                            partition,
                            start_offset,
                            high_watermark,
                            records,
                        },
                        None => op
                            .value_as::<FinalRead>()
                            .map_err(|e| cx.bad_value(op, e))?,
                    };
                    self.queue
                        .final_read(op.index, op.time, fr.partition, Some(&fr));
                } else {
                    let p = invoke.map_or(-1, |p| p.partition);
                    self.queue.final_read(op.index, op.time, p, None);
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn unfinished(&mut self, p: &Invocation) {
        // Sends and txns left invoked stay indefinite in the queue checker;
        // a txn may still prove committed (a read of one of its writes).
        match p.f {
            F::FinalRead => self.queue.final_read(p.index, p.time, p.partition, None),
            F::Txn => self.queue.txn_unfinished(p.index, p.process),
            _ => {}
        }
    }

    fn finish(self: Box<Self>) -> CheckerOutput {
        let q = self.queue.finish();
        let mut out = CheckerOutput::new("queue", &());
        out.validity = q.valid;
        out.unknown_reasons = q.unknown_reasons.clone();
        out.anomaly_counts = q
            .anomalies
            .iter()
            .map(|(c, a)| (c.clone(), a.count))
            .collect();
        out.typed = Some(Box::new(q));
        out
    }
}
