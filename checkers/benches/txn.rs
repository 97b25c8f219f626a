//! Transactional history checking throughput: check a simulated 1M-op
//! transactional history file (reading the file included) through the
//! normal entry point with the transactional options. For the 1M-op
//! figure see `examples/check_file.rs` (`gen-txn`, `check-txn`).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use trial_checkers::generate::{simulate_txn_to_file, TxnSimConfig};
use trial_checkers::{check_history_file, CheckOptions};

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.jsonl");
    let cfg = TxnSimConfig {
        seed: 42,
        partitions: 8,
        workers: 10,
        steps: 1_700_000, // about 1M ops, as `check_file gen-txn`
        ..TxnSimConfig::default()
    };
    let n = simulate_txn_to_file(&cfg, &path).unwrap();
    let opts = CheckOptions {
        transactional: true,
        ..CheckOptions::default()
    };
    let mut g = c.benchmark_group("txn");
    g.throughput(Throughput::Elements(n));
    g.sample_size(10);
    g.bench_function(format!("check_history_file {n} ops"), |b| {
        b.iter(|| {
            let r = check_history_file(&path, &opts).unwrap();
            assert_eq!(r.ops, n);
            r
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
