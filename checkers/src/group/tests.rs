//! The group checker's edge rules on hand-written histories, each both
//! ways: the order of commits across and within processes, standalone
//! commits, resets, the generation rule of double ownership against a
//! zombie's overlap, skips and their judgement per commit mode, the
//! measurements.

use super::GroupResults;
use crate::generate::Builder;
use crate::verdict::class;
use crate::{check_ops, CheckOptions, Results, Validity};
use serde_json::{json, Value};
use trial_histories::{OpType, Process, F};

const MS: u64 = 1_000_000;

fn w(p: u64) -> Process {
    Process::Worker(p)
}

fn subscribe(b: &mut Builder, p: u64, mode: &str) {
    let v = json!({"topics": ["t"], "group": "g", "protocol": "classic",
                   "assignor": "cooperative-sticky", "commit": mode});
    b.op(w(p), OpType::Invoke, F::Subscribe, &v);
    b.op(w(p), OpType::Ok, F::Subscribe, &v);
}

fn rebalance(b: &mut Builder, p: u64, v: Value) -> u64 {
    b.op(w(p), OpType::Ok, F::Rebalance, &v)
}

/// A synchronous commit: (invocation, completion).
fn commit(b: &mut Builder, p: u64, kind: OpType, offsets: Value, generation: i32) -> (u64, u64) {
    let v = json!({"group": "g", "mode": "sync", "offsets": offsets, "generation": generation});
    let i = b.op(w(p), OpType::Invoke, F::Commit, &v);
    (i, b.op(w(p), kind, F::Commit, &v))
}

/// An asynchronous commit's callback: a standalone completion.
fn commit_async(b: &mut Builder, p: u64, offsets: Value, generation: i32) -> u64 {
    let v = json!({"group": "g", "mode": "async", "offsets": offsets, "generation": generation});
    b.op(w(p), OpType::Ok, F::Commit, &v)
}

fn committed(b: &mut Builder, offsets: Value) {
    let fin = Process::Named("final".into());
    b.op(
        fin.clone(),
        OpType::Invoke,
        F::Committed,
        &json!({"group": "g", "offsets": []}),
    );
    b.op(
        fin,
        OpType::Ok,
        F::Committed,
        &json!({"group": "g", "offsets": offsets}),
    );
}

fn check(b: &Builder) -> (Results, GroupResults) {
    let r = check_ops(&b.ops, &CheckOptions::default()).expect("well-formed");
    let g = r.checker::<GroupResults>("group").expect("a group body");
    (r, g)
}

fn count(g: &GroupResults, c: &str) -> u64 {
    g.anomalies[c].count
}

/// Two members of one group, each owning partition 0 in turn.
fn two_members(b: &mut Builder) {
    subscribe(b, 1, "sync");
    subscribe(b, 2, "sync");
    rebalance(
        b,
        1,
        json!({"partitions": [0], "added": [0], "generation": 1}),
    );
}

#[test]
fn no_group_nothing_to_check() {
    let mut b = Builder::new();
    b.send_ok(0, 1, 0, 0);
    b.poll(1, &[(0, 0, 1)]);
    b.final_read(0, 0, 1, &[(0, 1)]);
    let (r, g) = check(&b);
    assert!(!g.applicable);
    assert_eq!(g.summary, "no consumer group");
    assert_eq!(r.valid, Validity::Valid);
    assert!(!r.anomaly_counts.contains_key(class::GROUP_SKIP));
}

