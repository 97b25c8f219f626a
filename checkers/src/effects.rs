//! `effects`: what each fault did to the cluster.
//!
//! A fault that changed nothing in the cluster tested nothing. From the
//! observer's samples (`observe` ops, histories/README.md) and the fault
//! intervals ([`trial_histories::faults`]), this checker tells for each
//! fault which observable effects it had from the moment the nemesis began
//! acting (the start's invoke) to 2 s after its stop: leader changes
//! (leader id differs or epoch rises), ISR shrinks and expansions,
//! controller changes, brokers newly fenced or newly unreachable, samples
//! that could read nothing of the cluster (every broker down or cut off),
//! and in ZooKeeper mode the ensemble's leader changes and members that
//! stopped serving (a ZooKeeper fault moves no partition leader), and for
//! workloads with consumer groups each group's coordinator that moved (the
//! rebalances seen are counted too; [`groups`] says why they are no effect);
//! its fail-over time (first leader change − that moment) and its time to
//! full ISR after the stop. Over the whole run: how many faults had an effect,
//! fail-over p50/max, leader changes per partition, and availability
//! (ok client ops per second) during faults vs healthy, also per partition
//! split by whether the fault hit one of the partition's replicas.
//!
//! KRaft controllers: each voter's own belief of leading (`voters` in the
//! samples) goes to [`crate::leaders`]: stretches with two controllers
//! leading at once, judged there (`controller-split-brain`,
//! `controller-same-epoch`).
//!
//! Transactions: each `transactional.id`'s state as its coordinator
//! reports it goes to [`crate::txnstate`]: stretches in PrepareCommit /
//! PrepareAbort, judged stuck past 15 s after the last fault stopped
//! (`stuck-transaction`).
//!
//! The vacuous-pass guard: when the history has observer samples, the
//! schedule had at least one fault and none had an observable effect, the
//! verdict is `unknown`. Without any observer op, a warning says the
//! effects are unknown (the verdict is what the other checkers say).
//!
//! One file (over 800 lines, half of them tests): the sample, the change
//! between two samples and the per-fault window are one computation read
//! top to bottom; what has its own analysis over the run lives beside it
//! ([`crate::leaders`], [`crate::txnstate`], [`groups`]).

mod groups;

pub use groups::GroupEffects;

use crate::checker::{Checker, CheckerOutput, Context, Invocation};
use crate::leaders::{self, ControllerLeadership};
use crate::txnstate::{self, TransactionStates};
use crate::verdict::Validity;
use crate::{CheckError, CheckOptions};
use groups::{GroupChange, GroupSample};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use trial_histories::values::{Observation, VoterView};
use trial_histories::{FaultInterval, FaultIntervals, FaultTracker, Op, OpType, Process, F};

const NS_PER_S: f64 = 1e9;
/// Effects are looked for until this long after a fault's stop.
pub const AFTER_STOP_NS: u64 = 2_000_000_000;
/// Resolution of the per-partition availability (ns).
const BUCKET_NS: u64 = 100_000_000;

/// One partition in one sample (compact).
#[derive(Debug, Clone, PartialEq)]
struct PartSample {
    leader: i32,
    epoch: i32,
    replicas: Vec<i32>,
    isr: Vec<i32>,
}

/// One successful observer sample.
#[derive(Debug, Clone)]
struct Sample {
    time: u64,
    parts: BTreeMap<i32, PartSample>,
    controller: Option<(i32, i64)>,
    fenced: Option<BTreeSet<i32>>,
    unreachable: BTreeSet<i32>,
    /// ZooKeeper mode: the ensemble's leader and the members serving.
    zookeeper: Option<(Option<String>, BTreeSet<String>)>,
    /// Consumer groups: each one's coordinator and whether it rebalances.
    groups: BTreeMap<String, GroupSample>,
}

/// What changed between two consecutive samples.
#[derive(Debug, Default, Clone)]
struct Change {
    leader_changes: Vec<i32>,
    isr_shrinks: u64,
    isr_expansions: u64,
    controller_change: bool,
    newly_fenced: Vec<i32>,
    newly_unreachable: Vec<i32>,
    zookeeper_leader_change: bool,
    zookeeper_stopped_serving: Vec<String>,
    groups: GroupChange,
}

impl Change {
    fn any(&self) -> bool {
        !self.leader_changes.is_empty()
            || self.isr_shrinks > 0
            || self.isr_expansions > 0
            || self.controller_change
            || !self.newly_fenced.is_empty()
            || !self.newly_unreachable.is_empty()
            || self.zookeeper_leader_change
            || !self.zookeeper_stopped_serving.is_empty()
            || self.groups.effect()
    }
}

fn diff(a: &Sample, b: &Sample) -> Change {
    let mut c = Change::default();
    for (p, nb) in &b.parts {
        let Some(na) = a.parts.get(p) else { continue };
        if na.leader != nb.leader || nb.epoch > na.epoch {
            c.leader_changes.push(*p);
        }
        c.isr_shrinks += na.isr.iter().filter(|r| !nb.isr.contains(r)).count() as u64;
        c.isr_expansions += nb.isr.iter().filter(|r| !na.isr.contains(r)).count() as u64;
    }
    if let (Some(x), Some(y)) = (a.controller, b.controller) {
        c.controller_change = x != y;
    }
    if let (Some(x), Some(y)) = (&a.fenced, &b.fenced) {
        c.newly_fenced = y.difference(x).copied().collect();
    }
    c.newly_unreachable = b.unreachable.difference(&a.unreachable).copied().collect();
    if let (Some((la, sa)), Some((lb, sb))) = (&a.zookeeper, &b.zookeeper) {
        // A leader that vanishes (none answers as leader) or another one.
        c.zookeeper_leader_change = la.is_some() && la != lb;
        c.zookeeper_stopped_serving = sa.difference(sb).cloned().collect();
    }
    c.groups = groups::diff(&a.groups, &b.groups);
    c
}

fn full_isr(s: &Sample) -> bool {
    s.parts
        .values()
        .all(|p| p.replicas.iter().all(|r| p.isr.contains(r)))
}

