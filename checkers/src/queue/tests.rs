//! Hand-built histories for the transactional semantics, each behaviour
//! both ways: it fires on the bad history and stays silent on the good one.

use crate::generate::Builder;
use crate::{check_ops, CheckOptions, Isolation, QueueResults, Results, Validity};
use serde_json::json;
use trial_histories::values::{MicroOp, Poll, Record, Send, Txn};
use trial_histories::{OpType, Process, F};

fn opts(isolation: Isolation) -> CheckOptions {
    CheckOptions {
        isolation,
        transactional: true,
        ..CheckOptions::default()
    }
}

fn check_with(b: &Builder, o: &CheckOptions) -> Results {
    check_ops(&b.ops, o).expect("well-formed")
}

fn check(b: &Builder) -> Results {
    check_with(b, &opts(Isolation::ReadCommitted))
}

fn q(r: &Results) -> &QueueResults {
    r.checkers.queue.as_ref().unwrap()
}

/// Non-zero classes (permitted ones too; unseen only as a loss).
fn found(r: &Results) -> Vec<String> {
    let q = q(r);
    q.anomalies
        .iter()
        .filter(|(c, a)| a.count > 0 && (c.as_str() != "unseen" || q.unseen.is_loss))
        .map(|(c, _)| c.clone())
        .collect()
}

fn rec(p: i32, o: i64, v: u64) -> Record {
    Record {
        partition: p,
        offset: o,
        key: v % 16,
        value: v,
    }
}

/// A txn completion of any type with sends (value, partition, offset) whose
/// delivery reports arrived, and polled records.
fn txn_done(b: &mut Builder, p: u64, kind: OpType, sends: &[(u64, i32, i64)], polled: &[Record]) {
    let mut ops: Vec<MicroOp> = sends
        .iter()
        .map(|&(v, part, off)| {
            MicroOp::Send(Send {
                key: v % 16,
                value: v,
                partition: Some(part),
                offset: Some(off),
            })
        })
        .collect();
    ops.push(MicroOp::Poll(Poll {
        records: polled.to_vec(),
        ..Default::default()
    }));
    let t = Txn {
        ops,
        ..Default::default()
    };
    b.op(Process::Worker(p), kind, F::Txn, &t);
}

/// An ok poll by process p of these records.
fn poll(b: &mut Builder, p: u64, recs: &[Record]) -> u64 {
    let t: Vec<(i32, i64, u64)> = recs
        .iter()
        .map(|r| (r.partition, r.offset, r.value))
        .collect();
    b.poll(p, &t)
}

fn assign(b: &mut Builder, p: u64, v: serde_json::Value) {
    b.op(Process::Worker(p), OpType::Invoke, F::Assign, &v);
    b.op(Process::Worker(p), OpType::Ok, F::Assign, &v);
}

/// An `info` txn of process 1 writes 10 @0:0 and 11 @0:1; a poll by
/// process 3 reads `read`; the final read of partition 0 returns `fin`.
fn info_txn(read: &[Record], fin: &[(i64, u64)]) -> Builder {
    let mut b = Builder::new();
    b.send_ok(2, 5, 1, 0);
    b.txn_invoke(1, &[10, 11], false);
    txn_done(&mut b, 1, OpType::Info, &[(10, 0, 0), (11, 0, 1)], &[]);
    poll(&mut b, 3, read);
    b.final_read(0, 0, 3, fin);
    b.final_read(1, 0, 1, &[(0, 5)]);
    b
}

#[test]
fn an_info_txn_read_once_is_committed_and_its_other_write_can_be_lost() {
    // Bad: 10 was read, so the txn committed; 11 at offset 1 was never read
    // although the final read covered it.
    let b = info_txn(&[rec(0, 0, 10)], &[(0, 10), (2, 99)]);
    let r = check(&b);
    assert_eq!(
        found(&r),
        vec!["garbage-read", "lost-write"],
        "{}",
        r.human_summary(3)
    );
    let ex = &q(&r).anomalies["lost-write"].examples[0];
    assert_eq!(ex.value, Some(11));
    assert!(ex.message.contains("inferred"), "{}", ex.message);
    // Good: both read.
    let b = info_txn(&[rec(0, 0, 10)], &[(0, 10), (1, 11)]);
    let r = check(&b);
    assert!(found(&r).is_empty(), "{}", r.human_summary(3));
    assert_eq!(r.valid, Validity::Valid);
    // Good: nothing of it read: it may not have committed.
    let b = info_txn(&[], &[(2, 99)]);
    assert_eq!(found(&check(&b)), vec!["garbage-read"]);
    // read_uncommitted: a read proves nothing about the commit.
    let b = info_txn(&[rec(0, 0, 10)], &[(0, 10), (2, 99)]);
    let r = check_with(&b, &opts(Isolation::ReadUncommitted));
    assert_eq!(found(&r), vec!["garbage-read"], "{}", r.human_summary(3));
}

