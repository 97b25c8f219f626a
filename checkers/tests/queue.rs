//! Hand-checked histories for the queue checker: each anomaly class, the
//! `info`/`fail` semantics, and the no-vacuous-pass rules.

use trial_checkers::generate::Builder;
use trial_checkers::{check_ops, CheckOptions, Results, Validity};
use trial_histories::{OpType, Process, F};

fn check(b: &Builder) -> Results {
    check_ops(&b.ops, &CheckOptions::default()).expect("well-formed")
}

/// Non-zero anomaly classes (informational ones included, unseen only
/// when it counts as loss).
fn found(r: &Results) -> Vec<(String, u64)> {
    let q = r.checkers.queue.as_ref().unwrap();
    r.anomaly_counts
        .iter()
        .filter(|(c, n)| **n > 0 && (c.as_str() != "unseen" || q.unseen.is_loss))
        .map(|(c, n)| (c.clone(), *n))
        .collect()
}

fn only(r: &Results, class: &str, n: u64) {
    assert_eq!(
        found(r),
        vec![(class.to_string(), n)],
        "{}",
        r.human_summary(3)
    );
    assert_eq!(r.valid, Validity::Invalid, "{}", r.summary);
    assert_eq!(r.exit_code(), 1);
}

/// Three sends to partition 0, read by one consumer and the final read.
fn base() -> Builder {
    let mut b = Builder::new();
    b.send_ok(1, 10, 0, 0);
    b.send_ok(1, 11, 0, 1);
    b.send_ok(2, 12, 0, 2);
    b
}

#[test]
fn a_correct_history_is_valid() {
    let mut b = base();
    b.poll(3, &[(0, 0, 10), (0, 1, 11)]);
    b.poll(3, &[(0, 2, 12)]);
    b.final_read(0, 0, 3, &[(0, 10), (1, 11), (2, 12)]);
    let r = check(&b);
    assert_eq!(r.valid, Validity::Valid, "{}", r.human_summary(3));
    assert_eq!(r.exit_code(), 0);
    assert!(found(&r).is_empty());
    assert_eq!(r.ops, b.ops.len() as u64);
    let q = r.checkers.queue.as_ref().unwrap();
    assert_eq!(q.unseen.final_count, 0);
    assert_eq!(r.checkers.stats.by_f["send"].ok, 3);
}

#[test]
fn lost_write_is_proven_by_the_final_read() {
    let mut b = base();
    b.final_read(0, 0, 3, &[(0, 10), (2, 12)]);
    let r = check(&b);
    only(&r, "lost-write", 1);
    let ex = &r.checkers.queue.as_ref().unwrap().anomalies["lost-write"].examples[0];
    assert_eq!(ex.value, Some(11));
    assert_eq!(ex.offset, Some(1));
}

#[test]
fn lost_write_is_proven_by_a_consumers_uninterrupted_run() {
    let mut b = base();
    b.poll(3, &[(0, 0, 10)]);
    b.poll(3, &[(0, 2, 12)]);
    // No final read: unknown reasons too, but the loss is proven.
    let r = check(&b);
    assert_eq!(found(&r), vec![("lost-write".to_string(), 1)]);
    assert_eq!(r.valid, Validity::Invalid);
    assert!(!r.unknown_reasons.is_empty());
}

/// An assignment that revokes partition 0 (what the client really reset).
fn assign_revoking(b: &mut Builder, p: u64, parts: &[i32]) {
    let v = serde_json::json!({ "partitions": parts, "revoked": parts });
    b.op(Process::Worker(p), OpType::Invoke, F::Assign, &v);
    b.op(Process::Worker(p), OpType::Ok, F::Assign, &v);
}

#[test]
fn a_reset_between_polls_proves_nothing() {
    let mut b = base();
    b.poll(3, &[(0, 0, 10)]);
    assign_revoking(&mut b, 3, &[0]);
    b.poll(3, &[(0, 2, 12)]);
    let r = check(&b);
    assert!(found(&r).is_empty(), "{:?}", found(&r));
    assert_eq!(r.valid, Validity::Unknown);
    assert_eq!(r.checkers.queue.as_ref().unwrap().unseen.final_count, 1);
}

#[test]
fn unseen_after_complete_final_reads_is_loss() {
    let mut b = base();
    // The final read says the log ends at 2: the ack of offset 2 is gone.
    b.final_read(0, 0, 2, &[(0, 10), (1, 11)]);
    let r = check(&b);
    only(&r, "unseen", 1);
    let q = r.checkers.queue.as_ref().unwrap();
    assert!(q.unseen.is_loss);
    assert!(r.summary.contains("unseen"), "{}", r.summary);
}

