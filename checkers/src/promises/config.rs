//! The two inputs of the promise model: the run's [`Configuration`] (from
//! its `test.json`) and the faults it actually applied ([`Exposure`], from
//! the history's fault intervals).

use crate::Isolation;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeSet;
use trial_histories::faults::{FaultInterval, FaultIntervals};
use trial_histories::values::CommitMode;

/// The producer's `acks`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Acks {
    #[serde(rename = "all")]
    All,
    #[serde(rename = "1")]
    One,
    #[serde(rename = "0")]
    Zero,
}

impl Acks {
    pub fn as_str(self) -> &'static str {
        match self {
            Acks::All => "all",
            Acks::One => "1",
            Acks::Zero => "0",
        }
    }

    /// `all`/`-1`, `1`, `0` (librdkafka's and Kafka's spellings).
    pub fn parse(s: &str) -> Option<Acks> {
        match s.trim() {
            "all" | "-1" => Some(Acks::All),
            "1" => Some(Acks::One),
            "0" => Some(Acks::Zero),
            _ => None,
        }
    }
}

/// The run's settings that decide what Kafka promises (written in
/// results.json under `promises.configuration`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Configuration {
    pub acks: Acks,
    pub replication_factor: u32,
    pub min_insync_replicas: u32,
    pub unclean_leader_election: bool,
    pub idempotence: bool,
    /// The producer's `max.in.flight(.requests.per.connection)` if
    /// overridden; `None` = the client's default (librdkafka: 1000000).
    pub max_in_flight: Option<u32>,
    pub transactional: bool,
    pub isolation: Isolation,
    /// Consumer-group workload: its commit mode; `None` = no group.
    pub group_commit: Option<CommitMode>,
    /// `log.flush.interval.messages` (or `flush.messages`) = 1 in the
    /// broker overrides: every append is fsynced before it is replicated.
    pub flush_every_message: bool,
    /// KIP-966 eligible leader replicas: `Some` if known (the
    /// `eligible.leader.replicas.version` feature, else KRaft ≥ 4.1 on, an
    /// earlier release or ZooKeeper off); `None` unknown (treated as off).
    pub eligible_leader_replicas: Option<bool>,
    pub driver: String,
    pub kafka_version: Option<String>,
    /// `kraft` | `zookeeper`.
    pub mode: Option<String>,
    pub timing: Option<String>,
    /// A cluster the user runs (test.json `external.config.unknown`): the
    /// settings that could not be read back from it. Any: the promise
    /// verdict is unknown unless a promise was broken.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unknown: Vec<String>,
}

impl Default for Configuration {
    /// The suite's defaults (`TestSpec::new`, `ClusterSpec::default`): RF
    /// 3, min.insync 2, acks=all, idempotence off, unclean off, the queue
    /// workload read_committed, the rdkafka driver; release and mode unknown.
    fn default() -> Self {
        Configuration {
            acks: Acks::All,
            replication_factor: 3,
            min_insync_replicas: 2,
            unclean_leader_election: false,
            idempotence: false,
            max_in_flight: None,
            transactional: false,
            isolation: Isolation::ReadCommitted,
            group_commit: None,
            flush_every_message: false,
            eligible_leader_replicas: None,
            driver: "rdkafka".into(),
            kafka_version: None,
            mode: None,
            timing: None,
            unknown: vec![],
        }
    }
}

/// The first release that turns eligible leader replicas on for a new
/// KRaft cluster (4.0 has them, off by default).
const ELR_DEFAULT_SINCE: (u32, u32) = (4, 1);
/// The first release that runs KRaft by default (the suite's rule).
const KRAFT_SINCE: (u32, u32) = (3, 3);
/// The release a ZooKeeper-mode run gets when none is named (the suite's
/// `KafkaVersion::ZOOKEEPER_DEFAULT`).
const ZOOKEEPER_DEFAULT_VERSION: &str = "3.9.1";
const ELR_FEATURE: &str = "eligible.leader.replicas.version";

fn major_minor(v: &str) -> Option<(u32, u32)> {
    let mut it = v.trim().split('.');
    let a = it.next()?.parse().ok()?;
    let b = it.next()?.parse().ok()?;
    Some((a, b))
}

/// A string-valued map entry (`producer_overrides`, `broker_overrides`).
fn entry<'a>(v: &'a Value, map: &str, key: &str) -> Option<&'a str> {
    v.get(map)?.get(key)?.as_str()
}

