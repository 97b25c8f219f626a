//! Unit tests of the claims: the catalogue, the selection, every observer
//! over sample results both ways, the document's exit codes.

use super::*;
use crate::clients::Acks;
use crate::trial::script::{ScriptFault, ScriptTarget};
use serde_json::{json, Value};
use std::collections::BTreeMap;

#[test]
fn the_catalogue_is_well_formed_and_every_spec_validates() {
    let mut ids: Vec<&str> = CLAIMS.iter().map(|c| c.id).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), CLAIMS.len(), "claim ids are unique");
    assert!(CLAIMS.len() >= 8);
    let o = ClaimOptions::new("store");
    for c in CLAIMS {
        assert!(
            c.id.chars()
                .all(|x| x.is_ascii_lowercase() || x.is_ascii_digit() || x == '-'),
            "{} is kebab-case",
            c.id
        );
        assert!(
            matches!(c.expected, Outcome::Holds | Outcome::Refuted),
            "{}: documentation predicts holds or refuted",
            c.id
        );
        assert!(
            c.source.starts_with("https://kafka.apache.org/"),
            "{}",
            c.id
        );
        assert!(!c.documented.is_empty() && !c.setting.is_empty() && !c.faults.is_empty());
        let s = c.spec(&o).unwrap();
        assert_eq!(s.name, format!("claim-{}", c.id));
        assert_eq!(s.time_limit, c.time_limit);
        assert!(
            c.estimate > c.time_limit,
            "{}: the estimate includes the overhead",
            c.id
        );
        // Every experiment applies faults (a claim about faults needs them).
        assert!(!s.fault_kinds().0.is_empty(), "{}", c.id);
    }
    // The options reach every spec.
    let o = ClaimOptions {
        seed: Some(9),
        time_limit: Some(Duration::from_secs(20)),
        kafka_version: Some("3.9.1".into()),
        ..ClaimOptions::new("/tmp/x")
    };
    for c in CLAIMS {
        let s = c.spec(&o).unwrap();
        assert_eq!(s.seed, 9);
        assert_eq!(s.time_limit, Duration::from_secs(20));
        assert_eq!(s.cluster.kafka_version.as_deref(), Some("3.9.1"));
        assert_eq!(s.store, Path::new("/tmp/x"));
        // Scripts scale with the time limit.
        if let NemesisPlan::Script(steps) = &s.nemesis {
            assert!(
                steps.iter().all(|x| x.at < Duration::from_secs(20)),
                "{}",
                c.id
            );
        }
    }
    // A release the suite cannot run is refused before anything starts.
    let bad = ClaimOptions {
        kafka_version: Some("1.0.0".into()),
        ..ClaimOptions::new("s")
    };
    assert!(CLAIMS[0].spec(&bad).is_err());
}

#[test]
fn the_experiments_have_the_settings_their_claims_name() {
    let o = ClaimOptions::new("s");
    let spec = |id: &str| find(id).unwrap().spec(&o).unwrap();
    let s = spec("acks-all-rf-n");
    assert_eq!(
        (
            s.acks,
            s.cluster.replication_factor,
            s.cluster.min_insync_replicas
        ),
        (Acks::All, 3, 2)
    );
    let NemesisPlan::Generated(n) = &s.nemesis else {
        panic!("generated")
    };
    assert_eq!(n.kill_targets, vec![Target::ReplicasButOne]);
    let s = spec("acks-1-keeps-acked");
    assert_eq!((s.acks, s.cluster.min_insync_replicas), (Acks::One, 1));
    assert!(!s.cluster.unclean_leader_election && !s.idempotence);
    let NemesisPlan::Script(steps) = &s.nemesis else {
        panic!("scripted")
    };
    assert!(steps
        .iter()
        .any(|x| x.fault == ScriptFault::Isolate && x.target == ScriptTarget::LeaderOf(0)));
    let s = spec("unclean-keeps-acked");
    assert!(s.cluster.unclean_leader_election && s.cluster.split_roles);
    assert_eq!((s.acks, s.cluster.min_insync_replicas), (Acks::All, 1));
    let s = spec("min-insync-refuses");
    assert_eq!((s.acks, s.cluster.min_insync_replicas), (Acks::All, 2));
    assert!(s.cluster.split_roles && s.partitions == 1);
    let s = spec("idempotence-no-duplicates");
    assert!(s.idempotence);
    for id in ["group-one-owner", "group-takeover"] {
        assert_eq!(spec(id).workload, "group");
    }
}

