//! Strongly connected components of a CSR graph restricted to a set of edge
//! kinds: Tarjan's algorithm, iterative (a history's graph can be deeper
//! than the call stack).

/// Component id of every node (ids are dense, from 0) and the number of
/// components. Only edges whose kind's bit is in `mask` count.
pub(crate) fn tarjan(off: &[u32], to: &[u32], kind: &[u8], mask: u8) -> (Vec<u32>, u32) {
    let n = off.len() - 1;
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
        call.push((root, off[root as usize]));
        while let Some(&mut (v, ref mut pos)) = call.last_mut() {
            let vu = v as usize;
            let end = off[vu + 1];
            let mut descend = None;
            while *pos < end {
                let e = *pos as usize;
                *pos += 1;
                if (1u8 << kind[e]) & mask == 0 {
                    continue;
                }
                let w = to[e] as usize;
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
                call.push((w, off[wu]));
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
        let (c, k) = tarjan(&off, &to, &kind, 1);
        assert_eq!(k, 3);
        assert!(c[0] == c[1] && c[1] == c[2]);
        assert!(c[3] == c[4] && c[3] != c[0]);
        assert!(c[5] != c[0] && c[5] != c[3]);
        // With the kind masked out, every node is alone.
        assert_eq!(tarjan(&off, &to, &kind, 2).1, 6);
    }

    #[test]
    fn deep_chains_do_not_overflow() {
        let n = 200_000u32;
        let adj: Vec<Vec<u32>> = (0..n).map(|i| vec![(i + 1) % n]).collect();
        let (off, to, kind) = csr(&adj);
        let (c, k) = tarjan(&off, &to, &kind, 1);
        assert_eq!(k, 1);
        assert!(c.iter().all(|&x| x == 0));
    }
}
