//! The transaction dependency graph, strongly connected components (Tarjan), and the bounded search
//! for example cycles of each anomaly class inside a component.
//!
//! Nodes are transaction ids (`u32`). Edges carry one or more [`EdgeKind`]s and, for data edges, the
//! key that caused them. The graph is immutable once built (CSR layout), so searches can run on
//! sub-masks (e.g. "ww and wr only") without copying.
//!
//! Cycle search per component of the full graph, for each class:
//! - G0: a cycle in the ww(+extra) subgraph: Tarjan on that subgraph, then BFS back along an edge.
//! - G1c: a wr edge inside a component of the ww+wr(+extra) subgraph, closed by BFS.
//! - G-single: an rw edge `u -> v` and a BFS path `v ~> u` over ww+wr(+extra) edges.
//! - G-nonadjacent: a BFS over states (node, last edge was rw, rw edges so far) from an rw edge.
//! - G2-item: an rw edge `u -> v` closed by a BFS over all edges.
//!
//! Every BFS is shortest-path, so example cycles are as short as the search allows. All work is
//! charged to a [`Budget`]; when it runs out the search stops and says so.

use std::collections::{HashMap, VecDeque};
use std::time::Instant;

use crate::model::{CycleClass, Via};

/// Why one transaction must precede another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EdgeKind {
    /// Write-write: the source's write precedes the target's write in the version order.
    Ww = 0,
    /// Write-read: the target read the source's write.
    Wr = 1,
    /// Read-write (anti-dependency): the target overwrote the version the source read.
    Rw = 2,
    /// Same process, the source completed before the target was invoked.
    Process = 3,
    /// The source completed before the target was invoked.
    Realtime = 4,
}

impl EdgeKind {
    pub const ALL: [EdgeKind; 5] = [
        EdgeKind::Ww,
        EdgeKind::Wr,
        EdgeKind::Rw,
        EdgeKind::Process,
        EdgeKind::Realtime,
    ];
    /// The order in which a search labels an edge that has several kinds: data before order, and
    /// rw last so that cycles are classified as weakly as the edges allow.
    const PREFERENCE: [EdgeKind; 5] = [
        EdgeKind::Ww,
        EdgeKind::Wr,
        EdgeKind::Process,
        EdgeKind::Realtime,
        EdgeKind::Rw,
    ];

    pub const fn bit(self) -> u8 {
        1 << self as u8
    }

    pub fn name(self) -> &'static str {
        match self {
            EdgeKind::Ww => "ww",
            EdgeKind::Wr => "wr",
            EdgeKind::Rw => "rw",
            EdgeKind::Process => "process",
            EdgeKind::Realtime => "realtime",
        }
    }

    fn first_in(mask: u8) -> Option<EdgeKind> {
        EdgeKind::PREFERENCE
            .into_iter()
            .find(|k| mask & k.bit() != 0)
    }
}

pub const WW: u8 = EdgeKind::Ww.bit();
pub const WR: u8 = EdgeKind::Wr.bit();
pub const RW: u8 = EdgeKind::Rw.bit();
pub const PROCESS: u8 = EdgeKind::Process.bit();
pub const REALTIME: u8 = EdgeKind::Realtime.bit();
pub const DATA: u8 = WW | WR | RW;

/// No key: process and real-time edges.
pub const NO_KEY: u32 = u32::MAX;

/// Collects edges; [`GraphBuilder::build`] deduplicates them into a [`Graph`].
#[derive(Debug, Default)]
pub struct GraphBuilder {
    edges: Vec<(u32, u32, EdgeKind, u32)>,
}

impl GraphBuilder {
    /// Adds `from -> to` of `kind`, caused by `key` (or [`NO_KEY`]). Self-edges are ignored.
    pub fn add(&mut self, from: u32, to: u32, kind: EdgeKind, key: u32) {
        if from != to {
            self.edges.push((from, to, kind, key));
        }
    }

