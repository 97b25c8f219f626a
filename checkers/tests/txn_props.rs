//! Transactions proven both ways: histories of a correct simulated
//! transactional Kafka (aborts, `info` commits, fenced producers,
//! rebalances, assigns that keep partitions) report no anomaly that Kafka
//! forbids, under either isolation level's options; and for each class a
//! minimal edit of a staged, valid history is reported as that class.
//!
//! `cargo test` runs 64 cases per property; for a long run:
//!
//! ```sh
//! PROPTEST_CASES=2000 cargo test -p trial-checkers --release --test txn_props
//! ```

use proptest::prelude::*;
use serde_json::Value;
use trial_checkers::generate::{mutate, simulate_txn, TxnAnomaly, TxnSimConfig};
use trial_checkers::{check_ops, CheckOptions, Isolation, Results, Validity};
use trial_histories::values::Txn;
use trial_histories::{Op, OpType, F};

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(64)
}

fn opts(isolation: Isolation) -> CheckOptions {
    CheckOptions {
        isolation,
        transactional: true,
        ..CheckOptions::default()
    }
}

fn check(ops: &[Op], isolation: Isolation) -> Results {
    check_ops(ops, &opts(isolation)).expect("a simulated history is well-formed")
}

fn config() -> impl Strategy<Value = TxnSimConfig> {
    (any::<u64>(), 1u32..5, 1u32..8, 50u64..700, any::<bool>()).prop_map(
        |(seed, partitions, workers, steps, serial)| TxnSimConfig {
            seed,
            partitions,
            workers,
            steps,
            serial,
            ..TxnSimConfig::default()
        },
    )
}

/// The JSON report of an anomaly class, wherever a checker put it (the
/// queue checker's `anomalies`, or another checker's).
fn report(r: &Results, class: &str) -> Option<Value> {
    let q = serde_json::to_value(&r.checkers.queue).unwrap();
    if let Some(a) = q["anomalies"].get(class) {
        return Some(a.clone());
    }
    r.checkers.other.values().find_map(|b| {
        let v: Value = serde_json::from_str(b.json.get()).ok()?;
        v["anomalies"].get(class).cloned()
    })
}

/// Why Kafka permits a class under the run's settings, if it does.
fn permitted(r: &Results, class: &str) -> Option<String> {
    report(r, class).and_then(|a| a["permitted"].as_str().map(str::to_string))
}

fn informational(r: &Results, class: &str) -> bool {
    report(r, class).is_some_and(|a| a["informational"].as_bool() == Some(true))
}

/// Classes found (count > 0; `unseen` only when it is loss).
fn found(r: &Results) -> Vec<(String, u64)> {
    let loss = r.checkers.queue.as_ref().is_some_and(|q| q.unseen.is_loss);
    r.anomaly_counts
        .iter()
        .filter(|(c, n)| **n > 0 && (c.as_str() != "unseen" || loss))
        .map(|(c, n)| (c.clone(), *n))
        .collect()
}

/// Classes found that Kafka forbids under the run's settings.
fn forbidden(r: &Results) -> Vec<String> {
    found(r)
        .into_iter()
        .filter(|(c, _)| permitted(r, c).is_none() && !informational(r, c))
        .map(|(c, _)| c)
        .collect()
}

/// `class` is `base`, or `base` with a `-process` / `-realtime` suffix.
fn is_class(class: &str, base: &str) -> bool {
    class == base
        || class
            .strip_prefix(base)
            .is_some_and(|s| s == "-process" || s == "-realtime")
}

fn count(r: &Results, base: &str) -> u64 {
    found(r)
        .iter()
        .filter(|(c, _)| is_class(c, base))
        .map(|(_, n)| n)
        .sum()
}

