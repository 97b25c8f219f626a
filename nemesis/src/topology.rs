//! Partition topologies: how a cluster is cut, as a [`Grudge`].
//!
//! Definitions, for `N` nodes shuffled by the schedule's seeded RNG:
//!
//! | topology | cut |
//! | --- | --- |
//! | `halves` | the first `⌊N/2⌋` nodes vs the other `⌈N/2⌉` |
//! | `one` | one node alone vs the other `N-1` |
//! | `majority` | a strict majority of `⌊N/2⌋+1` nodes vs the other `⌈N/2⌉-1` (N ≥ 3); for odd `N` this is `halves`, for even `N` it is not (4 → 3 + 1) |
//! | `majorities-ring` | every node has two-way connectivity with a majority (itself included) and no two nodes see the same set: nodes on a shuffled ring see the `k` nearest on each side, `k = ⌈⌊N/2⌋/2⌉`; for `N = 3` (no uniform ring exists) a path `a - b - c` |
//! | `bridge` | two halves that cannot hear each other, joined by one node that hears and is heard by all (`⌊N/2⌋` / 1 / the rest) |
//! | `primaries` | each current leader of the test topic's partitions alone, the other nodes together (asked of [`crate::Targets`] when applied) |
//! | `controller` | the active controller alone (KRaft's, or the broker ZooKeeper elected; asked of [`crate::Targets`] when applied) |
//! | `group-coordinator` | the coordinator of one random consumer group of the workload alone (asked of [`crate::Targets`] when applied; not in the default mix: it needs a group) |
//!
//! The topologies above cut among the brokers (and dedicated KRaft
//! controllers) only: in a ZooKeeper-mode run the ensemble's members hear
//! and are heard by every node (keys of the grudge with an empty set).
//! Three more cut brokers from ZooKeeper, and exist only in a run with an
//! ensemble (`K` members):
//!
//! | topology | cut |
//! | --- | --- |
//! | `zk-all-brokers` | every broker from every member; the brokers still hear each other, the ensemble keeps its quorum: the brokers' sessions expire, no controller can be elected |
//! | `zk-one-broker` | one random broker from every member, everything else connected: its session expires (the classic ZooKeeper-mode split: a leader that still serves while the controller moves its partitions away) |
//! | `zk-leader` | the ensemble's current leader alone, from the other members and every broker (asked of [`crate::Targets`] when applied): the rest elect a new leader if they are a quorum |
//!
//! All of them are symmetric: if `a` cannot hear `b`, `b` cannot hear `a`.
//! (Jepsen's `majorities-ring` is one-way for some `N`; with INPUT-drop
//! rules a one-way cut breaks TCP both ways, so kafka-trial keeps it
//! symmetric and says exactly what each node sees.)

use crate::error::PlanError;
use crate::grudge::{complete_grudge, empty_grudge, Grudge};
use rand::seq::SliceRandom;
use rand::Rng;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

/// How to cut the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Topology {
    Halves,
    One,
    Majority,
    MajoritiesRing,
    Bridge,
    Primaries,
    Controller,
    /// The coordinator of one of the workload's consumer groups alone.
    GroupCoordinator,
    /// Every broker cut from every member of the ZooKeeper ensemble.
    ZkAllBrokers,
    /// One random broker cut from every member of the ensemble.
    ZkOneBroker,
    /// The ensemble's leader alone, cut from every other node.
    ZkLeader,
}

impl Topology {
    pub const ALL: [Topology; 11] = [
        Topology::Halves,
        Topology::One,
        Topology::Majority,
        Topology::MajoritiesRing,
        Topology::Bridge,
        Topology::Primaries,
        Topology::Controller,
        Topology::GroupCoordinator,
        Topology::ZkAllBrokers,
        Topology::ZkOneBroker,
        Topology::ZkLeader,
    ];

