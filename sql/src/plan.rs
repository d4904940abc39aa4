//! Query plans: the tree the planner builds, the optimiser rewrites and the executor runs.
//!
//! Every node produces rows of a fixed width; a join's rows are its left row followed by its
//! right row. EXPLAIN prints the tree with [`Plan::explain`].

use std::sync::Arc;

use crate::catalog::{IndexDef, TableDef};
use crate::expr::Expr;
use crate::value::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinKind {
    Inner,
    Left,
    Right,
    Full,
}

/// How a scan reaches its rows.
#[derive(Debug, Clone, PartialEq)]
pub enum Access {
    /// Every row of the table.
    Full,
    /// Rows whose leading primary-key columns equal `eq`, then (optionally) whose next
    /// primary-key column is within the range.
    PrimaryKey {
        eq: Vec<Value>,
        range: Option<KeyRange>,
    },
    /// Through a secondary index, same shape over the indexed columns.
    Index {
        index: IndexDef,
        eq: Vec<Value>,
        range: Option<KeyRange>,
    },
}

/// Bounds on one key column: `(value, inclusive)`.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyRange {
    pub lower: Option<(Value, bool)>,
    pub upper: Option<(Value, bool)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AggCall {
    pub func: AggFunc,
    /// `None` for COUNT(*).
    pub arg: Option<Expr>,
    pub distinct: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AggFunc {
    Count,
    Sum,
    Avg,
    Min,
    Max,
}

impl AggFunc {
    pub fn from_name(name: &str) -> Option<AggFunc> {
        Some(match name {
            "count" => AggFunc::Count,
            "sum" => AggFunc::Sum,
            "avg" => AggFunc::Avg,
            "min" => AggFunc::Min,
            "max" => AggFunc::Max,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            AggFunc::Count => "count",
            AggFunc::Sum => "sum",
            AggFunc::Avg => "avg",
            AggFunc::Min => "min",
            AggFunc::Max => "max",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetOpKind {
    Union,
    Intersect,
    Except,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SortKey {
    pub expr: Expr,
    pub descending: bool,
    pub nulls_first: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Plan {
    Scan {
        table: Arc<TableDef>,
        alias: String,
        access: Access,
        filter: Option<Expr>,
    },
    /// Literal rows (VALUES, or one empty row for SELECT without FROM).
    Values {
        rows: Vec<Vec<Expr>>,
        width: usize,
    },
    Filter {
        input: Box<Plan>,
        predicate: Expr,
    },
    Project {
        input: Box<Plan>,
        exprs: Vec<Expr>,
    },
    NestedLoopJoin {
        left: Box<Plan>,
        right: Box<Plan>,
        kind: JoinKind,
        on: Option<Expr>,
    },
    HashJoin {
        left: Box<Plan>,
        right: Box<Plan>,
        kind: JoinKind,
        left_keys: Vec<Expr>,
        right_keys: Vec<Expr>,
        residual: Option<Expr>,
    },
    /// Output: the group-by values, then one value per aggregate.
    Aggregate {
        input: Box<Plan>,
        group_by: Vec<Expr>,
        aggregates: Vec<AggCall>,
    },
    Sort {
        input: Box<Plan>,
        keys: Vec<SortKey>,
    },
    Limit {
        input: Box<Plan>,
        limit: Option<u64>,
        offset: u64,
    },
    Distinct {
        input: Box<Plan>,
    },
    SetOp {
        kind: SetOpKind,
        all: bool,
        left: Box<Plan>,
        right: Box<Plan>,
    },
}

impl Plan {
    /// Number of values in each output row.
    pub fn width(&self) -> usize {
        match self {
            Plan::Scan { table, .. } => table.columns.len(),
            Plan::Values { width, .. } => *width,
            Plan::Filter { input, .. }
            | Plan::Sort { input, .. }
            | Plan::Limit { input, .. }
            | Plan::Distinct { input } => input.width(),
            Plan::Project { exprs, .. } => exprs.len(),
            Plan::NestedLoopJoin { left, right, .. } | Plan::HashJoin { left, right, .. } => {
                left.width() + right.width()
            }
            Plan::Aggregate {
                group_by,
                aggregates,
                ..
            } => group_by.len() + aggregates.len(),
            Plan::SetOp { left, .. } => left.width(),
        }
    }

    /// Whether any expression in the tree refers to an enclosing query.
    pub fn is_correlated(&self) -> bool {
        let mut found = false;
        self.visit_exprs(&mut |e| {
            e.walk(&mut |x| {
                if let Expr::Outer { .. } = x {
                    found = true;
                }
                if let Expr::Subquery { plan, .. } = x {
                    found |= plan.refers_beyond(1);
                }
            })
        });
        found
    }

    /// Whether the tree refers to queries more than `depth` levels out.
    fn refers_beyond(&self, depth: usize) -> bool {
        let mut found = false;
        self.visit_exprs(&mut |e| {
            e.walk(&mut |x| match x {
                Expr::Outer { depth: d, .. } if *d > depth => found = true,
                Expr::Subquery { plan, .. } => found |= plan.refers_beyond(depth + 1),
                _ => {}
            })
        });
        found
    }

    /// Visits the expressions held directly by nodes of this tree (not inside subqueries).
    pub fn visit_exprs(&self, f: &mut dyn FnMut(&Expr)) {
        match self {
            Plan::Scan { filter, access, .. } => {
                if let Some(e) = filter {
                    f(e);
                }
                let _ = access;
            }
            Plan::Values { rows, .. } => {
                for e in rows.iter().flatten() {
                    f(e)
                }
            }
            Plan::Filter { input, predicate } => {
                f(predicate);
                input.visit_exprs(f);
            }
            Plan::Project { input, exprs } => {
                for e in exprs.iter() {
                    f(e)
                }
                input.visit_exprs(f);
            }
            Plan::NestedLoopJoin {
                left, right, on, ..
            } => {
                if let Some(e) = on {
                    f(e);
                }
                left.visit_exprs(f);
                right.visit_exprs(f);
            }
            Plan::HashJoin {
                left,
                right,
                left_keys,
                right_keys,
                residual,
                ..
            } => {
                for e in left_keys.iter().chain(right_keys) {
                    f(e)
                }
                if let Some(e) = residual {
                    f(e);
                }
                left.visit_exprs(f);
                right.visit_exprs(f);
            }
            Plan::Aggregate {
                input,
                group_by,
                aggregates,
            } => {
                for e in group_by.iter() {
                    f(e)
                }
                for e in aggregates.iter().filter_map(|a| a.arg.as_ref()) {
                    f(e)
                }
                input.visit_exprs(f);
            }
            Plan::Sort { input, keys } => {
                keys.iter().for_each(|k| f(&k.expr));
                input.visit_exprs(f);
            }
            Plan::Limit { input, .. } | Plan::Distinct { input } => input.visit_exprs(f),
            Plan::SetOp { left, right, .. } => {
                left.visit_exprs(f);
                right.visit_exprs(f);
            }
        }
    }

    /// Rewrites every expression of the tree (and of nested subquery plans, one level deeper).
    pub fn map_exprs(self, f: &mut dyn FnMut(Expr) -> Expr) -> Plan {
        crate::depth::guard(|| self.map_exprs_here(f))
    }

    fn map_exprs_here(self, f: &mut dyn FnMut(Expr) -> Expr) -> Plan {
        let b = |p: Box<Plan>, f: &mut dyn FnMut(Expr) -> Expr| Box::new(p.map_exprs(f));
        match self {
            Plan::Scan {
                table,
                alias,
                access,
                filter,
            } => Plan::Scan {
                table,
                alias,
                access,
                filter: filter.map(&mut *f),
            },
            Plan::Values { rows, width } => Plan::Values {
                rows: rows
                    .into_iter()
                    .map(|r| r.into_iter().map(&mut *f).collect())
                    .collect(),
                width,
            },
            Plan::Filter { input, predicate } => Plan::Filter {
                input: b(input, f),
                predicate: f(predicate),
            },
            Plan::Project { input, exprs } => Plan::Project {
                input: b(input, f),
                exprs: exprs.into_iter().map(&mut *f).collect(),
            },
            Plan::NestedLoopJoin {
                left,
                right,
                kind,
                on,
            } => Plan::NestedLoopJoin {
                left: b(left, f),
                right: b(right, f),
                kind,
                on: on.map(&mut *f),
            },
            Plan::HashJoin {
                left,
                right,
                kind,
                left_keys,
                right_keys,
                residual,
            } => Plan::HashJoin {
                left: b(left, f),
                right: b(right, f),
                kind,
                left_keys: left_keys.into_iter().map(&mut *f).collect(),
                right_keys: right_keys.into_iter().map(&mut *f).collect(),
                residual: residual.map(&mut *f),
            },
            Plan::Aggregate {
                input,
                group_by,
                aggregates,
            } => Plan::Aggregate {
                input: b(input, f),
                group_by: group_by.into_iter().map(&mut *f).collect(),
                aggregates: aggregates
                    .into_iter()
                    .map(|a| AggCall {
                        arg: a.arg.map(&mut *f),
                        ..a
                    })
                    .collect(),
            },
            Plan::Sort { input, keys } => Plan::Sort {
                input: b(input, f),
                keys: keys
                    .into_iter()
                    .map(|k| SortKey {
                        expr: f(k.expr),
                        ..k
                    })
                    .collect(),
            },
            Plan::Limit {
                input,
                limit,
                offset,
            } => Plan::Limit {
                input: b(input, f),
                limit,
                offset,
            },
            Plan::Distinct { input } => Plan::Distinct { input: b(input, f) },
            Plan::SetOp {
                kind,
                all,
                left,
                right,
            } => Plan::SetOp {
                kind,
                all,
                left: b(left, f),
                right: b(right, f),
            },
        }
    }

    /// The plan as indented lines, for EXPLAIN.
    pub fn explain(&self) -> Vec<String> {
        let mut out = Vec::new();
        self.explain_into(0, &mut out);
        out
    }

    fn explain_into(&self, depth: usize, out: &mut Vec<String>) {
        crate::depth::guard(|| self.explain_node(depth, out))
    }

    fn explain_node(&self, depth: usize, out: &mut Vec<String>) {
        let pad = "  ".repeat(depth);
        let arrow = if depth == 0 { "" } else { "-> " };
        let line = match self {
            Plan::Scan {
                table,
                alias,
                access,
                filter,
            } => {
                let how = match access {
                    Access::Full => format!("Full scan of {}", table.name),
                    Access::PrimaryKey { eq, range } => {
                        format!("Primary key {} of {}", describe_key(eq, range), table.name)
                    }
                    Access::Index { index, eq, range } => format!(
                        "Index {} {} of {}",
                        index.name,
                        describe_key(eq, range),
                        table.name
                    ),
                };
                let alias = if *alias != table.name {
                    format!(" as {alias}")
                } else {
                    String::new()
                };
                let filter = filter
                    .as_ref()
                    .map(|f| format!(" (filter: {f})"))
                    .unwrap_or_default();
                format!("{how}{alias}{filter}")
            }
            Plan::Values { rows, .. } => format!("Values ({} rows)", rows.len()),
            Plan::Filter { predicate, .. } => format!("Filter: {predicate}"),
            Plan::Project { exprs, .. } => {
                format!(
                    "Project: {}",
                    exprs
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }
            Plan::NestedLoopJoin { kind, on, .. } => {
                format!(
                    "Nested loop {kind:?} join{}",
                    on.as_ref().map(|e| format!(" on {e}")).unwrap_or_default()
                )
            }
            Plan::HashJoin {
                kind,
                left_keys,
                right_keys,
                residual,
                ..
            } => {
                let keys: Vec<String> = left_keys
                    .iter()
                    .zip(right_keys)
                    .map(|(l, r)| format!("{l} = {r}"))
                    .collect();
                format!(
                    "Hash {kind:?} join on {}{}",
                    keys.join(" AND "),
                    residual
                        .as_ref()
                        .map(|e| format!(" (filter: {e})"))
                        .unwrap_or_default()
                )
            }
            Plan::Aggregate {
                group_by,
                aggregates,
                ..
            } => {
                let aggs: Vec<String> = aggregates
                    .iter()
                    .map(|a| {
                        let arg = a.arg.as_ref().map_or("*".to_string(), ToString::to_string);
                        format!(
                            "{}({}{arg})",
                            a.func.name(),
                            if a.distinct { "DISTINCT " } else { "" }
                        )
                    })
                    .collect();
                let groups: Vec<String> = group_by.iter().map(ToString::to_string).collect();
                format!(
                    "Aggregate: {}{}",
                    aggs.join(", "),
                    if groups.is_empty() {
                        String::new()
                    } else {
                        format!(" group by {}", groups.join(", "))
                    }
                )
            }
            Plan::Sort { keys, .. } => {
                let keys: Vec<String> = keys
                    .iter()
                    .map(|k| format!("{}{}", k.expr, if k.descending { " DESC" } else { "" }))
                    .collect();
                format!("Sort: {}", keys.join(", "))
            }
            Plan::Limit { limit, offset, .. } => {
                format!(
                    "Limit: {}{}",
                    limit.map_or("ALL".into(), |l| l.to_string()),
                    if *offset > 0 {
                        format!(" offset {offset}")
                    } else {
                        String::new()
                    }
                )
            }
            Plan::Distinct { .. } => "Distinct".into(),
            Plan::SetOp { kind, all, .. } => format!("{kind:?}{}", if *all { " ALL" } else { "" }),
        };
        out.push(format!("{pad}{arrow}{line}"));
        match self {
            Plan::Scan { .. } | Plan::Values { .. } => {}
            Plan::Filter { input, .. }
            | Plan::Project { input, .. }
            | Plan::Aggregate { input, .. }
            | Plan::Sort { input, .. }
            | Plan::Limit { input, .. }
            | Plan::Distinct { input } => input.explain_into(depth + 1, out),
            Plan::NestedLoopJoin { left, right, .. }
            | Plan::HashJoin { left, right, .. }
            | Plan::SetOp { left, right, .. } => {
                left.explain_into(depth + 1, out);
                right.explain_into(depth + 1, out);
            }
        }
    }
}

fn describe_key(eq: &[Value], range: &Option<KeyRange>) -> String {
    let mut parts: Vec<String> = eq.iter().map(|v| format!("= {v}")).collect();
    if let Some(r) = range {
        if let Some((v, inc)) = &r.lower {
            parts.push(format!("{} {v}", if *inc { ">=" } else { ">" }));
        }
        if let Some((v, inc)) = &r.upper {
            parts.push(format!("{} {v}", if *inc { "<=" } else { "<" }));
        }
    }
    if eq.is_empty() && range.is_none() {
        "scan".into()
    } else if range.is_none() {
        format!("lookup ({})", parts.join(", "))
    } else {
        format!("range ({})", parts.join(", "))
    }
}
