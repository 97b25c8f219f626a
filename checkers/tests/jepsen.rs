//! Jepsen's own Kafka histories (`history.edn`), checked directly: the
//! hand-written cases of `tests/data/jepsen/` against the table in
//! `tests/data/jepsen/EXPECTED.md`, and the translation's rules.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use trial_checkers::jepsen::{check_jepsen_file, check_jepsen_str, translate_str, JepsenBody};
use trial_checkers::{CheckError, CheckOptions, Results, Validity};
use trial_histories::values::{Assignment, FinalRead, Txn};
use trial_histories::{OpType, F};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/jepsen")
}

struct Case {
    file: String,
    /// Classes that count against validity, with counts; empty + valid.
    want: BTreeMap<String, u64>,
    valid: bool,
    pending: Option<String>,
}

/// The rows of EXPECTED.md.
fn cases() -> Vec<Case> {
    let text = std::fs::read_to_string(dir().join("EXPECTED.md")).unwrap();
    let mut out = Vec::new();
    for line in text.lines().filter(|l| l.starts_with("| `")) {
        let cols: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
        assert_eq!(cols.len(), 4, "{line}");
        let file = cols[0].trim_matches('`').to_string();
        let valid = cols[1] == "valid";
        let want = if valid {
            BTreeMap::new()
        } else {
            cols[1]
                .split(',')
                .map(|c| {
                    let (class, n) = c.trim().rsplit_once(' ').expect("class count");
                    (class.to_string(), n.parse().expect("count"))
                })
                .collect()
        };
        let pending = Some(cols[3].to_string()).filter(|s| !s.is_empty());
        out.push(Case {
            file,
            want,
            valid,
            pending,
        });
    }
    assert!(out.len() >= 14, "EXPECTED.md lists every case");
    out
}

/// Classes a result found: every non-zero count but `int-send-skip`
/// (informational in both tools) and `unseen` while it is no proven loss.
/// A class the configuration permits (G0) is still found: whether it
/// counts against validity is the per-configuration judgement.
fn counted(r: &Results) -> BTreeMap<String, u64> {
    let q = r.checkers.queue.as_ref();
    r.anomaly_counts
        .iter()
        .filter(|(c, n)| {
            **n > 0
                && c.as_str() != "int-send-skip"
                && (c.as_str() != "unseen" || q.is_some_and(|q| q.unseen.is_loss))
        })
        .map(|(c, n)| (c.clone(), *n))
        .collect()
}

/// Check every case; returns the disagreements (file, why, pending).
fn disagreements() -> Vec<(String, String, Option<String>)> {
    let mut bad = Vec::new();
    // The same verdicts under either client model: these cases show no
    // difference of the models (the jepsen model is the default here).
    for (c, model) in cases().into_iter().flat_map(|c| {
        let k = Case {
            file: c.file.clone(),
            want: c.want.clone(),
            valid: c.valid,
            pending: c.pending.clone(),
        };
        [
            (c, None),
            (k, Some(trial_checkers::ClientModel::KafkaTrial)),
        ]
    }) {
        let opts = CheckOptions {
            client_model: model,
            ..Default::default()
        };
        let r = check_jepsen_file(&dir().join(&c.file), &opts)
            .unwrap_or_else(|e| panic!("{}: {e}", c.file));
        let got = counted(&r);
        let why = if got != c.want {
            Some(format!(
                "want {:?}, got {:?}\n{}",
                c.want,
                got,
                r.human_summary(1)
            ))
        } else if c.valid && r.valid != Validity::Valid {
            Some(format!("want valid, got\n{}", r.human_summary(1)))
        } else if !c.valid && r.valid == Validity::Valid {
            Some(format!("want not valid, got\n{}", r.human_summary(1)))
        } else {
            None
        };
        if let Some(why) = why {
            bad.push((format!("{} ({model:?})", c.file), why, c.pending));
        }
    }
    bad
}

#[test]
fn every_case_reports_what_jepsen_reports() {
    let bad = disagreements();
    for (f, why, p) in &bad {
        if let Some(p) = p {
            eprintln!("{f}: pending ({p}): {why}");
        }
    }
    let hard: Vec<_> = bad.iter().filter(|b| b.2.is_none()).collect();
    assert!(hard.is_empty(), "{hard:#?}");
}

