//! Pairing invocations with their completions, per process, as a stream.

use crate::op::{Op, OpType, Process};
use std::collections::HashMap;

/// An invocation and what became of it.
#[derive(Debug, Clone, PartialEq)]
pub struct Pair {
    pub invoke: Op,
    /// `None` when the history ended with the op still outstanding: it must
    /// be treated like `info` (it may or may not have happened).
    pub completion: Option<Op>,
}

impl Pair {
    /// The outcome: the completion's type, or `Info` if it never completed.
    pub fn outcome(&self) -> OpType {
        self.completion.as_ref().map_or(OpType::Info, |c| c.kind)
    }
    /// Latency in ns, if it completed.
    pub fn latency_ns(&self) -> Option<u64> {
        self.completion
            .as_ref()
            .map(|c| c.time.saturating_sub(self.invoke.time))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PairError {
    #[error(
        "process {process} invoked op {second} while op {first} was still outstanding \
         (a process has at most one operation in flight)"
    )]
    DoubleInvoke {
        process: Process,
        first: u64,
        second: u64,
    },
    #[error("process {process} completed op {index} ({kind}) that it never invoked")]
    Orphan {
        process: Process,
        index: u64,
        kind: OpType,
    },
    #[error(
        "op {completion} of process {process} completes `{got}` but the outstanding \
         invocation {invoke} is `{want}`"
    )]
    Mismatch {
        process: Process,
        invoke: u64,
        completion: u64,
        want: String,
        got: String,
    },
}

/// Streaming pairer: feed ops in history order, get pairs as they complete.
/// Only outstanding invocations are held in memory.
#[derive(Debug, Default)]
pub struct Pairer {
    /// Outstanding invocations of workers, indexed by worker number (the
    /// common case: a dense, small range), and of any other process.
    workers: Vec<Option<Op>>,
    others: HashMap<Process, Op>,
    n_open: usize,
}

/// Workers numbered below this live in the dense table.
const DENSE: u64 = 1 << 16;

impl Pairer {
    pub fn new() -> Self {
        Self::default()
    }

    /// Feed one op. Returns the pair it completes, if any.
    fn slot(&mut self, p: &Process) -> Option<&mut Option<Op>> {
        match p {
            Process::Worker(n) if *n < DENSE => {
                let n = *n as usize;
                if n >= self.workers.len() {
                    self.workers.resize_with(n + 1, || None);
                }
                Some(&mut self.workers[n])
            }
            _ => None,
        }
    }

    fn get(&self, p: &Process) -> Option<&Op> {
        match p {
            Process::Worker(n) if *n < DENSE => {
                self.workers.get(*n as usize).and_then(|s| s.as_ref())
            }
            _ => self.others.get(p),
        }
    }

    fn insert(&mut self, op: Op) {
        self.n_open += 1;
        let p = op.process.clone();
        match self.slot(&p) {
            Some(s) => *s = Some(op),
            None => {
                self.others.insert(p, op);
            }
        }
    }

    fn remove(&mut self, p: &Process) -> Option<Op> {
        let r = match self.slot(p) {
            Some(s) => s.take(),
            None => self.others.remove(p),
        };
        if r.is_some() {
            self.n_open -= 1;
        }
        r
    }

    pub fn push(&mut self, op: Op) -> Result<Option<Pair>, PairError> {
        if op.kind == OpType::Invoke {
            if let Some(prev) = self.get(&op.process) {
                return Err(PairError::DoubleInvoke {
                    process: op.process.clone(),
                    first: prev.index,
                    second: op.index,
                });
            }
            self.insert(op);
            return Ok(None);
        }
        match self.remove(&op.process) {
            Some(inv) => {
                if inv.f != op.f {
                    let e = PairError::Mismatch {
                        process: op.process.clone(),
                        invoke: inv.index,
                        completion: op.index,
                        want: inv.f.to_string(),
                        got: op.f.to_string(),
                    };
                    self.insert(inv);
                    return Err(e);
                }
                Ok(Some(Pair {
                    invoke: inv,
                    completion: Some(op),
                }))
            }
            None => Err(PairError::Orphan {
                process: op.process,
                index: op.index,
                kind: op.kind,
            }),
        }
    }

    /// Number of invocations still outstanding.
    pub fn outstanding(&self) -> usize {
        self.n_open
    }

    /// End of history: the invocations that never completed, by index.
    pub fn finish(self) -> Vec<Pair> {
        let mut v: Vec<Pair> = self
            .workers
            .into_iter()
            .flatten()
            .chain(self.others.into_values())
            .map(|invoke| Pair {
                invoke,
                completion: None,
            })
            .collect();
        v.sort_by_key(|p| p.invoke.index);
        v
    }
}

/// Pair a whole history: every pair, in order of completion, then the
/// outstanding ones.
pub fn pair_all(ops: impl IntoIterator<Item = Op>) -> Result<Vec<Pair>, PairError> {
    let mut p = Pairer::new();
    let mut out = Vec::new();
    for op in ops {
        if let Some(pair) = p.push(op)? {
            out.push(pair);
        }
    }
    out.extend(p.finish());
    Ok(out)
}
