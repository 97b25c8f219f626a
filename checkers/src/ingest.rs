//! Reading a history as a stream and feeding the checkers: pairing of
//! invocations and completions, decoding of values (only for the ops that
//! need it), and dispatch to the queue checker and the stats.

use crate::fx::FxHashMap;
use crate::queue::{ProcKey, QueueChecker, QueueOptions, QueueResults};
use crate::stats::{Stats, StatsCollector};
use crate::CheckError;
use std::path::Path;
use trial_histories::values::{FinalRead, MicroOp, Poll, Send, Txn};
use trial_histories::{HistoryReader, Op, OpType, Process, F};

/// An outstanding invocation.
struct Pending {
    f: F,
    index: u64,
    time: u64,
    /// The final read's partition.
    aux: i32,
}

/// What one streaming pass over a history produced.
pub struct Ingested {
    pub queue: QueueResults,
    pub stats: Stats,
    pub ops: u64,
    pub warnings: Vec<String>,
}

#[derive(serde::Deserialize)]
struct PartitionOnly {
    #[serde(default)]
    partition: i32,
}

struct Driver<'a> {
    path: &'a Path,
    queue: QueueChecker,
    stats: StatsCollector,
    pending: FxHashMap<ProcKey, Pending>,
    named: FxHashMap<String, ProcKey>,
    line: u64,
}

const NAMED_BASE: u64 = 1 << 63;

impl Driver<'_> {
    fn key(&mut self, p: &Process) -> ProcKey {
        match p {
            Process::Worker(n) if *n < NAMED_BASE => *n,
            other => {
                let name = other.to_string();
                if let Some(k) = self.named.get(&name) {
                    return *k;
                }
                let k = NAMED_BASE + self.named.len() as u64;
                self.named.insert(name.clone(), k);
                self.queue.name_process(k, &name);
                k
            }
        }
    }

    fn bad_value(&self, op: &Op, e: serde_json::Error) -> CheckError {
        CheckError::Value {
            path: self.path.to_path_buf(),
            line: self.line,
            index: op.index,
            f: op.f.to_string(),
            message: e.to_string(),
        }
    }

    fn malformed(&self, op: &Op, message: String) -> CheckError {
        CheckError::Pairing {
            path: self.path.to_path_buf(),
            line: self.line,
            index: op.index,
            message,
        }
    }

    fn push(&mut self, op: Op) -> Result<(), CheckError> {
        let key = self.key(&op.process);
        if op.kind == OpType::Invoke {
            if let Some(p) = self.pending.get(&key) {
                return Err(self.malformed(
                    &op,
                    format!(
                        "process {} invoked op {} while op {} was still outstanding",
                        op.process, op.index, p.index
                    ),
                ));
            }
            let mut aux = 0;
            match op.f {
                F::Send => {
                    let s: Send = op.value_as().map_err(|e| self.bad_value(&op, e))?;
                    self.queue.send_invoke(op.index, s.value, false);
                }
                F::Txn => {
                    let t: Txn = op.value_as().map_err(|e| self.bad_value(&op, e))?;
                    self.queue.txn_invoke(
                        op.index,
                        t.ops.iter().filter_map(|m| match m {
                            MicroOp::Send(s) => Some(s.value),
                            _ => None,
                        }),
                    );
                }
                F::FinalRead => {
                    let p: PartitionOnly = op.value_as().unwrap_or(PartitionOnly { partition: -1 });
                    aux = p.partition;
                }
                _ => {}
            }
            self.stats.note_time(op.time);
            self.pending.insert(
                key,
                Pending {
                    f: op.f,
                    index: op.index,
                    time: op.time,
                    aux,
                },
            );
            return Ok(());
        }
        // A completion, or a standalone event.
        let pending = match self.pending.remove(&key) {
            Some(p) if p.f == op.f => Some(p),
            Some(p) => {
                if matches!(op.f, F::Crash | F::Rebalance) {
                    // Reported while another op is in flight (a rebalance
                    // callback runs inside poll): an event of its own.
                    self.pending.insert(key, p);
                    None
                } else {
                    return Err(self.malformed(
                        &op,
                        format!(
                            "op {} of process {} completes `{}` but the outstanding invocation \
                             {} is `{}`",
                            op.index, op.process, op.f, p.index, p.f
                        ),
                    ));
                }
            }
            None => {
                if !matches!(op.f, F::Crash | F::Rebalance) {
                    return Err(self.malformed(
                        &op,
                        format!(
                            "process {} completed op {} ({}) that it never invoked",
                            op.process, op.index, op.kind
                        ),
                    ));
                }
                None
            }
        };
        let latency = pending.as_ref().map(|p| op.time.saturating_sub(p.time));
        let worker = matches!(op.process, Process::Worker(_));
        self.stats
            .completed(op.f.as_str(), op.kind, worker, op.time, latency);
        match &op.f {
            F::Send => {
                let s: Send = op.value_as().map_err(|e| self.bad_value(&op, e))?;
                self.queue.send_complete(
                    op.index,
                    op.time,
                    key,
                    op.kind,
                    s.value,
                    s.partition,
                    s.offset,
                );
            }
            F::Poll => {
                if op.kind == OpType::Ok {
                    let p: Poll = op.value_as().map_err(|e| self.bad_value(&op, e))?;
                    self.queue.poll_ok(op.index, op.time, key, &p.records);
                } else {
                    self.queue.reset_consumer(key);
                }
            }
            F::Txn => {
                let t: Txn = op.value_as().map_err(|e| self.bad_value(&op, e))?;
                let sends: Vec<_> = t
                    .ops
                    .iter()
                    .filter_map(|m| match m {
                        MicroOp::Send(s) => Some((s.value, s.partition, s.offset)),
                        _ => None,
                    })
                    .collect();
                let polls = t.ops.iter().flat_map(|m| match m {
                    MicroOp::Poll(p) => p.records.iter(),
                    _ => [].iter(),
                });
                let invoke = pending.as_ref().map_or(op.index, |p| p.index);
                self.queue
                    .txn_complete(invoke, op.index, op.time, key, op.kind, &sends, polls);
            }
            F::Assign | F::Subscribe | F::Rebalance => self.queue.reset_consumer(key),
            F::Crash => self.queue.crash(key),
            F::FinalRead => {
                if op.kind == OpType::Ok {
                    let fr: FinalRead = op.value_as().map_err(|e| self.bad_value(&op, e))?;
                    self.queue
                        .final_read(op.index, op.time, fr.partition, Some(&fr));
                } else {
                    let p = pending.as_ref().map_or(-1, |p| p.aux);
                    self.queue.final_read(op.index, op.time, p, None);
                }
            }
            F::Heal => self.stats.nemesis("heal", op.time),
            F::Other(name) => {
                if op.process == Process::Nemesis {
                    self.stats.nemesis(name, op.time);
                }
            }
        }
        Ok(())
    }

    fn finish(mut self) -> (QueueResults, Stats) {
        let pending = std::mem::take(&mut self.pending);
        let mut rest: Vec<_> = pending.into_iter().collect();
        rest.sort_by_key(|(_, p)| p.index);
        for (_, p) in rest {
            self.stats.unfinished(p.f.as_str());
            if p.f == F::FinalRead {
                self.queue.final_read(p.index, p.time, p.aux, None);
            }
            // Sends and txns left invoked stay indefinite in the queue checker.
        }
        (self.queue.finish(), self.stats.finish())
    }
}

