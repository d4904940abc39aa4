//! DATE, TIMESTAMP and TIMESTAMPTZ: PostgreSQL's representation, ISO input and output.
//!
//! Representation (PostgreSQL's own, so the binary wire format is a plain copy):
//! - `TIMESTAMP`: microseconds since 2000-01-01 00:00:00 as an `i64`;
//! - `TIMESTAMPTZ`: microseconds since 2000-01-01 00:00:00 UTC (an instant; shown in the
//!   session's TimeZone, which Chronos keeps at UTC — see `settings`);
//! - `DATE`: days since 2000-01-01 as an `i32`.
//!
//! `i64::MIN`/`i64::MAX` (and `i32::MIN`/`i32::MAX` for dates) are `-infinity`/`infinity`,
//! so infinities order before and after every finite value with plain integer comparison.
//! The calendar is the proleptic Gregorian one with PostgreSQL's limits: timestamps from
//! 4714-11-24 00:00:00 BC to 294276-12-31 23:59:59.999999, dates from 4714-11-24 BC to
//! 5874897-12-31. Year 1 BC is astronomical year 0 internally.
//!
//! Input is the ISO 8601 forms PostgreSQL accepts: `YYYY-MM-DD`, followed optionally by a
//! time `HH:MM[:SS[.fraction]]` after a blank or `T`, then optionally a zone (`Z`, `UTC`,
//! `GMT`, `±HH`, `±HHMM`, `±HH:MM[:SS]`) and ` BC`/` AD`; also `infinity`, `-infinity` and
//! `epoch`. Fractions beyond microseconds round half to even (as PostgreSQL's `rint`). A
//! zone given to TIMESTAMP or DATE is ignored, as PostgreSQL ignores it. Not accepted: named
//! time zones (no zone database; 0A000), `now`/`today`/`tomorrow`/`yesterday` (use the
//! functions; 0A000), and the non-ISO styles (`Jan 8 1999`, `1/8/1999`, `19990108`; 22007).
//!
//! Errors are PostgreSQL's: 22007 for a malformed value, 22008 for a field out of range
//! (`2020-02-30`) or a value outside the type's range.

use std::cmp::Ordering;

use crate::error::{Error, Result};
use crate::sql_error;
use crate::value::Value;

pub const USECS_PER_SEC: i64 = 1_000_000;
pub const USECS_PER_DAY: i64 = 86_400 * USECS_PER_SEC;
/// Days from 1970-01-01 (the Unix epoch) to 2000-01-01 (PostgreSQL's epoch).
pub const UNIX_EPOCH_DAYS: i64 = -10_957;

/// Days since 2000-01-01 of 4714-11-24 BC (Julian day 0), the first day of every type.
const MIN_DAYS: i64 = -2_451_545;
/// The first timestamp: 4714-11-24 00:00:00 BC.
const MIN_TIMESTAMP: i64 = MIN_DAYS * USECS_PER_DAY;
/// One past the last timestamp: 294277-01-01 00:00:00.
const END_TIMESTAMP: i64 = 9_223_371_331_200_000_000;
/// One past the last date: 5874898-01-01.
const END_DAYS: i64 = 2_145_031_949;

const _: () = assert!(MIN_TIMESTAMP > i64::MIN && END_TIMESTAMP < i64::MAX);
const _: () = assert!(MIN_DAYS > i32::MIN as i64 && END_DAYS < i32::MAX as i64);

/// Which type a text is read as (names the type in error messages).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Timestamp,
    TimestampTz,
    Date,
}

impl Kind {
    fn pg_name(self) -> &'static str {
        match self {
            Kind::Timestamp => "timestamp",
            Kind::TimestampTz => "timestamp with time zone",
            Kind::Date => "date",
        }
    }
}

/// Days since 2000-01-01 of a proleptic Gregorian date (astronomical years).
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    // Shift the year to start in March so the leap day ends it.
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    // 719468: days from 0000-03-01 to 1970-01-01.
    era * 146_097 + doe - 719_468 + UNIX_EPOCH_DAYS
}

