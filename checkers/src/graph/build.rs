//! The dependency graph as one CSR: edges collected into a flat list, then
//! bucketed by source with a counting sort (no per-edge allocation, no
//! per-node `Vec`).

use super::{Input, Rel, TxnId};
use crate::hash::FxHashMap;
use std::borrow::Cow;
use trial_histories::values::{Offset, Partition};

/// One version: (offset, value, writer).
pub(crate) type Version = (Offset, u64, TxnId);

/// The graph. Three kinds of storage, one edge-id space:
///
/// - data edges (ww, wr, rw) in a CSR: ids `0..m`, the edges of `v` in
///   `off[v]..off[v + 1]`, to `to[e]`, kind `kind[e]`, provenance `a[e]`,
///   `b[e]` (ww: version order index, position of the source's version, the
///   target's being the next; wr: read index, position of the version read;
///   rw: read index, position of the next version, the target's);
/// - process edges: at most one out of each transaction, `pnext[v]`
///   (`u32::MAX`: none), id `m + v`;
/// - realtime edges: the frontier construction links each transaction to
///   one contiguous run of the transactions in invocation order,
///   `by_invoke[rt_lo[v]..rt_hi[v]]`, so none is stored: the edge to
///   `by_invoke[k]` has id `m + n + k`.
pub(crate) struct Graph<'a> {
    pub n: usize,
    pub off: Vec<u32>,
    pub to: Vec<u32>,
    pub kind: Vec<u8>,
    pub a: Vec<u32>,
    pub b: Vec<u32>,
    pub pnext: Vec<u32>,
    pub by_invoke: Vec<u32>,
    pub rt_lo: Vec<u32>,
    pub rt_hi: Vec<u32>,
    /// Edges per kind, in [`Rel`] order.
    pub counts: [u64; 5],
    /// Each version order, sorted by offset (borrowed when the caller's
    /// already was).
    pub orders: Vec<Cow<'a, [Version]>>,
}

/// One edge, resolved from its id.
pub(crate) struct EdgeInfo {
    pub to: u32,
    pub rel: Rel,
    pub a: u32,
    pub b: u32,
}

struct Edge {
    from: u32,
    to: u32,
    a: u32,
    b: u32,
    kind: u8,
}

