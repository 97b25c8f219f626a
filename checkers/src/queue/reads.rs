//! Reads: polls, transactions and final reads, record by record, with the
//! checks that need one consumer's order (skips, non-monotonic polls), the
//! coverage that proves a loss, and the realtime lag.
//!
//! Every read is evidence that its records exist (version order,
//! inconsistent offsets, duplicates, garbage, aborted and failed-write
//! reads, coverage, skip confirmation), whatever the reading op's outcome.
//! Only an `ok` transaction's reads are reads of a committed transaction
//! (write-read edges, its highest read per partition for the graph).

use super::*;

impl QueueChecker {
    /// The records one op returned, in order. `process` is None for the
    /// final reader (a fresh consumer per read); `reader_txn` is the reading
    /// transaction (`NO32` for a poll or final read); `committed`: the
    /// reading op completed ok.
    #[allow(clippy::too_many_arguments)]
    fn read_records(
        &mut self,
        op: u64,
        time: u64,
        process: Option<ProcKey>,
        records: &[Record],
        reader_txn: u32,
        committed: bool,
    ) {
        let max = self.opts.max_examples;
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.clear();
        self.touch_values(records);
        for r in records {
            let (v, own) = self.read_value(r.value, time, op, reader_txn, committed);
            self.observe(r.partition, r.offset, v, op, time, Source::Read);
            if committed && !own {
                let pi = self.part(r.partition);
                let ps = &mut self.parts[pi].1;
                if ps.max_ok_read.is_none_or(|(m, _)| r.offset > m) {
                    ps.max_ok_read = Some((r.offset, op));
                }
            }
            if reader_txn != NO32 {
                let w = self.vinfo[v as usize].txn;
                if own {
                    self.own_write_read(op, process, r);
                } else if committed && w != NO32 {
                    self.wr_edges.push((w, reader_txn));
                }
            }
            let p = r.partition;
            let o = r.offset;
            let excused = !self.opts.excused_internal.is_empty()
                && self.jepsen()
                && self.opts.excused_internal.contains(&(op, p));
            if let Some(s) = scratch.iter_mut().find(|s| s.0 == p) {
                let prev = s.1;
                let run_start = s.2;
                if excused {
                    // Rebalanced inside the op (a Jepsen :rebalance-log):
                    // its internal order is not judged.
                    if o <= prev {
                        let pi = self.part(p);
                        self.parts[pi].1.covered.push((run_start, prev, op));
                        s.2 = o;
                    }
                } else if o <= prev {
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
                    s.2 = o;
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
                s.3 = r.value;
                continue;
            }
            // First record of this partition in this op.
            let mut run_start = o;
            if let Some(q) = process {
                let ps = self.procs.entry(q).or_default();
                if let Some(c) = ps.consumer.iter().find(|c| c.partition == p).copied() {
                    let sought = c.run_start == NO_START;
                    if o <= c.last {
                        let name = self.pname(q);
                        self.anoms.add(Anomaly::NonmonotonicPoll, max, || Example {
                            ops: vec![c.last_op, op],
                            partition: Some(p),
                            offset: Some(o),
                            value: Some(r.value),
                            process: Some(name.clone()),
                            message: if sought {
                                format!(
                                    "process {name} was positioned at offset {} of partition \
                                     {p} (op {}) and then read offset {o} (op {op})",
                                    c.last + 1,
                                    c.last_op
                                )
                            } else {
                                format!(
                                    "process {name} polled partition {p} up to offset {} (op \
                                     {}) and then from offset {o} (op {op})",
                                    c.last, c.last_op
                                )
                            },
                        });
                        self.flush_run(c);
                    } else {
                        if !sought {
                            run_start = c.run_start;
                        }
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
            scratch.push((p, o, run_start, r.value));
        }
        // Remember where each partition's reading got to.
        if let Some(q) = process {
            let ps = self.procs.entry(q).or_default();
            for &(p, last, run_start, _) in &scratch {
                let mut pos = ConsumerRun {
                    partition: p,
                    last,
                    last_op: op,
                    run_start,
                    known_ix: u32::MAX,
                    expired_at: NO,
                };
                match ps.consumer.iter_mut().find(|c| c.partition == p) {
                    Some(c) => {
                        if last > c.last {
                            pos.known_ix = c.known_ix;
                        }
                        *c = pos
                    }
                    None => ps.consumer.push(pos),
                }
            }
        }
        // The final reader's run is accounted by final_read.
        if committed && reader_txn != NO32 {
            for &(p, last, _, value) in &scratch {
                self.txn_reads.push((reader_txn, p, last, value));
            }
        }
        self.scratch = scratch;
    }

    /// Load the value entry of every record before the records are
    /// processed one by one. Consumers read far behind the head, so each
    /// record's entry is usually out of the cache; here the loads do not
    /// depend on each other and the CPU overlaps their misses, where the
    /// processing loop would wait for them one at a time.
    #[inline]
    fn touch_values(&self, records: &[Record]) {
        let mut acc = 0u64;
        for r in records {
            if let Some(&v) = self.dense_vids.get(r.value as usize) {
                if let Some(vi) = self.vinfo.get(v as usize) {
                    acc ^= vi.first_read_op;
                }
            }
        }
        std::hint::black_box(acc);
    }

    /// A transaction returned a record it wrote itself: its commit comes
    /// after all its micro-ops, so the record was uncommitted when read.
    fn own_write_read(&mut self, op: u64, process: Option<ProcKey>, r: &Record) {
        let max = self.opts.max_examples;
        let name = process.map(|q| self.pname(q));
        let (p, o, value) = (r.partition, r.offset, r.value);
        self.anoms.add(Anomaly::PrecommittedRead, max, || Example {
            ops: vec![op],
            partition: Some(p),
            offset: Some(o),
            value: Some(value),
            process: name.clone(),
            message: format!(
                "transaction op {op} read its own write, value {value} at partition {p} offset \
                 {o}, before it committed"
            ),
        });
    }

    /// Realtime lag of a poll that completed ok: for each partition the
    /// process has a position in, how long before the poll's invocation
    /// some offset above that position was already known to exist.
    fn measure_lag(&mut self, op: u64, invoke_time: u64, process: ProcKey) {
        let Some(ps) = self.procs.get_mut(&process) else {
            return;
        };
        let mut worst: Option<(u64, Partition)> = None;
        for c in &mut ps.consumer {
            if c.expired_at != NO {
                let lag = invoke_time.saturating_sub(c.expired_at);
                if worst.is_none_or(|w| lag > w.0) {
                    worst = Some((lag, c.partition));
                }
                continue;
            }
            let pi = match self.dense_parts.get(c.partition as usize) {
                Some(&i) if c.partition >= 0 && i != u32::MAX => i as usize,
                _ => match self.part_ix.get(&c.partition) {
                    Some(&i) => i as usize,
                    None => continue,
                },
            };
            let kn = &self.parts[pi].1.known;
            let known = &kn.steps;
            // The first step at which some offset > c.last was known.
            let mut i = if c.known_ix == u32::MAX {
                kn.first_above(c.last)
            } else {
                c.known_ix as usize
            };
            while i < known.len() && known[i].0 <= c.last {
                i += 1;
            }
            c.known_ix = i as u32;
            if let Some(k) = known.get(i) {
                c.expired_at = k.1;
            }
            let lag = known.get(i).map_or(0, |k| invoke_time.saturating_sub(k.1));
            if worst.is_none_or(|w| lag > w.0) {
                worst = Some((lag, c.partition));
            }
        }
        let Some((lag, p)) = worst else { return };
        self.lags.push(lag);
        if self.worst_lags.len() < WORST_LAGS || lag > self.worst_lags[WORST_LAGS - 1].0 {
            self.worst_lags.push((lag, op, process, p));
            self.worst_lags
                .sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
            self.worst_lags.truncate(WORST_LAGS);
        }
    }

    /// An ok poll, invoked at `invoke_time`.
    pub fn poll_ok(
        &mut self,
        op: u64,
        invoke_time: u64,
        time: u64,
        process: ProcKey,
        records: &[Record],
    ) {
        self.note_time(time);
        self.read_records(op, time, Some(process), records, NO32, true);
        self.measure_lag(op, invoke_time, process);
    }

    /// A poll that did not complete ok, with whatever records it reported:
    /// they count as reads (evidence of existence) and for the process's
    /// poll order up to here; then the position is unknown (an `info` poll
    /// may have consumed records it never reported).
    pub fn poll_not_ok(&mut self, op: u64, time: u64, process: ProcKey, records: &[Record]) {
        self.note_time(time);
        if self.jepsen() {
            // Jepsen's client: judged against the last committed read,
            // which it then resumes from.
            let saved = self.save_positions(process);
            self.read_records(op, time, Some(process), records, NO32, false);
            self.restore_positions(process, saved);
            return;
        }
        if !records.is_empty() {
            self.read_records(op, time, Some(process), records, NO32, false);
        }
        self.reset_consumer(process);
    }

    /// A transaction was invoked: its sends may take effect from now on.
    pub fn txn_invoke(
        &mut self,
        op: u64,
        time: u64,
        process: ProcKey,
        sends: impl Iterator<Item = u64>,
    ) {
        self.has_txn = true;
        let id = self.txns.len() as u32;
        let start = self.txn_sends.len() as u32;
        for value in sends {
            let v = self.send_invoke_in(op, value, id);
            self.txn_sends.push(v);
        }
        let n = self.txn_sends.len() as u32 - start;
        self.txns.push(TxnRec {
            invoke_op: op,
            complete_op: NO,
            invoke_time: time,
            complete_time: NO,
            process,
            status: S_INVOKED,
            sends: (start, n),
        });
        self.open_txns.insert(op, id);
    }

    /// A transaction completed. `sends` are (value, partition, offset) of
    /// its send micro-ops in order, `polls` its poll records in order.
    #[allow(clippy::too_many_arguments)]
    pub fn txn_complete(
        &mut self,
        invoke_op: u64,
        invoke_time: u64,
        op: u64,
        time: u64,
        process: ProcKey,
        kind: trial_histories::OpType,
        sends: &[(u64, Option<Partition>, Option<Offset>)],
        polls: &[Record],
    ) {
        use trial_histories::OpType;
        self.has_txn = true;
        self.note_time(time);
        let status = match kind {
            OpType::Ok => S_OK,
            OpType::Fail => S_FAIL,
            _ => S_INFO,
        };
        let id = match self.open_txns.remove(&invoke_op) {
            Some(id) => id,
            None => {
                // Invoked without its sends' values (cannot happen through
                // the pairing pass): register it now.
                self.txn_invoke(invoke_op, invoke_time, process, sends.iter().map(|s| s.0));
                self.open_txns.remove(&invoke_op).unwrap_or(0)
            }
        };
        {
            let t = &mut self.txns[id as usize];
            t.status = status;
            t.complete_op = op;
            t.complete_time = time;
        }
        for &(value, partition, offset) in sends {
            let v = self.send_invoke_in(invoke_op, value, id);
            {
                let vi = &mut self.vinfo[v as usize];
                vi.status = status;
                vi.ack_op = op;
                vi.ack_time = time;
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
            }
            // A delivery report says where the record is, whatever the
            // transaction's outcome (an aborted record takes its offset).
            // Jepsen's checker places it only once the transaction proved
            // committed (at the end).
            if let (Some(p), Some(o)) = (partition, offset) {
                if o >= 0 {
                    if status != S_OK && self.jepsen() {
                        self.deferred_acks.push((p, o, v, op, time));
                    } else {
                        self.observe(p, o, v, op, time, Source::Ack);
                    }
                }
            }
        }
        if status != S_FAIL {
            self.procs
                .entry(process)
                .or_default()
                .sends
                .push(TAG_TXN | id as u64);
        }
        let committed = status == S_OK;
        let saved = (!committed && self.jepsen()).then(|| self.save_positions(process));
        self.read_records(op, time, Some(process), polls, id, committed);
        if let Some(saved) = saved {
            // Jepsen's client rewinds to its last committed read.
            self.restore_positions(process, saved);
        } else if committed {
            self.measure_lag(op, invoke_time, process);
        } else {
            // The workload may rewind an aborted or indefinite
            // transaction's consumer to its committed offsets, and a failed
            // commit may have moved it: its next poll may start anywhere.
            self.reset_consumer(process);
        }
    }

    /// A transaction that never completed (indefinite: it may have
    /// committed).
    pub fn txn_unfinished(&mut self, invoke_op: u64, process: ProcKey) {
        if let Some(id) = self.open_txns.remove(&invoke_op) {
            self.procs
                .entry(process)
                .or_default()
                .sends
                .push(TAG_TXN | id as u64);
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
        self.read_records(op, time, None, &fr.records, NO32, true);
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
