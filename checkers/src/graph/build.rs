//! The dependency graph as one CSR: edges collected into a flat list, then
//! bucketed by source with a counting sort (no per-edge allocation, no
//! per-node `Vec`).

use super::{Input, Rel, TxnId};
use crate::hash::FxHashMap;
use std::borrow::Cow;
use trial_histories::values::{Offset, Partition};

/// One version: (offset, value, writer).
pub(crate) type Version = (Offset, u64, TxnId);

/// The graph. Edge `e` (in `off[v]..off[v + 1]` for its source `v`) goes
/// to `to[e]`, has kind `kind[e]` (a [`Rel`] as u8) and provenance `a[e]`,
/// `b[e]`:
///
/// - ww: `a` = version order index, `b` = position of the source's version
///   (the target's is `b + 1`);
/// - wr: `a` = read index, `b` = position of the version read;
/// - rw: `a` = read index, `b` = position of the next version (written by
///   the target);
/// - process, realtime: unused.
pub(crate) struct Graph<'a> {
    pub n: usize,
    pub off: Vec<u32>,
    pub to: Vec<u32>,
    pub kind: Vec<u8>,
    pub a: Vec<u32>,
    pub b: Vec<u32>,
    /// Edges per kind, in [`Rel`] order.
    pub counts: [u64; 5],
    /// Each version order, sorted by offset (borrowed when the caller's
    /// already was).
    pub orders: Vec<Cow<'a, [Version]>>,
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
        let mut edges: Vec<Edge> = Vec::with_capacity(n * 4);
        let mut part_index: FxHashMap<Partition, u32> = FxHashMap::default();

        // ww: consecutive writers in each partition's version order.
        for (vi, vs) in orders.iter().enumerate() {
            part_index
                .entry(input.versions[vi].partition)
                .or_insert(vi as u32);
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
            let Some(&vi) = part_index.get(&r.partition) else {
                continue; // nothing committed was written there: no edge
            };
            let vs = &orders[vi as usize];
            // First version with offset >= the read's.
            let pos = vs.partition_point(|v| v.0 < r.offset);
            let next = if pos < vs.len() && vs[pos].0 == r.offset {
                let w = vs[pos].2;
                if w != r.txn {
                    edges.push(Edge {
                        from: w,
                        to: r.txn,
                        a: ri as u32,
                        b: pos as u32,
                        kind: Rel::Wr as u8,
                    });
                }
                pos + 1
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

        if input.process_edges {
            let mut order: Vec<u32> = (0..n as u32).collect();
            order.sort_unstable_by_key(|&t| {
                let x = &input.txns[t as usize];
                (x.process, x.op)
            });
            for w in order.windows(2) {
                let (x, y) = (&input.txns[w[0] as usize], &input.txns[w[1] as usize]);
                if x.process == y.process {
                    edges.push(Edge {
                        from: w[0],
                        to: w[1],
                        a: 0,
                        b: 0,
                        kind: Rel::Process as u8,
                    });
                }
            }
        }

        if input.realtime_edges {
            realtime(input, &mut edges);
        }

        let mut counts = [0u64; 5];
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
            counts,
            orders,
        }
    }

    /// The edges leaving `v`, as indices.
    #[inline]
    pub fn out(&self, v: u32) -> std::ops::Range<usize> {
        self.off[v as usize] as usize..self.off[v as usize + 1] as usize
    }
}

/// Realtime edges, Elle's way: walk invocations and completions in time
/// order, keeping the frontier (completed transactions that no completed
/// transaction is yet known to follow). An invocation is linked from every
/// frontier member; a completion removes from the frontier the members its
/// own invocation was linked from (they now reach later transactions through
/// it) and joins it. The transitive closure is exactly "T1 completed before
/// T2 was invoked"; the edge count is about the concurrency per transaction.
fn realtime(input: &Input, edges: &mut Vec<Edge>) {
    let n = input.txns.len();
    let mut invokes: Vec<u32> = (0..n as u32).collect();
    invokes.sort_unstable_by_key(|&t| input.txns[t as usize].invoke_time);
    let mut completes: Vec<u32> = (0..n as u32)
        .filter(|&t| input.txns[t as usize].complete_time != u64::MAX)
        .collect();
    completes.sort_unstable_by_key(|&t| input.txns[t as usize].complete_time);
    // Where each transaction's incoming realtime edges start in `edges`
    // (they are pushed together, at its invocation).
    let mut preds: Vec<(u32, u32)> = vec![(0, 0); n];
    let mut frontier: Vec<u32> = Vec::new();
    let mut in_frontier = vec![false; n];
    let mut dead = 0usize;
    let mut ci = 0usize;
    for &t in &invokes {
        let at = input.txns[t as usize].invoke_time;
        // Completions strictly before this invocation (equal times are
        // concurrent: no edge).
        while ci < completes.len() && input.txns[completes[ci] as usize].complete_time < at {
            let c = completes[ci];
            ci += 1;
            let (s, len) = preds[c as usize];
            for e in &edges[s as usize..(s + len) as usize] {
                if in_frontier[e.from as usize] {
                    in_frontier[e.from as usize] = false;
                    dead += 1;
                }
            }
            in_frontier[c as usize] = true;
            frontier.push(c);
        }
        if dead > 0 {
            frontier.retain(|&x| in_frontier[x as usize]);
            dead = 0;
        }
        let start = edges.len() as u32;
        for &p in &frontier {
            if p == t {
                continue; // only if a completion precedes its invocation
            }
            edges.push(Edge {
                from: p,
                to: t,
                a: 0,
                b: 0,
                kind: Rel::Realtime as u8,
            });
        }
        preds[t as usize] = (start, edges.len() as u32 - start);
    }
}
