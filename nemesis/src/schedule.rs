//! The schedule: a seeded plan of fault starts and stops.
//!
//! (One file of ~900 lines: ~560 of code, the rest its tests, which pin
//! the byte-stable plans and are best read beside the algorithm.)
//!
//! [`Schedule::generate`] turns a seed, the node names, the fault period and
//! [`NemesisOptions`] into a list of [`Action`]s. Everything random that does
//! not depend on the cluster's state (which nodes, which cut, which clock
//! offsets) is drawn here, so `kafka-trial nemesis plan` shows it; the rest
//! (current leaders, the active controller) is resolved when applied, with a
//! per-fault seed so the choice among them is reproducible too.
//!
//! The process: starting at 0, wait `interval ± jitter`, then act: start a
//! fault if none is active; stop one if `max_concurrent` are active (or every
//! kind is); otherwise toss a coin. A started fault's kind is drawn among
//! the kinds not active (a kind never overlaps itself). A fault starts only
//! if one more shortest wait still fits before the period's end; faults still
//! active when the next wait would pass the end are stopped at the end.
//! With a `min_fault_duration`, a fault starts only if it can last that
//! long before the end, a stop goes to a fault that has lasted it if there
//! is one, and otherwise waits until the fault chosen has (the next wait
//! counts from there).
//! Same seed, nodes, period and options → the same schedule, byte for byte.

use crate::error::PlanError;
use crate::faults;
use crate::grudge::{self, Grudge};
use crate::node::ProcessRole;
use crate::options::{ms, ClockMode, ClockOffset, FaultKind, NemesisOptions, Target};
use crate::topology::Topology;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::time::Duration;

/// Strobe timing of a clock fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Strobe {
    pub period_ms: u64,
    pub count: u32,
}

/// One fault as planned. Fields left `None` are resolved when applied.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Fault {
    Partition {
        topology: Topology,
        /// The cut, unless the topology is dynamic (`primaries`, `controller`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        grudge: Option<Grudge>,
    },
    Kill {
        target: Target,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        nodes: Option<BTreeSet<String>>,
        /// The process killed on each node (absent: the broker).
        #[serde(default, skip_serializing_if = "ProcessRole::is_broker")]
        process: ProcessRole,
    },
    Pause {
        target: Target,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        nodes: Option<BTreeSet<String>>,
        /// The process paused on each node (absent: the broker).
        #[serde(default, skip_serializing_if = "ProcessRole::is_broker")]
        process: ProcessRole,
    },
    Loss {
        target: Target,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        nodes: Option<BTreeSet<String>>,
        probability: f64,
    },
    Clock {
        target: Target,
        mode: ClockMode,
        /// The offset of each target node, unless the target is dynamic.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        offsets: Option<BTreeMap<String, ClockOffset>>,
        /// Offsets drawn from, per node, when resolved at apply time.
        candidates: Vec<ClockOffset>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        strobe: Option<Strobe>,
    },
    /// SIGKILL the broker of each target node, drop its un-fsynced
    /// writes, and (at stop) start it again.
    LoseUnfsynced {
        target: Target,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        nodes: Option<BTreeSet<String>>,
    },
    /// Every target node's broker killed at once, then each one's
    /// un-fsynced writes dropped; stop starts them again.
    PowerLoss {
        target: Target,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        nodes: Option<BTreeSet<String>>,
    },
    /// A fault that does nothing (tests of the fault registry only).
    #[cfg(test)]
    Noop { nodes: BTreeSet<String> },
}

impl Fault {
    pub fn kind(&self) -> FaultKind {
        match self {
            Fault::Partition { .. } => FaultKind::Partition,
            Fault::Kill { .. } => FaultKind::Kill,
            Fault::Pause { .. } => FaultKind::Pause,
            Fault::Loss { .. } => FaultKind::Loss,
            Fault::Clock { .. } => FaultKind::Clock,
            Fault::LoseUnfsynced { .. } => FaultKind::LoseUnfsynced,
            Fault::PowerLoss { .. } => FaultKind::PowerLoss,
            #[cfg(test)]
            Fault::Noop { .. } => FaultKind::Noop,
        }
    }

