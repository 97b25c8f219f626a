//! The transaction dependency graph of a Kafka history, and the cycles in
//! it (Adya's G0, G1c, G-single, G2, with `-process` and `-realtime`
//! variants, as Elle names them).
//!
//! Pure: the queue checker decides which transactions committed and what
//! each one wrote and read, builds an [`Input`], and calls [`analyse`].
//! Nodes are committed transactions (ok, or `info` with a commit inferred
//! from atomicity). Edges:
//!
//! - `ww`: T1 and T2 wrote to one partition, T1's record at a lower offset
//!   (consecutive writers in each partition's version order);
//! - `wr`: T2's highest read of a partition returned a record T1 wrote;
//! - `rw` (anti-dependency): T1's highest read of a partition was offset o,
//!   and T2 wrote the next version after o in that partition — skipping the
//!   rest of the records of o's own writer (a fetch may return a prefix of
//!   a committed transaction: that is not a version T1 missed);
//! - `process`: T1 and T2 ran in one process, T1 first;
//! - `realtime`: T1 completed before T2 was invoked.
//!
//! Every edge is kept in one compact CSR graph (u32 adjacency, one byte of
//! kind and two u32 of provenance per edge: no allocation per edge), so a
//! 250k-transaction history costs a few tens of MB and a fraction of a
//! second. Realtime edges use Elle's frontier trick (each transaction is
//! linked only from the completed transactions not already implied by a
//! later completion), which keeps them near-linear instead of O(n^2).
//!
//! Cycles are searched only inside the strongly connected components of
//! the whole graph (a cycle cannot leave its component), class by class in
//! Elle's order (G0, G1c, G-single, G2, then the `-process`, then the
//! `-realtime` variants); a class found in a component makes every class it
//! implies redundant there (see [`search`]). Each search is a breadth-first
//! search over (transaction, edge-count state) pairs, so the example found
//! is a shortest cycle through its start, and each is bounded by a budget
//! of edge visits so that a pathological component cannot stall the check
//! (searches cut short are counted in [`Findings::incomplete`]).
//!
//! Layout: [`build`] (edges and CSR), [`scc`] (iterative Tarjan over a
//! kind mask), [`search`] (per-component class search), [`explain`]
//! (sentences), [`gen`] (serial executions for tests and benches).

mod build;
mod explain;
#[doc(hidden)]
pub mod gen;
pub(crate) mod scc;
mod search;
#[cfg(test)]
mod tests;

use crate::checker::ProcKey;
use trial_histories::values::{Offset, Partition};

/// Index of a transaction in [`Input::txns`].
pub type TxnId = u32;

/// One committed transaction (a node).
#[derive(Debug, Clone)]
pub struct TxnNode {
    /// Invocation index: how examples name it.
    pub op: u64,
    /// Completion index (`u64::MAX`: never completed).
    pub complete_op: u64,
    pub process: ProcKey,
    /// Times in ns since the history began.
    pub invoke_time: u64,
    /// `u64::MAX`: never completed.
    pub complete_time: u64,
    /// `false`: the transaction ended `info` and its commit is inferred
    /// (another of its writes was read).
    pub acknowledged: bool,
}

/// One partition's version order: the offsets of records written by
/// committed transactions, ascending, with their writer.
#[derive(Debug, Clone, Default)]
pub struct VersionOrder {
    pub partition: Partition,
    /// (offset, value, writer), sorted by offset, one entry per offset.
    pub versions: Vec<(Offset, u64, TxnId)>,
}

/// A transaction's highest read of one partition.
#[derive(Debug, Clone, Copy)]
pub struct LastRead {
    pub txn: TxnId,
    pub partition: Partition,
    /// The offset of the last record of this partition the transaction's
    /// polls returned.
    pub offset: Offset,
    pub value: u64,
}

/// Everything the graph is built from.
#[derive(Debug, Clone, Default)]
pub struct Input {
    pub txns: Vec<TxnNode>,
    pub versions: Vec<VersionOrder>,
    pub reads: Vec<LastRead>,
    /// Add `process` edges (and report `-process` variants).
    pub process_edges: bool,
    /// Add `realtime` edges (and report `-realtime` variants).
    pub realtime_edges: bool,
}

/// An edge's kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Rel {
    Ww,
    Wr,
    Rw,
    Process,
    Realtime,
}

impl Rel {
    pub(crate) const ALL: [Rel; 5] = [Rel::Ww, Rel::Wr, Rel::Rw, Rel::Process, Rel::Realtime];

    /// The bit of this kind in an edge-kind mask.
    pub(crate) fn bit(self) -> u8 {
        1 << (self as u8)
    }

    pub(crate) fn from_u8(k: u8) -> Rel {
        Rel::ALL[k as usize]
    }

    pub fn name(self) -> &'static str {
        match self {
            Rel::Ww => "ww",
            Rel::Wr => "wr",
            Rel::Rw => "rw",
            Rel::Process => "process",
            Rel::Realtime => "realtime",
        }
    }
}

/// One step of a cycle: `from` → `to` because of `rel`, at a partition and
/// offset(s) where that applies.
#[derive(Debug, Clone)]
pub struct Step {
    pub from: TxnId,
    pub to: TxnId,
    pub rel: Rel,
    pub partition: Option<Partition>,
    /// The offset that `from` wrote or read.
    pub from_offset: Option<Offset>,
    /// The offset that `to` wrote or read.
    pub to_offset: Option<Offset>,
}

/// One cycle found, with its class and a sentence per step.
#[derive(Debug, Clone)]
pub struct Cycle {
    /// `G0`, `G1c`, `G-single`, `G2`, or one of them with `-process` /
    /// `-realtime` appended.
    pub class: String,
    pub steps: Vec<Step>,
    /// In words: which transaction wrote or read what, at which offsets.
    pub explanation: String,
}

/// What the analysis found.
#[derive(Debug, Clone, Default)]
pub struct Findings {
    /// Per class: how many strongly connected components exhibit it (the
    /// way Elle counts), and up to `max_examples` cycles.
    pub counts: std::collections::BTreeMap<String, u64>,
    pub examples: Vec<Cycle>,
    /// Strongly connected components of more than one transaction in the
    /// whole graph (every cycle lies in one of them).
    pub sccs: u64,
    /// (component, class) searches stopped by the work budget before they
    /// could decide: a class may be missing from `counts` because of them.
    pub incomplete: u64,
    /// Edges built, per kind (ww, wr, rw, process, realtime).
    pub edges: [u64; 5],
}

/// Build the graph and find its cycles.
///
/// Panics if the input names a transaction that is not in `txns` (a bug
/// of the caller, not of the history).
pub fn analyse(input: &Input, max_examples: usize) -> Findings {
    let g = build::Graph::build(input);
    search::find(input, &g, max_examples)
}
