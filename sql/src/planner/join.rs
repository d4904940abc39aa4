//! FROM and WHERE: relations, predicate pushdown, access paths and join order.
//!
//! WHERE is split into conjuncts. A conjunct over one base table moves into that table's scan
//! (where it can pick a primary-key or index range, see [`choose_access`]); an equality
//! between two sides becomes a hash-join key; other conjuncts run as soon as every table they
//! read is joined. Comma-separated tables are joined greedily: each next table is one that
//! shares an equality with those already joined, so chains of equi-joins never degrade into
//! cross products. Conjuncts with subqueries stay above the joins. The output keeps the FROM
//! clause's column order whatever order the joins ran in.

use std::collections::HashMap;
use std::sync::Arc;

use sqlparser::ast::{self, JoinConstraint, JoinOperator, TableFactor};

use super::scope::{Scope, ScopeColumn};
use super::{Planner, ident, object_name};
use crate::catalog::TableDef;
use crate::declared::{self, NameUse};
use crate::error::{Error, Result};
use crate::expr::{BinOp, Expr, cast};
use crate::plan::{Access, JoinKind, KeyRange, Plan};
use crate::sql_error;
use crate::value::{DataType, Value};

struct Relation {
    plan: Plan,
    scope: Scope,
    /// A base table whose scan can absorb predicates.
    table: Option<Arc<TableDef>>,
    /// Conjuncts over this relation alone (relation-local column numbers).
    local: Vec<Expr>,
}

fn split_conjuncts(e: Expr, out: &mut Vec<Expr>) {
    e.into_conjuncts(out);
}

fn conjoin(es: Vec<Expr>) -> Option<Expr> {
    Expr::conjunction(es)
}

fn remap(e: Expr, map: &dyn Fn(usize) -> usize) -> Expr {
    e.transform(&mut |x| match x {
        Expr::Column(i) => Expr::Column(map(i)),
        x => x,
    })
}

