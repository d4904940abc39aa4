//! Running parsed sqllogictest records against a database and comparing results.
//!
//! The comparison follows SQLite's original harness: values are rendered by type letter,
//! sorted as the record asks, and compared value by value, or by MD5 when the expected result
//! is a `N values hashing to MD5` line (always accepted, whatever the threshold) or when a
//! labelled query must agree with an earlier query of the same label.
//!
//! A record fails when the engine panics (the panic is caught so the file goes on), when an
//! error differs from what the record expects, or when results differ. Features the engine
//! reports as unsupported fail like any other error. Records are skipped only by
//! `skipif`/`onlyif`, and by the short list of features Chronos does not have by design,
//! named in [`UNSUPPORTED_FEATURES`] (counted as skipped, never as passed).

use std::collections::HashMap;
use std::fmt;
use std::panic::{self, AssertUnwindSafe};
use std::path::Path;

use anyhow::Context;
use chronos_sql::{Engine, Session, StatementResult};

use super::parse::{Expected, Record, RecordKind, ResultMode, StatementExpect, parse};
use super::render::{SortMode, hash_line, hash_values, render_value, sorted_values};

/// The engine name `skipif`/`onlyif` match: Chronos speaks PostgreSQL's dialect, so the
/// PostgreSQL variants of SQLite's records apply to it.
pub const ENGINE_NAME: &str = "postgresql";

/// Features Chronos does not support, by name, with how to recognise a record using them.
/// A feature's name and a test for whether a record's SQL uses it.
pub type UnsupportedFeature = (&'static str, fn(&str) -> bool);

pub const UNSUPPORTED_FEATURES: &[UnsupportedFeature] = &[(
    "BLOB literals (X'..'; Chronos has no BLOB type)",
    has_blob_literal,
)];

/// Whether `sql` holds an `X'..'` literal outside quotes.
fn has_blob_literal(sql: &str) -> bool {
    let b = sql.as_bytes();
    let mut in_quote = false;
    for i in 0..b.len() {
        if b[i] == b'\'' {
            if !in_quote
                && i > 0
                && (b[i - 1] == b'x' || b[i - 1] == b'X')
                && (i < 2 || !(b[i - 2].is_ascii_alphanumeric() || b[i - 2] == b'_'))
            {
                return true;
            }
            in_quote = !in_quote;
        }
    }
    false
}

/// The named unsupported feature `sql` uses, if any.
pub fn unsupported_feature(sql: &str) -> Option<&'static str> {
    UNSUPPORTED_FEATURES
        .iter()
        .find(|(_, uses)| uses(sql))
        .map(|(name, _)| *name)
}

/// The hash threshold of SQLite's harness, which `select1..5.test` rely on.
pub const VALUE_WISE_HASH_THRESHOLD: usize = 8;

/// Lines of expected or actual output shown in a failure before eliding the rest.
const SHOWN_LINES: usize = 20;

/// Anything that runs SQL text the way [`Session::execute`] does.
pub trait Database {
    fn execute(&mut self, sql: &str) -> Vec<chronos_sql::Result<StatementResult>>;
}

impl Database for Session {
    fn execute(&mut self, sql: &str) -> Vec<chronos_sql::Result<StatementResult>> {
        Session::execute(self, sql)
    }
}

/// One record that failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// 1-based line of the record's header in its file.
    pub line: usize,
    /// The record's SQL (empty for records that could not be read).
    pub sql: String,
    /// What went wrong, possibly several lines (expected and actual results).
    pub message: String,
}

impl Failure {
    /// `FILE:LINE: ` and the message's first line, then the SQL indented, then the rest of
    /// the message (expected and actual results); every line ends in a newline.
    pub fn report(&self, file: &str) -> String {
        let (first, rest) = self
            .message
            .split_once('\n')
            .unwrap_or((self.message.as_str(), ""));
        let mut out = format!("{file}:{}: {first}\n", self.line);
        if !self.sql.is_empty() {
            out.push_str("  sql:\n");
            for line in self.sql.lines() {
                out.push_str(&format!("    {line}\n"));
            }
        }
        for line in rest.lines() {
            out.push_str(&format!("{line}\n"));
        }
        out
    }
}

