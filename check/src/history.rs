//! Histories: reading Jepsen operations from EDN or JSON, and pairing invocations with completions.
//!
//! A history is a sequence of operation maps in real-time order (file order is time order; `:time`
//! is informational). Each map has `:type` (`:invoke`, `:ok`, `:fail`, `:info`), usually `:process`,
//! `:f` and `:value`, and optionally `:index`, `:time` and `:key`. The JSON form is the same maps
//! with keywords written as strings, either one object per line or one array of objects.

use crate::edn::{self, Value};
use crate::error::{Error, Result};

/// The text format of a history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Edn,
    Json,
    /// JSON when the first non-blank character is `[` or `{"`, else EDN.
    Auto,
}

impl std::str::FromStr for Format {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "edn" => Ok(Format::Edn),
            "json" | "jsonl" => Ok(Format::Json),
            "auto" => Ok(Format::Auto),
            _ => Err(Error::BadOption(format!(
                "unknown history format {s:?} (edn, json, auto)"
            ))),
        }
    }
}

/// The `:type` of an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OpType {
    Invoke,
    Ok,
    Fail,
    Info,
}

/// One line of a history.
#[derive(Debug, Clone)]
pub struct Op {
    /// 1-based line where the operation starts in the input.
    pub line: usize,
    pub index: Option<i64>,
    pub op_type: OpType,
    pub process: Option<Value>,
    pub f: Option<String>,
    pub key: Option<Value>,
    pub value: Value,
    pub time: Option<i64>,
}

/// An invocation paired with its completion (or an unpaired completion, or an invocation that never
/// completed). Positions are indices into the parsed op list, which is real-time order.
#[derive(Debug, Clone)]
pub struct Completed {
    pub invoke_pos: Option<usize>,
    /// `None` for indeterminate operations: they may take effect at any later time.
    pub complete_pos: Option<usize>,
    pub status: Status,
    pub process: Option<Value>,
    pub f: Option<String>,
    pub key: Option<Value>,
    /// The completion's value for `:ok` and `:fail`; for `:info`, the completion's value when it has
    /// one, else the invocation's.
    pub value: Value,
    /// Line of the completion (of the invocation when there is none).
    pub line: usize,
    /// Line of the invocation, when there is one.
    pub invoke_line: Option<usize>,
    pub index: Option<i64>,
}

/// How an operation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Fail,
    /// Indeterminate: it may or may not have taken effect.
    Info,
}

/// Parses a history in the given format.
pub fn parse(text: &str, format: Format) -> Result<Vec<Op>> {
    let format = match format {
        Format::Auto if looks_like_json(text) => Format::Json,
        Format::Auto => Format::Edn,
        f => f,
    };
    let forms = match format {
        Format::Json => read_json(text)?,
        _ => edn::read_history(text)?,
    };
    forms
        .into_iter()
        .map(|(line, v)| op_from_value(line, v))
        .collect()
}

/// Whether a history of unknown format is JSON: it starts with an object whose first key is a
/// string (`{"type"…`), or an array whose first element is one (or an empty one). An EDN vector
/// of maps (`[{:type …`) also starts with `[`, so the bracket alone decides nothing.
fn looks_like_json(text: &str) -> bool {
    fn object_start(t: &str) -> bool {
        t.strip_prefix('{')
            .map(str::trim_start)
            .is_some_and(|rest| rest.starts_with('"') || rest.starts_with('}'))
    }
    let t = text.trim_start();
    match t.strip_prefix('[').map(str::trim_start) {
        Some(rest) => rest.starts_with(']') || object_start(rest),
        None => object_start(t),
    }
}

fn read_json(text: &str) -> Result<Vec<(usize, Value)>> {
    let trimmed = text.trim_start();
    if trimmed.starts_with('[') {
        let offset_lines = text[..text.len() - trimmed.len()].matches('\n').count();
        let json: serde_json::Value = serde_json::from_str(text).map_err(|e| Error::Parse {
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        })?;
        let serde_json::Value::Array(items) = json else {
            return Err(Error::parse(
                1 + offset_lines,
                "expected a JSON array of operations",
            ));
        };
        return Ok(items
            .into_iter()
            .map(|j| (1 + offset_lines, from_json(j)))
            .collect());
    }
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let l = line.trim();
        if l.is_empty() || l.starts_with("//") {
            continue;
        }
        let json: serde_json::Value = serde_json::from_str(l).map_err(|e| Error::Parse {
            line: i + 1,
            column: e.column(),
            message: e.to_string(),
        })?;
        out.push((i + 1, from_json(json)));
    }
    Ok(out)
}

