//! Rendering statement results: psql-style aligned tables for people, CSV/TSV/JSON for
//! scripts, and psql's command tags (`INSERT 0 3`, `UPDATE 2`, `CREATE TABLE`).
//!
//! NULL is an empty cell in tables (psql's habit) and an empty field in CSV/TSV; in CSV the
//! empty string is written `""` so the two stay distinguishable (as `psql --csv` does). JSON is
//! JSON Lines: one object per row, one row per line, keys the column names in order.

use std::io::{self, Write};

use chronos_sql::{ColumnInfo, DataType, StatementResult, Value, format_float};
use unicode_width::UnicodeWidthStr;

/// How query results are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Aligned columns with a header and a `(N rows)` footer, like psql.
    Table,
    /// RFC 4180 CSV with a header line; NULL is an empty field, the empty string `""`.
    Csv,
    /// Tab-separated with a header line; NULL is an empty field; tab, newline, carriage return
    /// and backslash in values are written `\t`, `\n`, `\r`, `\\`.
    Tsv,
    /// JSON Lines: one object per row per line, keyed by column name; NULL is `null`.
    Json,
}

/// The psql command tag of a result that is not a query, e.g. `INSERT 0 3`.
pub fn command_tag(result: &StatementResult) -> Option<String> {
    match result {
        // The 0 is the OID PostgreSQL still prints for INSERT.
        StatementResult::Modified { tag, rows } if *tag == "INSERT" => {
            Some(format!("INSERT 0 {rows}"))
        }
        StatementResult::Modified { tag, rows } => Some(format!("{tag} {rows}")),
        StatementResult::Command { tag } => Some(tag.clone()),
        StatementResult::Query { .. } | StatementResult::Explain { .. } => None,
    }
}

/// psql's row-count footer.
pub fn row_count_footer(rows: usize) -> String {
    if rows == 1 {
        "(1 row)".to_string()
    } else {
        format!("({rows} rows)")
    }
}

/// The column name EXPLAIN output carries in the machine formats, as in PostgreSQL.
pub const EXPLAIN_COLUMN: &str = "QUERY PLAN";

/// Writes rows in `format`. For `Table` this includes the footer.
pub fn write_rows(
    out: &mut dyn Write,
    format: Format,
    columns: &[ColumnInfo],
    rows: &[Vec<Value>],
) -> io::Result<()> {
    match format {
        Format::Table => write_table(out, columns, rows),
        Format::Csv => write_delimited(out, columns, rows, ',', csv_field),
        Format::Tsv => write_delimited(out, columns, rows, '\t', tsv_field),
        Format::Json => write_json_lines(out, columns, rows),
    }
}

