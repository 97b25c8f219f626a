//! Jepsen's Kafka history (EDN, `history.edn`) → kafka-trial ops.
//!
//! One file over 800 lines on purpose: the mapping table below and the
//! code that implements it (reading an op, re-encoding values, emitting
//! ops, building the final reads) share the per-op structures `JOp`/`Mop`
//! and read as one list of rules; split, the table would sit apart from
//! the rules it states.
//!
//! Why translate instead of writing a second checker: the point of reading
//! Jepsen's histories is to judge them with *this* project's checkers, so
//! that a disagreement between the two tools is a finding about semantics,
//! not about two implementations. Every rule below follows what Jepsen's
//! client and checker (`jepsen.tests.kafka`) mean by an op; where the two
//! models differ, the choice is written next to the code.
//!
//! The mapping, op by op:
//!
//! | Jepsen | kafka-trial |
//! | --- | --- |
//! | `:send`/`:poll` with one micro-op | `send` / `poll` |
//! | `:send`/`:poll` with several micro-ops, every `:txn` | `txn` (Jepsen runs them in one transaction) |
//! | `[:send k [o v]]` | send of key `k`, value `v` to partition `k` at offset `o` (`nil`: unknown) |
//! | `[:poll {k [[o v] …]}]` | records `[k, o, k, v]`, key by key in the map's order |
//! | `:assign ks` | `assign`: partitions `ks`; `revoked` = what the process held before minus `ks`; `:seek-to-beginning? true` → seek 0 on each |
//! | `:subscribe ks` | `subscribe` (topic `jepsen`), then a standalone `rebalance` giving `ks` (Jepsen's checker assumes the subscribed keys stay assigned) |
//! | `:crash` | `crash` |
//! | nemesis `:info` pairs | `invoke` + `info`; `:kill`/`:start` → `start-kill`/`stop-kill`, `:pause`/`:resume` → `start-pause`/`stop-pause` |
//! | other `:f` (`:debug-topic-partitions`, …) | kept by name, value as JSON |
//! | the final polls | kept as polls, and a `final-read` per process and key (see [`FinalRun`]) |
//!
//! Keys stand for topic-partitions: key `k` is partition `k` of one topic.
//! kafka-trial needs every sent value unique in a test; Jepsen's values are
//! unique per key only. When some value occurs under two keys, value `v` of
//! key `k` becomes `k × M + v` (M the power of ten above the largest value),
//! and a warning says so; otherwise values are kept as they are.

use crate::hash::FxHashMap;
use crate::linear::edn::{Edn, OpMaps};
use crate::CheckError;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use trial_histories::values::{Assignment, FinalRead, MicroOp, Poll, Record, Send, Subscribe, Txn};
use trial_histories::{Op, OpType, Process, F};

/// The topic name given to Jepsen's keys in `subscribe` values.
pub const TOPIC: &str = "jepsen";

/// A Jepsen history translated into kafka-trial's op model.
pub struct Translation {
    /// The ops, indices dense from 0, in the file's order (synthetic final
    /// reads at the end).
    pub ops: Vec<Op>,
    /// For each op, the 1-based line of the EDN op it came from (synthetic
    /// ops: the line of the op that implied them).
    pub lines: Vec<u64>,
    /// Op maps read from the file.
    pub edn_ops: u64,
    /// Ops inserted by the translation: a `rebalance` after each subscribe,
    /// the final reads.
    pub synthetic: u64,
    /// Final reads made from the polls after a seek to the beginning.
    pub final_reads: u64,
    /// Values were re-encoded as `key × multiplier + value`.
    pub value_multiplier: Option<u64>,
    /// Some op was a transaction (several micro-ops, or `:txn`).
    pub transactional: bool,
    /// What the translation could not carry over.
    pub warnings: Vec<String>,
    /// Partition → Jepsen's key, for keys that are not their own number
    /// (`:x`, `"x"`).
    pub key_names: BTreeMap<i32, String>,
    /// How values were carried over, and their names.
    pub value_names: ValueNames,
    /// (op index, partition): keys an op's `:rebalance-log` names, whose
    /// internal order Jepsen's checker does not judge.
    pub excused: Vec<(u64, i32)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum JF {
    Send,
    Poll,
    Txn,
    Assign,
    Subscribe,
    Crash,
}

/// A value as Jepsen wrote it, in 8 bytes: a non-negative integer as
/// itself, any other value (a keyword, a string, a negative integer, nil)
/// as `-(n + 1)` for its EDN text's number `n` in [`ValTable`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Val(i64);

impl Val {
    fn int(self) -> Option<i64> {
        (self.0 >= 0).then_some(self.0)
    }
}

/// The texts of values that are not non-negative integers.
#[derive(Default)]
struct ValTable {
    by_name: FxHashMap<String, i64>,
    names: Vec<String>,
}

impl ValTable {
    fn intern(&mut self, name: String) -> Val {
        if let Some(&n) = self.by_name.get(&name) {
            return Val(-(n + 1));
        }
        let n = self.names.len() as i64;
        self.names.push(name.clone());
        self.by_name.insert(name, n);
        Val(-(n + 1))
    }