    pub fn build(mut self, nodes: usize) -> Graph {
        self.edges.sort_unstable_by_key(|&(f, t, k, _)| (f, t, k));
        self.edges.dedup_by_key(|&mut (f, t, k, _)| (f, t, k));
        let mut offsets = vec![0usize; nodes + 1];
        let mut targets = Vec::new();
        let mut masks = Vec::new();
        let mut i = 0;
        while i < self.edges.len() {
            let (f, t, _, _) = self.edges[i];
            let mut mask = 0u8;
            while i < self.edges.len() && self.edges[i].0 == f && self.edges[i].1 == t {
                mask |= self.edges[i].2.bit();
                i += 1;
            }
            targets.push(t);
            masks.push(mask);
            offsets[f as usize + 1] += 1;
        }
        for v in 0..nodes {
            offsets[v + 1] += offsets[v];
        }
        Graph {
            offsets,
            targets,
            masks,
            raw: self.edges,
        }
    }
}

/// An immutable dependency graph.
#[derive(Debug)]
pub struct Graph {
    offsets: Vec<usize>,
    targets: Vec<u32>,
    masks: Vec<u8>,
    /// Every distinct (from, to, kind) with its key, sorted.
    raw: Vec<(u32, u32, EdgeKind, u32)>,
}

impl Graph {
    pub fn nodes(&self) -> usize {
        self.offsets.len() - 1
    }

    /// Number of distinct (from, to, kind) edges.
    pub fn edge_count(&self) -> usize {
        self.raw.len()
    }

    /// Number of distinct edges whose kind is in `mask`.
    pub fn count(&self, mask: u8) -> usize {
        self.raw.iter().filter(|e| e.2.bit() & mask != 0).count()
    }

    fn out(&self, v: u32) -> impl Iterator<Item = (u32, u8)> + '_ {
        let (a, b) = (self.offsets[v as usize], self.offsets[v as usize + 1]);
        self.targets[a..b]
            .iter()
            .copied()
            .zip(self.masks[a..b].iter().copied())
    }

    /// The key that caused `from -> to` of `kind`, if that edge exists.
    pub fn key_of(&self, from: u32, to: u32, kind: EdgeKind) -> Option<u32> {
        self.raw
            .binary_search_by_key(&(from, to, kind), |&(f, t, k, _)| (f, t, k))
            .ok()
            .map(|i| self.raw[i].3)
    }

    /// Strongly connected components with at least two nodes of the subgraph induced by `nodes`
    /// (all nodes when `None`) and the edges whose kind is in `mask`.
    pub fn sccs(&self, nodes: Option<&[u32]>, mask: u8) -> Vec<Vec<u32>> {
        let all: Vec<u32>;
        let nodes = match nodes {
            Some(n) => n,
            None => {
                all = (0..self.nodes() as u32).collect();
                &all
            }
        };
        let local = Local::new(nodes, self.nodes());
        const UNSEEN: u32 = u32::MAX;
        let n = nodes.len();
        let mut index = vec![UNSEEN; n];
        let mut low = vec![0u32; n];
        let mut on_stack = vec![false; n];
        let mut stack: Vec<u32> = Vec::new();
        let mut calls: Vec<(u32, usize)> = Vec::new();
        let mut next = 0u32;
        let mut out = Vec::new();
        for start in 0..n as u32 {
            if index[start as usize] != UNSEEN {
                continue;
            }
            index[start as usize] = next;
            low[start as usize] = next;
            next += 1;
            stack.push(start);
            on_stack[start as usize] = true;
            calls.push((start, self.offsets[nodes[start as usize] as usize]));
            while let Some(&mut (v, ref mut pos)) = calls.last_mut() {
                let end = self.offsets[nodes[v as usize] as usize + 1];
                let mut descended = false;
                while *pos < end {
                    let (t, m) = (self.targets[*pos], self.masks[*pos]);
                    *pos += 1;
                    if m & mask == 0 {
                        continue;
                    }
                    let Some(w) = local.get(t) else { continue };
                    if index[w as usize] == UNSEEN {
                        index[w as usize] = next;
                        low[w as usize] = next;
                        next += 1;
                        stack.push(w);
                        on_stack[w as usize] = true;
                        calls.push((w, self.offsets[nodes[w as usize] as usize]));
                        descended = true;
                        break;
                    } else if on_stack[w as usize] {
                        low[v as usize] = low[v as usize].min(index[w as usize]);
                    }
                }
                if descended {
                    continue;
                }
                calls.pop();
                if let Some(&(parent, _)) = calls.last() {
                    low[parent as usize] = low[parent as usize].min(low[v as usize]);
                }
                if low[v as usize] == index[v as usize] {
                    let mut comp = Vec::new();
                    while let Some(w) = stack.pop() {
                        on_stack[w as usize] = false;
                        comp.push(nodes[w as usize]);
                        if w == v {
                            break;
                        }
                    }
                    if comp.len() > 1 {
                        comp.sort_unstable();
                        out.push(comp);
                    }
                }
            }
        }
        out
    }
}

