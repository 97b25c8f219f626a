//! The `progress` checker both ways: generated histories of the three
//! workloads in a healthy cluster have no `client-stall`; the same
//! histories with a gap in progress injected are found stalled with the
//! window injected; recovery times on a constructed history are the ones
//! constructed.

use super::*;
use crate::checker::Registration;
use crate::generate::{
    simulate, simulate_group, simulate_txn, Builder, GroupSimConfig, SimConfig, TxnSimConfig,
};
use crate::{check_ops, check_ops_with, Results, Validity};
use proptest::prelude::*;
use serde_json::json;
use trial_histories::values::Poll;

const S: u64 = 1_000_000_000;
const MS: u64 = 1_000_000;

fn only_progress() -> [Registration; 1] {
    [Registration {
        name: "progress",
        make: crate::progress::make,
    }]
}

fn opts(threshold_s: u64) -> CheckOptions {
    CheckOptions {
        stall_threshold: Duration::from_secs(threshold_s),
        ..CheckOptions::default()
    }
}

fn progress_of(r: &Results) -> ProgressResults {
    r.checker("progress").expect("progress results")
}

fn observation(healthy: bool) -> serde_json::Value {
    let isr = if healthy {
        json!([1, 2, 3])
    } else {
        json!([2, 3])
    };
    json!({
        "partitions": [{"partition": 0, "leader": if healthy { 1 } else { 2 }, "epoch": 0,
                        "replicas": [1, 2, 3], "isr": isr, "offline": []}],
        "brokers": {"1": "n1", "2": "n2", "3": "n3"},
        "unreachable": [],
        "read_ms": 3
    })
}

fn sample_ops(t: u64, healthy: bool) -> [Op; 2] {
    let p = Process::Named("observer".into());
    let mut i = Op::new(p.clone(), OpType::Invoke, F::Observe).with_value(&());
    let mut c = Op::new(p, OpType::Ok, F::Observe).with_value(&observation(healthy));
    i.time = t;
    c.time = t;
    [i, c]
}

/// `ops` with a healthy observer sample every 500 ms from time 0 to the
/// last op, merged in time order and indexed again.
fn with_samples(ops: &[Op]) -> Vec<Op> {
    let end = ops.iter().map(|o| o.time).max().unwrap_or(0);
    let mut out = Vec::with_capacity(ops.len() + 4 * (end / (500 * MS)) as usize + 4);
    let mut next = 0;
    for op in ops {
        while next <= op.time {
            out.extend(sample_ops(next, true));
            next += 500 * MS;
        }
        out.push(op.clone());
    }
    for (i, op) in out.iter_mut().enumerate() {
        op.index = i as u64;
    }
    out
}

/// The test's own rule of progress: an ok send, txn or commit of a worker,
/// or its ok poll with records.
fn is_progress_op(op: &Op) -> bool {
    matches!(op.process, Process::Worker(_))
        && op.kind == OpType::Ok
        && match op.f {
            F::Send | F::Txn | F::Commit => true,
            F::Poll => op
                .value_as::<Poll>()
                .map_or(true, |p| !p.records.is_empty()),
            _ => false,
        }
}

/// The stalls expected of a history healthy throughout (samples from time
/// 0 on) with no fault: every gap between consecutive progress ops (and
/// from the workload's first op, and to its last) longer than the
/// threshold, as (start, end) in ns.
fn oracle(ops: &[Op], threshold: u64) -> Vec<(u64, u64)> {
    let work: Vec<&Op> = ops
        .iter()
        .filter(|o| {
            matches!(o.process, Process::Worker(_))
                && matches!(o.f, F::Send | F::Poll | F::Txn | F::Commit)
        })
        .collect();
    let (Some(first), Some(last)) = (work.first(), work.last()) else {
        return Vec::new();
    };
    let mut points = vec![first.time];
    points.extend(ops.iter().filter(|o| is_progress_op(o)).map(|o| o.time));
    points.push(last.time);
    points
        .windows(2)
        .filter(|w| w[1] - w[0] > threshold)
        .map(|w| (w[0], w[1]))
        .collect()
}

