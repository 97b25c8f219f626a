//! Finding and classifying cycles, one strongly connected component at a
//! time.
//!
//! Classes are tried in Elle's order: the data-dependency classes G0 (ww
//! only), G1c (ww and wr, at least one wr), G-single (ww and wr plus exactly
//! one rw) and G2 (at least two rw; Elle's G2-item, with its G-nonadjacent
//! folded in), first over data edges alone, then with process edges (at
//! least one of them: `-process`), then with realtime edges too (at least
//! one realtime edge: `-realtime`). A class found in a component implies
//! every class that is no simpler on both axes (base G0 < G1c < G-single <
//! G2, variant none < process < realtime), as Elle's implied-anomaly graph
//! does, so those are not searched there: each component is explained by
//! its worst (simplest) cycles.
//!
//! One search is a breadth-first search from a start transaction over
//! (transaction, state) pairs, the state counting rw edges (0, 1, 2 or
//! more) and which required kinds were taken, restricted to the component
//! of the class's edge kinds that holds the start. So it finds a shortest
//! closed walk through the start that satisfies the class exactly; starts
//! are the sources of the rarest required kind, so every cycle of the class
//! passes through one of them, and the search is complete unless its budget
//! runs out.

use super::build::Graph;
use super::explain::explain;
use super::scc::{tarjan, Csr};
use super::{Cycle, Findings, Input, Rel, Step};
use std::collections::BTreeMap;

/// Edge visits one (component, class) search may spend.
const BUDGET: u64 = 4_000_000;
/// Edge visits all searches together may spend.
const TOTAL_BUDGET: u64 = 200_000_000;

const BASES: [&str; 4] = ["G0", "G1c", "G-single", "G2"];
const VARIANTS: [&str; 3] = ["", "-process", "-realtime"];

/// How many rw edges a class's cycles have.
#[derive(Clone, Copy, PartialEq, Eq)]
enum RwCount {
    None,
    One,
    Many,
}

#[derive(Clone, Copy)]
struct Spec {
    base: usize,
    variant: usize,
    /// Edge kinds the cycle may use.
    allowed: u8,
    rw: RwCount,
    /// The cycle needs a wr edge (G1c).
    need_wr: bool,
    /// The cycle needs an edge of this kind (the variant's).
    need: Option<Rel>,
}

impl Spec {
    fn new(base: usize, variant: usize) -> Spec {
        let mut allowed = Rel::Ww.bit();
        if base >= 1 {
            allowed |= Rel::Wr.bit();
        }
        if base >= 2 {
            allowed |= Rel::Rw.bit();
        }
        let need = match variant {
            0 => None,
            1 => Some(Rel::Process),
            _ => Some(Rel::Realtime),
        };
        if variant >= 1 {
            allowed |= Rel::Process.bit();
        }
        if variant >= 2 {
            allowed |= Rel::Realtime.bit();
        }
        Spec {
            base,
            variant,
            allowed,
            rw: match base {
                0 | 1 => RwCount::None,
                2 => RwCount::One,
                _ => RwCount::Many,
            },
            need_wr: base == 1,
            need,
        }
    }

    fn class(&self) -> String {
        format!("{}{}", BASES[self.base], VARIANTS[self.variant])
    }

    /// The state bits every accepted cycle must end with.
    fn goal(&self) -> u8 {
        let rw = match self.rw {
            RwCount::None => 0,
            RwCount::One => 1,
            RwCount::Many => 2,
        };
        rw * 4 + u8::from(self.need_wr) + 2 * u8::from(self.need.is_some())
    }

    /// The state after taking an edge of kind `k` from state `st`, or None
    /// if the class forbids it.
    #[inline]
    fn step(&self, st: u8, k: u8) -> Option<u8> {
        let mut rw = st / 4;
        let mut seen = st % 4;
        if k == Rel::Rw as u8 {
            rw = (rw + 1).min(2);
            if self.rw == RwCount::One && rw > 1 {
                return None;
            }
        }
        if self.need_wr && k == Rel::Wr as u8 {
            seen |= 1;
        }
        if let Some(r) = self.need {
            if k == r as u8 {
                seen |= 2;
            }
        }
        Some(rw * 4 + seen)
    }

    /// The kind whose edges every cycle of the class contains (the start
    /// kind), if any.
    fn start_kind(&self) -> Option<Rel> {
        if self.rw != RwCount::None {
            Some(Rel::Rw)
        } else if let Some(r) = self.need {
            Some(r)
        } else if self.need_wr {
            Some(Rel::Wr)
        } else {
            None
        }
    }
}

const STATES: usize = 12;

/// One component as its own small CSR (local node ids), each edge keeping
/// its global index for provenance.
struct Local {
    nodes: Vec<u32>,
    off: Vec<u32>,
    to: Vec<u32>,
    kind: Vec<u8>,
    edge: Vec<u32>,
}

struct Scratch {
    stamp: Vec<u32>,
    parent: Vec<(u32, u32)>,
    queue: Vec<u32>,
    now: u32,
}

