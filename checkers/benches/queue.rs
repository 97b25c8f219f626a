//! Queue checker throughput: check a simulated 1M-op history file (reading
//! and parsing the file included), on all cores (the default pass) and with
//! the reference pass (serde's parser, two threads: the pass before issue
//! 17). For the 10M-op figure and peak memory see `examples/check_file.rs`
//! and checkers/README.md ("Issue 17: checking at scale").

mod common;

use criterion::{criterion_group, criterion_main, Criterion};
use trial_checkers::checker::REGISTRY;
use trial_checkers::generate::{simulate_to_file, SimConfig};
use trial_checkers::ingest::ingest_file_reference;
use trial_checkers::CheckOptions;

fn bench(c: &mut Criterion) {
    let cfg = SimConfig {
        seed: 42,
        partitions: 8,
        workers: 10,
        steps: 1_000_000,
        txns: false,
        nemesis: true,
        fault: None,
        observer: false,
    };
    let (_dir, path, n) = common::history_file(|p| simulate_to_file(&cfg, p));
    let opts = CheckOptions::default();
    let mut g = common::check_file_group(c, "queue", &path, n, &opts);
    g.bench_function(format!("reference pass {n} ops"), |b| {
        b.iter(|| {
            let r = ingest_file_reference(&path, &opts, REGISTRY).unwrap();
            assert_eq!(r.ops, n);
            r.ops
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
