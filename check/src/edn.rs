//! A small EDN reader: the subset of <https://github.com/edn-format/edn> that Jepsen histories use.
//!
//! Supported: `nil`, booleans, integers (with an optional `N` suffix), floats (with an optional `M`
//! suffix), strings with the usual escapes, characters, keywords, symbols, lists, vectors, maps,
//! sets, `#_` discard, tagged literals (`#inst "..."`: the tag is dropped and the value kept), `;`
//! comments, and commas as whitespace. Ratios and metadata are not supported and are reported as
//! errors with the line and column where they start. Nesting is bounded by [`MAX_DEPTH`], so a
//! hostile input cannot overflow the stack.

use std::fmt;

use crate::error::{Error, Result};

/// The deepest nesting of collections the reader accepts.
pub const MAX_DEPTH: usize = 128;

/// An EDN value. Floats are kept as their bit pattern so values can be hashed and compared.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Value {
    Nil,
    Bool(bool),
    Int(i64),
    /// `f64::to_bits` of the float.
    Float(u64),
    Str(String),
    Char(char),
    /// A keyword without its leading colon.
    Keyword(String),
    Symbol(String),
    List(Vec<Value>),
    Vector(Vec<Value>),
    Set(Vec<Value>),
    /// Entries in the order they were written.
    Map(Vec<(Value, Value)>),
}

