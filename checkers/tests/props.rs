//! Proven both ways: histories of a correct (simulated) Kafka are valid,
//! and each injected fault is reported as exactly its anomaly class.
//!
//! `cargo test` runs 64 cases per property; for a long run:
//!
//! ```sh
//! PROPTEST_CASES=10000 cargo test -p trial-checkers --release --test props
//! ```

use proptest::prelude::*;
use std::time::Duration;
use trial_checkers::effects::EffectsResults;
use trial_checkers::generate::{simulate, Fault, SimConfig};
use trial_checkers::{check_ops, CheckOptions, Results, Validity};
use trial_histories::{Op, OpType, F};

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(64)
}

fn config() -> impl Strategy<Value = SimConfig> {
    (
        any::<u64>(),
        1u32..5,
        1u32..9,
        0u64..600,
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            |(seed, partitions, workers, steps, txns, nemesis, observer)| SimConfig {
                seed,
                partitions,
                workers,
                steps,
                txns,
                nemesis,
                fault: None,
                observer,
            },
        )
}

fn check(ops: &[Op]) -> Results {
    check_ops(ops, &CheckOptions::default()).expect("a simulated history is well-formed")
}

/// Classes with a non-zero count that the configuration forbids, plus
/// `also` if it was found (permitted or not); unseen only when it is loss.
/// Permitted classes (e.g. G-single: a transaction's poll may lag behind
/// what was committed) may appear in a correct history and are left out.
fn found_with(r: &Results, also: Option<&str>) -> Vec<String> {
    let q = r.checkers.queue.as_ref().expect("queue results");
    let permitted = |c: &str| q.anomalies.get(c).is_some_and(|a| a.permitted.is_some());
    r.anomaly_counts
        .iter()
        .filter(|(c, n)| {
            **n > 0
                && (c.as_str() != "unseen" || q.unseen.is_loss)
                && (!permitted(c) || also == Some(c.as_str()))
        })
        .map(|(c, _)| c.clone())
        .collect()
}

