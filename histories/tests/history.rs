//! What must hold of the history layer.

use proptest::prelude::*;
use std::io::Write;
use std::sync::Arc;
use trial_histories::values::{Record, Send};
use trial_histories::*;

/// A random but well-formed history: processes invoke and complete in turn.
fn arb_history() -> impl Strategy<Value = Vec<Op>> {
    (1usize..6, prop::collection::vec((0usize..6, 0u8..4, 0u64..1000, 0u8..3), 0..200)).prop_map(
        |(nproc, steps)| {
            let mut open: Vec<Option<Op>> = vec![None; nproc];
            let mut ops = Vec::new();
            for (p, outcome, v, kind) in steps {
                let p = p % nproc;
                let process = if p == 0 && nproc > 3 {
                    Process::Nemesis
                } else {
                    Process::Worker(p as u64)
                };
                match open[p].take() {
                    None => {
                        let f = match kind {
                            0 => F::Send,
                            1 => F::Poll,
                            _ => F::Other("start-partition".into()),
                        };
                        let op = Op::new(process, OpType::Invoke, f).with_value(&Send {
                            key: v % 7,
                            value: v,
                            partition: None,
                            offset: None,
                        });
                        open[p] = Some(op.clone());
                        ops.push(op);
                    }
                    Some(inv) => {
                        let t = [OpType::Ok, OpType::Fail, OpType::Info, OpType::Ok][outcome as usize];
                        let mut c = inv.complete(t);
                        if inv.f == F::Poll {
                            c = c.with_value(&serde_json::json!({"records": [Record{partition: 1, offset: v as i64, key: 2, value: v}]}));
                        }
                        if t == OpType::Info {
                            c = c.with_error("timed out: ünïcödé \"quoted\"");
                        }
                        ops.push(c);
                    }
                }
            }
            for (i, op) in ops.iter_mut().enumerate() {
                op.index = i as u64;
                op.time = i as u64 * 1000;
            }
            ops
        },
    )
}

fn write_all(ops: &[Op]) -> Vec<u8> {
    let mut buf = Vec::new();
    for op in ops {
        serde_json::to_writer(&mut buf, op).unwrap();
        buf.push(b'\n');
    }
    buf
}

proptest! {
    #[test]
    fn round_trips_through_writer_file_reader(ops in arb_history()) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("history.jsonl");
        let w = HistoryWriter::create(&path).unwrap();
        for op in &ops {
            let mut o = op.clone();
            o.index = 999; // the writer assigns index and time
            let written = w.append(o).unwrap();
            prop_assert_eq!(written.index, op.index);
        }
        w.sync().unwrap();
        let h = read_history(&path).unwrap();
        prop_assert_eq!(h.ops.len(), ops.len());
        for (a, b) in h.ops.iter().zip(&ops) {
            prop_assert_eq!(a.index, b.index);
            prop_assert_eq!(&a.process, &b.process);
            prop_assert_eq!(a.kind, b.kind);
            prop_assert_eq!(&a.f, &b.f);
            prop_assert_eq!(a.value.get(), b.value.get());
            prop_assert_eq!(&a.error, &b.error);
        }
        // times never decrease along the file
        prop_assert!(h.ops.windows(2).all(|w| w[0].time <= w[1].time));
        prop_assert!(h.warnings.is_empty());
    }

    #[test]
    fn pairing_finds_every_completion(ops in arb_history()) {
        let invokes = ops.iter().filter(|o| o.is_invoke()).count();
        let completions = ops.len() - invokes;
        let pairs = pair_all(ops.clone()).unwrap();
        prop_assert_eq!(pairs.len(), invokes);
        prop_assert_eq!(pairs.iter().filter(|p| p.completion.is_some()).count(), completions);
        for p in &pairs {
            if let Some(c) = &p.completion {
                prop_assert_eq!(&p.invoke.process, &c.process);
                prop_assert!(p.invoke.index < c.index);
                prop_assert_eq!(&p.invoke.f, &c.f);
            } else {
                prop_assert_eq!(p.outcome(), OpType::Info);
            }
        }
    }

    #[test]
    fn cut_at_any_byte_keeps_every_complete_line(ops in arb_history(), cut in any::<prop::sample::Index>()) {
        let bytes = write_all(&ops);
        prop_assume!(!bytes.is_empty());
        let at = cut.index(bytes.len() + 1);
        let part = &bytes[..at];
        // A cut right before a newline leaves a whole op without its
        // newline: that op is complete and must be read too.
        let whole_tail = at < bytes.len() && bytes[at] == b'\n' && at > 0 && part[at - 1] != b'\n';
        let complete_lines = part.iter().filter(|&&b| b == b'\n').count() + whole_tail as usize;
        let h = read_history_from(part, "cut.jsonl").unwrap();
        prop_assert_eq!(h.ops.len(), complete_lines);
        for (a, b) in h.ops.iter().zip(&ops) {
            prop_assert_eq!(a, b);
        }
        let partial = at > 0 && part[at - 1] != b'\n' && !whole_tail;
        // A cut inside a line is a warning, never an error. (A cut that
        // happens to leave a parseable prefix, e.g. right before '\n', is
        // simply a complete op.)
        prop_assert_eq!(h.warnings.len(), partial as usize);
    }
}

