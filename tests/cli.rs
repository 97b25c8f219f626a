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