pub(super) fn plan_from(
    planner: &mut Planner<'_>,
    from: &[ast::TableWithJoins],
    selection: Option<&ast::Expr>,
) -> Result<(Plan, Scope)> {
    // Inner joins are flattened into the list of relations, their ON conditions joining the
    // WHERE conjuncts, so the optimiser treats `a JOIN b ON ..` like `a, b WHERE ..`; outer
    // joins stay whole (their ON conditions decide which rows are null-extended).
    let mut rels = Vec::new();
    let mut on_conjuncts = Vec::new();
    let mut prefix = Scope::default();
    for twj in from {
        let all_inner = twj.joins.iter().all(|j| {
            matches!(
                &j.join_operator,
                JoinOperator::Join(
                    JoinConstraint::On(_) | JoinConstraint::None | JoinConstraint::Using(_)
                ) | JoinOperator::Inner(
                    JoinConstraint::On(_) | JoinConstraint::None | JoinConstraint::Using(_)
                ) | JoinOperator::CrossJoin(_)
            )
        });
        if !all_inner {
            let rel = plan_table_with_joins(planner, twj)?;
            prefix = prefix.concat(&rel.scope);
            rels.push(rel);
            continue;
        }
        let first = plan_factor(planner, &twj.relation)?;
        prefix = prefix.concat(&first.scope);
        rels.push(first);
        for join in &twj.joins {
            let left = prefix.clone();
            let right = plan_factor(planner, &join.relation)?;
            prefix = prefix.concat(&right.scope);
            let constraint = match &join.join_operator {
                JoinOperator::Join(c) | JoinOperator::Inner(c) => Some(c),
                _ => None,
            };
            match constraint {
                Some(JoinConstraint::On(e)) => {
                    on_conjuncts.push(planner.bind_expr(e, &prefix)?.fold())
                }
                Some(JoinConstraint::Using(cols)) => {
                    on_conjuncts.extend(using_equalities(&left, &right.scope, cols)?);
                }
                _ => {}
            }
            rels.push(right);
        }
    }
    if rels.is_empty() {
        let plan = Plan::Values {
            rows: vec![Vec::new()],
            width: 0,
        };
        let scope = Scope::default();
        return match selection {
            None => Ok((plan, scope)),
            Some(w) => {
                let predicate = planner.bind_expr(w, &scope)?.fold();
                Ok((
                    Plan::Filter {
                        input: Box::new(plan),
                        predicate,
                    },
                    scope,
                ))
            }
        };
    }
    let mut scope = Scope::default();
    let mut offsets = Vec::new();
    for r in &rels {
        offsets.push(scope.len());
        scope = scope.concat(&r.scope);
    }
    let rel_of = |col: usize| offsets.iter().rposition(|&o| o <= col).unwrap_or(0);

    let mut conjuncts = Vec::new();
    for c in on_conjuncts {
        split_conjuncts(c, &mut conjuncts);
    }
    if let Some(w) = selection {
        let bound = planner.bind_expr(w, &scope)?.fold();
        split_conjuncts(bound, &mut conjuncts);
    }
    // (conjunct, relations it reads) for joins; the rest stays on top.
    let mut top = Vec::new();
    let mut multi: Vec<(Expr, Vec<usize>)> = Vec::new();
    for c in conjuncts {
        if c.has_subquery_or_outer() {
            top.push(c);
            continue;
        }
        let mut rs: Vec<usize> = c.columns().into_iter().map(rel_of).collect();
        rs.sort_unstable();
        rs.dedup();
        match rs.as_slice() {
            [] => top.push(c),
            [r] => {
                let off = offsets[*r];
                rels[*r].local.push(c.shift_columns(off));
            }
            _ => multi.push((c, rs)),
        }
    }

    // Scans absorb their conjuncts (choosing an access path); other relations get a filter.
    let mut plans: Vec<Option<Plan>> = Vec::new();
    for r in rels.iter_mut() {
        let local = std::mem::take(&mut r.local);
        let plan = std::mem::replace(
            &mut r.plan,
            Plan::Values {
                rows: Vec::new(),
                width: 0,
            },
        );
        let plan = match (plan, &r.table) {
            (Plan::Scan { table, alias, .. }, Some(_)) => {
                let access = choose_access(&table, &local);
                Plan::Scan {
                    table,
                    alias,
                    access,
                    filter: conjoin(local),
                }
            }
            (plan, _) => match conjoin(local) {
                Some(predicate) => Plan::Filter {
                    input: Box::new(plan),
                    predicate,
                },
                None => plan,
            },
        };
        plans.push(Some(plan));
    }

    // Greedy join order.
    let widths: Vec<usize> = rels.iter().map(|r| r.scope.len()).collect();
    let mut order = vec![0usize];
    let mut plan = plans[0]
        .take()
        .ok_or_else(|| Error::internal("relation planned twice"))?;
    while order.len() < rels.len() {
        let remaining: Vec<usize> = (0..rels.len()).filter(|r| !order.contains(r)).collect();
        let connected = |r: usize| {
            multi.iter().any(|(c, rs)| {
                rs.contains(&r) && rs.iter().all(|x| *x == r || order.contains(x)) && is_equi(c)
            })
        };
        let next = remaining
            .iter()
            .copied()
            .find(|&r| connected(r))
            .unwrap_or(remaining[0]);
        // Position of each original column in the joined row so far.
        let mut pos = HashMap::new();
        let mut at = 0;
        for &r in &order {
            for k in 0..widths[r] {
                pos.insert(offsets[r] + k, at + k);
            }
            at += widths[r];
        }
        let left_width = at;
        let next_off = offsets[next];
        let in_left = |e: &Expr| e.columns().iter().all(|c| pos.contains_key(c));
        let in_right = |e: &Expr| e.columns().iter().all(|c| rel_of(*c) == next);
        let (mut left_keys, mut right_keys, mut residual) = (Vec::new(), Vec::new(), Vec::new());
        let mut keep = Vec::new();
        for (c, rs) in multi.drain(..) {
            if !rs.iter().all(|x| *x == next || order.contains(x)) {
                keep.push((c, rs));
                continue;
            }
            let full = |e: Expr| {
                remap(e, &|i| {
                    if rel_of(i) == next {
                        left_width + i - next_off
                    } else {
                        pos[&i]
                    }
                })
            };
            match c {
                Expr::Binary(BinOp::Eq, a, b)
                    if !a.columns().is_empty() && !b.columns().is_empty() =>
                {
                    if in_left(&a) && in_right(&b) {
                        left_keys.push(remap(*a, &|i| pos[&i]));
                        right_keys.push(b.shift_columns(next_off));
                    } else if in_left(&b) && in_right(&a) {
                        left_keys.push(remap(*b, &|i| pos[&i]));
                        right_keys.push(a.shift_columns(next_off));
                    } else {
                        residual.push(full(Expr::Binary(BinOp::Eq, a, b)));
                    }
                }
                c => residual.push(full(c)),
            }
        }
        multi = keep;
        let right = plans[next]
            .take()
            .ok_or_else(|| Error::internal("relation planned twice"))?;
        plan = if left_keys.is_empty() {
            Plan::NestedLoopJoin {
                left: Box::new(plan),
                right: Box::new(right),
                kind: JoinKind::Inner,
                on: conjoin(residual),
            }
        } else {
            Plan::HashJoin {
                left: Box::new(plan),
                right: Box::new(right),
                kind: JoinKind::Inner,
                left_keys,
                right_keys,
                residual: conjoin(residual),
            }
        };
        order.push(next);
    }
    if order.iter().enumerate().any(|(i, r)| i != *r) {
        // Restore the FROM clause's column order.
        let mut pos = HashMap::new();
        let mut at = 0;
        for &r in &order {
            for k in 0..widths[r] {
                pos.insert(offsets[r] + k, at + k);
            }
            at += widths[r];
        }
        let exprs = (0..scope.len()).map(|i| Expr::Column(pos[&i])).collect();
        plan = Plan::Project {
            input: Box::new(plan),
            exprs,
        };
    }
    if let Some(predicate) = conjoin(top) {
        plan = Plan::Filter {
            input: Box::new(plan),
            predicate,
        };
    }
    Ok((plan, scope))
}

