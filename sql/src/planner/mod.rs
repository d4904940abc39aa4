//! The planner: binds a query's AST to a [`Plan`] (names resolved, types checked) and applies
//! the optimisations that need the query's shape — predicate pushdown into scans, index and
//! primary-key access paths chosen from WHERE, hash joins for equi-joins (join.rs).

mod expr;
mod join;
mod params;
mod scope;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use chronos_kv::mvcc::Transaction;
use sqlparser::ast::{
    self, GroupByExpr, LimitClause, OrderByKind, SelectItem, SetExpr, SetOperator, SetQuantifier,
};

pub use expr::{data_type, literal};
pub use join::scan_access;
pub use params::ParamTypes;
pub use scope::{Scope, ScopeColumn};

use crate::catalog::{self, TableDef};
use crate::depth::Depth;
use crate::error::{Error, Result};
use crate::expr::{BinOp, Expr, NoSubqueries};
use crate::plan::{AggCall, Plan, SetOpKind, SortKey};
use crate::sql_error;
use crate::value::{DataType, Value};

/// An identifier as PostgreSQL sees it: unquoted names fold to lower case.
pub fn ident(id: &ast::Ident) -> String {
    if id.quote_style.is_some() {
        id.value.clone()
    } else {
        id.value.to_lowercase()
    }
}

/// The last part of a (possibly qualified) object name.
pub fn object_name(name: &ast::ObjectName) -> Result<String> {
    match name.0.last() {
        Some(ast::ObjectNamePart::Identifier(id)) => Ok(ident(id)),
        _ => Err(Error::unsupported(format!("name {name}"))),
    }
}

/// Aggregation being bound: group-by expressions and the aggregates found so far.
#[derive(Debug, Clone)]
pub(crate) struct AggContext {
    input_scope: Scope,
    group_exprs: Vec<Expr>,
    /// The group-by expressions as SQL text, to match select items that repeat them, with
    /// their left-spine lengths ([`spine_len`]): only an expression with the same spine length
    /// can print the same, so a long chain is printed only when a group key could match it.
    group_texts: Vec<(String, usize)>,
    /// (dedup key, call)
    aggregates: Vec<(String, AggCall)>,
}

/// Plans queries within one transaction (the catalog is read through it).
pub struct Planner<'a> {
    txn: &'a Transaction,
    /// Scopes of enclosing queries, outermost first.
    outer: Vec<Scope>,
    agg: Option<AggContext>,
    /// Nesting of expressions and queries being bound, shared with subquery planners.
    depth: Depth,
    /// The statement's parameters, shared with subquery planners.
    params: ParamTypes,
    /// Set when the plan holds the transaction's start time as a literal (`now()`…), shared
    /// with subquery planners: such a plan is valid for its transaction only, never cached.
    transaction_time: Arc<AtomicBool>,
}

impl std::fmt::Debug for Planner<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Planner")
            .field("depth", &self.outer.len())
            .finish()
    }
}

/// The type of an aggregate's result, as the executor produces it: count an integer, avg a
/// float, sum the numeric type it adds (text is parsed as a number, so unknown), min and
/// max their argument's.
fn aggregate_type(call: &AggCall, input: &Scope) -> Option<DataType> {
    use crate::plan::AggFunc;
    let arg = call.arg.as_ref().and_then(|a| type_of(a, input));
    match call.func {
        AggFunc::Count => Some(DataType::Integer),
        AggFunc::Avg => Some(DataType::Float),
        AggFunc::Sum => arg.filter(|t| matches!(t, DataType::Integer | DataType::Float)),
        AggFunc::Min | AggFunc::Max => arg,
    }
}

/// The type of `l op r` from its operands' types.
fn binary_type(op: BinOp, l: Option<DataType>, r: Option<DataType>) -> Option<DataType> {
    use crate::expr::BinOp::*;
    match op {
        Add | Sub | Mul | Div | Mod => match (l, r) {
            (Some(DataType::Integer), Some(DataType::Integer)) => Some(DataType::Integer),
            (None, t) | (t, None) => t,
            _ => Some(DataType::Float),
        },
        Concat => Some(DataType::Text),
        _ => Some(DataType::Boolean),
    }
}

