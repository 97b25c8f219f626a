//! What faults a test asks for, and their sub-options (all with defaults).
//!
//! `--nemesis partition,kill,pause,loss,clock` (or `all`, or `none`) parses
//! into [`FaultKinds`]; topologies, targets, loss probability and clock
//! offsets are separate lists with [`FromStr`] parsers, so the suite can map
//! each to a flag.

use crate::error::PlanError;
use crate::node::ProcessRole;
use crate::topology::{names, Topology};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// A kind of fault. Its name is the suffix of its history ops:
/// `start-<kind>` / `stop-<kind>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FaultKind {
    /// Network partition (iptables DROP by source address).
    Partition,
    /// SIGKILL of the broker process; stop restarts it.
    Kill,
    /// SIGSTOP of the broker process; stop sends SIGCONT.
    Pause,
    /// Random packet loss (iptables `statistic` match).
    Loss,
    /// Clock offset through libfaketime.
    Clock,
    /// SIGKILL of the broker, then its un-fsynced writes dropped (the
    /// filesystem under `log.dirs` goes back to what was last fsynced);
    /// stop restarts it. Node by node.
    LoseUnfsynced,
    /// [`FaultKind::LoseUnfsynced`] on a set of nodes at the same instant
    /// (a correlated failure: every broker is dead before any drop).
    PowerLoss,
    /// A fault that does nothing (tests of the fault registry only; not in
    /// [`FaultKind::ALL`]).
    #[cfg(test)]
    Noop,
}

impl FaultKind {
    pub const ALL: [FaultKind; 7] = [
        FaultKind::Partition,
        FaultKind::Kill,
        FaultKind::Pause,
        FaultKind::Loss,
        FaultKind::Clock,
        FaultKind::LoseUnfsynced,
        FaultKind::PowerLoss,
    ];

    /// The kinds that existed before the filesystem faults: `all` meant
    /// these, and the pinned plans of the schedule's tests are theirs.
    pub const CLASSIC: [FaultKind; 5] = [
        FaultKind::Partition,
        FaultKind::Kill,
        FaultKind::Pause,
        FaultKind::Loss,
        FaultKind::Clock,
    ];

    /// Whether the broker must run on the suite's FUSE filesystem for this
    /// kind (it costs every write a trip through user space, so only a run
    /// that asks for such a fault gets it).
    pub fn needs_lazyfs(self) -> bool {
        matches!(self, FaultKind::LoseUnfsynced | FaultKind::PowerLoss)
    }

    pub fn name(self) -> &'static str {
        match self {
            FaultKind::Partition => "partition",
            FaultKind::Kill => "kill",
            FaultKind::Pause => "pause",
            FaultKind::Loss => "loss",
            FaultKind::Clock => "clock",
            FaultKind::LoseUnfsynced => "lose-unfsynced",
            FaultKind::PowerLoss => "power-loss",
            #[cfg(test)]
            FaultKind::Noop => "noop",
        }
    }

    /// `f` of the op that starts this fault: `start-partition`, …
    pub fn start_f(self) -> String {
        format!("start-{}", self.name())
    }

    /// `f` of the op that ends this fault: `stop-partition`, …
    pub fn stop_f(self) -> String {
        format!("stop-{}", self.name())
    }
}

impl fmt::Display for FaultKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for FaultKind {
    type Err = PlanError;
    fn from_str(s: &str) -> Result<Self, PlanError> {
        let t = s.trim();
        FaultKind::ALL
            .into_iter()
            .find(|k| k.name() == t)
            .ok_or_else(|| PlanError::Unknown {
                what: "nemesis fault",
                name: s.to_string(),
                expected: format!("{}, all, none", names(&FaultKind::ALL)),
            })
    }
}

/// A set of fault kinds, from `partition,kill`, `all` or `none` (or an
/// empty string). Duplicates are merged; order does not matter.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct FaultKinds(pub BTreeSet<FaultKind>);

impl FaultKinds {
    pub fn all() -> Self {
        FaultKinds(FaultKind::ALL.into_iter().collect())
    }
    pub fn none() -> Self {
        FaultKinds::default()
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn contains(&self, k: FaultKind) -> bool {
        self.0.contains(&k)
    }
    pub fn iter(&self) -> impl Iterator<Item = FaultKind> + '_ {
        self.0.iter().copied()
    }
}

impl fmt::Display for FaultKinds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("none");
        }
        f.write_str(&names(&self.0.iter().collect::<Vec<_>>()))
    }
}