    /// A short human description of what is asked.
    pub fn describe(&self) -> String {
        fn nodes_or(target: &Target, nodes: &Option<BTreeSet<String>>) -> String {
            match nodes {
                Some(ns) => format!(
                    "{target}: {}",
                    ns.iter().cloned().collect::<Vec<_>>().join(",")
                ),
                None => format!("{target} (resolved when applied)"),
            }
        }
        match self {
            Fault::Partition { topology, grudge } => match grudge {
                Some(g) => format!("{topology}: {}", grudge::render(g)),
                None => format!("{topology} (resolved when applied)"),
            },
            Fault::Kill {
                target,
                nodes,
                process,
            }
            | Fault::Pause {
                target,
                nodes,
                process,
            } => {
                if process.is_broker() {
                    nodes_or(target, nodes)
                } else {
                    format!("{process} of {}", nodes_or(target, nodes))
                }
            }
            Fault::Loss {
                target,
                nodes,
                probability,
            } => format!("{} at p={probability}", nodes_or(target, nodes)),
            Fault::LoseUnfsynced { target, nodes } | Fault::PowerLoss { target, nodes } => {
                nodes_or(target, nodes)
            }
            Fault::Clock {
                target,
                mode,
                offsets,
                candidates,
                strobe,
            } => {
                let what = match offsets {
                    Some(o) => format!(
                        "{target}: {}",
                        o.iter()
                            .map(|(n, off)| format!("{n} {off}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    None => format!(
                        "{target} (resolved when applied), offsets from {}",
                        candidates
                            .iter()
                            .map(|o| o.to_string())
                            .collect::<Vec<_>>()
                            .join(",")
                    ),
                };
                match (mode, strobe) {
                    (ClockMode::Strobe, Some(s)) => {
                        format!("strobe {what}; {} writes every {}ms", s.count, s.period_ms)
                    }
                    _ => format!("{mode} {what}"),
                }
            }
            #[cfg(test)]
            Fault::Noop { nodes } => format!("noop: {}", nodes.len()),
        }
    }
}

/// Whether an action starts or stops its fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    Start,
    Stop,
}

/// One step of the plan: at `at_ms` after the time origin, start or stop
/// fault number `id`. A stop repeats its start's fault.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Action {
    pub at_ms: u64,
    pub id: u32,
    pub phase: Phase,
    /// Seeds the choices made when applied (e.g. which partition's replicas).
    pub seed: u64,
    pub fault: Fault,
}

impl Action {
    pub fn at(&self) -> Duration {
        Duration::from_millis(self.at_ms)
    }
    /// The history op name: `start-partition`, `stop-kill`, …
    pub fn f(&self) -> String {
        match self.phase {
            Phase::Start => self.fault.kind().start_f(),
            Phase::Stop => self.fault.kind().stop_f(),
        }
    }
}

/// A complete plan. Serialised with serde (JSON) it is the reproducible
/// record of what a test will do; displayed it is the human plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Schedule {
    pub seed: u64,
    /// The brokers (with any dedicated KRaft controllers): what the
    /// broker-side targets and the classic topologies pick among.
    pub nodes: Vec<String>,
    /// The members of the ZooKeeper ensemble (ZooKeeper mode; empty in
    /// KRaft mode, and then absent from the JSON, so plans made before
    /// ZooKeeper existed read and write the same): what the `zk-*` targets
    /// pick among. They stay connected in the classic topologies.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub zookeeper: Vec<String>,
    /// The fault period: every action is at or before it; heal follows.
    #[serde(rename = "period_ms", with = "ms")]
    pub period: Duration,
    pub options: NemesisOptions,
    pub actions: Vec<Action>,
}

