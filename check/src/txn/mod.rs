//! The transactional checker (list-append and rw-register), after Elle (Kingsbury & Alvaro, 2020).
//!
//! Data flow: paired ops ([`crate::history::Completed`]) → `Txn`s with interned keys → a
//! workload-specific analysis (`list_append`, `rw_register`) that infers version orders, emits
//! ww/wr/rw edges and finds the non-cycle anomalies → process and real-time edges added here →
//! [`Graph`] → Tarjan SCCs → per-component cycle search by class ([`crate::graph::Searcher`]) →
//! anomalies judged against the requested models → [`Report`].

mod list_append;
mod rw_register;

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use crate::Limits;
use crate::edn::Value;
use crate::error::{Error, Result};
use crate::graph::{self, Budget, EdgeKind, Graph, GraphBuilder, NO_KEY, Searcher};
use crate::history::{Completed, Status};
use crate::model::{AnomalyType, CycleClass, Model, Via, expand_anomaly};
use crate::report::{Anomaly, OpRef, Report, Stats, Step, Verdict, Workload};

/// What to check a transactional history for.
#[derive(Debug, Clone)]
pub struct TxnOptions {
    /// Models to judge against: the history is invalid if it shows an anomaly any of them forbids.
    pub models: Vec<Model>,
    /// Further anomaly names to look for, as Elle's `:anomalies` option (`G0`, `G1`, `G2`, ...).
    pub anomalies: Vec<String>,
    /// rw-register: each process observes each key's versions in order (Elle `sequential-keys?`).
    pub sequential_keys: bool,
    /// rw-register: each key is linearizable, so real-time order orders versions.
    pub linearizable_keys: bool,
    /// rw-register: a transaction's write of a key follows the version it read (`wfr-keys?`).
    pub wfr_keys: bool,
    /// Report reads of values nobody wrote (Elle does not, for rw-register).
    pub garbage_reads: bool,
    /// Examples kept per anomaly type.
    pub max_examples: usize,
}

impl Default for TxnOptions {
    fn default() -> Self {
        TxnOptions {
            models: vec![Model::StrictSerializable],
            anomalies: Vec::new(),
            sequential_keys: false,
            linearizable_keys: false,
            wfr_keys: false,
            garbage_reads: true,
            max_examples: 3,
        }
    }
}

impl TxnOptions {
    fn requested(&self, t: AnomalyType, extra: &[AnomalyType]) -> bool {
        t.is_unknown()
            || (t.is_integrity() && (t != AnomalyType::GarbageRead || self.garbage_reads))
            || self.models.iter().any(|m| m.forbids(t))
            || extra.contains(&t)
    }
}

/// A micro-operation's function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MopF {
    Append,
    Read,
    Write,
}

#[derive(Debug, Clone)]
pub(crate) struct Mop {
    pub f: MopF,
    pub key: u32,
    pub value: Value,
}

/// A transaction: one paired op of a transactional workload.
#[derive(Debug)]
pub(crate) struct Txn {
    /// Index into the paired ops.
    pub op: usize,
    pub status: Status,
    pub mops: Vec<Mop>,
}

/// Everything a workload analysis found.
#[derive(Debug, Default)]
pub(crate) struct Analysis {
    pub edges: GraphBuilder,
    pub found: Vec<Found>,
    pub notes: Vec<String>,
}

/// One non-cycle anomaly.
#[derive(Debug)]
pub(crate) struct Found {
    pub kind: AnomalyType,
    pub txns: Vec<u32>,
    pub explanation: String,
}

impl Analysis {
    pub fn found(&mut self, kind: AnomalyType, txns: Vec<u32>, explanation: String) {
        self.found.push(Found {
            kind,
            txns,
            explanation,
        });
    }
}

/// Interned keys: `:x` and `"x"` are the same key.
#[derive(Debug, Default)]
pub(crate) struct Keys {
    ids: HashMap<Value, u32>,
    names: Vec<Value>,
}