impl FromStr for FaultKinds {
    type Err = PlanError;
    fn from_str(s: &str) -> Result<Self, PlanError> {
        let mut out = BTreeSet::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            match part {
                "all" => out.extend(FaultKind::ALL),
                "none" => {}
                other => {
                    out.insert(other.parse::<FaultKind>()?);
                }
            }
        }
        Ok(FaultKinds(out))
    }
}

/// Which nodes a process or clock fault hits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Target {
    /// One random node.
    One,
    /// `max(1, ⌊(N-1)/2⌋)` random nodes (2 of 5, 1 of 3 or 4).
    Minority,
    /// `⌊N/2⌋+1` random nodes (3 of 5, 3 of 4).
    Majority,
    /// Every node.
    All,
    /// The distinct leaders of the test topic's partitions (asked of
    /// `Targets::partition_leaders` when applied).
    Leaders,
    /// The active controller (`Targets::active_controller`): KRaft's, or
    /// in ZooKeeper mode the broker the ensemble elected.
    Controller,
    /// For one random partition of the test topic, all its replicas but one
    /// random survivor (`Targets::partition_replicas`): N-1 of N replicas.
    ReplicasButOne,
    /// The transaction coordinator of one random `transactional.id` of the
    /// workload (`Targets::transaction_coordinators`): one node, the one
    /// whose pause or death moves that producer's transactions.
    Coordinator,
    /// The coordinator of one random consumer group of the workload
    /// (`Targets::group_coordinators`): the leader of the
    /// `__consumer_offsets` partition that holds the group, whose pause or
    /// death makes every member find a new coordinator and the group
    /// rebalance. Not in [`Target::DEFAULTS`] (it needs a group).
    GroupCoordinator,
    /// One random member of the ZooKeeper ensemble: its ZooKeeper server
    /// process (`process: zookeeper`), never a broker. Kill and pause only.
    ZkOne,
    /// `⌊K/2⌋+1` random members of an ensemble of `K` (2 of 3, 3 of 5):
    /// the ensemble loses its quorum. Kill and pause only.
    ZkMajority,
    /// The ensemble's current leader (`Targets::zookeeper_leader`, asked
    /// when applied). Kill and pause only.
    ZkLeader,
}

impl Target {
    pub const ALL: [Target; 12] = [
        Target::One,
        Target::Minority,
        Target::Majority,
        Target::All,
        Target::Leaders,
        Target::Controller,
        Target::ReplicasButOne,
        Target::Coordinator,
        Target::GroupCoordinator,
        Target::ZkOne,
        Target::ZkMajority,
        Target::ZkLeader,
    ];

    /// The default targets of `lose-unfsynced`: those of kill but the
    /// controller (a KRaft voter's metadata log is fsynced on every append,
    /// so the data that can go is the partitions').
    pub const LOSE_UNFSYNCED_DEFAULTS: [Target; 6] = [
        Target::One,
        Target::Minority,
        Target::Majority,
        Target::All,
        Target::Leaders,
        Target::ReplicasButOne,
    ];

    /// The default targets of `power-loss`: the correlated failures that
    /// take away a quorum of replicas at once.
    pub const POWER_LOSS_DEFAULTS: [Target; 2] = [Target::Majority, Target::All];

    /// The default targets of kill and pause: every target that any
    /// workload can resolve (not `coordinator`, which needs transactions,
    /// nor `group-coordinator`, which needs a consumer group; this also keeps the plans generated before it existed unchanged).
    /// A run with a ZooKeeper ensemble whose kill (pause) targets are these
    /// defaults also draws from [`Target::ZOOKEEPER_DEFAULTS`]
    /// ([`NemesisOptions::kill_targets_for`]).
    pub const DEFAULTS: [Target; 7] = [
        Target::One,
        Target::Minority,
        Target::Majority,
        Target::All,
        Target::Leaders,
        Target::Controller,
        Target::ReplicasButOne,
    ];

    /// What a run with a ZooKeeper ensemble adds to the default kill and
    /// pause targets: one random member, and the leader (whose loss makes
    /// the ensemble elect again; a majority is left to those who ask).
    pub const ZOOKEEPER_DEFAULTS: [Target; 2] = [Target::ZkOne, Target::ZkLeader];