/// Maps graph node ids to positions in a node subset.
struct Local {
    map: Option<HashMap<u32, u32>>,
    len: usize,
}

impl Local {
    fn new(nodes: &[u32], total: usize) -> Local {
        let identity =
            nodes.len() == total && nodes.iter().enumerate().all(|(i, &v)| i as u32 == v);
        let map = (!identity).then(|| {
            nodes
                .iter()
                .enumerate()
                .map(|(i, &v)| (v, i as u32))
                .collect()
        });
        Local {
            map,
            len: nodes.len(),
        }
    }

    fn get(&self, v: u32) -> Option<u32> {
        match &self.map {
            Some(m) => m.get(&v).copied(),
            None => ((v as usize) < self.len).then_some(v),
        }
    }
}

/// A bound on search work: steps and wall-clock time overall, and steps per [`Searcher::find`].
#[derive(Debug)]
pub struct Budget {
    steps: u64,
    max_steps: u64,
    deadline: Option<Instant>,
    exhausted: bool,
    /// Steps allowed to the current `find`, and used by it.
    local_cap: u64,
    local_used: u64,
    /// Whether some `find` stopped at its own cap (its answer is then incomplete).
    pub truncated: bool,
}

impl Budget {
    pub fn new(max_steps: u64, deadline: Option<Instant>) -> Budget {
        Budget {
            steps: 0,
            max_steps,
            deadline,
            exhausted: false,
            local_cap: u64::MAX,
            local_used: 0,
            truncated: false,
        }
    }

    /// Charges one step; false once the overall budget or the current search's cap is spent.
    pub fn step(&mut self) -> bool {
        if self.exhausted || self.local_used >= self.local_cap {
            self.truncated = true;
            return false;
        }
        self.steps += 1;
        self.local_used += 1;
        if self.steps > self.max_steps
            || (self.steps.is_multiple_of(4096)
                && self.deadline.is_some_and(|d| Instant::now() >= d))
        {
            self.exhausted = true;
            self.truncated = true;
        }
        !self.exhausted
    }

    fn local_spent(&self) -> bool {
        self.exhausted || self.local_used >= self.local_cap
    }

    pub fn exhausted(&self) -> bool {
        self.exhausted
    }

    pub fn steps(&self) -> u64 {
        self.steps
    }
}

/// A cycle: each node with the kind of the edge leaving it; the last edge returns to the first node.
pub type Cycle = Vec<(u32, EdgeKind)>;

