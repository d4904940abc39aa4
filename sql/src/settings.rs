//! Session settings: `SET`, `SHOW` and `RESET` of `statement_timeout`, the one setting Chronos
//! can change, with PostgreSQL's syntax, units, rounding, range, display and errors:
//!
//! - `SET statement_timeout = 500` (milliseconds), `'500ms'`, `'2s'`, `'1.5min'`; units `us`,
//!   `ms`, `s`, `min`, `h`, `d` (case-sensitive); fractions round to the nearest millisecond,
//!   ties to even; 0 turns the timeout off; the range is 0 .. 2147483647 ms.
//! - `SHOW statement_timeout` prints the largest unit that divides the value (`2s`, `1min`,
//!   `1500ms`, `0`).
//! - `RESET statement_timeout`, `RESET ALL` and `SET statement_timeout = DEFAULT` go back to the
//!   engine's default (`chronos start --statement-timeout`; 0 when none was given).
//! - Transactional, as in PostgreSQL: a `SET` inside a transaction block is undone by ROLLBACK
//!   (or a COMMIT of a failed block); `SET LOCAL` lasts until the block ends. Unlike
//!   PostgreSQL, which only warns, `SET LOCAL` outside a block is refused (25P01): it would
//!   have no effect, and a declaration we do not honour is an error.
//!
//! Parameters that drivers set or ask for on connect and whose value Chronos cannot change
//! (see [`FIXED`]): `SHOW` prints the one value we implement, `SET`/`RESET` accept exactly
//! that value (in PostgreSQL's spellings) and refuse any other with 22023 rather than
//! accepting a setting we would not honour.
//!
//! Any other parameter is SQLSTATE 42704 ("unrecognized configuration parameter").

use std::time::Duration;

use sqlparser::ast::{self, ContextModifier, Expr, Reset, Set, Statement, UnaryOperator};

use crate::engine::{ColumnInfo, StatementResult};
use crate::error::{Error, Result, SqlState};
use crate::sql_error;
use crate::value::{DataType, Value};

const STATEMENT_TIMEOUT: &str = "statement_timeout";

/// The largest timeout PostgreSQL accepts (an `int` of milliseconds).
const MAX_TIMEOUT_MS: i64 = i32::MAX as i64;

/// Units of `statement_timeout`, in milliseconds, as PostgreSQL spells them.
const UNITS: [(&str, f64); 6] = [
    ("us", 0.001),
    ("ms", 1.0),
    ("s", 1e3),
    ("min", 60e3),
    ("h", 3600e3),
    ("d", 86_400e3),
];

/// A parameter with one value: its name (lower case), what SHOW prints, and whether a SET
/// value (already lower-cased where PostgreSQL compares case-insensitively) means it.
pub(crate) struct Fixed {
    pub(crate) name: &'static str,
    pub(crate) shown: &'static str,
    accepts: fn(&str) -> bool,
}

/// The fixed parameters: our text output is UTF-8, dates would be ISO, times UTC, every table
/// lives in `public`, and floats print the shortest exact digits, which is what PostgreSQL 12+
/// prints for every `extra_float_digits` from 1 to 3 (0 and below round, which we do not).
pub(crate) const FIXED: &[Fixed] = &[
    Fixed {
        name: "client_encoding",
        shown: "UTF8",
        accepts: |v| matches!(v, "utf8" | "utf-8" | "unicode"),
    },
    Fixed {
        name: "datestyle",
        shown: "ISO, MDY",
        accepts: |v| {
            let parts: Vec<&str> = v.split(',').map(str::trim).collect();
            matches!(parts[..], ["iso"] | ["iso", "mdy"] | ["mdy", "iso"])
        },
    },
    Fixed {
        name: "timezone",
        shown: "UTC",
        accepts: |v| matches!(v, "utc" | "etc/utc" | "z" | "zulu" | "gmt" | "0"),
    },
    Fixed {
        name: "search_path",
        shown: "public",
        accepts: |v| v == "public",
    },
    Fixed {
        name: "extra_float_digits",
        shown: "1",
        accepts: |v| matches!(v, "1" | "2" | "3"),
    },
    Fixed {
        name: "standard_conforming_strings",
        shown: "on",
        accepts: is_on,
    },
    // Every transaction runs under snapshot isolation, which is what PostgreSQL's
    // REPEATABLE READ is; READ COMMITTED and SERIALIZABLE would be different promises.
    Fixed {
        name: "transaction_isolation",
        shown: "repeatable read",
        accepts: |v| v == "repeatable read",
    },
    Fixed {
        name: "default_transaction_isolation",
        shown: "repeatable read",
        accepts: |v| v == "repeatable read",
    },
    // A transaction is read-only only when it says so (BEGIN READ ONLY).
    Fixed {
        name: "default_transaction_read_only",
        shown: "off",
        accepts: is_off,
    },
];