    fn name(&self, v: Val) -> String {
        match v.int() {
            Some(i) => i.to_string(),
            None => self.names[(-v.0 - 1) as usize].clone(),
        }
    }
}

/// One micro-op as read. Keys are partition numbers already ([`KeyTable`]);
/// values are Jepsen's (not yet re-encoded).
#[derive(Debug, Clone)]
enum Mop {
    Send {
        k: i64,
        off: Option<i64>,
        v: Val,
    },
    /// Keys with their (offset, value) pairs, in the map's order.
    Poll(Vec<(i64, Vec<(i64, Val)>)>),
}

#[derive(Debug)]
enum Body {
    Mops(Vec<Mop>),
    Keys { keys: Vec<i64>, seek: bool },
    Json(serde_json::Value),
}

#[derive(Debug)]
struct JOp {
    line: u64,
    time: u64,
    process: Process,
    kind: OpType,
    /// A client op this module understands, or any other `f` by name.
    f: Result<JF, String>,
    body: Body,
    error: Option<String>,
    /// `:final? true`: a poll of the final phase.
    final_poll: bool,
    /// Keys of its `:rebalance-log` (rebalanced while the op ran).
    rebalanced: Vec<i64>,
}

/// Integer keys below this are their own partition number; any other key
/// (a keyword, a string, a negative or larger integer) is numbered in order
/// of first appearance, first from `NAMED_KEYS_FROM` while reading, then
/// (`KeyTable::renumber`) just above the largest integer key, so that
/// partition numbers stay small (checkers index arrays by them).
const INT_KEYS_BELOW: i64 = 1 << 20;
const NAMED_KEYS_FROM: i64 = 1 << 30;

/// Jepsen's keys as partitions, and back to their names.
#[derive(Default)]
pub(crate) struct KeyTable {
    by_name: FxHashMap<String, i64>,
    /// Partition → the key's EDN text, for keys that are not their own
    /// number.
    names: BTreeMap<i32, String>,
    next: i64,
    /// The largest integer key kept as its own number.
    max_int: i64,
}

impl KeyTable {
    /// The final partition number of a key read as `k`.
    fn renumber(&self, k: i64) -> i64 {
        if k >= NAMED_KEYS_FROM {
            k - NAMED_KEYS_FROM + self.max_int + 1
        } else {
            k
        }
    }

    /// Give the named keys their final numbers, in the ops and the names.
    fn renumber_all(&mut self, jops: &mut [JOp]) {
        if self.names.is_empty() {
            return;
        }
        for op in jops.iter_mut() {
            match &mut op.body {
                Body::Mops(ms) => {
                    for m in ms {
                        match m {
                            Mop::Send { k, .. } => *k = self.renumber(*k),
                            Mop::Poll(kv) => {
                                for (k, _) in kv {
                                    *k = self.renumber(*k);
                                }
                            }
                        }
                    }
                }
                Body::Keys { keys, .. } => {
                    for k in keys {
                        *k = self.renumber(*k);
                    }
                }
                Body::Json(_) => {}
            }
            for k in &mut op.rebalanced {
                *k = self.renumber(*k);
            }
        }
        self.names = std::mem::take(&mut self.names)
            .into_iter()
            .map(|(k, n)| (self.renumber(i64::from(k)) as i32, n))
            .collect();
    }

    fn intern(&mut self, e: &Edn) -> Option<i64> {
        match e {
            Edn::Int(k) if (0..INT_KEYS_BELOW).contains(k) => {
                self.max_int = self.max_int.max(*k);
                Some(*k)
            }
            Edn::Int(_) | Edn::Keyword(_) | Edn::Str(_) => {
                let name = full_text(e);
                if let Some(&k) = self.by_name.get(&name) {
                    return Some(k);
                }
                let k = NAMED_KEYS_FROM + self.next;
                if k >= NAMED_KEYS_FROM + INT_KEYS_BELOW {
                    return None;
                }
                self.next += 1;
                self.names.insert(k as i32, name.clone());
                self.by_name.insert(name, k);
                Some(k)
            }
            _ => None,
        }
    }
}

struct Reader<'a> {
    path: &'a Path,
    line: u64,
    keys: &'a std::cell::RefCell<KeyTable>,
    vals: &'a std::cell::RefCell<ValTable>,
}