    pub fn name(self) -> &'static str {
        match self {
            Target::One => "one",
            Target::Minority => "minority",
            Target::Majority => "majority",
            Target::All => "all",
            Target::Leaders => "leaders",
            Target::Controller => "controller",
            Target::ReplicasButOne => "replicas-but-one",
            Target::Coordinator => "coordinator",
            Target::GroupCoordinator => "group-coordinator",
            Target::ZkOne => "zk-one",
            Target::ZkMajority => "zk-majority",
            Target::ZkLeader => "zk-leader",
        }
    }

    /// Whether the target names members of the ZooKeeper ensemble (the
    /// `zk-*` targets) rather than brokers.
    pub fn is_zookeeper(self) -> bool {
        matches!(self, Target::ZkOne | Target::ZkMajority | Target::ZkLeader)
    }

    /// The process a kill or pause of this target acts on: the ZooKeeper
    /// server for the `zk-*` targets, else the broker.
    pub fn process(self) -> ProcessRole {
        if self.is_zookeeper() {
            ProcessRole::ZooKeeper
        } else {
            ProcessRole::Broker
        }
    }

    /// Whether the target depends on the cluster's state (resolved through
    /// `Targets` when applied) rather than fixed in the plan.
    pub fn is_dynamic(self) -> bool {
        matches!(
            self,
            Target::Leaders
                | Target::Controller
                | Target::ReplicasButOne
                | Target::Coordinator
                | Target::GroupCoordinator
                | Target::ZkLeader
        )
    }

    /// How many random nodes a fixed target picks among the `n` nodes of
    /// its pool: the brokers, or for `zk-one` and `zk-majority` the
    /// members of the ensemble.
    pub fn count(self, n: usize) -> Option<usize> {
        match self {
            Target::One | Target::ZkOne => Some(1.min(n)),
            Target::Minority => Some(((n.saturating_sub(1)) / 2).max(1).min(n)),
            Target::Majority | Target::ZkMajority => Some((n / 2 + 1).min(n)),
            Target::All => Some(n),
            _ => None,
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Target {
    type Err = PlanError;
    fn from_str(s: &str) -> Result<Self, PlanError> {
        let t = s.trim();
        if t == "primaries" {
            return Ok(Target::Leaders);
        }
        Target::ALL
            .into_iter()
            .find(|x| x.name() == t)
            .ok_or_else(|| PlanError::Unknown {
                what: "fault target",
                name: s.to_string(),
                expected: names(&Target::ALL),
            })
    }
}

/// How the clock fault moves clocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ClockMode {
    /// Each target node jumps to an offset (drawn per node from the offsets)
    /// and stays there until the fault stops.
    Bump,
    /// Each target node alternates between its offset and `+0`, every
    /// `strobe_period`, `strobe_count` writes in all (bounded), then stays at
    /// the last one until the fault stops.
    Strobe,
}

impl ClockMode {
    pub const ALL: [ClockMode; 2] = [ClockMode::Bump, ClockMode::Strobe];
    pub fn name(self) -> &'static str {
        match self {
            ClockMode::Bump => "bump",
            ClockMode::Strobe => "strobe",
        }
    }
}

impl fmt::Display for ClockMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ClockMode {
    type Err = PlanError;
    fn from_str(s: &str) -> Result<Self, PlanError> {
        ClockMode::ALL
            .into_iter()
            .find(|x| x.name() == s.trim())
            .ok_or_else(|| PlanError::Unknown {
                what: "clock mode",
                name: s.to_string(),
                expected: names(&ClockMode::ALL),
            })
    }
}

/// A clock offset in whole seconds, written to the faketime file as
/// libfaketime's relative format: `+30s`, `-120s`, `+0`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClockOffset(pub i64);

impl ClockOffset {
    pub const ZERO: ClockOffset = ClockOffset(0);
    pub fn secs(self) -> i64 {
        self.0
    }
}

impl fmt::Display for ClockOffset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 == 0 {
            f.write_str("+0")
        } else {
            write!(f, "{:+}s", self.0)
        }
    }
}

impl FromStr for ClockOffset {
    type Err = PlanError;
    /// `+30s`, `-2m`, `+1h`, `-1d`, `45` (seconds), `+0`.
    fn from_str(s: &str) -> Result<Self, PlanError> {
        let t = s.trim();
        let bad = |why: &str| PlanError::invalid("clock offset", s, why);
        let (sign, rest) = match t.as_bytes().first() {
            Some(b'-') => (-1, &t[1..]),
            Some(b'+') => (1, &t[1..]),
            Some(_) => (1, t),
            None => return Err(bad("empty; expected e.g. +30s, -2m, +1h")),
        };
        let (digits, unit) = match rest.find(|c: char| !c.is_ascii_digit()) {
            Some(i) => rest.split_at(i),
            None => (rest, "s"),
        };
        let mult = match unit {
            "s" => 1,
            "m" => 60,
            "h" => 3600,
            "d" => 86400,
            _ => return Err(bad("unit must be s, m, h or d (e.g. +30s, -2m)")),
        };
        let v: i64 = digits
            .parse()
            .map_err(|_| bad("expected a whole number, e.g. +30s, -2m"))?;
        v.checked_mul(mult)
            .map(|x| ClockOffset(sign * x))
            .ok_or_else(|| bad("too large"))
    }
}