impl<'a> Graph<'a> {
    pub fn build(input: &'a Input) -> Graph<'a> {
        let n = input.txns.len();
        assert!(n < u32::MAX as usize, "graph: too many transactions ({n})");
        let check = |t: TxnId, what: &str| {
            assert!(
                (t as usize) < n,
                "graph: {what} names transaction {t}, but the input has {n}"
            );
        };
        let orders: Vec<Cow<'a, [Version]>> = input
            .versions
            .iter()
            .map(|vo| {
                if vo.versions.windows(2).all(|w| w[0].0 < w[1].0) {
                    Cow::Borrowed(vo.versions.as_slice())
                } else {
                    let mut v = vo.versions.clone();
                    v.sort_by_key(|x| x.0);
                    v.dedup_by_key(|x| x.0);
                    Cow::Owned(v)
                }
            })
            .collect();
        let nversions: usize = orders.iter().map(|v| v.len()).sum();
        let mut edges: Vec<Edge> = Vec::with_capacity(nversions + 2 * input.reads.len());
        let mut part_index = PartIndex::default();

        // ww: consecutive writers in each partition's version order.
        for (vi, vs) in orders.iter().enumerate() {
            part_index.insert(input.versions[vi].partition, vi as u32);
            for (i, w) in vs.windows(2).enumerate() {
                check(w[0].2, "a version");
                check(w[1].2, "a version");
                if w[0].2 != w[1].2 {
                    edges.push(Edge {
                        from: w[0].2,
                        to: w[1].2,
                        a: vi as u32,
                        b: i as u32,
                        kind: Rel::Ww as u8,
                    });
                }
            }
        }

        // wr and rw from each transaction's highest read of a partition.
        for (ri, r) in input.reads.iter().enumerate() {
            check(r.txn, "a read");
            let Some(vi) = part_index.get(r.partition) else {
                continue; // nothing committed was written there: no edge
            };
            let vs = &orders[vi as usize];
            // First version with offset >= the read's.
            let pos = vs.partition_point(|v| v.0 < r.offset);
            let next = if pos < vs.len() && vs[pos].0 == r.offset {
                let w = vs[pos].2;
                // A read may return a prefix of a committed transaction's
                // records in a partition (a fetch ends anywhere): the rest of
                // that writer's records is not a version the reader missed.
                let mut after = pos + 1;
                while after < vs.len() && vs[after].2 == w {
                    after += 1;
                }
                if w != r.txn {
                    edges.push(Edge {
                        from: w,
                        to: r.txn,
                        a: ri as u32,
                        b: pos as u32,
                        kind: Rel::Wr as u8,
                    });
                }
                after
            } else {
                pos
            };
            if next < vs.len() && vs[next].2 != r.txn {
                edges.push(Edge {
                    from: r.txn,
                    to: vs[next].2,
                    a: ri as u32,
                    b: next as u32,
                    kind: Rel::Rw as u8,
                });
            }
        }

        let mut pnext = vec![u32::MAX; n];
        if input.process_edges {
            // Consecutive transactions of each process, in invocation order.
            let by_op: Vec<u32> = if input.txns.windows(2).all(|w| w[0].op < w[1].op) {
                (0..n as u32).collect()
            } else {
                let mut v: Vec<u32> = (0..n as u32).collect();
                v.sort_unstable_by_key(|&t| input.txns[t as usize].op);
                v
            };
            let mut last: FxHashMap<u64, u32> = FxHashMap::default();
            for &t in &by_op {
                if let Some(prev) = last.insert(input.txns[t as usize].process, t) {
                    pnext[prev as usize] = t;
                }
            }
        }
        let (by_invoke, rt_lo, rt_hi) = if input.realtime_edges {
            realtime(input)
        } else {
            (Vec::new(), vec![0; n], vec![0; n])
        };

        let mut counts = [0u64; 5];
        counts[Rel::Process as usize] = pnext.iter().filter(|&&x| x != u32::MAX).count() as u64;
        counts[Rel::Realtime as usize] = rt_lo
            .iter()
            .zip(&rt_hi)
            .map(|(&l, &h)| u64::from(h - l))
            .sum();
        let mut off = vec![0u32; n + 1];
        for e in &edges {
            counts[e.kind as usize] += 1;
            off[e.from as usize + 1] += 1;
        }
        for i in 0..n {
            off[i + 1] += off[i];
        }
        let m = edges.len();
        assert!(m < u32::MAX as usize, "graph: too many edges ({m})");
        let mut fill: Vec<u32> = off[..n].to_vec();
        let mut to = vec![0u32; m];
        let mut kind = vec![0u8; m];
        let mut a = vec![0u32; m];
        let mut b = vec![0u32; m];
        for e in edges {
            let slot = &mut fill[e.from as usize];
            let i = *slot as usize;
            *slot += 1;
            to[i] = e.to;
            kind[i] = e.kind;
            a[i] = e.a;
            b[i] = e.b;
        }
        Graph {
            n,
            off,
            to,
            kind,
            a,
            b,
            pnext,
            by_invoke,
            rt_lo,
            rt_hi,
            counts,
            orders,
        }
    }

    /// How many edges leave `v` (all kinds).
    #[inline]
    pub fn deg(&self, v: u32) -> u32 {
        let v = v as usize;
        (self.off[v + 1] - self.off[v])
            + u32::from(self.pnext[v] != u32::MAX)
            + (self.rt_hi[v] - self.rt_lo[v])
    }

    /// The `i`-th edge leaving `v`: (target, kind, id).
    #[inline]
    pub fn at(&self, v: u32, i: u32) -> (u32, u8, u32) {
        let vu = v as usize;
        let (s, d) = (self.off[vu], self.off[vu + 1] - self.off[vu]);
        if i < d {
            let e = (s + i) as usize;
            return (self.to[e], self.kind[e], e as u32);
        }
        let m = self.to.len() as u32;
        let mut i = i - d;
        if self.pnext[vu] != u32::MAX {
            if i == 0 {
                return (self.pnext[vu], Rel::Process as u8, m + v);
            }
            i -= 1;
        }
        let k = self.rt_lo[vu] + i;
        (
            self.by_invoke[k as usize],
            Rel::Realtime as u8,
            m + self.n as u32 + k,
        )
    }

    /// An edge by id (its source is known to the caller).
    pub fn edge(&self, id: u32) -> EdgeInfo {
        let m = self.to.len() as u32;
        let e = id as usize;
        if id < m {
            EdgeInfo {
                to: self.to[e],
                rel: Rel::from_u8(self.kind[e]),
                a: self.a[e],
                b: self.b[e],
            }
        } else if id < m + self.n as u32 {
            EdgeInfo {
                to: self.pnext[(id - m) as usize],
                rel: Rel::Process,
                a: 0,
                b: 0,
            }
        } else {
            EdgeInfo {
                to: self.by_invoke[(id - m - self.n as u32) as usize],
                rel: Rel::Realtime,
                a: 0,
                b: 0,
            }
        }
    }
}

/// Realtime edges, Elle's way, without storing them. Walk invocations and
/// completions in time order, keeping the frontier: completed transactions
/// that no completed transaction is yet known to follow. Each invocation is
/// linked from every frontier member; a completion removes from the
/// frontier the members its own invocation was linked from (they reach
/// later transactions through it) and joins it. The transitive closure is
/// exactly "T1 completed before T2 was invoked", and the edge count is
/// about the concurrency per transaction.
///
/// The members an invocation was linked from are exactly the frontier
/// members that completed before it, and members join in completion order,
/// so the frontier is a queue and a completion removes a prefix of it. A
/// transaction is therefore linked to the invocations made while it was a
/// member: a contiguous run of the invocation order, `[lo, hi)`.
///
/// Returns (transactions by invocation time, lo, hi).
fn realtime(input: &Input) -> (Vec<u32>, Vec<u32>, Vec<u32>) {
    let n = input.txns.len();
    let txns = &input.txns;
    // Sort (key, id) pairs: cheaper than sorting ids by a looked-up key.
    let sorted = |mut v: Vec<(u64, u32)>| -> Vec<u32> {
        if !v.windows(2).all(|w| w[0] <= w[1]) {
            v.sort_unstable();
        }
        v.into_iter().map(|(_, t)| t).collect()
    };
    let by_invoke = sorted(
        txns.iter()
            .enumerate()
            .map(|(t, x)| (x.invoke_time, t as u32))
            .collect(),
    );
    let completes = sorted(
        txns.iter()
            .enumerate()
            .filter(|(_, x)| x.complete_time != u64::MAX)
            .map(|(t, x)| (x.complete_time, t as u32))
            .collect(),
    );
    // Position of each transaction's invocation in `by_invoke`.
    let mut pos = vec![0u32; n];
    for (k, &t) in by_invoke.iter().enumerate() {
        pos[t as usize] = k as u32;
    }
    let mut lo = vec![0u32; n];
    let mut hi = vec![0u32; n];
    // The frontier: completes[head..tail] (those completed, not removed).
    let mut head = 0usize;
    let mut ci = 0usize;
    let finish = |c: usize, k: u32, head: &mut usize, lo: &mut [u32], hi: &mut [u32]| {
        let t = completes[c];
        // Remove the members that completed before t was invoked: those
        // linked to t, a prefix.
        while *head < c && lo[completes[*head] as usize] <= pos[t as usize] {
            hi[completes[*head] as usize] = k;
            *head += 1;
        }
        lo[t as usize] = k;
    };
    for k in 0..=by_invoke.len() {
        // Completions strictly before the k-th invocation (equal times are
        // concurrent: no edge); after the last, all the rest.
        let at = by_invoke
            .get(k)
            .map_or(u64::MAX, |&t| txns[t as usize].invoke_time);
        while ci < completes.len()
            && (k == by_invoke.len() || txns[completes[ci] as usize].complete_time < at)
        {
            finish(ci, k as u32, &mut head, &mut lo, &mut hi);
            ci += 1;
        }
    }
    for &t in &completes[head..] {
        hi[t as usize] = by_invoke.len() as u32;
    }
    // A transaction completed before its own invocation (bad times) would
    // be linked to itself; cut such runs to exclude it.
    for t in 0..n {
        let p = pos[t];
        if lo[t] <= p && p < hi[t] {
            hi[t] = p;
        }
    }
    (by_invoke, lo, hi)
}

/// Partition → version order index: a table for the small non-negative
/// partition numbers histories have, a map otherwise. The first order of a
/// partition wins.
#[derive(Default)]
struct PartIndex {
    dense: Vec<u32>,
    sparse: FxHashMap<Partition, u32>,
}

impl PartIndex {
    const DENSE: i32 = 1 << 16;

    fn insert(&mut self, p: Partition, vi: u32) {
        if (0..Self::DENSE).contains(&p) {
            let p = p as usize;
            if self.dense.len() <= p {
                self.dense.resize(p + 1, u32::MAX);
            }
            if self.dense[p] == u32::MAX {
                self.dense[p] = vi;
            }
        } else {
            self.sparse.entry(p).or_insert(vi);
        }
    }

    #[inline]
    fn get(&self, p: Partition) -> Option<u32> {
        if (0..Self::DENSE).contains(&p) {
            self.dense
                .get(p as usize)
                .copied()
                .filter(|&v| v != u32::MAX)
        } else {
            self.sparse.get(&p).copied()
        }
    }
}
