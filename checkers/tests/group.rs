//! The `group` checker proven both ways: histories of a correct simulated
//! consumer group (eager and cooperative rebalances; sync, async and auto
//! commits; crashes, leaves, stalls, zombies) have no group anomaly and a
//! valid verdict (under auto-commit `unprocessed-skip` may appear, as a
//! permitted class); each mutator's class is found, and only it.
//!
//! `cargo test` runs 64 cases per property; for a long run:
//!
//! ```sh
//! PROPTEST_CASES=2000 cargo test -p trial-checkers --release --test group
//! ```

use proptest::prelude::*;
use trial_checkers::generate::{
    mutate_group, simulate_group, GroupAnomaly, GroupSimConfig, Rebalancing,
};
use trial_checkers::group::GroupResults;
use trial_checkers::verdict::GROUP_CLASSES;
use trial_checkers::{check_ops, CheckOptions, Results, Validity};
use trial_histories::values::CommitMode;
use trial_histories::Op;

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(64)
}

fn config(min_members: u32) -> impl Strategy<Value = GroupSimConfig> {
    (
        any::<u64>(),
        1u32..5,
        min_members..5,
        100u64..600,
        any::<bool>(),
        0usize..3,
    )
        .prop_map(
            |(seed, partitions, members, steps, eager, mode)| GroupSimConfig {
                seed,
                partitions,
                members,
                steps,
                rebalancing: if eager {
                    Rebalancing::Eager
                } else {
                    Rebalancing::Cooperative
                },
                commit: [CommitMode::Sync, CommitMode::Async, CommitMode::Auto][mode],
                senders: true,
            },
        )
}

fn check(ops: &[Op]) -> (Results, GroupResults) {
    let r = check_ops(ops, &CheckOptions::default()).expect("a simulated history is well-formed");
    let g = r.checker::<GroupResults>("group").expect("the group body");
    (r, g)
}

/// Group classes found that count against validity.
fn forbidden(g: &GroupResults) -> Vec<(String, u64)> {
    g.anomalies
        .iter()
        .filter(|(_, a)| a.count > 0 && a.permitted.is_none())
        .map(|(c, a)| (c.clone(), a.count))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    /// A correct group: no group anomaly Kafka forbids, and the whole
    /// check (queue, stats, effects, group) valid.
    #[test]
    fn a_correct_group_is_valid(cfg in config(1)) {
        let ops = simulate_group(&cfg);
        let (r, g) = check(&ops);
        prop_assert!(g.applicable);
        prop_assert_eq!(forbidden(&g), vec![], "{}", r.human_summary(3));
        for c in GROUP_CLASSES {
            prop_assert!(g.anomalies.contains_key(c), "{c}");
        }
        let unprocessed = &g.anomalies["unprocessed-skip"];
        if cfg.commit == CommitMode::Auto {
            prop_assert!(unprocessed.permitted.is_some());
        } else {
            prop_assert_eq!(unprocessed.count, 0);
        }
        prop_assert_eq!(r.valid, Validity::Valid, "{}", r.human_summary(3));
        prop_assert!(r.anomalies_found().is_empty(), "{:?}", r.anomalies_found());
        // Measurements hold together.
        let c = &g.consume;
        prop_assert_eq!(c.records, c.never + c.once + c.twice + c.more);
        prop_assert!(g.overlaps.longest.iter().all(|o| !o.judged));
        prop_assert!(g.rebalances.max_ms >= g.rebalances.p50_ms);
        prop_assert_eq!(
            g.starts.measured,
            g.starts.exact + g.starts.below + g.starts.above
        );
        prop_assert_eq!(g.starts.below + g.starts.above, 0, "{:?}", g.starts);
    }

    /// Each edit is found as its class, and no other forbidden group class
    /// appears; the verdict is invalid unless the class is permitted.
    #[test]
    fn each_mutation_is_found(cfg in config(2)) {
        let ops = simulate_group(&cfg);
        for a in GroupAnomaly::ALL {
            let Some(bad) = mutate_group(&ops, a) else {
                // Only possible where the history offers no place; the
                // unit tests show each edit applies to a default run.
                continue;
            };
            let (r, g) = check(&bad);
            let class = a.class();
            prop_assert!(g.anomalies[class].count > 0, "{class} not found: {}", r.human_summary(3));
            let others: Vec<_> = forbidden(&g).into_iter().filter(|(c, _)| c != class).collect();
            prop_assert_eq!(others, vec![], "{}", class);
            if a == GroupAnomaly::UnprocessedSkip && cfg.commit == CommitMode::Auto {
                prop_assert!(g.anomalies[class].permitted.is_some());
                prop_assert_eq!(r.valid, Validity::Valid, "{}", r.human_summary(3));
            } else {
                prop_assert_eq!(r.valid, Validity::Invalid);
                prop_assert!(r.anomalies_found().iter().any(|(c, _)| *c == class));
            }
        }
    }
}

/// Every edit applies to a run of the default configuration, in each
/// commit mode and with both kinds of rebalance.
#[test]
fn every_mutator_applies_to_default_runs() {
    for commit in [CommitMode::Sync, CommitMode::Async, CommitMode::Auto] {
        for rebalancing in [Rebalancing::Eager, Rebalancing::Cooperative] {
            let cfg = GroupSimConfig {
                commit,
                rebalancing,
                ..GroupSimConfig::default()
            };
            let ops = simulate_group(&cfg);
            for a in GroupAnomaly::ALL {
                assert!(mutate_group(&ops, a).is_some(), "{a:?} {cfg:?}");
            }
        }
    }
}