fn as_u32(v: Option<&Value>) -> Option<u32> {
    v.and_then(|x| {
        x.as_u64()
            .or_else(|| x.as_str().and_then(|s| s.trim().parse().ok()))
    })
    .and_then(|n| u32::try_from(n).ok())
}

fn as_bool(v: Option<&Value>) -> Option<bool> {
    v.and_then(|x| {
        x.as_bool()
            .or_else(|| x.as_str().and_then(|s| s.trim().parse().ok()))
    })
}

impl Configuration {
    /// From a run's `test.json` (the suite's `TestSpec`). Read: `workload`
    /// (`txn` is transactional and forces acks=all and idempotence, as the
    /// transactional client does; `group` gives `group.commit`, default
    /// `sync`), `driver` (default `rdkafka`), `acks` (default all),
    /// `idempotence` (default false, the suite's default) and their
    /// `producer_overrides` (`acks` / `request.required.acks`,
    /// `enable.idempotence`, `max.in.flight(.requests.per.connection)`:
    /// the overrides win, as in the client's configuration), `isolation`
    /// or `consumer_overrides["isolation.level"]` (default read_committed),
    /// `cluster.replication_factor` (default 3), `cluster.min_insync_replicas`
    /// (default 2; the topic is created with it), `cluster.unclean_leader_election`
    /// (default false; `broker_overrides["unclean.leader.election.enable"]`
    /// wins), `broker_overrides["log.flush.interval.messages"]` or
    /// `["flush.messages"]` = 1, `cluster.features`, `cluster.kafka_version`
    /// (ZooKeeper mode without one: 3.9.1), `cluster.mode` (else ZooKeeper
    /// when `cluster.zookeeper` is set or the release predates 3.3, else
    /// KRaft), `cluster.timing` (default `fast`). Unknown fields are
    /// ignored; a field of the wrong type counts as absent.
    pub fn from_test_json(v: &Value) -> Configuration {
        let d = Configuration::default();
        let cluster = v.get("cluster").cloned().unwrap_or(Value::Null);
        let workload = v.get("workload").and_then(Value::as_str).unwrap_or("queue");
        let transactional = workload == "txn";
        let acks = entry(v, "producer_overrides", "acks")
            .or_else(|| entry(v, "producer_overrides", "request.required.acks"))
            .and_then(Acks::parse)
            .or_else(|| v.get("acks").and_then(Value::as_str).and_then(Acks::parse))
            .or_else(|| {
                v.get("acks")
                    .and_then(Value::as_i64)
                    .and_then(|n| Acks::parse(&n.to_string()))
            })
            .unwrap_or(d.acks);
        let idempotence = as_bool(
            v.get("producer_overrides")
                .and_then(|o| o.get("enable.idempotence")),
        )
        .or_else(|| as_bool(v.get("idempotence")))
        .unwrap_or(d.idempotence);
        let max_in_flight = as_u32(
            v.get("producer_overrides")
                .and_then(|o| o.get("max.in.flight.requests.per.connection")),
        )
        .or_else(|| {
            as_u32(
                v.get("producer_overrides")
                    .and_then(|o| o.get("max.in.flight")),
            )
        });
        let isolation = v
            .get("isolation")
            .and_then(Value::as_str)
            .or_else(|| entry(v, "consumer_overrides", "isolation.level"))
            .and_then(|s| s.parse().ok())
            .unwrap_or(d.isolation);
        let group_commit = (workload == "group").then(|| {
            v.get("group")
                .and_then(|g| g.get("commit"))
                .and_then(|c| serde_json::from_value(c.clone()).ok())
                .unwrap_or_default()
        });
        let unclean = as_bool(
            cluster
                .get("broker_overrides")
                .and_then(|o| o.get("unclean.leader.election.enable")),
        )
        .or_else(|| as_bool(cluster.get("unclean_leader_election")))
        .unwrap_or(d.unclean_leader_election);
        let flush_every_message = ["log.flush.interval.messages", "flush.messages"]
            .iter()
            .any(|k| entry(&cluster, "broker_overrides", k).map(str::trim) == Some("1"));
        let mode_field = cluster.get("mode").and_then(Value::as_str);
        let named_version = cluster
            .get("kafka_version")
            .and_then(Value::as_str)
            .map(str::to_string);
        let zookeeper = mode_field == Some("zookeeper")
            || (mode_field.is_none()
                && (cluster.get("zookeeper").is_some_and(|z| !z.is_null())
                    || named_version
                        .as_deref()
                        .and_then(major_minor)
                        .is_some_and(|mm| mm < KRAFT_SINCE)));
        let mode = Some(if zookeeper { "zookeeper" } else { "kraft" }.to_string());
        let kafka_version =
            named_version.or_else(|| zookeeper.then(|| ZOOKEEPER_DEFAULT_VERSION.to_string()));
        let elr_feature = cluster
            .get("features")
            .and_then(|f| f.get(ELR_FEATURE))
            .and_then(Value::as_u64);
        let eligible_leader_replicas = match elr_feature {
            Some(level) => Some(level >= 1 && !zookeeper),
            None if zookeeper => Some(false),
            None => kafka_version
                .as_deref()
                .and_then(major_minor)
                .map(|mm| mm >= ELR_DEFAULT_SINCE),
        };
        Configuration {
            acks: if transactional { Acks::All } else { acks },
            replication_factor: as_u32(cluster.get("replication_factor"))
                .unwrap_or(d.replication_factor),
            min_insync_replicas: as_u32(cluster.get("min_insync_replicas"))
                .unwrap_or(d.min_insync_replicas),
            unclean_leader_election: unclean,
            idempotence: idempotence || transactional,
            max_in_flight,
            transactional,
            isolation,
            group_commit,
            flush_every_message,
            eligible_leader_replicas,
            driver: v
                .get("driver")
                .and_then(Value::as_str)
                .unwrap_or(&d.driver)
                .to_string(),
            kafka_version,
            mode,
            timing: Some(
                cluster
                    .get("timing")
                    .and_then(Value::as_str)
                    .unwrap_or("fast")
                    .to_string(),
            ),
            unknown: v
                .get("external")
                .and_then(|x| x.get("config"))
                .and_then(|c| c.get("unknown"))
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default(),
        }
    }