#[test]
fn unseen_over_time_counts_acknowledged_not_yet_read() {
    let mut b = Builder::new();
    b.tick = 400_000_000; // 0.4 s per op
    b.send_ok(1, 10, 0, 0); // acked at 0.4 s
    b.send_ok(1, 11, 0, 1); // acked at 1.2 s
    b.poll(3, &[(0, 0, 10), (0, 1, 11)]); // read at 2.0 s
    b.final_read(0, 0, 2, &[(0, 10), (1, 11)]);
    let r = check(&b);
    assert_eq!(r.valid, Validity::Valid, "{}", r.summary);
    let ot = &r.checkers.queue.as_ref().unwrap().unseen.over_time;
    assert_eq!(ot[0], (1.0, 1));
    assert_eq!(ot[1], (2.0, 2));
    assert_eq!(ot[2], (3.0, 0));
}

#[test]
fn an_incomplete_final_read_is_unknown_not_valid() {
    let mut b = base();
    b.poll(3, &[(0, 0, 10), (0, 1, 11)]);
    b.final_read(0, 0, 3, &[(0, 10), (1, 11)]);
    let r = check(&b);
    assert_eq!(r.valid, Validity::Unknown, "{}", r.summary);
    assert_eq!(r.exit_code(), 2);
    assert!(
        r.unknown_reasons
            .iter()
            .any(|x| x.contains("final read of partition 0 stopped at offset 2 of 3")),
        "{:?}",
        r.unknown_reasons
    );
}

#[test]
fn a_missing_final_read_is_unknown() {
    let mut b = base();
    b.poll(3, &[(0, 0, 10), (0, 1, 11), (0, 2, 12)]);
    let r = check(&b);
    assert_eq!(r.valid, Validity::Unknown);
    assert!(
        r.unknown_reasons[0].contains("no final read"),
        "{:?}",
        r.unknown_reasons
    );
}

#[test]
fn no_acknowledged_send_is_unknown() {
    let mut b = Builder::new();
    b.send_info(1, 10);
    b.send_fail(1, 11);
    b.poll(3, &[]);
    let r = check(&b);
    assert_eq!(r.valid, Validity::Unknown);
    assert!(r
        .unknown_reasons
        .iter()
        .any(|x| x.contains("no send was acknowledged")));
}

#[test]
fn nothing_ok_during_faults_is_unknown() {
    let mut b = Builder::new();
    b.send_ok(1, 10, 0, 0);
    b.nemesis("start-partition");
    for v in 11..20 {
        b.send_info(1, v);
    }
    b.nemesis("stop-partition");
    b.final_read(0, 0, 1, &[(0, 10)]);
    let r = check(&b);
    assert_eq!(r.valid, Validity::Unknown, "{}", r.summary);
    assert!(r.unknown_reasons[0].contains("while faults were active"));
    assert_eq!(r.checkers.stats.faults.len(), 1);

    // With some ok sends during the fault, it is valid.
    let mut b = Builder::new();
    b.nemesis("start-kill");
    b.send_ok(1, 10, 0, 0);
    b.send_info(1, 11);
    b.nemesis("heal");
    b.final_read(0, 0, 1, &[(0, 10)]);
    let r = check(&b);
    assert_eq!(r.valid, Validity::Valid, "{}", r.summary);
}

#[test]
fn info_and_unfinished_sends_may_or_may_not_appear() {
    let mut b = base();
    b.send_info(2, 13); // written
    b.send_info(2, 14); // not written
    b.send_invoke(4, 0, 15); // never completes, written
    b.final_read(0, 0, 5, &[(0, 10), (1, 11), (2, 12), (3, 13), (4, 15)]);
    let r = check(&b);
    assert_eq!(r.valid, Validity::Valid, "{}", r.human_summary(3));
}

#[test]
fn duplicate() {
    let mut b = base();
    b.final_read(0, 0, 4, &[(0, 10), (1, 11), (2, 12), (3, 11)]);
    only(&check(&b), "duplicate", 1);
}

#[test]
fn duplicate_against_the_ack() {
    let mut b = base();
    // (From process 4: process 2's own info send read at offset 2, after
    // its ok send at 2, would also be a nonmonotonic-send.)
    b.send_info(4, 13);
    // 12 acked at 2 but read at 3; 13 (info) at 2.
    b.final_read(0, 0, 4, &[(0, 10), (1, 11), (2, 13), (3, 12)]);
    let r = check(&b);
    // The ack and the read disagree on offset 2 and on where 12 is.
    assert_eq!(
        found(&r),
        vec![
            ("duplicate".to_string(), 1),
            ("inconsistent-offsets".to_string(), 1)
        ]
    );
}

