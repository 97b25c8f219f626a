//! The log model's greedy ([`super::log`]) against the search, and the
//! compact call builder against the one it replaced, on generated
//! histories: linearizable ones and ones with an injected violation.

use super::log::{check_log, decide, log_calls_compact, Decision, LogCalls, NO};
use super::models::{Log, LogInput, LogOutput};
use super::{check, Call};
use crate::verdict::Validity;
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::time::Duration;
use trial_histories::values::{FinalRead, Poll, Record, Send};
use trial_histories::{Op, OpType, F};

/// The calls as they were built before the compact builder (the
/// reference its tests compare with).
pub(crate) fn log_calls_reference(ops: &[Op]) -> Vec<Call<LogInput, LogOutput>> {
    // Pass 1: where each partition starts, and where keys and values live
    // (an `info` send's partition is not in its op: the key's partition,
    // learnt from acknowledged sends, or a read of its value, says it).
    let mut base: BTreeMap<i32, i64> = BTreeMap::new();
    let mut key_part: BTreeMap<u64, i32> = BTreeMap::new();
    let mut value_part: BTreeMap<u64, i32> = BTreeMap::new();
    // Where each value was first read, and which partitions a final read
    // returned completely.
    let mut value_pos: BTreeMap<u64, (i32, i64)> = BTreeMap::new();
    let mut complete_final: std::collections::BTreeSet<i32> = Default::default();
    let note = |p: i32, o: i64, base: &mut BTreeMap<i32, i64>| {
        let b = base.entry(p).or_insert(o);
        *b = (*b).min(o);
    };
    for op in ops {
        if op.kind != OpType::Ok {
            continue;
        }
        match op.f {
            F::Send => {
                if let Ok(Send {
                    key,
                    partition: Some(p),
                    offset: Some(o),
                    ..
                }) = op.value_as::<Send>()
                {
                    note(p, o, &mut base);
                    key_part.insert(key, p);
                }
            }
            F::Poll => {
                if let Ok(poll) = op.value_as::<Poll>() {
                    for r in poll.records {
                        note(r.partition, r.offset, &mut base);
                        value_part.insert(r.value, r.partition);
                        value_pos.entry(r.value).or_insert((r.partition, r.offset));
                    }
                }
            }
            F::FinalRead => {
                if let Ok(fr) = op.value_as::<FinalRead>() {
                    note(fr.partition, fr.start_offset, &mut base);
                    if fr.records.len() as i64 >= fr.high_watermark - fr.start_offset {
                        complete_final.insert(fr.partition);
                    }
                    for r in fr.records {
                        value_part.insert(r.value, r.partition);
                        value_pos.entry(r.value).or_insert((r.partition, r.offset));
                    }
                }
            }
            _ => {}
        }
    }
    let rel = |p: i32, o: i64| (o - base.get(&p).copied().unwrap_or(0)).max(0) as u64;

    // Pass 2: calls.
    struct Pend {
        f: F,
        index: u64,
        pos: u64,
        send: Option<usize>,
    }
    let mut pending: BTreeMap<String, Pend> = BTreeMap::new();
    let mut out: Vec<Call<LogInput, LogOutput>> = Vec::new();
    let mut dropped: Vec<bool> = Vec::new();
    for (pos, op) in ops.iter().enumerate() {
        let pos = pos as u64;
        let process = op.process.to_string();
        if op.kind == OpType::Invoke {
            let mut send = None;
            if op.f == F::Send {
                if let Ok(s) = op.value_as::<Send>() {
                    let part = value_part
                        .get(&s.value)
                        .or_else(|| key_part.get(&s.key))
                        .copied();
                    // An indefinite send whose value was read is placed
                    // where it was read (a send appends once); one never
                    // read, in a partition whose final read returned the
                    // whole log, did not take effect (the log model never
                    // removes anything). Both prune the search, which
                    // otherwise tries every order of indefinite sends.
                    let read_at = value_pos.get(&s.value).copied();
                    let drop_it =
                        read_at.is_none() && part.is_some_and(|p| complete_final.contains(&p));
                    if let Some(p) = part.filter(|_| !drop_it) {
                        out.push(Call {
                            input: LogInput::Send {
                                partition: p,
                                value: s.value,
                            },
                            output: read_at.map(|(rp, ro)| LogOutput::Offset(rel(rp, ro))),
                            invoke: pos,
                            complete: None,
                            index: op.index,
                            process: process.clone(),
                        });
                        dropped.push(false);
                        send = Some(out.len() - 1);
                    }
                }
            }
            pending.insert(
                process,
                Pend {
                    f: op.f.clone(),
                    index: op.index,
                    pos,
                    send,
                },
            );
            continue;
        }
        let Some(pd) = pending.remove(&process) else {
            continue; // a standalone event (crash, rebalance)
        };
        if pd.f != op.f {
            pending.insert(process, pd);
            continue;
        }
        match (&op.f, op.kind) {
            (F::Send, OpType::Ok) => {
                if let (Some(ci), Ok(s)) = (pd.send, op.value_as::<Send>()) {
                    if let (Some(p), Some(o)) = (s.partition, s.offset) {
                        out[ci].input = LogInput::Send {
                            partition: p,
                            value: s.value,
                        };
                        out[ci].output = Some(LogOutput::Offset(rel(p, o)));
                        out[ci].complete = Some(pos);
                    }
                }
            }
            (F::Send, OpType::Fail) => {
                if let Some(ci) = pd.send {
                    dropped[ci] = true;
                }
            }
            (F::Poll, OpType::Ok) | (F::FinalRead, OpType::Ok) => {
                let recs: Vec<Record> = if op.f == F::Poll {
                    op.value_as::<Poll>().map(|p| p.records).unwrap_or_default()
                } else {
                    op.value_as::<FinalRead>()
                        .map(|p| p.records)
                        .unwrap_or_default()
                };
                // One read per contiguous run of a partition's records.
                let mut i = 0;
                while i < recs.len() {
                    let p = recs[i].partition;
                    let mut j = i + 1;
                    while j < recs.len()
                        && recs[j].partition == p
                        && recs[j].offset == recs[j - 1].offset + 1
                    {
                        j += 1;
                    }
                    out.push(Call {
                        input: LogInput::Read {
                            partition: p,
                            from: rel(p, recs[i].offset),
                        },
                        output: Some(LogOutput::Values(
                            recs[i..j].iter().map(|r| r.value).collect(),
                        )),
                        invoke: pd.pos,
                        complete: Some(pos),
                        index: pd.index,
                        process: process.clone(),
                    });
                    dropped.push(false);
                    i = j;
                }
            }
            _ => {}
        }
    }
    out.into_iter()
        .zip(dropped)
        .filter(|(_, d)| !d)
        .map(|(c, _)| c)
        .collect()
}

