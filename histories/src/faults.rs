//! Fault intervals: when the nemesis had which fault active, computed once
//! from its `start-<kind>` / `stop-<kind>` / `heal` completions, for every
//! reader (the checkers' stats and effects, the report).
//!
//! The rules:
//! - A `start-<kind>` completion of type `info` or `ok` opens an interval
//!   of that kind at the completion's time. A start that completed `fail`
//!   definitely did nothing (the nemesis says so), so it opens nothing.
//! - The nemesis numbers its actions: a start and the stop that undoes it
//!   carry the same `id` in their values. Each start with an `id` opens an
//!   interval of its own, so two kills that overlap are two intervals (two
//!   nodes down at once), and `stop-<kind>` (any completion type: a stop
//!   that failed is still the end of what we know) closes the interval of
//!   its `id`. Histories without ids (older ones, hand-written ones): a
//!   second start of a kind already open extends the open one (the first
//!   start's time, op and nodes stay), and a stop closes every open
//!   interval of its kind. `heal` closes every open interval.
//! - An interval still open when the history ends ends at the history's
//!   last time and is marked `stopped: false`.
//!
//! Only completions of the process `nemesis` open and close intervals;
//! invocations are the nemesis's intent, not what it did. An interval also
//! keeps when its start was invoked (`invoked_ns`): the cluster may react
//! while a multi-node action is still under way, so the `effects` checker
//! looks from then on.

use crate::op::{Op, OpType, Process};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// One fault, from the completion of its start to its stop (or heal).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaultInterval {
    /// `partition`, `kill`, `pause`, … (the `start-` prefix removed).
    pub kind: String,
    /// When the nemesis began the start action (its `invoke`): the cluster
    /// may already react while a multi-node action is under way. Equal to
    /// `start_ns` when the history has no such invoke.
    #[serde(default)]
    pub invoked_ns: u64,
    pub start_ns: u64,
    pub end_ns: u64,
    /// False when no stop or heal was recorded (the history ended first).
    pub stopped: bool,
    /// Index of the `start-<kind>` completion.
    pub start_op: u64,
    /// Index of the op that ended it, if any.
    pub end_op: Option<u64>,
    /// The nodes the fault hit: the `nodes` list of the start's value, or
    /// for a partition (a `grudge`) the nodes outside the largest side.
    /// Empty when the value names none.
    pub nodes: Vec<String>,
    /// The start completion's value, as JSON text (what the nemesis did).
    pub detail: String,
    /// The nodes where a step of the start failed, with why (the value's
    /// `failed`): the fault did not fully apply there. Empty when every
    /// step succeeded (and in histories written before it was recorded).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub failed: BTreeMap<String, String>,
}

/// Every fault interval of a history, sorted by start, and the time during
/// which at least one fault was active.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FaultIntervals {
    pub intervals: Vec<FaultInterval>,
    /// Nanoseconds during which at least one fault was active (the union
    /// of the intervals).
    pub active_ns: u64,
}

impl FaultIntervals {
    /// Compute the intervals of a whole history in memory.
    pub fn of_ops<'a>(ops: impl IntoIterator<Item = &'a Op>) -> FaultIntervals {
        let mut t = FaultTracker::new();
        let mut end = 0;
        for op in ops {
            end = end.max(op.time);
            t.push(op);
        }
        t.finish(end)
    }

    /// Is some fault active at `t` (start ≤ t < end)?
    pub fn active_at(&self, t: u64) -> bool {
        self.intervals
            .iter()
            .any(|f| f.start_ns <= t && t < f.end_ns)
    }
}

struct OpenFault {
    invoked_ns: u64,
    start_ns: u64,
    start_op: u64,
    nodes: Vec<String>,
    detail: String,
    failed: BTreeMap<String, String>,
}

/// Streaming form: feed every op in history order ([`FaultTracker::push`]),
/// ask [`FaultTracker::active`] between ops, then [`FaultTracker::finish`].
/// An open fault: its kind and the nemesis's action id, if the history
/// has ids.
type FaultKey = (String, Option<u64>);

#[derive(Default)]
pub struct FaultTracker {
    open: BTreeMap<FaultKey, OpenFault>,
    /// Invocation time of each `start-<kind>` not yet completed.
    invoked: BTreeMap<FaultKey, u64>,
    done: Vec<FaultInterval>,
    active_ns: u64,
    /// When the set of open faults last became non-empty.
    active_since: Option<u64>,
}

impl FaultTracker {
    pub fn new() -> Self {
        Self::default()
    }

