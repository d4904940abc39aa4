//! The executor: pull-based iterators over plan nodes.
//!
//! ```text
//!   Limit            each node pulls rows from its children on demand, so a scan, filter
//!     Sort           or LIMIT never loads a table; nodes that must buffer (sort, hash join
//!       HashJoin     build side, aggregate, distinct, set operations, nested-loop inner
//!         Scan t1    side) charge their rows to a per-statement [`MemoryBudget`] and fail
//!         Scan t2    with SQLSTATE 53200 past it.
//! ```
//!
//! Every row a scan, a VALUES list or a join's inner loop produces first passes the statement's
//! [`Interrupt::check`], so a cancelled or timed-out statement stops within a few hundred rows of
//! work whatever the plan (sorts, aggregates and set operations consume their input through
//! those same loops).

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet};
use std::ops::Bound;
use std::rc::Rc;

use chronos_kv::Direction;
use chronos_kv::mvcc::Transaction;

use crate::cancel::{Interrupt, StatementLimits};
use crate::catalog::TableDef;
use crate::encoding;
use crate::error::{Error, Result};
use crate::expr::{Expr, SubqueryRunner, compare};
use crate::plan::{Access, AggCall, AggFunc, JoinKind, KeyRange, Plan, SetOpKind, SortKey};
use crate::sql_error;
use crate::value::{Row, Value};

/// Bytes of buffered rows one statement may hold.
pub const DEFAULT_MEMORY_LIMIT_BYTES: usize = 256 << 20;

/// Memory accounting for buffering operators.
#[derive(Debug)]
pub struct MemoryBudget {
    limit: usize,
    used: Cell<usize>,
}

impl MemoryBudget {
    pub fn new(limit: usize) -> Self {
        MemoryBudget {
            limit,
            used: Cell::new(0),
        }
    }

    fn charge(&self, row: &Row) -> Result<()> {
        let bytes: usize = row
            .iter()
            .map(|v| 32 + if let Value::Text(s) = v { s.len() } else { 0 })
            .sum();
        let used = self.used.get() + bytes;
        if used > self.limit {
            return Err(sql_error!(
                OutOfMemory,
                "query needs more than {} MiB of memory for sorting, joining or grouping",
                self.limit >> 20
            ));
        }
        self.used.set(used);
        Ok(())
    }
}

/// A hashable, equality-preserving form of a value (1 and 1.0 hash alike).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum HashKey {
    Null,
    Bool(bool),
    Int(i64),
    Float(u64),
    Text(String),
    /// Dates and timestamps of either kind, on one time line (they compare across kinds).
    Instant(i128),
}

fn hash_key(v: &Value) -> HashKey {
    match v {
        Value::Null => HashKey::Null,
        Value::Boolean(b) => HashKey::Bool(*b),
        Value::Integer(i) => HashKey::Int(*i),
        Value::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => HashKey::Int(*f as i64),
        Value::Float(f) if f.is_nan() => HashKey::Float(f64::NAN.to_bits()),
        Value::Float(f) => HashKey::Float(f.to_bits()),
        Value::Text(s) => HashKey::Text(s.clone()),
        Value::Char(s) => HashKey::Text(crate::bpchar::significant(s).to_string()),
        Value::Timestamp(_) | Value::TimestampTz(_) | Value::Date(_) => {
            HashKey::Instant(crate::datetime::instant(v).unwrap_or_default())
        }
    }
}

fn row_key(row: &[Value]) -> Vec<HashKey> {
    row.iter().map(hash_key).collect()
}

pub type Rows<'a> = Box<dyn Iterator<Item = Result<Row>> + 'a>;

/// Rows with their primary-key values.
pub type KeyedRows<'a> = Box<dyn Iterator<Item = Result<(Row, Vec<Value>)>> + 'a>;

/// Runs plans inside one transaction.
pub struct Executor<'a> {
    txn: &'a Transaction,
    budget: MemoryBudget,
    interrupt: &'a Interrupt,
    /// Results of uncorrelated subqueries, by plan address (each runs once per statement).
    cache: RefCell<HashMap<usize, Rc<Vec<Row>>>>,
}

impl std::fmt::Debug for Executor<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Executor").finish()
    }
}

