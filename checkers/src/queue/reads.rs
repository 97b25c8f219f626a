//! Reads: polls, transactions and final reads, record by record, with the
//! checks that need one consumer's order (skips, non-monotonic polls) and
//! the coverage that proves a loss.

use super::*;

impl QueueChecker {
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
                    self.anoms
                        .add(Anomaly::IntNonmonotonicPoll, max, || Example {
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
                        class: Anomaly::IntPollSkip,
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
                        self.anoms.add(Anomaly::NonmonotonicPoll, max, || Example {
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
                                class: Anomaly::PollSkip,
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
                    let pos = ConsumerRun {
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
                        self.anoms
                            .add(Anomaly::IntNonmonotonicSend, max, || Example {
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
                            class: Anomaly::IntSendSkip,
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
}