/// Classifies a cycle by its edges (see [`crate::model`]).
pub fn classify(cycle: &Cycle) -> (CycleClass, Via) {
    let kinds: Vec<EdgeKind> = cycle.iter().map(|&(_, k)| k).collect();
    let via = if kinds.contains(&EdgeKind::Realtime) {
        Via::Realtime
    } else if kinds.contains(&EdgeKind::Process) {
        Via::Process
    } else {
        Via::Data
    };
    let rw = kinds.iter().filter(|&&k| k == EdgeKind::Rw).count();
    let class = match rw {
        0 if kinds.contains(&EdgeKind::Wr) => CycleClass::G1c,
        0 => CycleClass::G0,
        1 => CycleClass::GSingle,
        _ => {
            let n = kinds.len();
            let adjacent =
                (0..n).any(|i| kinds[i] == EdgeKind::Rw && kinds[(i + 1) % n] == EdgeKind::Rw);
            if adjacent {
                CycleClass::G2Item
            } else {
                CycleClass::GNonadjacent
            }
        }
    };
    (class, via)
}

/// Searches one component of the full graph for example cycles.
#[derive(Debug)]
pub struct Searcher<'g> {
    g: &'g Graph,
    pub budget: Budget,
}

impl<'g> Searcher<'g> {
    pub fn new(g: &'g Graph, budget: Budget) -> Self {
        Searcher { g, budget }
    }

    /// Finds a cycle of `class` inside `comp` (a component of the full graph) using data edges plus
    /// the `extra` order edges. `None` when there is none or the budget ran out.
    /// At most `cap` steps are spent on this search.
    pub fn find(&mut self, comp: &[u32], class: CycleClass, extra: u8, cap: u64) -> Option<Cycle> {
        self.budget.local_cap = cap;
        self.budget.local_used = 0;
        let found = self.find_inner(comp, class, extra);
        self.budget.local_cap = u64::MAX;
        found
    }

    fn find_inner(&mut self, comp: &[u32], class: CycleClass, extra: u8) -> Option<Cycle> {
        match class {
            CycleClass::G0 => self.closed_by(comp, WW | extra, WW | extra),
            CycleClass::G1c => self.closed_by(comp, WW | WR | extra, WR),
            CycleClass::GSingle => self.single(comp, extra),
            CycleClass::GNonadjacent => self.nonadjacent(comp, extra),
            CycleClass::G2Item => {
                let local = Local::new(comp, self.g.nodes());
                for &u in comp {
                    for (v, m) in self.g.out(u) {
                        if m & RW != 0 && local.get(v).is_some() {
                            let path = self.bfs(v, u, DATA | extra, &local)?;
                            return Some(close(u, EdgeKind::Rw, path));
                        }
                    }
                }
                None
            }
        }
    }

    /// A cycle in the `mask` subgraph that contains an edge of a kind in `need`.
    fn closed_by(&mut self, comp: &[u32], mask: u8, need: u8) -> Option<Cycle> {
        for sub in self.g.sccs(Some(comp), mask) {
            let local = Local::new(&sub, self.g.nodes());
            for &u in &sub {
                for (v, m) in self.g.out(u) {
                    if m & need != 0 && local.get(v).is_some() {
                        let kind = EdgeKind::first_in(m & need)?;
                        if let Some(path) = self.bfs(v, u, mask, &local) {
                            return Some(close(u, kind, path));
                        }
                        if self.budget.local_spent() {
                            return None;
                        }
                    }
                }
            }
        }
        None
    }

    fn single(&mut self, comp: &[u32], extra: u8) -> Option<Cycle> {
        let mask = WW | WR | extra;
        let local = Local::new(comp, self.g.nodes());
        // Components of the rw-free subgraph: an rw edge inside one closes a cycle for sure.
        let mut label: HashMap<u32, usize> = HashMap::new();
        for (i, sub) in self.g.sccs(Some(comp), mask).iter().enumerate() {
            for &v in sub {
                label.insert(v, i);
            }
        }
        let mut rw_edges = Vec::new();
        for &u in comp {
            for (v, m) in self.g.out(u) {
                if m & RW != 0 && local.get(v).is_some() {
                    let same = label.contains_key(&u) && label.get(&u) == label.get(&v);
                    rw_edges.push((!same, u, v));
                }
            }
        }
        rw_edges.sort_unstable();
        for (_, u, v) in rw_edges {
            if let Some(path) = self.bfs(v, u, mask, &local) {
                return Some(close(u, EdgeKind::Rw, path));
            }
            if self.budget.local_spent() {
                return None;
            }
        }
        None
    }

