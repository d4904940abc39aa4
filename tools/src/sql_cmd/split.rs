//! Splitting SQL text into statements at `;`, the way psql does: a `;` inside a string
//! literal, a quoted identifier or a comment does not end a statement.
//!
//! The lexical states the splitter tracks:
//!
//! - `'...'` string literals, with `''` as an escaped quote;
//! - `"..."` quoted identifiers, with `""` as an escaped quote;
//! - `-- ...` comments to the end of the line;
//! - `/* ... */` comments, nested as in PostgreSQL.
//!
//! Both doubled-quote escapes need no lookahead: `'it''s'` closes the literal at the second
//! quote and reopens it at the third. Not understood (rare in hand-typed SQL, and not parsed by
//! our engine either): dollar quoting (`$$...$$`) and backslash escapes in `E'...'` strings.
//!
//! The splitter is incremental so the REPL can feed it line by line and learn both the
//! complete statements and whether it is waiting for more input (and in which state, for the
//! continuation prompt).

/// Where the splitter is at the end of the text it has seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lexical {
    /// Plain SQL.
    #[default]
    Normal,
    /// Inside a `'...'` string literal.
    SingleQuote,
    /// Inside a `"..."` quoted identifier.
    DoubleQuote,
    /// Inside a `-- ...` comment.
    LineComment,
    /// Inside `/* ... */` comments nested this deep (at least 1).
    BlockComment(u32),
}

/// Accumulates SQL text and hands back complete statements.
#[derive(Debug, Default)]
pub struct Splitter {
    /// Text not yet returned as a statement; `text[..pos]` has been scanned.
    text: String,
    pos: usize,
    state: Lexical,
    /// Whether `text[..pos]` holds anything besides whitespace and comments.
    has_content: bool,
}

impl Splitter {
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends `text` and returns the statements it completed, without their `;` and trimmed.
    /// Statements made only of whitespace and comments are dropped.
    pub fn push(&mut self, text: &str) -> Vec<String> {
        self.text.push_str(text);
        let mut out = Vec::new();
        self.scan(false, &mut out);
        out
    }

    /// Ends the input: returns the unterminated last statement, if it has any content.
    pub fn finish(&mut self) -> Option<String> {
        let mut out = Vec::new();
        self.scan(true, &mut out);
        debug_assert!(
            out.is_empty(),
            "finish found a `;` that push had not: {out:?}"
        );
        let rest = std::mem::take(&mut self.text);
        let had_content = self.has_content;
        self.clear();
        if had_content {
            Some(rest.trim().to_string())
        } else {
            None
        }
    }

    /// Forgets any pending text (the REPL's Ctrl-C).
    pub fn clear(&mut self) {
        self.text.clear();
        self.pos = 0;
        self.state = Lexical::Normal;
        self.has_content = false;
    }

    /// Whether nothing but whitespace and finished comments is pending (the REPL then shows
    /// its first-line prompt and accepts meta-commands).
    pub fn is_blank(&self) -> bool {
        !self.has_content
            && self.state == Lexical::Normal
            && self.text[self.pos..].trim().is_empty()
    }

    /// The lexical state at the end of the pending text.
    pub fn state(&self) -> Lexical {
        self.state
    }

    fn scan(&mut self, at_end: bool, out: &mut Vec<String>) {
        // All the bytes that matter are ASCII, and no byte of a multi-byte UTF-8 character is
        // ASCII, so scanning bytes never cuts a character in two at a statement boundary.
        let bytes = self.text.as_bytes();
        let mut pos = self.pos;
        let mut start = 0;
        let mut state = self.state;
        let mut has_content = self.has_content;
        while pos < bytes.len() {
            let b = bytes[pos];
            let next = bytes.get(pos + 1).copied();
            if next.is_none() && !at_end && needs_lookahead(state, b) {
                break;
            }
            let mut step = 1;
            match state {
                Lexical::Normal => match (b, next) {
                    (b'\'', _) => {
                        state = Lexical::SingleQuote;
                        has_content = true;
                    }
                    (b'"', _) => {
                        state = Lexical::DoubleQuote;
                        has_content = true;
                    }
                    (b'-', Some(b'-')) => {
                        state = Lexical::LineComment;
                        step = 2;
                    }
                    (b'/', Some(b'*')) => {
                        state = Lexical::BlockComment(1);
                        step = 2;
                    }
                    (b';', _) => {
                        if has_content {
                            out.push(self.text[start..pos].trim().to_string());
                        }
                        has_content = false;
                        start = pos + 1;
                    }
                    _ => has_content |= !b.is_ascii_whitespace(),
                },
                Lexical::SingleQuote if b == b'\'' => state = Lexical::Normal,
                Lexical::DoubleQuote if b == b'"' => state = Lexical::Normal,
                Lexical::SingleQuote | Lexical::DoubleQuote => {}
                Lexical::LineComment if b == b'\n' => state = Lexical::Normal,
                Lexical::LineComment => {}
                Lexical::BlockComment(depth) => match (b, next) {
                    (b'*', Some(b'/')) => {
                        state = if depth == 1 {
                            Lexical::Normal
                        } else {
                            Lexical::BlockComment(depth - 1)
                        };
                        step = 2;
                    }
                    (b'/', Some(b'*')) => {
                        state = Lexical::BlockComment(depth + 1);
                        step = 2;
                    }
                    _ => {}
                },
            }
            pos += step;
        }
        self.text.drain(..start);
        self.pos = pos - start;
        self.state = state;
        self.has_content = has_content;
    }
}