/// PostgreSQL's spellings of a boolean parameter's true and false.
fn is_on(v: &str) -> bool {
    matches!(v, "on" | "true" | "yes" | "1" | "t" | "y")
}

fn is_off(v: &str) -> bool {
    matches!(v, "off" | "false" | "no" | "0" | "f" | "n")
}

/// `application_name`: any text, reported to the client whenever it changes.
const APPLICATION_NAME: &str = "application_name";

/// PostgreSQL keeps at most NAMEDATALEN - 1 bytes of an application name, and replaces
/// anything but printable ASCII with `?`.
const MAX_APPLICATION_NAME_BYTES: usize = 63;

fn clean_application_name(v: &str) -> String {
    v.chars()
        .map(|c| {
            if c.is_ascii() && !c.is_ascii_control() {
                c
            } else {
                '?'
            }
        })
        .take(MAX_APPLICATION_NAME_BYTES)
        .collect()
}

/// A parameter as PostgreSQL spells it in its catalog (and names SHOW's column).
pub(crate) fn display_name(name: &'static str) -> &'static str {
    match name {
        "datestyle" => "DateStyle",
        "timezone" => "TimeZone",
        other => other,
    }
}

fn fixed(name: &str) -> Option<&'static Fixed> {
    FIXED.iter().find(|f| f.name == name)
}

/// SET of a fixed parameter: the values of a list (`SET DateStyle = ISO, MDY`) joined as
/// PostgreSQL joins them.
fn set_fixed(f: &Fixed, values: &[Expr]) -> Result<StatementResult> {
    let mut texts = Vec::new();
    for v in values {
        match setting_text(v)? {
            // DEFAULT is the one value.
            None => return Ok(StatementResult::Command { tag: "SET".into() }),
            Some(t) => texts.push(t),
        }
    }
    let text = texts.join(", ");
    if (f.accepts)(&text.to_lowercase()) {
        return Ok(StatementResult::Command { tag: "SET".into() });
    }
    Err(Error::new(
        SqlState::InvalidParameterValue,
        format!("invalid value for parameter \"{}\": \"{text}\"", f.name),
    )
    .with_detail(format!("Chronos supports only {} = '{}'.", f.name, f.shown)))
}

/// A session's settings and what a transaction block must restore.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    /// What RESET returns to.
    default: Duration,
    /// The session's value (plain `SET`).
    session: Duration,
    /// A `SET LOCAL` value, until the transaction block ends.
    local: Option<Duration>,
    /// The session's value when the open transaction block began.
    at_begin: Option<Duration>,
    application_name: String,
    /// `application_name` when the open transaction block began.
    application_name_at_begin: Option<String>,
    /// Reported parameters that changed and were not yet handed to the client.
    reports: Vec<(String, String)>,
}

impl Settings {
    pub(crate) fn new(default: Duration) -> Self {
        Settings {
            default,
            session: default,
            local: None,
            at_begin: None,
            application_name: String::new(),
            application_name_at_begin: None,
            reports: Vec::new(),
        }
    }

