//! Splitting SQL text into statements at `;`, the way psql does: a `;` inside a string
//! literal, a quoted identifier or a comment does not end a statement.
//!
//! The lexical states the splitter tracks:
//!
//! - `'...'` string literals, with `''` as an escaped quote;
//! - `E'...'` escape strings, where a backslash also escapes the next character (`E'it\'s'`);
//! - `$$...$$` and `$tag$...$tag$` dollar-quoted strings, in which nothing is special but the
//!   closing delimiter (a `$` after an identifier character, as in `a$b`, or before a digit, as
//!   in `$1`, opens nothing);
//! - `"..."` quoted identifiers, with `""` as an escaped quote;
//! - `-- ...` comments to the end of the line;
//! - `/* ... */` comments, nested as in PostgreSQL.
//!
//! Both doubled-quote escapes need no lookahead: `'it''s'` closes the literal at the second
//! quote and reopens it at the third. The tokens that do (`--`, `/*`, `*/`, `E'`, a backslash
//! escape, a dollar-quote delimiter) are only decided once their last byte has been seen, so
//! feeding text in pieces splits it exactly as feeding it whole.
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
    /// Inside an `E'...'` string, where backslash escapes.
    EscapeString,
    /// Inside a dollar-quoted string; its tag is [`Splitter::dollar_tag`].
    DollarQuote,
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
    /// The tag of the open dollar quote (empty for `$$`); meaningful in `DollarQuote` only.
    dollar_tag: String,
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
        self.dollar_tag.clear();
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
        let mut tag = std::mem::take(&mut self.dollar_tag);
        while pos < bytes.len() {
            let b = bytes[pos];
            let next = bytes.get(pos + 1).copied();
            if next.is_none() && !at_end && needs_lookahead(state, b) {
                break;
            }
            // Text before `start` was handed out after a `;`, so a token at `start` follows a
            // delimiter.
            let after_word = pos > start && is_word_byte(bytes[pos - 1]);
            let mut step = 1;
            match state {
                Lexical::Normal => match (b, next) {
                    (b'\'', _) => {
                        state = Lexical::SingleQuote;
                        has_content = true;
                    }
                    (b'E' | b'e', Some(b'\'')) if !after_word => {
                        state = Lexical::EscapeString;
                        has_content = true;
                        step = 2;
                    }
                    (b'$', _) if !after_word => match dollar_delimiter(&bytes[pos..]) {
                        Delimiter::Tag(len) => {
                            tag = self.text[pos + 1..pos + len - 1].to_string();
                            state = Lexical::DollarQuote;
                            has_content = true;
                            step = len;
                        }
                        Delimiter::Incomplete if !at_end => break,
                        Delimiter::Incomplete | Delimiter::NotOne => has_content = true,
                    },
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
                Lexical::EscapeString if b == b'\'' => state = Lexical::Normal,
                // The escaped byte is skipped whatever it is (a quote, a backslash); at the very
                // end of the input there is none.
                Lexical::EscapeString if b == b'\\' => step = if next.is_some() { 2 } else { 1 },
                Lexical::DoubleQuote if b == b'"' => state = Lexical::Normal,
                Lexical::SingleQuote | Lexical::EscapeString | Lexical::DoubleQuote => {}
                Lexical::DollarQuote if b == b'$' => {
                    let rest = &bytes[pos..];
                    let closing = tag.len() + 2;
                    if closes_dollar_quote(rest, tag.as_bytes()) {
                        state = Lexical::Normal;
                        step = closing;
                    } else if rest.len() < closing
                        && !at_end
                        && closes_dollar_quote_prefix(rest, tag.as_bytes())
                    {
                        break;
                    }
                }
                Lexical::DollarQuote => {}
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
                        state = Lexical::BlockComment(depth.saturating_add(1));
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
        if state == Lexical::DollarQuote {
            self.dollar_tag = tag;
        }
    }
}

/// Whether byte `b` in `state` could begin a token of two or more bytes (`--`, `/*`, `*/`,
/// `E'`, a backslash escape), so the splitter must see the next byte before deciding.
/// Dollar-quote delimiters, longer still, are handled where they are recognised.
fn needs_lookahead(state: Lexical, b: u8) -> bool {
    match state {
        Lexical::Normal => matches!(b, b'-' | b'/' | b'E' | b'e'),
        Lexical::BlockComment(_) => b == b'*' || b == b'/',
        Lexical::EscapeString => b == b'\\',
        _ => false,
    }
}

/// Bytes that continue an identifier (so a `$` or `E'` right after one starts nothing). Any
/// byte of a non-ASCII character counts, as PostgreSQL allows letters beyond ASCII.
fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80
}

/// What a `$` in plain SQL begins.
#[derive(Debug, PartialEq, Eq)]
enum Delimiter {
    /// A dollar-quote opening delimiter (`$$`, `$tag$`) of this many bytes.
    Tag(usize),
    /// The text ends before it could be told: wait for more.
    Incomplete,
    /// Something else (`$1`, a lone `$`).
    NotOne,
}

/// Recognises `$tag$` at the start of `rest` (which starts with `$`): the tag is empty or an
/// identifier that does not start with a digit and holds no `$`.
fn dollar_delimiter(rest: &[u8]) -> Delimiter {
    for (i, &b) in rest.iter().enumerate().skip(1) {
        match b {
            b'$' => return Delimiter::Tag(i + 1),
            b'0'..=b'9' if i == 1 => return Delimiter::NotOne,
            _ if b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80 => {}
            _ => return Delimiter::NotOne,
        }
    }
    Delimiter::Incomplete
}

