//! The first, straightforward WGL search, kept as the reference the fast
//! search ([`super::wgl`]) is tested against (same verdicts on generated
//! histories, `tests/linear_fast.rs`). Not used by `check`.
//!
//! The Wing–Gong / Lowe search ("WGL"): walk the history's call and return
//! events in real-time order; at a call, try to linearize the op now (the
//! model accepts it from the current state) and restart from the front;
//! at the return of an op not yet linearized, undo the last choice. A cache
//! of (set of linearized ops, model state) prunes configurations already
//! explored: Lowe's memoisation, which makes the search practical.
//!
//! Ops whose outcome is unknown (`info`, or never completed) have no
//! return event: they may be linearized at any point after their call, or
//! never, so the search succeeds once every *completed* op is linearized.

use super::wgl::{Outcome, SearchStats};
use super::{Call, Model};
use crate::hash::FxHashSet;
use std::hash::Hash;
use std::time::Instant;

#[derive(Clone, Copy)]
struct Entry {
    op: usize,
    is_call: bool,
    /// For a call: its return entry (NONE if it never returns).
    ret: usize,
}

const NONE: usize = usize::MAX;

struct Bits(Vec<u64>);

impl Bits {
    fn set(&mut self, i: usize) {
        self.0[i / 64] |= 1 << (i % 64);
    }
    fn clear(&mut self, i: usize) {
        self.0[i / 64] &= !(1 << (i % 64));
    }
}

/// Search for a linearization of `calls` (one partition).
pub fn search<M: Model>(
    model: &M,
    calls: &[Call<M::Input, M::Output>],
    deadline: Instant,
    max_cache: usize,
    stats: &mut SearchStats,
) -> Outcome<M::State>
where
    M::State: Hash + Eq + Clone,
{
    // Events in real-time order: (position, is_return, op).
    let mut ev: Vec<(u64, bool, usize)> = Vec::with_capacity(calls.len() * 2);
    for (i, c) in calls.iter().enumerate() {
        ev.push((c.invoke, false, i));
        if let Some(r) = c.complete {
            ev.push((r, true, i));
        }
    }
    // At equal positions returns go after calls would be wrong: positions
    // are distinct history indices, so ties do not happen; keep it stable.
    ev.sort_by_key(|e| (e.0, e.1));
    let n = ev.len();
    let mut entries: Vec<Entry> = Vec::with_capacity(n);
    let mut call_entry = vec![NONE; calls.len()];
    for &(_, is_ret, op) in &ev {
        let idx = entries.len();
        if is_ret {
            let ce = call_entry[op];
            entries[ce].ret = idx;
        } else {
            call_entry[op] = idx;
        }
        entries.push(Entry {
            op,
            is_call: !is_ret,
            ret: NONE,
        });
    }
    // Doubly linked list over entries with a head sentinel at index n.
    let head = n;
    let mut next: Vec<usize> = (1..=n + 1).collect();
    let mut prev: Vec<usize> = Vec::with_capacity(n + 1);
    for i in 0..n {
        prev.push(if i == 0 { head } else { i - 1 });
    }
    prev.push(NONE);
    if n > 0 {
        next[n - 1] = NONE;
    }
    next[head] = if n > 0 { 0 } else { NONE };

    let unlink = |i: usize, next: &mut Vec<usize>, prev: &mut Vec<usize>| {
        let (p, nx) = (prev[i], next[i]);
        next[p] = nx;
        if nx != NONE {
            prev[nx] = p;
        }
    };
    let relink = |i: usize, next: &mut Vec<usize>, prev: &mut Vec<usize>| {
        let (p, nx) = (prev[i], next[i]);
        next[p] = i;
        if nx != NONE {
            prev[nx] = i;
        }
    };

    let required = calls.iter().filter(|c| c.complete.is_some()).count();
    let mut done = 0usize;
    let mut bits = Bits(vec![0u64; calls.len().div_ceil(64).max(1)]);
    let mut cache: FxHashSet<(Box<[u64]>, M::State)> = FxHashSet::default();
    let mut state = model.init();
    let mut stack: Vec<(usize, M::State)> = Vec::new();
    let mut best: Option<(Vec<usize>, M::State, usize)> = None;
    let mut entry = next[head];
    let mut iter = 0u64;
    loop {
        if done == required {
            stats.cache_entries += cache.len() as u64;
            return Outcome::Linearizable;
        }
        iter += 1;
        stats.explored += 1;
        if iter.is_multiple_of(4096) {
            if Instant::now() >= deadline {
                stats.cache_entries += cache.len() as u64;
                return Outcome::GaveUp(format!(
                    "time limit reached after exploring {} configurations ({} of {} ops \
                     linearized at best)",
                    stats.explored,
                    best.as_ref()
                        .map_or(stack.len(), |b| b.0.len().max(stack.len())),
                    calls.len()
                ));
            }
            if cache.len() > max_cache {
                stats.cache_entries += cache.len() as u64;
                return Outcome::GaveUp(format!(
                    "memory cap reached: {} cached configurations",
                    cache.len()
                ));
            }
        }
        let is_call = entry != NONE && entries[entry].is_call;
        if is_call {
            let e = entries[entry];
            let c = &calls[e.op];
            if let Some(s2) = model.step(&state, &c.input, c.output.as_ref()) {
                bits.set(e.op);
                if cache.insert((bits.0.clone().into_boxed_slice(), s2.clone())) {
                    let old = std::mem::replace(&mut state, s2);
                    stack.push((entry, old));
                    unlink(entry, &mut next, &mut prev);
                    if e.ret != NONE {
                        unlink(e.ret, &mut next, &mut prev);
                        done += 1;
                    }
                    entry = next[head];
                    continue;
                }
                bits.clear(e.op);
            }
            entry = next[entry];
            continue;
        }
        // A return of an op not linearized yet (or the end of the list):
        // the last choice was wrong.
        if best.as_ref().is_none_or(|b| stack.len() > b.0.len()) {
            let blocked = if entry == NONE {
                // Cannot happen with all required ops pending before the
                // end, but be safe: name the first pending required op.
                (0..calls.len())
                    .find(|&i| calls[i].complete.is_some() && bits.0[i / 64] & (1 << (i % 64)) == 0)
                    .unwrap_or(0)
            } else {
                entries[entry].op
            };
            best = Some((
                stack.iter().map(|(e, _)| entries[*e].op).collect(),
                state.clone(),
                blocked,
            ));
        }
        let Some((e, old)) = stack.pop() else {
            stats.cache_entries += cache.len() as u64;
            let (prefix, state, blocked) = best.unwrap_or((Vec::new(), model.init(), 0));
            return Outcome::NotLinearizable {
                prefix,
                state,
                blocked,
            };
        };
        let en = entries[e];
        state = old;
        bits.clear(en.op);
        if en.ret != NONE {
            relink(en.ret, &mut next, &mut prev);
            done -= 1;
        }
        relink(e, &mut next, &mut prev);
        entry = next[e];
    }
}
