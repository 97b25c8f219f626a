//! The `jepsen` client model proven both ways on simulated histories
//! (`generate::simulate`: a correct Kafka whose consumers rewind to their
//! committed position after a transaction that did not commit, keep the
//! positions of partitions that stay assigned, and start afresh after a
//! crash — all of which Jepsen's client does too): every correct history is
//! valid under the model, and every injected fault is found as its class.

use proptest::prelude::*;
use trial_checkers::generate::{simulate, Fault, SimConfig};
use trial_checkers::{check_ops, CheckOptions, ClientModel, Results, Validity};
use trial_histories::{Op, OpType, F};

fn config() -> impl Strategy<Value = SimConfig> {
    (
        any::<u64>(),
        1u32..5,
        1u32..9,
        0u64..600,
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            |(seed, partitions, workers, steps, txns, nemesis)| SimConfig {
                seed,
                partitions,
                workers,
                steps,
                txns,
                nemesis,
                fault: None,
                observer: false,
            },
        )
}

fn check(ops: &[Op]) -> Results {
    let opts = CheckOptions {
        client_model: Some(ClientModel::Jepsen),
        ..Default::default()
    };
    check_ops(ops, &opts).expect("a simulated history is well-formed")
}

/// Classes found that the configuration forbids (unseen only as a loss),
/// plus `also` if found.
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

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn correct_kafka_is_valid_under_the_jepsen_model(cfg in config()) {
        // Only histories whose client behaved as Jepsen's: no poll or
        // transaction that read and did not end ok. kafka-trial's simulated
        // client may consume records in a timed-out poll without reporting
        // them, or rewind an aborted transaction to offsets a failed commit
        // moved; Jepsen's checker assumes it resumes from the last ok read,
        // so such a history is not Jepsen's (the model would see skips).
        let ops = simulate(&SimConfig { steps: cfg.steps.min(150), ..cfg });
        prop_assume!(ops.iter().all(|o| !(matches!(o.f, F::Poll | F::Txn)
            && matches!(o.kind, OpType::Info | OpType::Fail))));
        let r = check(&ops);
        prop_assert!(found_with(&r, None).is_empty(), "{}", r.human_summary(3));
        prop_assert_eq!(r.valid, Validity::Valid, "{}", r.human_summary(3));
        prop_assert_eq!(r.client_model, Some(ClientModel::Jepsen));
    }

    #[test]
    fn each_fault_is_found_under_the_jepsen_model(
        cfg in config(),
        fault in proptest::sample::select(Fault::ALL.to_vec()),
    ) {
        let ops = simulate(&SimConfig { fault: Some(fault), ..cfg });
        let r = check(&ops);
        let found = found_with(&r, Some(fault.class()));
        prop_assert!(found.contains(&fault.class().to_string()), "{:?}: {}", found, r.human_summary(3));
    }
}