fn found(p: &ProgressResults) -> Vec<(u64, u64)> {
    p.stalls
        .iter()
        .map(|s| {
            (
                (s.start_s * 1e9).round() as u64,
                (s.end_s * 1e9).round() as u64,
            )
        })
        .collect()
}

/// Shift every op after the progress op `k`-th among the progress ops by
/// `gap` ns: no progress from it to the next one. Returns the shifted ops
/// and the window the gap makes (the progress op's time, the next one's).
fn inject_gap(ops: &[Op], k: usize, gap: u64) -> (Vec<Op>, (u64, u64)) {
    let prog: Vec<usize> = (0..ops.len())
        .filter(|&i| is_progress_op(&ops[i]))
        .collect();
    let at = prog[k];
    let mut out = ops.to_vec();
    for op in &mut out[at + 1..] {
        op.time += gap;
    }
    (out.clone(), (out[at].time, out[prog[k + 1]].time))
}

#[derive(Debug, Clone, Copy)]
enum Sim {
    Queue,
    Txn,
    Group,
}

fn generated(sim: Sim, seed: u64) -> Vec<Op> {
    match sim {
        Sim::Queue => simulate(&SimConfig {
            seed,
            nemesis: false,
            steps: 400,
            ..SimConfig::default()
        }),
        Sim::Txn => {
            simulate_txn(&TxnSimConfig {
                seed,
                steps: 300,
                ..TxnSimConfig::default()
            })
            .ops
        }
        Sim::Group => simulate_group(&GroupSimConfig {
            seed,
            steps: 300,
            ..GroupSimConfig::default()
        }),
    }
}

const THRESHOLD_S: u64 = 10;

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// A generated valid history of each workload in a healthy cluster:
    /// no stall where there is none (queue and transactions: ops every few
    /// ms; the group simulator's session timeouts may jump seconds, and
    /// what is found is exactly the oracle's). The same history with a gap
    /// in progress injected: a `client-stall` with the injected window,
    /// the verdict and exit code unchanged, the weak-evidence caveat added.
    #[test]
    fn stalls_are_found_where_injected_and_nowhere_else(
        sim in prop_oneof![Just(Sim::Queue), Just(Sim::Txn), Just(Sim::Group)],
        seed in 1u64..1_000,
        pick in 0.1f64..0.9,
        extra_ms in 1u64..20_000,
    ) {
        let threshold = THRESHOLD_S * S;
        let base = generated(sim, seed);
        let ops = with_samples(&base);
        let r0 = check_ops_with(&ops, &opts(THRESHOLD_S), &only_progress()).unwrap();
        let p0 = progress_of(&r0);
        prop_assert!(p0.observed);
        prop_assert_eq!(found(&p0), oracle(&ops, threshold));
        if !matches!(sim, Sim::Group) {
            prop_assert!(p0.stalls.is_empty(), "{:?}", p0.stalls);
            prop_assert!(r0.weak_evidence.is_empty());
        }

        let n = base.iter().filter(|o| is_progress_op(o)).count();
        prop_assume!(n >= 4);
        let k = ((n - 2) as f64 * pick) as usize;
        let gap = threshold + extra_ms * MS;
        let (stalled, window) = inject_gap(&base, k, gap);
        let ops1 = with_samples(&stalled);
        let r1 = check_ops_with(&ops1, &opts(THRESHOLD_S), &only_progress()).unwrap();
        let p1 = progress_of(&r1);
        let f1 = found(&p1);
        prop_assert!(f1.contains(&window), "{:?} not in {:?}", window, f1);
        prop_assert_eq!(f1, oracle(&ops1, threshold));
        let s = p1.stalls.iter().find(|s| (s.start_s * 1e9).round() as u64 == window.0).unwrap();
        prop_assert_eq!(&s.finding, "client-stall");
        prop_assert!(s.duration_s * 1e9 >= gap as f64 - 1.0);
        prop_assert!(!r1.weak_evidence.is_empty());
        prop_assert!(p1.summary.starts_with("CLIENT-STALL"), "{}", p1.summary);

        // The whole check: the anomaly verdict and exit code do not move.
        let full = CheckOptions {
            transactional: matches!(sim, Sim::Txn),
            ..opts(THRESHOLD_S)
        };
        let full0 = check_ops(&ops, &full).unwrap();
        let full1 = check_ops(&ops1, &full).unwrap();
        prop_assert_eq!(full0.valid, full1.valid);
        prop_assert_eq!(full0.exit_code(), full1.exit_code());
        prop_assert_eq!(&full0.anomaly_counts, &full1.anomaly_counts);
        prop_assert!(!full1.weak_evidence.is_empty());
        if full1.valid == Validity::Valid {
            prop_assert!(full1.summary.contains("weak evidence"), "{}", full1.summary);
        }
        prop_assert!(full1.human_summary(0).contains("weak evidence: client-stall"));
    }
}