    fn nonadjacent(&mut self, comp: &[u32], extra: u8) -> Option<Cycle> {
        let plain = WW | WR | extra;
        let local = Local::new(comp, self.g.nodes());
        // State: (node, last edge was rw, at least two rw edges so far).
        type State = (u32, bool, bool);
        for &s in comp {
            for (b, m) in self.g.out(s) {
                if m & RW == 0 || local.get(b).is_none() {
                    continue;
                }
                let start: State = (b, true, false);
                let mut parent: HashMap<State, (State, EdgeKind)> = HashMap::new();
                let mut queue = VecDeque::from([start]);
                parent.insert(start, (start, EdgeKind::Rw));
                while let Some(st @ (x, last_rw, two)) = queue.pop_front() {
                    for (y, m) in self.g.out(x) {
                        if !self.budget.step() {
                            return None;
                        }
                        if local.get(y).is_none() {
                            continue;
                        }
                        let mut moves = Vec::with_capacity(2);
                        if let Some(k) = EdgeKind::first_in(m & plain) {
                            moves.push(((y, false, two), k));
                        }
                        if m & RW != 0 && !last_rw {
                            moves.push(((y, true, true), EdgeKind::Rw));
                        }
                        for (next, kind) in moves {
                            if y == s {
                                // Closing edge: must not be rw (the first edge is), need two rw.
                                if kind != EdgeKind::Rw && next.2 {
                                    let mut path = vec![(x, kind)];
                                    let mut cur = st;
                                    while cur != start {
                                        let (prev, k) = parent[&cur];
                                        path.push((prev.0, k));
                                        cur = prev;
                                    }
                                    path.push((s, EdgeKind::Rw));
                                    path.reverse();
                                    return Some(path);
                                }
                                continue;
                            }
                            if let std::collections::hash_map::Entry::Vacant(e) = parent.entry(next)
                            {
                                e.insert((st, kind));
                                queue.push_back(next);
                            }
                        }
                    }
                }
            }
        }
        None
    }

    /// Shortest path `from ~> to` inside `local` over edges in `mask`: each node on the way (from
    /// `from`, excluding `to`) with the kind of the edge leaving it.
    fn bfs(&mut self, from: u32, to: u32, mask: u8, local: &Local) -> Option<Cycle> {
        let mut parent: HashMap<u32, (u32, EdgeKind)> =
            HashMap::from([(from, (from, EdgeKind::Ww))]);
        let mut queue = VecDeque::from([from]);
        while let Some(x) = queue.pop_front() {
            if x == to {
                let mut path = Vec::new();
                let mut cur = to;
                while cur != from {
                    let (p, k) = parent[&cur];
                    path.push((p, k));
                    cur = p;
                }
                path.reverse();
                return Some(path);
            }
            for (y, m) in self.g.out(x) {
                if !self.budget.step() {
                    return None;
                }
                if m & mask == 0 || local.get(y).is_none() || parent.contains_key(&y) {
                    continue;
                }
                if let Some(k) = EdgeKind::first_in(m & mask) {
                    parent.insert(y, (x, k));
                    queue.push_back(y);
                }
            }
        }
        None
    }
}