#[test]
fn quick_fits_ten_minutes_and_holds_the_two_acks_claims() {
    let quick = select(true, &[]).unwrap();
    let ids: Vec<&str> = quick.iter().map(|c| c.id).collect();
    assert!(ids.contains(&"acks-all-rf-n") && ids.contains(&"acks-1-keeps-acked"));
    let total: Duration = quick.iter().map(|c| c.estimate).sum();
    assert!(total <= Duration::from_secs(600), "{total:?}");
    assert_eq!(select(false, &[]).unwrap().len(), CLAIMS.len());
    // --only keeps catalogue order and overrides --quick.
    let only = select(
        true,
        &["group-takeover".to_string(), "acks-all-rf-n".to_string()],
    )
    .unwrap();
    let ids: Vec<&str> = only.iter().map(|c| c.id).collect();
    assert_eq!(ids, ["acks-all-rf-n", "group-takeover"]);
    let e = select(false, &["nope".to_string()])
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains("unknown claim \"nope\"") && e.contains("acks-1-keeps-acked"),
        "{e}"
    );
    // Estimates scale with --time-limit.
    let c = find("acks-all-rf-n").unwrap();
    assert_eq!(
        c.estimate_at(Some(c.time_limit + Duration::from_secs(10))),
        c.estimate + Duration::from_secs(10)
    );
}

/// A results.json with these anomaly counts, acknowledged sends, fault
/// intervals (kind, nodes, start, stop; each with an effect unless
/// `bit` is false), optional group body, and validity.
fn results(
    counts: &[(&str, u64)],
    ok_sends: u64,
    faults: &[(&str, &[&str], f64, f64)],
    bit: bool,
    group: Option<Value>,
    valid: Value,
) -> Results {
    let counts: serde_json::Map<String, Value> = counts
        .iter()
        .map(|(c, n)| (c.to_string(), json!(n)))
        .collect();
    let intervals: Vec<Value> = faults
        .iter()
        .map(|(k, nodes, a, b)| {
            json!({"kind": k, "nodes": nodes, "start_s": a, "stop_s": b, "effect": bit})
        })
        .collect();
    let windows: Vec<Value> = faults
        .iter()
        .map(|(k, _, a, b)| json!({"kind": k, "start_s": a, "end_s": b}))
        .collect();
    let fs = |ok: u64| json!({"ok": ok, "fail": 3, "info": 2, "unfinished": 0});
    let mut checkers = json!({
        "stats": {
            "by_f": {"send": fs(ok_sends), "poll": fs(ok_sends)},
            "availability": {"window_s": 1.0, "windows": [], "overall": 1.0},
            "faults": windows,
            "during_faults": {"completed": 0, "ok": 0, "fault_seconds": 0.0},
            "duration_s": 60.0
        },
        "effects": {
            "observed": true, "samples": 100, "faults": faults.len(),
            "with_effect": if bit { faults.len() } else { 0 },
            "intervals": intervals, "summary": "x"
        }
    });
    if let Some(g) = group {
        checkers["group"] = g;
    }
    serde_json::from_value(json!({
        "valid": valid,
        "summary": "s",
        "anomaly_counts": counts,
        "unknown_reasons": if valid == "unknown" { json!(["final reads incomplete"]) } else { json!([]) },
        "checkers": checkers,
        "ops": 1000
    }))
    .unwrap()
}

fn run_of(r: Results) -> ClaimRun {
    ClaimRun {
        results: r,
        run_dir: PathBuf::from("/nowhere"),
        not_enough_replicas: BTreeMap::new(),
        interrupted: false,
    }
}

fn observe(id: &str, run: &ClaimRun) -> Observation {
    (find(id).unwrap().observe)(run)
}

