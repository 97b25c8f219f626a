//! Transactions stuck half-completed (KAFKA-16352).
//!
//! The observer asks the brokers each `transactional.id`'s state
//! (DescribeTransactions; `Observation::transactions`). Once a producer
//! commits or aborts, its coordinator writes `PrepareCommit` /
//! `PrepareAbort`, sends the markers to the partition leaders and, when
//! every one is written, `CompleteCommit` / `CompleteAbort`. While a leader
//! is cut off or down the prepared state may last as long as the fault;
//! after every fault stopped, markers are written within a second or two.
//! A transaction still prepared [`STUCK_AFTER_NS`] after the last fault
//! stopped (and after it became prepared) is stuck: its producer can begin
//! no other transaction (the coordinator answers CONCURRENT_TRANSACTIONS)
//! and read_committed consumers wait at the last stable offset wherever its
//! markers are missing (`stuck-transaction`).
//!
//! A sample stands until the next one; an id a sample does not have
//! (nobody answered for it) ends its stretch, so a stretch is never
//! over-reported.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

const NS_PER_S: f64 = 1e9;

/// How long after the last fault stopped a transaction may stay prepared:
/// markers are written in milliseconds once the leaders are reachable;
/// brokers reconnect and a coordinator reloads its partitions within a few
/// seconds; 15 s leaves room for all of it.
pub const STUCK_AFTER_NS: u64 = 15_000_000_000;

/// The states that wait for markers.
fn prepared(state: &str) -> bool {
    matches!(state, "PrepareCommit" | "PrepareAbort")
}

/// One stretch of one `transactional.id` in a prepared state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Prepared {
    pub transactional_id: String,
    pub state: String,
    pub from_s: f64,
    pub to_s: f64,
    pub duration_s: f64,
    /// Still prepared at the end of the history.
    pub open: bool,
    /// Prepared for longer than [`STUCK_AFTER_NS`] after both its start
    /// and the last fault's stop.
    pub stuck: bool,
}

/// `checkers.effects.transactions` in results.json.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TransactionStates {
    /// Samples that held transaction states.
    pub samples: u64,
    /// Stretches in PrepareCommit/PrepareAbort that lasted 1 s or more
    /// (shorter ones are every commit's normal course).
    pub prepared: Vec<Prepared>,
    /// The longest prepared stretch (s).
    pub longest_s: f64,
    /// Stretches judged stuck.
    pub stuck: u64,
}

/// Prepared stretches shorter than this are not listed.
const LISTED_NS: u64 = 1_000_000_000;

/// Stretches of `samples` (time-ordered: time in ns, id → state); the
/// last sample stands until `end_ns`; `last_stop_ns` is when the last
/// fault stopped (0 without faults).
pub fn analyse(
    samples: &[(u64, BTreeMap<String, String>)],
    last_stop_ns: u64,
    end_ns: u64,
) -> TransactionStates {
    let mut out = TransactionStates {
        samples: samples.len() as u64,
        ..Default::default()
    };
    // id → (start, state) of the stretch under way.
    let mut open: BTreeMap<&str, (u64, &str)> = BTreeMap::new();
    let mut all: Vec<Prepared> = Vec::new();
    let close = |id: &str, from: u64, state: &str, to: u64, is_open: bool| {
        let to = to.max(from);
        let after = to.saturating_sub(from.max(last_stop_ns));
        Prepared {
            transactional_id: id.to_string(),
            state: state.to_string(),
            from_s: from as f64 / NS_PER_S,
            to_s: to as f64 / NS_PER_S,
            duration_s: (to - from) as f64 / NS_PER_S,
            open: is_open,
            stuck: after > STUCK_AFTER_NS,
        }
    };
    for (t, states) in samples {
        // Stretches that end here: the id left a prepared state, changed
        // from one to the other, or is not in the sample.
        let ended: Vec<&str> = open
            .iter()
            .filter(|(id, (_, st))| states.get(**id).map(String::as_str) != Some(*st))
            .map(|(id, _)| *id)
            .collect();
        for id in ended {
            let (from, st) = open.remove(id).expect("listed");
            all.push(close(id, from, st, *t, false));
        }
        for (id, st) in states {
            if prepared(st) {
                open.entry(id.as_str()).or_insert((*t, st.as_str()));
            }
        }
    }
    for (id, (from, st)) in open {
        all.push(close(id, from, st, end_ns, true));
    }
    all.retain(|p| p.duration_s * NS_PER_S >= LISTED_NS as f64 || p.stuck);
    all.sort_by(|a, b| a.from_s.total_cmp(&b.from_s));
    out.longest_s = all.iter().map(|p| p.duration_s).fold(0.0, f64::max);
    out.stuck = all.iter().filter(|p| p.stuck).count() as u64;
    out.prepared = all;
    out
}

