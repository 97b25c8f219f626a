//! Table-driven tests of the promise model: each row a configuration, the
//! faults it met, a class, the judgement expected and a piece of the
//! documented reason it must cite (or the promise it must name).
//!
//! (One file of ~850 lines, most of it the table, which rustfmt lays out
//! one field a line: the rows read best next to the helpers that build
//! their configurations and exposures.)

use super::*;
use crate::verdict::anomaly_definitions;
use trial_histories::faults::{FaultInterval, FaultIntervals};

fn cfg() -> Configuration {
    Configuration {
        eligible_leader_replicas: Some(true),
        mode: Some("kraft".into()),
        ..Configuration::default()
    }
}
fn acks1() -> Configuration {
    Configuration {
        acks: Acks::One,
        ..cfg()
    }
}
fn acks0() -> Configuration {
    Configuration {
        acks: Acks::Zero,
        ..cfg()
    }
}
fn idem() -> Configuration {
    Configuration {
        idempotence: true,
        ..cfg()
    }
}
fn unclean() -> Configuration {
    Configuration {
        unclean_leader_election: true,
        min_insync_replicas: 1,
        ..cfg()
    }
}
fn no_elr() -> Configuration {
    Configuration {
        eligible_leader_replicas: Some(false),
        ..cfg()
    }
}
fn flush() -> Configuration {
    Configuration {
        flush_every_message: true,
        ..no_elr()
    }
}
fn inflight1() -> Configuration {
    Configuration {
        max_in_flight: Some(1),
        ..cfg()
    }
}
fn txn(iso: Isolation) -> Configuration {
    Configuration {
        transactional: true,
        idempotence: true,
        isolation: iso,
        ..cfg()
    }
}
fn group(c: CommitMode) -> Configuration {
    Configuration {
        group_commit: Some(c),
        ..cfg()
    }
}
fn group_java_async() -> Configuration {
    Configuration {
        driver: "java".into(),
        ..group(CommitMode::Async)
    }
}

fn none() -> Exposure {
    Exposure::default()
}
/// `n` brokers down at once (kills).
fn down(n: usize) -> Exposure {
    Exposure {
        max_down: n,
        kinds: vec!["kill".into()],
        ..Exposure::default()
    }
}
fn cut(n: usize) -> Exposure {
    Exposure {
        max_cut: n,
        kinds: vec!["partition".into()],
        ..Exposure::default()
    }
}
/// `n` brokers power-lost at once, `others` more down or cut meanwhile.
fn power(n: usize, others: usize) -> Exposure {
    Exposure {
        max_down: n,
        max_cut: others,
        max_power_loss: n,
        kinds: vec!["partition".into(), "power-loss".into()],
        ..Exposure::default()
    }
}
fn clock() -> Exposure {
    Exposure {
        clock: true,
        kinds: vec!["clock".into()],
        ..Exposure::default()
    }
}