impl Serialize for ClockOffset {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ClockOffset {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Parse a comma-separated list (`halves,one`, `+30s,-2m`), rejecting
/// unknown names and empty lists.
pub fn parse_list<T: FromStr<Err = PlanError>>(s: &str) -> Result<Vec<T>, PlanError> {
    let v: Vec<T> = s
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::parse)
        .collect::<Result<_, _>>()?;
    if v.is_empty() {
        return Err(PlanError::invalid("list", s, "it names nothing"));
    }
    Ok(v)
}

/// Everything that shapes a schedule. `NemesisOptions::default()` is a
/// sensible test: no faults until `kinds` is set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NemesisOptions {
    /// Which kinds of faults to mix.
    pub kinds: FaultKinds,
    /// Mean time between two nemesis actions (a start and the next stop, a
    /// stop and the next start).
    #[serde(with = "ms")]
    pub interval: Duration,
    /// Each wait is `interval ± jitter_percent %`, drawn from the seed.
    pub jitter_percent: u32,
    /// Most faults active at once (of different kinds: a kind never
    /// overlaps itself). 1 = one fault at a time.
    pub max_concurrent: usize,
    /// Partition topologies to draw from.
    pub topologies: Vec<Topology>,
    /// Targets of `kill`.
    pub kill_targets: Vec<Target>,
    /// Targets of `pause`.
    pub pause_targets: Vec<Target>,
    /// Targets of `loss`: the links touching these nodes become lossy.
    pub loss_targets: Vec<Target>,
    /// Probability that a packet on a lossy link is dropped, in (0, 1].
    pub loss_probability: f64,
    /// Targets of `clock`.
    pub clock_targets: Vec<Target>,
    pub clock_modes: Vec<ClockMode>,
    /// Offsets to draw from, per node.
    pub clock_offsets: Vec<ClockOffset>,
    /// Time between two writes of a strobe.
    #[serde(with = "ms")]
    pub strobe_period: Duration,
    /// Writes of a strobe (bounded: at most 100).
    pub strobe_count: u32,
    /// Targets of `lose-unfsynced` (absent from the JSON when the
    /// defaults, so plans made before the kind existed read the same).
    #[serde(
        default = "default_lose_unfsynced_targets",
        skip_serializing_if = "is_default_lose_unfsynced_targets"
    )]
    pub lose_unfsynced_targets: Vec<Target>,
    /// Targets of `power-loss` (absent from the JSON when the defaults).
    #[serde(
        default = "default_power_loss_targets",
        skip_serializing_if = "is_default_power_loss_targets"
    )]
    pub power_loss_targets: Vec<Target>,
    /// Shortest time a fault stays in force: its stop is never planned
    /// earlier than its start plus this, and no fault starts that could
    /// not last this long before the fault period ends. 0 (the default):
    /// no minimum (and absent from the JSON, so older plans read the same).
    #[serde(default, with = "ms", skip_serializing_if = "Duration::is_zero")]
    pub min_fault_duration: Duration,
}

fn default_lose_unfsynced_targets() -> Vec<Target> {
    Target::LOSE_UNFSYNCED_DEFAULTS.to_vec()
}

fn is_default_lose_unfsynced_targets(t: &[Target]) -> bool {
    t == Target::LOSE_UNFSYNCED_DEFAULTS
}

fn default_power_loss_targets() -> Vec<Target> {
    Target::POWER_LOSS_DEFAULTS.to_vec()
}

fn is_default_power_loss_targets(t: &[Target]) -> bool {
    t == Target::POWER_LOSS_DEFAULTS
}

