//! How deep a statement may nest, and the stack it runs on.
//!
//! Two kinds of size are told apart (PostgreSQL does the same):
//!
//! - **Length** is unbounded. A flat chain `a OR b OR …` (what an ORM emits for a long
//!   filter), `x + y + …` or `s || t || …` parses into a left-deep tree as deep as it is
//!   long; the binder walks that left spine in a loop and binds it to one
//!   [`Expr::Chain`](crate::expr::Expr) node, so every later pass (constant folding,
//!   pushdown, evaluation, EXPLAIN) sees a wide node instead of a deep one.
//! - **Nesting** (parentheses, unary operators, function calls, CASE, subqueries, set
//!   operations) is bounded: beyond [`MAX_EXPRESSION_DEPTH`] levels the statement fails with
//!   SQLSTATE 54001 "stack depth limit exceeded" instead of exhausting the stack. The parser
//!   enforces its own recursion limit ([`PARSER_RECURSION_LIMIT`]) first, so no pass ever sees
//!   a deeper tree.
//!
//! Stack: every recursive pass calls [`guard`], which moves the work onto a fresh heap-allocated
//! stack segment when less than [`RED_ZONE_BYTES`] remain on the current one, so the limit
//! above holds on any thread (a 2 MiB tokio worker or blocking-pool thread included) and the
//! thread's own stack size is irrelevant to correctness. The parser (sqlparser's
//! `recursive-protection` feature) and sqlparser's `Display` do the same.

use crate::error::{Error, SqlState};

/// Nesting levels a statement may use (parentheses, operators, calls, subqueries, set
/// operations — not the length of a flat chain, which is unbounded).
pub const MAX_EXPRESSION_DEPTH: usize = 1000;

/// sqlparser's recursion limit. A parenthesised sub-expression costs the parser up to two
/// levels (expression, then the parenthesised prefix), so this lets every statement within
/// [`MAX_EXPRESSION_DEPTH`] through to the binder, which counts exactly. (sqlparser's default,
/// 50, refused legitimate queries of the SQLite corpus.)
pub const PARSER_RECURSION_LIMIT: usize = 2 * MAX_EXPRESSION_DEPTH + 50;

/// When less than this much stack is left, [`guard`] switches to a new segment. One level of
/// the deepest recursive pass (binding an expression, planning a subquery) uses well under
/// this even in an unoptimised build.
pub const RED_ZONE_BYTES: usize = 256 * 1024;

/// The size of a stack segment [`guard`] allocates.
pub const SEGMENT_BYTES: usize = 4 * 1024 * 1024;

/// Runs `f`, on a new stack segment if the current one is nearly exhausted.
pub fn guard<R>(f: impl FnOnce() -> R) -> R {
    stacker::maybe_grow(RED_ZONE_BYTES, SEGMENT_BYTES, f)
}

/// The longest statement text accepted (54000 beyond): bounds the stack segment below.
pub const MAX_STATEMENT_BYTES: usize = 16 << 20;

/// Stack reserved per byte of statement text for what cannot call [`guard`]: dropping a
/// parsed statement (compiler-generated) recurses once per operator of a left-deep chain,
/// about 64 bytes of stack per level in an unoptimised build, and an operator takes at least
/// two bytes of text (`1+1`), so this is twice what is needed.
pub const STACK_BYTES_PER_SQL_BYTE: usize = 64;

/// Runs `f`, which parses, runs and drops a statement text of `sql_bytes` bytes, on a stack
/// with room for it: statements up to some 16 KiB run on the caller's stack as they are;
/// longer ones get a segment sized to their text (reserved address space, committed only as
/// far as used).
pub fn with_statement_stack<R>(sql_bytes: usize, f: impl FnOnce() -> R) -> R {
    let need = sql_bytes
        .min(MAX_STATEMENT_BYTES)
        .saturating_mul(STACK_BYTES_PER_SQL_BYTE)
        .saturating_add(RED_ZONE_BYTES);
    stacker::maybe_grow(need, need.max(SEGMENT_BYTES), f)
}

