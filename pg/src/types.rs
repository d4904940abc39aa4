//! How our values look on the wire: the PostgreSQL type OID of each of our types, the text
//! format of each value (PostgreSQL's output functions: `t`/`f`, shortest float digits,
//! blank-padded `bpchar`, ISO dates and timestamps with `+00` for the UTC session zone), the
//! DataRow encoding and the command tag of each statement result.
//!
//! Only the text format exists so far; the binary format (which for timestamps would be the
//! stored microseconds since 2000-01-01 as they are, and for dates the stored days) belongs
//! with the extended protocol.

use bytes::{BufMut, BytesMut};
use chronos_sql::{DataType, StatementResult, Value};
use pgwire::api::Type;
use pgwire::messages::data::{DataRow, FieldDescription, RowDescription};

/// The PostgreSQL type a result column of ours is described as. A column whose type the
/// planner does not know (only NULLs) is `text`, as PostgreSQL resolves an untyped NULL.
pub(crate) fn pg_type(data_type: Option<DataType>) -> Type {
    match data_type {
        Some(DataType::Boolean) => Type::BOOL,
        Some(DataType::Integer) => Type::INT8,
        Some(DataType::Float) => Type::FLOAT8,
        Some(DataType::Text) | None => Type::TEXT,
        Some(DataType::Char) => Type::BPCHAR,
        Some(DataType::Timestamp) => Type::TIMESTAMP,
        Some(DataType::TimestampTz) => Type::TIMESTAMPTZ,
        Some(DataType::Date) => Type::DATE,
    }
}

/// A RowDescription for columns of these names and types, every field in text format.
pub(crate) fn row_description<'a>(
    columns: impl Iterator<Item = (&'a str, Option<DataType>)>,
) -> RowDescription {
    row_description_with_formats(columns, &[])
}

/// A RowDescription whose field `i` is in format `formats[i]` (text where none is given).
pub(crate) fn row_description_with_formats<'a>(
    columns: impl Iterator<Item = (&'a str, Option<DataType>)>,
    formats: &[i16],
) -> RowDescription {
    let fields = columns
        .enumerate()
        .map(|(i, (name, data_type))| {
            let ty = pg_type(data_type);
            FieldDescription::new(
                name.to_owned(),
                0,
                0,
                ty.oid(),
                type_size_bytes(&ty),
                -1,
                formats.get(i).copied().unwrap_or(TEXT_FORMAT),
            )
        })
        .collect();
    RowDescription::new(fields)
}

/// Format code 0: text.
const TEXT_FORMAT: i16 = 0;

/// `pg_type.typlen`: fixed sizes for the numeric types and bool, -1 (variable) for text.
fn type_size_bytes(ty: &Type) -> i16 {
    match *ty {
        Type::BOOL => 1,
        Type::INT8 | Type::FLOAT8 | Type::TIMESTAMP | Type::TIMESTAMPTZ => 8,
        Type::DATE => 4,
        _ => -1,
    }
}

/// A DataRow of `row` in text format: per field a big-endian i32 length (-1 for NULL) then
/// the bytes.
pub(crate) fn data_row(row: &[Value]) -> DataRow {
    let mut data = BytesMut::new();
    for value in row {
        match text(value) {
            None => data.put_i32(-1),
            Some(t) => {
                // A field longer than i32::MAX bytes cannot be framed; the engine's 16 MiB
                // statement and memory limits keep values far below that.
                let len = i32::try_from(t.len()).unwrap_or(i32::MAX);
                data.put_i32(len);
                data.put_slice(t.as_bytes());
            }
        }
    }
    // The executor's rows have one value per column and no table has 32k columns.
    let field_count = i16::try_from(row.len()).unwrap_or(i16::MAX);
    DataRow::new(data, field_count)
}

/// PostgreSQL's text output of a value; `None` for NULL.
pub(crate) fn text(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::Boolean(b) => Some(if *b { "t" } else { "f" }.to_owned()),
        Value::Integer(i) => Some(i.to_string()),
        Value::Float(f) => Some(float8_text(*f)),
        Value::Text(s) | Value::Char(s) => Some(s.clone()),
        // Display is PostgreSQL's ISO output (DateStyle ISO, TimeZone UTC).
        v @ (Value::Timestamp(_) | Value::TimestampTz(_) | Value::Date(_)) => Some(v.to_string()),
    }
}

