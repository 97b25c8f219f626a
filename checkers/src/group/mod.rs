//! Consumer groups (`group`): committed offsets, ownership of partitions,
//! rebalances (issue 15; checkers/README.md, "Consumer groups").
//!
//! Fed by the one pairing pass like every checker. A history without a
//! `subscribe` that names a group has nothing to check: after the first
//! ops, each op costs one comparison. In a group history the pass keeps,
//! per member process (one incarnation of a member: a crash or a leave
//! ends it), the partitions it owns as intervals of time; per partition,
//! the ok commits (for the order of commits, streaming) and how often each
//! offset was delivered to a member (two bytes per offset); the final
//! committed offsets and the final log. Everything else — skips, the
//! ownership overlaps and their judgement, time without an owner,
//! rebalance windows, where members started reading — is computed at the
//! end ([`analyse`]).
//!
//! The rules, in short (each class is defined in `verdict.rs`):
//! - event time is `Assignment.at` when present, else the op's `time`;
//! - a member owns p from the event that added it (`added`, or without
//!   `added` every partition of `partitions` it did not own) until the
//!   event that revoked it (`revoked`, or an assignment without it), its
//!   crash or leave invocation, or its last op;
//! - commits are ordered within a process by completion, across processes
//!   when the later one was invoked after the earlier one completed (an
//!   asynchronous or automatic commit, a standalone completion, has no
//!   invocation time: another process's commits are never ordered before
//!   it); a `reset` commit starts the partition's order afresh;
//! - double ownership is judged only if the earlier owner recorded the
//!   later owner's generation (or a later one) before their overlap ended;
//!   a later owner handed a generation older than one the earlier owner
//!   already knew holds a stale assignment, and is judged instead (if it
//!   knew the newer generation before the overlap ended).

mod analyse;
#[cfg(test)]
mod tests;

use crate::checker::{Checker, CheckerOutput, Context, Invocation, ProcKey};
use crate::hash::FxHashMap;
use crate::verdict::{AnomalyReport, Example};
use crate::{CheckError, CheckOptions};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use trial_histories::values::{
    Assignment, Commit, CommitMode, Committed, FinalRead, Partition, Poll, Record, Subscribe,
};
use trial_histories::{Op, OpType, F};

/// `checkers.group` in results.json (checkers/README.md lists every field).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GroupResults {
    /// False when no `subscribe` named a group (nothing else is then set).
    pub applicable: bool,
    pub summary: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// `group.protocol` from the first subscription (`classic`, `consumer`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignor: Option<String>,
    /// How the members commit (from the first subscription).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit_mode: Option<CommitMode>,
    /// Member processes (incarnations: a member that crashed and came back
    /// is two).
    #[serde(default)]
    pub members: u64,
    /// The most members subscribed at once.
    #[serde(default)]
    pub max_members: u64,
    /// Every class of the checker (0 included) with up to
    /// `max_examples` examples; a permitted class says why.
    #[serde(default)]
    pub anomalies: BTreeMap<String, AnomalyReport>,
    /// Ranges of skipped records (`group-skip` and `unprocessed-skip`), at
    /// most [`MAX_RANGES`].
    #[serde(default)]
    pub skips: Vec<SkipRange>,
    /// The group's committed offsets fetched after the run (`committed`),
    /// by partition; absent when the history has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub final_committed: Option<BTreeMap<Partition, i64>>,
    /// Commits by mode (`sync`, `async`, `auto`): ok, fail, info.
    #[serde(default)]
    pub commits: BTreeMap<String, CommitCounts>,
    #[serde(default)]
    pub overlaps: Overlaps,
    #[serde(default)]
    pub consume: ConsumeCounts,
    #[serde(default)]
    pub unowned: Unowned,
    #[serde(default)]
    pub rebalances: Rebalances,
    #[serde(default)]
    pub starts: Starts,
    /// `stall` invocations.
    #[serde(default)]
    pub stalls: u64,
    /// `leave` invocations.
    #[serde(default)]
    pub leaves: u64,
    /// Member crashes.
    #[serde(default)]
    pub crashes: u64,
}