    /// Is at least one fault open now?
    pub fn active(&self) -> bool {
        !self.open.is_empty()
    }

    /// Feed one op (any op: only nemesis completions matter).
    pub fn push(&mut self, op: &Op) {
        if op.process != Process::Nemesis {
            return;
        }
        let f = op.f.as_str();
        let id = action_id(op.value.get());
        if op.kind == OpType::Invoke {
            if let Some(kind) = f.strip_prefix("start-") {
                self.invoked.insert((kind.to_string(), id), op.time);
            }
            return;
        }
        if let Some(kind) = f.strip_prefix("start-") {
            let key = (kind.to_string(), id);
            let invoked_ns = self.invoked.remove(&key).unwrap_or(op.time).min(op.time);
            if op.kind == OpType::Fail {
                return;
            }
            // Without an id, a start of a kind already open extends it.
            if id.is_none() && self.open.keys().any(|(k, _)| k == kind) {
                return;
            }
            if self.open.is_empty() {
                self.active_since = Some(op.time);
            }
            self.open.entry(key).or_insert_with(|| OpenFault {
                invoked_ns,
                start_ns: op.time,
                start_op: op.index,
                nodes: nodes_hit(op.value.get()),
                detail: op.value.get().to_string(),
                failed: failed_nodes(op.value.get()),
            });
        } else if let Some(kind) = f.strip_prefix("stop-") {
            // The start this stop undoes, else (no ids, or a start that
            // had none) every open fault of the kind.
            let mine: Vec<FaultKey> = match id {
                Some(i) if self.open.contains_key(&(kind.to_string(), Some(i))) => {
                    vec![(kind.to_string(), Some(i))]
                }
                Some(_) => self
                    .open
                    .keys()
                    .filter(|(k, i)| k == kind && i.is_none())
                    .cloned()
                    .collect(),
                None => self
                    .open
                    .keys()
                    .filter(|(k, _)| k == kind)
                    .cloned()
                    .collect(),
            };
            for key in mine {
                if let Some(o) = self.open.remove(&key) {
                    self.close(key.0, o, op.time, Some(op.index));
                }
            }
        } else if f == "heal" {
            for ((kind, _), o) in std::mem::take(&mut self.open) {
                self.close(kind, o, op.time, Some(op.index));
            }
        }
    }

    fn close(&mut self, kind: String, o: OpenFault, end: u64, end_op: Option<u64>) {
        let end = end.max(o.start_ns);
        self.done.push(FaultInterval {
            kind,
            invoked_ns: o.invoked_ns,
            start_ns: o.start_ns,
            end_ns: end,
            stopped: end_op.is_some(),
            start_op: o.start_op,
            end_op,
            nodes: o.nodes,
            detail: o.detail,
            failed: o.failed,
        });
        if self.open.is_empty() {
            if let Some(s) = self.active_since.take() {
                self.active_ns += end.saturating_sub(s);
            }
        }
    }

    /// End of history at `end_ns`: close what is still open (unstopped).
    pub fn finish(mut self, end_ns: u64) -> FaultIntervals {
        for ((kind, _), o) in std::mem::take(&mut self.open) {
            self.close(kind, o, end_ns, None);
        }
        self.done
            .sort_by(|a, b| (a.start_ns, a.end_ns, &a.kind).cmp(&(b.start_ns, b.end_ns, &b.kind)));
        FaultIntervals {
            intervals: self.done,
            active_ns: self.active_ns,
        }
    }
}

/// Could serde decode a struct from this value (an object, or an array of
/// its fields)? Most nemesis values are a string or `null`: serde's error
/// for them (a formatted message, thrown away) cost a few thousand
/// instructions per nemesis op, twice.
fn may_be_struct(value: &str) -> bool {
    matches!(value.trim_start().as_bytes().first(), Some(b'{' | b'['))
}

/// The nemesis's action id in a start's or stop's value (`{"id": 7, …}`).
fn action_id(value: &str) -> Option<u64> {
    if !may_be_struct(value) {
        return None;
    }
    #[derive(Deserialize)]
    struct Id {
        #[serde(default)]
        id: Option<u64>,
    }
    serde_json::from_str::<Id>(value).ok().and_then(|v| v.id)
}

#[derive(Deserialize)]
struct StartValue {
    #[serde(default)]
    nodes: Option<Vec<String>>,
    #[serde(default)]
    grudge: Option<BTreeMap<String, Vec<String>>>,
    /// The part of the grudge in force when some rules failed.
    #[serde(default)]
    applied_grudge: Option<BTreeMap<String, Vec<String>>>,
}