/// Node names `n1..=nN`, as the suite names its containers.
pub fn node_names(n: usize) -> Vec<String> {
    (1..=n).map(|i| format!("n{i}")).collect()
}

fn jittered(rng: &mut ChaCha8Rng, base: u64, jitter_percent: u32) -> u64 {
    let j = base * u64::from(jitter_percent) / 100;
    rng.gen_range(base - j..=base + j).max(1)
}

/// `count` distinct random nodes.
pub fn choose_nodes<R: Rng>(nodes: &[String], count: usize, rng: &mut R) -> BTreeSet<String> {
    nodes
        .choose_multiple(rng, count.min(nodes.len()))
        .cloned()
        .collect()
}

/// One offset per node (in name order), drawn from `candidates`.
pub fn assign_offsets<R: Rng>(
    nodes: &BTreeSet<String>,
    candidates: &[ClockOffset],
    rng: &mut R,
) -> BTreeMap<String, ClockOffset> {
    nodes
        .iter()
        .map(|n| {
            (
                n.clone(),
                candidates.choose(rng).copied().unwrap_or(ClockOffset::ZERO),
            )
        })
        .collect()
}

/// The nodes a plan is drawn over, by what they run.
#[derive(Debug, Clone, Copy)]
pub struct PlanNodes<'a> {
    /// The brokers (with any dedicated KRaft controllers).
    pub brokers: &'a [String],
    /// The members of the ZooKeeper ensemble (empty in KRaft mode).
    pub zookeeper: &'a [String],
}

impl<'a> PlanNodes<'a> {
    /// Brokers only (KRaft mode).
    pub fn brokers(brokers: &'a [String]) -> Self {
        PlanNodes {
            brokers,
            zookeeper: &[],
        }
    }

    /// The pool a target picks among: the ensemble for `zk-*` targets,
    /// else the brokers.
    pub fn pool(&self, target: Target) -> &'a [String] {
        if target.is_zookeeper() {
            self.zookeeper
        } else {
            self.brokers
        }
    }
}

/// A target drawn from `targets`, and its nodes when the target is fixed
/// (random ones drawn now, so the plan shows them), among the target's
/// pool: brokers, or the ensemble's members for `zk-one`/`zk-majority`.
pub(crate) fn pick_target(
    nodes: &PlanNodes<'_>,
    targets: &[Target],
    rng: &mut ChaCha8Rng,
) -> (Target, Option<BTreeSet<String>>) {
    let t = *targets.choose(rng).expect("validated non-empty");
    let pool = nodes.pool(t);
    let ns = t.count(pool.len()).map(|c| choose_nodes(pool, c, rng));
    (t, ns)
}

impl Schedule {
    /// Plan the faults of a test. `nodes` are the broker names in a fixed
    /// order (e.g. [`node_names`]); `period` is the fault period (the time
    /// limit). No ZooKeeper ensemble (KRaft mode): see
    /// [`Schedule::generate_with_zookeeper`].
    pub fn generate(
        seed: u64,
        nodes: &[String],
        period: Duration,
        options: &NemesisOptions,
    ) -> Result<Schedule, PlanError> {
        Schedule::generate_with_zookeeper(seed, nodes, &[], period, options)
    }