/// The (astronomical year, month, day) of a day number since 2000-01-01.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days - UNIX_EPOCH_DAYS + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn is_leap(year: i64) -> bool {
    year.rem_euclid(4) == 0 && (year.rem_euclid(100) != 0 || year.rem_euclid(400) == 0)
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// What a date/time text says, before it becomes a value of one type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Parsed {
    NegInfinity,
    Infinity,
    At {
        days: i64,
        /// Microseconds since midnight; 24:00:00 is `USECS_PER_DAY`.
        time: i64,
        /// The zone's offset east of UTC in seconds, if one was given.
        offset_secs: Option<i64>,
    },
}

/// A cursor over the (lower-cased, trimmed) input.
struct Cursor<'a> {
    s: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn blanks(&mut self) -> bool {
        let start = self.pos;
        while self.peek().is_some_and(|c| c.is_ascii_whitespace()) {
            self.pos += 1;
        }
        self.pos > start
    }

    /// A run of digits (at most 18, so it fits an i64 and cannot overflow).
    fn digits(&mut self) -> Option<(i64, usize)> {
        let start = self.pos;
        let mut v: i64 = 0;
        while let Some(c) = self.peek().filter(u8::is_ascii_digit) {
            if self.pos - start == 18 {
                return None;
            }
            v = v * 10 + i64::from(c - b'0');
            self.pos += 1;
        }
        (self.pos > start).then_some((v, self.pos - start))
    }

    fn rest(&self) -> &[u8] {
        &self.s[self.pos..]
    }
}

/// Why a text is not a date/time: malformed (22007) or a field out of range (22008).
enum Bad {
    Syntax,
    Field,
    Unsupported(String),
}

fn parse(text: &str) -> std::result::Result<Parsed, Bad> {
    let lower = text.trim().to_ascii_lowercase();
    match lower.as_str() {
        "infinity" | "+infinity" => return Ok(Parsed::Infinity),
        "-infinity" => return Ok(Parsed::NegInfinity),
        "epoch" => {
            return Ok(Parsed::At {
                days: UNIX_EPOCH_DAYS,
                time: 0,
                offset_secs: Some(0),
            });
        }
        "now" | "today" | "tomorrow" | "yesterday" | "allballs" => {
            return Err(Bad::Unsupported(format!(
                "the special date/time input \"{lower}\" (use now(), CURRENT_DATE or \
                 LOCALTIMESTAMP)"
            )));
        }
        _ => {}
    }
    // An era suffix: " BC" / " AD" at the very end.
    let (body, bc) = match lower
        .strip_suffix("bc")
        .map(|b| (b, true))
        .or_else(|| lower.strip_suffix("ad").map(|b| (b, false)))
    {
        Some((b, bc)) if b.ends_with(|c: char| c.is_ascii_whitespace()) => (b.trim_end(), bc),
        _ => (lower.as_str(), false),
    };
    let mut c = Cursor {
        s: body.as_bytes(),
        pos: 0,
    };
    let (year, year_digits) = c.digits().ok_or(Bad::Syntax)?;
    if year_digits < 4 || !c.eat(b'-') {
        return Err(Bad::Syntax);
    }
    let (month, month_digits) = c.digits().ok_or(Bad::Syntax)?;
    if month_digits > 2 || !c.eat(b'-') {
        return Err(Bad::Syntax);
    }
    let (day, day_digits) = c.digits().ok_or(Bad::Syntax)?;
    if day_digits > 2 {
        return Err(Bad::Syntax);
    }
    let mut time = 0;
    let mut offset_secs = None;
    let separated = c.eat(b't') || c.blanks();
    if separated && c.peek().is_some_and(|b| b.is_ascii_digit()) {
        time = parse_time(&mut c)?;
        c.blanks();
    }
    if c.peek().is_some() {
        offset_secs = Some(parse_zone(&mut c)?);
        c.blanks();
    }
    if !c.rest().is_empty() {
        return Err(Bad::Syntax);
    }
    if year == 0 || !(1..=12).contains(&month) {
        return Err(Bad::Field);
    }
    let year = if bc { 1 - year } else { year };
    // The checks above bound month to 1..=12 and the day test below bounds day.
    let month = month as u32;
    if day < 1 || day > i64::from(days_in_month(year, month)) {
        return Err(Bad::Field);
    }
    Ok(Parsed::At {
        days: days_from_civil(year, month, day as u32),
        time,
        offset_secs,
    })
}