#[test]
fn regression_order_across_processes_needs_real_time() {
    // Process 2 invoked its commit of 5 after process 1's commit of 10
    // completed: ordered, a regression.
    let mut b = Builder::new();
    two_members(&mut b);
    commit(&mut b, 1, OpType::Ok, json!([[0, 10]]), 1);
    commit(&mut b, 2, OpType::Ok, json!([[0, 5]]), 1);
    let (r, g) = check(&b);
    assert_eq!(count(&g, class::COMMIT_REGRESSION), 1);
    assert_eq!(r.valid, Validity::Invalid);
    assert!(g.anomalies[class::COMMIT_REGRESSION].examples[0]
        .message
        .contains("committed 5"));

    // Concurrent (2's invoked before 1's completed): not ordered.
    let mut b = Builder::new();
    two_members(&mut b);
    let v1 = json!({"group": "g", "mode": "sync", "offsets": [[0, 10]], "generation": 1});
    let v2 = json!({"group": "g", "mode": "sync", "offsets": [[0, 5]], "generation": 1});
    b.op(w(1), OpType::Invoke, F::Commit, &v1);
    b.op(w(2), OpType::Invoke, F::Commit, &v2);
    b.op(w(1), OpType::Ok, F::Commit, &v1);
    b.op(w(2), OpType::Ok, F::Commit, &v2);
    let (_, g) = check(&b);
    assert_eq!(count(&g, class::COMMIT_REGRESSION), 0);

    // A failed or indefinite lower commit is no regression.
    for kind in [OpType::Fail, OpType::Info] {
        let mut b = Builder::new();
        two_members(&mut b);
        commit(&mut b, 1, OpType::Ok, json!([[0, 10]]), 1);
        commit(&mut b, 2, kind, json!([[0, 5]]), 1);
        let (_, g) = check(&b);
        assert_eq!(count(&g, class::COMMIT_REGRESSION), 0, "{kind}");
        assert_eq!(g.commits["sync"].ok, 1);
    }
}

#[test]
fn standalone_commits_are_ordered_only_within_their_process() {
    // Same process, completion order: a regression.
    let mut b = Builder::new();
    two_members(&mut b);
    commit_async(&mut b, 1, json!([[0, 10]]), 1);
    commit_async(&mut b, 1, json!([[0, 5]]), 1);
    let (_, g) = check(&b);
    assert_eq!(count(&g, class::COMMIT_REGRESSION), 1);

    // Another process's standalone commit has no invocation time: not
    // ordered after process 1's.
    let mut b = Builder::new();
    two_members(&mut b);
    commit(&mut b, 1, OpType::Ok, json!([[0, 10]]), 1);
    b.sleep(1000 * MS);
    commit_async(&mut b, 2, json!([[0, 5]]), 1);
    let (_, g) = check(&b);
    assert_eq!(count(&g, class::COMMIT_REGRESSION), 0);
    assert_eq!(g.commits["async"].ok, 1);

    // But a synchronous one invoked after the standalone completed is.
    let mut b = Builder::new();
    two_members(&mut b);
    commit_async(&mut b, 1, json!([[0, 10]]), 1);
    commit(&mut b, 2, OpType::Ok, json!([[0, 5]]), 1);
    let (_, g) = check(&b);
    assert_eq!(count(&g, class::COMMIT_REGRESSION), 1);

    // An explicit reset may go back, and the order starts afresh from it.
    let mut b = Builder::new();
    two_members(&mut b);
    commit(&mut b, 1, OpType::Ok, json!([[0, 10]]), 1);
    let v = json!({"group": "g", "mode": "sync", "offsets": [[0, 3]], "reset": true});
    b.op(w(1), OpType::Invoke, F::Commit, &v);
    b.op(w(1), OpType::Ok, F::Commit, &v);
    commit(&mut b, 2, OpType::Ok, json!([[0, 4]]), 1);
    committed(&mut b, json!([[0, 4]]));
    let (_, g) = check(&b);
    assert_eq!(count(&g, class::COMMIT_REGRESSION), 0);
    assert_eq!(count(&g, class::LOST_COMMIT), 0);
}

