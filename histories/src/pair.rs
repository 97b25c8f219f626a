//! Pairing invocations with their completions, per process, as a stream.

use crate::op::{Op, OpType, Process, F};
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

/// Outstanding invocations by process, with the one pairing rule of
/// kafka-trial (histories/README.md): a process has at most one op in
/// flight; a completion completes the outstanding invocation of its process
/// with the same `f`; `crash` and `rebalance` may also stand alone (without
/// an invocation, or while another op of the process is in flight: a
/// rebalance callback runs inside `poll`).
///
/// Generic over what a caller keeps per invocation (`T`): the whole [`Op`]
/// for [`Pairer`], a few numbers for the checkers' streaming pass, a row for
/// the report. Workers numbered below 2^16 live in a dense table.
#[derive(Debug)]
pub struct Outstanding<T> {
    workers: Vec<Option<Entry<T>>>,
    others: HashMap<Process, Entry<T>>,
    n_open: usize,
}

/// One outstanding invocation.
#[derive(Debug, Clone)]
pub struct Entry<T> {
    pub f: F,
    pub index: u64,
    pub data: T,
}

/// What one op did to the outstanding invocations.
#[derive(Debug)]
pub enum Step<T> {
    /// An invocation, now outstanding. Strictly there was none before;
    /// leniently ([`Outstanding::step_lenient`]) `Some` is the one it
    /// displaced, which never completed.
    Invoked(Option<Entry<T>>),
    /// The completion of this invocation.
    Completed(Entry<T>),
    /// A completion without an invocation of its own: a standalone event
    /// (`crash`, `rebalance`), or leniently any orphan completion.
    Event,
}

impl<T> Default for Outstanding<T> {
    fn default() -> Self {
        Outstanding {
            workers: Vec::new(),
            others: HashMap::new(),
            n_open: 0,
        }
    }
}

/// Workers numbered below this live in the dense table.
const DENSE: u64 = 1 << 16;

impl<T> Outstanding<T> {
    pub fn new() -> Self {
        Self::default()
    }

    fn slot(&mut self, p: &Process) -> Option<&mut Option<Entry<T>>> {
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

    /// The outstanding invocation of `p`, if any.
    pub fn get(&self, p: &Process) -> Option<&Entry<T>> {
        match p {
            Process::Worker(n) if *n < DENSE => {
                self.workers.get(*n as usize).and_then(|s| s.as_ref())
            }
            _ => self.others.get(p),
        }
    }

    fn insert(&mut self, p: &Process, e: Entry<T>) -> Option<Entry<T>> {
        let prev = match self.slot(p) {
            Some(s) => s.replace(e),
            None => self.others.insert(p.clone(), e),
        };
        if prev.is_none() {
            self.n_open += 1;
        }
        prev
    }

    fn remove(&mut self, p: &Process) -> Option<Entry<T>> {
        let r = match self.slot(p) {
            Some(s) => s.take(),
            None => self.others.remove(p),
        };
        if r.is_some() {
            self.n_open -= 1;
        }
        r
    }

    /// Apply one op strictly: a second invocation while one is in flight,
    /// a completion never invoked, or a completion of another `f` is an
    /// error (and changes nothing). `data` is called only for invocations.
    pub fn step(&mut self, op: &Op, data: impl FnOnce() -> T) -> Result<Step<T>, PairError> {
        if op.kind == OpType::Invoke {
            if let Some(prev) = self.get(&op.process) {
                return Err(PairError::DoubleInvoke {
                    process: op.process.clone(),
                    first: prev.index,
                    second: op.index,
                });
            }
            self.insert(
                &op.process,
                Entry {
                    f: op.f.clone(),
                    index: op.index,
                    data: data(),
                },
            );
            return Ok(Step::Invoked(None));
        }
        match self.get(&op.process) {
            Some(e) if e.f == op.f => Ok(Step::Completed(
                self.remove(&op.process).expect("just seen"),
            )),
            _ if op.f.can_stand_alone() => Ok(Step::Event),
            Some(e) => Err(PairError::Mismatch {
                process: op.process.clone(),
                invoke: e.index,
                completion: op.index,
                want: e.f.to_string(),
                got: op.f.to_string(),
            }),
            None => Err(PairError::Orphan {
                process: op.process.clone(),
                index: op.index,
                kind: op.kind,
            }),
        }
    }

    /// Apply one op leniently (for readers that show whatever is there): a
    /// second invocation displaces the first (returned: it never
    /// completed); a completion pairs with the outstanding invocation even
    /// if its `f` differs, unless it is a standalone event; an orphan
    /// completion is an event.
    pub fn step_lenient(&mut self, op: &Op, data: impl FnOnce() -> T) -> Step<T> {
        if op.kind == OpType::Invoke {
            let prev = self.insert(
                &op.process,
                Entry {
                    f: op.f.clone(),
                    index: op.index,
                    data: data(),
                },
            );
            return Step::Invoked(prev);
        }
        match self.get(&op.process) {
            Some(e) if e.f == op.f || !op.f.can_stand_alone() => {
                Step::Completed(self.remove(&op.process).expect("just seen"))
            }
            _ => Step::Event,
        }
    }

    /// Number of invocations still outstanding.
    pub fn len(&self) -> usize {
        self.n_open
    }

    pub fn is_empty(&self) -> bool {
        self.n_open == 0
    }

    /// End of history: the invocations that never completed, by index.
    pub fn drain(&mut self) -> Vec<(Process, Entry<T>)> {
        let mut v: Vec<(Process, Entry<T>)> = self
            .workers
            .drain(..)
            .enumerate()
            .filter_map(|(n, e)| e.map(|e| (Process::Worker(n as u64), e)))
            .chain(self.others.drain())
            .collect();
        v.sort_by_key(|(_, e)| e.index);
        self.n_open = 0;
        v
    }
}

/// Streaming pairer: feed ops in history order, get pairs as they complete.
/// Only outstanding invocations are held in memory. A standalone event
/// (`crash`, `rebalance` without an invocation of its own) pairs with
/// itself: `invoke` and `completion` are the same op.
#[derive(Debug, Default)]
pub struct Pairer {
    open: Outstanding<Op>,
}

impl Pairer {
    pub fn new() -> Self {
        Self::default()
    }