#[test]
fn truncated_last_line_is_a_warning() {
    let ops: Vec<Op> = (0..3)
        .map(|i| {
            let mut o = Op::new(Process::Worker(1), OpType::Invoke, "send");
            o.index = i;
            o
        })
        .collect();
    let mut bytes = write_all(&ops);
    bytes.truncate(bytes.len() - 10);
    let h = read_history_from(&bytes[..], "t").unwrap();
    assert_eq!(h.ops.len(), 2);
    assert_eq!(
        h.warnings,
        vec![ReadWarning::TruncatedLastLine {
            line: 3,
            bytes: h.warnings.first().map_or(0, |w| match w {
                ReadWarning::TruncatedLastLine { bytes, .. } => *bytes,
            })
        }]
    );
}

#[test]
fn malformed_line_names_its_number() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.jsonl");
    let mut f = std::fs::File::create(&path).unwrap();
    for i in 0..10 {
        if i == 6 {
            writeln!(f, "{{\"index\": 6, \"this is\": not json").unwrap();
        } else {
            writeln!(
                f,
                r#"{{"index":{i},"time":{i},"process":0,"type":"invoke","f":"poll","value":null}}"#
            )
            .unwrap();
        }
    }
    let err = read_history(&path).unwrap_err();
    assert_eq!(err.line(), Some(7));
    let msg = err.to_string();
    assert!(msg.contains("line 7"), "{msg}");
    assert!(msg.contains("h.jsonl"), "{msg}");
}

#[test]
fn pairing_errors_are_clear() {
    let mk = |i: u64, p: u64, t: OpType| {
        let mut o = Op::new(Process::Worker(p), t, "send");
        o.index = i;
        o
    };
    let e = pair_all(vec![mk(0, 1, OpType::Invoke), mk(1, 1, OpType::Invoke)]).unwrap_err();
    assert_eq!(
        e,
        PairError::DoubleInvoke {
            process: Process::Worker(1),
            first: 0,
            second: 1
        }
    );
    assert!(e.to_string().contains("still outstanding"));
    let e = pair_all(vec![mk(0, 2, OpType::Ok)]).unwrap_err();
    assert!(matches!(e, PairError::Orphan { index: 0, .. }));
    assert!(e.to_string().contains("never invoked"));
}

/// Lines are written in groups, but none waits long: without a `sync`,
/// what was appended is in the file, whole lines only, within a few
/// `FLUSH_EVERY` (a controller killed then loses at most that much), and
/// a burst is written as soon as `FLUSH_BYTES` gather.
#[test]
fn appended_lines_reach_the_file_within_the_flush_interval_without_a_sync() {
    use trial_histories::writer::{FLUSH_BYTES, FLUSH_EVERY};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.jsonl");
    let w = HistoryWriter::create(&path).unwrap();
    let op = |v: u64| {
        Op::new(Process::Worker(1), OpType::Invoke, F::Send).with_value(&Send {
            key: 1,
            value: v,
            partition: None,
            offset: None,
        })
    };
    w.append(op(1)).unwrap();
    w.append(op(2)).unwrap();
    let lines = |p: &std::path::Path| std::fs::read_to_string(p).unwrap();
    let t = std::time::Instant::now();
    while lines(&path).lines().count() < 2 {
        assert!(
            t.elapsed() < FLUSH_EVERY * 50,
            "two lines appended were not written within {:?}",
            FLUSH_EVERY * 50
        );
        std::thread::sleep(FLUSH_EVERY / 4);
    }
    // A burst larger than FLUSH_BYTES is written at once, not after the
    // interval: whole lines, the last of them complete.
    let n = FLUSH_BYTES as u64 / 40 + 100;
    for v in 0..n {
        w.append(op(v + 3)).unwrap();
    }
    let text = lines(&path);
    assert!(text.len() >= FLUSH_BYTES, "{} bytes written", text.len());
    assert!(text.ends_with('\n'), "the file ends inside a line");
    assert_eq!(
        read_history(&path).unwrap().ops.len(),
        text.lines().count(),
        "every line written parses"
    );
    w.sync().unwrap();
    assert_eq!(read_history(&path).unwrap().ops.len() as u64, n + 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixty_four_tasks_append_dense_unique_indices() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.jsonl");
    let w = Arc::new(HistoryWriter::create(&path).unwrap());
    let mut tasks = Vec::new();
    for t in 0..64u64 {
        let w = w.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..10_000u64 {
                let kind = if i % 2 == 0 {
                    OpType::Invoke
                } else {
                    OpType::Ok
                };
                w.append(
                    Op::new(Process::Worker(t), kind, F::Send).with_value(&Send {
                        key: t,
                        value: t * 100_000 + i / 2,
                        partition: None,
                        offset: None,
                    }),
                )
                .unwrap();
                if i % 1000 == 0 {
                    tokio::task::yield_now().await;
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(w.len(), 640_000);
    drop(w);
    let mut seen = vec![false; 640_000];
    let mut n = 0;
    let mut last_time = 0;
    for op in HistoryReader::open(&path).unwrap() {
        let op = op.unwrap();
        assert!(!seen[op.index as usize], "duplicate index {}", op.index);
        seen[op.index as usize] = true;
        assert!(op.time >= last_time);
        last_time = op.time;
        n += 1;
    }
    assert_eq!(n, 640_000);
    assert!(seen.iter().all(|&s| s));
    // and each task's ops pair up
    let h = read_history(&path).unwrap();
    let pairs = pair_all(h.ops).unwrap();
    assert_eq!(pairs.len(), 320_000);
    assert!(pairs.iter().all(|p| p.completion.is_some()));
}
