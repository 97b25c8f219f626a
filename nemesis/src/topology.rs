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
//! | `controller` | the active KRaft controller alone (asked of [`crate::Targets`] when applied) |
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
}

impl Topology {
    pub const ALL: [Topology; 7] = [
        Topology::Halves,
        Topology::One,
        Topology::Majority,
        Topology::MajoritiesRing,
        Topology::Bridge,
        Topology::Primaries,
        Topology::Controller,
    ];

    /// The default mix: every topology.
    pub fn defaults() -> Vec<Topology> {
        Topology::ALL.to_vec()
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
        }
    }

    /// Fewest nodes the cut makes sense for.
    pub fn min_nodes(self) -> usize {
        match self {
            Topology::Majority | Topology::MajoritiesRing | Topology::Bridge => 3,
            _ => 2,
        }
    }

    /// Whether the cut depends on the cluster's state (asked of `Targets`
    /// when the fault is applied) rather than being fixed in the plan.
    pub fn is_dynamic(self) -> bool {
        matches!(self, Topology::Primaries | Topology::Controller)
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
        Topology::Primaries | Topology::Controller => {
            return Err(PlanError::invalid(
                "partition topology",
                t,
                "it depends on the cluster and is built when applied",
            ))
        }
    })
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
