//! Two KRaft controllers that both believe they lead (KAFKA-15489).
//!
//! The observer asks every controller DescribeQuorum on its own listener;
//! a voter answers only while it is the quorum's leader (naming itself and
//! its epoch) and refuses otherwise, so each sample holds each voter's own
//! belief (`Observation::voters`). A sample stands until the next one (the
//! observer writes a sample only when something changed).
//!
//! Raft lets an old leader believe it leads for a while after a newer one
//! was elected at a higher epoch: it has not heard yet. KIP-595 bounds that
//! while: a leader that receives no Fetch from a majority of the voters for
//! `controller.quorum.fetch.timeout.ms` resigns (1.5 × that since the fix of
//! KAFKA-15489, Kafka 3.7.0; before it, never). So:
//!
//! - two voters leading in the **same** epoch breaks Raft's election safety:
//!   always an anomaly (`controller-same-epoch`);
//! - two voters leading in different epochs for longer than
//!   [`SPLIT_BRAIN_BOUND_NS`] is a leader that did not resign
//!   (`controller-split-brain`), the bug of KAFKA-15489;
//! - shorter overlaps are reported with their durations and judged fine.
//!
//! A voter the observer could not ask is not counted as leading (no
//! guessing from an older sample), so an overlap is never over-reported.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use trial_histories::values::VoterView;

const NS_PER_S: f64 = 1e9;

/// Longest overlap of two leaders judged fine: Kafka's default
/// `controller.quorum.fetch.timeout.ms` is 2 s, so a cut-off leader of a
/// fixed release resigns 3 s after it last heard from a majority; the
/// observer samples every 0.5 s with 2 s request timeouts; 10 s leaves room
/// for all of it and for the majority's own election, and is far below the
/// minutes an unfixed leader keeps leading.
pub const SPLIT_BRAIN_BOUND_NS: u64 = 10_000_000_000;

/// One stretch of time during which two or more voters each believed they
/// were the leader.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DualLeadership {
    pub from_s: f64,
    pub to_s: f64,
    pub duration_s: f64,
    /// Every (voter id, epoch) that led during the stretch.
    pub leaders: Vec<(i32, i32)>,
    /// Two voters led in one and the same epoch (Raft forbids it).
    pub same_epoch: bool,
    /// The stretch lasted to the end of the history (still going).
    pub open: bool,
}

/// `checkers.effects.controllers` in results.json.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ControllerLeadership {
    /// Samples that held the voters' own views.
    pub samples: u64,
    /// Voters seen in those samples.
    pub voters: Vec<i32>,
    pub dual: Vec<DualLeadership>,
    /// The longest stretch (s), 0 without any.
    pub longest_s: f64,
    /// Stretches longer than [`SPLIT_BRAIN_BOUND_NS`].
    pub split_brain: u64,
    /// Stretches with two leaders in one epoch.
    pub same_epoch: u64,
}

/// A stretch under way: its start, the (voter, epoch) leaders seen, and
/// whether two led in one epoch.
type Stretch = (u64, BTreeSet<(i32, i32)>, bool);

/// The leaders of one sample: (voter, epoch) of every voter that leads.
fn leaders_of(views: &BTreeMap<i32, VoterView>) -> Vec<(i32, i32)> {
    views
        .iter()
        .filter(|(_, v)| v.leader)
        .map(|(id, v)| (*id, v.epoch.unwrap_or(-1)))
        .collect()
}