    /// The topologies that cut among brokers and any run may draw (not
    /// `group-coordinator`, which needs a consumer group: asked for by
    /// name, it keeps the plans made before it existed unchanged).
    pub const CLASSIC: [Topology; 7] = [
        Topology::Halves,
        Topology::One,
        Topology::Majority,
        Topology::MajoritiesRing,
        Topology::Bridge,
        Topology::Primaries,
        Topology::Controller,
    ];

    /// The topologies that cut brokers from ZooKeeper: only a run with an
    /// ensemble may draw them, and its default mix does.
    pub const ZOOKEEPER: [Topology; 3] = [
        Topology::ZkAllBrokers,
        Topology::ZkOneBroker,
        Topology::ZkLeader,
    ];

    /// The default mix: every classic topology (a run with a ZooKeeper
    /// ensemble adds [`Topology::ZOOKEEPER`]:
    /// [`crate::NemesisOptions::topologies_for`]).
    pub fn defaults() -> Vec<Topology> {
        Topology::CLASSIC.to_vec()
    }

    pub fn name(self) -> &'static str {
        match self {
            Topology::Halves => "halves",
            Topology::One => "one",
            Topology::Majority => "majority",
            Topology::MajoritiesRing => "majorities-ring",
            Topology::Bridge => "bridge",
            Topology::Primaries => "primaries",
            Topology::Controller => "controller",
            Topology::GroupCoordinator => "group-coordinator",
            Topology::ZkAllBrokers => "zk-all-brokers",
            Topology::ZkOneBroker => "zk-one-broker",
            Topology::ZkLeader => "zk-leader",
        }
    }

    /// Whether the cut is between brokers and the ZooKeeper ensemble (so
    /// the run must have one).
    pub fn needs_zookeeper(self) -> bool {
        Topology::ZOOKEEPER.contains(&self)
    }

    /// Fewest brokers the cut makes sense for (the `zk-*` ones also need
    /// an ensemble: [`Topology::needs_zookeeper`]).
    pub fn min_nodes(self) -> usize {
        match self {
            Topology::Majority | Topology::MajoritiesRing | Topology::Bridge => 3,
            Topology::ZkAllBrokers | Topology::ZkOneBroker | Topology::ZkLeader => 1,
            _ => 2,
        }
    }

    /// Whether the cut depends on the cluster's state (asked of `Targets`
    /// when the fault is applied) rather than being fixed in the plan.
    pub fn is_dynamic(self) -> bool {
        matches!(
            self,
            Topology::Primaries
                | Topology::Controller
                | Topology::GroupCoordinator
                | Topology::ZkLeader
        )
    }
}