/// Replaces references to the query `level` levels out with values from `outer`.
fn bind_outer(plan: &Plan, outer: &Row, level: usize) -> Plan {
    plan.clone().map_exprs(&mut |e| {
        e.transform(&mut |x| match x {
            Expr::Outer { depth, index } if depth == level => outer
                .get(index)
                .cloned()
                .map_or(Expr::Literal(Value::Null), Expr::Literal),
            Expr::Outer { depth, index } if depth > level => Expr::Outer {
                depth: depth - 1,
                index,
            },
            Expr::Subquery {
                plan,
                kind,
                negated,
            } => Expr::Subquery {
                plan: Box::new(bind_outer(&plan, outer, level + 1)),
                kind,
                negated,
            },
            x => x,
        })
    })
}

impl SubqueryRunner for Executor<'_> {
    fn run(&self, plan: &Plan, outer: &Row) -> Result<Vec<Row>> {
        if !plan.is_correlated() {
            let key = plan as *const Plan as usize;
            if let Some(rows) = self.cache.borrow().get(&key) {
                return Ok(rows.as_ref().clone());
            }
            let rows: Vec<Row> = self.rows(plan)?.collect::<Result<_>>()?;
            self.cache.borrow_mut().insert(key, Rc::new(rows.clone()));
            return Ok(rows);
        }
        let bound = bind_outer(plan, outer, 1);
        self.rows(&bound)?.collect()
    }
}

fn key_bounds(
    prefix: Vec<u8>,
    range: &Option<KeyRange>,
    encode: impl Fn(&Value) -> Vec<u8>,
) -> (Bound<Vec<u8>>, Bound<Vec<u8>>) {
    let after =
        |k: Vec<u8>| chronos_kv::prefix_successor(&k).map_or(Bound::Unbounded, Bound::Excluded);
    let lower_default = Bound::Included(prefix.clone());
    let upper_default = after(prefix.clone());
    let Some(range) = range else {
        return (lower_default, upper_default);
    };
    let with = |v: &Value| {
        let mut k = prefix.clone();
        k.extend(encode(v));
        k
    };
    let lower = match &range.lower {
        None => lower_default,
        Some((v, true)) => Bound::Included(with(v)),
        Some((v, false)) => match after(with(v)) {
            Bound::Excluded(k) => Bound::Included(k),
            other => other,
        },
    };
    let upper = match &range.upper {
        None => upper_default,
        Some((v, true)) => after(with(v)),
        Some((v, false)) => Bound::Excluded(with(v)),
    };
    (lower, upper)
}

fn encode_one(v: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    encoding::to_key(v).encode(&mut out);
    out
}

impl<'a> Executor<'a> {
    pub fn new(txn: &'a Transaction, limits: &'a StatementLimits) -> Self {
        Executor {
            txn,
            budget: MemoryBudget::new(limits.memory_limit_bytes),
            interrupt: &limits.interrupt,
            cache: RefCell::new(HashMap::new()),
        }
    }