impl Reader<'_> {
    fn err<T>(&self, m: impl Into<String>) -> Result<T, CheckError> {
        Err(CheckError::Edn {
            path: self.path.to_path_buf(),
            line: self.line,
            message: m.into(),
        })
    }

    fn key(&self, e: &Edn) -> Result<i64, CheckError> {
        match self.keys.borrow_mut().intern(e) {
            Some(k) => Ok(k),
            None if matches!(e, Edn::Int(_) | Edn::Keyword(_) | Edn::Str(_)) => {
                self.err("too many distinct keys (more than 2^20 named keys)")
            }
            None => self.err(format!(
                "key: expected an integer, keyword or string, got {}",
                text(e)
            )),
        }
    }

    fn value(&self, e: &Edn) -> Result<Val, CheckError> {
        match e {
            Edn::Int(v) if *v >= 0 => Ok(Val(*v)),
            Edn::Int(_) | Edn::Keyword(_) | Edn::Str(_) | Edn::Nil => {
                Ok(self.vals.borrow_mut().intern(full_text(e)))
            }
            other => self.err(format!(
                "value: expected an integer, keyword or string, got {}",
                text(other)
            )),
        }
    }

    fn offset(&self, e: &Edn) -> Result<Option<i64>, CheckError> {
        match e {
            Edn::Nil => Ok(None),
            Edn::Int(o) if *o >= 0 => Ok(Some(*o)),
            other => self.err(format!(
                "offset: expected nil or an offset, got {}",
                text(other)
            )),
        }
    }

    fn keys(&self, v: Option<&Edn>) -> Result<Vec<i64>, CheckError> {
        match v {
            None | Some(Edn::Nil) => Ok(Vec::new()),
            Some(Edn::Vector(ks) | Edn::List(ks) | Edn::Set(ks)) => {
                ks.iter().map(|k| self.key(k)).collect()
            }
            Some(other) => self.err(format!("expected a vector of keys, got {}", text(other))),
        }
    }

    fn mops(&self, v: Option<&Edn>) -> Result<Vec<Mop>, CheckError> {
        let Some(items) = v.and_then(Edn::as_seq) else {
            return self.err(format!(
                "expected a vector of micro-ops like [[:send k v] [:poll]], got {}",
                v.map_or("nothing".into(), text)
            ));
        };
        items.iter().map(|m| self.mop(m)).collect()
    }

    fn mop(&self, m: &Edn) -> Result<Mop, CheckError> {
        let parts = m.as_seq().unwrap_or(&[]);
        match parts.first().and_then(Edn::as_keyword) {
            Some("send") => {
                let (Some(k), Some(v)) = (parts.get(1), parts.get(2)) else {
                    return self.err(format!("[:send k v] needs a key and a value: {}", text(m)));
                };
                let k = self.key(k)?;
                match v {
                    Edn::Vector(ov) | Edn::List(ov) if ov.len() == 2 => Ok(Mop::Send {
                        k,
                        off: self.offset(&ov[0])?,
                        v: self.value(&ov[1])?,
                    }),
                    v => Ok(Mop::Send {
                        k,
                        off: None,
                        v: self.value(v)?,
                    }),
                }
            }
            Some("poll") => match parts.get(1) {
                None | Some(Edn::Nil) => Ok(Mop::Poll(Vec::new())),
                Some(Edn::Map(kv)) => {
                    let mut out = Vec::with_capacity(kv.len());
                    for (k, pairs) in kv {
                        let k = self.key(k)?;
                        let pairs = match pairs {
                            Edn::Nil => &[][..],
                            p => match p.as_seq() {
                                Some(s) => s,
                                None => {
                                    return self.err(format!(
                                        "poll of key {k}: expected [[offset value] ...], got {}",
                                        text(p)
                                    ))
                                }
                            },
                        };
                        let mut recs = Vec::with_capacity(pairs.len());
                        for pr in pairs {
                            match pr.as_seq() {
                                Some([o, v]) => {
                                    let Some(o) = self.offset(o)? else {
                                        return self.err(format!(
                                            "poll of key {k} returned a record without an \
                                             offset ({}): kafka-trial places every record read",
                                            text(pr)
                                        ));
                                    };
                                    recs.push((o, self.value(v)?));
                                }
                                _ => {
                                    return self.err(format!(
                                        "poll of key {k}: expected an [offset value] pair, got {}",
                                        text(pr)
                                    ))
                                }
                            }
                        }
                        out.push((k, recs));
                    }
                    Ok(Mop::Poll(out))
                }
                Some(other) => self.err(format!(
                    "[:poll ...] expects a map of keys to [offset value] pairs, got {}",
                    text(other)
                )),
            },
            _ => self.err(format!(
                "expected a micro-op [:send k v] or [:poll ...], got {}",
                text(m)
            )),
        }
    }

    fn op(&self, m: &Edn) -> Result<JOp, CheckError> {
        let kind = match m.get("type").and_then(Edn::as_keyword) {
            Some("invoke") => OpType::Invoke,
            Some("ok") => OpType::Ok,
            Some("fail") => OpType::Fail,
            Some("info") => OpType::Info,
            other => {
                return self.err(format!(
                    ":type must be :invoke, :ok, :fail or :info, got {}",
                    other.unwrap_or("nothing")
                ))
            }
        };
        let process = match m.get("process") {
            Some(Edn::Int(n)) if *n >= 0 => Process::Worker(*n as u64),
            // `h/op` leaves a missing process nil: one process named nil.
            None | Some(Edn::Nil) => Process::Named("nil".into()),
            Some(Edn::Keyword(s)) | Some(Edn::Str(s)) if s == "nemesis" => Process::Nemesis,
            Some(Edn::Keyword(s)) | Some(Edn::Str(s)) => Process::Named(s.clone()),
            other => {
                return self.err(format!(
                    ":process must be a process number or a name, got {}",
                    other.map_or("nothing".into(), text)
                ))
            }
        };
        let time = match m.get("time") {
            None | Some(Edn::Nil) => None,
            Some(Edn::Int(t)) if *t >= 0 => Some(*t as u64),
            // `h/history` gives an op without a time -1.
            Some(Edn::Int(_)) => None,
            Some(other) => {
                return self.err(format!(":time must be nanoseconds, got {}", text(other)))
            }
        };
        let f = match m.get("f") {
            Some(Edn::Keyword(f)) | Some(Edn::Str(f)) => f.as_str(),
            other => {
                return self.err(format!(
                    ":f must be a keyword, got {}",
                    other.map_or("nothing".into(), text)
                ))
            }
        };
        let value = m.get("value");
        let client = process != Process::Nemesis;
        let jf = match f {
            "send" if client => Ok(JF::Send),
            "poll" if client => Ok(JF::Poll),
            "txn" if client => Ok(JF::Txn),
            "assign" if client => Ok(JF::Assign),
            "subscribe" if client => Ok(JF::Subscribe),
            "crash" if client => Ok(JF::Crash),
            other => Err(other.to_string()),
        };
        let body = match jf {
            Ok(JF::Send | JF::Poll | JF::Txn) => Body::Mops(self.mops(value)?),
            Ok(JF::Assign | JF::Subscribe) => Body::Keys {
                keys: self.keys(value)?,
                seek: matches!(m.get("seek-to-beginning?"), Some(Edn::Bool(true))),
            },
            _ => Body::Json(value.map_or(serde_json::Value::Null, json)),
        };
        let error = m.get("error").filter(|e| **e != Edn::Nil).map(|e| match e {
            Edn::Str(s) => s.clone(),
            other => text(other),
        });
        let rebalanced = match m.get("rebalance-log") {
            None | Some(Edn::Nil) => Vec::new(),
            Some(log) => {
                let Some(events) = log.as_seq() else {
                    return self.err(format!(
                        ":rebalance-log must be a vector of {{:keys [k ...]}} maps, got {}",
                        text(log)
                    ));
                };
                let mut ks = Vec::new();
                for ev in events {
                    match ev.get("keys") {
                        Some(k) => ks.extend(self.keys(Some(k))?),
                        None => {
                            return self
                                .err(format!(":rebalance-log event without :keys: {}", text(ev)))
                        }
                    }
                }
                ks
            }
        };
        Ok(JOp {
            final_poll: matches!(m.get("final?"), Some(Edn::Bool(true))),
            rebalanced,
            line: self.line,
            // Filled from the previous op when absent.
            time: time.unwrap_or(u64::MAX),
            process,
            kind,
            f: jf,
            body,
            error,
        })
    }
}

