//! The operation model: one line of a history.

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;
use std::fmt;

/// Who performed an operation: a client worker (by number) or the nemesis,
/// or another named actor of the harness (e.g. `"final"` for final reads).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Process {
    /// A client worker; each worker is one logical process of the history.
    Worker(u64),
    /// The fault injector.
    Nemesis,
    /// Any other named actor of the harness.
    Named(String),
}

impl Process {
    /// The worker number, if this is a worker.
    pub fn worker(&self) -> Option<u64> {
        match self {
            Process::Worker(n) => Some(*n),
            _ => None,
        }
    }
}

impl fmt::Display for Process {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Process::Worker(n) => write!(f, "{n}"),
            Process::Nemesis => f.write_str("nemesis"),
            Process::Named(s) => f.write_str(s),
        }
    }
}

impl Serialize for Process {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Process::Worker(n) => s.serialize_u64(*n),
            Process::Nemesis => s.serialize_str("nemesis"),
            Process::Named(n) => s.serialize_str(n),
        }
    }
}

impl<'de> Deserialize<'de> for Process {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Process;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a worker number or a process name such as \"nemesis\"")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Process, E> {
                Ok(Process::Worker(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Process, E> {
                u64::try_from(v)
                    .map(Process::Worker)
                    .map_err(|_| E::custom("process number must not be negative"))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Process, E> {
                Ok(match v {
                    "nemesis" => Process::Nemesis,
                    other => Process::Named(other.to_string()),
                })
            }
        }
        d.deserialize_any(V)
    }
}

/// The type of an operation: an invocation or one of three completions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OpType {
    /// The operation was started.
    Invoke,
    /// It definitely happened.
    Ok,
    /// It definitely did not happen.
    Fail,
    /// We do not know whether it happened (a timeout, a lost connection):
    /// checkers must treat it as possibly happened.
    Info,
}

impl OpType {
    pub fn as_str(self) -> &'static str {
        match self {
            OpType::Invoke => "invoke",
            OpType::Ok => "ok",
            OpType::Fail => "fail",
            OpType::Info => "info",
        }
    }
    pub fn is_completion(self) -> bool {
        self != OpType::Invoke
    }
}

impl fmt::Display for OpType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The function of an operation. The known ones are variants (cheap to
/// compare and to parse); anything else is kept by name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum F {
    /// A keyed produce of one record (value: [`crate::values::Send`]).
    Send,
    /// One consumer poll (value: [`crate::values::Poll`]).
    Poll,
    /// A transaction of sends and polls (value: [`crate::values::Txn`]).
    Txn,
    /// Manual assignment of partitions to a consumer.
    Assign,
    /// Subscription of a consumer to topics in a group.
    Subscribe,
    /// A consumer-group rebalance observed by a client (new assignment).
    Rebalance,
    /// A client closed and reopened its connection after an error.
    Crash,
    /// A group member committed offsets (value: [`crate::values::Commit`]).
    Commit,
    /// After heal: the group's committed offsets (value:
    /// [`crate::values::Committed`]).
    Committed,
    /// A group member left its group cleanly (closed its consumer).
    Leave,
    /// A group member stopped polling on purpose (value:
    /// [`crate::values::Stall`]).
    Stall,
    /// After heal: a fresh consumer read one partition from offset 0 to its
    /// high watermark (value: [`crate::values::FinalRead`]).
    FinalRead,
    /// The nemesis healed every fault.
    Heal,
    /// A sample of the cluster's state by the observer (process
    /// `"observer"`; value: [`crate::values::Observation`]).
    Observe,
    /// Anything else, e.g. nemesis actions such as `start-partition`.
    Other(String),
}

impl F {
    pub fn as_str(&self) -> &str {
        match self {
            F::Send => "send",
            F::Poll => "poll",
            F::Txn => "txn",
            F::Assign => "assign",
            F::Subscribe => "subscribe",
            F::Rebalance => "rebalance",
            F::Crash => "crash",
            F::Commit => "commit",
            F::Committed => "committed",
            F::Leave => "leave",
            F::Stall => "stall",
            F::FinalRead => "final-read",
            F::Heal => "heal",
            F::Observe => "observe",
            F::Other(s) => s,
        }
    }