/// The cycle `u -kind-> path...`, where `path` leads from the edge's target back to `u`.
fn close(u: u32, kind: EdgeKind, path: Cycle) -> Cycle {
    let mut cycle = vec![(u, kind)];
    cycle.extend(path);
    cycle
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    fn graph(n: usize, edges: &[(u32, u32, EdgeKind)]) -> Graph {
        let mut b = GraphBuilder::default();
        for &(f, t, k) in edges {
            b.add(f, t, k, 0);
        }
        b.build(n)
    }

    fn search(g: &Graph, class: CycleClass) -> Option<(CycleClass, Via)> {
        let comps = g.sccs(None, DATA);
        let mut s = Searcher::new(g, Budget::new(1_000_000, None));
        comps
            .iter()
            .find_map(|c| s.find(c, class, 0, u64::MAX))
            .map(|c| classify(&c))
    }

    #[test]
    fn tarjan_finds_components() {
        use EdgeKind::*;
        let g = graph(
            6,
            &[
                (0, 1, Ww),
                (1, 2, Ww),
                (2, 0, Wr),
                (3, 4, Rw),
                (4, 3, Rw),
                (4, 5, Ww),
            ],
        );
        let comps = g.sccs(None, DATA);
        assert_eq!(comps, vec![vec![0, 1, 2], vec![3, 4]]);
        assert_eq!(g.sccs(None, WW), Vec::<Vec<u32>>::new());
        assert_eq!(g.key_of(2, 0, Wr), Some(0));
        assert_eq!(g.key_of(2, 0, Ww), None);
    }

    #[test]
    fn finds_each_class() {
        use EdgeKind::*;
        let g0 = graph(2, &[(0, 1, Ww), (1, 0, Ww)]);
        assert_eq!(
            search(&g0, CycleClass::G0),
            Some((CycleClass::G0, Via::Data))
        );
        let g1c = graph(2, &[(0, 1, Ww), (1, 0, Wr)]);
        assert_eq!(search(&g1c, CycleClass::G0), None);
        assert_eq!(
            search(&g1c, CycleClass::G1c),
            Some((CycleClass::G1c, Via::Data))
        );
        let single = graph(3, &[(0, 1, Wr), (1, 2, Rw), (2, 0, Ww)]);
        assert_eq!(search(&single, CycleClass::G1c), None);
        assert_eq!(
            search(&single, CycleClass::GSingle),
            Some((CycleClass::GSingle, Via::Data))
        );
        let nonadj = graph(4, &[(0, 1, Rw), (1, 2, Wr), (2, 3, Rw), (3, 0, Wr)]);
        assert_eq!(search(&nonadj, CycleClass::GSingle), None);
        assert_eq!(
            search(&nonadj, CycleClass::GNonadjacent),
            Some((CycleClass::GNonadjacent, Via::Data))
        );
        let skew = graph(2, &[(0, 1, Rw), (1, 0, Rw)]);
        assert_eq!(search(&skew, CycleClass::GNonadjacent), None);
        assert_eq!(
            search(&skew, CycleClass::G2Item),
            Some((CycleClass::G2Item, Via::Data))
        );
    }

    #[test]
    fn order_edges_name_the_variant() {
        use EdgeKind::*;
        let g = graph(2, &[(0, 1, Realtime), (1, 0, Rw)]);
        let comps = g.sccs(None, DATA | REALTIME);
        let mut s = Searcher::new(&g, Budget::new(1000, None));
        let c = s
            .find(&comps[0], CycleClass::GSingle, REALTIME, u64::MAX)
            .unwrap();
        assert_eq!(classify(&c), (CycleClass::GSingle, Via::Realtime));
    }

    #[test]
    fn budget_stops_search() {
        use EdgeKind::*;
        let n = 2000u32;
        let mut edges: Vec<_> = (0..n - 1).map(|i| (i, i + 1, Rw)).collect();
        edges.push((n - 1, 0, Rw));
        let g = graph(n as usize, &edges);
        let comps = g.sccs(None, DATA);
        let mut s = Searcher::new(&g, Budget::new(100, None));
        assert!(s.find(&comps[0], CycleClass::G2Item, 0, u64::MAX).is_none());
        assert!(s.budget.exhausted());
    }
}