    fn set_application_name(&mut self, value: &str) {
        let value = clean_application_name(value);
        if value != self.application_name {
            self.reports
                .push((APPLICATION_NAME.to_string(), value.clone()));
            self.application_name = value;
        }
    }

    /// Sets a reported parameter (from a connection's startup packet).
    pub(crate) fn set_reported(&mut self, name: &str, value: &str) -> Result<()> {
        if name != APPLICATION_NAME {
            return Err(unrecognized(name));
        }
        self.set_application_name(value);
        Ok(())
    }

    /// The reported parameters that changed since the last call.
    pub(crate) fn take_reports(&mut self) -> Vec<(String, String)> {
        std::mem::take(&mut self.reports)
    }

    /// The timeout the next statement runs under (zero: none).
    pub(crate) fn statement_timeout(&self) -> Duration {
        self.local.unwrap_or(self.session)
    }

    pub(crate) fn begin(&mut self) {
        self.at_begin = Some(self.session);
        self.application_name_at_begin = Some(self.application_name.clone());
    }

    pub(crate) fn commit(&mut self) {
        self.at_begin = None;
        self.application_name_at_begin = None;
        self.local = None;
    }

    pub(crate) fn rollback(&mut self) {
        if let Some(before) = self.at_begin.take() {
            self.session = before;
        }
        if let Some(before) = self.application_name_at_begin.take() {
            self.set_application_name(&before);
        }
        self.local = None;
    }

    /// Runs `st` if it is a SET, SHOW or RESET; `None` for any other statement.
    pub(crate) fn execute(
        &mut self,
        st: &Statement,
        in_block: bool,
    ) -> Option<Result<StatementResult>> {
        match st {
            Statement::Set(Set::SingleAssignment {
                scope,
                hivevar: false,
                variable,
                values,
            }) => Some(self.set(scope.as_ref(), variable, values, in_block)),
            Statement::ShowVariable { variable } => Some(self.show(variable)),
            Statement::Reset(reset) => Some(self.reset(&reset.reset)),
            _ => None,
        }
    }

    fn set(
        &mut self,
        scope: Option<&ContextModifier>,
        variable: &ast::ObjectName,
        values: &[Expr],
        in_block: bool,
    ) -> Result<StatementResult> {
        let name = parameter_name(&variable.to_string());
        if let Some(f) = fixed(&name) {
            if matches!(scope, Some(ContextModifier::Global)) {
                return Err(Error::unsupported("SET GLOBAL"));
            }
            return set_fixed(f, values);
        }
        if name == APPLICATION_NAME {
            if !matches!(scope, None | Some(ContextModifier::Session)) {
                return Err(Error::unsupported(format!(
                    "SET {scope:?} {APPLICATION_NAME}"
                )));
            }
            let [value] = values else {
                return Err(sql_error!(
                    InvalidParameterValue,
                    "SET {APPLICATION_NAME} takes only one argument"
                ));
            };
            let value = setting_text(value)?.unwrap_or_default();
            self.set_application_name(&value);
            return Ok(StatementResult::Command { tag: "SET".into() });
        }
        if name != STATEMENT_TIMEOUT {
            return Err(unrecognized(&name));
        }
        let local = match scope {
            None | Some(ContextModifier::Session) => false,
            Some(ContextModifier::Local) => true,
            Some(ContextModifier::Global) => return Err(Error::unsupported("SET GLOBAL")),
        };
        let [value] = values else {
            return Err(sql_error!(
                InvalidParameterValue,
                "SET {STATEMENT_TIMEOUT} takes only one argument"
            ));
        };
        let timeout = match setting_text(value)? {
            None => self.default,
            Some(text) => parse_statement_timeout(&text)?,
        };
        if local {
            if !in_block {
                return Err(sql_error!(
                    NoActiveTransaction,
                    "SET LOCAL can only be used in transaction blocks"
                ));
            }
            self.local = Some(timeout);
        } else {
            self.session = timeout;
            self.local = None;
        }
        Ok(StatementResult::Command { tag: "SET".into() })
    }