fn type_of(e: &Expr, input: &Scope) -> Option<DataType> {
    crate::depth::guard(|| type_of_here(e, input))
}

fn type_of_here(e: &Expr, input: &Scope) -> Option<DataType> {
    match e {
        Expr::Literal(v) => v.data_type(),
        Expr::Column(i) => input.columns.get(*i).and_then(|c| c.data_type),
        Expr::Neg(x) => type_of(x, input),
        Expr::Binary(op, a, b) => binary_type(*op, type_of(a, input), type_of(b, input)),
        Expr::Chain { first, rest } => rest.iter().fold(type_of(first, input), |t, (op, e)| {
            binary_type(*op, t, type_of(e, input))
        }),
        Expr::Not(_)
        | Expr::IsNull { .. }
        | Expr::IsDistinct { .. }
        | Expr::Like { .. }
        | Expr::InList { .. } => Some(DataType::Boolean),
        Expr::Case {
            whens, otherwise, ..
        } => whens
            .iter()
            .map(|(_, r)| type_of(r, input))
            .chain(otherwise.iter().map(|o| type_of(o, input)))
            .flatten()
            .next(),
        Expr::Cast(_, t, _) => Some(*t),
        Expr::Function(f, args) => {
            use crate::expr::Func::*;
            match f {
                Length | Position => Some(DataType::Integer),
                RegexMatch | RegexIMatch => Some(DataType::Boolean),
                Abs | Coalesce | NullIf | Round => {
                    args.iter().filter_map(|a| type_of(a, input)).next()
                }
                _ => Some(DataType::Text),
            }
        }
        Expr::Subquery {
            kind: crate::expr::SubqueryKind::Scalar,
            ..
        } => None,
        Expr::Subquery { .. } => Some(DataType::Boolean),
        Expr::Outer { .. } | Expr::Param(_) => None,
    }
}

impl<'a> Planner<'a> {
    pub fn new(txn: &'a Transaction) -> Self {
        Planner {
            txn,
            outer: Vec::new(),
            agg: None,
            depth: Depth::default(),
            params: ParamTypes::default(),
            transaction_time: Arc::default(),
        }
    }

    /// Whether the plan holds a value of its transaction (its start time), so it must not be
    /// reused by another transaction.
    pub fn uses_transaction_time(&self) -> bool {
        self.transaction_time.load(Ordering::Relaxed)
    }

    /// A planner for a statement being prepared: `$n` parameters allowed, typed by `params`.
    pub fn with_params(txn: &'a Transaction, params: ParamTypes) -> Self {
        Planner {
            params,
            ..Planner::new(txn)
        }
    }

    pub fn table(&self, name: &str) -> Result<TableDef> {
        catalog::get_table(self.txn, name)
    }

    /// Plans a subquery whose rows are evaluated per row of `scope`.
    fn plan_subquery(&mut self, q: &ast::Query, scope: &Scope, one_column: bool) -> Result<Plan> {
        let mut outer = self.outer.clone();
        let agg = self.agg.as_ref();
        outer.push(match agg {
            Some(ctx) => ctx.input_scope.clone(),
            None => scope.clone(),
        });
        let mut sub = Planner {
            txn: self.txn,
            outer,
            agg: None,
            depth: self.depth,
            params: self.params.clone(),
            transaction_time: self.transaction_time.clone(),
        };
        let (plan, out) = sub.plan_query(q)?;
        if one_column && out.len() != 1 {
            return Err(sql_error!(SyntaxError, "subquery has too many columns"));
        }
        if self.agg.is_some() && plan.is_correlated() {
            return Err(Error::unsupported(
                "correlated subqueries in queries with GROUP BY or aggregates",
            ));
        }
        Ok(plan)
    }

    /// Plans a query; returns the plan and its output columns.
    pub fn plan_query(&mut self, q: &ast::Query) -> Result<(Plan, Scope)> {
        self.depth.enter()?;
        let planned = crate::depth::guard(|| self.plan_query_here(q));
        self.depth.leave();
        planned
    }