impl Keys {
    fn intern(&mut self, k: &Value) -> u32 {
        let canon = match k {
            Value::Keyword(s) | Value::Symbol(s) => Value::Str(s.clone()),
            other => other.clone(),
        };
        if let Some(&id) = self.ids.get(&canon) {
            return id;
        }
        let id = self.names.len() as u32;
        self.names.push(k.clone());
        self.ids.insert(canon, id);
        id
    }

    pub fn name(&self, id: u32) -> String {
        self.names
            .get(id as usize)
            .map_or_else(|| "?".to_string(), |v| v.to_string())
    }
}

/// Context shared by the analyses.
pub(crate) struct Ctx<'a> {
    pub ops: &'a [Completed],
    pub txns: Vec<Txn>,
    pub keys: Keys,
    pub opts: &'a TxnOptions,
}

impl Ctx<'_> {
    pub fn mop_text(&self, m: &Mop) -> String {
        let f = match m.f {
            MopF::Append => "append",
            MopF::Read => "r",
            MopF::Write => "w",
        };
        format!("[:{f} {} {}]", self.keys.name(m.key), m.value)
    }

    /// The writes (or reads) of transaction `t` on `key`, as text.
    pub fn mops_on(&self, t: u32, key: u32, writes: bool) -> String {
        let parts: Vec<String> = self.txns[t as usize]
            .mops
            .iter()
            .filter(|m| m.key == key && (m.f != MopF::Read) == writes)
            .map(|m| self.mop_text(m))
            .collect();
        parts.join(" ")
    }

    fn op_ref(&self, t: u32) -> OpRef {
        let txn = &self.txns[t as usize];
        let c = &self.ops[txn.op];
        let mops: Vec<String> = txn.mops.iter().map(|m| self.mop_text(m)).collect();
        let status = match c.status {
            Status::Ok => "",
            Status::Fail => " (failed)",
            Status::Info => " (indeterminate)",
        };
        OpRef {
            index: c.index,
            line: c.line,
            process: c.process.as_ref().map(Value::to_string),
            value: format!("[{}]{status}", mops.join(" ")),
        }
    }
}

fn parse_txns(ops: &[Completed], keys: &mut Keys) -> Result<Vec<Txn>> {
    let mut txns = Vec::new();
    for (i, c) in ops.iter().enumerate() {
        if c.f.as_deref().is_some_and(|f| f != "txn") {
            continue;
        }
        let Some(items) = c.value.as_seq() else {
            return Err(Error::bad_op(
                c.line,
                format!(
                    "transaction value must be a vector of micro-ops, found {}",
                    c.value
                ),
            ));
        };
        let mut mops = Vec::with_capacity(items.len());
        for m in items {
            let parts = m.as_seq().unwrap_or_default();
            let (Some(f), Some(k)) = (parts.first().and_then(Value::as_name), parts.get(1)) else {
                return Err(Error::bad_op(
                    c.line,
                    format!("bad micro-op {m}: expected [f key value]"),
                ));
            };
            let f = match f {
                "append" => MopF::Append,
                "r" | "read" => MopF::Read,
                "w" | "write" => MopF::Write,
                other => {
                    return Err(Error::bad_op(
                        c.line,
                        format!("unknown micro-op function {other:?} in {m}"),
                    ));
                }
            };
            let value = parts.get(2).cloned().unwrap_or(Value::Nil);
            mops.push(Mop {
                f,
                key: keys.intern(k),
                value,
            });
        }
        txns.push(Txn {
            op: i,
            status: c.status,
            mops,
        });
    }
    Ok(txns)
}

/// A transaction id with its invocation and completion positions, when known.
pub(crate) type Span = (u32, Option<usize>, Option<usize>);

