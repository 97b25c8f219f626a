//! The end of the queue check: which transactions committed (atomicity
//! inference), the sends' monotonicity, confirming gaps (a gap is a skip
//! only if some read returned a record inside it), lost writes and unseen
//! values, the dependency graph's cycles, the realtime lag, and the results
//! with each class's judgement under the run's configuration.
//!
//! One file over 800 lines on purpose: these steps run in this order over
//! the same end-of-history state, and each feeds the next (commit
//! inference decides lost writes, send order and the graph's nodes).

use super::*;
use crate::graph;

impl QueueChecker {
    /// The end of the history: decide everything that needs all reads.
    pub fn finish(mut self) -> QueueResults {
        let max = self.opts.max_examples;
        let mut unknown_reasons = Vec::new();

        // Flush consumer runs.
        let procs = std::mem::take(&mut self.procs);
        let mut send_logs = Vec::with_capacity(procs.len());
        for (k, ps) in procs {
            for c in ps.consumer {
                self.flush_run(c);
            }
            send_logs.push((k, ps.sends));
        }
        send_logs.sort_unstable_by_key(|x| x.0);

        // Which transactions committed: ok ones, and (atomicity) `info` or
        // unfinished ones one of whose writes another op read. Under
        // read_uncommitted such a read proves nothing: consumers return
        // uncommitted and aborted records too.
        let infer = self.opts.isolation == Isolation::ReadCommitted;
        let jepsen = self.jepsen();
        // Jepsen's checker: only a read by an op that completed ok proves a
        // commit (`must-have-committed?`).
        let proof = if jepsen { F_OK_READ } else { 0 };
        let committed: Vec<bool> = self
            .txns
            .iter()
            .map(|t| {
                t.status == S_OK
                    || (infer
                        && (t.status == S_INFO || t.status == S_INVOKED)
                        && self.txn_sends[t.sends.0 as usize..(t.sends.0 + t.sends.1) as usize]
                            .iter()
                            .any(|&v| {
                                let vi = &self.vinfo[v as usize];
                                vi.first_read_op != NO && vi.flags & proof == proof
                            }))
            })
            .collect();
        // (jepsen) Delivery reports of sends that did not end ok place
        // their records only now that their commit is proven.
        for (p, o, v, op, time) in std::mem::take(&mut self.deferred_acks) {
            let vi = &self.vinfo[v as usize];
            let proven = if vi.txn != NO32 {
                committed[vi.txn as usize]
            } else {
                vi.flags & F_OK_READ != 0
            };
            if proven {
                self.observe(p, o, v, op, time, Source::Ack);
            }
        }
        self.check_sends(&send_logs, &committed);

        // Final reads: completeness and coverage.
        let has_txn = self.has_txn || self.opts.transactional;
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
            // Jepsen counts a value seen only when an ok op read it.
            let seen = read && (!jepsen || vi.flags & F_OK_READ != 0);
            if read {
                match vi.status {
                    S_NONE => self.anoms.add(Anomaly::GarbageRead, max, || Example {
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
                        self.anoms.add(Anomaly::AbortedRead, max, || Example {
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
                    S_FAIL => self.anoms.add(Anomaly::FailedWriteRead, max, || Example {
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
                    _ if vi.txn != NO32 && vi.first_read_op < vi.writer_op => {
                        // Read before its transaction was invoked: it
                        // cannot have been committed (nor even written).
                        self.anoms.add(Anomaly::PrecommittedRead, max, || Example {
                            ops: vec![vi.first_read_op, vi.writer_op],
                            partition: Some(vi.partition),
                            offset: Some(vi.offset),
                            value: Some(vi.value),
                            process: None,
                            message: format!(
                                "value {} was read at partition {} offset {} by op {}, which \
                                 completed before its transaction (op {}) was invoked",
                                vi.value, vi.partition, vi.offset, vi.first_read_op, vi.writer_op
                            ),
                        })
                    }
                    _ => {}
                }
                if seen {
                    continue;
                }
            }
            if vi.flags & F_SELF_READ != 0 {
                // Only its own transaction read it (reported as a
                // precommitted read): seen, so neither lost nor unseen.
                continue;
            }
            // Committed: acknowledged, or in a transaction whose commit is
            // inferred. (A plain `info` send counts only once read.)
            let is_committed = if vi.txn != NO32 {
                committed[vi.txn as usize]
            } else {
                vi.status == S_OK || (jepsen && vi.status == S_INFO && vi.flags & F_OK_READ != 0)
            };
            if !is_committed {
                continue;
            }
            let inferred = vi.status != S_OK;
            let how = if inferred {
                "was written by a transaction whose commit is inferred (another of its writes \
                 was read; it ended"
            } else {
                "was acknowledged"
            };
            let ack = if inferred {
                format!(" indefinite, op {})", vi.ack_op.min(vi.writer_op))
            } else {
                String::new()
            };
            let ack_op = if vi.ack_op == NO {
                vi.writer_op
            } else {
                vi.ack_op
            };
            // Never read: lost if a read covered it (kafka-trial), or if
            // an ok op read a higher offset of its partition (Jepsen).
            let cover = if vi.offset < 0 {
                None
            } else if jepsen {
                self.part_ix.get(&vi.partition).and_then(|&pi| {
                    self.parts[pi as usize]
                        .1
                        .max_ok_read
                        .filter(|m| m.0 > vi.offset)
                        .map(|m| m.1)
                })
            } else {
                self.part_ix
                    .get(&vi.partition)
                    .and_then(|&pi| covering(&self.parts[pi as usize].1.covered, vi.offset))
            };
            match cover {
                Some(reader) => self.anoms.add(Anomaly::LostWrite, max, || Example {
                    ops: vec![ack_op, reader],
                    partition: Some(vi.partition),
                    offset: Some(vi.offset),
                    value: Some(vi.value),
                    process: None,
                    message: format!(
                        "value {} {how}{ack} at partition {} offset {} (op {}) but was never \
                         read, although op {} read past that offset",
                        vi.value, vi.partition, vi.offset, ack_op, reader
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
                            ops: vec![ack_op],
                            partition: (vi.offset >= 0).then_some(vi.partition),
                            offset: (vi.offset >= 0).then_some(vi.offset),
                            value: Some(vi.value),
                            process: None,
                            message: format!(
                                "value {} {how}{ack} at {} (op {}) and was never read",
                                vi.value, pos, ack_op
                            ),
                        });
                    }
                }
            }
        }
        let unseen_is_loss = all_final_complete && unseen_final > 0 && ok_sends > 0;
        if unseen_final > 0 {
            let i = Anomaly::Unseen as usize;
            self.anoms.counts[i] = unseen_final;
            self.anoms.examples[i] = unseen_examples;
        }

        // Gaps: a skip only if some read returned a record inside the gap
        // (Jepsen: any record of the version order, a proven send's too).
        let skip_proof = if jepsen { 0 } else { READ_BIT };
        let gaps = std::mem::take(&mut self.gaps);
        let mut found = Vec::new();
        {
            let (part_ix, parts) = (&self.part_ix, &self.parts);
            gaps.drain(
                |p, from, to| {
                    let &pi = part_ix.get(&p)?;
                    parts[pi as usize]
                        .1
                        .log
                        .any_read_between(from, to, skip_proof)
                },
                |g, (o, v)| found.push((*g, o, v)),
            );
        }
        for (g, o, v) in found {
            let value = self.vinfo[v as usize].value;
            let name = if g.process == NO {
                "final".to_string()
            } else {
                self.pname(g.process)
            };
            let (p, from, to) = (g.partition, g.from, g.to);
            let what = match g.class {
                Anomaly::PollSkip => format!(
                    "process {name} polled partition {p} up to offset {from} (op {}) and then \
                     from offset {to} (op {}), skipping offset {o} (value {value})",
                    g.ops[0], g.ops[1]
                ),
                Anomaly::IntPollSkip => format!(
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
            self.anoms
                .add(Anomaly::InconsistentOffsets, max, || Example {
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
            self.anoms.add(Anomaly::Duplicate, max, || Example {
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

        // Coverage (lost writes, unseen values) and the known offsets (the
        // realtime lag of each poll) are done with: free them before the
        // graph, the peak of a transactional check.
        for (_, ps) in &mut self.parts {
            ps.covered = Vec::new();
            ps.known = KnownSteps::default();
        }

        // Transaction cycles.
        let mut wr_only = [false; N_CLASSES];
        if self.has_txn {
            self.find_cycles(&committed, &mut wr_only);
        }
        let realtime_lag = self.lag_report();

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
            // The judgement under the run's configuration; classes listed
            // in `informational` are permitted whatever it says.
            let permitted = if self.opts.informational.iter().any(|x| x == c) {
                Some(
                    crate::verdict::permitted(c, self.opts.isolation, wr_only[i]).unwrap_or_else(
                        || "listed as informational in the check's options".to_string(),
                    ),
                )
            } else if *c == class::INT_SEND_SKIP {
                None
            } else {
                crate::verdict::permitted(c, self.opts.isolation, wr_only[i])
            };
            // Unseen values are suspicion, not proof, until every final
            // read is complete: informational until then.
            let informational =
                permitted.is_some() || (i == Anomaly::Unseen as usize && !unseen_is_loss);
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
                    permitted,
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
            realtime_lag,
            unknown_reasons,
        }
    }

    /// Monotonicity of each process's committed sends (acknowledged, or
    /// `info` ones that proved written), in completion order, since its last
    /// crash; inside each committed transaction, int-send checks.
    fn check_sends(&mut self, logs: &[(ProcKey, Vec<u64>)], committed: &[bool]) {
        let max = self.opts.max_examples;
        let mut pos: Vec<(Partition, Offset, u64)> = Vec::new();
        // Per partition inside one txn: (partition, last offset, max offset).
        let mut ss: Vec<(Partition, Offset, Offset)> = Vec::new();
        // kafka-trial places a send for these checks by its own delivery
        // report only; Jepsen by its version order, reads included.
        let pos_flag = if self.jepsen() { 0 } else { F_ACK_POS };
        // A plain info send counts once read (by an ok op under jepsen).
        let proof = if self.jepsen() { F_OK_READ } else { 0 };
        for (process, log) in logs {
            pos.clear();
            for &e in log {
                if e == TAG_CRASH {
                    pos.clear();
                    continue;
                }
                if e & TAG_KEEP == TAG_KEEP {
                    let keep = &self.keeps[(e & !TAG_KEEP) as usize];
                    pos.retain(|x| keep.contains(&x.0));
                    continue;
                }
                if e & TAG_TXN == 0 {
                    let vi = &self.vinfo[e as usize];
                    let counts = vi.status == S_OK
                        || (vi.status != S_FAIL
                            && vi.first_read_op != NO
                            && vi.flags & proof == proof);
                    if counts && vi.offset >= 0 && vi.flags & pos_flag == pos_flag {
                        let (p, o, op) = (vi.partition, vi.offset, vi.ack_op);
                        self.send_step(&mut pos, *process, p, o, op);
                    }
                    continue;
                }
                let t = (e & !TAG_TXN) as usize;
                if !committed[t] {
                    continue;
                }
                let tr = &self.txns[t];
                let op = if tr.complete_op == NO {
                    tr.invoke_op
                } else {
                    tr.complete_op
                };
                let (start, n) = (tr.sends.0 as usize, tr.sends.1 as usize);
                ss.clear();
                for k in start..start + n {
                    let v = self.txn_sends[k];
                    let vi = &self.vinfo[v as usize];
                    if vi.offset < 0 || vi.txn != t as u32 || vi.flags & pos_flag != pos_flag {
                        continue;
                    }
                    let (p, o, value) = (vi.partition, vi.offset, vi.value);
                    match ss.iter_mut().find(|x| x.0 == p) {
                        Some(x) => {
                            let prev = x.1;
                            x.1 = o;
                            x.2 = x.2.max(o);
                            if o <= prev {
                                let name = self.pname(*process);
                                self.anoms
                                    .add(Anomaly::IntNonmonotonicSend, max, || Example {
                                        ops: vec![op],
                                        partition: Some(p),
                                        offset: Some(o),
                                        value: Some(value),
                                        process: Some(name.clone()),
                                        message: format!(
                                            "transaction op {op} of process {name} sent to \
                                             partition {p} at offset {prev} and then at offset {o}"
                                        ),
                                    });
                            } else if o > prev + 1 {
                                self.gaps.push(Gap {
                                    class: Anomaly::IntSendSkip,
                                    partition: p,
                                    from: prev,
                                    to: o,
                                    ops: [op, op],
                                    process: *process,
                                });
                            }
                        }
                        None => {
                            ss.push((p, o, o));
                            self.send_step(&mut pos, *process, p, o, op);
                        }
                    }
                }
                // The process's position is the txn's highest send.
                for &(p, _, m) in &ss {
                    if let Some(x) = pos.iter_mut().find(|x| x.0 == p) {
                        x.1 = x.1.max(m);
                    }
                }
            }
        }
    }

    /// One committed send of a process to partition p at offset o (op):
    /// after the process's previous one there?
    fn send_step(
        &mut self,
        pos: &mut Vec<(Partition, Offset, u64)>,
        process: ProcKey,
        p: Partition,
        o: Offset,
        op: u64,
    ) {
        let max = self.opts.max_examples;
        match pos.iter_mut().find(|x| x.0 == p) {
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
            None => pos.push((p, o, op)),
        }
    }

    /// The dependency graph of the committed transactions
    /// ([`crate::graph`]), its cycles as anomaly reports, and the write-read
    /// cycles that read_committed forbids (`wr_only[class]`).
    fn find_cycles(&mut self, committed: &[bool], wr_only: &mut [bool; N_CLASSES]) {
        let max = self.opts.max_examples;
        let mut node_of = vec![NO32; self.txns.len()];
        let mut input = graph::Input {
            process_edges: true,
            realtime_edges: true,
            ..Default::default()
        };
        for (t, tr) in self.txns.iter().enumerate() {
            if !committed[t] {
                continue;
            }
            node_of[t] = input.txns.len() as u32;
            input.txns.push(graph::TxnNode {
                op: tr.invoke_op,
                complete_op: tr.complete_op,
                process: tr.process,
                invoke_time: tr.invoke_time,
                complete_time: tr.complete_time,
                acknowledged: tr.status == S_OK,
            });
        }
        if input.txns.is_empty() {
            return;
        }
        // Version orders: each partition's log in offset order, the records
        // of committed transactions.
        for (p, ps) in &self.parts {
            let mut vo = graph::VersionOrder {
                partition: *p,
                versions: Vec::new(),
            };
            let mut push = |o: Offset, slot: u32| {
                let s = slot & !READ_BIT;
                if s == 0 {
                    return;
                }
                let vi = &self.vinfo[(s - 1) as usize];
                if vi.txn != NO32
                    && node_of[vi.txn as usize] != NO32
                    && vi.partition == *p
                    && vi.offset == o
                {
                    vo.versions.push((o, vi.value, node_of[vi.txn as usize]));
                }
            };
            for (o, &slot) in ps.log.sparse.range(..0) {
                push(*o, slot);
            }
            for (i, &slot) in ps.log.dense.iter().enumerate() {
                push(i as Offset, slot);
            }
            for (o, &slot) in ps.log.sparse.range(0..) {
                push(*o, slot);
            }
            if !vo.versions.is_empty() {
                input.versions.push(vo);
            }
        }
        // (Collected in place: the reads' buffer becomes the graph's.)
        input.reads = std::mem::take(&mut self.txn_reads)
            .into_iter()
            .filter_map(|(t, p, o, value)| {
                let n = node_of[t as usize];
                (n != NO32).then_some(graph::LastRead {
                    txn: n,
                    partition: p,
                    offset: o,
                    value,
                })
            })
            .collect();
        let findings = graph::analyse(&input, max);
        let ix = |c: &str| CLASSES.iter().position(|x| *x == c);
        for (c, n) in &findings.counts {
            if let Some(i) = ix(c) {
                self.anoms.counts[i] += n;
            }
        }
        for cyc in &findings.examples {
            let Some(i) = ix(&cyc.class) else { continue };
            if !cyc.steps.iter().any(|s| s.rel == graph::Rel::Ww)
                && cyc.steps.iter().any(|s| s.rel == graph::Rel::Wr)
            {
                wr_only[i] = true;
            }
            if self.anoms.examples[i].len() < max {
                let ops = cyc
                    .steps
                    .iter()
                    .map(|s| input.txns[s.from as usize].op)
                    .collect();
                self.anoms.examples[i].push(Example {
                    ops,
                    partition: None,
                    offset: None,
                    value: None,
                    process: None,
                    message: cyc.explanation.clone(),
                });
            }
        }
        // Cycles of write-read edges alone (G1c that read_committed
        // forbids), found here whatever the graph reports, so that the
        // judgement never rests on which cycle it chose as an example.
        let n = input.txns.len();
        let edges: Vec<(u32, u32)> = self
            .wr_edges
            .iter()
            .map(|&(w, r)| (node_of[w as usize], node_of[r as usize]))
            .filter(|&(a, b)| a != NO32 && b != NO32 && a != b)
            .collect();
        if !has_cycle(n, &edges) {
            return;
        }
        let mut adj: Vec<Vec<u32>> = vec![Vec::new(); n];
        for &(a, b) in &edges {
            adj[a as usize].push(b);
        }
        for l in &mut adj {
            l.sort_unstable();
            l.dedup();
        }
        let g1c = Anomaly::G1c as usize;
        let mut found = 0u64;
        let mut first_examples = Vec::new();
        for comp in crate::graph::scc::components(&adj) {
            if comp.len() < 2 {
                continue;
            }
            found += 1;
            wr_only[g1c] = true;
            if first_examples.len() < max {
                let mut cyc = crate::graph::scc::find_cycle(&adj, &comp, comp[0], comp[0]);
                cyc.pop(); // the path ends where it started
                let ops: Vec<u64> = cyc.iter().map(|&x| input.txns[x as usize].op).collect();
                let mut msg = String::from("write-read edges alone form a cycle: ");
                for (k, &x) in cyc.iter().enumerate() {
                    let y = cyc[(k + 1) % cyc.len()];
                    if k > 0 {
                        msg.push_str("; ");
                    }
                    msg.push_str(&format!(
                        "transaction op {} read a record that transaction op {} wrote",
                        input.txns[y as usize].op, input.txns[x as usize].op
                    ));
                }
                first_examples.push(Example {
                    ops,
                    partition: None,
                    offset: None,
                    value: None,
                    process: None,
                    message: msg,
                });
            }
        }
        if found > 0 {
            // Counted by the graph already if it found them; at least these.
            let c = &mut self.anoms.counts[g1c];
            *c = (*c).max(found);
            let ex = &mut self.anoms.examples[g1c];
            first_examples.append(ex);
            first_examples.truncate(max);
            *ex = first_examples;
        }
    }

    /// The realtime lag summary.
    fn lag_report(&mut self) -> LagReport {
        let mut lags = std::mem::take(&mut self.lags);
        if lags.is_empty() {
            return LagReport::default();
        }
        let ms = |ns: u64| ns as f64 / 1e6;
        let n = lags.len();
        let q = |lags: &mut Vec<u64>, f: f64| {
            let k = (((n - 1) as f64) * f).floor() as usize;
            *lags.select_nth_unstable(k).1
        };
        let p50 = q(&mut lags, 0.5);
        let p99 = q(&mut lags, 0.99);
        let max = lags.iter().copied().max().unwrap_or(0);
        let worst = std::mem::take(&mut self.worst_lags)
            .into_iter()
            .map(|(lag, op, process, partition)| LagExample {
                op,
                process: self.pname(process),
                partition,
                lag_ms: ms(lag),
            })
            .collect();
        LagReport {
            polls: n as u64,
            p50_ms: ms(p50),
            p99_ms: ms(p99),
            max_ms: ms(max),
            worst,
        }
    }
}

/// The op of an interval covering `o`, if any. `covered` is sorted by start
/// with ends replaced by their prefix maximum.
/// Does the graph of `n` nodes and these edges have a cycle? Peels nodes
/// without incoming edges (Kahn's algorithm) over a compact adjacency: a
/// correct history's write-read graph is acyclic, and this answers that
/// without building per-node lists or running Tarjan.
pub(super) fn has_cycle(n: usize, edges: &[(u32, u32)]) -> bool {
    let mut start = vec![0u32; n + 1];
    let mut indeg = vec![0u32; n];
    for &(a, b) in edges {
        start[a as usize + 1] += 1;
        indeg[b as usize] += 1;
    }
    for i in 0..n {
        start[i + 1] += start[i];
    }
    let mut fill = start.clone();
    let mut to = vec![0u32; edges.len()];
    for &(a, b) in edges {
        to[fill[a as usize] as usize] = b;
        fill[a as usize] += 1;
    }
    let mut ready: Vec<u32> = (0..n as u32).filter(|&v| indeg[v as usize] == 0).collect();
    let mut peeled = 0usize;
    while let Some(v) = ready.pop() {
        peeled += 1;
        for &w in &to[start[v as usize] as usize..start[v as usize + 1] as usize] {
            indeg[w as usize] -= 1;
            if indeg[w as usize] == 0 {
                ready.push(w);
            }
        }
    }
    peeled < n
}

fn covering(covered: &[(Offset, Offset, u64)], o: Offset) -> Option<u64> {
    let i = covered.partition_point(|c| c.0 <= o);
    if i == 0 {
        return None;
    }
    let c = covered[i - 1];
    (c.1 >= o).then_some(c.2)
}