    fn plan_query_here(&mut self, q: &ast::Query) -> Result<(Plan, Scope)> {
        crate::declared::query(q)?;
        if q.with.is_some() {
            return Err(Error::unsupported("WITH (common table expressions)"));
        }
        if q.fetch.is_some() || !q.locks.is_empty() {
            return Err(Error::unsupported("FETCH / FOR UPDATE"));
        }
        let order_by: &[ast::OrderByExpr] = match &q.order_by {
            None => &[],
            Some(ob) => match &ob.kind {
                OrderByKind::Expressions(e) => e,
                OrderByKind::All(_) => return Err(Error::unsupported("ORDER BY ALL")),
            },
        };
        let (mut plan, scope) = match q.body.as_ref() {
            SetExpr::Select(select) => self.plan_select(select, order_by)?,
            body => {
                let (plan, scope) = self.plan_set_expr(body)?;
                let plan = if order_by.is_empty() {
                    plan
                } else {
                    self.sort_output(plan, &scope, order_by)?
                };
                (plan, scope)
            }
        };
        if let Some(limit) = &q.limit_clause {
            let (limit, offset) = match limit {
                LimitClause::LimitOffset {
                    limit,
                    offset,
                    limit_by,
                } => {
                    if !limit_by.is_empty() {
                        return Err(Error::unsupported("LIMIT BY"));
                    }
                    (limit.as_ref(), offset.as_ref().map(|o| &o.value))
                }
                LimitClause::OffsetCommaLimit { offset, limit } => (Some(limit), Some(offset)),
            };
            let count =
                |e: Option<&ast::Expr>, what: &str, planner: &mut Self| -> Result<Option<u64>> {
                    let Some(e) = e else { return Ok(None) };
                    let v = planner
                        .bind_expr(e, &Scope::default())?
                        .eval(&Vec::new(), &NoSubqueries)?;
                    match v {
                        Value::Null => Ok(None),
                        Value::Integer(i) if i >= 0 => Ok(Some(i as u64)),
                        other => Err(sql_error!(
                            InvalidParameterValue,
                            "{what} must be a non-negative integer, not {other}"
                        )),
                    }
                };
            let limit = count(limit, "LIMIT", self)?;
            let offset = count(offset, "OFFSET", self)?.unwrap_or(0);
            plan = Plan::Limit {
                input: Box::new(plan),
                limit,
                offset,
            };
        }
        Ok((plan, scope))
    }

    fn plan_set_expr(&mut self, body: &SetExpr) -> Result<(Plan, Scope)> {
        self.depth.enter()?;
        let planned = crate::depth::guard(|| self.plan_set_expr_here(body));
        self.depth.leave();
        planned
    }

    fn plan_set_expr_here(&mut self, body: &SetExpr) -> Result<(Plan, Scope)> {
        match body {
            SetExpr::Select(s) => self.plan_select(s, &[]),
            SetExpr::Query(q) => self.plan_query(q),
            SetExpr::Values(values) => {
                let mut rows = Vec::new();
                for row in &values.rows {
                    let bound: Vec<Expr> = row
                        .content
                        .iter()
                        .map(|e| self.bind_expr(e, &Scope::default()).map(Expr::fold))
                        .collect::<Result<_>>()?;
                    rows.push(bound);
                }
                let width = rows.first().map_or(0, Vec::len);
                if rows.iter().any(|r| r.len() != width) {
                    return Err(sql_error!(
                        SyntaxError,
                        "VALUES lists must all be the same length"
                    ));
                }
                let scope = Scope::new(
                    (0..width)
                        .map(|i| ScopeColumn {
                            table: None,
                            name: format!("column{}", i + 1),
                            data_type: rows
                                .iter()
                                .filter_map(|r| type_of(&r[i], &Scope::default()))
                                .next(),
                        })
                        .collect(),
                );
                Ok((Plan::Values { rows, width }, scope))
            }
            SetExpr::SetOperation {
                left,
                op,
                set_quantifier,
                right,
            } => {
                let (l, ls) = self.plan_set_expr(left)?;
                let (r, rs) = self.plan_set_expr(right)?;
                if ls.len() != rs.len() {
                    return Err(sql_error!(
                        SyntaxError,
                        "each {op} query must have the same number of columns"
                    ));
                }
                let kind = match op {
                    SetOperator::Union => SetOpKind::Union,
                    SetOperator::Intersect => SetOpKind::Intersect,
                    SetOperator::Except | SetOperator::Minus => SetOpKind::Except,
                };
                let all = match set_quantifier {
                    SetQuantifier::All => true,
                    SetQuantifier::Distinct | SetQuantifier::None => false,
                    other => return Err(Error::unsupported(format!("{op} {other}"))),
                };
                Ok((
                    Plan::SetOp {
                        kind,
                        all,
                        left: Box::new(l),
                        right: Box::new(r),
                    },
                    ls,
                ))
            }
            other => Err(Error::unsupported(format!("query body {other}"))),
        }
    }