/// Whether `rest` starts with `$tag$`.
fn closes_dollar_quote(rest: &[u8], tag: &[u8]) -> bool {
    rest.len() >= tag.len() + 2 && rest[1..=tag.len()] == *tag && rest[tag.len() + 1] == b'$'
}

/// Whether `rest`, shorter than `$tag$`, is its beginning (more input may complete it).
fn closes_dollar_quote_prefix(rest: &[u8], tag: &[u8]) -> bool {
    let mut delimiter = Vec::with_capacity(tag.len() + 2);
    delimiter.push(b'$');
    delimiter.extend_from_slice(tag);
    delimiter.push(b'$');
    delimiter.starts_with(rest)
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
    fn semicolons_inside_dollar_quotes_do_not_split() {
        assert_eq!(
            split_all("SELECT $$a; b$$; SELECT $fn$ x; $$ y; $fn$, 2;"),
            ["SELECT $$a; b$$", "SELECT $fn$ x; $$ y; $fn$, 2"]
        );
        // A different tag does not close; `$1` and `a$b` open nothing.
        assert_eq!(
            split_all("SELECT $a$ ; $b$ ; $a$; SELECT $1; SELECT a$b; SELECT 'x'"),
            [
                "SELECT $a$ ; $b$ ; $a$",
                "SELECT $1",
                "SELECT a$b",
                "SELECT 'x'"
            ]
        );
        // Quotes and comment markers inside are plain text.
        assert_eq!(
            split_all("SELECT $$ it's -- /* ; $$; SELECT 2"),
            ["SELECT $$ it's -- /* ; $$", "SELECT 2"]
        );
    }

    #[test]
    fn dollar_quotes_across_pushes() {
        let mut s = Splitter::new();
        assert!(s.push("SELECT $ta").is_empty());
        assert!(s.push("g$ a;\n").is_empty());
        assert_eq!(s.state(), Lexical::DollarQuote);
        assert!(s.push("b; $ta").is_empty());
        assert_eq!(s.state(), Lexical::DollarQuote);
        assert_eq!(
            s.push("g$; SELECT 1;"),
            ["SELECT $tag$ a;\nb; $tag$", "SELECT 1"]
        );
        assert!(s.is_blank());
    }

    #[test]
    fn backslash_escapes_only_in_escape_strings() {
        assert_eq!(
            split_all(r"SELECT E'it\'s; \\'; SELECT e'\\'; SELECT 'a\'; SELECT 2"),
            [
                r"SELECT E'it\'s; \\'",
                r"SELECT e'\\'",
                r"SELECT 'a\'",
                "SELECT 2"
            ]
        );
        // `E` ending a word is not a prefix: `some'` is a word then a plain literal.
        assert_eq!(
            split_all(r"SELECT some'\'; SELECT 3"),
            [r"SELECT some'\'", "SELECT 3"]
        );
        let mut s = Splitter::new();
        assert!(s.push("SELECT E").is_empty());
        assert!(s.push(r"'\").is_empty());
        assert_eq!(s.state(), Lexical::EscapeString);
        assert!(s.push("';").is_empty());
        assert_eq!(s.push("';"), [r"SELECT E'\';'"]);
    }

    #[test]
    fn non_ascii_text_is_kept_whole() {
        assert_eq!(
            split_all("SELECT 'héllo;wörld'; SELECT 'ß'"),
            ["SELECT 'héllo;wörld'", "SELECT 'ß'"]
        );
        assert_eq!(
            split_all("SELECT $é$ ; $é$; SELECT ü$$x$$"),
            ["SELECT $é$ ; $é$", "SELECT ü$$x$$"]
        );
    }
}

/// Random input: never a panic, and text fed in arbitrary pieces splits exactly as the whole.
#[cfg(test)]
mod fuzz {
    use proptest::prelude::*;

    use super::{Splitter, split_all};

    fn cases() -> u32 {
        std::env::var("CHRONOS_FUZZ_CASES")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(512)
    }

    /// SQL-ish text rich in the bytes the splitter cares about.
    fn sqlish() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            4 => "[-/*;'\"$Ee\\ \na-z0-9_]{1,6}",
            1 => Just("$$".to_string()),
            1 => Just("$t$".to_string()),
            1 => Just("E'".to_string()),
            1 => Just("/*".to_string()),
            1 => Just("*/".to_string()),
            1 => Just("--".to_string()),
            1 => "\\PC{1,3}",
        ];
        prop::collection::vec(piece, 0..40).prop_map(|p| p.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

        #[test]
        fn pieces_split_like_the_whole(text in sqlish(), cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..6)) {
            let whole = split_all(&text);
            let mut at: Vec<usize> = cuts.iter().map(|c| c.index(text.len() + 1)).filter(|&i| text.is_char_boundary(i)).collect();
            at.sort_unstable();
            let mut s = Splitter::new();
            let mut pieces = Vec::new();
            let mut from = 0;
            for i in at {
                pieces.extend(s.push(&text[from..i]));
                let _ = (s.is_blank(), s.state());
                from = i;
            }
            pieces.extend(s.push(&text[from..]));
            pieces.extend(s.finish());
            prop_assert_eq!(pieces, whole);
        }

        #[test]
        fn arbitrary_text_never_panics(text in "\\PC{0,200}") {
            let _ = split_all(&text);
        }
    }
}