impl Planner<'_> {
    /// For UPDATE and DELETE: the access path and the whole WHERE (as a filter over the
    /// table's rows) for one table reachable as `alias`.
    pub fn plan_table_filter(
        &mut self,
        table: &TableDef,
        alias: &str,
        selection: Option<&ast::Expr>,
    ) -> Result<(Access, Option<Expr>, Scope)> {
        let scope = table_scope(table, alias);
        let Some(sel) = selection else {
            return Ok((Access::Full, None, scope));
        };
        let bound = self.bind_expr(sel, &scope)?.fold();
        let mut conjuncts = Vec::new();
        split_conjuncts(bound.clone(), &mut conjuncts);
        let plain: Vec<Expr> = conjuncts
            .into_iter()
            .filter(|c| !c.has_subquery_or_outer())
            .collect();
        Ok((choose_access(table, &plain), Some(bound), scope))
    }
}

/// The scope of a table's columns reachable as `alias`.
fn table_scope(table: &TableDef, alias: &str) -> Scope {
    Scope::new(
        table
            .columns
            .iter()
            .map(|c| ScopeColumn {
                table: Some(alias.to_string()),
                name: c.name.clone(),
                data_type: Some(c.data_type),
            })
            .collect(),
    )
}

/// `USING (cols)` as equalities between the left scope and the right one (placed after it).
fn using_equalities(left: &Scope, right: &Scope, cols: &[ast::ObjectName]) -> Result<Vec<Expr>> {
    let mut eqs = Vec::new();
    for c in cols {
        let name = object_name(c)?;
        let l = left.resolve(None, &name)?.ok_or_else(|| {
            sql_error!(
                UndefinedColumn,
                "column \"{name}\" specified in USING clause does not exist in left table"
            )
        })?;
        let r = right.resolve(None, &name)?.ok_or_else(|| {
            sql_error!(
                UndefinedColumn,
                "column \"{name}\" specified in USING clause does not exist in right table"
            )
        })?;
        eqs.push(Expr::Binary(
            BinOp::Eq,
            Box::new(Expr::Column(l)),
            Box::new(Expr::Column(left.len() + r)),
        ));
    }
    Ok(eqs)
}

fn is_equi(c: &Expr) -> bool {
    matches!(c, Expr::Binary(BinOp::Eq, a, b) if !a.columns().is_empty() && !b.columns().is_empty())
}

