//! SQL values and types.

use std::cmp::Ordering;
use std::fmt;

/// A column's declared type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DataType {
    Boolean,
    /// 64-bit signed integer (INTEGER, INT, BIGINT, SMALLINT all map here).
    Integer,
    /// 64-bit IEEE float (REAL, FLOAT, DOUBLE PRECISION, NUMERIC/DECIMAL approximated).
    Float,
    /// Text (TEXT, VARCHAR(n)).
    Text,
    /// Blank-padded text (CHAR(n), CHARACTER(n), BPCHAR): stored and shown padded to its
    /// column's length, trailing blanks insignificant in comparisons (see `bpchar`).
    Char,
    /// TIMESTAMP [WITHOUT TIME ZONE]: microseconds since 2000-01-01 00:00:00 (see `datetime`).
    Timestamp,
    /// TIMESTAMPTZ / TIMESTAMP WITH TIME ZONE: a UTC instant in microseconds since
    /// 2000-01-01 00:00:00+00, shown in the session's TimeZone (always UTC today).
    TimestampTz,
    /// DATE: days since 2000-01-01.
    Date,
}

impl DataType {
    pub fn name(self) -> &'static str {
        match self {
            DataType::Boolean => "BOOLEAN",
            DataType::Integer => "INTEGER",
            DataType::Float => "FLOAT",
            DataType::Text => "TEXT",
            DataType::Char => "CHAR",
            DataType::Timestamp => "TIMESTAMP",
            DataType::TimestampTz => "TIMESTAMPTZ",
            DataType::Date => "DATE",
        }
    }

    /// PostgreSQL's name of the type, as in its error messages and `pg_typeof`.
    pub fn pg_name(self) -> &'static str {
        match self {
            DataType::Boolean => "boolean",
            DataType::Integer => "bigint",
            DataType::Float => "double precision",
            DataType::Text => "text",
            DataType::Char => "character",
            DataType::Timestamp => "timestamp without time zone",
            DataType::TimestampTz => "timestamp with time zone",
            DataType::Date => "date",
        }
    }
}

impl fmt::Display for DataType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A SQL value. `Null` is the unknown value of three-valued logic.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Boolean(bool),
    Integer(i64),
    Float(f64),
    Text(String),
    /// A CHAR(n) value, blank-padded to its length (a cast to unbounded `bpchar` keeps the
    /// text as given). Compared, hashed and key-encoded without its trailing blanks.
    Char(String),
    /// Microseconds since 2000-01-01 00:00:00; `i64::MIN`/`i64::MAX` are -infinity/infinity.
    Timestamp(i64),
    /// Microseconds since 2000-01-01 00:00:00 UTC; infinities as for `Timestamp`.
    TimestampTz(i64),
    /// Days since 2000-01-01; `i32::MIN`/`i32::MAX` are -infinity/infinity.
    Date(i32),
}

impl Value {
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// The type of a non-null value.
    pub fn data_type(&self) -> Option<DataType> {
        match self {
            Value::Null => None,
            Value::Boolean(_) => Some(DataType::Boolean),
            Value::Integer(_) => Some(DataType::Integer),
            Value::Float(_) => Some(DataType::Float),
            Value::Text(_) => Some(DataType::Text),
            Value::Char(_) => Some(DataType::Char),
            Value::Timestamp(_) => Some(DataType::Timestamp),
            Value::TimestampTz(_) => Some(DataType::TimestampTz),
            Value::Date(_) => Some(DataType::Date),
        }
    }

    /// The value as text, as PostgreSQL converts it for text functions and `||`: a CHAR(n)
    /// loses its trailing blanks (`rtrim`), everything else is its output form.
    pub fn to_text(&self) -> String {
        match self {
            Value::Char(s) => crate::bpchar::significant(s).to_string(),
            other => other.to_string(),
        }
    }

    /// A total order for sorting, grouping and keys: NULL first, then by type, numbers
    /// compared across integer and float, NaN after every other float.
    pub fn total_cmp(&self, other: &Value) -> Ordering {
        use Value::*;
        match (self, other) {
            (Null, Null) => Ordering::Equal,
            (Null, _) => Ordering::Less,
            (_, Null) => Ordering::Greater,
            (Boolean(a), Boolean(b)) => a.cmp(b),
            (Integer(a), Integer(b)) => a.cmp(b),
            (Float(a), Float(b)) => float_cmp(*a, *b),
            (Integer(a), Float(b)) => float_cmp(*a as f64, *b).then(Ordering::Less),
            (Float(a), Integer(b)) => float_cmp(*a, *b as f64).then(Ordering::Greater),
            (Text(a), Text(b)) => a.cmp(b),
            (Char(a), Char(b) | Text(b)) | (Text(a), Char(b)) => crate::bpchar::cmp(a, b),
            (
                a @ (Timestamp(_) | TimestampTz(_) | Date(_)),
                b @ (Timestamp(_) | TimestampTz(_) | Date(_)),
            ) => crate::datetime::cmp(a, b).unwrap_or(Ordering::Equal),
            (a, b) => a.rank().cmp(&b.rank()),
        }
    }

    fn rank(&self) -> u8 {
        match self {
            Value::Null => 0,
            Value::Boolean(_) => 1,
            Value::Integer(_) | Value::Float(_) => 2,
            Value::Text(_) | Value::Char(_) => 3,
            Value::Timestamp(_) | Value::TimestampTz(_) | Value::Date(_) => 4,
        }
    }
}

fn float_cmp(a: f64, b: f64) -> Ordering {
    match (a.is_nan(), b.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        (false, false) => a.partial_cmp(&b).unwrap_or(Ordering::Equal),
    }
}

/// Formats a float the way PostgreSQL prints float8: shortest round-trip digits, no trailing
/// `.0`, `Infinity`/`-Infinity`/`NaN`.
pub fn format_float(f: f64) -> String {
    if f.is_nan() {
        "NaN".into()
    } else if f.is_infinite() {
        if f > 0.0 {
            "Infinity".into()
        } else {
            "-Infinity".into()
        }
    } else if f == f.trunc() && f.abs() < 1e15 {
        format!("{}", f as i64)
    } else {
        format!("{f}")
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("NULL"),
            Value::Boolean(b) => f.write_str(if *b { "true" } else { "false" }),
            Value::Integer(i) => write!(f, "{i}"),
            Value::Float(x) => f.write_str(&format_float(*x)),
            Value::Text(s) | Value::Char(s) => f.write_str(s),
            Value::Timestamp(t) => f.write_str(&crate::datetime::format_timestamp(*t)),
            Value::TimestampTz(t) => f.write_str(&crate::datetime::format_timestamptz(*t)),
            Value::Date(d) => f.write_str(&crate::datetime::format_date(*d)),
        }
    }
}

/// A row of values.
pub type Row = Vec<Value>;