impl fmt::Display for Topology {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Topology {
    type Err = PlanError;
    fn from_str(s: &str) -> Result<Self, PlanError> {
        let t = s.trim();
        if t == "ring" {
            return Ok(Topology::MajoritiesRing);
        }
        if t == "leaders" {
            return Ok(Topology::Primaries);
        }
        Topology::ALL
            .into_iter()
            .find(|x| x.name() == t)
            .ok_or_else(|| PlanError::Unknown {
                what: "partition topology",
                name: s.to_string(),
                expected: names(&Topology::ALL),
            })
    }
}

pub(crate) fn names<T: fmt::Display>(xs: &[T]) -> String {
    xs.iter()
        .map(|x| x.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

fn check_size(t: Topology, n: usize) -> Result<(), PlanError> {
    if n < t.min_nodes() {
        return Err(PlanError::TooFewNodes {
            topology: t.name(),
            min: t.min_nodes(),
            n,
        });
    }
    Ok(())
}

fn set(xs: &[String]) -> BTreeSet<String> {
    xs.iter().cloned().collect()
}

fn shuffled<R: Rng>(nodes: &[String], rng: &mut R) -> Vec<String> {
    let mut v = nodes.to_vec();
    v.shuffle(rng);
    v
}

/// Build the grudge of a fixed (non-dynamic) topology over `nodes`.
/// Dynamic topologies are built with [`isolate`] once their targets are known.
pub fn build<R: Rng>(t: Topology, nodes: &[String], rng: &mut R) -> Result<Grudge, PlanError> {
    check_size(t, nodes.len())?;
    let n = nodes.len();
    let v = shuffled(nodes, rng);
    Ok(match t {
        Topology::Halves => {
            let (a, b) = v.split_at(n / 2);
            complete_grudge(&[set(a), set(b)])
        }
        Topology::One => {
            let (a, b) = v.split_at(1);
            complete_grudge(&[set(a), set(b)])
        }
        Topology::Majority => {
            let (a, b) = v.split_at(n / 2 + 1);
            complete_grudge(&[set(a), set(b)])
        }
        Topology::MajoritiesRing => majorities_ring(&v),
        Topology::Bridge => {
            let (a, rest) = v.split_at(n / 2);
            let (bridge, b) = rest.split_at(1);
            let mut g = complete_grudge(&[set(a), set(b)]);
            g.insert(bridge[0].clone(), BTreeSet::new());
            g
        }
        Topology::Primaries
        | Topology::Controller
        | Topology::GroupCoordinator
        | Topology::ZkLeader => {
            return Err(PlanError::invalid(
                "partition topology",
                t,
                "it depends on the cluster and is built when applied",
            ))
        }
        Topology::ZkAllBrokers | Topology::ZkOneBroker => {
            return Err(no_ensemble(t));
        }
    })
}

fn no_ensemble(t: Topology) -> PlanError {
    PlanError::invalid(
        "partition topology",
        t,
        "it cuts brokers from ZooKeeper, and this run has no ZooKeeper ensemble (KRaft mode)",
    )
}

/// Build the grudge of a fixed topology over a run's `brokers` and its
/// ZooKeeper ensemble `zookeeper` (empty in KRaft mode). A classic
/// topology cuts among the brokers as [`build`] does (the same draws from
/// `rng`), and every member of the ensemble is a key with an empty set: it
/// hears and is heard by all. The `zk-*` topologies cut brokers from the
/// ensemble (see the module docs).
pub fn build_with_zookeeper<R: Rng>(
    t: Topology,
    brokers: &[String],
    zookeeper: &[String],
    rng: &mut R,
) -> Result<Grudge, PlanError> {
    let one_broker = match t {
        Topology::ZkAllBrokers => false,
        Topology::ZkOneBroker => true,
        // The classic ones, and the dynamic ones (an error from `build`).
        _ => {
            let mut g = build(t, brokers, rng)?;
            for z in zookeeper {
                g.entry(z.clone()).or_default();
            }
            return Ok(g);
        }
    };
    if zookeeper.is_empty() {
        return Err(no_ensemble(t));
    }
    check_size(t, brokers.len())?;
    if !one_broker {
        return Ok(complete_grudge(&[set(brokers), set(zookeeper)]));
    }
    let cut = brokers.choose(rng).expect("checked: at least one broker");
    let mut g = empty_grudge(brokers);
    g.insert(cut.clone(), set(zookeeper));
    for z in zookeeper {
        g.insert(z.clone(), BTreeSet::from([cut.clone()]));
    }
    Ok(g)
}

/// The cut of a dynamic topology once its targets are known: each node of
/// `isolated` alone. `primaries`, `controller` and `group-coordinator` cut
/// among `brokers` (the ensemble stays connected to all); `zk-leader` cuts
/// the leader from every other node, brokers and members alike.
pub fn isolate_with_zookeeper(
    t: Topology,
    brokers: &[String],
    zookeeper: &[String],
    isolated: &BTreeSet<String>,
) -> Grudge {
    if t.needs_zookeeper() {
        let all: Vec<String> = brokers.iter().chain(zookeeper).cloned().collect();
        return isolate(&all, isolated);
    }
    let mut g = isolate(brokers, isolated);
    for z in zookeeper {
        g.entry(z.clone()).or_default();
    }
    g
}

/// The ring over nodes already in ring order (see the module docs).
fn majorities_ring(ring: &[String]) -> Grudge {
    let n = ring.len();
    let mut g = empty_grudge(ring);
    if n == 3 {
        // a - b - c: a and c cannot hear each other; b hears both.
        g.get_mut(&ring[0]).map(|s| s.insert(ring[2].clone()));
        g.get_mut(&ring[2]).map(|s| s.insert(ring[0].clone()));
        return g;
    }
    let k = (n / 2).div_ceil(2);
    for i in 0..n {
        for j in 0..n {
            let d = i.abs_diff(j);
            let ring_distance = d.min(n - d);
            if ring_distance > k {
                g.get_mut(&ring[i]).map(|s| s.insert(ring[j].clone()));
            }
        }
    }
    g
}

/// Each node of `isolated` alone, all other nodes of `nodes` together (the
/// `primaries` and `controller` topologies). Isolated names not in `nodes`
/// are ignored.
pub fn isolate(nodes: &[String], isolated: &BTreeSet<String>) -> Grudge {
    let mut comps: Vec<BTreeSet<String>> = nodes
        .iter()
        .filter(|n| isolated.contains(*n))
        .map(|n| BTreeSet::from([n.clone()]))
        .collect();
    let rest: BTreeSet<String> = nodes
        .iter()
        .filter(|n| !isolated.contains(*n))
        .cloned()
        .collect();
    if !rest.is_empty() {
        comps.push(rest);
    }
    let mut g = complete_grudge(&comps);
    for n in nodes {
        g.entry(n.clone()).or_default();
    }
    g
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grudge::{components_of, is_symmetric, sees};
    use proptest::prelude::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn nodes(n: usize) -> Vec<String> {
        (1..=n).map(|i| format!("n{i}")).collect()
    }

    fn all_keys(g: &Grudge, ns: &[String]) -> bool {
        g.len() == ns.len() && ns.iter().all(|n| g.contains_key(n))
    }

    proptest! {
        #[test]
        fn ring_every_node_sees_a_distinct_majority(n in 3usize..=9, seed in any::<u64>()) {
            let ns = nodes(n);
            let g = build(Topology::MajoritiesRing, &ns, &mut ChaCha8Rng::seed_from_u64(seed)).unwrap();
            prop_assert!(all_keys(&g, &ns));
            prop_assert!(is_symmetric(&g));
            let mut seen = BTreeSet::new();
            for node in &ns {
                let s = sees(&g, node);
                prop_assert!(s.contains(node));
                prop_assert!(s.len() > n / 2, "{node} sees {s:?}, not a majority of {n}");
                prop_assert!(seen.insert(s.clone()), "two nodes see the same majority {s:?}");
            }
        }

        #[test]
        fn bridge_node_sees_all_halves_do_not_see_each_other(n in 3usize..=9, seed in any::<u64>()) {
            let ns = nodes(n);
            let g = build(Topology::Bridge, &ns, &mut ChaCha8Rng::seed_from_u64(seed)).unwrap();
            prop_assert!(all_keys(&g, &ns));
            prop_assert!(is_symmetric(&g));
            let bridges: Vec<&String> = ns.iter().filter(|x| sees(&g, x).len() == n).collect();
            prop_assert_eq!(bridges.len(), 1);
            let bridge = bridges[0];
            // Without the bridge, what is left is two halves cut apart.
            let mut rest = g.clone();
            rest.remove(bridge);
            let comps = components_of(&rest).expect("two clean halves");
            prop_assert_eq!(comps.len(), 2);
            prop_assert_eq!(comps[0].len() + comps[1].len(), n - 1);
            let sizes: BTreeSet<usize> = comps.iter().map(|c| c.len()).collect();
            prop_assert!(sizes.contains(&(n / 2)));
        }

        #[test]
        fn halves_are_disjoint_and_cover(n in 2usize..=9, seed in any::<u64>()) {
            let ns = nodes(n);
            let g = build(Topology::Halves, &ns, &mut ChaCha8Rng::seed_from_u64(seed)).unwrap();
            prop_assert!(is_symmetric(&g));
            let comps = components_of(&g).expect("a clean cut");
            prop_assert_eq!(comps.len(), 2);
            prop_assert!(comps[0].is_disjoint(&comps[1]));
            let all: BTreeSet<String> = comps[0].union(&comps[1]).cloned().collect();
            prop_assert_eq!(all, ns.iter().cloned().collect::<BTreeSet<_>>());
            let mut sizes: Vec<usize> = comps.iter().map(|c| c.len()).collect();
            sizes.sort();
            prop_assert_eq!(sizes, vec![n / 2, n - n / 2]);
        }

        #[test]
        fn majority_has_a_strict_majority_side(n in 3usize..=9, seed in any::<u64>()) {
            let ns = nodes(n);
            let g = build(Topology::Majority, &ns, &mut ChaCha8Rng::seed_from_u64(seed)).unwrap();
            prop_assert!(is_symmetric(&g));
            let comps = components_of(&g).expect("a clean cut");
            prop_assert_eq!(comps.len(), 2);
            let big = comps.iter().map(|c| c.len()).max().unwrap();
            prop_assert_eq!(big, n / 2 + 1);
            prop_assert!(2 * big > n);
        }

        #[test]
        fn one_isolates_exactly_one(n in 2usize..=9, seed in any::<u64>()) {
            let ns = nodes(n);
            let g = build(Topology::One, &ns, &mut ChaCha8Rng::seed_from_u64(seed)).unwrap();
            prop_assert!(is_symmetric(&g));
            let comps = components_of(&g).expect("a clean cut");
            let mut sizes: Vec<usize> = comps.iter().map(|c| c.len()).collect();
            sizes.sort();
            prop_assert_eq!(sizes, vec![1, n - 1]);
        }

        #[test]
        fn isolate_puts_each_target_alone(n in 2usize..=9, mask in any::<u16>()) {
            let ns = nodes(n);
            let iso: BTreeSet<String> = ns.iter().enumerate()
                .filter(|(i, _)| mask & (1 << i) != 0).map(|(_, x)| x.clone()).collect();
            let g = isolate(&ns, &iso);
            prop_assert!(all_keys(&g, &ns));
            prop_assert!(is_symmetric(&g));
            for x in &ns {
                let s = sees(&g, x);
                if iso.contains(x) {
                    prop_assert_eq!(s.len(), 1);
                } else {
                    prop_assert_eq!(s.len(), n - iso.len());
                }
            }
        }
    }

    #[test]
    fn ring_of_five_sees_neighbours() {
        let ns = nodes(5);
        let g = majorities_ring(&ns);
        assert_eq!(sees(&g, "n1"), ["n1", "n2", "n5"].map(String::from).into());
        assert_eq!(g["n1"], ["n3", "n4"].map(String::from).into());
    }

    #[test]
    fn too_few_nodes_is_a_clear_error() {
        let e = build(
            Topology::MajoritiesRing,
            &nodes(2),
            &mut ChaCha8Rng::seed_from_u64(1),
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "partition topology majorities-ring needs at least 3 nodes; the cluster has 2"
        );
    }

    #[test]
    fn parse_names() {
        assert_eq!(
            "ring".parse::<Topology>().unwrap(),
            Topology::MajoritiesRing
        );
        for t in Topology::ALL {
            assert_eq!(t.name().parse::<Topology>().unwrap(), t);
        }
        let e = "triangle".parse::<Topology>().unwrap_err().to_string();
        assert!(
            e.contains("triangle") && e.contains("majorities-ring"),
            "{e}"
        );
    }
}
