//! Candidate gaps, compactly: each distinct hole `(partition, from, to)`
//! once, each occurrence (a consumer or a transaction that skipped it) in
//! 16 bytes. A transactional history's consumers all skip the offsets of
//! every aborted transaction, and every skip must be kept until the end
//! (a gap counts only if some read returned a record inside it): 3.5 M
//! occurrences of 0.49 M holes at 1 M ops, which the former 48-byte `Gap`
//! per occurrence made half of the check's peak.
//!
//! Holes are deduplicated through a direct-mapped cache of recent holes
//! (lossy: a hole evicted from it and skipped again is stored twice, which
//! costs 24 bytes and changes no verdict, since each copy is decided the
//! same way). Occurrences keep push order, so the end counts and
//! exemplifies them exactly as a list of whole gaps did. An occurrence
//! whose numbers do not fit the compact form (op indices ≥ 2^32, more than
//! 2^30 processes) is kept whole in `wide`, in its place in that order.

use super::{Anomaly, Offset, Partition, ProcKey};
use crate::hash::FxHashMap;

/// One candidate gap as the checks found it.
#[derive(Clone, Copy, Debug)]
pub(super) struct Gap {
    pub class: Anomaly,
    pub partition: Partition,
    pub from: Offset,
    pub to: Offset,
    pub ops: [u64; 2],
    pub process: ProcKey,
}

/// The classes a gap can have, by their 2-bit code.
const CLASSES: [Anomaly; 3] = [
    Anomaly::PollSkip,
    Anomaly::IntPollSkip,
    Anomaly::IntSendSkip,
];

/// `Occ::hole` of an occurrence kept whole in `GapStore::wide`.
const WIDE: u32 = u32::MAX;

/// Slots of the recent-holes cache (a power of two; 24 bytes each, 768
/// KiB: it stays in the CPU's cache, which a table of hole ids pointing
/// into `holes` did not: that cost a quarter of a transactional check's
/// CPU in cache misses).
const CACHE_SLOTS: usize = 1 << 15;

/// A cache slot: a hole with its id (`id` 0: empty; else id + 1).
#[derive(Clone, Copy, Default)]
struct Slot {
    from: Offset,
    to: Offset,
    partition: Partition,
    id: u32,
}

#[derive(Clone, Copy)]
struct Hole {
    from: Offset,
    to: Offset,
    partition: Partition,
}

/// One occurrence: its hole, its later op, how far back its earlier op is,
/// and its class (top 2 bits) with its process's index (low 30 bits).
/// For `WIDE`: `op` and `back` are the low and high halves of the index
/// into `wide`.
#[derive(Clone, Copy)]
struct Occ {
    hole: u32,
    op: u32,
    back: u32,
    who: u32,
}

#[derive(Default)]
pub(super) struct GapStore {
    holes: Vec<Hole>,
    occs: Vec<Occ>,
    wide: Vec<Gap>,
    /// Process index → key, and back.
    procs: Vec<ProcKey>,
    proc_ix: FxHashMap<ProcKey, u32>,
    /// hash(partition, from, to) → a recent hole.
    cache: Vec<Slot>,
}

