//! Read-write register analysis: writes replace a key's value, so a read reveals one version and
//! nothing about the order of the others. Version orders are inferred per key from:
//! - the initial state: `nil` precedes every written value;
//! - `wfr_keys`: a transaction that reads `v1` and then writes `v2` orders `v1 < v2`;
//! - `sequential_keys`: the versions each process sees of a key come in version order;
//! - `linearizable_keys`: if a transaction completed before another began, its version of the key
//!   precedes (or equals) the other's.
//!
//! A cycle in a key's version order is `cyclic-versions`. Edges: ww between the final writers of
//! ordered versions, wr from a version's writer to its external readers, rw from the readers of a
//! version to the writers of its successors. Only a transaction's last write of a key is a
//! version; reading an earlier one is G1b.

use std::collections::{BTreeMap, HashMap};

use crate::edn::Value;
use crate::graph::{self, EdgeKind, GraphBuilder, NO_KEY};
use crate::history::Status;
use crate::model::AnomalyType;

use super::{Analysis, Ctx, MopF, Span, realtime_pairs};

#[derive(Debug, Clone, Copy)]
struct Writer {
    txn: u32,
    /// Whether this is the transaction's last write of the key (a version others can see).
    last: bool,
    status: Status,
}

/// Versions of one key and the precedence inferred between them.
#[derive(Default)]
struct Versions<'a> {
    ids: HashMap<&'a Value, u32>,
    values: Vec<&'a Value>,
    edges: Vec<(u32, u32)>,
}

impl<'a> Versions<'a> {
    fn id(&mut self, v: &'a Value) -> u32 {
        if let Some(&i) = self.ids.get(v) {
            return i;
        }
        let i = self.values.len() as u32;
        self.values.push(v);
        self.ids.insert(v, i);
        i
    }

    fn before(&mut self, a: &'a Value, b: &'a Value) {
        if a != b {
            let (a, b) = (self.id(a), self.id(b));
            self.edges.push((a, b));
        }
    }
}

/// A transaction's view of one key: what it read first (if before writing) and what it wrote last.
#[derive(Default, Clone, Copy)]
struct View<'a> {
    read: Option<&'a Value>,
    wrote: Option<&'a Value>,
}

impl<'a> View<'a> {
    fn first(&self) -> Option<&'a Value> {
        self.read.or(self.wrote)
    }
    fn last(&self) -> Option<&'a Value> {
        self.wrote.or(self.read)
    }
}

static NIL: Value = Value::Nil;

