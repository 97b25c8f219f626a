//! The `kafka-trial` binary's offline commands: check, runs, show, and
//! their exit codes. No cluster needed.

use std::io::Write;
use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_kafka-trial"))
}

fn line(i: u64, p: u64, t: &str, f: &str, v: &str) -> String {
    format!(
        r#"{{"index":{i},"time":{},"process":{p},"type":"{t}","f":"{f}","value":{v}}}"#,
        i * 1000
    )
}

fn write_history(path: &std::path::Path, bad_line: Option<usize>) {
    let mut f = std::fs::File::create(path).unwrap();
    for (i, n) in (0..10u64).enumerate() {
        let l = if Some(i + 1) == bad_line {
            "{\"index\": 7, \"time\": oops".to_string()
        } else if n % 2 == 0 {
            line(n, 1, "invoke", "send", r#"{"key":1,"value":1}"#)
        } else {
            line(
                n,
                1,
                "ok",
                "send",
                r#"{"key":1,"value":1,"partition":0,"offset":0}"#,
            )
        };
        writeln!(f, "{l}").unwrap();
    }
}

#[test]
fn check_names_the_malformed_line_and_exits_3() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("history.jsonl");
    write_history(&p, Some(7));
    let out = bin().arg("check").arg(&p).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "stderr: {err}");
    assert!(err.contains("line 7"), "stderr: {err}");
}

#[test]
fn check_accepts_a_well_formed_history() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("history.jsonl");
    write_history(&p, None);
    let out = bin().arg("check").arg(&p).output().unwrap();
    assert_ne!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.code().is_some());
}

#[test]
fn missing_run_is_a_harness_error() {
    let d = tempfile::tempdir().unwrap();
    let out = bin()
        .args(["--store"])
        .arg(d.path())
        .args(["check", "no-such-run"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no-such-run"));
}

#[test]
fn runs_and_show_read_the_store() {
    let d = tempfile::tempdir().unwrap();
    let store = trial_histories::Store::new(d.path());
    let run = store.create_run("demo").unwrap();
    write_history(&run.history(), None);
    let out = bin()
        .arg("--store")
        .arg(d.path())
        .arg("runs")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(s.contains("demo") && s.contains(&run.timestamp), "{s}");
    assert!(s.contains("10"), "op count missing: {s}");

    let out = bin()
        .arg("--store")
        .arg(d.path())
        .args(["show", "demo", "--type", "ok"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let s = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = s.lines().collect();
    assert_eq!(lines.len(), 1 + 5, "{s}"); // header + 5 ok ops
    assert!(lines[1..]
        .iter()
        .all(|l| l.contains(" ok ") && l.contains("send")));

    let out = bin()
        .arg("--store")
        .arg(d.path())
        .args(["show", "latest", "--json", "--f", "send", "--process", "1"])
        .output()
        .unwrap();
    let s = String::from_utf8_lossy(&out.stdout);
    assert_eq!(s.lines().count(), 10);
    assert!(s
        .lines()
        .all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok()));
}

// --- check runs the checkers -------------------------------------------

/// A small correct history: two acknowledged sends, a poll, final read.
/// With `lose`, the final read misses the first value: a proven loss.
fn queue_history(path: &std::path::Path, lose: bool, final_read: bool) {
    let mut f = std::fs::File::create(path).unwrap();
    let mut i = 0u64;
    let mut w = |p: &str, t: &str, f_: &str, v: &str| {
        writeln!(
            f,
            r#"{{"index":{i},"time":{},"process":{p},"type":"{t}","f":"{f_}","value":{v}}}"#,
            i * 1_000_000
        )
        .unwrap();
        i += 1;
    };
    w("1", "invoke", "send", r#"{"key":1,"value":10}"#);
    w(
        "1",
        "ok",
        "send",
        r#"{"key":1,"value":10,"partition":0,"offset":0}"#,
    );
    w("1", "invoke", "send", r#"{"key":1,"value":11}"#);
    w(
        "1",
        "ok",
        "send",
        r#"{"key":1,"value":11,"partition":0,"offset":1}"#,
    );
    w("2", "invoke", "poll", "null");
    w("2", "ok", "poll", r#"{"records":[[0,1,1,11]]}"#);
    if final_read {
        w("\"final\"", "invoke", "final-read", r#"{"partition":0}"#);
        let recs = if lose {
            "[[0,1,1,11]]"
        } else {
            "[[0,0,1,10],[0,1,1,11]]"
        };
        w(
            "\"final\"",
            "ok",
            "final-read",
            &format!(r#"{{"partition":0,"start_offset":0,"high_watermark":2,"records":{recs}}}"#),
        );
    }
}

#[test]
fn check_a_valid_run_writes_results_json_and_exits_0() {
    let d = tempfile::tempdir().unwrap();
    let store = trial_histories::Store::new(d.path());
    let run = store.create_run("demo").unwrap();
    queue_history(&run.history(), false, true);
    let out = bin()
        .arg("--store")
        .arg(d.path())
        .args(["check", "demo"])
        .output()
        .unwrap();
    let s = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{s}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(s.starts_with("valid"), "{s}");
    let r: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run.results()).unwrap()).unwrap();
    assert_eq!(r["valid"], serde_json::json!(true));
    assert_eq!(r["ops"], 8);
    assert_eq!(r["anomaly_counts"]["lost-write"], 0);
    // `runs` now shows the verdict.
    let out = bin()
        .arg("--store")
        .arg(d.path())
        .arg("runs")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("valid"));
}

#[test]
fn check_reports_anomalies_with_examples_and_exits_1() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("h.jsonl");
    queue_history(&p, true, true);
    let out = bin().arg("check").arg(&p).output().unwrap();
    let s = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{s}");
    assert!(s.starts_with("INVALID"), "{s}");
    assert!(s.contains("lost-write: 1"), "{s}");
    assert!(s.contains("value 10"), "an example: {s}");
    // Not in a run folder: results beside the file.
    let r: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d.path().join("h.jsonl.results.json")).unwrap())
            .unwrap();
    assert_eq!(r["valid"], serde_json::json!(false));
    assert_eq!(
        r["checkers"]["queue"]["anomalies"]["lost-write"]["examples"][0]["value"],
        10
    );
}

#[test]
fn check_without_final_reads_is_unknown_and_exits_2() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("h.jsonl");
    queue_history(&p, false, false);
    let out = bin().arg("check").arg(&p).arg("--json").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["valid"], "unknown");
    assert!(r["unknown_reasons"][0]
        .as_str()
        .unwrap()
        .contains("no final read"));
}