#[test]
fn inconsistent_offsets() {
    let mut b = base();
    b.send_info(4, 13);
    b.poll(3, &[(0, 0, 10), (0, 1, 13)]);
    b.final_read(0, 0, 3, &[(0, 10), (1, 11), (2, 12)]);
    only(&check(&b), "inconsistent-offsets", 1);
}

#[test]
fn garbage_read() {
    let mut b = base();
    b.final_read(0, 0, 4, &[(0, 10), (1, 11), (2, 12), (3, 99)]);
    only(&check(&b), "garbage-read", 1);
}

#[test]
fn failed_write_read() {
    let mut b = base();
    b.send_fail(2, 13);
    b.final_read(0, 0, 4, &[(0, 10), (1, 11), (2, 12), (3, 13)]);
    only(&check(&b), "failed-write-read", 1);
}

#[test]
fn poll_skip_and_its_resets() {
    let mut b = base();
    b.poll(3, &[(0, 0, 10)]);
    b.poll(3, &[(0, 2, 12)]);
    b.final_read(0, 0, 3, &[(0, 10), (1, 11), (2, 12)]);
    only(&check(&b), "poll-skip", 1);

    // Partition 0 stays assigned (no revoke, no seek): its position is
    // kept, and the skip is reported across the assign or rebalance.
    for keep in 0..2 {
        let mut b = base();
        b.poll(3, &[(0, 0, 10)]);
        if keep == 0 {
            b.assign(3, &[0, 1]);
        } else {
            b.rebalance(3, &[0]);
        }
        b.poll(3, &[(0, 2, 12)]);
        b.final_read(0, 0, 3, &[(0, 10), (1, 11), (2, 12)]);
        only(&check(&b), "poll-skip", 1);
    }

    for reset in 0..4 {
        let mut b = base();
        b.poll(3, &[(0, 0, 10)]);
        match reset {
            0 => {
                assign_revoking(&mut b, 3, &[0]);
            }
            1 => {
                let v = serde_json::json!({ "partitions": [0], "revoked": [0] });
                b.op(Process::Worker(3), OpType::Info, F::Rebalance, &v);
            }
            2 => {
                b.crash(3);
            }
            _ => {
                b.poll_info(3);
            }
        }
        b.poll(3, &[(0, 2, 12)]);
        b.final_read(0, 0, 3, &[(0, 10), (1, 11), (2, 12)]);
        let r = check(&b);
        assert_eq!(r.valid, Validity::Valid, "reset {reset}: {}", r.summary);
    }
}

#[test]
fn nonmonotonic_poll() {
    let mut b = base();
    b.poll(3, &[(0, 0, 10), (0, 1, 11)]);
    b.poll(3, &[(0, 1, 11), (0, 2, 12)]);
    b.final_read(0, 0, 3, &[(0, 10), (1, 11), (2, 12)]);
    only(&check(&b), "nonmonotonic-poll", 1);
}

#[test]
fn int_poll_skip_and_int_nonmonotonic_poll() {
    let mut b = base();
    b.poll(3, &[(0, 0, 10), (0, 2, 12)]);
    b.final_read(0, 0, 3, &[(0, 10), (1, 11), (2, 12)]);
    only(&check(&b), "int-poll-skip", 1);

    let mut b = base();
    b.poll(3, &[(0, 1, 11), (0, 0, 10)]);
    b.final_read(0, 0, 3, &[(0, 10), (1, 11), (2, 12)]);
    only(&check(&b), "int-nonmonotonic-poll", 1);
}

#[test]
fn nonmonotonic_send_and_crash_reset() {
    let mut b = Builder::new();
    b.send_ok(1, 10, 0, 1);
    b.send_ok(1, 11, 0, 0);
    b.final_read(0, 0, 2, &[(0, 11), (1, 10)]);
    only(&check(&b), "nonmonotonic-send", 1);

    let mut b = Builder::new();
    b.send_ok(1, 10, 0, 1);
    b.crash(1);
    b.send_ok(1, 11, 0, 0);
    b.final_read(0, 0, 2, &[(0, 11), (1, 10)]);
    assert_eq!(check(&b).valid, Validity::Valid);
}

