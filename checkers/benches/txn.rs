//! Transactional history checking throughput: check a simulated 1M-op
//! transactional history file (reading the file included) through the
//! normal entry point with the transactional options. For the 1M-op
//! figure see `examples/check_file.rs` (`gen-txn`, `check-txn`); its
//! memory (peak RSS per op) and the commands are in `checkers/README.md`,
//! "Issue 35: the transactional check's memory".

mod common;

use criterion::{criterion_group, criterion_main, Criterion};
use trial_checkers::generate::{simulate_txn_to_file, TxnSimConfig};
use trial_checkers::CheckOptions;

fn bench(c: &mut Criterion) {
    let cfg = TxnSimConfig {
        seed: 42,
        partitions: 8,
        workers: 10,
        steps: 1_700_000, // about 1M ops, as `check_file gen-txn`
        ..TxnSimConfig::default()
    };
    let (_dir, path, n) = common::history_file(|p| simulate_txn_to_file(&cfg, p));
    let opts = CheckOptions {
        transactional: true,
        ..CheckOptions::default()
    };
    common::check_file_group(c, "txn", &path, n, &opts).finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