    /// One line: `acks=all, RF 3, min.insync 2, unclean off, idempotence off, …`.
    pub fn describe(&self) -> String {
        let on = |b: bool| if b { "on" } else { "off" };
        let mut s = format!(
            "acks={}, RF {}, min.insync {}, unclean election {}, idempotence {}",
            self.acks.as_str(),
            self.replication_factor,
            self.min_insync_replicas,
            on(self.unclean_leader_election),
            on(self.idempotence)
        );
        if let Some(m) = self.max_in_flight {
            s.push_str(&format!(", max.in.flight {m}"));
        }
        if self.transactional {
            s.push_str(&format!(
                ", transactions read with {}",
                match self.isolation {
                    Isolation::ReadCommitted => "read_committed",
                    Isolation::ReadUncommitted => "read_uncommitted",
                }
            ));
        }
        if let Some(c) = self.group_commit {
            s.push_str(&format!(", group commits {}", c.as_str()));
        }
        if self.flush_every_message {
            s.push_str(", fsync every message");
        }
        s.push_str(match self.eligible_leader_replicas {
            Some(true) => ", ELR on",
            Some(false) => ", ELR off",
            None => ", ELR unknown",
        });
        s
    }
}

/// The faults a run actually applied, from the history's fault intervals
/// (`trial_histories::faults`): the most nodes at once in each state.
///
/// Counted nodes are brokers: a kill or pause of another process (a
/// dedicated controller, a ZooKeeper server: the start value's `process`)
/// is not a broker down, and the suite's `z<i>` (ZooKeeper) and `c<i>`
/// (dedicated controller) nodes are not brokers cut off. Two intervals of
/// one kind never overlap in the fault intervals (a second start of an open
/// kind extends the first, keeping its nodes), so a script that overlaps
/// two faults of one kind counts the first one's nodes only.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Exposure {
    /// Brokers killed, paused or power-lost at one instant (not alive).
    pub max_down: usize,
    /// Brokers cut off by a partition or packet loss at one instant (alive).
    pub max_cut: usize,
    /// Brokers that lost un-fsynced writes (`lose-unfsynced`,
    /// `power-loss`) in one window: down at the same instant after a drop.
    pub max_power_loss: usize,
    /// A clock fault ran.
    pub clock: bool,
    /// The fault kinds applied, sorted.
    pub kinds: Vec<String>,
}

