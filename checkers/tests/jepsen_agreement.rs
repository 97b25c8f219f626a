//! Jepsen's own checker tests, written the way they write their histories
//! (keyword keys and values, `h/history` defaults, invocations whose
//! micro-ops differ from their completions): `tests/data/jepsen-tests/`,
//! one file per case of `jepsen/test/jepsen/tests/kafka_test.clj`, against
//! the table in its `EXPECTED.md`. Under the `jepsen` client model every
//! case must give the count Jepsen's test asserts; under `kafka-trial`
//! the count it gives today (where the two differ, checkers/README.md,
//! "Where we differ from Jepsen", says why).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use trial_checkers::jepsen::check_jepsen_file;
use trial_checkers::{CheckOptions, ClientModel, Results, Validity};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/jepsen-tests")
}

fn check(file: &str, model: ClientModel) -> Results {
    let opts = CheckOptions {
        client_model: Some(model),
        ..Default::default()
    };
    check_jepsen_file(&dir().join(file), &opts).unwrap_or_else(|e| panic!("{file}: {e}"))
}

/// How many of Jepsen's `class` a result holds. `G1a` is kafka-trial's
/// aborted-read and failed-write-read; `*` every class (Jepsen's test
/// asserts no error at all); `!valid` 1 when the verdict is not valid.
fn count(r: &Results, class: &str) -> u64 {
    let n = |c: &str| r.anomaly_counts.get(c).copied().unwrap_or(0);
    match class {
        "G1a" => n("aborted-read") + n("failed-write-read"),
        "*" => r.anomaly_counts.values().sum(),
        "!valid" => u64::from(r.valid != Validity::Valid),
        c => {
            assert!(r.anomaly_counts.contains_key(c), "unknown class {c}");
            n(c)
        }
    }
}

struct Row {
    file: String,
    class: String,
    /// What Jepsen's checker gives (`None`: it throws).
    jepsen: Option<u64>,
    jepsen_model: u64,
    kafka_trial: u64,
}

fn rows() -> Vec<Row> {
    let text = std::fs::read_to_string(dir().join("EXPECTED.md")).unwrap();
    let mut out = Vec::new();
    for line in text.lines().filter(|l| l.starts_with("| `")) {
        let cols: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
        assert!(cols.len() == 5 || cols.len() == 6, "{line}");
        let jepsen = cols[2].parse().ok();
        assert!(jepsen.is_some() || cols[2] == "error", "{line}");
        // Five columns: a case of Jepsen's tests, the jepsen model gives
        // Jepsen's count; six: a class difference, both models' counts.
        let (jepsen_model, kafka_trial) = if cols.len() == 5 {
            (
                jepsen.expect("Jepsen's count"),
                cols[3].parse().expect("count"),
            )
        } else {
            (
                cols[3].parse().expect("count"),
                cols[4].parse().expect("count"),
            )
        };
        out.push(Row {
            file: cols[0].trim_matches('`').to_string(),
            class: cols[1].trim_matches('`').to_string(),
            jepsen,
            jepsen_model,
            kafka_trial,
        });
    }
    out
}

#[test]
fn every_file_is_in_the_table() {
    let rows = rows();
    let mut files: Vec<String> = std::fs::read_dir(dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|f| f.ends_with(".edn"))
        .collect();
    files.sort();
    for f in &files {
        assert!(
            rows.iter().any(|r| &r.file == f),
            "{f} is not in EXPECTED.md"
        );
    }
    assert!(rows.len() >= files.len());
}

/// Under the jepsen model every case gives Jepsen's count; under
/// kafka-trial's, today's. Prints the agreement per class and model.
#[test]
fn jepsen_model_agrees_with_jepsen_kafka_trial_model_as_today() {
    let mut bad = Vec::new();
    // class → (cases, agree under jepsen, agree under kafka-trial)
    let mut per_class: BTreeMap<String, (u32, u32, u32)> = BTreeMap::new();
    for row in rows() {
        let j = count(&check(&row.file, ClientModel::Jepsen), &row.class);
        let k = count(&check(&row.file, ClientModel::KafkaTrial), &row.class);
        let e = per_class.entry(row.class.clone()).or_default();
        e.0 += 1;
        e.1 += u32::from(Some(j) == row.jepsen);
        e.2 += u32::from(Some(k) == row.jepsen);
        if j != row.jepsen_model {
            bad.push(format!(
                "{} {}: jepsen model {j}, table {}",
                row.file, row.class, row.jepsen_model
            ));
        }
        if k != row.kafka_trial {
            bad.push(format!(
                "{} {}: kafka-trial model {k}, table {}",
                row.file, row.class, row.kafka_trial
            ));
        }
    }
    println!("class | cases | agree (jepsen model) | agree (kafka-trial model)");
    for (c, (n, j, k)) in &per_class {
        println!("{c} | {n} | {j} | {k}");
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

/// Keys and values are named as Jepsen wrote them in every message:
/// `key :x offset 0`, `value :a`, never kafka-trial's numbers for them.
#[test]
fn messages_name_keys_and_values_as_jepsen_wrote_them() {
    let r = check("lost-write-consistent.edn", ClientModel::Jepsen);
    let q = r.checkers.queue.as_ref().unwrap();
    let msgs: Vec<&str> = q
        .anomalies
        .values()
        .flat_map(|a| a.examples.iter().map(|e| e.message.as_str()))
        .collect();
    assert!(
        msgs.iter()
            .any(|m| m.contains("value :a") && m.contains("key :x offset 0")),
        "{msgs:?}"
    );
    assert!(msgs.iter().all(|m| !m.contains("partition")), "{msgs:?}");
    assert_eq!(r.client_model, Some(ClientModel::Jepsen));
    let body = r.checkers.other["jepsen"].json.get();
    assert!(body.contains("\"client_model\":\"jepsen\""), "{body}");
    assert!(body.contains("\":x\""), "{body}");
    // Integer keys keep their numbers; a string key is named with quotes.
    let t = trial_checkers::jepsen::translate_str(
        "{:type :invoke, :process 0, :f :send, :value [[:send \"k\" 1] [:send 7 2]]}\n",
        Path::new("s.edn"),
    )
    .unwrap();
    assert_eq!(t.key_names.values().collect::<Vec<_>>(), vec!["\"k\""]);
    assert_eq!(t.key_names.keys().copied().collect::<Vec<_>>(), vec![8]);
}

/// The same history under `--client-model kafka-trial` records the model,
/// and a kafka-trial history under the default model does not (its
/// results.json stays as it was).
#[test]
fn results_record_the_model() {
    let r = check("poll-skip.edn", ClientModel::KafkaTrial);
    assert_eq!(r.client_model, Some(ClientModel::KafkaTrial));
    let json = serde_json::to_string(&r).unwrap();
    assert!(json.contains("\"client_model\":\"kafka-trial\""));
    let mut b = trial_checkers::generate::builder::Builder::new();
    b.send_ok(0, 1, 0, 0);
    let native = trial_checkers::check_ops(&b.ops, &CheckOptions::default()).unwrap();
    assert_eq!(native.client_model, None);
    assert!(!serde_json::to_string(&native)
        .unwrap()
        .contains("client_model"));
    let jep = trial_checkers::check_ops(
        &b.ops,
        &CheckOptions {
            client_model: Some(ClientModel::Jepsen),
            ..Default::default()
        },
    )
    .unwrap();
    assert!(serde_json::to_string(&jep)
        .unwrap()
        .contains("\"client_model\":\"jepsen\""));
}