/// Sends of worker `p`, each invoked 5 ms before its ok, at `per_s` a
/// second in `[from, to)`, offset 3 ms from the 100 ms grid.
fn steady(events: &mut Vec<(u64, Op)>, p: u64, from: u64, to: u64, per_s: u64) {
    let step = S / per_s;
    let mut t = from + 3 * MS;
    let mut v = 0;
    while t < to {
        let send = json!({"key": 1, "value": t / MS, "partition": 0, "offset": v});
        events.push((
            t - 2 * MS,
            Op::new(Process::Worker(p), OpType::Invoke, F::Send).with_value(&send),
        ));
        events.push((
            t,
            Op::new(Process::Worker(p), OpType::Ok, F::Send).with_value(&send),
        ));
        v += 1;
        t += step;
    }
}

fn samples(events: &mut Vec<(u64, Op)>, from: u64, to: u64, every: u64, healthy: bool) {
    let mut t = from;
    while t < to {
        for o in sample_ops(t, healthy) {
            events.push((t, o));
        }
        t += every;
    }
}

fn nemesis(events: &mut Vec<(u64, Op)>, t: u64, f: &str, v: serde_json::Value) {
    events.push((
        t,
        Op::new(Process::Nemesis, OpType::Invoke, f).with_value(&serde_json::Value::Null),
    ));
    events.push((t, Op::new(Process::Nemesis, OpType::Info, f).with_value(&v)));
}

/// Events in time order (stable), as a history.
fn history(mut events: Vec<(u64, Op)>) -> Vec<Op> {
    events.sort_by_key(|e| e.0);
    let mut b = Builder::new();
    for (t, op) in events {
        b.time = t;
        b.push(op);
    }
    b.ops
}

/// A kill of n1 from 10 s to 15 s; 100 sends/s before it; the cluster
/// unhealthy until the sample at 16 s; the first send after it at 16.7 s;
/// 20/s until 18 s, 100/s after. Heal 1.0 s after the stop, first op 0.7 s
/// after the heal, and the first 1 s window with 80 % of 100/s starts at
/// 17.8 s (17.75 s exactly, on the 100 ms grid 17.8 s): 1.8 s after it.
#[test]
fn recovery_times_are_the_ones_constructed() {
    let mut ev = Vec::new();
    samples(&mut ev, 0, 10 * S, 500 * MS, true);
    samples(&mut ev, 10 * S + 250 * MS, 16 * S, 500 * MS, false);
    samples(&mut ev, 16 * S, 30 * S, 500 * MS, true);
    steady(&mut ev, 0, 0, 10 * S, 100);
    nemesis(&mut ev, 10 * S, "start-kill", json!({"nodes": ["n1"]}));
    nemesis(&mut ev, 15 * S, "stop-kill", json!({"started": ["n1"]}));
    // During the fault: a send that fails, with its error.
    ev.push((
        11 * S,
        Op::new(Process::Worker(1), OpType::Invoke, F::Send)
            .with_value(&json!({"key": 1, "value": 1})),
    ));
    ev.push((
        12 * S,
        Op::new(Process::Worker(1), OpType::Fail, F::Send)
            .with_value(&json!({"key": 1, "value": 1}))
            .with_error("Local: Message timed out"),
    ));
    steady(&mut ev, 0, 16_697 * MS, 18 * S, 20);
    steady(&mut ev, 2, 18 * S, 30 * S, 100);
    let ops = history(ev);
    let r = check_ops_with(&ops, &opts(20), &only_progress()).unwrap();
    let p = progress_of(&r);
    assert!(p.stalls.is_empty(), "{:?}", p.stalls);
    assert_eq!(p.recovery.len(), 1);
    let rec = &p.recovery[0];
    assert_eq!(rec.kind, "kill");
    assert_eq!(rec.nodes, ["n1"]);
    assert!(rec.unknown.is_empty(), "{:?}", rec.unknown);
    assert_eq!(rec.heal_s, Some(16.0));
    assert_eq!(rec.ready_after_s, Some(1.0));
    let first = rec.first_ok_after_heal_s.unwrap();
    assert!((first - 0.7).abs() < 1e-9, "{first}");
    let pre = rec.pre_fault_ok_per_s.unwrap();
    assert!((pre - 100.0).abs() < 1e-9, "{pre}");
    // The workload's first op is at 1 ms: whole 100 ms buckets from 0.1 s.
    assert_eq!(rec.pre_fault_window_s, Some(9.9));
    let r80 = rec.rate_80_after_heal_s.unwrap();
    assert!((r80 - 1.8).abs() < 1e-9, "{r80}");
    assert_eq!(p.first_ok_after_heal_s.as_ref().map(|q| q.n), Some(1));
    assert!(
        p.summary.contains("first op p50 0.7 s") && p.summary.contains("80 % rate p50 1.8 s"),
        "{}",
        p.summary
    );
    // Healthy, fault-free time: 0–10 s and 16–30 s (the workload's span).
    assert!((p.healthy_s - 24.0).abs() < 0.01, "{}", p.healthy_s);
}

