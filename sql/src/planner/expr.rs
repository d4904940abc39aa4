//! Binding expressions: AST → [`Expr`] against a [`Scope`].

use sqlparser::ast::{
    self, BinaryOperator, FunctionArg, FunctionArgExpr, FunctionArguments, UnaryOperator,
};

use super::scope::Scope;
use super::{AggContext, Planner, ident, object_name};
use crate::error::{Error, Result, SqlState};
use crate::expr::{BinOp, Expr, Func, SubqueryKind};
use crate::plan::{AggCall, AggFunc};
use crate::sql_error;
use crate::value::{DataType, Value};

/// Maps a SQL type name to ours (its length, if any, is `declared::max_chars`).
pub fn data_type(dt: &ast::DataType) -> Result<DataType> {
    use ast::{DataType as T, TimezoneInfo as Tz};
    match dt {
        T::Char(_) | T::Character(_) => return Ok(DataType::Char),
        T::Varchar(_) | T::CharacterVarying(_) | T::CharVarying(_) | T::Nvarchar(_) => {
            return Ok(DataType::Text);
        }
        T::Date => return Ok(DataType::Date),
        T::Timestamp(precision, tz) => {
            // Microseconds are what every timestamp keeps; a coarser precision would round
            // values we would otherwise store unrounded.
            if precision.is_some_and(|p| p != 6) {
                return Err(Error::unsupported(format!(
                    "type {dt} (a fractional-second precision other than 6)"
                )));
            }
            return Ok(match tz {
                Tz::None | Tz::WithoutTimeZone => DataType::Timestamp,
                Tz::WithTimeZone | Tz::Tz => DataType::TimestampTz,
            });
        }
        _ => {}
    }
    let name = dt.to_string().to_ascii_uppercase();
    let unqualified = name.strip_prefix("PG_CATALOG.").unwrap_or(&name);
    if unqualified.contains('(')
        && (unqualified.starts_with("BPCHAR") || unqualified.starts_with("TIMESTAMPTZ"))
    {
        return Err(Error::unsupported(format!(
            "type {name} (write CHAR(n) or TIMESTAMP WITH TIME ZONE)"
        )));
    }
    let base = unqualified.split(['(', ' ']).next().unwrap_or_default();
    Ok(match base {
        // Catalog types: object identifiers are integers here, names text.
        "OID" => DataType::Integer,
        "NAME" => DataType::Text,
        "BOOLEAN" | "BOOL" => DataType::Boolean,
        "INT" | "INTEGER" | "BIGINT" | "SMALLINT" | "TINYINT" | "INT2" | "INT4" | "INT8"
        | "MEDIUMINT" => DataType::Integer,
        "REAL" | "FLOAT" | "FLOAT4" | "FLOAT8" | "DOUBLE" | "NUMERIC" | "DECIMAL" => {
            DataType::Float
        }
        "TEXT" | "VARCHAR" | "STRING" | "NVARCHAR" => DataType::Text,
        "BPCHAR" => DataType::Char,
        "TIMESTAMPTZ" => DataType::TimestampTz,
        _ => return Err(Error::unsupported(format!("type {name}"))),
    })
}

pub fn literal(v: &ast::Value) -> Result<Value> {
    Ok(match v {
        ast::Value::Number(s, _) => match s.parse::<i64>() {
            Ok(i) => Value::Integer(i),
            Err(_) => Value::Float(
                s.parse::<f64>()
                    .map_err(|_| sql_error!(InvalidTextRepresentation, "invalid number {s}"))?,
            ),
        },
        ast::Value::SingleQuotedString(s)
        | ast::Value::EscapedStringLiteral(s)
        | ast::Value::NationalStringLiteral(s)
        | ast::Value::DollarQuotedString(ast::DollarQuotedString { value: s, .. }) => {
            Value::Text(s.clone())
        }
        ast::Value::Boolean(b) => Value::Boolean(*b),
        ast::Value::Null => Value::Null,
        other => return Err(Error::unsupported(format!("literal {other}"))),
    })
}

