//! Strongly connected components (Tarjan, iterative: histories can make
//! graphs deeper than the call stack) and shortest cycles inside them.

use std::collections::VecDeque;

/// The strongly connected components of a graph given as adjacency lists.
pub fn tarjan_scc(adj: &[Vec<u32>]) -> Vec<Vec<u32>> {
    let n = adj.len();
    const UNSEEN: u32 = u32::MAX;
    let mut index = vec![UNSEEN; n];
    let mut low = vec![0u32; n];
    let mut on_stack = vec![false; n];
    let mut stack: Vec<u32> = Vec::new();
    let mut comps = Vec::new();
    let mut next = 0u32;
    // Call stack of (node, next edge position).
    let mut call: Vec<(u32, usize)> = Vec::new();
    for root in 0..n as u32 {
        if index[root as usize] != UNSEEN {
            continue;
        }
        call.push((root, 0));
        index[root as usize] = next;
        low[root as usize] = next;
        next += 1;
        stack.push(root);
        on_stack[root as usize] = true;
        while let Some(&(v, pos)) = call.last() {
            let vu = v as usize;
            if pos < adj[vu].len() {
                let w = adj[vu][pos];
                if let Some(top) = call.last_mut() {
                    top.1 += 1;
                }
                let wu = w as usize;
                if index[wu] == UNSEEN {
                    index[wu] = next;
                    low[wu] = next;
                    next += 1;
                    stack.push(w);
                    on_stack[wu] = true;
                    call.push((w, 0));
                } else if on_stack[wu] {
                    low[vu] = low[vu].min(index[wu]);
                }
                continue;
            }
            call.pop();
            if let Some(&(parent, _)) = call.last() {
                low[parent as usize] = low[parent as usize].min(low[vu]);
            }
            if low[vu] == index[vu] {
                let mut comp = Vec::new();
                while let Some(w) = stack.pop() {
                    on_stack[w as usize] = false;
                    comp.push(w);
                    if w == v {
                        break;
                    }
                }
                comp.sort_unstable();
                comps.push(comp);
            }
        }
    }
    comps
}

/// A shortest path of at least one edge from `start` to `target` using only
/// nodes of `comp`: `[start, …, target]`. Empty if there is none.
pub fn find_cycle(adj: &[Vec<u32>], comp: &[u32], start: u32, target: u32) -> Vec<u32> {
    use std::collections::HashMap;
    let inside: std::collections::HashSet<u32> = comp.iter().copied().collect();
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_components_and_cycles() {
        // 0 -> 1 -> 2 -> 0, 2 -> 3, 3 -> 4 -> 3, 5
        let adj = vec![vec![1], vec![2], vec![0, 3], vec![4], vec![3], vec![]];
        let mut comps = tarjan_scc(&adj);
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
        let comps = tarjan_scc(&adj);
        assert_eq!(comps.len(), 1);
        assert_eq!(comps[0].len(), n as usize);
    }
}