impl Default for NemesisOptions {
    fn default() -> Self {
        NemesisOptions {
            kinds: FaultKinds::none(),
            interval: Duration::from_secs(10),
            jitter_percent: 25,
            max_concurrent: 1,
            topologies: Topology::defaults(),
            kill_targets: Target::DEFAULTS.to_vec(),
            pause_targets: Target::DEFAULTS.to_vec(),
            loss_targets: vec![Target::One, Target::Leaders, Target::All],
            loss_probability: 0.2,
            clock_targets: vec![
                Target::One,
                Target::Minority,
                Target::All,
                Target::Controller,
            ],
            clock_modes: ClockMode::ALL.to_vec(),
            clock_offsets: [-120, -30, 30, 120].map(ClockOffset).to_vec(),
            strobe_period: Duration::from_millis(500),
            strobe_count: 10,
            lose_unfsynced_targets: default_lose_unfsynced_targets(),
            power_loss_targets: default_power_loss_targets(),
            min_fault_duration: Duration::ZERO,
        }
    }
}

impl NemesisOptions {
    /// Defaults with these kinds.
    pub fn with_kinds(kinds: FaultKinds) -> Self {
        NemesisOptions {
            kinds,
            ..Default::default()
        }
    }

    /// Check the options against a cluster of `n` brokers and no
    /// ZooKeeper ensemble (KRaft).
    pub fn validate(&self, n: usize) -> Result<(), PlanError> {
        self.validate_with_zookeeper(n, 0)
    }

    /// The kill targets a run with an ensemble of `zookeeper` members draws
    /// from. The rule: when the run has an ensemble and `kill_targets` are
    /// the defaults ([`Target::DEFAULTS`]), [`Target::ZOOKEEPER_DEFAULTS`]
    /// are added (so `--nemesis kill` on a ZooKeeper-mode cluster also
    /// kills ZooKeeper servers); a list the user gave is used as given, and
    /// a run without an ensemble draws exactly `kill_targets` (the plans
    /// made before ZooKeeper existed stay the same).
    pub fn kill_targets_for(&self, zookeeper: usize) -> Vec<Target> {
        with_zookeeper_defaults(&self.kill_targets, zookeeper)
    }

    /// The pause targets a run draws from (the rule of
    /// [`NemesisOptions::kill_targets_for`]).
    pub fn pause_targets_for(&self, zookeeper: usize) -> Vec<Target> {
        with_zookeeper_defaults(&self.pause_targets, zookeeper)
    }

    /// The partition topologies a run with an ensemble of `zookeeper`
    /// members draws from: when it has one and `topologies` are the
    /// defaults ([`Topology::defaults`]), [`Topology::ZOOKEEPER`] are added
    /// (the same rule as [`NemesisOptions::kill_targets_for`]).
    pub fn topologies_for(&self, zookeeper: usize) -> Vec<Topology> {
        let mut t = self.topologies.clone();
        if zookeeper > 0 && t == Topology::defaults() {
            t.extend(Topology::ZOOKEEPER);
        }
        t
    }

    /// Check the options against a cluster of `n` brokers (with any
    /// dedicated KRaft controllers) and a ZooKeeper ensemble of
    /// `zookeeper` members (0 in KRaft mode). A `zk-*` target or topology
    /// without an ensemble is refused here, before anything starts.
    pub fn validate_with_zookeeper(&self, n: usize, zookeeper: usize) -> Result<(), PlanError> {
        if self.kinds.is_empty() {
            return Ok(());
        }
        if self.interval < Duration::from_millis(1) {
            return Err(PlanError::invalid(
                "nemesis interval",
                format!("{:?}", self.interval),
                "must be at least 1ms",
            ));
        }
        if self.jitter_percent > 100 {
            return Err(PlanError::invalid(
                "jitter percent",
                self.jitter_percent,
                "must be at most 100",
            ));
        }
        if self.max_concurrent == 0 {
            return Err(PlanError::invalid(
                "max concurrent faults",
                0,
                "must be at least 1",
            ));
        }
        if n == 0 {
            return Err(PlanError::invalid("node list", "", "no nodes"));
        }
        if !self
            .min_fault_duration
            .subsec_nanos()
            .is_multiple_of(1_000_000)
        {
            return Err(PlanError::invalid(
                "minimum fault duration",
                format!("{:?}", self.min_fault_duration),
                "must be whole milliseconds",
            ));
        }
        for kind in self.kinds.iter() {
            crate::faults::behaviour(kind).validate(self, n, zookeeper)?;
        }
        Ok(())
    }
}

fn with_zookeeper_defaults(targets: &[Target], zookeeper: usize) -> Vec<Target> {
    let mut t = targets.to_vec();
    if zookeeper > 0 && t == Target::DEFAULTS {
        t.extend(Target::ZOOKEEPER_DEFAULTS);
    }
    t
}