/// The outcome of one file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SltSummary {
    pub passed: usize,
    pub failed: usize,
    /// Records excluded by `skipif`/`onlyif` for [`ENGINE_NAME`].
    pub skipped: usize,
    /// The line of the `halt` that stopped the file early, if one did.
    pub halted_at: Option<usize>,
    /// Every failure, in file order (`failures.len() == failed`).
    pub failures: Vec<Failure>,
}

impl fmt::Display for SltSummary {
    /// `N passed, M failed, K skipped`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} passed, {} failed, {} skipped",
            self.passed, self.failed, self.skipped
        )
    }
}

impl SltSummary {
    fn fail(&mut self, record: &Record, sql: &str, message: String) {
        self.failed += 1;
        self.failures.push(Failure {
            line: record.line,
            sql: sql.to_string(),
            message,
        });
    }
}

/// The result layout and hash threshold a file starts with, by extension: `.test` is SQLite's
/// value-wise layout with threshold 8; anything else (our `.slt`) is row-wise, never hashed
/// unless the file says `hash-threshold N`.
pub fn defaults_for(path: &Path) -> (ResultMode, usize) {
    if path.extension().is_some_and(|e| e == "test") {
        (ResultMode::ValueWise, VALUE_WISE_HASH_THRESHOLD)
    } else {
        (ResultMode::RowWise, 0)
    }
}

/// Runs one file against a fresh in-memory engine.
pub fn run_file(path: &Path) -> anyhow::Result<SltSummary> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let engine = Engine::temporary().context("creating a temporary engine")?;
    let mut session = engine.session();
    let (mode, threshold) = defaults_for(path);
    Ok(run_records(
        &mut session,
        &parse(&text, ENGINE_NAME),
        mode,
        threshold,
    ))
}

/// Runs parsed records in order until the end or a `halt`.
pub fn run_records(
    db: &mut dyn Database,
    records: &[Record],
    mut mode: ResultMode,
    mut hash_threshold: usize,
) -> SltSummary {
    let mut summary = SltSummary::default();
    // Label → (MD5 of its first result, line of that query).
    let mut labels: HashMap<String, (String, usize)> = HashMap::new();
    for record in records {
        match &record.kind {
            RecordKind::HashThreshold(n) => hash_threshold = *n,
            RecordKind::ResultMode(m) => mode = *m,
            RecordKind::Halt => {
                summary.halted_at = Some(record.line);
                break;
            }
            RecordKind::Skipped => summary.skipped += 1,
            RecordKind::Invalid(message) => summary.fail(record, "", message.clone()),
            RecordKind::Statement { sql, .. } | RecordKind::Query { sql, .. }
                if unsupported_feature(sql).is_some() =>
            {
                summary.skipped += 1;
            }
            RecordKind::Statement { sql, expect } => match check_statement(db, sql, expect) {
                Ok(()) => summary.passed += 1,
                Err(message) => summary.fail(record, sql, message),
            },
            RecordKind::Query {
                sql,
                types,
                sort,
                label,
                expected,
            } => {
                let query = Query {
                    types,
                    sort: *sort,
                    mode,
                    hash_threshold,
                };
                let outcome = query.check(db, sql, expected.as_ref()).and_then(|values| {
                    check_label(&mut labels, label.as_deref(), &values, record.line)
                });
                match outcome {
                    Ok(()) => summary.passed += 1,
                    Err(message) => summary.fail(record, sql, message),
                }
            }
        }
    }
    summary
}

/// Why running SQL did not give a result.
enum ExecError {
    /// The engine's error: what `statement error` expects.
    Sql(chronos_sql::Error),
    /// A bug: never what a record expects.
    Broken(String),
}

impl fmt::Display for ExecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExecError::Sql(e) => write!(f, "ERROR: {} (SQLSTATE {})", e.message, e.state.code()),
            ExecError::Broken(m) => f.write_str(m),
        }
    }
}

/// Runs `sql`, catching panics, and returns the last statement's result.
fn execute(db: &mut dyn Database, sql: &str) -> Result<StatementResult, ExecError> {
    let results = panic::catch_unwind(AssertUnwindSafe(|| db.execute(sql))).map_err(|payload| {
        ExecError::Broken(format!("engine panicked: {}", panic_text(&payload)))
    })?;
    let mut last = None;
    for result in results {
        last = Some(result.map_err(ExecError::Sql)?);
    }
    last.ok_or_else(|| ExecError::Broken("the engine returned no result".to_string()))
}