/// Whether byte `b` in `state` could begin a two-byte token (`--`, `/*`, `*/`), so the
/// splitter must see the next byte before deciding.
fn needs_lookahead(state: Lexical, b: u8) -> bool {
    match state {
        Lexical::Normal => b == b'-' || b == b'/',
        Lexical::BlockComment(_) => b == b'*' || b == b'/',
        _ => false,
    }
}

/// Splits a whole script: every `;`-terminated statement, then the unterminated rest.
pub fn split_all(text: &str) -> Vec<String> {
    let mut splitter = Splitter::new();
    let mut statements = splitter.push(text);
    statements.extend(splitter.finish());
    statements
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_at_semicolons_and_keeps_the_unterminated_rest() {
        assert_eq!(
            split_all("SELECT 1; SELECT 2;\nSELECT 3"),
            ["SELECT 1", "SELECT 2", "SELECT 3"]
        );
    }

    #[test]
    fn drops_empty_and_comment_only_statements() {
        assert_eq!(
            split_all(";; -- nothing\n; /* none */ ; SELECT 1; -- trailing"),
            ["SELECT 1"]
        );
        assert!(split_all("   \n").is_empty());
    }

    #[test]
    fn semicolons_inside_quotes_do_not_split() {
        assert_eq!(
            split_all("INSERT INTO t VALUES ('a;b', 'it''s; fine'); SELECT \"x;\"\"y\" FROM t;"),
            [
                "INSERT INTO t VALUES ('a;b', 'it''s; fine')",
                "SELECT \"x;\"\"y\" FROM t"
            ]
        );
    }

    #[test]
    fn semicolons_inside_comments_do_not_split() {
        assert_eq!(
            split_all("SELECT 1 -- not here; nor here\n + 1; SELECT /* a; /* nested; */ b; */ 2;"),
            [
                "SELECT 1 -- not here; nor here\n + 1",
                "SELECT /* a; /* nested; */ b; */ 2"
            ]
        );
    }

    #[test]
    fn a_single_dash_or_slash_is_not_a_comment() {
        assert_eq!(
            split_all("SELECT 4-1; SELECT 4/2;"),
            ["SELECT 4-1", "SELECT 4/2"]
        );
    }

    #[test]
    fn incremental_feeding_reports_state_and_completes_across_lines() {
        let mut s = Splitter::new();
        assert!(s.is_blank());
        assert!(s.push("SELECT 'a\n").is_empty());
        assert_eq!(s.state(), Lexical::SingleQuote);
        assert!(!s.is_blank());
        assert!(s.push("b;' /* x\n").is_empty());
        assert_eq!(s.state(), Lexical::BlockComment(1));
        assert_eq!(
            s.push("*/ ; SELECT 2; SELECT\n"),
            ["SELECT 'a\nb;' /* x\n*/", "SELECT 2"]
        );
        assert_eq!(s.state(), Lexical::Normal);
        assert!(!s.is_blank());
        assert_eq!(s.push("3; -- done\n"), ["SELECT\n3"]);
        assert!(s.is_blank());
        assert!(s.push("/* open\n").is_empty());
        assert!(!s.is_blank());
        assert!(s.push("*/\n").is_empty());
        assert!(s.is_blank());
        assert_eq!(s.finish(), None);
    }

    #[test]
    fn a_two_byte_token_split_between_pushes_is_still_seen() {
        let mut s = Splitter::new();
        assert!(s.push("SELECT 1 -").is_empty());
        assert!(s.push("- ;\n").is_empty());
        assert_eq!(s.state(), Lexical::Normal);
        assert!(s.push("/").is_empty());
        assert!(s.push("* ; *").is_empty());
        assert_eq!(s.state(), Lexical::BlockComment(1));
        assert_eq!(s.push("/;"), ["SELECT 1 -- ;\n/* ; */"]);
    }

    #[test]
    fn clear_forgets_pending_text() {
        let mut s = Splitter::new();
        assert!(s.push("SELECT 'unclosed").is_empty());
        s.clear();
        assert_eq!(s.state(), Lexical::Normal);
        assert_eq!(s.push("SELECT 1;"), ["SELECT 1"]);
    }

    #[test]
    fn non_ascii_text_is_kept_whole() {
        assert_eq!(
            split_all("SELECT 'héllo;wörld'; SELECT 'ß'"),
            ["SELECT 'héllo;wörld'", "SELECT 'ß'"]
        );
    }
}
