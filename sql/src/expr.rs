//! Bound expressions and their evaluation (three-valued logic, PostgreSQL semantics for
//! overflow, division by zero and comparisons).

use std::cmp::Ordering;
use std::fmt;

use crate::error::{Error, Result};
use crate::plan::Plan;
use crate::sql_error;
use crate::value::{DataType, Row, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Concat,
    Eq,
    NotEq,
    Lt,
    LtEq,
    Gt,
    GtEq,
    And,
    Or,
}

impl BinOp {
    pub fn symbol(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Mod => "%",
            BinOp::Concat => "||",
            BinOp::Eq => "=",
            BinOp::NotEq => "<>",
            BinOp::Lt => "<",
            BinOp::LtEq => "<=",
            BinOp::Gt => ">",
            BinOp::GtEq => ">=",
            BinOp::And => "AND",
            BinOp::Or => "OR",
        }
    }

    pub fn is_comparison(self) -> bool {
        matches!(
            self,
            BinOp::Eq | BinOp::NotEq | BinOp::Lt | BinOp::LtEq | BinOp::Gt | BinOp::GtEq
        )
    }

    /// The comparison with its operands swapped (`a < b` is `b > a`).
    pub fn flip(self) -> BinOp {
        match self {
            BinOp::Lt => BinOp::Gt,
            BinOp::LtEq => BinOp::GtEq,
            BinOp::Gt => BinOp::Lt,
            BinOp::GtEq => BinOp::LtEq,
            other => other,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Func {
    Abs,
    Coalesce,
    NullIf,
    Length,
    Upper,
    Lower,
    Substr,
    Trim,
    LTrim,
    RTrim,
    Replace,
    Concat,
    Round,
    Position,
    /// `format_type(type_oid, typmod)`: not strict (a NULL typmod means none).
    FormatType,
    /// `text ~ pattern` (POSIX regular expression match), `~*` case-insensitively.
    RegexMatch,
    RegexIMatch,
    /// `array_to_string(array, separator)` over an array in PostgreSQL's text output (the
    /// only form arrays take here).
    ArrayToString,
}

impl Func {
    pub fn from_name(name: &str) -> Option<Func> {
        Some(match name {
            "abs" => Func::Abs,
            "coalesce" | "ifnull" => Func::Coalesce,
            "nullif" => Func::NullIf,
            "length" | "char_length" | "character_length" => Func::Length,
            "upper" => Func::Upper,
            "lower" => Func::Lower,
            "substr" | "substring" => Func::Substr,
            "trim" | "btrim" => Func::Trim,
            "ltrim" => Func::LTrim,
            "rtrim" => Func::RTrim,
            "replace" => Func::Replace,
            "concat" => Func::Concat,
            "round" => Func::Round,
            "strpos" => Func::Position,
            "format_type" => Func::FormatType,
            "textregexeq" => Func::RegexMatch,
            "texticregexeq" => Func::RegexIMatch,
            "array_to_string" => Func::ArrayToString,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Func::Abs => "abs",
            Func::Coalesce => "coalesce",
            Func::NullIf => "nullif",
            Func::Length => "length",
            Func::Upper => "upper",
            Func::Lower => "lower",
            Func::Substr => "substr",
            Func::Trim => "btrim",
            Func::LTrim => "ltrim",
            Func::RTrim => "rtrim",
            Func::Replace => "replace",
            Func::Concat => "concat",
            Func::Round => "round",
            Func::Position => "strpos",
            Func::FormatType => "format_type",
            Func::RegexMatch => "textregexeq",
            Func::RegexIMatch => "texticregexeq",
            Func::ArrayToString => "array_to_string",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum SubqueryKind {
    Scalar,
    Exists,
    /// `ARRAY(subquery)`: the rows' first values as an array in PostgreSQL's text output
    /// (`{a,b}`), the only form arrays take here.
    Array,
    /// `expr IN (subquery)`.
    In(Box<Expr>),
}

/// A bound expression over a row of its input.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Literal(Value),
    /// A column of the input row.
    Column(usize),
    /// A column of an enclosing query's row (`depth` 1 = the nearest enclosing query); bound
    /// to a literal before a correlated subquery runs.
    Outer {
        depth: usize,
        index: usize,
    },
    /// Parameter `$n` of a prepared statement (0-based: `$1` is `Param(0)`). Replaced by a
    /// literal of the statement's parameter value before the plan runs (see `prepared`), so
    /// evaluation never meets one.
    Param(usize),
    Neg(Box<Expr>),
    Not(Box<Expr>),
    Binary(BinOp, Box<Expr>, Box<Expr>),
    /// A left-associative chain `first op₁ e₁ op₂ e₂ …` evaluated left to right, exactly as
    /// the nested `Binary` nodes it replaces (`((first op₁ e₁) op₂ e₂) …`), including
    /// short-circuiting and overflow order. The binder produces it for a run of two or more
    /// binary operators so that a 10,000-term `OR`/`AND`/`+` chain is one wide node, not a
    /// tree 10,000 levels deep (see `depth`). Invariant: `rest.len() >= 2`.
    Chain {
        first: Box<Expr>,
        rest: Vec<(BinOp, Expr)>,
    },
    IsNull {
        expr: Box<Expr>,
        negated: bool,
    },
    IsDistinct {
        left: Box<Expr>,
        right: Box<Expr>,
        negated: bool,
    },
    Like {
        expr: Box<Expr>,
        pattern: Box<Expr>,
        negated: bool,
        case_insensitive: bool,
    },
    InList {
        expr: Box<Expr>,
        list: Vec<Expr>,
        negated: bool,
    },
    Case {
        operand: Option<Box<Expr>>,
        whens: Vec<(Expr, Expr)>,
        otherwise: Option<Box<Expr>>,
    },
    /// `CAST(e AS type)`, with the length of `CHAR(n)`/`VARCHAR(n)` (None: unbounded).
    Cast(Box<Expr>, DataType, Option<u64>),
    Function(Func, Vec<Expr>),
    Subquery {
        plan: Box<Plan>,
        kind: SubqueryKind,
        negated: bool,
    },
}

/// Runs subqueries for the evaluator (implemented by the executor).
pub trait SubqueryRunner {
    /// Rows of `plan`, with `outer` as the row of the nearest enclosing query.
    fn run(&self, plan: &Plan, outer: &Row) -> Result<Vec<Row>>;
}

/// A runner for contexts where subqueries cannot appear (constant folding, defaults).
#[derive(Debug)]
pub struct NoSubqueries;

impl SubqueryRunner for NoSubqueries {
    fn run(&self, _plan: &Plan, _outer: &Row) -> Result<Vec<Row>> {
        Err(Error::unsupported("subqueries here"))
    }
}

fn overflow() -> Error {
    sql_error!(NumericValueOutOfRange, "integer out of range")
}

/// Compares two non-null values for SQL comparison operators.
pub fn compare(a: &Value, b: &Value) -> Result<Ordering> {
    use Value::*;
    Ok(match (a, b) {
        (Integer(x), Integer(y)) => x.cmp(y),
        (Float(x), Float(y)) => x.partial_cmp(y).unwrap_or_else(|| a.total_cmp(b)),
        // Mixed integer and float compare as numbers (NaN sorts last, as in total_cmp).
        (Integer(_) | Float(_), Integer(_) | Float(_)) => numeric_f64(a)
            .partial_cmp(&numeric_f64(b))
            .unwrap_or_else(|| a.total_cmp(b)),
        (Text(x), Text(y)) => x.cmp(y),
        // A text literal compared with a CHAR is read as one (PostgreSQL resolves the
        // literal's unknown type to bpchar): trailing blanks count on neither side.
        (Char(x), Char(y) | Text(y)) | (Text(x), Char(y)) => crate::bpchar::cmp(x, y),
        (Boolean(x), Boolean(y)) => x.cmp(y),
        (Timestamp(_) | TimestampTz(_) | Date(_), Timestamp(_) | TimestampTz(_) | Date(_)) => {
            crate::datetime::cmp(a, b).ok_or_else(|| Error::internal("datetime comparison"))?
        }
        // A text compared with a date/time is read as that type, as a literal would be.
        (Text(s), Timestamp(_) | TimestampTz(_) | Date(_)) => {
            return compare(&cast(Text(s.clone()), type_of_value(b))?, b);
        }
        (Timestamp(_) | TimestampTz(_) | Date(_), Text(s)) => {
            return compare(a, &cast(Text(s.clone()), type_of_value(a))?);
        }
        (Text(s) | Char(s), Integer(_) | Float(_)) => return compare(&parse_number(s)?, b),
        (Integer(_) | Float(_), Text(s) | Char(s)) => return compare(a, &parse_number(s)?),
        (Text(s), Boolean(_)) => return compare(&cast(Text(s.clone()), DataType::Boolean)?, b),
        (Boolean(_), Text(s)) => return compare(a, &cast(Text(s.clone()), DataType::Boolean)?),
        _ => {
            return Err(sql_error!(
                UndefinedFunction,
                "operator does not exist: {} = {}",
                type_name(a),
                type_name(b)
            ));
        }
    })
}

fn numeric_f64(v: &Value) -> f64 {
    match v {
        Value::Integer(i) => *i as f64,
        Value::Float(f) => *f,
        _ => f64::NAN,
    }
}

fn type_name(v: &Value) -> &'static str {
    v.data_type().map_or("unknown", DataType::name)
}

/// The type of a value known not to be NULL (`Text` for NULL, which callers never pass).
fn type_of_value(v: &Value) -> DataType {
    v.data_type().unwrap_or(DataType::Text)
}

fn parse_number(s: &str) -> Result<Value> {
    let t = s.trim();
    if let Ok(i) = t.parse::<i64>() {
        return Ok(Value::Integer(i));
    }
    t.parse::<f64>().map(Value::Float).map_err(|_| {
        sql_error!(
            InvalidTextRepresentation,
            "invalid input syntax for type numeric: \"{s}\""
        )
    })
}

/// `CAST(v AS ty(len))`: [`cast`], then an explicit cast's length rule — CHAR(n) truncates or
/// pads to exactly `n`, VARCHAR(n) truncates — silently, as PostgreSQL's explicit casts do.
pub fn cast_explicit(v: Value, ty: DataType, len: Option<u64>) -> Result<Value> {
    Ok(match (cast(v, ty)?, len) {
        (Value::Char(s), Some(n)) => Value::Char(crate::bpchar::cast(&s, n)),
        (Value::Text(s), Some(n)) => {
            let keep = usize::try_from(n).unwrap_or(usize::MAX);
            match s.char_indices().nth(keep) {
                Some((cut, _)) => Value::Text(s[..cut].to_string()),
                None => Value::Text(s),
            }
        }
        (v, _) => v,
    })
}

/// Converts `v` to `ty` (CAST and assignment; lengths are the caller's: see [`cast_explicit`]
/// and `ColumnDef::fit`).
pub fn cast(v: Value, ty: DataType) -> Result<Value> {
    use crate::datetime::{Kind, date_to_timestamp, parse_value, timestamp_to_date};
    use Value::*;
    Ok(match (v, ty) {
        (Null, _) => Null,
        (Char(s), DataType::Char) => Char(s),
        // CHAR to anything else goes through text, which drops the trailing blanks.
        (Char(s), ty) => return cast(Text(crate::bpchar::significant(&s).to_string()), ty),
        (Text(s), DataType::Char) => Char(s),
        (v @ (Integer(_) | Float(_) | Boolean(_)), DataType::Char) => {
            Char(cast(v, DataType::Text)?.to_string())
        }
        (Text(s), DataType::Timestamp) => parse_value(&s, Kind::Timestamp)?,
        (Text(s), DataType::TimestampTz) => parse_value(&s, Kind::TimestampTz)?,
        (Text(s), DataType::Date) => parse_value(&s, Kind::Date)?,
        (v @ (Timestamp(_) | TimestampTz(_) | Date(_)), DataType::Text) => Text(v.to_string()),
        (v @ (Timestamp(_) | TimestampTz(_) | Date(_)), DataType::Char) => Char(v.to_string()),
        // The session TimeZone is UTC, so TIMESTAMP and TIMESTAMPTZ share their microseconds.
        (Timestamp(t) | TimestampTz(t), DataType::Timestamp) => Timestamp(t),
        (Timestamp(t) | TimestampTz(t), DataType::TimestampTz) => TimestampTz(t),
        (Timestamp(t) | TimestampTz(t), DataType::Date) => Date(timestamp_to_date(t)),
        (Date(d), DataType::Date) => Date(d),
        (Date(d), DataType::Timestamp) => Timestamp(date_to_timestamp(d)?),
        (Date(d), DataType::TimestampTz) => TimestampTz(date_to_timestamp(d)?),
        (v @ (Timestamp(_) | TimestampTz(_) | Date(_)), ty)
        | (v, ty @ (DataType::Timestamp | DataType::TimestampTz | DataType::Date)) => {
            return Err(sql_error!(
                CannotCoerce,
                "cannot cast type {} to {}",
                type_of_value(&v).pg_name(),
                ty.pg_name()
            ));
        }
        (Integer(i), DataType::Integer) => Integer(i),
        (Integer(i), DataType::Float) => Float(i as f64),
        (Integer(i), DataType::Text) => Text(i.to_string()),
        (Integer(i), DataType::Boolean) => Boolean(i != 0),
        (Float(f), DataType::Float) => Float(f),
        (Float(f), DataType::Integer) => {
            let r = f.round_ties_even();
            if !r.is_finite() || r < i64::MIN as f64 || r >= i64::MAX as f64 {
                return Err(overflow());
            }
            Integer(r as i64)
        }
        (Float(f), DataType::Text) => Text(crate::value::format_float(f)),
        (Float(_), DataType::Boolean) => {
            return Err(sql_error!(
                DatatypeMismatch,
                "cannot cast type float to boolean"
            ));
        }
        (Boolean(b), DataType::Boolean) => Boolean(b),
        (Boolean(b), DataType::Integer) => Integer(i64::from(b)),
        (Boolean(b), DataType::Text) => Text(if b { "true" } else { "false" }.into()),
        (Boolean(_), DataType::Float) => {
            return Err(sql_error!(
                DatatypeMismatch,
                "cannot cast type boolean to float"
            ));
        }
        (Text(s), DataType::Text) => Text(s),
        (Text(s), DataType::Integer) => Integer(s.trim().parse::<i64>().map_err(|_| {
            sql_error!(
                InvalidTextRepresentation,
                "invalid input syntax for type integer: \"{s}\""
            )
        })?),
        (Text(s), DataType::Float) => Float(s.trim().parse::<f64>().map_err(|_| {
            sql_error!(
                InvalidTextRepresentation,
                "invalid input syntax for type float: \"{s}\""
            )
        })?),
        (Text(s), DataType::Boolean) => match s.trim().to_ascii_lowercase().as_str() {
            "t" | "true" | "yes" | "y" | "on" | "1" => Boolean(true),
            "f" | "false" | "no" | "n" | "off" | "0" => Boolean(false),
            _ => {
                return Err(sql_error!(
                    InvalidTextRepresentation,
                    "invalid input syntax for type boolean: \"{s}\""
                ));
            }
        },
    })
}

fn arith(op: BinOp, a: Value, b: Value) -> Result<Value> {
    use Value::*;
    let (a, b) = match (a, b) {
        // `date - 'YYYY-MM-DD'` reads the text as a date (a number of days if it is one).
        (d @ Date(_), Text(s)) if op == BinOp::Sub && parse_number(&s).is_err() => {
            (d, cast(Text(s), DataType::Date)?)
        }
        (Text(s) | Char(s), other) => (parse_number(&s)?, other),
        (other, Text(s) | Char(s)) => (other, parse_number(&s)?),
        pair => pair,
    };
    Ok(match (a, b) {
        (Date(d), Integer(n)) if op == BinOp::Add => crate::datetime::add_days(d, n)?,
        (Integer(n), Date(d)) if op == BinOp::Add => crate::datetime::add_days(d, n)?,
        (Date(d), Integer(n)) if op == BinOp::Sub => {
            crate::datetime::add_days(d, n.checked_neg().ok_or_else(overflow)?)?
        }
        (Date(x), Date(y)) if op == BinOp::Sub => crate::datetime::days_between(x, y)?,
        (Timestamp(_) | TimestampTz(_) | Date(_), Timestamp(_) | TimestampTz(_) | Date(_))
            if op == BinOp::Sub =>
        {
            return Err(Error::unsupported(
                "subtracting timestamps (the result is an interval, a type Chronos does not \
                 have yet)",
            ));
        }
        (Integer(x), Integer(y)) => Integer(match op {
            BinOp::Add => x.checked_add(y).ok_or_else(overflow)?,
            BinOp::Sub => x.checked_sub(y).ok_or_else(overflow)?,
            BinOp::Mul => x.checked_mul(y).ok_or_else(overflow)?,
            BinOp::Div => {
                if y == 0 {
                    return Err(sql_error!(DivisionByZero, "division by zero"));
                }
                x.checked_div(y).ok_or_else(overflow)?
            }
            BinOp::Mod => {
                if y == 0 {
                    return Err(sql_error!(DivisionByZero, "division by zero"));
                }
                x.checked_rem(y).unwrap_or(0)
            }
            _ => return Err(Error::internal("non-arithmetic operator in arith")),
        }),
        (x @ (Integer(_) | Float(_)), y @ (Integer(_) | Float(_))) => {
            let (x, y) = (numeric_f64(&x), numeric_f64(&y));
            Float(match op {
                BinOp::Add => x + y,
                BinOp::Sub => x - y,
                BinOp::Mul => x * y,
                BinOp::Div => {
                    if y == 0.0 {
                        return Err(sql_error!(DivisionByZero, "division by zero"));
                    }
                    x / y
                }
                BinOp::Mod => {
                    if y == 0.0 {
                        return Err(sql_error!(DivisionByZero, "division by zero"));
                    }
                    x % y
                }
                _ => return Err(Error::internal("non-arithmetic operator in arith")),
            })
        }
        (x, y) => {
            return Err(sql_error!(
                UndefinedFunction,
                "operator does not exist: {} {} {}",
                type_name(&x),
                op.symbol(),
                type_name(&y)
            ));
        }
    })
}

/// `LIKE` matching with `%` and `_` (no escape character).
pub fn like(text: &str, pattern: &str, case_insensitive: bool) -> bool {
    let (t, p): (Vec<char>, Vec<char>) = if case_insensitive {
        (
            text.to_lowercase().chars().collect(),
            pattern.to_lowercase().chars().collect(),
        )
    } else {
        (text.chars().collect(), pattern.chars().collect())
    };
    // Iterative matcher with backtracking to the last '%'.
    let (mut ti, mut pi) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '_' || p[pi] == t[ti]) && p[pi] != '%' {
            ti += 1;
            pi += 1;
        } else if pi < p.len() && p[pi] == '%' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '%' {
        pi += 1;
    }
    pi == p.len()
}

fn truthy(v: &Value) -> Result<Option<bool>> {
    match v {
        Value::Null => Ok(None),
        Value::Boolean(b) => Ok(Some(*b)),
        Value::Integer(i) => Ok(Some(*i != 0)),
        other => Err(sql_error!(
            DatatypeMismatch,
            "argument of boolean operator must be boolean, not {}",
            type_name(other)
        )),
    }
}

/// `l op r` for an already evaluated `l`; `r` is evaluated only when needed (AND and OR
/// short-circuit as PostgreSQL's do).
fn apply(
    op: BinOp,
    l: Value,
    r: &Expr,
    row: &Row,
    subqueries: &dyn SubqueryRunner,
) -> Result<Value> {
    Ok(match op {
        BinOp::And => {
            let l = truthy(&l)?;
            if l == Some(false) {
                return Ok(Value::Boolean(false));
            }
            match (l, truthy(&r.eval(row, subqueries)?)?) {
                (_, Some(false)) => Value::Boolean(false),
                (Some(true), Some(true)) => Value::Boolean(true),
                _ => Value::Null,
            }
        }
        BinOp::Or => {
            let l = truthy(&l)?;
            if l == Some(true) {
                return Ok(Value::Boolean(true));
            }
            match (l, truthy(&r.eval(row, subqueries)?)?) {
                (_, Some(true)) => Value::Boolean(true),
                (Some(false), Some(false)) => Value::Boolean(false),
                _ => Value::Null,
            }
        }
        op => {
            let r = r.eval(row, subqueries)?;
            if l.is_null() || r.is_null() {
                return Ok(Value::Null);
            }
            if op.is_comparison() {
                let o = compare(&l, &r)?;
                Value::Boolean(match op {
                    BinOp::Eq => o == Ordering::Equal,
                    BinOp::NotEq => o != Ordering::Equal,
                    BinOp::Lt => o == Ordering::Less,
                    BinOp::LtEq => o != Ordering::Greater,
                    BinOp::Gt => o == Ordering::Greater,
                    _ => o != Ordering::Less,
                })
            } else if op == BinOp::Concat {
                Value::Text(format!("{}{}", l.to_text(), r.to_text()))
            } else {
                arith(op, l, r)?
            }
        }
    })
}

impl Expr {
    pub fn and(a: Expr, b: Expr) -> Expr {
        Expr::Binary(BinOp::And, Box::new(a), Box::new(b))
    }

    /// `first op₁ e₁ op₂ e₂ …`: a `Binary` for one operator, a `Chain` for more.
    pub fn chain(first: Expr, mut rest: Vec<(BinOp, Expr)>) -> Expr {
        match rest.len() {
            0 => first,
            1 => {
                let (op, r) = rest.remove(0);
                Expr::Binary(op, Box::new(first), Box::new(r))
            }
            _ => Expr::Chain {
                first: Box::new(first),
                rest,
            },
        }
    }

    /// The conjunction of `terms` (None for none), as one node however many there are.
    pub fn conjunction(mut terms: Vec<Expr>) -> Option<Expr> {
        if terms.is_empty() {
            return None;
        }
        let first = terms.remove(0);
        Some(Expr::chain(
            first,
            terms.into_iter().map(|t| (BinOp::And, t)).collect(),
        ))
    }

    /// The terms of a conjunction (`a AND b AND …`, as `Binary` or `Chain`), or `self`.
    pub fn into_conjuncts(self, out: &mut Vec<Expr>) {
        match self {
            Expr::Binary(BinOp::And, a, b) => {
                a.into_conjuncts(out);
                b.into_conjuncts(out);
            }
            Expr::Chain { first, rest } if rest.iter().all(|(op, _)| *op == BinOp::And) => {
                first.into_conjuncts(out);
                for (_, e) in rest {
                    e.into_conjuncts(out);
                }
            }
            e => out.push(e),
        }
    }

    /// Evaluates against `row`.
    pub fn eval(&self, row: &Row, subqueries: &dyn SubqueryRunner) -> Result<Value> {
        crate::depth::guard(|| self.eval_here(row, subqueries))
    }

    fn eval_here(&self, row: &Row, subqueries: &dyn SubqueryRunner) -> Result<Value> {
        Ok(match self {
            Expr::Literal(v) => v.clone(),
            Expr::Column(i) => row
                .get(*i)
                .cloned()
                .ok_or_else(|| Error::internal(format!("column {i} out of range")))?,
            Expr::Outer { .. } => return Err(Error::internal("unbound outer column reference")),
            Expr::Param(i) => {
                return Err(Error::internal(format!(
                    "parameter ${} has no value",
                    i + 1
                )));
            }
            Expr::Neg(e) => match e.eval(row, subqueries)? {
                Value::Null => Value::Null,
                Value::Integer(i) => Value::Integer(i.checked_neg().ok_or_else(overflow)?),
                Value::Float(f) => Value::Float(-f),
                Value::Text(s) => arith(BinOp::Sub, Value::Integer(0), Value::Text(s))?,
                other => {
                    return Err(sql_error!(
                        UndefinedFunction,
                        "operator does not exist: - {}",
                        type_name(&other)
                    ));
                }
            },
            Expr::Not(e) => match truthy(&e.eval(row, subqueries)?)? {
                None => Value::Null,
                Some(b) => Value::Boolean(!b),
            },
            Expr::Binary(op, a, b) => apply(*op, a.eval(row, subqueries)?, b, row, subqueries)?,
            Expr::Chain { first, rest } => {
                let mut acc = first.eval(row, subqueries)?;
                for (op, e) in rest {
                    acc = apply(*op, acc, e, row, subqueries)?;
                }
                acc
            }
            Expr::IsNull { expr, negated } => {
                Value::Boolean(expr.eval(row, subqueries)?.is_null() != *negated)
            }
            Expr::IsDistinct {
                left,
                right,
                negated,
            } => {
                let (l, r) = (left.eval(row, subqueries)?, right.eval(row, subqueries)?);
                let distinct = match (&l, &r) {
                    (Value::Null, Value::Null) => false,
                    (Value::Null, _) | (_, Value::Null) => true,
                    _ => compare(&l, &r)? != Ordering::Equal,
                };
                Value::Boolean(distinct != *negated)
            }
            Expr::Like {
                expr,
                pattern,
                negated,
                case_insensitive,
            } => match (expr.eval(row, subqueries)?, pattern.eval(row, subqueries)?) {
                (Value::Null, _) | (_, Value::Null) => Value::Null,
                (t, p) => Value::Boolean(
                    like(&t.to_string(), &p.to_string(), *case_insensitive) != *negated,
                ),
            },
            Expr::InList {
                expr,
                list,
                negated,
            } => {
                let v = expr.eval(row, subqueries)?;
                let items = list
                    .iter()
                    .map(|e| e.eval(row, subqueries))
                    .collect::<Result<Vec<_>>>()?;
                in_values(&v, items.iter(), *negated)?
            }
            Expr::Case {
                operand,
                whens,
                otherwise,
            } => {
                let base = operand
                    .as_ref()
                    .map(|o| o.eval(row, subqueries))
                    .transpose()?;
                for (cond, result) in whens {
                    let hit = match &base {
                        Some(b) => {
                            let c = cond.eval(row, subqueries)?;
                            !b.is_null() && !c.is_null() && compare(b, &c)? == Ordering::Equal
                        }
                        None => truthy(&cond.eval(row, subqueries)?)? == Some(true),
                    };
                    if hit {
                        return result.eval(row, subqueries);
                    }
                }
                match otherwise {
                    Some(e) => e.eval(row, subqueries)?,
                    None => Value::Null,
                }
            }
            Expr::Cast(e, ty, len) => cast_explicit(e.eval(row, subqueries)?, *ty, *len)?,
            Expr::Function(f, args) => {
                let vals = args
                    .iter()
                    .map(|a| a.eval(row, subqueries))
                    .collect::<Result<Vec<_>>>()?;
                call(*f, vals)?
            }
            Expr::Subquery {
                plan,
                kind,
                negated,
            } => {
                let rows = subqueries.run(plan, row)?;
                match kind {
                    SubqueryKind::Exists => Value::Boolean(rows.is_empty() == *negated),
                    SubqueryKind::Scalar => match rows.len() {
                        0 => Value::Null,
                        1 => rows[0].first().cloned().unwrap_or(Value::Null),
                        _ => {
                            return Err(sql_error!(
                                CardinalityViolation,
                                "more than one row returned by a subquery used as an expression"
                            ));
                        }
                    },
                    SubqueryKind::Array => Value::Text(array_text(
                        rows.iter().map(|r| r.first().unwrap_or(&Value::Null)),
                    )?),
                    SubqueryKind::In(e) => {
                        let v = e.eval(row, subqueries)?;
                        in_values(
                            &v,
                            rows.iter().map(|r| r.first().unwrap_or(&Value::Null)),
                            *negated,
                        )?
                    }
                }
            }
        })
    }

    /// Evaluates as a filter: only TRUE passes.
    pub fn matches(&self, row: &Row, subqueries: &dyn SubqueryRunner) -> Result<bool> {
        Ok(truthy(&self.eval(row, subqueries)?)? == Some(true))
    }

    /// Whether the expression reads no column of its row (so it can be folded or pushed).
    pub fn is_constant(&self) -> bool {
        let mut constant = true;
        self.walk(&mut |e| {
            if matches!(
                e,
                Expr::Column(_) | Expr::Outer { .. } | Expr::Param(_) | Expr::Subquery { .. }
            ) {
                constant = false;
            }
        });
        constant
    }

    /// Visits this expression and every sub-expression (not into subquery plans).
    pub fn walk(&self, f: &mut dyn FnMut(&Expr)) {
        crate::depth::guard(|| self.walk_here(f))
    }

    fn walk_here(&self, f: &mut dyn FnMut(&Expr)) {
        f(self);
        match self {
            Expr::Literal(_) | Expr::Column(_) | Expr::Outer { .. } | Expr::Param(_) => {}
            Expr::Neg(e) | Expr::Not(e) | Expr::Cast(e, ..) | Expr::IsNull { expr: e, .. } => {
                e.walk(f)
            }
            Expr::Binary(_, a, b)
            | Expr::IsDistinct {
                left: a, right: b, ..
            }
            | Expr::Like {
                expr: a,
                pattern: b,
                ..
            } => {
                a.walk(f);
                b.walk(f);
            }
            Expr::Chain { first, rest } => {
                first.walk(f);
                rest.iter().for_each(|(_, e)| e.walk(f));
            }
            Expr::InList { expr, list, .. } => {
                expr.walk(f);
                list.iter().for_each(|e| e.walk(f));
            }
            Expr::Case {
                operand,
                whens,
                otherwise,
            } => {
                if let Some(o) = operand {
                    o.walk(f);
                }
                for (c, r) in whens {
                    c.walk(f);
                    r.walk(f);
                }
                if let Some(o) = otherwise {
                    o.walk(f);
                }
            }
            Expr::Function(_, args) => args.iter().for_each(|e| e.walk(f)),
            Expr::Subquery { kind, .. } => {
                if let SubqueryKind::In(e) = kind {
                    e.walk(f);
                }
            }
        }
    }

    /// Rewrites every node bottom-up with `f`.
    pub fn transform(self, f: &mut dyn FnMut(Expr) -> Expr) -> Expr {
        crate::depth::guard(|| self.transform_here(f))
    }

    fn transform_here(self, f: &mut dyn FnMut(Expr) -> Expr) -> Expr {
        let b = |e: Box<Expr>, f: &mut dyn FnMut(Expr) -> Expr| Box::new(e.transform(f));
        let node = match self {
            e @ (Expr::Literal(_) | Expr::Column(_) | Expr::Outer { .. } | Expr::Param(_)) => e,
            Expr::Neg(e) => Expr::Neg(b(e, f)),
            Expr::Not(e) => Expr::Not(b(e, f)),
            Expr::Cast(e, t, len) => Expr::Cast(b(e, f), t, len),
            Expr::IsNull { expr, negated } => Expr::IsNull {
                expr: b(expr, f),
                negated,
            },
            Expr::Binary(op, l, r) => Expr::Binary(op, b(l, f), b(r, f)),
            Expr::Chain { first, rest } => Expr::Chain {
                first: b(first, f),
                rest: rest
                    .into_iter()
                    .map(|(op, e)| (op, e.transform(f)))
                    .collect(),
            },
            Expr::IsDistinct {
                left,
                right,
                negated,
            } => Expr::IsDistinct {
                left: b(left, f),
                right: b(right, f),
                negated,
            },
            Expr::Like {
                expr,
                pattern,
                negated,
                case_insensitive,
            } => Expr::Like {
                expr: b(expr, f),
                pattern: b(pattern, f),
                negated,
                case_insensitive,
            },
            Expr::InList {
                expr,
                list,
                negated,
            } => Expr::InList {
                expr: b(expr, f),
                list: list.into_iter().map(|e| e.transform(f)).collect(),
                negated,
            },
            Expr::Case {
                operand,
                whens,
                otherwise,
            } => Expr::Case {
                operand: operand.map(|o| b(o, f)),
                whens: whens
                    .into_iter()
                    .map(|(c, r)| (c.transform(f), r.transform(f)))
                    .collect(),
                otherwise: otherwise.map(|o| b(o, f)),
            },
            Expr::Function(func, args) => {
                Expr::Function(func, args.into_iter().map(|e| e.transform(f)).collect())
            }
            Expr::Subquery {
                plan,
                kind,
                negated,
            } => {
                let kind = match kind {
                    SubqueryKind::In(e) => SubqueryKind::In(b(e, f)),
                    k => k,
                };
                Expr::Subquery {
                    plan,
                    kind,
                    negated,
                }
            }
        };
        f(node)
    }

    /// Columns of the row this expression reads.
    pub fn columns(&self) -> Vec<usize> {
        let mut out = Vec::new();
        self.walk(&mut |e| {
            if let Expr::Column(i) = e {
                out.push(*i);
            }
        });
        out
    }

    /// Whether any part refers to an enclosing query or holds a subquery.
    pub fn has_subquery_or_outer(&self) -> bool {
        let mut found = false;
        self.walk(&mut |e| found |= matches!(e, Expr::Subquery { .. } | Expr::Outer { .. }));
        found
    }

    /// Shifts column references by `-offset` (for pushing a predicate to a join's right side).
    pub fn shift_columns(self, offset: usize) -> Expr {
        self.transform(&mut |e| match e {
            Expr::Column(i) => Expr::Column(i - offset),
            e => e,
        })
    }

    /// Folds constant sub-expressions to literals (errors are left for execution time).
    pub fn fold(self) -> Expr {
        self.transform(&mut |e| {
            if !matches!(e, Expr::Literal(_))
                && e.is_constant()
                && !e.has_subquery_or_outer()
                && let Ok(v) = e.eval(&Vec::new(), &NoSubqueries)
            {
                return Expr::Literal(v);
            }
            e
        })
    }
}

fn in_values<'a>(
    v: &Value,
    items: impl Iterator<Item = &'a Value>,
    negated: bool,
) -> Result<Value> {
    // Over an empty set IN is false (and NOT IN true) even for a NULL operand.
    let mut items = items.peekable();
    if items.peek().is_none() {
        return Ok(Value::Boolean(negated));
    }
    if v.is_null() {
        return Ok(Value::Null);
    }
    let mut saw_null = false;
    for item in items {
        if item.is_null() {
            saw_null = true;
        } else if compare(v, item)? == Ordering::Equal {
            return Ok(Value::Boolean(!negated));
        }
    }
    Ok(if saw_null {
        Value::Null
    } else {
        Value::Boolean(negated)
    })
}

fn arg_count(f: Func, args: &[Value], range: std::ops::RangeInclusive<usize>) -> Result<()> {
    if range.contains(&args.len()) {
        Ok(())
    } else {
        Err(sql_error!(
            UndefinedFunction,
            "function {}() does not take {} arguments",
            f.name(),
            args.len()
        ))
    }
}

fn call(f: Func, args: Vec<Value>) -> Result<Value> {
    use Value::*;
    match f {
        Func::Coalesce => return Ok(args.into_iter().find(|v| !v.is_null()).unwrap_or(Null)),
        Func::Concat => {
            return Ok(Text(
                args.iter()
                    .filter(|v| !v.is_null())
                    .map(ToString::to_string)
                    .collect(),
            ));
        }
        Func::NullIf => {
            arg_count(f, &args, 2..=2)?;
            if !args[0].is_null()
                && !args[1].is_null()
                && compare(&args[0], &args[1])? == Ordering::Equal
            {
                return Ok(Null);
            }
            return Ok(args[0].clone());
        }
        Func::FormatType => {
            arg_count(f, &args, 2..=2)?;
            let typmod = match &args[1] {
                Null => None,
                v => Some(cast(v.clone(), DataType::Integer)?),
            };
            return Ok(match (&args[0], typmod) {
                (Null, _) => Null,
                (oid, typmod) => {
                    let Integer(oid) = cast(oid.clone(), DataType::Integer)? else {
                        return Err(Error::internal("cast to integer"));
                    };
                    let typmod = match typmod {
                        Some(Integer(m)) => Some(m),
                        _ => None,
                    };
                    Text(crate::system::format_type(oid, typmod))
                }
            });
        }
        _ => {}
    }
    if args.iter().any(Value::is_null) {
        return Ok(Null);
    }
    // Text functions see a CHAR without its trailing blanks, as PostgreSQL's bpchar → text.
    let text = |v: &Value| v.to_text();
    let int = |v: &Value| -> Result<i64> {
        match cast(v.clone(), DataType::Integer)? {
            Integer(i) => Ok(i),
            _ => Err(Error::internal("cast to integer")),
        }
    };
    Ok(match f {
        Func::Abs => {
            arg_count(f, &args, 1..=1)?;
            match &args[0] {
                Integer(i) => Integer(i.checked_abs().ok_or_else(overflow)?),
                Float(x) => Float(x.abs()),
                other => {
                    return Err(sql_error!(
                        UndefinedFunction,
                        "function abs({}) does not exist",
                        type_name(other)
                    ));
                }
            }
        }
        Func::Length => {
            arg_count(f, &args, 1..=1)?;
            Integer(text(&args[0]).chars().count() as i64)
        }
        Func::Upper => {
            arg_count(f, &args, 1..=1)?;
            Text(text(&args[0]).to_uppercase())
        }
        Func::Lower => {
            arg_count(f, &args, 1..=1)?;
            Text(text(&args[0]).to_lowercase())
        }
        Func::Substr => {
            arg_count(f, &args, 2..=3)?;
            let chars: Vec<char> = text(&args[0]).chars().collect();
            let start = int(&args[1])?;
            let len = if args.len() == 3 {
                Some(int(&args[2])?)
            } else {
                None
            };
            if len.is_some_and(|l| l < 0) {
                return Err(sql_error!(
                    InvalidParameterValue,
                    "negative substring length not allowed"
                ));
            }
            // SQL positions are 1-based; characters before position 1 count against the length.
            let end = len.map_or(i64::MAX, |l| start.saturating_add(l));
            let from = start.max(1) - 1;
            let to = end.saturating_sub(1).clamp(0, chars.len() as i64);
            let from = from.min(to) as usize;
            Text(chars[from..to as usize].iter().collect())
        }
        Func::Trim | Func::LTrim | Func::RTrim => {
            arg_count(f, &args, 1..=2)?;
            let s = text(&args[0]);
            let set: Vec<char> = if args.len() == 2 {
                text(&args[1]).chars().collect()
            } else {
                vec![' ']
            };
            let t = match f {
                Func::Trim => s.trim_matches(set.as_slice()),
                Func::LTrim => s.trim_start_matches(set.as_slice()),
                _ => s.trim_end_matches(set.as_slice()),
            };
            Text(t.to_string())
        }
        Func::Replace => {
            arg_count(f, &args, 3..=3)?;
            Text(text(&args[0]).replace(&text(&args[1]), &text(&args[2])))
        }
        Func::Position => {
            arg_count(f, &args, 2..=2)?;
            let (hay, needle) = (text(&args[0]), text(&args[1]));
            Integer(
                hay.find(&needle)
                    .map_or(0, |b| hay[..b].chars().count() as i64 + 1),
            )
        }
        Func::Round => {
            arg_count(f, &args, 1..=2)?;
            let digits = if args.len() == 2 { int(&args[1])? } else { 0 };
            match &args[0] {
                Integer(i) if digits >= 0 => Integer(*i),
                v => {
                    let x = match cast(v.clone(), DataType::Float)? {
                        Float(x) => x,
                        _ => return Err(Error::internal("cast to float")),
                    };
                    let scale = 10f64.powi(digits.clamp(-300, 300) as i32);
                    Float((x * scale).round() / scale)
                }
            }
        }
        Func::RegexMatch | Func::RegexIMatch => {
            arg_count(f, &args, 2..=2)?;
            Boolean(regex_match(
                &text(&args[0]),
                &text(&args[1]),
                f == Func::RegexIMatch,
            )?)
        }
        Func::ArrayToString => {
            arg_count(f, &args, 2..=2)?;
            Text(array_elements(&text(&args[0]))?.join(&text(&args[1])))
        }
        Func::Coalesce | Func::Concat | Func::NullIf | Func::FormatType => {
            return Err(Error::internal("handled above"));
        }
    })
}

/// The most bytes a compiled regular expression may take: a pattern is statement text, and
/// the regex engine's own default is far larger than any catalog pattern needs.
const REGEX_SIZE_LIMIT_BYTES: usize = 1 << 20;

/// `text ~ pattern`: PostgreSQL's advanced regular expressions, as far as the common subset
/// goes (the regex engine runs in linear time, so no pattern can hang a statement).
fn regex_match(text: &str, pattern: &str, case_insensitive: bool) -> Result<bool> {
    let re = regex_lite::RegexBuilder::new(pattern)
        .case_insensitive(case_insensitive)
        .size_limit(REGEX_SIZE_LIMIT_BYTES)
        .build()
        .map_err(|e| {
            sql_error!(
                InvalidRegularExpression,
                "invalid regular expression: {}",
                e.to_string().lines().last().unwrap_or_default()
            )
        })?;
    Ok(re.is_match(text))
}

/// Values as a one-dimensional array in PostgreSQL's text output. Elements that would need
/// quoting (empty, with spaces, commas, braces, quotes or backslashes, or spelled NULL) are
/// refused rather than printed ambiguously.
fn array_text<'a>(values: impl Iterator<Item = &'a Value>) -> Result<String> {
    let mut items = Vec::new();
    for v in values {
        if v.is_null() {
            items.push("NULL".to_string());
            continue;
        }
        let s = v.to_string();
        if s.is_empty()
            || s.eq_ignore_ascii_case("null")
            || s.contains(|c: char| c.is_whitespace() || matches!(c, ',' | '{' | '}' | '"' | '\\'))
        {
            return Err(Error::unsupported(format!(
                "array element {s:?} (it would need quoting)"
            )));
        }
        items.push(s);
    }
    Ok(format!("{{{}}}", items.join(",")))
}

/// The elements of a one-dimensional array in PostgreSQL's text output (`{a,b}`), NULL
/// elements left out (as `array_to_string` without a null string does).
fn array_elements(text: &str) -> Result<Vec<String>> {
    let inner = text
        .strip_prefix('{')
        .and_then(|t| t.strip_suffix('}'))
        .ok_or_else(|| {
            sql_error!(
                InvalidTextRepresentation,
                "malformed array literal: \"{text}\""
            )
        })?;
    if inner.contains(['"', '{', '\\']) {
        return Err(Error::unsupported("arrays with quoted or nested elements"));
    }
    if inner.is_empty() {
        return Ok(Vec::new());
    }
    Ok(inner
        .split(',')
        .filter(|e| !e.eq_ignore_ascii_case("null"))
        .map(str::to_string)
        .collect())
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        crate::depth::guard(|| self.fmt_here(f))
    }
}