    /// Plan the faults of a test on `brokers` (with any dedicated KRaft
    /// controllers) and the members of a ZooKeeper ensemble, `zookeeper`
    /// (empty: KRaft mode, the plan of [`Schedule::generate`]). Broker-side
    /// targets and the classic topologies pick among the brokers only; the
    /// `zk-*` targets among the ensemble; a run with an ensemble also draws
    /// the defaults' ZooKeeper additions
    /// ([`NemesisOptions::kill_targets_for`], `topologies_for`).
    pub fn generate_with_zookeeper(
        seed: u64,
        brokers: &[String],
        zookeeper: &[String],
        period: Duration,
        options: &NemesisOptions,
    ) -> Result<Schedule, PlanError> {
        let nodes = brokers;
        options.validate_with_zookeeper(nodes.len(), zookeeper.len())?;
        let mut seen = BTreeSet::new();
        for n in nodes.iter().chain(zookeeper) {
            if n.is_empty() || !seen.insert(n) {
                let all: Vec<&str> = nodes.iter().chain(zookeeper).map(String::as_str).collect();
                return Err(PlanError::invalid(
                    "node list",
                    all.join(","),
                    format!("node names must be unique and non-empty ({n:?})"),
                ));
            }
        }
        let plan_nodes = PlanNodes {
            brokers: nodes,
            zookeeper,
        };
        let mut schedule = Schedule {
            seed,
            nodes: nodes.to_vec(),
            zookeeper: zookeeper.to_vec(),
            period,
            options: options.clone(),
            actions: Vec::new(),
        };
        if options.kinds.is_empty() {
            return Ok(schedule);
        }
        if options.min_fault_duration > period {
            return Err(PlanError::invalid(
                "minimum fault duration",
                format!("{}ms", options.min_fault_duration.as_millis()),
                format!(
                    "longer than the fault period ({}ms): no fault could run",
                    period.as_millis()
                ),
            ));
        }
        let min = options.min_fault_duration.as_millis() as u64;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let end = period.as_millis() as u64;
        let base = (options.interval.as_millis() as u64).max(1);
        let shortest = (base - base * u64::from(options.jitter_percent) / 100).max(1);
        let kinds: Vec<FaultKind> = options.kinds.iter().collect();
        // Active faults: (id, kind, the start action's index, its start time).
        let mut active: Vec<(u32, FaultKind, usize, u64)> = Vec::new();
        let mut next_id = 0u32;
        let mut t = 0u64;
        loop {
            t += jittered(&mut rng, base, options.jitter_percent);
            if t > end {
                break;
            }
            let free: Vec<FaultKind> = kinds
                .iter()
                .copied()
                .filter(|k| !active.iter().any(|(_, a, _, _)| a == k))
                .collect();
            let can_start = active.len() < options.max_concurrent
                && !free.is_empty()
                && t + shortest <= end
                && t + min <= end;
            let start = if active.is_empty() {
                can_start
            } else if !can_start {
                false
            } else {
                rng.gen_bool(0.5)
            };
            if start {
                let kind = *free.choose(&mut rng).expect("non-empty");
                let fault = faults::behaviour(kind).plan(&plan_nodes, options, &mut rng)?;
                let id = next_id;
                next_id += 1;
                active.push((id, kind, schedule.actions.len(), t));
                schedule.actions.push(Action {
                    at_ms: t,
                    id,
                    phase: Phase::Start,
                    seed: rng.gen(),
                    fault,
                });
            } else if !active.is_empty() {
                // Stop one that has lasted `min` (with no minimum: any).
                let lasted: Vec<usize> = (0..active.len())
                    .filter(|&i| active[i].3 + min <= t)
                    .collect();
                let i = if lasted.is_empty() {
                    rng.gen_range(0..active.len())
                } else {
                    lasted[rng.gen_range(0..lasted.len())]
                };
                let (_, _, start_ix, since) = active.remove(i);
                // None has: wait until the chosen one has.
                t = t.max(since + min);
                let mut stop = schedule.actions[start_ix].clone();
                stop.at_ms = t;
                stop.phase = Phase::Stop;
                schedule.actions.push(stop);
            }
        }
        // Whatever is still active stops at the end of the period.
        for (_, _, start_ix, _) in active {
            let mut stop = schedule.actions[start_ix].clone();
            stop.at_ms = end;
            stop.phase = Phase::Stop;
            schedule.actions.push(stop);
        }
        Ok(schedule)
    }