    /// ORDER BY over output columns only (set operations).
    fn sort_output(
        &mut self,
        plan: Plan,
        scope: &Scope,
        order_by: &[ast::OrderByExpr],
    ) -> Result<Plan> {
        let mut keys = Vec::new();
        for o in order_by {
            let expr = match self.output_reference(&o.expr, scope)? {
                Some(i) => Expr::Column(i),
                None => self.bind_expr(&o.expr, scope)?,
            };
            keys.push(sort_key(expr, &o.options));
        }
        Ok(Plan::Sort {
            input: Box::new(plan),
            keys,
        })
    }

    /// An ORDER BY item naming an output column by position or name.
    fn output_reference(&mut self, e: &ast::Expr, scope: &Scope) -> Result<Option<usize>> {
        match e {
            ast::Expr::Value(v) => match literal(&v.value)? {
                Value::Integer(k) if k >= 1 && (k as usize) <= scope.len() => {
                    Ok(Some(k as usize - 1))
                }
                Value::Integer(k) => Err(sql_error!(
                    InvalidParameterValue,
                    "ORDER BY position {k} is not in select list"
                )),
                _ => Ok(None),
            },
            ast::Expr::Identifier(id) => {
                let name = ident(id);
                Ok(scope.columns.iter().position(|c| c.name == name))
            }
            _ => Ok(None),
        }
    }

    fn plan_select(
        &mut self,
        s: &ast::Select,
        order_by: &[ast::OrderByExpr],
    ) -> Result<(Plan, Scope)> {
        let agg = self.agg.clone();
        match self.plan_select_here(s, order_by) {
            Err(e) if can_skip_binding(&e) && join::from_is_always_empty(&s.from) => {
                self.agg = agg;
                empty_select(s).ok_or(e)
            }
            planned => planned,
        }
    }