#[test]
fn lost_commit_is_a_final_offset_below_an_ok_commit() {
    for (fin, lost) in [(json!([[0, 10]]), 0), (json!([[0, 9]]), 1), (json!([]), 1)] {
        let mut b = Builder::new();
        two_members(&mut b);
        commit(&mut b, 1, OpType::Ok, json!([[0, 10]]), 1);
        // An indefinite commit of more may have happened: not lower.
        commit(&mut b, 1, OpType::Info, json!([[0, 12]]), 1);
        committed(&mut b, fin.clone());
        let (_, g) = check(&b);
        assert_eq!(count(&g, class::LOST_COMMIT), lost, "{fin}");
    }
    // Without a final `committed` op: not judged, and said so.
    let mut b = Builder::new();
    two_members(&mut b);
    commit(&mut b, 1, OpType::Ok, json!([[0, 10]]), 1);
    let (r, g) = check(&b);
    assert_eq!(count(&g, class::LOST_COMMIT), 0);
    assert!(r.warnings.iter().any(|w| w.contains("lost commits")));
}

/// Member 1 owns p0 from generation 1; member 2 gets p0 in generation 2
/// while 1 still owns it; 1 then records `late` (a commit of that
/// generation, or an older one) before its revocation.
fn overlap(late_generation: i32) -> GroupResults {
    let mut b = Builder::new();
    two_members(&mut b);
    commit(&mut b, 1, OpType::Ok, json!([[0, 0]]), 1);
    b.sleep(100 * MS);
    rebalance(
        &mut b,
        2,
        json!({"partitions": [0], "added": [0], "generation": 2}),
    );
    b.sleep(100 * MS);
    commit(&mut b, 1, OpType::Ok, json!([[0, 0]]), late_generation);
    rebalance(
        &mut b,
        1,
        json!({"partitions": [], "revoked": [0], "lost": true, "generation": 2}),
    );
    b.sleep(10 * MS);
    rebalance(&mut b, 2, json!({"partitions": [0], "generation": 3}));
    check(&b).1
}

#[test]
fn double_ownership_needs_the_earlier_owner_to_know_the_generation() {
    // A zombie (generation 1) overlapping the new owner: measured only.
    let g = overlap(1);
    assert_eq!(count(&g, class::DOUBLE_OWNERSHIP), 0);
    assert_eq!(g.overlaps.count, 1);
    assert!(g.overlaps.max_ms > 100.0, "{:?}", g.overlaps);
    assert!(!g.overlaps.longest[0].judged);
    assert_eq!(g.overlaps.longest[0].generation, Some(2));
    // The earlier owner committed in generation 2 while it still owned
    // the partition: it knew.
    let g = overlap(2);
    assert_eq!(count(&g, class::DOUBLE_OWNERSHIP), 1);
    assert!(g.overlaps.longest[0].judged);
    // The earlier owner heard of a later generation only after the other
    // owner was gone (a revocation it never reported): not judged.
    let mut b = Builder::new();
    two_members(&mut b);
    rebalance(
        &mut b,
        2,
        json!({"partitions": [0], "added": [0], "generation": 2}),
    );
    b.sleep(10 * MS);
    b.op(w(2), OpType::Invoke, F::Leave, &());
    b.op(w(2), OpType::Ok, F::Leave, &());
    rebalance(
        &mut b,
        1,
        json!({"partitions": [0], "added": [0], "generation": 3}),
    );
    b.poll(1, &[]);
    let (_, g) = check(&b);
    assert_eq!(g.overlaps.count, 1);
    assert_eq!(count(&g, class::DOUBLE_OWNERSHIP), 0);
    // A generation of 0 (a client that has left the group, e.g. a fenced
    // KIP-848 member reporting a stale assignment) is unknown: measured.
    let mut b = Builder::new();
    two_members(&mut b);
    commit(&mut b, 1, OpType::Ok, json!([[0, 3]]), 15);
    rebalance(
        &mut b,
        2,
        json!({"partitions": [0], "added": [0], "generation": 0}),
    );
    b.sleep(10 * MS);
    commit(&mut b, 1, OpType::Ok, json!([[0, 4]]), 16);
    b.poll(2, &[]);
    let (_, g) = check(&b);
    assert_eq!(g.overlaps.count, 1);
    assert_eq!(count(&g, class::DOUBLE_OWNERSHIP), 0);
    assert_eq!(g.overlaps.longest[0].generation, None);
    // The revoking event's own generation does not count.
    let mut b = Builder::new();
    two_members(&mut b);
    rebalance(
        &mut b,
        1,
        json!({"partitions": [], "revoked": [0], "generation": 2}),
    );
    rebalance(
        &mut b,
        2,
        json!({"partitions": [0], "added": [0], "generation": 2}),
    );
    b.poll(2, &[]);
    let (_, g) = check(&b);
    assert_eq!(g.overlaps.count, 0);
    assert_eq!(count(&g, class::DOUBLE_OWNERSHIP), 0);
}