fn plan_table_with_joins(planner: &mut Planner<'_>, twj: &ast::TableWithJoins) -> Result<Relation> {
    let mut rel = plan_factor(planner, &twj.relation)?;
    for join in &twj.joins {
        let right = plan_factor(planner, &join.relation)?;
        let (kind, constraint) = match &join.join_operator {
            JoinOperator::Join(c) | JoinOperator::Inner(c) => (JoinKind::Inner, Some(c)),
            JoinOperator::Left(c) | JoinOperator::LeftOuter(c) => (JoinKind::Left, Some(c)),
            JoinOperator::Right(c) | JoinOperator::RightOuter(c) => (JoinKind::Right, Some(c)),
            JoinOperator::FullOuter(c) => (JoinKind::Full, Some(c)),
            JoinOperator::CrossJoin(_) => (JoinKind::Inner, None),
            other => {
                return Err(Error::unsupported(
                    format!("join {other:?}")
                        .chars()
                        .take(60)
                        .collect::<String>(),
                ));
            }
        };
        let scope = rel.scope.concat(&right.scope);
        let left_width = rel.scope.len();
        let on = match constraint {
            None | Some(JoinConstraint::None) => None,
            Some(JoinConstraint::On(e)) => Some(planner.bind_expr(e, &scope)?.fold()),
            Some(JoinConstraint::Using(cols)) => {
                conjoin(using_equalities(&rel.scope, &right.scope, cols)?)
            }
            Some(JoinConstraint::Natural) => return Err(Error::unsupported("NATURAL JOIN")),
            Some(other) => return Err(Error::unsupported(format!("join constraint {other:?}"))),
        };
        let plan = make_join(rel.plan, right.plan, kind, on, left_width);
        rel = Relation {
            plan,
            scope,
            table: None,
            local: Vec::new(),
        };
    }
    Ok(rel)
}

/// A join node: a hash join on the equalities between the two sides, if any.
fn make_join(left: Plan, right: Plan, kind: JoinKind, on: Option<Expr>, left_width: usize) -> Plan {
    let mut conjuncts = Vec::new();
    if let Some(e) = on {
        split_conjuncts(e, &mut conjuncts);
    }
    let (mut left_keys, mut right_keys, mut residual) = (Vec::new(), Vec::new(), Vec::new());
    for c in conjuncts {
        let side = |e: &Expr| {
            let cols = e.columns();
            if cols.is_empty() || e.has_subquery_or_outer() {
                None
            } else if cols.iter().all(|&i| i < left_width) {
                Some(true)
            } else if cols.iter().all(|&i| i >= left_width) {
                Some(false)
            } else {
                None
            }
        };
        match c {
            Expr::Binary(BinOp::Eq, a, b) => match (side(&a), side(&b)) {
                (Some(true), Some(false)) => {
                    left_keys.push(*a);
                    right_keys.push(b.shift_columns(left_width));
                }
                (Some(false), Some(true)) => {
                    left_keys.push(*b);
                    right_keys.push(a.shift_columns(left_width));
                }
                _ => residual.push(Expr::Binary(BinOp::Eq, a, b)),
            },
            c => residual.push(c),
        }
    }
    if left_keys.is_empty() {
        Plan::NestedLoopJoin {
            left: Box::new(left),
            right: Box::new(right),
            kind,
            on: conjoin(residual),
        }
    } else {
        Plan::HashJoin {
            left: Box::new(left),
            right: Box::new(right),
            kind,
            left_keys,
            right_keys,
            residual: conjoin(residual),
        }
    }
}

fn plan_factor(planner: &mut Planner<'_>, factor: &TableFactor) -> Result<Relation> {
    match factor {
        TableFactor::Table {
            name, alias, args, ..
        } => {
            if args.is_some() {
                return Err(Error::unsupported("table functions"));
            }
            if let Some(crate::system::Resolved::System(st)) =
                crate::system::resolve(&crate::system::name_parts(name)?)?
            {
                return system_relation(planner, st, alias.as_ref());
            }
            let table = Arc::new(planner.table(&declared::table_name(name, NameUse::Lookup)?)?);
            let alias_name = alias
                .as_ref()
                .map_or(table.name.clone(), |a| ident(&a.name));
            if alias.as_ref().is_some_and(|a| !a.columns.is_empty()) {
                return Err(Error::unsupported("column aliases on tables"));
            }
            let scope = table_scope(&table, &alias_name);
            Ok(Relation {
                plan: Plan::Scan {
                    table: table.clone(),
                    alias: alias_name,
                    access: Access::Full,
                    filter: None,
                },
                scope,
                table: Some(table),
                local: Vec::new(),
            })
        }
        TableFactor::Derived {
            lateral,
            subquery,
            alias,
            ..
        } => {
            if *lateral {
                return Err(Error::unsupported("LATERAL"));
            }
            let mut sub = Planner {
                txn: planner.txn,
                outer: planner.outer.clone(),
                agg: None,
                depth: planner.depth,
                params: planner.params.clone(),
                transaction_time: planner.transaction_time.clone(),
            };
            let (plan, out) = sub.plan_query(subquery)?;
            let alias_name = alias.as_ref().map(|a| ident(&a.name));
            let names: Vec<String> = match alias {
                Some(a) if !a.columns.is_empty() => {
                    a.columns.iter().map(|c| ident(&c.name)).collect()
                }
                _ => out.columns.iter().map(|c| c.name.clone()).collect(),
            };
            let scope = Scope::new(
                out.columns
                    .iter()
                    .zip(names)
                    .map(|(c, name)| ScopeColumn {
                        table: alias_name.clone(),
                        name,
                        data_type: c.data_type,
                    })
                    .collect(),
            );
            Ok(Relation {
                plan,
                scope,
                table: None,
                local: Vec::new(),
            })
        }
        TableFactor::NestedJoin {
            table_with_joins,
            alias,
        } => {
            if alias.is_some() {
                return Err(Error::unsupported("alias on a parenthesised join"));
            }
            plan_table_with_joins(planner, table_with_joins)
        }
        other => Err(Error::unsupported(format!("FROM item {other}"))),
    }
}