/// The effects of one fault interval (`checkers.effects.intervals[]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaultEffect {
    pub kind: String,
    /// Node names the fault hit (see [`trial_histories::faults`]).
    pub nodes: Vec<String>,
    pub start_s: f64,
    pub stop_s: f64,
    pub stopped: bool,
    pub start_op: u64,
    /// Any observable effect in `[start, stop + 2 s]`.
    pub effect: bool,
    /// Leader changes per partition in the window (partitions with none
    /// are left out).
    pub leader_changes: BTreeMap<i32, u64>,
    pub isr_shrinks: u64,
    pub isr_expansions: u64,
    pub controller_changes: u64,
    pub newly_fenced: Vec<i32>,
    pub newly_unreachable: Vec<i32>,
    /// Observer samples in the window that could read nothing of the
    /// cluster (every broker down or cut off): an effect too.
    #[serde(default)]
    pub unreadable_samples: u64,
    /// ZooKeeper mode: times the ensemble's leader changed or vanished.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub zookeeper_leader_changes: u64,
    /// ZooKeeper mode: members that stopped serving (killed, paused, or
    /// cut off from their quorum).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub zookeeper_stopped_serving: Vec<String>,
    /// Consumer groups: times a group's coordinator moved (an effect).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub group_coordinator_changes: u64,
    /// Consumer groups: times a group entered a rebalancing state (counted,
    /// not an effect: members rebalance a group without any fault).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub group_rebalances: u64,
    /// First group coordinator move after the start − start (s); absent
    /// if none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_coordinator_moved_s: Option<f64>,
    /// First leader change after the start − start (s); null if none.
    pub failover_s: Option<f64>,
    /// First time at or after the stop when every partition's ISR held all
    /// its replicas − stop (s); null if not before the next fault started
    /// or the history ended.
    pub full_isr_after_s: Option<f64>,
    /// Nodes where a step of the fault failed, with why (the start's
    /// `failed`): the fault applied only in part.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub failed: BTreeMap<String, String>,
}

/// Ok client ops per second (numeric processes; between the first and the
/// last client op).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Availability {
    pub during_faults: f64,
    pub healthy: f64,
    /// during_faults / healthy (null when nothing was healthy or ok).
    pub ratio: Option<f64>,
    pub fault_seconds: f64,
    pub healthy_seconds: f64,
}

/// Ok sends per second of one partition.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PartitionAvailability {
    pub partition: i32,
    pub healthy: Option<f64>,
    /// While a fault hit a node among the partition's replicas.
    pub faulted_replica: Option<f64>,
    /// While faults were active but none hit the partition's replicas.
    pub other_faults: Option<f64>,
    pub healthy_s: f64,
    pub faulted_replica_s: f64,
    pub other_faults_s: f64,
    /// Leader changes over the whole history.
    pub leader_changes: u64,
    /// Leader changes per minute of workload.
    pub leader_changes_per_min: f64,
}

/// p50 and max of fail-over times (s).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Quantiles {
    pub p50: f64,
    pub max: f64,
    /// How many faults had a fail-over.
    pub n: u64,
}

/// `checkers.effects` in results.json.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EffectsResults {
    /// Did the history have observer ops at all?
    pub observed: bool,
    /// Observer samples that read something (`ok`).
    pub samples: u64,
    pub faults: u64,
    /// Faults that applied only in part: a step failed on some node
    /// (`intervals[].failed` says where and why).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub partly_applied: u64,
    /// Faults with an observable effect (null without an observer).
    pub with_effect: Option<u64>,
    pub failover_s: Option<Quantiles>,
    pub ok_ops_per_s: Availability,
    /// Leader changes per partition over the whole history.
    pub leader_changes: BTreeMap<i32, u64>,
    /// Seconds between the first and the last client op.
    pub workload_s: f64,
    pub intervals: Vec<FaultEffect>,
    pub partitions: Vec<PartitionAvailability>,
    /// KRaft controllers' own beliefs of leading (absent where the samples
    /// hold none: ZooKeeper mode, older histories).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub controllers: Option<ControllerLeadership>,
    /// Transaction states as the coordinators report them (absent where
    /// the samples hold none: no transactional workload).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transactions: Option<TransactionStates>,
    /// Each consumer group over the run: coordinator moves, rebalances
    /// (absent where the samples hold no group).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups: Option<BTreeMap<String, GroupEffects>>,
    /// One line a person reads.
    pub summary: String,
}

/// The `effects` checker.
#[derive(Default)]
pub struct Effects {
    faults: FaultTracker,
    observer_ops: u64,
    samples: Vec<Sample>,
    /// Broker id → node name, every name any sample gave.
    brokers: BTreeMap<i32, String>,
    last_time: u64,
    first_client: Option<u64>,
    last_client: u64,
    ok_client: u64,
    ok_client_during: u64,
    /// Per partition (by number), ok sends per 100 ms bucket.
    sends: Vec<Vec<u32>>,
    /// Times of observer samples that could read nothing of the cluster.
    unreadable: Vec<u64>,
    /// Each sample's KRaft voters' own views (samples that hold them).
    voters: Vec<(u64, BTreeMap<i32, VoterView>)>,
    /// Each sample's transaction states (samples that hold them).
    txns: Vec<(u64, BTreeMap<String, String>)>,
    /// Whether any sample held consumer groups.
    any_groups: bool,
}

pub(crate) fn make(_opts: &CheckOptions) -> Box<dyn Checker> {
    Box::new(Effects::default())
}