#[test]
fn check_with_the_log_model() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("h.jsonl");
    queue_history(&p, false, true);
    let out = bin()
        .arg("check")
        .arg(&p)
        .args(["--model", "log", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        r["checkers"]["linearizable"]["valid"],
        serde_json::json!(true)
    );
    assert_eq!(r["checkers"]["linearizable"]["model"], "log");
    // Register models apply to EDN histories only.
    let out = bin()
        .arg("check")
        .arg(&p)
        .args(["--model", "cas-register"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
}

#[test]
fn check_edn_histories_for_linearizability() {
    let data = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../checkers/tests/data");
    let d = tempfile::tempdir().unwrap();
    for (name, model, code) in [
        ("cas-valid.edn", "cas-register", 0),
        ("cas-info.edn", "cas-register", 0),
        ("cas-invalid.edn", "cas-register", 1),
        ("kv-invalid.edn", "kv", 1),
    ] {
        let p = d.path().join(name);
        std::fs::copy(data.join(name), &p).unwrap();
        let out = bin()
            .arg("check")
            .args(["--model", model])
            .arg(&p)
            .output()
            .unwrap();
        let s = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(code),
            "{name}: {s}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        if code == 1 {
            assert!(s.contains("cannot be linearized"), "{s}");
        }
        assert!(d.path().join(format!("{name}.results.json")).exists());
    }
    // A malformed EDN file names its line.
    let p = d.path().join("bad.edn");
    std::fs::write(
        &p,
        "{:process 0 :type :invoke :f :read :value nil}\n{:process 0 :type\n",
    )
    .unwrap();
    let out = bin()
        .arg("check")
        .args(["--model", "cas-register"])
        .arg(&p)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("line"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn check_jepsen_kafka_histories() {
    let data =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../checkers/tests/data/jepsen");
    let d = tempfile::tempdir().unwrap();
    // A valid history: by extension (auto) and by --format jepsen.
    for (name, format, code, says) in [
        ("valid.edn", None, 0, "no anomaly"),
        ("valid.edn", Some("jepsen"), 0, "no anomaly"),
        ("aborted-read.edn", None, 1, "aborted-read = :G1a"),
    ] {
        let p = d.path().join(name);
        std::fs::copy(data.join(name), &p).unwrap();
        let mut cmd = bin();
        cmd.arg("check");
        if let Some(f) = format {
            cmd.args(["--format", f]);
        }
        let out = cmd.arg(&p).output().unwrap();
        let s = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(code),
            "{name}: {s}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(s.contains(says), "{s}");
        assert!(d.path().join(format!("{name}.results.json")).exists());
    }
    // A bad line: exit 3, and the message names it (line 2 holds a record
    // without an offset).
    let p = d.path().join("history.edn");
    std::fs::write(
        &p,
        "{:index 0 :time 1 :process 0 :type :invoke :f :poll :value [[:poll]]}\n\
         {:index 1 :time 2 :process 0 :type :ok :f :poll :value [[:poll {0 [[nil 5]]}]]}\n",
    )
    .unwrap();
    let out = bin()
        .arg("check")
        .args(["--format", "jepsen"])
        .arg(&p)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(err.contains("line 2"), "{err}");
    // --model still means linearizability for an EDN file.
    let out = bin()
        .arg("check")
        .args(["--format", "jepsen", "--model", "cas-register"])
        .arg(&p)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
}

/// A history written as Jepsen's own tests write them (keyword keys): judged
/// by Jepsen's client model unless `--client-model` says otherwise, also
/// gzipped; results.json records the model and messages name the keys.
#[test]
fn check_jepsen_histories_by_client_model() {
    let data = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../checkers/tests/data/jepsen-tests");
    let d = tempfile::tempdir().unwrap();
    let text = std::fs::read(data.join("poll-skip-subscribe-xy.edn")).unwrap();
    let plain = d.path().join("h.edn");
    std::fs::write(&plain, &text).unwrap();
    let gz = d.path().join("h.edn.gz");
    {
        use std::io::Write;
        let mut e = flate2::write::GzEncoder::new(
            std::fs::File::create(&gz).unwrap(),
            flate2::Compression::default(),
        );
        e.write_all(&text).unwrap();
        e.finish().unwrap();
    }
    for (p, model, code, says) in [
        (&plain, None, 1, "poll-skip: 2"),
        (&gz, None, 1, "poll-skip: 2"),
        // (No poll-skip under kafka-trial's model; the lost write of f and
        // the reads from before the writer's invocation stay.)
        (&plain, Some("kafka-trial"), 1, "client model kafka-trial"),
    ] {
        let mut cmd = bin();
        cmd.arg("check");
        if let Some(m) = model {
            cmd.args(["--client-model", m]);
        }
        let out = cmd.arg(p).output().unwrap();
        let s = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(code),
            "{}: {s}{}",
            p.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(s.contains(says), "{s}");
        let results = std::fs::read_to_string(format!("{}.results.json", p.display())).unwrap();
        let want = format!("\"client_model\": \"{}\"", model.unwrap_or("jepsen"));
        assert!(results.contains(&want), "{results}");
        if model.is_none() {
            assert!(s.contains("key :x"), "{s}");
        }
    }
}

// --- matrix ------------------------------------------------------------

#[test]
fn matrix_dry_run_prints_the_cells_and_refused_pairs_exit_3() {
    let d = tempfile::tempdir().unwrap();
    let out = bin()
        .arg("--store")
        .arg(d.path())
        .args([
            "matrix",
            "safe",
            "--versions",
            "4.4.0,3.9.1:zookeeper",
            "--seeds",
            "1,2",
            "--time-limit",
            "20s",
            "--dry-run",
        ])
        .output()
        .unwrap();
    let s = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{s}");
    assert!(s.contains("4 cells"), "{s}");
    let cells: Vec<&str> = s.lines().filter(|l| l.contains("scenario run")).collect();
    assert_eq!(cells.len(), 4, "{s}");
    assert!(cells[0].contains("Kafka 4.4.0 kraft seed 1"), "{s}");
    assert!(cells[3].contains("Kafka 3.9.1 zookeeper seed 2"), "{s}");
    assert!(
        cells[3].contains("--kafka-version 3.9.1 --mode zookeeper"),
        "{s}"
    );
    assert_eq!(
        std::fs::read_dir(d.path()).unwrap().count(),
        0,
        "a dry run writes nothing"
    );

    for (versions, says) in [
        ("4.4.0,4.0.0:zookeeper", "2.8.0 to 3.9.x"),
        ("3.9.1,3.1.0:kraft", "3.3.0"),
        ("3.9.1:raft", "unknown mode"),
    ] {
        let out = bin()
            .arg("--store")
            .arg(d.path())
            .args(["matrix", "safe", "--versions", versions])
            .output()
            .unwrap();
        let e = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{versions}: {e}");
        assert!(e.contains(says), "{versions}: {e}");
    }
    let out = bin()
        .arg("--store")
        .arg(d.path())
        .args(["matrix", "no-such", "--versions", "4.4.0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown scenario"));
    assert_eq!(
        std::fs::read_dir(d.path()).unwrap().count(),
        0,
        "nothing ran, nothing was written"
    );
}

#[test]
fn runs_ignore_the_matrix_folder() {
    let d = tempfile::tempdir().unwrap();
    let store = trial_histories::Store::new(d.path());
    let run = store.create_run("safe").unwrap();
    write_history(&run.history(), None);
    let m = store.create_matrix("safe").unwrap();
    std::fs::write(m.path.join("matrix.json"), "{}").unwrap();
    std::fs::write(m.path.join("matrix.html"), "<html></html>").unwrap();
    let out = bin()
        .arg("--store")
        .arg(d.path())
        .args(["runs", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let s = String::from_utf8_lossy(&out.stdout);
    assert_eq!(s.lines().count(), 1, "{s}");
    assert!(s.contains(&run.timestamp) && !s.contains("matrix"), "{s}");
    // `latest` still resolves to the run.
    let out = bin()
        .arg("--store")
        .arg(d.path())
        .args(["show", "latest"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
}

/// `test --dry-run` in ZooKeeper mode plans over the brokers and the
/// ensemble apart; a zk-* target in KRaft mode is refused with exit 3
/// before anything starts.
#[test]
fn zookeeper_targets_in_the_dry_run_plan_and_refused_without_an_ensemble() {
    let dir = tempfile::tempdir().unwrap();
    let plan = |mode: &str| {
        bin()
            .arg("--store")
            .arg(dir.path())
            .args([
                "test",
                "--dry-run",
                "--kafka-version",
                "3.9.1",
                "--mode",
                mode,
            ])
            .args([
                "--nemesis",
                "kill,partition",
                "--seed",
                "4",
                "--time-limit",
                "120s",
            ])
            .args(["--kill-targets", "zk-leader,zk-majority"])
            .args(["--partition-topologies", "zk-one-broker"])
            .output()
            .unwrap()
    };
    let out = plan("zookeeper");
    let s = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{s}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(s.contains("nodes n1 n2 n3, zookeeper z1 z2 z3"), "{s}");
    assert!(s.contains("zookeeper of zk-"), "{s}");
    assert!(s.contains("zk-one-broker: n"), "{s}");
    let out = plan("kraft");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(err.contains("no ZooKeeper ensemble"), "{err}");
}

/// Releases and modes that cannot go together are refused before anything
/// starts (no Docker, no Maven), with exit 3 and the supported range.
#[test]
fn impossible_release_and_mode_pairs_exit_3_naming_the_range() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        &["test", "--kafka-version", "4.0.0", "--mode", "zookeeper"][..],
        &["test", "--kafka-version", "3.2.3", "--mode", "kraft"][..],
        &["test", "--kafka-version", "2.7.1"][..],
        &["test", "--kafka-version", "4.1.0", "--zookeeper", "3"][..],
        &[
            "cluster",
            "up",
            "--kafka-version",
            "4.4.0",
            "--mode",
            "zookeeper",
        ][..],
        &[
            "scenario",
            "run",
            "safe",
            "--kafka-version",
            "3.1.0",
            "--mode",
            "kraft",
        ][..],
    ] {
        assert_refused(
            dir.path(),
            args,
            "KRaft mode runs Kafka 3.3.0 to 4.x, ZooKeeper mode Kafka 2.8.0 to 3.9.x",
        );
    }
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

/// `args` exits 3 before anything starts, saying `why`.
fn assert_refused(store: &std::path::Path, args: &[&str], why: &str) {
    let out = bin().arg("--store").arg(store).args(args).output().unwrap();
    let e = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{args:?}: {e}");
    assert!(e.contains(why), "{args:?}: {e}");
}

/// The KIP-848 group protocol needs Kafka ≥ 4.0 in KRaft mode; asked of an
/// older release or of ZooKeeper mode it is refused before anything starts.
#[test]
fn the_consumer_group_protocol_before_4_0_exits_3() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        &[
            "test",
            "--workload",
            "group",
            "--group-protocol",
            "consumer",
            "--kafka-version",
            "3.9.1",
        ][..],
        &[
            "test",
            "--workload",
            "group",
            "--group-protocol",
            "consumer",
            "--mode",
            "zookeeper",
        ][..],
        &[
            "scenario",
            "run",
            "group-safe",
            "--group-protocol",
            "consumer",
            "--kafka-version",
            "3.7.2",
        ][..],
    ] {
        assert_refused(dir.path(), args, "needs Kafka 4.0.0 or newer in KRaft mode");
    }
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

/// `--judge promises`: a proven loss fails the run under acks=all (a
/// broken promise) and not under acks=1 (Kafka documents the loss); the
/// default judge fails both.
#[test]
fn check_judges_anomalies_or_promises() {
    let d = tempfile::tempdir().unwrap();
    let store = trial_histories::Store::new(d.path());
    for (name, acks, promises_code, headline) in [
        ("acks-all", "all", 1, "BROKEN PROMISE: "),
        (
            "acks-one",
            "1",
            0,
            "Kafka kept every promise of this configuration",
        ),
    ] {
        let run = store.create_run(name).unwrap();
        queue_history(&run.history(), true, true);
        run.write_json(
            "test.json",
            &serde_json::json!({"name": name, "acks": acks, "idempotence": false,
                "cluster": {"replication_factor": 3, "min_insync_replicas": 1}}),
        )
        .unwrap();
        let check = |judge: Option<&str>| {
            let mut c = bin();
            c.arg("--store").arg(d.path()).args(["check", name]);
            if let Some(j) = judge {
                c.args(["--judge", j]);
            }
            c.output().unwrap()
        };
        let out = check(None);
        assert_eq!(out.status.code(), Some(1), "{name}");
        let out = check(Some("anomalies"));
        assert_eq!(out.status.code(), Some(1), "{name}");
        let out = check(Some("promises"));
        let s = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(promises_code), "{name}: {s}");
        assert!(s.contains(headline), "{name}: {s}");
        assert!(s.contains("lost-write: 1"), "{s}");
        let r: serde_json::Value =
            serde_json::from_slice(&std::fs::read(run.results()).unwrap()).unwrap();
        let j = &r["promises"]["classes"]["lost-write"]["judgement"];
        assert_eq!(
            j,
            if promises_code == 1 {
                "broken-promise"
            } else {
                "permitted"
            },
            "{name}"
        );
    }
    let out = bin()
        .args(["check", "--judge", "nope", "x"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "a usage error is the harness's");
    assert!(String::from_utf8_lossy(&out.stderr).contains("anomalies or promises"));
}

/// `kafka-trial show RUN | head -1`: the reader goes away after one line;
/// the command ends as Unix tools do (SIGPIPE), without a panic message.
#[test]
fn show_into_a_closed_pipe_ends_quietly() {
    use std::io::{BufRead, BufReader};
    use std::os::unix::process::ExitStatusExt;
    let d = tempfile::tempdir().unwrap();
    let store = trial_histories::Store::new(d.path());
    let run = store.create_run("demo").unwrap();
    // Far more than a pipe's 64 KiB buffer of output.
    let mut f = std::fs::File::create(run.history()).unwrap();
    for i in 0..20_000u64 {
        writeln!(
            f,
            "{}",
            line(i, 1, "invoke", "send", r#"{"key":1,"value":1}"#)
        )
        .unwrap();
    }
    drop(f);
    let mut child = bin()
        .arg("--store")
        .arg(d.path())
        .args(["show", "demo"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(!first.is_empty());
    // The pipe's reader is gone now.
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(
        out.status.signal(),
        Some(libc::SIGPIPE),
        "{:?} {err}",
        out.status
    );
}

/// `check --model M FILE…`: many EDN histories in one process, one line
/// per file in the order given, a summary, and the worst exit code; a
/// malformed file names itself and its line and makes it 3.
#[test]
fn check_many_edn_files_in_one_process() {
    let data = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../checkers/tests/data");
    let d = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for name in ["cas-valid.edn", "cas-info.edn", "cas-invalid.edn"] {
        let p = d.path().join(name);
        std::fs::copy(data.join(name), &p).unwrap();
        files.push(p);
    }
    let run = |files: &[std::path::PathBuf], json: bool| {
        let mut c = bin();
        c.arg("check").args(["--model", "cas-register"]);
        if json {
            c.arg("--json");
        }
        let out = c.args(files).output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    // Valid ones only: 0.
    let (code, out, err) = run(&files[..2], false);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("2 valid / 0 invalid / 0 unknown"), "{out}");
    // One invalid: 1, one line per file in the order given.
    let (code, out, err) = run(&files, false);
    assert_eq!(code, Some(1), "{out}{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 4, "{out}");
    assert!(lines[0].contains("cas-valid.edn: valid"), "{out}");
    assert!(
        lines[2].contains("cas-invalid.edn: INVALID") && lines[2].contains("cannot be linearized")
    );
    assert!(
        lines[3].contains("3 files") && lines[3].contains("2 valid / 1 invalid"),
        "{out}"
    );
    // No results files for many files.
    assert!(!d.path().join("cas-valid.edn.results.json").exists());
    // --json: one object per file.
    let (code, out, _) = run(&files, true);
    assert_eq!(code, Some(1));
    let objs: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(objs.len(), 3);
    assert_eq!(objs[2]["results"]["valid"], false, "{out}");
    // A malformed file: 3, named with its line; the others still checked.
    let bad = d.path().join("bad.edn");
    std::fs::write(
        &bad,
        "{:process 0 :type :invoke :f :read :value nil}\n{:process 0 :type\n",
    )
    .unwrap();
    files.push(bad);
    let (code, out, err) = run(&files, false);
    assert_eq!(code, Some(3), "{out}{err}");
    assert!(out.contains("bad.edn") && out.contains("line"), "{out}");
    assert!(out.contains("cas-valid.edn: valid"), "{out}");
}

/// A spec printed by `--print-spec` (a run folder's spec.toml is the same
/// text) runs again through `--spec` with the same schedule; flags laid
/// over it win; `scenario show` prints a spec `test --spec` runs as the
/// scenario; options that do not apply exit 3 before anything starts.
#[test]
fn print_spec_and_spec_files_reproduce_the_schedule() {
    let d = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let out = bin()
            .arg("--store")
            .arg(d.path())
            .args(args)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    let flags = [
        "--nemesis",
        "kill,loss,clock",
        "--seed",
        "11",
        "--loss-probability",
        "0.4",
        "--clock-offsets=-60,15",
        "--kill-targets",
        "leaders",
    ];
    let (code, spec, err) = run(&[&["test"], &flags[..], &["--print-spec"]].concat());
    assert_eq!(code, Some(0), "{err}");
    assert!(spec.contains("[nemesis.loss]\ntargets"), "{spec}");
    let file = d.path().join("spec.toml");
    std::fs::write(&file, &spec).unwrap();
    let file = file.to_str().unwrap();
    let (code, direct, err) = run(&[&["test"], &flags[..], &["--dry-run"]].concat());
    assert_eq!(code, Some(0), "{err}");
    let (code, again, err) = run(&["test", "--spec", file, "--dry-run"]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(direct, again);
    let (_, other, _) = run(&["test", "--spec", file, "--seed", "12", "--dry-run"]);
    assert_ne!(direct, other);
    // A scenario's spec is the scenario.
    let (code, shown, err) = run(&["scenario", "show", "safe"]);
    assert_eq!(code, Some(0), "{err}");
    std::fs::write(file, &shown).unwrap();
    let (_, a, _) = run(&["scenario", "run", "safe", "--dry-run"]);
    let (_, b, err) = run(&["test", "--spec", file, "--dry-run"]);
    assert_eq!(a, b, "{err}");
    // Options that do not apply.
    for args in [
        &["test", "--abort-probability", "0.2"][..],
        &[
            "test",
            "--workload",
            "group",
            "--isolation",
            "read_uncommitted",
        ],
        &["test", "--nemesis", "kill", "--loss-probability", "0.2"],
        &["test", "--clock-strobe-count", "3"],
        &["scenario", "run", "safe", "--churn-probability", "0.1"],
    ] {
        let (code, _, err) = run(args);
        assert_eq!(code, Some(3), "{args:?}: {err}");
        assert!(err.contains("is an option of"), "{args:?}: {err}");
    }
    // Retired modes say so.
    let (code, _, err) = run(&["test", "--senders", "0", "--dry-run"]);
    assert_eq!(code, Some(3), "{err}");
    assert!(err.contains("retired"), "{err}");
    let (code, _, err) = run(&["test", "--sub-via", "subscribe", "--dry-run"]);
    assert_eq!(code, Some(3), "{err}");
    assert!(err.contains("retired"), "{err}");
    // What older spec files say of it still loads.
    std::fs::write(
        file,
        "[workload]\nkind = \"queue\"\n[workload.queue]\nsub_via = \"assign\"\n",
    )
    .unwrap();
    let (code, _, err) = run(&["test", "--spec", file, "--dry-run"]);
    assert_eq!(code, Some(0), "{err}");
    std::fs::write(
        file,
        "[workload]\nkind = \"queue\"\n[workload.txn]\nisolation = \"read_committed\"\n",
    )
    .unwrap();
    let (code, _, err) = run(&["test", "--spec", file, "--dry-run"]);
    assert_eq!(code, Some(3), "{err}");
    assert!(err.contains("do not apply"), "{err}");
}

/// A healthy cluster (the observer's samples) and no send acknowledged for
/// 31 s: `check` reports a `client-stall` under the threshold of the run's
/// test.json (2 × its message timeout) and reads the valid verdict as weak
/// evidence, exit code 0; with a longer message timeout, no stall.
#[test]
fn check_reports_a_client_stall_as_weak_evidence_without_changing_the_exit_code() {
    let healthy = r#"{"partitions":[{"partition":0,"leader":1,"epoch":0,"replicas":[1,2,3],"isr":[1,2,3]}],"brokers":{"1":"n1","2":"n2","3":"n3"},"unreachable":[],"read_ms":1}"#;
    for (message_timeout, stall) in [(10.0, true), (30.0, false)] {
        let d = tempfile::tempdir().unwrap();
        let store = trial_histories::Store::new(d.path());
        let run = store.create_run("demo").unwrap();
        // A healthy sample every second.
        let mut ops: Vec<(u64, &str, &str, &str, String)> = (0..32)
            .flat_map(|s| {
                [
                    (
                        s * 1000,
                        r#""observer""#,
                        "invoke",
                        "observe",
                        "null".to_string(),
                    ),
                    (
                        s * 1000,
                        r#""observer""#,
                        "ok",
                        "observe",
                        healthy.to_string(),
                    ),
                ]
            })
            .collect();
        ops.extend([
            (1, "1", "invoke", "send", r#"{"key":1,"value":10}"#.into()),
            (2, "1", "ok", "send", r#"{"key":1,"value":10,"partition":0,"offset":0}"#.into()),
            (31_000, "1", "invoke", "send", r#"{"key":1,"value":11}"#.into()),
            (31_002, "1", "ok", "send", r#"{"key":1,"value":11,"partition":0,"offset":1}"#.into()),
            (31_100, r#""final""#, "invoke", "final-read", r#"{"partition":0}"#.into()),
            (31_200, r#""final""#, "ok", "final-read",
             r#"{"partition":0,"start_offset":0,"high_watermark":2,"records":[[0,0,1,10],[0,1,1,11]]}"#.into()),
        ]);
        ops.sort_by_key(|o| o.0);
        let mut f = std::fs::File::create(run.history()).unwrap();
        for (i, (ms, p, t, f_, v)) in ops.iter().enumerate() {
            writeln!(
                f,
                r#"{{"index":{i},"time":{},"process":{p},"type":"{t}","f":"{f_}","value":{v}}}"#,
                ms * 1_000_000u64
            )
            .unwrap();
        }
        drop(f);
        std::fs::write(
            run.path.join("test.json"),
            format!(r#"{{"workload":"queue","message_timeout":{message_timeout}}}"#),
        )
        .unwrap();
        let out = bin()
            .arg("--store")
            .arg(d.path())
            .args(["check", "demo"])
            .output()
            .unwrap();
        let s = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{s}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let r: serde_json::Value =
            serde_json::from_slice(&std::fs::read(run.results()).unwrap()).unwrap();
        assert_eq!(r["valid"], serde_json::json!(true));
        let stalls = r["checkers"]["progress"]["stalls"].as_array().unwrap();
        if stall {
            assert!(
                s.starts_with("valid (weak evidence: the clients stalled)"),
                "{s}"
            );
            assert!(
                s.contains("progress: CLIENT-STALL: 1 (longest 31.0 s, 0.0–31.0 s"),
                "{s}"
            );
            assert!(s.contains("weak evidence: client-stall"), "{s}");
            assert_eq!(stalls.len(), 1);
            assert_eq!(r["checkers"]["progress"]["threshold_s"], 20.0);
            assert_eq!(r["weak_evidence"].as_array().map(Vec::len), Some(1));
        } else {
            assert!(s.starts_with("valid: "), "{s}");
            assert!(
                s.contains("progress: no client stall (no progress for > 60 s"),
                "{s}"
            );
            assert!(stalls.is_empty() && r.get("weak_evidence").is_none());
        }
    }
}

/// `runs` shows each run's size and the store's total; `runs --prune` is a
/// dry run unless --yes, needs --keep or --older-than (exit 3 without),
/// and keeps a run a matrix page links (issue 30).
#[test]
fn runs_show_sizes_and_prune_dry_runs_then_removes() {
    let d = tempfile::tempdir().unwrap();
    let store = trial_histories::Store::new(d.path());
    let mut runs = Vec::new();
    for _ in 0..4 {
        let run = store.create_run("demo").unwrap();
        write_history(&run.history(), None);
        std::fs::write(run.path.join("results.json"), r#"{"valid": true}"#).unwrap();
        runs.push(run);
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let m = store.create_matrix("demo").unwrap();
    std::fs::write(
        m.path.join("matrix.json"),
        format!(r#"{{"cells": [{{"run": "demo/{}"}}]}}"#, runs[0].timestamp),
    )
    .unwrap();
    let run = |args: &[&str]| {
        let out = bin()
            .arg("--store")
            .arg(d.path())
            .args(args)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).to_string(),
        )
    };
    let (code, s) = run(&["runs"]);
    assert_eq!(code, Some(0));
    assert!(s.lines().next().unwrap().contains("size"), "{s}");
    assert!(s.contains(" kB") && s.contains("4 runs, "), "{s}");

    let (code, _) = run(&["runs", "--prune"]);
    assert_eq!(code, Some(3), "nothing to go by");
    let (code, s) = run(&["runs", "--prune", "--keep", "1"]);
    assert_eq!(code, Some(0));
    assert!(s.contains("2 runs") && s.contains("would go"), "{s}");
    assert!(
        s.contains(&format!(
            "keeping demo/{}: linked by matrix/demo/",
            runs[0].timestamp
        )),
        "{s}"
    );
    assert_eq!(
        store.list_runs().unwrap().len(),
        4,
        "a dry run removes nothing"
    );
    let (code, s) = run(&["runs", "--prune", "--keep", "1", "--yes"]);
    assert_eq!(code, Some(0));
    assert!(s.contains("removed 2 runs"), "{s}");
    let left: Vec<String> = store
        .list_runs()
        .unwrap()
        .into_iter()
        .map(|r| r.timestamp)
        .collect();
    assert_eq!(left, [runs[3].timestamp.clone(), runs[0].timestamp.clone()]);
}
