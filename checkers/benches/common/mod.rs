#![allow(dead_code)] // each bench uses a part of it
//! What the file-checking benches share: a generated history file in a
//! temporary folder, and a criterion group that checks it through the
//! normal entry point (reading the file included).

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, Throughput};
use std::path::{Path, PathBuf};
use trial_checkers::{check_history_file, CheckOptions};

/// A history written by `write` (which returns its op count) into a fresh
/// temporary folder, kept as long as the returned guard lives.
pub fn history_file(
    write: impl FnOnce(&Path) -> std::io::Result<u64>,
) -> (tempfile::TempDir, PathBuf, u64) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("history.jsonl");
    let n = write(&path).expect("write the history");
    (dir, path, n)
}

/// A group `name` (10 samples, throughput in ops) with one bench:
/// `check_history_file` of `path` with `opts`; more can be added before
/// it is finished.
pub fn check_file_group<'a>(
    c: &'a mut Criterion,
    name: &str,
    path: &'a Path,
    n: u64,
    opts: &'a CheckOptions,
) -> BenchmarkGroup<'a, WallTime> {
    let mut g = c.benchmark_group(name);
    g.throughput(Throughput::Elements(n));
    g.sample_size(10);
    g.bench_function(format!("check_history_file {n} ops"), |b| {
        b.iter(|| {
            let r = check_history_file(path, opts).unwrap();
            assert_eq!(r.ops, n);
            r
        })
    });
    g
}
