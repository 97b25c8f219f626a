//! Time the `log` model's check of a kafka-trial history file (streamed
//! into compact calls, then the greedy; the search only where it cannot
//! decide):
//!
//! ```sh
//! cargo build --release -p trial-checkers --example check_file --example linear_log
//! target/release/examples/check_file gen /tmp/q1m.jsonl 1000000
//! /usr/bin/time -f "%e s wall %U s user %S s sys %M KB" target/release/examples/linear_log /tmp/q1m.jsonl
//! ```

use std::path::Path;
use std::time::Instant;
use trial_checkers::linear::check_history_log_budget;

fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: linear_log FILE");
        std::process::exit(3);
    };
    let t = Instant::now();
    let r =
        check_history_log_budget(Path::new(&path), "log", None).unwrap_or_else(|e| panic!("{e}"));
    let s = t.elapsed().as_secs_f64();
    println!(
        "{}: {} calls in {} partitions ({} searched), {} explored",
        r.valid, r.ops, r.partitions, r.searched_partitions, r.explored
    );
    if let Some(c) = &r.counterexample {
        println!("{}", c.message);
    }
    if let Some(u) = &r.unknown_reason {
        println!("unknown: {u}");
    }
    println!(
        "{} calls checked in {s:.3} s: {:.0} calls/s",
        r.ops,
        r.ops as f64 / s
    );
}