#[test]
fn the_output_names_classes_both_ways() {
    let r = check_jepsen_file(&dir().join("aborted-read.edn"), &CheckOptions::default()).unwrap();
    let body: JepsenBody = r.checkers.other["jepsen"].parse().unwrap();
    assert_eq!(body.edn_ops, 4);
    assert!(body.transactional);
    let c = body
        .classes
        .iter()
        .find(|c| c.class == "aborted-read")
        .unwrap();
    assert_eq!(c.jepsen.as_deref(), Some(":G1a"));
    assert!(
        r.human_summary(0).contains("aborted-read = :G1a"),
        "{}",
        r.human_summary(0)
    );
}

#[test]
fn a_bad_line_is_named() {
    let cases = [
        ("{:index 0 :type :invoke :process 0 :f :send :value [[:send 0 1]]}\n{:type :ok\n", 2, "unclosed"),
        ("{:type :invoke :process 0 :f :send :value [[:send 0 1]]}\n{:type :ok :process 0 :f :send :value [[:send 0 [0 x]]]}\n", 2, "value"),
        ("\n\n{:type :ok :process 0 :f :poll :value [[:poll {0 [[nil 1]]}]]}\n", 3, "without an offset"),
        ("{:type :invoke :process 0 :f :send :value [[:send 1.5 1]]}\n", 1, "key: expected an integer, keyword or string, got 1.5"),
        ("{:type :invoke :process 0 :f :send :value [[:send :x {:a 1}]]}\n", 1, "value: expected an integer, keyword or string, got {:a 1}"),
        ("{:type :started :process 0 :f :send :value [[:send 0 1]]}\n", 1, ":type"),
        ("{:type :invoke :process 0 :f :send :value 5}\n", 1, "micro-ops"),
        // Pairing: a second invocation while one is in flight, named by
        // its EDN line (a completion without an invocation is Jepsen's
        // `h/history` and gets one).
        ("{:type :invoke :process 0 :f :send :value [[:send 0 1]]}\n\n{:type :invoke :process 0 :f :send :value [[:send 0 2]]}\n", 3, "op 1"),
        ("{:type :ok :process 0 :f :send :value [[:send 0 [0 1]]] :rebalance-log 5}\n", 1, ":rebalance-log"),
    ];
    for (text, line, says) in cases {
        let e = check_jepsen_str(text, Path::new("h.edn"), &CheckOptions::default()).unwrap_err();
        assert_eq!(e.line(), Some(line), "{text}: {e}");
        let msg = e.to_string();
        assert!(
            msg.contains(&format!("h.edn: line {line}")) && msg.contains(says),
            "{msg}"
        );
        assert!(matches!(e, CheckError::Edn { .. }), "{e:?}");
    }
    // Nesting deeper than the reader takes is refused, not a stack overflow.
    let deep = format!(
        "{{:type :ok :process 0 :f :poll :value {}}}\n",
        "[".repeat(100_000)
    );
    let e = check_jepsen_str(&deep, Path::new("h.edn"), &CheckOptions::default()).unwrap_err();
    assert!(e.to_string().contains("line 1: nested deeper"), "{e}");
}