    fn show(&self, variable: &[ast::Ident]) -> Result<StatementResult> {
        let name = parameter_name(
            &variable
                .iter()
                .map(|i| i.value.as_str())
                .collect::<Vec<_>>()
                .join(" "),
        );
        let name = match name.as_str() {
            "transaction isolation level" => "transaction_isolation".to_string(),
            _ => name,
        };
        let text_result = |column: &str, value: &str| StatementResult::Query {
            columns: vec![ColumnInfo {
                name: column.into(),
                data_type: Some(DataType::Text),
            }],
            rows: vec![vec![Value::Text(value.into())]],
        };
        if name == APPLICATION_NAME {
            return Ok(text_result(APPLICATION_NAME, &self.application_name));
        }
        if let Some(f) = fixed(&name) {
            let column = display_name(f.name);
            return Ok(StatementResult::Query {
                columns: vec![ColumnInfo {
                    name: column.into(),
                    data_type: Some(DataType::Text),
                }],
                rows: vec![vec![Value::Text(f.shown.into())]],
            });
        }
        if name != STATEMENT_TIMEOUT {
            return Err(unrecognized(&name));
        }
        Ok(StatementResult::Query {
            columns: vec![ColumnInfo {
                name: STATEMENT_TIMEOUT.into(),
                data_type: Some(DataType::Text),
            }],
            rows: vec![vec![Value::Text(format_statement_timeout(
                self.statement_timeout(),
            ))]],
        })
    }

    fn reset(&mut self, reset: &Reset) -> Result<StatementResult> {
        match reset {
            Reset::ALL => self.set_application_name(""),
            Reset::ConfigurationParameter(name) => {
                let name = parameter_name(&name.to_string());
                if name == APPLICATION_NAME {
                    self.set_application_name("");
                    return Ok(StatementResult::Command {
                        tag: "RESET".into(),
                    });
                }
                if fixed(&name).is_some() {
                    // Its one value is its default.
                    return Ok(StatementResult::Command {
                        tag: "RESET".into(),
                    });
                }
                if name != STATEMENT_TIMEOUT {
                    return Err(unrecognized(&name));
                }
            }
            Reset::SessionAuthorization => {
                return Err(Error::unsupported("RESET SESSION AUTHORIZATION"));
            }
        }
        self.session = self.default;
        self.local = None;
        Ok(StatementResult::Command {
            tag: "RESET".into(),
        })
    }
}

/// Parameter names are case-insensitive; a quoted name keeps its quotes' content.
fn parameter_name(written: &str) -> String {
    match written.strip_prefix('"').and_then(|n| n.strip_suffix('"')) {
        Some(quoted) => quoted.to_string(),
        None => written.to_lowercase(),
    }
}

fn unrecognized(name: &str) -> Error {
    sql_error!(
        UndefinedObject,
        "unrecognized configuration parameter \"{name}\""
    )
}

fn invalid(text: &str, hint: Option<&str>) -> Error {
    let mut message = format!("invalid value for parameter \"{STATEMENT_TIMEOUT}\": \"{text}\"");
    if let Some(hint) = hint {
        message.push_str(&format!(" (hint: {hint})"));
    }
    Error::new(SqlState::InvalidParameterValue, message)
}