/// `HH:MM[:SS[.fraction]]` as microseconds since midnight.
fn parse_time(c: &mut Cursor<'_>) -> std::result::Result<i64, Bad> {
    let two = |c: &mut Cursor<'_>| match c.digits() {
        Some((v, 1..=2)) => Ok(v),
        _ => Err(Bad::Syntax),
    };
    let hour = two(c)?;
    if !c.eat(b':') {
        return Err(Bad::Syntax);
    }
    let minute = two(c)?;
    let (mut second, mut micros) = (0, 0);
    if c.eat(b':') {
        second = two(c)?;
        if c.eat(b'.') {
            micros = fraction_micros(c)?;
        }
    }
    // 24:00:00 is the next midnight and :60 a leap second (the next minute), as PostgreSQL
    // reads them; anything past those is out of range.
    let whole_second = micros == 0;
    if hour > 24
        || minute > 59
        || second > 60
        || (hour == 24 && (minute > 0 || second > 0 || !whole_second))
        || (second == 60 && !whole_second)
    {
        return Err(Bad::Field);
    }
    Ok(((hour * 60 + minute) * 60 + second) * USECS_PER_SEC + micros)
}

/// The digits after a decimal point as microseconds, rounded half to even.
fn fraction_micros(c: &mut Cursor<'_>) -> std::result::Result<i64, Bad> {
    let start = c.pos;
    while c.peek().is_some_and(|b| b.is_ascii_digit()) {
        c.pos += 1;
    }
    let digits = &c.s[start..c.pos];
    let mut micros: i64 = 0;
    for i in 0..6 {
        micros = micros * 10 + digits.get(i).map_or(0, |d| i64::from(d - b'0'));
    }
    let rest = digits.get(6..).unwrap_or_default();
    let round_up = match rest.first() {
        Some(b'6'..=b'9') => true,
        Some(b'5') if rest[1..].iter().any(|&d| d != b'0') => true,
        Some(b'5') => micros % 2 == 1,
        _ => false,
    };
    Ok(micros + i64::from(round_up))
}

/// A zone: `z`, `utc`, `gmt`, or a signed offset; its offset east of UTC in seconds.
fn parse_zone(c: &mut Cursor<'_>) -> std::result::Result<i64, Bad> {
    let rest = c.rest();
    for name in [&b"utc"[..], b"gmt", b"z", b"zulu"] {
        if rest == name {
            c.pos += name.len();
            return Ok(0);
        }
    }
    let sign = match c.peek() {
        Some(b'+') => 1,
        Some(b'-') => -1,
        Some(b) if b.is_ascii_alphabetic() => {
            let name = String::from_utf8_lossy(rest).into_owned();
            return Err(if name.contains('/') {
                Bad::Unsupported(format!(
                    "time zone \"{name}\" in date/time input (only UTC and numeric offsets \
                     are known)"
                ))
            } else {
                Bad::Syntax
            });
        }
        _ => return Err(Bad::Syntax),
    };
    c.pos += 1;
    let (hh, mm, ss) = match c.digits() {
        Some((v, 1..=2)) => {
            let mut fields = (v, 0, 0);
            if c.eat(b':') {
                fields.1 = match c.digits() {
                    Some((m, 2)) => m,
                    _ => return Err(Bad::Syntax),
                };
                if c.eat(b':') {
                    fields.2 = match c.digits() {
                        Some((s, 2)) => s,
                        _ => return Err(Bad::Syntax),
                    };
                }
            }
            fields
        }
        Some((v, 4)) => (v / 100, v % 100, 0),
        _ => return Err(Bad::Syntax),
    };
    if mm > 59 || ss > 59 {
        return Err(Bad::Field);
    }
    let secs = hh * 3600 + mm * 60 + ss;
    // PostgreSQL's limit on a zone displacement.
    if secs > 15 * 3600 + 59 * 60 + 59 {
        return Err(Bad::Field);
    }
    Ok(sign * secs)
}

fn input_error(text: &str, kind: Kind, bad: Bad) -> Error {
    match bad {
        Bad::Syntax => sql_error!(
            InvalidDatetimeFormat,
            "invalid input syntax for type {}: \"{text}\"",
            kind.pg_name()
        ),
        Bad::Field => sql_error!(
            DatetimeFieldOverflow,
            "date/time field value out of range: \"{text}\""
        ),
        Bad::Unsupported(what) => Error::unsupported(what),
    }
}