const TWO_DOWN: &[(&str, &[&str], f64, f64)] = &[("kill", &["n1", "n2"], 5.0, 15.0)];
const ONE_DOWN: &[(&str, &[&str], f64, f64)] =
    &[("kill", &["n1"], 5.0, 15.0), ("pause", &["n2"], 16.0, 25.0)];

#[test]
fn loss_claims_hold_refute_or_cannot_decide() {
    let t = Value::Bool(true);
    let f = Value::Bool(false);
    // acks-all-rf-n: nothing lost with two brokers down at once → holds.
    let ok = run_of(results(
        &[("lost-write", 0)],
        5000,
        TWO_DOWN,
        true,
        None,
        t.clone(),
    ));
    let o = observe("acks-all-rf-n", &ok);
    assert_eq!(o.verdict, Outcome::Holds, "{o:?}");
    assert!(o.observed.contains("up to 2 brokers down"), "{o:?}");
    // A loss refutes it, whatever else.
    let lost = run_of(results(
        &[
            ("lost-write", 4),
            ("inconsistent-offsets", 1),
            ("duplicate", 9),
        ],
        5000,
        TWO_DOWN,
        true,
        None,
        f.clone(),
    ));
    let o = observe("acks-all-rf-n", &lost);
    assert_eq!(o.verdict, Outcome::Refuted);
    assert!(o.observed.contains("lost-write 4") && !o.observed.contains("duplicate"));
    // Only one broker down at a time: the claim about two is not tested.
    let one = run_of(results(&[], 5000, ONE_DOWN, true, None, t.clone()));
    assert_eq!(one.max_down(), 1);
    assert_eq!(
        observe("acks-all-rf-n", &one).verdict,
        Outcome::Inconclusive
    );
    // Faults that never bit, too few sends, an unknown check, no fault.
    for (r, says) in [
        (
            results(&[], 5000, TWO_DOWN, false, None, t.clone()),
            "observable effect",
        ),
        (
            results(&[], 12, TWO_DOWN, true, None, t.clone()),
            "only 12 acknowledged",
        ),
        (
            results(&[], 5000, TWO_DOWN, true, None, json!("unknown")),
            "final reads incomplete",
        ),
        (results(&[], 5000, &[], true, None, t.clone()), "no fault"),
    ] {
        let o = observe("acks-all-rf-n", &run_of(r));
        assert_eq!(o.verdict, Outcome::Inconclusive, "{o:?}");
        assert!(o.observed.contains(says), "{o:?}");
    }
    // acks-1-keeps-acked and unclean-keeps-acked: phrased hopefully,
    // refuted by the loss Kafka documents.
    for id in ["acks-1-keeps-acked", "unclean-keeps-acked"] {
        assert_eq!(find(id).unwrap().expected, Outcome::Refuted);
        assert_eq!(observe(id, &lost).verdict, Outcome::Refuted);
        assert_eq!(observe(id, &one).verdict, Outcome::Holds);
        let mut intr = one.clone();
        intr.interrupted = true;
        assert_eq!(observe(id, &intr).verdict, Outcome::Inconclusive);
    }
}

#[test]
fn min_insync_needs_refusals_seen_and_no_loss() {
    let t = Value::Bool(true);
    let mut run = run_of(results(&[], 3000, ONE_DOWN, true, None, t.clone()));
    let o = observe("min-insync-refuses", &run);
    assert_eq!(o.verdict, Outcome::Inconclusive, "{o:?}");
    assert!(o.observed.contains("no send was refused"));
    run.not_enough_replicas.insert("fail".into(), 40);
    let o = observe("min-insync-refuses", &run);
    assert_eq!(o.verdict, Outcome::Holds, "{o:?}");
    assert!(o.observed.contains("40 fail"), "{o:?}");
    run.results = results(
        &[("lost-write", 2)],
        3000,
        ONE_DOWN,
        true,
        None,
        Value::Bool(false),
    );
    assert_eq!(
        observe("min-insync-refuses", &run).verdict,
        Outcome::Refuted
    );
    assert!(is_not_enough_replicas(
        "Broker: Not enough in-sync replicas (not persisted)"
    ));
    assert!(is_not_enough_replicas(
        "Broker: Message(s) written to insufficient number of in-sync replicas (possibly persisted)"
    ));
    assert!(!is_not_enough_replicas("Local: Message timed out"));
}

