//! Models for the linearizability checker: register, CAS register,
//! key-value map (a CAS register per key) and a Kafka partition log.

use super::Model;
use std::hash::{Hash, Hasher};
use std::rc::Rc;

/// A register holding an integer or nil. Reads of nil with an `ok` type
/// in Jepsen histories mean "did not say" (knossos's convention), so a read
/// output of `None` is unconstrained, like an unknown outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RegInput {
    Read,
    Write(i64),
    Cas(i64, i64),
}

/// A read's value (`None`: nil).
pub type RegOutput = Option<i64>;

fn reg_step(s: &Option<i64>, i: &RegInput, o: Option<&RegOutput>) -> Option<Option<i64>> {
    match i {
        RegInput::Read => match o {
            Some(Some(v)) if *s != Some(*v) => None,
            _ => Some(*s),
        },
        RegInput::Write(v) => Some(Some(*v)),
        RegInput::Cas(old, new) => (*s == Some(*old)).then_some(Some(*new)),
    }
}

fn reg_describe(i: &RegInput, o: Option<&RegOutput>) -> String {
    match (i, o) {
        (RegInput::Read, Some(Some(v))) => format!("read → {v}"),
        (RegInput::Read, _) => "read → ?".to_string(),
        (RegInput::Write(v), _) => format!("write {v}"),
        (RegInput::Cas(a, b), _) => format!("cas {a} → {b}"),
    }
}

/// A read/write register, initially nil.
#[derive(Debug, Clone, Copy, Default)]
pub struct Register;

impl Model for Register {
    type State = Option<i64>;
    type Input = RegInput;
    type Output = RegOutput;
    fn name(&self) -> &str {
        "register"
    }
    fn init(&self) -> Option<i64> {
        None
    }
    fn step(&self, s: &Option<i64>, i: &RegInput, o: Option<&RegOutput>) -> Option<Option<i64>> {
        match i {
            RegInput::Cas(..) => None,
            _ => reg_step(s, i, o),
        }
    }
    fn describe(&self, i: &RegInput, o: Option<&RegOutput>) -> String {
        reg_describe(i, o)
    }
}

/// A compare-and-set register, initially nil.
#[derive(Debug, Clone, Copy, Default)]
pub struct CasRegister;

impl Model for CasRegister {
    type State = Option<i64>;
    type Input = RegInput;
    type Output = RegOutput;
    fn name(&self) -> &str {
        "cas-register"
    }
    fn init(&self) -> Option<i64> {
        None
    }
    fn step(&self, s: &Option<i64>, i: &RegInput, o: Option<&RegOutput>) -> Option<Option<i64>> {
        reg_step(s, i, o)
    }
    fn describe(&self, i: &RegInput, o: Option<&RegOutput>) -> String {
        reg_describe(i, o)
    }
}

/// A map of keys to CAS registers; partitioned by key, so each key is
/// checked on its own (P-compositionality).
#[derive(Debug, Clone, Copy, Default)]
pub struct Kv;

impl Model for Kv {
    type State = Option<i64>;
    type Input = (i64, RegInput);
    type Output = RegOutput;
    fn name(&self) -> &str {
        "kv"
    }
    fn init(&self) -> Option<i64> {
        None
    }
    fn step(
        &self,
        s: &Option<i64>,
        i: &(i64, RegInput),
        o: Option<&RegOutput>,
    ) -> Option<Option<i64>> {
        reg_step(s, &i.1, o)
    }
    fn partition(&self, i: &(i64, RegInput)) -> u64 {
        i.0 as u64
    }
    fn describe(&self, i: &(i64, RegInput), o: Option<&RegOutput>) -> String {
        format!("key {}: {}", i.0, reg_describe(&i.1, o))
    }
}

/// What a `kv-append` op does to its key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum KvOp {
    Get,
    Put(String),
    Append(String),
}

/// A `kv-append` op: its key (interned to a number when the history is
/// read, so that partitions are exact, and kept by name for messages).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KvAppendInput {
    pub key: u64,
    pub name: std::sync::Arc<str>,
    pub op: KvOp,
}

/// Porcupine's key-value model: a map of string keys to string values,
/// initially empty (a missing key reads as the empty string); `get`
/// returns the value, `put` replaces it, `append` concatenates to it.
/// Partitioned by key, so each key's state is one string.
#[derive(Debug, Clone, Copy, Default)]
pub struct KvAppend;

