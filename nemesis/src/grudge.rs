//! Grudges: who cannot hear whom.
//!
//! A network partition is recorded as a *grudge*: for every node, the set of
//! nodes whose packets it drops (it "cannot hear"). It is applied inside
//! each node as `iptables -A KTRIAL -s <peer ip> -j DROP`, one rule per peer
//! in the node's set (see [`crate::iptables`]).
//!
//! A grudge is one-directional by nature: `grudge[b]` containing `a` means
//! packets *from* `a` are dropped *at* `b`. A TCP connection needs packets in
//! both directions, so a connect from `a` to `b` succeeds only if neither
//! holds a grudge against the other ([`tcp_allows`]).

use std::collections::{BTreeMap, BTreeSet};

/// For every node (by name), the set of nodes it cannot hear. Every node of
/// the cluster is a key, with an empty set if it hears everyone.
pub type Grudge = BTreeMap<String, BTreeSet<String>>;

/// The grudge that cuts the cluster into `components`: every node cannot
/// hear any node outside its own component. Symmetric by construction.
/// Nodes named in no component are keys with an empty set only if listed in
/// `all`; components are expected to be disjoint.
pub fn complete_grudge(components: &[BTreeSet<String>]) -> Grudge {
    let mut g = Grudge::new();
    for (i, c) in components.iter().enumerate() {
        let others: BTreeSet<String> = components
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .flat_map(|(_, o)| o.iter().cloned())
            .collect();
        for n in c {
            g.insert(n.clone(), others.clone());
        }
    }
    g
}

/// An empty grudge over `nodes`: everyone hears everyone.
pub fn empty_grudge<S: AsRef<str>>(nodes: &[S]) -> Grudge {
    nodes
        .iter()
        .map(|n| (n.as_ref().to_string(), BTreeSet::new()))
        .collect()
}

/// Whether packets sent by `from` reach `to` under `grudge` (one direction):
/// true unless `to` drops `from`. A node always hears itself.
pub fn grudge_allows(grudge: &Grudge, from: &str, to: &str) -> bool {
    from == to || !grudge.get(to).is_some_and(|s| s.contains(from))
}

/// Whether a TCP connection between `a` and `b` can be established under
/// `grudge`: packets must pass both ways (SYN one way, SYN-ACK the other).
/// This is what a connect probe ([`crate::probe::connectivity_matrix`])
/// observes, for either direction of the connect.
pub fn tcp_allows(grudge: &Grudge, a: &str, b: &str) -> bool {
    grudge_allows(grudge, a, b) && grudge_allows(grudge, b, a)
}

/// Whether the grudge is symmetric: `a` drops `b` exactly when `b` drops `a`.
pub fn is_symmetric(grudge: &Grudge) -> bool {
    grudge.iter().all(|(n, set)| {
        set.iter()
            .all(|o| grudge.get(o).is_some_and(|s| s.contains(n)))
    })
}

/// The nodes `node` can hear (itself included), among the grudge's keys.
pub fn hears(grudge: &Grudge, node: &str) -> BTreeSet<String> {
    grudge
        .keys()
        .filter(|o| grudge_allows(grudge, o, node))
        .cloned()
        .collect()
}

/// The nodes `node` has two-way connectivity with (itself included).
pub fn sees(grudge: &Grudge, node: &str) -> BTreeSet<String> {
    grudge
        .keys()
        .filter(|o| tcp_allows(grudge, o, node))
        .cloned()
        .collect()
}

/// Number of DROP rules the grudge puts in place (one per dropped peer).
pub fn rule_count(grudge: &Grudge) -> usize {
    grudge.values().map(BTreeSet::len).sum()
}

/// A one-line human rendering: `n1,n2 | n3,n4,n5` when the grudge is a
/// clean cut into components (each node hears exactly its component);
/// otherwise `n1 drops n4,n5; n2 drops n5; …` for the nodes with a grudge.
pub fn render(grudge: &Grudge) -> String {
    let join = |cs: &[BTreeSet<String>]| {
        cs.iter()
            .map(|c| c.iter().cloned().collect::<Vec<_>>().join(","))
            .collect::<Vec<_>>()
            .join(" | ")
    };
    if let Some(components) = components_of(grudge) {
        return join(&components);
    }
    // A cut bridged by nodes that hear and are heard by everyone.
    let bridges: Vec<String> = grudge
        .keys()
        .filter(|n| hears(grudge, n).len() == grudge.len() && sees(grudge, n).len() == grudge.len())
        .cloned()
        .collect();
    if !bridges.is_empty() {
        let mut rest = grudge.clone();
        rest.retain(|n, _| !bridges.contains(n));
        if let Some(components) = components_of(&rest) {
            return format!("{} (bridged by {})", join(&components), bridges.join(","));
        }
    }
    let parts: Vec<String> = grudge
        .iter()
        .filter(|(_, s)| !s.is_empty())
        .map(|(n, s)| {
            format!(
                "{n} drops {}",
                s.iter().cloned().collect::<Vec<_>>().join(",")
            )
        })
        .collect();
    if parts.is_empty() {
        "no grudge".to_string()
    } else {
        parts.join("; ")
    }
}

/// If the grudge is exactly `complete_grudge` of some components (every
/// node hears exactly the nodes of its component), those components,
/// ordered by their smallest member.
pub fn components_of(grudge: &Grudge) -> Option<Vec<BTreeSet<String>>> {
    let mut comps: Vec<BTreeSet<String>> = Vec::new();
    for n in grudge.keys() {
        let h = hears(grudge, n);
        if !comps.contains(&h) {
            comps.push(h);
        }
    }
    // Components must be disjoint and reproduce the grudge exactly.
    let total: usize = comps.iter().map(BTreeSet::len).sum();
    if total != grudge.len() || comps.len() < 2 {
        return None;
    }
    if complete_grudge(&comps) != *grudge {
        return None;
    }
    comps.sort();
    Some(comps)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(v: &[&str]) -> BTreeSet<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn complete_grudge_of_two_halves() {
        let g = complete_grudge(&[set(&["n1", "n2"]), set(&["n3", "n4", "n5"])]);
        assert_eq!(g["n1"], set(&["n3", "n4", "n5"]));
        assert_eq!(g["n5"], set(&["n1", "n2"]));
        assert!(is_symmetric(&g));
        assert!(!tcp_allows(&g, "n1", "n3"));
        assert!(tcp_allows(&g, "n1", "n2"));
        assert_eq!(render(&g), "n1,n2 | n3,n4,n5");
        assert_eq!(rule_count(&g), 12);
    }

    #[test]
    fn one_way_grudge() {
        let mut g = empty_grudge(&["a", "b"]);
        g.get_mut("b").unwrap().insert("a".into());
        assert!(!grudge_allows(&g, "a", "b"));
        assert!(grudge_allows(&g, "b", "a"));
        assert!(!tcp_allows(&g, "b", "a"));
        assert!(!is_symmetric(&g));
        assert_eq!(render(&g), "b drops a");
        assert_eq!(render(&empty_grudge(&["a"])), "no grudge");
    }

    #[test]
    fn bridge_renders_as_a_bridged_cut() {
        let mut g = complete_grudge(&[set(&["n1", "n2"]), set(&["n4", "n5"])]);
        g.insert("n3".into(), BTreeSet::new());
        assert_eq!(render(&g), "n1,n2 | n4,n5 (bridged by n3)");
    }
}
