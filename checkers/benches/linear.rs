//! Linearizability checker: 10k ops at concurrency 10 for the log and the
//! cas-register models.

use criterion::{criterion_group, criterion_main, Criterion};
use std::time::Duration;
use trial_checkers::generate::{cas_register_calls, simulate, SimConfig};
use trial_checkers::linear::models::{CasRegister, Log};
use trial_checkers::linear::{check, log_calls};
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

criterion_group!(benches, bench);
criterion_main!(benches);
