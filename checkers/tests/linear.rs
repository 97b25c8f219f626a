//! Hand-checked histories for the linearizability checker.

use std::path::{Path, PathBuf};
use std::time::Duration;
use trial_checkers::generate::Builder;
use trial_checkers::linear::models::{CasRegister, LogInput, LogOutput, RegInput};
use trial_checkers::linear::{check, check_edn_str, check_ops_log, Call};
use trial_checkers::{check_edn_file, Validity};
use trial_histories::OpType;

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

const T: Duration = Duration::from_secs(10);

#[test]
fn edn_valid_history() {
    let r = check_edn_file(&data("cas-valid.edn"), "cas-register", T).unwrap();
    assert_eq!(r.valid, Validity::Valid, "{r:?}");
    assert_eq!(r.ops, 4, "the failed cas is dropped");
}

#[test]
fn edn_invalid_history_has_a_counterexample() {
    let r = check_edn_file(&data("cas-invalid.edn"), "cas-register", T).unwrap();
    assert_eq!(r.valid, Validity::Invalid);
    let c = r.counterexample.unwrap();
    assert_eq!(c.prefix_len, 2, "{c:?}");
    assert_eq!(c.op_index, 4, "the read's invocation");
    assert_eq!(c.op, "read → 1");
    assert_eq!(c.state, "Some(2)");
    assert!(c.message.contains("cannot be linearized"));
    // The register model reads the same file the same way.
    let r = check_edn_file(&data("cas-invalid.edn"), "register", T).unwrap();
    assert_eq!(r.valid, Validity::Invalid);
}

#[test]
fn edn_valid_only_because_of_an_info_op() {
    let p = data("cas-info.edn");
    let r = check_edn_file(&p, "cas-register", T).unwrap();
    assert_eq!(r.valid, Validity::Valid, "{r:?}");
    // The same history with the cas definitely failed is not linearizable.
    let text = std::fs::read_to_string(&p)
        .unwrap()
        .replace(":type :info, :f :cas", ":type :fail, :f :cas");
    let r = check_edn_str(&text, &p, "cas-register", T).unwrap();
    assert_eq!(r.valid, Validity::Invalid);
    // ... and with it never completing, it is valid again.
    let text = std::fs::read_to_string(&p)
        .unwrap()
        .lines()
        .filter(|l| !l.contains(":type :info, :f :cas"))
        .collect::<Vec<_>>()
        .join("\n");
    let r = check_edn_str(&text, &p, "cas-register", T).unwrap();
    assert_eq!(r.valid, Validity::Valid);
}

#[test]
fn edn_kv_is_checked_per_key() {
    let r = check_edn_file(&data("kv-invalid.edn"), "kv", T).unwrap();
    assert_eq!(r.valid, Validity::Invalid);
    assert_eq!(r.partitions, 2);
    assert_eq!(r.counterexample.unwrap().partition, 2);
}

#[test]
fn edn_errors_name_the_line_and_models_are_checked() {
    let e = check_edn_str(
        "{:process 0 :type :invoke\n :f :write :value}\n",
        Path::new("x.edn"),
        "cas-register",
        T,
    )
    .unwrap_err();
    assert_eq!(e.line(), Some(1));
    let e = check_edn_str(
        "{:process 0 :type :invoke :f :frob :value 1}",
        Path::new("x.edn"),
        "cas-register",
        T,
    )
    .unwrap_err();
    assert!(e.to_string().contains("unsupported :f :frob"), "{e}");
    assert!(check_edn_str("", Path::new("x"), "nope", T).is_err());
}

fn call(
    input: RegInput,
    output: Option<Option<i64>>,
    invoke: u64,
    complete: Option<u64>,
) -> Call<RegInput, Option<i64>> {
    Call {
        input,
        output,
        invoke,
        complete,
        index: invoke,
        process: format!("{invoke}"),
    }
}