#[test]
fn an_inferred_commit_takes_part_in_send_order() {
    // Process 1 sends 10 ok at 0:5, then an info txn whose 11 is read at
    // 0:3: a nonmonotonic send, once the txn is known to have committed.
    let build = |read: bool| {
        let mut b = Builder::new();
        b.send_ok(1, 10, 0, 5);
        b.txn_invoke(1, &[11], false);
        txn_done(&mut b, 1, OpType::Info, &[(11, 0, 3)], &[]);
        if read {
            poll(&mut b, 3, &[rec(0, 3, 11)]);
        }
        poll(&mut b, 3, &[rec(0, 5, 10)]);
        b
    };
    assert!(found(&check(&build(true))).contains(&"nonmonotonic-send".to_string()));
    assert!(!found(&check(&build(false))).contains(&"nonmonotonic-send".to_string()));
}

#[test]
fn reads_of_aborted_transactions_prove_records_exist() {
    // Process 3 polls 0 then 2 of partition 0; only an aborted txn of
    // process 4 read offset 1: still a poll-skip. And the aborted txn of
    // process 5 whose write 30 an info poll returned: an aborted read.
    let build = |evidence: bool| {
        let mut b = Builder::new();
        b.send_ok(1, 10, 0, 0);
        b.send_info(1, 11); // at offset 1: only a read can tell
        b.send_ok(1, 12, 0, 2);
        poll(&mut b, 3, &[rec(0, 0, 10)]);
        b.txn_invoke(4, &[], true);
        let seen = if evidence {
            vec![rec(0, 1, 11)]
        } else {
            vec![]
        };
        txn_done(&mut b, 4, OpType::Fail, &[], &seen);
        poll(&mut b, 3, &[rec(0, 2, 12)]);
        b.txn_invoke(5, &[30], false);
        txn_done(&mut b, 5, OpType::Fail, &[(30, 1, 0)], &[]);
        b.op(Process::Worker(6), OpType::Invoke, F::Poll, &());
        let recs = if evidence {
            vec![rec(1, 0, 30)]
        } else {
            vec![]
        };
        b.op(
            Process::Worker(6),
            OpType::Info,
            F::Poll,
            &Poll {
                records: recs,
                ..Default::default()
            },
        );
        b
    };
    let r = check(&build(true));
    assert_eq!(
        found(&r),
        vec!["aborted-read", "poll-skip"],
        "{}",
        r.human_summary(3)
    );
    assert_eq!(r.valid, Validity::Invalid);
    let r = check(&build(false));
    assert!(found(&r).is_empty(), "{}", r.human_summary(3));
    // read_uncommitted permits the aborted read.
    let r = check_with(&build(true), &opts(Isolation::ReadUncommitted));
    assert!(q(&r).anomalies["aborted-read"].permitted.is_some());
}

/// Process 3 reads 0:0, then `between`, then reads `next` of partition 0
/// (records 10, 11, 12 at 0, 1, 2; the final read has them all).
fn positions(between: impl FnOnce(&mut Builder), next: i64) -> Results {
    let mut b = Builder::new();
    b.send_ok(1, 10, 0, 0);
    b.send_ok(1, 11, 0, 1);
    b.send_ok(1, 12, 0, 2);
    poll(&mut b, 3, &[rec(0, 0, 10)]);
    between(&mut b);
    poll(&mut b, 3, &[rec(0, next, 10 + next as u64)]);
    b.final_read(0, 0, 3, &[(0, 10), (1, 11), (2, 12)]);
    check(&b)
}