/// An EDN value as JSON: keywords and symbols as strings, sets as arrays,
/// map keys as their text.
pub fn json(e: &Edn) -> serde_json::Value {
    use serde_json::Value as J;
    match e {
        Edn::Nil => J::Null,
        Edn::Bool(b) => J::Bool(*b),
        Edn::Int(i) => J::from(*i),
        Edn::Float(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
        Edn::Str(s) | Edn::Keyword(s) | Edn::Symbol(s) => J::String(s.clone()),
        Edn::Char(c) => J::String(c.to_string()),
        Edn::List(v) | Edn::Vector(v) | Edn::Set(v) => J::Array(v.iter().map(json).collect()),
        Edn::Map(kv) => J::Object(
            kv.iter()
                .map(|(k, v)| {
                    let k = match k {
                        Edn::Str(s) | Edn::Keyword(s) | Edn::Symbol(s) => s.clone(),
                        other => text(other),
                    };
                    (k, json(v))
                })
                .collect(),
        ),
    }
}

/// A key's or value's EDN text, whole (`:x`, `"x"`, `-3`, `nil`).
fn full_text(e: &Edn) -> String {
    match e {
        Edn::Keyword(s) => format!(":{s}"),
        Edn::Str(s) => format!("{s:?}"),
        Edn::Int(i) => i.to_string(),
        other => text(other),
    }
}

/// An EDN value written back as EDN text (for messages).
pub fn text(e: &Edn) -> String {
    fn seq(out: &mut String, open: &str, close: &str, v: &[Edn]) {
        out.push_str(open);
        for (i, x) in v.iter().enumerate() {
            if i > 0 {
                out.push(' ');
            }
            out.push_str(&text(x));
        }
        out.push_str(close);
    }
    let mut out = String::new();
    match e {
        Edn::Nil => out.push_str("nil"),
        Edn::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Edn::Int(i) => out.push_str(&i.to_string()),
        Edn::Float(f) => out.push_str(&f.to_string()),
        Edn::Str(s) => out.push_str(&format!("{s:?}")),
        Edn::Char(c) => out.push_str(&format!("\\{c}")),
        Edn::Keyword(s) => {
            out.push(':');
            out.push_str(s);
        }
        Edn::Symbol(s) => out.push_str(s),
        Edn::List(v) => seq(&mut out, "(", ")", v),
        Edn::Vector(v) => seq(&mut out, "[", "]", v),
        Edn::Set(v) => seq(&mut out, "#{", "}", v),
        Edn::Map(kv) => {
            out.push('{');
            for (i, (k, v)) in kv.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(&text(k));
                out.push(' ');
                out.push_str(&text(v));
            }
            out.push('}');
        }
    }
    if out.len() > 120 {
        let mut cut = 117;
        while !out.is_char_boundary(cut) {
            cut -= 1;
        }
        out.truncate(cut);
        out.push_str("...");
    }
    out
}