    /// Rows of a table matching an access path (before any filter), with their primary-key
    /// values (the hidden row id for keyless tables).
    pub fn scan_with_keys(
        &'a self,
        table: &'a TableDef,
        access: &'a Access,
    ) -> Result<KeyedRows<'a>> {
        match access {
            Access::Full => {
                let prefix = encoding::index_prefix(table.id, crate::catalog::PRIMARY_INDEX_ID);
                let it = self.txn.scan_prefix(&prefix, Direction::Forward)?;
                Ok(Box::new(it.map(move |e| {
                    self.interrupt.check()?;
                    let (k, v) = e?;
                    encoding::decode_row(table, &k, &v)
                })))
            }
            Access::PrimaryKey { eq, range } => {
                let (lo, hi) = key_bounds(encoding::row_key_prefix(table, eq), range, encode_one);
                let it = self.txn.scan(
                    lo.as_ref().map(Vec::as_slice),
                    hi.as_ref().map(Vec::as_slice),
                    Direction::Forward,
                )?;
                Ok(Box::new(it.map(move |e| {
                    self.interrupt.check()?;
                    let (k, v) = e?;
                    encoding::decode_row(table, &k, &v)
                })))
            }
            Access::Index { index, eq, range } => {
                let (lo, hi) = key_bounds(
                    encoding::index_key_prefix(table, index, eq),
                    range,
                    encode_one,
                );
                let it = self.txn.scan(
                    lo.as_ref().map(Vec::as_slice),
                    hi.as_ref().map(Vec::as_slice),
                    Direction::Forward,
                )?;
                let txn = self.txn;
                Ok(Box::new(it.map(move |e| {
                    self.interrupt.check()?;
                    let (k, v) = e?;
                    let pk = encoding::decode_index_entry(table, index, &k, &v)?;
                    let key = encoding::row_key(table, &pk);
                    match txn.get(&key)? {
                        Some(value) => encoding::decode_row(table, &key, &value),
                        None => Err(Error::new(
                            crate::SqlState::DataCorrupted,
                            format!("index {} points at a missing row", index.name),
                        )),
                    }
                })))
            }
        }
    }

    fn scan(&'a self, table: &'a TableDef, access: &'a Access) -> Result<Rows<'a>> {
        Ok(Box::new(
            self.scan_with_keys(table, access)?
                .map(|r| r.map(|(row, _)| row)),
        ))
    }

    /// A pull-based iterator over the rows of `plan`.
    pub fn rows(&'a self, plan: &'a Plan) -> Result<Rows<'a>> {
        // Building recurses once per plan level (bounded by `depth`'s nesting limit).
        crate::depth::guard(|| self.rows_here(plan))
    }

    fn rows_here(&'a self, plan: &'a Plan) -> Result<Rows<'a>> {
        Ok(match plan {
            Plan::Scan {
                table,
                access,
                filter,
                ..
            } => {
                let rows = self.scan(table, access)?;
                match filter {
                    None => rows,
                    Some(f) => Box::new(rows.filter_map(move |r| match r {
                        Ok(row) => match f.matches(&row, self) {
                            Ok(true) => Some(Ok(row)),
                            Ok(false) => None,
                            Err(e) => Some(Err(e)),
                        },
                        Err(e) => Some(Err(e)),
                    })),
                }
            }
            Plan::Values { rows, .. } => Box::new(rows.iter().map(move |r| {
                self.interrupt.check()?;
                r.iter().map(|e| e.eval(&Vec::new(), self)).collect()
            })),
            Plan::Filter { input, predicate } => {
                Box::new(self.rows(input)?.filter_map(move |r| match r {
                    Ok(row) => match predicate.matches(&row, self) {
                        Ok(true) => Some(Ok(row)),
                        Ok(false) => None,
                        Err(e) => Some(Err(e)),
                    },
                    Err(e) => Some(Err(e)),
                }))
            }
            Plan::Project { input, exprs } => Box::new(self.rows(input)?.map(move |r| {
                r.and_then(|row| exprs.iter().map(|e| e.eval(&row, self)).collect())
            })),
            Plan::Limit {
                input,
                limit,
                offset,
            } => {
                let rows = self.rows(input)?.skip(*offset as usize);
                match limit {
                    Some(n) => Box::new(rows.take(*n as usize)),
                    None => Box::new(rows),
                }
            }
            Plan::Distinct { input } => {
                let mut seen = HashSet::new();
                Box::new(self.rows(input)?.filter_map(move |r| match r {
                    Ok(row) => {
                        if seen.insert(row_key(&row)) {
                            if let Err(e) = self.budget.charge(&row) {
                                return Some(Err(e));
                            }
                            Some(Ok(row))
                        } else {
                            None
                        }
                    }
                    Err(e) => Some(Err(e)),
                }))
            }
            Plan::Sort { input, keys } => Box::new(self.sort(input, keys)?.into_iter().map(Ok)),
            Plan::Aggregate {
                input,
                group_by,
                aggregates,
            } => Box::new(
                self.aggregate(input, group_by, aggregates)?
                    .into_iter()
                    .map(Ok),
            ),
            Plan::NestedLoopJoin {
                left,
                right,
                kind,
                on,
            } => self.join(left, right, *kind, None, on.as_ref())?,
            Plan::HashJoin {
                left,
                right,
                kind,
                left_keys,
                right_keys,
                residual,
            } => self.join(
                left,
                right,
                *kind,
                Some((left_keys, right_keys)),
                residual.as_ref(),
            )?,
            Plan::SetOp {
                kind,
                all,
                left,
                right,
            } => self.set_op(*kind, *all, left, right)?,
        })
    }

    fn collect(&'a self, plan: &'a Plan) -> Result<Vec<Row>> {
        let mut out = Vec::new();
        for r in self.rows(plan)? {
            let row = r?;
            self.budget.charge(&row)?;
            out.push(row);
        }
        Ok(out)
    }

    fn sort(&'a self, input: &'a Plan, keys: &'a [SortKey]) -> Result<Vec<Row>> {
        let mut keyed = Vec::new();
        for r in self.rows(input)? {
            let row = r?;
            self.budget.charge(&row)?;
            let k: Vec<Value> = keys
                .iter()
                .map(|k| k.expr.eval(&row, self))
                .collect::<Result<_>>()?;
            keyed.push((k, row));
        }
        keyed.sort_by(|(a, _), (b, _)| {
            for ((x, y), key) in a.iter().zip(b).zip(keys) {
                let o = match (x.is_null(), y.is_null()) {
                    (true, true) => std::cmp::Ordering::Equal,
                    (true, false) => {
                        if key.nulls_first {
                            std::cmp::Ordering::Less
                        } else {
                            std::cmp::Ordering::Greater
                        }
                    }
                    (false, true) => {
                        if key.nulls_first {
                            std::cmp::Ordering::Greater
                        } else {
                            std::cmp::Ordering::Less
                        }
                    }
                    (false, false) => {
                        let o = compare(x, y).unwrap_or_else(|_| x.total_cmp(y));
                        if key.descending { o.reverse() } else { o }
                    }
                };
                if o != std::cmp::Ordering::Equal {
                    return o;
                }
            }
            std::cmp::Ordering::Equal
        });
        Ok(keyed.into_iter().map(|(_, r)| r).collect())
    }

    fn aggregate(
        &'a self,
        input: &'a Plan,
        group_by: &'a [Expr],
        aggregates: &'a [AggCall],
    ) -> Result<Vec<Row>> {
        let mut index: HashMap<Vec<HashKey>, usize> = HashMap::new();
        let mut groups: Vec<(Row, Vec<Accumulator>)> = Vec::new();
        for r in self.rows(input)? {
            let row = r?;
            let g: Row = group_by
                .iter()
                .map(|e| e.eval(&row, self))
                .collect::<Result<_>>()?;
            let k = row_key(&g);
            let i = match index.get(&k) {
                Some(&i) => i,
                None => {
                    self.budget.charge(&g)?;
                    groups.push((g, aggregates.iter().map(Accumulator::new).collect()));
                    index.insert(k, groups.len() - 1);
                    groups.len() - 1
                }
            };
            for (acc, call) in groups[i].1.iter_mut().zip(aggregates) {
                let v = match &call.arg {
                    Some(e) => Some(e.eval(&row, self)?),
                    None => None,
                };
                acc.add(v, &self.budget)?;
            }
        }
        if groups.is_empty() && group_by.is_empty() {
            groups.push((
                Vec::new(),
                aggregates.iter().map(Accumulator::new).collect(),
            ));
        }
        groups
            .into_iter()
            .map(|(mut g, accs)| {
                for a in accs {
                    g.push(a.finish()?);
                }
                Ok(g)
            })
            .collect()
    }

    fn join(
        &'a self,
        left: &'a Plan,
        right: &'a Plan,
        kind: JoinKind,
        keys: Option<(&'a Vec<Expr>, &'a Vec<Expr>)>,
        residual: Option<&'a Expr>,
    ) -> Result<Rows<'a>> {
        let right_rows = self.collect(right)?;
        let right_width = right.width();
        let left_width = left.width();
        // Hash table on the right side's keys (NULL keys never match).
        let table: Option<HashMap<Vec<HashKey>, Vec<usize>>> = match keys {
            None => None,
            Some((_, rk)) => {
                let mut t: HashMap<Vec<HashKey>, Vec<usize>> = HashMap::new();
                for (i, row) in right_rows.iter().enumerate() {
                    let k: Row = rk
                        .iter()
                        .map(|e| e.eval(row, self))
                        .collect::<Result<_>>()?;
                    if k.iter().any(Value::is_null) {
                        continue;
                    }
                    t.entry(row_key(&k)).or_default().push(i);
                }
                Some(t)
            }
        };
        let mut matched = vec![false; right_rows.len()];
        let emit_unmatched_left = matches!(kind, JoinKind::Left | JoinKind::Full);
        let mut left_iter = self.rows(left)?;
        let state = Rc::new(RefCell::new((right_rows, table)));
        let st = state.clone();
        let mut pending: std::collections::VecDeque<Row> = std::collections::VecDeque::new();
        let mut done_left = false;
        let unmatched_right = matches!(kind, JoinKind::Right | JoinKind::Full);
        let iter = std::iter::from_fn(move || {
            loop {
                if let Some(r) = pending.pop_front() {
                    return Some(Ok(r));
                }
                if done_left {
                    return None;
                }
                match left_iter.next() {
                    Some(Ok(lrow)) => {
                        let guard = st.borrow();
                        let (rights, table) = &*guard;
                        let candidates: Vec<usize> = match (table, keys) {
                            (Some(t), Some((lk, _))) => {
                                let k: Row = match lk
                                    .iter()
                                    .map(|e| e.eval(&lrow, self))
                                    .collect::<Result<_>>()
                                {
                                    Ok(k) => k,
                                    Err(e) => return Some(Err(e)),
                                };
                                if k.iter().any(Value::is_null) {
                                    Vec::new()
                                } else {
                                    t.get(&row_key(&k)).cloned().unwrap_or_default()
                                }
                            }
                            _ => (0..rights.len()).collect(),
                        };
                        let mut any = false;
                        for i in candidates {
                            // A cross join's inner loop produces no row per left row until
                            // the residual passes: check here, not only at the scans.
                            if let Err(e) = self.interrupt.check() {
                                return Some(Err(e));
                            }
                            let mut combined = lrow.clone();
                            combined.extend(rights[i].iter().cloned());
                            let ok = match residual {
                                None => true,
                                Some(p) => match p.matches(&combined, self) {
                                    Ok(b) => b,
                                    Err(e) => return Some(Err(e)),
                                },
                            };
                            if ok {
                                any = true;
                                matched[i] = true;
                                pending.push_back(combined);
                            }
                        }
                        if !any && emit_unmatched_left {
                            let mut combined = lrow;
                            combined.extend(std::iter::repeat_n(Value::Null, right_width));
                            pending.push_back(combined);
                        }
                    }
                    Some(Err(e)) => return Some(Err(e)),
                    None => {
                        done_left = true;
                        if unmatched_right {
                            let guard = st.borrow();
                            for (i, r) in guard.0.iter().enumerate() {
                                if !matched[i] {
                                    let mut combined: Row =
                                        std::iter::repeat_n(Value::Null, left_width).collect();
                                    combined.extend(r.iter().cloned());
                                    pending.push_back(combined);
                                }
                            }
                        }
                    }
                }
            }
        });
        drop(state);
        Ok(Box::new(iter))
    }

    fn set_op(
        &'a self,
        kind: SetOpKind,
        all: bool,
        left: &'a Plan,
        right: &'a Plan,
    ) -> Result<Rows<'a>> {
        match kind {
            SetOpKind::Union => {
                let chained = self.rows(left)?.chain(self.rows(right)?);
                if all {
                    return Ok(Box::new(chained));
                }
                let mut seen = HashSet::new();
                Ok(Box::new(chained.filter_map(move |r| match r {
                    Ok(row) => seen.insert(row_key(&row)).then_some(Ok(row)),
                    Err(e) => Some(Err(e)),
                })))
            }
            SetOpKind::Intersect | SetOpKind::Except => {
                let mut counts: HashMap<Vec<HashKey>, usize> = HashMap::new();
                for r in self.collect(right)? {
                    *counts.entry(row_key(&r)).or_default() += 1;
                }
                let mut emitted: HashSet<Vec<HashKey>> = HashSet::new();
                let intersect = kind == SetOpKind::Intersect;
                Ok(Box::new(self.rows(left)?.filter_map(move |r| match r {
                    Ok(row) => {
                        let k = row_key(&row);
                        let keep = if all {
                            match counts.get_mut(&k) {
                                Some(n) if *n > 0 => {
                                    *n -= 1;
                                    intersect
                                }
                                _ => !intersect,
                            }
                        } else {
                            let present = counts.contains_key(&k);
                            present == intersect && emitted.insert(k)
                        };
                        keep.then_some(Ok(row))
                    }
                    Err(e) => Some(Err(e)),
                })))
            }
        }
    }
}

