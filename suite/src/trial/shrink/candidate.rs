//! A candidate of the shrink: the faults (scripted steps or faults as a
//! schedule planned them), the time limit and the workload's knobs; the
//! smaller variants of a fault (fewer nodes, a shorter window) and of the
//! workload; and the trial spec a candidate runs as.

use crate::trial::fixed::{self, FixedFault};
use crate::trial::script::{ScriptFault, ScriptStep, ScriptTarget};
use crate::trial::{NemesisPlan, TestSpec};
use anyhow::{bail, Result};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;
use trial_nemesis::{Fault, Schedule, Target};

/// The shortest window a fault is shrunk to.
pub const MIN_WINDOW: Duration = Duration::from_secs(1);
/// How far past the last fault's stop the time limit is cut to (the
/// anomaly often shows in what is written after the heal).
pub const TIME_MARGIN: Duration = Duration::from_secs(5);
/// The lowest rate (ops/s) the workload is shrunk to.
pub const MIN_RATE: f64 = 10.0;

/// One fault of a candidate.
#[derive(Debug, Clone, PartialEq)]
pub enum ShrinkFault {
    /// A scripted step pair (targets resolved once the topic exists, as
    /// the scenario's script said: "the leader of partition 0").
    Script {
        start: Duration,
        stop: Option<Duration>,
        fault: ScriptFault,
        target: ScriptTarget,
    },
    /// A fault as the run's schedule planned it.
    Planned(FixedFault),
}

impl ShrinkFault {
    pub fn start(&self) -> Duration {
        match self {
            ShrinkFault::Script { start, .. } => *start,
            ShrinkFault::Planned(f) => f.start,
        }
    }
    pub fn stop(&self) -> Option<Duration> {
        match self {
            ShrinkFault::Script { stop, .. } => *stop,
            ShrinkFault::Planned(f) => f.stop,
        }
    }
    fn with_stop(&self, t: Duration) -> ShrinkFault {
        let mut c = self.clone();
        match &mut c {
            ShrinkFault::Script { stop, .. } => *stop = Some(t),
            ShrinkFault::Planned(f) => f.stop = Some(t),
        }
        c
    }

    /// `kill leader-of 0 at 10.0s–25.0s`.
    pub fn describe(&self) -> String {
        match self {
            ShrinkFault::Script {
                start,
                stop,
                fault,
                target,
            } => format!(
                "{} {} {}",
                script_name(*fault),
                script_target(target),
                fixed::window(*start, *stop)
            ),
            ShrinkFault::Planned(f) => f.describe(),
        }
    }

    /// The fault's kind and what it hits, without its times (what the
    /// double runner and the tests compare).
    pub fn kind_name(&self) -> &'static str {
        match self {
            ShrinkFault::Script { fault, .. } => fault.kind().name(),
            ShrinkFault::Planned(f) => f.fault.kind().name(),
        }
    }

    /// Variants that hit fewer nodes: one node instead of several (each
    /// node in turn), with what changed in words.
    pub fn fewer_targets(&self) -> Vec<(String, ShrinkFault)> {
        let mut out = vec![];
        match self {
            ShrinkFault::Script {
                target: ScriptTarget::Nodes(v),
                ..
            } if v.len() > 1 => {
                for n in v {
                    let mut c = self.clone();
                    if let ShrinkFault::Script { target, .. } = &mut c {
                        *target = ScriptTarget::Nodes(vec![n.clone()]);
                    }
                    out.push((format!("{n} only (was {})", v.join(",")), c));
                }
            }
            ShrinkFault::Script { .. } => {}
            ShrinkFault::Planned(f) => {
                for (what, fault) in fewer_planned(&f.fault) {
                    let mut c = f.clone();
                    c.fault = fault;
                    out.push((what, ShrinkFault::Planned(c)));
                }
            }
        }
        out
    }

    /// The same fault over half its window (never under [`MIN_WINDOW`]);
    /// a fault without a stop stops halfway to `end`.
    pub fn shorter(&self, end: Duration) -> Option<ShrinkFault> {
        let start = self.start();
        let stop = self.stop().unwrap_or(end);
        let len = stop.saturating_sub(start);
        if len < MIN_WINDOW * 2 {
            return None;
        }
        // Whole 100 ms: the times stay readable.
        let half = Duration::from_millis((len.as_millis() as u64 / 2).div_ceil(100) * 100);
        Some(self.with_stop(start + half.max(MIN_WINDOW)))
    }
}

