//! Turning result values into the text sqllogictest compares, as SQLite's original harness
//! does: render each value by its column's type letter, sort as the record asks, and past the
//! hash threshold compare an MD5 digest instead of the values.

use chronos_sql::{Value, format_float};

/// Text for NULL.
pub const NULL_TEXT: &str = "NULL";
/// Text for the empty string (an empty line would end the record).
pub const EMPTY_TEXT: &str = "(empty)";

/// Renders `value` for a column whose type letter in the query header is `type_letter`:
///
/// - `I`: an integer. Floats are truncated toward zero and booleans are 1/0 (as SQLite's
///   `sqlite3_column_int64` converts); text that is not an integer is rendered as 0.
/// - `R`: a number with three decimals (`%.3f`).
/// - `T`: text, each byte outside 0x20..=0x7e replaced by `@`.
/// - any other letter: the value's own display, unchanged.
///
/// Whatever the letter, NULL is `NULL` and the empty string `(empty)`.
pub fn render_value(value: &Value, type_letter: char) -> String {
    let text = match (value, type_letter) {
        (Value::Null, _) => return NULL_TEXT.to_string(),
        (Value::Integer(i), 'I') => i.to_string(),
        // `as` saturates at the i64 range and maps NaN to 0, like SQLite's conversion.
        (Value::Float(f), 'I') => (f.trunc() as i64).to_string(),
        (Value::Boolean(b), 'I') => i64::from(*b).to_string(),
        (Value::Text(s), 'I') => leading_integer(s).to_string(),
        (Value::Integer(i), 'R') => format!("{:.3}", *i as f64),
        (Value::Float(f), 'R') => format!("{f:.3}"),
        (Value::Boolean(b), 'R') => format!("{:.3}", f64::from(u8::from(*b))),
        (Value::Text(s), 'R') => format!("{:.3}", s.trim().parse::<f64>().unwrap_or(0.0)),
        (Value::Float(f), _) => format_float(*f),
        (other, 'T') => printable(&other.to_string()),
        (other, _) => other.to_string(),
    };
    if text.is_empty() {
        EMPTY_TEXT.to_string()
    } else {
        text
    }
}

/// The integer at the start of `s` (after spaces, with an optional sign), else 0.
fn leading_integer(s: &str) -> i64 {
    let t = s.trim_start();
    let digits_end = t
        .char_indices()
        .skip_while(|&(i, c)| i == 0 && (c == '-' || c == '+'))
        .find(|&(_, c)| !c.is_ascii_digit())
        .map_or(t.len(), |(i, _)| i);
    t[..digits_end].parse().unwrap_or(0)
}

/// Replaces every byte outside printable ASCII with `@`, byte by byte as the C harness does
/// (so a two-byte UTF-8 character becomes `@@`).
fn printable(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if (0x20..=0x7e).contains(&b) {
                char::from(b)
            } else {
                '@'
            }
        })
        .collect()
}

/// How a query record orders its results before comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortMode {
    /// As the engine returned them.
    AsReturned,
    /// Rows sorted, comparing rendered values column by column.
    Rows,
    /// Every value sorted on its own, ignoring rows.
    Values,
}

/// Sorts rendered rows as `mode` says and flattens them into one list of values.
pub fn sorted_values(mut rows: Vec<Vec<String>>, mode: SortMode) -> Vec<String> {
    if mode == SortMode::Rows {
        rows.sort();
    }
    let mut values: Vec<String> = rows.into_iter().flatten().collect();
    if mode == SortMode::Values {
        values.sort();
    }
    values
}

/// The MD5 digest the harness prints for a result: over each value followed by `\n`, in
/// lower-case hex.
pub fn hash_values(values: &[String]) -> String {
    let mut ctx = md5::Context::new();
    for v in values {
        ctx.consume(v.as_bytes());
        ctx.consume(b"\n");
    }
    format!("{:x}", ctx.finalize())
}