#[test]
fn transactions_aborted_read_and_int_sends() {
    // Committed txn, aborted txn read anyway.
    let mut b = Builder::new();
    b.txn_invoke(1, &[10, 11], false);
    b.txn_complete(1, OpType::Ok, &[(10, 0, 0), (11, 0, 1)], None);
    b.txn_invoke(1, &[12], false);
    b.txn_complete(1, OpType::Fail, &[(12, 0, 0)], None);
    b.final_read(0, 0, 3, &[(0, 10), (1, 11), (2, 12)]);
    only(&check(&b), "aborted-read", 1);

    // A txn's sends straddling another record: int-send-skip (informational).
    let mut b = Builder::new();
    b.txn_invoke(1, &[10, 11], false);
    b.send_ok(2, 12, 0, 1);
    b.txn_complete(1, OpType::Ok, &[(10, 0, 0), (11, 0, 2)], None);
    b.final_read(0, 0, 3, &[(0, 10), (1, 12), (2, 11)]);
    let r = check(&b);
    assert_eq!(found(&r), vec![("int-send-skip".to_string(), 1)]);
    assert_eq!(r.valid, Validity::Valid, "informational by default");
    let mut o = CheckOptions::default();
    o.informational.clear();
    assert_eq!(check_ops(&b.ops, &o).unwrap().valid, Validity::Invalid);

    let mut b = Builder::new();
    b.txn_invoke(1, &[10, 11], false);
    b.txn_complete(1, OpType::Ok, &[(10, 0, 1), (11, 0, 0)], None);
    b.final_read(0, 0, 2, &[(0, 11), (1, 10)]);
    only(&check(&b), "int-nonmonotonic-send", 1);
}

#[test]
fn transaction_cycles() {
    // G0: T1 before T2 in partition 0, T2 before T1 in partition 1.
    let mut b = Builder::new();
    let t1 = b.txn_invoke(1, &[10, 11], false);
    let t2 = b.txn_invoke(2, &[20, 21], false);
    b.txn_complete(1, OpType::Ok, &[(10, 0, 0), (11, 1, 1)], None);
    b.txn_complete(2, OpType::Ok, &[(20, 0, 1), (21, 1, 0)], None);
    b.final_read(0, 0, 2, &[(0, 10), (1, 20)]);
    b.final_read(1, 0, 2, &[(0, 21), (1, 11)]);
    // G0 is permitted (Kafka's transactions do not isolate writes): reported,
    // not counted against validity. (Counted once the graph's analysis is
    // in: `crate::graph::analyse`.)
    let r = check(&b);
    assert_eq!(r.valid, Validity::Valid, "{}", r.human_summary(3));
    let g0 = &r.checkers.queue.as_ref().unwrap().anomalies["G0"];
    assert!(g0.permitted.as_deref().unwrap().contains("atomically"));
    assert!(g0.count <= 1);
    if let Some(ex) = g0.examples.first() {
        let mut ops = ex.ops.clone();
        ops.sort();
        assert_eq!(ops, vec![t1, t2]);
    }

    // G1c: T1 writes 10 @p0:0; T2 reads 10 and writes 20 @p1:0; T1 writes
    // 11 @p1:1 after T2 ... and T1 must precede T2 ... build T2 -ww-> T1
    // (p1) and T1 -wr-> T2.
    let mut b = Builder::new();
    b.txn_invoke(1, &[10, 11], false);
    b.txn_invoke(2, &[20], true);
    b.txn_complete(1, OpType::Ok, &[(10, 0, 0), (11, 1, 1)], None);
    b.txn_complete(2, OpType::Ok, &[(20, 1, 0)], Some(&[(0, 0, 10)]));
    b.final_read(0, 0, 1, &[(0, 10)]);
    b.final_read(1, 0, 2, &[(0, 20), (1, 11)]);
    // It needs the write-write edge T2 -> T1: permitted under
    // read_committed (the graph's analysis counts it).
    let r = check(&b);
    assert_eq!(r.valid, Validity::Valid, "{}", r.human_summary(3));
    let g1c = &r.checkers.queue.as_ref().unwrap().anomalies["G1c"];
    assert!(g1c.permitted.is_some() && g1c.count <= 1);

    // G1c of write-read edges alone: T1 reads T2's write and T2 reads
    // T1's: forbidden under read_committed.
    let mut b = Builder::new();
    let t1 = b.txn_invoke(1, &[10], true);
    let t2 = b.txn_invoke(2, &[20], true);
    b.txn_complete(1, OpType::Ok, &[(10, 0, 0)], Some(&[(1, 0, 20)]));
    b.txn_complete(2, OpType::Ok, &[(20, 1, 0)], Some(&[(0, 0, 10)]));
    b.final_read(0, 0, 1, &[(0, 10)]);
    b.final_read(1, 0, 1, &[(0, 20)]);
    let r = check(&b);
    only(&r, "G1c", 1);
    let mut ops = r.checkers.queue.as_ref().unwrap().anomalies["G1c"].examples[0]
        .ops
        .clone();
    ops.sort();
    assert_eq!(ops, vec![t1, t2]);
}

