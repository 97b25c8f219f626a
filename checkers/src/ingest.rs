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

/// Outstanding invocations by process: a dense table for worker numbers
/// (the common case), a map for the rest.
#[derive(Default)]
struct PendingTable {
    dense: Vec<Option<Pending>>,
    other: FxHashMap<ProcKey, Pending>,
}

const DENSE_PROCS: u64 = 1 << 16;

impl PendingTable {
    fn get(&self, k: &ProcKey) -> Option<&Pending> {
        if *k < DENSE_PROCS {
            self.dense.get(*k as usize).and_then(|p| p.as_ref())
        } else {
            self.other.get(k)
        }
    }
    fn insert(&mut self, k: ProcKey, p: Pending) {
        if k < DENSE_PROCS {
            let i = k as usize;
            if i >= self.dense.len() {
                self.dense.resize_with(i + 1, || None);
            }
            self.dense[i] = Some(p);
        } else {
            self.other.insert(k, p);
        }
    }
    fn remove(&mut self, k: &ProcKey) -> Option<Pending> {
        if *k < DENSE_PROCS {
            self.dense.get_mut(*k as usize).and_then(|p| p.take())
        } else {
            self.other.remove(k)
        }
    }
    fn drain(&mut self) -> Vec<Pending> {
        let mut v: Vec<Pending> = self.dense.drain(..).flatten().collect();
        v.extend(self.other.drain().map(|(_, p)| p));
        v.sort_by_key(|p| p.index);
        v
    }
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
    pending: PendingTable,
    named: FxHashMap<String, ProcKey>,
    line: u64,
    /// Reused buffer for a poll's records.
    records: Vec<trial_histories::values::Record>,
}

const NAMED_BASE: u64 = 1 << 63;

impl<'a> Driver<'a> {
    fn new(path: &'a Path, qopts: QueueOptions) -> Self {
        Driver {
            path,
            queue: QueueChecker::new(qopts),
            stats: StatsCollector::new(),
            pending: PendingTable::default(),
            named: FxHashMap::default(),
            line: 0,
            records: Vec::new(),
        }
    }

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