/// Unknown is said, not invented: a fault never stopped has no heal; a
/// fault right after another (no healthy stretch before it) has no
/// pre-fault rate; a workload that never completes after the heal has no
/// first op.
#[test]
fn recovery_that_cannot_be_measured_is_unknown_with_its_reason() {
    let mut ev = Vec::new();
    samples(&mut ev, 0, 5 * S, 500 * MS, true);
    samples(&mut ev, 5 * S + 250 * MS, 8 * S, 500 * MS, false);
    samples(&mut ev, 8 * S, 9 * S, 500 * MS, true);
    samples(&mut ev, 9 * S + 250 * MS, 12 * S, 500 * MS, false);
    steady(&mut ev, 0, 0, 5 * S, 50);
    nemesis(&mut ev, 5 * S, "start-kill", json!({"nodes": ["n1"]}));
    nemesis(&mut ev, 7 * S, "stop-kill", json!(null));
    // 0.5 s healthy stretch, then a pause never stopped.
    nemesis(&mut ev, 8_500 * MS, "start-pause", json!({"nodes": ["n2"]}));
    // The workload's last op: a send in flight until 12 s.
    ev.push((
        9 * S,
        Op::new(Process::Worker(3), OpType::Invoke, F::Send)
            .with_value(&json!({"key": 1, "value": 9})),
    ));
    ev.push((
        12 * S,
        Op::new(Process::Worker(3), OpType::Info, F::Send)
            .with_value(&json!({"key": 1, "value": 9}))
            .with_error("Local: Message timed out"),
    ));
    let ops = history(ev);
    let r = check_ops_with(&ops, &opts(20), &only_progress()).unwrap();
    let p = progress_of(&r);
    assert_eq!(p.recovery.len(), 2);
    let kill = &p.recovery[0];
    assert_eq!(kill.heal_s, Some(8.0));
    assert_eq!(kill.first_ok_after_heal_s, None);
    let pre = kill.pre_fault_ok_per_s.unwrap();
    assert!((pre - 50.0).abs() < 1e-9, "{pre}");
    assert_eq!(kill.rate_80_after_heal_s, None);
    assert!(
        kill.unknown
            .iter()
            .any(|u| u.contains("no operation of the workload completed ok after the heal")),
        "{:?}",
        kill.unknown
    );
    let pause = &p.recovery[1];
    assert_eq!((pause.heal_s, pause.pre_fault_ok_per_s), (None, None));
    assert!(pause.unknown.iter().any(|u| u.contains("never stopped")));
    assert!(
        pause
            .unknown
            .iter()
            .any(|u| u.contains("healthy for only 0.5 s")),
        "{:?}",
        pause.unknown
    );
    assert_eq!(p.first_ok_after_heal_s, None);
    assert!(
        p.summary.contains("first op unknown (0 of 2)"),
        "{}",
        p.summary
    );
}

