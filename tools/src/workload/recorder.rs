//! Recording a history as it happens: every invocation and completion becomes one
//! [`chronos_check::history::Op`], appended under one lock so that file order is real-time order
//! (the checkers rely on it), with `:time` in nanoseconds since the run started and `:index` the
//! position in the history. The result is written with [`Op::to_edn_line`] (or JSON lines), the
//! same form `chronos check history` reads.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use chronos_check::edn::Value;
use chronos_check::history::{Op, OpType};

/// What a worker is about to do: `:f`, optional `:key`, and `:value` as invoked.
#[derive(Debug, Clone, PartialEq)]
pub struct Invocation {
    pub f: String,
    pub key: Option<Value>,
    pub value: Value,
    /// The op cannot change the database (a read): an indeterminate outcome is recorded as
    /// `:fail`, as Jepsen does, since nothing can have happened that a checker must account for.
    pub read_only: bool,
}

/// How an op ended, as recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct Completion {
    /// `Ok`, `Fail` or `Info`.
    pub op_type: OpType,
    pub value: Value,
    /// Why it failed or is indeterminate: a SQLSTATE, `indeterminate`, or a workload reason such
    /// as `insufficient-funds` (counted in the summary; the history format has no field for it).
    pub error: Option<String>,
}

/// The process of the nemesis, as Jepsen names it.
pub fn nemesis_process() -> Value {
    Value::Keyword("nemesis".into())
}

/// Counts of completions, readable while the run goes on.
#[derive(Debug, Default)]
pub struct Counts {
    pub ok: AtomicU64,
    pub fail: AtomicU64,
    pub info: AtomicU64,
}

impl Counts {
    pub fn total(&self) -> u64 {
        self.ok.load(Ordering::Relaxed)
            + self.fail.load(Ordering::Relaxed)
            + self.info.load(Ordering::Relaxed)
    }
}

/// A history being recorded by many threads.
#[derive(Debug)]
pub struct Recorder {
    start: Instant,
    ops: Mutex<Vec<Op>>,
    pub counts: Counts,
    errors: Mutex<BTreeMap<String, u64>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A worker that panicked while holding the lock leaves consistent data: every push is whole.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Default for Recorder {
    fn default() -> Self {
        Self::new()
    }
}

impl Recorder {
    pub fn new() -> Self {
        Recorder {
            start: Instant::now(),
            ops: Mutex::new(Vec::new()),
            counts: Counts::default(),
            errors: Mutex::new(BTreeMap::new()),
        }
    }

    /// When the run started; `:time` counts from here.
    pub fn start(&self) -> Instant {
        self.start
    }

    fn push(
        &self,
        op_type: OpType,
        process: Value,
        f: &str,
        key: Option<Value>,
        value: Value,
    ) -> usize {
        let mut ops = lock(&self.ops);
        // The clock is read under the lock, so times never go backwards in file order.
        let time = i64::try_from(self.start.elapsed().as_nanos()).unwrap_or(i64::MAX);
        let index = ops.len();
        ops.push(Op {
            line: index + 1,
            index: Some(index as i64),
            op_type,
            process: Some(process),
            f: Some(f.to_string()),
            key,
            value,
            time: Some(time),
        });
        index
    }

    /// Records an invocation by `process`.
    pub fn invoke(&self, process: u64, inv: &Invocation) {
        self.push(
            OpType::Invoke,
            Value::Int(process as i64),
            &inv.f,
            inv.key.clone(),
            inv.value.clone(),
        );
    }

    /// Records the completion of `process`'s pending invocation.
    pub fn complete(&self, process: u64, inv: &Invocation, done: &Completion) {
        debug_assert!(
            done.op_type != OpType::Invoke,
            "a completion cannot be an invocation: {done:?}"
        );
        self.push(
            done.op_type,
            Value::Int(process as i64),
            &inv.f,
            inv.key.clone(),
            done.value.clone(),
        );
        let counter = match done.op_type {
            OpType::Ok => &self.counts.ok,
            OpType::Fail => &self.counts.fail,
            _ => &self.counts.info,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        if let Some(e) = &done.error {
            *lock(&self.errors).entry(e.clone()).or_default() += 1;
        }
    }

    /// Records a nemesis event (`:info`, process `:nemesis`), as Jepsen does for both the
    /// invocation and the completion of a fault.
    pub fn nemesis(&self, f: &str, value: Value) {
        self.push(OpType::Info, nemesis_process(), f, None, value);
    }

    /// Failure reasons and how often each occurred.
    pub fn errors(&self) -> BTreeMap<String, u64> {
        lock(&self.errors).clone()
    }

    /// The history so far.
    pub fn ops(&self) -> Vec<Op> {
        lock(&self.ops).clone()
    }
}

/// The history as EDN, one op per line.
pub fn to_edn(ops: &[Op]) -> String {
    let mut out = String::new();
    for op in ops {
        out.push_str(&op.to_edn_line());
        out.push('\n');
    }
    out
}

/// The history as JSON lines.
pub fn to_json_lines(ops: &[Op]) -> String {
    let mut out = String::new();
    for op in ops {
        out.push_str(&op.to_json_line());
        out.push('\n');
    }
    out
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;
    use chronos_check::history::{self, Format, Status};

    fn txn(value: Value) -> Invocation {
        Invocation {
            f: "txn".into(),
            key: None,
            value,
            read_only: false,
        }
    }

    #[test]
    fn recorded_histories_read_back_and_pair() {
        let rec = Recorder::new();
        let inv = txn(Value::Vector(vec![Value::Vector(vec![
            Value::Keyword("append".into()),
            Value::Int(1),
            Value::Int(2),
        ])]));
        rec.invoke(0, &inv);
        rec.invoke(1, &inv);
        rec.nemesis("start", Value::Str("pause".into()));
        rec.complete(
            1,
            &inv,
            &Completion {
                op_type: OpType::Fail,
                value: inv.value.clone(),
                error: Some("40001".into()),
            },
        );
        rec.complete(
            0,
            &inv,
            &Completion {
                op_type: OpType::Ok,
                value: inv.value.clone(),
                error: None,
            },
        );
        let ops = rec.ops();
        let times: Vec<i64> = ops.iter().map(|o| o.time.unwrap()).collect();
        assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");
        for text in [to_edn(&ops), to_json_lines(&ops)] {
            let back = history::parse(&text, Format::Auto).unwrap();
            assert_eq!(back.len(), 5);
            let done = history::pair(&back);
            let status: Vec<Status> = done.iter().map(|c| c.status).collect();
            assert_eq!(status, vec![Status::Ok, Status::Fail]);
        }
        assert_eq!(
            to_edn(&ops).lines().next().unwrap(),
            format!(
                "{{:index 0, :time {}, :type :invoke, :process 0, :f :txn, :value [[:append 1 2]]}}",
                times[0]
            )
        );
        assert_eq!(rec.counts.total(), 2);
        assert_eq!(rec.errors().get("40001"), Some(&1));
    }
}
