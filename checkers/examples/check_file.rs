//! Generate a big simulated history, or check one and report ops/s.
//! For peak memory, run under `/usr/bin/time -v`:
//!
//! ```sh
//! cargo build --release -p trial-checkers --example check_file
//! target/release/examples/check_file gen /tmp/q1m.jsonl 1000000
//! /usr/bin/time -v target/release/examples/check_file check /tmp/q1m.jsonl
//! ```

use std::path::Path;
use std::time::Instant;
use trial_checkers::generate::{
    simulate_group_to_file, simulate_to_file, simulate_txn_to_file, GroupSimConfig, SimConfig,
    TxnSimConfig,
};
use trial_checkers::{check_history_file, CheckOptions};

fn main() {
    let a: Vec<String> = std::env::args().collect();
    match a.get(1).map(String::as_str) {
        Some("gen") if a.len() >= 3 => {
            let n: u64 = a.get(3).and_then(|s| s.parse().ok()).unwrap_or(1_000_000);
            let txns = a.get(4).is_some_and(|s| s == "txns");
            let cfg = SimConfig {
                seed: 42,
                partitions: 8,
                workers: 10,
                // About one op per step; final reads and heal add a few.
                steps: n.saturating_sub(20),
                txns,
                nemesis: true,
                fault: None,
                observer: false,
            };
            let t = Instant::now();
            let ops = simulate_to_file(&cfg, Path::new(&a[2])).expect("write");
            println!("{ops} ops written in {:.2} s", t.elapsed().as_secs_f64());
        }
        Some("gen-txn") if a.len() >= 3 => {
            let n: u64 = a.get(3).and_then(|s| s.parse().ok()).unwrap_or(1_000_000);
            let cfg = TxnSimConfig {
                seed: 42,
                partitions: 8,
                workers: 10,
                // About 0.59 ops per step: a transaction's micro-ops take a
                // step each and write no op.
                steps: n * 17 / 10,
                ..TxnSimConfig::default()
            };
            let t = Instant::now();
            let ops = simulate_txn_to_file(&cfg, Path::new(&a[2])).expect("write");
            println!("{ops} ops written in {:.2} s", t.elapsed().as_secs_f64());
        }
        Some("gen-group") if a.len() >= 3 => {
            let n: u64 = a.get(3).and_then(|s| s.parse().ok()).unwrap_or(1_000_000);
            let cfg = GroupSimConfig {
                seed: 42,
                partitions: 8,
                members: 4,
                // About 2.9 ops per step (sends, polls and commits are
                // pairs; faults and rebalances write more).
                steps: n * 10 / 29,
                ..GroupSimConfig::default()
            };
            let t = Instant::now();
            let ops = simulate_group_to_file(&cfg, Path::new(&a[2])).expect("write");
            println!("{ops} ops written in {:.2} s", t.elapsed().as_secs_f64());
        }
        Some(cmd @ ("check" | "check-txn")) if a.len() >= 3 => {
            let t = Instant::now();
            // SKIP_CHECKERS=effects,stats turns registered checkers off (to
            // measure what each one costs).
            let opts = CheckOptions {
                skip_checkers: std::env::var("SKIP_CHECKERS")
                    .map(|s| s.split(',').map(str::to_string).collect())
                    .unwrap_or_default(),
                transactional: cmd == "check-txn",
                ..CheckOptions::default()
            };
            let r = check_history_file(Path::new(&a[2]), &opts).unwrap_or_else(|e| panic!("{e}"));
            let s = t.elapsed().as_secs_f64();
            // RESULTS_JSON=FILE writes the whole results (to compare runs).
            if let Ok(out) = std::env::var("RESULTS_JSON") {
                let json = serde_json::to_string_pretty(&r).expect("results serialise");
                std::fs::write(&out, json).expect("write RESULTS_JSON");
            }
            println!("{}", r.human_summary(2));
            println!(
                "{} ops checked in {s:.3} s: {:.0} ops/s",
                r.ops,
                r.ops as f64 / s
            );
        }
        Some("read") if a.len() >= 3 => {
            // The floor: trial_histories::HistoryReader alone.
            let t = Instant::now();
            let mut n = 0u64;
            for op in trial_histories::HistoryReader::open(Path::new(&a[2])).expect("open") {
                op.expect("op");
                n += 1;
            }
            let s = t.elapsed().as_secs_f64();
            println!("{n} ops read in {s:.3} s: {:.0} ops/s", n as f64 / s);
        }
        _ => eprintln!("usage: check_file gen FILE [N] [txns] | gen-txn FILE [N] | gen-group FILE [N] | check FILE | check-txn FILE | read FILE"),
    }
}