/// What comes after the next fault began belongs to that fault: a cluster
/// ready again only during the next fault, or a first op only after it
/// began, is no recovery of this one.
#[test]
fn recovery_stops_at_the_next_fault() {
    let run = |ready_at: u64| {
        let mut ev = Vec::new();
        samples(&mut ev, 0, 5 * S, 500 * MS, true);
        samples(&mut ev, 5 * S + 250 * MS, ready_at, 500 * MS, false);
        samples(&mut ev, ready_at, 40 * S, 500 * MS, true);
        steady(&mut ev, 0, 0, 5 * S, 50);
        nemesis(&mut ev, 5 * S, "start-kill", json!({"nodes": ["n1"]}));
        nemesis(&mut ev, 7 * S, "stop-kill", json!(null));
        nemesis(&mut ev, 12 * S, "start-pause", json!({"nodes": ["n2"]}));
        nemesis(&mut ev, 14 * S, "stop-pause", json!(null));
        // The workload resumes only at 20 s.
        steady(&mut ev, 0, 20 * S, 40 * S, 50);
        let ops = history(ev);
        let r = check_ops_with(&ops, &opts(20), &only_progress()).unwrap();
        progress_of(&r)
    };
    // Ready at 13 s: during the pause.
    let p = run(13 * S);
    let kill = &p.recovery[0];
    assert_eq!(kill.heal_s, None);
    assert!(
        kill.unknown
            .iter()
            .any(|u| u == "the next fault began before the cluster was ready again"),
        "{:?}",
        kill.unknown
    );
    let pause = &p.recovery[1];
    assert_eq!(pause.heal_s, Some(14.0));
    let first = pause.first_ok_after_heal_s.unwrap();
    assert!((first - 6.003).abs() < 1e-9, "{first}");
    // Ready at 9 s: healed, but nothing completed before the pause.
    let p = run(9 * S);
    let kill = &p.recovery[0];
    assert_eq!((kill.heal_s, kill.first_ok_after_heal_s), (Some(9.0), None));
    assert!(
        kill.unknown.iter().any(|u| u
            == "no operation of the workload completed ok after the heal before the next fault"),
        "{:?}",
        kill.unknown
    );
}

/// A cluster ready again only after the workload's last op: its first op
/// after the heal is unknown (the workload had ended), not "never".
#[test]
fn a_heal_after_the_workload_ended_is_unknown() {
    let mut ev = Vec::new();
    samples(&mut ev, 0, 5 * S, 500 * MS, true);
    samples(&mut ev, 5 * S + 250 * MS, 20 * S, 500 * MS, false);
    samples(&mut ev, 20 * S, 25 * S, 500 * MS, true);
    steady(&mut ev, 0, 0, 5 * S, 50);
    steady(&mut ev, 0, 8 * S, 10 * S, 50);
    nemesis(&mut ev, 5 * S, "start-kill", json!({"nodes": ["n1"]}));
    nemesis(&mut ev, 7 * S, "stop-kill", json!(null));
    let r = check_ops_with(&history(ev), &opts(20), &only_progress()).unwrap();
    let rec = &progress_of(&r).recovery[0];
    assert_eq!((rec.heal_s, rec.first_ok_after_heal_s), (Some(20.0), None));
    assert_eq!(
        rec.unknown,
        ["the workload had ended before the cluster was ready again"]
    );
}