/// One op of a generated execution: what it did at its linearization
/// point, and its interval around it (times before ranking).
#[derive(Debug, Clone)]
struct Gen {
    input: LogInput,
    output: Option<LogOutput>,
    invoke: u32,
    complete: Option<u32>,
}

/// A linearizable execution: ops take effect at points 10, 20, 30, … of
/// a model log per partition; each op's interval reaches `before` points
/// back and `after` forward (overlaps make concurrency). Some sends are
/// indefinite (read or not), some of unknown offset (never read, so
/// nothing depends on them: they append after everything else).
fn execution() -> impl Strategy<Value = Vec<Gen>> {
    proptest::collection::vec(
        (
            0u8..10,
            0i32..2,
            0u32..25,
            0u32..25,
            0u8..10,
            0u64..4,
            0u64..4,
        ),
        1..10,
    )
    .prop_map(|steps| {
        let mut logs: BTreeMap<i32, Vec<u64>> = BTreeMap::new();
        let mut out = Vec::new();
        let mut late_unknown = Vec::new();
        for (n, (kind, p, before, after, fate, a, b)) in steps.into_iter().enumerate() {
            let t = 1000 + 10 * n as u32;
            let log = logs.entry(p).or_default();
            let (invoke, complete) = (t - before, t + after);
            if kind < 5 {
                let value = 100 + n as u64;
                if fate == 0 {
                    // Indefinite, never read: its offset is unknown; it
                    // takes effect after everything (a valid choice).
                    late_unknown.push(Gen {
                        input: LogInput::Send {
                            partition: p,
                            value,
                        },
                        output: None,
                        invoke,
                        complete: None,
                    });
                    continue;
                }
                out.push(Gen {
                    input: LogInput::Send {
                        partition: p,
                        value,
                    },
                    output: Some(LogOutput::Offset(log.len() as u64)),
                    invoke,
                    complete: (fate > 2).then_some(complete),
                });
                log.push(value);
            } else {
                let len = log.len() as u64;
                let from = a.min(len);
                let k = b.min(len - from);
                out.push(Gen {
                    input: LogInput::Read { partition: p, from },
                    output: Some(LogOutput::Values(
                        log[from as usize..(from + k) as usize].to_vec(),
                    )),
                    invoke,
                    complete: Some(complete),
                });
            }
        }
        out.extend(late_unknown);
        out
    })
}

