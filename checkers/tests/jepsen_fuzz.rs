//! A fuzzed corpus of Jepsen EDN histories: byte flips, truncation, wrong
//! types, deep nesting, 10 MB strings. Every input must give a verdict or
//! a `CheckError` naming a line (exit 3) — never a panic — and memory must
//! stay bounded. The number of cases is fixed so that it runs in seconds.

use proptest::prelude::*;
use std::path::{Path, PathBuf};
use trial_checkers::jepsen::{check_jepsen_file, check_jepsen_str};
use trial_checkers::{CheckError, CheckOptions, ClientModel};

fn corpus() -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let mut out = Vec::new();
    for d in ["jepsen", "jepsen-tests"] {
        let mut files: Vec<PathBuf> = std::fs::read_dir(root.join(d))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "edn"))
            .collect();
        files.sort();
        out.extend(files.iter().map(|f| std::fs::read_to_string(f).unwrap()));
    }
    assert!(out.len() > 40);
    out
}

/// A verdict, or an error that names where (a line) — as the CLI's exit 3.
fn judged(text: &str, model: ClientModel) {
    let opts = CheckOptions {
        client_model: Some(model),
        ..Default::default()
    };
    match check_jepsen_str(text, Path::new("f.edn"), &opts) {
        Ok(r) => assert!(r.exit_code() <= 2),
        Err(CheckError::Edn { line, message, .. }) => {
            assert!(!message.is_empty());
            assert!(line as usize <= text.lines().count() + 1, "line {line}");
        }
        Err(e) => panic!("unexpected error kind: {e:?}"),
    }
}

const WRONG: &[&str] = &[
    "nil",
    "1.5",
    "-7",
    "\"s\"",
    ":k",
    "[]",
    "{}",
    "#{1}",
    "[1 2 3]",
    "{:a [1]}",
    "true",
    "\\c",
    "(1)",
    "9223372036854775807",
    "#tag [1]",
    "#_ 1 2",
];

#[derive(Debug, Clone)]
enum Mutation {
    FlipByte(usize, u8),
    Truncate(usize),
    /// Replace the n-th token (a maximal run without spaces or brackets).
    WrongType(usize, usize),
    Nest(usize, usize),
    Duplicate(usize, usize),
}

fn apply(text: &str, m: &Mutation) -> Vec<u8> {
    let b = text.as_bytes();
    match *m {
        Mutation::FlipByte(i, x) => {
            let mut v = b.to_vec();
            let i = i % v.len().max(1);
            if let Some(c) = v.get_mut(i) {
                *c ^= x.max(1);
            }
            v
        }
        Mutation::Truncate(i) => b[..i % (b.len() + 1)].to_vec(),
        Mutation::WrongType(n, w) => {
            let toks: Vec<(usize, usize)> = token_spans(b);
            if toks.is_empty() {
                return b.to_vec();
            }
            let (s, e) = toks[n % toks.len()];
            let mut v = b[..s].to_vec();
            v.extend_from_slice(WRONG[w % WRONG.len()].as_bytes());
            v.extend_from_slice(&b[e..]);
            v
        }
        Mutation::Nest(at, depth) => {
            let at = at % (b.len() + 1);
            let mut v = b[..at].to_vec();
            v.extend(std::iter::repeat_n(b'[', depth));
            v.extend(std::iter::repeat_n(b']', depth / 2));
            v.extend_from_slice(&b[at..]);
            v
        }
        Mutation::Duplicate(a, len) => {
            let a = a % (b.len() + 1);
            let e = (a + len).min(b.len());
            let mut v = b[..e].to_vec();
            v.extend_from_slice(&b[a..]);
            v
        }
    }
}

fn token_spans(b: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_whitespace() || b"[](){},".contains(&b[i]) {
            i += 1;
            continue;
        }
        let s = i;
        while i < b.len() && !(b[i].is_ascii_whitespace() || b"[](){},".contains(&b[i])) {
            i += 1;
        }
        out.push((s, i));
    }
    out
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(i, x)| Mutation::FlipByte(i, x)),
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), any::<usize>()).prop_map(|(n, w)| Mutation::WrongType(n, w)),
        (any::<usize>(), 1usize..5000).prop_map(|(a, d)| Mutation::Nest(a, d)),
        (any::<usize>(), 1usize..400).prop_map(|(a, l)| Mutation::Duplicate(a, l)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, failure_persistence: None, ..ProptestConfig::default() })]

    /// One to three mutations of a corpus history: a verdict or exit 3.
    #[test]
    fn mutated_histories_are_judged_or_refused(
        file in any::<usize>(),
        ms in prop::collection::vec(mutation(), 1..4),
        jepsen in any::<bool>(),
    ) {
        let corpus = corpus();
        let mut text = corpus[file % corpus.len()].clone();
        for m in &ms {
            text = String::from_utf8_lossy(&apply(&text, m)).into_owned();
        }
        let model = if jepsen { ClientModel::Jepsen } else { ClientModel::KafkaTrial };
        judged(&text, model);
    }
}

/// Bytes that are not UTF-8, and a gzip that is cut short, read from a
/// file: exit 3 naming the line (or the file), not a panic.
#[test]
fn unreadable_files_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("h.edn");
    std::fs::write(
        &p,
        b"{:type :ok :process 0 :f :poll :value [[:poll]]}\n\xff\xfe\n",
    )
    .unwrap();
    let e = check_jepsen_file(&p, &CheckOptions::default()).unwrap_err();
    assert_eq!(e.line(), Some(2), "{e}");
    std::fs::write(&p, [0x1f, 0x8b, 8, 0, 0, 0]).unwrap();
    let e = check_jepsen_file(&p, &CheckOptions::default()).unwrap_err();
    assert!(e.to_string().contains("gzip"), "{e}");
}

/// 10 MB strings as a key, a value, an `:f`, an error and a comment: a
/// verdict (keys and values are names) or a refusal, in bounded memory.
#[test]
fn ten_megabyte_strings() {
    let big = "x".repeat(10 << 20);
    let texts = [
        format!("{{:type :invoke :process 0 :f :send :value [[:send \"{big}\" 1]]}}\n{{:type :ok :process 0 :f :send :value [[:send \"{big}\" [0 1]]]}}\n"),
        format!("{{:type :invoke :process 0 :f :send :value [[:send :x :{big}]]}}\n{{:type :ok :process 0 :f :send :value [[:send :x [0 :{big}]]]}}\n{{:type :invoke :process 1 :f :poll :value [[:poll]]}}\n{{:type :ok :process 1 :f :poll :value [[:poll {{:x [[1 :{big}]]}}]]}}\n"),
        format!("{{:type :invoke :process 0 :f :{big} :value 1}}\n"),
        format!("{{:type :info :process 0 :f :send :value [[:send :x 1]] :error \"{big}\"}}\n"),
        format!("; {big}\n{{:type :invoke :process 0 :f :send :value [[:send :x 1]]}}\n"),
        format!("{{:type :invoke :process 0 :f :send :value [[:send :x 1]]}}\n\"{big}"),
    ];
    for t in &texts {
        judged(t, ClientModel::Jepsen);
    }
    // Bounded: a handful of copies of the input at most (the whole test
    // binary shares the process, so the bound is loose).
    if let Ok(s) = std::fs::read_to_string("/proc/self/status") {
        let hwm_kb: u64 = s
            .lines()
            .find(|l| l.starts_with("VmHWM:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        assert!(hwm_kb < 1_500_000, "peak {hwm_kb} kB");
    }
}