#[test]
fn order_and_duplicate_claims_read_their_classes() {
    let t = Value::Bool(true);
    let clean = run_of(results(
        &[("duplicate", 0)],
        3000,
        ONE_DOWN,
        true,
        None,
        t.clone(),
    ));
    assert_eq!(observe("partition-order", &clean).verdict, Outcome::Holds);
    assert_eq!(
        observe("idempotence-no-duplicates", &clean).verdict,
        Outcome::Holds
    );
    let dup = run_of(results(
        &[("duplicate", 3)],
        3000,
        ONE_DOWN,
        true,
        None,
        Value::Bool(false),
    ));
    let o = observe("idempotence-no-duplicates", &dup);
    assert_eq!(o.verdict, Outcome::Refuted);
    assert!(o.observed.starts_with("duplicate 3"), "{o:?}");
    // A duplicate is no disorder.
    assert_eq!(observe("partition-order", &dup).verdict, Outcome::Holds);
    let back = run_of(results(
        &[("nonmonotonic-poll", 2)],
        3000,
        ONE_DOWN,
        true,
        None,
        Value::Bool(false),
    ));
    assert_eq!(observe("partition-order", &back).verdict, Outcome::Refuted);
    // Too few polls to say anything about the readers' order.
    let mut few = clean.clone();
    few.results.checkers.stats.by_f.get_mut("poll").unwrap().ok = 3;
    assert_eq!(
        observe("partition-order", &few).verdict,
        Outcome::Inconclusive
    );
}

fn group(crashes: u64, events: u64, unowned_max_ms: f64) -> Value {
    json!({
        "applicable": true, "summary": "g", "crashes": crashes, "leaves": 1,
        "rebalances": {"events": events, "windows": events / 2, "p50_ms": 300.0, "max_ms": 900.0, "total_ms": 2000.0},
        "overlaps": {"count": 2, "total_ms": 30.0, "max_ms": 20.0, "longest": []},
        "unowned": {"end_s": 60.0, "total_ms": 100.0, "max_ms": unowned_max_ms}
    })
}

#[test]
fn group_claims_read_the_group_checker() {
    let t = Value::Bool(true);
    let g = |body: Value, counts: &[(&str, u64)]| {
        run_of(results(counts, 3000, ONE_DOWN, true, Some(body), t.clone()))
    };
    let healthy = g(group(3, 12, 800.0), &[]);
    assert_eq!(observe("group-one-owner", &healthy).verdict, Outcome::Holds);
    let o = observe("group-takeover", &healthy);
    assert_eq!(o.verdict, Outcome::Holds, "{o:?}");
    assert!(o.observed.contains("3 member crashes"), "{o:?}");
    // Double ownership refutes one-owner; a skip or a partition left
    // without an owner refutes takeover.
    let o = observe(
        "group-one-owner",
        &g(group(3, 12, 800.0), &[("double-ownership", 1)]),
    );
    assert_eq!(o.verdict, Outcome::Refuted);
    assert_eq!(
        observe(
            "group-takeover",
            &g(group(3, 12, 800.0), &[("group-skip", 5)])
        )
        .verdict,
        Outcome::Refuted
    );
    let o = observe("group-takeover", &g(group(3, 12, 45_000.0), &[]));
    assert_eq!(o.verdict, Outcome::Refuted);
    assert!(o.observed.contains("45.0 s"), "{o:?}");
    // Nothing crashed, nothing rebalanced, or no group at all: undecided.
    assert_eq!(
        observe("group-takeover", &g(group(0, 12, 0.0), &[])).verdict,
        Outcome::Inconclusive
    );
    assert_eq!(
        observe("group-one-owner", &g(group(2, 0, 0.0), &[])).verdict,
        Outcome::Inconclusive
    );
    let none = run_of(results(&[], 3000, ONE_DOWN, true, None, t.clone()));
    for id in ["group-one-owner", "group-takeover"] {
        assert_eq!(observe(id, &none).verdict, Outcome::Inconclusive);
    }
}