impl Value {
    /// The name of a keyword, string or symbol.
    pub fn as_name(&self) -> Option<&str> {
        match self {
            Value::Keyword(s) | Value::Str(s) | Value::Symbol(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    /// The elements of a vector or list.
    pub fn as_seq(&self) -> Option<&[Value]> {
        match self {
            Value::Vector(v) | Value::List(v) => Some(v),
            _ => None,
        }
    }

    /// Looks a field up in a map whose keys are keywords or strings (`:type` or `"type"`).
    pub fn get(&self, field: &str) -> Option<&Value> {
        match self {
            Value::Map(entries) => entries
                .iter()
                .find(|(k, _)| matches!(k, Value::Keyword(s) | Value::Str(s) if s == field))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn is_nil(&self) -> bool {
        matches!(self, Value::Nil)
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn seq(
            f: &mut fmt::Formatter<'_>,
            open: &str,
            items: &[Value],
            close: &str,
        ) -> fmt::Result {
            f.write_str(open)?;
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    f.write_str(" ")?;
                }
                write!(f, "{v}")?;
            }
            f.write_str(close)
        }
        match self {
            Value::Nil => f.write_str("nil"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(bits) => write!(f, "{:?}", f64::from_bits(*bits)),
            Value::Str(s) => write!(f, "{s:?}"),
            Value::Char(c) => write!(f, "\\{c}"),
            Value::Keyword(k) => write!(f, ":{k}"),
            Value::Symbol(s) => f.write_str(s),
            Value::List(v) => seq(f, "(", v, ")"),
            Value::Vector(v) => seq(f, "[", v, "]"),
            Value::Set(v) => seq(f, "#{", v, "}"),
            Value::Map(entries) => {
                f.write_str("{")?;
                for (i, (k, v)) in entries.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{k} {v}")?;
                }
                f.write_str("}")
            }
        }
    }
}

/// Reads every top-level form of `text`, each with the 1-based line where it starts.
pub fn read_all(text: &str) -> Result<Vec<(usize, Value)>> {
    let mut reader = Reader {
        src: text.as_bytes(),
        pos: 0,
        line: 1,
        line_start: 0,
    };
    let mut out = Vec::new();
    loop {
        reader.skip_ws();
        if reader.pos >= reader.src.len() {
            return Ok(out);
        }
        let line = reader.line;
        if let Some(v) = reader.read(0)? {
            out.push((line, v));
        }
    }
}

/// Reads a history: the top-level forms of `text`, or, when `text` is one vector or list (the
/// form Knossos and older Jepsen versions write: `[{…} {…}]`), that collection's elements. Each
/// comes with the 1-based line where it starts, so errors point into the file either way.
pub fn read_history(text: &str) -> Result<Vec<(usize, Value)>> {
    let mut reader = Reader {
        src: text.as_bytes(),
        pos: 0,
        line: 1,
        line_start: 0,
    };
    reader.skip_ws();
    let close = match reader.peek() {
        Some(b'[') => b']',
        Some(b'(') => b')',
        _ => return read_all(text),
    };
    reader.bump();
    let mut out = Vec::new();
    loop {
        reader.skip_ws();
        match reader.peek() {
            None => {
                return Err(reader.err(format!("unclosed history, expected '{}'", close as char)));
            }
            Some(b) if b == close => {
                reader.bump();
                break;
            }
            Some(_) => {
                let line = reader.line;
                // Depth 1: the elements sit inside the outer collection.
                if let Some(v) = reader.read(1)? {
                    out.push((line, v));
                }
            }
        }
    }
    reader.skip_ws();
    if reader.pos < reader.src.len() {
        return Err(reader.err("unexpected form after the history's closing bracket"));
    }
    Ok(out)
}

/// Reads exactly one form from `text` (trailing whitespace and comments allowed).
pub fn read_one(text: &str) -> Result<Value> {
    let mut forms = read_all(text)?;
    match forms.len() {
        1 => Ok(forms.remove(0).1),
        0 => Err(Error::parse(1, "expected one EDN value, found none")),
        _ => Err(Error::parse(
            forms[1].0,
            "expected one EDN value, found several",
        )),
    }
}

struct Reader<'a> {
    src: &'a [u8],
    pos: usize,
    line: usize,
    line_start: usize,
}

fn is_delimiter(b: u8) -> bool {
    b.is_ascii_whitespace()
        || matches!(
            b,
            b',' | b'(' | b')' | b'[' | b']' | b'{' | b'}' | b'"' | b';'
        )
}

impl<'a> Reader<'a> {
    fn err(&self, msg: impl Into<String>) -> Error {
        Error::Parse {
            line: self.line,
            column: self.pos - self.line_start + 1,
            message: msg.into(),
        }
    }

    fn peek(&self) -> Option<u8> {
        self.src.get(self.pos).copied()
    }

    fn bump(&mut self) -> Option<u8> {
        let b = self.peek()?;
        self.pos += 1;
        if b == b'\n' {
            self.line += 1;
            self.line_start = self.pos;
        }
        Some(b)
    }

    fn skip_ws(&mut self) {
        while let Some(b) = self.peek() {
            if b.is_ascii_whitespace() || b == b',' {
                self.bump();
            } else if b == b';' {
                while let Some(c) = self.peek() {
                    if c == b'\n' {
                        break;
                    }
                    self.bump();
                }
            } else {
                break;
            }
        }
    }

    /// Reads one form; `None` when the form was discarded with `#_`.
    fn read(&mut self, depth: usize) -> Result<Option<Value>> {
        if depth > MAX_DEPTH {
            return Err(self.err(format!("nesting deeper than {MAX_DEPTH}")));
        }
        self.skip_ws();
        let Some(b) = self.peek() else {
            return Err(self.err("unexpected end of input"));
        };
        let value = match b {
            b'(' => {
                self.bump();
                Value::List(self.read_seq(b')', depth)?)
            }
            b'[' => {
                self.bump();
                Value::Vector(self.read_seq(b']', depth)?)
            }
            b'{' => {
                self.bump();
                let items = self.read_seq(b'}', depth)?;
                if items.len() % 2 != 0 {
                    return Err(self.err("map literal with an odd number of forms"));
                }
                let mut entries = Vec::with_capacity(items.len() / 2);
                let mut it = items.into_iter();
                while let (Some(k), Some(v)) = (it.next(), it.next()) {
                    entries.push((k, v));
                }
                Value::Map(entries)
            }
            b')' | b']' | b'}' => return Err(self.err(format!("unexpected '{}'", b as char))),
            b'"' => {
                self.bump();
                Value::Str(self.read_string()?)
            }
            b'#' => {
                self.bump();
                match self.peek() {
                    Some(b'{') => {
                        self.bump();
                        Value::Set(self.read_seq(b'}', depth)?)
                    }
                    Some(b'_') => {
                        self.bump();
                        self.read(depth + 1)?;
                        return Ok(None);
                    }
                    Some(c) if c.is_ascii_alphabetic() => {
                        // Tagged literal: drop the tag, keep the value.
                        self.read_token();
                        return self.read(depth + 1);
                    }
                    _ => return Err(self.err("unsupported dispatch character after '#'")),
                }
            }
            b'\\' => {
                self.bump();
                let tok = self.read_token();
                match tok {
                    "newline" => Value::Char('\n'),
                    "space" => Value::Char(' '),
                    "tab" => Value::Char('\t'),
                    "return" => Value::Char('\r'),
                    _ => {
                        let mut chars = tok.chars();
                        match (chars.next(), chars.next()) {
                            (Some(c), None) => Value::Char(c),
                            _ => return Err(self.err(format!("bad character literal \\{tok}"))),
                        }
                    }
                }
            }
            b':' => {
                self.bump();
                let tok = self.read_token();
                if tok.is_empty() {
                    return Err(self.err("empty keyword"));
                }
                Value::Keyword(tok.to_string())
            }
            _ => {
                let tok = self.read_token();
                if tok.is_empty() {
                    return Err(self.err(format!("unexpected character {:?}", b as char)));
                }
                self.atom(tok)?
            }
        };
        Ok(Some(value))
    }

    fn read_seq(&mut self, close: u8, depth: usize) -> Result<Vec<Value>> {
        let mut items = Vec::new();
        loop {
            self.skip_ws();
            match self.peek() {
                None => {
                    return Err(
                        self.err(format!("unclosed collection, expected '{}'", close as char))
                    );
                }
                Some(b) if b == close => {
                    self.bump();
                    return Ok(items);
                }
                Some(_) => {
                    if let Some(v) = self.read(depth + 1)? {
                        items.push(v);
                    }
                }
            }
        }
    }

    fn read_token(&mut self) -> &'a str {
        let src: &'a [u8] = self.src;
        let start = self.pos;
        while let Some(b) = self.peek() {
            if is_delimiter(b) {
                break;
            }
            self.bump();
        }
        // The token ends at an ASCII delimiter, so it is valid UTF-8 whenever the input is.
        std::str::from_utf8(&src[start..self.pos]).unwrap_or("")
    }

    fn read_string(&mut self) -> Result<String> {
        let mut bytes = Vec::new();
        loop {
            let Some(b) = self.bump() else {
                return Err(self.err("unterminated string"));
            };
            match b {
                b'"' => break,
                b'\\' => {
                    let Some(e) = self.bump() else {
                        return Err(self.err("unterminated string escape"));
                    };
                    let c = match e {
                        b'n' => '\n',
                        b't' => '\t',
                        b'r' => '\r',
                        b'"' => '"',
                        b'\\' => '\\',
                        b'u' => {
                            let end = self.pos + 4;
                            let hex = self
                                .src
                                .get(self.pos..end)
                                .and_then(|h| std::str::from_utf8(h).ok())
                                .and_then(|h| u32::from_str_radix(h, 16).ok())
                                .and_then(char::from_u32);
                            let Some(c) = hex else {
                                return Err(self.err("bad \\u escape in string"));
                            };
                            self.pos = end;
                            c
                        }
                        other => {
                            return Err(
                                self.err(format!("unknown string escape \\{}", other as char))
                            );
                        }
                    };
                    let mut buf = [0u8; 4];
                    bytes.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
                _ => bytes.push(b),
            }
        }
        String::from_utf8(bytes).map_err(|_| self.err("string is not valid UTF-8"))
    }

    fn atom(&self, tok: &str) -> Result<Value> {
        match tok {
            "nil" => return Ok(Value::Nil),
            "true" => return Ok(Value::Bool(true)),
            "false" => return Ok(Value::Bool(false)),
            _ => {}
        }
        let first = tok.as_bytes()[0];
        let numeric = first.is_ascii_digit()
            || ((first == b'-' || first == b'+')
                && tok.as_bytes().get(1).is_some_and(u8::is_ascii_digit));
        if !numeric {
            return Ok(Value::Symbol(tok.to_string()));
        }
        let int_text = tok.strip_suffix('N').unwrap_or(tok);
        if let Ok(i) = int_text.parse::<i64>() {
            return Ok(Value::Int(i));
        }
        let float_text = tok.strip_suffix('M').unwrap_or(tok);
        if float_text.contains(['.', 'e', 'E'])
            && let Ok(f) = float_text.parse::<f64>()
        {
            return Ok(Value::Float(f.to_bits()));
        }
        Err(self.err(format!(
            "bad number {tok:?} (ratios and big integers are not supported)"
        )))
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    #[test]
    fn reads_a_jepsen_op() {
        let v = read_one(
            "{:index 2 :type :invoke, :process 4 :f :txn :value [[:append 8 1] [:r 9 nil]]}",
        )
        .unwrap();
        assert_eq!(v.get("type"), Some(&Value::Keyword("invoke".into())));
        assert_eq!(v.get("process").and_then(Value::as_int), Some(4));
        let mops = v.get("value").and_then(Value::as_seq).unwrap();
        assert_eq!(
            mops[1],
            Value::Vector(vec![Value::Keyword("r".into()), Value::Int(9), Value::Nil])
        );
    }

    #[test]
    fn reads_scalars_and_collections() {
        let forms = read_all("; comment\n\"a\\\"b\\u0041\" -3 4N 1.5 2e3 \\x #{1 2} (a b) #_ skipped #inst \"2020\" true").unwrap();
        let values: Vec<_> = forms.into_iter().map(|(_, v)| v).collect();
        assert_eq!(values[0], Value::Str("a\"bA".into()));
        assert_eq!(values[1], Value::Int(-3));
        assert_eq!(values[2], Value::Int(4));
        assert_eq!(values[3], Value::Float(1.5f64.to_bits()));
        assert_eq!(values[4], Value::Float(2000f64.to_bits()));
        assert_eq!(values[5], Value::Char('x'));
        assert_eq!(values[6], Value::Set(vec![Value::Int(1), Value::Int(2)]));
        assert_eq!(
            values[7],
            Value::List(vec![Value::Symbol("a".into()), Value::Symbol("b".into())])
        );
        assert_eq!(values[8], Value::Str("2020".into()));
        assert_eq!(values[9], Value::Bool(true));
    }

    #[test]
    fn reports_lines_of_errors() {
        for (text, line) in [
            ("{:a 1}\n{:b [1 2}", 2),
            ("\n\n{:a}", 3),
            ("[1 2", 1),
            ("\"abc", 1),
            ("1/2", 1),
            ("}", 1),
        ] {
            match read_all(text) {
                Err(Error::Parse { line: l, .. }) => assert_eq!(l, line, "{text}"),
                other => panic!("{text}: {other:?}"),
            }
        }
    }

    #[test]
    fn bounds_nesting() {
        let deep = "[".repeat(10_000);
        assert!(read_all(&deep).is_err());
    }

    #[test]
    fn display_round_trips() {
        let text = "{:a [1 \"x\" nil :k], :b #{2}}";
        let v = read_one(text).unwrap();
        assert_eq!(read_one(&v.to_string()).unwrap(), v);
    }
}
