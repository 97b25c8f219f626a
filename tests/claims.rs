//! `kafka-trial claims`: the command without a cluster (`--list`, an
//! unknown `--only`), and two claims on a real cluster through the
//! library — the acks=all claim holds, the acks=1 claim (phrased as the
//! hopeful reading "acks=1 keeps every acknowledged write when a leader
//! fails") is refuted, as Kafka documents. Short time limits: each real
//! claim takes about a minute.

use kafka_trial::trial::claims::{self, ClaimOptions, Outcome};
use std::process::Command;
use std::time::Duration;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_kafka-trial"))
}

#[test]
fn list_prints_the_phrasing_and_every_claim() {
    let out = bin().args(["claims", "--list"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Every claim is a statement the experiment can refute"));
    for c in claims::CLAIMS {
        assert!(text.contains(c.id), "{} listed", c.id);
        assert!(text.contains(c.claim), "{} sentence listed", c.id);
    }
    assert!(
        text.contains("acks-1-keeps-acked (quick)  expected refuted"),
        "{text}"
    );
    assert!(text.contains("--quick:"), "{text}");
}

#[test]
fn an_unknown_claim_exits_3_naming_the_known_ones_before_anything_runs() {
    let store = tempfile::tempdir().unwrap();
    let out = bin()
        .args(["--store"])
        .arg(store.path())
        .args(["claims", "--only", "acks-all-rf-n", "--only", "nope"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unknown claim \"nope\""), "{err}");
    for c in claims::CLAIMS {
        assert!(err.contains(c.id), "{err}");
    }
    // Nothing was run nor written.
    assert_eq!(std::fs::read_dir(store.path()).unwrap().count(), 0);
    // An impossible option is refused the same way.
    let out = bin()
        .args(["--store"])
        .arg(store.path())
        .args(["claims", "--quick", "--kafka-version", "1.0.0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
}

fn options() -> ClaimOptions {
    let store = std::env::temp_dir().join(format!("kafka-trial-claims-{}", std::process::id()));
    std::fs::create_dir_all(&store).unwrap();
    ClaimOptions {
        time_limit: Some(Duration::from_secs(25)),
        seed: Some(1),
        ..ClaimOptions::new(store)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acks_all_rf_n_holds_on_a_real_cluster() {
    let _serial = kafka_trial::testing::serial().await;
    let o = options();
    let c = claims::find("acks-all-rf-n").unwrap();
    let r = claims::run_claim(c, &o).await.expect("the claim runs");
    eprintln!("{}: {:?}: {}", r.id, r.verdict, r.observed);
    assert_eq!(r.verdict, Some(Outcome::Holds), "{}", r.observed);
    assert_eq!(r.as_expected(), Some(true));
    assert!(
        r.observed.contains("up to 2 brokers down"),
        "{}",
        r.observed
    );
    assert!(o.store.join(r.run.unwrap()).join("results.json").is_file());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acks_1_keeps_acked_is_refuted_on_a_real_cluster() {
    let _serial = kafka_trial::testing::serial().await;
    let o = options();
    let c = claims::find("acks-1-keeps-acked").unwrap();
    assert_eq!(c.expected, Outcome::Refuted);
    let r = claims::run_claim(c, &o).await.expect("the claim runs");
    eprintln!("{}: {:?}: {}", r.id, r.verdict, r.observed);
    assert_eq!(r.verdict, Some(Outcome::Refuted), "{}", r.observed);
    assert_eq!(r.agreement(), "as documented");
    assert!(r.observed.contains("lost-write"), "{}", r.observed);
}
