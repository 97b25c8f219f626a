//! Queue checker throughput: check a simulated 200k-op history file
//! (reading the file included). For the 1M-op figure and peak memory see
//! `examples/check_file.rs` and checkers/README.md.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use trial_checkers::generate::{simulate_to_file, SimConfig};
use trial_checkers::{check_history_file, CheckOptions};

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.jsonl");
    let cfg = SimConfig {
        seed: 42,
        partitions: 8,
        workers: 10,
        steps: 200_000,
        txns: false,
        nemesis: true,
        fault: None,
        observer: false,
    };
    let n = simulate_to_file(&cfg, &path).unwrap();
    let mut g = c.benchmark_group("queue");
    g.throughput(Throughput::Elements(n));
    g.sample_size(10);
    g.bench_function(format!("check_history_file {n} ops"), |b| {
        b.iter(|| {
            let r = check_history_file(&path, &CheckOptions::default()).unwrap();
            assert_eq!(r.ops, n);
            r
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