/// A planned fault's variants with a single node.
fn fewer_planned(f: &Fault) -> Vec<(String, Fault)> {
    let one = |ns: &BTreeSet<String>| -> Vec<(String, BTreeSet<String>)> {
        if ns.len() < 2 {
            return vec![];
        }
        let all = ns.iter().cloned().collect::<Vec<_>>().join(",");
        ns.iter()
            .map(|n| (format!("{n} only (was {all})"), BTreeSet::from([n.clone()])))
            .collect()
    };
    match f {
        Fault::Kill {
            nodes: Some(ns),
            process,
            ..
        } => one(ns)
            .into_iter()
            .map(|(w, n)| {
                (
                    w,
                    Fault::Kill {
                        target: Target::One,
                        nodes: Some(n),
                        process: *process,
                    },
                )
            })
            .collect(),
        Fault::Pause {
            nodes: Some(ns),
            process,
            ..
        } => one(ns)
            .into_iter()
            .map(|(w, n)| {
                (
                    w,
                    Fault::Pause {
                        target: Target::One,
                        nodes: Some(n),
                        process: *process,
                    },
                )
            })
            .collect(),
        Fault::Loss {
            nodes: Some(ns),
            probability,
            ..
        } => one(ns)
            .into_iter()
            .map(|(w, n)| {
                (
                    w,
                    Fault::Loss {
                        target: Target::One,
                        nodes: Some(n),
                        probability: *probability,
                    },
                )
            })
            .collect(),
        Fault::LoseUnfsynced {
            nodes: Some(ns), ..
        } => one(ns)
            .into_iter()
            .map(|(w, n)| {
                (
                    w,
                    Fault::LoseUnfsynced {
                        target: Target::One,
                        nodes: Some(n),
                    },
                )
            })
            .collect(),
        Fault::PowerLoss {
            nodes: Some(ns),
            target,
        } => one(ns)
            .into_iter()
            .map(|(w, n)| {
                (
                    w,
                    Fault::PowerLoss {
                        target: *target,
                        nodes: Some(n),
                    },
                )
            })
            .collect(),
        Fault::Clock {
            offsets: Some(o),
            target,
            mode,
            candidates,
            strobe,
        } if o.len() > 1 => o
            .iter()
            .map(|(n, off)| {
                (
                    format!("{n} only (was {} nodes)", o.len()),
                    Fault::Clock {
                        target: *target,
                        mode: *mode,
                        offsets: Some(BTreeMap::from([(n.clone(), *off)])),
                        candidates: candidates.clone(),
                        strobe: *strobe,
                    },
                )
            })
            .collect(),
        // A cut: one node's cuts only (it and the nodes it dropped drop
        // each other; every other node reaches everyone).
        Fault::Partition {
            topology,
            grudge: Some(g),
        } => {
            let cutting: Vec<&String> = g
                .iter()
                .filter(|(_, v)| !v.is_empty())
                .map(|(k, _)| k)
                .collect();
            if cutting.len() <= 2 {
                return vec![];
            }
            cutting
                .iter()
                .map(|x| {
                    let mut ng: trial_nemesis::Grudge =
                        g.keys().map(|k| (k.clone(), BTreeSet::new())).collect();
                    let dropped = g[*x].clone();
                    for y in &dropped {
                        ng.entry(y.clone()).or_default().insert((*x).clone());
                    }
                    ng.insert((*x).clone(), dropped.clone());
                    (
                        format!(
                            "only {x} cut off (from {})",
                            dropped.iter().cloned().collect::<Vec<_>>().join(",")
                        ),
                        Fault::Partition {
                            topology: *topology,
                            grudge: Some(ng),
                        },
                    )
                })
                .collect()
        }
        _ => vec![],
    }
}

fn script_name(f: ScriptFault) -> String {
    serde_json::to_value(f)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_else(|| format!("{f:?}"))
}

