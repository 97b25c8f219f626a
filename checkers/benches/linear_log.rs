//! The `log` model on a generated 1M-op history (8 partitions, 10
//! workers, with a nemesis): streaming the file into compact calls and
//! deciding them (the greedy of `linear::log`; the search only where it
//! cannot decide), and the decision alone.
//!
//! `cargo bench -p trial-checkers --bench linear_log`

use criterion::{criterion_group, criterion_main, Criterion};
use std::time::Duration;
use trial_checkers::generate::{simulate_to_file, SimConfig};
use trial_checkers::linear::check_history_log_budget;
use trial_checkers::linear::log::{check_log, log_calls_compact};
use trial_checkers::Validity;

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("history.jsonl");
    let cfg = SimConfig {
        seed: 42,
        partitions: 8,
        workers: 10,
        steps: 1_000_000 - 20,
        txns: false,
        nemesis: true,
        fault: None,
        observer: false,
    };
    let ops = simulate_to_file(&cfg, &path).expect("write the history");
    let mut g = c.benchmark_group("linear-log");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(10));
    g.throughput(criterion::Throughput::Elements(ops));
    g.bench_function(format!("file of {ops} ops: stream + decide"), |b| {
        b.iter(|| {
            let r = check_history_log_budget(&path, "log", None).expect("check");
            assert_eq!((r.valid, r.searched_partitions), (Validity::Valid, 0));
            r
        })
    });
    let history = trial_histories::read_history(&path).expect("read").ops;
    let calls = log_calls_compact(&history);
    drop(history);
    g.bench_function(format!("decide {} calls", calls.len()), |b| {
        b.iter(|| {
            let r = check_log(&calls, Duration::from_secs(60));
            assert_eq!(r.valid, Validity::Valid);
            r
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
