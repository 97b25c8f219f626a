//! Hostile input, fuzzed (issue 30, item 8): every reader of a file a user
//! (or a broken run) hands the suite, fed mutations of a fixed seed corpus
//! (`tests/fuzz_corpus/`) from a fixed RNG seed, a bounded number of cases
//! each. A reader may refuse its input (an error); it must never panic.
//!
//! Targets: history JSONL (the reader, the checkers' streaming pass, the
//! fault intervals), Jepsen EDN (the Kafka importer and its check under
//! both client models; the linearizability checker's EDN), hosts.toml (`HostsFile::parse`), the trial spec
//! (`TrialSpec::parse`, TOML and JSON), results.json as `report` and
//! `serve` read it (`render_report_page`). Mutations: bytes (insert,
//! delete, replace with JSON/TOML-significant bytes, truncate) and values
//! (a node of the parsed document replaced by a value of another type).
//!
//! `KT_FUZZ_CASES=N` runs N cases per target instead of the defaults
//! (a longer run by hand: `KT_FUZZ_CASES=5000 cargo test -p kafka-trial
//! --test fuzz -- --nocapture`). Each target prints its cases and time.

use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::time::Instant;

fn corpus(name: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fuzz_corpus")
        .join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// A runner with a fixed seed: the same cases every run.
fn runner(default_cases: u32) -> TestRunner {
    let cases = std::env::var("KT_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default_cases);
    TestRunner::new_with_rng(
        Config {
            cases,
            failure_persistence: None,
            ..Config::default()
        },
        TestRng::from_seed(RngAlgorithm::ChaCha, &[30u8; 32]),
    )
}

/// Bytes that matter to JSON and TOML parsers, and to HTML.
const SPICE: &[u8] = b"{}[]\":,.-+eE019\\ \n\t=#'<>/&nultrufase\x00\xff";

/// One byte edit: (where, what, which byte).
type Edit = (u16, u8, u8);

fn mutate_bytes(seed: &str, edits: &[Edit]) -> Vec<u8> {
    mutate_with(seed, edits, SPICE)
}

fn mutate_with(seed: &str, edits: &[Edit], spice: &[u8]) -> Vec<u8> {
    let mut b = seed.as_bytes().to_vec();
    for &(pos, kind, byte) in edits {
        let p = pos as usize % (b.len() + 1);
        let c = spice[byte as usize % spice.len()];
        match kind % 8 {
            0..=2 => b.insert(p, c),
            3 | 4 => {
                if p < b.len() {
                    b.remove(p);
                }
            }
            5 | 6 => {
                if p < b.len() {
                    b[p] = c;
                }
            }
            _ => b.truncate(p),
        }
    }
    b
}

/// Values of every type, some at the edges.
fn odd_value(i: usize) -> Value {
    match i % 14 {
        0 => Value::Null,
        1 => json!(true),
        2 => json!(-1),
        3 => json!(1e308),
        4 => json!(u64::MAX),
        5 => json!(i64::MIN),
        6 => json!(""),
        7 => json!("<script>alert(1)</script>"),
        8 => json!([]),
        9 => json!({}),
        10 => json!([1, "a", null, {"x": []}]),
        11 => json!({"valid": "maybe", "ops": -3}),
        12 => json!(0.5),
        _ => json!("n1"),
    }
}

/// Replace the nodes at the chosen positions of a depth-first walk of `v`
/// with odd values.
fn mutate_value(v: &mut Value, picks: &[(u32, usize)]) {
    fn count(v: &Value) -> usize {
        1 + match v {
            Value::Array(a) => a.iter().map(count).sum(),
            Value::Object(m) => m.values().map(count).sum(),
            _ => 0,
        }
    }
    fn replace(v: &mut Value, mut at: usize, with: &Value) -> usize {
        if at == 0 {
            *v = with.clone();
            return usize::MAX;
        }
        at -= 1;
        let kids: Vec<&mut Value> = match v {
            Value::Array(a) => a.iter_mut().collect(),
            Value::Object(m) => m.values_mut().collect(),
            _ => vec![],
        };
        for k in kids {
            let n = count(k);
            if at < n {
                return replace(k, at, with);
            }
            at -= n;
        }
        at
    }
    for &(pos, kind) in picks {
        let n = count(v);
        replace(v, pos as usize % n, &odd_value(kind));
    }
}

fn edits() -> impl Strategy<Value = Vec<Edit>> {
    prop::collection::vec(any::<Edit>(), 1..12)
}

fn picks() -> impl Strategy<Value = Vec<(u32, usize)>> {
    prop::collection::vec((any::<u32>(), 0..14usize), 1..6)
}

fn report(name: &str, cases: u32, refused: usize, t: Instant) {
    eprintln!(
        "fuzz {name}: {cases} cases ({refused} refused with an error, none panicked) in {:.2}s",
        t.elapsed().as_secs_f64()
    );
}

/// The history reader, the checkers' parallel streaming pass and the fault
/// intervals on a mutated history.
fn check_history(dir: &Path, bytes: &[u8]) -> bool {
    let p = dir.join("history.jsonl");
    std::fs::write(&p, bytes).unwrap();
    let read = trial_histories::read_history(&p);
    if let Ok(h) = &read {
        let _ = trial_histories::FaultIntervals::of_ops(&h.ops);
        let _ = trial_checkers::check_ops(&h.ops, &trial_checkers::CheckOptions::default());
    }
    let checked = trial_checkers::check_history_file(&p, &trial_checkers::CheckOptions::default());
    if std::env::var_os("KT_FUZZ_VERBOSE").is_some() {
        eprintln!(
            "read: {:?}\nchecked: {:?}",
            read.as_ref().err(),
            checked.as_ref().err()
        );
    }
    read.is_ok() && checked.is_ok()
}

#[test]
fn fuzz_history_jsonl() {
    let seed = corpus("history.jsonl");
    let dir = tempfile::tempdir().unwrap();
    assert!(
        check_history(dir.path(), seed.as_bytes()),
        "the seed corpus itself reads and checks"
    );
    let t = Instant::now();
    let mut r = runner(512);
    let cases = r.config().cases;
    let refused = std::cell::Cell::new(0usize);
    r.run(&(edits(), picks(), any::<bool>()), |(e, p, by_value)| {
        let bytes = if by_value {
            // One line's op, its fields replaced.
            let mut out = String::new();
            for (i, l) in seed.lines().enumerate() {
                let mut v: Value = serde_json::from_str(l).unwrap();
                if i % 3 == (p[0].0 as usize) % 3 {
                    mutate_value(&mut v, &p);
                }
                out.push_str(&v.to_string());
                out.push('\n');
            }
            out.into_bytes()
        } else {
            mutate_bytes(&seed, &e)
        };
        if !check_history(dir.path(), &bytes) {
            refused.set(refused.get() + 1);
        }
        Ok(())
    })
    .unwrap();
    report("history.jsonl", cases, refused.get(), t);
}

#[test]
fn fuzz_hosts_toml() {
    let seed = corpus("hosts.toml");
    let dir = tempfile::tempdir().unwrap();
    for f in ["id_ed25519", "known_hosts"] {
        std::fs::write(dir.path().join(f), "x").unwrap();
    }
    let path = dir.path().join("hosts.toml");
    use kafka_trial::platform::ssh::HostsFile;
    HostsFile::parse(&seed, &path).expect("the seed corpus parses");
    let seed_value: toml::Value = toml::from_str(&seed).unwrap();
    let t = Instant::now();
    let mut r = runner(2048);
    let cases = r.config().cases;
    let refused = std::cell::Cell::new(0usize);
    r.run(&(edits(), picks(), any::<bool>()), |(e, p, by_value)| {
        let text = if by_value {
            let mut v: Value = serde_json::to_value(&seed_value).unwrap();
            mutate_value(&mut v, &p);
            // TOML has no null: such a document cannot be written back.
            match serde_json::from_value::<toml::Value>(v)
                .ok()
                .and_then(|t| toml::to_string(&t).ok())
            {
                Some(t) => t,
                None => return Ok(()),
            }
        } else {
            String::from_utf8_lossy(&mutate_bytes(&seed, &e)).into_owned()
        };
        if let Err(e) = HostsFile::parse(&text, &path) {
            assert!(!e.to_string().is_empty());
            refused.set(refused.get() + 1);
        }
        Ok(())
    })
    .unwrap();
    report("hosts.toml", cases, refused.get(), t);
}

#[test]
fn fuzz_trial_spec() {
    use kafka_trial::spec::TrialSpec;
    let seed = corpus("spec.toml");
    let parsed = TrialSpec::parse(&seed).expect("the seed corpus parses");
    assert_eq!(
        TrialSpec::parse(&parsed.to_toml()).unwrap().name,
        parsed.name
    );
    let seed_json: Value =
        serde_json::to_value(toml::from_str::<toml::Value>(&seed).unwrap()).unwrap();
    let t = Instant::now();
    let mut r = runner(1024);
    let cases = r.config().cases;
    let refused = std::cell::Cell::new(0usize);
    r.run(&(edits(), picks(), any::<bool>()), |(e, p, by_value)| {
        let text = if by_value {
            // The JSON form of a spec, its values replaced.
            let mut v = seed_json.clone();
            mutate_value(&mut v, &p);
            v.to_string()
        } else {
            String::from_utf8_lossy(&mutate_bytes(&seed, &e)).into_owned()
        };
        match TrialSpec::parse(&text) {
            // What parses prints and parses again.
            Ok(s) => {
                let again = TrialSpec::parse(&s.to_toml());
                prop_assert!(again.is_ok(), "{:?}\n{}", again.err(), s.to_toml());
            }
            Err(e) => {
                assert!(!format!("{e:#}").is_empty());
                refused.set(refused.get() + 1);
            }
        }
        Ok(())
    })
    .unwrap();
    report("spec", cases, refused.get(), t);
}

/// A run folder with the corpus's history and test.json, and `results`.
fn run_folder(dir: &Path, results: &[u8]) -> PathBuf {
    let run = dir.join("run");
    std::fs::create_dir_all(&run).unwrap();
    std::fs::write(run.join("history.jsonl"), corpus("history.jsonl")).unwrap();
    std::fs::write(run.join("test.json"), corpus("test.json")).unwrap();
    std::fs::write(run.join("results.json"), results).unwrap();
    run
}

#[test]
fn fuzz_results_json_read_by_report_and_serve() {
    let seed = corpus("results.json");
    let dir = tempfile::tempdir().unwrap();
    let run = run_folder(dir.path(), seed.as_bytes());
    let page = kafka_trial::report::render_report_page(&run, None).expect("the seed renders");
    assert!(page.contains("<html"));
    let seed_value: Value = serde_json::from_str(&seed).unwrap();
    let t = Instant::now();
    let mut r = runner(96);
    let cases = r.config().cases;
    let refused = std::cell::Cell::new(0usize);
    r.run(&(edits(), picks(), 0..4u8), |(e, p, how)| {
        let bytes = if how > 0 {
            // Mostly by value: a byte edit of 40 kB of JSON is mostly a
            // syntax error, read as "no results".
            let mut v = seed_value.clone();
            mutate_value(&mut v, &p);
            v.to_string().into_bytes()
        } else {
            mutate_bytes(&seed, &e)
        };
        std::fs::write(run.join("results.json"), &bytes).unwrap();
        match kafka_trial::report::render_report_page(&run, None) {
            Ok(html) => prop_assert!(
                !html.contains("<script>alert(1)</script>"),
                "a value from results.json reached the page unescaped"
            ),
            Err(_) => refused.set(refused.get() + 1),
        }
        Ok(())
    })
    .unwrap();
    report("results.json", cases, refused.get(), t);
}

/// Bytes that matter to EDN: its collections, tags, comments, keywords.
const EDN_SPICE: &[u8] = b"{}[]()#:;^@~`\\\" \n,-+.eEN0129nilrueas\x00\xff";

/// Tokens spliced into EDN at a token boundary: values of other types and
/// edge values (a number past i64, deep nesting, a set, a tagged form).
const EDN_TOKENS: &[&str] = &[
    "nil",
    "-1",
    "18446744073709551616",
    "-9223372036854775809",
    "1e400",
    "1.5",
    "#{}",
    "#{1 1}",
    "#inst \"2026\"",
    "\"\\u0000\"",
    "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
    "{:a}",
    ":",
    "\\c",
    "()",
    "{}",
    "[]",
    "\"<script>alert(1)</script>\"",
];

/// Splice tokens at the starts of tokens of `seed` (after a space, a comma
/// or an opening bracket), replacing the token that was there.
fn splice_tokens(seed: &str, picks: &[(u32, usize)]) -> Vec<u8> {
    let starts: Vec<usize> = seed
        .char_indices()
        .filter(|&(_, c)| matches!(c, ' ' | ',' | '[' | '{' | '('))
        .map(|(i, _)| i + 1)
        .collect();
    let mut out = seed.to_string();
    let mut chosen: Vec<(usize, &str)> = picks
        .iter()
        .map(|&(a, b)| {
            (
                starts[a as usize % starts.len()],
                EDN_TOKENS[b % EDN_TOKENS.len()],
            )
        })
        .collect();
    // From the end, so that earlier positions stay valid.
    chosen.sort_by_key(|y| std::cmp::Reverse(y.0));
    chosen.dedup_by_key(|x| x.0);
    for (at, tok) in chosen {
        let end = out[at..]
            .find([' ', ',', ']', '}', ')', '\n'])
            .map_or(out.len(), |e| at + e);
        out.replace_range(at..end, tok);
    }
    out.into_bytes()
}

/// A Jepsen history through the importer and its check under both client
/// models, and the linearizability checker's EDN reader and search
/// (cas-register, bounded in time). Whether the Kafka readers took it, and
/// whether the register readers did.
fn check_edn(dir: &Path, bytes: &[u8]) -> (bool, bool) {
    use trial_checkers::jepsen::{check_jepsen_str, translate_str};
    let p = dir.join("history.edn");
    std::fs::write(&p, bytes).unwrap();
    let Ok(text) = std::str::from_utf8(bytes) else {
        let kafka = trial_checkers::jepsen::check_jepsen_file(&p, &Default::default()).is_ok();
        let linear =
            trial_checkers::check_edn_file(&p, "cas-register", std::time::Duration::from_secs(2))
                .is_ok();
        return (kafka, linear);
    };
    let translated = translate_str(text, &p).is_ok();
    let mut opts = trial_checkers::CheckOptions::default();
    let kt = check_jepsen_str(text, &p, &opts).is_ok();
    opts.client_model = Some(trial_checkers::ClientModel::Jepsen);
    let jepsen = check_jepsen_str(text, &p, &opts).is_ok();
    let ops = trial_checkers::linear::edn::parse_ops(text).is_ok();
    let linear = trial_checkers::linear::check_edn_str(
        text,
        &p,
        "cas-register",
        std::time::Duration::from_secs(2),
    )
    .is_ok();
    (translated && kt && jepsen, ops && linear)
}

#[test]
fn fuzz_jepsen_edn() {
    let dir = tempfile::tempdir().unwrap();
    let seeds = [corpus("jepsen.edn"), corpus("cas.edn")];
    for s in &seeds {
        let p = dir.path().join("seed.edn");
        std::fs::write(&p, s).unwrap();
        assert!(
            trial_checkers::jepsen::check_jepsen_file(&p, &Default::default()).is_ok()
                || trial_checkers::check_edn_file(
                    &p,
                    "cas-register",
                    std::time::Duration::from_secs(2)
                )
                .is_ok(),
            "the seed corpus itself reads (either as a Kafka or as a register history)"
        );
    }
    let t = Instant::now();
    let mut r = runner(384);
    let cases = r.config().cases;
    let refused = std::cell::Cell::new(0usize);
    r.run(
        &(edits(), picks(), any::<bool>(), 0..3u8),
        |(e, p, which, how)| {
            let seed = &seeds[which as usize];
            let bytes = match how {
                0 => mutate_with(seed, &e, EDN_SPICE),
                1 => splice_tokens(seed, &p),
                _ => {
                    let spliced = String::from_utf8(splice_tokens(seed, &p)).unwrap();
                    mutate_with(&spliced, &e, EDN_SPICE)
                }
            };
            // Refused: the reader of the seed's own kind said no.
            let (kafka, register) = check_edn(dir.path(), &bytes);
            if !(if which { register } else { kafka }) {
                refused.set(refused.get() + 1);
            }
            Ok(())
        },
    )
    .unwrap();
    report("Jepsen EDN", cases, refused.get(), t);
}