/// PostgreSQL's regular-expression match operators (`~`, `~*`, `!~`, `!~*`, also spelled
/// `OPERATOR(pg_catalog.~)`): (case-insensitive, negated).
fn regex_op(op: &BinaryOperator) -> Option<(bool, bool)> {
    match op {
        BinaryOperator::PGRegexMatch => Some((false, false)),
        BinaryOperator::PGRegexIMatch => Some((true, false)),
        BinaryOperator::PGRegexNotMatch => Some((false, true)),
        BinaryOperator::PGRegexNotIMatch => Some((true, true)),
        BinaryOperator::PGCustomBinaryOperator(parts) => match parts.as_slice() {
            [schema, op] if schema == "pg_catalog" => regex_op_symbol(op),
            [op] => regex_op_symbol(op),
            _ => None,
        },
        _ => None,
    }
}

fn regex_op_symbol(op: &str) -> Option<(bool, bool)> {
    match op {
        "~" => Some((false, false)),
        "~*" => Some((true, false)),
        "!~" => Some((false, true)),
        "!~*" => Some((true, true)),
        _ => None,
    }
}

/// Operators that chain (left-associative runs at one precedence level); comparisons do not.
fn chain_level(op: &BinaryOperator) -> Option<u8> {
    Some(match op {
        BinaryOperator::Or => 0,
        BinaryOperator::And => 1,
        BinaryOperator::Plus | BinaryOperator::Minus => 2,
        BinaryOperator::Multiply | BinaryOperator::Divide | BinaryOperator::Modulo => 3,
        BinaryOperator::StringConcat => 4,
        _ => return None,
    })
}

fn bin_op(op: &BinaryOperator) -> Result<BinOp> {
    Ok(match op {
        BinaryOperator::Plus => BinOp::Add,
        BinaryOperator::Minus => BinOp::Sub,
        BinaryOperator::Multiply => BinOp::Mul,
        BinaryOperator::Divide => BinOp::Div,
        BinaryOperator::Modulo => BinOp::Mod,
        BinaryOperator::StringConcat => BinOp::Concat,
        BinaryOperator::Eq => BinOp::Eq,
        BinaryOperator::NotEq => BinOp::NotEq,
        BinaryOperator::Lt => BinOp::Lt,
        BinaryOperator::LtEq => BinOp::LtEq,
        BinaryOperator::Gt => BinOp::Gt,
        BinaryOperator::GtEq => BinOp::GtEq,
        BinaryOperator::And => BinOp::And,
        BinaryOperator::Or => BinOp::Or,
        other => return Err(Error::unsupported(format!("operator {other}"))),
    })
}

