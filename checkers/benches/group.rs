//! Consumer-group history checking throughput: check a simulated 1M-op
//! group history (joins, crashes, rebalances, commits; reading the file
//! included) through the normal entry point. The same file from the CLI:
//! `check_file gen-group FILE 1000000` then `check_file check FILE`.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use trial_checkers::generate::{simulate_group_to_file, GroupSimConfig};
use trial_checkers::{check_history_file, CheckOptions};

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.jsonl");
    let cfg = GroupSimConfig {
        seed: 42,
        partitions: 8,
        members: 4,
        steps: 1_000_000 * 10 / 29, // about 1M ops, as `check_file gen-group`
        ..GroupSimConfig::default()
    };
    let n = simulate_group_to_file(&cfg, &path).unwrap();
    let mut g = c.benchmark_group("group");
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
