//! Blank-padded character strings: PostgreSQL's `character(n)` (`bpchar`).
//!
//! A value of a `CHAR(n)` column is stored and shown padded with blanks to `n` characters;
//! its trailing blanks are not significant: comparisons, grouping, hashing and keys use the
//! value without them, and so does its conversion to `text` (so `length()` and `||` ignore
//! them). Assignment to `CHAR(n)` fails with 22001 for a longer value unless only blanks are
//! cut; an explicit cast truncates silently, as in PostgreSQL. `CHAR` without a length is
//! `CHAR(1)`; the unbounded `bpchar` type (a cast target only) keeps the text as given.
//!
//! Lengths count characters (Unicode scalar values), not bytes, as PostgreSQL does in UTF8.

use std::cmp::Ordering;

use crate::error::Result;
use crate::sql_error;

/// The length of `CHAR` without `(n)`.
pub const DEFAULT_LENGTH: u64 = 1;

/// `s` without its trailing blanks: the part of a CHAR value that compares.
pub fn significant(s: &str) -> &str {
    s.trim_end_matches(' ')
}

/// CHAR comparison: trailing blanks are insignificant on both sides.
pub fn cmp(a: &str, b: &str) -> Ordering {
    significant(a).cmp(significant(b))
}

/// The byte offset after the first `n` characters of `s`, if `s` is longer than that.
fn cut_at(s: &str, n: u64) -> Option<usize> {
    let n = usize::try_from(n).unwrap_or(usize::MAX);
    s.char_indices().nth(n).map(|(i, _)| i)
}

/// `s` padded with blanks to `n` characters (unchanged if it is as long or longer).
fn pad(s: &str, n: u64) -> String {
    let len = s.chars().count() as u64;
    let mut out = s.to_string();
    for _ in len..n {
        out.push(' ');
    }
    out
}

/// `s` stored in a `CHAR(n)` column: padded to `n`, or cut to `n` if only blanks are lost;
/// anything longer is 22001, as in PostgreSQL.
pub fn assign(s: &str, n: u64) -> Result<String> {
    match cut_at(s, n) {
        None => Ok(pad(s, n)),
        Some(cut) if s[cut..].chars().all(|c| c == ' ') => Ok(s[..cut].to_string()),
        Some(_) => Err(sql_error!(
            StringDataRightTruncation,
            "value too long for type character({n})"
        )),
    }
}

/// `CAST(s AS CHAR(n))`: truncated or padded to exactly `n` characters, never an error.
pub fn cast(s: &str, n: u64) -> String {
    match cut_at(s, n) {
        Some(cut) => s[..cut].to_string(),
        None => pad(s, n),
    }
}

/// A CHAR value read back from a key, where it is stored without trailing blanks: padded
/// again to the column's length (`None`: an unbounded `bpchar`, as stored).
pub fn from_key(s: String, n: Option<u64>) -> String {
    match n {
        Some(n) => pad(&s, n),
        None => s,
    }
}

#[cfg(test)]
mod tests {
    #![expect(clippy::unwrap_used, reason = "tests")]
    use super::*;
    use crate::SqlState;
    use proptest::prelude::*;

    #[test]
    fn assignment_pads_and_refuses_to_cut_anything_but_blanks() {
        // Expected values are what PostgreSQL 15 stores for INSERT into a char(3) column.
        assert_eq!(assign("ab", 3).unwrap(), "ab ");
        assert_eq!(assign("", 3).unwrap(), "   ");
        assert_eq!(assign("abc   ", 3).unwrap(), "abc");
        assert_eq!(assign("äöü", 3).unwrap(), "äöü");
        let e = assign("abcd", 3).unwrap_err();
        assert_eq!(e.state, SqlState::StringDataRightTruncation);
        assert_eq!(e.message, "value too long for type character(3)");
        assert!(assign("ab c", 2).is_err());
    }

    #[test]
    fn explicit_casts_truncate() {
        assert_eq!(cast("abc", 2), "ab");
        assert_eq!(cast("ab", 1), "a");
        assert_eq!(cast("a", 3), "a  ");
    }

    #[test]
    fn trailing_blanks_do_not_compare() {
        assert_eq!(cmp("a  ", "a"), Ordering::Equal);
        assert_eq!(cmp("a", "a\u{1}"), Ordering::Less);
        assert_eq!(cmp("a ", "a\u{1} "), Ordering::Less);
        assert_eq!(cmp(" a", "a"), Ordering::Less);
    }

    proptest! {
        #[test]
        fn a_stored_value_reads_back_from_its_key(s in "[a-c \u{1}é]{0,6}", n in 1u64..8) {
            if let Ok(stored) = assign(&s, n) {
                prop_assert_eq!(stored.chars().count() as u64, n);
                let keyed = significant(&stored).to_string();
                prop_assert_eq!(from_key(keyed, Some(n)), stored);
            }
        }

        #[test]
        fn key_order_is_comparison_order(a in "[a-c \u{1}]{0,4}", b in "[a-c \u{1}]{0,4}") {
            // Keys hold the significant part as a plain string.
            prop_assert_eq!(significant(&a).cmp(significant(&b)), cmp(&a, &b));
        }
    }
}
