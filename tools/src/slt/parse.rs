//! Parsing sqllogictest files into records.
//!
//! The format is a sequence of records separated by blank lines; `#` starts a comment line.
//!
//! ```text
//! skipif mysql # optional conditions: the next record applies only to some engines
//! onlyif postgresql
//! statement ok | statement error [TEXT] | statement count N
//! SQL (one or more lines)
//!
//! query <type letters> [nosort|rowsort|valuesort] [label]
//! SQL (one or more lines)
//! ----
//! expected results (to the next blank line)
//!
//! hash-threshold N
//! halt
//! control resultmode valuewise|rowwise
//! ```
//!
//! Results are either one value per line (SQLite's files, "value-wise") or one row per line
//! with values separated by spaces (the usual sqllogictest form, "row-wise"), or the single
//! line `N values hashing to MD5`.
//!
//! Conditions are resolved here, against the engine name the runner plays: a record whose
//! conditions exclude it becomes [`RecordKind::Skipped`]; a `halt` or `hash-threshold` whose
//! conditions exclude it disappears, so its condition never leaks onto the next record (the
//! trap SQLite's `onlyif mssql` + `halt` sets for generic parsers). Trailing `# comments` are
//! stripped from every header line (SQLite writes `skipif mysql # not compatible`).

use super::render::SortMode;

/// How expected query results are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResultMode {
    /// One value per line (SQLite's `.test` files).
    ValueWise,
    /// One row per line, values separated by whitespace (our `.slt` files).
    RowWise,
}

/// What a `statement` record expects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatementExpect {
    Ok,
    /// An error; when text is given, the error (`message (SQLSTATE code)`) must contain it.
    Error(Option<String>),
    /// Success touching exactly this many rows.
    Count(u64),
}

