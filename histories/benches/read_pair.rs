//! Reading and pairing a generated 1,000,000-op history.
//! `cargo bench -p trial-histories --bench read_pair`

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::path::Path;
use trial_histories::*;

#[path = "../examples/read_pair.rs"]
#[allow(dead_code)]
mod gen;

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.jsonl");
    let n = 1_000_000u64;
    gen::generate(&path, n);
    let mut g = c.benchmark_group("history");
    g.sample_size(10);
    g.throughput(Throughput::Elements(n));
    g.bench_function("read_and_pair_1M", |b| {
        b.iter(|| {
            let mut p = Pairer::new();
            let mut pairs = 0u64;
            for op in HistoryReader::open(Path::new(&path)).unwrap() {
                if p.push(op.unwrap()).unwrap().is_some() {
                    pairs += 1;
                }
            }
            assert_eq!(pairs, n / 2);
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