/// Converts an EDN value to JSON as the JSON-lines form writes it: keywords and symbols become
/// strings, maps become objects (keys rendered as strings), sets and lists become arrays.
pub fn to_json(v: &Value) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        Value::Nil => J::Null,
        Value::Bool(b) => J::Bool(*b),
        Value::Int(i) => J::from(*i),
        Value::Float(bits) => {
            serde_json::Number::from_f64(f64::from_bits(*bits)).map_or(J::Null, J::Number)
        }
        Value::Str(s) | Value::Keyword(s) | Value::Symbol(s) => J::String(s.clone()),
        Value::Char(c) => J::String(c.to_string()),
        Value::List(items) | Value::Vector(items) | Value::Set(items) => {
            J::Array(items.iter().map(to_json).collect())
        }
        Value::Map(entries) => J::Object(
            entries
                .iter()
                .map(|(k, v)| {
                    (
                        k.as_name().map_or_else(|| k.to_string(), str::to_string),
                        to_json(v),
                    )
                })
                .collect(),
        ),
    }
}

impl Op {
    /// The op as an EDN map, as Jepsen writes it (no trailing newline).
    pub fn to_value(&self) -> Value {
        let kw = |s: &str| Value::Keyword(s.to_string());
        let mut entries = Vec::new();
        if let Some(i) = self.index {
            entries.push((kw("index"), Value::Int(i)));
        }
        if let Some(t) = self.time {
            entries.push((kw("time"), Value::Int(t)));
        }
        let ty = match self.op_type {
            OpType::Invoke => "invoke",
            OpType::Ok => "ok",
            OpType::Fail => "fail",
            OpType::Info => "info",
        };
        entries.push((kw("type"), kw(ty)));
        if let Some(p) = &self.process {
            entries.push((kw("process"), p.clone()));
        }
        if let Some(f) = &self.f {
            entries.push((kw("f"), kw(f)));
        }
        if let Some(k) = &self.key {
            entries.push((kw("key"), k.clone()));
        }
        entries.push((kw("value"), self.value.clone()));
        Value::Map(entries)
    }

    /// One line of an EDN history.
    pub fn to_edn_line(&self) -> String {
        self.to_value().to_string()
    }

    /// One line of a JSON-lines history.
    pub fn to_json_line(&self) -> String {
        to_json(&self.to_value()).to_string()
    }
}

fn from_json(j: serde_json::Value) -> Value {
    match j {
        serde_json::Value::Null => Value::Nil,
        serde_json::Value::Bool(b) => Value::Bool(b),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => Value::Int(i),
            None => Value::Float(n.as_f64().unwrap_or(f64::NAN).to_bits()),
        },
        serde_json::Value::String(s) => Value::Str(s),
        serde_json::Value::Array(a) => Value::Vector(a.into_iter().map(from_json).collect()),
        serde_json::Value::Object(o) => Value::Map(
            o.into_iter()
                .map(|(k, v)| (Value::Keyword(k), from_json(v)))
                .collect(),
        ),
    }
}

fn op_from_value(line: usize, v: Value) -> Result<Op> {
    if !matches!(v, Value::Map(_)) {
        return Err(Error::bad_op(
            line,
            format!("expected an operation map, found {v}"),
        ));
    }
    let op_type = match v.get("type").and_then(Value::as_name) {
        Some("invoke") => OpType::Invoke,
        Some("ok") => OpType::Ok,
        Some("fail") => OpType::Fail,
        Some("info") => OpType::Info,
        Some(other) => return Err(Error::bad_op(line, format!("unknown :type {other:?}"))),
        None => return Err(Error::bad_op(line, "operation without :type")),
    };
    let int = |field: &str| -> Result<Option<i64>> {
        match v.get(field) {
            None | Some(Value::Nil) => Ok(None),
            Some(Value::Int(i)) => Ok(Some(*i)),
            Some(other) => Err(Error::bad_op(
                line,
                format!(":{field} must be an integer, found {other}"),
            )),
        }
    };
    let index = int("index")?;
    let time = int("time")?;
    let f = v.get("f").and_then(Value::as_name).map(str::to_string);
    let process = v.get("process").filter(|p| !p.is_nil()).cloned();
    let key = v.get("key").cloned();
    let value = v.get("value").cloned().unwrap_or(Value::Nil);
    Ok(Op {
        line,
        index,
        op_type,
        process,
        f,
        key,
        value,
        time,
    })
}