fn timestamp_out_of_range(text: &str) -> Error {
    sql_error!(DatetimeFieldOverflow, "timestamp out of range: \"{text}\"")
}

/// Reads `text` as a value of `kind`.
pub fn parse_value(text: &str, kind: Kind) -> Result<Value> {
    let parsed = parse(text).map_err(|b| input_error(text, kind, b))?;
    Ok(match (kind, parsed) {
        (Kind::Date, Parsed::Infinity) => Value::Date(i32::MAX),
        (Kind::Date, Parsed::NegInfinity) => Value::Date(i32::MIN),
        (Kind::Timestamp, Parsed::Infinity) => Value::Timestamp(i64::MAX),
        (Kind::Timestamp, Parsed::NegInfinity) => Value::Timestamp(i64::MIN),
        (Kind::TimestampTz, Parsed::Infinity) => Value::TimestampTz(i64::MAX),
        (Kind::TimestampTz, Parsed::NegInfinity) => Value::TimestampTz(i64::MIN),
        (Kind::Date, Parsed::At { days, .. }) => {
            if !(MIN_DAYS..END_DAYS).contains(&days) {
                return Err(sql_error!(
                    DatetimeFieldOverflow,
                    "date out of range: \"{text}\""
                ));
            }
            // In range of i32 by the bounds just checked.
            Value::Date(days as i32)
        }
        (
            Kind::Timestamp | Kind::TimestampTz,
            Parsed::At {
                days,
                time,
                offset_secs,
            },
        ) => {
            let local = i128::from(days) * i128::from(USECS_PER_DAY) + i128::from(time);
            let utc = match (kind, offset_secs) {
                (Kind::TimestampTz, Some(off)) => local - i128::from(off * USECS_PER_SEC),
                _ => local,
            };
            let micros = i64::try_from(utc)
                .ok()
                .filter(|t| (MIN_TIMESTAMP..END_TIMESTAMP).contains(t))
                .ok_or_else(|| timestamp_out_of_range(text))?;
            if kind == Kind::Timestamp {
                Value::Timestamp(micros)
            } else {
                Value::TimestampTz(micros)
            }
        }
    })
}

/// `YYYY-MM-DD` of a day number (at least four year digits), and whether it is BC.
fn date_part(days: i64) -> (String, bool) {
    let (year, month, day) = civil_from_days(days);
    let bc = year <= 0;
    let shown = if bc { 1 - year } else { year };
    (format!("{shown:04}-{month:02}-{day:02}"), bc)
}

/// ` HH:MM:SS[.ffffff]` with trailing fractional zeros dropped, as PostgreSQL prints it.
fn time_part(micros_of_day: i64) -> String {
    let secs = micros_of_day / USECS_PER_SEC;
    let frac = micros_of_day % USECS_PER_SEC;
    let mut out = format!(
        "{:02}:{:02}:{:02}",
        secs / 3600,
        (secs / 60) % 60,
        secs % 60
    );
    if frac != 0 {
        let digits = format!("{frac:06}");
        out.push('.');
        out.push_str(digits.trim_end_matches('0'));
    }
    out
}

fn format_micros(t: i64, zone: &str) -> String {
    match t {
        i64::MAX => "infinity".into(),
        i64::MIN => "-infinity".into(),
        t => {
            let (date, bc) = date_part(t.div_euclid(USECS_PER_DAY));
            let time = time_part(t.rem_euclid(USECS_PER_DAY));
            format!("{date} {time}{zone}{}", if bc { " BC" } else { "" })
        }
    }
}

/// A TIMESTAMP as PostgreSQL prints it (DateStyle ISO): `2020-01-02 03:04:05.5`.
pub fn format_timestamp(t: i64) -> String {
    format_micros(t, "")
}

/// A TIMESTAMPTZ as PostgreSQL prints it in TimeZone UTC: `2020-01-02 03:04:05.5+00`.
pub fn format_timestamptz(t: i64) -> String {
    format_micros(t, "+00")
}

