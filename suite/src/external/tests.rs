use super::readback::{ReadBack, Setting};
use super::*;
use crate::spec::SpecArgs;
use std::path::Path;
use trial_checkers::promises::Configuration;

fn spec(words: &[&str]) -> anyhow::Result<crate::trial::TestSpec> {
    let t = SpecArgs::parse_from(words)?.apply(None)?;
    let s = t.to_test(Path::new("store"))?;
    s.validate()?;
    Ok(s)
}

fn hooks_file(text: &str) -> tempfile::NamedTempFile {
    let f = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(f.path(), text).unwrap();
    f
}

#[test]
fn what_cannot_apply_to_a_cluster_the_user_runs_is_refused() {
    let b = ["--bootstrap", "kafka-0:9092,kafka-1:9092"];
    assert!(spec(&b).unwrap().external.is_some());
    for extra in [
        &["--nodes", "3"][..],
        &["--kafka-version", "3.9.1"],
        &["--mode", "zookeeper"],
        &["--hosts", "h.toml"],
        &["--broker-config", "a=b"],
        &["--min-insync-replicas", "1"],
        &["--unclean-leader-election"],
        &["--lazyfs"],
        &["--workload", "txn"],
        &["--nemesis", "kill"],
        &["--nemesis", "clock"],
    ] {
        let w: Vec<&str> = b.iter().chain(extra.iter()).copied().collect();
        let e = spec(&w).expect_err(&format!("{extra:?} refused"));
        let m = format!("{e:#}");
        assert!(!m.is_empty(), "{extra:?}");
    }
    let e = format!(
        "{:#}",
        spec(&["--bootstrap", "kafka-0:9092", "--nemesis", "kill"]).unwrap_err()
    );
    assert!(e.contains("--fault-hooks"), "{e}");
    for bad in ["kafka-0", "kafka-0:x", ":9092", ""] {
        assert!(spec(&["--bootstrap", bad]).is_err(), "{bad:?}");
    }
    // Options of a cluster the user runs, without one.
    for w in [
        &["--keep-topic"][..],
        &["--client-config", "a=b"],
        &["--fault-hooks", "h.toml"],
    ] {
        let e = format!("{:#}", spec(w).unwrap_err());
        assert!(e.contains("only with --bootstrap"), "{e}");
    }
}

#[test]
fn hooks_decide_which_faults_play() {
    let f = hooks_file("kill = \"k {id}\"\nrestart = \"r {id}\"\n");
    let p = f.path().to_str().unwrap();
    let s = spec(&[
        "--bootstrap",
        "k:9092",
        "--fault-hooks",
        p,
        "--nemesis",
        "kill",
    ])
    .unwrap();
    assert_eq!(
        s.external.unwrap().hooks.unwrap().kill.as_deref(),
        Some("k {id}")
    );
    let e = format!(
        "{:#}",
        spec(&[
            "--bootstrap",
            "k:9092",
            "--fault-hooks",
            p,
            "--nemesis",
            "kill,pause"
        ])
        .unwrap_err()
    );
    assert!(e.contains("pause and resume"), "{e}");
    let e = format!(
        "{:#}",
        spec(&[
            "--bootstrap",
            "k:9092",
            "--fault-hooks",
            p,
            "--nemesis",
            "partition"
        ])
        .unwrap_err()
    );
    assert!(e.contains("cannot be played"), "{e}");
}

#[test]
fn secrets_never_reach_what_is_written_but_reach_the_run() {
    let secret = "s3cr3t-value";
    let words = [
        "--bootstrap",
        "k:9092",
        "--client-config",
        "security.protocol=SASL_SSL",
        "--client-config",
        "sasl.password=s3cr3t-value",
        "--client-config",
        "sasl.jaas.config=org.x required password=\"s3cr3t-value\";",
    ];
    let t = SpecArgs::parse_from(words).unwrap().apply(None).unwrap();
    // In memory: the real values (the clients get them).
    let s = t.to_test(Path::new("store")).unwrap();
    let x = s.external.clone().unwrap();
    assert!(x
        .client_settings()
        .unwrap()
        .iter()
        .any(|(k, v)| k == "sasl.password" && v == secret));
    // Written: test.json, spec.toml (also of the run's TestSpec), the
    // report's spec value.
    let json = serde_json::to_string(&s).unwrap();
    assert!(!json.contains(secret), "{json}");
    assert!(json.contains("SASL_SSL"));
    for text in [
        t.to_toml(),
        crate::spec::TrialSpec::from_test(&s).unwrap().to_toml(),
        t.to_value().to_string(),
    ] {
        assert!(!text.contains(secret), "{text}");
        assert!(text.contains(secrets::REDACTED), "{text}");
    }
    // A written spec loaded back: the redacted secret must be given again.
    let back = crate::spec::TrialSpec::parse(&t.to_toml()).unwrap();
    let e = format!("{:#}", back.to_test(Path::new("store")).unwrap_err());
    assert!(e.contains("give it again"), "{e}");
}

#[test]
fn the_promise_model_reads_what_was_read_back_and_says_what_was_not() {
    let mut s = spec(&["--bootstrap", "k:9092"]).unwrap();
    let mut rb = ReadBack::default();
    let set = |rb: &mut ReadBack, k: &str, v: Option<&str>| {
        rb.settings.insert(
            k.into(),
            Setting {
                value: v.map(String::from),
                source: "test".into(),
            },
        );
    };
    set(&mut rb, "min.insync.replicas", Some("1"));
    set(&mut rb, "unclean.leader.election.enable", Some("true"));
    set(&mut rb, "replication.factor", Some("3"));
    set(&mut rb, "mode", Some("kraft"));
    set(&mut rb, "eligible.leader.replicas.version", Some("1"));
    set(&mut rb, "flush.messages", Some("1"));
    site::apply_readback(&mut s, &rb);
    let mut x = s.external.clone().unwrap();
    x.config = Some(rb.clone());
    s.external = Some(x.clone());
    let c = Configuration::from_test_json(&serde_json::to_value(&s).unwrap());
    assert_eq!(c.min_insync_replicas, 1);
    assert!(c.unclean_leader_election);
    assert_eq!(c.mode.as_deref(), Some("kraft"));
    assert_eq!(c.eligible_leader_replicas, Some(true));
    assert!(c.flush_every_message);
    assert!(c.unknown.is_empty());
    // What could not be read is listed, and the verdict says so.
    rb.unknown = vec!["unclean.leader.election.enable".into()];
    x.config = Some(rb);
    s.external = Some(x);
    let c = Configuration::from_test_json(&serde_json::to_value(&s).unwrap());
    assert_eq!(
        c.unknown,
        vec!["unclean.leader.election.enable".to_string()]
    );
    let exp = trial_checkers::promises::Exposure::default();
    let r = trial_checkers::promises::judge_results(&c, false, &exp, &[], false);
    assert!(r.headline.contains("not read back"), "{}", r.headline);
}