/// Classes that Kafka forbids under read_committed whatever else happens.
fn always_forbidden(a: TxnAnomaly) -> bool {
    !matches!(a, TxnAnomaly::GSingle | TxnAnomaly::G2)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    /// No false alarm: a correct transactional Kafka with read_committed
    /// consumers reports nothing Kafka forbids, checked with either
    /// isolation level's options (read_uncommitted permits more).
    #[test]
    fn correct_txn_kafka_has_no_forbidden_anomaly(cfg in config(), ru in any::<bool>()) {
        let h = simulate_txn(&cfg);
        let iso = if ru { Isolation::ReadUncommitted } else { Isolation::ReadCommitted };
        let r = check(&h.ops, iso);
        prop_assert!(forbidden(&r).is_empty(), "{}", r.human_summary(3));
        prop_assert_eq!(r.valid, Validity::Valid, "{}", r.human_summary(3));
    }

    /// read_uncommitted consumers see aborted and open transactions'
    /// records: reported, permitted, never a failed verdict.
    #[test]
    fn read_uncommitted_reads_are_permitted(cfg in config()) {
        let cfg = TxnSimConfig { isolation: Isolation::ReadUncommitted, ..cfg };
        let h = simulate_txn(&cfg);
        let r = check(&h.ops, Isolation::ReadUncommitted);
        prop_assert!(forbidden(&r).is_empty(), "{}", r.human_summary(3));
        prop_assert_eq!(r.valid, Validity::Valid, "{}", r.human_summary(3));
    }

    /// No blind spot: a staged history is valid, and its minimal edit is
    /// reported as exactly the staged class (and nothing else that Kafka
    /// forbids); the classes Kafka always forbids make it invalid.
    #[test]
    fn each_mutator_is_reported_as_its_class(
        cfg in config(),
        a in proptest::sample::select(TxnAnomaly::ALL.to_vec()),
    ) {
        let h = simulate_txn(&TxnSimConfig { stage: Some(a), ..cfg });
        let staged = h.staged.clone().expect("a stage");
        let base = check(&h.ops, Isolation::ReadCommitted);
        prop_assert!(forbidden(&base).is_empty(), "staged {:?}: {}", a, base.human_summary(3));
        prop_assert_eq!(base.valid, Validity::Valid, "{}", base.human_summary(3));

        let ops = mutate(&h.ops, &staged).expect("the stage's edits apply");
        let r = check(&ops, Isolation::ReadCommitted);
        let class = a.class();
        prop_assert!(
            count(&r, class) > count(&base, class),
            "{:?} ({}) not reported: {}", a, a.why(), r.human_summary(3)
        );
        let new_forbidden: Vec<String> = forbidden(&r)
            .into_iter()
            .filter(|c| !is_class(c, class))
            .collect();
        prop_assert!(new_forbidden.is_empty(), "{:?}: also {:?}: {}", a, new_forbidden, r.human_summary(3));
        let reported: Vec<String> = found(&r).into_iter().map(|(c, _)| c).filter(|c| is_class(c, class)).collect();
        if always_forbidden(a) {
            for c in &reported {
                prop_assert_eq!(permitted(&r, c), None, "{} must not be permitted", c);
            }
            prop_assert_eq!(r.valid, Validity::Invalid, "{}", r.human_summary(3));
            prop_assert!(r.summary.contains(class), "{}", r.summary);
        } else if reported.iter().any(|c| permitted(&r, c).is_none()) {
            prop_assert_eq!(r.valid, Validity::Invalid, "{}", r.human_summary(3));
        } else {
            prop_assert_eq!(r.valid, Validity::Valid, "{}", r.human_summary(3));
        }
    }

    /// What read_uncommitted permits: the same edits checked with its
    /// options are reported but permitted.
    #[test]
    fn read_uncommitted_permits_dirty_reads(
        cfg in config(),
        a in proptest::sample::select(vec![
            TxnAnomaly::AbortedRead, TxnAnomaly::PrecommittedRead, TxnAnomaly::G1c,
        ]),
    ) {
        let h = simulate_txn(&TxnSimConfig { stage: Some(a), ..cfg });
        let ops = mutate(&h.ops, h.staged.as_ref().unwrap()).unwrap();
        let r = check(&ops, Isolation::ReadUncommitted);
        let reported: Vec<String> = found(&r).into_iter().map(|(c, _)| c).filter(|c| is_class(c, a.class())).collect();
        prop_assert!(!reported.is_empty(), "{:?}: {}", a, r.human_summary(3));
        for c in &reported {
            prop_assert!(permitted(&r, c).is_some(), "{} should be permitted under read_uncommitted: {}", c, r.human_summary(3));
        }
        prop_assert!(forbidden(&r).is_empty(), "{}", r.human_summary(3));
        prop_assert_eq!(r.valid, Validity::Valid, "{}", r.human_summary(3));
    }
}