/// The stretches of `samples` (time-ordered: time in ns, the voters'
/// views) with two or more leaders; the last sample stands until `end_ns`.
pub fn analyse(samples: &[(u64, BTreeMap<i32, VoterView>)], end_ns: u64) -> ControllerLeadership {
    let mut out = ControllerLeadership {
        samples: samples.len() as u64,
        ..Default::default()
    };
    let mut voters = BTreeSet::new();
    // The stretch under way: start, leaders seen, same epoch seen.
    let mut cur: Option<Stretch> = None;
    let close = |c: Stretch, to: u64, open: bool| {
        let to = to.max(c.0);
        DualLeadership {
            from_s: c.0 as f64 / NS_PER_S,
            to_s: to as f64 / NS_PER_S,
            duration_s: (to - c.0) as f64 / NS_PER_S,
            leaders: c.1.into_iter().collect(),
            same_epoch: c.2,
            open,
        }
    };
    for (t, views) in samples {
        voters.extend(views.keys().copied());
        let leaders = leaders_of(views);
        if leaders.len() >= 2 {
            let epochs: BTreeSet<i32> = leaders.iter().map(|l| l.1).collect();
            let same = epochs.len() < leaders.len();
            let c = cur.get_or_insert_with(|| (*t, BTreeSet::new(), false));
            c.1.extend(leaders);
            c.2 |= same;
        } else if let Some(c) = cur.take() {
            out.dual.push(close(c, *t, false));
        }
    }
    if let Some(c) = cur.take() {
        out.dual.push(close(c, end_ns, true));
    }
    out.voters = voters.into_iter().collect();
    out.longest_s = out.dual.iter().map(|d| d.duration_s).fold(0.0, f64::max);
    let bound = SPLIT_BRAIN_BOUND_NS as f64 / NS_PER_S;
    out.split_brain = out.dual.iter().filter(|d| d.duration_s > bound).count() as u64;
    out.same_epoch = out.dual.iter().filter(|d| d.same_epoch).count() as u64;
    out
}