/// Does this EDN text look like a Jepsen Kafka history? True when one of
/// its first ops is a `:send`, `:poll` or `:txn` whose value is a vector of
/// micro-ops, or an `:assign`/`:subscribe`; false for the register and
/// key-value histories of the linearizability models. An unreadable file
/// is not Kafka (the caller's parser then names the bad line).
pub fn looks_like_kafka(text: &str) -> bool {
    for op in OpMaps::new(text).take(1000) {
        let Ok((_, m)) = op else { return false };
        let f = m.get("f").and_then(Edn::as_keyword);
        match f {
            Some("assign" | "subscribe") => return true,
            Some("send" | "poll" | "txn") => {
                let mop = m
                    .get("value")
                    .and_then(Edn::as_seq)
                    .and_then(|v| v.first())
                    .and_then(Edn::as_seq)
                    .and_then(|m| m.first())
                    .and_then(Edn::as_keyword);
                if matches!(mop, Some("send" | "poll")) {
                    return true;
                }
            }
            Some("read" | "write" | "cas" | "txn-kv") => return false,
            _ => {}
        }
    }
    false
}

/// A consumer's final phase, as Jepsen's final generator runs it: after an
/// `:assign` with `:seek-to-beginning? true` (or from its first poll marked
/// `:final? true`), the same process polls until it has read everything
/// acknowledged. Its records of each key become one `final-read` from
/// offset 0: the prefix of what it read that neither goes backwards nor
/// jumps over an offset known to hold a record (a jump is then reported by
/// the polls themselves, as Jepsen does: a poll-skip, not an internal skip
/// of the final read). The run ends at the process's next op that is not
/// an `ok` poll.
struct FinalRun {
    line: u64,
    keys: BTreeSet<i64>,
    /// Keys join as the polls return them (a run of `:final?` polls).
    grow: bool,
    records: BTreeMap<i64, Vec<(i64, u64)>>,
}

struct Emitter {
    ops: Vec<Op>,
    lines: Vec<u64>,
    synthetic: u64,
}

impl Emitter {
    fn push(&mut self, mut op: Op, time: u64, line: u64) -> usize {
        op.index = self.ops.len() as u64;
        op.time = time;
        self.ops.push(op);
        self.lines.push(line);
        self.ops.len() - 1
    }
}

/// How values are carried over: kept as numbers, re-encoded as
/// `key × M + value`, or numbered (any value that is not a non-negative
/// integer), each with its name.
#[derive(Debug, Clone)]
pub enum ValueNames {
    Identity,
    Multiplier(u64),
    Table(FxHashMap<u64, String>),
}

impl ValueNames {
    /// The name Jepsen gave the value kafka-trial calls `v`.
    pub fn name(&self, v: u64) -> Option<String> {
        match self {
            ValueNames::Identity => None,
            ValueNames::Multiplier(m) => Some((v % m).to_string()),
            ValueNames::Table(t) => t.get(&v).cloned(),
        }
    }
}