/// At most this many skip ranges are listed (the counts stay exact).
pub const MAX_RANGES: usize = 100;

/// A run of consecutive records of the final log that were skipped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkipRange {
    /// `group-skip` or `unprocessed-skip`.
    pub class: String,
    pub partition: Partition,
    pub first: i64,
    pub last: i64,
    /// Records of the final log in `[first, last]`.
    pub count: u64,
    /// The value of the first one.
    pub value: u64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitCounts {
    pub ok: u64,
    pub fail: u64,
    pub info: u64,
}

/// Every stretch during which two member processes owned one partition
/// (mostly a zombie that had not yet heard it was out): a measurement;
/// `double-ownership` is the judged subset.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Overlaps {
    pub count: u64,
    pub total_ms: f64,
    pub max_ms: f64,
    /// The longest ones, at most [`MAX_RANGES`] / 10.
    #[serde(default)]
    pub longest: Vec<Overlap>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Overlap {
    pub partition: Partition,
    /// The earlier owner's and the later owner's processes.
    pub earlier: String,
    pub later: String,
    pub from_s: f64,
    pub duration_ms: f64,
    /// The later owner's generation when it got the partition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generation: Option<i32>,
    /// The earlier owner knew of that generation (a `double-ownership`).
    pub judged: bool,
}

/// How many times each record of the final log was delivered to a member
/// in an ok poll it processed (not marked `unprocessed`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ConsumeCounts {
    /// Records of the final log.
    pub records: u64,
    pub never: u64,
    pub once: u64,
    pub twice: u64,
    pub more: u64,
    /// (twice + more) / (once + twice + more); 0 when nothing was consumed.
    pub more_than_once_fraction: f64,
}

/// Time partitions spent without an owner, between the group's first
/// complete assignment and the end of the workload.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Unowned {
    /// When every partition first had an owner (s); absent if never.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub complete_at_s: Option<f64>,
    /// The end of the measured span (s): the final phase's first op
    /// (`heal`, `committed`, `final-read`), at the latest the first last
    /// op among members still running.
    pub end_s: f64,
    /// Summed over partitions (time with no member at all, and time
    /// unowned until the end, left out).
    pub total_ms: f64,
    /// The longest stretch of one partition.
    pub max_ms: f64,
    /// Per partition.
    #[serde(default)]
    pub partitions: BTreeMap<Partition, PartitionUnowned>,
    /// Summed over partitions: unowned while the group had no member at
    /// all (every member had crashed or left).
    #[serde(default)]
    pub empty_ms: f64,
    /// Summed over partitions: unowned from a last owner's end until the
    /// end of the span (members stopping at the end of the run).
    #[serde(default)]
    pub trailing_ms: f64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct PartitionUnowned {
    pub total_ms: f64,
    pub max_ms: f64,
}

/// Rebalances: the members' events, and the windows during which at
/// least one partition had no owner (after the first complete assignment).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Rebalances {
    /// `rebalance` events of members (assignments and revocations).
    pub events: u64,
    pub windows: u64,
    /// Lower median.
    pub p50_ms: f64,
    pub max_ms: f64,
    pub total_ms: f64,
}

/// Where members started reading a partition they were given, against
/// the committed offset they fetched (`Assignment.committed`; none
/// committed: the log start).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Starts {
    /// Partitions given with a known start and read afterwards.
    pub measured: u64,
    /// Started exactly there (no record of the final log in between).
    pub exact: u64,
    /// Started below: `reread` records read again in all.
    pub below: u64,
    pub reread: u64,
    /// Started above: `jumped` records passed over in all.
    pub above: u64,
    pub jumped: u64,
    /// Given, but nothing read before the member lost it.
    pub unread: u64,
}

/// Where reading should start in an interval of ownership.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expected {
    /// The committed offset the member fetched.
    Committed(i64),
    /// Nothing committed: the log start (the final read's `start_offset`).
    LogStart,
    /// A rebalance without group fields (not measured).
    Unknown,
}