fn keep_extreme(current: &mut Option<Value>, v: Option<Value>, min: bool) -> Result<()> {
    if let Some(v) = v.filter(|v| !v.is_null()) {
        let replace = match current.as_ref() {
            None => true,
            Some(cur) => {
                let o = compare(&v, cur)?;
                if min { o.is_lt() } else { o.is_gt() }
            }
        };
        if replace {
            *current = Some(v);
        }
    }
    Ok(())
}

/// The running state of one aggregate over one group.
#[derive(Debug)]
enum Accumulator {
    Count {
        n: i64,
        distinct: Option<HashSet<HashKey>>,
        star: bool,
    },
    Sum {
        sum: Option<Value>,
        distinct: Option<HashSet<HashKey>>,
    },
    Avg {
        sum: f64,
        n: u64,
        distinct: Option<HashSet<HashKey>>,
    },
    Min(Option<Value>),
    Max(Option<Value>),
}

impl Accumulator {
    fn new(call: &AggCall) -> Accumulator {
        let distinct = call.distinct.then(HashSet::new);
        match call.func {
            AggFunc::Count => Accumulator::Count {
                n: 0,
                distinct,
                star: call.arg.is_none(),
            },
            AggFunc::Sum => Accumulator::Sum {
                sum: None,
                distinct,
            },
            AggFunc::Avg => Accumulator::Avg {
                sum: 0.0,
                n: 0,
                distinct,
            },
            AggFunc::Min => Accumulator::Min(None),
            AggFunc::Max => Accumulator::Max(None),
        }
    }