enum Outcome {
    Found(Vec<(u32, u32)>),
    None,
    Cut,
}

/// All cycles of the graph, classified and counted.
pub(crate) fn find(input: &Input, g: &Graph, max_examples: usize) -> Findings {
    let mut f = Findings {
        edges: g.counts,
        ..Findings::default()
    };
    let (comp, ncomp) = tarjan(g, 0xff);
    // Bucket the nodes of components with more than one node.
    let mut size = vec![0u32; ncomp as usize];
    for &c in &comp {
        size[c as usize] += 1;
    }
    let mut members: Vec<Vec<u32>> = Vec::new();
    let mut slot = vec![u32::MAX; ncomp as usize];
    for (v, &c) in comp.iter().enumerate() {
        if size[c as usize] < 2 {
            continue;
        }
        if slot[c as usize] == u32::MAX {
            slot[c as usize] = members.len() as u32;
            members.push(Vec::with_capacity(size[c as usize] as usize));
        }
        members[slot[c as usize] as usize].push(v as u32);
    }
    f.sccs = members.len() as u64;
    if members.is_empty() {
        return f;
    }

    let mut variants = vec![0usize];
    if input.process_edges {
        variants.push(1);
    }
    if input.realtime_edges {
        variants.push(2);
    }
    let mut local_of = vec![u32::MAX; g.n];
    let mut found: Vec<(usize, Vec<(u32, u32)>)> = Vec::new(); // (class idx, (from, edge))
    let mut counts: BTreeMap<usize, u64> = BTreeMap::new();
    let mut total = TOTAL_BUDGET;
    let mut scratch = Scratch {
        stamp: Vec::new(),
        parent: Vec::new(),
        queue: Vec::new(),
        now: 0,
    };
    for nodes in members {
        let local = localise(g, nodes, &mut local_of);
        let mut subs: Vec<(u8, Vec<u32>)> = Vec::new();
        let mut implied = [[false; 3]; 4];
        for &variant in &variants {
            for base in 0..4 {
                if implied[base][variant] {
                    continue;
                }
                let spec = Spec::new(base, variant);
                if !subs.iter().any(|(m, _)| *m == spec.allowed) {
                    let csr = Csr {
                        off: &local.off,
                        to: &local.to,
                        kind: &local.kind,
                    };
                    let (c, _) = tarjan(&csr, spec.allowed);
                    subs.push((spec.allowed, c));
                }
                let sub = &subs.iter().find(|(m, _)| *m == spec.allowed).unwrap().1;
                match search(&local, sub, &spec, &mut scratch, &mut total) {
                    Outcome::Found(path) => {
                        *counts.entry(base * 3 + variant).or_default() += 1;
                        let global: Vec<(u32, u32)> = path
                            .iter()
                            .map(|&(v, e)| (local.nodes[v as usize], local.edge[e as usize]))
                            .collect();
                        found.push((base * 3 + variant, global));
                        for (b, row) in implied.iter_mut().enumerate() {
                            for (v, x) in row.iter_mut().enumerate() {
                                if b >= base && v >= variant {
                                    *x = true;
                                }
                            }
                        }
                    }
                    Outcome::None => {}
                    Outcome::Cut => f.incomplete += 1,
                }
            }
        }
        for &v in &local.nodes {
            local_of[v as usize] = u32::MAX;
        }
    }

    for (&ci, &n) in &counts {
        f.counts.insert(Spec::new(ci / 3, ci % 3).class(), n);
    }
    // Keep the shortest examples of each class (stable: earlier components
    // first among equals), classes in search order.
    found.sort_by_key(|(ci, p)| (ci % 3, ci / 3, p.len()));
    let mut kept: BTreeMap<usize, usize> = BTreeMap::new();
    for (ci, path) in found {
        let k = kept.entry(ci).or_default();
        if *k >= max_examples {
            continue;
        }
        *k += 1;
        let class = Spec::new(ci / 3, ci % 3).class();
        let steps = steps_of(input, g, &path);
        let explanation = explain(input, g, &class, &steps);
        f.examples.push(Cycle {
            class,
            steps,
            explanation,
        });
    }
    f
}

fn localise(g: &Graph, nodes: Vec<u32>, local_of: &mut [u32]) -> Local {
    for (i, &v) in nodes.iter().enumerate() {
        local_of[v as usize] = i as u32;
    }
    let mut off = Vec::with_capacity(nodes.len() + 1);
    off.push(0u32);
    let (mut to, mut kind, mut edge) = (Vec::new(), Vec::new(), Vec::new());
    for &v in &nodes {
        for i in 0..g.deg(v) {
            let (w, k, id) = g.at(v, i);
            let w = local_of[w as usize];
            if w != u32::MAX {
                to.push(w);
                kind.push(k);
                edge.push(id);
            }
        }
        off.push(to.len() as u32);
    }
    Local {
        nodes,
        off,
        to,
        kind,
        edge,
    }
}