/// One member process's ownership of one partition.
#[derive(Debug, Clone)]
struct Own {
    process: ProcKey,
    partition: Partition,
    start: u64,
    /// Ends (time, op index); `None` while open.
    end: Option<(u64, u64)>,
    start_op: u64,
    /// The generation of the event that added the partition.
    generation: Option<i32>,
    /// The generations the owner recorded while owning it (the adding
    /// event, later events, ok commits), each when it first rose: (generation,
    /// time, op), increasing.
    gens: Vec<(i32, u64, u64)>,
    expected: Expected,
    first_read: Option<i64>,
}

#[derive(Debug, Default)]
struct Member {
    /// Open intervals: (partition, index in `own`).
    owned: Vec<(Partition, usize)>,
    /// Its subscription's time.
    joined: u64,
    last_time: u64,
    /// Its crash or leave invocation's time.
    ended: Option<u64>,
}

/// A partition's ok commits, for their order.
#[derive(Debug, Default)]
struct PartCommits {
    /// In completion order: (completion time, running max offset, its op,
    /// its process) since the last reset.
    log: Vec<(u64, i64, u64, ProcKey)>,
    /// Per process, its highest ok commit since the last reset (offset, op).
    by_process: FxHashMap<ProcKey, (i64, u64)>,
    /// The highest ok commit since the last reset (offset, op).
    max: Option<(i64, u64)>,
}

/// Count and examples of one class.
#[derive(Debug, Default)]
struct Found {
    count: u64,
    examples: Vec<Example>,
}

impl Found {
    fn add(&mut self, n: u64, max: usize, e: impl FnOnce() -> Example) {
        self.count += n;
        if self.examples.len() < max {
            self.examples.push(e());
        }
    }
}

/// Offsets above this are not tracked (a history of a fresh topic in a
/// test never comes near; a bound keeps a corrupt offset from allocating).
const MAX_TRACKED_OFFSET: i64 = 1 << 30;
/// The high bit of a delivery count: delivered in an `unprocessed` poll.
const UNPROCESSED: u16 = 0x8000;
const COUNT: u16 = 0x7fff;

/// A partition's final read: its start offset, its records (offset,
/// value) in log order, its op.
type FinalLog = (i64, Vec<(i64, u64)>, u64);

/// The `group` checker.
pub struct GroupChecker {
    max_examples: usize,
    /// The group checked (the first subscription's) and its settings.
    group: Option<String>,
    protocol: Option<String>,
    assignor: Option<String>,
    commit_mode: Option<CommitMode>,
    other_groups: BTreeSet<String>,
    members: FxHashMap<ProcKey, Member>,
    names: FxHashMap<ProcKey, String>,
    n_members: u64,
    alive: u64,
    max_alive: u64,
    own: Vec<Own>,
    rebalance_events: u64,
    commits: BTreeMap<Partition, PartCommits>,
    /// By mode (sync, async, auto) × (ok, fail, info).
    commit_counts: [[u64; 3]; 3],
    regressions: Found,
    /// Per partition, per offset: processed deliveries | UNPROCESSED.
    deliveries: FxHashMap<Partition, Vec<u16>>,
    final_committed: Option<(u64, BTreeMap<Partition, i64>)>,
    /// Per partition: the final read's start offset, records (offset,
    /// value) in log order, and its op.
    final_logs: BTreeMap<Partition, FinalLog>,
    stalls: u64,
    leaves: u64,
    crashes: u64,
    /// When the final phase began: the first `heal`, `committed` or
    /// `final-read` op.
    final_phase: Option<u64>,
    records: Vec<Record>,
    warnings: Vec<String>,
}

pub(crate) fn make(opts: &CheckOptions) -> Box<dyn Checker> {
    Box::new(GroupChecker::new(opts.max_examples))
}

fn mode_index(m: CommitMode) -> usize {
    match m {
        CommitMode::Sync => 0,
        CommitMode::Async => 1,
        CommitMode::Auto => 2,
    }
}

const MODES: [CommitMode; 3] = [CommitMode::Sync, CommitMode::Async, CommitMode::Auto];