    /// The plan as JSON (one stable rendering: same plan → same bytes).
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a schedule always serialises")
    }

    pub fn from_json(s: &str) -> serde_json::Result<Schedule> {
        serde_json::from_str(s)
    }

    /// The human plan (same as `Display`).
    /// A plan of one fault on `nodes`: started at once, stopped `stop_after`
    /// later, then heal. For tests and hand-made experiments.
    pub fn single(nodes: &[String], fault: Fault, stop_after: Duration) -> Schedule {
        let start = Action {
            at_ms: 0,
            id: 0,
            phase: Phase::Start,
            seed: 0,
            fault,
        };
        let stop = Action {
            at_ms: stop_after.as_millis() as u64,
            phase: Phase::Stop,
            ..start.clone()
        };
        Schedule {
            seed: 0,
            nodes: nodes.to_vec(),
            zookeeper: Vec::new(),
            period: stop_after,
            options: NemesisOptions::default(),
            actions: vec![start, stop],
        }
    }

    pub fn render(&self) -> String {
        self.to_string()
    }

    /// Most faults active at any instant of the plan.
    pub fn max_active(&self) -> usize {
        let mut n = 0usize;
        let mut max = 0;
        for a in &self.actions {
            match a.phase {
                Phase::Start => {
                    n += 1;
                    max = max.max(n);
                }
                Phase::Stop => n = n.saturating_sub(1),
            }
        }
        max
    }
}