#[test]
fn translation_rules() {
    let text = "\
{:type :invoke :process 0 :f :assign :value [0 1]}
{:type :ok :process 0 :f :assign :value [0 1]}
{:type :invoke :process 0 :f :assign :value [1 2] :seek-to-beginning? true}
{:type :ok :process 0 :f :assign :value [1 2] :seek-to-beginning? true}
{:type :invoke :process 0 :f :poll :value [[:poll]]}
{:type :ok :process 0 :f :poll :value [[:poll {1 [[0 5] [2 6] [3 7]] 2 [[0 8]]}]]}
{:type :invoke :process 1 :f :subscribe :value [1]}
{:type :ok :process 1 :f :subscribe :value [1]}
{:type :invoke :process 1 :f :send :value [[:send 1 6]]}
{:type :info :process 1 :f :send :value [[:send 1 [2 6]]]}
{:type :invoke :process 2 :f :txn :value [[:send 2 8]]}
{:type :ok :process 2 :f :txn :value [[:send 2 [0 8]]]}
{:type :invoke :process 3 :f :send :value [[:send 1 5] [:send 1 7]]}
{:type :ok :process 3 :f :send :value [[:send 1 [0 5]] [:send 1 [3 7]]]}
{:type :info :process :nemesis :f :kill :value :primaries}
{:type :info :process :nemesis :f :kill :value {\"n1\" :killed}}
{:type :info :process :nemesis :f :start :value :all}
{:type :info :process :nemesis :f :start :value nil}
{:type :invoke :process 4 :f :send :value [[:send 1 1]]}
{:type :ok :process 4 :f :send :value [[:send 1 [1 1]]]}
";
    let t = translate_str(text, Path::new("t.edn")).unwrap();
    let fs: Vec<(String, OpType)> = t.ops.iter().map(|o| (o.f.to_string(), o.kind)).collect();
    // Revocation per process, seek on a seek-to-beginning assign.
    let a: Assignment = t.ops[3].value_as().unwrap();
    assert_eq!(
        (a.partitions, a.revoked, a.seek),
        (vec![1, 2], vec![0], vec![(1, 0), (2, 0)])
    );
    // A subscribe is followed by the rebalance Jepsen's checker assumes.
    assert_eq!(fs[7], ("subscribe".into(), OpType::Ok));
    assert_eq!(fs[8], ("rebalance".into(), OpType::Info));
    let rb: Assignment = t.ops[8].value_as().unwrap();
    assert_eq!(rb.partitions, vec![1]);
    // One send = send; a :txn of one send and a two-send :send = txn.
    assert_eq!(fs[10], ("send".into(), OpType::Info));
    assert_eq!(fs[12], ("txn".into(), OpType::Ok));
    assert_eq!(fs[14], ("txn".into(), OpType::Ok));
    let tx: Txn = t.ops[14].value_as().unwrap();
    assert_eq!(tx.ops.len(), 2);
    // The nemesis's :info pairs are an invocation and its completion.
    assert_eq!(fs[15], ("start-kill".into(), OpType::Invoke));
    assert_eq!(fs[16], ("start-kill".into(), OpType::Info));
    assert_eq!(fs[17], ("stop-kill".into(), OpType::Invoke));
    assert_eq!(fs[18], ("stop-kill".into(), OpType::Info));
    // Final reads: process 0's polls after its seek, cut before the jump
    // over offset 1 of key 1 (value 1 is known there).
    let finals: Vec<FinalRead> = t
        .ops
        .iter()
        .filter(|o| o.f == F::FinalRead && o.kind == OpType::Ok)
        .map(|o| o.value_as().unwrap())
        .collect();
    assert_eq!(finals.len(), 2);
    assert_eq!(
        (
            finals[0].partition,
            finals[0].high_watermark,
            finals[0].records.len()
        ),
        (1, 1, 1)
    );
    assert_eq!(
        (
            finals[1].partition,
            finals[1].high_watermark,
            finals[1].records.len()
        ),
        (2, 1, 1)
    );
    assert!(t.transactional);
    assert_eq!(t.value_multiplier, None);
    // Dense indices; every op knows its line.
    assert!(t.ops.iter().enumerate().all(|(i, o)| o.index == i as u64));
    assert_eq!(t.lines[8], 8);
    // Values repeated across keys are made unique, and it is said.
    let rep = "{:type :invoke :process 0 :f :send :value [[:send 3 12]]}\n\
               {:type :ok :process 0 :f :send :value [[:send 3 [0 12]]]}\n\
               {:type :invoke :process 1 :f :send :value [[:send 4 12]]}\n\
               {:type :ok :process 1 :f :send :value [[:send 4 [0 12]]]}\n";
    let t = translate_str(rep, Path::new("r.edn")).unwrap();
    assert_eq!(t.value_multiplier, Some(100));
    let v: trial_histories::values::Send = t.ops[3].value_as().unwrap();
    assert_eq!(v.value, 412);
    assert!(t.warnings[0].contains("k*100+v"));
}