impl GroupChecker {
    pub fn new(max_examples: usize) -> Self {
        GroupChecker {
            max_examples,
            group: None,
            protocol: None,
            assignor: None,
            commit_mode: None,
            other_groups: BTreeSet::new(),
            members: FxHashMap::default(),
            names: FxHashMap::default(),
            n_members: 0,
            alive: 0,
            max_alive: 0,
            own: Vec::new(),
            rebalance_events: 0,
            commits: BTreeMap::new(),
            commit_counts: [[0; 3]; 3],
            regressions: Found::default(),
            deliveries: FxHashMap::default(),
            final_committed: None,
            final_logs: BTreeMap::new(),
            stalls: 0,
            leaves: 0,
            crashes: 0,
            final_phase: None,
            records: Vec::new(),
            warnings: Vec::new(),
        }
    }

    fn process_name(&self, p: ProcKey) -> String {
        self.names.get(&p).cloned().unwrap_or_else(|| p.to_string())
    }

    fn subscribe(&mut self, op: &Op, cx: &Context) -> Result<(), CheckError> {
        let s: Subscribe = op.value_as().map_err(|e| cx.bad_value(op, e))?;
        let Some(g) = s.group else { return Ok(()) };
        match &self.group {
            None => {
                self.group = Some(g);
                self.protocol = s.protocol;
                self.assignor = s.assignor;
                self.commit_mode = s.commit;
            }
            Some(mine) if *mine != g => {
                self.other_groups.insert(g);
                return Ok(());
            }
            Some(_) => {}
        }
        if let std::collections::hash_map::Entry::Vacant(e) = self.members.entry(cx.process) {
            e.insert(Member {
                joined: op.time,
                last_time: op.time,
                ..Member::default()
            });
            self.n_members += 1;
            self.alive += 1;
            self.max_alive = self.max_alive.max(self.alive);
        }
        Ok(())
    }

    /// The member's open intervals end at `t` (crash, leave).
    fn end_member(&mut self, p: ProcKey, t: u64, index: u64) {
        let Some(m) = self.members.get_mut(&p) else {
            return;
        };
        if m.ended.is_some() {
            return;
        }
        m.ended = Some(t);
        self.alive -= 1;
        for (_, i) in m.owned.drain(..) {
            self.own[i].end = Some((t, index));
        }
    }

    fn rebalance(&mut self, op: &Op, cx: &Context) -> Result<(), CheckError> {
        let a: Assignment = op.value_as().map_err(|e| cx.bad_value(op, e))?;
        let Some(m) = self.members.get_mut(&cx.process) else {
            return Ok(());
        };
        if m.ended.is_some() {
            return Ok(());
        }
        self.rebalance_events += 1;
        let t = a.at.unwrap_or(op.time);
        let own = &mut self.own;
        // Ends first: the event that revokes a partition is not one its
        // owner recorded while owning it.
        m.owned.retain(|&(p, i)| {
            let keep = a.partitions.contains(&p) && !a.revoked.contains(&p);
            if !keep {
                own[i].end = Some((t.max(own[i].start), op.index));
            }
            keep
        });
        // Generations start at 1; a client that is not (or no longer) in
        // the group reports 0 or -1: unknown.
        let generation = a.generation.filter(|g| *g > 0);
        if let Some(g) = generation {
            for &(_, i) in &m.owned {
                bump(&mut own[i].gens, g, t, op.index);
            }
        }
        let group_event = a.generation.is_some()
            || a.member.is_some()
            || a.at.is_some()
            || !a.added.is_empty()
            || !a.committed.is_empty();
        let adds = if a.added.is_empty() {
            &a.partitions
        } else {
            &a.added
        };
        for &p in adds {
            if a.revoked.contains(&p) || m.owned.iter().any(|&(q, _)| q == p) {
                continue;
            }
            let expected = match a.committed.iter().find(|(q, _)| *q == p) {
                Some(&(_, o)) => Expected::Committed(o),
                None if group_event => Expected::LogStart,
                None => Expected::Unknown,
            };
            m.owned.push((p, own.len()));
            own.push(Own {
                process: cx.process,
                partition: p,
                start: t,
                end: None,
                start_op: op.index,
                generation,
                gens: generation.map(|g| (g, t, op.index)).into_iter().collect(),
                expected,
                first_read: None,
            });
        }
        Ok(())
    }