#[test]
fn positions_follow_what_the_client_reset() {
    let v = |r: &Results| found(r);
    // Stays assigned: the position is kept.
    assert_eq!(
        v(&positions(
            |b| assign(b, 3, json!({"partitions": [0, 1]})),
            2
        )),
        vec!["poll-skip"]
    );
    assert_eq!(
        v(&positions(
            |b| assign(b, 3, json!({"partitions": [0, 1]})),
            0
        )),
        vec!["nonmonotonic-poll"]
    );
    assert!(v(&positions(
        |b| assign(b, 3, json!({"partitions": [0, 1]})),
        1
    ))
    .is_empty());
    // Revoked, or dropped from the assignment and added back: reset.
    assert!(v(&positions(
        |b| assign(b, 3, json!({"partitions": [0], "revoked": [0]})),
        2
    ))
    .is_empty());
    let drop_and_back = |b: &mut Builder| {
        assign(b, 3, json!({"partitions": [1]}));
        assign(b, 3, json!({"partitions": [0, 1]}));
    };
    assert!(v(&positions(drop_and_back, 0)).is_empty());
    // A rebalance that kept it, and one that revoked it.
    let keep = |b: &mut Builder| {
        b.op(
            Process::Worker(3),
            OpType::Info,
            F::Rebalance,
            &json!({"partitions": [0]}),
        );
    };
    assert_eq!(v(&positions(keep, 2)), vec!["poll-skip"]);
    let revoke = |b: &mut Builder| {
        b.op(
            Process::Worker(3),
            OpType::Info,
            F::Rebalance,
            &json!({"partitions": [0], "revoked": [0]}),
        );
    };
    assert!(v(&positions(revoke, 2)).is_empty());
    // A seek is a known start: to 1 then reading 2 skips the record at 1;
    // to 2 then reading 2 is right; to 2 then reading 1 goes backwards.
    let seek =
        |o: i64| move |b: &mut Builder| assign(b, 3, json!({"partitions": [0], "seek": [[0, o]]}));
    assert_eq!(v(&positions(seek(1), 2)), vec!["poll-skip"]);
    assert!(v(&positions(seek(2), 2)).is_empty());
    assert!(v(&positions(seek(0), 0)).is_empty());
    assert_eq!(v(&positions(seek(2), 1)), vec!["nonmonotonic-poll"]);
    // A crash, an info assign, a subscribe: everything reset.
    assert!(v(&positions(
        |b| {
            b.crash(3);
        },
        2
    ))
    .is_empty());
    let info_assign = |b: &mut Builder| {
        b.op(
            Process::Worker(3),
            OpType::Invoke,
            F::Assign,
            &json!({"partitions": [0]}),
        );
        b.op(
            Process::Worker(3),
            OpType::Info,
            F::Assign,
            &json!({"partitions": [0]}),
        );
    };
    assert!(v(&positions(info_assign, 2)).is_empty());
    let sub = |b: &mut Builder| assign_like_subscribe(b);
    assert!(v(&positions(sub, 2)).is_empty());
}

fn assign_like_subscribe(b: &mut Builder) {
    let v = json!({"topics": ["queue"], "group": "g"});
    b.op(Process::Worker(3), OpType::Invoke, F::Subscribe, &v);
    b.op(Process::Worker(3), OpType::Ok, F::Subscribe, &v);
}

#[test]
fn precommitted_reads() {
    // A txn that reads its own write.
    let own = |own: bool| {
        let mut b = Builder::new();
        b.txn_invoke(1, &[10], true);
        let r = if own { vec![rec(0, 0, 10)] } else { vec![] };
        txn_done(&mut b, 1, OpType::Ok, &[(10, 0, 0)], &r);
        poll(&mut b, 2, &[rec(0, 0, 10)]);
        b.final_read(0, 0, 1, &[(0, 10)]);
        b
    };
    let r = check(&own(true));
    assert_eq!(
        found(&r),
        vec!["precommitted-read"],
        "{}",
        r.human_summary(3)
    );
    assert_eq!(r.valid, Validity::Invalid);
    assert!(found(&check(&own(false))).is_empty());
    let r = check_with(&own(true), &opts(Isolation::ReadUncommitted));
    assert_eq!(r.valid, Validity::Valid, "{}", r.human_summary(3));
    assert!(q(&r).anomalies["precommitted-read"].permitted.is_some());

    // A poll that completed before the writing txn was invoked.
    let future = |early: bool| {
        let mut b = Builder::new();
        if early {
            poll(&mut b, 2, &[rec(0, 0, 10)]);
        }
        b.txn_invoke(1, &[10], false);
        txn_done(&mut b, 1, OpType::Ok, &[(10, 0, 0)], &[]);
        if !early {
            poll(&mut b, 2, &[rec(0, 0, 10)]);
        }
        b.final_read(0, 0, 1, &[(0, 10)]);
        b
    };
    assert_eq!(found(&check(&future(true))), vec!["precommitted-read"]);
    assert!(found(&check(&future(false))).is_empty());
}