#[test]
fn a_hard_history_is_unknown_under_a_tiny_time_limit() {
    // 40 concurrent writes that never complete, then a read of a value
    // nobody wrote: proving that needs every subset of the writes.
    let mut calls: Vec<_> = (0..40)
        .map(|i| call(RegInput::Write(i), None, i as u64, None))
        .collect();
    calls.push(call(RegInput::Read, Some(Some(999)), 100, Some(101)));
    let r = check(&CasRegister, calls, Duration::from_millis(20));
    assert_eq!(r.valid, Validity::Unknown, "{r:?}");
    assert!(r.unknown_reason.unwrap().contains("time limit"));
}

#[test]
fn an_info_write_may_never_happen() {
    let calls = vec![
        call(RegInput::Write(1), None, 0, None),
        call(RegInput::Read, Some(None), 1, Some(2)),
        call(RegInput::Write(2), Some(None), 3, Some(4)),
        call(RegInput::Read, Some(Some(2)), 5, Some(6)),
    ];
    assert_eq!(check(&CasRegister, calls, T).valid, Validity::Valid);
}

#[test]
fn log_model_on_a_kafka_history() {
    let mut b = Builder::new();
    b.send_ok(1, 10, 0, 0);
    b.send_info(2, 16 + 10); // same key as 10 → partition 0; written
    b.send_ok(1, 11, 1, 0);
    b.poll(3, &[(0, 0, 10), (0, 1, 26), (1, 0, 11)]);
    b.send_ok(1, 12, 0, 2);
    b.final_read(0, 0, 3, &[(0, 10), (1, 26), (2, 12)]);
    b.final_read(1, 0, 1, &[(0, 11)]);
    let r = check_ops_log(&b.ops, "log", T).unwrap();
    assert_eq!(r.valid, Validity::Valid, "{r:?}");
    assert_eq!(r.partitions, 2);

    // A read that saw 12 before it was sent is not linearizable.
    let mut b = Builder::new();
    b.send_ok(1, 10, 0, 0);
    b.poll(3, &[(0, 0, 10), (0, 1, 12)]);
    b.send_ok(1, 12, 0, 1);
    let r = check_ops_log(&b.ops, "log", T).unwrap();
    assert_eq!(r.valid, Validity::Invalid);
    assert!(r.counterexample.unwrap().op.contains("read 0 from 0"));

    // A send acknowledged at an offset another value holds.
    let mut b = Builder::new();
    b.send_ok(1, 10, 0, 0);
    b.send_ok(2, 11, 0, 0);
    let r = check_ops_log(&b.ops, "log", T).unwrap();
    assert_eq!(r.valid, Validity::Invalid);

    // Failed sends are dropped; the model name is checked.
    let mut b = Builder::new();
    b.send_fail(1, 10);
    b.send_ok(1, 11, 0, 0);
    b.final_read(0, 0, 1, &[(0, 11)]);
    assert_eq!(
        check_ops_log(&b.ops, "log", T).unwrap().valid,
        Validity::Valid
    );
    assert!(check_ops_log(&b.ops, "cas-register", T).is_err());
    let _ = (
        LogInput::Read {
            partition: 0,
            from: 0,
        },
        LogOutput::Offset(0),
        OpType::Ok,
    );
}

#[test]
fn generated_cas_register_histories_are_linearizable() {
    for seed in 0..20 {
        let calls = trial_checkers::generate::cas_register_calls(seed, 300, 5);
        let r = check(&CasRegister, calls, T);
        assert_eq!(r.valid, Validity::Valid, "seed {seed}: {r:?}");
    }
}

#[test]
fn a_history_with_nothing_completed_is_unknown() {
    let calls = vec![call(RegInput::Write(1), None, 0, None)];
    let r = check(&CasRegister, calls, T);
    assert_eq!(r.valid, Validity::Unknown);
    assert!(r
        .unknown_reason
        .unwrap()
        .contains("no operation completed ok"));
    let r = check(&CasRegister, Vec::new(), T);
    assert_eq!(r.valid, Validity::Unknown);
}