fn secs(ms: u64) -> String {
    format!("{}.{:03}s", ms / 1000, ms % 1000)
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let o = &self.options;
        let zookeeper = if self.zookeeper.is_empty() {
            String::new()
        } else {
            format!(", zookeeper {}", self.zookeeper.join(" "))
        };
        writeln!(
            f,
            "nemesis plan: seed {}, nodes {}{zookeeper}, fault period {}",
            self.seed,
            self.nodes.join(" "),
            secs(self.period.as_millis() as u64)
        )?;
        if o.kinds.is_empty() {
            return writeln!(f, "no faults (--nemesis none)");
        }
        writeln!(
            f,
            "faults: {}; an action every {} ±{}%; at most {} at once",
            o.kinds,
            secs(o.interval.as_millis() as u64),
            o.jitter_percent,
            o.max_concurrent
        )?;
        if !o.min_fault_duration.is_zero() {
            writeln!(
                f,
                "each fault lasts at least {}",
                secs(o.min_fault_duration.as_millis() as u64)
            )?;
        }
        for a in &self.actions {
            let phase = match a.phase {
                Phase::Start => "start",
                Phase::Stop => "stop ",
            };
            let what = match a.phase {
                Phase::Start => a.fault.describe(),
                Phase::Stop => "undo it".to_string(),
            };
            writeln!(
                f,
                "{:>10}  {phase} {:<9} #{:<3} {what}",
                secs(a.at_ms),
                a.fault.kind().name(),
                a.id
            )?;
        }
        writeln!(
            f,
            "{:>10}  then heal everything, verify, record `heal`",
            "end"
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::FaultKinds;
    use proptest::prelude::*;

    fn opts(kinds: &str, max: usize) -> NemesisOptions {
        NemesisOptions {
            max_concurrent: max,
            ..NemesisOptions::with_kinds(kinds.parse().unwrap())
        }
    }

    #[test]
    fn same_seed_same_bytes() {
        let o = opts("all", 2);
        let ns = node_names(5);
        let a = Schedule::generate(7, &ns, Duration::from_secs(120), &o).unwrap();
        let b = Schedule::generate(7, &ns, Duration::from_secs(120), &o).unwrap();
        assert_eq!(a.to_json(), b.to_json());
        assert_eq!(a.render(), b.render());
        let c = Schedule::generate(8, &ns, Duration::from_secs(120), &o).unwrap();
        assert_ne!(a.to_json(), c.to_json());
        // And the JSON reads back to the same plan.
        assert_eq!(Schedule::from_json(&a.to_json()).unwrap(), a);
    }

    /// The five kinds `all` meant before the filesystem faults: their plans
    /// are pinned byte for byte (`all` now also draws `lose-unfsynced` and
    /// `power-loss`, so its plans for a seed changed on purpose).
    const CLASSIC: &str = "partition,kill,pause,loss,clock";

    #[test]
    fn pinned_plan() {
        // A change here changes what every seed means: only on purpose
        // (e.g. a new rand/rand_chacha), and say so in the changelog.
        let o = opts(CLASSIC, 1);
        let s = Schedule::generate(42, &node_names(5), Duration::from_secs(90), &o).unwrap();
        const PINNED: &[&str] = &[
            "10910 start-pause majority: n2,n3,n4",
            "21551 stop-pause majority: n2,n3,n4",
            "32911 start-clock bump minority: n1 -30s, n3 -120s",
            "42013 stop-clock bump minority: n1 -30s, n3 -120s",
            "49705 start-kill minority: n4,n5",
            "57704 stop-kill minority: n4,n5",
            "66300 start-partition primaries (resolved when applied)",
            "75922 stop-partition primaries (resolved when applied)",
        ];
        let got: Vec<String> = s
            .actions
            .iter()
            .map(|a| format!("{} {} {}", a.at_ms, a.f(), a.fault.describe()))
            .collect();
        assert_eq!(got, PINNED, "{got:#?}");
    }

    #[test]
    fn process_faults_name_their_process_only_when_not_the_broker() {
        let old: Fault = serde_json::from_str(r#"{"kind":"kill","target":"one"}"#).unwrap();
        assert_eq!(
            old,
            Fault::Kill {
                target: Target::One,
                nodes: None,
                process: ProcessRole::Broker
            }
        );
        assert_eq!(
            serde_json::to_string(&old).unwrap(),
            r#"{"kind":"kill","target":"one"}"#
        );
        let zk = Fault::Pause {
            target: Target::One,
            nodes: Some(BTreeSet::from(["n2".to_string()])),
            process: ProcessRole::ZooKeeper,
        };
        let json = serde_json::to_string(&zk).unwrap();
        assert_eq!(
            json,
            r#"{"kind":"pause","target":"one","nodes":["n2"],"process":"zookeeper"}"#
        );
        assert_eq!(serde_json::from_str::<Fault>(&json).unwrap(), zk);
        assert_eq!(zk.describe(), "zookeeper of one: n2");
        assert_eq!(old.describe(), "one (resolved when applied)");
    }

    #[test]
    fn no_faults_no_actions() {
        let s = Schedule::generate(
            1,
            &node_names(3),
            Duration::from_secs(60),
            &NemesisOptions::with_kinds(FaultKinds::none()),
        )
        .unwrap();
        assert!(s.actions.is_empty());
        assert!(s.render().contains("no faults"));
    }

    #[test]
    fn render_is_readable() {
        let o = NemesisOptions {
            topologies: vec![Topology::Halves],
            ..opts("partition", 1)
        };
        let s = Schedule::generate(3, &node_names(5), Duration::from_secs(30), &o).unwrap();
        let r = s.render();
        assert!(
            r.starts_with("nemesis plan: seed 3, nodes n1 n2 n3 n4 n5"),
            "{r}"
        );
        assert!(r.contains("start partition #0   halves: "), "{r}");
        assert!(r.contains("stop  partition #0   undo it"), "{r}");
        assert!(r.contains("heal everything"), "{r}");
    }

    #[test]
    fn duplicate_nodes_are_an_error() {
        let ns = vec!["n1".to_string(), "n2".into(), "n1".into()];
        let e = Schedule::generate(1, &ns, Duration::from_secs(30), &opts("kill", 1)).unwrap_err();
        assert!(e.to_string().contains("unique"), "{e}");
    }

    #[test]
    fn impossible_plan_is_an_error() {
        let o = opts("partition", 1);
        let e = Schedule::generate(1, &node_names(2), Duration::from_secs(30), &o).unwrap_err();
        assert!(matches!(e, PlanError::TooFewNodes { .. }), "{e}");
    }

    /// FNV-1a: a hash that stays the same across Rust releases.
    fn fnv(bytes: &[u8]) -> u64 {
        bytes.iter().fold(0xcbf29ce484222325u64, |h, b| {
            (h ^ u64::from(*b)).wrapping_mul(0x100000001b3)
        })
    }

    #[test]
    fn no_minimum_is_the_old_algorithm() {
        // The plans of 40 seeds before `min_fault_duration` existed, pinned
        // by their JSON's hash (also the JSON has no `min_fault_duration`).
        let mut all = String::new();
        for seed in 0..40 {
            for max in [1, 3] {
                let s = Schedule::generate(
                    seed,
                    &node_names(5),
                    Duration::from_secs(200),
                    &opts(CLASSIC, max),
                )
                .unwrap();
                all.push_str(&s.to_json());
            }
        }
        assert!(!all.contains("min_fault_duration"));
        assert_eq!(
            fnv(all.as_bytes()),
            PINNED_HASH,
            "{:#x}",
            fnv(all.as_bytes())
        );
    }
    const PINNED_HASH: u64 = 0x6fda61b3cc132b00;

    #[test]
    fn minimum_fault_duration_in_json_render_and_validation() {
        let o = NemesisOptions {
            min_fault_duration: Duration::from_secs(25),
            ..opts("kill", 1)
        };
        let s = Schedule::generate(1, &node_names(3), Duration::from_secs(120), &o).unwrap();
        assert!(s.to_json().contains("\"min_fault_duration\": 25000"));
        assert_eq!(Schedule::from_json(&s.to_json()).unwrap(), s);
        assert!(s.render().contains("each fault lasts at least 25.000s"));
        let e = Schedule::generate(1, &node_names(3), Duration::from_secs(20), &o).unwrap_err();
        assert!(
            e.to_string().contains("longer than the fault period"),
            "{e}"
        );
        let o = NemesisOptions {
            min_fault_duration: Duration::from_micros(1500),
            ..opts("kill", 1)
        };
        let e = Schedule::generate(1, &node_names(3), Duration::from_secs(20), &o).unwrap_err();
        assert!(e.to_string().contains("whole milliseconds"), "{e}");
        // Options JSON without the field reads as no minimum.
        let mut v = serde_json::to_value(NemesisOptions::default()).unwrap();
        assert!(v.get("min_fault_duration").is_none());
        v["min_fault_duration"] = serde_json::json!(1500);
        let back: NemesisOptions = serde_json::from_value(v).unwrap();
        assert_eq!(back.min_fault_duration, Duration::from_millis(1500));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]
        #[test]
        fn every_fault_lasts_the_minimum(
            seed in any::<u64>(),
            period_s in 1u64..300,
            interval_ms in 100u64..20_000,
            jitter in 0u32..=100,
            max in 1usize..=4,
            min_ms in 1u64..60_000,
        ) {
            let o = NemesisOptions {
                interval: Duration::from_millis(interval_ms),
                jitter_percent: jitter,
                max_concurrent: max,
                min_fault_duration: Duration::from_millis(min_ms),
                ..NemesisOptions::with_kinds(FaultKinds::all())
            };
            let period = Duration::from_secs(period_s);
            let ns = node_names(5);
            let s = match Schedule::generate(seed, &ns, period, &o) {
                Ok(s) => s,
                Err(e) => {
                    prop_assert!(min_ms > period_s * 1000, "{}", e);
                    return Ok(());
                }
            };
            prop_assert_eq!(&s, &Schedule::generate(seed, &ns, period, &o).unwrap());
            let mut started: BTreeMap<u32, u64> = BTreeMap::new();
            let mut last = 0;
            let mut open = 0usize;
            for a in &s.actions {
                prop_assert!(a.at_ms >= last && a.at_ms <= period_s * 1000);
                last = a.at_ms;
                match a.phase {
                    Phase::Start => {
                        prop_assert!(a.at_ms + min_ms <= period_s * 1000, "room to last");
                        started.insert(a.id, a.at_ms);
                        open += 1;
                        prop_assert!(open <= max);
                    }
                    Phase::Stop => {
                        let since = started.remove(&a.id).expect("a stop follows its start");
                        prop_assert!(a.at_ms - since >= min_ms, "#{} lasted {}ms < {}ms", a.id, a.at_ms - since, min_ms);
                        open -= 1;
                    }
                }
            }
            prop_assert!(started.is_empty());
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]
        #[test]
        fn schedule_bounds(
            seed in any::<u64>(),
            n in 3usize..=7,
            period_s in 0u64..300,
            interval_ms in 100u64..20_000,
            jitter in 0u32..=100,
            max in 1usize..=5,
            mask in 1u8..128,
        ) {
            let kinds: BTreeSet<FaultKind> = FaultKind::ALL.into_iter().enumerate()
                .filter(|(i, _)| mask & (1 << i) != 0).map(|(_, k)| k).collect();
            let o = NemesisOptions {
                kinds: FaultKinds(kinds.clone()),
                interval: Duration::from_millis(interval_ms),
                jitter_percent: jitter,
                max_concurrent: max,
                ..Default::default()
            };
            let ns = node_names(n);
            let period = Duration::from_secs(period_s);
            let s = Schedule::generate(seed, &ns, period, &o).unwrap();
            prop_assert_eq!(&s, &Schedule::generate(seed, &ns, period, &o).unwrap());
            let end = period_s * 1000;
            let mut last = 0;
            let mut open: BTreeMap<u32, FaultKind> = BTreeMap::new();
            let mut started = BTreeSet::new();
            for a in &s.actions {
                prop_assert!(a.at_ms >= last, "times never decrease");
                prop_assert!(a.at_ms <= end, "inside the period");
                last = a.at_ms;
                prop_assert!(kinds.contains(&a.fault.kind()));
                match a.phase {
                    Phase::Start => {
                        prop_assert!(started.insert(a.id), "ids are unique");
                        prop_assert!(!open.values().any(|k| *k == a.fault.kind()), "a kind never overlaps itself");
                        open.insert(a.id, a.fault.kind());
                        prop_assert!(open.len() <= max, "at most {} at once", max);
                    }
                    Phase::Stop => {
                        prop_assert_eq!(open.remove(&a.id), Some(a.fault.kind()), "a stop follows its start");
                    }
                }
            }
            prop_assert!(open.is_empty(), "every start has a stop");
            prop_assert!(s.max_active() <= max);
            // Fixed targets are resolved in the plan, with the right sizes.
            for a in &s.actions {
                match &a.fault {
                    Fault::Kill { target, nodes, .. } | Fault::Pause { target, nodes, .. } | Fault::Loss { target, nodes, .. }
                    | Fault::LoseUnfsynced { target, nodes } | Fault::PowerLoss { target, nodes } => {
                        prop_assert_eq!(nodes.as_ref().map(|x| x.len()), target.count(n));
                    }
                    Fault::Partition { topology, grudge } => {
                        prop_assert_eq!(grudge.is_some(), !topology.is_dynamic());
                        if let Some(g) = grudge {
                            prop_assert!(crate::grudge::is_symmetric(g));
                            prop_assert_eq!(g.len(), n);
                        }
                    }
                    Fault::Clock { target, offsets, .. } => {
                        prop_assert_eq!(offsets.as_ref().map(|x| x.len()), target.count(n));
                    }
                    Fault::Noop { .. } => {}
                }
            }
        }
    }
}