fn panic_text(payload: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(no message)".to_string()
    }
}

/// Checks an error against an expected pattern: any SQL error matches `None`; otherwise the
/// error's text (`ERROR: message (SQLSTATE code)`) must contain the pattern.
fn check_error(
    result: Result<StatementResult, ExecError>,
    pattern: Option<&str>,
) -> Result<(), String> {
    match result {
        Err(ExecError::Sql(e)) => {
            let text = ExecError::Sql(e).to_string();
            match pattern {
                Some(p) if !text.contains(p) => {
                    Err(format!("expected an error containing {p:?}, got {text}"))
                }
                _ => Ok(()),
            }
        }
        Err(broken @ ExecError::Broken(_)) => Err(broken.to_string()),
        Ok(_) => Err("expected an error, but the statement succeeded".to_string()),
    }
}

fn check_statement(
    db: &mut dyn Database,
    sql: &str,
    expect: &StatementExpect,
) -> Result<(), String> {
    let result = execute(db, sql);
    match expect {
        StatementExpect::Error(pattern) => check_error(result, pattern.as_deref()),
        StatementExpect::Ok => result.map(drop).map_err(|e| e.to_string()),
        StatementExpect::Count(n) => match result.map_err(|e| e.to_string())? {
            StatementResult::Modified { rows, .. } if rows == *n => Ok(()),
            StatementResult::Modified { rows, .. } => {
                Err(format!("expected {n} rows affected, got {rows}"))
            }
            other => Err(format!(
                "expected {n} rows affected, got {}",
                describe(&other)
            )),
        },
    }
}

fn describe(result: &StatementResult) -> String {
    match result {
        StatementResult::Query { rows, .. } => format!("a query result of {} rows", rows.len()),
        StatementResult::Modified { tag, rows } => format!("{tag} of {rows} rows"),
        StatementResult::Command { tag } => format!("the command {tag}"),
        StatementResult::Explain { .. } => "an EXPLAIN plan".to_string(),
    }
}

/// How one query record compares.
struct Query<'a> {
    types: &'a [char],
    sort: SortMode,
    mode: ResultMode,
    hash_threshold: usize,
}

impl Query<'_> {
    /// Runs and compares; on success returns the sorted rendered values (for labels).
    fn check(
        &self,
        db: &mut dyn Database,
        sql: &str,
        expected: Option<&Expected>,
    ) -> Result<Vec<String>, String> {
        let result = execute(db, sql);
        if let Some(Expected::Error(pattern)) = expected {
            return check_error(result, pattern.as_deref()).map(|()| Vec::new());
        }
        let rows: Vec<Vec<String>> = match result.map_err(|e| e.to_string())? {
            StatementResult::Query { columns, rows } => {
                if columns.len() != self.types.len() {
                    return Err(format!(
                        "expected {} columns, got {}",
                        self.types.len(),
                        columns.len()
                    ));
                }
                rows.iter()
                    .map(|row| {
                        row.iter()
                            .zip(self.types)
                            .map(|(v, &t)| render_value(v, t))
                            .collect()
                    })
                    .collect()
            }
            StatementResult::Explain { lines } if self.types.len() == 1 => {
                let t = self.types[0];
                lines
                    .into_iter()
                    .map(|l| vec![render_value(&chronos_sql::Value::Text(l), t)])
                    .collect()
            }
            other => return Err(format!("expected rows, got {}", describe(&other))),
        };
        let actual_lines = match self.mode {
            ResultMode::RowWise => Some(row_lines(&rows, self.sort)),
            ResultMode::ValueWise => None,
        };
        let values = sorted_values(rows, self.sort);
        match expected {
            None | Some(Expected::Error(_)) => {}
            Some(Expected::Hash { values: n, md5 }) => {
                if values.len() != *n || hash_values(&values) != *md5 {
                    return Err(mismatch(
                        &[format!("{n} values hashing to {md5}")],
                        &self.shown(&values, actual_lines.as_deref()),
                    ));
                }
            }
            Some(Expected::Lines(lines)) => {
                let matches = match &actual_lines {
                    None => *lines == values,
                    Some(actual) => row_wise_equal(lines, actual, &values, self.sort),
                };
                if !matches {
                    return Err(mismatch(
                        lines,
                        &self.shown(&values, actual_lines.as_deref()),
                    ));
                }
            }
        }
        Ok(values)
    }

    /// The actual result as the file would write it: hashed past the threshold.
    fn shown(&self, values: &[String], row_lines: Option<&[String]>) -> Vec<String> {
        if self.hash_threshold > 0 && values.len() > self.hash_threshold {
            vec![hash_line(values)]
        } else if let Some(lines) = row_lines {
            lines.to_vec()
        } else {
            values.to_vec()
        }
    }
}

