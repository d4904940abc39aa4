//! List-append analysis: every append is unique per key, and every read returns a key's whole list,
//! so each read reveals a prefix of the key's version order.
//!
//! Version order: the longest read of each key (duplicates dropped); every other read must be a
//! prefix of it (else `incompatible-order`). Committed appends no read has seen come after the
//! longest read, in unknown order. Edges:
//! - ww: between the writers of consecutive elements; from the writer of the last observed element
//!   to each committed writer of an unobserved element;
//! - wr: from the writer of a read's last element to the reader (external reads only: the first
//!   read of a key before the transaction appends to it);
//! - rw: from a reader to the writer of the element after its read in the order; from readers of the
//!   whole observed list to each committed writer of an unobserved element; and between
//!   transactions that read the same version and both append to the key (which is also reported
//!   as `lost-update`).
//!
//! Non-cycle anomalies found here: G1a, G1b, dirty-update, duplicate-elements, incompatible-order,
//! internal, future-read, garbage-read, lost-update.

use std::collections::{HashMap, HashSet};

use crate::edn::Value;
use crate::graph::EdgeKind;
use crate::history::Status;
use crate::model::AnomalyType;

use super::{Analysis, Ctx, MopF};

#[derive(Debug, Clone, Copy)]
struct Writer {
    txn: u32,
    /// Position of the append among the transaction's micro-ops.
    mop: usize,
    /// Whether it is the transaction's last append to the key.
    last: bool,
    status: Status,
}

struct ExtRead<'a> {
    txn: u32,
    key: u32,
    elems: Vec<&'a Value>,
}

fn list_of(v: &Value) -> &[Value] {
    v.as_seq().unwrap_or_default()
}