impl Checker for Effects {
    fn name(&self) -> &'static str {
        "effects"
    }

    fn invoke(&mut self, op: &Op, _cx: &Context) -> Result<(), CheckError> {
        self.last_time = self.last_time.max(op.time);
        if op.f == F::Observe {
            self.observer_ops += 1;
        }
        if op.process == Process::Nemesis {
            // The start's invocation: when the nemesis began acting.
            self.faults.push(op);
        }
        Ok(())
    }

    fn complete(
        &mut self,
        _invoke: Option<&Invocation>,
        op: &Op,
        cx: &Context,
    ) -> Result<(), CheckError> {
        self.last_time = self.last_time.max(op.time);
        match op.process {
            Process::Nemesis => self.faults.push(op),
            Process::Worker(_) => {
                self.first_client.get_or_insert(op.time);
                self.last_client = self.last_client.max(op.time);
                if op.kind == OpType::Ok {
                    self.ok_client += 1;
                    if self.faults.active() {
                        self.ok_client_during += 1;
                    }
                    if op.f == F::Send {
                        // Decoded once by the pass; a send that needs serde
                        // is rare (and the queue checker reports it if
                        // malformed).
                        let partition = match cx.send {
                            Some((_, p, _)) => p,
                            None => op
                                .value_as::<trial_histories::values::Send>()
                                .ok()
                                .and_then(|s| s.partition),
                        };
                        if let Some(p) = partition.and_then(|p| usize::try_from(p).ok()) {
                            if p >= self.sends.len() {
                                self.sends.resize_with(p + 1, Vec::new);
                            }
                            let b = (op.time / BUCKET_NS) as usize;
                            let v = &mut self.sends[p];
                            if b >= v.len() {
                                v.resize(b + 1, 0);
                            }
                            v[b] += 1;
                        }
                    }
                }
            }
            _ if op.f == F::Observe => {
                self.observer_ops += 1;
                if op.kind == OpType::Ok {
                    let o: Observation = op.value_as().map_err(|e| cx.bad_value(op, e))?;
                    self.sample(op.time, o);
                } else if op.kind == OpType::Fail {
                    // Nothing of the cluster could be read: every broker
                    // down or cut off from the observer.
                    self.unreadable.push(op.time);
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn finish(self: Box<Self>) -> CheckerOutput {
        let observed = self.observer_ops > 0;
        let mut me = *self;
        let fi = std::mem::take(&mut me.faults).finish(me.last_time);
        let r = me.results(fi);
        let mut out = CheckerOutput::new("effects", &r);
        out.summary = Some(r.summary.clone());
        if let Some(c) = &r.controllers {
            use crate::verdict::class;
            for (cls, n) in [
                (class::CONTROLLER_SPLIT_BRAIN, c.split_brain),
                (class::CONTROLLER_SAME_EPOCH, c.same_epoch),
            ] {
                if n > 0 {
                    out.anomaly_counts.insert(cls.to_string(), n);
                    out.validity = Validity::Invalid;
                }
            }
        }
        if let Some(t) = r.transactions.as_ref().filter(|t| t.stuck > 0) {
            out.anomaly_counts.insert(
                crate::verdict::class::STUCK_TRANSACTION.to_string(),
                t.stuck,
            );
            out.validity = Validity::Invalid;
        }
        for e in r.intervals.iter().filter(|e| !e.failed.is_empty()) {
            out.warnings.push(format!(
                "the {} fault at {:.1} s applied only in part: it failed on {}",
                e.kind,
                e.start_s,
                e.failed
                    .iter()
                    .map(|(n, why)| format!("{n} ({why})"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        if r.faults > 0 {
            if !observed {
                out.warnings.push(format!(
                    "the history has no observer samples: the effects of its {} fault(s) on \
                     the cluster are unknown",
                    r.faults
                ));
            } else if r.with_effect == Some(0) && out.validity != Validity::Invalid {
                out.validity = Validity::Unknown;
                out.unknown_reasons.push(format!(
                    "faults: {}, none had an observable effect on the cluster",
                    r.faults
                ));
            }
        }
        out.typed = Some(Box::new(r));
        out
    }
}

impl Effects {
    fn sample(&mut self, time: u64, mut o: Observation) {
        if let Some(v) = o.voters.take() {
            self.voters.push((time, v));
        }
        if let Some(t) = o.transactions.take() {
            self.txns.push((time, t));
        }
        for (id, name) in &o.brokers {
            self.brokers.insert(*id, name.clone());
        }
        let groups = o
            .groups
            .take()
            .map(|g| {
                self.any_groups = true;
                groups::sample(&g)
            })
            .unwrap_or_default();
        self.samples.push(Sample {
            time,
            parts: o
                .partitions
                .into_iter()
                .map(|p| {
                    (
                        p.partition,
                        PartSample {
                            leader: p.leader,
                            epoch: p.epoch,
                            replicas: p.replicas,
                            isr: p.isr,
                        },
                    )
                })
                .collect(),
            controller: o.controller.map(|c| (c.id, i64::from(c.epoch))),
            fenced: o.fenced.map(|f| f.into_iter().collect()),
            unreachable: o.unreachable.into_iter().collect(),
            zookeeper: o
                .zookeeper
                .as_ref()
                .map(|e| (e.leader.clone(), e.serving().cloned().collect())),
            groups,
        });
    }

    /// The sample in effect at `t`: the last one at or before `t`.
    fn state_at(&self, t: u64) -> Option<usize> {
        let i = self.samples.partition_point(|s| s.time <= t);
        i.checked_sub(1)
    }

    fn effect_of(&self, f: &FaultInterval, next_start: Option<u64>) -> FaultEffect {
        let end = f.end_ns.saturating_add(AFTER_STOP_NS);
        // The window opens when the nemesis began acting (a multi-node
        // action takes a while, and Kafka may react meanwhile).
        let begin = if f.invoked_ns > 0 {
            f.invoked_ns.min(f.start_ns)
        } else {
            f.start_ns
        };
        let mut e = FaultEffect {
            kind: f.kind.clone(),
            nodes: f.nodes.clone(),
            start_s: f.start_ns as f64 / NS_PER_S,
            stop_s: f.end_ns as f64 / NS_PER_S,
            stopped: f.stopped,
            start_op: f.start_op,
            effect: false,
            leader_changes: BTreeMap::new(),
            isr_shrinks: 0,
            isr_expansions: 0,
            controller_changes: 0,
            newly_fenced: Vec::new(),
            newly_unreachable: Vec::new(),
            failover_s: None,
            full_isr_after_s: None,
            unreadable_samples: 0,
            zookeeper_leader_changes: 0,
            zookeeper_stopped_serving: Vec::new(),
            group_coordinator_changes: 0,
            group_rebalances: 0,
            group_coordinator_moved_s: None,
            failed: f.failed.clone(),
        };
        let lo = self.unreadable.partition_point(|&t| t < begin);
        let hi = self.unreadable.partition_point(|&t| t <= end);
        e.unreadable_samples = (hi - lo) as u64;
        e.effect = e.unreadable_samples > 0;
        // Samples in [begin, end], each compared with the one before it
        // (the first with the state in effect just before the fault).
        let first = self.samples.partition_point(|s| s.time < begin);
        for i in first..self.samples.len() {
            let cur = &self.samples[i];
            if cur.time > end {
                break;
            }
            let Some(prev) = i.checked_sub(1).map(|j| &self.samples[j]) else {
                continue;
            };
            let c = diff(prev, cur);
            if !c.leader_changes.is_empty() && e.failover_s.is_none() {
                e.failover_s = Some((cur.time - begin) as f64 / NS_PER_S);
            }
            for p in &c.leader_changes {
                *e.leader_changes.entry(*p).or_default() += 1;
            }
            e.isr_shrinks += c.isr_shrinks;
            e.isr_expansions += c.isr_expansions;
            e.controller_changes += u64::from(c.controller_change);
            e.newly_fenced.extend(&c.newly_fenced);
            e.newly_unreachable.extend(&c.newly_unreachable);
            e.zookeeper_leader_changes += u64::from(c.zookeeper_leader_change);
            e.zookeeper_stopped_serving
                .extend(c.zookeeper_stopped_serving.iter().cloned());
            if c.groups.effect() && e.group_coordinator_moved_s.is_none() {
                e.group_coordinator_moved_s = Some((cur.time - begin) as f64 / NS_PER_S);
            }
            e.group_coordinator_changes += c.groups.coordinator_moved.len() as u64;
            e.group_rebalances += c.groups.rebalances.len() as u64;
            e.effect |= c.any();
        }
        e.zookeeper_stopped_serving.sort();
        e.zookeeper_stopped_serving.dedup();
        e.newly_fenced.sort_unstable();
        e.newly_fenced.dedup();
        e.newly_unreachable.sort_unstable();
        e.newly_unreachable.dedup();
        // Time to full ISR after the stop.
        let limit = next_start.unwrap_or(u64::MAX);
        let from = self.state_at(f.end_ns);
        if from.is_some_and(|i| full_isr(&self.samples[i])) {
            e.full_isr_after_s = Some(0.0);
        } else {
            let after = from.map_or(0, |i| i + 1);
            e.full_isr_after_s = self.samples[after..]
                .iter()
                .take_while(|s| s.time < limit)
                .find(|s| full_isr(s))
                .map(|s| (s.time - f.end_ns) as f64 / NS_PER_S);
        }
        e
    }

    /// Broker ids of node names (via the samples' `brokers`).
    fn ids_of(&self, nodes: &[String]) -> BTreeSet<i32> {
        self.brokers
            .iter()
            .filter(|(_, n)| nodes.contains(n))
            .map(|(id, _)| *id)
            .collect()
    }

    fn results(&self, fi: FaultIntervals) -> EffectsResults {
        // Intervals are sorted by start: the next fault to start after a
        // stop is found by binary search.
        let starts: Vec<u64> = fi.intervals.iter().map(|f| f.start_ns).collect();
        let intervals: Vec<FaultEffect> = fi
            .intervals
            .iter()
            .map(|f| {
                let i = starts.partition_point(|&s| s <= f.end_ns);
                self.effect_of(f, starts.get(i).copied())
            })
            .collect();
        let observed = self.observer_ops > 0;
        let with_effect = observed.then(|| intervals.iter().filter(|e| e.effect).count() as u64);
        let mut fo: Vec<f64> = intervals.iter().filter_map(|e| e.failover_s).collect();
        fo.sort_by(f64::total_cmp);
        let failover_s = (!fo.is_empty()).then(|| Quantiles {
            p50: fo[(fo.len() - 1) / 2],
            max: *fo.last().unwrap_or(&0.0),
            n: fo.len() as u64,
        });
        // Leader changes over the whole history.
        let mut leader_changes: BTreeMap<i32, u64> = BTreeMap::new();
        if let Some(s0) = self.samples.first() {
            for p in s0.parts.keys() {
                leader_changes.insert(*p, 0);
            }
        }
        for w in self.samples.windows(2) {
            for p in diff(&w[0], &w[1]).leader_changes {
                *leader_changes.entry(p).or_default() += 1;
            }
        }
        // Availability over the client span.
        let (c0, c1) = (self.first_client.unwrap_or(0), self.last_client);
        let span = c1.saturating_sub(c0);
        let clip = |f: &FaultInterval| (f.start_ns.max(c0), f.end_ns.min(c1));
        let fault_ns = union_len(fi.intervals.iter().map(clip));
        let healthy_ns = span.saturating_sub(fault_ns);
        let per_s = |n: u64, ns: u64| {
            if ns == 0 {
                0.0
            } else {
                n as f64 / (ns as f64 / NS_PER_S)
            }
        };
        let during = per_s(self.ok_client_during, fault_ns);
        let healthy = per_s(self.ok_client - self.ok_client_during, healthy_ns);
        let ok_ops_per_s = Availability {
            during_faults: during,
            healthy,
            ratio: (healthy > 0.0 && fault_ns > 0).then(|| during / healthy),
            fault_seconds: fault_ns as f64 / NS_PER_S,
            healthy_seconds: healthy_ns as f64 / NS_PER_S,
        };
        let workload_s = span as f64 / NS_PER_S;
        let partitions = self.partitions(&fi.intervals, c0, c1, &leader_changes, workload_s);
        let mut r = EffectsResults {
            observed,
            samples: self.samples.len() as u64,
            faults: intervals.len() as u64,
            partly_applied: intervals.iter().filter(|e| !e.failed.is_empty()).count() as u64,
            with_effect,
            failover_s,
            ok_ops_per_s,
            leader_changes,
            workload_s,
            intervals,
            partitions,
            controllers: (!self.voters.is_empty())
                .then(|| leaders::analyse(&self.voters, self.last_time)),
            transactions: (!self.txns.is_empty()).then(|| {
                let last_stop = fi.intervals.iter().map(|f| f.end_ns).max().unwrap_or(0);
                txnstate::analyse(&self.txns, last_stop, self.last_time)
            }),
            groups: self.any_groups.then(|| {
                let per: Vec<(u64, BTreeMap<String, GroupSample>)> = self
                    .samples
                    .iter()
                    .filter(|s| !s.groups.is_empty())
                    .map(|s| (s.time, s.groups.clone()))
                    .collect();
                groups::analyse(&per, self.last_time)
            }),
            summary: String::new(),
        };
        r.summary = summary_line(&r);
        r
    }

    fn partitions(
        &self,
        intervals: &[FaultInterval],
        c0: u64,
        c1: u64,
        leader_changes: &BTreeMap<i32, u64>,
        workload_s: f64,
    ) -> Vec<PartitionAvailability> {
        let mut parts: BTreeSet<i32> = (0..self.sends.len() as i32)
            .filter(|&p| self.sends[p as usize].iter().any(|&n| n > 0))
            .collect();
        parts.extend(leader_changes.keys());
        // Which partitions each interval hit: a node it hit among the
        // partition's replicas in the state at its start (or the first
        // sample after it).
        let hit: Vec<BTreeSet<i32>> = intervals
            .iter()
            .map(|f| {
                let ids = self.ids_of(&f.nodes);
                let s = self
                    .state_at(f.start_ns)
                    .or_else(|| (!self.samples.is_empty()).then_some(0));
                s.map(|i| {
                    self.samples[i]
                        .parts
                        .iter()
                        .filter(|(_, p)| p.replicas.iter().any(|r| ids.contains(r)))
                        .map(|(p, _)| *p)
                        .collect()
                })
                .unwrap_or_default()
            })
            .collect();
        let (b0, b1) = (c0 / BUCKET_NS, c1 / BUCKET_NS);
        // Per bucket: the intervals active at its start (a sweep over the
        // intervals, sorted by start).
        let mut active: Vec<Vec<usize>> = Vec::with_capacity((b1 - b0 + 1) as usize);
        let (mut next, mut open): (usize, Vec<usize>) = (0, Vec::new());
        for b in b0..=b1 {
            let t = b * BUCKET_NS;
            while next < intervals.len() && intervals[next].start_ns <= t {
                open.push(next);
                next += 1;
            }
            open.retain(|&i| t < intervals[i].end_ns);
            active.push(open.clone());
        }
        let bucket_s = BUCKET_NS as f64 / NS_PER_S;
        parts
            .into_iter()
            .map(|p| {
                let sends = usize::try_from(p).ok().and_then(|p| self.sends.get(p));
                let (mut n, mut s) = ([0u64; 3], [0f64; 3]);
                for (k, act) in active.iter().enumerate() {
                    let b = b0 as usize + k;
                    let class = if act.is_empty() {
                        0
                    } else if act.iter().any(|&i| hit[i].contains(&p)) {
                        1
                    } else {
                        2
                    };
                    s[class] += bucket_s;
                    n[class] += u64::from(sends.and_then(|v| v.get(b)).copied().unwrap_or(0));
                }
                let rate = |i: usize| (s[i] > 0.0).then(|| n[i] as f64 / s[i]);
                let lc = leader_changes.get(&p).copied().unwrap_or(0);
                PartitionAvailability {
                    partition: p,
                    healthy: rate(0),
                    faulted_replica: rate(1),
                    other_faults: rate(2),
                    healthy_s: s[0],
                    faulted_replica_s: s[1],
                    other_faults_s: s[2],
                    leader_changes: lc,
                    leader_changes_per_min: if workload_s > 0.0 {
                        lc as f64 / (workload_s / 60.0)
                    } else {
                        0.0
                    },
                }
            })
            .collect()
    }
}

/// Total length of the union of `[a, b)` ranges.
fn union_len(ranges: impl Iterator<Item = (u64, u64)>) -> u64 {
    let mut v: Vec<(u64, u64)> = ranges.filter(|(a, b)| b > a).collect();
    v.sort_unstable();
    let (mut total, mut cur): (u64, Option<(u64, u64)>) = (0, None);
    for (a, b) in v {
        match cur {
            Some((ca, cb)) if a <= cb => cur = Some((ca, cb.max(b))),
            Some((ca, cb)) => {
                total += cb - ca;
                cur = Some((a, b));
            }
            None => cur = Some((a, b)),
        }
    }
    total + cur.map_or(0, |(a, b)| b - a)
}

/// `faults: 6, with an observable effect: 5; fail-over p50 2.1 s, max 4.0 s;
/// ok ops 61/s during faults vs 95/s healthy (64 %)`.
pub fn summary_line(r: &EffectsResults) -> String {
    let mut s = if r.faults == 0 {
        "no faults".to_string()
    } else {
        match r.with_effect {
            Some(n) => format!("faults: {}, with an observable effect: {n}", r.faults),
            None => format!(
                "faults: {}, effects unknown (no observer samples)",
                r.faults
            ),
        }
    };
    match &r.failover_s {
        Some(q) => s.push_str(&format!(
            "; fail-over p50 {:.1} s, max {:.1} s",
            q.p50, q.max
        )),
        None if r.with_effect.is_some() && r.faults > 0 => s.push_str("; no fail-over"),
        None => {}
    }
    if r.partly_applied > 0 {
        s.push_str(&format!(
            "; {} applied only in part (a step failed on a node)",
            r.partly_applied
        ));
    }
    let a = &r.ok_ops_per_s;
    if r.faults > 0 {
        s.push_str(&format!(
            "; ok ops {:.0}/s during faults vs {:.0}/s healthy",
            a.during_faults, a.healthy
        ));
        if let Some(x) = a.ratio {
            s.push_str(&format!(" ({:.0} %)", 100.0 * x));
        }
    } else {
        s.push_str(&format!("; ok ops {:.0}/s", a.healthy));
    }
    if let Some(x) = r.controllers.as_ref().and_then(leaders::summary) {
        s.push_str("; ");
        s.push_str(&x);
    }
    if let Some(x) = r.transactions.as_ref().and_then(txnstate::summary) {
        s.push_str("; ");
        s.push_str(&x);
    }
    if let Some(x) = r.groups.as_ref().and_then(groups::summary) {
        s.push_str("; ");
        s.push_str(&x);
    }
    s
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::Builder;
    use serde_json::json;

    #[test]
    fn union_of_ranges() {
        assert_eq!(union_len([(0, 10), (5, 15), (20, 30)].into_iter()), 25);
        assert_eq!(union_len(std::iter::empty()), 0);
    }

    const S: u64 = 1_000_000_000;

    fn observe(b: &mut Builder, leader: i32, epoch: i32, isr: &[i32], unreachable: &[i32]) -> u64 {
        let p = Process::Named("observer".into());
        b.op(p.clone(), OpType::Invoke, F::Observe, &());
        b.op(
            p,
            OpType::Ok,
            F::Observe,
            &json!({
                "partitions": [{"partition": 0, "leader": leader, "epoch": epoch,
                                "replicas": [1, 2, 3], "isr": isr, "offline": []}],
                "controller": {"id": 3, "epoch": 7},
                "brokers": {"1": "n1", "2": "n2", "3": "n3"},
                "fenced": [],
                "unreachable": unreachable,
                "read_ms": 4
            }),
        )
    }

    fn nemesis(b: &mut Builder, f: &str, v: serde_json::Value) -> u64 {
        b.op(
            Process::Nemesis,
            OpType::Invoke,
            f,
            &serde_json::Value::Null,
        );
        b.op(Process::Nemesis, OpType::Info, f, &v)
    }

    /// A history of one partition: sends before, during and after one fault
    /// of `kind` on `node`, with `during` run while it is active.
    fn history(
        kind: &str,
        node: &str,
        observer: bool,
        during: impl FnOnce(&mut Builder),
        after: impl FnOnce(&mut Builder),
    ) -> (Vec<trial_histories::Op>, u64, u64) {
        let mut b = Builder::new();
        if observer {
            observe(&mut b, 1, 0, &[1, 2, 3], &[]);
        }
        b.send_ok(0, 1, 0, 0);
        b.sleep(S);
        let start = nemesis(&mut b, &format!("start-{kind}"), json!({"nodes": [node]}));
        b.send_ok(1, 2, 0, 1);
        during(&mut b);
        b.sleep(S);
        let stop = nemesis(&mut b, &format!("stop-{kind}"), json!(null));
        after(&mut b);
        b.send_ok(0, 3, 0, 2);
        b.sleep(S / 2);
        b.final_read(0, 0, 3, &[(0, 1), (1, 2), (2, 3)]);
        (b.ops, start, stop)
    }

    fn effects(r: &crate::Results) -> EffectsResults {
        r.checker("effects").expect("effects results")
    }

    /// Every broker killed: the observer reads nothing while the fault
    /// lasts (its samples fail). That is an effect, not "no change".
    #[test]
    fn a_cluster_the_observer_cannot_read_is_an_effect() {
        let (ops, _, _) = history(
            "kill",
            "n1",
            true,
            |b| {
                b.sleep(S / 2);
                let p = Process::Named("observer".into());
                b.op(p.clone(), OpType::Invoke, F::Observe, &());
                b.op(p, OpType::Fail, F::Observe, &json!({"read_ms": 2000}));
            },
            |_| {},
        );
        let r = crate::check_ops(&ops, &crate::CheckOptions::default()).unwrap();
        let e = effects(&r);
        assert_eq!((e.faults, e.with_effect), (1, Some(1)), "{}", e.summary);
        assert!(e.intervals[0].effect);
        assert_eq!(e.intervals[0].unreadable_samples, 1);
        assert_ne!(r.valid, Validity::Unknown, "{}", r.human_summary(3));
    }

    /// One sample with the voters' own views: `leaders` lead (id, epoch).
    fn observe_voters(b: &mut Builder, leaders: &[(i32, i32)]) {
        let p = Process::Named("observer".into());
        let mut voters = serde_json::Map::new();
        for id in [101, 102, 103] {
            let v = match leaders.iter().find(|l| l.0 == id) {
                Some((_, e)) => json!({"leader": true, "epoch": e}),
                None => json!({"leader": false}),
            };
            voters.insert(id.to_string(), v);
        }
        b.op(p.clone(), OpType::Invoke, F::Observe, &());
        b.op(
            p,
            OpType::Ok,
            F::Observe,
            &json!({
                "partitions": [{"partition": 0, "leader": 1, "epoch": 0,
                                "replicas": [1, 2, 3], "isr": [1, 2, 3], "offline": []}],
                "controller": {"id": 101, "epoch": 7},
                "brokers": {"1": "n1", "2": "n2", "3": "n3"},
                "unreachable": [],
                "read_ms": 4,
                "voters": voters
            }),
        );
    }

    /// The active controller cut off from the other controllers: the
    /// majority elects another at a higher epoch. If the old one keeps
    /// leading past the bound the run is invalid (KAFKA-15489); if it
    /// resigns within a few seconds, only the overlap is reported.
    #[test]
    fn two_controllers_leading_are_judged_by_how_long() {
        for (overlap_s, invalid) in [(30, true), (2, false)] {
            let (ops, _, _) = history(
                "partition",
                "c101",
                false,
                |b| {
                    observe_voters(b, &[(101, 7)]);
                    b.sleep(S);
                    observe_voters(b, &[(101, 7), (102, 8)]);
                    b.sleep(overlap_s * S);
                    observe_voters(b, &[(102, 8)]);
                },
                |_| {},
            );
            let r = crate::check_ops(&ops, &crate::CheckOptions::default()).unwrap();
            let e = effects(&r);
            let c = e.controllers.as_ref().expect("voters observed");
            assert_eq!(c.dual.len(), 1);
            assert!((c.longest_s - overlap_s as f64).abs() < 0.1, "{c:?}");
            assert!(
                e.summary.contains("two controllers leading"),
                "{}",
                e.summary
            );
            let n = r
                .anomaly_counts
                .get(crate::verdict::class::CONTROLLER_SPLIT_BRAIN)
                .copied();
            if invalid {
                assert_eq!(r.valid, Validity::Invalid, "{}", r.human_summary(3));
                assert_eq!(n, Some(1));
                assert!(
                    r.summary.contains("1 controller-split-brain"),
                    "{}",
                    r.summary
                );
            } else {
                assert_ne!(r.valid, Validity::Invalid, "{}", r.human_summary(3));
                assert_eq!(n, None);
            }
        }
    }

    /// The filesystem faults are kills whose nodes also lost data: their
    /// start's `nodes` are the nodes hit (the `dropped` reports beside them
    /// change nothing), and a leader moved is their effect.
    #[test]
    fn a_power_loss_is_a_kill_of_its_nodes_that_can_bite() {
        for kind in ["lose-unfsynced", "power-loss"] {
            let mut b = Builder::new();
            observe(&mut b, 1, 0, &[1, 2, 3], &[]);
            b.send_ok(0, 1, 0, 0);
            b.sleep(S);
            nemesis(
                &mut b,
                &format!("start-{kind}"),
                json!({"target": "majority", "nodes": ["n1", "n2"],
                       "dropped": {"n1": {"bytes_dropped": 4096}, "n2": {"bytes_dropped": 0}}}),
            );
            b.sleep(S);
            observe(&mut b, 3, 1, &[3], &[1, 2]);
            nemesis(
                &mut b,
                &format!("stop-{kind}"),
                json!({"started": ["n1", "n2"]}),
            );
            b.sleep(S / 2);
            observe(&mut b, 3, 1, &[1, 2, 3], &[]);
            b.final_read(0, 0, 1, &[(0, 1)]);
            let r = crate::check_ops(&b.ops, &crate::CheckOptions::default()).unwrap();
            let e = effects(&r);
            assert_eq!(
                (e.faults, e.with_effect),
                (1, Some(1)),
                "{kind}: {}",
                e.summary
            );
            let i = &e.intervals[0];
            assert_eq!(i.kind, kind);
            assert_eq!(i.nodes, vec!["n1".to_string(), "n2".to_string()]);
            assert_eq!(i.leader_changes, BTreeMap::from([(0, 1)]));
            assert_eq!(i.newly_unreachable, vec![1, 2]);
        }
    }

    /// A power loss whose drop failed on a node: the interval keeps the
    /// node's reason, the run counts the fault as applied only in part,
    /// and a warning names the node.
    #[test]
    fn a_fault_that_failed_on_a_node_says_so() {
        let mut b = Builder::new();
        observe(&mut b, 1, 0, &[1, 2, 3], &[]);
        b.send_ok(0, 1, 0, 0);
        b.sleep(S);
        nemesis(
            &mut b,
            "start-power-loss",
            json!({"target": "all", "nodes": ["n1", "n2", "n3"],
                   "dropped": {"n1": {"bytes_dropped": 4096}},
                   "failed": {"n2": "drop-unfsynced: busy", "n3": "drop-unfsynced: busy"}}),
        );
        b.sleep(S);
        observe(&mut b, 2, 1, &[2], &[1, 3]);
        nemesis(
            &mut b,
            "stop-power-loss",
            json!({"started": ["n1", "n2", "n3"]}),
        );
        b.sleep(S / 2);
        observe(&mut b, 2, 1, &[1, 2, 3], &[]);
        b.final_read(0, 0, 1, &[(0, 1)]);
        let r = crate::check_ops(&b.ops, &crate::CheckOptions::default()).unwrap();
        let e = effects(&r);
        assert_eq!((e.faults, e.partly_applied), (1, 1), "{}", e.summary);
        assert_eq!(
            e.intervals[0].failed.keys().collect::<Vec<_>>(),
            vec!["n2", "n3"]
        );
        assert!(
            e.summary.contains("1 applied only in part"),
            "{}",
            e.summary
        );
        let w = r.warnings.join("\n");
        assert!(
            w.contains("power-loss fault at") && w.contains("n2 (drop-unfsynced: busy)"),
            "{w}"
        );
        let json = serde_json::to_value(&e).unwrap();
        assert_eq!(json["intervals"][0]["failed"]["n3"], "drop-unfsynced: busy");
    }

    #[test]
    fn a_kill_of_the_leader_moves_it_and_the_fail_over_is_timed() {
        let (ops, start, _) = history(
            "kill",
            "n1",
            true,
            |b| {
                b.sleep(S + S / 2);
                observe(b, 2, 1, &[2, 3], &[1]);
            },
            // The broker is back in the ISR half a second after the stop.
            |b| {
                b.sleep(S / 2);
                observe(b, 2, 1, &[1, 2, 3], &[]);
            },
        );
        let r = crate::check_ops(&ops, &crate::CheckOptions::default()).unwrap();
        assert_eq!(r.valid, Validity::Valid, "{}", r.human_summary(3));
        let e = effects(&r);
        assert_eq!((e.faults, e.with_effect), (1, Some(1)));
        let i = &e.intervals[0];
        assert!(i.effect);
        assert_eq!(i.nodes, vec!["n1".to_string()]);
        assert_eq!(i.leader_changes, BTreeMap::from([(0, 1)]));
        assert_eq!((i.isr_shrinks, i.isr_expansions), (1, 1));
        assert_eq!(i.newly_unreachable, vec![1]);
        assert_eq!(i.controller_changes, 0);
        let observed_at = ops
            .iter()
            .find(|o| {
                o.f == F::Observe && o.kind == OpType::Ok && o.value.get().contains("\"leader\":2")
            })
            .unwrap()
            .time;
        // Timed from the start's invoke: when the nemesis began acting.
        let invoked = ops[..start as usize]
            .iter()
            .rev()
            .find(|o| o.process == Process::Nemesis && o.kind == OpType::Invoke)
            .unwrap()
            .time;
        let failover = (observed_at - invoked) as f64 / 1e9;
        assert_eq!(i.failover_s, Some(failover));
        assert!((1.5..1.6).contains(&failover), "{failover}");
        let full = i.full_isr_after_s.unwrap();
        assert!((0.49..0.51).contains(&full), "{full}");
        let q = e.failover_s.as_ref().unwrap();
        assert_eq!((q.p50, q.max, q.n), (failover, failover, 1));
        assert_eq!(e.leader_changes, BTreeMap::from([(0, 1)]));
        // The partition's replicas include n1: its sends during the fault
        // count as "faulted replica".
        let p = &e.partitions[0];
        assert!(
            p.faulted_replica_s > 0.0 && p.other_faults.is_none(),
            "{p:?}"
        );
        assert!(r
            .human_summary(0)
            .contains("effects: faults: 1, with an observable effect: 1"));
    }

    fn observe_ensemble(b: &mut Builder, leader: &str, members: serde_json::Value) -> u64 {
        let p = Process::Named("observer".into());
        b.op(p.clone(), OpType::Invoke, F::Observe, &());
        b.op(
            p,
            OpType::Ok,
            F::Observe,
            &json!({
                "partitions": [{"partition": 0, "leader": 1, "epoch": 0,
                                "replicas": [1, 2, 3], "isr": [1, 2, 3], "offline": []}],
                "controller": {"id": 2, "epoch": -1},
                "brokers": {"1": "n1", "2": "n2", "3": "n3"},
                "unreachable": [],
                "read_ms": 4,
                "zookeeper": {"leader": leader, "members": members}
            }),
        )
    }

    #[test]
    fn a_zookeeper_leader_kill_bites_through_the_ensemble_alone() {
        let run = |kill_bites: bool| {
            let mut b = Builder::new();
            let all = json!({"z1": "follower", "z2": "leader", "z3": "follower"});
            observe_ensemble(&mut b, "z2", all.clone());
            b.send_ok(0, 1, 0, 0);
            b.sleep(S);
            nemesis(
                &mut b,
                "start-kill",
                json!({"nodes": ["z2"], "process": "zookeeper"}),
            );
            b.send_ok(1, 2, 0, 1);
            b.sleep(S);
            if kill_bites {
                // The survivors elect z3; z2 answers nothing.
                observe_ensemble(
                    &mut b,
                    "z3",
                    json!({"z1": "follower", "z2": "unreachable", "z3": "leader"}),
                );
            }
            b.sleep(S);
            nemesis(&mut b, "stop-kill", json!(null));
            b.send_ok(0, 3, 0, 2);
            let r = crate::check_ops(&b.ops, &crate::CheckOptions::default()).unwrap();
            let vacuous = r
                .unknown_reasons
                .iter()
                .any(|w| w.contains("none had an observable effect"));
            (effects(&r), vacuous)
        };
        let (e, vacuous) = run(true);
        assert_eq!((e.faults, e.with_effect), (1, Some(1)), "{}", e.summary);
        assert!(!vacuous);
        let i = &e.intervals[0];
        assert!(i.leader_changes.is_empty() && i.controller_changes == 0);
        assert_eq!(i.zookeeper_leader_changes, 1);
        assert_eq!(i.zookeeper_stopped_serving, vec!["z2".to_string()]);
        // The same fault, with an ensemble that never changed: no effect.
        let (e, vacuous) = run(false);
        assert_eq!((e.faults, e.with_effect), (1, Some(0)), "{}", e.summary);
        assert!(vacuous, "a fault that changed nothing is judged vacuous");
    }

    /// One sample whose partitions never change, with group `kt-c1`'s
    /// coordinator and state.
    fn observe_group(b: &mut Builder, coordinator: i32, state: Option<&str>) {
        let p = Process::Named("observer".into());
        let mut g = json!({"coordinator": coordinator});
        if let Some(st) = state {
            g["state"] = json!(st);
        }
        b.op(p.clone(), OpType::Invoke, F::Observe, &());
        b.op(
            p,
            OpType::Ok,
            F::Observe,
            &json!({
                "partitions": [{"partition": 0, "leader": 1, "epoch": 0,
                                "replicas": [1, 2, 3], "isr": [1, 2, 3], "offline": []}],
                "controller": {"id": 1, "epoch": 7},
                "brokers": {"1": "n1", "2": "n2", "3": "n3"},
                "unreachable": [],
                "read_ms": 4,
                "groups": {"kt-c1": g}
            }),
        );
    }

    /// A `group-coordinator` kill bites when the group's coordinator moves,
    /// even though no partition of the test topic moved; a kill after which
    /// the group only rebalanced (members do that with no fault) had no
    /// effect, and the run is judged vacuous.
    #[test]
    fn a_group_coordinator_kill_bites_when_the_coordinator_moves() {
        let run = |moves: bool| {
            let mut b = Builder::new();
            observe_group(&mut b, 2, Some("Stable"));
            b.send_ok(0, 1, 0, 0);
            b.sleep(S);
            nemesis(
                &mut b,
                "start-kill",
                json!({"target": "group-coordinator", "nodes": ["n2"],
                       "group": "kt-c1", "coordinator": "n2"}),
            );
            b.send_ok(1, 2, 0, 1);
            b.sleep(S / 2);
            observe_group(&mut b, if moves { 3 } else { 2 }, None);
            b.sleep(S / 2);
            observe_group(
                &mut b,
                if moves { 3 } else { 2 },
                Some("PreparingRebalance"),
            );
            b.sleep(S);
            observe_group(&mut b, if moves { 3 } else { 2 }, Some("Stable"));
            nemesis(&mut b, "stop-kill", json!({"started": ["n2"]}));
            b.send_ok(0, 3, 0, 2);
            let r = crate::check_ops(&b.ops, &crate::CheckOptions::default()).unwrap();
            let vacuous = r
                .unknown_reasons
                .iter()
                .any(|w| w.contains("none had an observable effect"));
            (effects(&r), vacuous)
        };
        let (e, vacuous) = run(true);
        assert_eq!((e.faults, e.with_effect), (1, Some(1)), "{}", e.summary);
        assert!(!vacuous);
        let i = &e.intervals[0];
        assert!(i.leader_changes.is_empty());
        assert_eq!((i.group_coordinator_changes, i.group_rebalances), (1, 1));
        let moved = i.group_coordinator_moved_s.unwrap();
        assert!((0.49..0.51).contains(&moved), "{moved}");
        let g = &e.groups.as_ref().unwrap()["kt-c1"];
        assert_eq!((g.coordinator_changes, g.rebalances), (1, 1));
        assert_eq!(g.coordinators, [2, 3]);
        assert!(
            e.summary
                .contains("group kt-c1: coordinator moved 1 time(s) (2 → 3)"),
            "{}",
            e.summary
        );
        let (e, vacuous) = run(false);
        assert_eq!((e.faults, e.with_effect), (1, Some(0)), "{}", e.summary);
        assert!(vacuous, "a rebalance alone is not an effect");
        assert_eq!(e.intervals[0].group_rebalances, 1);
        assert_eq!(e.intervals[0].group_coordinator_changes, 0);
    }

    #[test]
    fn a_pause_that_changed_nothing_is_unknown() {
        let (ops, _, _) = history("pause", "n3", true, |b| b.sleep(S), |_| {});
        let r = crate::check_ops(&ops, &crate::CheckOptions::default()).unwrap();
        assert_eq!(r.valid, Validity::Unknown, "{}", r.human_summary(3));
        assert_eq!(
            r.unknown_reasons,
            vec!["faults: 1, none had an observable effect on the cluster".to_string()]
        );
        let e = effects(&r);
        assert_eq!((e.faults, e.with_effect), (1, Some(0)));
        let i = &e.intervals[0];
        assert!(!i.effect && i.failover_s.is_none());
        assert_eq!(i.full_isr_after_s, Some(0.0));
        // Availability during faults is reported either way.
        assert!(e.ok_ops_per_s.during_faults > 0.0 && e.ok_ops_per_s.healthy > 0.0);
        assert!(e.summary.contains("ok ops"), "{}", e.summary);
    }

    #[test]
    fn without_an_observer_the_effects_are_unknown_and_the_verdict_stands() {
        let (ops, _, _) = history("pause", "n3", false, |b| b.sleep(S), |_| {});
        let r = crate::check_ops(&ops, &crate::CheckOptions::default()).unwrap();
        assert_eq!(r.valid, Validity::Valid, "{}", r.human_summary(3));
        assert!(
            r.warnings.iter().any(|w| w.contains("no observer samples")),
            "{:?}",
            r.warnings
        );
        let e = effects(&r);
        assert_eq!((e.observed, e.with_effect), (false, None));
        assert!(
            e.summary.starts_with("faults: 1, effects unknown"),
            "{}",
            e.summary
        );
    }
}
