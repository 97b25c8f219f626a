use super::*;
use crate::cli::test::{scenario_trial_spec, TestArgs};
use crate::trial::{TestSpec, SCENARIOS};
use clap::{CommandFactory, Parser};
use proptest::prelude::*;

fn flags(args: &[&str]) -> SpecArgs {
    SpecArgs::parse_from(args.iter().copied()).unwrap()
}

/// The schedule.json a run of `t` writes (the same bytes as
/// `RunDir::write_json`).
fn schedule_json(t: &TestSpec) -> Vec<u8> {
    serde_json::to_vec_pretty(&t.planned_schedule().unwrap()).unwrap()
}

fn store() -> &'static Path {
    Path::new("store")
}

/// Any spec: each section's values drawn, the workload and the fault
/// kinds among the registered ones, each with its own options.
fn any_spec() -> impl Strategy<Value = TrialSpec> {
    let kinds = proptest::sample::subsequence(FaultKind::ALL.to_vec(), 0..=3);
    let targets = proptest::sample::subsequence(
        vec![Target::One, Target::Minority, Target::Leaders, Target::All],
        1..=3,
    );
    (
        (
            any::<u64>(),
            1u64..10_000,
            1u32..12,
            (0u32..100_000).prop_map(|r| f64::from(r) / 100.0),
            1usize..300,
        ),
        (
            0usize..3,
            (0u32..=1000).prop_map(|m| f64::from(m) / 1000.0),
            any::<bool>(),
            any::<bool>(),
        ),
        (
            kinds,
            targets,
            1u64..60_000,
            1usize..3,
            (1u32..=1000).prop_map(|m| f64::from(m) / 1000.0),
        ),
        (
            proptest::option::of(1u64..100_000),
            proptest::collection::btree_map("[a-z.]{1,12}", "[a-z0-9]{0,6}", 0..3),
            any::<bool>(),
        ),
    )
        .prop_map(|(a, b, c, d)| {
            let (seed, secs, partitions, rate, senders) = a;
            let (workload, p, idem, unclean) = b;
            let (kinds, targets, interval_ms, max_concurrent, loss) = c;
            let (budget_ms, pairs, off) = d;
            let mut s = TrialSpec {
                seed,
                time_limit: Duration::from_secs(secs),
                ..TrialSpec::default()
            };
            s.workload.partitions = partitions;
            s.workload.rate = rate;
            s.workload.senders = senders;
            s.workload.options.clear();
            let (kind, table) = match workload {
                0 => ("queue", serde_json::json!({})),
                1 => ("txn", serde_json::json!({"abort_probability": p})),
                _ => (
                    "group",
                    serde_json::json!({"churn_probability": p, "commit": "async"}),
                ),
            };
            s.workload.kind = kind.into();
            s.workload.options.insert(kind.into(), table);
            s.client.idempotence = (!idem).then_some(false);
            s.cluster.unclean_leader_election = unclean;
            s.cluster.broker_config = pairs.clone().into_iter().collect();
            s.client.producer_config = pairs.into_iter().collect();
            s.nemesis.faults = FaultKinds(kinds.into_iter().collect());
            s.nemesis.interval = Some(Duration::from_millis(interval_ms));
            s.nemesis.max_concurrent = max_concurrent;
            s.normalize().unwrap();
            if let Some(k) = &mut s.nemesis.kill {
                k.targets = targets.clone();
            }
            if let Some(l) = &mut s.nemesis.loss {
                l.targets = targets;
                l.probability = loss;
            }
            s.check.linear_budget = budget_ms.map(Duration::from_millis);
            if off {
                s.check.linearizability = Linearizability::Off;
            }
            s
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// spec → TOML → spec is the identity (and JSON too).
    #[test]
    fn spec_toml_spec_is_the_identity(s in any_spec()) {
        let text = s.to_toml();
        let back = TrialSpec::parse(&text).unwrap();
        prop_assert_eq!(&back, &s, "{}", text);
        let json = serde_json::to_string(&s).unwrap();
        prop_assert_eq!(&TrialSpec::parse(&json).unwrap(), &s);
        // ... and through the run's own value.
        let t = s.to_test(store()).unwrap();
        prop_assert_eq!(&TrialSpec::from_test(&t).unwrap(), &s);
    }
}

/// Every scenario's spec, printed and loaded back, is the same trial: the
/// same schedule.json byte for byte (or the same script).
#[test]
fn every_scenario_printed_and_loaded_back_runs_the_same_schedule() {
    for sc in SCENARIOS {
        let preset = sc.spec(TestSpec::new(sc.name));
        let printed = TrialSpec::from_test(&preset).unwrap().to_toml();
        let back = TrialSpec::parse(&printed)
            .unwrap_or_else(|e| panic!("{}: {e:#}\n{printed}", sc.name))
            .to_test(store())
            .unwrap();
        back.validate().unwrap();
        match (&preset.nemesis, &back.nemesis) {
            (NemesisPlan::Generated(_), NemesisPlan::Generated(_)) => {
                assert_eq!(
                    schedule_json(&preset),
                    schedule_json(&back),
                    "{}\n{printed}",
                    sc.name
                )
            }
            (NemesisPlan::Script(a), NemesisPlan::Script(b)) => assert_eq!(a, b, "{}", sc.name),
            _ => panic!("{}: the plan changed kind", sc.name),
        }
        assert_eq!(
            serde_json::to_value(preset.workload_options()).unwrap(),
            serde_json::to_value(back.workload_options()).unwrap(),
            "{}",
            sc.name
        );
        // The same through `scenario run NAME` without flags.
        let run = scenario_trial_spec(sc.name, &flags(&[])).unwrap();
        assert_eq!(run.to_toml(), printed, "{}", sc.name);
    }
}

use crate::trial::NemesisPlan;

/// `test --spec FILE` with flags: the file, then the flags given; the
/// schedule of the spec printed by `--print-spec` is the one the flags
/// make, byte for byte.
#[test]
fn flags_override_a_spec_file_and_print_spec_reproduces_the_schedule() {
    let dir = tempfile::tempdir().unwrap();
    let args = [
        "--nemesis",
        "kill,partition,loss",
        "--seed",
        "42",
        "--time-limit",
        "90s",
        "--kill-targets",
        "one,leaders",
        "--loss-probability",
        "0.5",
        "--nemesis-interval",
        "4s",
    ];
    let direct = flags(&args).apply(None).unwrap();
    let t = direct.to_test(store()).unwrap();
    let file = dir.path().join("spec.toml");
    std::fs::write(&file, TrialSpec::from_test(&t).unwrap().to_toml()).unwrap();
    let loaded = TrialSpec::load(&file).unwrap();
    assert_eq!(loaded, direct);
    assert_eq!(
        schedule_json(&loaded.to_test(store()).unwrap()),
        schedule_json(&t)
    );
    // Flags over the file: only those given change.
    let over = flags(&["--seed", "7", "--pause-targets", "one"]);
    let e = over.apply(Some(loaded.clone())).unwrap_err().to_string();
    assert!(e.contains("--pause-targets") && e.contains("pause"), "{e}");
    let s = flags(&["--seed", "7", "--kill-targets", "all"])
        .apply(Some(loaded.clone()))
        .unwrap();
    assert_eq!(s.seed, 7);
    assert_eq!(s.time_limit, Duration::from_secs(90));
    assert_eq!(s.nemesis.kill.as_ref().unwrap().targets, [Target::All]);
    assert_eq!(s.nemesis.loss.as_ref().unwrap().probability, 0.5);
    // Choosing other faults drops the old kinds' tables.
    let s = flags(&["--nemesis", "pause"]).apply(Some(loaded)).unwrap();
    assert!(s.nemesis.kill.is_none() && s.nemesis.pause.is_some());
}

/// A flag of a workload the trial does not run, or of a fault kind its
/// nemesis does not play, is refused: every workload, every fault kind.
#[test]
fn options_that_do_not_apply_are_refused() {
    for p in crate::workloads::registry() {
        let other = if p.name() == "queue" { "txn" } else { "queue" };
        for (id, long) in p.flag_ids() {
            let value = match id.as_str() {
                "isolation" => "read_uncommitted",
                "protocol" => "classic",
                "commit" => "async",
                "assignor" => "range",
                "sub_via" => "assign",
                _ => "1",
            };
            let flag = format!("--{long}");
            let e = flags(&["--workload", other, &flag, value])
                .apply(None)
                .unwrap_err()
                .to_string();
            assert!(e.contains(&flag) && e.contains(p.name()), "{e}");
            // ... and in a file.
            let text = format!(
                "[workload]\nkind = \"{other}\"\n[workload.{}]\n{id} = {}\n",
                p.name(),
                serde_json::to_string(value).unwrap()
            );
            let e = TrialSpec::parse(&text).unwrap_err().to_string();
            assert!(e.contains("do not apply"), "{e}");
            // Its own workload takes it.
            flags(&["--workload", p.name(), &flag, value])
                .apply(None)
                .unwrap();
        }
    }
    let faults = FaultFlags::augment_args(clap::Command::new("x"));
    for (table, prefix, ids, _) in flag_defaults::<FaultFlags>().tables() {
        let other = if table == "kill" { "pause" } else { "kill" };
        for (id, long) in ids {
            let arg = faults
                .get_arguments()
                .find(|a| a.get_id() == id.as_str())
                .unwrap();
            let value = arg.get_default_values()[0].to_str().unwrap().to_string();
            let flag = format!("--{long}");
            let e = flags(&["--nemesis", other, &flag, &value])
                .apply(None)
                .unwrap_err()
                .to_string();
            assert!(e.contains(&flag) && e.contains(table), "{e}");
            let key = id.strip_prefix(prefix).unwrap();
            let text = format!(
                "[nemesis]\nfaults = [\"{other}\"]\n[nemesis.{table}]\n{key} = {}\n",
                toml::Value::try_from(
                    flag_defaults::<FaultFlags>()
                        .tables()
                        .into_iter()
                        .find(|t| t.0 == table)
                        .unwrap()
                        .3[key]
                        .clone()
                )
                .unwrap()
            );
            let e = TrialSpec::parse(&text).unwrap_err().to_string();
            assert!(e.contains("do not apply"), "{e}");
            let kind = table;
            flags(&["--nemesis", kind, &flag, &value])
                .apply(None)
                .unwrap();
        }
    }
    // Unknown keys are errors too.
    let e = TrialSpec::parse("[client]\nackz = \"all\"\n").unwrap_err();
    assert!(e.to_string().contains("client.ackz"), "{e}");
}

/// The flags' defaults are `TestSpec::new`'s: a spec from no flags is the
/// default trial.
#[test]
fn no_flags_is_the_default_trial() {
    let t = flags(&[]).apply(None).unwrap().to_test(store()).unwrap();
    let d = TestSpec::new("queue");
    assert_eq!(
        serde_json::to_value(&t).unwrap(),
        serde_json::to_value(&d).unwrap()
    );
    assert_eq!(TrialSpec::from_test(&d).unwrap(), TrialSpec::default());
}

/// The proof that a workload is one package: the test-only `trivial`
/// workload (its module and one registry line, nothing else) has its
/// option in `--help`, in a spec file, in the printed spec, and its
/// value reaches the checker options of the run.
#[test]
fn a_new_workload_is_one_module_and_one_registry_line() {
    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        test: TestArgs,
    }
    let help = Cli::command().render_long_help().to_string();
    assert!(help.contains("--trivial-examples"), "{help}");
    assert!(help.contains("how many examples of each anomaly"), "{help}");
    // From the flags.
    let s = flags(&["--workload", "trivial", "--trivial-examples", "5"])
        .apply(None)
        .unwrap();
    let w = s.to_test(store()).unwrap().build_workload().unwrap();
    assert_eq!(w.check_options().max_examples, 5);
    assert!(s
        .to_toml()
        .contains("[workload.trivial]\ntrivial_examples = 5"));
    // From a file.
    let s = TrialSpec::parse(
        "[workload]\nkind = \"trivial\"\n[workload.trivial]\ntrivial_examples = 7\n",
    )
    .unwrap();
    let t = s.to_test(store()).unwrap();
    assert_eq!(t.build_workload().unwrap().check_options().max_examples, 7);
    // test.json carries it, and the spec read back from the run's value
    // still has it.
    let json = serde_json::to_value(&t).unwrap();
    assert_eq!(json["workload_options"]["trivial_examples"], 7);
    let back: TestSpec = serde_json::from_value(json).unwrap();
    assert_eq!(TrialSpec::from_test(&back).unwrap(), s);
    // The report's spec section shows it, and no other workload's options.
    let json = serde_json::to_value(&t).unwrap();
    let shown = crate::report::html::spec_toml(json.as_object().unwrap()).unwrap();
    assert!(
        shown.contains("[workload.trivial]\ntrivial_examples = 7"),
        "{shown}"
    );
    assert!(
        !shown.contains("abort_probability") && !shown.contains("isolation"),
        "{shown}"
    );
    // Its own checks, and its options nowhere else.
    let e = TrialSpec::parse(
        "[workload]\nkind = \"trivial\"\n[workload.trivial]\ntrivial_examples = 0\n",
    )
    .unwrap_err();
    assert!(format!("{e:#}").contains("at least 1"), "{e:#}");
    let e = flags(&["--trivial-examples", "5"]).apply(None).unwrap_err();
    assert!(e.to_string().contains("trivial workload"), "{e}");
}

/// The report shows a queue run's spec without the txn workload's options
/// nor the tables of fault kinds it did not play.
#[test]
fn the_report_shows_only_what_applies() {
    let t = flags(&["--nemesis", "kill"])
        .apply(None)
        .unwrap()
        .to_test(store())
        .unwrap();
    let json = serde_json::to_value(&t).unwrap();
    let shown = crate::report::html::spec_toml(json.as_object().unwrap()).unwrap();
    assert!(shown.contains("[workload.queue]"), "{shown}");
    assert!(shown.contains("[nemesis.kill]"), "{shown}");
    for absent in ["abort_probability", "isolation", "[nemesis.pause]", "churn"] {
        assert!(!shown.contains(absent), "{absent}: {shown}");
    }
    // An older test.json (flat, no spec): no spec, the fields instead.
    let old = serde_json::json!({"name": "q", "workload": "queue", "seed": 3});
    assert!(crate::report::html::spec_toml(old.as_object().unwrap()).is_none());
}

/// The builder makes the spec the flags make (the README's examples are
/// doctests of the crate; this checks what they build up to the run).
#[test]
fn the_builder_builds_what_the_flags_say() {
    let built = TrialSpec::named("mine")
        .nodes(5)
        .acks(Acks::One)
        .min_insync_replicas(1)
        .faults("kill,pause")
        .unwrap()
        .fault_options(|n| n.kill.as_mut().unwrap().targets = vec![Target::Leaders])
        .workload("txn")
        .workload_option("abort_probability", 0.2)
        .rate(50.0)
        .seed(9)
        .time_limit(Duration::from_secs(30));
    let mut built = built;
    built.normalize().unwrap();
    let flagged = flags(&[
        "--name",
        "mine",
        "--nodes",
        "5",
        "--acks",
        "1",
        "--min-insync-replicas",
        "1",
        "--nemesis",
        "kill,pause",
        "--kill-targets",
        "leaders",
        "--workload",
        "txn",
        "--abort-probability",
        "0.2",
        "--rate",
        "50",
        "--seed",
        "9",
        "--time-limit",
        "30s",
    ])
    .apply(None)
    .unwrap();
    assert_eq!(built, flagged);
    assert_eq!(built.to_toml(), flagged.to_toml());
    // acks=1: idempotence off by Kafka's default, on when said.
    let t = built.to_test(store()).unwrap();
    assert!(!t.idempotence);
    let t = TrialSpec::named("x").to_test(store()).unwrap();
    assert!(t.idempotence && t.acks == Acks::All);
    let on = TrialSpec::named("x").acks(Acks::One).idempotence(true);
    assert!(on.to_test(store()).unwrap().validate().is_err());
    // A workload option of another workload is refused by normalize.
    let mut wrong = TrialSpec::named("x").workload_option("abort_probability", 0.2);
    assert!(wrong.normalize().is_err());
}

/// `serve`'s index says a run's key settings in words: two runs of a
/// matrix on different releases differ there.
#[test]
fn serve_says_the_settings_in_words() {
    let words = |args: &[&str]| {
        let t = flags(args).apply(None).unwrap().to_test(store()).unwrap();
        crate::report::serve::settings_in_words(&t)
    };
    let a = words(&[
        "--kafka-version",
        "3.9.1",
        "--nemesis",
        "kill",
        "--kill-targets",
        "leaders",
    ]);
    assert_eq!(
        a,
        "Kafka 3.9.1 (kraft) · queue workload · acks=all, min.insync=2, RF 3, idempotence on · faults: kill (leaders) · seed 0, 1m"
    );
    let b = words(&[
        "--kafka-version",
        "4.0.0",
        "--nemesis",
        "kill",
        "--kill-targets",
        "leaders",
    ]);
    assert_ne!(a, b);
}