/// The value of a SET as PostgreSQL sees it: the text of a number, string or word; `None` for
/// `DEFAULT`.
fn setting_text(value: &Expr) -> Result<Option<String>> {
    Ok(Some(match value {
        Expr::Value(v) => match &v.value {
            ast::Value::Number(n, _) => n.to_string(),
            ast::Value::SingleQuotedString(s)
            | ast::Value::DollarQuotedString(ast::DollarQuotedString { value: s, .. }) => s.clone(),
            ast::Value::Boolean(b) => b.to_string(),
            other => other.to_string(),
        },
        Expr::UnaryOp {
            op: UnaryOperator::Minus,
            expr,
        } => match setting_text(expr)? {
            Some(inner) => format!("-{inner}"),
            None => return Err(invalid("-DEFAULT", None)),
        },
        Expr::Identifier(ident) if ident.quote_style.is_none() => {
            if ident.value.eq_ignore_ascii_case("default") {
                return Ok(None);
            }
            ident.value.to_lowercase()
        }
        Expr::Identifier(ident) => ident.value.clone(),
        other => return Err(invalid(&other.to_string(), None)),
    }))
}

/// Parses a `statement_timeout` value as PostgreSQL does: a decimal number, optional
/// whitespace and a unit (milliseconds when none), rounded to whole milliseconds.
pub fn parse_statement_timeout(text: &str) -> Result<Duration> {
    let units_hint =
        "Valid units for this parameter are \"us\", \"ms\", \"s\", \"min\", \"h\", and \"d\".";
    let trimmed = text.trim_start();
    // The longest number at the start. Its characters are ASCII, so every cut is a character
    // boundary; backing off at most two characters drops a dangling `e`, `e+` or `e-`.
    let run = trimmed
        .find(|c: char| !(c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-')))
        .unwrap_or(trimmed.len());
    let Some((value, rest)) = (run.saturating_sub(2)..=run)
        .rev()
        .filter(|&end| end > 0)
        .find_map(|end| Some((trimmed[..end].parse::<f64>().ok()?, &trimmed[end..])))
    else {
        return Err(invalid(text, None));
    };
    let unit = rest.trim();
    let per_unit_ms = if unit.is_empty() {
        1.0
    } else {
        match UNITS.iter().find(|(name, _)| *name == unit) {
            Some((_, ms)) => *ms,
            None => return Err(invalid(text, Some(units_hint))),
        }
    };
    let ms = (value * per_unit_ms).round_ties_even();
    if !ms.is_finite() || ms > f64::from(i32::MAX) || ms < f64::from(i32::MIN) {
        return Err(invalid(text, Some("Value exceeds integer range.")));
    }
    let ms = ms as i64;
    if !(0..=MAX_TIMEOUT_MS).contains(&ms) {
        return Err(sql_error!(
            InvalidParameterValue,
            "{ms} ms is outside the valid range for parameter \"{STATEMENT_TIMEOUT}\" (0 .. {MAX_TIMEOUT_MS})"
        ));
    }
    Ok(Duration::from_millis(ms as u64))
}

/// Shows a timeout as PostgreSQL does: in the largest unit that divides it exactly.
pub fn format_statement_timeout(timeout: Duration) -> String {
    let ms = timeout.as_millis();
    if ms == 0 {
        return "0".into();
    }
    for (unit, unit_ms) in [
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("min", 60_000),
        ("s", 1000),
    ] {
        if ms.is_multiple_of(unit_ms) {
            return format!("{}{unit}", ms / unit_ms);
        }
    }
    format!("{ms}ms")
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    fn ms(text: &str) -> std::result::Result<u64, String> {
        parse_statement_timeout(text)
            .map(|d| d.as_millis() as u64)
            .map_err(|e| e.message)
    }

    #[test]
    fn values_parse_as_postgresql_parses_them() {
        // Each pair was checked against PostgreSQL 15.
        for (text, want) in [
            ("500", 500),
            ("500ms", 500),
            ("2s", 2000),
            ("2000", 2000),
            ("1.5s", 1500),
            ("1.5", 2),
            ("0.5", 0),
            ("0.4", 0),
            ("100us", 0),
            ("90min", 5_400_000),
            ("1d", 86_400_000),
            ("1 s", 1000),
            (" 3s ", 3000),
            ("1e3", 1000),
            ("-0", 0),
            ("0", 0),
        ] {
            assert_eq!(ms(text), Ok(want), "{text}");
        }
        assert_eq!(
            ms("-1").unwrap_err(),
            "-1 ms is outside the valid range for parameter \"statement_timeout\" (0 .. 2147483647)"
        );
        for bad in ["5x", "1S", "1MS"] {
            let e = ms(bad).unwrap_err();
            assert!(
                e.starts_with(&format!(
                    "invalid value for parameter \"statement_timeout\": \"{bad}\""
                )),
                "{e}"
            );
            assert!(e.contains("Valid units"), "{e}");
        }
        for bad in ["abc", "true", "", "s"] {
            assert_eq!(
                ms(bad).unwrap_err(),
                format!("invalid value for parameter \"statement_timeout\": \"{bad}\"")
            );
        }
        for huge in ["3000000000", "3000000s", "1e400"] {
            assert!(
                ms(huge)
                    .unwrap_err()
                    .contains("Value exceeds integer range"),
                "{huge}"
            );
        }
    }

    #[test]
    fn values_show_in_the_largest_exact_unit() {
        for (ms, shown) in [
            (0, "0"),
            (500, "500ms"),
            (2000, "2s"),
            (1500, "1500ms"),
            (60_000, "1min"),
            (5_400_000, "90min"),
            (86_400_000, "1d"),
            (7_200_000, "2h"),
        ] {
            assert_eq!(format_statement_timeout(Duration::from_millis(ms)), shown);
        }
    }

    /// The one value of a fixed parameter, as SHOW prints it.
    fn show(s: &mut crate::Session, name: &str) -> String {
        match s.execute(&format!("SHOW {name}")).pop() {
            Some(Ok(StatementResult::Query { rows, .. })) => match &rows[..] {
                [row] => row[0].to_string(),
                other => panic!("SHOW {name}: {other:?}"),
            },
            other => panic!("SHOW {name}: {other:?}"),
        }
    }

    fn outcome(s: &mut crate::Session, sql: &str) -> std::result::Result<(), crate::Error> {
        match s.execute(sql).pop() {
            Some(Err(e)) => Err(e),
            _ => Ok(()),
        }
    }

    #[test]
    fn driver_parameters_accept_only_the_value_we_implement() {
        let engine = crate::Engine::temporary().unwrap();
        let mut s = engine.session();
        for (name, shown) in [
            ("client_encoding", "UTF8"),
            ("DateStyle", "ISO, MDY"),
            ("TimeZone", "UTC"),
            ("search_path", "public"),
            ("extra_float_digits", "1"),
        ] {
            assert_eq!(show(&mut s, name), shown, "{name}");
        }
        // What drivers send on connect (psycopg, JDBC, node-postgres, asyncpg).
        for sql in [
            "SET client_encoding = 'UTF8'",
            "SET client_encoding TO 'utf-8'",
            "SET DateStyle = ISO",
            "SET datestyle = 'ISO, MDY'",
            "SET DateStyle = ISO, MDY",
            "SET TimeZone = 'UTC'",
            "SET search_path = public",
            "SET extra_float_digits = 3",
            "SET extra_float_digits = 2",
            "RESET client_encoding",
            "SET timezone = DEFAULT",
        ] {
            assert_eq!(outcome(&mut s, sql), Ok(()), "{sql}");
        }
        // Anything we would not honour is refused, not ignored.
        for sql in [
            "SET client_encoding = 'LATIN1'",
            "SET DateStyle = 'German'",
            "SET DateStyle = 'ISO, DMY'",
            "SET TimeZone = 'Europe/Paris'",
            "SET search_path = other, public",
            "SET extra_float_digits = 0",
            "SET extra_float_digits = -15",
        ] {
            let e = outcome(&mut s, sql).expect_err(sql);
            assert_eq!(e.state, SqlState::InvalidParameterValue, "{sql}: {e}");
            assert!(e.detail.is_some(), "{sql}: says what we support");
        }
        assert_eq!(show(&mut s, "client_encoding"), "UTF8");
    }
}
