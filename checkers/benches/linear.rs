//! Linearizability checker: 10k ops at concurrency 10 for the log and the
//! cas-register models; and histories generated in Porcupine's own formats
//! (`linear::gen`: a Jepsen etcd log for `cas-register`, Porcupine's kv
//! log for `kv-append`), a few sizes and concurrencies, linearizable and
//! with an anomaly, read back through the format converters and timed the
//! way the Porcupine comparison is (the search alone, parsing excluded),
//! so that the "vs Porcupine" figures come from `cargo bench` too:
//! `cargo bench -p trial-checkers --bench linear -- porcupine`.
//! Porcupine's side is timed outside the repository (a Go program calling
//! `porcupine.CheckEvents` on the same `.log`/`.txt` files, which
//! `examples/linear_compare.rs gen` writes).

use criterion::{criterion_group, criterion_main, Criterion};
use std::path::Path;
use std::time::Duration;
use trial_checkers::generate::{cas_register_calls, simulate, SimConfig};
use trial_checkers::linear::gen::{self, GenConfig, KvAnomaly};
use trial_checkers::linear::models::{CasRegister, Log};
use trial_checkers::linear::{check, check_edn_ops, edn, log_calls};
use trial_checkers::Validity;

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("linear");
    g.sample_size(10);

    let cas = cas_register_calls(7, 10_000, 10);
    g.bench_function(
        format!("cas-register {} ops, concurrency 10", cas.len()),
        |b| {
            b.iter(|| {
                let r = check(&CasRegister, cas.clone(), Duration::from_secs(60));
                assert_eq!(r.valid, Validity::Valid);
                r
            })
        },
    );

    // A 1-partition Kafka history: one log of ~10k ops (no P-compositionality help).
    let ops = simulate(&SimConfig {
        seed: 7,
        partitions: 1,
        workers: 10,
        steps: 27_000,
        txns: false,
        nemesis: false,
        fault: None,
        observer: false,
    });
    let calls = log_calls(&ops);
    g.bench_function(format!("log {} ops, concurrency 10", calls.len()), |b| {
        b.iter(|| {
            let r = check(&Log, calls.clone(), Duration::from_secs(60));
            assert_eq!(r.valid, Validity::Valid);
            r
        })
    });
    g.finish();
}

/// One generated history in a Porcupine format, read back as our EDN ops.
struct Case {
    name: String,
    model: &'static str,
    ops: Vec<(u64, edn::Edn)>,
    valid: Validity,
}

/// The Porcupine-format cases: cas-register (etcd log) at 1k and 4k ops,
/// concurrency 5 and 10; kv-append (kv log, 10 keys) at 1k and 5k ops,
/// concurrency 5 and 50; each linearizable and with an anomaly (a phantom
/// read; a stale read, a lost or a reordered append), 2% indefinite.
fn porcupine_cases() -> Vec<Case> {
    let mut cases = Vec::new();
    let parse = |text: String| edn::parse_ops(&text).expect("the converted EDN parses");
    for (ops, concurrency) in [(1_000, 5), (4_000, 10)] {
        for anomaly in [false, true] {
            let cfg = GenConfig {
                seed: 1,
                ops,
                concurrency,
                info_pct: 2,
                keys: 1,
            };
            let mut h = gen::cas_history(&cfg);
            assert!(!anomaly || gen::cas_phantom_read(&mut h));
            let log = gen::cas_etcd_log(&h);
            cases.push(Case {
                name: format!("etcd log, {ops} ops, concurrency {concurrency}"),
                model: "cas-register",
                ops: parse(gen::etcd_log_to_edn(&log).expect("etcd log")),
                valid: if anomaly {
                    Validity::Invalid
                } else {
                    Validity::Valid
                },
            });
        }
    }
    for (ops, concurrency) in [(1_000, 5), (5_000, 50)] {
        for (seed, anomaly) in [
            (1, None),
            (2, Some(KvAnomaly::StaleRead)),
            (3, Some(KvAnomaly::LostAppend)),
            (4, Some(KvAnomaly::ReorderedAppend)),
        ] {
            let cfg = GenConfig {
                seed,
                ops,
                concurrency,
                info_pct: 2,
                keys: 10,
            };
            let mut h = gen::kv_history(&cfg);
            gen::kv_inject(&mut h, anomaly);
            let log = gen::kv_porcupine_log(&h);
            cases.push(Case {
                name: format!("kv log, {ops} ops, concurrency {concurrency}"),
                model: "kv-append",
                ops: parse(gen::kv_log_to_edn(&log).expect("kv log")),
                valid: if anomaly.is_some() {
                    Validity::Invalid
                } else {
                    Validity::Valid
                },
            });
        }
    }
    cases
}

fn porcupine(c: &mut Criterion) {
    let mut g = c.benchmark_group("porcupine-formats");
    g.sample_size(10);
    for case in porcupine_cases() {
        let what = match case.valid {
            Validity::Invalid => "anomaly",
            _ => "linearizable",
        };
        g.bench_function(format!("{}, {what}: search", case.name), |b| {
            b.iter(|| {
                let r = check_edn_ops(
                    &case.ops,
                    Path::new("generated"),
                    case.model,
                    Duration::from_secs(600),
                )
                .expect("check");
                assert_eq!(r.valid, case.valid, "{}: {r:?}", case.name);
                r
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench, porcupine);
criterion_main!(benches);