    fn plan_select_here(
        &mut self,
        s: &ast::Select,
        order_by: &[ast::OrderByExpr],
    ) -> Result<(Plan, Scope)> {
        crate::declared::select(s)?;
        // FROM and WHERE: the join tree, with predicates pushed down.
        let (mut plan, from_scope) = join::plan_from(self, &s.from, s.selection.as_ref())?;

        let group_by: &[ast::Expr] = match &s.group_by {
            GroupByExpr::Expressions(e, mods) if mods.is_empty() => e,
            _ => return Err(Error::unsupported("GROUP BY ALL / ROLLUP / CUBE")),
        };
        let has_aggregates = group_by.is_empty()
            && (s.projection.iter().any(select_item_has_aggregate)
                || s.having.is_some()
                || order_by.iter().any(|o| expr_has_aggregate(&o.expr)));
        let aggregating = !group_by.is_empty() || has_aggregates;

        // The scope select items are bound in: the FROM scope, or the aggregate's output.
        let item_scope = from_scope.clone();
        if aggregating {
            let mut group_exprs = Vec::new();
            let mut group_texts = Vec::new();
            for g in group_by {
                // GROUP BY may name a select item by position or alias.
                let target = match g {
                    ast::Expr::Value(v) => match literal(&v.value)? {
                        Value::Integer(k) => Some(select_item_expr(&s.projection, k)?),
                        _ => None,
                    },
                    ast::Expr::Identifier(id)
                        if from_scope.resolve(None, &ident(id))?.is_none() =>
                    {
                        alias_expr(&s.projection, &ident(id))
                    }
                    _ => None,
                };
                let g = target.unwrap_or(g);
                group_exprs.push(self.bind_expr(g, &from_scope)?);
                group_texts.push((g.to_string(), spine_len(g)));
            }
            self.agg = Some(AggContext {
                input_scope: from_scope.clone(),
                group_exprs,
                group_texts,
                aggregates: Vec::new(),
            });
        }

        // Select items.
        let mut exprs = Vec::new();
        let mut out = Vec::new();
        for item in &s.projection {
            match item {
                SelectItem::UnnamedExpr(e) => {
                    let bound = self.bind_expr(e, &item_scope)?;
                    out.push(ScopeColumn {
                        table: None,
                        name: column_name(e),
                        data_type: None,
                    });
                    exprs.push(bound);
                }
                SelectItem::ExprWithAlias { expr, alias } => {
                    exprs.push(self.bind_expr(expr, &item_scope)?);
                    out.push(ScopeColumn {
                        table: None,
                        name: ident(alias),
                        data_type: None,
                    });
                }
                SelectItem::Wildcard(_) => {
                    if from_scope.len() == 0 {
                        return Err(sql_error!(
                            SyntaxError,
                            "SELECT * with no tables specified is not valid"
                        ));
                    }
                    for (i, c) in from_scope.columns.iter().enumerate() {
                        // With GROUP BY, each column must be a grouping column (bound through
                        // the aggregate's output); otherwise it is the input column itself.
                        let e = if aggregating {
                            self.bind_column(c.table.as_deref(), &c.name, &item_scope)?
                        } else {
                            Expr::Column(i)
                        };
                        exprs.push(e);
                        out.push(c.clone());
                    }
                }
                SelectItem::QualifiedWildcard(
                    ast::SelectItemQualifiedWildcardKind::ObjectName(name),
                    _,
                ) => {
                    let t = object_name(name)?;
                    if aggregating {
                        return Err(sql_error!(
                            GroupingError,
                            "{t}.* is not allowed with GROUP BY or aggregates"
                        ));
                    }
                    let mut any = false;
                    for (i, c) in from_scope.columns.iter().enumerate() {
                        if c.table.as_deref() == Some(t.as_str()) {
                            exprs.push(Expr::Column(i));
                            out.push(c.clone());
                            any = true;
                        }
                    }
                    if !any {
                        return Err(sql_error!(
                            UndefinedTable,
                            "missing FROM-clause entry for table \"{t}\""
                        ));
                    }
                }
                other => return Err(Error::unsupported(format!("select item {other}"))),
            }
        }
        let having = s
            .having
            .as_ref()
            .map(|h| self.bind_expr(h, &item_scope))
            .transpose()?;

        // ORDER BY keys: output columns by position or alias, else expressions over the input
        // (computed as hidden trailing columns and dropped after sorting).
        let visible = exprs.len();
        let mut keys = Vec::new();
        let distinct = matches!(s.distinct, Some(ast::Distinct::Distinct));
        for o in order_by {
            let by_output = {
                let out_scope = Scope::new(out.clone());
                self.output_reference(&o.expr, &out_scope)?
            };
            let expr = match by_output {
                Some(i) => Expr::Column(i),
                None => {
                    let bound = self.bind_expr(&o.expr, &item_scope)?;
                    match exprs.iter().position(|e| *e == bound) {
                        Some(i) => Expr::Column(i),
                        None if distinct => {
                            return Err(sql_error!(
                                InvalidParameterValue,
                                "for SELECT DISTINCT, ORDER BY expressions must appear in select list"
                            ));
                        }
                        None => {
                            exprs.push(bound);
                            Expr::Column(exprs.len() - 1)
                        }
                    }
                }
            };
            keys.push(sort_key(expr, &o.options));
        }

        // The aggregate's output columns (group keys, then aggregates) and their types, for
        // typing the select items bound over them.
        let mut agg_scope = None;
        if let Some(ctx) = self.agg.take() {
            let aggregates: Vec<AggCall> = ctx.aggregates.into_iter().map(|(_, a)| a).collect();
            let types = ctx
                .group_exprs
                .iter()
                .map(|g| type_of(g, &from_scope))
                .chain(aggregates.iter().map(|a| aggregate_type(a, &from_scope)));
            agg_scope = Some(Scope::new(
                types
                    .map(|data_type| ScopeColumn {
                        table: None,
                        name: String::new(),
                        data_type,
                    })
                    .collect(),
            ));
            plan = Plan::Aggregate {
                input: Box::new(plan),
                group_by: ctx.group_exprs,
                aggregates,
            };
            if let Some(h) = having {
                plan = Plan::Filter {
                    input: Box::new(plan),
                    predicate: h.fold(),
                };
            }
        } else if having.is_some() {
            return Err(sql_error!(
                GroupingError,
                "HAVING requires GROUP BY or an aggregate"
            ));
        }
        let input_scope_for_types = if aggregating {
            agg_scope.as_ref()
        } else {
            Some(&from_scope)
        };
        for (c, e) in out.iter_mut().zip(&exprs) {
            if c.data_type.is_none() {
                c.data_type =
                    input_scope_for_types
                        .and_then(|sc| type_of(e, sc))
                        .or_else(|| match e {
                            Expr::Literal(v) => v.data_type(),
                            _ => None,
                        });
            }
        }
        plan = Plan::Project {
            input: Box::new(plan),
            exprs: exprs.into_iter().map(Expr::fold).collect(),
        };
        match &s.distinct {
            None | Some(ast::Distinct::All) => {}
            Some(ast::Distinct::Distinct) => {
                plan = Plan::Distinct {
                    input: Box::new(plan),
                }
            }
            Some(ast::Distinct::On(_)) => return Err(Error::unsupported("DISTINCT ON")),
        }
        if !keys.is_empty() {
            plan = Plan::Sort {
                input: Box::new(plan),
                keys,
            };
        }
        if plan.width() > visible {
            plan = Plan::Project {
                input: Box::new(plan),
                exprs: (0..visible).map(Expr::Column).collect(),
            };
        }
        Ok((plan, Scope::new(out)))
    }
}