/// `transactions: kt-txn-0 stuck in PrepareCommit 95.0 s (until the end)`.
pub fn summary(t: &TransactionStates) -> Option<String> {
    let p = t
        .prepared
        .iter()
        .filter(|p| p.stuck)
        .max_by(|a, b| a.duration_s.total_cmp(&b.duration_s))?;
    Some(format!(
        "{} transaction(s) stuck; {} in {} for {:.1} s{}",
        t.stuck,
        p.transactional_id,
        p.state,
        p.duration_s,
        if p.open { " (until the end)" } else { "" }
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const S: u64 = 1_000_000_000;

    fn states(v: &[(&str, &str)]) -> BTreeMap<String, String> {
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn a_transaction_prepared_long_after_the_heal_is_stuck() {
        let s = vec![
            (S, states(&[("t0", "Ongoing"), ("t1", "Ongoing")])),
            (
                10 * S,
                states(&[("t0", "PrepareCommit"), ("t1", "Ongoing")]),
            ),
            (
                12 * S,
                states(&[("t0", "PrepareCommit"), ("t1", "PrepareAbort")]),
            ),
            (
                14 * S,
                states(&[("t0", "PrepareCommit"), ("t1", "CompleteAbort")]),
            ),
        ];
        // The fault stopped at 20 s; the history ends at 80 s.
        let t = analyse(&s, 20 * S, 80 * S);
        assert_eq!(t.prepared.len(), 2);
        let t0 = t
            .prepared
            .iter()
            .find(|p| p.transactional_id == "t0")
            .unwrap();
        assert!(t0.stuck && t0.open);
        assert_eq!(t0.duration_s, 70.0);
        let t1 = t
            .prepared
            .iter()
            .find(|p| p.transactional_id == "t1")
            .unwrap();
        assert!(!t1.stuck && !t1.open);
        assert_eq!(t.stuck, 1);
        assert!(summary(&t)
            .unwrap()
            .contains("t0 in PrepareCommit for 70.0 s"));
        // The same, but the history ends 10 s after the heal: not judged.
        let t = analyse(&s, 20 * S, 30 * S);
        assert_eq!(t.stuck, 0);
        assert!(summary(&t).is_none());
        // Completed 5 s after the heal: fine.
        let mut done = s.clone();
        done.push((25 * S, states(&[("t0", "CompleteCommit")])));
        assert_eq!(analyse(&done, 20 * S, 80 * S).stuck, 0);
    }

    fn run() -> impl Strategy<Value = Vec<(u64, Vec<u8>)>> {
        // Per sample: the state of t0..t2 (0 Ongoing, 1 PrepareCommit,
        // 2 CompleteCommit, 3 absent).
        prop::collection::vec((1u64..20, prop::collection::vec(0u8..4, 3)), 0..40).prop_map(|v| {
            let mut t = 0;
            v.into_iter()
                .map(|(dt, st)| {
                    t += dt * S / 2;
                    (t, st)
                })
                .collect()
        })
    }

    fn to_samples(r: &[(u64, Vec<u8>)]) -> Vec<(u64, BTreeMap<String, String>)> {
        r.iter()
            .map(|(t, st)| {
                let m = st
                    .iter()
                    .enumerate()
                    .filter_map(|(i, s)| {
                        let name = match s {
                            0 => "Ongoing",
                            1 => "PrepareCommit",
                            2 => "CompleteCommit",
                            _ => return None,
                        };
                        Some((format!("t{i}"), name.to_string()))
                    })
                    .collect();
                (*t, m)
            })
            .collect()
    }

    proptest! {
        /// The stretches' total equals the brute-force prepared time (per
        /// id, over the sample intervals), counting stretches of 1 s or more.
        #[test]
        fn stretches_are_exact(r in run(), tail in 0u64..40) {
            let end = r.last().map_or(0, |x| x.0) + tail * S;
            let t = analyse(&to_samples(&r), 0, end);
            for i in 0..3usize {
                let id = format!("t{i}");
                // brute force: runs of consecutive prepared samples
                let mut runs = vec![];
                let mut cur: Option<u64> = None;
                for (k, (ts, st)) in r.iter().enumerate() {
                    let _ = k;
                    match (st[i] == 1, cur) {
                        (true, None) => cur = Some(*ts),
                        (false, Some(from)) => { runs.push(ts - from); cur = None; }
                        _ => {}
                    }
                }
                if let Some(from) = cur { runs.push(end - from); }
                let want: u64 = runs.iter().filter(|d| **d >= S).sum();
                let got: f64 = t.prepared.iter().filter(|p| p.transactional_id == id)
                    .map(|p| p.duration_s).sum();
                prop_assert!((got - want as f64 / NS_PER_S).abs() < 1e-6, "{id}: {got} vs {want}");
            }
        }

        /// Both ways: a run whose prepared stretches all end within 15 s of
        /// the later of their start and the last fault's stop is never
        /// judged stuck; one prepared from before the stop to 16 s or more
        /// after it always is.
        #[test]
        fn judged_both_ways(r in run(), extra in 16u64..100) {
            // Clip every prepared stretch (to under 14 s with the gap to the
            // next sample): not stuck.
            let mut clipped = r.clone();
            for i in 0..3usize {
                let mut from: Option<u64> = None;
                for (ts, st) in clipped.iter_mut() {
                    if st[i] == 1 {
                        let f = *from.get_or_insert(*ts);
                        if *ts - f > 4 * S { st[i] = 2; from = None; }
                    } else {
                        from = None;
                    }
                }
            }
            let mut samples = to_samples(&clipped);
            let end = samples.last().map_or(0, |x| x.0) + 5 * S;
            // End every stretch still open before the end.
            samples.push((end, BTreeMap::new()));
            let t = analyse(&samples, 0, end);
            prop_assert_eq!(t.stuck, 0);
            // A stuck one: prepared at the stop (end), still at end + extra.
            let stop = end;
            let mut s = samples.clone();
            s.push((stop + S, states(&[("stuck", "PrepareAbort")])));
            let t = analyse(&s, stop, stop + S + extra * S);
            prop_assert_eq!(t.stuck, 1);
            prop_assert!(t.prepared.iter().any(|p| p.stuck && p.transactional_id == "stuck"));
        }
    }
}