    /// Feed one op. Returns the pair it completes, if any.
    pub fn push(&mut self, op: Op) -> Result<Option<Pair>, PairError> {
        match self.open.step(&op, || op.clone())? {
            Step::Invoked(_) => Ok(None),
            Step::Completed(e) => Ok(Some(Pair {
                invoke: e.data,
                completion: Some(op),
            })),
            Step::Event => Ok(Some(Pair {
                invoke: op.clone(),
                completion: Some(op),
            })),
        }
    }

    /// Number of invocations still outstanding.
    pub fn outstanding(&self) -> usize {
        self.open.len()
    }

    /// End of history: the invocations that never completed, by index.
    pub fn finish(mut self) -> Vec<Pair> {
        self.open
            .drain()
            .into_iter()
            .map(|(_, e)| Pair {
                invoke: e.data,
                completion: None,
            })
            .collect()
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

#[cfg(test)]
mod tests {
    use super::*;

    fn op(index: u64, p: Process, kind: OpType, f: F) -> Op {
        let mut o = Op::new(p, kind, f);
        o.index = index;
        o
    }

    #[test]
    fn strict_and_lenient_pairing_follow_one_rule() {
        let w = Process::Worker(3);
        let mut t: Outstanding<u64> = Outstanding::new();
        assert!(matches!(
            t.step(&op(0, w.clone(), OpType::Invoke, F::Poll), || 0),
            Ok(Step::Invoked(None))
        ));
        // A rebalance while the poll is in flight is an event of its own.
        assert!(matches!(
            t.step(&op(1, w.clone(), OpType::Info, F::Rebalance), || 1),
            Ok(Step::Event)
        ));
        // A second invocation is an error and changes nothing.
        assert!(matches!(
            t.step(&op(2, w.clone(), OpType::Invoke, F::Send), || 2),
            Err(PairError::DoubleInvoke {
                first: 0,
                second: 2,
                ..
            })
        ));
        // A completion of another f is an error.
        assert!(matches!(
            t.step(&op(3, w.clone(), OpType::Ok, F::Send), || 3),
            Err(PairError::Mismatch { invoke: 0, .. })
        ));
        match t.step(&op(4, w.clone(), OpType::Ok, F::Poll), || 4) {
            Ok(Step::Completed(e)) => assert_eq!((e.index, e.data, e.f), (0, 0, F::Poll)),
            other => panic!("{other:?}"),
        }
        assert!(t.is_empty());
        assert!(matches!(
            t.step(&op(5, Process::Nemesis, OpType::Info, F::Heal), || 5),
            Err(PairError::Orphan { index: 5, .. })
        ));
        // Leniently: a second invocation displaces the first, an orphan is
        // an event.
        let n = Process::Named("final".into());
        t.step_lenient(&op(6, n.clone(), OpType::Invoke, F::FinalRead), || 6);
        match t.step_lenient(&op(7, n.clone(), OpType::Invoke, F::FinalRead), || 7) {
            Step::Invoked(Some(e)) => assert_eq!(e.data, 6),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            t.step_lenient(&op(8, Process::Nemesis, OpType::Info, F::Heal), || 8),
            Step::Event
        ));
        assert_eq!(t.len(), 1);
        let rest = t.drain();
        assert_eq!(rest.len(), 1);
        assert_eq!((rest[0].0.clone(), rest[0].1.data), (n, 7));
    }

    #[test]
    fn a_standalone_crash_pairs_with_itself() {
        let mut p = Pairer::new();
        let c = op(0, Process::Worker(1), OpType::Info, F::Crash);
        let pair = p.push(c.clone()).unwrap().unwrap();
        assert_eq!(pair.invoke, c);
        assert_eq!(pair.completion, Some(c));
        assert_eq!(p.outstanding(), 0);
    }
}