/// Errors of expressions we cannot bind (array operators, functions for features we lack)
/// that may be skipped where no row will ever reach them.
fn can_skip_binding(e: &Error) -> bool {
    use crate::error::SqlState;
    matches!(
        e.state,
        SqlState::FeatureNotSupported | SqlState::UndefinedFunction | SqlState::UndefinedObject
    )
}

/// A SELECT over a FROM clause that is always empty (see [`join::from_is_always_empty`]):
/// no rows, so its select list, WHERE and ORDER BY are never evaluated and need not bind.
/// PostgreSQL would still check them; this spares psql's `\d` queries that read catalogs of
/// features Chronos lacks (policies, publications, extended statistics) through array
/// operators and functions we do not have. `None` where the result is not just "no rows":
/// aggregates without GROUP BY yield one row, and `*` needs the relations' columns.
fn empty_select(s: &ast::Select) -> Option<(Plan, Scope)> {
    let grouped = !matches!(&s.group_by, GroupByExpr::Expressions(e, _) if e.is_empty());
    if !grouped && (s.projection.iter().any(select_item_has_aggregate) || s.having.is_some()) {
        return None;
    }
    let columns = s
        .projection
        .iter()
        .map(|item| match item {
            SelectItem::UnnamedExpr(e) => Some(column_name(e)),
            SelectItem::ExprWithAlias { alias, .. } => Some(ident(alias)),
            _ => None,
        })
        .map(|name| {
            name.map(|name| ScopeColumn {
                table: None,
                name,
                data_type: None,
            })
        })
        .collect::<Option<Vec<_>>>()?;
    let width = columns.len();
    Some((
        Plan::Values {
            rows: Vec::new(),
            width,
        },
        Scope::new(columns),
    ))
}

fn sort_key(expr: Expr, options: &ast::OrderByOptions) -> SortKey {
    let descending = matches!(options.sort, Some(ast::OrderBySort::Desc));
    // PostgreSQL: NULLs are larger than every value, so last ascending and first descending.
    let nulls_first = options.nulls_first.unwrap_or(descending);
    SortKey {
        expr,
        descending,
        nulls_first,
    }
}

fn select_item_expr(items: &[SelectItem], k: i64) -> Result<&ast::Expr> {
    match usize::try_from(k)
        .ok()
        .and_then(|k| k.checked_sub(1))
        .and_then(|i| items.get(i))
    {
        Some(SelectItem::UnnamedExpr(e)) | Some(SelectItem::ExprWithAlias { expr: e, .. }) => Ok(e),
        _ => Err(sql_error!(
            InvalidParameterValue,
            "GROUP BY position {k} is not in select list"
        )),
    }
}