/// A system relation: its rows, computed now from the catalog the statement's transaction
/// sees, as a VALUES list.
fn system_relation(
    planner: &mut Planner<'_>,
    st: &crate::system::SystemTable,
    alias: Option<&ast::TableAlias>,
) -> Result<Relation> {
    if alias.is_some_and(|a| !a.columns.is_empty()) {
        return Err(Error::unsupported("column aliases on tables"));
    }
    let alias_name = alias.map_or(st.name.to_string(), |a| ident(&a.name));
    let rows: Vec<Vec<Expr>> = st
        .rows(planner.txn)?
        .into_iter()
        .map(|r| r.into_iter().map(Expr::Literal).collect())
        .collect();
    let scope = Scope::new(
        st.columns
            .iter()
            .map(|(name, ty)| ScopeColumn {
                table: Some(alias_name.clone()),
                name: (*name).to_string(),
                data_type: Some(*ty),
            })
            .collect(),
    );
    Ok(Relation {
        plan: Plan::Values {
            rows,
            width: st.columns.len(),
        },
        scope,
        table: None,
        local: Vec::new(),
    })
}

/// Whether a FROM clause is known to produce no rows without running it: it inner-joins a
/// system relation that is always empty (policies, publications, inheritance … which
/// Chronos does not have). Name lookups only; nothing is planned.
pub(super) fn from_is_always_empty(from: &[ast::TableWithJoins]) -> bool {
    fn factor(f: &TableFactor) -> bool {
        match f {
            TableFactor::Table {
                name, args: None, ..
            } => crate::system::name_parts(name)
                .ok()
                .and_then(|parts| crate::system::resolve(&parts).ok().flatten())
                .is_some_and(
                    |r| matches!(r, crate::system::Resolved::System(st) if st.is_always_empty()),
                ),
            TableFactor::NestedJoin {
                table_with_joins, ..
            } => with_joins(table_with_joins),
            _ => false,
        }
    }
    fn with_joins(twj: &ast::TableWithJoins) -> bool {
        let mut empty = factor(&twj.relation);
        for j in &twj.joins {
            let right = factor(&j.relation);
            empty = match &j.join_operator {
                JoinOperator::Join(_) | JoinOperator::Inner(_) | JoinOperator::CrossJoin(_) => {
                    empty || right
                }
                JoinOperator::Left(_) | JoinOperator::LeftOuter(_) => empty,
                JoinOperator::Right(_) | JoinOperator::RightOuter(_) => right,
                JoinOperator::FullOuter(_) => empty && right,
                _ => false,
            };
        }
        empty
    }
    from.iter().any(with_joins)
}

