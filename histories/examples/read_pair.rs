//! Read and pair a big history, report ops/s. For peak memory, run under
//! `/usr/bin/time -v`:
//!
//! ```sh
//! cargo run --release -p trial-histories --example read_pair -- gen /tmp/h1m.jsonl 1000000
//! /usr/bin/time -v target/release/examples/read_pair read /tmp/h1m.jsonl
//! ```

use std::path::Path;
use std::time::Instant;
use trial_histories::values::{Record, Send};
use trial_histories::*;

/// Write a queue-workload-like history of `n` ops: 10 workers alternating
/// sends and polls of 1–5 records, plus nemesis ops.
pub fn generate(path: &Path, n: u64) {
    let w = HistoryWriter::from_writer(std::io::BufWriter::with_capacity(
        1 << 20,
        std::fs::File::create(path).unwrap(),
    ));
    let mut value = 0u64;
    let mut offset = [0i64; 8];
    let mut i = 0u64;
    while i < n {
        let p = i % 10;
        let proc_ = Process::Worker(p);
        if (i / 10) & 1 == 0 {
            value += 1;
            let key = value % 16;
            let part = (key % 8) as i32;
            let s = Send {
                key,
                value,
                partition: None,
                offset: None,
            };
            w.append(Op::new(proc_.clone(), OpType::Invoke, F::Send).with_value(&s))
                .unwrap();
            offset[part as usize] += 1;
            let s = Send {
                partition: Some(part),
                offset: Some(offset[part as usize]),
                ..s
            };
            w.append(Op::new(proc_, OpType::Ok, F::Send).with_value(&s))
                .unwrap();
        } else {
            w.append(Op::new(proc_.clone(), OpType::Invoke, F::Poll))
                .unwrap();
            let recs: Vec<Record> = (0..(i % 5 + 1))
                .map(|k| Record {
                    partition: (k % 8) as i32,
                    offset: k as i64,
                    key: k,
                    value: value - k.min(value),
                })
                .collect();
            w.append(
                Op::new(proc_, OpType::Ok, F::Poll)
                    .with_value(&serde_json::json!({ "records": recs })),
            )
            .unwrap();
        }
        i += 2;
    }
    w.sync().unwrap();
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("gen") => {
            let n = args
                .get(3)
                .and_then(|s| s.parse().ok())
                .unwrap_or(1_000_000);
            generate(Path::new(&args[2]), n);
        }
        Some("read") => {
            let t = Instant::now();
            let mut p = Pairer::new();
            let mut n = 0u64;
            let mut pairs = 0u64;
            for op in HistoryReader::open(Path::new(&args[2])).unwrap() {
                n += 1;
                if p.push(op.unwrap()).unwrap().is_some() {
                    pairs += 1;
                }
            }
            let s = t.elapsed().as_secs_f64();
            println!(
                "{n} ops, {pairs} pairs in {s:.3} s: {:.0} ops/s",
                n as f64 / s
            );
        }
        _ => eprintln!("usage: read_pair gen FILE [N] | read FILE"),
    }
}
