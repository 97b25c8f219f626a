//! The promise verdict of a whole check: a generated history with an
//! injected duplicate, judged both ways.

use trial_checkers::generate::{kafka, Fault};
use trial_checkers::promises::{Configuration, Judgement};
use trial_checkers::{check_ops, exit_code, CheckOptions, Judge, Validity};

fn check(idempotence: bool, configured: bool) -> trial_checkers::Results {
    let ops = kafka::simulate(&kafka::SimConfig {
        fault: Some(Fault::Duplicate),
        ..Default::default()
    });
    let opts = CheckOptions {
        configuration: configured.then(|| Configuration {
            idempotence,
            ..Configuration::default()
        }),
        ..CheckOptions::default()
    };
    check_ops(&ops, &opts).unwrap()
}

#[test]
fn duplicates_without_idempotence_keep_every_promise() {
    let r = check(false, true);
    assert_eq!(r.valid, Validity::Invalid, "{}", r.human_summary(1));
    let p = r.promises.as_ref().unwrap();
    assert!(p.kept, "{}", p.headline);
    assert!(matches!(
        &p.classes["duplicate"].judgement,
        Judgement::Permitted { reason } if reason.contains("may write duplicates")
    ));
    assert_eq!(r.exit_code_judged(Judge::Anomalies), exit_code::ANOMALIES);
    assert_eq!(r.exit_code_judged(Judge::Promises), exit_code::VALID);
    let text = r.human_summary(1);
    assert!(
        text.contains("Kafka kept every promise of this configuration"),
        "{text}"
    );
    assert!(
        text.contains("duplicate: ") && text.contains("permitted by this configuration: "),
        "{text}"
    );
    // It survives results.json.
    let back: trial_checkers::Results =
        serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
    assert_eq!(back.promises, r.promises);
}

#[test]
fn duplicates_with_idempotence_break_a_promise() {
    let r = check(true, true);
    let p = r.promises.as_ref().unwrap();
    assert!(!p.kept);
    assert!(p.headline.starts_with("BROKEN PROMISE: "), "{}", p.headline);
    assert_eq!(r.exit_code_judged(Judge::Promises), exit_code::ANOMALIES);
    assert!(r
        .human_summary(0)
        .contains("— broken promise (no-duplicates)"));
}

#[test]
fn an_unknown_configuration_is_unknown_under_the_promise_judge() {
    let r = check(false, false);
    let p = r.promises.as_ref().unwrap();
    assert!(p.kept && !p.configuration_known, "{}", p.headline);
    assert_eq!(r.exit_code_judged(Judge::Promises), exit_code::UNKNOWN);
    assert_eq!(r.exit_code_judged(Judge::Anomalies), exit_code::ANOMALIES);
    // A valid history with its configuration: 0 both ways.
    let ops = kafka::simulate(&kafka::SimConfig::default());
    let opts = CheckOptions {
        configuration: Some(Configuration::default()),
        ..CheckOptions::default()
    };
    let r = check_ops(&ops, &opts).unwrap();
    assert_eq!(r.exit_code_judged(Judge::Anomalies), r.exit_code());
    if r.valid == Validity::Valid {
        assert_eq!(r.exit_code_judged(Judge::Promises), exit_code::VALID);
    }
}