#[test]
fn ownership_ends_at_a_crash_or_leave_invocation() {
    for f in [F::Crash, F::Leave] {
        let mut b = Builder::new();
        two_members(&mut b);
        commit(&mut b, 1, OpType::Ok, json!([[0, 0]]), 5);
        b.op(w(1), OpType::Invoke, f.clone(), &());
        b.sleep(10 * MS);
        rebalance(
            &mut b,
            2,
            json!({"partitions": [0], "added": [0], "generation": 2}),
        );
        b.poll(2, &[]);
        let completion = if f == F::Crash {
            OpType::Info
        } else {
            OpType::Ok
        };
        b.op(w(1), completion, f.clone(), &());
        let (_, g) = check(&b);
        assert_eq!(g.overlaps.count, 0, "{f}");
        assert_eq!(count(&g, class::DOUBLE_OWNERSHIP), 0, "{f}");
        assert_eq!(
            (g.crashes, g.leaves),
            (u64::from(f == F::Crash), u64::from(f == F::Leave))
        );
    }
}

#[test]
fn a_rebalance_as_invoke_and_ok_counts_once() {
    let mut b = Builder::new();
    subscribe(&mut b, 1, "sync");
    let v = json!({"partitions": [0], "added": [0], "generation": 1, "committed": [[0, 1]]});
    b.op(w(1), OpType::Invoke, F::Rebalance, &v);
    b.op(w(1), OpType::Ok, F::Rebalance, &v);
    b.poll(1, &[(0, 1, 11)]);
    let (_, g) = check(&b);
    assert_eq!(g.rebalances.events, 1);
    assert_eq!(g.starts.measured, 1);
    assert_eq!(g.starts.exact, 1);
}

/// Records 0..4 of partition 0; member 1 polls `polls` (offsets, marked
/// unprocessed or not) and the group commits `commit`.
fn skips(mode: &str, polls: &[(&[i64], bool)], commit_to: i64) -> (Results, GroupResults) {
    let mut b = Builder::new();
    for v in 0..4 {
        b.send_ok(0, 10 + v, 0, v as i64);
    }
    subscribe(&mut b, 1, mode);
    rebalance(
        &mut b,
        1,
        json!({"partitions": [0], "added": [0], "generation": 1}),
    );
    for (offsets, unprocessed) in polls {
        b.op(w(1), OpType::Invoke, F::Poll, &());
        let records: Vec<Value> = offsets
            .iter()
            .map(|&o| json!([0, o, 10 + o, 10 + o]))
            .collect();
        let mut v = json!({ "records": records });
        if *unprocessed {
            v["unprocessed"] = json!(true);
        }
        b.op(w(1), OpType::Ok, F::Poll, &v);
    }
    commit_async(&mut b, 1, json!([[0, commit_to]]), 1);
    committed(&mut b, json!([[0, commit_to]]));
    b.final_read(0, 0, 4, &[(0, 10), (1, 11), (2, 12), (3, 13)]);
    check(&b)
}