    fn poll(&mut self, op: &Op, cx: &Context) -> Result<(), CheckError> {
        let Some(m) = self.members.get(&cx.process) else {
            return Ok(());
        };
        if m.ended.is_some() {
            return Ok(());
        }
        let mut recs = std::mem::take(&mut self.records);
        recs.clear();
        // The fast decoder takes `{"records": …}` only: a poll marked
        // `unprocessed` goes through serde.
        let unprocessed = if let Some(r) = cx.records {
            recs.extend_from_slice(r);
            false
        } else if crate::decode::poll(op.value.get(), &mut recs) {
            false
        } else {
            let p: Poll = op.value_as().map_err(|e| cx.bad_value(op, e))?;
            recs = p.records;
            p.unprocessed
        };
        let mut cur: Option<(Partition, &mut Vec<u16>)> = None;
        for r in &recs {
            if r.offset < 0 || r.offset > MAX_TRACKED_OFFSET {
                continue;
            }
            if cur.as_ref().is_none_or(|(p, _)| *p != r.partition) {
                cur = Some((r.partition, self.deliveries.entry(r.partition).or_default()));
            }
            let v = &mut cur.as_mut().expect("just set").1;
            let o = r.offset as usize;
            if v.len() <= o {
                v.resize(o + 1, 0);
            }
            if unprocessed {
                v[o] |= UNPROCESSED;
            } else if v[o] & COUNT < COUNT {
                v[o] += 1;
            }
        }
        for &(p, i) in &m.owned {
            if self.own[i].first_read.is_none() {
                if let Some(r) = recs.iter().find(|r| r.partition == p) {
                    self.own[i].first_read = Some(r.offset);
                }
            }
        }
        self.records = recs;
        Ok(())
    }

    fn commit(
        &mut self,
        inv: Option<&Invocation>,
        op: &Op,
        cx: &Context,
    ) -> Result<(), CheckError> {
        let c: Commit = op.value_as().map_err(|e| cx.bad_value(op, e))?;
        if c.group
            .as_ref()
            .is_some_and(|g| Some(g) != self.group.as_ref())
        {
            return Ok(());
        }
        let k = match op.kind {
            OpType::Ok => 0,
            OpType::Fail => 1,
            OpType::Info => 2,
            OpType::Invoke => return Ok(()),
        };
        self.commit_counts[mode_index(c.mode)][k] += 1;
        if op.kind != OpType::Ok {
            return Ok(());
        }
        // The committer knew its generation: it counts while it owns.
        let generation = c.generation.filter(|g| *g > 0);
        if let (Some(g), Some(m)) = (generation, self.members.get(&cx.process)) {
            for &(_, i) in &m.owned {
                bump(&mut self.own[i].gens, g, op.time, op.index);
            }
        }
        let invoked = inv.map(|i| i.time);
        for &(p, o) in &c.offsets {
            let pc = self.commits.entry(p).or_default();
            if c.reset {
                *pc = PartCommits::default();
            } else {
                // Same process: completion order.
                let mut earlier = pc
                    .by_process
                    .get(&cx.process)
                    .filter(|(hi, _)| *hi > o)
                    .map(|&(hi, idx)| (hi, idx, cx.process));
                // Other processes: completed before this one was invoked.
                if earlier.is_none() {
                    if let Some(t) = invoked {
                        let n = pc.log.partition_point(|e| e.0 < t);
                        if n > 0 {
                            let (_, hi, idx, proc_) = pc.log[n - 1];
                            if hi > o {
                                earlier = Some((hi, idx, proc_));
                            }
                        }
                    }
                }
                if let Some((hi, idx, proc_)) = earlier {
                    let (max, who) = (self.max_examples, self.process_name(proc_));
                    let me = self.process_name(cx.process);
                    self.regressions.add(1, max, || Example {
                        ops: vec![idx, op.index],
                        partition: Some(p),
                        offset: Some(o),
                        value: None,
                        process: Some(me.clone()),
                        message: format!(
                            "partition {p}: process {me} committed {o} (op {}) after process \
                             {who} had committed {hi} (op {idx})",
                            op.index
                        ),
                    });
                }
            }
            let pc = self.commits.get_mut(&p).expect("entered above");
            let (run, run_idx, run_proc) = match pc.log.last() {
                Some(&(_, hi, idx, pr)) if hi >= o => (hi, idx, pr),
                _ => (o, op.index, cx.process),
            };
            pc.log.push((op.time, run, run_idx, run_proc));
            let e = pc.by_process.entry(cx.process).or_insert((o, op.index));
            if o >= e.0 {
                *e = (o, op.index);
            }
            if pc.max.is_none_or(|(hi, _)| o >= hi) {
                pc.max = Some((o, op.index));
            }
        }
        Ok(())
    }
}