/// Refuses a statement whose parentheses and `CASE … END` nest deeper than
/// [`MAX_EXPRESSION_DEPTH`] before the parser sees it: sqlparser, when its recursion limit
/// trips inside deeply nested `CASE`s, backtracks for minutes (2,202 levels: 55 s) before
/// failing. Quoted strings, quoted identifiers and comments are skipped; a statement this
/// scan passes may still be refused later by the binder's exact count.
pub fn check_nesting(sql: &str) -> Result<(), Error> {
    let b = sql.as_bytes();
    let (mut i, mut depth, mut max) = (0usize, 0usize, 0usize);
    while i < b.len() {
        match b[i] {
            q @ (b'\'' | b'"') => {
                // `E'…'` strings take backslash escapes; plain ones double the quote, which
                // this loop reads as two adjacent strings.
                let escapes = q == b'\'' && i > 0 && b[i - 1].eq_ignore_ascii_case(&b'e');
                i += 1;
                while i < b.len() && b[i] != q {
                    i += if escapes && b[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'$' if i == 0 || !is_word(b[i - 1]) => {
                // A dollar-quoted string `$tag$ … $tag$` (tag possibly empty; `$1` is a
                // parameter, not a quote) is skipped whole.
                let tag_end = b[i + 1..]
                    .iter()
                    .position(|&c| !is_word(c))
                    .map(|n| i + 1 + n);
                if let Some(end) = tag_end
                    && b[end] == b'$'
                    && !b.get(i + 1).is_some_and(u8::is_ascii_digit)
                {
                    let tag = &b[i..=end];
                    match b[end + 1..].windows(tag.len()).position(|w| w == tag) {
                        Some(n) => i = end + 1 + n + tag.len() - 1,
                        None => i = b.len(),
                    }
                }
            }
            b'-' if b.get(i + 1) == Some(&b'-') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i + 1 < b.len() && !(b[i] == b'*' && b[i + 1] == b'/') {
                    i += 1;
                }
                i += 1;
            }
            b'(' => depth += 1,
            b')' => depth = depth.saturating_sub(1),
            c if c.is_ascii_alphabetic() && (i == 0 || !is_word(b[i - 1])) => {
                let start = i;
                while i < b.len() && is_word(b[i]) {
                    i += 1;
                }
                let word = &b[start..i];
                if word.eq_ignore_ascii_case(b"case") {
                    depth += 1;
                } else if word.eq_ignore_ascii_case(b"end") {
                    depth = depth.saturating_sub(1);
                }
                max = max.max(depth);
                continue;
            }
            _ => {}
        }
        max = max.max(depth);
        i += 1;
    }
    if max > MAX_EXPRESSION_DEPTH {
        return Err(too_complex());
    }
    Ok(())
}

fn is_word(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// The error for a statement text longer than [`MAX_STATEMENT_BYTES`].
pub fn too_long(sql_bytes: usize) -> Error {
    Error::new(
        SqlState::ProgramLimitExceeded,
        format!(
            "statement text of {sql_bytes} bytes exceeds the limit of {MAX_STATEMENT_BYTES} bytes"
        ),
    )
}

/// The error for a statement nested deeper than the limits above.
pub fn too_complex() -> Error {
    Error::new(
        SqlState::StatementTooComplex,
        format!(
            "stack depth limit exceeded: the statement nests more than {MAX_EXPRESSION_DEPTH} \
             levels of expressions or subqueries"
        ),
    )
}

/// A depth counter for one recursive pass: `enter` before descending, `leave` after.
#[derive(Debug, Default, Clone, Copy)]
pub struct Depth(usize);

impl Depth {
    /// One level deeper; fails with 54001 past [`MAX_EXPRESSION_DEPTH`].
    pub fn enter(&mut self) -> Result<(), Error> {
        if self.0 >= MAX_EXPRESSION_DEPTH {
            return Err(too_complex());
        }
        self.0 += 1;
        Ok(())
    }

    pub fn leave(&mut self) {
        self.0 = self.0.saturating_sub(1);
    }
}

#[cfg(test)]
mod tests {
    use super::{MAX_EXPRESSION_DEPTH, check_nesting};

    fn opens() -> String {
        "(".repeat(MAX_EXPRESSION_DEPTH + 500)
    }

    #[test]
    fn parentheses_in_quoted_text_do_not_count() {
        let p = opens();
        for sql in [
            format!("SELECT '{p}'"),
            format!("SELECT \"{p}\""),
            format!("SELECT $${p}$$"),
            format!("SELECT $tag$ $$ {p} $tag$"),
            format!("SELECT E'\\'{p}'"),
            format!("SELECT 1 -- {p}"),
            format!("SELECT 1 /* {p} */"),
        ] {
            assert!(check_nesting(&sql).is_ok(), "{}", &sql[..20]);
        }
    }

    #[test]
    fn parentheses_outside_quotes_count() {
        let p = opens();
        for sql in [
            format!("SELECT {p}"),
            format!("SELECT $1 + {p}"),
            format!("SELECT a$b + {p}"),
            format!("SELECT $$x$$ + {p}"),
            format!("SELECT 'it''s' + {p}"),
        ] {
            assert_eq!(
                check_nesting(&sql).map_err(|e| e.state.code()),
                Err("54001"),
                "{}",
                &sql[..20]
            );
        }
    }
}