fn script_target(t: &ScriptTarget) -> String {
    match t {
        ScriptTarget::LeaderOf(p) => format!("the leader of partition {p}"),
        ScriptTarget::FollowersOf(p) => format!("the followers of partition {p}"),
        ScriptTarget::Nodes(v) => v.join(","),
        ScriptTarget::ActiveController => "the active controller".into(),
        ScriptTarget::Coordinator => "the transaction coordinator".into(),
        ScriptTarget::LeaderAwayFromCoordinator => "a leader away from the coordinator".into(),
        ScriptTarget::ZookeeperLeader => "the ZooKeeper leader".into(),
    }
}

/// What a candidate runs: its faults, time limit and workload knobs over
/// the original run's spec.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub faults: Vec<ShrinkFault>,
    pub time_limit: Duration,
    pub rate: f64,
    pub concurrency: usize,
    pub senders: usize,
    pub partitions: u32,
}

impl Candidate {
    /// The original run's candidate: its faults from the script or fixed
    /// schedule of its spec, or (a generated schedule) from the
    /// `schedule.json` it played.
    pub fn original(spec: &TestSpec, played: Option<&Schedule>) -> Result<Candidate> {
        let faults = match &spec.nemesis {
            NemesisPlan::Script(steps) => script_faults(steps),
            NemesisPlan::Fixed(f) => f.iter().cloned().map(ShrinkFault::Planned).collect(),
            NemesisPlan::Generated(_) => match played {
                Some(s) => fixed::from_schedule(s)
                    .into_iter()
                    .map(ShrinkFault::Planned)
                    .collect(),
                None => bail!("the run has no schedule.json: its faults are unknown"),
            },
        };
        Ok(Candidate {
            faults,
            time_limit: spec.time_limit,
            rate: spec.rate,
            concurrency: spec.concurrency,
            senders: spec.senders,
            partitions: spec.partitions,
        })
    }

    /// The spec this candidate runs: `base` with its faults (a script
    /// stays a script; planned faults become a fixed schedule), time limit
    /// and workload knobs.
    pub fn to_spec(&self, base: &TestSpec) -> TestSpec {
        let mut s = base.clone();
        let scripted = matches!(base.nemesis, NemesisPlan::Script(_))
            || self
                .faults
                .iter()
                .any(|f| matches!(f, ShrinkFault::Script { .. }));
        s.nemesis = if scripted {
            let mut steps = vec![];
            for (i, f) in self.faults.iter().enumerate() {
                if let ShrinkFault::Script {
                    start,
                    stop,
                    fault,
                    target,
                } = f
                {
                    let step = |at: Duration, start: bool| ScriptStep {
                        at,
                        id: i as u32,
                        start,
                        fault: *fault,
                        target: target.clone(),
                    };
                    steps.push(step(*start, true));
                    if let Some(t) = stop {
                        steps.push(step(*t, false));
                    }
                }
            }
            steps.sort_by_key(|s| s.at);
            NemesisPlan::Script(steps)
        } else {
            NemesisPlan::Fixed(
                self.faults
                    .iter()
                    .filter_map(|f| match f {
                        ShrinkFault::Planned(p) => Some(p.clone()),
                        ShrinkFault::Script { .. } => None,
                    })
                    .collect(),
            )
        };
        s.time_limit = self.time_limit;
        s.rate = self.rate;
        s.concurrency = self.concurrency;
        s.senders = self.senders;
        s.partitions = self.partitions;
        s
    }

    /// Only the faults at these positions.
    pub fn keep(&self, idx: &[usize]) -> Candidate {
        let mut c = self.clone();
        c.faults = idx.iter().map(|i| self.faults[*i].clone()).collect();
        c
    }

    /// When the last fault ends (a fault without a stop: its start and
    /// the shortest window).
    pub fn last_fault_end(&self) -> Duration {
        self.faults
            .iter()
            .map(|f| f.stop().unwrap_or(f.start() + MIN_WINDOW))
            .max()
            .unwrap_or_default()
    }