/// Read the history at `path` once and run the queue checker and the stats.
pub fn ingest_file(path: &Path, qopts: QueueOptions) -> Result<Ingested, CheckError> {
    let mut r = HistoryReader::open(path)?;
    ingest_reader(&mut r, path, qopts)
}

/// Same, from any reader.
pub fn ingest_reader<R: std::io::BufRead>(
    r: &mut HistoryReader<R>,
    path: &Path,
    qopts: QueueOptions,
) -> Result<Ingested, CheckError> {
    let mut d = Driver {
        path,
        queue: QueueChecker::new(qopts),
        stats: StatsCollector::new(),
        pending: FxHashMap::default(),
        named: FxHashMap::default(),
        line: 0,
    };
    let mut ops = 0u64;
    while let Some(op) = r.next() {
        let op = op?;
        d.line = r.lines_read();
        ops += 1;
        d.push(op)?;
    }
    let warnings = r.warnings().iter().map(|w| w.to_string()).collect();
    let (queue, stats) = d.finish();
    Ok(Ingested {
        queue,
        stats,
        ops,
        warnings,
    })
}

/// Check ops already in memory (tests, generators).
pub fn ingest_ops(ops: &[Op], qopts: QueueOptions) -> Result<Ingested, CheckError> {
    let path = Path::new("<memory>");
    let mut d = Driver {
        path,
        queue: QueueChecker::new(qopts),
        stats: StatsCollector::new(),
        pending: FxHashMap::default(),
        named: FxHashMap::default(),
        line: 0,
    };
    for (i, op) in ops.iter().enumerate() {
        d.line = i as u64 + 1;
        d.push(op.clone())?;
    }
    let (queue, stats) = d.finish();
    Ok(Ingested {
        queue,
        stats,
        ops: ops.len() as u64,
        warnings: Vec::new(),
    })
}
