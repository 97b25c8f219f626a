//! The log model on transactional histories ([`super::log`]'s module doc
//! has the semantics): a correct transactional Kafka
//! ([`crate::generate::txn`]) is linearizable under either isolation
//! level; the anomalies a log shows (an aborted record read, a committed
//! record skipped, a transaction reading its own uncommitted write) are
//! not; the greedy agrees with the search on small histories.

use super::check;
use super::log::{check_log, log_calls_with, LogCalls};
use super::log_tests::partitions_agree;
use super::models::Log;
use crate::generate::txn::{simulate_txn, TxnSimConfig};
use crate::generate::txn_mutate::{mutate, TxnAnomaly};
use crate::verdict::Validity;
use crate::Isolation;
use proptest::prelude::*;
use std::time::Duration;

/// Small simulated transactional runs (serial or interleaved).
fn config(max_steps: u64) -> impl Strategy<Value = TxnSimConfig> {
    let shape = (1u32..4, 1u32..6, 30u64..max_steps);
    (any::<u64>(), shape, any::<bool>()).prop_map(|(seed, (partitions, workers, steps), serial)| {
        TxnSimConfig {
            seed,
            partitions,
            workers,
            steps,
            serial,
            ..TxnSimConfig::default()
        }
    })
}

fn iso(ru: bool) -> Isolation {
    if ru {
        Isolation::ReadUncommitted
    } else {
        Isolation::ReadCommitted
    }
}

/// The greedy, partition by partition, against the search on the same
/// calls (the search has every partition's calls when the greedy is
/// undecided); the verdict of the whole check.
fn agree(lc: &LogCalls) -> Validity {
    let limit = Duration::from_secs(20);
    partitions_agree(lc, limit);
    let fast = check_log(lc, limit);
    let slow = check(&Log, lc.to_calls(), limit);
    assert_eq!(fast.valid, slow.valid, "greedy {fast:?}\nsearch {slow:?}");
    fast.valid
}

/// The anomalies a log shows: a read_committed read returned an aborted
/// record, or skipped a committed one below a record it returned, or a
/// transaction read its own write before it committed.
const LOG_ANOMALIES: &[TxnAnomaly] = &[
    TxnAnomaly::AbortedRead,
    TxnAnomaly::LostWrite,
    TxnAnomaly::PrecommittedRead,
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// No false alarm: a correct transactional Kafka is a linearizable
    /// log, with read_committed or read_uncommitted consumers, decided by
    /// the greedy alone.
    #[test]
    fn a_correct_txn_kafka_is_linearizable(cfg in config(700), ru in any::<bool>()) {
        let h = simulate_txn(&TxnSimConfig { isolation: iso(ru), ..cfg });
        let lc = log_calls_with(&h.ops, iso(ru));
        let r = check_log(&lc, Duration::from_secs(30));
        prop_assert_eq!(r.valid, Validity::Valid, "{:?}", r);
        prop_assert_eq!(r.searched_partitions, 0);
    }

    /// No blind spot: each log anomaly staged and injected is found, with
    /// the counterexample naming the edited read (or a read of its value).
    #[test]
    fn an_injected_log_anomaly_is_not_linearizable(
        cfg in config(400),
        a in proptest::sample::select(LOG_ANOMALIES.to_vec()),
    ) {
        let h = simulate_txn(&TxnSimConfig { stage: Some(a), ..cfg });
        let base = check_log(&log_calls_with(&h.ops, Isolation::ReadCommitted), Duration::from_secs(30));
        prop_assert_eq!(base.valid, Validity::Valid, "staged {:?}: {:?}", a, base);
        let ops = mutate(&h.ops, h.staged.as_ref().unwrap()).unwrap();
        let r = check_log(&log_calls_with(&ops, Isolation::ReadCommitted), Duration::from_secs(30));
        prop_assert_eq!(r.valid, Validity::Invalid, "{:?} ({}) not found: {:?}", a, a.why(), r);
        let cx = r.counterexample.expect("a counterexample");
        prop_assert!(cx.message.contains("cannot be linearized"), "{}", cx.message);
    }

    /// The greedy decides small transactional histories as the search
    /// does, valid ones and ones with any staged anomaly injected.
    #[test]
    fn the_greedy_agrees_with_the_search_on_txn_histories(
        cfg in config(120),
        ru in any::<bool>(),
        a in proptest::option::of(proptest::sample::select(TxnAnomaly::ALL.to_vec())),
    ) {
        let h = simulate_txn(&TxnSimConfig { isolation: iso(ru), stage: a, ..cfg });
        let ops = match &h.staged {
            Some(s) => mutate(&h.ops, s).unwrap(),
            None => h.ops.clone(),
        };
        agree(&log_calls_with(&ops, iso(ru)));
    }
}

/// read_uncommitted polls may return aborted records: linearizable under
/// that isolation, not under read_committed.
#[test]
fn an_aborted_read_is_permitted_to_read_uncommitted_polls_only() {
    for seed in 1..20 {
        let cfg = TxnSimConfig {
            seed,
            stage: Some(TxnAnomaly::AbortedRead),
            ..TxnSimConfig::default()
        };
        let h = simulate_txn(&cfg);
        let ops = mutate(&h.ops, h.staged.as_ref().unwrap()).unwrap();
        let rc = check_log(
            &log_calls_with(&ops, Isolation::ReadCommitted),
            Duration::from_secs(9),
        );
        assert_eq!(rc.valid, Validity::Invalid, "seed {seed}");
        let msg = &rc.counterexample.as_ref().unwrap().message;
        assert!(msg.contains("(aborted)"), "{msg}");
        let ru = check_log(
            &log_calls_with(&ops, Isolation::ReadUncommitted),
            Duration::from_secs(9),
        );
        assert_eq!(ru.valid, Validity::Valid, "seed {seed}: {ru:?}");
    }
}

/// Transaction markers take offsets: a read_committed read's gaps are
/// markers (hidden), and a read that skips a committed record is caught
/// with a message saying so.
#[test]
fn markers_fill_gaps_and_a_skipped_committed_record_is_named() {
    let h = simulate_txn(&TxnSimConfig {
        seed: 7,
        stage: Some(TxnAnomaly::LostWrite),
        ..TxnSimConfig::default()
    });
    let lc = log_calls_with(&h.ops, Isolation::ReadCommitted);
    assert!(
        lc.sends.iter().any(|s| s.index == super::log::NO),
        "markers"
    );
    let ops = mutate(&h.ops, h.staged.as_ref().unwrap()).unwrap();
    let r = check_log(
        &log_calls_with(&ops, Isolation::ReadCommitted),
        Duration::from_secs(9),
    );
    let msg = r.counterexample.expect("invalid").message;
    assert!(msg.contains("skipped"), "{msg}");
}
