//! The history writer's ceiling: how many ops a second `HistoryWriter`
//! appends to a file when two threads share it, as the queue workload's
//! sender thread (invocations) and librdkafka's delivery thread
//! (completions) do. The load generator writes two lines per
//! acknowledged send, so its ceiling in sends/s is half of this figure.
//! `no-syscall` is the same with a sink that takes the bytes without a
//! system call: serialisation and the lock alone.
//! `cargo bench -p trial-histories --bench writer`

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::sync::Arc;
use trial_histories::values::Send;
use trial_histories::{HistoryWriter, Op, OpType, Process, F};

const OPS: u64 = 200_000;

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.jsonl");
    let mut g = c.benchmark_group("history-writer");
    g.sample_size(10);
    g.throughput(Throughput::Elements(OPS));
    for sink in ["file", "no-syscall"] {
        g.bench_function(format!("append_200k_two_threads/{sink}"), |b| {
            b.iter(|| {
                let w = Arc::new(if sink == "file" {
                    HistoryWriter::create(&path).unwrap()
                } else {
                    // Serialisation and the lock alone: what a writer that
                    // did not call write(2) per line could reach.
                    HistoryWriter::from_writer(std::io::sink())
                });
                let (tx, rx) = std::sync::mpsc::sync_channel::<(u64, Send)>(4096);
                let completer = {
                    let w = w.clone();
                    std::thread::spawn(move || {
                        for (p, mut v) in rx {
                            v.partition = Some((v.key % 8) as i32);
                            v.offset = Some(v.value as i64);
                            w.append(
                                Op::new(Process::Worker(p), OpType::Ok, F::Send).with_value(&v),
                            )
                            .unwrap();
                        }
                    })
                };
                for i in 0..OPS / 2 {
                    let v = Send {
                        key: i % 100,
                        value: i + 1,
                        partition: None,
                        offset: None,
                    };
                    let p = 4 + i % 256;
                    w.append(Op::new(Process::Worker(p), OpType::Invoke, F::Send).with_value(&v))
                        .unwrap();
                    tx.send((p, v)).unwrap();
                }
                drop(tx);
                completer.join().unwrap();
                assert_eq!(w.len(), OPS);
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