/// Which state a fault kind puts its nodes in.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Effect {
    Down,
    DownLosing,
    Cut,
    Other,
}

fn effect(kind: &str) -> Effect {
    match kind {
        "kill" | "pause" => Effect::Down,
        "lose-unfsynced" | "power-loss" => Effect::DownLosing,
        "partition" | "loss" => Effect::Cut,
        _ => Effect::Other,
    }
}

/// The suite's layout names ZooKeeper nodes `z<i>` and dedicated KRaft
/// controllers `c<i>`; every other node is a broker.
fn is_broker_name(n: &str) -> bool {
    let mut cs = n.chars();
    match cs.next() {
        Some('z' | 'c') => {
            let rest: String = cs.collect();
            rest.is_empty() || !rest.chars().all(|c| c.is_ascii_digit())
        }
        _ => true,
    }
}

/// The brokers an interval hits, by its effect (a non-broker process's
/// kill or pause hits no broker).
fn broker_nodes(f: &FaultInterval) -> Vec<String> {
    let detail: Value = serde_json::from_str(&f.detail).unwrap_or(Value::Null);
    let process = detail.get("process").and_then(Value::as_str);
    if process.is_some_and(|p| p != "broker") {
        return Vec::new();
    }
    f.nodes
        .iter()
        .filter(|n| is_broker_name(n))
        .cloned()
        .collect()
}

/// The nodes whose un-fsynced writes a filesystem fault dropped: the keys
/// of its value's `dropped` (a node whose drop failed has no report there:
/// it was killed and lost nothing), else (older histories, without drop
/// reports) its `nodes`; never a node the value's `failed` names.
fn dropped_nodes(f: &FaultInterval) -> Vec<String> {
    let detail: Value = serde_json::from_str(&f.detail).unwrap_or(Value::Null);
    let lost: Vec<String> = match detail.get("dropped").and_then(Value::as_object) {
        Some(m) if !m.is_empty() || !f.failed.is_empty() => {
            m.keys().filter(|n| is_broker_name(n)).cloned().collect()
        }
        _ => broker_nodes(f),
    };
    lost.into_iter()
        .filter(|n| !f.failed.contains_key(n))
        .collect()
}

impl Exposure {
    pub fn from_intervals(fi: &FaultIntervals) -> Exposure {
        let kinds: BTreeSet<String> = fi.intervals.iter().map(|f| f.kind.clone()).collect();
        let hit: Vec<(&FaultInterval, Effect, Vec<String>, Vec<String>)> = fi
            .intervals
            .iter()
            .map(|f| {
                let e = effect(&f.kind);
                let lost = if e == Effect::DownLosing {
                    dropped_nodes(f)
                } else {
                    Vec::new()
                };
                (f, e, broker_nodes(f), lost)
            })
            .collect();
        let mut exp = Exposure {
            clock: kinds.contains("clock"),
            kinds: kinds.into_iter().collect(),
            ..Exposure::default()
        };
        // The counts change only when an interval starts: look at every
        // start, sweeping in time order (a run has one interval per fault,
        // tens of thousands in a long run: comparing every pair was
        // quadratic). An interval is active at `t` when it started at or
        // before `t` and has not ended; a zero-length one counts from its
        // start on (it never ends), so it joins the `since` sets for good.
        let mut starts: Vec<u64> = hit.iter().map(|(f, ..)| f.start_ns).collect();
        starts.sort_unstable();
        starts.dedup();
        let mut by_start: Vec<&(&FaultInterval, Effect, Vec<String>, Vec<String>)> =
            hit.iter().filter(|h| h.1 != Effect::Other).collect();
        by_start.sort_by_key(|h| h.0.start_ns);
        let mut next = 0;
        let mut active: Vec<&(&FaultInterval, Effect, Vec<String>, Vec<String>)> = Vec::new();
        let (mut since_down, mut since_cut, mut since_lost) = (
            BTreeSet::<&str>::new(),
            BTreeSet::<&str>::new(),
            BTreeSet::<&str>::new(),
        );
        for t in starts {
            while next < by_start.len() && by_start[next].0.start_ns <= t {
                let h = by_start[next];
                next += 1;
                if h.0.start_ns == h.0.end_ns {
                    match h.1 {
                        Effect::Down | Effect::DownLosing => {
                            since_down.extend(h.2.iter().map(String::as_str));
                            since_lost.extend(h.3.iter().map(String::as_str));
                        }
                        Effect::Cut => since_cut.extend(h.2.iter().map(String::as_str)),
                        Effect::Other => {}
                    }
                } else {
                    active.push(h);
                }
            }
            active.retain(|h| t < h.0.end_ns);
            let mut down = since_down.clone();
            let mut cut = since_cut.clone();
            let mut lost = since_lost.clone();
            for (_, e, nodes, dropped) in active.iter().copied() {
                match e {
                    Effect::Down | Effect::DownLosing => {
                        down.extend(nodes.iter().map(String::as_str));
                        lost.extend(dropped.iter().map(String::as_str));
                    }
                    Effect::Cut => cut.extend(nodes.iter().map(String::as_str)),
                    Effect::Other => {}
                }
            }
            let cut_alive = cut.iter().filter(|n| !down.contains(*n)).count();
            exp.max_down = exp.max_down.max(down.len());
            exp.max_cut = exp.max_cut.max(cut_alive);
            exp.max_power_loss = exp.max_power_loss.max(lost.len());
        }
        exp
    }