/// `controllers: two leaders for 41.2 s (voters 1, 2 at epochs 3, 4)`.
pub fn summary(c: &ControllerLeadership) -> Option<String> {
    let d = c
        .dual
        .iter()
        .max_by(|a, b| a.duration_s.total_cmp(&b.duration_s))?;
    let who: Vec<String> = d.leaders.iter().map(|(v, e)| format!("{v}@{e}")).collect();
    Some(format!(
        "two controllers leading at once {} time(s), longest {:.1} s (voter@epoch: {}){}",
        c.dual.len(),
        d.duration_s,
        who.join(", "),
        if d.open { ", until the end" } else { "" }
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const S: u64 = 1_000_000_000;

    fn views(leaders: &[(i32, i32)], others: &[i32]) -> BTreeMap<i32, VoterView> {
        let mut m: BTreeMap<i32, VoterView> = others
            .iter()
            .map(|id| (*id, VoterView::default()))
            .collect();
        for (id, e) in leaders {
            m.insert(
                *id,
                VoterView {
                    leader: true,
                    epoch: Some(*e),
                },
            );
        }
        m
    }

    #[test]
    fn a_leader_that_never_resigns_is_a_split_brain() {
        // 1 leads at epoch 3; cut off, 2 is elected at 4 and 1 keeps leading.
        let s = vec![
            (S, views(&[(1, 3)], &[2, 3])),
            (5 * S, views(&[(1, 3), (2, 4)], &[3])),
            (50 * S, views(&[(2, 4)], &[1, 3])),
        ];
        let c = analyse(&s, 60 * S);
        assert_eq!(c.dual.len(), 1);
        assert_eq!(c.dual[0].duration_s, 45.0);
        assert_eq!(c.dual[0].leaders, vec![(1, 3), (2, 4)]);
        assert!(!c.dual[0].open && !c.dual[0].same_epoch);
        assert_eq!((c.split_brain, c.same_epoch), (1, 0));
        assert_eq!(c.voters, vec![1, 2, 3]);
        assert!(summary(&c).unwrap().contains("longest 45.0 s"));
    }

    #[test]
    fn a_leader_that_resigns_in_time_is_fine_and_open_stretches_run_to_the_end() {
        let s = vec![
            (S, views(&[(1, 3)], &[2, 3])),
            (5 * S, views(&[(1, 3), (2, 4)], &[3])),
            (7 * S, views(&[(2, 4)], &[1, 3])),
            (20 * S, views(&[(2, 4), (3, 4)], &[1])),
        ];
        let c = analyse(&s, 25 * S);
        assert_eq!(c.dual.len(), 2);
        assert_eq!(c.dual[0].duration_s, 2.0);
        assert!(c.dual[1].open && c.dual[1].same_epoch);
        assert_eq!(c.dual[1].duration_s, 5.0);
        assert_eq!((c.split_brain, c.same_epoch), (0, 1));
        // One leader throughout: nothing; no samples: nothing.
        let one = vec![(S, views(&[(1, 3)], &[2, 3])), (9 * S, views(&[], &[1, 2]))];
        let c = analyse(&one, 100 * S);
        assert!(c.dual.is_empty() && summary(&c).is_none());
        assert_eq!(analyse(&[], 5).dual, vec![]);
    }

    /// A random run of samples over 3 voters: each sample's leaders.
    fn run() -> impl Strategy<Value = Vec<(u64, Vec<(i32, i32)>)>> {
        prop::collection::vec(
            (
                1u64..20,
                prop::collection::btree_map(1i32..=3, 0i32..4, 0..=3)
                    .prop_map(|m| m.into_iter().collect::<Vec<_>>()),
            ),
            0..30,
        )
        .prop_map(|v| {
            let mut t = 0;
            v.into_iter()
                .map(|(dt, l)| {
                    t += dt * S / 2;
                    (t, l)
                })
                .collect()
        })
    }

    proptest! {
        /// The stretches add up to exactly the time two or more voters led
        /// (brute force over the sample intervals), and never overlap.
        #[test]
        fn stretches_cover_exactly_the_dual_time(r in run(), tail in 0u64..10) {
            let samples: Vec<_> = r.iter().map(|(t, l)| (*t, views(l, &[1, 2, 3]))).collect();
            let end = r.last().map_or(0, |x| x.0) + tail * S;
            let c = analyse(&samples, end);
            let mut brute = 0u64;
            for (i, (t, l)) in r.iter().enumerate() {
                let next = r.get(i + 1).map_or(end, |x| x.0);
                if l.len() >= 2 {
                    brute += next - t;
                }
            }
            let total: f64 = c.dual.iter().map(|d| d.duration_s).sum();
            prop_assert!((total - brute as f64 / NS_PER_S).abs() < 1e-6);
            for w in c.dual.windows(2) {
                prop_assert!(w[0].to_s < w[1].from_s);
            }
            let same = r.iter().any(|(_, l)| {
                let e: BTreeSet<i32> = l.iter().map(|x| x.1).collect();
                l.len() >= 2 && e.len() < l.len()
            });
            prop_assert_eq!(c.same_epoch > 0, same);
        }

        /// Both ways: one leader at a time (any epochs, any gaps) is never
        /// judged; a second leader held longer than the bound always is.
        #[test]
        fn judged_both_ways(r in run(), extra_s in 11u64..120, at in 0usize..30) {
            let single: Vec<_> = r
                .iter()
                .map(|(t, l)| (*t, views(&l[..l.len().min(1)], &[1, 2, 3])))
                .collect();
            let end = r.last().map_or(0, |x| x.0);
            let c = analyse(&single, end);
            prop_assert!(c.dual.is_empty());
            prop_assert_eq!(c.split_brain + c.same_epoch, 0);
            // Insert a stretch with voters 1 and 2 leading at epochs 5 and 6,
            // held for extra_s, somewhere in the run.
            let mut s = single.clone();
            let i = at.min(s.len());
            let t0 = if i == 0 { 0 } else { s[i - 1].0 + 1 };
            let shift = extra_s * S + 2;
            for x in &mut s[i..] {
                x.0 += shift;
            }
            s.insert(i, (t0, views(&[(1, 5), (2, 6)], &[3])));
            s.insert(i + 1, (t0 + extra_s * S, views(&[(2, 6)], &[1, 3])));
            let c = analyse(&s, end + shift + S);
            prop_assert_eq!(c.split_brain, 1);
            prop_assert_eq!(c.same_epoch, 0);
        }
    }
}