/// True for operations of Jepsen's nemesis (fault injection), which checkers ignore.
pub fn is_nemesis(op: &Op) -> bool {
    matches!(&op.process, Some(Value::Keyword(p) | Value::Str(p)) if p == "nemesis")
}

/// Pairs each completion with the pending invocation of the same process (the first pending one
/// whose `:f` and micro-operation shape match, else the oldest). Ops without a process share one
/// pseudo-process. Invocations that never complete become `Info`. Nemesis ops are dropped.
pub fn pair(ops: &[Op]) -> Vec<Completed> {
    use std::collections::HashMap;
    let mut pending: HashMap<Option<&Value>, Vec<usize>> = HashMap::new();
    let mut out: Vec<(usize, Completed)> = Vec::new();
    for (pos, op) in ops.iter().enumerate() {
        if is_nemesis(op) {
            continue;
        }
        let queue = pending.entry(op.process.as_ref()).or_default();
        if op.op_type == OpType::Invoke {
            queue.push(pos);
            continue;
        }
        let matched = queue
            .iter()
            .position(|&i| same_shape(&ops[i], op))
            .or(if queue.is_empty() { None } else { Some(0) });
        let invoke_pos = matched.map(|i| queue.remove(i));
        let status = match op.op_type {
            OpType::Ok => Status::Ok,
            OpType::Fail => Status::Fail,
            _ => Status::Info,
        };
        let value = match (status, &op.value, invoke_pos) {
            (Status::Info, Value::Nil, Some(i)) => ops[i].value.clone(),
            _ => op.value.clone(),
        };
        let first = invoke_pos.unwrap_or(pos);
        out.push((
            first,
            Completed {
                invoke_pos,
                complete_pos: if status == Status::Info {
                    None
                } else {
                    Some(pos)
                },
                status,
                process: op.process.clone(),
                f: op
                    .f
                    .clone()
                    .or_else(|| invoke_pos.and_then(|i| ops[i].f.clone())),
                key: op
                    .key
                    .clone()
                    .or_else(|| invoke_pos.and_then(|i| ops[i].key.clone())),
                value,
                line: op.line,
                invoke_line: invoke_pos.map(|i| ops[i].line),
                index: op.index,
            },
        ));
    }
    for queue in pending.values() {
        for &i in queue {
            let op = &ops[i];
            out.push((
                i,
                Completed {
                    invoke_pos: Some(i),
                    complete_pos: None,
                    status: Status::Info,
                    process: op.process.clone(),
                    f: op.f.clone(),
                    key: op.key.clone(),
                    value: op.value.clone(),
                    line: op.line,
                    invoke_line: Some(op.line),
                    index: op.index,
                },
            ));
        }
    }
    out.sort_by_key(|(first, _)| *first);
    out.into_iter().map(|(_, c)| c).collect()
}