/// Real-time precedence, transitively reduced: `(a, b)` when `a` completed before `b` was invoked
/// and no chain of such pairs already implies it. Input: (id, invoke position, completion
/// position); unknown invocations get no predecessors, unknown completions no successors.
pub(crate) fn realtime_pairs(items: &[Span]) -> Vec<(u32, u32)> {
    // Events sorted by position; a completion and an invocation never share a position.
    let mut events: Vec<(usize, bool, usize)> = Vec::with_capacity(items.len() * 2);
    for (i, &(_, inv, comp)) in items.iter().enumerate() {
        if let Some(p) = inv {
            events.push((p, true, i));
        }
        if let Some(p) = comp {
            events.push((p, false, i));
        }
    }
    events.sort_unstable();
    let mut frontier: Vec<usize> = Vec::new();
    let mut preds: HashMap<usize, Vec<usize>> = HashMap::new();
    let mut dominated = vec![false; items.len()];
    let mut out = Vec::new();
    for (_, is_invoke, i) in events {
        if is_invoke {
            for &f in &frontier {
                out.push((items[f].0, items[i].0));
            }
            if !frontier.is_empty() {
                preds.insert(i, frontier.clone());
            }
        } else {
            if let Some(ps) = preds.remove(&i) {
                for p in ps {
                    dominated[p] = true;
                }
                frontier.retain(|&f| !dominated[f]);
            }
            frontier.push(i);
        }
    }
    out
}