#[test]
fn skipped_records_are_judged_by_the_commit_mode() {
    // Everything below 3 processed: nothing skipped; 3 is above.
    let (r, g) = skips("sync", &[(&[0, 1, 2], false)], 3);
    assert_eq!(count(&g, class::GROUP_SKIP), 0);
    assert_eq!(r.valid, Validity::Valid, "{}", r.human_summary(2));
    assert_eq!((g.consume.once, g.consume.never), (3, 1));
    // Offset 1 never returned (the polls jumped over it): group-skip.
    let (_, g) = skips("sync", &[(&[0], false), (&[2, 3], false)], 4);
    assert_eq!(count(&g, class::GROUP_SKIP), 1);
    assert_eq!(g.skips[0].first, 1);
    assert_eq!(g.skips[0].class, class::GROUP_SKIP);
    // Offsets 1 and 2 only in an unprocessed poll: under sync an anomaly,
    // under auto permitted (counted, explained, valid).
    let polls: &[(&[i64], bool)] = &[(&[0], false), (&[1, 2], true)];
    let (r, g) = skips("sync", polls, 3);
    assert_eq!(count(&g, class::UNPROCESSED_SKIP), 2);
    assert_eq!(count(&g, class::GROUP_SKIP), 0);
    assert_eq!(r.valid, Validity::Invalid);
    assert_eq!(
        (g.skips[0].first, g.skips[0].last, g.skips[0].count),
        (1, 2, 2)
    );
    let (r, g) = skips("auto", polls, 3);
    assert_eq!(count(&g, class::UNPROCESSED_SKIP), 2);
    assert!(g.anomalies[class::UNPROCESSED_SKIP].permitted.is_some());
    assert_eq!(r.valid, Validity::Valid, "{}", r.human_summary(2));
    assert!(r.anomalies_found().is_empty());
    let text = r.human_summary(1);
    assert!(
        text.contains("unprocessed-skip: 2 — permitted by this configuration: "),
        "{text}"
    );
    assert!(text.contains("enable.auto.commit"), "{text}");
    assert!(
        text.contains("group: group g (classic, cooperative-sticky, auto)"),
        "{text}"
    );
    // Read again later by a processed poll: consumed, not skipped.
    let (_, g) = skips(
        "sync",
        &[(&[0], false), (&[1, 2], true), (&[1, 2], false)],
        3,
    );
    assert_eq!(count(&g, class::UNPROCESSED_SKIP), 0);
    // A results.json read back judges the same.
    let doc = serde_json::to_string(&r).unwrap();
    let back: Results = serde_json::from_str(&doc).unwrap();
    assert!(back.anomalies_found().is_empty());
    assert_eq!(back.human_summary(1), text);
}

#[test]
fn unowned_time_and_rebalance_windows() {
    // Two partitions; member 1 owns both from t=0, gives p1 up for 500 ms
    // (cooperative), member 2 gets it; the workload ends 1 s later.
    let mut b = Builder::new();
    b.tick = 0;
    subscribe(&mut b, 1, "sync");
    subscribe(&mut b, 2, "sync");
    b.sleep(1000 * MS);
    rebalance(
        &mut b,
        1,
        json!({"partitions": [0, 1], "added": [0, 1], "generation": 1}),
    );
    b.sleep(2000 * MS);
    rebalance(
        &mut b,
        1,
        json!({"partitions": [0], "revoked": [1], "generation": 2}),
    );
    b.sleep(500 * MS);
    rebalance(
        &mut b,
        2,
        json!({"partitions": [1], "added": [1], "generation": 3}),
    );
    b.sleep(1000 * MS);
    b.poll(1, &[]);
    b.poll(2, &[]);
    let (_, g) = check(&b);
    // (The builder adds 1 ns per op.)
    let near = |x: f64, y: f64| (x - y).abs() < 1e-3;
    assert!(
        near(g.unowned.complete_at_s.unwrap(), 1.0),
        "{:?}",
        g.unowned
    );
    assert!(
        near(g.unowned.partitions[&1].total_ms, 500.0),
        "{:?}",
        g.unowned
    );
    assert_eq!(g.unowned.partitions[&0].total_ms, 0.0);
    assert_eq!(g.rebalances.windows, 1);
    assert!(near(g.rebalances.p50_ms, 500.0) && near(g.rebalances.max_ms, 500.0));
    assert_eq!(g.rebalances.events, 3);
    assert_eq!((g.members, g.max_members), (2, 2));
}