/// Whether a completion plausibly belongs to an invocation: same `:f`, same `:key`, and for
/// transactions the same micro-operation functions and keys.
fn same_shape(invoke: &Op, completion: &Op) -> bool {
    if invoke.f != completion.f || invoke.key != completion.key {
        return false;
    }
    match (invoke.value.as_seq(), completion.value.as_seq()) {
        (Some(a), Some(b)) if a.iter().all(|m| m.as_seq().is_some()) => {
            a.len() == b.len()
                && a.iter()
                    .zip(b)
                    .all(|(x, y)| match (x.as_seq(), y.as_seq()) {
                        (Some(x), Some(y)) => {
                            x.len() >= 2 && y.len() >= 2 && x[0] == y[0] && x[1] == y[1]
                        }
                        _ => false,
                    })
        }
        _ => true,
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    #[test]
    fn pairs_out_of_order_completions_by_shape() {
        let text = "{:index 0 :type :invoke :process 0 :value [[:r :x nil]]}\n\
                    {:index 1 :type :invoke :process 0 :value [[:w :y 1]]}\n\
                    {:index 2 :type :ok :process 0 :value [[:w :y 1]]}\n\
                    {:index 3 :type :ok :process 0 :value [[:r :x 5]]}\n\
                    {:index 4 :type :invoke :process 1 :value [[:w :z 1]]}";
        let ops = parse(text, Format::Auto).unwrap();
        let done = pair(&ops);
        assert_eq!(done.len(), 3);
        assert_eq!(
            (done[0].invoke_pos, done[0].complete_pos),
            (Some(0), Some(3))
        );
        assert_eq!(
            (done[1].invoke_pos, done[1].complete_pos),
            (Some(1), Some(2))
        );
        assert_eq!(done[2].status, Status::Info);
        assert_eq!(done[2].complete_pos, None);
    }

    #[test]
    fn json_lines_and_arrays_agree_with_edn() {
        let edn = parse(
            "{:type :ok, :process 0, :value [[:append :x 1]]}",
            Format::Edn,
        )
        .unwrap();
        let jsonl = parse(
            "{\"type\":\"ok\",\"process\":0,\"value\":[[\"append\",\"x\",1]]}\n",
            Format::Auto,
        )
        .unwrap();
        let array = parse(
            "[{\"type\":\"ok\",\"process\":0,\"value\":[[\"append\",\"x\",1]]}]",
            Format::Auto,
        )
        .unwrap();
        for ops in [&jsonl, &array] {
            assert_eq!(ops[0].op_type, edn[0].op_type);
            assert_eq!(ops[0].process, edn[0].process);
        }
    }

    #[test]
    fn written_histories_read_back() {
        let text = "{:index 0 :time 5 :type :invoke :process 0 :f :txn :value [[:append :x 1] [:r :y nil]]}\n\
                    {:index 1 :time 9 :type :ok :process 0 :f :txn :value [[:append :x 1] [:r :y [1 2]]]}\n\
                    {:type :info :process :nemesis :f :kill :value \"n1\"}";
        let ops = parse(text, Format::Edn).unwrap();
        let edn: Vec<String> = ops.iter().map(Op::to_edn_line).collect();
        let json: Vec<String> = ops.iter().map(Op::to_json_line).collect();
        for (again, format) in [
            (edn.join("\n"), Format::Edn),
            (json.join("\n"), Format::Json),
        ] {
            let back = parse(&again, format).unwrap();
            assert_eq!(back.len(), ops.len());
            for (a, b) in back.iter().zip(&ops) {
                assert_eq!(
                    (a.index, a.time, a.op_type, &a.f),
                    (b.index, b.time, b.op_type, &b.f)
                );
            }
            // Keywords come back as strings from JSON; the checkers treat both alike.
            assert_eq!(pair(&back).len(), 1);
        }
        assert_eq!(
            edn[1],
            "{:index 1, :time 9, :type :ok, :process 0, :f :txn, :value [[:append :x 1] [:r :y [1 2]]]}"
        );
    }

    #[test]
    fn one_edn_vector_is_a_history() {
        // Knossos and older Jepsen versions write the whole history as one vector; this was
        // taken for JSON ("key must be a string").
        let text = "[{:type :invoke, :process 0, :f :read, :value nil}\n \
                    {:type :ok, :process 0, :f :read, :value 3}]\n";
        let ops = parse(text, Format::Auto).unwrap();
        assert_eq!(ops.len(), 2);
        assert_eq!((ops[0].line, ops[1].line), (1, 2));
        assert_eq!(ops[1].value, Value::Int(3));
        assert_eq!(parse(text, Format::Edn).unwrap().len(), 2);
        let spaced = "  [ {:type :ok :process 1} ]";
        assert_eq!(parse(spaced, Format::Auto).unwrap().len(), 1);
        assert_eq!(parse("(\n{:type :ok})", Format::Auto).unwrap()[0].line, 2);
        assert!(parse("[]", Format::Auto).unwrap().is_empty());
        // Errors inside it name the element's line; trailing forms are refused.
        let err = parse("[{:type :ok}\n {:type :nope}]", Format::Auto).unwrap_err();
        assert!(matches!(err, Error::BadOp { line: 2, .. }), "{err}");
        let err = parse("[{:type :ok}] {:type :ok}", Format::Auto).unwrap_err();
        assert!(matches!(err, Error::Parse { .. }), "{err}");
        let err = parse("[{:type :ok}", Format::Auto).unwrap_err();
        assert!(matches!(err, Error::Parse { .. }), "{err}");
        // JSON arrays are still JSON, with or without spaces.
        assert_eq!(
            parse("[ { \"type\": \"ok\" } ]", Format::Auto).unwrap()[0].op_type,
            OpType::Ok
        );
    }

    #[test]
    fn bad_input_reports_line() {
        let err = parse("{:type :ok}\n{:type :bogus}", Format::Edn).unwrap_err();
        assert!(matches!(err, Error::BadOp { line: 2, .. }), "{err}");
        let err = parse("{\"type\":\"ok\"}\n{\"type\": }", Format::Json).unwrap_err();
        assert!(matches!(err, Error::Parse { line: 2, .. }), "{err}");
        let err = parse("[1 2 3]", Format::Edn).unwrap_err();
        assert!(matches!(err, Error::BadOp { .. }), "{err}");
    }
}