#[test]
fn malformed_values_name_the_line() {
    let mut b = base();
    let mut op =
        trial_histories::Op::new(trial_histories::Process::Worker(5), OpType::Invoke, "send");
    op = op.with_value(&serde_json::json!({"key": "x"}));
    b.push(op);
    let e = check_ops(&b.ops, &CheckOptions::default()).unwrap_err();
    assert_eq!(e.line(), Some(7));
    assert!(e.to_string().contains("line 7"), "{e}");
}

#[test]
fn results_json_has_the_contract_shape() {
    let mut b = base();
    b.final_read(0, 0, 3, &[(0, 10), (2, 12)]);
    let r = check(&b);
    let v = serde_json::to_value(&r).unwrap();
    assert_eq!(v["valid"], serde_json::json!(false));
    assert!(v["summary"].is_string());
    assert_eq!(v["anomaly_counts"]["lost-write"], 1);
    assert_eq!(v["anomaly_counts"]["duplicate"], 0);
    assert!(v["unknown_reasons"].is_array());
    let q = &v["checkers"]["queue"];
    assert_eq!(q["valid"], serde_json::json!(false));
    let lw = &q["anomalies"]["lost-write"];
    assert_eq!(lw["count"], 1);
    assert!(lw["definition"].as_str().unwrap().len() > 20);
    let ex = &lw["examples"][0];
    assert!(ex["ops"].is_array());
    assert_eq!(ex["partition"], 0);
    assert_eq!(ex["offset"], 1);
    assert_eq!(ex["value"], 11);
    assert!(ex["message"].is_string());
    assert!(q["unseen"]["final"].is_u64());
    assert!(q["unseen"]["over_time"].is_array());
    assert!(q["partitions"]["0"].is_object());
    assert!(v["checkers"]["stats"].is_object());
    assert_eq!(v["ops"], b.ops.len() as u64);
    // And back.
    let back: Results = serde_json::from_value(v).unwrap();
    assert_eq!(back.valid, Validity::Invalid);
}

#[test]
fn reading_a_file_agrees_with_checking_in_memory() {
    use trial_checkers::generate::{simulate, simulate_to_file, Fault, SimConfig};
    let d = tempfile::tempdir().unwrap();
    for (i, fault) in [None, Some(Fault::LostWrite), Some(Fault::PollSkip)]
        .into_iter()
        .enumerate()
    {
        let cfg = SimConfig {
            seed: i as u64,
            steps: 5000, // several batches of the reading thread
            txns: i == 2,
            fault,
            ..SimConfig::default()
        };
        let p = d.path().join(format!("h{i}.jsonl"));
        let n = simulate_to_file(&cfg, &p).unwrap();
        let from_file = trial_checkers::check_history_file(&p, &CheckOptions::default()).unwrap();
        let in_mem = check_ops(&simulate(&cfg), &CheckOptions::default()).unwrap();
        assert_eq!(from_file.ops, n);
        assert_eq!(from_file.valid, in_mem.valid);
        assert_eq!(from_file.anomaly_counts, in_mem.anomaly_counts);
        assert_eq!(
            serde_json::to_value(&from_file.checkers.queue).unwrap(),
            serde_json::to_value(&in_mem.checkers.queue).unwrap()
        );
    }
}

#[test]
fn a_malformed_line_deep_in_a_file_is_named() {
    use std::io::Write;
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("h.jsonl");
    let ops = trial_checkers::generate::simulate(&trial_checkers::generate::SimConfig {
        steps: 4000,
        ..Default::default()
    });
    let mut f = std::fs::File::create(&p).unwrap();
    for (i, op) in ops.iter().enumerate() {
        if i == 3000 {
            writeln!(f, "{{\"index\": 3000, \"time\": oops").unwrap();
        } else {
            writeln!(f, "{}", serde_json::to_string(op).unwrap()).unwrap();
        }
    }
    drop(f);
    let e = trial_checkers::check_history_file(&p, &CheckOptions::default()).unwrap_err();
    assert_eq!(e.line(), Some(3001), "{e}");
    assert!(e.to_string().contains("line 3001"), "{e}");
}