/// Translate a Jepsen Kafka history (the text of `history.edn`).
pub fn translate_str(text: &str, path: &Path) -> Result<Translation, CheckError> {
    let edn_err = |line: u64, message: String| CheckError::Edn {
        path: path.to_path_buf(),
        line,
        message,
    };
    // 1. Read every op (compact; the EDN trees are dropped one by one).
    let mut jops = Vec::new();
    let mut prev_time = 0u64;
    let mut rebalance_logs = 0u64;
    let keys = std::cell::RefCell::new(KeyTable::default());
    let vals = std::cell::RefCell::new(ValTable::default());
    for form in OpMaps::new(text) {
        let (line, m) = form.map_err(|e| edn_err(e.line, e.message))?;
        let r = Reader {
            path,
            line,
            keys: &keys,
            vals: &vals,
        };
        let mut op = r.op(&m)?;
        if op.time == u64::MAX {
            op.time = prev_time;
        }
        prev_time = op.time;
        if !op.rebalanced.is_empty() {
            rebalance_logs += 1;
        }
        jops.push(op);
    }
    let mut keys = keys.into_inner();
    let vals = vals.into_inner();
    keys.renumber_all(&mut jops);

    // 2. Values: integers kept if unique across keys, else key × M +
    // value; any other value (a keyword, a string) numbered per key.
    let mut owner: FxHashMap<i64, i64> = FxHashMap::default();
    let mut clash = false;
    let mut named = false;
    let mut max_v = 0i64;
    for op in &jops {
        if let Body::Mops(ms) = &op.body {
            let mut note = |k: i64, v: &Val| match v.int() {
                None => named = true,
                Some(v) => {
                    max_v = max_v.max(v);
                    match owner.get(&v) {
                        Some(&k0) if k0 != k => clash = true,
                        Some(_) => {}
                        None => {
                            owner.insert(v, k);
                        }
                    }
                }
            };
            for m in ms {
                match m {
                    Mop::Send { k, v, .. } => note(*k, v),
                    Mop::Poll(kv) => {
                        for (k, prs) in kv {
                            for (_, v) in prs {
                                note(*k, v);
                            }
                        }
                    }
                }
            }
        }
    }
    drop(owner);
    let multiplier = if clash && !named {
        let mut m = 10u64;
        while m <= max_v as u64 {
            m = m
                .checked_mul(10)
                .ok_or_else(|| edn_err(0, "values too large to make unique per key".into()))?;
        }
        Some(m)
    } else {
        None
    };
    // Named values: (key, value) → number from 1, and back.
    let mut table: FxHashMap<(i64, Val), u64> = FxHashMap::default();
    let mut value_names: FxHashMap<u64, String> = FxHashMap::default();
    let mut enc_at = |k: i64, v: &Val, line: u64| -> Result<u64, CheckError> {
        if named {
            if let Some(&id) = table.get(&(k, *v)) {
                return Ok(id);
            }
            let id = table.len() as u64 + 1;
            table.insert((k, *v), id);
            value_names.insert(id, vals.name(*v));
            return Ok(id);
        }
        let Some(v) = v.int() else {
            unreachable!("named is set when any value is a name")
        };
        match multiplier {
            None => Some(v as u64),
            Some(m) => (k as u64)
                .checked_mul(m)
                .and_then(|x| x.checked_add(v as u64)),
        }
        .ok_or_else(|| {
            edn_err(
                line,
                format!("key {k} value {v}: too large to make unique per key"),
            )
        })
    };

    // Offsets known to hold a record, per key: every offset any send or
    // poll reported (a superset of what the checkers call existing, so a
    // final read cut here never shows an internal skip).
    let mut known: FxHashMap<i64, BTreeSet<i64>> = FxHashMap::default();
    for op in &jops {
        if let (Body::Mops(ms), true) = (&op.body, op.kind != OpType::Invoke) {
            for m in ms {
                match m {
                    Mop::Send {
                        k, off: Some(o), ..
                    } => {
                        known.entry(*k).or_default().insert(*o);
                    }
                    Mop::Send { .. } => {}
                    Mop::Poll(kv) => {
                        for (k, prs) in kv {
                            let s = known.entry(*k).or_default();
                            s.extend(prs.iter().map(|p| p.0));
                        }
                    }
                }
            }
        }
    }

    // 3. Emit.
    let edn_ops = jops.len() as u64;
    let mut em = Emitter {
        ops: Vec::with_capacity(jops.len() + 16),
        lines: Vec::with_capacity(jops.len() + 16),
        synthetic: 0,
    };
    let mut assigned: FxHashMap<Process, BTreeSet<i64>> = FxHashMap::default();
    let mut nemesis_pending: FxHashMap<Process, String> = FxHashMap::default();
    // A client's invocation in flight: (its index among the emitted ops,
    // its micro-op count when it is a send/poll/txn).
    let mut in_flight: FxHashMap<Process, (usize, Option<(usize, u64)>)> = FxHashMap::default();
    let mut runs: FxHashMap<Process, FinalRun> = FxHashMap::default();
    let mut done_runs: Vec<FinalRun> = Vec::new();
    let mut transactional = false;
    let mut last_time = 0u64;
    let mut excused: Vec<(u64, i32)> = Vec::new();
    for jop in &jops {
        last_time = last_time.max(jop.time);
        let line = jop.line;
        let p = jop.process.clone();
        let completion = jop.kind != OpType::Invoke;
        let client = p != Process::Nemesis && jop.f.is_ok();
        // A final run ends at any completion of its process other than an
        // ok poll (a new seek starts a new one below).
        if completion && !(jop.kind == OpType::Ok && jop.f == Ok(JF::Poll)) {
            if let Some(r) = runs.remove(&p) {
                done_runs.push(r);
            }
        }
        // Jepsen's checker reads completions only; its histories may hold
        // a completion without an invocation (`h/history` of completions),
        // which gets one here, just before it.
        let pending = if completion && client {
            match in_flight.remove(&p) {
                Some(x) => Some(x),
                None if jop.f == Ok(JF::Crash) => None,
                None => {
                    em.synthetic += 1;
                    let placeholder = Op::new(p.clone(), OpType::Invoke, F::Crash);
                    Some((em.push(placeholder, jop.time, line), None))
                }
            }
        } else {
            None
        };
        let op = match (&jop.f, &jop.body) {
            (Ok(f @ (JF::Send | JF::Poll | JF::Txn)), Body::Mops(ms)) => {
                // One micro-op on both sides of a :send/:poll is a plain
                // send/poll; anything else a transaction (an invocation
                // and its completion may differ in micro-ops: [[:poll]] →
                // [[:poll {…}] [:poll {…}]]).
                let inv_len = pending.and_then(|x| x.1).map_or(ms.len(), |x| x.0);
                let single = ms.len() == 1 && inv_len == 1 && *f != JF::Txn;
                if !single {
                    transactional = true;
                }
                if jop.kind == OpType::Ok && *f == JF::Poll {
                    if jop.final_poll && !runs.contains_key(&p) {
                        runs.insert(
                            p.clone(),
                            FinalRun {
                                line,
                                keys: BTreeSet::new(),
                                grow: true,
                                records: BTreeMap::new(),
                            },
                        );
                    }
                    if let Some(run) = runs.get_mut(&p) {
                        for m in ms {
                            if let Mop::Poll(kv) = m {
                                for (k, prs) in kv {
                                    if run.grow {
                                        run.keys.insert(*k);
                                    }
                                    let e = run.records.entry(*k).or_default();
                                    for (o, v) in prs {
                                        e.push((*o, enc_at(*k, v, line)?));
                                    }
                                }
                            }
                        }
                    }
                }
                let mut build = |invoke: bool| -> Result<Op, CheckError> {
                    let mut records = Vec::new();
                    let mut txn = Txn::default();
                    for m in ms {
                        match m {
                            Mop::Send { k, off, v } => txn.ops.push(MicroOp::Send(Send {
                                key: *k as u64,
                                value: enc_at(*k, v, line)?,
                                partition: if invoke { None } else { Some(*k as i32) },
                                offset: if invoke { None } else { *off },
                            })),
                            Mop::Poll(kv) => {
                                records.clear();
                                if !invoke {
                                    for (k, prs) in kv {
                                        for (o, v) in prs {
                                            records.push(Record {
                                                partition: *k as i32,
                                                offset: *o,
                                                key: *k as u64,
                                                value: enc_at(*k, v, line)?,
                                            });
                                        }
                                    }
                                }
                                txn.ops.push(MicroOp::Poll(Poll {
                                    records: std::mem::take(&mut records),
                                    ..Default::default()
                                }));
                            }
                        }
                    }
                    let kind = if invoke { OpType::Invoke } else { jop.kind };
                    Ok(match (single, txn.ops.pop()) {
                        (true, Some(MicroOp::Send(s))) => {
                            Op::new(p.clone(), kind, F::Send).with_value(&s)
                        }
                        (true, Some(MicroOp::Poll(poll))) => {
                            let o = Op::new(p.clone(), kind, F::Poll);
                            if invoke {
                                o
                            } else {
                                o.with_value(&poll)
                            }
                        }
                        (_, last) => {
                            txn.ops.extend(last);
                            Op::new(p.clone(), kind, F::Txn).with_value(&txn)
                        }
                    })
                };
                let same = pending.and_then(|x| x.1) == Some((ms.len(), shape(ms)));
                if let (Some((at, _)), false) = (pending, same) {
                    // The invocation says what the completion's micro-ops
                    // are, without results (Jepsen's checker reads only the
                    // completion; its tests' invocations may name other
                    // values). Rebuilt only when it differs.
                    let mut inv = build(true)?;
                    inv.index = em.ops[at].index;
                    inv.time = em.ops[at].time;
                    inv.error = em.ops[at].error.take();
                    em.ops[at] = inv;
                }
                let op = build(jop.kind == OpType::Invoke)?;
                if completion {
                    let at = em.ops.len() as u64;
                    for k in &jop.rebalanced {
                        excused.push((at, *k as i32));
                    }
                }
                op
            }
            (Ok(JF::Assign), Body::Keys { keys, seek }) => {
                let now: BTreeSet<i64> = keys.iter().copied().collect();
                let held = assigned.entry(p.clone()).or_default();
                let revoked: Vec<i32> = held.difference(&now).map(|k| *k as i32).collect();
                // Jepsen's checker: an assign that did not fail (ok or
                // info) took effect.
                let took = matches!(jop.kind, OpType::Ok | OpType::Info);
                if took {
                    *held = now.clone();
                    if *seek {
                        runs.insert(
                            p.clone(),
                            FinalRun {
                                line,
                                keys: now.clone(),
                                grow: false,
                                records: BTreeMap::new(),
                            },
                        );
                    }
                }
                let a = Assignment {
                    partitions: now.iter().map(|k| *k as i32).collect(),
                    seek: if *seek {
                        now.iter().map(|k| (*k as i32, 0)).collect()
                    } else {
                        Vec::new()
                    },
                    revoked: if completion { revoked } else { Vec::new() },
                    ..Default::default()
                };
                Op::new(p.clone(), jop.kind, F::Assign).with_value(&a)
            }
            (Ok(JF::Subscribe), Body::Keys { keys, .. }) => {
                let s = Subscribe {
                    topics: vec![TOPIC.to_string()],
                    group: None,
                    ..Default::default()
                };
                let op = Op::new(p.clone(), jop.kind, F::Subscribe).with_value(&s);
                if matches!(jop.kind, OpType::Ok | OpType::Info) {
                    let mut o = op;
                    if let Some(e) = &jop.error {
                        o = o.with_error(e.clone());
                    }
                    em.push(o, jop.time, line);
                    let now: BTreeSet<i64> = keys.iter().copied().collect();
                    let held = assigned.entry(p.clone()).or_default();
                    let a = Assignment {
                        partitions: now.iter().map(|k| *k as i32).collect(),
                        seek: Vec::new(),
                        revoked: held.difference(&now).map(|k| *k as i32).collect(),
                        ..Default::default()
                    };
                    *held = now;
                    let r = Op::new(p.clone(), OpType::Info, F::Rebalance)
                        .with_value(&a)
                        .with_error(
                            "inferred: Jepsen's checker takes a subscribe to assign its keys",
                        );
                    em.synthetic += 1;
                    em.push(r, jop.time, line);
                    fix_placeholder(&mut em, pending, jop, F::Subscribe, &s);
                    continue;
                }
                op
            }
            (Ok(JF::Crash), _) => {
                assigned.remove(&p);
                Op::new(p.clone(), jop.kind, F::Crash)
            }
            (Err(name), Body::Json(v)) if p == Process::Nemesis => {
                let f = match name.as_str() {
                    "kill" => "start-kill",
                    "start" => "stop-kill",
                    "pause" => "start-pause",
                    "resume" => "stop-pause",
                    other => other,
                };
                // Jepsen's nemesis writes both halves of an op as :info:
                // the first is the invocation.
                let kind = match (jop.kind, nemesis_pending.get(&p)) {
                    (OpType::Invoke, _) | (_, None) => {
                        nemesis_pending.insert(p.clone(), f.to_string());
                        OpType::Invoke
                    }
                    (k, Some(pending)) if pending == f => {
                        nemesis_pending.remove(&p);
                        k
                    }
                    (_, Some(pending)) => {
                        return Err(edn_err(
                            line,
                            format!("nemesis op :{name} while :{pending} has not completed"),
                        ))
                    }
                };
                Op::new(p.clone(), kind, f).with_value(v)
            }
            (Err(name), Body::Json(v)) => Op::new(p.clone(), jop.kind, name.as_str()).with_value(v),
            _ => unreachable!("the body follows the f"),
        };
        let op = match &jop.error {
            Some(e) => op.with_error(e.clone()),
            None => op,
        };
        if let (Some((at, _)), false) =
            (pending, matches!(jop.f, Ok(JF::Send | JF::Poll | JF::Txn)))
        {
            // A synthesized invocation of an assign or crash: the
            // completion's f and value.
            let mut inv = Op::new(p.clone(), OpType::Invoke, op.f.clone());
            inv.value = op.value.clone();
            inv.index = em.ops[at].index;
            inv.time = em.ops[at].time;
            if em.ops[at].f == F::Crash && em.ops[at].value.get() == "null" {
                em.ops[at] = inv;
            }
        }
        if !completion && client {
            let n = match &jop.body {
                Body::Mops(ms) => Some((ms.len(), shape(ms))),
                _ => None,
            };
            let at = em.push(op, jop.time, line);
            in_flight.insert(p, (at, n));
            continue;
        }
        em.push(op, jop.time, line);
    }
    done_runs.extend(runs.into_values());
    done_runs.sort_by_key(|r| r.line);

    // 4. Final reads.
    let mut final_reads = 0u64;
    let final_p = Process::Named("final".into());
    for run in done_runs {
        for k in &run.keys {
            let got = run.records.get(k).map_or(&[][..], |v| &v[..]);
            let ks = known.get(k);
            let mut recs: Vec<Record> = Vec::with_capacity(got.len());
            for (o, v) in got {
                if let Some(prev) = recs.last() {
                    let jumps = ks.is_some_and(|s| s.range(prev.offset + 1..*o).next().is_some());
                    if *o <= prev.offset || jumps {
                        break;
                    }
                }
                recs.push(Record {
                    partition: *k as i32,
                    offset: *o,
                    key: *k as u64,
                    value: *v,
                });
            }
            let fr = FinalRead {
                partition: *k as i32,
                start_offset: 0,
                high_watermark: recs.last().map_or(0, |r| r.offset + 1),
                records: recs,
            };
            let inv = Op::new(final_p.clone(), OpType::Invoke, F::FinalRead)
                .with_value(&serde_json::json!({ "partition": k }));
            em.push(inv, last_time, run.line);
            em.push(
                Op::new(final_p.clone(), OpType::Ok, F::FinalRead).with_value(&fr),
                last_time,
                run.line,
            );
            em.synthetic += 2;
            final_reads += 1;
        }
    }

    let mut warnings = Vec::new();
    if let Some(m) = multiplier {
        warnings.push(format!(
            "values repeat across keys: value v of key k is numbered k*{m}+v (messages give \
             Jepsen's names)"
        ));
    }
    if rebalance_logs > 0 {
        warnings.push(format!(
            "{rebalance_logs} op(s) carry a :rebalance-log: under the jepsen client model their \
             rebalanced keys' internal poll skips are excused, as Jepsen's checker does; under \
             kafka-trial's they are reported"
        ));
    }
    Ok(Translation {
        synthetic: em.synthetic,
        ops: em.ops,
        lines: em.lines,
        edn_ops,
        final_reads,
        value_multiplier: multiplier,
        transactional,
        warnings,
        key_names: keys.names,
        value_names: if named {
            ValueNames::Table(value_names)
        } else if let Some(m) = multiplier {
            ValueNames::Multiplier(m)
        } else {
            ValueNames::Identity
        },
        excused,
    })
}

/// What an invocation must agree on with its completion: the micro-ops'
/// kinds and the sends' keys and values, hashed.
fn shape(ms: &[Mop]) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = crate::hash::FxHasher::default();
    for m in ms {
        match m {
            Mop::Send { k, v, .. } => (1u8, *k, v.0).hash(&mut h),
            Mop::Poll(_) => 2u8.hash(&mut h),
        }
    }
    h.finish()
}

/// A synthesized invocation of a subscribe takes the completion's value.
fn fix_placeholder(
    em: &mut Emitter,
    pending: Option<(usize, Option<(usize, u64)>)>,
    jop: &JOp,
    f: F,
    value: &Subscribe,
) {
    if let Some((at, _)) = pending {
        let mut inv = Op::new(jop.process.clone(), OpType::Invoke, f).with_value(value);
        inv.index = em.ops[at].index;
        inv.time = em.ops[at].time;
        em.ops[at] = inv;
    }
}