/// A value as text for tables, CSV and TSV (NULL is handled by the callers).
fn display(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn is_numeric(column: &ColumnInfo) -> bool {
    matches!(
        column.data_type,
        Some(DataType::Integer) | Some(DataType::Float)
    )
}

/// psql's aligned format: header centred, numbers right-aligned, text left-aligned, columns
/// separated by ` | `, a dashed rule under the header, multi-line values (and names) on
/// several lines, the `(N rows)` footer and a blank line.
pub fn write_table(
    out: &mut dyn Write,
    columns: &[ColumnInfo],
    rows: &[Vec<Value>],
) -> io::Result<()> {
    let lines_of = |text: &str| -> Vec<String> { text.split('\n').map(str::to_string).collect() };
    let header: Vec<Vec<String>> = columns.iter().map(|c| lines_of(&c.name)).collect();
    let cells: Vec<Vec<Vec<String>>> = rows
        .iter()
        .map(|row| row.iter().map(|v| lines_of(&display(v))).collect())
        .collect();
    let mut widths: Vec<usize> = Vec::new();
    for row in std::iter::once(&header).chain(&cells) {
        for (i, lines) in row.iter().enumerate() {
            let w = lines.iter().map(|l| l.width()).max().unwrap_or(0);
            match widths.get_mut(i) {
                Some(width) => *width = (*width).max(w),
                None => widths.push(w),
            }
        }
    }
    let header_align = vec![Align::Center; widths.len()];
    let value_align: Vec<Align> = (0..widths.len())
        .map(|i| {
            if columns.get(i).is_some_and(is_numeric) {
                Align::Right
            } else {
                Align::Left
            }
        })
        .collect();

    write_table_row(out, &header, &widths, &header_align)?;
    let rule: Vec<String> = widths.iter().map(|w| "-".repeat(w + 2)).collect();
    writeln!(out, "{}", rule.join("+"))?;
    for row in &cells {
        write_table_row(out, row, &widths, &value_align)?;
    }
    // psql leaves a blank line after the footer.
    writeln!(out, "{}\n", row_count_footer(rows.len()))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Align {
    Left,
    Center,
    Right,
}

/// Writes one table row, as many lines as its tallest cell; trailing spaces are trimmed.
fn write_table_row(
    out: &mut dyn Write,
    row: &[Vec<String>],
    widths: &[usize],
    align: &[Align],
) -> io::Result<()> {
    let height = row.iter().map(Vec::len).max().unwrap_or(1);
    for line in 0..height {
        let parts: Vec<String> = widths
            .iter()
            .zip(align)
            .enumerate()
            .map(|(i, (width, align))| {
                let text = row
                    .get(i)
                    .and_then(|lines| lines.get(line))
                    .map_or("", String::as_str);
                let pad = width - text.width();
                let left = match align {
                    Align::Left => 0,
                    Align::Center => pad / 2,
                    Align::Right => pad,
                };
                format!("{}{text}{}", " ".repeat(left), " ".repeat(pad - left))
            })
            .collect();
        writeln!(out, " {}", parts.join(" | ").trim_end())?;
    }
    Ok(())
}

/// Writes a header line and one line per row, fields joined by `separator`.
fn write_delimited(
    out: &mut dyn Write,
    columns: &[ColumnInfo],
    rows: &[Vec<Value>],
    separator: char,
    field: fn(&Value) -> String,
) -> io::Result<()> {
    let sep = separator.to_string();
    let header: Vec<String> = columns
        .iter()
        .map(|c| field(&Value::Text(c.name.clone())))
        .collect();
    writeln!(out, "{}", header.join(&sep))?;
    for row in rows {
        let fields: Vec<String> = row.iter().map(field).collect();
        writeln!(out, "{}", fields.join(&sep))?;
    }
    Ok(())
}

/// A CSV field (RFC 4180): quoted when it holds a comma, quote, CR or LF, with quotes
/// doubled; NULL is an empty field and the empty string `""`.
pub fn csv_field(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::Text(s) if s.is_empty() => "\"\"".to_string(),
        other => {
            let text = display(other);
            if text.contains([',', '"', '\r', '\n']) {
                format!("\"{}\"", text.replace('"', "\"\""))
            } else {
                text
            }
        }
    }
}

/// A TSV field: NULL is empty; tab, newline, carriage return and backslash are escaped the
/// way PostgreSQL's COPY text format does, so every row stays on one line.
pub fn tsv_field(value: &Value) -> String {
    let text = display(value);
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
    out
}

/// A value as JSON: numbers as numbers, NaN and infinities (which JSON cannot write) as the
/// strings PostgreSQL prints for them.
pub fn json_value(value: &Value) -> String {
    match value {
        Value::Null => "null".to_string(),
        Value::Boolean(b) => b.to_string(),
        Value::Integer(i) => i.to_string(),
        Value::Float(f) if f.is_finite() => format_float(*f),
        Value::Float(f) => json_string(&format_float(*f)),
        Value::Text(s) | Value::Char(s) => json_string(s),
        v @ (Value::Timestamp(_) | Value::TimestampTz(_) | Value::Date(_)) => {
            json_string(&v.to_string())
        }
    }
}

fn json_string(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

/// One JSON object per row, one per line. Duplicate column names (`SELECT a, a`) are written
/// as duplicate keys, in column order.
fn write_json_lines(
    out: &mut dyn Write,
    columns: &[ColumnInfo],
    rows: &[Vec<Value>],
) -> io::Result<()> {
    for row in rows {
        let members: Vec<String> = columns
            .iter()
            .zip(row)
            .map(|(c, v)| format!("{}:{}", json_string(&c.name), json_value(v)))
            .collect();
        writeln!(out, "{{{}}}", members.join(","))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(name: &str, data_type: Option<DataType>) -> ColumnInfo {
        ColumnInfo {
            name: name.to_string(),
            data_type,
        }
    }

    fn render(format: Format, columns: &[ColumnInfo], rows: &[Vec<Value>]) -> String {
        let mut out = Vec::new();
        write_rows(&mut out, format, columns, rows).expect("writing to a Vec");
        String::from_utf8(out).expect("utf-8 output")
    }

    fn sample() -> (Vec<ColumnInfo>, Vec<Vec<Value>>) {
        (
            vec![
                col("id", Some(DataType::Integer)),
                col("name", Some(DataType::Text)),
                col("score", Some(DataType::Float)),
            ],
            vec![
                vec![
                    Value::Integer(1),
                    Value::Text("ann".into()),
                    Value::Float(2.5),
                ],
                vec![Value::Integer(20), Value::Null, Value::Float(-3.0)],
            ],
        )
    }

    #[test]
    fn tags_follow_psql() {
        let tag = |r| command_tag(&r);
        assert_eq!(
            tag(StatementResult::Modified {
                tag: "INSERT",
                rows: 3
            }),
            Some("INSERT 0 3".into())
        );
        assert_eq!(
            tag(StatementResult::Modified {
                tag: "UPDATE",
                rows: 2
            }),
            Some("UPDATE 2".into())
        );
        assert_eq!(
            tag(StatementResult::Command {
                tag: "CREATE TABLE".into()
            }),
            Some("CREATE TABLE".into())
        );
        assert_eq!(tag(StatementResult::Explain { lines: vec![] }), None);
    }

    #[test]
    fn table_is_aligned_like_psql() {
        let (columns, rows) = sample();
        assert_eq!(
            render(Format::Table, &columns, &rows),
            concat!(
                " id | name | score\n",
                "----+------+-------\n",
                "  1 | ann  |   2.5\n",
                " 20 |      |    -3\n",
                "(2 rows)\n\n",
            )
        );
    }

    #[test]
    fn table_footer_is_singular_for_one_row_and_handles_no_rows() {
        let columns = vec![col("x", None)];
        assert_eq!(
            render(Format::Table, &columns, &[vec![Value::Text("a".into())]]),
            " x\n---\n a\n(1 row)\n\n"
        );
        assert_eq!(
            render(Format::Table, &columns, &[]),
            " x\n---\n(0 rows)\n\n"
        );
    }

    #[test]
    fn table_measures_wide_characters_and_splits_lines() {
        let columns = vec![col("t", Some(DataType::Text)), col("n\nm", None)];
        let rows = vec![vec![Value::Text("日本\nab".into()), Value::Integer(7)]];
        assert_eq!(
            render(Format::Table, &columns, &rows),
            "  t   | n\n      | m\n------+---\n 日本 | 7\n ab   |\n(1 row)\n\n"
        );
    }

    #[test]
    fn csv_quotes_per_rfc_4180_and_keeps_null_apart_from_empty() {
        let columns = vec![col("a,b", None), col("c", None)];
        let rows = vec![
            vec![Value::Text("say \"hi\"".into()), Value::Text("x\ny".into())],
            vec![Value::Null, Value::Text(String::new())],
            vec![Value::Boolean(true), Value::Float(0.1)],
        ];
        assert_eq!(
            render(Format::Csv, &columns, &rows),
            "\"a,b\",c\n\"say \"\"hi\"\"\",\"x\ny\"\n,\"\"\ntrue,0.1\n"
        );
    }

    #[test]
    fn tsv_escapes_separators_and_writes_null_empty() {
        let columns = vec![col("a", None), col("b", None)];
        let rows = vec![
            vec![Value::Text("t\tab\\n\nl".into()), Value::Null],
            vec![Value::Integer(-5), Value::Text("plain".into())],
        ];
        assert_eq!(
            render(Format::Tsv, &columns, &rows),
            "a\tb\nt\\tab\\\\n\\nl\t\n-5\tplain\n"
        );
    }

    #[test]
    fn json_lines_one_object_per_row() {
        let (columns, rows) = sample();
        assert_eq!(
            render(Format::Json, &columns, &rows),
            "{\"id\":1,\"name\":\"ann\",\"score\":2.5}\n{\"id\":20,\"name\":null,\"score\":-3}\n"
        );
    }

    #[test]
    fn json_escapes_text_and_writes_special_floats_as_strings() {
        assert_eq!(
            json_value(&Value::Text("a\"b\\c\nd\u{1}".into())),
            r#""a\"b\\c\nd\u0001""#
        );
        assert_eq!(json_value(&Value::Float(f64::NAN)), "\"NaN\"");
        assert_eq!(
            json_value(&Value::Float(f64::NEG_INFINITY)),
            "\"-Infinity\""
        );
        assert_eq!(json_value(&Value::Float(1e20)), "100000000000000000000");
        assert_eq!(json_value(&Value::Boolean(false)), "false");
        for line in render(Format::Json, &sample().0, &sample().1).lines() {
            let parsed: serde_json::Value = serde_json::from_str(line).expect("valid JSON");
            assert!(parsed.is_object());
        }
    }
}