/// Search one class in one component: a cycle as (local source, local edge)
/// pairs in order.
fn search(local: &Local, sub: &[u32], spec: &Spec, s: &mut Scratch, total: &mut u64) -> Outcome {
    let n = local.nodes.len();
    // Sub-components of the class's kinds with more than one node.
    let mut size = vec![0u32; n];
    for &c in sub {
        size[c as usize] += 1;
    }
    let mut starts: Vec<u32> = Vec::new();
    match spec.start_kind() {
        None => {
            // Every node of a component of ww edges lies on a ww cycle:
            // one start per component.
            let mut done = vec![false; n];
            for (v, &c) in sub.iter().enumerate() {
                let c = c as usize;
                if size[c] >= 2 && !done[c] {
                    done[c] = true;
                    starts.push(v as u32);
                }
            }
        }
        Some(r) => {
            let k = r as u8;
            for v in 0..n {
                let range = local.off[v] as usize..local.off[v + 1] as usize;
                if range
                    .into_iter()
                    .any(|e| local.kind[e] == k && sub[local.to[e] as usize] == sub[v])
                {
                    starts.push(v as u32);
                }
            }
        }
    }
    if starts.is_empty() {
        return Outcome::None;
    }
    if s.stamp.len() < n * STATES {
        // Fresh zeroed buffers rather than a resize that writes every
        // slot: the allocator's zero pages cost no memory until the search
        // touches them, and most searches touch few. (A stamp from an
        // earlier start is never `now`, so none need keeping.)
        s.stamp = vec![0; n * STATES];
        s.parent = vec![(0, 0); n * STATES];
    }
    let mut budget = BUDGET.min(*total);
    let goal = spec.goal();
    let mut outcome = Outcome::None;
    'starts: for &start in &starts {
        s.now = s.now.wrapping_add(1);
        if s.now == 0 {
            s.stamp.iter_mut().for_each(|x| *x = 0);
            s.now = 1;
        }
        let now = s.now;
        s.queue.clear();
        let first = start * STATES as u32;
        s.stamp[first as usize] = now;
        s.queue.push(first);
        let mut head = 0;
        while head < s.queue.len() {
            let x = s.queue[head];
            head += 1;
            let v = x / STATES as u32;
            let st = (x % STATES as u32) as u8;
            let range = local.off[v as usize] as usize..local.off[v as usize + 1] as usize;
            if budget < range.len() as u64 {
                outcome = Outcome::Cut;
                budget = 0;
                break 'starts;
            }
            budget -= range.len() as u64;
            for e in range {
                let k = local.kind[e];
                if (1u8 << k) & spec.allowed == 0 {
                    continue;
                }
                let w = local.to[e];
                if sub[w as usize] != sub[v as usize] {
                    continue;
                }
                let Some(ns) = spec.step(st, k) else {
                    continue;
                };
                if w == start {
                    if ns == goal {
                        // Walk the parents back to the start.
                        let mut path = vec![(v, e as u32)];
                        let mut cur = x;
                        while cur != first {
                            let (p, pe) = s.parent[cur as usize];
                            path.push((p / STATES as u32, pe));
                            cur = p;
                        }
                        path.reverse();
                        outcome = Outcome::Found(path);
                        break 'starts;
                    }
                    continue;
                }
                let y = w * STATES as u32 + ns as u32;
                if s.stamp[y as usize] != now {
                    s.stamp[y as usize] = now;
                    s.parent[y as usize] = (x, e as u32);
                    s.queue.push(y);
                }
            }
        }
    }
    let spent = BUDGET.min(*total) - budget;
    *total -= spent;
    outcome
}

/// Steps with provenance, from (source, global edge) pairs.
fn steps_of(input: &Input, g: &Graph, path: &[(u32, u32)]) -> Vec<Step> {
    path.iter()
        .map(|&(from, e)| {
            let info = g.edge(e);
            let (rel, to) = (info.rel, info.to);
            let (a, b) = (info.a as usize, info.b as usize);
            let (partition, from_offset, to_offset) = match rel {
                Rel::Ww => {
                    let vs = &g.orders[a];
                    (
                        Some(input.versions[a].partition),
                        Some(vs[b].0),
                        Some(vs[b + 1].0),
                    )
                }
                Rel::Wr => {
                    let r = &input.reads[a];
                    (Some(r.partition), Some(r.offset), Some(r.offset))
                }
                Rel::Rw => {
                    let r = &input.reads[a];
                    let vi = order_of(input, r.partition);
                    let next = g.orders[vi][b].0;
                    (Some(r.partition), Some(r.offset), Some(next))
                }
                Rel::Process | Rel::Realtime => (None, None, None),
            };
            Step {
                from,
                to,
                rel,
                partition,
                from_offset,
                to_offset,
            }
        })
        .collect()
}

/// The version order of a partition (one that an edge was built from).
pub(crate) fn order_of(input: &Input, p: trial_histories::values::Partition) -> usize {
    input
        .versions
        .iter()
        .position(|vo| vo.partition == p)
        .expect("an edge's partition has a version order")
}