/// Rows as row-wise lines (values joined by one space), sorted for `rowsort`.
fn row_lines(rows: &[Vec<String>], sort: SortMode) -> Vec<String> {
    let mut lines: Vec<String> = rows.iter().map(|r| r.join(" ")).collect();
    if sort == SortMode::Rows {
        lines.sort();
    }
    lines
}

/// Compares row-wise expected lines with the actual rows, each line normalised (see
/// [`normalize`]). For `rowsort` both sides are sorted; for `valuesort` the words of both
/// sides are compared as sorted lists.
fn row_wise_equal(
    expected: &[String],
    actual_lines: &[String],
    values: &[String],
    sort: SortMode,
) -> bool {
    match sort {
        SortMode::Values => {
            let words = |lines: &[String]| {
                let mut w: Vec<String> = lines
                    .iter()
                    .flat_map(|l| l.split_whitespace().map(str::to_string))
                    .collect();
                w.sort_unstable();
                w
            };
            words(expected) == words(values)
        }
        SortMode::Rows | SortMode::AsReturned => {
            let mut want: Vec<String> = expected.iter().map(|l| normalize(l)).collect();
            let mut got: Vec<String> = actual_lines.iter().map(|l| normalize(l)).collect();
            if sort == SortMode::Rows {
                want.sort();
                got.sort();
            }
            want == got
        }
    }
}

/// A row-wise line as compared: leading whitespace kept (EXPLAIN indents its plan tree),
/// inner runs of whitespace as one space, trailing whitespace dropped.
fn normalize(line: &str) -> String {
    let body = line.trim_start();
    let indent = &line[..line.len() - body.len()];
    format!(
        "{indent}{}",
        body.split_whitespace().collect::<Vec<_>>().join(" ")
    )
}

fn mismatch(expected: &[String], actual: &[String]) -> String {
    let mut out = "query result mismatch".to_string();
    for (title, lines) in [("expected", expected), ("actual", actual)] {
        out.push_str(&format!("\n  {title}:"));
        for line in lines.iter().take(SHOWN_LINES) {
            out.push_str(&format!("\n    {line}"));
        }
        if lines.len() > SHOWN_LINES {
            out.push_str(&format!("\n    ... {} more", lines.len() - SHOWN_LINES));
        }
    }
    out
}

