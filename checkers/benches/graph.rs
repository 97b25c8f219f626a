//! Transaction-graph throughput: build the dependency graph of a generated
//! serial execution of 250k transactions (about a 1M-op history: an invoke
//! and a completion per transaction, 1–4 micro-ops each) with process and
//! realtime edges, and search it for cycles; once with no cycle (the normal
//! case) and once with three injected ones (a write-write swap, a stale
//! read, a real-time inversion).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use trial_checkers::graph::gen::{
    realtime_inversion, serial, stale_read, swap_writers, SerialConfig,
};
use trial_checkers::graph::{analyse, Input};

fn input(partitions: usize) -> Input {
    serial(&SerialConfig {
        seed: 7,
        txns: 250_000,
        partitions,
        processes: 16,
        max_ops: 4,
        // About 16 transactions in flight at once.
        overlap: 160,
        process_edges: true,
        realtime_edges: true,
    })
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("graph");
    g.sample_size(10);
    for partitions in [8, 32] {
        let clean = input(partitions);
        let n = clean.txns.len() as u64;
        g.throughput(Throughput::Elements(n));
        let f = analyse(&clean, 3);
        assert!(f.counts.is_empty(), "{:?}", f.counts);
        eprintln!(
            "{partitions} partitions: edges (ww, wr, rw, process, realtime) {:?}",
            f.edges
        );
        g.bench_function(
            format!("{n} txns, {partitions} partitions, no cycle"),
            |b| b.iter(|| analyse(&clean, 3)),
        );

        let mut bad = clean.clone();
        swap_writers(&mut bad).expect("a pair to swap");
        stale_read(&mut bad).expect("a read to make stale");
        realtime_inversion(&mut bad).expect("a pair to invert");
        let f = analyse(&bad, 3);
        assert!(!f.counts.is_empty());
        eprintln!("{partitions} partitions, injected: {:?}", f.counts);
        g.bench_function(
            format!("{n} txns, {partitions} partitions, 3 injected cycles"),
            |b| b.iter(|| analyse(&bad, 3)),
        );
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