#[test]
fn an_empty_group_and_the_run_stopping_are_not_rebalances() {
    // One member owns p0 from 1 s; it leaves at 2 s; the group is empty
    // until member 2 joins at 3 s and gets p0 at 3.5 s; at 4 s the
    // final phase begins (a heal), while member 2 still owns p0 and then
    // leaves; a member draining after the heal is not the workload.
    let mut b = Builder::new();
    b.tick = 0;
    subscribe(&mut b, 1, "sync");
    b.sleep(1000 * MS);
    rebalance(
        &mut b,
        1,
        json!({"partitions": [0], "added": [0], "generation": 1}),
    );
    b.sleep(1000 * MS);
    b.op(w(1), OpType::Invoke, F::Leave, &());
    b.op(w(1), OpType::Ok, F::Leave, &());
    b.sleep(1000 * MS);
    subscribe(&mut b, 2, "sync");
    b.sleep(500 * MS);
    rebalance(
        &mut b,
        2,
        json!({"partitions": [0], "added": [0], "generation": 2}),
    );
    b.sleep(300 * MS);
    b.op(w(2), OpType::Invoke, F::Leave, &());
    b.op(w(2), OpType::Ok, F::Leave, &());
    b.sleep(200 * MS);
    b.nemesis("heal");
    subscribe(&mut b, 3, "sync");
    rebalance(
        &mut b,
        3,
        json!({"partitions": [0], "added": [0], "generation": 3}),
    );
    b.sleep(1000 * MS);
    b.poll(3, &[]);
    let (_, g) = check(&b);
    let near = |x: f64, y: f64| (x - y).abs() < 1e-3;
    let u = &g.unowned;
    assert!(near(u.end_s, 4.0), "{u:?}");
    // Unowned 2 s → 3.5 s: 1 s of it with no member, 0.5 s a rebalance;
    // 3.8 s → 4 s: the run stopping.
    assert!(near(u.empty_ms, 1000.0), "{u:?}");
    assert!(near(u.total_ms, 500.0), "{u:?}");
    assert!(near(u.trailing_ms, 200.0), "{u:?}");
    assert_eq!(g.rebalances.windows, 1);
    assert!(near(g.rebalances.max_ms, 500.0), "{:?}", g.rebalances);
}

/// Member 1 owns p0 and has reached generation 3; member 2, out of the
/// group, is then handed p0 in generation 2 (a stale assignment); it
/// records generation `zombie_knew` (if any) before the poll that ends
/// the history.
fn stale_assignment(zombie_knew: Option<i32>) -> GroupResults {
    let mut b = Builder::new();
    two_members(&mut b);
    rebalance(&mut b, 1, json!({"partitions": [0], "generation": 3}));
    b.sleep(10 * MS);
    rebalance(
        &mut b,
        2,
        json!({"partitions": [0], "added": [0], "generation": 2}),
    );
    b.sleep(100 * MS);
    if let Some(g) = zombie_knew {
        commit(&mut b, 2, OpType::Ok, json!([[0, 0]]), g);
    }
    b.poll(2, &[]);
    b.poll(1, &[]);
    check(&b).1
}

#[test]
fn a_stale_assignment_after_the_current_owner_is_the_stale_members() {
    // The current owner (generation 3) is not to blame for a member that
    // was handed generation 2's partition later: measured only.
    let g = stale_assignment(None);
    assert_eq!(g.overlaps.count, 1);
    assert_eq!(count(&g, class::DOUBLE_OWNERSHIP), 0);
    let g = stale_assignment(Some(2));
    assert_eq!(count(&g, class::DOUBLE_OWNERSHIP), 0);
    // The stale member knew generation 3 while it held the partition:
    // judged, and named as the one that owned it against its knowledge.
    let g = stale_assignment(Some(3));
    assert_eq!(count(&g, class::DOUBLE_OWNERSHIP), 1);
    let ex = &g.anomalies[class::DOUBLE_OWNERSHIP].examples[0];
    assert!(ex.message.contains("generation 3"), "{}", ex.message);
}