/// A DATE as PostgreSQL prints it: `2020-01-02`, `0044-03-15 BC`.
pub fn format_date(d: i32) -> String {
    match d {
        i32::MAX => "infinity".into(),
        i32::MIN => "-infinity".into(),
        d => {
            let (date, bc) = date_part(i64::from(d));
            if bc { format!("{date} BC") } else { date }
        }
    }
}

/// A point on one time line for comparing dates and timestamps of either kind (the session
/// zone is UTC, so a TIMESTAMP and a TIMESTAMPTZ with the same microseconds are equal).
pub fn instant(v: &Value) -> Option<i128> {
    Some(match v {
        Value::Timestamp(t) | Value::TimestampTz(t) => match *t {
            i64::MIN => i128::MIN,
            i64::MAX => i128::MAX,
            t => i128::from(t),
        },
        Value::Date(d) => match *d {
            i32::MIN => i128::MIN,
            i32::MAX => i128::MAX,
            d => i128::from(d) * i128::from(USECS_PER_DAY),
        },
        _ => return None,
    })
}

/// Compares two dates/timestamps (None if either is not one).
pub fn cmp(a: &Value, b: &Value) -> Option<Ordering> {
    Some(instant(a)?.cmp(&instant(b)?))
}

/// A timestamp as a date (the day it falls on).
pub fn timestamp_to_date(t: i64) -> i32 {
    match t {
        i64::MIN => i32::MIN,
        i64::MAX => i32::MAX,
        // Every finite timestamp's day is within the date range.
        t => t.div_euclid(USECS_PER_DAY) as i32,
    }
}

/// A date as the timestamp of its midnight (22008 past the timestamp range).
pub fn date_to_timestamp(d: i32) -> Result<i64> {
    match d {
        i32::MIN => Ok(i64::MIN),
        i32::MAX => Ok(i64::MAX),
        d => {
            let t = i64::from(d) * USECS_PER_DAY;
            if (MIN_TIMESTAMP..END_TIMESTAMP).contains(&t) {
                Ok(t)
            } else {
                Err(sql_error!(
                    DatetimeFieldOverflow,
                    "date out of range for timestamp"
                ))
            }
        }
    }
}

/// `date + days` (and `date - days` with a negated count), 22008 past the date range.
pub fn add_days(d: i32, days: i64) -> Result<Value> {
    if d == i32::MIN || d == i32::MAX {
        return Ok(Value::Date(d));
    }
    let out = i64::from(d)
        .checked_add(days)
        .filter(|r| (MIN_DAYS..END_DAYS).contains(r))
        .ok_or_else(|| sql_error!(DatetimeFieldOverflow, "date out of range"))?;
    Ok(Value::Date(out as i32))
}

/// `date - date`: the days between (22008 when either is infinite, as PostgreSQL).
pub fn days_between(a: i32, b: i32) -> Result<Value> {
    if [a, b].iter().any(|d| *d == i32::MIN || *d == i32::MAX) {
        return Err(sql_error!(
            DatetimeFieldOverflow,
            "cannot subtract infinite dates"
        ));
    }
    Ok(Value::Integer(i64::from(a) - i64::from(b)))
}

/// The transaction timestamp from a wall clock reading in Unix milliseconds.
pub fn from_unix_millis(ms: u64) -> i64 {
    let ms = i64::try_from(ms).unwrap_or(i64::MAX / 1000);
    (ms + UNIX_EPOCH_DAYS * 86_400_000).saturating_mul(1000)
}

#[cfg(test)]
mod tests {
    #![expect(clippy::unwrap_used, reason = "tests")]
    use super::*;
    use crate::SqlState;
    use proptest::prelude::*;

    fn ts(s: &str) -> String {
        parse_value(s, Kind::Timestamp).unwrap().to_string()
    }

    fn tstz(s: &str) -> String {
        parse_value(s, Kind::TimestampTz).unwrap().to_string()
    }

    fn date(s: &str) -> String {
        parse_value(s, Kind::Date).unwrap().to_string()
    }

    fn err(s: &str, kind: Kind) -> (SqlState, String) {
        let e = parse_value(s, kind).unwrap_err();
        (e.state, e.message)
    }