pub(crate) fn analyse(ctx: &Ctx<'_>) -> Analysis {
    let mut a = Analysis::default();
    let txns = &ctx.txns;

    let mut writer: HashMap<(u32, &Value), Writer> = HashMap::new();
    // Per transaction (ok or info), per key: external read and final write.
    let mut views: Vec<BTreeMap<u32, View<'_>>> = vec![BTreeMap::new(); txns.len()];
    for (t, txn) in txns.iter().enumerate() {
        let tu = t as u32;
        let mut last_write: HashMap<u32, usize> = HashMap::new();
        for (j, m) in txn.mops.iter().enumerate() {
            if m.f != MopF::Read {
                last_write.insert(m.key, j);
            }
        }
        let mut known: HashMap<u32, &Value> = HashMap::new();
        for (j, m) in txn.mops.iter().enumerate() {
            let key = ctx.keys.name(m.key);
            if m.f != MopF::Read {
                let last = last_write.get(&m.key) == Some(&j);
                let w = Writer {
                    txn: tu,
                    last,
                    status: txn.status,
                };
                if let Some(prev) = writer.get(&(m.key, &m.value)) {
                    if prev.txn != tu {
                        a.notes.push(format!(
                            "value {} written to {key} more than once (ops at lines {} and {}); reads of it are attributed to the first",
                            m.value,
                            ctx.ops[txns[prev.txn as usize].op].line,
                            ctx.ops[txn.op].line
                        ));
                    } else if last {
                        writer.insert((m.key, &m.value), w);
                    }
                } else {
                    writer.insert((m.key, &m.value), w);
                }
                known.insert(m.key, &m.value);
                if last && txn.status != Status::Fail {
                    views[t].entry(m.key).or_default().wrote = Some(&m.value);
                }
                continue;
            }
            if txn.status != Status::Ok {
                continue;
            }
            match known.get(&m.key) {
                Some(&k) if *k != m.value => a.found(
                    AnomalyType::Internal,
                    vec![tu],
                    format!(
                        "read {} of {key} but the transaction's own earlier operations imply {k}",
                        m.value
                    ),
                ),
                Some(_) => {}
                None => {
                    views[t].entry(m.key).or_default().read = Some(&m.value);
                }
            }
            known.insert(m.key, &m.value);
        }
    }

    // Checks on external reads.
    for (t, txn_views) in views.iter().enumerate() {
        if txns[t].status != Status::Ok {
            continue;
        }
        for (&key, view) in txn_views {
            let Some(v) = view.read.filter(|v| !v.is_nil()) else {
                continue;
            };
            let name = ctx.keys.name(key);
            match writer.get(&(key, v)) {
                None if ctx.opts.garbage_reads => a.found(
                    AnomalyType::GarbageRead,
                    vec![t as u32],
                    format!("read {v} of {name}, a value no operation wrote"),
                ),
                None => {}
                Some(w) if w.status == Status::Fail => a.found(
                    AnomalyType::G1a,
                    vec![t as u32, w.txn],
                    format!("read {v} of {name}, written only by a failed transaction"),
                ),
                Some(w) if !w.last && w.txn != t as u32 => a.found(
                    AnomalyType::G1b,
                    vec![t as u32, w.txn],
                    format!("read {v} of {name}, an intermediate value its writer overwrote in the same transaction"),
                ),
                Some(_) => {}
            }
        }
    }

    // Version orders.
    let mut versions: BTreeMap<u32, Versions<'_>> = BTreeMap::new();
    for (t, txn_views) in views.iter().enumerate() {
        for (&key, view) in txn_views {
            let vs = versions.entry(key).or_default();
            if let Some(w) = view.wrote {
                vs.before(&NIL, w);
            }
            if txns[t].status == Status::Ok
                && ctx.opts.wfr_keys
                && let (Some(r), Some(w)) = (view.read, view.wrote)
            {
                vs.before(r, w);
            }
        }
    }
    let ok_views = |t: u32| {
        if txns[t as usize].status == Status::Ok {
            Some(&views[t as usize])
        } else {
            None
        }
    };
    if ctx.opts.sequential_keys {
        let mut by_process: BTreeMap<String, Vec<u32>> = BTreeMap::new();
        for (t, txn) in txns.iter().enumerate() {
            if txn.status == Status::Ok
                && let Some(p) = &ctx.ops[txn.op].process
            {
                by_process.entry(p.to_string()).or_default().push(t as u32);
            }
        }
        for list in by_process.values() {
            let mut last_seen: HashMap<u32, &Value> = HashMap::new();
            for &t in list {
                for (&key, view) in ok_views(t).into_iter().flatten() {
                    let vs = versions.entry(key).or_default();
                    for v in [view.read, view.wrote].into_iter().flatten() {
                        if let Some(prev) = last_seen.insert(key, v) {
                            vs.before(prev, v);
                        }
                    }
                }
            }
        }
    }
    if ctx.opts.linearizable_keys {
        let mut by_key: BTreeMap<u32, Vec<Span>> = BTreeMap::new();
        for (t, txn) in txns.iter().enumerate() {
            if txn.status != Status::Ok {
                continue;
            }
            let c = &ctx.ops[txn.op];
            for &key in views[t].keys() {
                by_key
                    .entry(key)
                    .or_default()
                    .push((t as u32, c.invoke_pos, c.complete_pos));
            }
        }
        for (key, items) in by_key {
            let vs = versions.entry(key).or_default();
            for (x, y) in realtime_pairs(&items) {
                let (vx, vy) = (
                    views[x as usize][&key].last(),
                    views[y as usize][&key].first(),
                );
                if let (Some(vx), Some(vy)) = (vx, vy) {
                    vs.before(vx, vy);
                }
            }
        }
    }

    // Cyclic versions; successor lists.
    let mut successors: HashMap<(u32, &Value), Vec<&Value>> = HashMap::new();
    for (&key, vs) in &versions {
        let mut b = GraphBuilder::default();
        for &(x, y) in &vs.edges {
            b.add(x, y, EdgeKind::Ww, NO_KEY);
        }
        let g = b.build(vs.values.len());
        for comp in g.sccs(None, graph::WW) {
            let vals: Vec<String> = comp
                .iter()
                .map(|&i| vs.values[i as usize].to_string())
                .collect();
            let mut involved: Vec<u32> = comp
                .iter()
                .filter_map(|&i| writer.get(&(key, vs.values[i as usize])).map(|w| w.txn))
                .collect();
            involved.dedup();
            a.found(
                AnomalyType::CyclicVersions,
                involved,
                format!(
                    "the inferred version order of {} has a cycle among {}",
                    ctx.keys.name(key),
                    vals.join(", ")
                ),
            );
        }
        let mut has_pred = vec![false; vs.values.len()];
        for &(x, y) in &vs.edges {
            if !vs.values[x as usize].is_nil() {
                has_pred[y as usize] = true;
            }
        }
        for &(x, y) in &vs.edges {
            let (vx, vy) = (vs.values[x as usize], vs.values[y as usize]);
            // From the initial state, only to versions nothing else precedes.
            if vx.is_nil() && has_pred[y as usize] {
                continue;
            }
            successors.entry((key, vx)).or_default().push(vy);
        }
    }
    let visible = |key: u32, v: &Value| {
        writer
            .get(&(key, v))
            .filter(|w| w.last && w.status != Status::Fail)
            .map(|w| w.txn)
    };

    // ww edges.
    for (&(key, v1), next) in &successors {
        if let Some(w1) = visible(key, v1) {
            for v2 in next {
                if let Some(w2) = visible(key, v2) {
                    a.edges.add(w1, w2, EdgeKind::Ww, key);
                }
            }
        }
    }
    // wr and rw edges; lost updates.
    let mut read_then_write: BTreeMap<(u32, String), Vec<u32>> = BTreeMap::new();
    for (t, txn_views) in views.iter().enumerate() {
        if txns[t].status != Status::Ok {
            continue;
        }
        let t = t as u32;
        for (&key, view) in txn_views {
            let Some(v) = view.read else { continue };
            if let Some(w) = visible(key, v) {
                a.edges.add(w, t, EdgeKind::Wr, key);
            }
            for v2 in successors.get(&(key, v)).into_iter().flatten() {
                if let Some(w2) = visible(key, v2) {
                    a.edges.add(t, w2, EdgeKind::Rw, key);
                }
            }
            if view.wrote.is_some() {
                read_then_write
                    .entry((key, v.to_string()))
                    .or_default()
                    .push(t);
            }
        }
    }
    for ((key, v), group) in read_then_write {
        if group.len() > 1 {
            a.found(
                AnomalyType::LostUpdate,
                group.clone(),
                format!(
                    "{} committed transactions read {v} of {} and each wrote it",
                    group.len(),
                    ctx.keys.name(key)
                ),
            );
        }
    }
    a
}