fn alias_expr<'s>(items: &'s [SelectItem], name: &str) -> Option<&'s ast::Expr> {
    items.iter().find_map(|i| match i {
        SelectItem::ExprWithAlias { expr, alias } if ident(alias) == name => Some(expr),
        _ => None,
    })
}

/// The output name PostgreSQL gives an unaliased select item.
fn column_name(e: &ast::Expr) -> String {
    match e {
        ast::Expr::Identifier(id) => ident(id),
        ast::Expr::CompoundIdentifier(ids) => ids.last().map(ident).unwrap_or_default(),
        ast::Expr::Function(f) => object_name(&f.name).unwrap_or_else(|_| "?column?".into()),
        // PostgreSQL names a cast of anything unnamed after the type.
        ast::Expr::Cast {
            expr, data_type, ..
        } => match column_name(expr) {
            name if name == "?column?" => {
                let ty = data_type.to_string().to_lowercase();
                let ty = ty.rsplit('.').next().unwrap_or_default();
                ty.split('(').next().unwrap_or_default().to_string()
            }
            name => name,
        },
        ast::Expr::Nested(inner) => column_name(inner),
        ast::Expr::Case { .. } => "case".into(),
        _ => "?column?".into(),
    }
}

/// How many binary operators a left-deep chain starting at `e` has (`a + b + c`: 2).
pub(crate) fn spine_len(e: &ast::Expr) -> usize {
    let mut n = 0;
    let mut cur = e;
    while let ast::Expr::BinaryOp { left, .. } = cur {
        n += 1;
        cur = left;
    }
    n
}

fn select_item_has_aggregate(item: &SelectItem) -> bool {
    match item {
        SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => {
            expr_has_aggregate(e)
        }
        _ => false,
    }
}

/// Whether an expression calls an aggregate outside any subquery.
fn expr_has_aggregate(e: &ast::Expr) -> bool {
    // A left-deep chain is walked in a loop (it may be 10,000 terms long); everything else
    // nests at most as deep as the parser's recursion limit allows.
    let mut cur = e;
    while let ast::Expr::BinaryOp { left, right, .. } = cur {
        if expr_has_aggregate(right) {
            return true;
        }
        cur = left;
    }
    crate::depth::guard(|| expr_has_aggregate_here(cur))
}

fn expr_has_aggregate_here(e: &ast::Expr) -> bool {
    use ast::Expr as E;
    let any = |es: &[&ast::Expr]| es.iter().any(|x| expr_has_aggregate(x));
    match e {
        E::Function(f) => {
            if object_name(&f.name).is_ok_and(|n| crate::plan::AggFunc::from_name(&n).is_some()) {
                return true;
            }
            match &f.args {
                ast::FunctionArguments::List(list) => list.args.iter().any(|a| match a {
                    ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(x)) => {
                        expr_has_aggregate(x)
                    }
                    _ => false,
                }),
                _ => false,
            }
        }
        E::BinaryOp { .. } => expr_has_aggregate(e),
        E::UnaryOp { expr, .. } | E::Nested(expr) | E::Cast { expr, .. } => {
            expr_has_aggregate(expr)
        }
        E::IsNull(x)
        | E::IsNotNull(x)
        | E::IsTrue(x)
        | E::IsFalse(x)
        | E::IsNotTrue(x)
        | E::IsNotFalse(x) => expr_has_aggregate(x),
        E::IsDistinctFrom(a, b) | E::IsNotDistinctFrom(a, b) => any(&[a, b]),
        E::Between {
            expr, low, high, ..
        } => any(&[expr, low, high]),
        E::Like { expr, pattern, .. } | E::ILike { expr, pattern, .. } => any(&[expr, pattern]),
        E::In { expr, target, .. } => {
            expr_has_aggregate(expr)
                || matches!(target, ast::InTarget::List(list) if list.iter().any(expr_has_aggregate))
        }
        E::Case {
            operand,
            conditions,
            else_result,
            ..
        } => {
            operand.as_deref().is_some_and(expr_has_aggregate)
                || conditions
                    .iter()
                    .any(|w| expr_has_aggregate(&w.condition) || expr_has_aggregate(&w.result))
                || else_result.as_deref().is_some_and(expr_has_aggregate)
        }
        _ => false,
    }
}