    fn add(&mut self, v: Option<Value>, budget: &MemoryBudget) -> Result<()> {
        let fresh = |d: &mut Option<HashSet<HashKey>>, v: &Value| -> Result<bool> {
            match d {
                None => Ok(true),
                Some(set) => {
                    let new = set.insert(hash_key(v));
                    if new {
                        budget.charge(&vec![v.clone()])?;
                    }
                    Ok(new)
                }
            }
        };
        match self {
            Accumulator::Count { n, distinct, star } => {
                if *star {
                    *n += 1;
                } else if let Some(v) = v.filter(|v| !v.is_null())
                    && fresh(distinct, &v)?
                {
                    *n += 1;
                }
            }
            Accumulator::Sum { sum, distinct } => {
                if let Some(v) = v.filter(|v| !v.is_null())
                    && fresh(distinct, &v)?
                {
                    *sum = Some(match sum.take() {
                        None => crate::expr::cast(
                            v.clone(),
                            v.data_type().unwrap_or(crate::DataType::Float),
                        )?,
                        Some(s) => Expr::Binary(
                            crate::expr::BinOp::Add,
                            Box::new(Expr::Literal(s)),
                            Box::new(Expr::Literal(v)),
                        )
                        .eval(&Vec::new(), &crate::expr::NoSubqueries)?,
                    });
                }
            }
            Accumulator::Avg { sum, n, distinct } => {
                if let Some(v) = v.filter(|v| !v.is_null())
                    && fresh(distinct, &v)?
                {
                    *sum += match crate::expr::cast(v, crate::DataType::Float)? {
                        Value::Float(f) => f,
                        _ => return Err(Error::internal("avg of a non-number")),
                    };
                    *n += 1;
                }
            }
            Accumulator::Min(m) => keep_extreme(m, v, true)?,
            Accumulator::Max(m) => keep_extreme(m, v, false)?,
        }
        Ok(())
    }

    fn finish(self) -> Result<Value> {
        Ok(match self {
            Accumulator::Count { n, .. } => Value::Integer(n),
            Accumulator::Sum { sum, .. } => sum.unwrap_or(Value::Null),
            Accumulator::Avg { sum, n, .. } => {
                if n == 0 {
                    Value::Null
                } else {
                    Value::Float(sum / n as f64)
                }
            }
            Accumulator::Min(m) | Accumulator::Max(m) => m.unwrap_or(Value::Null),
        })
    }
}