impl Expr {
    fn fmt_here(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Literal(Value::Text(s)) => write!(f, "'{}'", s.replace('\'', "''")),
            Expr::Literal(v) => write!(f, "{v}"),
            Expr::Column(i) => write!(f, "#{i}"),
            Expr::Outer { depth, index } => write!(f, "outer{depth}.#{index}"),
            Expr::Param(i) => write!(f, "${}", i + 1),
            Expr::Neg(e) => write!(f, "-({e})"),
            Expr::Not(e) => write!(f, "NOT ({e})"),
            Expr::Binary(op, a, b) => write!(f, "({a} {} {b})", op.symbol()),
            // Printed as the nested binary operations it stands for.
            Expr::Chain { first, rest } => {
                for _ in rest {
                    f.write_str("(")?;
                }
                write!(f, "{first}")?;
                for (op, e) in rest {
                    write!(f, " {} {e})", op.symbol())?;
                }
                Ok(())
            }
            Expr::IsNull { expr, negated } => {
                write!(f, "{expr} IS {}NULL", if *negated { "NOT " } else { "" })
            }
            Expr::IsDistinct {
                left,
                right,
                negated,
            } => {
                write!(
                    f,
                    "{left} IS {}DISTINCT FROM {right}",
                    if *negated { "NOT " } else { "" }
                )
            }
            Expr::Like {
                expr,
                pattern,
                negated,
                case_insensitive,
            } => write!(
                f,
                "{expr} {}{} {pattern}",
                if *negated { "NOT " } else { "" },
                if *case_insensitive { "ILIKE" } else { "LIKE" }
            ),
            Expr::InList {
                expr,
                list,
                negated,
            } => {
                let items: Vec<String> = list.iter().map(ToString::to_string).collect();
                write!(
                    f,
                    "{expr} {}IN ({})",
                    if *negated { "NOT " } else { "" },
                    items.join(", ")
                )
            }
            Expr::Case { .. } => write!(f, "CASE ..."),
            Expr::Cast(e, t, None) => write!(f, "CAST({e} AS {t})"),
            Expr::Cast(e, t, Some(n)) => write!(f, "CAST({e} AS {t}({n}))"),
            Expr::Function(func, args) => {
                let items: Vec<String> = args.iter().map(ToString::to_string).collect();
                write!(f, "{}({})", func.name(), items.join(", "))
            }
            Expr::Subquery { kind, negated, .. } => match kind {
                SubqueryKind::Scalar => write!(f, "(subquery)"),
                SubqueryKind::Array => write!(f, "ARRAY(subquery)"),
                SubqueryKind::Exists => {
                    write!(f, "{}EXISTS (subquery)", if *negated { "NOT " } else { "" })
                }
                SubqueryKind::In(e) => {
                    write!(f, "{e} {}IN (subquery)", if *negated { "NOT " } else { "" })
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    #![expect(clippy::unwrap_used, reason = "tests")]
    use super::*;
    use crate::SqlState;

    fn lit(v: Value) -> Box<Expr> {
        Box::new(Expr::Literal(v))
    }

    #[test]
    fn three_valued_logic() {
        let null = || lit(Value::Null);
        let t = || lit(Value::Boolean(true));
        let f = || lit(Value::Boolean(false));
        let e = |op, a, b| Expr::Binary(op, a, b).eval(&vec![], &NoSubqueries).unwrap();
        assert_eq!(e(BinOp::And, null(), f()), Value::Boolean(false));
        assert_eq!(e(BinOp::And, null(), t()), Value::Null);
        assert_eq!(e(BinOp::Or, null(), t()), Value::Boolean(true));
        assert_eq!(e(BinOp::Or, null(), f()), Value::Null);
        assert_eq!(e(BinOp::Eq, null(), null()), Value::Null);
    }

    #[test]
    fn overflow_and_division_by_zero_are_errors() {
        let e = |op, a: i64, b: i64| {
            Expr::Binary(op, lit(Value::Integer(a)), lit(Value::Integer(b)))
                .eval(&vec![], &NoSubqueries)
        };
        assert_eq!(
            e(BinOp::Add, i64::MAX, 1).unwrap_err().state,
            SqlState::NumericValueOutOfRange
        );
        assert_eq!(
            e(BinOp::Div, 1, 0).unwrap_err().state,
            SqlState::DivisionByZero
        );
        assert_eq!(e(BinOp::Div, 7, 2).unwrap(), Value::Integer(3));
        assert_eq!(e(BinOp::Mod, -7, 2).unwrap(), Value::Integer(-1));
    }

    #[test]
    fn a_chain_evaluates_and_prints_as_the_nested_binaries_it_replaces() {
        let int = |i| Expr::Literal(Value::Integer(i));
        let chain = Expr::chain(
            int(i64::MAX),
            vec![(BinOp::Add, int(1)), (BinOp::Sub, int(1))],
        );
        let nested = Expr::Binary(
            BinOp::Sub,
            Box::new(Expr::Binary(
                BinOp::Add,
                lit(Value::Integer(i64::MAX)),
                lit(Value::Integer(1)),
            )),
            lit(Value::Integer(1)),
        );
        assert_eq!(chain.to_string(), nested.to_string());
        assert_eq!(
            chain.eval(&vec![], &NoSubqueries).unwrap_err().state,
            SqlState::NumericValueOutOfRange
        );
        // AND short-circuits in the middle of a chain: the division by zero is never reached.
        let chain = Expr::chain(
            Expr::Literal(Value::Boolean(false)),
            vec![
                (
                    BinOp::And,
                    Expr::Binary(
                        BinOp::Eq,
                        lit(Value::Integer(1)),
                        Box::new(Expr::Binary(
                            BinOp::Div,
                            lit(Value::Integer(1)),
                            lit(Value::Integer(0)),
                        )),
                    ),
                ),
                (BinOp::Or, Expr::Literal(Value::Null)),
            ],
        );
        assert_eq!(chain.eval(&vec![], &NoSubqueries).unwrap(), Value::Null);
        let mut conjuncts = Vec::new();
        Expr::conjunction(vec![int(1), int(2), int(3)])
            .unwrap()
            .into_conjuncts(&mut conjuncts);
        assert_eq!(conjuncts, vec![int(1), int(2), int(3)]);
    }

    #[test]
    fn like_patterns() {
        assert!(like("hello", "h%o", false));
        assert!(like("hello", "_ello", false));
        assert!(!like("hello", "h_o", false));
        assert!(like("HeLLo", "hel%", true));
        assert!(like("", "%", false));
        assert!(like("abcabc", "%abc", false));
    }

    #[test]
    fn regex_match_and_its_errors() {
        assert_eq!(regex_match("t", "^(t)$", false).ok(), Some(true));
        assert_eq!(regex_match("tt", "^(t)$", false).ok(), Some(false));
        assert_eq!(regex_match("T_X", "^(t_.*)$", true).ok(), Some(true));
        let e = regex_match("x", "(", false).err().map(|e| e.state.code());
        assert_eq!(e, Some("2201B"));
    }

    #[test]
    fn arrays_as_text_round_trip_and_refuse_what_needs_quoting() {
        let vals = [Value::Text("a".into()), Value::Null, Value::Integer(3)];
        assert_eq!(array_text(vals.iter()).ok().as_deref(), Some("{a,NULL,3}"));
        assert_eq!(array_text([].iter()).ok().as_deref(), Some("{}"));
        for bad in ["", "a b", "a,b", "null", "{"] {
            let v = [Value::Text(bad.into())];
            assert!(array_text(v.iter()).is_err(), "{bad:?}");
        }
        assert_eq!(
            array_elements("{a,NULL,3}").ok(),
            Some(vec!["a".to_string(), "3".to_string()])
        );
        assert_eq!(array_elements("{}").ok(), Some(vec![]));
        assert!(array_elements("a,b").is_err());
        assert!(array_elements("{\"a b\"}").is_err());
    }
}