impl Model for KvAppend {
    type State = String;
    type Input = KvAppendInput;
    /// A get's value (nil reads as the empty string).
    type Output = String;
    fn name(&self) -> &str {
        "kv-append"
    }
    fn init(&self) -> String {
        String::new()
    }
    fn step(&self, s: &String, i: &KvAppendInput, o: Option<&String>) -> Option<String> {
        match &i.op {
            KvOp::Get => match o {
                Some(v) if v != s => None,
                _ => Some(s.clone()),
            },
            KvOp::Put(v) => Some(v.clone()),
            KvOp::Append(v) => {
                let mut t = String::with_capacity(s.len() + v.len());
                t.push_str(s);
                t.push_str(v);
                Some(t)
            }
        }
    }
    fn partition(&self, i: &KvAppendInput) -> u64 {
        i.key
    }
    fn describe(&self, i: &KvAppendInput, o: Option<&String>) -> String {
        match (&i.op, o) {
            (KvOp::Get, Some(v)) => format!("get({:?}) → {v:?}", &*i.name),
            (KvOp::Get, None) => format!("get({:?}) → ?", &*i.name),
            (KvOp::Put(v), _) => format!("put({:?}, {v:?})", &*i.name),
            (KvOp::Append(v), _) => format!("append({:?}, {v:?})", &*i.name),
        }
    }
    fn describe_state(&self, s: &String) -> String {
        format!("{s:?}")
    }
}

/// A Kafka partition log: `Send(v)` appends v and returns its offset;
/// `Read(from)` returns a contiguous slice `log[from..from+k]` of the log
/// as it stood at one instant (any k, up to the end). Partitioned by Kafka
/// partition. Offsets are relative to the partition's first offset.
///
/// Transactions ([`super::log`] has the semantics) are carried by the
/// values, so that this model, the search and the greedy stay one log of
/// `u64`s: a record no read_committed read may return (an aborted
/// record, a transaction marker) has [`HIDDEN`] set in its log value; a
/// read's [`HIDDEN`] alone (the wildcard) is an offset it skipped, and
/// matches any hidden record ([`read_matches`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct Log;

/// The bit of a log value that no read_committed read may return (an
/// aborted record, a transaction marker); alone in a read: "skipped".
pub const HIDDEN: u64 = 1 << 63;
/// With [`HIDDEN`]: a transaction marker (or another record no send of the
/// history explains) at the offset in the low bits.
pub const MARKER: u64 = 1 << 62;
/// With [`HIDDEN`] and [`MARKER`], in a read: a record of the reading
/// transaction itself, before it committed — no log value matches it.
pub const OWN: u64 = 1 << 61;

/// Does a read's value match the log's value at its offset? Equal, or the
/// read skipped an offset that holds a hidden record.
#[inline]
pub fn read_matches(read: u64, log: u64) -> bool {
    read == log || (read == HIDDEN && log & HIDDEN != 0)
}

/// A value as a person reads it.
pub fn show_value(v: u64) -> String {
    if v & HIDDEN == 0 {
        v.to_string()
    } else if v == HIDDEN {
        "(skipped)".to_string()
    } else if v & OWN != 0 && v & MARKER != 0 {
        format!(
            "{} (its own transaction's, uncommitted)",
            v & !(HIDDEN | MARKER | OWN)
        )
    } else if v & MARKER != 0 {
        "(marker)".to_string()
    } else {
        format!("{} (aborted)", v & !HIDDEN)
    }
}