impl Planner<'_> {
    /// Binds `e` against `scope` (and the enclosing queries' scopes for correlated names).
    /// Nesting deeper than [`crate::depth::MAX_EXPRESSION_DEPTH`] fails with 54001.
    pub fn bind_expr(&mut self, e: &ast::Expr, scope: &Scope) -> Result<Expr> {
        self.depth.enter()?;
        let bound = crate::depth::guard(|| self.bind_expr_here(e, scope));
        self.depth.leave();
        bound
    }

    /// The group-by key `e` repeats, if binding an aggregate's output and it repeats one.
    fn group_key(&self, e: &ast::Expr) -> Option<usize> {
        let ctx = self.agg.as_ref()?;
        let spine = super::spine_len(e);
        if !ctx.group_texts.iter().any(|(_, s)| *s == spine) {
            return None;
        }
        let text = e.to_string();
        ctx.group_texts.iter().position(|(g, _)| *g == text)
    }

    /// A left-deep run of binary operators of one precedence level, `((a op₁ b) op₂ c) …`,
    /// bound in a loop to one node however long it is (its operands recurse as usual). The run
    /// stops at another level, so `x > 5 AND x <= 9` keeps its comparisons visible to
    /// access-path selection; down a left spine the level only rises, so that bounds the
    /// recursion between runs.
    fn bind_chain(&mut self, e: &ast::Expr, scope: &Scope) -> Result<Expr> {
        let mut ops = Vec::new();
        let mut cur = e;
        let mut first = None;
        let level = match e {
            ast::Expr::BinaryOp { op, .. } => chain_level(op),
            _ => None,
        };
        while let ast::Expr::BinaryOp { left, op, right } = cur {
            if !ops.is_empty() && (level.is_none() || chain_level(op) != level) {
                break;
            }
            // A prefix of the chain may itself be a group-by key (GROUP BY a + b ... a + b + c).
            if !ops.is_empty()
                && let Some(i) = self.group_key(cur)
            {
                first = Some(Expr::Column(i));
                break;
            }
            ops.push((op, right));
            cur = left;
        }
        let first = match first {
            Some(f) => f,
            None => self.bind_expr(cur, scope)?,
        };
        let mut rest = Vec::with_capacity(ops.len());
        for (op, right) in ops.into_iter().rev() {
            rest.push((bin_op(op)?, self.bind_expr(right, scope)?));
        }
        self.infer_chain(&first, &rest, scope);
        Ok(Expr::chain(first, rest))
    }

    fn bind_expr_here(&mut self, e: &ast::Expr, scope: &Scope) -> Result<Expr> {
        if let Some(i) = self.group_key(e) {
            return Ok(Expr::Column(i));
        }
        let bound = match e {
            ast::Expr::Identifier(id) => self.bind_column(None, &ident(id), scope)?,
            ast::Expr::CompoundIdentifier(ids) => {
                let names: Vec<String> = ids.iter().map(ident).collect();
                match names.as_slice() {
                    [table, column] => self.bind_column(Some(table), column, scope)?,
                    // The relation's schema-qualified name (`pg_catalog.pg_class.relname`).
                    [schema, table, column]
                        if crate::system::Schema::from_name(schema).is_some() =>
                    {
                        self.bind_column(Some(table), column, scope)?
                    }
                    [schema, table, _] => {
                        return Err(sql_error!(
                            UndefinedTable,
                            "missing FROM-clause entry for table \"{schema}.{table}\""
                        ));
                    }
                    _ => return Err(Error::unsupported(format!("name {e}"))),
                }
            }
            ast::Expr::Value(v) => match &v.value {
                ast::Value::Placeholder(p) => self.params.bind(p)?,
                v => Expr::Literal(literal(v)?),
            },
            ast::Expr::Nested(inner) => self.bind_expr(inner, scope)?,
            ast::Expr::UnaryOp { op, expr } => {
                let inner = self.bind_expr(expr, scope)?;
                match op {
                    UnaryOperator::Minus => Expr::Neg(Box::new(inner)),
                    UnaryOperator::Plus => inner,
                    UnaryOperator::Not => {
                        self.params.infer(&inner, Some(DataType::Boolean));
                        Expr::Not(Box::new(inner))
                    }
                    other => return Err(Error::unsupported(format!("operator {other}"))),
                }
            }
            ast::Expr::BinaryOp { left, op, right } if regex_op(op).is_some() => {
                let (case_insensitive, negated) = regex_op(op).unwrap_or_default();
                let func = if case_insensitive {
                    Func::RegexIMatch
                } else {
                    Func::RegexMatch
                };
                let matched = Expr::Function(
                    func,
                    vec![self.bind_expr(left, scope)?, self.bind_expr(right, scope)?],
                );
                if negated {
                    Expr::Not(Box::new(matched))
                } else {
                    matched
                }
            }
            ast::Expr::BinaryOp { .. } => self.bind_chain(e, scope)?,
            ast::Expr::AnyOp {
                left,
                compare_op,
                right,
                ..
            } => self.bind_quantified(true, left, compare_op, right, scope)?,
            ast::Expr::AllOp {
                left,
                compare_op,
                right,
            } => self.bind_quantified(false, left, compare_op, right, scope)?,
            ast::Expr::Collate { expr, collation } => {
                // Text compares byte-wise: the default collation is C, which is also all
                // there is. Any other collation is not honoured, so it is an error.
                let parts = crate::system::name_parts(collation)?;
                let name = parts.last().map(String::as_str).unwrap_or_default();
                if !matches!(name, "default" | "C" | "POSIX")
                    || (parts.len() == 2 && parts[0] != "pg_catalog")
                    || parts.len() > 2
                {
                    return Err(sql_error!(
                        UndefinedObject,
                        "collation \"{}\" for encoding \"UTF8\" does not exist",
                        parts.join(".")
                    ));
                }
                self.bind_expr(expr, scope)?
            }
            ast::Expr::IsNull(x) => Expr::IsNull {
                expr: Box::new(self.bind_expr(x, scope)?),
                negated: false,
            },
            ast::Expr::IsNotNull(x) => Expr::IsNull {
                expr: Box::new(self.bind_expr(x, scope)?),
                negated: true,
            },
            ast::Expr::IsTrue(x) => Expr::IsDistinct {
                left: Box::new(self.bind_expr(x, scope)?),
                right: Box::new(Expr::Literal(Value::Boolean(true))),
                negated: true,
            },
            ast::Expr::IsFalse(x) => Expr::IsDistinct {
                left: Box::new(self.bind_expr(x, scope)?),
                right: Box::new(Expr::Literal(Value::Boolean(false))),
                negated: true,
            },
            ast::Expr::IsNotTrue(x) => Expr::IsDistinct {
                left: Box::new(self.bind_expr(x, scope)?),
                right: Box::new(Expr::Literal(Value::Boolean(true))),
                negated: false,
            },
            ast::Expr::IsNotFalse(x) => Expr::IsDistinct {
                left: Box::new(self.bind_expr(x, scope)?),
                right: Box::new(Expr::Literal(Value::Boolean(false))),
                negated: false,
            },
            ast::Expr::IsDistinctFrom(a, b) => Expr::IsDistinct {
                left: Box::new(self.bind_expr(a, scope)?),
                right: Box::new(self.bind_expr(b, scope)?),
                negated: false,
            },
            ast::Expr::IsNotDistinctFrom(a, b) => Expr::IsDistinct {
                left: Box::new(self.bind_expr(a, scope)?),
                right: Box::new(self.bind_expr(b, scope)?),
                negated: true,
            },
            ast::Expr::Between {
                expr,
                negated,
                low,
                high,
            } => {
                let x = self.bind_expr(expr, scope)?;
                let lo = self.bind_expr(low, scope)?;
                let hi = self.bind_expr(high, scope)?;
                self.infer_chain(&x, &[(BinOp::GtEq, lo.clone())], scope);
                self.infer_chain(&x, &[(BinOp::LtEq, hi.clone())], scope);
                let within = Expr::and(
                    Expr::Binary(BinOp::GtEq, Box::new(x.clone()), Box::new(lo)),
                    Expr::Binary(BinOp::LtEq, Box::new(x), Box::new(hi)),
                );
                if *negated {
                    Expr::Not(Box::new(within))
                } else {
                    within
                }
            }
            ast::Expr::Like {
                negated,
                expr,
                pattern,
                escape_char,
                any,
            }
            | ast::Expr::ILike {
                negated,
                expr,
                pattern,
                escape_char,
                any,
            } => {
                if escape_char.is_some() || *any {
                    return Err(Error::unsupported("LIKE with ESCAPE or ANY"));
                }
                let (expr, pattern) = (
                    self.bind_expr(expr, scope)?,
                    self.bind_expr(pattern, scope)?,
                );
                self.params.infer(&expr, Some(DataType::Text));
                self.params.infer(&pattern, Some(DataType::Text));
                Expr::Like {
                    expr: Box::new(expr),
                    pattern: Box::new(pattern),
                    negated: *negated,
                    case_insensitive: matches!(e, ast::Expr::ILike { .. }),
                }
            }
            ast::Expr::In {
                expr,
                target,
                negated,
                ..
            } => {
                let x = self.bind_expr(expr, scope)?;
                match target {
                    ast::InTarget::List(list) => {
                        let list: Vec<Expr> = list
                            .iter()
                            .map(|i| self.bind_expr(i, scope))
                            .collect::<Result<_>>()?;
                        for item in &list {
                            self.infer_chain(&x, &[(BinOp::Eq, item.clone())], scope);
                        }
                        Expr::InList {
                            expr: Box::new(x),
                            list,
                            negated: *negated,
                        }
                    }
                    ast::InTarget::Subquery(q) => {
                        let plan = self.plan_subquery(q, scope, true)?;
                        Expr::Subquery {
                            plan: Box::new(plan),
                            kind: SubqueryKind::In(Box::new(x)),
                            negated: *negated,
                        }
                    }
                    other => return Err(Error::unsupported(format!("IN {other:?}"))),
                }
            }
            ast::Expr::Exists { subquery, negated } => {
                let plan = self.plan_subquery(subquery, scope, false)?;
                Expr::Subquery {
                    plan: Box::new(plan),
                    kind: SubqueryKind::Exists,
                    negated: *negated,
                }
            }
            ast::Expr::Subquery(q) => {
                let plan = self.plan_subquery(q, scope, true)?;
                Expr::Subquery {
                    plan: Box::new(plan),
                    kind: SubqueryKind::Scalar,
                    negated: false,
                }
            }
            ast::Expr::Case {
                operand,
                conditions,
                else_result,
                ..
            } => Expr::Case {
                operand: operand
                    .as_ref()
                    .map(|o| self.bind_expr(o, scope).map(Box::new))
                    .transpose()?,
                whens: conditions
                    .iter()
                    .map(|w| {
                        Ok((
                            self.bind_expr(&w.condition, scope)?,
                            self.bind_expr(&w.result, scope)?,
                        ))
                    })
                    .collect::<Result<_>>()?,
                otherwise: else_result
                    .as_ref()
                    .map(|o| self.bind_expr(o, scope).map(Box::new))
                    .transpose()?,
            },
            ast::Expr::Cast {
                expr,
                data_type: dt,
                ..
            } => {
                let inner = self.bind_expr(expr, scope)?;
                match crate::system::RegType::from_name(&dt.to_string().to_lowercase()) {
                    Some(kind) => crate::system::bind_reg_cast(self.txn, kind, inner)?,
                    None => {
                        let ty = data_type(dt)?;
                        self.params.infer(&inner, Some(ty));
                        Expr::Cast(Box::new(inner), ty, crate::declared::max_chars(dt)?)
                    }
                }
            }
            ast::Expr::TypedString(ts) => {
                let v = literal(&ts.value.value)?;
                Expr::Cast(
                    Box::new(Expr::Literal(v)),
                    data_type(&ts.data_type)?,
                    crate::declared::max_chars(&ts.data_type)?,
                )
            }
            ast::Expr::Substring {
                expr,
                substring_from,
                substring_for,
                ..
            } => {
                let mut args = vec![self.bind_expr(expr, scope)?];
                args.push(match substring_from {
                    Some(f) => self.bind_expr(f, scope)?,
                    None => Expr::Literal(Value::Integer(1)),
                });
                if let Some(n) = substring_for {
                    args.push(self.bind_expr(n, scope)?);
                }
                Expr::Function(Func::Substr, args)
            }
            ast::Expr::Trim {
                expr,
                trim_where,
                trim_what,
                ..
            } => {
                let func = match trim_where {
                    Some(ast::TrimWhereField::Leading) => Func::LTrim,
                    Some(ast::TrimWhereField::Trailing) => Func::RTrim,
                    _ => Func::Trim,
                };
                let mut args = vec![self.bind_expr(expr, scope)?];
                if let Some(w) = trim_what {
                    args.push(self.bind_expr(w, scope)?);
                }
                Expr::Function(func, args)
            }
            ast::Expr::Position { expr, r#in } => Expr::Function(
                Func::Position,
                vec![self.bind_expr(r#in, scope)?, self.bind_expr(expr, scope)?],
            ),
            ast::Expr::Function(f) => self.bind_function(f, scope)?,
            other => return Err(Error::unsupported(format!("expression {other}"))),
        };
        Ok(bound)
    }

    /// `x op ANY (…)` (`any`) or `x op ALL (…)` over an `ARRAY[…]` list or a subquery: the
    /// disjunction (conjunction) of `x op element`, with SQL's three-valued logic; `= ANY`
    /// is `IN` and `<> ALL` is `NOT IN`.
    fn bind_quantified(
        &mut self,
        any: bool,
        left: &ast::Expr,
        op: &BinaryOperator,
        right: &ast::Expr,
        scope: &Scope,
    ) -> Result<Expr> {
        let quantifier = if any { "ANY" } else { "ALL" };
        let op = bin_op(op)?;
        if !op.is_comparison() {
            return Err(Error::unsupported(format!("{} {quantifier}", op.symbol())));
        }
        let x = self.bind_expr(left, scope)?;
        let elements = match right {
            ast::Expr::Array(a) => &a.elem,
            ast::Expr::Subquery(q)
                if matches!((any, op), (true, BinOp::Eq) | (false, BinOp::NotEq)) =>
            {
                let plan = self.plan_subquery(q, scope, true)?;
                return Ok(Expr::Subquery {
                    plan: Box::new(plan),
                    kind: SubqueryKind::In(Box::new(x)),
                    negated: !any,
                });
            }
            _ => {
                return Err(Error::unsupported(format!(
                    "{} {quantifier} over anything but an ARRAY[...] list (arrays are not a type here)",
                    op.symbol()
                )));
            }
        };
        let list = elements
            .iter()
            .map(|e| self.bind_expr(e, scope))
            .collect::<Result<Vec<_>>>()?;
        Ok(match (any, op) {
            (true, BinOp::Eq) | (false, BinOp::NotEq) => Expr::InList {
                expr: Box::new(x),
                list,
                negated: !any,
            },
            _ => {
                let mut terms = list
                    .into_iter()
                    .map(|v| Expr::Binary(op, Box::new(x.clone()), Box::new(v)));
                // Over no elements ANY is false and ALL is true.
                let Some(first) = terms.next() else {
                    return Ok(Expr::Literal(Value::Boolean(!any)));
                };
                let join = if any { BinOp::Or } else { BinOp::And };
                Expr::chain(first, terms.map(|t| (join, t)).collect())
            }
        })
    }

    pub(super) fn bind_column(
        &mut self,
        table: Option<&str>,
        name: &str,
        scope: &Scope,
    ) -> Result<Expr> {
        if let Some(ctx) = &self.agg {
            if let Some(i) = ctx.input_scope.resolve(table, name)? {
                return match ctx.group_exprs.iter().position(|g| *g == Expr::Column(i)) {
                    Some(j) => Ok(Expr::Column(j)),
                    None => Err(sql_error!(
                        GroupingError,
                        "column \"{name}\" must appear in the GROUP BY clause or be used in an aggregate function"
                    )),
                };
            }
        } else if let Some(i) = scope.resolve(table, name)? {
            return Ok(Expr::Column(i));
        }
        for (depth, outer) in self.outer.iter().rev().enumerate() {
            if let Some(i) = outer.resolve(table, name)? {
                return Ok(Expr::Outer {
                    depth: depth + 1,
                    index: i,
                });
            }
        }
        let full = table.map_or(name.to_string(), |t| format!("{t}.{name}"));
        if let Some(t) = table
            && !scope.has_table(t)
            && !self.outer.iter().any(|s| s.has_table(t))
        {
            return Err(Error::new(
                SqlState::UndefinedTable,
                format!("missing FROM-clause entry for table \"{t}\""),
            ));
        }
        Err(Error::new(
            SqlState::UndefinedColumn,
            format!("column \"{full}\" does not exist"),
        ))
    }

    fn bind_function(&mut self, f: &ast::Function, scope: &Scope) -> Result<Expr> {
        let name = object_name(&f.name)?;
        if f.over.is_some() {
            return Err(Error::unsupported("WINDOW functions"));
        }
        if f.filter.is_some() {
            return Err(Error::unsupported("aggregate FILTER clauses"));
        }
        // Borrowed, not cloned: a clone of nested calls would recurse as deep as they nest.
        let (args, distinct): (&[FunctionArg], bool) = match &f.args {
            FunctionArguments::None => (&[], false),
            FunctionArguments::List(list) => (
                &list.args,
                matches!(
                    list.duplicate_treatment,
                    Some(ast::DuplicateTreatment::Distinct)
                ),
            ),
            FunctionArguments::Subquery(q) if name == "array" => {
                let plan = self.plan_subquery(q, scope, true)?;
                return Ok(Expr::Subquery {
                    plan: Box::new(plan),
                    kind: SubqueryKind::Array,
                    negated: false,
                });
            }
            FunctionArguments::Subquery(_) => {
                return Err(Error::unsupported("subquery as a function argument"));
            }
        };
        if let Some(agg) = AggFunc::from_name(&name) {
            let ctx = self.agg.take().ok_or_else(|| {
                sql_error!(GroupingError, "aggregate functions are not allowed here")
            })?;
            let result = self.bind_aggregate(agg, args, distinct, &ctx);
            let mut ctx = ctx;
            let out = result.map(|call| {
                let key = format!("{call:?}");
                let j = match ctx.aggregates.iter().position(|(k, _)| *k == key) {
                    Some(j) => j,
                    None => {
                        ctx.aggregates.push((key, call));
                        ctx.aggregates.len() - 1
                    }
                };
                Expr::Column(ctx.group_exprs.len() + j)
            });
            self.agg = Some(ctx);
            return out;
        }
        if let Some(v) = self.transaction_time(&name, args)? {
            return Ok(Expr::Literal(v));
        }
        if distinct {
            return Err(Error::unsupported(format!("DISTINCT in {name}()")));
        }
        let mut bound = Vec::with_capacity(args.len());
        for a in args {
            match a {
                FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => {
                    bound.push(self.bind_expr(e, scope)?)
                }
                other => return Err(Error::unsupported(format!("argument {other} of {name}()"))),
            }
        }
        if let Some(e) = crate::system::bind_catalog_function(self.txn, &name, bound.clone())? {
            return Ok(e);
        }
        let func = Func::from_name(&name)
            .ok_or_else(|| sql_error!(UndefinedFunction, "function {name}() does not exist"))?;
        Ok(Expr::Function(func, bound))
    }

    /// `now()`, `CURRENT_TIMESTAMP`, `LOCALTIMESTAMP`, `CURRENT_DATE`: the transaction's start
    /// on the store's hybrid clock (millisecond resolution), one value for every statement
    /// of the transaction as in PostgreSQL, bound here as a literal. The session TimeZone is
    /// UTC, so the local forms are the same instant without a zone.
    fn transaction_time(&self, name: &str, args: &[FunctionArg]) -> Result<Option<Value>> {
        let t = || crate::datetime::from_unix_millis(self.txn.begun_at().wall_ms);
        let v = match name {
            "now" | "current_timestamp" | "transaction_timestamp" => Value::TimestampTz(t()),
            "localtimestamp" => Value::Timestamp(t()),
            "current_date" => Value::Date(crate::datetime::timestamp_to_date(t())),
            _ => return Ok(None),
        };
        if !args.is_empty() {
            return Err(Error::unsupported(format!(
                "arguments to {name} (a precision other than the default)"
            )));
        }
        self.transaction_time
            .store(true, std::sync::atomic::Ordering::Relaxed);
        Ok(Some(v))
    }

    fn bind_aggregate(
        &mut self,
        func: AggFunc,
        args: &[FunctionArg],
        distinct: bool,
        ctx: &AggContext,
    ) -> Result<AggCall> {
        let arg = match args {
            [FunctionArg::Unnamed(FunctionArgExpr::Wildcard)] if func == AggFunc::Count => None,
            [FunctionArg::Unnamed(FunctionArgExpr::Expr(e))] => {
                // Arguments see the input rows; nested aggregates are not allowed (agg is None).
                let bound = self.bind_expr(e, &ctx.input_scope)?;
                Some(bound)
            }
            _ => {
                return Err(sql_error!(
                    UndefinedFunction,
                    "function {}() takes one argument",
                    func.name()
                ));
            }
        };
        Ok(AggCall {
            func,
            arg,
            distinct,
        })
    }
}