#[test]
fn realtime_lag_measures_stale_polls() {
    let mut b = Builder::new();
    b.send_ok(1, 10, 0, 0);
    let fresh = poll(&mut b, 2, &[rec(0, 0, 10)]); // read the newest: lag 0
    b.send_ok(1, 11, 0, 1); // offset 1 exists from here on
    b.sleep(50_000_000);
    let stale = poll(&mut b, 2, &[]); // still at 0: stale by >= 50 ms
    b.final_read(0, 0, 2, &[(0, 10), (1, 11)]);
    let r = check(&b);
    let lag = &q(&r).realtime_lag;
    assert_eq!(lag.polls, 2);
    assert!(lag.max_ms >= 50.0 && lag.max_ms < 60.0, "{lag:?}");
    assert_eq!(lag.worst[0].op, stale);
    assert!(lag.worst.iter().any(|w| w.op == fresh && w.lag_ms == 0.0));
    assert_eq!(r.valid, Validity::Valid, "a measure, not an anomaly");
}

#[test]
fn options_follow_the_run_settings() {
    let o = CheckOptions::for_test_json(&json!({"workload": "txn",
        "consumer_overrides": {"isolation.level": "read_uncommitted"}}))
    .unwrap();
    assert!(o.transactional);
    assert_eq!(o.isolation, Isolation::ReadUncommitted);
    let o = CheckOptions::for_test_json(&json!({"workload": "queue"})).unwrap();
    assert!(!o.transactional);
    assert_eq!(o.isolation, Isolation::ReadCommitted);
    assert!(CheckOptions::for_settings("txn", Some("serializable")).is_err());
    let s = serde_json::to_string(&Isolation::ReadUncommitted).unwrap();
    assert_eq!(s, "\"read_uncommitted\"");
}

/// The offset index of the realtime-lag table answers as a binary search of
/// its steps does, whatever the steps (moved up within a millisecond,
/// pushed, negative, or sparse past the index's reach).
#[test]
fn known_steps_index_agrees_with_a_binary_search() {
    let mut rng = crate::generate::rng::Rng::new(7);
    for round in 0..50 {
        let mut k = super::KnownSteps::default();
        let mut o: i64 = if round % 5 == 0 { -3 } else { 0 };
        let mut t = 0u64;
        for _ in 0..400 {
            o += rng.below(if round % 7 == 0 { 300 } else { 6 }) as i64;
            if round % 11 == 0 && rng.below(100) == 0 {
                o += 1 << 30; // sparse: past the index
            }
            t += rng.below(2 * super::LAG_STEP_NS);
            k.note(o, t);
            let top = k.steps.last().map_or(0, |s| s.0);
            for last in [-5, -1, 0, o - 1, o, o + 1, top / 2, top / 3 + 1, top + 70] {
                assert_eq!(
                    k.first_above(last),
                    k.steps.partition_point(|s| s.0 <= last),
                    "round {round} last {last}"
                );
            }
        }
    }
}

/// The acyclicity pre-check of the write-read graph agrees with Tarjan's
/// components (a cycle exactly when some component has two nodes), on
/// random graphs with and without cycles.
#[test]
fn wr_cycle_precheck_agrees_with_tarjan() {
    let mut rng = crate::generate::rng::Rng::new(11);
    let mut seen = [0u32; 2];
    for round in 0..400 {
        let n = 1 + rng.below(30) as usize;
        let m = rng.below(3 * n as u64) as usize;
        // Mostly forward edges (acyclic), sometimes a backward one.
        let back = round % 3 == 0;
        let mut edges = Vec::new();
        for _ in 0..m {
            let a = rng.below(n as u64) as u32;
            let b = rng.below(n as u64) as u32;
            if a == b || (!back && a > b) {
                continue;
            }
            edges.push((a, b));
        }
        let mut adj = vec![Vec::new(); n];
        for &(a, b) in &edges {
            adj[a as usize].push(b);
        }
        let cyclic = crate::graph::scc::components(&adj)
            .iter()
            .any(|c| c.len() > 1);
        assert_eq!(super::finish::has_cycle(n, &edges), cyclic, "round {round}");
        seen[usize::from(cyclic)] += 1;
    }
    assert!(seen[0] > 50 && seen[1] > 50, "both ways: {seen:?}");
}