/// The nodes where a step of a start failed, with why: its value's
/// `failed` object (node → reason). Empty when it has none.
pub fn failed_nodes(value: &str) -> BTreeMap<String, String> {
    if !may_be_struct(value) {
        return BTreeMap::new();
    }
    #[derive(Deserialize)]
    struct Failed {
        #[serde(default)]
        failed: Option<BTreeMap<String, serde_json::Value>>,
    }
    let Ok(Failed { failed: Some(f) }) = serde_json::from_str::<Failed>(value) else {
        return BTreeMap::new();
    };
    f.into_iter()
        .map(|(n, r)| {
            let r = match r {
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            };
            (n, r)
        })
        .collect()
}

/// The nodes a start's value says it hit: its `nodes` list, or for a
/// grudge (node → nodes it cannot hear; the `applied_grudge` when the
/// nemesis says only part of it took) the nodes outside the largest set
/// of nodes that all still hear each other (a connected component of
/// "neither holds a grudge against the other"; ties go to the side with
/// the smallest names). When the grudge leaves everyone connected (a
/// bridge, a ring), the nodes that cannot hear someone.
pub fn nodes_hit(value: &str) -> Vec<String> {
    if !may_be_struct(value) {
        return Vec::new();
    }
    let Ok(v) = serde_json::from_str::<StartValue>(value) else {
        return Vec::new();
    };
    if let Some(n) = v.nodes {
        return n;
    }
    let Some(g) = v.applied_grudge.or(v.grudge) else {
        return Vec::new();
    };
    let mut all: BTreeSet<&str> = BTreeSet::new();
    for (n, peers) in &g {
        all.insert(n);
        all.extend(peers.iter().map(String::as_str));
    }
    let cut = |a: &str, b: &str| {
        g.get(a).is_some_and(|p| p.iter().any(|x| x == b))
            || g.get(b).is_some_and(|p| p.iter().any(|x| x == a))
    };
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    let mut best: Vec<&str> = Vec::new();
    for &start in &all {
        if seen.contains(start) {
            continue;
        }
        let mut comp = vec![start];
        seen.insert(start);
        let mut i = 0;
        while i < comp.len() {
            let a = comp[i];
            for &b in &all {
                if !seen.contains(b) && !cut(a, b) {
                    seen.insert(b);
                    comp.push(b);
                }
            }
            i += 1;
        }
        if comp.len() > best.len() {
            best = comp;
        }
    }
    if best.len() == all.len() {
        return g
            .iter()
            .filter(|(_, p)| !p.is_empty())
            .map(|(n, _)| n.clone())
            .collect();
    }
    all.iter()
        .filter(|n| !best.contains(n))
        .map(|n| n.to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::op::F;

    fn nem(index: u64, time: u64, kind: OpType, f: &str, v: serde_json::Value) -> Op {
        let mut op = Op::new(Process::Nemesis, kind, F::parse(f)).with_value(&v);
        op.index = index;
        op.time = time;
        op
    }

    #[test]
    fn intervals_failed_starts_heal_and_open_ends() {
        let ops = vec![
            nem(0, 10, OpType::Invoke, "start-kill", serde_json::json!(null)),
            nem(
                1,
                11,
                OpType::Info,
                "start-kill",
                serde_json::json!({"nodes":["n2"]}),
            ),
            nem(
                2,
                12,
                OpType::Fail,
                "start-pause",
                serde_json::json!({"nodes":["n3"]}),
            ),
            nem(
                3,
                20,
                OpType::Info,
                "start-partition",
                serde_json::json!({"grudge":{"n1":["n4","n5"],"n2":["n4","n5"],"n3":["n4","n5"],"n4":["n1","n2","n3"],"n5":["n1","n2","n3"]}}),
            ),
            nem(4, 30, OpType::Info, "stop-kill", serde_json::json!(null)),
            nem(5, 40, OpType::Info, "heal", serde_json::json!(null)),
            nem(
                6,
                50,
                OpType::Info,
                "start-clock",
                serde_json::json!({"nodes":["n1"]}),
            ),
            nem(7, 60, OpType::Invoke, "stop-clock", serde_json::json!(null)),
        ];
        let fi = FaultIntervals::of_ops(&ops);
        let k: Vec<_> = fi
            .intervals
            .iter()
            .map(|f| {
                (
                    f.kind.as_str(),
                    f.start_ns,
                    f.end_ns,
                    f.stopped,
                    f.nodes.clone(),
                )
            })
            .collect();
        assert_eq!(
            k,
            vec![
                ("kill", 11, 30, true, vec!["n2".to_string()]),
                ("partition", 20, 40, true, vec!["n4".into(), "n5".into()]),
                ("clock", 50, 60, false, vec!["n1".into()]),
            ]
        );
        assert_eq!(fi.active_ns, (40 - 11) + (60 - 50));
        assert!(fi.active_at(25) && !fi.active_at(45));
    }

    /// Two kills that overlap are two intervals (two nodes down at once),
    /// each closed by the stop with its id; without ids the second start
    /// extends the first, as before.
    #[test]
    fn overlapping_starts_of_one_kind_are_kept_apart_by_their_ids() {
        use serde_json::json;
        let ops = vec![
            nem(
                0,
                10,
                OpType::Info,
                "start-kill",
                json!({"id":1,"nodes":["n1"]}),
            ),
            nem(
                1,
                20,
                OpType::Info,
                "start-kill",
                json!({"id":2,"nodes":["n2"]}),
            ),
            nem(2, 30, OpType::Info, "stop-kill", json!({"id":1})),
            nem(3, 40, OpType::Info, "stop-kill", json!({"id":2})),
            nem(
                4,
                50,
                OpType::Fail,
                "start-kill",
                json!({"id":3,"nodes":["n3"]}),
            ),
            nem(5, 55, OpType::Info, "stop-kill", json!({"id":3})),
        ];
        let fi = FaultIntervals::of_ops(&ops);
        let k: Vec<_> = fi
            .intervals
            .iter()
            .map(|f| (f.start_ns, f.end_ns, f.nodes.clone(), f.end_op))
            .collect();
        assert_eq!(
            k,
            vec![
                (10, 30, vec!["n1".to_string()], Some(2)),
                (20, 40, vec!["n2".to_string()], Some(3)),
            ]
        );
        assert_eq!(fi.active_ns, 30);

        let legacy = vec![
            nem(0, 10, OpType::Info, "start-kill", json!({"nodes":["n1"]})),
            nem(1, 20, OpType::Info, "start-kill", json!({"nodes":["n2"]})),
            nem(2, 30, OpType::Info, "stop-kill", json!(null)),
        ];
        let fi = FaultIntervals::of_ops(&legacy);
        assert_eq!(fi.intervals.len(), 1);
        assert_eq!((fi.intervals[0].start_ns, fi.intervals[0].end_ns), (10, 30));
        assert_eq!(fi.intervals[0].nodes, vec!["n1".to_string()]);
    }

    /// A start that failed on some nodes keeps their reasons; a
    /// partition whose rules took only in part hits what took.
    #[test]
    fn failed_steps_are_kept_per_node() {
        use serde_json::json;
        let ops = vec![nem(
            0,
            10,
            OpType::Info,
            "start-power-loss",
            json!({"id": 1, "nodes": ["n1", "n2", "n3"], "dropped": {"n1": {}},
                   "failed": {"n2": "drop-unfsynced: busy", "n3": "drop-unfsynced: busy"}}),
        )];
        let fi = FaultIntervals::of_ops(&ops);
        let f = &fi.intervals[0];
        assert_eq!(f.nodes.len(), 3);
        assert_eq!(
            f.failed.keys().collect::<Vec<_>>(),
            vec!["n2", "n3"],
            "{f:?}"
        );
        assert_eq!(f.failed["n2"], "drop-unfsynced: busy");
        let g = r#"{"grudge":{"n1":["n2","n3"],"n2":["n1"],"n3":["n1"]},
                    "applied_grudge":{"n1":[],"n2":["n1"],"n3":["n1"]},
                    "failed":{"n1":"iptables: exit 4"}}"#;
        // n1 still cannot be heard by the others: cut off either way.
        assert_eq!(nodes_hit(g), vec!["n1".to_string()]);
        let g = r#"{"grudge":{"n1":["n2"],"n2":["n1"],"n3":[]},
                    "applied_grudge":{"n1":[],"n2":[],"n3":[]}}"#;
        assert!(nodes_hit(g).is_empty(), "nothing took, nothing hit");
        assert!(failed_nodes("null").is_empty());
        assert!(failed_nodes(r#"{"failed": 3}"#).is_empty());
    }

    #[test]
    fn bridge_grudge_hits_the_nodes_that_cannot_hear() {
        let v = r#"{"grudge":{"n1":["n4"],"n4":["n1"],"n2":[],"n3":[]}}"#;
        assert_eq!(nodes_hit(v), vec!["n1".to_string(), "n4".to_string()]);
        assert!(nodes_hit("null").is_empty());
    }
}
