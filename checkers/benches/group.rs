//! Consumer-group history checking throughput: check a simulated 1M-op
//! group history (joins, crashes, rebalances, commits; reading the file
//! included) through the normal entry point. The same file from the CLI:
//! `check_file gen-group FILE 1000000` then `check_file check FILE`.

mod common;

use criterion::{criterion_group, criterion_main, Criterion};
use trial_checkers::generate::{simulate_group_to_file, GroupSimConfig};
use trial_checkers::CheckOptions;

fn bench(c: &mut Criterion) {
    let cfg = GroupSimConfig {
        seed: 42,
        partitions: 8,
        members: 4,
        steps: 1_000_000 * 10 / 29, // about 1M ops, as `check_file gen-group`
        ..GroupSimConfig::default()
    };
    let (_dir, path, n) = common::history_file(|p| simulate_group_to_file(&cfg, p));
    let opts = CheckOptions::default();
    common::check_file_group(c, "group", &path, n, &opts).finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
