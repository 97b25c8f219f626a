//! The consumer groups' part of `effects`: what the observer saw of each
//! group (`groups` in the samples, histories/README.md) — its coordinator
//! and its state.
//!
//! A coordinator that moved between two samples is an observable effect of
//! the fault whose window it falls in (a `group-coordinator` kill, pause or
//! cut that moved the coordinator bit). A group entering a rebalance
//! (`PreparingRebalance` / `CompletingRebalance` for the classic protocol,
//! `Assigning` / `Reconciling` for KIP-848) is counted per fault and over
//! the run, but is not an effect by itself: members that join, leave or
//! crash rebalance a group with no fault at all, so counting it would let
//! any fault pass the vacuous-pass guard.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use trial_histories::values::GroupView;

const NS_PER_S: f64 = 1e9;

/// One group in one sample (compact).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct GroupSample {
    pub coordinator: i32,
    /// In a rebalancing state ([`GroupView::rebalancing`]).
    pub rebalancing: bool,
    /// The coordinator answered with a state in this sample.
    pub answered: bool,
}

/// The groups of one sample.
pub(super) fn sample(groups: &BTreeMap<String, GroupView>) -> BTreeMap<String, GroupSample> {
    groups
        .iter()
        .map(|(g, v)| {
            (
                g.clone(),
                GroupSample {
                    coordinator: v.coordinator,
                    rebalancing: v.rebalancing(),
                    answered: v.state.is_some(),
                },
            )
        })
        .collect()
}

/// What changed for the groups between two consecutive samples.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(super) struct GroupChange {
    /// Groups whose coordinator differs.
    pub coordinator_moved: Vec<String>,
    /// Groups that entered a rebalancing state (from a state that was not
    /// one: a known state, or none while the coordinator was unreachable).
    pub rebalances: Vec<String>,
}

impl GroupChange {
    /// Whether the change is an observable effect (a coordinator moved;
    /// see the module docs for why a rebalance alone is not).
    pub fn effect(&self) -> bool {
        !self.coordinator_moved.is_empty()
    }
}

/// The change from `a` to `b` (groups in only one of them: no change).
pub(super) fn diff(
    a: &BTreeMap<String, GroupSample>,
    b: &BTreeMap<String, GroupSample>,
) -> GroupChange {
    let mut c = GroupChange::default();
    for (g, y) in b {
        let Some(x) = a.get(g) else { continue };
        if x.coordinator != y.coordinator {
            c.coordinator_moved.push(g.clone());
        }
        if y.rebalancing && !x.rebalancing {
            c.rebalances.push(g.clone());
        }
    }
    c
}

/// One group over the whole run (`checkers.effects.groups.<group>`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GroupEffects {
    /// Samples that held the group.
    pub samples: u64,
    /// Times its coordinator moved.
    pub coordinator_changes: u64,
    /// The coordinators it had, in the order seen (a broker seen twice,
    /// e.g. back after a restart, is listed twice).
    pub coordinators: Vec<i32>,
    /// Times it entered a rebalancing state.
    pub rebalances: u64,
    /// Seconds it spent in rebalancing states (from the sample that showed
    /// one to the next sample that did not, or the end).
    pub rebalancing_s: f64,
    /// Seconds its coordinator did not answer (from such a sample to the
    /// next that did, or the end).
    pub unanswered_s: f64,
}

/// Each group's run, from the samples that held groups (`(time, groups)`,
/// by time) until `end_ns`.
pub(super) fn analyse(
    samples: &[(u64, BTreeMap<String, GroupSample>)],
    end_ns: u64,
) -> BTreeMap<String, GroupEffects> {
    let mut out: BTreeMap<String, GroupEffects> = BTreeMap::new();
    let mut last: BTreeMap<&str, (u64, GroupSample)> = BTreeMap::new();
    let close = |e: &mut GroupEffects, from: u64, s: GroupSample, to: u64| {
        let d = to.saturating_sub(from) as f64 / NS_PER_S;
        if s.rebalancing {
            e.rebalancing_s += d;
        }
        if !s.answered {
            e.unanswered_s += d;
        }
    };
    for (t, groups) in samples {
        for (g, s) in groups {
            let e = out.entry(g.clone()).or_default();
            e.samples += 1;
            match last.get(g.as_str()) {
                Some((from, prev)) => {
                    close(e, *from, *prev, *t);
                    if prev.coordinator != s.coordinator {
                        e.coordinator_changes += 1;
                        e.coordinators.push(s.coordinator);
                    }
                    if s.rebalancing && !prev.rebalancing {
                        e.rebalances += 1;
                    }
                }
                None => {
                    e.coordinators.push(s.coordinator);
                    e.rebalances += u64::from(s.rebalancing);
                }
            }
            last.insert(g, (*t, *s));
        }
    }
    for (g, (from, s)) in last {
        if let Some(e) = out.get_mut(g) {
            close(e, from, s, end_ns.max(from));
        }
    }
    out
}

