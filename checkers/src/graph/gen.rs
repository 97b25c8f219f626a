//! Generated graph inputs, for the property tests and the benchmark: a
//! serial execution (transactions applied one at a time in a random order,
//! each reading the latest version of the partitions it reads and appending
//! its writes), whose graph must be acyclic, and mutations of it that must
//! produce a given class.

use super::{Input, LastRead, TxnNode, VersionOrder};
use crate::generate::Rng;

#[derive(Debug, Clone)]
pub struct SerialConfig {
    pub seed: u64,
    pub txns: usize,
    pub partitions: usize,
    pub processes: u64,
    /// Micro-ops per transaction: 1..=max_ops.
    pub max_ops: u64,
    /// Longest transaction, in ticks of 10 ns between invocations (so about
    /// `overlap / 10` transactions run concurrently).
    pub overlap: u64,
    pub process_edges: bool,
    pub realtime_edges: bool,
}

/// Time before the first invocation (room to move a transaction before
/// every other one).
pub const T0: u64 = 1000;

/// A serial execution. Transaction `k` is the `k`-th applied; it is invoked
/// at `T0 + 10k` plus a little and completes at most `overlap` later, so
/// real time never contradicts the serial order; op indices follow
/// invocation order, and after each transaction every partition it wrote
/// skips one offset (its commit marker, as in Kafka).
pub fn serial(cfg: &SerialConfig) -> Input {
    let mut rng = Rng::new(cfg.seed);
    let parts = cfg.partitions.max(1);
    let mut versions: Vec<VersionOrder> = (0..parts)
        .map(|p| VersionOrder {
            partition: p as i32,
            versions: Vec::new(),
        })
        .collect();
    let mut next_offset = vec![0i64; parts];
    let mut txns = Vec::with_capacity(cfg.txns);
    let mut reads = Vec::new();
    let mut value = 0u64;
    let mut last_read: Vec<Option<usize>> = vec![None; parts];
    let mut wrote = vec![false; parts];
    for k in 0..cfg.txns {
        let t = k as u32;
        let ops = 1 + rng.below(cfg.max_ops.max(1));
        last_read.iter_mut().for_each(|x| *x = None);
        wrote.iter_mut().for_each(|x| *x = false);
        for _ in 0..ops {
            let p = rng.below(parts as u64) as usize;
            if rng.pct(50) {
                value += 1;
                versions[p].versions.push((next_offset[p], value, t));
                next_offset[p] += 1;
                wrote[p] = true;
            } else if let Some(&(o, v, _)) = versions[p].versions.last() {
                let r = LastRead {
                    txn: t,
                    partition: p as i32,
                    offset: o,
                    value: v,
                };
                match last_read[p] {
                    Some(i) => reads[i] = r,
                    None => {
                        last_read[p] = Some(reads.len());
                        reads.push(r);
                    }
                }
            }
        }
        for p in 0..parts {
            if wrote[p] {
                next_offset[p] += 1;
            }
        }
        let invoke = T0 + 10 * k as u64 + rng.below(5);
        let complete = invoke + 1 + rng.below(cfg.overlap.max(1));
        txns.push(TxnNode {
            op: 4 * (k as u64 + 1),
            complete_op: 4 * (k as u64 + 1) + 1 + 4 * (complete - invoke) / 10,
            process: rng.below(cfg.processes.max(1)),
            invoke_time: invoke,
            complete_time: complete,
            acknowledged: true,
        });
    }
    Input {
        txns,
        versions,
        reads,
        process_edges: cfg.process_edges,
        realtime_edges: cfg.realtime_edges,
    }
}

