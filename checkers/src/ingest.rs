//! The one pairing pass: reading a history as a stream, pairing each
//! completion with its invocation ([`trial_histories::Outstanding`], the
//! one pairing rule) and feeding every checker that is on
//! ([`crate::checker`]).

use crate::checker::{enabled, Checker, CheckerOutput, Context, Invocation, ProcKey, Registration};
use crate::hash::FxHashMap;
use crate::{CheckError, CheckOptions};
use std::path::Path;
use trial_histories::{HistoryReader, Op, OpType, Outstanding, Process, Step, F};

/// What one streaming pass over a history produced.
pub struct Ingested {
    /// One output per checker that was on, in registration order.
    pub outputs: Vec<CheckerOutput>,
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
    checkers: Vec<Box<dyn Checker>>,
    pending: Outstanding<Invocation>,
    named: FxHashMap<String, ProcKey>,
    line: u64,
}

const NAMED_BASE: u64 = 1 << 63;

impl<'a> Driver<'a> {
    fn new(path: &'a Path, opts: &CheckOptions, registry: &[Registration]) -> Self {
        Driver {
            path,
            checkers: enabled(registry, opts).map(|r| (r.make)(opts)).collect(),
            pending: Outstanding::new(),
            named: FxHashMap::default(),
            line: 0,
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
                for c in &mut self.checkers {
                    c.name_process(k, &name);
                }
                k
            }
        }
    }

    fn push(&mut self, op: &Op) -> Result<(), CheckError> {
        let key = self.key(&op.process);
        let step = self
            .pending
            .step(op, || Invocation {
                f: op.f.clone(),
                index: op.index,
                time: op.time,
                process: key,
                partition: if op.f == F::FinalRead {
                    op.value_as::<PartitionOnly>().map_or(-1, |p| p.partition)
                } else {
                    0
                },
            })
            .map_err(|e| CheckError::Pairing {
                path: self.path.to_path_buf(),
                line: self.line,
                index: op.index,
                message: e.to_string(),
            })?;
        let cx = Context {
            path: self.path,
            line: self.line,
            process: key,
            worker: matches!(op.process, Process::Worker(_)),
            send: if op.f == F::Send {
                crate::decode::send(op.value.get())
            } else {
                None
            },
        };
        match step {
            Step::Invoked(_) => {
                for c in &mut self.checkers {
                    c.invoke(op, &cx)?;
                }
            }
            Step::Completed(inv) => {
                for c in &mut self.checkers {
                    c.complete(Some(&inv.data), op, &cx)?;
                }
            }
            Step::Event => {
                debug_assert!(op.kind != OpType::Invoke);
                for c in &mut self.checkers {
                    c.complete(None, op, &cx)?;
                }
            }
        }
        Ok(())
    }

    fn finish(mut self) -> Vec<CheckerOutput> {
        let rest = self.pending.drain();
        for (_, p) in &rest {
            for c in &mut self.checkers {
                c.unfinished(&p.data);
            }
        }
        self.checkers.into_iter().map(|c| c.finish()).collect()
    }
}

/// Read the history at `path` once and run the queue checker and the stats.
///
/// Two threads: one reads and parses lines (the JSON of each op), the other
/// decodes values and runs the checkers; ops pass between them in batches,
/// in order. Parsing is about half the work, so on two cores this nearly
/// halves the wall time; memory stays bounded (a few batches in flight).
pub fn ingest_file(
    path: &Path,
    opts: &CheckOptions,
    registry: &[Registration],
) -> Result<Ingested, CheckError> {
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
        let mut d = Driver::new(path, opts, registry);
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
        Ok(Ingested {
            outputs: d.finish(),
            ops,
            warnings,
        })
    })
}

/// Same, from any reader.
pub fn ingest_reader<R: std::io::BufRead>(
    r: &mut HistoryReader<R>,
    path: &Path,
    opts: &CheckOptions,
    registry: &[Registration],
) -> Result<Ingested, CheckError> {
    let mut d = Driver::new(path, opts, registry);
    let mut ops = 0u64;
    while let Some(op) = r.next() {
        let op = op?;
        d.line = r.lines_read();
        ops += 1;
        d.push(&op)?;
    }
    let warnings = r.warnings().iter().map(|w| w.to_string()).collect();
    Ok(Ingested {
        outputs: d.finish(),
        ops,
        warnings,
    })
}

/// Check ops already in memory (tests, generators).
pub fn ingest_ops(
    ops: &[Op],
    opts: &CheckOptions,
    registry: &[Registration],
) -> Result<Ingested, CheckError> {
    let path = Path::new("<memory>");
    let mut d = Driver::new(path, opts, registry);
    for (i, op) in ops.iter().enumerate() {
        d.line = i as u64 + 1;
        d.push(op)?;
    }
    Ok(Ingested {
        outputs: d.finish(),
        ops: ops.len() as u64,
        warnings: Vec::new(),
    })
}