/// Refuse `zk-*` targets where they cannot act: in the target list of a
/// kind other than kill and pause (`process_fault` false: those act on
/// brokers, their disks, links and clocks), or in a run without an
/// ensemble (`zookeeper` 0).
pub(crate) fn check_zookeeper_targets(
    what: &'static str,
    targets: &[Target],
    process_fault: bool,
    zookeeper: usize,
) -> Result<(), PlanError> {
    let Some(t) = targets.iter().find(|t| t.is_zookeeper()) else {
        return Ok(());
    };
    if !process_fault {
        return Err(PlanError::invalid(
            what,
            t,
            "the zk-* targets are for kill and pause only (they act on ZooKeeper servers)",
        ));
    }
    if zookeeper == 0 {
        return Err(PlanError::invalid(
            what,
            t,
            "it names ZooKeeper servers, and this run has no ZooKeeper ensemble (KRaft mode)",
        ));
    }
    Ok(())
}

/// Serialise a `Duration` as whole milliseconds (the project's one helper,
/// in `trial-histories`).
pub use trial_histories::serde_duration::ms;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_parse() {
        assert_eq!("all".parse::<FaultKinds>().unwrap(), FaultKinds::all());
        assert_eq!("none".parse::<FaultKinds>().unwrap(), FaultKinds::none());
        assert_eq!("".parse::<FaultKinds>().unwrap(), FaultKinds::none());
        let k: FaultKinds = " kill , partition,kill".parse().unwrap();
        assert_eq!(k.to_string(), "partition, kill");
        let e = "partition,explode".parse::<FaultKinds>().unwrap_err();
        assert_eq!(
            e.to_string(),
            "unknown nemesis fault \"explode\": expected one of partition, kill, pause, loss, clock, lose-unfsynced, power-loss, all, none"
        );
    }

    #[test]
    fn offsets_parse_and_print() {
        let cases = [
            ("+30s", 30),
            ("-120s", -120),
            ("-2m", -120),
            ("+1h", 3600),
            ("45", 45),
            ("+0", 0),
            ("1d", 86400),
        ];
        for (s, v) in cases {
            assert_eq!(s.parse::<ClockOffset>().unwrap(), ClockOffset(v), "{s}");
        }
        assert_eq!(ClockOffset(30).to_string(), "+30s");
        assert_eq!(ClockOffset(-120).to_string(), "-120s");
        assert_eq!(ClockOffset(0).to_string(), "+0");
        assert!("+3x".parse::<ClockOffset>().is_err());
        assert!("".parse::<ClockOffset>().is_err());
        assert!("+s".parse::<ClockOffset>().is_err());
        assert_eq!(
            serde_json::to_string(&ClockOffset(-30)).unwrap(),
            "\"-30s\""
        );
    }

    #[test]
    fn lists_parse() {
        assert_eq!(
            parse_list::<Target>("one, leaders,replicas-but-one").unwrap(),
            vec![Target::One, Target::Leaders, Target::ReplicasButOne]
        );
        assert!(parse_list::<Target>("").is_err());
        let e = parse_list::<Target>("one,some").unwrap_err().to_string();
        assert!(
            e.contains("\"some\"") && e.contains("replicas-but-one"),
            "{e}"
        );
        assert_eq!(
            parse_list::<ClockMode>("strobe").unwrap(),
            vec![ClockMode::Strobe]
        );
    }

    #[test]
    fn target_counts() {
        assert_eq!(Target::Minority.count(5), Some(2));
        assert_eq!(Target::Minority.count(3), Some(1));
        assert_eq!(Target::Minority.count(4), Some(1));
        assert_eq!(Target::Majority.count(5), Some(3));
        assert_eq!(Target::Majority.count(4), Some(3));
        assert_eq!(Target::One.count(5), Some(1));
        assert_eq!(Target::All.count(5), Some(5));
        assert_eq!(Target::Leaders.count(5), None);
    }

    #[test]
    fn validation() {
        let mut o = NemesisOptions::with_kinds(FaultKinds::all());
        assert!(o.validate(5).is_ok());
        assert!(matches!(o.validate(2), Err(PlanError::TooFewNodes { .. })));
        o.loss_probability = 1.5;
        assert!(o.validate(5).is_err());
        o.loss_probability = 0.5;
        o.clock_offsets = vec![ClockOffset(0)];
        assert!(o.validate(5).is_err());
    }
}