fn slot(p: Partition, from: Offset, to: Offset) -> usize {
    let mut h = (p as u32 as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    h = (h ^ from as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    h = (h ^ to as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (h >> 40) as usize & (CACHE_SLOTS - 1)
}

impl GapStore {
    pub(super) fn push(&mut self, g: Gap) {
        let code = CLASSES.iter().position(|c| *c == g.class);
        let pix = self.proc_index(g.process);
        let op = u32::try_from(g.ops[1]).ok();
        let back = g.ops[1]
            .checked_sub(g.ops[0])
            .and_then(|b| u32::try_from(b).ok());
        match (code, pix, op, back) {
            (Some(code), Some(pix), Some(op), Some(back))
                if self.holes.len() < WIDE as usize - 1 =>
            {
                let hole = self.hole(g.partition, g.from, g.to);
                self.occs.push(Occ {
                    hole,
                    op,
                    back,
                    who: (code as u32) << 30 | pix,
                });
            }
            _ => {
                let i = self.wide.len() as u64;
                self.wide.push(g);
                self.occs.push(Occ {
                    hole: WIDE,
                    op: i as u32,
                    back: (i >> 32) as u32,
                    who: 0,
                });
            }
        }
    }

    /// The process's index, if it fits in 30 bits.
    fn proc_index(&mut self, p: ProcKey) -> Option<u32> {
        if let Some(&i) = self.proc_ix.get(&p) {
            return Some(i);
        }
        let i = u32::try_from(self.procs.len())
            .ok()
            .filter(|i| *i < 1 << 30)?;
        self.procs.push(p);
        self.proc_ix.insert(p, i);
        Some(i)
    }

    fn hole(&mut self, partition: Partition, from: Offset, to: Offset) -> u32 {
        if self.cache.is_empty() {
            self.cache = vec![Slot::default(); CACHE_SLOTS];
        }
        let c = &mut self.cache[slot(partition, from, to)];
        if c.id != 0 && (c.partition, c.from, c.to) == (partition, from, to) {
            return c.id - 1;
        }
        let id = self.holes.len() as u32;
        self.holes.push(Hole {
            from,
            to,
            partition,
        });
        *c = Slot {
            from,
            to,
            partition,
            id: id + 1,
        };
        id
    }

    /// The distinct holes stored (for tests and figures).
    #[cfg(test)]
    pub(super) fn holes(&self) -> usize {
        self.holes.len()
    }

    /// Every gap in push order, with what `decide` said of its hole
    /// (called once per stored hole, lazily).
    pub(super) fn drain<T: Copy>(
        self,
        mut decide: impl FnMut(Partition, Offset, Offset) -> Option<T>,
        mut each: impl FnMut(&Gap, T),
    ) {
        let GapStore {
            holes,
            occs,
            wide,
            procs,
            ..
        } = self;
        // 0: not decided yet; 1: no; 2: yes (its answer in `answers`).
        let mut state: Vec<u8> = vec![0; holes.len()];
        let mut answers: FxHashMap<u32, T> = FxHashMap::default();
        for o in occs {
            if o.hole == WIDE {
                let g = &wide[(o.op as u64 | (o.back as u64) << 32) as usize];
                if let Some(t) = decide(g.partition, g.from, g.to) {
                    each(g, t);
                }
                continue;
            }
            let h = holes[o.hole as usize];
            let st = &mut state[o.hole as usize];
            if *st == 0 {
                *st = match decide(h.partition, h.from, h.to) {
                    Some(t) => {
                        answers.insert(o.hole, t);
                        2
                    }
                    None => 1,
                };
            }
            if *st == 2 {
                let op = o.op as u64;
                let g = Gap {
                    class: CLASSES[(o.who >> 30) as usize],
                    partition: h.partition,
                    from: h.from,
                    to: h.to,
                    ops: [op - o.back as u64, op],
                    process: procs[(o.who & ((1 << 30) - 1)) as usize],
                };
                each(&g, answers[&o.hole]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn gap() -> impl Strategy<Value = Gap> {
        (
            0..3usize,
            0..3i32,
            0..6i64,
            1..4i64,
            prop_oneof![0..50u64, (u32::MAX as u64 - 2)..(u32::MAX as u64 + 3)],
            0..60u64,
            prop_oneof![0..4u64, Just(u64::MAX), Just((1 << 63) + 1)],
        )
            .prop_map(|(c, partition, from, len, op, back, process)| Gap {
                class: CLASSES[c],
                partition,
                from,
                to: from + len,
                ops: [op.saturating_sub(back), op],
                process,
            })
    }

    proptest! {
        /// The store gives back every gap in push order, each with its
        /// hole's decision, and decides each stored hole once.
        #[test]
        fn gives_back_every_gap_in_order(gaps in prop::collection::vec(gap(), 0..200)) {
            let mut s = GapStore::default();
            for g in &gaps {
                s.push(*g);
            }
            let holes = s.holes();
            let distinct: std::collections::BTreeSet<_> =
                gaps.iter().map(|g| (g.partition, g.from, g.to)).collect();
            prop_assert!(holes <= distinct.len());
            let mut decided = 0;
            let mut out = Vec::new();
            s.drain(
                |p, f, t| {
                    decided += 1;
                    (f % 2 == 0).then_some((p, f, t))
                },
                |g, d| out.push((*g, d)),
            );
            let want: Vec<_> = gaps.iter().filter(|g| g.from % 2 == 0).collect();
            prop_assert_eq!(out.len(), want.len());
            for ((g, d), w) in out.iter().zip(want) {
                prop_assert_eq!(
                    (g.class, g.partition, g.from, g.to, g.ops, g.process),
                    (w.class, w.partition, w.from, w.to, w.ops, w.process)
                );
                prop_assert_eq!(*d, (w.partition, w.from, w.to));
            }
            // Each stored hole at most once, plus each wide occurrence.
            prop_assert!(decided <= distinct.len() + gaps.len());
        }
    }
}
