//! Strongly connected components of a CSR graph restricted to a set of edge
//! kinds: Tarjan's algorithm, iterative (a history's graph can be deeper
//! than the call stack). Also the one Tarjan for plain adjacency lists
//! ([`components`]) and a shortest cycle inside a component
//! ([`find_cycle`]), which the queue checker's write-read-only check uses.

use std::collections::VecDeque;

/// A graph Tarjan can walk: out-edges by position.
pub(crate) trait Adj {
    fn nodes(&self) -> usize;
    fn deg(&self, v: u32) -> u32;
    /// The `i`-th edge out of `v`: (target, kind).
    fn at(&self, v: u32, i: u32) -> (u32, u8);
}

/// A plain CSR with one kind byte per edge.
pub(crate) struct Csr<'a> {
    pub off: &'a [u32],
    pub to: &'a [u32],
    pub kind: &'a [u8],
}

impl Adj for Csr<'_> {
    fn nodes(&self) -> usize {
        self.off.len() - 1
    }
    #[inline]
    fn deg(&self, v: u32) -> u32 {
        self.off[v as usize + 1] - self.off[v as usize]
    }
    #[inline]
    fn at(&self, v: u32, i: u32) -> (u32, u8) {
        let e = (self.off[v as usize] + i) as usize;
        (self.to[e], self.kind[e])
    }
}

impl Adj for super::build::Graph<'_> {
    fn nodes(&self) -> usize {
        self.n
    }
    #[inline]
    fn deg(&self, v: u32) -> u32 {
        super::build::Graph::deg(self, v)
    }
    #[inline]
    fn at(&self, v: u32, i: u32) -> (u32, u8) {
        let (w, k, _) = super::build::Graph::at(self, v, i);
        (w, k)
    }
}

/// Adjacency lists: every edge of kind 0.
impl Adj for [Vec<u32>] {
    fn nodes(&self) -> usize {
        self.len()
    }
    #[inline]
    fn deg(&self, v: u32) -> u32 {
        self[v as usize].len() as u32
    }
    #[inline]
    fn at(&self, v: u32, i: u32) -> (u32, u8) {
        (self[v as usize][i as usize], 0)
    }
}

/// The strongly connected components of adjacency lists (singletons
/// included), each sorted, in the order Tarjan completes them.
pub(crate) fn components(adj: &[Vec<u32>]) -> Vec<Vec<u32>> {
    let (comp, k) = tarjan(adj, 1);
    let mut out = vec![Vec::new(); k as usize];
    for (v, &c) in comp.iter().enumerate() {
        out[c as usize].push(v as u32);
    }
    out
}

/// A shortest path of at least one edge from `start` to `target` using only
/// nodes of `comp`: `[start, …, target]`. Empty if there is none.
pub(crate) fn find_cycle(adj: &[Vec<u32>], comp: &[u32], start: u32, target: u32) -> Vec<u32> {
    use std::collections::{HashMap, HashSet};
    let inside: HashSet<u32> = comp.iter().copied().collect();
    let mut parent: HashMap<u32, u32> = HashMap::new();
    let mut q = VecDeque::new();
    for &w in &adj[start as usize] {
        if inside.contains(&w) && !parent.contains_key(&w) {
            parent.insert(w, start);
            q.push_back(w);
        }
    }
    while let Some(v) = q.pop_front() {
        if v == target {
            let mut path = vec![v];
            let mut cur = v;
            loop {
                let p = parent[&cur];
                path.push(p);
                if p == start && path.len() > 1 {
                    break;
                }
                cur = p;
            }
            path.reverse();
            return path;
        }
        for &w in &adj[v as usize] {
            if inside.contains(&w) && !parent.contains_key(&w) {
                parent.insert(w, v);
                q.push_back(w);
            }
        }
    }
    Vec::new()
}