/// A literal usable as a key bound for a column of type `ty`, if the conversion is exact.
fn key_literal(v: &Value, ty: DataType) -> Option<Value> {
    match (v, ty) {
        (Value::Null, _) => None,
        (Value::Integer(_), DataType::Integer)
        | (Value::Float(_), DataType::Float)
        | (Value::Text(_), DataType::Text)
        | (Value::Boolean(_), DataType::Boolean) => Some(v.clone()),
        (Value::Integer(_), DataType::Float) => cast(v.clone(), DataType::Float).ok(),
        // A text literal compares with a CHAR or date/time column as a value of its type
        // (keys hold CHAR values without trailing blanks, so any padding finds the same key).
        (Value::Text(_) | Value::Char(_), DataType::Char)
        | (Value::Text(_), DataType::Timestamp | DataType::TimestampTz | DataType::Date)
        | (
            Value::Timestamp(_) | Value::TimestampTz(_),
            DataType::Timestamp | DataType::TimestampTz,
        )
        | (Value::Date(_), DataType::Date) => cast(v.clone(), ty).ok(),
        (Value::Float(f), DataType::Integer) if f.fract() == 0.0 && f.abs() < 9.0e15 => {
            Some(Value::Integer(*f as i64))
        }
        _ => None,
    }
}

/// `column op literal` conjuncts, normalised so the column is on the left.
fn column_bounds(conjuncts: &[Expr]) -> Vec<(usize, BinOp, Value)> {
    let mut out = Vec::new();
    for c in conjuncts {
        if let Expr::Binary(op, a, b) = c
            && op.is_comparison()
            && *op != BinOp::NotEq
        {
            match (a.as_ref(), b.as_ref()) {
                (Expr::Column(i), Expr::Literal(v)) => out.push((*i, *op, v.clone())),
                (Expr::Literal(v), Expr::Column(i)) => out.push((*i, op.flip(), v.clone())),
                _ => {}
            }
        }
    }
    out
}

/// Equalities on a prefix of `columns`, then a range on the next column.
fn key_prefix(
    table: &TableDef,
    columns: &[usize],
    bounds: &[(usize, BinOp, Value)],
) -> (Vec<Value>, Option<KeyRange>) {
    let mut eq = Vec::new();
    for &col in columns {
        let ty = table.columns[col].data_type;
        let found = bounds.iter().find_map(|(c, op, v)| {
            (*c == col && *op == BinOp::Eq)
                .then(|| key_literal(v, ty))
                .flatten()
        });
        match found {
            Some(v) => eq.push(v),
            None => {
                let mut range = KeyRange {
                    lower: None,
                    upper: None,
                };
                for (c, op, v) in bounds {
                    if *c != col {
                        continue;
                    }
                    let Some(v) = key_literal(v, ty) else {
                        continue;
                    };
                    match op {
                        BinOp::Gt | BinOp::GtEq if range.lower.is_none() => {
                            range.lower = Some((v, *op == BinOp::GtEq))
                        }
                        BinOp::Lt | BinOp::LtEq if range.upper.is_none() => {
                            range.upper = Some((v, *op == BinOp::LtEq))
                        }
                        _ => {}
                    }
                }
                let range = (range.lower.is_some() || range.upper.is_some()).then_some(range);
                return (eq, range);
            }
        }
    }
    (eq, None)
}

/// The access path of a scan of `table` whose filter is `filter` (for a cached plan whose
/// filter just received its parameter values).
pub fn scan_access(table: &TableDef, filter: &Expr) -> Access {
    let mut conjuncts = Vec::new();
    split_conjuncts(filter.clone(), &mut conjuncts);
    conjuncts.retain(|c| !c.has_subquery_or_outer());
    choose_access(table, &conjuncts)
}

/// The cheapest way to reach the rows matching `conjuncts` (table-local columns). The
/// conjuncts still run as the scan's filter, so an access path only has to be a superset.
pub fn choose_access(table: &TableDef, conjuncts: &[Expr]) -> Access {
    let bounds = column_bounds(conjuncts);
    let score =
        |eq: &[Value], range: &Option<KeyRange>| eq.len() * 2 + usize::from(range.is_some());
    let mut best = Access::Full;
    let mut best_score = 0;
    if !table.has_hidden_row_id() {
        let (eq, range) = key_prefix(table, &table.primary_key, &bounds);
        // A full primary-key match is a point lookup: always the best.
        let s = score(&eq, &range) + usize::from(eq.len() == table.primary_key.len());
        if s > best_score {
            best_score = s;
            best = Access::PrimaryKey { eq, range };
        }
    }
    for index in &table.indexes {
        let (eq, range) = key_prefix(table, &index.columns, &bounds);
        let s = score(&eq, &range);
        if s > best_score {
            best_score = s;
            best = Access::Index {
                index: index.clone(),
                eq,
                range,
            };
        }
    }
    best
}