/// The line a hashed result is written as: `30 values hashing to 3c13dee4...`.
pub fn hash_line(values: &[String]) -> String {
    format!("{} values hashing to {}", values.len(), hash_values(values))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_render_by_type_letter() {
        assert_eq!(render_value(&Value::Integer(-42), 'I'), "-42");
        assert_eq!(render_value(&Value::Float(2.9), 'I'), "2");
        assert_eq!(render_value(&Value::Float(-2.9), 'I'), "-2");
        assert_eq!(render_value(&Value::Boolean(true), 'I'), "1");
        assert_eq!(render_value(&Value::Boolean(false), 'I'), "0");
        assert_eq!(render_value(&Value::Text("12abc".into()), 'I'), "12");
        assert_eq!(render_value(&Value::Text(" -7".into()), 'I'), "-7");
        assert_eq!(render_value(&Value::Text("x".into()), 'I'), "0");
        assert_eq!(render_value(&Value::Null, 'I'), "NULL");
    }

    #[test]
    fn reals_have_three_decimals() {
        assert_eq!(render_value(&Value::Float(1.0 / 3.0), 'R'), "0.333");
        assert_eq!(render_value(&Value::Float(-2.5), 'R'), "-2.500");
        assert_eq!(render_value(&Value::Integer(7), 'R'), "7.000");
        assert_eq!(render_value(&Value::Float(123456.78951), 'R'), "123456.790");
        assert_eq!(render_value(&Value::Null, 'R'), "NULL");
    }

    #[test]
    fn text_replaces_unprintable_bytes_and_marks_empty() {
        assert_eq!(render_value(&Value::Text("abc def".into()), 'T'), "abc def");
        assert_eq!(render_value(&Value::Text("a\tb\n".into()), 'T'), "a@b@");
        assert_eq!(render_value(&Value::Text("é".into()), 'T'), "@@");
        assert_eq!(render_value(&Value::Text(String::new()), 'T'), "(empty)");
        assert_eq!(render_value(&Value::Integer(5), 'T'), "5");
        assert_eq!(render_value(&Value::Float(1.5), 'T'), "1.5");
        assert_eq!(render_value(&Value::Null, 'T'), "NULL");
    }

    #[test]
    fn sorting_modes() {
        let rows = || {
            vec![
                vec!["b".to_string(), "1".to_string()],
                vec!["a".to_string(), "9".to_string()],
            ]
        };
        assert_eq!(
            sorted_values(rows(), SortMode::AsReturned),
            ["b", "1", "a", "9"]
        );
        assert_eq!(sorted_values(rows(), SortMode::Rows), ["a", "9", "b", "1"]);
        assert_eq!(
            sorted_values(rows(), SortMode::Values),
            ["1", "9", "a", "b"]
        );
    }

    #[test]
    fn md5_of_known_values() {
        // `printf '' | md5sum`
        assert_eq!(hash_values(&[]), "d41d8cd98f00b204e9800998ecf8427e");
        // `printf 'a\n' | md5sum`
        assert_eq!(
            hash_values(&["a".to_string()]),
            "60b725f10c9c85c70d97880dfe8191b3"
        );
        // `printf '1\n2\n' | md5sum`
        assert_eq!(
            hash_line(&["1".to_string(), "2".to_string()]),
            "2 values hashing to 6ddb4095eb719e2a9f0a3f95677d24e0"
        );
    }

    #[test]
    fn hash_matches_a_result_in_sqlites_select1() {
        // select1.test's first hashed query (`SELECT CASE WHEN c>(SELECT avg(c) FROM t1) THEN
        // a*2 ELSE b*10 END FROM t1 ORDER BY 1`), values as SQLite returns them.
        let values: Vec<String> = [
            358, 364, 376, 382, 398, 402, 410, 426, 432, 440, 458, 468, 478, 486, 490, 1000, 1050,
            1120, 1180, 1240, 1290, 1300, 1390, 1430, 1450, 1510, 1580, 1600, 1670, 1700,
        ]
        .iter()
        .map(|&i| render_value(&Value::Integer(i), 'I'))
        .collect();
        assert_eq!(
            hash_line(&values),
            "30 values hashing to 3c13dee48d9356ae19af2515e05e6b54"
        );
    }
}