    #[test]
    fn iso_input_reads_as_postgresql_reads_it() {
        // Expected values are what PostgreSQL 15 prints with TimeZone UTC.
        let cases = [
            (
                "2020-01-02 03:04:05.123456789",
                "2020-01-02 03:04:05.123457",
            ),
            ("2020-01-02T03:04:05+02", "2020-01-02 03:04:05"),
            ("2020-01-02", "2020-01-02 00:00:00"),
            ("2020-01-02 24:00:00", "2020-01-03 00:00:00"),
            ("2020-01-02 23:59:60", "2020-01-03 00:00:00"),
            ("infinity", "infinity"),
            ("-infinity", "-infinity"),
            ("20000-01-01", "20000-01-01 00:00:00"),
            (" 2020-1-2 3:4:5 ", "2020-01-02 03:04:05"),
            ("2020-01-02 03:04", "2020-01-02 03:04:00"),
            ("4714-11-24 BC", "4714-11-24 00:00:00 BC"),
            ("2020-01-01 12:00:00.0000005", "2020-01-01 12:00:00"),
            ("2020-01-01 12:00:00.0000015", "2020-01-01 12:00:00.000002"),
            ("2020-01-01 12:00:00.9999995", "2020-01-01 12:00:01"),
            ("epoch", "1970-01-01 00:00:00"),
        ];
        for (input, want) in cases {
            assert_eq!(ts(input), want, "{input}");
        }
        let cases = [
            ("2020-01-02T03:04:05+02", "2020-01-02 01:04:05+00"),
            ("2020-01-02 03:04:05 Z", "2020-01-02 03:04:05+00"),
            ("2020-01-02 03:04:05+05:30", "2020-01-01 21:34:05+00"),
            ("2020-01-02 03:04:05.5-0130", "2020-01-02 04:34:05.5+00"),
            ("2020-01-02 03:04:05 UTC", "2020-01-02 03:04:05+00"),
            ("2020-01-01 12:00:00+15", "2019-12-31 21:00:00+00"),
            ("-infinity", "-infinity"),
        ];
        for (input, want) in cases {
            assert_eq!(tstz(input), want, "{input}");
        }
        assert_eq!(date("0044-03-15 BC"), "0044-03-15 BC");
        assert_eq!(date("2020-01-01 12:00:00"), "2020-01-01");
        assert_eq!(date("2020-01-01 12:00:00+14"), "2020-01-01");
        assert_eq!(date("2024-02-29"), "2024-02-29");
    }

    #[test]
    fn bad_input_is_refused_with_postgresql_errors() {
        use SqlState::{DatetimeFieldOverflow as Range, InvalidDatetimeFormat as Syntax};
        let cases = [
            (
                "2020-13-01",
                Kind::Timestamp,
                Range,
                "date/time field value out of range: \"2020-13-01\"",
            ),
            (
                "2020-02-30",
                Kind::Date,
                Range,
                "date/time field value out of range: \"2020-02-30\"",
            ),
            (
                "2019-02-29",
                Kind::Date,
                Range,
                "date/time field value out of range: \"2019-02-29\"",
            ),
            (
                "2020-01-01 25:00",
                Kind::Timestamp,
                Range,
                "date/time field value out of range: \"2020-01-01 25:00\"",
            ),
            (
                "2020-01-01 23:59:60.5",
                Kind::Timestamp,
                Range,
                "date/time field value out of range: \"2020-01-01 23:59:60.5\"",
            ),
            (
                "2020-01-01 24:00:01",
                Kind::Timestamp,
                Range,
                "date/time field value out of range: \"2020-01-01 24:00:01\"",
            ),
            (
                "0000-01-01",
                Kind::Date,
                Range,
                "date/time field value out of range: \"0000-01-01\"",
            ),
            (
                "foo",
                Kind::Timestamp,
                Syntax,
                "invalid input syntax for type timestamp: \"foo\"",
            ),
            (
                "",
                Kind::Date,
                Syntax,
                "invalid input syntax for type date: \"\"",
            ),
            (
                "2020-01-01 12",
                Kind::Timestamp,
                Syntax,
                "invalid input syntax for type timestamp: \"2020-01-01 12\"",
            ),
            (
                "2020-01-01 12:00 xyz",
                Kind::TimestampTz,
                Syntax,
                "invalid input syntax for type timestamp with time zone: \"2020-01-01 12:00 xyz\"",
            ),
            (
                "300000-01-01",
                Kind::Timestamp,
                Range,
                "timestamp out of range: \"300000-01-01\"",
            ),
            (
                "4714-11-23 BC",
                Kind::Timestamp,
                Range,
                "timestamp out of range: \"4714-11-23 BC\"",
            ),
            (
                "4714-11-23 BC",
                Kind::Date,
                Range,
                "date out of range: \"4714-11-23 BC\"",
            ),
            (
                "5874898-01-01",
                Kind::Date,
                Range,
                "date out of range: \"5874898-01-01\"",
            ),
            (
                "99999999999999999999-01-01",
                Kind::Date,
                Syntax,
                "invalid input syntax for type date: \"99999999999999999999-01-01\"",
            ),
        ];
        for (input, kind, state, message) in cases {
            assert_eq!(err(input, kind), (state, message.to_string()), "{input}");
        }
        assert_eq!(err("now", Kind::Timestamp).0, SqlState::FeatureNotSupported);
        assert_eq!(
            err("2020-01-01 12:00 Europe/Paris", Kind::TimestampTz).0,
            SqlState::FeatureNotSupported
        );
    }