/// The simulator really exercises what the checker must tolerate: over a
/// few seeds, planned aborts, fenced producers, `info` commits with read
/// records, polls in failed transactions, assigns with seeks and with
/// partitions that stay, eager and cooperative rebalances, crashes,
/// overlapping transactions, gaps in offsets, and final reads.
#[test]
fn the_simulator_covers_transactional_kafka() {
    let mut seen = std::collections::BTreeSet::new();
    for seed in 0..8 {
        let h = simulate_txn(&TxnSimConfig {
            seed,
            steps: 2_000,
            ..TxnSimConfig::default()
        });
        let mut open = std::collections::BTreeSet::new();
        let mut prev_assign: std::collections::BTreeMap<String, Vec<i64>> = Default::default();
        for op in &h.ops {
            let v = op.value_json();
            let who = op.process.to_string();
            match (&op.f, op.kind) {
                (F::Txn, OpType::Invoke) => {
                    if !open.is_empty() {
                        seen.insert("concurrent txns");
                    }
                    open.insert(who);
                }
                (F::Txn, kind) => {
                    open.remove(&who);
                    let t: Txn = op.value_as().unwrap();
                    let polled = t.ops.iter().any(|m| matches!(m, trial_histories::values::MicroOp::Poll(p) if !p.records.is_empty()));
                    match kind {
                        OpType::Ok if !t.offsets.is_empty() => {
                            seen.insert("commit with offsets");
                        }
                        OpType::Fail if t.abort => {
                            seen.insert("planned abort");
                        }
                        OpType::Fail if op.error.as_deref().unwrap_or("").contains("fenced") => {
                            seen.insert("fenced");
                        }
                        OpType::Info => {
                            seen.insert("info commit");
                        }
                        _ => {}
                    }
                    if kind != OpType::Ok && polled {
                        seen.insert("records read in a txn that did not commit");
                    }
                }
                (F::Assign, OpType::Ok) => {
                    let parts: Vec<i64> = v["partitions"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .filter_map(Value::as_i64)
                        .collect();
                    if v.get("seek").is_some() {
                        seen.insert("assign with seek");
                    }
                    if let Some(old) = prev_assign.get(&who) {
                        let seek: Vec<i64> = v
                            .get("seek")
                            .and_then(Value::as_array)
                            .map(|s| s.iter().filter_map(|x| x[0].as_i64()).collect())
                            .unwrap_or_default();
                        if parts.iter().any(|p| old.contains(p) && !seek.contains(p)) {
                            seen.insert("assign keeping a partition");
                        }
                    }
                    prev_assign.insert(who, parts);
                }
                (F::Rebalance, _) => {
                    let revoked = v
                        .get("revoked")
                        .and_then(Value::as_array)
                        .map_or(0, Vec::len);
                    let parts = v["partitions"].as_array().map_or(0, Vec::len);
                    if revoked > 0 && parts > 0 {
                        seen.insert("rebalance revoking");
                    }
                    if v.get("seek").is_some() {
                        seen.insert("rebalance at committed offsets");
                    }
                }
                (F::Subscribe, OpType::Ok) => {
                    seen.insert("subscribe");
                }
                (F::Crash, _) => {
                    seen.insert("crash");
                }
                (F::Poll, OpType::Info) => {
                    seen.insert("poll timed out");
                }
                (F::FinalRead, OpType::Ok) => {
                    let offs: Vec<i64> = v["records"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .filter_map(|r| r[1].as_i64())
                        .collect();
                    if offs.windows(2).any(|w| w[1] > w[0] + 1) {
                        seen.insert("gaps in offsets");
                    }
                }
                _ => {}
            }
        }
        if !open.is_empty() {
            seen.insert("unfinished txn");
        }
    }
    for want in [
        "concurrent txns",
        "commit with offsets",
        "planned abort",
        "fenced",
        "info commit",
        "records read in a txn that did not commit",
        "assign with seek",
        "assign keeping a partition",
        "rebalance revoking",
        "rebalance at committed offsets",
        "subscribe",
        "crash",
        "poll timed out",
        "gaps in offsets",
        "unfinished txn",
    ] {
        assert!(
            seen.contains(want),
            "never simulated: {want} (saw {seen:?})"
        );
    }
}

/// Each mutator's edit changes only reads, and a history of its own.
#[test]
fn mutators_edit_only_reads() {
    for &a in TxnAnomaly::ALL {
        let h = simulate_txn(&TxnSimConfig {
            seed: 7,
            stage: Some(a),
            ..TxnSimConfig::default()
        });
        let m = mutate(&h.ops, h.staged.as_ref().unwrap()).unwrap();
        assert_eq!(m.len(), h.ops.len());
        let changed: Vec<&Op> = h
            .ops
            .iter()
            .zip(&m)
            .filter(|(x, y)| x.value.get() != y.value.get())
            .map(|(_, y)| y)
            .collect();
        assert!(
            !changed.is_empty() && changed.len() <= 2,
            "{a:?}: {} ops changed",
            changed.len()
        );
        for op in changed {
            assert!(
                matches!(op.f, F::Poll | F::Txn | F::FinalRead),
                "{a:?} edited {:?}",
                op.f
            );
        }
    }
}