fn found(r: &Results) -> Vec<String> {
    found_with(r, None)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    /// No false alarm: a correct Kafka's history is valid.
    #[test]
    fn correct_kafka_is_valid(cfg in config()) {
        let ops = simulate(&cfg);
        let r = check(&ops);
        prop_assert!(found(&r).is_empty(), "{}", r.human_summary(3));
        prop_assert_eq!(r.valid, Validity::Valid, "{}", r.human_summary(3));
    }

    /// Without transactions, the same histories are linearizable as logs.
    #[test]
    fn correct_kafka_is_a_linearizable_log(cfg in config()) {
        let cfg = SimConfig { txns: false, steps: cfg.steps.min(120), ..cfg };
        let ops = simulate(&cfg);
        let r = trial_checkers::linear::check_ops_log(&ops, "log", Duration::from_secs(20)).unwrap();
        prop_assert_eq!(r.valid, Validity::Valid, "{:?}", r);
    }

    /// No blind spot: every injected fault is reported as its class, and
    /// as no other class.
    #[test]
    fn each_fault_is_reported_as_exactly_its_class(
        cfg in config(),
        fault in proptest::sample::select(Fault::ALL.to_vec()),
    ) {
        let ops = simulate(&SimConfig { fault: Some(fault), ..cfg });
        let r = check(&ops);
        prop_assert_eq!(found_with(&r, Some(fault.class())), vec![fault.class().to_string()], "{}", r.human_summary(3));
        if matches!(fault, Fault::IntSendSkip | Fault::G0 | Fault::G1c) {
            // Permitted under read_committed: Kafka's transactions
            // interleave (int-send-skip), writes are not isolated (G0), and
            // the injected G1c needs a write-write edge.
            prop_assert_eq!(r.valid, Validity::Valid, "{}", r.summary);
            let q = r.checkers.queue.as_ref().unwrap();
            prop_assert!(q.anomalies[fault.class()].permitted.is_some());
        } else {
            prop_assert_eq!(r.valid, Validity::Invalid, "{}", r.summary);
            prop_assert!(r.summary.contains(fault.class()), "{}", r.summary);
        }
    }

    /// No vacuous pass: take a valid history and remove what makes it
    /// decidable; the verdict must become unknown, never valid.
    #[test]
    fn vacuous_histories_are_unknown(cfg in config(), how in 0u8..4) {
        let how = if how == 1 && cfg.txns { 3 } else { how };
        // The injected fault window must be the only one.
        let cfg = SimConfig { nemesis: cfg.nemesis && how != 3, ..cfg };
        let ops = simulate(&cfg);
        let mutated: Vec<Op> = match how {
            // Drop a final read of a partition that has acknowledged sends.
            0 => {
                let p = ops.iter().find_map(|o| {
                    (o.f == F::Send && o.kind == OpType::Ok)
                        .then(|| o.value_json()["partition"].as_i64())
                        .flatten()
                }).unwrap();
                let mut keep = Vec::new();
                let mut skip_next = false;
                for o in ops {
                    if o.f == F::FinalRead && o.value_json()["partition"].as_i64() == Some(p) {
                        if o.kind == OpType::Invoke { skip_next = true; continue; }
                        if skip_next { skip_next = false; continue; }
                    }
                    keep.push(o);
                }
                keep
            }
            // The final reads stop short of the high watermark (only
            // decidable without transactions, where every offset is a record).
            1 => ops.into_iter().map(|mut o| {
                if o.f == F::FinalRead && o.kind == OpType::Ok {
                    let mut v = o.value_json();
                    let hw = v["high_watermark"].as_i64().unwrap();
                    v["high_watermark"] = (hw + 1).into();
                    o = o.with_value(&v);
                }
                o
            }).collect(),
            // No acknowledged send: every ok send becomes indefinite, and
            // nothing read is an acknowledged value.
            2 => ops.into_iter().map(|mut o| {
                if o.f == F::Send && o.kind == OpType::Ok {
                    o.kind = OpType::Info;
                }
                if o.f == F::Txn && o.kind == OpType::Ok {
                    o.kind = OpType::Info;
                }
                o
            }).collect(),
            // Faults during which nothing succeeded.
            _ => {
                let mut v = ops;
                let t = v.last().unwrap().time + 1;
                let n = v.len() as u64;
                let mut extra = Vec::new();
                for (i, (p, k, f)) in [
                    (trial_histories::Process::Nemesis, OpType::Invoke, "start-partition"),
                    (trial_histories::Process::Nemesis, OpType::Info, "start-partition"),
                    (trial_histories::Process::Worker(77), OpType::Invoke, "send"),
                    (trial_histories::Process::Worker(77), OpType::Fail, "send"),
                ].into_iter().enumerate() {
                    let mut o = Op::new(p, k, f);
                    if f == "send" {
                        o = o.with_value(&serde_json::json!({"key": 1, "value": 1_000_000_007u64}));
                    }
                    o.index = n + i as u64;
                    o.time = t + i as u64;
                    extra.push(o);
                }
                // Put them before the heal / final reads: simplest is at
                // the end, with no stop: the window lasts to the end.
                v.extend(extra);
                v
            }
        };
        let r = check(&mutated);
        prop_assert_eq!(r.valid, Validity::Unknown, "case {}: {}", how, r.human_summary(3));
        prop_assert!(!r.unknown_reasons.is_empty());
    }

    /// Faults that bite: with an observer that sees every fault move a
    /// leader, a correct Kafka's history stays valid and every fault is
    /// reported with an effect and a fail-over time.
    #[test]
    fn observed_faults_have_effects(cfg in config()) {
        let cfg = SimConfig { nemesis: true, observer: true, ..cfg };
        let ops = simulate(&cfg);
        let r = check(&ops);
        prop_assert_eq!(r.valid, Validity::Valid, "{}", r.human_summary(3));
        let e: EffectsResults = r.checker("effects").expect("effects results");
        prop_assert!(e.observed);
        prop_assert_eq!(e.with_effect, Some(e.faults), "{}", e.summary);
        for i in &e.intervals {
            prop_assert!(i.effect && i.failover_s.is_some() && !i.leader_changes.is_empty(), "{:?}", i);
            prop_assert!(i.isr_shrinks > 0, "{:?}", i);
        }
        prop_assert!(r.human_summary(0).contains("effects: "), "{}", r.human_summary(0));
    }

    /// Removing the observer changes nothing but the warning.
    #[test]
    fn removing_the_observer_changes_only_the_warning(cfg in config()) {
        let cfg = SimConfig { observer: true, ..cfg };
        let ops = simulate(&cfg);
        let with = check(&ops);
        let without_ops: Vec<Op> = ops.into_iter().filter(|o| o.f != F::Observe).collect();
        let without = check(&without_ops);
        prop_assert_eq!(with.valid, without.valid);
        prop_assert_eq!(&with.anomaly_counts, &without.anomaly_counts);
        prop_assert_eq!(&with.unknown_reasons, &without.unknown_reasons);
        let e: EffectsResults = without.checker("effects").unwrap();
        let mut expect = with.warnings.clone();
        if e.faults > 0 {
            expect.push(format!(
                "the history has no observer samples: the effects of its {} fault(s) on the \
                 cluster are unknown",
                e.faults
            ));
        }
        prop_assert_eq!(&without.warnings, &expect);
        prop_assert_eq!(
            serde_json::to_value(&without.checkers.queue).unwrap(),
            serde_json::to_value(&with.checkers.queue).unwrap()
        );
        prop_assert_eq!(without.checkers.stats.during_faults, with.checkers.stats.during_faults);
    }
}