#[test]
fn a_run_folder_gives_its_results_and_its_refused_sends() {
    use crate::report::sample_run::{write_checked_sample_run, SampleRunSpec};
    let d = tempfile::tempdir().unwrap();
    let (_, written) = write_checked_sample_run(d.path(), &SampleRunSpec::default()).unwrap();
    // The sample history (it refuses some sends itself) plus refused sends
    // as librdkafka reports them.
    let before = ClaimRun::from_run_dir(d.path())
        .unwrap()
        .not_enough_replicas;
    let n = |m: &BTreeMap<String, u64>, t: &str| m.get(t).copied().unwrap_or(0);
    let h = d.path().join("history.jsonl");
    let mut text = std::fs::read_to_string(&h).unwrap();
    for (t, e) in [
        ("fail", "Broker: Not enough in-sync replicas (not persisted)"),
        ("fail", "Broker: Not enough in-sync replicas (not persisted)"),
        ("info", "Broker: Message(s) written to insufficient number of in-sync replicas (possibly persisted)"),
        ("info", "Local: Message timed out (possibly persisted)"),
    ] {
        text.push_str(&format!(
            "{{\"index\":1,\"time\":1,\"process\":1,\"type\":\"{t}\",\"f\":\"send\",\"value\":{{\"key\":1,\"value\":1}},\"error\":\"{e}\"}}\n"
        ));
    }
    std::fs::write(&h, text).unwrap();
    let run = ClaimRun::from_run_dir(d.path()).unwrap();
    assert_eq!(run.results.anomaly_counts, written.anomaly_counts);
    assert_eq!(n(&run.not_enough_replicas, "fail"), n(&before, "fail") + 2);
    assert_eq!(n(&run.not_enough_replicas, "info"), n(&before, "info") + 1);
    assert_eq!(run.refused(), before.values().sum::<u64>() + 3);
    assert!(run.ok_sends() > 0);
    // No results.json: an error, not a verdict.
    assert!(ClaimRun::from_run_dir(&d.path().join("nodes")).is_err());
}

#[test]
fn the_document_exits_by_its_worst_claim() {
    let all: Vec<&Claim> = CLAIMS.iter().take(3).collect();
    let mut d = ClaimsDoc::new(&all, "c".into(), true, &ClaimOptions::new("s"));
    assert_eq!(
        d.exit_code(),
        trial_checkers::exit_code::UNKNOWN,
        "not run yet"
    );
    assert_eq!(d.counts_text(), "3 not run");
    d.claims[0].verdict = Some(Outcome::Holds);
    d.claims[1].verdict = Some(Outcome::Refuted);
    d.claims[2].verdict = Some(Outcome::Refuted);
    assert_eq!(
        d.exit_code(),
        trial_checkers::exit_code::VALID,
        "all as documented"
    );
    assert_eq!(d.counts_text(), "3 as documented");
    d.claims[2].verdict = Some(Outcome::Inconclusive);
    assert_eq!(d.exit_code(), trial_checkers::exit_code::UNKNOWN);
    d.claims[1].verdict = Some(Outcome::Holds);
    assert_eq!(d.claims[1].agreement(), "NOT as documented");
    assert_eq!(d.exit_code(), trial_checkers::exit_code::ANOMALIES);
    d.claims[0].verdict = None;
    d.claims[0].error = Some("no Docker".into());
    assert_eq!(d.exit_code(), trial_checkers::exit_code::HARNESS);
    let t = d.table();
    assert!(t.contains("error: no Docker"), "{t}");
    assert!(t.contains("NOT as documented"), "{t}");
    assert!(t.contains("acks=1 keeps every acknowledged write"), "{t}");
    let back: ClaimsDoc = serde_json::from_str(&serde_json::to_string(&d).unwrap()).unwrap();
    assert_eq!(back, d);
    let est: f64 = all.iter().map(|c| c.estimate.as_secs_f64()).sum();
    assert_eq!(d.estimate_s, est);
}