/// Inject a write-write cycle: two transactions A (first) and B that both
/// wrote partitions p and q; in p, A's first version and B's last version
/// trade places, so p orders B before A while q still orders A before B.
/// None if no such pair exists.
pub fn swap_writers(input: &mut Input, from: u32) -> Option<(u32, u32)> {
    let n = input.txns.len();
    // For each transaction, the partitions it wrote.
    let mut wrote: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (vi, vo) in input.versions.iter().enumerate() {
        for &(_, _, w) in &vo.versions {
            let l = &mut wrote[w as usize];
            if l.last() != Some(&vi) {
                l.push(vi);
            }
        }
    }
    for a in from as usize..n {
        if wrote[a].len() < 2 {
            continue;
        }
        for b in a + 1..n {
            let common: Vec<usize> = wrote[a]
                .iter()
                .copied()
                .filter(|p| wrote[b].contains(p))
                .collect();
            if common.len() < 2 {
                continue;
            }
            let vs = &mut input.versions[common[0]].versions;
            let i = vs.iter().position(|v| v.2 == a as u32)?;
            let j = vs.iter().rposition(|v| v.2 == b as u32)?;
            let (vi, vj) = (vs[i], vs[j]);
            vs[i] = (vi.0, vj.1, vj.2);
            vs[j] = (vj.0, vi.1, vi.2);
            // Reads of the swapped offsets now return the other value.
            let p = input.versions[common[0]].partition;
            for r in &mut input.reads {
                if r.partition == p && r.offset == vi.0 {
                    r.value = vj.1;
                } else if r.partition == p && r.offset == vj.0 {
                    r.value = vi.1;
                }
            }
            return Some((a as u32, b as u32));
        }
    }
    None
}

/// Inject a stale read: a transaction R whose last read of p returned W's
/// version (W another transaction, that also wrote a partition q before R's
/// last read of q) now returns the version before it. R then did not
/// observe W, yet depends on W through q: one rw edge closes a cycle.
/// Returns (R, W).
pub fn stale_read(input: &mut Input, from: u32) -> Option<(u32, u32)> {
    let pos = |input: &Input, p: i32, o: i64| -> Option<(usize, usize)> {
        let vi = input.versions.iter().position(|vo| vo.partition == p)?;
        let j = input.versions[vi].versions.iter().position(|v| v.0 == o)?;
        Some((vi, j))
    };
    for ri in 0..input.reads.len() {
        let r = input.reads[ri];
        if r.txn < from {
            continue;
        }
        let Some((vi, j)) = pos(input, r.partition, r.offset) else {
            continue;
        };
        let w = input.versions[vi].versions[j].2;
        // The start of W's run of records that ends at j: the stale read
        // must end before it (a read ending inside the run is a prefix of
        // W's records, not a missed version).
        let mut j = j;
        while j > 0 && input.versions[vi].versions[j - 1].2 == w {
            j -= 1;
        }
        if j == 0 || w == r.txn {
            continue;
        }
        // Another read of R, of a partition where W wrote at or before it.
        let linked = input.reads.iter().any(|q| {
            q.txn == r.txn && q.partition != r.partition && {
                input.versions.iter().any(|vo| {
                    vo.partition == q.partition
                        && vo.versions.iter().any(|v| v.2 == w && v.0 <= q.offset)
                })
            }
        });
        if !linked {
            continue;
        }
        let (o, v, _) = input.versions[vi].versions[j - 1];
        input.reads[ri].offset = o;
        input.reads[ri].value = v;
        return Some((r.txn, w));
    }
    None
}

/// Inject a real-time inversion: of two transactions A (first) and B that
/// wrote one partition in turn, B now runs (invocation and completion) just
/// before A is invoked, so real time orders B before A while the partition
/// orders A before B. Returns (A, B).
pub fn realtime_inversion(input: &mut Input, from: u32) -> Option<(u32, u32)> {
    for vo in &input.versions {
        let vs = &vo.versions;
        if let Some(w) = vs.windows(2).find(|w| w[0].2 >= from && w[0].2 < w[1].2) {
            let (a, b) = (w[0].2, w[1].2);
            let at = input.txns[a as usize].invoke_time;
            // Alone in a process of its own, so that process order does not
            // also invert (which would make the cycle `-process`).
            let x = &mut input.txns[b as usize];
            x.process = u64::MAX;
            x.invoke_time = at - 2;
            x.complete_time = at - 1;
            return Some((a, b));
        }
    }
    None
}