    /// May a completion of this `f` stand alone, without an invocation of
    /// its own (also while another op of its process is in flight)? True of
    /// `crash`, `rebalance` and `commit` (an asynchronous or automatic
    /// commit's outcome): a client reports them as they happen.
    pub fn can_stand_alone(&self) -> bool {
        matches!(self, F::Crash | F::Rebalance | F::Commit)
    }

    pub fn parse(s: &str) -> F {
        match s {
            "send" => F::Send,
            "poll" => F::Poll,
            "txn" => F::Txn,
            "assign" => F::Assign,
            "subscribe" => F::Subscribe,
            "rebalance" => F::Rebalance,
            "crash" => F::Crash,
            "commit" => F::Commit,
            "committed" => F::Committed,
            "leave" => F::Leave,
            "stall" => F::Stall,
            "final-read" => F::FinalRead,
            "heal" => F::Heal,
            "observe" => F::Observe,
            other => F::Other(other.to_string()),
        }
    }
}

impl fmt::Display for F {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<&str> for F {
    fn from(s: &str) -> F {
        F::parse(s)
    }
}

impl Serialize for F {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for F {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = F;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an operation function name")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<F, E> {
                Ok(F::parse(v))
            }
        }
        d.deserialize_str(V)
    }
}

/// One operation of a history: one JSON object per line.
///
/// `value` is kept as raw JSON text: reading a history does not build a
/// JSON tree for every op; a checker decodes the value into the typed shape
/// it needs ([`Op::value_as`]) only for the ops it looks at.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Op {
    /// Dense position in the history, from 0.
    pub index: u64,
    /// Nanoseconds since the test started.
    pub time: u64,
    pub process: Process,
    #[serde(rename = "type")]
    pub kind: OpType,
    pub f: F,
    #[serde(default = "null_raw")]
    pub value: Box<RawValue>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

fn null_raw() -> Box<RawValue> {
    RawValue::from_string("null".to_string()).expect("null is valid JSON")
}

impl PartialEq for Op {
    fn eq(&self, o: &Op) -> bool {
        self.index == o.index
            && self.time == o.time
            && self.process == o.process
            && self.kind == o.kind
            && self.f == o.f
            && self.error == o.error
            && self.value.get() == o.value.get()
    }
}

impl Op {
    /// A new op with index and time 0 (the writer assigns both) and a null value.
    pub fn new(process: Process, kind: OpType, f: impl Into<F>) -> Op {
        Op {
            index: 0,
            time: 0,
            process,
            kind,
            f: f.into(),
            value: null_raw(),
            error: None,
        }
    }

    /// Set the value from anything serialisable.
    pub fn with_value<T: Serialize + ?Sized>(mut self, v: &T) -> Op {
        self.value = serde_json::value::to_raw_value(v).unwrap_or_else(|_| null_raw());
        self
    }

    pub fn with_error(mut self, e: impl Into<String>) -> Op {
        self.error = Some(e.into());
        self
    }

    /// The completion of this invocation with the given type and the same value.
    pub fn complete(&self, kind: OpType) -> Op {
        Op {
            index: 0,
            time: 0,
            process: self.process.clone(),
            kind,
            f: self.f.clone(),
            value: self.value.clone(),
            error: None,
        }
    }

    /// Decode the value into a typed shape.
    pub fn value_as<'a, T: Deserialize<'a>>(&'a self) -> serde_json::Result<T> {
        serde_json::from_str(self.value.get())
    }

    /// The value as a JSON tree (slow; for display and tools).
    pub fn value_json(&self) -> serde_json::Value {
        serde_json::from_str(self.value.get()).unwrap_or(serde_json::Value::Null)
    }

    pub fn is_invoke(&self) -> bool {
        self.kind == OpType::Invoke
    }
}