/// A healthy cluster, three processes: 0 sends until 5 s then stops, 1
/// invokes a transaction at 5.5 s that never completes before 41 s, 2
/// retries a commit that fails every 2 s with an error. No progress from
/// 5 s to 40 s: one stall, its processes, their in-flight ops and errors.
/// Behind a fault covering 10–30 s the healthy pieces are too short: no
/// stall, but the longest healthy stretch without progress is measured.
#[test]
fn a_stall_names_its_window_processes_and_errors() {
    let build = |fault: bool| {
        let mut ev = Vec::new();
        samples(&mut ev, 0, 45 * S, 500 * MS, true);
        steady(&mut ev, 0, 0, 5 * S, 50);
        ev.push((
            5_500 * MS,
            Op::new(Process::Worker(1), OpType::Invoke, F::Txn).with_value(&json!([])),
        ));
        ev.push((
            41 * S,
            Op::new(Process::Worker(1), OpType::Info, F::Txn)
                .with_value(&json!([]))
                .with_error(
                    "Timed out waiting for operation to finish, retry call to resume (Retriable)",
                ),
        ));
        let mut t = 6 * S;
        while t < 38 * S {
            ev.push((
                t,
                Op::new(Process::Worker(2), OpType::Invoke, F::Commit).with_value(&json!({})),
            ));
            ev.push((
                t + S,
                Op::new(Process::Worker(2), OpType::Fail, F::Commit)
                    .with_value(&json!({}))
                    .with_error(format!("Broker transport failure at {}", t / S)),
            ));
            t += 2 * S;
        }
        steady(&mut ev, 0, 40 * S, 45 * S, 50);
        if fault {
            nemesis(&mut ev, 10 * S, "start-partition", json!({"nodes": ["n1"]}));
            nemesis(&mut ev, 30 * S, "stop-partition", json!(null));
        }
        history(ev)
    };
    let ops = build(false);
    let r = check_ops_with(&ops, &opts(20), &only_progress()).unwrap();
    let p = progress_of(&r);
    assert_eq!(p.stalls.len(), 1, "{:?}", p.stalls);
    let s = &p.stalls[0];
    let last_before = 4_983_000_000u64; // the last of 50/s from 3 ms
    let first_after = 40_003_000_000u64;
    assert_eq!(
        found(&p),
        vec![(last_before, first_after)],
        "{:?}",
        (s.start_s, s.end_s)
    );
    assert_eq!(s.gap_end_s, Some(40.003));
    assert_eq!(s.processes_stuck, 2, "{:?}", s.processes);
    let p1 = &s.processes[0];
    assert_eq!(p1.process, 1);
    assert_eq!(
        p1.in_flight,
        Some(InFlight {
            f: "txn".into(),
            since_s: 5.5
        })
    );
    assert_eq!(p1.last_error, None);
    let p2 = &s.processes[1];
    assert_eq!(p2.process, 2);
    assert_eq!(p2.in_flight, None);
    let e = p2.last_error.as_ref().unwrap();
    assert_eq!((e.f.as_str(), e.at_s), ("commit", 37.0));
    assert_eq!(e.error, "Broker transport failure at 36");
    assert!(
        r.weak_evidence[0].contains("35.0 s"),
        "{:?}",
        r.weak_evidence
    );
    assert!(r.weak_evidence[0].contains("2 process(es) stuck"));

    let ops = build(true);
    let r = check_ops_with(&ops, &opts(20), &only_progress()).unwrap();
    let p = progress_of(&r);
    assert!(p.stalls.is_empty(), "{:?}", p.stalls);
    assert!(r.weak_evidence.is_empty());
    let longest = p.longest_healthy_without_ok_s.unwrap();
    assert!((longest - 10.003).abs() < 1e-6, "{longest}");
    // With a threshold under it, the healthy piece after the fault is a
    // stall, the one before (5 s) is not.
    let r = check_ops_with(&ops, &opts(8), &only_progress()).unwrap();
    let p = progress_of(&r);
    assert_eq!(found(&p), vec![(30 * S, first_after)]);
}