    /// The fewest partitions the faults allow (a script naming partition
    /// 2 needs 3).
    fn min_partitions(&self) -> u32 {
        self.faults
            .iter()
            .filter_map(|f| match f {
                ShrinkFault::Script {
                    target: ScriptTarget::LeaderOf(p) | ScriptTarget::FollowersOf(p),
                    ..
                } => Some(*p as u32 + 1),
                _ => None,
            })
            .max()
            .unwrap_or(1)
    }

    /// The workload's smaller variants, in the order they are tried, each
    /// with its knob and what changed: the time limit cut to just past the
    /// last fault, else halfway there; then the rate, the consumers, the senders and the
    /// partitions, each first at its floor, then halved. Each is one step:
    /// the search asks again after one is kept.
    pub fn smaller_workloads(&self) -> Vec<(&'static str, String, Candidate)> {
        let mut out = vec![];
        let cut = self.last_fault_end() + TIME_MARGIN;
        let cut = Duration::from_secs(cut.as_secs() + u64::from(cut.subsec_nanos() > 0));
        // Just past the last fault first, then halfway there (Kafka may
        // need longer than the margin to show the loss after the heal).
        let halfway = Duration::from_secs((self.time_limit.as_secs() + cut.as_secs()).div_ceil(2));
        let mut limits = vec![cut];
        if halfway > cut && halfway < self.time_limit {
            limits.push(halfway);
        }
        for limit in limits.into_iter().filter(|l| *l < self.time_limit) {
            let mut c = self.clone();
            // A fault without a stop is stopped where it was healed.
            for f in &mut c.faults {
                if f.stop().is_none() {
                    *f = f.with_stop(self.time_limit.min(limit));
                }
            }
            c.time_limit = limit;
            out.push((
                "time-limit",
                format!(
                    "time limit {}s → {}s (the last fault ends at {:.1}s)",
                    self.time_limit.as_secs(),
                    limit.as_secs(),
                    self.last_fault_end().as_secs_f64()
                ),
                c,
            ));
        }
        // Floor first, then half.
        let steps = |now: f64, floor: f64| -> Vec<f64> {
            let half = (now / 2.0).floor().max(floor);
            let mut v = vec![];
            if now > floor {
                v.push(floor);
                if half > floor && half < now {
                    v.push(half);
                }
            }
            v
        };
        if self.rate > 0.0 {
            for r in steps(self.rate, MIN_RATE) {
                let mut c = self.clone();
                c.rate = r;
                out.push(("rate", format!("rate {} → {} ops/s", self.rate, r), c));
            }
        }
        for v in steps(self.concurrency as f64, 1.0) {
            let mut c = self.clone();
            c.concurrency = v as usize;
            out.push((
                "consumers",
                format!("consumers {} → {}", self.concurrency, c.concurrency),
                c,
            ));
        }
        for v in steps(self.senders as f64, 1.0) {
            let mut c = self.clone();
            c.senders = v as usize;
            out.push((
                "senders",
                format!("senders {} → {}", self.senders, c.senders),
                c,
            ));
        }
        for v in steps(self.partitions as f64, self.min_partitions() as f64) {
            let mut c = self.clone();
            c.partitions = v as u32;
            out.push((
                "partitions",
                format!("partitions {} → {}", self.partitions, c.partitions),
                c,
            ));
        }
        out
    }

    /// One line per fault.
    pub fn describe_faults(&self) -> Vec<String> {
        self.faults.iter().map(ShrinkFault::describe).collect()
    }
}

/// A script's steps paired into faults by id, in start order.
fn script_faults(steps: &[ScriptStep]) -> Vec<ShrinkFault> {
    let mut out = vec![];
    let mut open: BTreeMap<u32, usize> = BTreeMap::new();
    let mut sorted: Vec<&ScriptStep> = steps.iter().collect();
    sorted.sort_by_key(|s| s.at);
    for s in sorted {
        if s.start {
            open.insert(s.id, out.len());
            out.push(ShrinkFault::Script {
                start: s.at,
                stop: None,
                fault: s.fault,
                target: s.target.clone(),
            });
        } else if let Some(i) = open.remove(&s.id) {
            if let ShrinkFault::Script { stop, .. } = &mut out[i] {
                *stop = Some(s.at);
            }
        }
    }
    out
}