/// A query's expected output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expected {
    /// `N values hashing to MD5`.
    Hash { values: usize, md5: String },
    /// The result lines as written (values or rows, depending on the result mode).
    Lines(Vec<String>),
    /// `query error [TEXT]`: the query must fail, its error containing TEXT if given.
    Error(Option<String>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordKind {
    Statement {
        sql: String,
        expect: StatementExpect,
    },
    Query {
        sql: String,
        /// One type letter per column (`I`, `R`, `T`).
        types: Vec<char>,
        sort: SortMode,
        label: Option<String>,
        /// `None` when the record has no `----` section (only its label is checked).
        expected: Option<Expected>,
    },
    HashThreshold(usize),
    ResultMode(ResultMode),
    /// Stop running the file here.
    Halt,
    /// A statement or query whose conditions exclude the engine.
    Skipped,
    /// A record this runner cannot read; it counts as failed.
    Invalid(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// 1-based line of the record's header (after its conditions).
    pub line: usize,
    pub kind: RecordKind,
}

/// Removes a trailing `# comment` from a header line and trims it.
fn strip_comment(line: &str) -> &str {
    line.split_once('#').map_or(line, |(head, _)| head).trim()
}

/// Parses a whole file. `engine` is the name `skipif`/`onlyif` are matched against (without
/// regard to case). Expected results are kept as lines; the runner reads them by result mode.
pub fn parse(text: &str, engine: &str) -> Vec<Record> {
    let lines: Vec<&str> = text.lines().collect();
    let mut records = Vec::new();
    let mut i = 0;
    // Conditions seen since the last record: whether they include this engine.
    let mut applies = true;
    while i < lines.len() {
        let raw = lines[i];
        let header = strip_comment(raw);
        if raw.trim_start().starts_with('#') || header.is_empty() {
            i += 1;
            continue;
        }
        let line = i + 1;
        let words: Vec<&str> = header.split_whitespace().collect();
        match words.as_slice() {
            ["skipif", name] => {
                applies &= !name.eq_ignore_ascii_case(engine);
                i += 1;
                continue;
            }
            ["onlyif", name] => {
                applies &= name.eq_ignore_ascii_case(engine);
                i += 1;
                continue;
            }
            ["halt"] => {
                if applies {
                    records.push(Record {
                        line,
                        kind: RecordKind::Halt,
                    });
                }
                i += 1;
            }
            ["hash-threshold", n] => {
                let kind = match n.parse() {
                    Ok(n) => RecordKind::HashThreshold(n),
                    Err(_) => RecordKind::Invalid(format!("bad hash-threshold {n:?}")),
                };
                if applies {
                    records.push(Record { line, kind });
                }
                i += 1;
            }
            ["control", "resultmode", mode] => {
                let kind = match *mode {
                    "valuewise" => RecordKind::ResultMode(ResultMode::ValueWise),
                    "rowwise" => RecordKind::ResultMode(ResultMode::RowWise),
                    other => RecordKind::Invalid(format!("unknown result mode {other:?}")),
                };
                if applies {
                    records.push(Record { line, kind });
                }
                i += 1;
            }
            ["statement", rest @ ..] => {
                let (sql, next) = read_sql(&lines, i + 1, false);
                i = next;
                let kind = match statement_expect(raw, rest) {
                    _ if !applies => RecordKind::Skipped,
                    Ok(expect) => RecordKind::Statement { sql, expect },
                    Err(e) => RecordKind::Invalid(e),
                };
                records.push(Record { line, kind });
            }
            ["query", rest @ ..] => {
                let (sql, next) = read_sql(&lines, i + 1, true);
                i = next;
                let mut result_lines = None;
                if lines.get(i).is_some_and(|l| l.trim_end() == "----") {
                    let (body, next) = read_block(&lines, i + 1);
                    result_lines = Some(body);
                    i = next;
                }
                let kind = if applies {
                    query_kind(raw, rest, sql, result_lines)
                } else {
                    RecordKind::Skipped
                };
                records.push(Record { line, kind });
            }
            _ => {
                // Unknown record: skip its block so the next record parses cleanly.
                let (_, next) = read_block(&lines, i + 1);
                i = next;
                let kind = if applies {
                    RecordKind::Invalid(format!("unsupported record {header:?}"))
                } else {
                    RecordKind::Skipped
                };
                records.push(Record { line, kind });
            }
        }
        applies = true;
    }
    records
}

/// Reads SQL lines from `start` to a blank line (or, for a query, a `----` line). Returns the
/// SQL and the index of the line after it.
fn read_sql(lines: &[&str], start: usize, stop_at_dashes: bool) -> (String, usize) {
    let mut end = start;
    while end < lines.len()
        && !lines[end].trim().is_empty()
        && !(stop_at_dashes && lines[end].trim_end() == "----")
    {
        end += 1;
    }
    (lines[start..end].join("\n"), end)
}

/// Reads lines from `start` to the next blank line, trailing whitespace removed.
fn read_block(lines: &[&str], start: usize) -> (Vec<String>, usize) {
    let mut end = start;
    while end < lines.len() && !lines[end].trim().is_empty() {
        end += 1;
    }
    let body = lines[start..end]
        .iter()
        .map(|l| l.trim_end().to_string())
        .collect();
    (body, end)
}

/// The text after `error` on a header line, comments included (an error pattern may hold a
/// `#`), or `None` when there is none.
fn error_text(raw: &str) -> Option<String> {
    let (_, after) = raw.split_once("error")?;
    let text = after.trim();
    (!text.is_empty()).then(|| text.to_string())
}

fn statement_expect(raw: &str, rest: &[&str]) -> Result<StatementExpect, String> {
    match rest {
        ["ok"] => Ok(StatementExpect::Ok),
        ["error", ..] => Ok(StatementExpect::Error(error_text(raw))),
        ["count", n] => n
            .parse()
            .map(StatementExpect::Count)
            .map_err(|_| format!("bad statement count {n:?}")),
        _ => Err(format!("unsupported statement header {:?}", raw.trim())),
    }
}

fn query_kind(
    raw: &str,
    rest: &[&str],
    sql: String,
    result_lines: Option<Vec<String>>,
) -> RecordKind {
    let (types, sort, label) = match rest {
        ["error", ..] => {
            return RecordKind::Query {
                sql,
                types: Vec::new(),
                sort: SortMode::AsReturned,
                label: None,
                expected: Some(Expected::Error(error_text(raw))),
            };
        }
        [types] => (types, "nosort", None),
        [types, sort] => (types, *sort, None),
        [types, sort, label] => (types, *sort, Some(label.to_string())),
        _ => return RecordKind::Invalid(format!("bad query header {:?}", raw.trim())),
    };
    let sort = match sort {
        "nosort" => SortMode::AsReturned,
        "rowsort" => SortMode::Rows,
        "valuesort" => SortMode::Values,
        other => return RecordKind::Invalid(format!("unknown sort mode {other:?}")),
    };
    if !types.chars().all(|c| c.is_ascii_alphabetic()) {
        return RecordKind::Invalid(format!("bad column types {types:?}"));
    }
    let expected = result_lines.map(|lines| match lines.as_slice() {
        [only] => parse_hash_line(only).unwrap_or(Expected::Lines(lines)),
        _ => Expected::Lines(lines),
    });
    RecordKind::Query {
        sql,
        types: types.chars().collect(),
        sort,
        label,
        expected,
    }
}

/// Reads `N values hashing to MD5`.
fn parse_hash_line(line: &str) -> Option<Expected> {
    match line.split_whitespace().collect::<Vec<_>>().as_slice() {
        [n, "values", "hashing", "to", md5] => Some(Expected::Hash {
            values: n.parse().ok()?,
            md5: md5.to_ascii_lowercase(),
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\
# a comment line
hash-threshold 8

statement ok
CREATE TABLE t1(a INTEGER,
  b TEXT)

skipif mysql # not compatible
query IT rowsort label-1
SELECT a, b
  FROM t1
----
1
x
2
y

onlyif mysql # mysql only
query I nosort
SELECT 1 DIV 1
----
1

onlyif mssql
halt

query I valuesort
SELECT a FROM t1
----
30 values hashing to 3C13DEE48D9356AE19AF2515E05E6B54

statement error
SELECT * FROM nowhere

statement error relation # not found
SELECT * FROM nowhere

statement count 3
DELETE FROM t1

query error division by zero
SELECT 1/0

skipif postgresql
statement ok
SELECT 'skipped'

onlyif postgresql
halt

statement ok
SELECT 'after halt'
";

    fn kinds(text: &str) -> Vec<(usize, RecordKind)> {
        parse(text, "postgresql")
            .into_iter()
            .map(|r| (r.line, r.kind))
            .collect()
    }

    #[test]
    fn parses_every_record_kind_and_resolves_conditions() {
        let got = kinds(SAMPLE);
        let expected = vec![
            (2, RecordKind::HashThreshold(8)),
            (
                4,
                RecordKind::Statement {
                    sql: "CREATE TABLE t1(a INTEGER,\n  b TEXT)".into(),
                    expect: StatementExpect::Ok,
                },
            ),
            (
                9,
                RecordKind::Query {
                    sql: "SELECT a, b\n  FROM t1".into(),
                    types: vec!['I', 'T'],
                    sort: SortMode::Rows,
                    label: Some("label-1".into()),
                    expected: Some(Expected::Lines(vec![
                        "1".into(),
                        "x".into(),
                        "2".into(),
                        "y".into(),
                    ])),
                },
            ),
            (19, RecordKind::Skipped),
            // `onlyif mssql` + `halt` vanished without touching the next record.
            (
                27,
                RecordKind::Query {
                    sql: "SELECT a FROM t1".into(),
                    types: vec!['I'],
                    sort: SortMode::Values,
                    label: None,
                    expected: Some(Expected::Hash {
                        values: 30,
                        md5: "3c13dee48d9356ae19af2515e05e6b54".into(),
                    }),
                },
            ),
            (
                32,
                RecordKind::Statement {
                    sql: "SELECT * FROM nowhere".into(),
                    expect: StatementExpect::Error(None),
                },
            ),
            (
                35,
                RecordKind::Statement {
                    sql: "SELECT * FROM nowhere".into(),
                    expect: StatementExpect::Error(Some("relation # not found".into())),
                },
            ),
            (
                38,
                RecordKind::Statement {
                    sql: "DELETE FROM t1".into(),
                    expect: StatementExpect::Count(3),
                },
            ),
            (
                41,
                RecordKind::Query {
                    sql: "SELECT 1/0".into(),
                    types: vec![],
                    sort: SortMode::AsReturned,
                    label: None,
                    expected: Some(Expected::Error(Some("division by zero".into()))),
                },
            ),
            (45, RecordKind::Skipped),
            (49, RecordKind::Halt),
            (
                51,
                RecordKind::Statement {
                    sql: "SELECT 'after halt'".into(),
                    expect: StatementExpect::Ok,
                },
            ),
        ];
        assert_eq!(got, expected);
    }

    #[test]
    fn skipif_sqlite_then_halt_halts_for_postgresql() {
        // evidence/slt_lang_aggfunc.test does this: the rest of the file is SQLite-only.
        assert_eq!(
            kinds("skipif sqlite\nhalt\n\nstatement ok\nSELECT 1\n")[0],
            (2, RecordKind::Halt)
        );
    }

    #[test]
    fn unknown_records_are_invalid_and_skipped_over() {
        let got = kinds("sleep 10ms\nmore\n\nquery I nosort\nSELECT 1\n----\n1\n");
        assert!(matches!(&got[0], (1, RecordKind::Invalid(m)) if m.contains("sleep")));
        assert!(matches!(&got[1], (4, RecordKind::Query { .. })));
        assert_eq!(got.len(), 2);
    }

    #[test]
    fn a_query_without_results_and_bad_headers() {
        let got = kinds(
            "query I nosort label-9\nSELECT 1\n\nquery\nSELECT 2\n\nquery I upside\nSELECT 3\n",
        );
        assert!(
            matches!(&got[0].1, RecordKind::Query { expected: None, label: Some(l), .. } if l == "label-9")
        );
        assert!(matches!(&got[1].1, RecordKind::Invalid(_)));
        assert!(matches!(&got[2].1, RecordKind::Invalid(m) if m.contains("upside")));
    }

    #[test]
    fn row_wise_results_keep_their_lines() {
        let got = kinds("query IT\nSELECT 1, 'a b'\n----\n1 a b   \n");
        assert!(matches!(
            &got[0].1,
            RecordKind::Query { expected: Some(Expected::Lines(l)), .. } if l == &["1 a b".to_string()]
        ));
    }
}