/// Distinct positions from the generated times (ties broken by op).
fn calls(gen: &[Gen]) -> Vec<Call<LogInput, LogOutput>> {
    let mut ev: Vec<(u32, usize, bool)> = Vec::new();
    for (i, g) in gen.iter().enumerate() {
        ev.push((g.invoke, i, false));
        if let Some(c) = g.complete {
            ev.push((c, i, true));
        }
    }
    ev.sort();
    let mut pos = vec![(0u64, None); gen.len()];
    for (r, &(_, i, ret)) in ev.iter().enumerate() {
        if ret {
            pos[i].1 = Some(r as u64);
        } else {
            pos[i].0 = r as u64;
        }
    }
    gen.iter()
        .zip(pos)
        .enumerate()
        .map(|(i, (g, (invoke, complete)))| Call {
            input: g.input,
            output: g.output.clone(),
            invoke,
            complete,
            index: i as u64,
            process: format!("p{i}"),
        })
        .collect()
}

/// The same verdict from the greedy (also partition by partition, before
/// any fallback) and from the search.
fn agree(c: &[Call<LogInput, LogOutput>]) -> Validity {
    let limit = Duration::from_secs(20);
    let slow = check(&Log, c.to_vec(), limit);
    let lc = LogCalls::from_calls(c);
    let fast = check_log(&lc, limit);
    assert_eq!(
        fast.valid, slow.valid,
        "greedy {fast:?}\nsearch {slow:?}\n{c:#?}"
    );
    // The greedy's own answers, per partition, agree with the search's.
    for (p, cx) in partitions_agree(&lc, limit) {
        assert!(c.iter().any(|x| x.index == cx.op_index), "partition {p}");
    }
    if let Some(cx) = &fast.counterexample {
        assert!(cx.prefix_tail.len() <= 20 && cx.prefix_tail.len() <= cx.prefix_len);
    }
    fast.valid
}

/// The greedy's answer for each partition of `lc` agrees with the search
/// on that partition's calls alone; the counterexamples it gave.
pub(super) fn partitions_agree(
    lc: &LogCalls,
    limit: Duration,
) -> Vec<(i32, Box<super::Counterexample>)> {
    let mut parts: BTreeMap<i32, (Vec<u32>, Vec<u32>)> = BTreeMap::new();
    for (i, s) in lc.sends.iter().enumerate() {
        parts.entry(s.partition).or_default().0.push(i as u32);
    }
    for (i, r) in lc.reads.iter().enumerate() {
        parts.entry(r.partition).or_default().1.push(i as u32);
    }
    let mut found = Vec::new();
    for (p, (s, r)) in &parts {
        let part = lc.calls_of(s, r);
        let vacuous = part.iter().all(|x| x.complete.is_none());
        let alone = match check(&Log, part, limit).valid {
            // Nothing completed: the search says unknown (no vacuous pass).
            Validity::Unknown if vacuous => Validity::Valid,
            v => v,
        };
        match decide(lc, *p, s, r) {
            Decision::Valid => assert_eq!(alone, Validity::Valid, "partition {p}: {lc:#?}"),
            Decision::Invalid(cx) => {
                assert_eq!(alone, Validity::Invalid, "partition {p}: {cx:?}\n{lc:#?}");
                assert!(cx.message.contains("cannot be linearized"));
                found.push((*p, cx));
            }
            Decision::Undecided(_) => {}
        }
    }
    found
}