/// Component id of every node (ids are dense, from 0) and the number of
/// components. Only edges whose kind's bit is in `mask` count.
pub(crate) fn tarjan<G: Adj + ?Sized>(g: &G, mask: u8) -> (Vec<u32>, u32) {
    let n = g.nodes();
    const UNSEEN: u32 = u32::MAX;
    let mut index = vec![UNSEEN; n];
    let mut low = vec![0u32; n];
    let mut comp = vec![UNSEEN; n];
    let mut stack: Vec<u32> = Vec::new();
    let mut call: Vec<(u32, u32)> = Vec::new();
    let mut next = 0u32;
    let mut ncomp = 0u32;
    for root in 0..n as u32 {
        if index[root as usize] != UNSEEN {
            continue;
        }
        index[root as usize] = next;
        low[root as usize] = next;
        next += 1;
        stack.push(root);
        call.push((root, 0));
        while let Some(&mut (v, ref mut pos)) = call.last_mut() {
            let vu = v as usize;
            let end = g.deg(v);
            let mut descend = None;
            while *pos < end {
                let (w, k) = g.at(v, *pos);
                *pos += 1;
                if (1u8 << k) & mask == 0 {
                    continue;
                }
                let w = w as usize;
                if index[w] == UNSEEN {
                    descend = Some(w as u32);
                    break;
                } else if comp[w] == UNSEEN {
                    // On the stack: not yet assigned to a component.
                    low[vu] = low[vu].min(index[w]);
                }
            }
            if let Some(w) = descend {
                let wu = w as usize;
                index[wu] = next;
                low[wu] = next;
                next += 1;
                stack.push(w);
                call.push((w, 0));
                continue;
            }
            call.pop();
            if let Some(&(parent, _)) = call.last() {
                let pu = parent as usize;
                low[pu] = low[pu].min(low[vu]);
            }
            if low[vu] == index[vu] {
                while let Some(w) = stack.pop() {
                    comp[w as usize] = ncomp;
                    if w == v {
                        break;
                    }
                }
                ncomp += 1;
            }
        }
    }
    (comp, ncomp)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn csr(adj: &[Vec<u32>]) -> (Vec<u32>, Vec<u32>, Vec<u8>) {
        let mut off = vec![0u32];
        let mut to = Vec::new();
        for a in adj {
            to.extend_from_slice(a);
            off.push(to.len() as u32);
        }
        let kind = vec![0u8; to.len()];
        (off, to, kind)
    }

    #[test]
    fn components() {
        // 0 -> 1 -> 2 -> 0, 2 -> 3, 3 -> 4 -> 3, 5
        let (off, to, kind) = csr(&[vec![1], vec![2], vec![0, 3], vec![4], vec![3], vec![]]);
        let g = Csr {
            off: &off,
            to: &to,
            kind: &kind,
        };
        let (c, k) = tarjan(&g, 1);
        assert_eq!(k, 3);
        assert!(c[0] == c[1] && c[1] == c[2]);
        assert!(c[3] == c[4] && c[3] != c[0]);
        assert!(c[5] != c[0] && c[5] != c[3]);
        // With the kind masked out, every node is alone.
        assert_eq!(tarjan(&g, 2).1, 6);
    }

    #[test]
    fn components_and_cycles_of_adjacency_lists() {
        // 0 -> 1 -> 2 -> 0, 2 -> 3, 3 -> 4 -> 3, 5
        let adj = vec![vec![1], vec![2], vec![0, 3], vec![4], vec![3], vec![]];
        let mut comps = super::components(&adj);
        comps.sort();
        assert_eq!(comps, vec![vec![0, 1, 2], vec![3, 4], vec![5]]);
        assert_eq!(find_cycle(&adj, &[0, 1, 2], 0, 0), vec![0, 1, 2, 0]);
        assert_eq!(find_cycle(&adj, &[3, 4], 4, 3), vec![4, 3]);
        assert!(find_cycle(&adj, &[5], 5, 5).is_empty());
    }

    #[test]
    fn deep_chains_do_not_overflow() {
        let n = 200_000u32;
        let adj: Vec<Vec<u32>> = (0..n).map(|i| vec![(i + 1) % n]).collect();
        let (off, to, kind) = csr(&adj);
        let g = Csr {
            off: &off,
            to: &to,
            kind: &kind,
        };
        let (c, k) = tarjan(&g, 1);
        assert_eq!(k, 1);
        assert!(c.iter().all(|&x| x == 0));
    }
}