/// float8 as PostgreSQL 15 prints it with the default `extra_float_digits = 1`: the shortest
/// digits that read back to the same double, in exponent form (`1e+20`, `1e-05`) when the
/// decimal exponent is below -4 or at least 15, plain otherwise.
pub(crate) fn float8_text(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0" } else { "0" }.into();
    }
    // `{:e}` gives the shortest round-trip digits as `d.ddde±x`.
    let sci = format!("{f:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if !(-4..15).contains(&exp) {
        let sign = if exp < 0 { '-' } else { '+' };
        return format!("{mantissa}e{sign}{:02}", exp.unsigned_abs());
    }
    // Plain notation; Rust's `{}` for f64 prints the same shortest digits without exponent.
    format!("{f}")
}

/// The CommandComplete tag PostgreSQL sends for a statement's result.
pub(crate) fn command_tag(result: &StatementResult, streamed_rows: u64) -> String {
    match result {
        StatementResult::Query { rows, .. } => {
            format!("SELECT {}", streamed_rows + rows.len() as u64)
        }
        // INSERT's tag carries the OID of the inserted row, always 0 since PostgreSQL 12.
        StatementResult::Modified {
            tag: "INSERT",
            rows,
        } => format!("INSERT 0 {rows}"),
        StatementResult::Modified { tag, rows } => format!("{tag} {rows}"),
        StatementResult::Command { tag } => tag.clone(),
        StatementResult::Explain { .. } => "EXPLAIN".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_print_as_postgresql_does() {
        // Expected strings are what `SELECT x::float8` prints in PostgreSQL 15.
        let cases = [
            (1.5, "1.5"),
            (100.0, "100"),
            (-2.0, "-2"),
            (0.1, "0.1"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (123456789012345.0, "123456789012345"),
            (1e15, "1e+15"),
            (1e20, "1e+20"),
            (1.2345e100, "1.2345e+100"),
            (f64::NAN, "NaN"),
            (f64::INFINITY, "Infinity"),
            (f64::NEG_INFINITY, "-Infinity"),
            (0.0, "0"),
            (-0.0, "-0"),
        ];
        for (f, want) in cases {
            assert_eq!(float8_text(f), want, "{f:e}");
        }
    }

    #[test]
    fn values_use_postgresql_text_output() {
        assert_eq!(text(&Value::Boolean(true)).as_deref(), Some("t"));
        assert_eq!(text(&Value::Boolean(false)).as_deref(), Some("f"));
        assert_eq!(text(&Value::Integer(-7)).as_deref(), Some("-7"));
        assert_eq!(text(&Value::Null), None);
        // PostgreSQL 15: '2020-01-02 03:04:05.5'::timestamp(tz), '2020-01-02'::date, 'a'::char(3).
        assert_eq!(
            text(&Value::Timestamp(631_249_445_500_000)).as_deref(),
            Some("2020-01-02 03:04:05.5")
        );
        assert_eq!(
            text(&Value::TimestampTz(631_249_445_500_000)).as_deref(),
            Some("2020-01-02 03:04:05.5+00")
        );
        assert_eq!(text(&Value::Date(7306)).as_deref(), Some("2020-01-02"));
        assert_eq!(text(&Value::Char("a  ".into())).as_deref(), Some("a  "));
    }

    #[test]
    fn our_types_are_described_with_postgresql_oids() {
        let oids: Vec<u32> = [
            DataType::Char,
            DataType::Timestamp,
            DataType::TimestampTz,
            DataType::Date,
        ]
        .into_iter()
        .map(|t| pg_type(Some(t)).oid())
        .collect();
        assert_eq!(oids, [1042, 1114, 1184, 1082]);
    }

    #[test]
    fn data_row_frames_null_and_text() {
        let row = data_row(&[Value::Null, Value::Text("ab".into())]);
        assert_eq!(row.field_count, 2);
        assert_eq!(&row.data[..], &[255, 255, 255, 255, 0, 0, 0, 2, b'a', b'b']);
    }

    #[test]
    fn tags_match_postgresql() {
        let insert = StatementResult::Modified {
            tag: "INSERT",
            rows: 3,
        };
        assert_eq!(command_tag(&insert, 0), "INSERT 0 3");
        let update = StatementResult::Modified {
            tag: "UPDATE",
            rows: 2,
        };
        assert_eq!(command_tag(&update, 0), "UPDATE 2");
        let query = StatementResult::Query {
            columns: vec![],
            rows: vec![],
        };
        assert_eq!(command_tag(&query, 5), "SELECT 5");
    }
}