    fn push(&mut self, op: &Op) -> Result<(), CheckError> {
        let key = self.key(&op.process);
        if op.kind == OpType::Invoke {
            if let Some(p) = self.pending.get(&key) {
                return Err(self.malformed(
                    op,
                    format!(
                        "process {} invoked op {} while op {} was still outstanding",
                        op.process, op.index, p.index
                    ),
                ));
            }
            let mut aux = 0;
            match op.f {
                F::Send => {
                    let value = match crate::fast::send(op.value.get()) {
                        Some((v, _, _)) => v,
                        None => {
                            let s: Send = op.value_as().map_err(|e| self.bad_value(op, e))?;
                            s.value
                        }
                    };
                    self.queue.send_invoke(op.index, value, false);
                }
                F::Txn => {
                    let t: Txn = op.value_as().map_err(|e| self.bad_value(op, e))?;
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
                    f: op.f.clone(),
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
                        op,
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
                        op,
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
                let (value, partition, offset) = match crate::fast::send(op.value.get()) {
                    Some(x) => x,
                    None => {
                        let s: Send = op.value_as().map_err(|e| self.bad_value(op, e))?;
                        (s.value, s.partition, s.offset)
                    }
                };
                self.queue
                    .send_complete(op.index, op.time, key, op.kind, value, partition, offset);
            }
            F::Poll => {
                if op.kind == OpType::Ok {
                    let mut recs = std::mem::take(&mut self.records);
                    recs.clear();
                    if !crate::fast::poll(op.value.get(), &mut recs) {
                        let p: Poll = op.value_as().map_err(|e| self.bad_value(op, e))?;
                        recs = p.records;
                    }
                    self.queue.poll_ok(op.index, op.time, key, &recs);
                    self.records = recs;
                } else {
                    self.queue.reset_consumer(key);
                }
            }
            F::Txn => {
                let t: Txn = op.value_as().map_err(|e| self.bad_value(op, e))?;
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
                    let fr: FinalRead = op.value_as().map_err(|e| self.bad_value(op, e))?;
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
        let rest = self.pending.drain();
        for p in rest {
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
///
/// Two threads: one reads and parses lines (the JSON of each op), the other
/// decodes values and runs the checkers; ops pass between them in batches,
/// in order. Parsing is about half the work, so on two cores this nearly
/// halves the wall time; memory stays bounded (a few batches in flight).
pub fn ingest_file(path: &Path, qopts: QueueOptions) -> Result<Ingested, CheckError> {
    use std::sync::mpsc::sync_channel;
    enum Msg {
        Ops(Vec<(Op, u64)>),
        Err(trial_histories::ReadError),
        End(Vec<String>),
    }
    const BATCH: usize = 1024;
    let mut r = HistoryReader::open(path)?;
    std::thread::scope(|s| {
        let (tx, rx) = sync_channel::<Msg>(8);
        // Batches come back to the reader to be dropped and reused there:
        // ops are freed by the thread that allocated them (cross-thread
        // frees are slow in the system allocator).
        let (back_tx, back_rx) = sync_channel::<Vec<(Op, u64)>>(16);
        s.spawn(move || {
            let fresh =
                |back_rx: &std::sync::mpsc::Receiver<Vec<(Op, u64)>>| match back_rx.try_recv() {
                    Ok(mut b) => {
                        b.clear();
                        b
                    }
                    Err(_) => Vec::with_capacity(BATCH),
                };
            let mut batch = fresh(&back_rx);
            while let Some(op) = r.next() {
                match op {
                    Ok(op) => {
                        batch.push((op, r.lines_read()));
                        if batch.len() == BATCH {
                            let next = fresh(&back_rx);
                            let full = std::mem::replace(&mut batch, next);
                            if tx.send(Msg::Ops(full)).is_err() {
                                return; // the checker stopped (an error)
                            }
                        }
                    }
                    Err(e) => {
                        let _ = tx.send(Msg::Ops(batch));
                        let _ = tx.send(Msg::Err(e));
                        return;
                    }
                }
            }
            let _ = tx.send(Msg::Ops(batch));
            let _ = tx.send(Msg::End(
                r.warnings().iter().map(|w| w.to_string()).collect(),
            ));
            // Drain returned batches here, so their ops are freed here.
            drop(tx);
            while back_rx.recv().is_ok() {}
        });
        let mut d = Driver::new(path, qopts);
        let mut ops = 0u64;
        let mut warnings = Vec::new();
        for msg in rx {
            match msg {
                Msg::Ops(batch) => {
                    for (op, line) in &batch {
                        d.line = *line;
                        ops += 1;
                        d.push(op)?;
                    }
                    // If the reader is gone or its queue is full, drop here.
                    let _ = back_tx.try_send(batch);
                }
                Msg::Err(e) => return Err(CheckError::Read(e)),
                Msg::End(w) => warnings = w,
            }
        }
        drop(back_tx);
        let (queue, stats) = d.finish();
        Ok(Ingested {
            queue,
            stats,
            ops,
            warnings,
        })
    })
}

/// Same, from any reader.
pub fn ingest_reader<R: std::io::BufRead>(
    r: &mut HistoryReader<R>,
    path: &Path,
    qopts: QueueOptions,
) -> Result<Ingested, CheckError> {
    let mut d = Driver::new(path, qopts);
    let mut ops = 0u64;
    while let Some(op) = r.next() {
        let op = op?;
        d.line = r.lines_read();
        ops += 1;
        d.push(&op)?;
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
    let mut d = Driver::new(path, qopts);
    for (i, op) in ops.iter().enumerate() {
        d.line = i as u64 + 1;
        d.push(op)?;
    }
    let (queue, stats) = d.finish();
    Ok(Ingested {
        queue,
        stats,
        ops: ops.len() as u64,
        warnings: Vec::new(),
    })
}