pub(crate) fn analyse(ctx: &Ctx<'_>) -> Analysis {
    let mut a = Analysis::default();
    let txns = &ctx.txns;

    // Who appended what.
    let mut writer: HashMap<(u32, &Value), Writer> = HashMap::new();
    let mut appends_by_key: HashMap<u32, Vec<(u32, &Value)>> = HashMap::new();
    for (t, txn) in txns.iter().enumerate() {
        let t = t as u32;
        let mut last_append: HashMap<u32, usize> = HashMap::new();
        for (j, m) in txn.mops.iter().enumerate() {
            if m.f == MopF::Append {
                last_append.insert(m.key, j);
            }
        }
        for (j, m) in txn.mops.iter().enumerate() {
            if m.f != MopF::Append {
                continue;
            }
            let w = Writer {
                txn: t,
                mop: j,
                last: last_append.get(&m.key) == Some(&j),
                status: txn.status,
            };
            match writer.entry((m.key, &m.value)) {
                std::collections::hash_map::Entry::Occupied(e) => {
                    if e.get().txn != t || e.get().mop != j {
                        a.notes.push(format!(
                            "element {} appended to {} more than once (ops at lines {} and {}); reads of it are attributed to the first",
                            m.value,
                            ctx.keys.name(m.key),
                            ctx.ops[txns[e.get().txn as usize].op].line,
                            ctx.ops[txn.op].line
                        ));
                    }
                }
                std::collections::hash_map::Entry::Vacant(e) => {
                    e.insert(w);
                }
            }
            if txn.status == Status::Ok {
                appends_by_key.entry(m.key).or_default().push((t, &m.value));
            }
        }
    }

    // Per-transaction checks and external reads.
    let mut ext_reads: Vec<ExtRead<'_>> = Vec::new();
    let mut reads_by_key: HashMap<u32, Vec<(u32, Vec<&Value>)>> = HashMap::new();
    for (t, txn) in txns.iter().enumerate() {
        if txn.status != Status::Ok {
            continue;
        }
        let t = t as u32;
        // Per key: the list last read (if any) and the elements appended since.
        let mut state: HashMap<u32, (Option<&[Value]>, Vec<&Value>)> = HashMap::new();
        for (j, m) in txn.mops.iter().enumerate() {
            let key = ctx.keys.name(m.key);
            match m.f {
                MopF::Append | MopF::Write => {
                    state.entry(m.key).or_default().1.push(&m.value);
                }
                MopF::Read => {
                    let list = list_of(&m.value);
                    let st = state.entry(m.key).or_default();
                    let external = st.0.is_none() && st.1.is_empty();
                    let consistent = match st.0 {
                        Some(base) => {
                            list.len() == base.len() + st.1.len()
                                && list[..base.len()] == *base
                                && list[base.len()..].iter().zip(&st.1).all(|(x, y)| x == *y)
                        }
                        None => {
                            list.len() >= st.1.len()
                                && list[list.len() - st.1.len()..]
                                    .iter()
                                    .zip(&st.1)
                                    .all(|(x, y)| x == *y)
                        }
                    };
                    if !consistent {
                        let expected = match st.0 {
                            Some(base) => format!(
                                "{}",
                                Value::Vector(
                                    base.iter().chain(st.1.iter().copied()).cloned().collect()
                                )
                            ),
                            None => format!(
                                "a list ending in {}",
                                Value::Vector(st.1.iter().map(|v| (*v).clone()).collect())
                            ),
                        };
                        a.found(
                            AnomalyType::Internal,
                            vec![t],
                            format!("read of {key} returned {} but the transaction's own earlier operations imply {expected}", m.value),
                        );
                    }
                    *st = (Some(list), Vec::new());

                    let mut seen = HashSet::with_capacity(list.len());
                    let mut dedup = Vec::with_capacity(list.len());
                    let mut dup = None;
                    for e in list {
                        if seen.insert(e) {
                            dedup.push(e);
                        } else if dup.is_none() {
                            dup = Some(e);
                        }
                    }
                    if let Some(e) = dup {
                        a.found(
                            AnomalyType::DuplicateElements,
                            vec![t],
                            format!(
                                "read of {key} returned {} in which {e} appears more than once",
                                m.value
                            ),
                        );
                    }
                    let mut g1a = None;
                    let mut garbage = None;
                    let mut future = None;
                    for e in &dedup {
                        match writer.get(&(m.key, *e)) {
                            None => garbage = garbage.or(Some(*e)),
                            Some(w) if w.status == Status::Fail => g1a = g1a.or(Some((*e, w.txn))),
                            Some(w) if w.txn == t && w.mop > j => future = future.or(Some(*e)),
                            _ => {}
                        }
                    }
                    if let Some((e, w)) = g1a {
                        a.found(
                            AnomalyType::G1a,
                            vec![t, w],
                            format!("read of {key} returned {} whose element {e} was appended by a failed transaction", m.value),
                        );
                    }
                    if let Some(e) = garbage.filter(|_| ctx.opts.garbage_reads) {
                        a.found(
                            AnomalyType::GarbageRead,
                            vec![t],
                            format!(
                                "read of {key} returned {} but no operation appended {e} to {key}",
                                m.value
                            ),
                        );
                    }
                    if let Some(e) = future {
                        a.found(
                            AnomalyType::FutureRead,
                            vec![t],
                            format!("read of {key} returned {} including {e}, which the transaction appends only later", m.value),
                        );
                    }
                    if external {
                        ext_reads.push(ExtRead {
                            txn: t,
                            key: m.key,
                            elems: dedup.clone(),
                        });
                    }
                    reads_by_key.entry(m.key).or_default().push((t, dedup));
                }
            }
        }
    }

    // Version order per key: the longest read; all others must be prefixes of it.
    let mut orders: HashMap<u32, Vec<&Value>> = HashMap::new();
    for (&key, reads) in &reads_by_key {
        let Some((lt, longest)) = reads.iter().max_by_key(|(_, r)| r.len()) else {
            continue;
        };
        if let Some((bt, bad)) = reads.iter().find(|(_, r)| r[..] != longest[..r.len()]) {
            a.found(
                AnomalyType::IncompatibleOrder,
                vec![*bt, *lt],
                format!(
                    "reads of {} returned {} and {}, which are not prefixes of one another",
                    ctx.keys.name(key),
                    Value::Vector(bad.iter().map(|v| (*v).clone()).collect()),
                    Value::Vector(longest.iter().map(|v| (*v).clone()).collect()),
                ),
            );
        }
        orders.insert(key, longest.clone());
    }

    // ww edges along each order; dirty updates; unobserved committed appends.
    let mut unobserved: HashMap<u32, Vec<u32>> = HashMap::new();
    for (&key, order) in &orders {
        let mut prev: Option<Writer> = None;
        let mut failed: Option<Writer> = None;
        let mut dirty_reported = false;
        for e in order {
            let Some(&w) = writer.get(&(key, *e)) else {
                continue;
            };
            if w.status == Status::Fail {
                failed = failed.or(Some(w));
                continue;
            }
            if let Some(f) = failed.filter(|_| w.status == Status::Ok && !dirty_reported) {
                dirty_reported = true;
                a.found(
                    AnomalyType::DirtyUpdate,
                    vec![f.txn, w.txn],
                    format!(
                        "on {}, the committed append of {e} follows an append by a failed transaction",
                        ctx.keys.name(key)
                    ),
                );
            }
            if let Some(p) = prev {
                a.edges.add(p.txn, w.txn, EdgeKind::Ww, key);
            }
            prev = Some(w);
        }
        let in_order: HashSet<&Value> = order.iter().copied().collect();
        let mut missing: Vec<u32> = appends_by_key
            .get(&key)
            .into_iter()
            .flatten()
            .filter(|(_, e)| !in_order.contains(e))
            .map(|&(t, _)| t)
            .collect();
        missing.dedup();
        if let Some(p) = prev {
            for &w in &missing {
                a.edges.add(p.txn, w, EdgeKind::Ww, key);
            }
        }
        unobserved.insert(key, missing);
    }
    // Keys appended to but never read: their committed appends are all unobserved.
    for (&key, apps) in &appends_by_key {
        unobserved.entry(key).or_insert_with(|| {
            let mut v: Vec<u32> = apps.iter().map(|&(t, _)| t).collect();
            v.dedup();
            v
        });
    }

    // Transactions that read a version and then appended to the key: their appends follow it.
    let appends_key = |t: u32, key: u32| {
        txns[t as usize]
            .mops
            .iter()
            .any(|m| m.f == MopF::Append && m.key == key)
    };
    let mut read_then_append: HashMap<(u32, usize, Option<&Value>), Vec<u32>> = HashMap::new();
    for r in &ext_reads {
        if appends_key(r.txn, r.key) {
            read_then_append
                .entry((r.key, r.elems.len(), r.elems.last().copied()))
                .or_default()
                .push(r.txn);
        }
    }
    for ((key, _, last), group) in &read_then_append {
        if group.len() > 1 {
            let version = last.map_or_else(
                || "the empty list".to_string(),
                |e| format!("the version ending in {e}"),
            );
            a.found(
                AnomalyType::LostUpdate,
                group.clone(),
                format!(
                    "{} committed transactions read {version} of {} and each appended to it",
                    group.len(),
                    ctx.keys.name(*key)
                ),
            );
        }
    }

    // wr and rw edges from external reads; G1b.
    let empty = Vec::new();
    for r in &ext_reads {
        let order = orders.get(&r.key).unwrap_or(&empty);
        let m = r.elems.len();
        if let Some(&last) = r.elems.last()
            && let Some(w) = writer.get(&(r.key, last))
            && w.txn != r.txn
            && w.status != Status::Fail
        {
            a.edges.add(w.txn, r.txn, EdgeKind::Wr, r.key);
            if !w.last {
                a.found(
                    AnomalyType::G1b,
                    vec![r.txn, w.txn],
                    format!(
                        "read of {} ends in {last}, an intermediate state of a transaction that appended more to {} afterwards",
                        ctx.keys.name(r.key),
                        ctx.keys.name(r.key)
                    ),
                );
            }
        }
        let compatible = m <= order.len() && (m == 0 || order[m - 1] == r.elems[m - 1]);
        if compatible {
            if m < order.len() {
                if let Some(w) = writer
                    .get(&(r.key, order[m]))
                    .filter(|w| w.status != Status::Fail)
                {
                    a.edges.add(r.txn, w.txn, EdgeKind::Rw, r.key);
                }
            } else if let Some(missing) = unobserved.get(&r.key) {
                for &w in missing {
                    a.edges.add(r.txn, w, EdgeKind::Rw, r.key);
                }
            }
        }
        if let Some(group) = read_then_append.get(&(r.key, m, r.elems.last().copied())) {
            for &w in group {
                a.edges.add(r.txn, w, EdgeKind::Rw, r.key);
            }
        }
    }
    a
}