/// Checks a transactional history.
pub fn check(
    ops: &[Completed],
    workload: Workload,
    opts: &TxnOptions,
    limits: &Limits,
) -> Result<Report> {
    let started = Instant::now();
    let mut extra = Vec::new();
    for name in &opts.anomalies {
        match expand_anomaly(name) {
            Some(types) => extra.extend(types),
            None => return Err(Error::BadOption(format!("unknown anomaly name {name:?}"))),
        }
    }
    let mut keys = Keys::default();
    let txns = parse_txns(ops, &mut keys)?;
    let ctx = Ctx {
        ops,
        txns,
        keys,
        opts,
    };
    let mut analysis = match workload {
        Workload::ListAppend => list_append::analyse(&ctx),
        Workload::RwRegister => rw_register::analyse(&ctx),
        _ => {
            return Err(Error::BadOption(format!(
                "{workload} is not a transactional workload"
            )));
        }
    };
    let want = |t: AnomalyType| opts.requested(t, &extra);
    let want_process = CycleClass::ALL
        .iter()
        .any(|&c| want(AnomalyType::Cycle(c, Via::Process)));
    let want_realtime = CycleClass::ALL
        .iter()
        .any(|&c| want(AnomalyType::Cycle(c, Via::Realtime)));

    // Process and real-time order between transactions that may have committed.
    let nodes: Vec<u32> = (0..ctx.txns.len() as u32)
        .filter(|&t| ctx.txns[t as usize].status != Status::Fail)
        .collect();
    if want_process {
        let mut by_process: BTreeMap<String, Vec<u32>> = BTreeMap::new();
        for &t in &nodes {
            if let Some(p) = &ops[ctx.txns[t as usize].op].process {
                by_process.entry(p.to_string()).or_default().push(t);
            }
        }
        for list in by_process.values() {
            for w in list.windows(2) {
                let (a, b) = (
                    &ops[ctx.txns[w[0] as usize].op],
                    &ops[ctx.txns[w[1] as usize].op],
                );
                let before = match (a.complete_pos, b.invoke_pos.or(b.complete_pos)) {
                    (Some(ac), Some(bi)) => ac < bi,
                    _ => false,
                };
                if before {
                    analysis.edges.add(w[0], w[1], EdgeKind::Process, NO_KEY);
                }
            }
        }
    }
    if want_realtime {
        let items: Vec<_> = nodes
            .iter()
            .map(|&t| {
                let c = &ops[ctx.txns[t as usize].op];
                (t, c.invoke_pos, c.complete_pos)
            })
            .collect();
        for (a, b) in realtime_pairs(&items) {
            analysis.edges.add(a, b, EdgeKind::Realtime, NO_KEY);
        }
    }
    let graph = std::mem::take(&mut analysis.edges).build(ctx.txns.len());

    let mut found: Vec<(AnomalyType, Option<graph::Cycle>, Vec<u32>, String)> = Vec::new();
    for f in analysis.found.drain(..) {
        found.push((f.kind, None, f.txns, f.explanation));
    }
    if graph.edge_count() == 0 {
        found.push((
            AnomalyType::EmptyTransactionGraph,
            None,
            Vec::new(),
            "no dependency or order between any two transactions: nothing can be concluded".into(),
        ));
    }

    // Cycle search, component by component.
    let mut all_mask = graph::DATA;
    if want_process {
        all_mask |= graph::PROCESS;
    }
    if want_realtime {
        all_mask |= graph::REALTIME;
    }
    let deadline = limits.max_duration.map(|d| started + d);
    let mut searcher = Searcher::new(&graph, Budget::new(limits.max_steps, deadline));
    let mut passes = vec![(Via::Data, 0u8)];
    if want_process {
        passes.push((Via::Process, graph::PROCESS));
    }
    if want_realtime {
        passes.push((Via::Realtime, graph::PROCESS | graph::REALTIME));
    }
    // One search may spend at most this many steps, so a hard class cannot starve the others.
    let cap = (limits.max_steps / 8).max(1);
    'comps: for comp in graph.sccs(None, all_mask) {
        let mut seen: Vec<CycleClass> = Vec::new();
        for &(via, extra_mask) in &passes {
            // Every cycle of this pass lies inside a component of the pass's own edges.
            for sub in graph.sccs(Some(&comp), graph::DATA | extra_mask) {
                // Cheap searches first; the G2 search is a probe whose shortest cycle may turn out
                // to be G-single or G-nonadjacent; then the costlier exact searches.
                use CycleClass::*;
                for class in [G0, G1c, G2Item, GSingle, GNonadjacent] {
                    let wanted = match class {
                        G2Item => [G2Item, GSingle, GNonadjacent]
                            .iter()
                            .any(|&c| want(AnomalyType::Cycle(c, via))),
                        c => want(AnomalyType::Cycle(c, via)),
                    };
                    let skip = match class {
                        G2Item => seen
                            .iter()
                            .any(|c| matches!(c, G2Item | GSingle | GNonadjacent)),
                        GNonadjacent => seen.contains(&GSingle) || seen.contains(&GNonadjacent),
                        c => seen.contains(&c),
                    };
                    if !wanted || skip {
                        continue;
                    }
                    if let Some(mut cycle) = searcher.find(&sub, class, extra_mask, cap) {
                        // Start the example at the transaction that came first in the history.
                        let first = (0..cycle.len()).min_by_key(|&i| cycle[i].0).unwrap_or(0);
                        cycle.rotate_left(first);
                        let (c, v) = graph::classify(&cycle);
                        if !seen.contains(&c) {
                            seen.push(c);
                            let txns: Vec<u32> = cycle.iter().map(|&(t, _)| t).collect();
                            found.push((
                                AnomalyType::Cycle(c, v),
                                Some(cycle),
                                txns,
                                describe_cycle(c, v),
                            ));
                        }
                    }
                    if searcher.budget.exhausted() {
                        break 'comps;
                    }
                }
            }
        }
    }
    if searcher.budget.truncated {
        found.push((
            AnomalyType::CycleSearchTimeout,
            None,
            Vec::new(),
            format!(
                "the cycle search stopped after {} steps (limit {} steps, {:?}); cycles may remain unreported",
                searcher.budget.steps(),
                limits.max_steps,
                limits.max_duration
            ),
        ));
    }

    // Judge and explain.
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    let mut allowed: Vec<String> = Vec::new();
    let mut anomalies = Vec::new();
    let mut invalid = false;
    let mut unknown = false;
    found.sort_by_key(|f| f.0);
    let ruled_out: Vec<Model> = Model::ALL
        .into_iter()
        .filter(|m| found.iter().any(|f| m.forbids(f.0)))
        .collect();
    for (kind, cycle, txns, explanation) in found {
        let name = kind.name();
        if !want(kind) {
            if !allowed.contains(&name) {
                allowed.push(name);
            }
            continue;
        }
        if kind.is_unknown() {
            unknown = true;
        } else {
            invalid = true;
        }
        let n = counts.entry(name.clone()).or_default();
        *n += 1;
        if *n > opts.max_examples {
            continue;
        }
        let steps = match &cycle {
            Some(c) => explain_cycle(&ctx, &graph, c),
            None => Vec::new(),
        };
        anomalies.push(Anomaly {
            kind: name,
            explanation,
            ops: txns.iter().map(|&t| ctx.op_ref(t)).collect(),
            cycle: steps,
        });
    }
    let verdict = if invalid {
        Verdict::Invalid
    } else if unknown {
        Verdict::Unknown
    } else {
        Verdict::Valid
    };
    let stats = Stats {
        ops: ops.len(),
        ok: ops.iter().filter(|c| c.status == Status::Ok).count(),
        fail: ops.iter().filter(|c| c.status == Status::Fail).count(),
        info: ops.iter().filter(|c| c.status == Status::Info).count(),
        edges: graph.edge_count(),
        search_steps: searcher.budget.steps(),
        elapsed_ms: started.elapsed().as_millis(),
    };
    Ok(Report {
        verdict,
        workload,
        models: opts.models.clone(),
        anomaly_types: counts.keys().cloned().collect(),
        anomalies,
        anomaly_counts: counts,
        allowed_anomaly_types: allowed,
        ruled_out,
        stats,
        notes: analysis.notes,
    })
}