/// The read with values whose last value's send is known, and that send.
fn read_and_its_send(c: &[Call<LogInput, LogOutput>]) -> Option<(usize, usize)> {
    c.iter().enumerate().find_map(|(ri, r)| {
        let (LogInput::Read { partition, from }, Some(LogOutput::Values(v))) =
            (&r.input, &r.output)
        else {
            return None;
        };
        if v.is_empty() {
            return None;
        }
        let last = *from + v.len() as u64 - 1;
        let si = c.iter().position(|s| {
            matches!(s.input, LogInput::Send { partition: sp, .. } if sp == *partition)
                && s.output == Some(LogOutput::Offset(last))
        })?;
        Some((ri, si))
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn linearizable_executions_pass_both(g in execution()) {
        let c = calls(&g);
        let completed = c.iter().any(|x| x.complete.is_some());
        let v = agree(&c);
        prop_assert_eq!(v, if completed { Validity::Valid } else { Validity::Unknown });
    }

    /// A read of a value never sent.
    #[test]
    fn a_read_of_a_value_never_sent_fails_both(g in execution()) {
        let mut c = calls(&g);
        let Some(r) = c.iter().position(|x| matches!(&x.output, Some(LogOutput::Values(v)) if !v.is_empty())) else {
            return Ok(());
        };
        if let Some(LogOutput::Values(v)) = &mut c[r].output {
            v[0] = 7;
        }
        prop_assert_eq!(agree(&c), Validity::Invalid);
    }

    /// A read that completed before the send of what it read was invoked.
    #[test]
    fn a_read_before_its_send_fails_both(g in execution()) {
        let mut c = calls(&g);
        let Some((r, s)) = read_and_its_send(&c) else { return Ok(()) };
        let inv = c[s].invoke;
        if inv < 2 {
            return Ok(());
        }
        // Move the read entirely before the send's invocation (positions
        // stay distinct: halves between integers, doubled).
        for x in c.iter_mut() {
            x.invoke *= 4;
            x.complete = x.complete.map(|p| p * 4);
        }
        c[r].invoke = 4 * inv - 2;
        c[r].complete = Some(4 * inv - 1);
        prop_assert_eq!(agree(&c), Validity::Invalid);
    }

    /// Two sends' offsets swapped (reordered offsets).
    #[test]
    fn reordered_offsets_agree(g in execution(), a in 0usize..10, b in 0usize..10) {
        let mut c = calls(&g);
        let sends: Vec<usize> = (0..c.len()).filter(|&i| matches!(c[i].output, Some(LogOutput::Offset(_)))).collect();
        if sends.len() < 2 {
            return Ok(());
        }
        let (i, j) = (sends[a % sends.len()], sends[b % sends.len()]);
        let (oi, oj) = (c[i].output.clone(), c[j].output.clone());
        c[i].output = oj;
        c[j].output = oi;
        agree(&c);
    }

    /// A completed send acknowledged past the end of its log: a gap.
    #[test]
    fn a_gap_fails_both(g in execution(), a in 0usize..10) {
        let mut c = calls(&g);
        let sends: Vec<usize> = (0..c.len())
            .filter(|&i| c[i].complete.is_some() && matches!(c[i].output, Some(LogOutput::Offset(_))))
            .collect();
        if sends.is_empty() {
            return Ok(());
        }
        let i = sends[a % sends.len()];
        c[i].output = Some(LogOutput::Offset(50));
        prop_assert_eq!(agree(&c), Validity::Invalid);
    }

    /// Any op's interval moved: whatever the verdict, the same.
    #[test]
    fn moved_intervals_agree(g in execution(), a in 0usize..10, d in 0u64..30, late in any::<bool>()) {
        let mut c = calls(&g);
        for x in c.iter_mut() {
            x.invoke *= 2;
            x.complete = x.complete.map(|p| p * 2);
        }
        let i = a % c.len();
        let len = c[i].complete.map_or(3, |p| p - c[i].invoke);
        // Odd positions: distinct from every other op's (all even).
        let at = if late {
            c[i].invoke + 2 * d + 1
        } else {
            c[i].invoke.saturating_sub(2 * d) | 1
        };
        c[i].invoke = at;
        if let Some(p) = &mut c[i].complete {
            *p = (at + len.max(2)) | 1;
        }
        // Positions must stay distinct: ranks again.
        let mut ev: Vec<(u64, usize, bool)> = Vec::new();
        for (k, x) in c.iter().enumerate() {
            ev.push((x.invoke, k, false));
            if let Some(p) = x.complete { ev.push((p, k, true)); }
        }
        ev.sort();
        for (r, &(_, k, ret)) in ev.iter().enumerate() {
            if ret { c[k].complete = Some(r as u64) } else { c[k].invoke = r as u64 }
        }
        agree(&c);
    }
}

#[test]
fn the_compact_builder_matches_the_reference_on_simulated_histories() {
    use crate::generate::{simulate, SimConfig};
    for seed in 1..6 {
        let ops = simulate(&SimConfig {
            seed,
            partitions: 3,
            workers: 6,
            steps: 3000,
            nemesis: true,
            ..SimConfig::default()
        });
        let key = |c: &Call<LogInput, LogOutput>| format!("{c:?}");
        let mut a: Vec<String> = log_calls_reference(&ops).iter().map(key).collect();
        let mut b: Vec<String> = log_calls_compact(&ops).to_calls().iter().map(key).collect();
        a.sort();
        b.sort();
        assert_eq!(a, b, "seed {seed}");
        let r = check_log(&log_calls_compact(&ops), Duration::from_secs(30));
        assert_eq!(r.valid, Validity::Valid, "seed {seed}: {r:?}");
        assert_eq!(
            r.searched_partitions, 0,
            "the greedy decides a simulated run"
        );
    }
}

#[test]
fn unknown_offsets_go_to_the_search_and_a_gap_they_can_fill_passes() {
    // Offsets 0 and 2 acknowledged; an indefinite send of unknown offset
    // can be the record at 1.
    let c = vec![
        Call {
            input: LogInput::Send {
                partition: 0,
                value: 1,
            },
            output: Some(LogOutput::Offset(0)),
            invoke: 0,
            complete: Some(1),
            index: 0,
            process: "a".into(),
        },
        Call {
            input: LogInput::Send {
                partition: 0,
                value: 2,
            },
            output: None,
            invoke: 2,
            complete: None,
            index: 2,
            process: "b".into(),
        },
        Call {
            input: LogInput::Send {
                partition: 0,
                value: 3,
            },
            output: Some(LogOutput::Offset(2)),
            invoke: 3,
            complete: Some(4),
            index: 3,
            process: "a".into(),
        },
    ];
    let lc = LogCalls::from_calls(&c);
    assert!(matches!(
        decide(&lc, 0, &[0, 1, 2], &[]),
        Decision::Undecided(_)
    ));
    let r = check_log(&lc, Duration::from_secs(5));
    assert_eq!((r.valid, r.searched_partitions), (Validity::Valid, 1));
    assert_eq!(lc.sends[1].offset, NO);
}

#[test]
fn a_counterexample_names_the_op_the_prefix_and_the_state() {
    // Send 10 at 0 (ops 0-1), a read of [10, 11] that completed (op 2-3)
    // before the send of 11 was invoked (op 4).
    let c = vec![
        Call {
            input: LogInput::Send {
                partition: 0,
                value: 10,
            },
            output: Some(LogOutput::Offset(0)),
            invoke: 0,
            complete: Some(1),
            index: 0,
            process: "a".into(),
        },
        Call {
            input: LogInput::Read {
                partition: 0,
                from: 0,
            },
            output: Some(LogOutput::Values(vec![10, 11])),
            invoke: 2,
            complete: Some(3),
            index: 2,
            process: "c".into(),
        },
        Call {
            input: LogInput::Send {
                partition: 0,
                value: 11,
            },
            output: Some(LogOutput::Offset(1)),
            invoke: 4,
            complete: Some(5),
            index: 4,
            process: "b".into(),
        },
    ];
    let r = check_log(&LogCalls::from_calls(&c), Duration::from_secs(5)).with_anomalies();
    assert_eq!(r.valid, Validity::Invalid);
    // As an anomaly: the op that cannot be placed, then the prefix's tail.
    let ex = &r.anomalies["nonlinearizable"].examples[0];
    assert_eq!((ex.ops.clone(), ex.partition), (vec![2, 0], Some(0)));
    let cx = r.counterexample.expect("a counterexample");
    assert_eq!((cx.op_index, cx.op_process.as_str()), (2, "c"));
    assert_eq!(cx.prefix_len, 1);
    assert_eq!(
        cx.prefix_tail,
        vec![(0, "send 10 to 0 → offset 0".to_string())]
    );
    assert_eq!(cx.state, "[10]");
    assert!(
        cx.message.contains("op 4 (process b), invoked only after"),
        "{}",
        cx.message
    );
    // The search agrees.
    assert_eq!(
        check(&Log, c, Duration::from_secs(5)).valid,
        Validity::Invalid
    );
}

#[test]
fn the_file_scanner_builds_what_the_ops_build() {
    use crate::generate::{simulate, SimConfig};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.jsonl");
    let ops = simulate(&SimConfig {
        seed: 9,
        partitions: 3,
        workers: 6,
        steps: 3000,
        nemesis: true,
        ..SimConfig::default()
    });
    let mut text = String::new();
    for op in &ops {
        text.push_str(&serde_json::to_string(op).unwrap());
        text.push('\n');
    }
    // A line in another field order and one with an error after its
    // value go through the slower paths; a truncated last line is skipped.
    text.push_str(r#"{"value":{"key":1,"value":1},"f":"send","type":"invoke","process":77,"time":5,"index":99999}"#);
    text.push('\n');
    text.push_str(r#"{"index":100000,"time":6,"process":77,"type":"info","f":"send","value":{"key":1,"value":1},"error":"timed out"}"#);
    text.push_str("\n{\"index\":100001,\"ti");
    std::fs::write(&path, &text).unwrap();
    let key = |c: &Call<LogInput, LogOutput>| format!("{c:?}");
    let from_file = super::scan::log_calls_file(&path, crate::Isolation::ReadCommitted).unwrap();
    let mut a: Vec<String> = from_file.to_calls().iter().map(key).collect();
    let mut b: Vec<String> = log_calls_compact(&ops).to_calls().iter().map(key).collect();
    a.sort();
    b.sort();
    // The extra send (value 1, read, so placed where it was read).
    assert_eq!(a.len(), b.len() + 1);
    a.retain(|x| !x.contains("index: 99999"));
    assert_eq!(a, b);
    // A malformed line in the middle is an error naming it.
    std::fs::write(
        &path,
        format!(
            "{}\nnot json\n{}\n",
            serde_json::to_string(&ops[0]).unwrap(),
            serde_json::to_string(&ops[1]).unwrap()
        ),
    )
    .unwrap();
    let e = super::scan::log_calls_file(&path, crate::Isolation::ReadCommitted).unwrap_err();
    assert_eq!(e.line(), Some(2), "{e}");
}

#[test]
fn a_duplicate_from_a_retried_send_is_linearizable() {
    // A retried send without idempotence appended twice: Kafka permits
    // it (the queue checker judges `duplicate` against the configuration);
    // the log model takes the extra copy as one more append of that send.
    use crate::generate::{simulate, Fault, SimConfig};
    for seed in 0..20 {
        let ops = simulate(&SimConfig {
            seed,
            partitions: 2,
            workers: 4,
            steps: 400,
            fault: Some(Fault::Duplicate),
            ..SimConfig::default()
        });
        let lc = log_calls_compact(&ops);
        let r = check_log(&lc, Duration::from_secs(5));
        assert_eq!(
            r.valid,
            Validity::Valid,
            "seed {seed}: {:?}",
            r.counterexample
        );
    }
}