/// A cluster that the observer sees unhealthy (a partition without a full
/// ISR), with no fault: progress stops, and that is no client stall. No
/// observer at all: nothing is known, and nothing is claimed.
#[test]
fn no_stall_without_a_healthy_cluster_or_an_observer() {
    let mut ev = Vec::new();
    samples(&mut ev, 0, 5 * S, 500 * MS, true);
    samples(&mut ev, 5 * S, 60 * S, 500 * MS, false);
    steady(&mut ev, 0, 0, 5 * S, 50);
    steady(&mut ev, 0, 55 * S, 60 * S, 50);
    let ops = history(ev);
    let r = check_ops_with(&ops, &opts(20), &only_progress()).unwrap();
    let p = progress_of(&r);
    assert!(
        p.stalls.is_empty() && r.weak_evidence.is_empty(),
        "{:?}",
        p.stalls
    );
    // An observer that went silent for 35 s after a healthy sample (it
    // blocks while brokers restart) vouches for 5 s of it, not 35.
    let mut ev = Vec::new();
    samples(&mut ev, 0, 5 * S, 500 * MS, true);
    samples(&mut ev, 40 * S, 60 * S, 500 * MS, true);
    steady(&mut ev, 0, 0, 5 * S, 50);
    steady(&mut ev, 0, 38 * S, 60 * S, 50);
    let silent = history(ev);
    let r = check_ops_with(&silent, &opts(20), &only_progress()).unwrap();
    let p = progress_of(&r);
    assert!(p.stalls.is_empty(), "{:?}", p.stalls);
    let longest = p.longest_healthy_without_ok_s.unwrap();
    assert!((longest - (9.5 - 4.983)).abs() < 1e-6, "{longest}");
    // The same, with the observer's ops removed.
    let blind: Vec<Op> = ops
        .iter()
        .filter(|o| o.f != F::Observe)
        .cloned()
        .enumerate()
        .map(|(i, mut o)| {
            o.index = i as u64;
            o
        })
        .collect();
    let r = check_ops_with(&blind, &opts(20), &only_progress()).unwrap();
    let p = progress_of(&r);
    assert!(!p.observed && p.stalls.is_empty());
    assert!(
        p.summary.starts_with("no observer samples"),
        "{}",
        p.summary
    );
}

/// An empty poll is no progress; a poll with records is.
#[test]
fn empty_polls_are_not_progress() {
    let mut b = Builder::new();
    let p = Process::Named("observer".into());
    b.op(p.clone(), OpType::Invoke, F::Observe, &());
    b.op(p.clone(), OpType::Ok, F::Observe, &observation(true));
    b.poll(0, &[(0, 0, 1)]);
    for _ in 0..30 {
        b.sleep(S);
        b.op(p.clone(), OpType::Invoke, F::Observe, &());
        b.op(p.clone(), OpType::Ok, F::Observe, &observation(true));
        b.poll(0, &[]);
    }
    b.sleep(S);
    b.poll(0, &[(0, 1, 2)]);
    let r = check_ops_with(&b.ops, &opts(20), &only_progress()).unwrap();
    let pr = progress_of(&r);
    assert_eq!(pr.ok_ops, 2);
    assert_eq!(pr.stalls.len(), 1, "{:?}", pr.stalls);
    assert!(pr.stalls[0].duration_s > 30.0);
    assert_eq!(pr.stalls[0].processes_stuck, 1);
}

#[test]
fn the_threshold_follows_the_message_timeout() {
    assert_eq!(
        stall_threshold_for(Duration::from_secs(10)),
        Duration::from_secs(20)
    );
    assert_eq!(stall_threshold_for(Duration::from_secs(2)), STALL_FLOOR);
    let o = CheckOptions::for_test_json(&json!({"message_timeout": 300.0})).unwrap();
    assert_eq!(o.stall_threshold, Duration::from_secs(600));
    let o = CheckOptions::for_test_json(&json!({
        "message_timeout": 10.0,
        "producer_overrides": {"message.timeout.ms": "30000"}
    }))
    .unwrap();
    assert_eq!(o.stall_threshold, Duration::from_secs(60));
    let o = CheckOptions::for_test_json(&json!({})).unwrap();
    assert_eq!(o.stall_threshold, DEFAULT_STALL_THRESHOLD);
}

#[test]
fn subtracting_intervals() {
    assert_eq!(
        subtract(&[(0, 10), (20, 30)], &[(5, 7), (8, 22), (29, 40)]),
        vec![(0, 5), (7, 8), (22, 29)]
    );
    assert_eq!(subtract(&[(0, 10)], &[]), vec![(0, 10)]);
    assert_eq!(subtract(&[(0, 10)], &[(0, 10)]), Vec::<(u64, u64)>::new());
}
