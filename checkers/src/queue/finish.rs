//! The end of the queue check: confirming gaps (a gap is a skip only if
//! some read returned a record inside it), lost writes and unseen values,
//! transaction cycles, and the results.

use super::*;

impl QueueChecker {
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
                Some(reader) => self.anoms.add(Anomaly::LostWrite, max, || Example {
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
            let i = Anomaly::Unseen as usize;
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
                || (i == Anomaly::Unseen as usize && !unseen_is_loss);
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
            |vi: &ValueInfo| vi.status == S_OK || (vi.status == S_INFO && vi.first_read_op != NO);
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
            self.anoms.add(Anomaly::G0, max, || Example {
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
            self.anoms.add(Anomaly::G1c, max, || Example {
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
