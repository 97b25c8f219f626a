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
    open: HashMap<Process, Op>,
}

impl Pairer {
    pub fn new() -> Self {
        Self::default()
    }

    /// Feed one op. Returns the pair it completes, if any.
    pub fn push(&mut self, op: Op) -> Result<Option<Pair>, PairError> {
        if op.kind == OpType::Invoke {
            if let Some(prev) = self.open.get(&op.process) {
                return Err(PairError::DoubleInvoke {
                    process: op.process.clone(),
                    first: prev.index,
                    second: op.index,
                });
            }
            self.open.insert(op.process.clone(), op);
            return Ok(None);
        }
        match self.open.remove(&op.process) {
            Some(inv) => {
                if inv.f != op.f {
                    let e = PairError::Mismatch {
                        process: op.process.clone(),
                        invoke: inv.index,
                        completion: op.index,
                        want: inv.f.to_string(),
                        got: op.f.to_string(),
                    };
                    self.open.insert(inv.process.clone(), inv);
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
        self.open.len()
    }

    /// End of history: the invocations that never completed, by index.
    pub fn finish(self) -> Vec<Pair> {
        let mut v: Vec<Pair> = self
            .open
            .into_values()
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