fn describe_cycle(class: CycleClass, via: Via) -> String {
    let what = match class {
        CycleClass::G0 => "write cycle: the transactions' writes are ordered both ways",
        CycleClass::G1c => {
            "circular information flow: each transaction (transitively) saw or overwrote the next"
        }
        CycleClass::GSingle => "read skew: a cycle with exactly one anti-dependency (rw) edge",
        CycleClass::GNonadjacent => {
            "a cycle whose anti-dependency (rw) edges are never adjacent (forbidden by snapshot isolation)"
        }
        CycleClass::G2Item => "write skew: a cycle with adjacent anti-dependency (rw) edges",
    };
    match via {
        Via::Data => what.to_string(),
        Via::Process => format!("{what}; it needs each process's order"),
        Via::Realtime => format!("{what}; it needs real-time order"),
    }
}

fn explain_cycle(ctx: &Ctx<'_>, graph: &Graph, cycle: &graph::Cycle) -> Vec<Step> {
    let n = cycle.len();
    (0..n)
        .map(|i| {
            let (from, kind) = cycle[i];
            let to = cycle[(i + 1) % n].0;
            let j = (i + 1) % n;
            let why = match kind {
                EdgeKind::Process => {
                    format!("T{i} completed before T{j} began in the same process")
                }
                EdgeKind::Realtime => {
                    let (a, b) = (
                        &ctx.ops[ctx.txns[from as usize].op],
                        &ctx.ops[ctx.txns[to as usize].op],
                    );
                    match b.invoke_line {
                        Some(l) => format!(
                            "T{i} completed (line {}) before T{j} was invoked (line {l})",
                            a.line
                        ),
                        None => format!("T{i} completed (line {}) before T{j} was invoked", a.line),
                    }
                }
                _ => {
                    let key = graph.key_of(from, to, kind).unwrap_or(NO_KEY);
                    // ww: both sides' writes; wr: writer's writes, reader's reads; rw: the reverse.
                    let (a, b) = match kind {
                        EdgeKind::Ww => (ctx.mops_on(from, key, true), ctx.mops_on(to, key, true)),
                        EdgeKind::Wr => (ctx.mops_on(from, key, true), ctx.mops_on(to, key, false)),
                        _ => (ctx.mops_on(from, key, false), ctx.mops_on(to, key, true)),
                    };
                    let k = ctx.keys.name(key);
                    match kind {
                        EdgeKind::Ww => {
                            format!("on {k}, T{i}'s write {a} precedes T{j}'s write {b}")
                        }
                        EdgeKind::Wr => {
                            format!("on {k}, T{j}'s read {b} observed T{i}'s write {a}")
                        }
                        _ => format!("on {k}, T{i}'s read {a} did not observe T{j}'s write {b}"),
                    }
                }
            };
            Step {
                from: i,
                to: j,
                edge: kind.name().to_string(),
                why,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests;