/// Record a generation the owner knew at `time`, if higher than any before.
fn bump(gens: &mut Vec<(i32, u64, u64)>, g: i32, time: u64, index: u64) {
    if gens.last().is_none_or(|&(m, _, _)| g > m) {
        gens.push((g, time, index));
    }
}

impl Checker for GroupChecker {
    fn name(&self) -> &'static str {
        "group"
    }

    fn name_process(&mut self, key: ProcKey, name: &str) {
        self.names.insert(key, name.to_string());
    }

    fn invoke(&mut self, op: &Op, cx: &Context) -> Result<(), CheckError> {
        if self.group.is_none() {
            return Ok(());
        }
        if matches!(op.f, F::Heal | F::Committed | F::FinalRead) && self.final_phase.is_none() {
            self.final_phase = Some(op.time);
        }
        let Some(m) = self.members.get_mut(&cx.process) else {
            return Ok(());
        };
        m.last_time = m.last_time.max(op.time);
        match op.f {
            F::Crash => {
                self.crashes += u64::from(m.ended.is_none());
                self.end_member(cx.process, op.time, op.index);
            }
            F::Leave => {
                self.leaves += 1;
                self.end_member(cx.process, op.time, op.index);
            }
            F::Stall => self.stalls += 1,
            _ => {}
        }
        Ok(())
    }

    fn complete(
        &mut self,
        inv: Option<&Invocation>,
        op: &Op,
        cx: &Context,
    ) -> Result<(), CheckError> {
        if self.group.is_none() && op.f != F::Subscribe {
            return Ok(());
        }
        if let Some(m) = self.members.get_mut(&cx.process) {
            m.last_time = m.last_time.max(op.time);
        }
        match op.f {
            F::Subscribe if op.kind != OpType::Fail => self.subscribe(op, cx)?,
            F::Poll if op.kind == OpType::Ok => self.poll(op, cx)?,
            F::Rebalance if matches!(op.kind, OpType::Ok | OpType::Info) => {
                self.rebalance(op, cx)?
            }
            F::Commit => self.commit(inv, op, cx)?,
            F::Crash
                if inv.is_none()
                    && self
                        .members
                        .get(&cx.process)
                        .is_some_and(|m| m.ended.is_none()) =>
            {
                self.crashes += 1;
                self.end_member(cx.process, op.time, op.index);
            }
            F::Committed if op.kind == OpType::Ok => {
                let c: Committed = op.value_as().map_err(|e| cx.bad_value(op, e))?;
                if Some(&c.group) == self.group.as_ref() {
                    self.final_committed = Some((op.index, c.offsets.into_iter().collect()));
                }
            }
            F::FinalRead if op.kind == OpType::Ok => {
                let fr: FinalRead = op.value_as().map_err(|e| cx.bad_value(op, e))?;
                let recs = fr.records.iter().map(|r| (r.offset, r.value)).collect();
                self.final_logs
                    .insert(fr.partition, (fr.start_offset, recs, op.index));
            }
            _ => {}
        }
        Ok(())
    }

    fn finish(self: Box<Self>) -> CheckerOutput {
        analyse::finish(*self)
    }
}