fn show_values(vs: &[u64]) -> String {
    let v: Vec<String> = vs.iter().map(|&v| show_value(v)).collect();
    format!("[{}]", v.join(", "))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LogInput {
    Send { partition: i32, value: u64 },
    Read { partition: i32, from: u64 },
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum LogOutput {
    /// The offset a send was acknowledged at.
    Offset(u64),
    /// The values a read returned, from its `from` offset on.
    Values(Vec<u64>),
}

/// A persistent (shared-prefix) log, so that states are cheap to clone and
/// to keep in the search cache.
#[derive(Clone, Default)]
pub struct LogState(Option<Rc<LogNode>>);

pub struct LogNode {
    value: u64,
    len: u64,
    hash: u64,
    prev: Option<Rc<LogNode>>,
}

impl LogState {
    pub fn len(&self) -> u64 {
        self.0.as_ref().map_or(0, |n| n.len)
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    fn hash_value(&self) -> u64 {
        self.0.as_ref().map_or(0, |n| n.hash)
    }
    fn push(&self, v: u64) -> LogState {
        let h = (self.hash_value().rotate_left(5) ^ v).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        LogState(Some(Rc::new(LogNode {
            value: v,
            len: self.len() + 1,
            hash: h,
            prev: self.0.clone(),
        })))
    }
    /// `log[from..from+k]`, if the log is that long.
    fn slice(&self, from: u64, k: usize) -> Option<Vec<u64>> {
        let end = from + k as u64;
        if end > self.len() {
            return None;
        }
        let mut out = vec![0u64; k];
        let mut cur = self.0.as_ref();
        while let Some(n) = cur {
            if n.len <= from {
                break;
            }
            if n.len <= end {
                out[(n.len - 1 - from) as usize] = n.value;
            }
            cur = n.prev.as_ref();
        }
        Some(out)
    }
    /// The whole log, oldest first (for descriptions).
    pub fn to_vec(&self) -> Vec<u64> {
        self.slice(0, self.len() as usize).unwrap_or_default()
    }
}

impl PartialEq for LogState {
    fn eq(&self, o: &LogState) -> bool {
        if self.len() != o.len() || self.hash_value() != o.hash_value() {
            return false;
        }
        let (mut a, mut b) = (self.0.as_ref(), o.0.as_ref());
        loop {
            match (a, b) {
                (Some(x), Some(y)) => {
                    if Rc::ptr_eq(x, y) {
                        return true;
                    }
                    if x.value != y.value {
                        return false;
                    }
                    a = x.prev.as_ref();
                    b = y.prev.as_ref();
                }
                (None, None) => return true,
                _ => return false,
            }
        }
    }
}
/// A log as its `Debug` shows it: the last 8 values of a long one.
pub fn fmt_log(v: &[u64]) -> String {
    if v.len() > 12 {
        format!(
            "[… {} values …, {}]",
            v.len() - 8,
            show_values(&v[v.len() - 8..])
        )
    } else {
        show_values(v)
    }
}

impl Eq for LogState {}
impl Hash for LogState {
    fn hash<H: Hasher>(&self, h: &mut H) {
        h.write_u64(self.hash_value());
        h.write_u64(self.len());
    }
}
impl std::fmt::Debug for LogState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", fmt_log(&self.to_vec()))
    }
}

impl Model for Log {
    type State = LogState;
    type Input = LogInput;
    type Output = LogOutput;
    fn name(&self) -> &str {
        "log"
    }
    fn init(&self) -> LogState {
        LogState::default()
    }
    fn step(&self, s: &LogState, i: &LogInput, o: Option<&LogOutput>) -> Option<LogState> {
        match (i, o) {
            (LogInput::Send { value, .. }, Some(LogOutput::Offset(off))) => {
                (s.len() == *off).then(|| s.push(*value))
            }
            (LogInput::Send { value, .. }, _) => Some(s.push(*value)),
            (LogInput::Read { from, .. }, Some(LogOutput::Values(vs))) => {
                let log = s.slice(*from, vs.len())?;
                log.iter()
                    .zip(vs)
                    .all(|(&l, &r)| read_matches(r, l))
                    .then(|| s.clone())
            }
            (LogInput::Read { .. }, _) => Some(s.clone()),
        }
    }
    fn partition(&self, i: &LogInput) -> u64 {
        match i {
            LogInput::Send { partition, .. } | LogInput::Read { partition, .. } => {
                *partition as u32 as u64
            }
        }
    }
    fn describe(&self, i: &LogInput, o: Option<&LogOutput>) -> String {
        match (i, o) {
            (LogInput::Send { partition, value }, Some(LogOutput::Offset(off))) => {
                format!("send {} to {partition} → offset {off}", show_value(*value))
            }
            (LogInput::Send { partition, value }, _) => {
                format!("send {} to {partition} → ?", show_value(*value))
            }
            (LogInput::Read { partition, from }, Some(LogOutput::Values(v))) => {
                format!("read {partition} from {from} → {}", show_values(v))
            }
            (LogInput::Read { partition, from }, _) => format!("read {partition} from {from} → ?"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_state_slices_and_compares() {
        let a = LogState::default().push(1).push(2).push(3);
        assert_eq!(a.slice(1, 2), Some(vec![2, 3]));
        assert_eq!(a.slice(0, 0), Some(vec![]));
        assert_eq!(a.slice(2, 2), None);
        let b = LogState::default().push(1).push(2).push(3);
        assert_eq!(a, b);
        assert_ne!(a, LogState::default().push(1).push(3).push(2));
        assert_eq!(a.to_vec(), vec![1, 2, 3]);
    }
}