/// `group kt-c1: coordinator moved 2 times (1 → 3 → 2), 5 rebalances`,
/// or nothing when no group was observed.
pub(super) fn summary(groups: &BTreeMap<String, GroupEffects>) -> Option<String> {
    let parts: Vec<String> = groups
        .iter()
        .map(|(g, e)| {
            let path = e
                .coordinators
                .iter()
                .map(|c| c.to_string())
                .collect::<Vec<_>>()
                .join(" → ");
            format!(
                "group {g}: coordinator moved {} time(s) ({path}), {} rebalance(s)",
                e.coordinator_changes, e.rebalances
            )
        })
        .collect();
    (!parts.is_empty()).then(|| parts.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const S: u64 = 1_000_000_000;

    fn g(coordinator: i32, state: Option<&str>) -> BTreeMap<String, GroupSample> {
        let v = GroupView {
            coordinator,
            state: state.map(String::from),
            ..Default::default()
        };
        sample(&BTreeMap::from([("kt-c1".to_string(), v)]))
    }

    #[test]
    fn a_moved_coordinator_is_an_effect_a_rebalance_alone_is_not() {
        let c = diff(&g(1, Some("Stable")), &g(3, None));
        assert_eq!(c.coordinator_moved, ["kt-c1"]);
        assert!(c.effect());
        let c = diff(&g(1, Some("Stable")), &g(1, Some("PreparingRebalance")));
        assert_eq!(c.rebalances, ["kt-c1"]);
        assert!(!c.effect());
        // Still rebalancing (another phase) is not a new rebalance.
        let c = diff(&g(1, Some("Assigning")), &g(1, Some("Reconciling")));
        assert_eq!(c, GroupChange::default());
        // A group that appears (the first sample that knows it) moved nothing.
        assert_eq!(diff(&BTreeMap::new(), &g(2, None)), GroupChange::default());
    }

    #[test]
    fn a_run_of_samples_adds_up() {
        let samples = vec![
            (0, g(1, Some("Stable"))),
            (S, g(1, None)),
            (2 * S, g(3, Some("PreparingRebalance"))),
            (4 * S, g(3, Some("CompletingRebalance"))),
            (5 * S, g(3, Some("Stable"))),
        ];
        let r = analyse(&samples, 6 * S);
        let e = &r["kt-c1"];
        assert_eq!(e.samples, 5);
        assert_eq!(e.coordinator_changes, 1);
        assert_eq!(e.coordinators, [1, 3]);
        assert_eq!(e.rebalances, 1);
        assert!((e.rebalancing_s - 3.0).abs() < 1e-9, "{e:?}");
        assert!((e.unanswered_s - 1.0).abs() < 1e-9, "{e:?}");
        assert_eq!(
            summary(&r).unwrap(),
            "group kt-c1: coordinator moved 1 time(s) (1 → 3), 1 rebalance(s)"
        );
        assert_eq!(summary(&BTreeMap::new()), None);
    }

    proptest! {
        /// Over any run of samples, the coordinator changes counted are
        /// the changes between consecutive samples, the coordinators listed
        /// are one more than the changes, and the time in rebalancing
        /// states never exceeds the span.
        #[test]
        fn counts_match_the_pairwise_changes(
            seq in proptest::collection::vec((1i32..4, 0usize..4, 1u64..5), 1..40)
        ) {
            let states = [Some("Stable"), Some("PreparingRebalance"), Some("Reconciling"), None];
            let mut t = 0;
            let samples: Vec<(u64, BTreeMap<String, GroupSample>)> = seq
                .iter()
                .map(|(c, s, dt)| {
                    t += dt * S;
                    (t, g(*c, states[*s]))
                })
                .collect();
            let r = analyse(&samples, t + S);
            let e = &r["kt-c1"];
            let moved = samples
                .windows(2)
                .filter(|w| !diff(&w[0].1, &w[1].1).coordinator_moved.is_empty())
                .count() as u64;
            let entered = samples
                .windows(2)
                .filter(|w| !diff(&w[0].1, &w[1].1).rebalances.is_empty())
                .count() as u64
                + u64::from(samples[0].1["kt-c1"].rebalancing);
            prop_assert_eq!(e.coordinator_changes, moved);
            prop_assert_eq!(e.coordinators.len() as u64, moved + 1);
            prop_assert_eq!(e.rebalances, entered);
            let span = (t + S - samples[0].0) as f64 / NS_PER_S;
            prop_assert!(e.rebalancing_s <= span + 1e-9);
            prop_assert!(e.unanswered_s <= span + 1e-9);
        }
    }
}