    #[test]
    fn the_range_ends_are_the_types_ends() {
        assert_eq!(
            ts("294276-12-31 23:59:59.999999"),
            "294276-12-31 23:59:59.999999"
        );
        assert_eq!(
            err("294277-01-01", Kind::Timestamp).0,
            SqlState::DatetimeFieldOverflow
        );
        assert_eq!(date("5874897-12-31"), "5874897-12-31");
        assert_eq!(date("4714-11-24 BC"), "4714-11-24 BC");
    }

    #[test]
    fn dates_and_timestamps_compare_on_one_time_line() {
        let d = parse_value("2020-01-01", Kind::Date).unwrap();
        let t = parse_value("2020-01-01 00:00", Kind::Timestamp).unwrap();
        let later = parse_value("2020-01-01 00:00:00.000001", Kind::TimestampTz).unwrap();
        assert_eq!(cmp(&d, &t), Some(Ordering::Equal));
        assert_eq!(cmp(&d, &later), Some(Ordering::Less));
        assert_eq!(
            cmp(&Value::Date(i32::MAX), &Value::Timestamp(i64::MAX - 1)),
            Some(Ordering::Greater)
        );
        assert_eq!(cmp(&d, &Value::Integer(1)), None);
    }

    #[test]
    fn day_numbers_count_from_2000() {
        assert_eq!(days_from_civil(2000, 1, 1), 0);
        assert_eq!(days_from_civil(1970, 1, 1), UNIX_EPOCH_DAYS);
        assert_eq!(civil_from_days(0), (2000, 1, 1));
        assert_eq!(civil_from_days(-1), (1999, 12, 31));
        // PostgreSQL: SELECT '2020-01-02'::date - '2000-01-01'::date = 7306.
        assert_eq!(days_from_civil(2020, 1, 2), 7306);
    }

    #[test]
    fn the_unix_epoch_is_1970() {
        assert_eq!(format_timestamp(from_unix_millis(0)), "1970-01-01 00:00:00");
        assert_eq!(
            format_timestamptz(from_unix_millis(1_700_000_000_123)),
            "2023-11-14 22:13:20.123+00"
        );
    }

    proptest! {
        #[test]
        fn timestamps_format_then_parse_to_themselves(t in MIN_TIMESTAMP..END_TIMESTAMP) {
            let text = format_timestamp(t);
            prop_assert_eq!(parse_value(&text, Kind::Timestamp).unwrap(), Value::Timestamp(t));
            let text = format_timestamptz(t);
            prop_assert_eq!(parse_value(&text, Kind::TimestampTz).unwrap(), Value::TimestampTz(t));
        }

        #[test]
        fn dates_format_then_parse_to_themselves(d in MIN_DAYS..END_DAYS) {
            let d = d as i32;
            prop_assert_eq!(parse_value(&format_date(d), Kind::Date).unwrap(), Value::Date(d));
        }

        #[test]
        fn day_numbers_and_calendar_dates_agree(d in MIN_DAYS..END_DAYS) {
            let (y, m, day) = civil_from_days(d);
            prop_assert!((1..=12).contains(&m) && day >= 1 && day <= days_in_month(y, m));
            prop_assert_eq!(days_from_civil(y, m, day), d);
        }
    }
}