/// `B(id)`: a broken promise `id`; `P(s)`: permitted, the reason citing `s`.
enum Want {
    B(&'static str),
    P(&'static str),
}
use Want::*;

type Row = (Configuration, Exposure, &'static str, Want);

fn rows() -> Vec<Row> {
    use crate::verdict::class as c;
    use id::*;
    use Isolation::*;
    vec![
        // acks=all, RF 3, min.insync 2: 0, 1, RF-1 and RF brokers down.
        (cfg(), none(), c::LOST_WRITE, B(ACKED_WRITES_SURVIVE)),
        (cfg(), down(1), c::LOST_WRITE, B(ACKED_WRITES_SURVIVE)),
        (cfg(), down(2), c::LOST_WRITE, B(ACKED_WRITES_SURVIVE)),
        (
            cfg(),
            down(3),
            c::LOST_WRITE,
            P("If all the nodes replicating a partition die"),
        ),
        (cfg(), down(2), c::UNSEEN, B(ACKED_WRITES_SURVIVE)),
        (
            cfg(),
            down(3),
            c::UNSEEN,
            P("this guarantee no longer holds"),
        ),
        (
            cfg(),
            cut(2),
            c::INCONSISTENT_OFFSETS,
            B(ACKED_WRITES_SURVIVE),
        ),
        (
            cfg(),
            down(3),
            c::INCONSISTENT_OFFSETS,
            P("at least the replication factor 3"),
        ),
        (cfg(), none(), c::NONLINEARIZABLE, B(ACKED_WRITES_SURVIVE)),
        (cfg(), down(3), c::NONLINEARIZABLE, P("no in-sync replica")),
        // acks=1 and acks=0 promise no durability past the leader.
        (
            acks1(),
            none(),
            c::LOST_WRITE,
            P("should the leader fail immediately after acknowledging"),
        ),
        (acks1(), down(1), c::LOST_WRITE, P("acks=1")),
        (
            acks1(),
            down(1),
            c::INCONSISTENT_OFFSETS,
            P("the record will be lost"),
        ),
        (acks1(), down(1), c::NONMONOTONIC_SEND, P("acks=1")),
        (
            acks0(),
            none(),
            c::LOST_WRITE,
            P("No guarantee can be made that the server has received"),
        ),
        // ... but consumers read only committed records, whatever the acks.
        (acks1(), down(1), c::POLL_SKIP, B(PARTITION_ORDER)),
        (acks1(), down(2), c::NONMONOTONIC_POLL, B(PARTITION_ORDER)),
        // Unclean leader election: loss permitted once a broker is hit.
        (unclean(), none(), c::LOST_WRITE, B(ACKED_WRITES_SURVIVE)),
        (
            unclean(),
            down(1),
            c::LOST_WRITE,
            P("even though doing so may result in data loss"),
        ),
        (
            unclean(),
            cut(1),
            c::POLL_SKIP,
            P("unclean.leader.election.enable=true"),
        ),
        (
            unclean(),
            down(2),
            c::INT_POLL_SKIP,
            P("out-of-sync replica"),
        ),
        (
            unclean(),
            down(1),
            c::INT_NONMONOTONIC_POLL,
            P("may result in data loss"),
        ),
        // Power loss (un-fsynced writes dropped).
        (cfg(), power(1, 0), c::LOST_WRITE, B(ACKED_WRITES_SURVIVE)),
        (
            cfg(),
            power(2, 0),
            c::LOST_WRITE,
            P("at least min.insync.replicas=2"),
        ),
        (cfg(), power(1, 2), c::LOST_WRITE, B(ACKED_WRITES_SURVIVE)),
        (
            no_elr(),
            power(1, 2),
            c::LOST_WRITE,
            P("last replica standing"),
        ),
        (
            no_elr(),
            power(1, 1),
            c::LOST_WRITE,
            B(ACKED_WRITES_SURVIVE),
        ),
        (
            flush(),
            power(3, 0),
            c::LOST_WRITE,
            P("at least the replication factor"),
        ),
        (flush(), power(2, 1), c::LOST_WRITE, B(ACKED_WRITES_SURVIVE)),
        // Duplicates: idempotence.
        (
            cfg(),
            none(),
            c::DUPLICATE,
            P("may write duplicates of the retried message"),
        ),
        (cfg(), down(2), c::DUPLICATE, P("enable.idempotence=false")),
        (idem(), none(), c::DUPLICATE, B(NO_DUPLICATES)),
        (idem(), down(2), c::DUPLICATE, B(NO_DUPLICATES)),
        (
            idem(),
            down(3),
            c::DUPLICATE,
            P("If all the nodes replicating a partition die"),
        ),
        // A producer's order: idempotence or max.in.flight 1.
        (
            cfg(),
            down(1),
            c::NONMONOTONIC_SEND,
            P("risk of message reordering"),
        ),
        (
            idem(),
            down(1),
            c::NONMONOTONIC_SEND,
            B(ACKED_WRITES_SURVIVE),
        ),
        (
            inflight1(),
            none(),
            c::NONMONOTONIC_SEND,
            B(ACKED_WRITES_SURVIVE),
        ),
        (
            txn(ReadCommitted),
            down(1),
            c::INT_NONMONOTONIC_SEND,
            B(SEND_ORDER),
        ),
        (cfg(), none(), c::INT_NONMONOTONIC_SEND, P("max.in.flight")),
        // Consumers' order.
        (cfg(), down(2), c::POLL_SKIP, B(PARTITION_ORDER)),
        (cfg(), down(3), c::NONMONOTONIC_POLL, P("die")),
        (cfg(), none(), c::INT_POLL_SKIP, B(PARTITION_ORDER)),
        (cfg(), cut(1), c::INT_NONMONOTONIC_POLL, B(PARTITION_ORDER)),
        // Reads of records nobody wrote, or the client said were not.
        (cfg(), down(3), c::GARBAGE_READ, B(ONLY_WRITTEN_READ)),
        (
            unclean(),
            down(1),
            c::FAILED_WRITE_READ,
            B(ONLY_WRITTEN_READ),
        ),
        // Transactions (verdict::permitted's reasons).
        (
            txn(ReadCommitted),
            none(),
            c::ABORTED_READ,
            B(READ_COMMITTED),
        ),
        (
            txn(ReadUncommitted),
            none(),
            c::ABORTED_READ,
            P("read_uncommitted"),
        ),
        (
            txn(ReadCommitted),
            down(1),
            c::PRECOMMITTED_READ,
            B(READ_COMMITTED),
        ),
        (
            txn(ReadUncommitted),
            none(),
            c::PRECOMMITTED_READ,
            P("even transactional messages which have been aborted"),
        ),
        (
            txn(ReadCommitted),
            down(3),
            c::ABORTED_READ,
            P("transaction markers"),
        ),
        (txn(ReadCommitted), none(), c::G1C, B(READ_COMMITTED)),
        (
            txn(ReadCommitted),
            none(),
            c::G1C_PROCESS,
            B(READ_COMMITTED),
        ),
        (
            txn(ReadUncommitted),
            none(),
            c::G1C_REALTIME,
            P("read_uncommitted"),
        ),
        (txn(ReadCommitted), none(), c::G0, P("atomically")),
        (
            txn(ReadCommitted),
            down(1),
            c::G0_PROCESS,
            P("write-write cycles are expected"),
        ),
        (txn(ReadCommitted), none(), c::G0_REALTIME, P("atomic")),
        (
            txn(ReadCommitted),
            none(),
            c::G_SINGLE,
            P("no serializability"),
        ),
        (
            txn(ReadCommitted),
            none(),
            c::G_SINGLE_PROCESS,
            P("read skew"),
        ),
        (
            txn(ReadCommitted),
            none(),
            c::G_SINGLE_REALTIME,
            P("serializability"),
        ),
        (txn(ReadCommitted), none(), c::G2, P("write skew")),
        (
            txn(ReadCommitted),
            none(),
            c::G2_PROCESS,
            P("serializability"),
        ),
        (
            txn(ReadCommitted),
            none(),
            c::G2_REALTIME,
            P("anti-dependency"),
        ),
        (
            txn(ReadCommitted),
            none(),
            c::INT_SEND_SKIP,
            P("interleave"),
        ),
        (
            txn(ReadCommitted),
            down(2),
            c::STUCK_TRANSACTION,
            B(TRANSACTIONS_COMPLETE),
        ),
        // Consumer groups.
        (
            group(CommitMode::Auto),
            down(1),
            c::UNPROCESSED_SKIP,
            P("enable.auto.commit"),
        ),
        (
            group(CommitMode::Sync),
            down(1),
            c::UNPROCESSED_SKIP,
            B(GROUP_AT_LEAST_ONCE),
        ),
        (
            group(CommitMode::Auto),
            down(1),
            c::GROUP_SKIP,
            B(GROUP_AT_LEAST_ONCE),
        ),
        (
            group(CommitMode::Sync),
            down(3),
            c::GROUP_SKIP,
            P("truncated and replaced"),
        ),
        (
            group(CommitMode::Async),
            down(1),
            c::COMMIT_REGRESSION,
            P("guaranteed to be sent in the same order as the invocations"),
        ),
        (
            group(CommitMode::Sync),
            down(1),
            c::COMMIT_REGRESSION,
            B(COMMIT_ORDER),
        ),
        (
            group_java_async(),
            down(1),
            c::COMMIT_REGRESSION,
            B(COMMIT_ORDER),
        ),
        (
            group(CommitMode::Sync),
            down(2),
            c::LOST_COMMIT,
            B(ACKED_COMMITS_SURVIVE),
        ),
        (
            group(CommitMode::Sync),
            power(2, 0),
            c::LOST_COMMIT,
            P("offsets topic"),
        ),
        (
            group(CommitMode::Sync),
            down(2),
            c::DOUBLE_OWNERSHIP,
            B(GROUP_ONE_OWNER),
        ),
        // The KRaft controllers.
        (
            cfg(),
            cut(1),
            c::CONTROLLER_SPLIT_BRAIN,
            B(CONTROLLER_RESIGNS),
        ),
        (cfg(), clock(), c::CONTROLLER_SPLIT_BRAIN, P("clock")),
        (
            cfg(),
            down(3),
            c::CONTROLLER_SAME_EPOCH,
            B(CONTROLLER_ELECTION_SAFETY),
        ),
        (
            cfg(),
            clock(),
            c::CONTROLLER_SAME_EPOCH,
            B(CONTROLLER_ELECTION_SAFETY),
        ),
    ]
}

#[test]
fn the_table_of_configurations_and_classes() {
    let rows = rows();
    assert!(rows.len() >= 40, "{} rows", rows.len());
    for (i, (cfg, exp, class, want)) in rows.iter().enumerate() {
        let got = judge(class, cfg, exp);
        match (want, &got) {
            (B(p), Judgement::BrokenPromise { promise, statement }) => {
                assert_eq!(promise, p, "row {i} {class}: {got:?}");
                assert!(!statement.is_empty());
            }
            (P(s), Judgement::Permitted { reason }) => {
                assert!(
                    reason.contains(s),
                    "row {i} {class}: {reason:?} lacks {s:?}"
                );
            }
            _ => panic!(
                "row {i}: {class} under {} / {}: {got:?}",
                cfg.describe(),
                exp.describe()
            ),
        }
    }
    // Every class of the vocabulary is judged by some row, and every one
    // is listed by some promise of the catalogue.
    let all = catalogue(&cfg(), &none());
    for (c, _) in anomaly_definitions() {
        assert!(rows.iter().any(|r| r.2 == *c), "no row judges {c}");
        assert!(
            all.iter().any(|(p, _)| p.classes.iter().any(|x| x == c)),
            "no promise lists {c}"
        );
    }
    // 0, 1, RF-1 and RF brokers down are all in the table.
    for n in 0..=3 {
        assert!(rows.iter().any(|r| r.1.max_down == n), "{n} down");
    }
}

#[test]
fn every_promise_quotes_a_source_and_names_its_classes() {
    for cfg in [
        cfg(),
        acks1(),
        txn(Isolation::ReadUncommitted),
        group(CommitMode::Async),
    ] {
        for exp in [none(), down(3), power(2, 1), clock()] {
            for (p, _) in catalogue(&cfg, &exp) {
                assert!(p.quote.len() > 40 && !p.source.is_empty(), "{}", p.id);
                assert!(!p.classes.is_empty(), "{}", p.id);
                assert_eq!(p.covered, p.beyond.is_none(), "{}", p.id);
            }
        }
    }
    // The workload decides which promises are listed.
    let ids = |c: &Configuration| -> Vec<String> {
        promises(c, &none()).into_iter().map(|p| p.id).collect()
    };
    assert!(!ids(&cfg()).contains(&id::READ_COMMITTED.to_string()));
    assert!(ids(&txn(Isolation::ReadCommitted)).contains(&id::READ_COMMITTED.to_string()));
    assert!(ids(&group(CommitMode::Sync)).contains(&id::GROUP_ONE_OWNER.to_string()));
    let zk = Configuration {
        mode: Some("zookeeper".into()),
        ..cfg()
    };
    assert!(!ids(&zk).contains(&id::CONTROLLER_RESIGNS.to_string()));
    // An unknown class is never waved through.
    assert!(judge("no-such-class", &cfg(), &none()).is_broken());
}

#[test]
fn configuration_from_a_real_test_json() {
    // A run store's test.json (the suite's TestSpec), trimmed of fields
    // the model does not read.
    let v: serde_json::Value = serde_json::from_str(
        r#"{"name":"kafka-1555","workload":"queue","driver":"rdkafka",
        "cluster":{"nodes":3,"controllers":null,"split_roles":false,"kafka_version":"2.8.2",
          "mode":"zookeeper","image":null,"replication_factor":3,"min_insync_replicas":1,
          "unclean_leader_election":true,"broker_overrides":{"inter.broker.protocol.version":"2.6"},
          "timing":"fast","heap_mb":512,"ready_timeout":{"secs":180,"nanos":0}},
        "partitions":1,"isolation":"read_committed","abort_probability":0.1,"acks":"all",
        "idempotence":false,"message_timeout":10.0,"producer_overrides":{},"consumer_overrides":{},
        "nemesis":{"script":[]},"time_limit":60.0,"seed":1}"#,
    )
    .unwrap();
    let c = Configuration::from_test_json(&v);
    assert_eq!(c.acks, Acks::All);
    assert_eq!((c.replication_factor, c.min_insync_replicas), (3, 1));
    assert!(c.unclean_leader_election && !c.idempotence && !c.transactional);
    assert_eq!(c.mode.as_deref(), Some("zookeeper"));
    assert_eq!(c.kafka_version.as_deref(), Some("2.8.2"));
    assert_eq!(c.eligible_leader_replicas, Some(false));
    assert_eq!(c.timing.as_deref(), Some("fast"));
    assert_eq!(c.group_commit, None);

    // Overrides win; txn forces acks=all and idempotence; groups; ELR.
    let v = serde_json::json!({
        "workload": "txn", "acks": "1", "idempotence": false,
        "producer_overrides": {"max.in.flight.requests.per.connection": "1"},
        "consumer_overrides": {"isolation.level": "read_uncommitted"},
        "cluster": {"kafka_version": "4.0.0", "broker_overrides":
            {"log.flush.interval.messages": "1", "unclean.leader.election.enable": "true"}},
        "unknown_field": [1, 2, 3]
    });
    let c = Configuration::from_test_json(&v);
    assert_eq!(c.acks, Acks::All);
    assert!(c.idempotence && c.transactional && c.flush_every_message);
    assert!(c.unclean_leader_election);
    assert_eq!(c.isolation, Isolation::ReadUncommitted);
    assert_eq!(c.max_in_flight, Some(1));
    assert_eq!(c.mode.as_deref(), Some("kraft"));
    assert_eq!(
        c.eligible_leader_replicas,
        Some(false),
        "4.0 has ELR off by default"
    );
    let v = serde_json::json!({"workload": "group", "group": {"commit": "async"},
        "producer_overrides": {"acks": "1"},
        "cluster": {"kafka_version": "4.1.0", "features": {}}});
    let c = Configuration::from_test_json(&v);
    assert_eq!(c.group_commit, Some(CommitMode::Async));
    assert_eq!(c.acks, Acks::One);
    assert_eq!(c.eligible_leader_replicas, Some(true));
    let v = serde_json::json!({"cluster": {"kafka_version": "4.4.0",
        "features": {"eligible.leader.replicas.version": 0}}});
    assert_eq!(
        Configuration::from_test_json(&v).eligible_leader_replicas,
        Some(false)
    );
    // Nothing at all: the suite's defaults, never a failure.
    let c = Configuration::from_test_json(&serde_json::json!(null));
    assert_eq!(
        (c.acks, c.replication_factor, c.min_insync_replicas),
        (Acks::All, 3, 2)
    );
    assert_eq!(c.eligible_leader_replicas, None);
    // It round-trips through results.json.
    let s = serde_json::to_string(&c).unwrap();
    assert!(s.contains(r#""acks":"all""#), "{s}");
    assert_eq!(serde_json::from_str::<Configuration>(&s).unwrap(), c);
}

fn interval(kind: &str, start: u64, end: u64, nodes: &[&str], detail: &str) -> FaultInterval {
    FaultInterval {
        kind: kind.into(),
        invoked_ns: start,
        start_ns: start,
        end_ns: end,
        stopped: true,
        start_op: 0,
        end_op: None,
        nodes: nodes.iter().map(|n| n.to_string()).collect(),
        detail: detail.into(),
        failed: trial_histories::faults::failed_nodes(detail),
    }
}

/// A power loss whose drop failed on two of its three nodes (issue 30:
/// the killed JVM still held the mount) power-lost one broker, not three:
/// the two are down (killed), and the exposure leaves them out of the
/// brokers that lost un-fsynced writes. A power loss whose every step
/// failed lost nothing.
#[test]
fn a_power_loss_that_failed_on_a_node_does_not_count_it_as_power_lost() {
    let partly = r#"{"id":3,"target":"all","nodes":["n1","n2","n3"],
        "dropped":{"n1":{"bytes_dropped":4096,"busy_retries":0}},
        "failed":{"n2":"drop-unfsynced: node n2: command \"broker drop-unfsynced\" failed: exit 1: busy",
                  "n3":"drop-unfsynced: busy"}}"#;
    let fi = FaultIntervals {
        intervals: vec![interval("power-loss", 0, 10, &["n1", "n2", "n3"], partly)],
        active_ns: 10,
    };
    let e = Exposure::from_intervals(&fi);
    assert_eq!(e.max_down, 3, "all three were killed");
    assert_eq!(e.max_power_loss, 1, "only n1 lost its un-fsynced writes");
    // The same with every drop failed: nothing lost (not "every node", as
    // an empty `dropped` used to be read).
    let none = r#"{"nodes":["n1","n2"],"dropped":{},
        "failed":{"n1":"drop-unfsynced: busy","n2":"drop-unfsynced: busy"}}"#;
    let fi = FaultIntervals {
        intervals: vec![interval("power-loss", 0, 10, &["n1", "n2"], none)],
        active_ns: 10,
    };
    let e = Exposure::from_intervals(&fi);
    assert_eq!((e.max_down, e.max_power_loss), (2, 0));
    // Through the history reader: the op as the nemesis writes it.
    let op = trial_histories::Op::new(
        trial_histories::Process::Nemesis,
        trial_histories::OpType::Info,
        trial_histories::F::parse("start-power-loss"),
    )
    .with_value(&serde_json::from_str::<serde_json::Value>(partly).unwrap());
    let fi = FaultIntervals::of_ops([&op]);
    assert_eq!(fi.intervals[0].failed.len(), 2);
    let e = Exposure::from_intervals(&fi);
    assert_eq!((e.max_down, e.max_power_loss), (3, 1));
    // What the durability promise says of it: power-lost 1 < min.insync 2
    // is not the "all on no disk" case; the three down are.
    let cfg = Configuration {
        replication_factor: 3,
        min_insync_replicas: 2,
        ..Configuration::default()
    };
    let beyond = super::durability_beyond(&cfg, &e).expect("three brokers down at once");
    assert!(beyond.contains("3 brokers were down at once"), "{beyond}");
    assert!(
        !beyond.contains("lost their un-fsynced writes at once"),
        "{beyond}"
    );
}

#[test]
fn exposure_counts_nodes_at_one_instant() {
    let fi = FaultIntervals {
        intervals: vec![
            interval("kill", 0, 10, &["n1"], r#"{"nodes":["n1"]}"#),
            interval("pause", 5, 20, &["n2"], r#"{"nodes":["n2"]}"#),
            // A ZooKeeper server killed: not a broker down.
            interval(
                "kill",
                6,
                8,
                &["z1"],
                r#"{"nodes":["z1"],"process":"zookeeper"}"#,
            ),
            // A partition cutting off n1 (down meanwhile) and n3.
            interval("partition", 7, 30, &["n1", "n3", "z2"], "{}"),
            interval(
                "power-loss",
                40,
                50,
                &["n1", "n2"],
                r#"{"nodes":["n1","n2"],"dropped":{"n1":{},"n2":{}}}"#,
            ),
            interval("clock", 60, 70, &["n3"], "{}"),
        ],
        active_ns: 0,
    };
    let e = Exposure::from_intervals(&fi);
    assert_eq!(e.max_down, 2);
    // At 7: n1 down, so only n3 counts as cut off (alive); z2 is no broker.
    // At 10 (n1 back) n1 would count, but the counts change only at starts.
    assert_eq!(e.max_cut, 1);
    assert_eq!(e.max_power_loss, 2);
    assert!(e.clock);
    assert_eq!(
        e.kinds,
        ["clock", "kill", "partition", "pause", "power-loss"]
    );
    assert_eq!(
        Exposure::from_intervals(&FaultIntervals::default()),
        Exposure::default()
    );
}

#[test]
fn judging_a_run_marks_promises_and_writes_the_headline() {
    let found = vec![("duplicate".to_string(), 10, None)];
    let r = judge_results(&cfg(), true, &down(1), &found, false);
    assert!(r.kept, "{}", r.headline);
    assert_eq!(r.headline, "Kafka kept every promise of this configuration");
    assert!(r.promises.iter().all(|p| p.kept != Some(false)));
    let found = vec![
        ("lost-write".to_string(), 3, None),
        ("duplicate".to_string(), 2, None),
        (
            "G1c".to_string(),
            1,
            Some("every cycle found needs a write-write edge".to_string()),
        ),
    ];
    let r = judge_results(&idem(), true, &down(1), &found, false);
    assert!(!r.kept);
    assert!(
        r.headline.starts_with("BROKEN PROMISE: With acks=all"),
        "{}",
        r.headline
    );
    assert!(r.headline.contains("lost-write: 3") && r.headline.contains("duplicate: 2"));
    let p = |id: &str| r.promises.iter().find(|p| p.id == id).unwrap();
    assert_eq!(p(id::ACKED_WRITES_SURVIVE).kept, Some(false));
    assert_eq!(p(id::PARTITION_ORDER).kept, Some(true));
    // A class's own permitted reason (from its report) wins, and a promise
    // outside the workload is listed once it is broken.
    assert!(!r.classes["G1c"].judgement.is_broken());
    let r = judge_results(
        &cfg(),
        false,
        &none(),
        &[("aborted-read".into(), 1, None)],
        true,
    );
    assert!(r
        .promises
        .iter()
        .any(|p| p.id == id::READ_COMMITTED && p.kept == Some(false)));
    let r = judge_results(&cfg(), false, &none(), &[], true);
    assert!(r.kept && r.headline.contains("unknown"), "{}", r.headline);
    // The JSON shape of a class judgement.
    let j = serde_json::to_value(&r.classes).unwrap();
    assert!(j.as_object().unwrap().is_empty());
    let cj = ClassJudgement {
        count: 2,
        judgement: Judgement::BrokenPromise {
            promise: "no-duplicates".into(),
            statement: "s".into(),
        },
    };
    assert_eq!(
        serde_json::to_value(&cj).unwrap(),
        serde_json::json!({"count": 2, "judgement": "broken-promise", "promise": "no-duplicates", "statement": "s"})
    );
    assert_eq!("promises".parse::<Judge>().unwrap(), Judge::Promises);
    assert!("nope".parse::<Judge>().is_err());
}

mod props {
    use super::*;
    use proptest::prelude::*;

    fn arb_cfg() -> impl Strategy<Value = Configuration> {
        (
            prop_oneof![Just(Acks::All), Just(Acks::One), Just(Acks::Zero)],
            1u32..=5,
            any::<(bool, bool, bool, bool, bool)>(),
            prop_oneof![Just(None), Just(Some(true)), Just(Some(false))],
            prop_oneof![
                Just(None),
                Just(Some(CommitMode::Sync)),
                Just(Some(CommitMode::Async)),
                Just(Some(CommitMode::Auto))
            ],
            prop_oneof![Just(None), Just(Some(1u32)), Just(Some(5u32))],
        )
            .prop_flat_map(
                |(acks, rf, (unclean, idem, txn, ru, flush), elr, group, mif)| {
                    (1..=rf).prop_map(move |m| Configuration {
                        acks,
                        replication_factor: rf,
                        min_insync_replicas: m,
                        unclean_leader_election: unclean,
                        idempotence: idem,
                        max_in_flight: mif,
                        transactional: txn,
                        isolation: if ru {
                            Isolation::ReadUncommitted
                        } else {
                            Isolation::ReadCommitted
                        },
                        group_commit: group,
                        flush_every_message: flush,
                        eligible_leader_replicas: elr,
                        ..Configuration::default()
                    })
                },
            )
    }

    fn arb_exp() -> impl Strategy<Value = Exposure> {
        (0usize..6, 0usize..6, 0usize..6, any::<bool>()).prop_map(|(d, c, p, clock)| Exposure {
            max_down: d.max(p),
            max_cut: c,
            max_power_loss: p,
            clock,
            kinds: vec![],
        })
    }

    proptest! {
        /// More faults never turn a permitted class into a broken promise
        /// (promises are conditional: faults only take them away), and
        /// fewer faults never excuse one.
        #[test]
        fn more_faults_never_break_what_fewer_permitted(
            cfg in arb_cfg(), a in arb_exp(), b in arb_exp()
        ) {
            let big = Exposure {
                max_down: a.max_down.max(b.max_down),
                max_cut: a.max_cut.max(b.max_cut),
                max_power_loss: a.max_power_loss.max(b.max_power_loss),
                clock: a.clock || b.clock,
                kinds: vec![],
            };
            for (c, _) in anomaly_definitions() {
                let small = judge(c, &cfg, &a);
                let large = judge(c, &cfg, &big);
                prop_assert!(small.is_broken() || !large.is_broken(),
                    "{c}: {small:?} at {a:?} but {large:?} at {big:?}");
            }
        }

        /// Both ways: without any fault, acks=all always promises
        /// acknowledged writes and acks=1/0 never do; garbage is never
        /// permitted, duplicates exactly when idempotence is off.
        #[test]
        fn both_ways_without_faults(cfg in arb_cfg(), exp in arb_exp()) {
            let lost = judge(class::LOST_WRITE, &cfg, &Exposure::default());
            prop_assert_eq!(lost.is_broken(), cfg.acks == Acks::All);
            prop_assert!(judge(class::GARBAGE_READ, &cfg, &exp).is_broken());
            let dup = judge(class::DUPLICATE, &cfg, &Exposure::default());
            prop_assert_eq!(dup.is_broken(), cfg.idempotence || cfg.transactional);
            if let Judgement::Permitted { reason } = judge(class::DUPLICATE, &cfg, &exp) {
                prop_assert!(reason.contains("Kafka") || reason.contains("KIP"), "{reason}");
            }
        }
    }
}