    /// Did any fault hit a broker (down or cut off)?
    pub fn any_broker_fault(&self) -> bool {
        self.max_down + self.max_cut > 0
    }

    /// One line: `2 down, 1 cut off, 1 power-lost at once; kinds kill, partition`.
    pub fn describe(&self) -> String {
        if self.kinds.is_empty() {
            return "no fault".into();
        }
        format!(
            "at most {} broker(s) down, {} cut off, {} losing un-fsynced writes at once{}; kinds {}",
            self.max_down,
            self.max_cut,
            self.max_power_loss,
            if self.clock { ", clock skewed" } else { "" },
            self.kinds.join(", ")
        )
    }
}

#[cfg(test)]
mod sweep_tests {
    use super::*;
    use proptest::prelude::*;

    /// The pairwise definition the sweep replaced: at every start, every
    /// interval active then.
    fn reference(fi: &FaultIntervals) -> (usize, usize, usize) {
        let hit: Vec<_> = fi
            .intervals
            .iter()
            .map(|f| (f, effect(&f.kind), broker_nodes(f), dropped_nodes(f)))
            .collect();
        let mut best = (0, 0, 0);
        for (f0, ..) in &hit {
            let t = f0.start_ns;
            let (mut down, mut cut, mut lost) = (BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
            for (f, e, nodes, dropped) in &hit {
                if !(f.start_ns <= t && (t < f.end_ns || f.start_ns == f.end_ns)) {
                    continue;
                }
                match e {
                    Effect::Down => down.extend(nodes.iter().cloned()),
                    Effect::DownLosing => {
                        down.extend(nodes.iter().cloned());
                        lost.extend(dropped.iter().cloned());
                    }
                    Effect::Cut => cut.extend(nodes.iter().cloned()),
                    Effect::Other => {}
                }
            }
            let cut_alive = cut.iter().filter(|n| !down.contains(*n)).count();
            best = (
                best.0.max(down.len()),
                best.1.max(cut_alive),
                best.2.max(lost.len()),
            );
        }
        best
    }

    proptest! {
        #[test]
        fn the_sweep_agrees_with_every_pair(
            raw in proptest::collection::vec(
                (0usize..5, 0u64..40, 0u64..15, proptest::collection::vec(0usize..4, 0..3)),
                0..25,
            )
        ) {
            let kinds = ["kill", "power-loss", "partition", "clock", "pause"];
            let intervals = raw
                .into_iter()
                .map(|(k, start, len, nodes)| FaultInterval {
                    kind: kinds[k].to_string(),
                    invoked_ns: start,
                    start_ns: start,
                    // Some zero-length intervals, some ending before they start.
                    end_ns: if len == 14 { start.saturating_sub(3) } else { start + len / 2 },
                    stopped: true,
                    start_op: 0,
                    end_op: None,
                    nodes: nodes.iter().map(|n| format!("n{n}")).collect(),
                    failed: Default::default(),
                    detail: "null".into(),
                })
                .collect();
            let fi = FaultIntervals { intervals, active_ns: 0 };
            let e = Exposure::from_intervals(&fi);
            prop_assert_eq!((e.max_down, e.max_cut, e.max_power_loss), reference(&fi));
        }
    }
}