/// Queries sharing a label must agree: the first one's digest is kept and later ones compared.
fn check_label(
    labels: &mut HashMap<String, (String, usize)>,
    label: Option<&str>,
    values: &[String],
    line: usize,
) -> Result<(), String> {
    let Some(label) = label else { return Ok(()) };
    let md5 = hash_values(values);
    match labels.get(label) {
        Some((first, first_line)) if *first != md5 => Err(format!(
            "result differs from the query with label {label} at line {first_line} ({} values hashing to {md5})",
            values.len()
        )),
        Some(_) => Ok(()),
        None => {
            labels.insert(label.to_string(), (md5, line));
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use chronos_sql::{ColumnInfo, DataType, Error, SqlState, Value};

    use super::*;

    /// A fake database: canned results by SQL text; unknown SQL is a syntax error.
    struct Fake(HashMap<&'static str, StatementResult>);

    impl Database for Fake {
        fn execute(&mut self, sql: &str) -> Vec<chronos_sql::Result<StatementResult>> {
            if sql == "PANIC" {
                panic!("fake engine bug");
            }
            vec![
                self.0
                    .get(sql)
                    .cloned()
                    .ok_or_else(|| Error::new(SqlState::SyntaxError, format!("no {sql}"))),
            ]
        }
    }

    fn query(rows: Vec<Vec<Value>>) -> StatementResult {
        let width = rows.first().map_or(1, Vec::len);
        StatementResult::Query {
            columns: (0..width)
                .map(|i| ColumnInfo {
                    name: format!("c{i}"),
                    data_type: Some(DataType::Integer),
                })
                .collect(),
            rows,
        }
    }

    fn fake() -> Fake {
        let ints = |v: &[i64]| v.iter().map(|&i| vec![Value::Integer(i)]).collect();
        Fake(HashMap::from([
            (
                "CREATE",
                StatementResult::Command {
                    tag: "CREATE TABLE".into(),
                },
            ),
            (
                "DELETE",
                StatementResult::Modified {
                    tag: "DELETE",
                    rows: 3,
                },
            ),
            ("ONE", query(ints(&[1]))),
            ("THREE_TWO_ONE", query(ints(&[3, 2, 1]))),
            ("NINE", query(ints(&[1, 2, 3, 4, 5, 6, 7, 8, 9]))),
            (
                "PAIRS",
                query(vec![
                    vec![Value::Integer(2), Value::Text("b b".into())],
                    vec![Value::Integer(1), Value::Null],
                ]),
            ),
        ]))
    }

    fn run(text: &str, mode: ResultMode, threshold: usize) -> SltSummary {
        run_records(&mut fake(), &parse(text, ENGINE_NAME), mode, threshold)
    }

    #[test]
    fn statements_pass_and_fail_as_expected() {
        let s = run(
            "statement ok\nCREATE\n\nstatement error\nNOPE\n\nstatement error no NOPE\nNOPE\n\n\
             statement count 3\nDELETE\n\nstatement ok\nNOPE\n\nstatement error\nCREATE\n\n\
             statement error 42P01\nNOPE\n\nstatement count 2\nDELETE\n",
            ResultMode::RowWise,
            0,
        );
        assert_eq!((s.passed, s.failed, s.skipped), (4, 4, 0));
        let lines: Vec<usize> = s.failures.iter().map(|f| f.line).collect();
        assert_eq!(lines, [13, 16, 19, 22]);
        assert!(
            s.failures[0]
                .message
                .contains("ERROR: no NOPE (SQLSTATE 42601)")
        );
        assert!(s.failures[2].message.contains("\"42P01\""));
        assert_eq!(s.to_string(), "4 passed, 4 failed, 0 skipped");
        assert_eq!(
            s.failures[1].report("f.slt"),
            "f.slt:16: expected an error, but the statement succeeded\n  sql:\n    CREATE\n"
        );
    }

    #[test]
    fn value_wise_queries_sort_and_hash() {
        let s = run(
            "query I nosort\nTHREE_TWO_ONE\n----\n3\n2\n1\n\n\
             query I rowsort\nTHREE_TWO_ONE\n----\n1\n2\n3\n\n\
             query I nosort\nNINE\n----\n9 values hashing to 6bab8c26a7ab0bf03c4d2b6e2f1dd6de\n\n\
             query I nosort\nTHREE_TWO_ONE\n----\n1\n2\n3\n",
            ResultMode::ValueWise,
            8,
        );
        assert_eq!((s.passed, s.failed), (2, 2), "{:#?}", s.failures);
        assert!(s.failures[0].message.contains("9 values hashing to "));
        assert!(
            s.failures[1]
                .message
                .contains("expected:\n    1\n    2\n    3")
        );
        assert_eq!(
            s.failures[1].report("f.test"),
            "f.test:20: query result mismatch\n  sql:\n    THREE_TWO_ONE\n  expected:\n    1\n    2\n    3\n  actual:\n    3\n    2\n    1\n"
        );
    }

    #[test]
    fn value_wise_hash_of_the_right_values_passes() {
        let nine: Vec<String> = (1..=9).map(|i| i.to_string()).collect();
        let text = format!("query I nosort\nNINE\n----\n{}\n", hash_line(&nine));
        let s = run(&text, ResultMode::ValueWise, 8);
        assert_eq!((s.passed, s.failed), (1, 0), "{:#?}", s.failures);
    }

    #[test]
    fn row_wise_queries_compare_lines() {
        let s = run(
            "query IT rowsort\nPAIRS\n----\n1 NULL\n2   b b\n\n\
             query IT nosort\nPAIRS\n----\n2 b b\n1 NULL\n\n\
             query IT valuesort\nPAIRS\n----\n1 2\nb b NULL\n\n\
             query IT nosort\nPAIRS\n----\n1 NULL\n2 b b\n\n\
             query IT nosort\nPAIRS\n----\n  2 b b\n1 NULL\n",
            ResultMode::RowWise,
            0,
        );
        assert_eq!((s.passed, s.failed), (3, 2), "{:#?}", s.failures);
        assert_eq!(s.failures[0].line, 19);
        assert_eq!(s.failures[1].line, 25);
    }

    #[test]
    fn row_wise_normalisation_keeps_indentation() {
        assert_eq!(normalize("  -> Scan   of t  "), "  -> Scan of t");
        assert_eq!(normalize("a\tb"), "a b");
        let lines = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        // Values sorted as words on both sides, whatever spaces the values hold.
        assert!(row_wise_equal(
            &lines(&["b", "a c"]),
            &[],
            &lines(&["a c", "b"]),
            SortMode::Values
        ));
        assert!(!row_wise_equal(
            &lines(&["x"]),
            &lines(&[" x"]),
            &[],
            SortMode::AsReturned
        ));
    }

    #[test]
    fn query_shape_errors_fail() {
        let s = run(
            "query II nosort\nONE\n----\n1\n\nquery I nosort\nCREATE\n----\n1\n\n\
             query error no\nNOPE\n\nquery error\nONE\n",
            ResultMode::RowWise,
            0,
        );
        assert_eq!((s.passed, s.failed), (1, 3), "{:#?}", s.failures);
        assert!(s.failures[0].message.contains("expected 2 columns, got 1"));
        assert!(s.failures[1].message.contains("CREATE TABLE"));
    }

    #[test]
    fn labels_must_agree() {
        let s = run(
            "query I rowsort label-a\nTHREE_TWO_ONE\n----\n1\n2\n3\n\n\
             query I nosort label-a\nONE\n\n\
             query I valuesort label-a\nTHREE_TWO_ONE\n",
            ResultMode::ValueWise,
            8,
        );
        assert_eq!((s.passed, s.failed), (2, 1), "{:#?}", s.failures);
        assert!(s.failures[0].message.contains("label label-a at line 1"));
    }

    #[test]
    fn blob_literals_are_recognised_outside_quotes_only() {
        assert!(has_blob_literal("SELECT x'303132' IN (1)"));
        assert!(has_blob_literal("SELECT X'00'"));
        assert!(!has_blob_literal("SELECT 'x''y'"));
        assert!(!has_blob_literal("SELECT max'1'"));
    }

    #[test]
    fn skips_halts_invalid_records_and_panics() {
        let s = run(
            "skipif postgresql\nstatement ok\nCREATE\n\nonlyif sqlite\nquery I nosort\nONE\n----\n1\n\n\
             bogus record\n\nstatement ok\nPANIC\n\nhalt\n\nstatement ok\nCREATE\n",
            ResultMode::RowWise,
            0,
        );
        assert_eq!(
            (s.passed, s.failed, s.skipped),
            (0, 2, 2),
            "{:#?}",
            s.failures
        );
        assert_eq!(s.halted_at, Some(16));
        assert!(s.failures[0].message.contains("bogus"));
        assert!(
            s.failures[1]
                .message
                .contains("engine panicked: fake engine bug")
        );
    }

    #[test]
    fn directives_change_mode_and_threshold() {
        let s = run(
            "control resultmode valuewise\n\nhash-threshold 2\n\n\
             query I nosort\nTHREE_TWO_ONE\n----\n3 values hashing to 0\n",
            ResultMode::RowWise,
            0,
        );
        assert_eq!(s.failed, 1);
        let nums = ["3", "2", "1"].map(String::from);
        assert!(
            s.failures[0].message.contains(&hash_line(&nums)),
            "{}",
            s.failures[0].message
        );
    }

    #[test]
    fn extension_decides_defaults() {
        assert_eq!(
            defaults_for(Path::new("x/select1.test")),
            (ResultMode::ValueWise, 8)
        );
        assert_eq!(
            defaults_for(Path::new("ours.slt")),
            (ResultMode::RowWise, 0)
        );
    }
}
